// composecheck validates a Compose project without a Docker engine, with the same libraries Docker
// itself uses:
//
//  1. The Compose Specification's reference loader (github.com/compose-spec/compose-go/v2, the
//     library inside `docker compose`), used as `docker compose config` uses it: YAML parsing,
//     variable interpolation (OS environment and the project's .env), validation against the
//     compose-spec JSON schema, normalization, path resolution and the consistency checks
//     (depends_on targets, declared volumes and networks, ...). Any warning the loader logs (the
//     obsolete `version:` attribute, for example) fails too, unless -allow-warnings is given.
//  2. For every service with a `build:` section, BuildKit's Dockerfile frontend
//     (github.com/moby/buildkit/frontend/dockerfile): the Dockerfile must parse into instructions
//     with no lint warning, the `target` stage must exist, every build arg passed by the Compose
//     file must be declared by an ARG, and every local COPY/ADD source must exist in the build
//     context and not be excluded by its .dockerignore (github.com/moby/patternmatcher).
//
// On success it prints the fully loaded project as JSON on stdout and exits 0. On failure it prints
// every problem on stderr and exits 1. Usage:
//
//	composecheck [-workdir DIR] [-allow-warnings] [-skip-build] FILE [FILE...]
package main

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/compose-spec/compose-go/v2/cli"
	"github.com/compose-spec/compose-go/v2/types"
	"github.com/moby/buildkit/frontend/dockerfile/instructions"
	"github.com/moby/buildkit/frontend/dockerfile/linter"
	"github.com/moby/buildkit/frontend/dockerfile/parser"
	"github.com/moby/patternmatcher"
	"github.com/moby/patternmatcher/ignorefile"
	"github.com/sirupsen/logrus"
)

// logCollector keeps every warning or error the loader logs, so they can fail the check.
type logCollector struct{ messages []string }

func (c *logCollector) Levels() []logrus.Level {
	return []logrus.Level{logrus.PanicLevel, logrus.FatalLevel, logrus.ErrorLevel, logrus.WarnLevel}
}

func (c *logCollector) Fire(e *logrus.Entry) error {
	c.messages = append(c.messages, e.Message)
	return nil
}

func main() {
	workdir := flag.String("workdir", "", "project directory (default: the first file's directory)")
	allowWarnings := flag.Bool("allow-warnings", false, "do not fail on warnings logged by the loader")
	skipBuild := flag.Bool("skip-build", false, "do not check the Dockerfiles that services build")
	flag.Usage = func() {
		fmt.Fprintln(os.Stderr, "usage: composecheck [-workdir DIR] [-allow-warnings] [-skip-build] FILE [FILE...]")
		flag.PrintDefaults()
	}
	flag.Parse()
	if flag.NArg() == 0 {
		flag.Usage()
		os.Exit(2)
	}

	logs := &logCollector{}
	logrus.AddHook(logs)
	logrus.SetOutput(os.Stderr)

	dir := *workdir
	if dir == "" {
		dir = filepath.Dir(flag.Arg(0))
	}
	opts, err := cli.NewProjectOptions(
		flag.Args(),
		cli.WithWorkingDirectory(dir),
		cli.WithOsEnv,
		cli.WithDotEnv,
		cli.WithInterpolation(true),
		cli.WithNormalization(true),
		cli.WithConsistency(true),
		cli.WithResolvedPaths(true),
	)
	if err != nil {
		fail([]string{err.Error()})
	}
	project, err := opts.LoadProject(context.Background())
	if err != nil {
		fail([]string{err.Error()})
	}

	var problems []string
	if !*allowWarnings {
		for _, m := range logs.messages {
			problems = append(problems, "loader warning: "+m)
		}
	}
	if !*skipBuild {
		problems = append(problems, checkBuilds(project)...)
	}
	if len(problems) > 0 {
		fail(problems)
	}

	out, err := project.MarshalJSON()
	if err != nil {
		fail([]string{err.Error()})
	}
	os.Stdout.Write(out)
	os.Stdout.Write([]byte("\n"))
}

func fail(problems []string) {
	for _, p := range problems {
		fmt.Fprintln(os.Stderr, "composecheck:", p)
	}
	os.Exit(1)
}

// checkBuilds checks the Dockerfile of every service that has a build section.
func checkBuilds(project *types.Project) []string {
	names := make([]string, 0, len(project.Services))
	for name := range project.Services {
		names = append(names, name)
	}
	sort.Strings(names)

	var problems []string
	for _, name := range names {
		svc := project.Services[name]
		if svc.Build == nil {
			continue
		}
		for _, p := range checkBuild(svc.Build) {
			problems = append(problems, fmt.Sprintf("service %q: %s", name, p))
		}
	}
	return problems
}

func checkBuild(build *types.BuildConfig) []string {
	if strings.Contains(build.Context, "://") {
		return nil // a remote context (git, URL) cannot be inspected here
	}
	if info, err := os.Stat(build.Context); err != nil || !info.IsDir() {
		return []string{fmt.Sprintf("build context %s is not a directory", build.Context)}
	}

	var content []byte
	dockerfilePath := "<dockerfile_inline>"
	if build.DockerfileInline != "" {
		content = []byte(build.DockerfileInline)
	} else {
		dockerfilePath = build.Dockerfile
		if dockerfilePath == "" {
			dockerfilePath = "Dockerfile"
		}
		if !filepath.IsAbs(dockerfilePath) {
			dockerfilePath = filepath.Join(build.Context, dockerfilePath)
		}
		var err error
		if content, err = os.ReadFile(dockerfilePath); err != nil {
			return []string{fmt.Sprintf("cannot read Dockerfile: %v", err)}
		}
	}
	where := func(line int) string { return fmt.Sprintf("%s:%d", dockerfilePath, line) }

	parsed, err := parser.Parse(bytes.NewReader(content))
	if err != nil {
		return []string{fmt.Sprintf("%s: %v", dockerfilePath, err)}
	}
	var problems []string
	for _, w := range parsed.Warnings {
		line := 0
		if w.Location != nil {
			line = w.Location.Start.Line
		}
		problems = append(problems, fmt.Sprintf("%s: %s", where(line), w.Short))
	}
	lint := linter.New(&linter.Config{
		Warn: func(rule, _, _, msg string, loc []parser.Range) {
			line := 0
			if len(loc) > 0 {
				line = loc[0].Start.Line
			}
			problems = append(problems, fmt.Sprintf("%s: lint %s: %s", where(line), rule, msg))
		},
	})
	stages, metaArgs, err := instructions.Parse(parsed.AST, lint)
	if err != nil {
		return append(problems, fmt.Sprintf("%s: %v", dockerfilePath, err))
	}
	if len(stages) == 0 {
		return append(problems, dockerfilePath+": no FROM instruction")
	}

	// The target stage exists.
	if build.Target != "" {
		found := false
		for _, s := range stages {
			found = found || strings.EqualFold(s.Name, build.Target)
		}
		if !found {
			problems = append(problems, fmt.Sprintf("%s: no stage named %q (build.target)", dockerfilePath, build.Target))
		}
	}

	// Every build arg the Compose file passes is declared (BuildKit would ignore it silently).
	declared := map[string]bool{}
	for _, a := range metaArgs {
		for _, kv := range a.Args {
			declared[kv.Key] = true
		}
	}
	for _, s := range stages {
		for _, c := range s.Commands {
			if a, ok := c.(*instructions.ArgCommand); ok {
				for _, kv := range a.Args {
					declared[kv.Key] = true
				}
			}
		}
	}
	for key := range build.Args {
		if !declared[key] {
			problems = append(problems, fmt.Sprintf("%s: build arg %s is passed but no ARG declares it", dockerfilePath, key))
		}
	}

	// Every local COPY/ADD source is in the build context after .dockerignore.
	matcher, err := ignoreMatcher(build.Context, dockerfilePath)
	if err != nil {
		return append(problems, err.Error())
	}
	for _, s := range stages {
		for _, c := range s.Commands {
			var sources []string
			var line int
			switch cmd := c.(type) {
			case *instructions.CopyCommand:
				if cmd.From != "" {
					continue // from another stage or image
				}
				sources, line = cmd.SourcePaths, lineOf(cmd.Location())
			case *instructions.AddCommand:
				sources, line = cmd.SourcePaths, lineOf(cmd.Location())
			default:
				continue
			}
			for _, src := range sources {
				if p := checkSource(build.Context, src, matcher); p != "" {
					problems = append(problems, fmt.Sprintf("%s: %s", where(line), p))
				}
			}
		}
	}
	return problems
}

func lineOf(loc []parser.Range) int {
	if len(loc) == 0 {
		return 0
	}
	return loc[0].Start.Line
}

// ignoreMatcher reads <Dockerfile>.dockerignore if present, else <context>/.dockerignore.
func ignoreMatcher(contextDir, dockerfilePath string) (*patternmatcher.PatternMatcher, error) {
	candidates := []string{dockerfilePath + ".dockerignore", filepath.Join(contextDir, ".dockerignore")}
	for _, path := range candidates {
		f, err := os.Open(path)
		if err != nil {
			continue
		}
		defer f.Close()
		patterns, err := ignorefile.ReadAll(f)
		if err != nil {
			return nil, fmt.Errorf("%s: %v", path, err)
		}
		pm, err := patternmatcher.New(patterns)
		if err != nil {
			return nil, fmt.Errorf("%s: %v", path, err)
		}
		return pm, nil
	}
	return patternmatcher.New(nil)
}

// checkSource returns a problem when a COPY/ADD source is not in the build context.
func checkSource(contextDir, src string, matcher *patternmatcher.PatternMatcher) string {
	if strings.Contains(src, "://") || strings.HasPrefix(src, "git@") || strings.Contains(src, "$") {
		return "" // remote sources and sources built from variables are not checked
	}
	rel := filepath.Clean(strings.TrimPrefix(filepath.ToSlash(src), "/"))
	if rel == ".." || strings.HasPrefix(rel, "../") {
		return fmt.Sprintf("COPY/ADD source %q is outside the build context", src)
	}
	matches, err := filepath.Glob(filepath.Join(contextDir, rel))
	if err != nil {
		return fmt.Sprintf("COPY/ADD source %q: %v", src, err)
	}
	if len(matches) == 0 {
		return fmt.Sprintf("COPY/ADD source %q does not exist in the build context %s", src, contextDir)
	}
	for _, m := range matches {
		r, _ := filepath.Rel(contextDir, m)
		if r == "." {
			continue
		}
		excluded, err := matcher.MatchesOrParentMatches(filepath.ToSlash(r))
		if err != nil {
			return fmt.Sprintf("COPY/ADD source %q: %v", src, err)
		}
		if excluded {
			return fmt.Sprintf("COPY/ADD source %q (%s) is excluded from the build context by .dockerignore", src, r)
		}
	}
	return ""
}

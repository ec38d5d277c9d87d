"""Write (or check) the committed contract docs: `docs/schemas/<event_type>.json` per event and
`docs/asyncapi.yaml` for the system.

    python -m sipuma.shared.docs_gen            # write; refuses breaking schema changes
    python -m sipuma.shared.docs_gen --check    # exit 1 when stale or breaking (CI)
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

import yaml

from sipuma.shared.asyncapi import build_asyncapi
from sipuma.shared.events import ALL_EVENTS, Event
from sipuma.shared.schema_compat import breaking_changes
from sipuma.shared.topics import topic_for

JSON_SCHEMA_DIALECT = "https://json-schema.org/draft/2020-12/schema"


def event_schema(cls: type[Event]) -> dict[str, Any]:
    schema = cls.model_json_schema(mode="validation")
    return {
        "$schema": JSON_SCHEMA_DIALECT,
        "$id": f"urn:sipuma:event:{cls.TYPE}",
        **schema,
        "x-sipuma-event-type": cls.TYPE,
        "x-sipuma-topic": topic_for(cls).name,
        "x-sipuma-personal-data": cls.carries_personal_data,
    }


def render() -> dict[str, str]:
    """Every generated file, by path relative to `docs/`."""
    files = {
        f"schemas/{cls.TYPE}.json": json.dumps(event_schema(cls), indent=2, ensure_ascii=False)
        + "\n"
        for cls in ALL_EVENTS
    }
    files["asyncapi.yaml"] = yaml.safe_dump(
        build_asyncapi(), sort_keys=False, allow_unicode=True, width=100
    )
    return files


def incompatibilities(docs: Path, files: dict[str, str] | None = None) -> list[str]:
    """Breaking changes of the current models against the committed schemas."""
    files = files or render()
    problems: list[str] = []
    for committed in sorted((docs / "schemas").glob("*.json")):
        key = f"schemas/{committed.name}"
        if key not in files:
            problems.append(f"{committed.stem}: event type removed (keep it, or add a new version)")
            continue
        old, new = json.loads(committed.read_text("utf-8")), json.loads(files[key])
        problems += [f"{committed.stem}: {p}" for p in breaking_changes(old, new)]
    return problems


def stale(docs: Path, files: dict[str, str] | None = None) -> list[str]:
    files = files or render()
    found = [name for name, text in files.items() if not _same(docs / name, text)]
    extra = {f"schemas/{p.name}" for p in (docs / "schemas").glob("*.json")} - set(files)
    return sorted(found) + sorted(extra)


def _same(path: Path, text: str) -> bool:
    return path.is_file() and path.read_text("utf-8") == text


def write(docs: Path, *, allow_breaking: bool = False) -> list[str]:
    files = render()
    if not allow_breaking and (problems := incompatibilities(docs, files)):
        raise SystemExit(
            "breaking event schema changes (add a new versioned type instead):\n  "
            + "\n  ".join(problems)
        )
    changed = stale(docs, files)
    for name, text in files.items():
        path = docs / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if not _same(path, text):
            path.write_text(text, encoding="utf-8")
    return changed


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--docs", type=Path, default=Path("docs"))
    parser.add_argument("--check", action="store_true", help="fail when stale or breaking")
    parser.add_argument("--allow-breaking", action="store_true")
    args = parser.parse_args(argv)
    if args.check:
        problems = incompatibilities(args.docs) + [f"stale: {n}" for n in stale(args.docs)]
        print("\n".join(problems) or "docs are up to date")
        return 1 if problems else 0
    changed = write(args.docs, allow_breaking=args.allow_breaking)
    print("\n".join(f"wrote docs/{name}" for name in changed) or "docs are up to date")
    return 0


if __name__ == "__main__":
    sys.exit(main())

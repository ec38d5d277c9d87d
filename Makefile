# SIPUMA: one command to start everything, one to run all tests.
#   make up      infra + the four services (Docker when an engine answers, local servers otherwise)
#   make test    lint, types, then unit + integration + e2e tests against real components
#   make down    stop everything `make up` started
SHELL := bash
.DEFAULT_GOAL := help
UV_VERSION := 0.13.8
# One resolution of uv for every recipe, script and test below: the one on PATH, else the one
# `make uv` installs into ~/.local/bin, which a fresh shell does not have on PATH. Exporting its
# folder makes deploy/local/*.sh and the test harness (which runs infra.sh) find the same uv.
UV := $(shell command -v uv 2>/dev/null || echo $(HOME)/.local/bin/uv)
export PATH := $(patsubst %/,%,$(dir $(UV))):$(PATH)
DOCKER := $(shell docker info >/dev/null 2>&1 && echo yes)
PYTEST_ARGS ?=

.PHONY: help uv sync up down infra-up infra-down services-up services-down status token \
        test test-unit test-integration test-e2e check lint format typecheck docs

help:
	@grep -E '^[a-z-]+:.*' Makefile | grep -v '^help' | cut -d: -f1 | sort | xargs -n1 echo "make"

uv:
	@command -v uv >/dev/null 2>&1 || test -x $(UV) || python3 -m pip install --quiet --user uv==$(UV_VERSION)

sync: uv
	@$(UV) sync --locked --quiet

ifeq ($(DOCKER),yes)
up:
	docker compose up -d --build --wait
down:
	docker compose down
else
up: infra-up services-up
down: services-down infra-down
endif

infra-up: sync
	@bash deploy/local/infra.sh up
infra-down:
	@bash deploy/local/infra.sh down
services-up: sync
	@bash deploy/local/services.sh up
services-down:
	@bash deploy/local/services.sh down
status:
	@bash deploy/local/infra.sh status; bash deploy/local/services.sh status

# An officer token for the console or curl (development mode only), e.g.
#   make token OFFICER=199001012020121001 OFFICE=KPPBC-TMP-MAKASSAR ROLES="receiver compliance"
OFFICER ?= 199001012020121001
OFFICE ?= KPUBC-TPK-TJPRIOK
ROLES ?= receiver
token: sync
	@$(UV) run sipuma-intake-token --officer "$(OFFICER)" --office "$(OFFICE)" \
	  $(foreach role,$(ROLES),--role $(role))

lint: sync
	$(UV) run ruff check .
	$(UV) run ruff format --check .
# Source and test code in one run (test modules may leave pytest functions un-annotated: see
# [tool.mypy] in pyproject.toml). The root conftest.py is left out: it only lists the harness
# plugin, and its module name `conftest` is taken by services/registry/tests/conftest.py.
TYPECHECK_PATHS := shared/src services/intake/src services/registry/src services/evidence/src \
                   services/notifier/src services/analytics/src tools/ops/src shared/tests \
                   services/intake/tests services/registry/tests services/evidence/tests \
                   services/notifier/tests services/analytics/tests tests tools/ops/tests \
                   deploy/k8s/schemas bench
typecheck: sync
	$(UV) run mypy $(TYPECHECK_PATHS)
check: lint typecheck

format: sync
	$(UV) run ruff format . && $(UV) run ruff check --fix .

docs: sync
	$(UV) run python -m sipuma.shared.docs_gen

# The test harness resolves real components itself (env vars, testcontainers, or these local
# servers); starting them first keeps the first test from paying for it.
test: check
	@if [ "$(DOCKER)" != "yes" ]; then bash deploy/local/infra.sh up; fi
	@bash deploy/local/install-browser.sh
	$(UV) run pytest $(PYTEST_ARGS)

test-unit: sync
	$(UV) run pytest -m unit $(PYTEST_ARGS)
test-integration: sync
	$(UV) run pytest -m integration $(PYTEST_ARGS)
test-e2e: sync
	@bash deploy/local/install-browser.sh
	$(UV) run pytest -m e2e $(PYTEST_ARGS)

# Ratio benchmarks (not tests): all four services as processes on the real servers, each next
# to a raw baseline in the same run, then the growth phase (a private registry grown to 10k, 50k
# and 200k complaints: about 20 minutes of the whole run); writes docs/benchmarks.{md,json}, the
# latency and the growth plot. Knobs: make bench BENCH_ARGS="--events 2000 --only abcde"
# (skips the growth phase), BENCH_ARGS=--quick to try it in a minute (uv run python -m bench --help).
.PHONY: bench
BENCH_ARGS ?=
bench: sync
	@if [ "$(DOCKER)" != "yes" ]; then bash deploy/local/infra.sh up; fi
	$(UV) run python -m bench $(BENCH_ARGS)

# Fault injection under load (issue 9, part 3): a private Kafka/store/MinIO/SMTP/SMS stack on
# free ports, SIPUMA_CHAOS_RUNS runs of every scenario, exact reconciliation after each, results
# in docs/reliability.md. `make test` runs the same suite with one run each and shorter outages.
.PHONY: chaos
CHAOS_RUNS ?= 20
chaos: sync
	SIPUMA_CHAOS_RUNS=$(CHAOS_RUNS) SIPUMA_CHAOS_STORE_DOWN_S=30 \
	  SIPUMA_CHAOS_REPORT=docs/reliability.md $(UV) run pytest tests/chaos -m chaos $(PYTEST_ARGS)

# A local 3-node Kafka cluster (issue 17): KRaft, one controller quorum, RF 3, min.insync 2, on
# 127.0.0.1:19092-19094 (controllers 19192-19194) under ~/.local/state/sipuma-cluster; the
# shared broker on 9092 is not touched. See docs/scaling.md for pointing services at it.
.PHONY: cluster-up cluster-down cluster-status cluster-chaos
cluster-up: sync
	@bash deploy/local/cluster.sh up
cluster-down:
	@bash deploy/local/cluster.sh down
cluster-status:
	@bash deploy/local/cluster.sh status

# The 3-broker proof (issue 17, part 2): tests/cluster on a private 3-node cluster of its own
# (free ports), CHAOS_RUNS runs of every broker fault and of the scale-out; numbers into the
# generated blocks of docs/reliability.md and docs/scaling.md. `make test` runs 1 run each.
cluster-chaos: sync
	SIPUMA_CHAOS_RUNS=$(CHAOS_RUNS) SIPUMA_CLUSTER_REPORT_DIR=docs \
	  $(UV) run pytest tests/cluster -m chaos $(PYTEST_ARGS)

# Long fuzz pass (issue 9, part 4): schemathesis with >= 1,000 generated cases per service and the
# hostile corpus, against the stack as `make up` starts it. `make test` runs 50 cases per service.
.PHONY: fuzz
FUZZ_CASES ?= 1000
fuzz: sync
	@if [ "$(DOCKER)" != "yes" ]; then bash deploy/local/infra.sh up; fi
	SIPUMA_FUZZ_CASES=$(FUZZ_CASES) $(UV) run pytest tests/fuzz -q -s $(PYTEST_ARGS)

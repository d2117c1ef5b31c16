# Two commands do all set-up on a fresh machine: `make demo` and `make test`.
VENV ?= .venv
PYTHON ?= python3
BIN := $(VENV)/bin
# `make demo` installs only what the demo needs (the core and the demo extra), not the test and lint tools.
DEMO_VENV ?= .venv-demo
DEMO_BIN := $(DEMO_VENV)/bin
# The core install with the test tools on pandas 3: the suite runs again here, all but the report extra's tests.
CORE_VENV ?= .venv-core
CORE_BIN := $(CORE_VENV)/bin
SYSTEM_PACKAGES := prometheus prometheus-alertmanager
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: demo test unit integration lint typecheck pytest pytest-core generated lock check-generated system-deps browser-deps balancer-deps mlflow-deps bench fuzz clean

# The venv is rebuilt when the dependency list changes.
$(BIN)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $@

$(DEMO_BIN)/.installed: pyproject.toml
	$(PYTHON) -m venv $(DEMO_VENV)
	$(DEMO_BIN)/python -m pip install --quiet --upgrade pip
	$(DEMO_BIN)/python -m pip install --quiet -e '.[demo]'
	touch $@

$(CORE_BIN)/.installed: pyproject.toml
	$(PYTHON) -m venv $(CORE_VENV)
	$(CORE_BIN)/python -m pip install --quiet --upgrade pip
	$(CORE_BIN)/python -m pip install --quiet -e '.[test]' 'pandas>=3'
	touch $@

# The whole loop on this machine: churn model, traffic, drift, alerts, one retraining dispatch (~90 s).
demo: $(DEMO_BIN)/.installed system-deps
	$(DEMO_BIN)/driftline demo

# promtool and amtool come from Debian; install them only when missing.
system-deps:
	@if command -v promtool >/dev/null && command -v prometheus-alertmanager >/dev/null && command -v amtool >/dev/null; then \
	  echo "system packages present: $(SYSTEM_PACKAGES)"; \
	else \
	  $(SUDO) apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq --no-install-recommends $(SYSTEM_PACKAGES) >/dev/null; \
	fi

# Headless Chromium renders the Evidently reports in the report tests (not needed by the demo).
browser-deps:
	@command -v chromium >/dev/null || { $(SUDO) apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq --no-install-recommends chromium >/dev/null; }

# HAProxy spreads traffic over exporter replicas in the pooling test (a real load balancer, round-robin);
# kubectl builds the kustomize overlays; curl runs the docs' one-event example.
balancer-deps:
	@command -v curl >/dev/null || { $(SUDO) apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq --no-install-recommends curl >/dev/null; }
	@command -v haproxy >/dev/null || [ -x /usr/sbin/haproxy ] || { $(SUDO) apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq --no-install-recommends haproxy >/dev/null; }
	@command -v kubectl >/dev/null || { $(SUDO) apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq --no-install-recommends kubectl >/dev/null; }

# The MLflow tracking server the registry tests run (SQLite, artifacts on the moto S3 server) and the client the
# training run of those tests logs with: a service like Prometheus, in a venv of its own — driftline talks to it over
# its REST API and never imports mlflow.
MLFLOW_VENV ?= .venv-mlflow
MLFLOW_BIN := $(MLFLOW_VENV)/bin
MLFLOW_VERSION ?= 3.17.2
$(MLFLOW_BIN)/.installed:
	$(PYTHON) -m venv $(MLFLOW_VENV)
	$(MLFLOW_BIN)/python -m pip install --quiet --upgrade pip
	$(MLFLOW_BIN)/python -m pip install --quiet 'mlflow==$(MLFLOW_VERSION)' boto3
	touch $@

mlflow-deps: $(MLFLOW_BIN)/.installed

lint: $(BIN)/.installed
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/hadolint Dockerfile

typecheck: $(BIN)/.installed
	$(BIN)/mypy

# Tests run in parallel (pytest-xdist): the unit tier on both cores; the tiers that start real processes on four
# workers, since most of their time is spent waiting on those processes. Tests that must not share the machine with
# each other carry one xdist_group (--dist loadgroup runs a group on one worker).
UNIT_WORKERS ?= 2
WORKERS ?= 4
PARALLEL := -n $(WORKERS) --dist loadgroup

# The fast tier: statistics, config, generation and both services' ASGI apps in process, no subprocess and no
# binary (tests/unit/conftest.py refuses one), so it needs nothing installed but the venv.
unit: $(BIN)/.installed
	$(BIN)/pytest -q -n $(UNIT_WORKERS) tests/unit

# The tiers that start real processes: the services, Prometheus, Alertmanager, HAProxy, Chromium, the command line;
# the slowest tests are listed at the end.
integration: $(BIN)/.installed system-deps browser-deps balancer-deps mlflow-deps
	$(BIN)/pytest -q $(PARALLEL) --durations=15 tests/integration tests/e2e tests/test_readme.py

# Every tier at once. pytest exits 5 when it collects no test; make treats that as a failure like any other.
pytest: $(BIN)/.installed system-deps browser-deps balancer-deps mlflow-deps
	$(BIN)/pytest $(PARALLEL)

# deploy/generated is what `driftline generate` writes for the example config, docs/metrics.md and docs/runbooks.md
# what the metric and alert catalogues say, the two monitor.schema.json what the config loader reads, the table in
# docs/statistics.md what the statistics registry holds; CI fails when any of them is stale.
GENERATED := deploy/generated deploy/kubernetes/overlays/replicas/generated deploy/helm/driftline/files/generated docs/metrics.md docs/runbooks.md \
  docs/monitor.schema.json drift/config/monitor.schema.json docs/statistics.md
generated: $(BIN)/.installed
	$(BIN)/driftline generate --config examples/monitor.yaml --out deploy/generated
	$(BIN)/driftline generate --config deploy/kubernetes/overlays/replicas/monitor.yaml \
	  --out deploy/kubernetes/overlays/replicas/generated
	$(BIN)/driftline generate --config deploy/helm/driftline/files/monitor.yaml --out deploy/helm/driftline/files/generated
	$(BIN)/python -m driftline.docs

check-generated: generated
	@git diff --exit-code --stat -- $(GENERATED) || \
	  { echo "generated files are stale: run 'make generated' and commit them"; exit 1; }
	@untracked=$$(git ls-files --others --exclude-standard -- $(GENERATED)); \
	  if [ -n "$$untracked" ]; then echo "generated files are not committed: $$untracked"; exit 1; fi

# Again on the core install and pandas 3 (Evidently, and with it the pandas cap, is the report extra): what depends
# on the install — the unit tier and the modules marked `install` (reading data, profiles, reports, the command line,
# the extras, the demo) — not the services and rules, whose code is the same on both.
pytest-core: $(CORE_BIN)/.installed system-deps browser-deps balancer-deps mlflow-deps
	$(CORE_BIN)/python -c 'import importlib.util, sys; sys.exit(importlib.util.find_spec("evidently") is not None)'
	$(CORE_BIN)/pytest -q -n $(UNIT_WORKERS) -m 'not report' tests/unit
	$(CORE_BIN)/pytest -q $(PARALLEL) -m 'install and not report' tests/integration tests/e2e tests/test_readme.py

# The fast gate first (lint, types, generated files, the unit tier: about two minutes), then the tiers that start real
# processes and, beside them on the other job slot, the core install's pass (as CI's two jobs do). The system packages
# come first, one apt-get at a time.
test: lint typecheck check-generated unit
	$(MAKE) --no-print-directory system-deps browser-deps balancer-deps mlflow-deps
	$(MAKE) --no-print-directory -j2 --output-sync=target integration pytest-core

# The image's dependencies pinned (deploy/image/constraints.txt): the core and the report extra, resolved afresh on
# Python 3.11 as in the image. Run it to take new releases; the shipping test checks the pins still resolve.
lock:
	rm -rf .venv-lock && $(PYTHON) -m venv .venv-lock
	.venv-lock/bin/python -m pip install --quiet --upgrade pip
	.venv-lock/bin/python -m pip install --quiet '.[server,report]'
	{ echo "# The image's pinned dependencies (driftline core, the server and report extras), written by make lock."; \
	  .venv-lock/bin/python -m pip freeze --exclude driftline; } > deploy/image/constraints.txt
	rm -rf .venv-lock

# Every fuzz target (tests/fuzz) for FUZZ_RUNS executions each, coverage-guided with atheris where it installs; the
# figures of the last long run are in docs/operations.md. `make test` runs a short budget (tests/integration/test_fuzz.py).
FUZZ_RUNS ?= 120000
fuzz: $(BIN)/.installed
	$(BIN)/python -m tests.fuzz --runs $(FUZZ_RUNS)

bench: $(BIN)/.installed
	test -d .peers || bash benchmarks/install_peers.sh .peers
	$(BIN)/python benchmarks/bench_stats.py --peers .peers
	$(BIN)/python benchmarks/bench_power.py
	$(BIN)/python benchmarks/bench_memory.py
	@command -v wrk >/dev/null || $(SUDO) apt-get install -y -qq wrk >/dev/null
	$(BIN)/python benchmarks/bench_ingest.py
	$(BIN)/python benchmarks/bench_webhook.py
	$(BIN)/python benchmarks/bench_concept.py
	$(BIN)/python benchmarks/bench_adwin.py --river .peers/river/bin/python
	$(BIN)/python benchmarks/bench_multivariate.py --nannyml .peers/nannyml/bin/python
	$(BIN)/python benchmarks/bench_counting.py
	$(BIN)/python benchmarks/bench_estimation.py --task multiclass --nannyml .peers/nannyml/bin/python
	$(BIN)/python benchmarks/bench_estimation.py --task regression --nannyml .peers/nannyml/bin/python
	$(BIN)/python benchmarks/bench_install.py

clean:
	rm -rf $(VENV) $(DEMO_VENV) $(CORE_VENV) $(MLFLOW_VENV) .venv-lock .pytest_cache .mypy_cache .ruff_cache .hypothesis .peers demo-data build dist *.egg-info
	find . -name __pycache__ -type d -prune -exec rm -rf {} +

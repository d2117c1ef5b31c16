# Two commands do all set-up on a fresh machine: `make demo` and `make test`.
VENV ?= .venv
PYTHON ?= python3
BIN := $(VENV)/bin
SYSTEM_PACKAGES := prometheus prometheus-alertmanager
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: demo test unit lint typecheck pytest generated check-generated system-deps browser-deps balancer-deps bench clean

# The venv is rebuilt when the dependency list changes.
$(BIN)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $@

# The whole loop on this machine: churn model, traffic, drift, alerts, one retraining dispatch (~90 s).
demo: $(BIN)/.installed system-deps
	$(BIN)/driftline demo

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

lint: $(BIN)/.installed
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/hadolint Dockerfile

typecheck: $(BIN)/.installed
	$(BIN)/mypy

# The fast tier: statistics, config, generation and both services' ASGI apps in process (under a minute).
unit: $(BIN)/.installed
	$(BIN)/pytest -q tests/unit

# pytest exits 5 when it collects no test; make treats that as a failure like any other non-zero exit.
pytest: $(BIN)/.installed system-deps browser-deps balancer-deps
	$(BIN)/pytest

# deploy/generated is what `driftline generate` writes for the example config, docs/metrics.md and docs/runbooks.md
# what the metric and alert catalogues say; CI fails when any of them is stale.
GENERATED := deploy/generated deploy/kubernetes/overlays/replicas/generated docs/metrics.md docs/runbooks.md
generated: $(BIN)/.installed
	$(BIN)/driftline generate --config examples/monitor.yaml --out deploy/generated
	$(BIN)/driftline generate --config deploy/kubernetes/overlays/replicas/monitor.yaml \
	  --out deploy/kubernetes/overlays/replicas/generated
	$(BIN)/python -m driftline.docs

check-generated: generated
	@git diff --exit-code --stat -- $(GENERATED) || \
	  { echo "generated files are stale: run 'make generated' and commit them"; exit 1; }
	@untracked=$$(git ls-files --others --exclude-standard -- $(GENERATED)); \
	  if [ -n "$$untracked" ]; then echo "generated files are not committed: $$untracked"; exit 1; fi

test: lint typecheck check-generated pytest

bench: $(BIN)/.installed
	test -d .peers || bash benchmarks/install_peers.sh .peers
	$(BIN)/python benchmarks/bench_stats.py --peers .peers
	$(BIN)/python benchmarks/bench_power.py
	$(BIN)/python benchmarks/bench_memory.py
	@command -v wrk >/dev/null || $(SUDO) apt-get install -y -qq wrk >/dev/null
	$(BIN)/python benchmarks/bench_ingest.py
	$(BIN)/python benchmarks/bench_webhook.py
	$(BIN)/python benchmarks/bench_concept.py

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache .hypothesis .peers demo-data build dist *.egg-info
	find . -name __pycache__ -type d -prune -exec rm -rf {} +

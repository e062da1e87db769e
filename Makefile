# Two commands matter: `make run` (the dashboard on synthetic demo data) and `make test`.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
PORT ?= 8501
PYTEST_ARGS ?=
BENCH_ARGS ?=

.PHONY: run test demo install install-dev system-deps bench lint clean

$(PY):
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip

$(VENV)/.runtime-installed: requirements.txt | $(PY)
	$(PY) -m pip install -q -r requirements.txt
	touch $@

$(VENV)/.dev-installed: requirements-dev.txt requirements.txt | $(PY)
	$(PY) -m pip install -q -r requirements-dev.txt
	touch $@ $(VENV)/.runtime-installed

install: $(VENV)/.runtime-installed

install-dev: $(VENV)/.dev-installed

## Build the synthetic demo store if it is missing (data/demo.sqlite), then fill the result cache.
demo: install
	$(PY) -m data_loaders demo --if-missing
	$(PY) -m indicators warm

## Start the dashboard on the embedded demo data.
run: demo
	$(VENV)/bin/streamlit run dashboard.py --server.port $(PORT) --server.headless true

## Debian packages for the browser, deck and PostgreSQL tests (installed when root).
system-deps:
	scripts/install_system_deps.sh

## axe-core for the accessibility tests (pinned in package-lock.json); without npm those tests skip.
node_modules/axe-core/axe.min.js: package.json package-lock.json
	@if command -v npm >/dev/null 2>&1; then npm ci --no-audit --no-fund && touch $@; \
	else echo "npm not found: the axe accessibility tests will be skipped"; fi

## Every test: statistics, data, suppression, UI (AppTest), browser (Playwright), exports, PostgreSQL.
test: install-dev system-deps node_modules/axe-core/axe.min.js
	$(PY) -m pytest -n 2 -q $(PYTEST_ARGS)

## Every benchmark, one table of medians (bench/README.md); `make bench BENCH_ARGS=--quick` for a smoke run.
## The browser benchmarks need Chromium (system-deps installs it when root).
bench: install-dev system-deps
	$(PY) bench/run_all.py $(BENCH_ARGS)

clean:
	rm -rf $(VENV) data test-artifacts .pytest_cache .hypothesis

## The public, read-only dashboard (PUBLIC_MODE=1, production Streamlit settings) for a reverse proxy;
## see docs/deployment.md, "Offentlig, skrivebeskyttet drift". Uses DATABASE_URL; never builds the demo.
.PHONY: run-public
run-public: install
	$(PY) deploy/run_public.py --port $(PORT)

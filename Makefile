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

## Real data with internet: a store from SSB's live APIs (KLASS classifications, population from table 07459
## and 10826) plus any Helseatlas files, `make real HELSEATLAS="path/*.json"`; no synthetic register counts.
## Built beside the old store and moved into place only when every step succeeded. Then `make run-real`.
REAL_DB ?= data/real.sqlite
REAL_YEARS ?= 2020-2025
HELSEATLAS ?=
REAL_URL = sqlite:///$(abspath $(REAL_DB))
.PHONY: real run-real
real: install
	@mkdir -p $(dir $(REAL_DB))
	rm -f $(REAL_DB).new
	$(PY) -m data_loaders --database-url $(REAL_URL).new init
	$(PY) -m data_loaders --database-url $(REAL_URL).new fetch ssb-classifications
	$(PY) -m data_loaders --database-url $(REAL_URL).new fetch ssb-population --years $(REAL_YEARS)
	$(if $(strip $(HELSEATLAS)),$(PY) -m data_loaders --database-url $(REAL_URL).new import --format helseatlas $(HELSEATLAS))
	mv -f $(REAL_DB).new $(REAL_DB)
	DATABASE_URL=$(REAL_URL) $(PY) -m indicators warm
	@echo "Real-data store ready: $(REAL_DB). Start the dashboard on it with: make run-real"

## The dashboard on the real-data store built by `make real` (the demo store is left alone).
run-real: install
	@test -f $(REAL_DB) || { echo "$(REAL_DB) is missing: run 'make real' first (needs internet)"; exit 1; }
	DATABASE_URL=$(REAL_URL) $(VENV)/bin/streamlit run dashboard.py --server.port $(PORT) --server.headless true

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

# Two commands matter: `make run` (the dashboard on synthetic demo data) and `make test`.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
PORT ?= 8501
PYTEST_ARGS ?=

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

## Every test: statistics, data, suppression, UI (AppTest), browser (Playwright), exports, PostgreSQL.
test: install-dev system-deps
	$(PY) -m pytest -n 2 -q $(PYTEST_ARGS)

bench: install-dev
	$(PY) bench/run_all.py

clean:
	rm -rf $(VENV) data test-artifacts .pytest_cache .hypothesis

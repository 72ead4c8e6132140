# Servio: `make demo` serves a seeded demo; `make test` runs every check CI runs.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
VENDOR := src/servio/web/static/vendor
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
UV_VERSION := 0.13.9
PYTEST_ARGS ?= -n 2
HOST ?= 127.0.0.1
PORT ?= 8000
export UV_PYTHON_DOWNLOADS := never
export UV_PROJECT_ENVIRONMENT := $(VENV)

.PHONY: install browser demo serve worker test test-fast test-dates mutation lint types contracts pytest bench fmt clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(VENV)/.installed: pyproject.toml uv.lock | $(BIN)/python
	$(BIN)/python -m pip install --quiet --disable-pip-version-check uv==$(UV_VERSION)
	$(BIN)/uv sync --frozen --inexact --compile-bytecode --python $(BIN)/python
	touch $@

# htmx and Chart.js for the pages, axe-core for the browser tests, from package-lock.json.
$(VENDOR)/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund --ignore-scripts --loglevel=error
	mkdir -p $(VENDOR)
	cp node_modules/htmx.org/dist/htmx.min.js node_modules/chart.js/dist/chart.umd.min.js $(VENDOR)/
	touch $@

install: $(VENV)/.installed $(VENDOR)/.installed

browser:  ## Debian's chromium, which the browser tests drive through Playwright
	@command -v chromium >/dev/null || { export DEBIAN_FRONTEND=noninteractive; \
	  $(SUDO) apt-get install -y -q chromium || { $(SUDO) apt-get update -q && \
	  $(SUDO) apt-get install -y -q chromium; }; }

demo: install  ## migrate a SQLite database under ./var, seed the demo, serve on 127.0.0.1:8000
	$(BIN)/servio demo --host $(HOST) --port $(PORT)

serve: install
	$(BIN)/servio serve --host $(HOST) --port $(PORT)

worker: install
	$(BIN)/servio worker

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

types: install  ## mypy: strict on src, the tests too (bare generics allowed there)
	$(BIN)/mypy src tests

contracts: install
	$(BIN)/lint-imports

pytest: install browser
	$(BIN)/pytest $(PYTEST_ARGS)

test: lint types contracts pytest  ## everything CI checks

test-fast: install  ## pytest without the browser and slow tests (see the markers in pyproject.toml)
	$(BIN)/pytest $(PYTEST_ARGS) -m "not slow and not browser"

# The date-sensitive tests (marked `dates`) again with the clock moved to each instant:
# a Saturday, a Sunday, both America/Edmonton DST changes of 2027 (the night of each),
# 31 December 23:30 local and 29 February 2028. On SQLite only: `make test` has run them
# on both databases at today's date, and the dates are the application's, not the SQL's.
PINNED_INSTANTS ?= 2027-01-16T17:00:00Z 2027-01-17T19:00:00Z 2027-03-14T08:30:00Z \
	2027-11-07T07:30:00Z 2028-01-01T06:30:00Z 2028-02-29T16:00:00Z
test-dates: install browser  ## the date-sensitive tests at each pinned instant
	@for at in $(PINNED_INSTANTS); do \
	  echo "== clock at $$at"; \
	  SERVIO_TEST_NOW=$$at $(BIN)/pytest $(PYTEST_ARGS) -m dates -k "not postgres" -q || exit 1; \
	done

# Mutation testing of the pure cores (estimator, deposit policy, cancellation, slots, the
# conversation machine, idempotency's pure functions) against their fast unit tests in
# tests/unit/cores: each mutant runs in a process forked for it alone, and the slot
# search's window cache is emptied around every test, so no cached answer hides a mutant.
# Prints each core's score and fails when one is under 90 %. `mutmut browse` shows the rest.
MUTATION_LOG := var/mutation.log
mutation: install  ## mutation scores of the pure cores; fails under 90 % on any
	@rm -rf mutants && mkdir -p var
	@echo "mutmut on the pure cores (progress in $(MUTATION_LOG))"
	@time (PYTEST_DISABLE_PLUGIN_AUTOLOAD=1 PYTEST_PLUGINS=pytest_asyncio.plugin \
	  $(BIN)/mutmut run --max-children 2 \
	  $$($(BIN)/python tests/unit/cores/mutation_scores.py patterns) >$(MUTATION_LOG) 2>&1) \
	  || { tail -c 4000 $(MUTATION_LOG); exit 1; }
	@$(BIN)/python tests/unit/cores/mutation_scores.py check $(BIN)/mutmut

bench: install  ## load a live server on PostgreSQL; results in bench/results/*.json
	bash bench/run.sh

fmt: install
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

clean:
	rm -rf $(VENV) var .pytest_cache .mypy_cache .ruff_cache node_modules $(VENDOR)

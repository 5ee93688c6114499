# The two commands of the README: `make run` (the main job end to end) and `make test`.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python

.PHONY: run up test lint setup services clean

setup: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[dev]'
	touch $@

# Stack up, the sample request through everything that exists, stays up until Ctrl-C.
# HAProxy and a Docker engine come from Debian's packages when missing (each says so);
# without an engine requests stop at their tests and say how to start one (or opt in to the
# weaker local runner with CCB_SANDBOX_ALLOW_LOCAL=1).
run: setup
	-bash scripts/ensure-haproxy.sh
	-bash scripts/ensure-docker.sh
	$(VENV)/bin/ccb up --sample

up: setup
	$(VENV)/bin/ccb up

lint: setup
	$(VENV)/bin/ruff check .
	$(VENV)/bin/lint-imports

# Installs what the tests need (PostgreSQL, docker-compose, ...), lints, runs the suite.
test: setup
	bash scripts/ensure-test-services.sh
	$(VENV)/bin/ruff check .
	$(VENV)/bin/lint-imports
	. ./.data/test-services.env && $(PY) -m pytest $(PYTEST_ARGS)

clean:
	rm -rf $(VENV) .data

# Two commands a newcomer needs: `make run` and `make test`. Everything else is here so that
# CI and people run exactly the same steps.

SHELL := /bin/bash
VENV := .venv
BIN := $(VENV)/bin
# The newest Python 3.11+ on this machine.
PYTHON ?= $(shell for p in python3.13 python3.12 python3.11 python3; do \
	command -v $$p >/dev/null 2>&1 && $$p -c 'import sys; sys.exit(sys.version_info < (3, 11))' \
	2>/dev/null && echo $$p && break; done)

.PHONY: run test lint typecheck pytest bench install install-dev clean

$(BIN)/python:
	@test -n "$(PYTHON)" || { echo "timeledger needs Python 3.11 or newer on PATH"; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

# Stamps record which dependency set is installed; editing pyproject.toml reinstalls.
$(VENV)/.server: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[server]'
	@touch $@

$(VENV)/.dev: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@touch $@ $(VENV)/.server

install: $(VENV)/.server
install-dev: $(VENV)/.dev

run: install
	$(BIN)/timeledger serve --bootstrap

lint: install-dev
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench

typecheck: install-dev
	$(BIN)/mypy

# Four test processes: much of the suite waits on servers, subprocesses and sockets, so even
# two cores keep four busy. PYTEST_ARGS="-n 0 -k timers" runs serially and narrows. Tests
# marked serial measure stalls under a load of their own, so they run alone, afterwards.
PYTEST_ARGS ?= -n 4 --dist worksteal
pytest: install-dev
	$(BIN)/pytest $(PYTEST_ARGS) -m "not serial"
	$(BIN)/pytest -n 0 -m serial

test: lint typecheck pytest

bench: install-dev
	$(BIN)/python -m bench

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache

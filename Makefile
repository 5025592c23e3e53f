# Two commands do all the set-up on a fresh machine: `make demo` and `make test`.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell cat pyproject.toml | sha1sum | cut -c1-12)
PYTEST_WORKERS ?= 2

.PHONY: install system-deps test demo benchmarks validate clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --disable-pip-version-check --upgrade pip
	$(BIN)/pip install -q --disable-pip-version-check -e '.[dev]'
	rm -f $(VENV)/.installed-*
	touch $@

install: $(STAMP) system-deps .venv-checkov/bin/checkov

# Checkov pins libraries that clash with Dagster's: it gets a venv of its own.
.venv-checkov/bin/checkov:
	$(PYTHON) -m venv .venv-checkov
	.venv-checkov/bin/pip install -q --disable-pip-version-check checkov==3.3.30

# Debian packages the tests drive for real (never a browser download).
system-deps:
	@bash scripts/system-deps.sh

test: install
	$(BIN)/pytest -n $(PYTEST_WORKERS) --dist loadfile -q

demo: $(STAMP)
	$(BIN)/ml-clusters sandbox

validate: $(STAMP)
	$(BIN)/dagster definitions validate -w workspace.yaml

benchmarks: $(STAMP)
	$(BIN)/python benchmarks/graph_load.py
	$(BIN)/python benchmarks/orchestration.py
	$(BIN)/python benchmarks/sensor_tick.py
	$(BIN)/python benchmarks/sandbox_start.py

clean:
	rm -rf $(VENV) .venv-checkov .dagster_home .pytest_cache

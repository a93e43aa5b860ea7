# Letterbox. `make help` lists the targets.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
TEST_STAMP := $(VENV)/.installed-test

.DEFAULT_GOAL := help

help: ## list the targets
	@grep -hE '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-14s %s\n", $$1, $$2}'

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip setuptools
	$(BIN)/pip install --quiet -e .
	touch $@

$(TEST_STAMP): pyproject.toml $(STAMP)
	$(BIN)/pip install --quiet -e '.[test]'
	touch $@

install: $(STAMP) ## create .venv and install Letterbox

run: $(STAMP) ## migrate, seed the demo centre if empty, serve on http://127.0.0.1:8080
	$(BIN)/letterbox db upgrade
	$(BIN)/letterbox demo
	$(BIN)/letterbox serve

test-services: ## make sure the test services can run (Chromium, exiftool, poppler, clamd, PostgreSQL, axe-core)
	scripts/ensure-test-services
	npm ci --prefix tests/browser --no-audit --no-fund --silent

lint: $(TEST_STAMP) ## ruff (with the S security rules), ruff format check, mypy strict
	$(BIN)/ruff check service storage tests bench scripts
	$(BIN)/ruff format --check service storage tests bench scripts
	$(BIN)/mypy

test: $(TEST_STAMP) test-services lint audit ## lint, audit, then the whole test suite on SQLite, PostgreSQL, SeaweedFS, aiortc, Chromium
	$(BIN)/python -m pytest

BENCHMARKS := store_throughput sanitise scanner record_verify export calls api_load

audit: $(TEST_STAMP) ## fail on known vulnerabilities in the installed dependencies (PyPI's advisory data)
	$(BIN)/python scripts/audit_dependencies.py

pip-audit: $(TEST_STAMP) ## pip-audit, where its per-version PyPI endpoint or OSV is reachable (not on this network)
	$(BIN)/pip-audit --strict --progress-spinner off

bench: $(TEST_STAMP) test-services ## run the benchmarks (each against a baseline in the same run) -> bench/results/*.json
	scripts/ensure-bench-tools
	@set -e; for b in $(BENCHMARKS); do echo "== bench/$$b.py"; $(BIN)/python bench/$$b.py; done
	@echo "Summarise the new figures in docs/benchmarks.md"

format: $(TEST_STAMP) ## format the code
	$(BIN)/ruff check --fix service storage tests bench scripts
	$(BIN)/ruff format service storage tests bench scripts

clean: ## remove the virtualenv and caches (keeps ./data)
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache

.PHONY: help install run test-services lint test audit pip-audit bench format clean

# Chirp — developer entry points. Every target bootstraps the virtualenv it needs; nothing is installed by hand.
#
#   make up      run the whole local stack (NATS, Valkey, Typesense, Envoy, every service) until Ctrl-C
#   make test    lint the contracts, check gen/ for drift, run the test suite (real servers on free ports)
#   make gen     regenerate gen/ from proto/ (Python stubs, type stubs, Envoy descriptor set, openapi.json)
#   make lint    buf lint, ruff and mypy
#   make bench   the load benchmark (bench/README.md), not part of `make test`; BENCH_ARGS="--scale full ..."
#   make fuzz    fuzz the REST API from gen/openapi.json (tools/fuzz/), 10,000+ requests on a stack of its own;
#                FUZZ_ARGS="--url http://127.0.0.1:8080" fuzzes a running one (`make test` runs a short fuzz)
#   make clean   remove the virtualenv and the local data directory

PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: up test gen gen-check lint bench fuzz clean venv

venv: $(STAMP)

# Reinstall whenever the dependency list changes, or when gen/ gains a top-level package (the editable install
# maps each top-level package of gen/ when it is made: `chirp`, `buf`).
$(STAMP): pyproject.toml $(wildcard gen/*/__init__.py)
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	@echo "installing dependencies into $(VENV) (first run takes a minute)"
	@$(PY) -m pip install --quiet --disable-pip-version-check -e '.[dev]'
	@touch $@

up: $(STAMP)
	@$(PY) -m stack up

gen: $(STAMP)
	@$(PY) -m tools.gen

gen-check: $(STAMP)
	@$(PY) -m tools.gen --check

lint: $(STAMP)
	@$(PY) -m tools.gen --lint-only
	@$(PY) -m ruff check services stack tools bench tests
	@$(PY) -m mypy services stack tools bench

test: $(STAMP)
	@$(PY) -m tools.gen --check
	@$(PY) -m ruff check services stack tools bench tests
	@$(PY) -m mypy services stack tools bench
	@$(PY) -m pytest

bench: $(STAMP)
	@$(PY) -m bench $(BENCH_ARGS)

fuzz: $(STAMP)
	@$(PY) -m tools.fuzz $(FUZZ_ARGS)

clean:
	rm -rf $(VENV) .chirp .chirp-bench

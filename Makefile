# scriptexec's own tasks. `make help` lists them.
# Everything runs from a virtual environment in .venv, created on first use.

PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
SE     := $(BIN)/scriptexec
BASE_IMAGE ?= scriptexec/python:3.11-bookworm
export SCRIPTEXEC_DOCKER_DIR ?= /tmp/scriptexec-docker

.PHONY: help install lock dscr build watch test ci system-deps docker-engine base-image lint bench clean

help:
	@echo "make dscr        set up and build specs/dscr.yaml (the main job)"
	@echo "make ci          set up everything (Debian packages, Docker engine, base image) and run all tests"
	@echo "make test        run the tests with what this machine has (skips Docker/browser tests if absent)"
	@echo "make install     create .venv with scriptexec and its locked test dependencies"
	@echo "make lock        refresh requirements.lock to the newest allowed releases"
	@echo "make build       build every spec under specs/ (tenant_risk needs an LLM)"
	@echo "make watch       rebuild specs as you edit them"
	@echo "make lint        ruff and mypy"
	@echo "make bench       print the speed figures (no-op builds, 1,000 specs, watch latency)"
	@echo "make base-image  build the local Python base image with debootstrap"
	@echo "make clean       remove build outputs, caches and .venv"

$(BIN)/activate:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

# The exact, hash-checked dependency set CI tested (requirements.lock, made by `make lock`),
# then scriptexec itself with no dependency resolution of its own. The lock is resolved for
# CPython 3.11 on Linux; another Python gets pyproject.toml's ranges instead, with a warning.
# The marker is rebuilt when the lock or the dependency list changes.
$(VENV)/.installed: requirements.lock pyproject.toml | $(BIN)/activate
	@if $(BIN)/python -c 'import sys; sys.exit(sys.version_info[:2] != (3, 11))'; then \
	  $(BIN)/pip install --quiet --require-hashes -r requirements.lock && \
	  $(BIN)/pip install --quiet --no-deps --no-build-isolation -e . ; \
	else \
	  echo "warning: requirements.lock is for Python 3.11; installing from pyproject.toml's ranges" >&2; \
	  $(BIN)/pip install --quiet -e '.[test]' ; \
	fi
	@touch $@

install: $(VENV)/.installed

# Refresh requirements.lock to the newest releases pyproject.toml allows (then run `make ci`
# and commit the lock if it passes). `make lock LOCK_ARGS=--upgrade-package=ruff` moves one only.
LOCK_ARGS ?= --upgrade
lock: | $(BIN)/activate
	$(BIN)/pip install --quiet pip-tools
	$(BIN)/pip-compile --quiet $(LOCK_ARGS) --extra test --build-deps-for editable \
	  --generate-hashes --strip-extras --no-emit-index-url --no-emit-find-links \
	  --output-file requirements.lock pyproject.toml

# The main job: a fresh machine goes from clone to a built DSCR program with this.
# With a Docker engine reachable, the image is built too. When that engine has the local
# base image (make base-image) and scriptexec.toml names none, it is recorded there first,
# so this build and every later `scriptexec build`/`status` use the same one.
dscr: install
	@scripts/base-image.sh --record-if-present $(BASE_IMAGE)
	$(SE) build specs/dscr.yaml

build: install
	$(SE) build -k specs/

watch: install
	$(SE) watch specs/

test: install
	$(BIN)/pytest

# What CI runs: lint, system packages, a private Docker engine, the base image, then every
# test, with Docker and browser tests required instead of skipped.
ci: lint system-deps
	@DOCKER_HOST="$$(scripts/docker-engine.sh start)" && export DOCKER_HOST && \
	  scripts/base-image.sh $(BASE_IMAGE) && \
	  SCRIPTEXEC_REQUIRE_DOCKER=1 SCRIPTEXEC_REQUIRE_BROWSER=1 SCRIPTEXEC_BASE_IMAGE=$(BASE_IMAGE) \
	  $(BIN)/pytest; status=$$?; scripts/docker-engine.sh stop; exit $$status

system-deps:
	@scripts/system-deps.sh

docker-engine:
	@scripts/docker-engine.sh start

# Builds the base image on the engine at DOCKER_HOST (starting the private one if none
# answers) and records it in scriptexec.toml.
base-image: system-deps
	@DOCKER_HOST="$$(scripts/docker-engine.sh start)" scripts/base-image.sh --record $(BASE_IMAGE)

# The runtime ships inside every program, so bandit scans it here (generated code is
# scanned by the validate stage). B608 is skipped: it flags every f-string holding SELECT,
# and the runtime's SQL quotes identifiers with quote() and binds every value.
lint: install
	$(BIN)/ruff check scriptexec tests bench
	$(BIN)/ruff format --check scriptexec
	$(BIN)/mypy
	$(BIN)/bandit -q -r scriptexec/runtime --skip B608

bench: install
	$(BIN)/python bench/run.py
	$(BIN)/python bench/program.py

clean:
	rm -rf build .scriptexec $(VENV) dist .pytest_cache .mypy_cache .ruff_cache

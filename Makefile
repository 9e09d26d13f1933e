# Land-cover mapping of Europe from Sentinel-2 — build entry points.
# `make book` sets everything up on a fresh machine and builds the book;
# `make test` runs the test suite. Everything stays inside this folder.

SHELL := /bin/bash
.DEFAULT_GOAL := help

PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PIP := $(PY) -m pip
STAMP := $(VENV)/.installed-stamp
# Extra pip arguments for torch only. On a CPU-only laptop, avoid the large CUDA
# build with: make book TORCH_PIP_ARGS="--index-url https://download.pytorch.org/whl/cpu"
TORCH_PIP_ARGS ?=
SYNTHETIC := data/synthetic

# Offline, project-local environment for every recipe (the package sets the same
# defaults when imported from a notebook).
export MLFLOW_DISABLE_TELEMETRY := true
export DO_NOT_TRACK := true
export NO_ALBUMENTATIONS_UPDATE := 1
export HF_HUB_OFFLINE := 1
export TRANSFORMERS_OFFLINE := 1
export HF_HOME := $(CURDIR)/.cache/huggingface
export TORCH_HOME := $(CURDIR)/.cache/torch
export MPLCONFIGDIR := $(CURDIR)/.cache/matplotlib
export JUPYTER_CONFIG_DIR := $(CURDIR)/.jupyter
export IPYTHONDIR := $(CURDIR)/.ipython
export PIP_CACHE_DIR := $(CURDIR)/.cache/pip
export PYTHONDONTWRITEBYTECODE := 1
# Idle OpenMP threads sleep instead of spinning: much faster on 2 shared cores.
export OMP_WAIT_POLICY := PASSIVE
# ...except in `make model`, which runs alone: a short spin (iterations) before sleeping.
TRAINING_SPIN_COUNT := 300000

.PHONY: help setup data model notebooks lint-book execute book test bench api app load-test mlflow-ui clean distclean

help:  ## List the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-12s %s\n", $$1, $$2}'

$(STAMP): requirements.txt requirements-dev.txt pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PIP) install --quiet --upgrade pip
	# torch first, from the local CPU wheel; the constraint keeps every later step on it.
	$(PIP) install --quiet $(TORCH_PIP_ARGS) "torch==2.13.0"
	$(PIP) install --quiet -c constraints.txt -r requirements.txt -r requirements-dev.txt
	$(PIP) install --quiet --no-deps --no-build-isolation -e .
	$(PY) -m ipykernel install --sys-prefix --name python3 --display-name "Python 3 (landcover)" >/dev/null
	$(PY) -c "import torch; assert torch.__version__.startswith('2.13.0'), torch.__version__"
	@touch $@

setup: $(STAMP)  ## Create the virtual environment and install everything

data: $(STAMP)  ## Generate the synthetic data (skipped when complete)
	$(PY) -m landcover.synthetic --out $(SYNTHETIC)

# Training has the cores to itself: its OpenMP threads spin briefly between the many small
# operations of a step instead of sleeping (1.6x faster alone; see landcover/training/__init__.py).
model: setup data  ## Train and publish the pre-trained model (skipped when present)
	GOMP_SPINCOUNT=$(TRAINING_SPIN_COUNT) $(PY) -m landcover.training.pretrained

notebooks: setup  ## Derive participant notebooks and final_solution/ from the chapters
	$(PY) -m landcover.book derive

lint-book: setup  ## Structural checks of the book sources
	$(PY) -m landcover.book lint

execute: setup data model  ## Execute every chapter in a Jupyter kernel (or quarto render)
	$(PY) -m landcover.book build

book: setup data model notebooks execute  ## Set everything up and build the book

test: setup data model lint-book  ## Run the test suite (chapters 2-3 need the pre-trained model)
	$(PY) -m pytest

bench: setup data  ## Run the benchmark scripts (they print their figures)
	@for script in benchmarks/*.py; do echo "== $$script"; $(PY) $$script || exit 1; done

api: setup data model  ## Serve the land-cover API on 127.0.0.1:8000 until stopped (API_PORT overrides; docs at /docs)
	$(PY) -m landcover.api --host 127.0.0.1 --port $(or $(API_PORT),8000)

app: setup data model  ## Serve the explorer app on 127.0.0.1:8501 until stopped (APP_PORT overrides)
	$(PY) -m streamlit run src/landcover/app/main.py --server.address 127.0.0.1 --server.port $(or $(APP_PORT),8501) \
		--server.headless true --browser.gatherUsageStats false

load-test: setup data model  ## Load-test the API: 50 clients for 30 s on cached tiles (CLIENTS, DURATION override)
	$(PY) benchmarks/bench_api_load.py --clients $(or $(CLIENTS),50) --duration $(or $(DURATION),30)

mlflow-ui: setup  ## Browse the project's MLflow runs and models on 127.0.0.1:5000 (MLFLOW_PORT overrides; Ctrl+C stops it)
	$(PY) -m mlflow ui --backend-store-uri "sqlite:///$(CURDIR)/mlruns/mlflow.db" \
		--default-artifact-root "file://$(CURDIR)/mlruns/artifacts" --host 127.0.0.1 --port $(or $(MLFLOW_PORT),5000)

clean:  ## Remove generated files (keeps the virtual environment)
	rm -rf build _book _site .quarto notebooks .pytest_cache

distclean: clean  ## Remove everything generated, the environment included
	rm -rf $(VENV) data mlruns .cache .jupyter .ipython

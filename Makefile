# claimstance: `make help` lists every target.
.DEFAULT_GOAL := help
SHELL := /bin/bash

PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
# The CPU build of torch by default (2.13.0 is on this machine's wheel cache). A GPU user can
# pass any torch >= 2.4, e.g. `make install TORCH_SPEC=torch==2.6.0`; elsewhere
# TORCH_INDEX=https://download.pytorch.org/whl/cpu keeps pip off the multi-GB CUDA wheels.
TORCH_SPEC ?= torch==2.13.0
TORCH_INDEX ?=
# fast: claimstance (all-MiniLM-L6-v2); accurate: claimstance-accurate (all-mpnet-base-v2).
MODEL ?= fast
MODEL_CONFIG := training/configs/$(if $(filter accurate,$(MODEL)),accurate,default).yaml
MODEL_NAME := claimstance$(if $(filter accurate,$(MODEL)),-accurate)
HOST ?= 127.0.0.1
PORT ?= 8000
ARGS ?=
# Training processes: NPROC=2 runs `make train` under torchrun, one DDP worker per process (gloo on
# CPU, NCCL on GPU, one GPU each); one MLflow run and one registered version whatever the count.
NPROC ?= 1
# Your labelled file (csv, jsonl, parquet; training/user_data.py): `make train DATA=my_claims.csv` adds
# it to the corpus (ARGS="data.builtin=false" trains on it alone); `make evaluate DATA=my_test.csv`.
DATA ?=
DATA_ARG := $(if $(DATA),data.extra=$(abspath $(DATA)))
TRAIN := $(if $(filter-out 1,$(NPROC)),$(BIN)/torchrun --standalone --nproc_per_node $(NPROC) -m,$(BIN)/python -m) training train
# The dev tools and pyspark (Spark scoring and its test); EXTRAS=dev leaves pyspark out.
EXTRAS ?= dev,spark

STAMP := $(VENV)/.installed

# PIP_ISOLATED=1 (set by .ci/run) lets pip see the package index alone: no pip config file, no
# cache, no local wheel folder, so a green run proves what a new machine can install. Only the
# torch wheel itself is exempt (--no-deps), because a machine's CPU build may be a file on its disk.
PIP_INDEX_ONLY := env -u PIP_FIND_LINKS -u PIP_EXTRA_INDEX_URL -u PIP_INDEX_URL PIP_CONFIG_FILE=/dev/null PIP_NO_CACHE_DIR=1
PIP_ENV := $(if $(PIP_ISOLATED),$(PIP_INDEX_ONLY))
TORCH_ARGS := $(if $(TORCH_INDEX),--index-url $(TORCH_INDEX)) $(if $(PIP_ISOLATED),--no-deps --no-cache-dir)
# Where `make lock` resolves the pins; removed when it is done.
LOCK_VENV ?= .venv-lock

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(STAMP): $(BIN)/python pyproject.toml constraints.txt
	$(PIP_ENV) $(BIN)/pip install --quiet --upgrade "pip>=24"
	$(BIN)/pip install --quiet "$(TORCH_SPEC)" $(TORCH_ARGS)
	$(PIP_ENV) $(BIN)/pip install --quiet -c constraints.txt -e ".[$(EXTRAS)]"
	touch $(STAMP)

.PHONY: help install lock bench load serve hostile train train-accurate baseline evaluate score score-spark corpus mlflow-ui test test-slow lint format browser-deps notebook clean

help: ## Show this help
	@grep -hE '^[a-zA-Z_-]+:.*?## ' $(MAKEFILE_LIST) | awk 'BEGIN {FS = ":.*?## "}; {printf "  \033[36m%-12s\033[0m %s\n", $$1, $$2}'

install: $(STAMP) ## Create .venv and install claimstance with its dev tools and pyspark (CPU torch; EXTRAS=dev without pyspark)

lock: ## Regenerate constraints.txt from a fresh resolve on the package index (names and versions only)
	rm -rf $(LOCK_VENV) && $(PYTHON) -m venv $(LOCK_VENV)
	$(PIP_INDEX_ONLY) $(LOCK_VENV)/bin/pip install --quiet --upgrade "pip>=24"
	$(LOCK_VENV)/bin/pip install --quiet "$(TORCH_SPEC)" --no-deps $(if $(TORCH_INDEX),--index-url $(TORCH_INDEX))
	$(PIP_INDEX_ONLY) $(LOCK_VENV)/bin/pip install --quiet -e ".[dev,spark]"
	@# `pip list --format=freeze` writes name==version for every package, never the file or URL a
	@# package came from (`pip freeze` would write a direct reference to a local wheel instead).
	{ sed -n '/^#/p' constraints.txt; \
	  $(LOCK_VENV)/bin/pip list --format=freeze --exclude-editable \
	    | grep -viE '^(torch|triton|nvidia-[a-z0-9-]*|pip|setuptools|wheel)=='; } > constraints.txt.new
	mv constraints.txt.new constraints.txt
	rm -rf $(LOCK_VENV)

serve: $(STAMP) ## Set up, train the model if the registry has none, serve on $(HOST):$(PORT) (MODEL=fast|accurate)
	$(BIN)/python -m training ensure-model --config $(MODEL_CONFIG)
	CLAIMSTANCE_MODEL_URI=$${CLAIMSTANCE_MODEL_URI:-models:/$(MODEL_NAME)@champion} \
		$(BIN)/python -m service --host $(HOST) --port $(PORT)

train: $(STAMP) ## Fine-tune the default model + baseline, log to MLflow, register (DATA=my_claims.csv, ARGS="training.epochs=2", NPROC=2)
	$(TRAIN) $(DATA_ARG) $(ARGS)

train-accurate: $(STAMP) ## Fine-tune all-mpnet-base-v2 (about 50 min on 2 cores), register claimstance-accurate
	$(BIN)/python -m training fetch-base all-mpnet-base-v2
	$(TRAIN) --config training/configs/accurate.yaml $(ARGS)

baseline: $(STAMP) ## Train and score only the TF-IDF baseline (DATA=my_claims.csv)
	$(BIN)/python -m training baseline $(DATA_ARG) $(ARGS)

evaluate: $(STAMP) ## Score the champion on every evaluation set, or on your file (DATA=my_test.csv, MODEL_URI=...)
	$(BIN)/python -m training evaluate $(if $(DATA),--data $(DATA)) $(if $(MODEL_URI),--model-uri $(MODEL_URI)) $(ARGS)

bench: $(STAMP) ## Each backend beside transformers.pipeline, then the service over HTTP (MODEL_URI=dir|models:/...)
	$(BIN)/python -m training bench --http $(if $(MODEL_URI),--model-uri $(MODEL_URI)) $(ARGS)

load: $(STAMP) ## Load the service on loopback: 1, 8, 32 clients of the mixed workload (MODEL_URI=..., ARGS="--soak 300")
	$(BIN)/python -m training load $(if $(MODEL_URI),--model-uri $(MODEL_URI)) $(ARGS)

score: $(STAMP) ## Label every claim of a file of texts (IN=texts.jsonl|.csv|.parquet OUT=claims.parquet|.jsonl; re-runs resume)
	$(BIN)/python -m training score $(IN) $(OUT) $(if $(MODEL_URI),--model-uri $(MODEL_URI)) $(ARGS)

score-spark: $(STAMP) ## The same scoring on local Spark through the MLflow model (IN=... OUT=... folder; ARGS="--master local[4]")
	$(BIN)/python -m training score-spark $(IN) $(OUT) $(if $(MODEL_URI),--model-uri $(MODEL_URI)) $(ARGS)

corpus: $(STAMP) ## Print the merged corpus counts (source x label x split) and its hash
	$(BIN)/python -m training corpus $(ARGS)

mlflow-ui: $(STAMP) ## Open the MLflow UI on the local store (http://127.0.0.1:5000)
	@# The store training and the service use (model/store.py: MLFLOW_TRACKING_URI, else ./mlflow.db).
	@# MLflow 3 opens on its GenAI views; this link opens the experiment's training runs.
	@store=$$($(BIN)/python -m model.store) && \
		echo "Training runs: http://127.0.0.1:5000/#/experiments/$$(MLFLOW_TRACKING_URI=$$store \
			$(BIN)/python -m training experiment-id 2>/dev/null || echo 1)?workflowType=machine_learning" && \
		echo "$(BIN)/mlflow ui --backend-store-uri $$store --host 127.0.0.1 --port 5000" && \
		$(BIN)/mlflow ui --backend-store-uri $$store --host 127.0.0.1 --port 5000

test: $(STAMP) ## Run the default (fast, offline) test suite
	$(BIN)/python -m pytest

hostile: $(STAMP) ## Run issue 24's attacks against the tiny-model app; fails if a protection is gone
	$(BIN)/python -m pytest tests/service/test_hostile.py tests/model/test_cleaning_cost.py -q

test-slow: $(STAMP) ## Run the slow tier: real base model and trained-model behaviour
	$(BIN)/python -m pytest -m slow

lint: $(STAMP) ## ruff lint and format check
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: $(STAMP) ## Apply ruff fixes and formatting
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

browser-deps: ## Install Debian's Chromium for the browser tests (needs root)
	command -v chromium >/dev/null || (apt-get update && apt-get install -y --no-install-recommends chromium)

clean: ## Remove the virtual environment and caches (keeps mlflow.db and trained models)
	rm -rf $(VENV) .pytest_cache .ruff_cache *.egg-info

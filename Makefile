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
HOST ?= 127.0.0.1
PORT ?= 8000
ARGS ?=

STAMP := $(VENV)/.installed

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(STAMP): $(BIN)/python pyproject.toml constraints.txt
	$(BIN)/pip install --quiet --upgrade "pip>=24"
	$(BIN)/pip install --quiet "$(TORCH_SPEC)" $(if $(TORCH_INDEX),--index-url $(TORCH_INDEX))
	$(BIN)/pip install --quiet -c constraints.txt -e ".[dev]"
	touch $(STAMP)

.PHONY: help install serve train baseline evaluate corpus mlflow-ui test test-slow lint format browser-deps notebook clean

help: ## Show this help
	@grep -hE '^[a-zA-Z_-]+:.*?## ' $(MAKEFILE_LIST) | awk 'BEGIN {FS = ":.*?## "}; {printf "  \033[36m%-12s\033[0m %s\n", $$1, $$2}'

install: $(STAMP) ## Create .venv and install claimstance with its dev tools (CPU torch)

serve: $(STAMP) ## Set up, train the default model if the registry has none, serve on $(HOST):$(PORT)
	$(BIN)/python -m training ensure-model
	$(BIN)/python -m service --host $(HOST) --port $(PORT)

train: $(STAMP) ## Fine-tune the default model + baseline, log to MLflow, register (ARGS="training.epochs=2")
	$(BIN)/python -m training train $(ARGS)

baseline: $(STAMP) ## Train and score only the TF-IDF baseline
	$(BIN)/python -m training baseline $(ARGS)

evaluate: $(STAMP) ## Score the champion model on every evaluation set
	$(BIN)/python -m training evaluate $(ARGS)

corpus: $(STAMP) ## Print the merged corpus counts (source x label x split) and its hash
	$(BIN)/python -m training corpus $(ARGS)

mlflow-ui: $(STAMP) ## Open the MLflow UI on the local store (http://127.0.0.1:5000)
	$(BIN)/mlflow ui --backend-store-uri $${MLFLOW_TRACKING_URI:-sqlite:///$(CURDIR)/mlflow.db} --host 127.0.0.1 --port 5000

test: $(STAMP) ## Run the default (fast, offline) test suite
	$(BIN)/python -m pytest

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

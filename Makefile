# claimstance: `make help` lists every target, grouped, with the variables they read.
.DEFAULT_GOAL := help
SHELL := /bin/bash

# --- Which model -------------------------------------------------------------------------------
# One variable picks the model for every target that serves, scores, benchmarks, evaluates or
# trains. fast and accurate are the two registered models; each is trained from its config, and
# the config's `registered_model:` line is its one name (read below, not restated). Any value
# with a ":" or "/" is a trained model already: an MLflow URI (models:/claimstance/3,
# runs:/<id>/model) or a model directory (artifacts/models/claimstance-v2-run-<id>, as `make
# train` names it), passed on as it is.
##= MODEL=$(MODEL)	fast | accurate | a model URI or directory: the model of every target
MODEL ?= fast
MODEL_CONFIG.fast := training/configs/default.yaml
MODEL_CONFIG.accurate := training/configs/accurate.yaml
MODEL_ALIAS := champion
MODEL_KINDS := fast accurate

ifneq ($(filter $(MODEL),$(MODEL_KINDS)),)
  MODEL_CONFIG := $(MODEL_CONFIG.$(MODEL))
  MODEL_NAME := $(shell sed -n 's/^registered_model:[[:space:]]*//p' $(MODEL_CONFIG))
  model_uri := models:/$(MODEL_NAME)@$(MODEL_ALIAS)
else ifneq ($(findstring :,$(MODEL))$(findstring /,$(MODEL)),)
  # A trained model: scoring and evaluation read the default config's data and store.
  MODEL_CONFIG := $(MODEL_CONFIG.fast)
  model_uri := $(MODEL)
else
  MODEL_ERROR := MODEL=$(MODEL) is not a model: use MODEL=fast, MODEL=accurate, or a model URI or directory (models:/claimstance/3, runs:/<id>/model, artifacts/models/claimstance-v2-run-<id>)
endif

# Checked when make starts, before anything installs or trains, for the targets that read them.
MODEL_TARGETS := serve ensure-model train baseline evaluate score score-spark bench load hostile-cost \
	notebook promote
TRAIN_TARGETS := ensure-model train baseline promote
goals := $(or $(MAKECMDGOALS),$(.DEFAULT_GOAL))
ifeq ($(origin MODEL_URI),command line)
  $(error MODEL_URI= is now MODEL=: every target takes MODEL=fast, MODEL=accurate or MODEL=<uri or directory>)
endif
ifneq ($(filter $(MODEL_TARGETS),$(goals)),)
  ifdef MODEL_ERROR
    $(error $(MODEL_ERROR))
  endif
endif
ifneq ($(filter $(TRAIN_TARGETS),$(goals)),)
  ifeq ($(MODEL_NAME),)
    $(error make $(filter $(TRAIN_TARGETS),$(goals)) works on a registered model: MODEL=fast or MODEL=accurate, not $(MODEL))
  endif
endif
ifneq ($(filter promote,$(goals)),)
  ifeq ($(strip $(VERSION)),)
    $(error make promote needs VERSION=<registered version> and REASON="why", e.g. make promote MODEL=$(MODEL) VERSION=3 REASON="better on news_natural")
  endif
  ifeq ($(strip $(REASON)),)
    $(error make promote needs REASON="why": it is kept on the version in the registry)
  endif
endif
ifneq ($(filter score score-spark,$(goals)),)
  ifeq ($(strip $(IN)),)
    $(error make $(filter score score-spark,$(goals)) needs IN=texts.jsonl (or .csv, .parquet) and OUT=claims.parquet (or .jsonl))
  endif
  ifeq ($(strip $(OUT)),)
    $(error make $(filter score score-spark,$(goals)) needs OUT=claims.parquet (or .jsonl) beside IN=$(IN))
  endif
endif

# --- Other variables ---------------------------------------------------------------------------
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
##= HOST=$(HOST) PORT=$(PORT)	where make serve listens
HOST ?= 127.0.0.1
PORT ?= 8000
##= DATA=$(DATA)	your labelled file (csv, jsonl, parquet): added to training, or scored by evaluate
DATA ?=
DATA_ARG := $(if $(DATA),data.extra=$(abspath $(DATA)))
##= IN=$(IN) OUT=$(OUT)	texts to label and where the claims go (score, score-spark)
IN ?=
OUT ?=
##= ARGS=$(ARGS)	more arguments for the command, e.g. ARGS="training.epochs=2" or ARGS="--soak 300"
ARGS ?=
# Training processes: NPROC=2 runs `make train` under torchrun, one DDP worker per process (gloo on
# CPU, NCCL on GPU, one GPU each); one MLflow run and one registered version whatever the count.
##= NPROC=$(NPROC)	training processes (torchrun when more than 1)
NPROC ?= 1
TRAIN := $(if $(filter-out 1,$(NPROC)),$(BIN)/torchrun --standalone --nproc_per_node $(NPROC) -m,$(BIN)/python -m) training train
# The CPU build of torch by default (2.13.0 is on this machine's wheel cache). A GPU user can
# pass any torch >= 2.4, e.g. `make install TORCH_SPEC=torch==2.6.0`; elsewhere
# TORCH_INDEX=https://download.pytorch.org/whl/cpu keeps pip off the multi-GB CUDA wheels.
##= TORCH_SPEC=$(TORCH_SPEC)	the torch make install puts in .venv (TORCH_INDEX=... to pick its index)
TORCH_SPEC ?= torch==2.13.0
TORCH_INDEX ?=
# The dev tools and pyspark (Spark scoring and its test); EXTRAS=dev leaves pyspark out.
##= EXTRAS=$(EXTRAS)	extras make install adds (dev: tests and tools; spark: pyspark)
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

.PHONY: help install serve score score-spark train baseline evaluate notebook ensure-model \
	promote mlflow-ui corpus bench load hostile-cost test test-slow hostile lint format docs lock install-locked \
	browser-deps clean

# --- Help --------------------------------------------------------------------------------------
# `##@ Group` starts a group; `target: ... ## text` documents a target; `##= VAR=$(VAR)<TAB>text`
# a variable. $(NAME) in the text is replaced by the variable's value, so defaults show as set.
HELP_VARS := MODEL HOST PORT DATA IN OUT ARGS NPROC TORCH_SPEC EXTRAS
##@ Use
install: $(STAMP) ## Create .venv and install claimstance with its dev tools and pyspark (EXTRAS=$(EXTRAS))

# Every file but torch's is checked against requirements.lock; torch comes from TORCH_SPEC, pinned.
install-locked: $(BIN)/python ## Install as `install` does, every package but torch checked by hash (requirements.lock)
	$(PIP_INDEX_ONLY) $(BIN)/pip install --quiet --upgrade "pip>=24"
	$(BIN)/pip install --quiet "$(TORCH_SPEC)" --no-deps $(if $(TORCH_INDEX),--index-url $(TORCH_INDEX))
	$(PIP_INDEX_ONLY) $(BIN)/pip install --quiet --require-hashes --no-deps -r requirements.lock
	$(PIP_INDEX_ONLY) $(BIN)/pip install --quiet --no-deps --no-build-isolation -e .
	touch $(STAMP)

serve: $(STAMP) ## Serve MODEL on $(HOST):$(PORT); fast or accurate is trained first if the registry has none
	$(if $(MODEL_NAME),$(BIN)/python -m training ensure-model --config $(MODEL_CONFIG))
	$(BIN)/python -m service --host $(HOST) --port $(PORT) --model-uri $(model_uri)

score: $(STAMP) ## Label every claim of IN (.jsonl, .csv, .parquet) into OUT (.parquet, .jsonl); re-runs resume
	$(BIN)/python -m training score $(IN) $(OUT) --model-uri $(model_uri) $(ARGS)

score-spark: $(STAMP) ## The same scoring on local Spark through the MLflow model (OUT: a folder; ARGS="--master local[4]")
	$(BIN)/python -m training score-spark $(IN) $(OUT) --model-uri $(model_uri) $(ARGS)

##@ Train and evaluate
train: $(STAMP) ## Fine-tune MODEL (fast or accurate) and the baseline, log to MLflow, register (DATA=..., NPROC=...)
	$(TRAIN) --config $(MODEL_CONFIG) $(DATA_ARG) $(ARGS)

baseline: $(STAMP) ## Train and score only the TF-IDF baseline on MODEL's data (DATA=...)
	$(BIN)/python -m training baseline --config $(MODEL_CONFIG) $(DATA_ARG) $(ARGS)

evaluate: $(STAMP) ## Score MODEL on every evaluation set, or on your labelled file (DATA=my_test.csv)
	$(BIN)/python -m training evaluate $(if $(DATA),--data $(DATA)) --model-uri $(model_uri) --config $(MODEL_CONFIG) $(ARGS)

notebook: $(STAMP) ## Run the notebooks on the local store and MODEL; executed copies in outputs/notebooks/
	@# Executed copies, so the committed notebooks stay without outputs (tests/training/test_notebook.py).
	@# Jupyter runs a notebook in its own folder, so every path it is given is absolute.
	mkdir -p outputs/notebooks && cp notebooks/*.ipynb outputs/notebooks/
	MLFLOW_TRACKING_URI=$$($(BIN)/python -m model.store) CLAIMSTANCE_CONFIG=$(abspath $(MODEL_CONFIG)) \
		CLAIMSTANCE_MODEL_URI=$(if $(findstring :,$(model_uri)),$(model_uri),$(abspath $(model_uri))) \
		$(if $(MODEL_NAME),CLAIMSTANCE_MODEL_NAME=$(MODEL_NAME)) \
		$(BIN)/jupyter execute --inplace outputs/notebooks/*.ipynb

##@ Registry
ensure-model: $(STAMP) ## Train MODEL (fast or accurate) unless the registry already has its champion
	$(BIN)/python -m training ensure-model --config $(MODEL_CONFIG)

promote: $(STAMP) ## Make VERSION of MODEL the champion by hand (VERSION=3 REASON="why")
	$(BIN)/python -m training promote "$(VERSION)" --reason "$(REASON)" --config $(MODEL_CONFIG)

mlflow-ui: $(STAMP) ## Open the MLflow UI on the local store (http://127.0.0.1:5000) to compare runs
	@# The store training and the service use (model/store.py: MLFLOW_TRACKING_URI, else ./mlflow.db).
	@# MLflow 3 opens on its GenAI views; this link opens the experiment's training runs.
	@store=$$($(BIN)/python -m model.store) && \
		echo "Training runs: http://127.0.0.1:5000/#/experiments/$$(MLFLOW_TRACKING_URI=$$store \
			$(BIN)/python -m training experiment-id 2>/dev/null || echo 1)?workflowType=machine_learning" && \
		echo "$(BIN)/mlflow ui --backend-store-uri $$store --host 127.0.0.1 --port 5000" && \
		$(BIN)/mlflow ui --backend-store-uri $$store --host 127.0.0.1 --port 5000

##@ Data
corpus: $(STAMP) ## Print the merged corpus counts (source x label x split) and its hash
	$(BIN)/python -m training corpus $(ARGS)

##@ Benchmarks
bench: $(STAMP) ## MODEL on each backend beside transformers.pipeline, then the service over HTTP
	$(BIN)/python -m training bench --http --model-uri $(model_uri) $(ARGS)

load: $(STAMP) ## Load the service on loopback: 1, 8, 32 clients of the mixed workload (ARGS="--soak 300")
	$(BIN)/python -m training load --model-uri $(model_uri) $(ARGS)

hostile-cost: $(STAMP) ## What each of issue 24's attacks costs MODEL's service: time, answer size, RSS (ARGS="--json out.json")
	$(BIN)/python -m training bench-hostile --model-uri $(model_uri) $(ARGS)

##@ Develop
test: $(STAMP) ## Run the default (fast, offline) test suite
	$(BIN)/python -m pytest

test-slow: $(STAMP) ## Run the slow tier: real base model and trained-model behaviour
	$(BIN)/python -m pytest -m slow

hostile: $(STAMP) ## Run issue 24's attacks against the tiny-model app; fails if a protection is gone
	$(BIN)/python -m pytest tests/service/test_hostile.py tests/model/test_cleaning_cost.py -q

lint: $(STAMP) ## ruff lint and format check
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: $(STAMP) ## Apply ruff fixes and formatting
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

docs: $(STAMP) ## Rewrite the settings table in docs/operations.md from service/settings.py
	$(BIN)/python -m service.settings_doc --write

lock: ## Regenerate constraints.txt (names and versions) and requirements.lock (with hashes) from the index
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
	$(PIP_INDEX_ONLY) $(LOCK_VENV)/bin/pip install --quiet pip-tools
	$(PIP_INDEX_ONLY) $(LOCK_VENV)/bin/python .ci/hash_lock.py constraints.txt requirements.lock $(LOCK_VENV)/bin/pip-compile
	rm -rf $(LOCK_VENV)

browser-deps: ## Install Debian's Chromium for the browser tests (needs root)
	command -v chromium >/dev/null || (apt-get update && apt-get install -y --no-install-recommends chromium)

clean: ## Remove the virtual environment and caches (keeps mlflow.db and trained models)
	rm -rf $(VENV) .pytest_cache .ruff_cache *.egg-info

help: ## Show this help
	@if [ -t 1 ]; then bold=$$'\033[1m'; cyan=$$'\033[36m'; reset=$$'\033[0m'; fi; \
	grep -hE '^(##[@=] |[a-zA-Z_-]+:.*## )' $(MAKEFILE_LIST) \
	| sed $(foreach v,$(HELP_VARS),-e 's|\$$($(v))|$($(v))|g') \
	| awk -v bold="$$bold" -v cyan="$$cyan" -v reset="$$reset" ' \
		/^##= / { split(substr($$0, 5), part, "\t"); n++; kind[n] = "v"; name[n] = part[1]; \
			text[n] = part[2]; if (length(part[1]) > vwidth) vwidth = length(part[1]); next } \
		/^##@ / { n++; kind[n] = "g"; text[n] = substr($$0, 5); next } \
		{ n++; kind[n] = "t"; name[n] = substr($$0, 1, index($$0, ":") - 1); \
			text[n] = substr($$0, index($$0, "## ") + 3); \
			if (length(name[n]) > width) width = length(name[n]) } \
		END { \
			vrow = "  %s%-" vwidth "s%s  %s\n"; row = "  %s%-" width "s%s  %s\n"; \
			printf "Usage: make TARGET [VARIABLE=value ...]\n\n%sVariables%s (as set now)\n", bold, reset; \
			for (i = 1; i <= n; i++) if (kind[i] == "v") printf vrow, cyan, name[i], reset, text[i]; \
			for (i = 1; i <= n; i++) \
				if (kind[i] == "g") printf "\n%s%s%s\n", bold, text[i], reset; \
				else if (kind[i] == "t") printf row, cyan, name[i], reset, text[i]; \
		}'

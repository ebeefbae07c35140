# bioagent developer commands. `make help` lists them.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
PYTEST_ARGS ?=

.PHONY: help install demo test test-fast lint typecheck bench clean

help:  ## List the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-12s %s\n", $$1, $$2}'

install:  ## Create .venv and install bioagent with every extra (CPU torch 2.13.0 from the local disk)
	test -d $(VENV) || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet torch==2.13.0
	$(BIN)/pip install --quiet -e ".[all]"

demo:  ## Build the demo indexes into indexes/ from the bundled corpus (+ ../shared/data when present; reused when built)
	$(BIN)/bioagent demo build

test:  ## The full offline test suite (what CI runs)
	$(BIN)/pytest -m "not network" $(PYTEST_ARGS)

test-fast:  ## Only the fast tests (seconds)
	$(BIN)/pytest -m "not network and not slow" -q $(PYTEST_ARGS)

LAYERS := .cache/import-layers

lint:  ## ruff lint and format check, and the import contracts of .importlinter (layers, the API as the one door)
	$(BIN)/ruff check bioagent tools ui tests benchmarks
	$(BIN)/ruff format --check bioagent tools ui tests benchmarks
	@# import-linter reads the package's folder; tools/, ui/ and prompts/ are mapped into it as when installed
	rm -rf $(LAYERS) && mkdir -p $(LAYERS)/bioagent
	ln -s $(CURDIR)/bioagent/* $(LAYERS)/bioagent/
	for part in tools ui prompts; do ln -sfn $(CURDIR)/$$part $(LAYERS)/bioagent/$$part; done
	cd $(LAYERS) && PYTHONPATH=. $(CURDIR)/$(BIN)/lint-imports $(CURDIR)/.importlinter

typecheck:  ## mypy over the library
	$(BIN)/mypy bioagent

bench:  ## Retrieval benchmark on SciFact (prints the README's figures)
	$(BIN)/python benchmarks/retrieval.py

clean:  ## Remove caches (not indexes)
	rm -rf .pytest_cache .mypy_cache .ruff_cache .cache

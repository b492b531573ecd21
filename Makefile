# One entry point for people and CI alike. `make demo` and `make test` set up
# .venv/ themselves on a fresh clone.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test lint format check bench clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/telelake demo

test: $(STAMP)
	$(BIN)/pytest -q

lint: $(STAMP)
	$(BIN)/ruff check telelake tests bench
	$(BIN)/ruff format --check telelake tests bench
	$(BIN)/mypy

format: $(STAMP)
	$(BIN)/ruff format telelake tests bench
	$(BIN)/ruff check --fix telelake tests bench

check: lint test

bench: $(STAMP)
	cd bench && ../$(BIN)/python etl.py
	cd bench && ../$(BIN)/python ingest.py
	cd bench && ../$(BIN)/python query.py

clean:
	rm -rf $(VENV) lake .pytest_cache .mypy_cache .ruff_cache .hypothesis

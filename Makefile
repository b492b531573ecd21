# One entry point for people and CI alike. `make demo` and `make test` set up
# .venv/ themselves on a fresh clone.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test lint format check bench system-deps clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/telelake demo

test: $(STAMP) system-deps
	$(BIN)/pytest -q

# Chromium, a CJK font, Java and wrk: installed when root on Debian, else the
# tests that need them skip and say why.
system-deps:
	@bash scripts/system-deps.sh

lint: $(STAMP)
	$(BIN)/ruff check telelake tests bench
	$(BIN)/ruff format --check telelake tests bench
	$(BIN)/mypy
	$(BIN)/cfn-lint template.yaml

format: $(STAMP)
	$(BIN)/ruff format telelake tests bench
	$(BIN)/ruff check --fix telelake tests bench

check: lint test

# Ingest first: on some file systems, allocating files is slow for minutes
# after the ETL benchmark deletes its 100k-file lake. BENCH_FULL=1 adds the
# 1M-update sizes (ETL, compaction) and the per-object S3 paths on every day.
bench: $(STAMP) system-deps
	cd bench && ../$(BIN)/python ingest.py
	cd bench && ../$(BIN)/python etl.py
	cd bench && ../$(BIN)/python query.py
	cd bench && ../$(BIN)/python s3_etl.py
	cd bench && ../$(BIN)/python compaction.py
	cd bench && ../$(BIN)/python reports.py

clean:
	rm -rf $(VENV) lake .pytest_cache .mypy_cache .ruff_cache .hypothesis

# comptoir — the two commands: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test install lint format schema bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

# Reinstall only when the declared dependencies change.
$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

## make run: install, migrate, load the small demo data if the database is empty, serve
## (with the mail worker and hourly alert detection in the same process).
run: install
	$(BIN)/comptoir migrate
	$(BIN)/comptoir demo-data --scale small --if-empty
	COMPTOIR_RUN_MAIL_WORKER=true COMPTOIR_ALERT_DETECTION_INTERVAL_MINUTES=$${COMPTOIR_ALERT_DETECTION_INTERVAL_MINUTES:-60} $(BIN)/comptoir serve

## make test: install, lint, check the import layering, run the whole suite (SQLite unless
## COMPTOIR_TEST_DATABASE_URL says otherwise).
test: install lint
	$(BIN)/python -m pytest

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports
	$(BIN)/mypy

format: install
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

schema: install
	$(BIN)/comptoir export-schema

bench: install
	$(BIN)/python bench/demo_load.py

clean:
	rm -rf $(VENV) var .pytest_cache .ruff_cache

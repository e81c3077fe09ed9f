# Looptrace — the two set-up commands are `make run` and `make test`.
VENV      ?= .venv
PYTHON    ?= python3
PY        := $(VENV)/bin/python
TEST_DATABASE_URL ?= postgres://postgres@127.0.0.1:5432/looptrace_test
TEST_REDIS_URL    ?= redis://127.0.0.1:6379/0

.PHONY: run test lint bench faults pact-conformance venv venv-dev js-verifier clean

$(VENV)/.runtime: requirements.txt
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --upgrade pip
	$(VENV)/bin/pip install --quiet -r requirements.txt
	touch $@

$(VENV)/.dev: $(VENV)/.runtime requirements-dev.txt
	$(VENV)/bin/pip install --quiet -r requirements-dev.txt
	touch $@

venv: $(VENV)/.runtime
venv-dev: $(VENV)/.dev

# The independent Data Integrity verifier the credential tests run: npm packages pinned by the lock.
tests/js/node_modules/.package-lock.json: tests/js/package.json tests/js/package-lock.json
	cd tests/js && npm ci --no-audit --no-fund
js-verifier: tests/js/node_modules/.package-lock.json

## make run: embedded platform (SQLite, eager tasks, demo data) on http://127.0.0.1:8000
# Prints the address, the demo logins and what to try first; migrations, the demo's summary and
# the task log go to var/run.log (shown if a step fails).
RUN_LOG ?= var/run.log
run: venv
	@mkdir -p $(dir $(RUN_LOG))
	@$(PY) manage.py migrate --noinput >>$(RUN_LOG) 2>&1 || { tail -n 30 $(RUN_LOG); exit 1; }
	@RUN_LOG=$(RUN_LOG) $(PY) manage.py seed_demo --serving http://127.0.0.1:8000
	@echo ""
	@RUN_LOG=$(RUN_LOG) $(PY) manage.py runserver 127.0.0.1:8000

## make test: the whole suite on PostgreSQL and Redis (REQUIRE_SERVICES=1 turns a missing service into a failure)
test: venv-dev js-verifier
	DATABASE_URL="$${DATABASE_URL:-$(TEST_DATABASE_URL)}" REDIS_URL="$${REDIS_URL:-$(TEST_REDIS_URL)}" \
		$(PY) -m pytest $(PYTEST_ARGS)

lint: venv-dev
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy

## make bench: benchmarks as ratios to baselines measured in the same run (BENCH=name runs one)
bench: venv-dev
	DATABASE_URL="$${DATABASE_URL:-$(TEST_DATABASE_URL)}" $(PY) -m bench $(if $(BENCH),--only $(BENCH),)

## make faults: PostgreSQL restarted under load (restarts the server it runs against; not for shared machines)
faults: venv-dev
	DATABASE_URL="$${DATABASE_URL:-$(TEST_DATABASE_URL)}" $(PY) -m bench.faults

## make pact-conformance: WBCSD's PACT conformance tool (PACT_TOOL_DIR=its checkout) against Looptrace behind local TLS
pact-conformance: venv
	scripts/pact-conformance.sh

clean:
	rm -rf $(VENV) var .pytest_cache .ruff_cache .mypy_cache

# The two commands: `make run` and `make test`. Everything else is a step of them.
SHELL := /bin/bash
VENV := .venv
PY := $(VENV)/bin/python
PG_URL ?= postgres://postgres@127.0.0.1:5432/secretariat
REDIS_URL ?= redis://127.0.0.1:6379/15
PORT ?= 8000

.PHONY: run test lint format services pooler browser messages bench check-python lock

check-python:
	@./scripts/find-python.sh >/dev/null

# The virtualenv is brought to the lock whenever the lock changes: exactly its versions
# (runtime and test extras), every file checked against its hash. It is updated in place,
# not rebuilt, because worktrees may share one; `rm -rf .venv` drops what the lock no
# longer lists.
$(VENV)/.installed: requirements/test.txt | check-python
	@test -x $(PY) || "$$(./scripts/find-python.sh)" -m venv $(VENV)
	$(PY) -m pip install --quiet --require-hashes -r requirements/test.txt
	@touch $@

# The locks: requirements/test.txt (runtime + test extras: make run, make test, CI) and
# requirements/runtime.txt (the Docker image), resolved by uv from pyproject.toml for every
# Python >= 3.12 and platform, with hashes. `make lock` after editing pyproject.toml keeps
# every other pin; `make lock UPGRADE=--upgrade` moves everything to the newest allowed,
# `make lock UPGRADE="--upgrade-package django"` one package. It needs no working .venv
# (a lock left conflicted by a rebase is regenerated the same way).
UV_VERSION := 0.13.9
LOCK_FLAGS := --universal --python-version 3.12 --generate-hashes --quiet \
	--custom-compile-command "make lock"
lock: | check-python
	@test -x $(PY) || "$$(./scripts/find-python.sh)" -m venv $(VENV)
	$(PY) -m pip install --quiet "uv==$(UV_VERSION)"
	$(VENV)/bin/uv pip compile pyproject.toml --extra test $(LOCK_FLAGS) $(UPGRADE) -o requirements/test.txt
	$(VENV)/bin/uv pip compile pyproject.toml $(LOCK_FLAGS) -c requirements/test.txt -o requirements/runtime.txt

.env:
	$(PY) scripts/dev_env.py .env

# System packages are installed only when missing, and never silently: a line says what
# and why before apt-get runs.
messages: $(VENV)/.installed
	@command -v msgfmt >/dev/null || { \
	  echo "make: installing Debian's gettext (msgfmt compiles the translations): apt-get install gettext"; \
	  apt-get update -qq && apt-get install -y -qq gettext; }
	$(PY) manage.py compilemessages --ignore=.venv -v 0

run: $(VENV)/.installed .env messages
	$(PY) manage.py migrate --no-input -v 0
	$(PY) manage.py seed_demo
	$(PY) manage.py runserver 127.0.0.1:$(PORT)

# PostgreSQL and Redis, started if installed and down (never installed here).
services:
	@pg_isready -q -h 127.0.0.1 -p 5432 || { echo "make: starting PostgreSQL on 127.0.0.1:5432"; \
	  pg_ctlcluster --skip-systemctl-redirect $$(ls /etc/postgresql) main start; } \
	  || { echo "PostgreSQL is needed for the tests: install it (apt-get install postgresql)." >&2; exit 1; }
	@redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null 2>&1 || { echo "make: starting Redis on 127.0.0.1:6379"; \
	  redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save "" --appendonly no; } \
	  || { echo "Redis is needed for the tests: install it (apt-get install redis-server)." >&2; exit 1; }
	@for i in $$(seq 1 30); do pg_isready -q -h 127.0.0.1 -p 5432 && redis-cli -h 127.0.0.1 ping >/dev/null 2>&1 && exit 0; sleep 1; done; \
	  echo "PostgreSQL or Redis did not come up." >&2; exit 1

# The pooled two-node tests (tests/scaling) start their own PgBouncer from Debian's package,
# installed when missing.
pooler:
	@command -v pgbouncer >/dev/null || test -x /usr/sbin/pgbouncer || { \
	  echo "make: installing Debian's pgbouncer for the pooled two-node tests: apt-get install pgbouncer"; \
	  apt-get update -qq && apt-get install -y -qq pgbouncer; }

# Browser tests drive a chromium through Playwright, which cannot download browsers here:
# CHROMIUM_PATH=… names one; otherwise Debian's chromium, installed when missing.
CHROMIUM_PATH ?=
browser:
ifdef CHROMIUM_PATH
	@test -x "$(CHROMIUM_PATH)" || { echo "CHROMIUM_PATH=$(CHROMIUM_PATH) is not an executable." >&2; exit 1; }
else
	@command -v chromium >/dev/null || { \
	  echo "make: installing Debian's chromium for the browser tests (or set CHROMIUM_PATH=…): apt-get install chromium"; \
	  apt-get update -qq && apt-get install -y -qq chromium; }
endif

lint: $(VENV)/.installed
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/lint-imports --no-cache

format: $(VENV)/.installed
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

# The whole suite measures coverage and fails below the floor ([tool.coverage] in
# pyproject.toml); a run narrowed by PYTEST_ARGS does not (COVERAGE=--cov to ask).
COVERAGE ?= $(if $(PYTEST_ARGS),,--cov)
# One test process per CPU (pytest-xdist), each on its own test database; the tests
# that share the broker, the pooler or the replica take turns (tests/conftest.py).
# TEST_JOBS=0 runs everything in this process.
TEST_JOBS ?= auto
# The environment the suite needs; tests/conftest.py stops a pytest run without it.
test: $(VENV)/.installed .env services pooler browser messages lint
	DATABASE_URL=$(PG_URL) CELERY_BROKER_URL=$(REDIS_URL) SECRETARIAT_ENV=test \
	  CHROMIUM_PATH="$(or $(CHROMIUM_PATH),$$(command -v chromium))" \
	  $(VENV)/bin/pytest -n $(TEST_JOBS) $(COVERAGE) $(PYTEST_ARGS)

bench: $(VENV)/.installed .env services
	DATABASE_URL=$(PG_URL) CELERY_BROKER_URL=$(REDIS_URL) SECRETARIAT_ENV=test \
	  $(PY) -m bench $(BENCH_ARGS)

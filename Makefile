# Linli: `make run` for the demo site, `make test` for the suite.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PY := $(BIN)/python
HOST ?= 127.0.0.1
PORT ?= 8000
export DJANGO_SETTINGS_MODULE ?= config.settings.dev

.PHONY: help install run serve migrate messages translations test test-fast e2e bench lint lock clean

help:
	@echo "make run      - install, migrate, load the demo and start web + worker + beat"
	@echo "make test     - the whole test suite"
	@echo "make install  - virtualenv and pinned dependencies only"
	@echo "make bench    - benchmarks (PostgreSQL, gunicorn, wrk)"
	@echo "make lint     - ruff"

$(BIN)/activate: requirements-dev.lock
	$(PYTHON) -c 'import sys; assert sys.version_info >= (3, 11), "Python 3.11+ is needed"'
	test -d $(VENV) || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -r requirements-dev.lock
	touch $(BIN)/activate

install: $(BIN)/activate

translations: install
	$(PY) manage.py compile_translations

migrate: install
	$(PY) manage.py migrate --noinput

run: install translations migrate
	$(PY) manage.py seed_demo
	@echo ""
	@echo "  Linli is starting at http://$(HOST):$(PORT)/   (admin: http://$(HOST):$(PORT)/admin/)"
	@echo "  Demo logins, password linli-demo:"
	@echo "    13800000001 superuser            13800000002 cadre, neighbourhood 1"
	@echo "    13800000003 cadre, neighbourhood 2   13800000004 resident, neighbourhood 1"
	@echo "    13800000005 property staff of an estate in neighbourhood 1"
	@echo ""
	HOST=$(HOST) PORT=$(PORT) $(BIN)/honcho start -f Procfile

# The whole suite (browser tests included) on SQLite, or on PostgreSQL when
# DATABASE_URL is set (as .ci/run does). TEST_WORKERS=0 runs it in one process.
# --ds: the DJANGO_SETTINGS_MODULE exported above (dev) must not win over test.
TEST_WORKERS ?= 2
test: install translations
	$(BIN)/pytest --ds=config.settings.test -n $(TEST_WORKERS) --dist loadfile $(PYTEST_ARGS)

test-fast: install
	$(BIN)/pytest --ds=config.settings.test -m "not e2e" $(PYTEST_ARGS)

# Needs PostgreSQL and Redis on 127.0.0.1 and wrk; see bench/README.md.
# e.g. make bench BENCH_ARGS="--worker-class both", or BENCH_ARGS="--scale district"
# (also on the district-scale demo; its first seed takes about 4 minutes)
bench: install translations
	$(PY) bench/run.py $(BENCH_ARGS)

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

lock:
	$(BIN)/pip-compile --quiet --strip-extras --no-emit-index-url --no-emit-find-links -o requirements.lock pyproject.toml
	$(BIN)/pip-compile --quiet --strip-extras --no-emit-index-url --no-emit-find-links --extra dev -o requirements-dev.lock pyproject.toml

# Refresh locale/zh_Hans after code changes, then translate the new (empty) entries and
# run tests/core/test_translations.py. English needs no catalogue: the msgids are English.
# Keep the --ignore list in step with MAKEMESSAGES_IGNORE in that test.
messages: install
	$(PY) manage.py makemessages -l zh_Hans --no-obsolete --ignore=.venv --ignore=var --ignore=staticfiles --ignore=tests --ignore=bench
	$(PY) manage.py compile_translations

clean:
	rm -rf var staticfiles

# The two commands of the README: `make run` and `make test`. Everything else supports them.
SHELL := /bin/bash
PYTHON ?= python3
UV_VERSION ?= 0.9.8
TOOLS := .tools
UV := $(TOOLS)/bin/uv
VENV := .venv
PY := $(VENV)/bin/python
MANAGE := $(PY) manage.py
HOST ?= 127.0.0.1
PORT ?= 8000
# apps with catalogues of their own (the project's catalogue, locale/, has the rest)
APP_CATALOGUES = courses assessments certification accreditation community lms/accounts lms/xapi lms/dashboards

.PHONY: run test venv install messages compile-messages migrate demo serve lint typecheck pytest bench loadtest worker clean

$(UV):
	$(PYTHON) -m venv $(TOOLS)
	$(TOOLS)/bin/pip install --quiet --disable-pip-version-check "uv>=0.5"

$(VENV)/.installed: uv.lock pyproject.toml | $(UV)
	UV_PROJECT_ENVIRONMENT=$(VENV) $(UV) sync --frozen --python $(PYTHON)
	touch $@

install venv: $(VENV)/.installed

compile-messages: install
	$(MANAGE) compile_catalogues

migrate: install
	$(MANAGE) migrate --noinput

# the address certificates (PDF, QR code, credential, did:web) point at: the server's own unless set
demo run: export LMS_SITE_URL ?= http://$(HOST):$(PORT)

demo: migrate compile-messages
	$(MANAGE) seed_demo

## make run: create the environment, migrate, load the demo data and serve HTTP and WebSocket.
run: demo
	$(MANAGE) collectstatic --noinput --verbosity 0
	$(VENV)/bin/daphne -b $(HOST) -p $(PORT) lms.asgi:application

worker: install
	$(VENV)/bin/celery -A lms worker --loglevel=INFO --concurrency=2

lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check lms courses assessments certification accreditation community loadtests tests

typecheck: install
	$(VENV)/bin/mypy lms courses assessments certification accreditation community loadtests

pytest: install compile-messages
	$(VENV)/bin/pytest $(PYTEST_ARGS)

## make test: ruff, mypy and pytest.
test: lint typecheck pytest

## make messages: extract translatable strings into every catalogue (es, pt, fr).
messages: install
	$(VENV)/bin/django-admin makemessages --no-obsolete -l es -l pt -l fr --ignore '.venv/*' \
		--ignore '.tools/*' --ignore 'var/*' --ignore 'tests/*' --ignore 'loadtests/*' \
		$(foreach app,$(APP_CATALOGUES),--ignore '$(app)/*')
	for dir in $(APP_CATALOGUES); do \
		(cd $$dir && $(CURDIR)/$(VENV)/bin/django-admin makemessages --no-obsolete -l es -l pt -l fr) ; \
	done

## make bench: run the benchmarks and write docs/PERFORMANCE.md.
bench: migrate compile-messages
	$(MANAGE) run_benchmarks $(BENCH_ARGS)

## make loadtest: a bounded headless Locust run against a local server; reports under docs/loadtest/.
# The load test's database (DATABASE_URL, else lms_bench as loadtests/run.py takes it) is the one
# migrated here: `migrate` alone would migrate the default SQLite file and leave lms_bench behind.
LOADTEST_DATABASE_URL ?= $(if $(DATABASE_URL),$(DATABASE_URL),postgres://postgres@127.0.0.1:5432/lms_bench)
loadtest: install compile-messages
	DATABASE_URL=$(LOADTEST_DATABASE_URL) $(MANAGE) migrate --noinput
	DATABASE_URL=$(LOADTEST_DATABASE_URL) $(PY) -m loadtests.run $(LOADTEST_ARGS)

clean:
	rm -rf $(VENV) $(TOOLS) var

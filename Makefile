# CreditDesk: `make run` serves the demo app, `make test` runs the suite, `make bench` prints figures.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: install run test bench lint format clean

install: $(STAMP)

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[test]'
	touch $(STAMP)

# The local demo runs with DEBUG on (the settings default to off, as in production).
run: export DJANGO_DEBUG ?= true
run: install
	mkdir -p $${CREDITDESK_VAR_DIR:-var}
	$(PY) manage.py migrate --noinput
	$(PY) manage.py seed_demo --if-empty
	bin/serve

test: install
	$(PY) manage.py makemigrations --check --dry-run
	DJANGO_SECRET_KEY=$${DJANGO_SECRET_KEY:-mypy-only-key-not-for-serving-0123456789abcdefghijklmnop} \
		$(VENV)/bin/mypy $(wildcard */services.py */selectors.py)
	$(VENV)/bin/pytest $(PYTEST_ARGS)

bench: install
	$(PY) -m bench $(BENCH_ARGS)

lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

format: install
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

clean:
	rm -rf $(VENV) var

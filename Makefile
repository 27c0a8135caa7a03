# Samvirke. `make run` serves the demo; `make test` installs and runs the whole suite.
PYTHON ?= python3.11
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: run test lint bench vendor-frontend messages clean

$(STAMP): pyproject.toml
	@command -v $(PYTHON) >/dev/null || { echo "Python 3.11 is needed ($(PYTHON) not found)"; exit 1; }
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e ".[dev]"
	touch $(STAMP)

# Embedded demo: SQLite, Celery tasks in-process, DEBUG on, demo users with password "demo".
# SITE_URL: the acute alert's link must be absolute to work from a mail program.
run: $(STAMP)
	DEBUG=1 $(PY) manage.py migrate --noinput
	DEBUG=1 $(PY) manage.py seed_demo
	DEBUG=1 SITE_URL=$${SITE_URL:-http://127.0.0.1:8000} $(PY) manage.py runserver 127.0.0.1:8000

lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	SAMVIRKE_TESTING=1 $(PY) manage.py makemigrations --check --dry-run

test: lint
	SAMVIRKE_TESTING=1 $(VENV)/bin/pytest $(PYTEST_ARGS)

bench: $(STAMP)
	$(PY) bench/run.py
	$(PY) bench/pdf_bench.py

# Refresh the vendored DKFDS and axe-core files from the npm registry (needs npm).
vendor-frontend:
	bash scripts/vendor_frontend.sh

# Recompile translations after editing locale/*/LC_MESSAGES/django.po (needs gettext).
messages: $(STAMP)
	SAMVIRKE_TESTING=1 $(PY) manage.py compilemessages --ignore=.venv

clean:
	rm -rf $(VENV) db.sqlite3 staticfiles .pytest_cache

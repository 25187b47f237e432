# Limber: `make run` serves the app on SQLite; `make test` runs every test on SQLite, then PostgreSQL.
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 8000
export FLASK_APP := wsgi

.PHONY: run test test-sqlite test-postgres bench install install-dev clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

$(VENV)/.installed: requirements.txt | $(BIN)/python
	$(BIN)/pip install --quiet -r requirements.txt
	touch $@

$(VENV)/.installed-dev: requirements.txt requirements-dev.txt $(VENV)/.installed
	$(BIN)/pip install --quiet -r requirements-dev.txt
	touch $@

install: $(VENV)/.installed

install-dev: $(VENV)/.installed-dev

# Migrate, load the routine library, then serve with gunicorn beside the push worker
# (`flask worker`) until Ctrl-C, which stops both.
run: install
	$(BIN)/flask db upgrade
	$(BIN)/flask routines load
	HOST=$(HOST) PORT=$(PORT) exec $(BIN)/python -m server.supervise

test: install-dev
	$(MAKE) --no-print-directory test-sqlite
	$(MAKE) --no-print-directory test-postgres

# The browser tests need Debian's Chromium; Playwright's own browser download cannot work here.
browser-deps:
	@test -x /usr/bin/chromium || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium; } \
		|| { echo "browser-deps: could not install chromium with apt-get (run as root?)" >&2; exit 1; }
	@test -x /usr/bin/chromium || { echo "browser-deps: /usr/bin/chromium is still missing" >&2; exit 1; }

test-sqlite: install-dev browser-deps
	$(BIN)/python -m pytest

# The browser tests run their own SQLite app, and the fault tests their own SQLite and PostgreSQL,
# whatever the database, so they run in the first pass only.
test-postgres: install-dev
	$(BIN)/python -m tests.support.postgres run -- $(BIN)/python -m pytest -m "not browser and not fault"

# Bounded load, printed figures, no assertions: the HTTP endpoints, then Web Push.
bench: install-dev
	$(BIN)/python -m tests.bench.run
	$(BIN)/python -m tests.bench.bench_push

clean:
	rm -rf $(VENV) .pytest_cache .bench

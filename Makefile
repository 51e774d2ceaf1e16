# Suivi — developer commands. `make run` and `make test` work on a fresh machine.
SHELL := /bin/bash
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
export PYTHONDONTWRITEBYTECODE := 1

.PHONY: run test test-pg bench load lint lock messages setup dev-setup browser mailservers pdf-libs assets clean

DEV_STAMP := $(VENV)/.installed-dev

# Runtime only: what production installs (no Playwright, Schemathesis, mypy…).
$(STAMP): requirements.lock pyproject.toml
	@test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -r requirements.lock
	$(BIN)/python -m pip install -q --no-deps -e .
	@touch $(STAMP)

# Development: the runtime lock plus the `dev` extra (tests, lint, types, lock tooling).
$(DEV_STAMP): $(STAMP) requirements-dev.lock
	$(BIN)/python -m pip install -q -r requirements-dev.lock
	@touch $(DEV_STAMP)

setup: $(STAMP) messages pdf-libs assets

dev-setup: $(DEV_STAMP) messages pdf-libs assets

# WeasyPrint (documents to PDF) needs Pango and a font; Debian's images usually have them.
pdf-libs:
	@ldconfig -p | grep -q libpangoft2-1.0 && test -e /usr/share/fonts/truetype/dejavu/DejaVuSans.ttf || (apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq libpango-1.0-0 libpangoft2-1.0-0 fonts-dejavu-core >/dev/null)

# Third-party front-end code (FullCalendar 6.1, docs/adr/0002-agenda-calendar-component.md) comes
# from npm at set-up, pinned by package-lock.json, into a git-ignored static folder; never committed.
FULLCALENDAR := suivi/web/static/vendor/fullcalendar
assets: $(FULLCALENDAR)/index.global.min.js

$(FULLCALENDAR)/index.global.min.js: package.json package-lock.json
	@command -v npm >/dev/null || (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nodejs npm >/dev/null)
	npm ci --no-audit --no-fund --silent
	@mkdir -p $(FULLCALENDAR)/locales
	cp node_modules/fullcalendar/index.global.min.js node_modules/fullcalendar/LICENSE.md $(FULLCALENDAR)/
	cp node_modules/@fullcalendar/core/locales/{fr,nl,en-gb}.global.min.js $(FULLCALENDAR)/locales/

# Compiled catalogues are built, not committed.
messages: $(STAMP)
	@command -v msgfmt >/dev/null || (apt-get update -qq && apt-get install -y -qq gettext >/dev/null)
	@cd suivi && ../$(BIN)/suivi compilemessages -v0 --ignore=.venv

run: setup
	$(BIN)/suivi start

# Debian's chromium drives the browser tests (Playwright cannot download its own here).
browser:
	@test -x /usr/bin/chromium || (apt-get update -qq && apt-get install -y -qq chromium >/dev/null)

# Debian's Dovecot serves IMAP to the mail tests (tests/mailservers.py starts its own instance).
mailservers:
	@test -x /usr/sbin/dovecot || (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq dovecot-imapd >/dev/null)

test: dev-setup browser mailservers
	SUIVI_VAR_DIR=var/test $(BIN)/pytest -n 2 $(PYTEST_ARGS)

bench: dev-setup
	$(BIN)/python -m tests.bench.run $(BENCH_ARGS)

# 50 simulated users over HTTP against `suivi serve` on the bench dataset (see tests/load/run.py).
load: dev-setup
	$(BIN)/python -m tests.load.run $(LOAD_ARGS)

# Style, layers (import-linter contracts in pyproject.toml), types (mypy), missing migrations.
lint: dev-setup
	$(BIN)/ruff check suivi tests
	$(BIN)/ruff format --check suivi tests
	$(BIN)/lint-imports
	$(BIN)/mypy
	$(BIN)/suivi makemigrations --check --dry-run

# Two locks: runtime (production) and development; the second keeps the first one's versions.
lock: dev-setup
	$(BIN)/uv pip compile pyproject.toml --python-version 3.11 -o requirements.lock
	$(BIN)/uv pip compile pyproject.toml --extra dev --python-version 3.11 -c requirements.lock -o requirements-dev.lock

clean:
	rm -rf $(VENV) var/test* var/static

# CharterOps: `make demo` runs the app with demo data on its embedded defaults,
# `make test` runs the whole suite. Both install what they need first.
SHELL := /bin/bash
export UV_PYTHON_DOWNLOADS := never
UV := $(shell command -v uv 2>/dev/null)
ifeq ($(UV),)
UV := python3 -m uv
endif
RUN := $(UV) run --frozen
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: install uv chromium dovecot axe demo serve test test-python test-node lint format worker beat bench migrate

uv:
	@command -v uv >/dev/null 2>&1 || python3 -m uv --version >/dev/null 2>&1 || python3 -m pip install --quiet uv

install: uv
	@$(UV) sync --frozen --quiet || { echo "uv sync failed: CharterOps needs Python 3.12 (see .python-version)"; exit 1; }

# Debian's Chromium for the browser tests; skipped (not failed) where apt is not ours to use.
chromium:
	@if [ ! -x /usr/bin/chromium ]; then \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    echo "Installing Debian's chromium for the browser tests..."; \
	    (apt-get update -qq && apt-get install -y -qq chromium >/dev/null) || echo "could not install chromium; browser tests will skip (fail under CI=true)"; \
	  else echo "chromium is missing and cannot be installed here; browser tests will skip (fail under CI=true)"; fi; \
	fi

# Debian's Dovecot for the IMAP tests (each test starts its own on a loopback port); as chromium.
dovecot:
	@if [ ! -x /usr/sbin/dovecot ]; then \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    echo "Installing Debian's dovecot-imapd for the IMAP tests..."; \
	    (apt-get update -qq && apt-get install -y -qq dovecot-imapd >/dev/null) || echo "could not install dovecot-imapd; IMAP tests will skip (fail under CI=true)"; \
	  else echo "dovecot is missing and cannot be installed here; IMAP tests will skip (fail under CI=true)"; fi; \
	fi

migrate: install
	$(RUN) python manage.py migrate --noinput

# The embedded demo is chosen explicitly (production is the default, and fails closed);
# links follow HOST and PORT unless CHARTEROPS_SITE_URL says otherwise.
demo: export CHARTEROPS_MODE := demo
demo: export CHARTEROPS_SITE_URL ?= http://$(HOST):$(PORT)

demo: migrate
	$(RUN) python manage.py demo
	@echo "CharterOps is at http://$(HOST):$(PORT)/  (admin: http://$(HOST):$(PORT)/admin/)"
	$(RUN) python manage.py runserver $(HOST):$(PORT)

# axe-core (npm) for the browser tests' accessibility checks, into tests/browser/axe/node_modules.
axe:
	@if [ ! -f tests/browser/axe/node_modules/axe-core/axe.min.js ]; then \
	  if command -v npm >/dev/null; then (cd tests/browser/axe && npm ci --no-audit --no-fund --silent) \
	    || echo "could not install axe-core; accessibility checks will skip (fail under CI=true)"; \
	  else echo "npm is missing; accessibility checks will skip (fail under CI=true)"; fi; \
	fi

test: install chromium dovecot axe test-python test-node

test-python:
	CHARTEROPS_MODE=demo $(RUN) pytest

test-node:
	@if [ -d deploy/cloudfront ] && ls deploy/cloudfront/*.test.js >/dev/null 2>&1; then \
	  node --test deploy/cloudfront/; fi

lint: install
	$(RUN) ruff check .
	$(RUN) ruff format --check .

format: install
	$(RUN) ruff check --fix .
	$(RUN) ruff format .

# The production stack (see README): needs CELERY_BROKER_URL (Redis) and DATABASE_URL.
worker: install
	DATABASE_POOL_MAX_SIZE=$${DATABASE_POOL_MAX_SIZE:-40} $(RUN) celery -A charterops worker --loglevel=INFO --pool=threads --concurrency=$${WORKER_CONCURRENCY:-32} $(if $(WORKER_QUEUES),-Q $(WORKER_QUEUES),)

beat: install
	$(RUN) celery -A charterops beat --loglevel=INFO --schedule=var/celerybeat-schedule

bench: export CHARTEROPS_MODE := demo
bench: install
	@for script in bench/fanout.py bench/webhook.py bench/calendar_feed.py bench/admin_scale.py bench/crew_notify.py; do echo "== $$script"; $(RUN) python $$script --quick || exit 1; done

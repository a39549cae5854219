# Two commands: `make run` (set up and start on the embedded default) and `make test` (set up and run the suite).
PY ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
PORT ?= 8000

.PHONY: setup run test bench lint

$(BIN)/python:
	$(PY) -m venv $(VENV)

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[test]'
	touch $@

.env: | $(VENV)/.installed
	$(BIN)/python scripts/make_env.py .env

setup: $(VENV)/.installed .env
	$(BIN)/python manage.py migrate --noinput
	$(BIN)/python manage.py sync_provider_templates
	$(BIN)/python manage.py setup_periodic_tasks
	$(BIN)/python manage.py gpu_report_schedule

# The web server plus a Celery worker with beat on the embedded filesystem broker: no database or broker server.
run: setup
	$(BIN)/python manage.py bootstrap_admin
	@echo "Compute Advisor on http://127.0.0.1:$(PORT)/ (API docs at /api/docs/, admin at /admin/)"
	@trap 'trap - INT TERM EXIT; kill 0' INT TERM EXIT; \
	$(BIN)/celery -A comfyvn_site worker --beat --loglevel=warning --concurrency=2 & \
	$(BIN)/python manage.py runserver --insecure --noreload 127.0.0.1:$(PORT)

test: setup
	$(BIN)/pytest

# Benchmarks against PostgreSQL (DATABASE_URL; each run uses a throwaway <name>_bench database): docs/PERFORMANCE.md.
bench: setup
	$(BIN)/python -m bench.run_all

lint: $(VENV)/.installed
	$(BIN)/ruff check .

# The two commands: `make run` (set up everything and serve the demo) and `make test`.
PORT ?= 8000
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
FLASK := $(BIN)/flask --app wsgi
WORKERS ?= 2

.PHONY: run dev test test-reliability lint translations extract-messages clean bench

$(VENV)/.runtime: requirements.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --disable-pip-version-check -q -r requirements.txt
	touch $@

$(VENV)/.dev: requirements-dev.txt $(VENV)/.runtime
	$(BIN)/pip install --disable-pip-version-check -q -r requirements-dev.txt
	touch $@

# Compiled message catalogues are build output (not committed): rebuilt when a .po file changes.
MO_FILES := $(patsubst %.po,%.mo,$(wildcard marketplace/translations/*/LC_MESSAGES/messages.po))
%.mo: %.po $(VENV)/.runtime
	$(BIN)/pybabel compile -f -i $< -o $@

translations: $(MO_FILES)

run: $(VENV)/.runtime translations
	$(FLASK) db upgrade
	$(FLASK) search prepare
	$(FLASK) demo
	@echo ""
	@echo "网上商都 Online Commercial Capital: http://127.0.0.1:$(PORT)/"
	$(BIN)/gunicorn --bind 127.0.0.1:$(PORT) --workers $(WORKERS) --access-logfile - wsgi:app

dev: $(VENV)/.dev translations
	$(FLASK) db upgrade
	$(FLASK) search prepare
	$(FLASK) demo
	$(FLASK) run --debug --port $(PORT)

test: $(VENV)/.dev translations
	$(BIN)/pytest $(PYTEST_ARGS)

# The reliability suite alone (docs/reliability.md): races, faults and hostile input against gunicorn. On PostgreSQL
# too with MARKETPLACE_TEST_DATABASE_URL=postgresql+psycopg://postgres@127.0.0.1:5432/test.
test-reliability: $(VENV)/.dev translations
	$(BIN)/pytest tests/reliability $(PYTEST_ARGS)

lint: $(VENV)/.dev
	$(BIN)/ruff check marketplace tests migrations bench wsgi.py gunicorn.conf.py

# Refresh the English catalogue from the Chinese source strings, then translate what is new.
extract-messages: $(VENV)/.runtime
	$(BIN)/pybabel extract -F babel.cfg -k _l -k lazy_gettext -o marketplace/translations/messages.pot .
	$(BIN)/pybabel update --ignore-obsolete -i marketplace/translations/messages.pot -d marketplace/translations --no-fuzzy-matching

clean:
	rm -rf $(VENV) .pytest_cache

# The performance benchmark (bench/README.md): a synthetic city of BENCH_ARGS' size, pages against hello-world.
bench: $(VENV)/.dev translations
	$(BIN)/python -m bench.run $(BENCH_ARGS)

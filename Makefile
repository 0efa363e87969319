# The two commands in the README: `make run` and `make test`. Everything else supports them.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
DB ?= $(or $(TIERBOARD_DB),data/tierboard.duckdb)
DEMO_TICKETS ?= 200000

.PHONY: run test install lint demo bench clean messages

$(VENV)/.installed: requirements.txt requirements-dev.txt
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements-dev.txt
	touch $@

install: $(VENV)/.installed

# Builds the demo warehouse on first run, then starts the dashboard.
run: install
	@if [ ! -f "$(DB)" ]; then \
		echo "No warehouse at $(DB): building a demo one ($(DEMO_TICKETS) tickets)…"; \
		$(PY) -m pipelines demo --tickets $(DEMO_TICKETS) --db "$(DB)"; \
	fi
	@if [ -f app.py ]; then \
		TIERBOARD_DB="$(DB)" $(PY) -m streamlit run app.py; \
	else \
		echo "Warehouse ready at $(DB); the dashboard (app.py) is not built yet."; \
	fi

lint: install
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .
	$(PY) -m mypy

test: lint
	$(PY) -m pytest -n 2 --dist loadfile

# After adding or changing a message: refresh both catalogs, then translate the new entries.
messages: install
	$(VENV)/bin/pybabel extract -F babel.cfg -k N_ -k safely -k C_:1c,2 --no-location -o locale/tierboard.pot .
	$(VENV)/bin/pybabel update -i locale/tierboard.pot -d locale -D tierboard --no-fuzzy-matching
	rm locale/tierboard.pot

demo: install
	$(PY) -m pipelines demo --tickets $(DEMO_TICKETS) --db "$(DB)"

clean:
	rm -rf $(VENV) data/*.duckdb* .pytest_cache .mypy_cache .ruff_cache

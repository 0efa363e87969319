# The two commands in the README: `make run` and `make test`. Everything else supports them.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
DB ?= $(or $(TIERBOARD_DB),data/tierboard.duckdb)
DEMO_TICKETS ?= 200000

.PHONY: run test install lint demo bench clean

$(VENV)/.installed: requirements.txt requirements-dev.txt
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements-dev.txt
	touch $@

install: $(VENV)/.installed

# Builds the demo warehouse on first run, then starts the dashboard (a development machine
# unless TIERBOARD_ENV says otherwise: demo identities are allowed).
run: install
	@if [ ! -f "$(DB)" ]; then \
		echo "No warehouse at $(DB): building a demo one ($(DEMO_TICKETS) tickets)…"; \
		$(PY) -m pipelines demo --tickets $(DEMO_TICKETS) --db "$(DB)"; \
	fi
	@if [ -f app.py ]; then \
		TIERBOARD_DB="$(DB)" TIERBOARD_ENV="$${TIERBOARD_ENV:-development}" \
			$(PY) -m streamlit run app.py; \
	else \
		echo "Warehouse ready at $(DB); the dashboard (app.py) is not built yet."; \
	fi

lint: install
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .
	$(PY) -m mypy

test: lint
	$(PY) -m pytest -n 2 --dist loadfile

demo: install
	$(PY) -m pipelines demo --tickets $(DEMO_TICKETS) --db "$(DB)"

clean:
	rm -rf $(VENV) data/*.duckdb* .pytest_cache .mypy_cache .ruff_cache

# The two commands in the README: `make run` and `make test`. Everything else supports them.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
DB ?= $(or $(TIERBOARD_DB),data/tierboard.duckdb)
DEMO_TICKETS ?= 200000

.PHONY: run run-live test install java lint demo bench clean messages

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

# The Spark engine (python -m settlement run --engine spark) and its tests need a Java runtime:
# Debian's, installed when missing and allowed (as root), else named.
java:
	@command -v java >/dev/null 2>&1 || { \
		if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
			echo "Installing Java for Spark (openjdk-17-jre-headless)…"; \
			apt-get update -qq && DEBIAN_FRONTEND=noninteractive \
				apt-get install -y -qq openjdk-17-jre-headless >/dev/null; \
		else \
			echo "Spark needs Java 17: sudo apt-get install openjdk-17-jre-headless" >&2; exit 1; \
		fi; \
	}

test: lint java
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

# The dashboard fed live: ticket exports loaded once, orders and refunds pulled from a local
# stand-in for the three shops' APIs (replaying the demo history, a day a minute) by `watch`.
LIVE := data/live
run-live: install
	@mkdir -p $(LIVE)
	@if [ ! -d $(LIVE)/feeds ]; then $(PY) -m pipelines generate --out $(LIVE)/feeds --tickets $(DEMO_TICKETS); fi
	@if [ ! -f $(LIVE)/tierboard.duckdb ]; then $(PY) -m pipelines ingest $(LIVE)/feeds/tickets --db $(LIVE)/tierboard.duckdb; fi
	@trap 'kill $$(jobs -p) 2>/dev/null' EXIT INT TERM; \
	rm -f $(LIVE)/connectors.toml; \
	$(PY) -m pipelines serve-demo-platforms --feeds $(LIVE)/feeds --speed 1440 --write-config $(LIVE)/connectors.toml & \
	while [ ! -f $(LIVE)/connectors.toml ]; do sleep 0.2; done; \
	TIERBOARD_CONNECTORS=$(LIVE)/connectors.toml $(PY) -m pipelines watch --every 1m --db $(LIVE)/tierboard.duckdb & \
	TIERBOARD_DB=$(LIVE)/tierboard.duckdb $(PY) -m streamlit run app.py

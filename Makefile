# Two commands set everything up on a fresh machine: `make demo` and `make test`.
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed-stamp
PYTEST_ARGS ?=

.PHONY: demo test lint bench system services clean manual-images fuzz

$(STAMP): pyproject.toml
	python3 -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[dev,ocr]'
	touch $(STAMP)

system: ## Debian packages the project needs (chromium, a CJK font), installed when missing
	bash scripts/system-deps.sh

services: ## PostgreSQL for the tests, started when it is down
	bash scripts/services.sh

demo: $(STAMP) system
	$(VENV)/bin/fapiao demo

test: $(STAMP) system services
	$(VENV)/bin/ruff check src tests bench
	$(VENV)/bin/ruff format --check src tests bench
	$(VENV)/bin/pytest -n 2 --dist worksteal --durations=25 $(PYTEST_ARGS)

# Fuzzing: `make test` runs each target a few seconds; this runs it longer with fresh inputs.
FUZZ_SECONDS ?= 120
FUZZ_EXAMPLES ?= 20000
FUZZ_API_EXAMPLES ?= 300
fuzz: $(STAMP) system services ## parsers and HTTP API under mutated input, FUZZ_SECONDS per target
	FAPIAO_FUZZ_SECONDS=$(FUZZ_SECONDS) FAPIAO_FUZZ_EXAMPLES=$(FUZZ_EXAMPLES) \
	FAPIAO_FUZZ_API_EXAMPLES=$(FUZZ_API_EXAMPLES) FAPIAO_FUZZ_RANDOM=1 \
	$(VENV)/bin/pytest -x tests/test_fuzz_parsers.py tests/test_fuzz_api.py $(PYTEST_ARGS)

lint: $(STAMP)
	$(VENV)/bin/ruff check src tests bench
	$(VENV)/bin/ruff format --check src tests bench

bench: $(STAMP) services
	for script in bench/*.py; do $(PY) $$script || exit 1; done

manual-images: $(STAMP) system services ## retake the user manual's screenshots (docs/img)
	FAPIAO_UPDATE_MANUAL=1 $(VENV)/bin/pytest tests/test_browser.py

clean:
	rm -rf $(VENV) demo-data .pytest_cache

# The two commands a newcomer needs: `make serve` (start on the embedded default) and `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-$(shell cksum pyproject.toml | cut -d' ' -f1)

.PHONY: serve test lint bench install clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	rm -f $(VENV)/.installed-*
	touch $(STAMP)

install: $(STAMP)

serve: $(STAMP)
	$(BIN)/erp-sync serve

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/python scripts/check_function_length.py
	$(BIN)/lint-imports
	$(BIN)/mypy

test: $(STAMP)
	bash scripts/ensure-test-tools.sh
	bash scripts/install-actionlint.sh
	$(BIN)/ruff check .
	$(BIN)/python scripts/check_function_length.py
	$(BIN)/lint-imports
	$(BIN)/mypy
	$(BIN)/pytest

bench: $(STAMP)  # make bench ARGS='--repeat 3' for the README's figures
	$(BIN)/python benchmarks/bench_sync.py $(ARGS)

clean:
	rm -rf $(VENV) instance .tools .pytest_cache .ruff_cache

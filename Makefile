# tokenmeter — the two commands a newcomer needs: `make demo` and `make test`.
VENV ?= .venv
BIN := $(VENV)/bin
PYTEST_ARGS ?=

.PHONY: setup test lint typecheck firmware-check demo bench clean

setup:
	@bash scripts/setup.sh

lint: setup
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: setup
	$(BIN)/mypy

firmware-check: setup
	$(BIN)/python scripts/compile_firmware.py

test: setup lint typecheck firmware-check
	$(BIN)/python -m pytest $(PYTEST_ARGS)

demo: setup
	$(BIN)/tokenmeter demo

bench: setup
	$(BIN)/python bench/ocr.py

clean:
	rm -rf $(VENV) .mypy_cache .pytest_cache .ruff_cache build *.egg-info

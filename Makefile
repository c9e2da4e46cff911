# Two commands on a fresh machine: `make demo` and `make test`.
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
OUT ?= runs/demo
# torch==2.13.0 is the CPU build available on these machines; without this pin pip
# resolves torch to the newest release with several GB of CUDA packages.
TORCH_PIN := torch==2.13.0

.PHONY: install install-test demo test lint clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV) || python3 -m venv $(VENV)

$(VENV)/.installed: $(BIN)/python pyproject.toml
	$(BIN)/pip install -q $(TORCH_PIN)
	$(BIN)/pip install -q -e .
	touch $@

$(VENV)/.installed-test: $(VENV)/.installed
	$(BIN)/pip install -q -e ".[test]"
	touch $@

install: $(VENV)/.installed

install-test: $(VENV)/.installed-test

# Starts from a clean $(OUT): the demo's budget ledger lives there, and a second run charged to
# the same (synthetic) people would rightly be refused.
demo: install
	rm -rf $(OUT)
	$(BIN)/privml demo --out $(OUT)

test: install-test
	$(BIN)/python -m pytest -q

lint: install-test
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/ruff format --check src tests benchmarks

clean:
	rm -rf $(VENV) runs .pytest_cache .ruff_cache

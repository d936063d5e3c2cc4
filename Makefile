# The two set-up commands of the README: `make run` and `make test`.
# Each creates the virtual environment in .venv on first use.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test test-fast lint golden clean bench

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $(STAMP)

## run: check the bundled posts, then publish the site into public/
run: $(STAMP)
	$(BIN)/press check
	$(BIN)/press publish
	$(BIN)/press digest --week latest --preview out/
	@echo
	@echo "To look at the site: .venv/bin/press serve, then open http://localhost:8000/"
	@echo "(the digest preview is out/digest.html; your own blog: .venv/bin/press new site DIR)"


## test: the whole test suite
test: $(STAMP)
	$(BIN)/pytest

## test-fast: the quick run, without the tests marked slow (kills, pauses, waits)
test-fast: $(STAMP)
	$(BIN)/pytest -m "not slow"

## lint: ruff and mypy, as CI runs them
lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

## golden: rewrite the golden files from the current output; review with git diff
golden: $(STAMP)
	$(BIN)/pytest --update-golden

clean:
	rm -rf $(VENV) public var out

## bench: the benchmark against Hugo and Postfix's smtp-source (installs both)
bench: $(STAMP)
	command -v hugo >/dev/null && command -v smtp-sink >/dev/null || \
	  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq hugo postfix)
	$(BIN)/python bench/run.py

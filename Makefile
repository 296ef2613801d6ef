# Two commands set everything up on a fresh machine:
#   make test   creates .venv, fetches the offline assets, runs the test suite
#   make book   creates .venv, fetches assets, executes the notebooks, builds the book
# PROFILE picks the notebooks' scale (smoke, quick, reference, thesis): thesis on a CUDA machine, quick on a CPU.

SHELL := /bin/bash
.SHELLFLAGS := -eo pipefail -c
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-stamp
PROFILE ?= $(shell $(PY) -c "import torch; print('thesis' if torch.cuda.is_available() else 'quick')" 2>/dev/null || echo quick)
PYTEST_ARGS ?=
JOBS ?= 2

.PHONY: help env assets test lint book notebooks book-html mathjax bench clean

help:
	@echo "make test      set up .venv + assets, run the tests"
	@echo "make book      set up .venv + assets, execute notebooks (PROFILE=$(PROFILE)), build the book"
	@echo "make assets    fetch and verify the offline assets (MNIST, LPIPS, I3D)"
	@echo "make lint      ruff"
	@echo "make bench     CPU benchmarks"

$(STAMP): requirements.txt requirements-dev.txt pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -r requirements.txt -r requirements-dev.txt
	$(PY) -m pip install -q --no-deps --no-build-isolation -e .
	$(PY) -m ipykernel install --sys-prefix --name python3 >/dev/null
	touch $@

env: $(STAMP)

assets: env
	$(PY) -m rfn.assets

lint: env
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check rfn tests benchmarks

test: env assets
	$(VENV)/bin/ruff check .
	OMP_NUM_THREADS=1 $(PY) -m pytest -n $(JOBS) $(PYTEST_ARGS)

mathjax: env
	$(PY) -m rfn.book mathjax

notebooks: env assets
	$(PY) -m rfn.book run --profile $(PROFILE)

book-html: env mathjax
	$(PY) -m rfn.book build

book: notebooks book-html
	@echo "book: open _build/html/index.html"

bench: env assets
	$(PY) benchmarks/flow_throughput.py --device cpu

clean:
	rm -rf _build .pytest_cache .ruff_cache

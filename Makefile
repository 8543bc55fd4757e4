# Two commands: `make lab` opens the tutorial, `make test` runs every test.
# Both create a local virtual environment (.venv) on first use.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

# Extra flags for `jupyter lab`: make lab LAB_ARGS="--no-browser --port 9999"
LAB_ARGS ?=
# JupyterLab refuses to start as root (a container, a VM) unless told it may.
ROOT_ARGS := $(if $(filter 0,$(shell id -u 2>/dev/null)),--allow-root)

# The quick tier: the tests with no tier marker (tests/conftest.py, TIERS), on
# every core. CI's matrix runs pytest with these same arguments.
FAST_ARGS := --fast -n auto

# The oldest wasmtime major pyproject.toml allows, read from it so that it is
# declared in one place (tests/test_environment.py holds environment.yml to it).
WASMTIME_OLDEST := $(shell sed -n 's/^ *"wasmtime>=\([0-9][0-9]*\)".*/\1/p' pyproject.toml)
OLDEST := .venv-oldest

.PHONY: lab test test-fast test-oldest lint site diagram bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[lab,test,docs]'
	touch $(STAMP)

lab: $(STAMP)
	$(VENV)/bin/jupyter lab $(ROOT_ARGS) $(LAB_ARGS) notebooks/01-early-exit.ipynb

# The whole suite: unit, command line, kernels, strict nbval, the site (warnings
# as errors, then opened in Chromium), the wheel in a fresh environment.
test: $(STAMP)
	$(PY) -m pytest

# In-process tests and quick command-line runs: the inner loop, well under a minute.
test-fast: $(STAMP)
	$(PY) -m pytest $(FAST_ARGS)

# The quick tier on the oldest wasmtime major the package allows, in its own venv.
$(OLDEST)/.installed: pyproject.toml
	rm -rf $(OLDEST)
	$(PYTHON) -m venv $(OLDEST)
	$(OLDEST)/bin/python -m pip install --quiet --upgrade pip
	$(OLDEST)/bin/python -m pip install --quiet "wasmtime==$(WASMTIME_OLDEST).*" -e '.[test,docs]'
	touch $@

test-oldest: $(OLDEST)/.installed
	$(OLDEST)/bin/python -c 'import importlib.metadata as m, sys; v = m.version("wasmtime"); print("wasmtime", v); sys.exit(v.split(".")[0] != "$(WASMTIME_OLDEST)")'
	$(OLDEST)/bin/python -m pytest $(FAST_ARGS)

# Lint, format and type checks (pre-commit runs the same tools on each commit).
lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy

# The static site, from the committed notebooks (not re-executed), into build/site/.
site: $(STAMP)
	$(PY) -m sphinx -W --keep-going -q -b html -d build/site-doctrees docs build/site
	@echo "Open build/site/index.html"

# The README's picture, drawn by the package.
diagram: $(STAMP)
	$(PY) docs/make_diagram.py

bench: $(STAMP)
	$(PY) benchmarks/bench.py $(BENCH_ARGS)

clean:
	rm -rf $(VENV) $(OLDEST) build *.egg-info .pytest_cache .ruff_cache .mypy_cache screenshots docs/notebooks

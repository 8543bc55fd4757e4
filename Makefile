# Two commands: `make lab` opens the tutorial, `make test` runs every test.
# Both create a local virtual environment (.venv) on first use: `make lab` installs
# only what the lab needs, `make test` everything the tests need.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
# One stamp per set of packages installed: the lab's, and the whole suite's (which holds the lab's).
LAB_STAMP := $(VENV)/.lab-installed
STAMP := $(VENV)/.installed
BUILD_STAMP := $(VENV)/.build-installed
DOCS_STAMP := $(VENV)/.docs-installed
# Dependency groups (PEP 735) need pip 25.1 or newer.
PIP_FLOOR := pip>=25.1

# Extra flags for `jupyter lab`: make lab LAB_ARGS="--no-browser --port 9999"
LAB_ARGS ?=
# JupyterLab refuses to start as root (a container, a VM) unless told it may.
ROOT_ARGS := $(if $(filter 0,$(shell id -u 2>/dev/null)),--allow-root)
# The project's JupyterLab defaults (no news toast, widget state saved with the notebook),
# added in front of Jupyter's config path: your own settings still win over them.
LAB_CONFIG := $(CURDIR)/jupyter-config
LAB_ENV := JUPYTER_CONFIG_PATH="$(LAB_CONFIG)$(if $(JUPYTER_CONFIG_PATH),:$(JUPYTER_CONFIG_PATH))"

# The quick tier: the tests with no tier marker (tests/conftest.py, TIERS), on
# every core. CI's matrix runs pytest with these same arguments.
FAST_ARGS := --fast -n auto

# The oldest wasmtime major pyproject.toml allows, read from it so that it is
# declared in one place (tests/test_environment.py holds environment.yml to it).
WASMTIME_OLDEST := $(shell sed -n 's/^ *"wasmtime>=\([0-9][0-9]*\)".*/\1/p' pyproject.toml)
OLDEST := .venv-oldest

.PHONY: lab test test-fast test-oldest lint notebooks site diagram bench wheel sdist clean

$(PY):
	@echo "Creating the virtual environment $(VENV)/"
	$(PYTHON) -m venv $(VENV)

$(LAB_STAMP): pyproject.toml | $(PY)
	@echo "Installing into $(VENV)/: pip 25.1 or newer, then the tutorial with its lab extra (JupyterLab, ziglang)"
	$(PY) -m pip install '$(PIP_FLOOR)'
	$(PY) -m pip install -e '.[lab]'
	touch $@

# `make test` installs the package with its lab and docs extras and the dev group
# (pytest, nbval, playwright, ruff, mypy...): the lab is part of it.
$(STAMP): pyproject.toml | $(PY)
	@echo "Installing into $(VENV)/: pip 25.1 or newer, then the tutorial with its lab and docs extras and the dev group"
	$(PY) -m pip install '$(PIP_FLOOR)'
	$(PY) -m pip install --group dev -e '.[lab,docs]'
	touch $@ $(LAB_STAMP) $(BUILD_STAMP) $(DOCS_STAMP)

# `make site` needs only the docs extra (Sphinx, myst-nb): what CI's site job installs.
$(DOCS_STAMP): pyproject.toml | $(PY)
	@echo "Installing into $(VENV)/: pip 25.1 or newer, then the tutorial with its docs extra (Sphinx, myst-nb)"
	$(PY) -m pip install '$(PIP_FLOOR)'
	$(PY) -m pip install -e '.[docs]'
	touch $@

# `make wheel` and `make sdist` need only the build frontend (the `build` group).
$(BUILD_STAMP): pyproject.toml | $(PY)
	$(PY) -m pip install '$(PIP_FLOOR)'
	$(PY) -m pip install --group build
	touch $@

# JupyterLab rooted at the repository (the README, examples/ and the notebooks in its file
# browser), opening notebook 01.
lab: $(LAB_STAMP)
	$(LAB_ENV) $(VENV)/bin/jupyter lab $(ROOT_ARGS) --ServerApp.root_dir="$(CURDIR)" $(LAB_ARGS) notebooks/01-early-exit.ipynb

# The whole suite: unit, command line, kernels, strict nbval, the site (warnings
# as errors, then opened in Chromium), the wheel and the sdist in fresh environments.
test: $(STAMP)
	$(PY) -m pytest

# In-process tests and quick command-line runs: the inner loop, well under a minute.
test-fast: $(STAMP)
	$(PY) -m pytest $(FAST_ARGS)

# The quick tier on the oldest wasmtime major the package allows, in its own venv.
$(OLDEST)/.installed: pyproject.toml
	rm -rf $(OLDEST)
	$(PYTHON) -m venv $(OLDEST)
	$(OLDEST)/bin/python -m pip install --quiet --upgrade '$(PIP_FLOOR)'
	$(OLDEST)/bin/python -m pip install --quiet "wasmtime==$(WASMTIME_OLDEST).*" --group test -e '.[docs]'
	touch $@

test-oldest: $(OLDEST)/.installed
	$(OLDEST)/bin/python -c 'import importlib.metadata as m, sys; v = m.version("wasmtime"); print("wasmtime", v); sys.exit(v.split(".")[0] != "$(WASMTIME_OLDEST)")'
	$(OLDEST)/bin/python -m pytest $(FAST_ARGS)

# Lint, format and type checks (pre-commit runs the same tools on each commit).
lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy
	$(PY) tools/normalize_notebooks.py --check

# Every notebook re-run from a fresh kernel and saved in place with its widget state (what
# GitHub, nbviewer and the site render), then put in the committed normal form. Run it
# after changing a notebook or the package code it shows, and commit the result.
notebooks: $(STAMP)
	@for nb in notebooks/*.ipynb; do \
	  echo "Running $$nb"; \
	  $(VENV)/bin/jupyter execute --inplace "$$nb" || exit 1; \
	done
	$(PY) tools/normalize_notebooks.py

# The static site, from the committed notebooks (not re-executed), into build/site/.
site: $(DOCS_STAMP)
	$(PY) -m sphinx -W --keep-going -q -b html -d build/site-doctrees docs build/site
	@echo "Open build/site/index.html"

# The README's picture, drawn by the package.
diagram: $(STAMP)
	$(PY) docs/make_diagram.py

bench: $(STAMP)
	$(PY) benchmarks/bench.py $(BENCH_ARGS)

# The wheel and the sdist, built as a packager builds them (python -m build, in an isolated
# environment) into dist/. setuptools' build/lib is removed first: a module deleted from the
# source would otherwise stay in the next wheel.
wheel: $(BUILD_STAMP)
	rm -rf build/lib build/bdist.* *.egg-info
	$(PY) -m build --wheel --outdir dist .

sdist: $(BUILD_STAMP)
	rm -rf *.egg-info
	$(PY) -m build --sdist --outdir dist .

clean:
	rm -rf $(VENV) $(OLDEST) build dist *.egg-info .pytest_cache .ruff_cache .mypy_cache screenshots docs/notebooks

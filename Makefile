# Two commands: `make lab` opens the tutorial, `make test` runs every test.
# Both create a local virtual environment (.venv) on first use.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: lab test site diagram bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[lab,test,docs]'
	touch $(STAMP)

lab: $(STAMP)
	$(VENV)/bin/jupyter lab notebooks/01-early-exit.ipynb

# The tests build the site too (warnings as errors) and open it in Chromium.
test: $(STAMP)
	$(PY) -m pytest

# The static site, from the committed notebooks (not re-executed), into build/site/.
site: $(STAMP)
	$(PY) -m sphinx -W --keep-going -q -b html -d build/site-doctrees docs build/site
	@echo "Open build/site/index.html"

# The README's picture, drawn by the package.
diagram: $(STAMP)
	$(PY) docs/make_diagram.py

bench: $(STAMP)
	$(PY) benchmarks/bench.py

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache screenshots docs/notebooks

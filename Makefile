# Two commands set everything up on a fresh machine: `make figures` and `make test`.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV   ?= .venv
PY      = $(VENV)/bin/python
STAMP   = $(VENV)/.installed

.PHONY: figures docs-figures test lint bench clean venv

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[test]'
	touch $(STAMP)

venv: $(STAMP)

# `make figures FIGURE_ARGS=--quick` draws everything at toy size in a few minutes;
# FIGURE_ARGS="--only NAME" draws one (`$(PY) -m packing figures --list` lists them).
figures: $(STAMP)
	MPLBACKEND=Agg $(PY) -m packing figures --out figures $(FIGURE_ARGS)

# The README embeds small copies of three figures: refresh them from the output of `make figures`.
docs-figures: figures
	mkdir -p docs/figures
	cp figures/learned_features_2d.png figures/toy_importance.png figures/interference_distribution.png docs/figures/

test: $(STAMP)
	MPLBACKEND=Agg $(PY) -m pytest $(PYTEST_ARGS)
	$(PY) -m ruff check packing scripts tests conftest.py

bench: $(STAMP)
	$(PY) scripts/bench_geometry.py

clean:
	rm -rf figures .pytest_cache .hypothesis

# Two commands do everything on a fresh machine: `make run` and `make test`.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed-stamp

.PHONY: setup run test lab bench clean

setup: $(STAMP)

# Reinstall when the dependency list or the compiled race kernel changes (setuptools builds
# analysis/kernels/race_cpu.c into the package at install; a failing build fails here).
$(STAMP): pyproject.toml setup.py analysis/kernels/race_cpu.c analysis/kernels/race_cpu_build.py
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e ".[dev]"
	$(PY) -m analysis.kernels.race_cpu
	touch $(STAMP)

run: setup
	$(PY) -m analysis report

# Tests and notebooks spread over the machine's cores (pytest-xdist); about 4 minutes on 2 cores.
test: setup
	$(PY) -m pytest -n auto

# JupyterLab on notebooks/ with the project's settings (.jupyter/): 127.0.0.1 only, no network prompts,
# the paired .py notebooks open as notebooks (jupytext). Jupyter refuses root unless told (containers).
lab: setup
	JUPYTER_CONFIG_DIR=$(CURDIR)/.jupyter $(VENV)/bin/jupyter lab --ServerApp.root_dir=$(CURDIR)/notebooks \
		$(if $(filter 0,$(shell id -u)),--allow-root)

bench: setup
	$(PY) -m analysis bench

clean:
	rm -rf $(VENV) results .pytest_cache .hypothesis

# Two commands do everything on a fresh machine: `make run` and `make test`.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed-stamp
KERNEL_CONFIG := $(VENV)/etc/ipython/ipython_kernel_config.py

.PHONY: setup git-filters run lint test lab bench clean

setup: $(STAMP) git-filters $(KERNEL_CONFIG)

# Reinstall when the dependency list or the compiled helpers change (setuptools builds
# analysis/model/kernels/native.c into the package at install; a failing build fails here).
$(STAMP): pyproject.toml setup.py analysis/model/kernels/native.c analysis/model/kernels/native_build.py
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e ".[dev]"
	$(PY) -m analysis.model.kernels.native
	touch $(STAMP)

# Every kernel of the environment reads it at start (it drops one start-up warning; see the file).
$(KERNEL_CONFIG): .jupyter/ipython_kernel_config.py $(STAMP)
	mkdir -p $(@D)
	cp $< $@

run: setup
	$(PY) -m analysis report

# Formatting, lint and the wings' import contract (pyproject.toml: [tool.ruff], [tool.importlinter]);
# `$(VENV)/bin/ruff format .` and `$(VENV)/bin/ruff check --fix .` fix most of what it finds.
lint: setup
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/ruff check .
	$(VENV)/bin/lint-imports

# Lint, then tests and notebooks spread over the machine's cores (pytest-xdist); about 4 minutes on
# 2 cores.
test: lint
	$(PY) -m pytest -n auto

# JupyterLab with the project's settings (.jupyter/): rooted at the repository (data/, scenarios/ and
# results/ open from the file browser; jupytext finds its pairing config in pyproject.toml only inside
# the root), starting in notebooks/; 127.0.0.1 only, no network prompts, the paired .py notebooks open
# as notebooks. Jupyter refuses root unless told (containers).
lab: setup
	JUPYTER_CONFIG_DIR=$(CURDIR)/.jupyter $(VENV)/bin/jupyter lab --ServerApp.root_dir=$(CURDIR) \
		$(if $(filter 0,$(shell id -u)),--allow-root)

# Notebook outputs never reach git: .gitattributes sends *.ipynb through nbstripout's clean filter
# (outputs, execution counts and the kernel's language_info removed; cell ids and tags kept, so a
# notebook saved from JupyterLab after a run is committed exactly as jupytext writes it). Installed in
# the repository's own config, only inside a git work tree; running it again changes nothing.
NBSTRIPOUT := $(PY) -m nbstripout --keep-id --extra-keys metadata.language_info
git-filters:
	@if git rev-parse --is-inside-work-tree >/dev/null 2>&1; then \
		git config filter.nbstripout.clean '$(NBSTRIPOUT)' && \
		git config filter.nbstripout.smudge cat && \
		echo "git filter nbstripout: $(NBSTRIPOUT)"; \
	fi

bench: setup
	$(PY) -m analysis bench

clean:
	rm -rf $(VENV) results .pytest_cache .hypothesis .ruff_cache .import_linter_cache

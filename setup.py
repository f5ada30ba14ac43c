"""Everything is in pyproject.toml but the compiled race kernel, which setuptools builds at install
time through cffi (analysis/model/kernels/race_cpu_build.py): a failing build fails the install."""

from setuptools import setup

setup(cffi_modules=["analysis/model/kernels/race_cpu_build.py:ffibuilder"])

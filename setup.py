"""Everything is in pyproject.toml but the compiled CPU helpers (native.c), which setuptools
builds at install time through cffi (analysis/model/kernels/native_build.py): a failing build
fails the install."""

from setuptools import setup

setup(cffi_modules=["analysis/model/kernels/native_build.py:ffibuilder"])

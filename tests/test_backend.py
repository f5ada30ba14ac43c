"""Backend selection never crashes without a GPU, and says why when CuPy cannot be used."""

from __future__ import annotations

import builtins

import numpy as np
import pytest

from analysis import backend as B
from analysis.errors import InputError


def test_numpy_is_selectable_and_names_itself():
    be = B.select("numpy")
    assert be.name == "numpy"
    assert "cpu" in be.describe()


def test_auto_picks_cupy_only_when_usable():
    usable, _ = B.cupy_status()
    assert B.select("auto").name == ("cupy" if usable else "numpy")


def test_env_var_chooses_backend(monkeypatch):
    monkeypatch.setenv(B.BACKEND_ENV, "numpy")
    assert B.select(None).name == "numpy"
    monkeypatch.setenv(B.BACKEND_ENV, "tpu")
    with pytest.raises(InputError, match=B.BACKEND_ENV):
        B.select(None)


def test_unknown_backend_is_an_input_error_listing_choices():
    with pytest.raises(InputError, match="auto, numpy, cupy"):
        B.select("jax")


@pytest.mark.skipif(
    B.cupy_status()[0], reason="this machine has a usable GPU; the no-GPU path is what is tested"
)
def test_asking_for_cupy_without_gpu_is_a_clear_error():
    with pytest.raises(InputError, match="cupy was asked for but is not usable"):
        B.select("cupy")


def test_cupy_check_never_raises_when_import_fails(monkeypatch):
    real_import = builtins.__import__

    def broken(name, *args, **kwargs):
        if name == "cupy" or name.startswith("cupy."):
            raise RuntimeError("CUDA driver library not found")
        return real_import(name, *args, **kwargs)

    B.cupy_status.cache_clear()
    monkeypatch.setattr(builtins, "__import__", broken)
    try:
        usable, reason = B.cupy_status()
    finally:
        B.cupy_status.cache_clear()
    assert usable is False
    assert "CUDA driver library not found" in reason


def test_to_numpy_from_every_backend(backend):
    x = backend.asarray(np.array([1.5, 2.5], dtype=np.float32))
    host = B.to_numpy(x)
    assert isinstance(host, np.ndarray)
    np.testing.assert_array_equal(host, [1.5, 2.5])
    assert host.dtype == np.float32
    B.sync(x)

"""The one module that imports numpy and cupy: choose a backend, move arrays, synchronise.

``auto`` means CuPy when a CUDA device is usable, else NumPy. The check never raises: a machine
without CuPy, a driver or a device simply reports why CuPy is not usable.
"""

from __future__ import annotations

import functools
import os
import sys
from dataclasses import dataclass
from typing import Any

import numpy as np
from array_api_compat import array_namespace, is_cupy_array

from .errors import InputError

BACKENDS = ("auto", "numpy", "cupy")
BACKEND_ENV = "COMPUTE_RACE_BACKEND"

__all__ = [
    "BACKENDS",
    "BACKEND_ENV",
    "Backend",
    "array_namespace",
    "cupy_status",
    "select",
    "sync",
    "to_numpy",
]


@functools.cache
def cupy_status() -> tuple[bool, str]:
    """Whether CuPy can run a kernel here, and why not when it cannot. Never raises."""
    try:
        import cupy
    except Exception as exc:  # ImportError, or a broken CUDA install raising at import
        return False, f"CuPy is not installed or failed to import ({type(exc).__name__}: {exc})"
    try:
        count = cupy.cuda.runtime.getDeviceCount()
    except Exception as exc:
        return False, f"no usable CUDA driver or device ({type(exc).__name__}: {exc})"
    if count < 1:
        return False, "CuPy found no CUDA device"
    try:
        probe = cupy.arange(8, dtype=cupy.float32)
        ok = float((probe * 2).sum()) == 56.0
    except Exception as exc:
        return False, f"a tiny CUDA kernel failed ({type(exc).__name__}: {exc})"
    if not ok:
        return False, "a tiny CUDA kernel gave a wrong answer"
    return True, f"{count} CUDA device(s)"


@dataclass(frozen=True)
class Backend:
    """An array library and the device arrays are created on."""

    name: str
    xp: Any
    device: Any = None

    def asarray(self, host: np.ndarray, dtype=None):
        """Move a host array to this backend's device (one copy)."""
        if self.xp is _NUMPY_NAMESPACE:
            return np.asarray(host, dtype=dtype)
        if self.device is None:
            return self.xp.asarray(host, dtype=dtype)
        return self.xp.asarray(host, dtype=dtype, device=self.device)

    def describe(self) -> str:
        """Backend and device in words, for provenance and benchmark output."""
        if self.name == "cupy":
            import cupy

            props = cupy.cuda.runtime.getDeviceProperties(cupy.cuda.Device().id)
            gpu = props["name"].decode() if isinstance(props["name"], bytes) else props["name"]
            return f"cupy on {gpu}"
        if self.device is not None:
            return f"{self.name} on {self.device}"
        return f"{self.name} on cpu"


def select(name: str | None = None) -> Backend:
    """Resolve ``auto|numpy|cupy`` (flag, else $COMPUTE_RACE_BACKEND, else auto) to a Backend."""
    source = "--backend"
    if name is None:
        name = os.environ.get(BACKEND_ENV) or "auto"
        source = BACKEND_ENV if os.environ.get(BACKEND_ENV) else "--backend"
    name = name.strip().lower()
    if name not in BACKENDS:
        raise InputError(f"{source}: unknown backend {name!r}; allowed: {', '.join(BACKENDS)}")
    if name == "auto":
        name = "cupy" if cupy_status()[0] else "numpy"
    if name == "cupy":
        usable, reason = cupy_status()
        if not usable:
            raise InputError(
                f"{source}: cupy was asked for but is not usable here: {reason}; "
                "use --backend numpy, or install the gpu extra on a machine with an NVIDIA GPU"
            )
        import array_api_compat.cupy as cxp

        return Backend("cupy", cxp)
    return Backend("numpy", _NUMPY_NAMESPACE)


class _Lazy:
    """A module imported on first attribute access. array_api_compat.numpy imports numpy.f2py and
    numpy.fft (about 0.1 s, a third of an `estimate` command), which only the array kernels need."""

    def __init__(self, name: str):
        self._name = name
        self._module = None

    def __getattr__(self, attribute: str):
        if self._module is None:
            import importlib

            self._module = importlib.import_module(self._name)
        return getattr(self._module, attribute)

    def __repr__(self) -> str:
        return f"<lazy module {self._name!r}>"


_NUMPY_NAMESPACE = _Lazy("array_api_compat.numpy")


def to_numpy(x) -> np.ndarray:
    """Any backend's array as a NumPy array on the host."""
    if isinstance(x, np.ndarray):
        return x
    if is_cupy_array(x):
        return x.get()
    if np.isscalar(x):
        return np.asarray(x)
    return np.from_dlpack(x)  # array-api-strict (any of its devices) and other DLPack producers


def sync(x=None) -> None:
    """Wait for queued device work (a no-op on the CPU); call before reading a timer."""
    if x is not None and not is_cupy_array(x):
        return
    if x is None and not ("cupy" in sys.modules and cupy_status()[0]):
        return
    import cupy

    cupy.cuda.get_current_stream().synchronize()

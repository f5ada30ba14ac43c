"""The compiled CPU helpers (`native.c`, built at install time): loading, status, threads.

`library()` gives the extension's functions (`race_sample`, `race_ndtri`, `race_select`) or None;
`model.sampling` and `model.summary` use them when present and NumPy otherwise (the same numbers;
tests check both forms). At import the extension's source hash is checked against native.c and,
for a ``-march=native`` build, the CPU it was built on. When it is missing or stale (a checkout
never installed, the C source edited since), or ``COMPUTE_RACE_COMPILED=0``, NumPy runs instead and
`status()` (in `bench` and in every result's provenance) says why.

Building: setuptools builds the extension `analysis.model.kernels._native` when the package is
installed (`setup.py`, `native_build.py`), so a compiler that cannot build it fails the install.
"""

from __future__ import annotations

import functools
import os

#: "0" turns the compiled helpers off (NumPy runs); anything else, or unset, allows them.
ENV_SWITCH = "COMPUTE_RACE_COMPILED"


@functools.cache
def _load():
    """(module, status line): the compiled extension, or None and why it is not used."""
    if os.environ.get(ENV_SWITCH, "").strip() == "0":
        return None, f"NumPy ({ENV_SWITCH}=0)"
    try:
        from . import _native
    except ImportError as exc:
        return None, (
            f"NumPy: the compiled helpers are not built ({exc}); "
            "install the package (pip install -e . / make setup) to build them"
        )
    from .native_build import SOURCE_PATH, cpu_key, source_sha

    text = lambda f: _native.ffi.string(f()).decode()  # noqa: E731
    if text(_native.lib.native_source_sha) != source_sha(SOURCE_PATH.read_text()):
        return None, (
            "NumPy: the compiled helpers are stale (native.c changed since they were built); "
            "reinstall (pip install -e . / make setup)"
        )
    machine = text(_native.lib.native_machine)
    if machine and machine != cpu_key():
        return None, (
            "NumPy: the compiled helpers are stale (built with -march=native on another CPU); "
            "reinstall (pip install -e . / make setup) or build with COMPUTE_RACE_PORTABLE=1"
        )
    flags = text(_native.lib.native_flags)
    return _native, f"native.c compiled at install ({flags})"


def library():
    """The compiled extension's `lib` (race_sample, race_ndtri, race_select), or None."""
    module, _ = _load()
    return None if module is None else module.lib


def ffi():
    module, _ = _load()
    return None if module is None else module.ffi


def status() -> str:
    """One line: whether the compiled helpers run, and why not."""
    return _load()[1]


def status_if_loaded() -> str | None:
    """`status()` if this process has already asked for the helpers, else None (loads nothing)."""
    return _load()[1] if _load.cache_info().currsize else None


def default_threads() -> int:
    """Threads for CPU work split over draws: the CPUs this process may run on."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - not on Linux
        return max(1, os.cpu_count() or 1)


def main() -> int:
    """Print whether the compiled helpers are in use; exit 1 when not (make setup runs this)."""
    print(f"compiled CPU helpers: {status()}")
    return 0 if library() is not None else 1


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())

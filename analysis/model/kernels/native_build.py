"""Build the compiled CPU helpers (`native.c`: simulate's draws and quantile selection) as the
extension `analysis.model.kernels._native`.

Run by setuptools at install time (`setup.py`: ``cffi_modules``), so a compiler that cannot build it
fails the install, with the compiler's message, instead of leaving a slow path to be found later.
Flags: ``-O3 -march=native -ffp-contract=off -fno-math-errno`` (no fused multiply-adds, so the
arithmetic is exactly the reference's); ``COMPUTE_RACE_PORTABLE=1`` drops ``-march=native``
(a build for other machines), as does a compiler that rejects it. The extension records a hash of
the C source (`native_source_sha`), so a stale build (the source edited since the install) is
detected at import.

Standalone: setup.py loads this file by path, before the package is importable.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import subprocess
import sysconfig
from pathlib import Path

import cffi

SOURCE_PATH = Path(__file__).with_name("native.c")
MODULE = "analysis.model.kernels._native"
#: The exported functions (`race_sample` and `race_ndtri`, simulate's draws; `race_select`, its
#: quantiles): their definitions in the C source, read as declarations, so cffi binds exactly what
#: the source defines.
_EXPORTED = re.compile(r"^(?:int|void) race_\w+\([^)]*\)", re.MULTILINE)
#: -fno-math-errno: sqrt sets no errno (nothing here reads it), so it is one instruction and loops
#: that take square roots can vectorize; every operation still rounds as IEEE says. (Adding
#: -fno-trapping-math vectorized the triangular inverse CDF too, but made the uniforms' loop ~35%
#: slower on the EPYC this was measured on: the 64-bit integer to double conversion has no AVX2
#: form.)
BASE_FLAGS = ("-O3", "-ffp-contract=off", "-fno-math-errno")


def source_sha(text: str | None = None) -> str:
    """Hash of the C source the extension was built from (first 16 hex digits of SHA-256)."""
    text = SOURCE_PATH.read_text() if text is None else text
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def cpu_key() -> str:
    """Hash of this CPU's feature flags (Linux /proc/cpuinfo; else the processor name): a module
    built with -march=native is refused on another CPU (it could stop on an illegal instruction)."""
    import platform

    line = platform.processor() or platform.machine()
    try:
        for row in Path("/proc/cpuinfo").read_text().splitlines():
            if row.startswith(("flags", "Features")):
                line = row
                break
    except OSError:
        pass
    return hashlib.sha256(line.encode()).hexdigest()[:16]


def cdef(text: str | None = None) -> str:
    """The declarations cffi binds: the C source's exported definitions, and the source hash."""
    text = SOURCE_PATH.read_text() if text is None else text
    decls = [m.group(0) + ";" for m in _EXPORTED.finditer(text)]
    return "\n".join(
        decls
        + [
            "const char *native_source_sha(void);",
            "const char *native_flags(void);",
            "const char *native_machine(void);",
        ]
    )


def _accepts_native() -> bool:
    cc = (os.environ.get("CC") or sysconfig.get_config_var("CC") or "cc").split()
    if not shutil.which(cc[0]):
        return False
    try:
        run = subprocess.run(
            [*cc, "-march=native", "-x", "c", "-E", os.devnull], capture_output=True, timeout=60
        )
    except (OSError, subprocess.SubprocessError):
        return False
    return run.returncode == 0


def flags() -> tuple[str, ...]:
    portable = os.environ.get("COMPUTE_RACE_PORTABLE", "").strip() not in ("", "0")
    native = () if portable or not _accepts_native() else ("-march=native",)
    return BASE_FLAGS[:1] + native + BASE_FLAGS[1:]


def builder() -> cffi.FFI:
    text = SOURCE_PATH.read_text()
    chosen = flags()
    ffi = cffi.FFI()
    ffi.cdef(cdef(text))
    extra = (
        f'\nconst char *native_source_sha(void) {{ return "{source_sha(text)}"; }}\n'
        f'const char *native_flags(void) {{ return "{" ".join(chosen)}"; }}\n'
        "const char *native_machine(void) { return "
        f'"{cpu_key() if "-march=native" in chosen else ""}"; }}\n'
    )
    ffi.set_source(MODULE, text + extra, extra_compile_args=list(chosen))
    return ffi


ffibuilder = builder()

if __name__ == "__main__":  # pragma: no cover - manual build into the source tree
    ffibuilder.compile(verbose=True)

"""The compiled CPU race kernel (`race_cpu.c`): built on first use with cffi, cached, optional.

`race_numpy.race_tracks_numpy` calls it when it is available and the arrays are float32; otherwise
(no C compiler, a compiler without GCC/Clang vector extensions such as MSVC, float64 inputs, or
``COMPUTE_RACE_COMPILED=0``) the NumPy step loop runs instead. The two agree bit for bit but for the
float32 sum of what an unfinished single-deal track used. `status()` says which runs and why.

Building: cffi (API mode) compiles the C source with the system compiler (``CC`` if set) and
``-O3 -march=native -ffp-contract=off`` (no fused multiply-adds, so the float32 arithmetic is the
NumPy code's), falling back to portable flags if the compiler rejects ``-march=native``. The module
goes to a cache directory (``COMPUTE_RACE_CACHE``, else ``$XDG_CACHE_HOME/compute-race``, else
``~/.cache/compute-race``) under a key of the source, flags, Python ABI, machine and CPU flags, so a
changed source or another CPU builds afresh. The build runs in a private temporary directory and
its module is moved into place atomically: processes building at the same time (pytest-xdist,
parallel sweeps) each get a complete module. Compiler output goes to ``build.log`` next to it.
`main()` builds it and prints the status; `make setup` runs it.
"""

from __future__ import annotations

import functools
import hashlib
import importlib.util
import os
import platform
import re
import shutil
import sys
import sysconfig
import tempfile
from contextlib import contextmanager
from pathlib import Path

#: "0" turns the compiled kernel off (the NumPy step loop runs); anything else, or unset, allows it.
ENV_SWITCH = "COMPUTE_RACE_COMPILED"
#: Where built modules are kept (default: $XDG_CACHE_HOME/compute-race or ~/.cache/compute-race).
ENV_CACHE = "COMPUTE_RACE_CACHE"

SOURCE_PATH = Path(__file__).with_name("race_cpu.c")

#: Draws per call (each thread takes one such range at a time). Smaller ranges keep a range's inputs
#: and outputs in the L2 cache while its tracks are computed one after another: on the 2-core EPYC
#: this was tuned on, 4096 ran best (2048 and 8192 about 5-15% slower, 16384 about 20%).
SUBCHUNK = 4096
#: Per-draw state arrays of race_general (as MAX_DEALS / MAX_CAMPUSES in race_cpu.c).
MAX_DEALS = 16
MAX_CAMPUSES = 16

#: The exported functions (`race_single`, `race_general`, `race_check`): their definitions in the C
#: source, read as declarations, so cffi binds exactly what the source defines.
_EXPORTED = re.compile(r"^(?:int|void) race_\w+\([^)]*\)", re.MULTILINE)


def cdef() -> str:
    """The declarations cffi binds, taken from race_cpu.c's exported definitions."""
    return "\n".join(m.group(0) + ";" for m in _EXPORTED.finditer(SOURCE_PATH.read_text()))


#: Compiler flags, best first. -ffp-contract=off keeps a * b + c as two roundings (as NumPy does);
#: -w: the build is quiet (its log keeps any message).
FLAG_SETS = (
    ("-O3", "-march=native", "-ffp-contract=off", "-w"),
    ("-O3", "-ffp-contract=off", "-w"),
)


def cache_dir() -> Path:
    """Where built modules are kept."""
    if os.environ.get(ENV_CACHE):
        return Path(os.environ[ENV_CACHE]).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base).expanduser() / "compute-race"


def _cpu_flags() -> str:
    """The CPU's feature flags (Linux), so a module built with -march=native is not reused elsewhere."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith(("flags", "Features")):
                return line
    except OSError:
        pass
    return platform.processor()


def build_key(flags: tuple[str, ...]) -> str:
    parts = [SOURCE_PATH.read_text(), " ".join(flags), sys.implementation.cache_tag,
             sysconfig.get_platform(), platform.machine(), _cpu_flags(), os.environ.get("CC", "")]
    return hashlib.sha256("\0".join(parts).encode()).hexdigest()[:20]


@contextmanager
def _output_to(log: Path):
    """Send this process's stdout and stderr (the compiler's too) to `log` for the duration."""
    sys.stdout.flush()
    sys.stderr.flush()
    saved = [os.dup(1), os.dup(2)]
    with open(log, "ab") as f:
        os.dup2(f.fileno(), 1)
        os.dup2(f.fileno(), 2)
        try:
            yield
        finally:
            sys.stdout.flush()
            sys.stderr.flush()
            os.dup2(saved[0], 1)
            os.dup2(saved[1], 2)
            for fd in saved:
                os.close(fd)


def _import(name: str, path: Path):
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _build(name: str, flags: tuple[str, ...], where: Path) -> Path:
    """Compile the module into `where` (atomically) and return its path; raises on failure."""
    import cffi

    ffi = cffi.FFI()
    ffi.cdef(cdef())
    ffi.set_source(name, SOURCE_PATH.read_text(), extra_compile_args=list(flags))
    where.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix="build-", dir=where))
    try:
        with _output_to(where / "build.log"):
            built = Path(ffi.compile(tmpdir=str(tmp), verbose=False))
        final = where / built.name
        os.replace(built, final)
        return final
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


@functools.cache
def _load():
    """(module, status line): the compiled module, or None and the reason it is not used."""
    if os.environ.get(ENV_SWITCH, "").strip() == "0":
        return None, f"off ({ENV_SWITCH}=0)"
    try:
        import cffi  # noqa: F401
    except ImportError:
        return None, "not available: cffi is not installed"
    errors = []
    for flags in FLAG_SETS:
        key = build_key(flags)
        name = f"_race_cpu_{key}"
        where = cache_dir() / key
        found = sorted(where.glob(f"{name}.*")) if where.is_dir() else []
        try:
            path = found[0] if found else _build(name, flags, where)
            module = _import(name, path)
        except Exception as exc:  # a missing or failing compiler, a read-only cache, ...  # noqa: BLE001
            first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
            errors.append(f"{' '.join(flags[:2])}: {first}")
            continue
        return module, f"compiled ({' '.join(f for f in flags if f != '-w')}; {path})"
    log = cache_dir() / "*" / "build.log"
    return None, f"not available: building race_cpu.c failed ({'; '.join(errors)}; compiler output in {log})"


def four_steps(table, substeps: int):
    """A table as race_single's four-step lookups read it: row j holds table[j + m x substeps] for
    m = 0..3 (float32, rows j whose four values lie in the table; at least one row)."""
    import numpy as np

    table = np.asarray(table, dtype=np.float32)
    span = 3 * substeps + 1
    if table.shape[0] < span:
        return np.zeros((1, 4), np.float32)
    return np.ascontiguousarray(np.lib.stride_tricks.sliding_window_view(table, span)[:, ::substeps])


def unusable(dtype, n_deals: int, n_campus: int) -> str | None:
    """Why a call cannot use the compiled kernel (its dtype or size), or None if it can."""
    import numpy as np

    if np.dtype(dtype) != np.float32:
        return f"it takes float32 arrays, not {np.dtype(dtype)}"
    if n_deals > MAX_DEALS or n_campus > MAX_CAMPUSES:
        return f"it holds at most {MAX_DEALS} deals and {MAX_CAMPUSES} campuses (got {n_deals}, {n_campus})"
    return None


def library():
    """The compiled module's `lib` (race_single, race_general), or None when it is not available."""
    module, _ = _load()
    return None if module is None else module.lib


def ffi():
    module, _ = _load()
    return None if module is None else module.ffi


def status() -> str:
    """One line: whether the compiled kernel is used, with its flags and path, or why not."""
    return _load()[1]


def status_if_loaded() -> str | None:
    """`status()` if this process has already asked for the kernel, else None (builds nothing)."""
    return _load()[1] if _load.cache_info().currsize else None


def main() -> int:
    print(f"compiled CPU race kernel: {status()}")
    return 0


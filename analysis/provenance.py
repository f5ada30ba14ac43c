"""Where a result came from: package version, git commit, data hash, seed, backend and device."""

from __future__ import annotations

import datetime as dt
import functools
import platform
import subprocess
import sys

from .paths import PROJECT_ROOT


@functools.cache
def package_version() -> str:
    from importlib import metadata  # imported on use: about 0.05 s of a CLI call

    try:
        return metadata.version("compute-race")
    except metadata.PackageNotFoundError:
        return "0+unknown"


#: What `git_dirty` compares: every tracked file but the paired notebooks. Their `.py` pairs carry
#: every change to a notebook's cells, and an `.ipynb` only differs from git by its outputs, which
#: the nbstripout filter removes; asking git about the `.ipynb` files started that filter (a Python
#: process) once per notebook whose file times had changed, about 10 s a command after a save.
DIRTY_PATHSPEC = (".", ":(exclude)*.ipynb")
#: Git options of the dirty check: never run the notebook filter (a touched file is compared byte
#: for byte instead), never write the index (so concurrent commands never meet its lock), ignore
#: submodules.
_GIT_QUIET = ("-c", "filter.nbstripout.clean=cat", "--no-optional-locks")


@functools.cache
def git_commit() -> tuple[str | None, bool | None]:
    """(commit, dirty) of the project checkout, or (None, None) outside a git checkout.

    Dirty means a tracked file other than a paired notebook differs from the commit
    (DIRTY_PATHSPEC); the check spawns no filter, so it costs milliseconds whatever the notebooks'
    file times."""
    root = str(PROJECT_ROOT)
    try:
        commit = subprocess.run(
            ["git", "-C", root, "rev-parse", "HEAD"],
            capture_output=True,
            text=True,
            timeout=10,
            check=True,
        ).stdout.strip()
        status = subprocess.run(
            ["git", "-C", root, *_GIT_QUIET, "status", "--porcelain", "--untracked-files=no"]
            + ["--ignore-submodules", "--", *DIRTY_PATHSPEC],
            capture_output=True,
            text=True,
            timeout=10,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return None, None
    return commit or None, bool(status)


def versions() -> dict[str, str]:
    """Versions of Python, this package and the numerical libraries (cupy once it is imported)."""
    return dict(_versions("cupy" in sys.modules))


@functools.cache
def _versions(with_cupy: bool) -> tuple[tuple[str, str], ...]:
    from importlib import metadata

    # Package metadata is read once per process (it was most of a small `estimate` call's time).
    out = {"python": platform.python_version(), "compute-race": package_version()}
    for name in ("numpy", "pandas", "pydantic", "array-api-compat", "scipy", "cffi") + (
        ("cupy",) if with_cupy else ()
    ):
        try:
            out[name] = metadata.version(name if name != "cupy" else _cupy_dist())
        except metadata.PackageNotFoundError:
            pass
    return tuple(out.items())


def _cupy_dist() -> str:
    from importlib import metadata

    for dist in ("cupy-cuda12x", "cupy-cuda13x", "cupy-cuda11x", "cupy"):
        try:
            metadata.version(dist)
            return dist
        except metadata.PackageNotFoundError:
            continue
    return "cupy"


def _with_cupy(known: dict[str, str]) -> dict[str, str]:
    return dict(known) if "cupy" not in sys.modules or "cupy" in known else versions()


@functools.cache
def _platform() -> str:
    return platform.platform(terse=True)


def provenance(
    *,
    seed: int | None,
    backend,
    data_hash: str,
    package: str | None = None,
    library_versions: dict[str, str] | None = None,
) -> dict:
    """A watermark for every result: enough to rerun it and to know whether the inputs changed.

    `package` and `library_versions`: the package's and libraries' versions when the caller already
    has them (the cached estimate context; reading package metadata costs a CLI call about 0.05
    s)."""
    commit, dirty = git_commit()
    # Only when the race kernel, or the compiled helpers, ran in this process (read from the
    # modules already imported: this base module imports none of the model).
    race_cpu = sys.modules.get("analysis.model.kernels.race_cpu")
    race_kernel = race_cpu.DESCRIPTION if race_cpu is not None and backend.name == "numpy" else None
    native = sys.modules.get("analysis.model.kernels.native")
    helpers = native.status_if_loaded() if native is not None else None
    return {
        "version": package or package_version(),
        "git_commit": commit,
        "git_dirty": dirty,
        "data_hash": data_hash,
        "seed": seed,
        "backend": backend.name,
        "device": backend.describe(),
        # On NumPy, which race kernel ran; whether the compiled helpers (draws, quantiles) did.
        **({"race_kernel": race_kernel} if race_kernel else {}),
        **({"compiled_helpers": helpers} if helpers else {}),
        "versions": versions() if library_versions is None else _with_cupy(library_versions),
        "platform": _platform(),
        "created_utc": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
    }

"""Where things live, computed from the package file so nothing depends on the working directory."""

from __future__ import annotations

import os
import stat
from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parent
PROJECT_ROOT = PACKAGE_DIR.parent
NOTEBOOKS_DIR = PROJECT_ROOT / "notebooks"
SCENARIOS_DIR = PROJECT_ROOT / "scenarios"
SWEEPS_DIR = PROJECT_ROOT / "sweeps"
RESULTS_DIR = PROJECT_ROOT / "results"

#: Environment variable that points the loader at another data folder (tests, what-if copies).
DATA_DIR_ENV = "COMPUTE_RACE_DATA_DIR"


def data_dir() -> Path:
    """The data folder: $COMPUTE_RACE_DATA_DIR if set, else the project's data/."""
    override = os.environ.get(DATA_DIR_ENV)
    return Path(override).resolve() if override else PROJECT_ROOT / "data"


def display(path: Path) -> str:
    """A path as users should read it in messages: relative to the project root when inside it."""
    path = Path(path).resolve()
    try:
        return str(path.relative_to(PROJECT_ROOT))
    except ValueError:
        return str(path)


#: Where results derived from data/ are kept between processes (the fitted prior, the validated
#: catalog): $COMPUTE_RACE_CACHE, else ~/.cache/compute-race.
CACHE_ENV = "COMPUTE_RACE_CACHE"


def cache_dir() -> Path:
    return Path(os.environ.get(CACHE_ENV) or Path.home() / ".cache" / "compute-race")


def cache_file(
    kind: str, data_hash: str, key: list[str], modules: tuple[str, ...], suffix: str
) -> Path:
    """The cache file of something derived from data/: named by its kind and the data's hash, keyed
    also by `key` (folder, features, library versions, ...) and the code of `modules` (files of this
    package), so that a change to any of them builds it again."""
    import hashlib

    digest = hashlib.sha256("\0".join([data_hash, *key]).encode())
    for module in modules:
        digest.update((PACKAGE_DIR / module).read_bytes())
    return cache_dir() / f"{kind}-{data_hash}-{digest.hexdigest()[:16]}.{suffix}"


def write_cache(path: Path, payload: bytes) -> None:
    """Write a cache file atomically (a reader never sees half a file); a failure costs only
    speed."""
    import tempfile

    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(
            "wb", dir=path.parent, prefix=f".{path.stem}-", suffix=".tmp", delete=False
        ) as handle:
            handle.write(payload)
        os.replace(handle.name, path)
    except OSError:
        pass


def read_pickle_cache(path: Path, kind: type):
    """The `kind` object pickled at `path` by `write_cache`; None when it is missing, truncated,
    from another version or not a `kind` (the caller then builds it again)."""
    import pickle

    try:
        with open(path, "rb") as handle:
            value = pickle.load(handle)
    except Exception:
        return None
    return value if isinstance(value, kind) else None


def check_input_file(path: Path, what: str, max_bytes: int) -> None:
    """InputError (one line) unless `path` is a regular file of at most `max_bytes`: a missing file,
    a folder, a device or pipe (/dev/zero never ends) and an absurdly large file are refused before
    anything is read."""
    from .errors import InputError

    where = display(path)
    try:
        info = path.stat()
    except FileNotFoundError:
        raise InputError(f"{where}: {what} not found") from None
    except OSError as exc:
        raise InputError(f"{where}: cannot read ({exc.strerror or exc})") from None
    if stat.S_ISDIR(info.st_mode):
        raise InputError(f"{where}: a folder, not a {what}")
    if not stat.S_ISREG(info.st_mode):
        raise InputError(f"{where}: not a regular file (a device or pipe); expected a {what}")
    if info.st_size > max_bytes:
        raise InputError(
            f"{where}: {info.st_size / 2**20:,.0f} MiB; a {what} is at most "
            f"{max_bytes / 2**20:,.0f} MiB"
        )


def open_output_dir(out_dir: Path, marker: str, flag: str = "--out") -> tuple[list[str], bool]:
    """Create `out_dir` when it does not exist; return the names of what it holds and whether it
    holds the command's `marker` file (a regular file, not a link: the folder is the command's own).
    InputError (naming `flag`) for a broken link, something that is not a folder, or a folder that
    cannot be created or read. Whether the command may write into a folder that is not its own is
    its rule."""
    from .errors import InputError

    where = display(out_dir)
    if out_dir.is_symlink() and not out_dir.exists():
        raise InputError(f"{flag}: {where} is a broken symbolic link")
    if out_dir.exists() and not out_dir.is_dir():
        raise InputError(f"{flag}: {where} exists and is not a folder")
    if not out_dir.exists():
        try:
            out_dir.mkdir(parents=True)
        except FileExistsError:
            pass
        except OSError as exc:
            raise InputError(f"{flag}: cannot create {where} ({exc.strerror or exc})") from None
    try:
        entries = [e.name for e in out_dir.iterdir()]
    except OSError as exc:
        raise InputError(f"{flag}: cannot read {where} ({exc.strerror or exc})") from None
    mark = out_dir / marker
    return entries, mark.is_file() and not mark.is_symlink()

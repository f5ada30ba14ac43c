"""A sweep's results folder: atomic writes, the one-sweep lock, the marker, what is complete.

Only the sweep's own process writes here, each file under a temporary name and then renamed, so a
run killed at any moment leaves complete points or nothing; status.json is written last (the commit
marker). A folder is a sweep's when its MARKER_NAME names that sweep; the temporaries a killed run
left are removed, and only those.
"""

from __future__ import annotations

import contextlib
import glob
import json
import os
import re
import shutil
import tempfile
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Iterator

from ...errors import InputError
from ...paths import display, open_output_dir
from .spec import POINT_ID_HEX, Point, Sweep

#: Final files of a point, in the order they are removed before a rerun (status first: the marker).
POINT_FILES = ("status.json", "notebook.ipynb", "metrics.json", "params.json")
LOCK_NAME = ".sweep.lock"
SCRATCH_NAME = ".scratch"
#: The file that makes a folder a sweep's: a sweep writes only into a folder it created (and marked)
#: or one that holds this marker; anything else is refused unless --force (sweeps/README.md).
MARKER_NAME = ".compute-race-sweep"
#: Files a sweep writes at the top of its results folder (besides point folders).
TOP_FILES = ("summary.csv", "summary.parquet", "index.html", "figure.png")
_POINT_DIR = re.compile(rf"^[0-9a-f]{{{POINT_ID_HEX}}}$")
_SCRATCH_DIR = re.compile(
    rf"^[0-9a-f]{{{POINT_ID_HEX}}}-[A-Za-z0-9_]+$"
)  # tempfile.mkdtemp(prefix="<id>-")


# ---- files: atomic writes, completeness, stale temporaries --------------------------------------


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


#: Mode of written files: what open() would give under the user's umask (read once, at import).
_FILE_MODE = 0o666 & ~_umask()


def _write_atomic(path: Path, text: str) -> None:
    """Write text to `path` under a temporary name in the same folder, then rename over it."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        os.chmod(tmp, _FILE_MODE)  # mkstemp makes 0600; results are ordinary files
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def _write_bytes_atomic(path: Path, write) -> None:
    """Let `write(tmp_path)` produce a file (parquet, PNG), then rename it to `path`."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(fd)
    try:
        write(tmp)
        os.chmod(tmp, _FILE_MODE)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def _dumps(obj: Any) -> str:
    return json.dumps(obj, indent=2, allow_nan=False, ensure_ascii=False) + "\n"


def _read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def is_complete(point_dir: Path) -> bool:
    """A point is done when its status says ok and its metrics and executed notebook are there."""
    status = _read_json(point_dir / "status.json")
    return (
        isinstance(status, dict)
        and status.get("status") == "ok"
        and (point_dir / "metrics.json").is_file()
        and (point_dir / "notebook.ipynb").is_file()
        and (point_dir / "params.json").is_file()
    )


def _own_temporary(folder: Path, names: tuple[str, ...]) -> list[Path]:
    """Temporaries `_write_atomic` made for `names` in `folder` (``.<name>.<random>.tmp`` files
    only)."""
    found = []
    for name in names:
        for tmp in folder.glob(f".{glob.escape(name)}.*.tmp"):
            if tmp.is_file() and not tmp.is_symlink():
                found.append(tmp)
    return found


def _clean_stale(out_dir: Path) -> int:
    """Remove the temporaries a killed run left, and only those: files named like the ones
    `_write_atomic` makes for the sweep's own files (at the top and inside point folders) and the
    per-point scratch folders `run_point` makes; returns how many were removed."""
    removed = 0
    scratch = out_dir / SCRATCH_NAME
    if scratch.is_dir() and not scratch.is_symlink():
        for entry in scratch.iterdir():
            if entry.is_dir() and not entry.is_symlink() and _SCRATCH_DIR.match(entry.name):
                shutil.rmtree(entry, ignore_errors=True)
                removed += 1
        with contextlib.suppress(OSError):
            scratch.rmdir()  # only when empty: anything else in it is not ours
    targets = [(out_dir, TOP_FILES)] + [
        (d, POINT_FILES)
        for d in out_dir.iterdir()
        if d.is_dir() and not d.is_symlink() and _POINT_DIR.match(d.name)
    ]
    for folder, names in targets:
        for tmp in _own_temporary(folder, names):
            with contextlib.suppress(FileNotFoundError):
                tmp.unlink()
                removed += 1
    return removed


def _marker_sweep(out_dir: Path) -> str | None:
    """The sweep name the folder's marker records (None when it names none: damaged, empty, or not
    a sweep's marker)."""
    marker = _read_json(out_dir / MARKER_NAME)
    name = marker.get("sweep") if isinstance(marker, dict) else None
    return name if isinstance(name, str) else None


def prepare_out_dir(out_dir: Path, sweep: Sweep, *, force: bool = False) -> None:
    """Make sure the sweep may write into `out_dir`, create it if needed, and mark it as a sweep's.

    Allowed: a new folder, an empty one, or one whose MARKER_NAME names this sweep (its own, from
    an earlier run). A folder marked by another sweep is refused, even with `force` (resuming sweep
    B in sweep A's folder rewrote A's summary and index); so is any other folder unless `force`,
    and even then only when none of the files the sweep would write is already there (never
    overwritten). A folder without a marker is never taken for a sweep's, whatever it holds.
    """
    where = display(out_dir)
    entries, ours = open_output_dir(out_dir, MARKER_NAME)
    if ours:
        owner = _marker_sweep(out_dir)
        if owner == sweep.name:
            return
        whose = f"sweep {owner!r}" if owner else "a sweep whose name it does not record"
        raise InputError(
            f"--out: {where} holds the results of {whose} ({MARKER_NAME}); sweep "
            f"{sweep.name!r} writes only into a new folder or its own. Pick another --out"
        )
    if entries:
        shown = ", ".join(sorted(entries)[:3]) + (", ..." if len(entries) > 3 else "")
        if not force:
            raise InputError(
                f"--out: {where} is not a sweep's folder (no {MARKER_NAME} marker) and holds "
                f"{len(entries)} entries ({shown}); a sweep writes only into a new folder or its "
                "own. Pick another --out, or add --force to write the sweep's files beside them "
                "(none is overwritten)"
            )
        ours = {*TOP_FILES, LOCK_NAME, SCRATCH_NAME, MARKER_NAME, *(p.id for p in sweep.points)}
        clash = sorted(set(entries) & ours)
        if clash:
            raise InputError(
                f"--out: {where} already holds "
                f"{', '.join(clash[:5])}{', ...' if len(clash) > 5 else ''}, "
                "which the sweep would write; --force never overwrites files a sweep did not "
                "write. Pick another --out"
            )
    try:
        _write_atomic(
            out_dir / MARKER_NAME,
            _dumps(
                {
                    "tool": "compute-race sweep",
                    "sweep": sweep.name,
                    "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
                }
            ),
        )
    except OSError as exc:
        raise InputError(f"--out: cannot write in {where} ({exc.strerror or exc})") from None


def _clear_point(point_dir: Path) -> None:
    for name in POINT_FILES:  # status.json first: without it the folder reads as not done
        with contextlib.suppress(FileNotFoundError):
            (point_dir / name).unlink()


def _record(out_dir: Path, sweep: Sweep, point: Point, result: dict) -> None:
    """Write one point's files; status.json last, so a kill in between leaves the point not done."""
    point_dir = out_dir / point.id
    point_dir.mkdir(parents=True, exist_ok=True)
    if result.get("notebook") is not None:
        _write_atomic(point_dir / "notebook.ipynb", result["notebook"])
    if result.get("metrics") is not None:
        _write_atomic(point_dir / "metrics.json", _dumps(result["metrics"]))
    _write_atomic(point_dir / "params.json", _dumps(point.parameters))
    status = {key: value for key, value in result.items() if key not in ("notebook", "metrics")}
    status.update(
        sweep=sweep.name,
        source_notebook=display(sweep.notebook),
        notebook="notebook.ipynb" if result.get("notebook") is not None else None,
    )
    _write_atomic(point_dir / "status.json", _dumps(status))


@contextlib.contextmanager
def _locked(out_dir: Path) -> Iterator[None]:
    """One sweep at a time per results folder (the OS drops the lock if the process is killed)."""
    try:
        import fcntl
    except ImportError:  # pragma: no cover - Windows: no advisory locks; run one sweep at a time
        yield
        return
    with open(out_dir / LOCK_NAME, "w") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            raise InputError(
                f"{display(out_dir)}: another sweep is running in this folder"
            ) from None
        yield

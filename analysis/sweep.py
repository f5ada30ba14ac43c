"""Papermill sweeps: one executed notebook per point of a parameter grid, resumable and failure-isolated.

A sweep file (sweeps/README.md) names a notebook, fixed `parameters`, and either a `grid` (the product
of lists) or a list of `points`. Every key and value is checked against the parameters the notebook
declares before anything runs. Each point runs on a local process pool (`workers`) or on a Dask
cluster (`scheduler`) and lands in ``results/<name>/<point-id>/``::

    notebook.ipynb   the executed notebook (with papermill's error banner when it failed)
    params.json      the parameters it ran with (the sweep injects `metrics_path` itself)
    metrics.json     the headline numbers the notebook recorded (analysis.notebook.record_metrics)
    status.json      ok or failed, error, failing cell, duration; written last: the commit marker

Workers send results back and only this process writes them, each file under a temporary name and
then renamed, so a run killed at any moment leaves complete points or nothing; `resume` skips complete
points and reruns the rest. Then ``summary.csv``, ``summary.parquet`` and ``index.html`` (a seaborn
figure of the headline metric against the swept parameters, links to every executed notebook).

Heavy imports (papermill, pandas, dask, seaborn) happen inside the functions that need them, so
``import analysis`` stays fast.
"""

from __future__ import annotations

import ast
import contextlib
import difflib
import glob
import hashlib
import itertools
import json
import math
import os
import re
import shutil
import signal
import socket
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Iterator

from ._papermill import kernel_options
from .errors import InputError, first_line
from .paths import PROJECT_ROOT, RESULTS_DIR, display, open_output_dir
from .inputs.yamlio import read_yaml

#: Keys a sweep file may hold (sweeps/README.md).
SWEEP_KEYS = ("name", "description", "notebook", "parameters", "grid", "points", "headline", "cell_timeout_s")
#: The parameter the sweep sets for every point; a sweep file may not.
METRICS_PARAMETER = "metrics_path"
#: Per-cell execution limit when the sweep file gives none: generous for real runs, finite so a hung
#: kernel fails its point instead of the whole sweep.
DEFAULT_CELL_TIMEOUT_S = 1800.0
#: Seconds to wait for a kernel to start; a loaded machine can take tens of seconds.
KERNEL_START_TIMEOUT_S = 120
#: Characters of the failing cell's source kept in status.json and shown in messages.
SOURCE_EXCERPT_CHARS = 300
#: Hex digits of sha256 in a point id: 48 bits, collision-free for any grid a notebook sweep can run.
POINT_ID_HEX = 12
#: Final files of a point, in the order they are removed before a rerun (status first: the marker).
POINT_FILES = ("status.json", "notebook.ipynb", "metrics.json", "params.json")
LOCK_NAME = ".sweep.lock"
SCRATCH_NAME = ".scratch"
#: The file that makes a folder a sweep's: a sweep writes only into a folder it created (and marked)
#: or one that holds this marker; anything else is refused unless --force (sweeps/README.md).
MARKER_NAME = ".compute-race-sweep"
#: Files a sweep writes at the top of its results folder (besides point folders).
TOP_FILES = ("summary.csv", "summary.parquet", "index.html", "figure.png")
#: Most points a sweep runs unless told more (`--max-points`): 1,000 points is about an hour of
#: kernel start-up alone (SECONDS_PER_POINT) before any notebook computes.
MAX_POINTS = 1000
#: Seconds a point costs before its notebook computes anything (kernel start, imports, papermill's
#: bookkeeping; measured at 3-6 s on the project's 2-core VM, sweeps/README.md): for the estimate
#: shown when a grid is refused for its size.
SECONDS_PER_POINT = 3.5

_POINT_DIR = re.compile(rf"^[0-9a-f]{{{POINT_ID_HEX}}}$")
_SCRATCH_DIR = re.compile(rf"^[0-9a-f]{{{POINT_ID_HEX}}}-[A-Za-z0-9_]+$")  # tempfile.mkdtemp(prefix="<id>-")
_SAFE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")
_SCHEDULER = re.compile(r"^(tcp|tls)://[^\s:/]+:\d{1,5}/?$")
_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")
#: Types a notebook parameter may be annotated with that the sweep checks; others are passed through.
_TYPES = {"int": int, "float": float, "str": str, "bool": bool, "list": list, "dict": dict, "None": type(None)}


# ---- the sweep file ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Point:
    """One run: its id (stable hash of the parameters) and every parameter it sets."""

    id: str
    parameters: dict[str, Any]


@dataclass(frozen=True)
class Sweep:
    """A validated sweep: the notebook, its declared parameters and the points to run."""

    name: str
    notebook: Path
    declared: dict[str, dict]
    fixed: dict[str, Any]
    swept: tuple[str, ...]
    points: tuple[Point, ...]
    headline: str | None = None
    description: str = ""
    cell_timeout_s: float = DEFAULT_CELL_TIMEOUT_S
    source: Path | None = None


def point_id(parameters: dict[str, Any]) -> str:
    """Stable id of a point: the first hex digits of sha256 of its canonical JSON (sorted keys)."""
    canonical = json.dumps(parameters, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()[:POINT_ID_HEX]


def notebook_parameters(path: str | os.PathLike) -> dict[str, dict]:
    """Parameters a notebook declares: name -> {type, default, help}, in the order of its cell.

    Papermill's inspection reads the annotation (``draws: int = 2000  # help``). It skips any line
    with a second ``=`` (``scale: float = 1.0  # 1.0 = as signed``), so names it missed are recovered
    from the cell's syntax tree; an unannotated parameter takes the type of its literal default.
    """
    import logging

    import nbformat
    import papermill

    path = Path(path)
    where = display(path)
    try:
        nb = nbformat.read(path, as_version=4)
    except Exception as exc:  # nbformat raises several unrelated types for unreadable files
        raise InputError(f"{where}: not a readable notebook ({type(exc).__name__}: {exc})") from None
    cells = [c for c in nb.cells if "parameters" in c.get("metadata", {}).get("tags", [])]
    if not cells:
        raise InputError(f"{where}: no cell is tagged 'parameters', so papermill cannot set any")
    papermill_logger = logging.getLogger("papermill")
    level = papermill_logger.level
    papermill_logger.setLevel(logging.ERROR)  # its "Unable to parse line" warnings: handled below
    try:
        inspected = papermill.inspect_notebook(str(path))
    finally:
        papermill_logger.setLevel(level)

    declared: dict[str, dict] = {}
    try:
        tree = ast.parse(cells[0].source)
    except SyntaxError as exc:
        raise InputError(f"{where}: the parameters cell is not valid Python (line {exc.lineno}: {exc.msg})") from None
    for node in tree.body:
        if isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            name, annotation, value = node.target.id, ast.unparse(node.annotation), node.value
        elif isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name):
            name, annotation, value = node.targets[0].id, None, node.value
        else:
            continue
        info = inspected.get(name, {})
        type_name = info.get("inferred_type_name")
        if not type_name or type_name == "None":
            type_name = annotation
        default = ast.unparse(value) if value is not None else None
        if not type_name and value is not None:
            with contextlib.suppress(ValueError, SyntaxError, TypeError):
                literal = ast.literal_eval(value)
                type_name = type(literal).__name__ if literal is not None else None
        declared[name] = {"type": type_name or "any", "default": default, "help": info.get("help", "")}
    for name, info in inspected.items():  # anything papermill saw that the tree did not (unlikely)
        declared.setdefault(name, {"type": info.get("inferred_type_name") or "any",
                                   "default": info.get("default"), "help": info.get("help", "")})
    return declared


def _allowed_types(type_name: str) -> tuple[type, ...] | None:
    """Python types an annotation admits (int | None, Optional[str]); None = not checked."""
    text = type_name.replace(" ", "")
    match = re.fullmatch(r"(?:typing\.)?Optional\[(.+)\]", text)
    if match:
        text = f"{match.group(1)}|None"
    parts = text.split("|")
    if not all(part in _TYPES for part in parts):
        return None
    return tuple(_TYPES[part] for part in parts)


def _check_value(where: str, name: str, value: Any, spec: dict) -> Any:
    """The value as the notebook should receive it; InputError naming it when its type is wrong."""
    described = f"{where}: parameter {name!r}"
    if isinstance(value, (dict, list)):
        try:
            json.dumps(value, allow_nan=False)
        except (TypeError, ValueError):
            raise InputError(f"{described}: {value!r} is not plain data (numbers, strings, lists, mappings)") from None
    elif value is not None and not isinstance(value, (bool, int, float, str)):
        # YAML dates and the like: papermill would inject their repr, which the notebook cannot read
        raise InputError(f"{described}: {value!r} is a {type(value).__name__}; write it as a string or number")
    if isinstance(value, float) and not math.isfinite(value):
        raise InputError(f"{described}: expected a finite number, got {value!r}")
    allowed = _allowed_types(spec["type"])
    if allowed is None:
        return value
    is_number = isinstance(value, (int, float)) and not isinstance(value, bool)
    if isinstance(value, bool) or value is None:
        if type(value) in allowed:
            return value
    elif float in allowed and is_number:
        return float(value)  # one spelling per number, so 1 and 1.0 are the same point
    elif int in allowed and is_number:
        if float(value).is_integer():
            return int(value)
    elif type(value) in allowed:
        return value
    wanted = " or ".join(t.__name__ if t is not type(None) else "null" for t in allowed)
    raise InputError(
        f"{described}: expected {wanted} (the notebook declares {spec['type']}), "
        f"got {value!r} ({'null' if value is None else type(value).__name__})"
    )


def _unknown(where: str, name: str, declared: dict, notebook: Path) -> InputError:
    known = [n for n in declared if n != METRICS_PARAMETER]
    close = difflib.get_close_matches(name, known, n=3, cutoff=0.5)
    hint = f"did you mean {', '.join(close)}? " if close else ""
    return InputError(
        f"{where}: unknown parameter {name!r} for {display(notebook)}; {hint}"
        f"its parameters: {', '.join(known) or '(none)'}"
    )


def _check_declared_model(where: str, notebook: Path, values: dict[str, Any]) -> None:
    """The values against the notebook's declared parameter model (analysis.params), when it has one:
    ranges and choices too, so a sweep fails before running rather than at every point."""
    from .params import check, model_for

    if model_for(notebook) is not None:
        try:
            check(notebook.stem, values, partial=True)
        except InputError as err:
            raise InputError(f"{where}: {err}") from None


def _resolve_notebook(where: str, value: Any, base: Path | None) -> Path:
    if not isinstance(value, str) or not value.strip():
        raise InputError(f"{where}: notebook: expected the path of a .ipynb file, got {value!r}")
    given = Path(value).expanduser()
    candidates = [given] if given.is_absolute() else [PROJECT_ROOT / given] + ([base / given] if base else [])
    for candidate in candidates:
        if candidate.is_file():
            if candidate.suffix != ".ipynb":
                raise InputError(f"{where}: notebook: {value!r} is not a .ipynb file (papermill runs the paired .ipynb)")
            return candidate.resolve()
    looked = " or ".join(display(c) for c in candidates)
    raise InputError(f"{where}: notebook: {value!r} not found (looked for {looked})")


def parse_max_points(value: Any) -> int:
    """--max-points: a whole number from 1; MAX_POINTS when not given."""
    if value is None:
        return MAX_POINTS
    try:
        number = float(value)
    except (TypeError, ValueError):
        number = float("nan")
    if isinstance(value, bool) or not (math.isfinite(number) and number.is_integer() and 1 <= number <= 10**9):
        raise InputError(f"--max-points: expected a whole number from 1 to 1,000,000,000, got {value!r}")
    return int(number)


def _check_count(where: str, count: int, max_points: int) -> None:
    """Refuse a sweep of more points than allowed, before any point is built."""
    if count > max_points:
        hours = count * SECONDS_PER_POINT / 3600
        raise InputError(
            f"{where}: {count:,} points is more than the {max_points:,} allowed; at about {SECONDS_PER_POINT:g} s "
            f"of kernel start-up per point that is at least {hours:,.1f} hours on one worker before any notebook "
            f"computes. Allow it with --max-points {count}, or sweep inside one notebook (sweeps/README.md)"
        )


def load_sweep(source: str | os.PathLike | dict, *, name: str | None = None, max_points: int | None = None) -> Sweep:
    """A validated Sweep from a YAML path or a dict; InputError naming the key when anything is wrong.

    Keys and value types are checked against the notebook's declared parameters; nothing runs. A
    sweep of more than `max_points` points (default MAX_POINTS) is refused before its grid is built.
    """
    max_points = parse_max_points(max_points)
    if isinstance(source, dict):
        raw, where, path = source, "sweep", None
    else:
        path = Path(source)
        where = display(path)
        raw = read_yaml(path, what="sweep file")
    if not isinstance(raw, dict):
        raise InputError(f"{where}: expected a mapping with keys {', '.join(SWEEP_KEYS)} at the top level")
    extra = [k for k in raw if k not in SWEEP_KEYS]
    if extra:
        raise InputError(f"{where}: unknown key {extra[0]!r}; a sweep file holds {', '.join(SWEEP_KEYS)}")

    sweep_name = name or raw.get("name") or (path.stem if path else None)
    if not isinstance(sweep_name, str) or not _SAFE_NAME.match(sweep_name):
        raise InputError(f"{where}: name: {sweep_name!r} must be letters, digits, '.', '_' or '-' (a folder name)")
    description = raw.get("description") or ""
    if not isinstance(description, str):
        raise InputError(f"{where}: description: expected text")
    headline = raw.get("headline")
    if headline is not None and not (isinstance(headline, str) and headline):
        raise InputError(f"{where}: headline: expected the name of a metric the notebook records, got {headline!r}")
    timeout = raw.get("cell_timeout_s", DEFAULT_CELL_TIMEOUT_S)
    if isinstance(timeout, bool) or not isinstance(timeout, (int, float)) or not (0 < timeout < math.inf):
        raise InputError(f"{where}: cell_timeout_s: expected a positive number of seconds, got {timeout!r}")

    if "notebook" not in raw:
        raise InputError(f"{where}: notebook: missing (the .ipynb the sweep runs)")
    notebook = _resolve_notebook(where, raw["notebook"], path.parent if path else None)
    declared = notebook_parameters(notebook)
    if METRICS_PARAMETER not in declared:
        raise InputError(
            f"{display(notebook)}: declares no {METRICS_PARAMETER!r} parameter, so a sweep cannot collect its "
            "metrics (add metrics_path: str = \"\" and call analysis.notebook.record_metrics)"
        )

    def checked(section: str, values: Any) -> dict[str, Any]:
        if not isinstance(values, dict):
            raise InputError(f"{where}: {section}: expected a mapping of parameter names to values")
        out = {}
        for key, value in values.items():
            if key == METRICS_PARAMETER:
                raise InputError(f"{where}: {section}: {METRICS_PARAMETER!r} is set by the sweep for each point; remove it")
            if key not in declared:
                raise _unknown(f"{where}: {section}", str(key), declared, notebook)
            out[key] = _check_value(f"{where}: {section}", key, value, declared[key])
        _check_declared_model(f"{where}: {section}", notebook, out)
        return out

    fixed = checked("parameters", raw.get("parameters") or {})
    has_grid, has_points = raw.get("grid") is not None, raw.get("points") is not None
    if has_grid == has_points:
        raise InputError(f"{where}: give either grid (lists to combine) or points (a list of mappings), "
                         f"{'not both' if has_grid else 'none given'}")
    combos: list[dict[str, Any]] = []
    if has_grid:
        grid = raw["grid"]
        if not isinstance(grid, dict) or not grid:
            raise InputError(f"{where}: grid: expected a non-empty mapping of parameter names to lists of values")
        lists = {}
        if all(isinstance(values, list) for values in grid.values()):  # counted, never built, when too many
            _check_count(where, math.prod(len(values) for values in grid.values()), max_points)
        for key, values in grid.items():
            if not isinstance(values, list):
                raise InputError(f"{where}: grid.{key}: expected a list of values, got {values!r} "
                                 "(a single value belongs in parameters)")
            if not values:
                raise InputError(f"{where}: grid.{key}: empty list; the grid would have no points")
            lists[key] = [checked(f"grid.{key}[{i}]", {key: v})[key] for i, v in enumerate(values)]
            seen = {}
            for i, v in enumerate(lists[key]):
                token = json.dumps(v, sort_keys=True)
                if token in seen:
                    raise InputError(f"{where}: grid.{key}[{i}]: {v!r} repeats grid.{key}[{seen[token]}]")
                seen[token] = i
        swept = tuple(lists)
        combos = [dict(zip(swept, values)) for values in itertools.product(*lists.values())]
    else:
        points = raw["points"]
        if not isinstance(points, list) or not points:
            raise InputError(f"{where}: points: expected a non-empty list of mappings")
        _check_count(where, len(points), max_points)
        swept_keys: dict[str, None] = {}
        for i, point in enumerate(points):
            if not isinstance(point, dict) or not point:
                raise InputError(f"{where}: points[{i}]: expected a non-empty mapping of parameter names to values")
            combos.append(checked(f"points[{i}]", point))
            swept_keys.update(dict.fromkeys(point))
        swept = tuple(swept_keys)
    overlap = [k for k in swept if k in fixed]
    if overlap:
        raise InputError(f"{where}: parameters.{overlap[0]} is also swept; set it in one place")

    result: list[Point] = []
    first_index: dict[str, int] = {}
    label = "grid" if has_grid else "points"
    for i, combo in enumerate(combos):
        parameters = {**fixed, **combo}
        pid = point_id(parameters)
        if pid in first_index:
            raise InputError(f"{where}: {label}[{i}] repeats {label}[{first_index[pid]}] (same parameters)")
        first_index[pid] = i
        result.append(Point(pid, parameters))
    return Sweep(
        name=sweep_name, notebook=notebook, declared=declared, fixed=fixed, swept=swept, points=tuple(result),
        headline=headline, description=description.strip(), cell_timeout_s=float(timeout), source=path,
    )


# ---- running one point (in a worker) -----------------------------------------------------------

def _failing_cell(nb) -> tuple[int | None, int | None, str | None]:
    """(index in the source notebook, execution count, source) of the cell that failed, if any.

    Papermill inserts an injected-parameters cell and error banners; the index skips them so it
    points at the same cell in the notebook the user edits.
    """
    inserted = {"injected-parameters", "papermill-error-cell-tag"}
    index = -1
    for cell in nb.cells:
        if inserted & set(cell.get("metadata", {}).get("tags", [])):
            continue
        index += 1
        failed = cell.get("metadata", {}).get("papermill", {}).get("exception") is True
        failed = failed or any(out.get("output_type") == "error" for out in cell.get("outputs", []))
        if failed:
            return index, cell.get("execution_count"), cell.source
    return None, None, None


def run_point(task: dict) -> dict:
    """Execute one point's notebook with papermill in a scratch folder; never raises for the notebook.

    `task`: point_id, notebook (its JSON text), parameters, cell_timeout_s, scratch (a folder for the
    temporary files, or None for the system's). Returns status, error details, duration_s, the
    executed notebook (JSON text) and the recorded metrics; the caller writes them.
    """
    import logging

    import nbformat
    import papermill
    from papermill.exceptions import PapermillExecutionError

    logging.getLogger("papermill").setLevel(logging.ERROR)  # unknown-parameter warnings: checked already
    started = datetime.now(timezone.utc).isoformat(timespec="seconds")
    clock = time.perf_counter()
    scratch_root = task.get("scratch")
    if scratch_root:
        Path(scratch_root).mkdir(parents=True, exist_ok=True)
    scratch = Path(tempfile.mkdtemp(prefix=f"{task['point_id']}-", dir=scratch_root))
    error: dict[str, Any] | None = None
    try:
        metrics_file = scratch / "metrics.json"
        executed = scratch / "notebook.ipynb"
        try:
            papermill.execute_notebook(
                nbformat.reads(task["notebook"], as_version=4),
                str(executed),
                parameters={**task["parameters"], METRICS_PARAMETER: str(metrics_file)},
                cwd=str(PROJECT_ROOT),
                execution_timeout=task["cell_timeout_s"],
                start_timeout=KERNEL_START_TIMEOUT_S,
                progress_bar=False,
                **kernel_options(),
            )
        except PapermillExecutionError as exc:
            error = {"ename": exc.ename, "evalue": str(exc.evalue),
                     "traceback": [_ANSI.sub("", line) for line in exc.traceback or []]}
        except Exception as exc:  # kernel death, cell timeout, unreadable output: this point fails, not the sweep
            lines = str(exc).strip().splitlines()
            error = {"ename": type(exc).__name__, "evalue": lines[0] if lines else "", "traceback": lines}
        notebook_text = executed.read_text(encoding="utf-8") if executed.is_file() else None
        metrics = None
        if error is None:
            if metrics_file.is_file():
                metrics = json.loads(metrics_file.read_text(encoding="utf-8"))
            else:
                error = {"ename": "MissingMetrics", "traceback": [],
                         "evalue": f"the notebook ran but wrote no metrics; call analysis.notebook.record_metrics"
                                   f"(..., {METRICS_PARAMETER})"}
        cell_index = execution_count = source = None
        if error is not None and notebook_text is not None:
            cell_index, execution_count, source = _failing_cell(nbformat.reads(notebook_text, as_version=4))
        return {
            "point_id": task["point_id"],
            "status": "ok" if error is None else "failed",
            "error": None if error is None else f"{error['ename']}: {error['evalue']}".strip(),
            "ename": None if error is None else error["ename"],
            "traceback": None if error is None else error["traceback"],
            "cell_index": cell_index,
            "execution_count": execution_count,
            "cell_source": None if source is None else source[:SOURCE_EXCERPT_CHARS],
            "started": started,
            "duration_s": round(time.perf_counter() - clock, 3),
            "host": socket.gethostname(),
            "notebook": notebook_text,
            "metrics": metrics,
        }
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def _crashed(point: Point, exc: BaseException, clock: float) -> dict:
    """A result for a point whose worker died or could not run it (the notebook never reported)."""
    text = " ".join(str(exc).split()) or type(exc).__name__
    return {
        "point_id": point.id, "status": "failed", "error": f"{type(exc).__name__}: {text}",
        "ename": type(exc).__name__, "traceback": [], "cell_index": None, "execution_count": None,
        "cell_source": None, "started": None, "duration_s": round(time.perf_counter() - clock, 3),
        "host": None, "notebook": None, "metrics": None,
    }


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
        isinstance(status, dict) and status.get("status") == "ok"
        and (point_dir / "metrics.json").is_file() and (point_dir / "notebook.ipynb").is_file()
        and (point_dir / "params.json").is_file()
    )


def _own_temporary(folder: Path, names: tuple[str, ...]) -> list[Path]:
    """Temporaries `_write_atomic` made for `names` in `folder` (``.<name>.<random>.tmp`` files only)."""
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
    targets = [(out_dir, TOP_FILES)] + [(d, POINT_FILES) for d in out_dir.iterdir()
                                        if d.is_dir() and not d.is_symlink() and _POINT_DIR.match(d.name)]
    for folder, names in targets:
        for tmp in _own_temporary(folder, names):
            with contextlib.suppress(FileNotFoundError):
                tmp.unlink()
                removed += 1
    return removed


def _is_old_sweep_folder(out_dir: Path) -> bool:
    """A results folder written before markers existed: only sweep-shaped entries, and points whose
    status.json names a sweep. Adopted (marked) rather than refused, so earlier results resume."""
    own_top = {*TOP_FILES, LOCK_NAME, SCRATCH_NAME}
    saw_status = False
    for entry in out_dir.iterdir():
        if entry.name in own_top or (entry.name.startswith(".") and entry.name.endswith(".tmp")):
            continue
        if not (entry.is_dir() and _POINT_DIR.match(entry.name)):
            return False
        for inner in entry.iterdir():
            if inner.name not in POINT_FILES and not (inner.name.startswith(".") and inner.name.endswith(".tmp")):
                return False
        status = _read_json(entry / "status.json")
        saw_status = saw_status or (isinstance(status, dict) and "sweep" in status)
    return saw_status


def prepare_out_dir(out_dir: Path, sweep: Sweep, *, force: bool = False) -> None:
    """Make sure the sweep may write into `out_dir`, create it if needed, and mark it as a sweep's.

    Allowed: a new folder, an empty one, one holding MARKER_NAME (an earlier sweep's), one written by
    an earlier version of this command. Anything else is refused (InputError) unless `force`, and even
    then only when none of the files the sweep would write is already there (never overwritten).
    """
    where = display(out_dir)
    entries, ours = open_output_dir(out_dir, MARKER_NAME)
    if ours:
        return
    if entries and not _is_old_sweep_folder(out_dir):
        shown = ", ".join(sorted(entries)[:3]) + (", ..." if len(entries) > 3 else "")
        if not force:
            raise InputError(
                f"--out: {where} is not a sweep's folder (no {MARKER_NAME} marker) and holds {len(entries)} "
                f"entries ({shown}); a sweep writes only into a new folder or its own. Pick another "
                "--out, or add --force to write the sweep's files beside them (none is overwritten)"
            )
        ours = {*TOP_FILES, LOCK_NAME, SCRATCH_NAME, MARKER_NAME, *(p.id for p in sweep.points)}
        clash = sorted(set(entries) & ours)
        if clash:
            raise InputError(
                f"--out: {where} already holds {', '.join(clash[:5])}{', ...' if len(clash) > 5 else ''}, "
                "which the sweep would write; --force never overwrites files a sweep did not write. "
                "Pick another --out"
            )
    try:
        _write_atomic(out_dir / MARKER_NAME, _dumps({"tool": "compute-race sweep", "sweep": sweep.name,
                                      "created": datetime.now(timezone.utc).isoformat(timespec="seconds")}))
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
    status.update(sweep=sweep.name, source_notebook=display(sweep.notebook),
                  notebook="notebook.ipynb" if result.get("notebook") is not None else None)
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
            raise InputError(f"{display(out_dir)}: another sweep is running in this folder") from None
        yield


# ---- executors ---------------------------------------------------------------------------------

def parse_workers(value: Any) -> int | None:
    """--workers: a whole number from 1; None when not given."""
    if value is None:
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        number = float("nan")
    if isinstance(value, bool) or not (math.isfinite(number) and number.is_integer() and 1 <= number <= 1024):
        raise InputError(f"--workers: expected a whole number from 1 to 1,024, got {value!r}")
    return int(number)


def _check_scheduler(scheduler: str | None, workers: int | None) -> None:
    if scheduler is None:
        return
    if scheduler != "local" and not _SCHEDULER.match(scheduler):
        raise InputError(f"--scheduler: expected tcp://HOST:PORT or 'local', got {scheduler!r}")
    if scheduler != "local" and workers is not None:
        raise InputError("--workers: the Dask cluster at --scheduler has its own workers; give one or the other")


@contextlib.contextmanager
def _dask_client(scheduler: str, workers: int | None):
    """A Client on the cluster at `scheduler`, or on a LocalCluster started (and stopped) here."""
    import logging

    from dask.distributed import Client, LocalCluster

    if scheduler == "local":
        # Worker processes like a real cluster's; one thread each, since a point is one kernel.
        quiet = logging.getLogger("distributed")
        level = quiet.level
        quiet.setLevel(logging.ERROR)
        try:
            with LocalCluster(n_workers=workers or 2, threads_per_worker=1, processes=True,
                              dashboard_address=None, silence_logs=logging.ERROR) as cluster, \
                    Client(cluster) as client:
                yield client
        finally:
            quiet.setLevel(level)
        return
    try:
        client = Client(scheduler, timeout="15s")
    except (OSError, TimeoutError) as exc:
        raise InputError(f"--scheduler: cannot reach a Dask scheduler at {scheduler} ({exc})") from None
    except MemoryError:  # a peer that is not Dask: its first bytes read as a message length of exabytes
        raise InputError(f"--scheduler: {scheduler} answered, but not as a Dask scheduler does") from None
    except Exception as exc:  # noqa: BLE001 - any other failure to connect is the same answer to the user
        raise InputError(f"--scheduler: cannot connect to a Dask scheduler at {scheduler} ({first_line(exc)})") from None
    with client:
        yield client


def _results(tasks: list[tuple[Point, dict]], *, workers: int, client=None) -> Iterator[tuple[Point, dict]]:
    """Run tasks and yield (point, result) as they finish: inline, on a process pool, or on Dask."""
    clock = time.perf_counter()
    if client is not None:
        from dask.distributed import as_completed

        futures = {}
        for point, task in tasks:
            # impure: a rerun must execute again, never reuse a cached result for the same key
            future = client.submit(run_point, task, pure=False, key=f"sweep-{point.id}-{os.urandom(4).hex()}")
            futures[future] = point
        try:
            for future in as_completed(futures):
                point = futures[future]
                try:
                    yield point, future.result()
                except Exception as exc:  # KilledWorker, lost connection: this point failed
                    yield point, _crashed(point, exc, clock)
        finally:
            client.cancel(list(futures))
        return
    if not tasks:
        return
    # Even one worker is a separate process: Ctrl-C or a kill then stops it at once, and its kernel
    # follows it quietly (a kernel shut down mid-cell from this process prints a ZMQ traceback).
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor, as_completed

    # spawn: workers start clean (no inherited threads or kernel sockets from this process)
    pool = ProcessPoolExecutor(max_workers=min(workers, len(tasks)), mp_context=multiprocessing.get_context("spawn"),
                               initializer=_worker_init, initargs=(os.getpid(),))
    finished = False
    try:
        futures = {pool.submit(run_point, task): point for point, task in tasks}
        for future in as_completed(futures):
            point = futures[future]
            try:
                yield point, future.result()
            except Exception as exc:  # BrokenProcessPool when a worker process dies
                yield point, _crashed(point, exc, clock)
        finished = True
    finally:
        if not finished:  # Ctrl-C or an error here: stop the workers now, do not wait for their notebooks
            for process in list((getattr(pool, "_processes", None) or {}).values()):
                with contextlib.suppress(Exception):
                    process.kill()
        pool.shutdown(wait=finished, cancel_futures=True)


#: Seconds between a worker's checks that the sweep that started it is still alive (where the OS
#: cannot kill it with its parent).
PARENT_POLL_S = 1.0


def _worker_init(parent_pid: int) -> None:
    """Set up a pool worker: it dies with the sweep command and leaves Ctrl-C to it.

    The terminal sends Ctrl-C to every process of the foreground group; the parent handles it (one
    line, exit 130) and stops the workers, so a worker ignores it rather than printing a traceback.
    On Linux the kernel kills the worker when its parent dies (PR_SET_PDEATHSIG), even by SIGKILL;
    elsewhere a thread checks every PARENT_POLL_S that the parent is still there. A worker's notebook
    kernel follows it (ipykernel exits when its parent goes).
    """
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    if sys.platform.startswith("linux"):
        with contextlib.suppress(Exception):
            import ctypes

            libc = ctypes.CDLL(None, use_errno=True)
            pr_set_pdeathsig = 1
            libc.prctl(pr_set_pdeathsig, signal.SIGKILL, 0, 0, 0)
    if os.getppid() != parent_pid:  # the parent died before the line above took effect
        os._exit(1)

    def watch() -> None:
        while True:
            time.sleep(PARENT_POLL_S)
            if os.getppid() != parent_pid:
                os._exit(1)

    threading.Thread(target=watch, name="sweep-parent-watch", daemon=True).start()


# ---- the sweep ---------------------------------------------------------------------------------

@dataclass
class SweepResult:
    """What a sweep did: the summary table (one row per point) and where everything was written."""

    name: str
    out_dir: Path
    summary: Any  # pandas DataFrame
    ran: int
    skipped: int
    elapsed_s: float
    failed: list[dict] = field(default_factory=list)
    headline: str | None = None
    notes: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.failed


def run_sweep(
    sweep: str | os.PathLike | dict | Sweep,
    *,
    workers: int | str | None = None,
    scheduler: str | None = None,
    out: str | os.PathLike | None = None,
    resume: bool = False,
    progress: bool = True,
    force: bool = False,
    max_points: int | None = None,
) -> SweepResult:
    """Run every point of a sweep and write results/<name>/ (summary.csv, .parquet, index.html).

    `workers`: local processes (default 1, in this process); `scheduler`: tcp://host:port of a Dask
    cluster, or "local" for a LocalCluster of `workers` processes (default 2); `resume`: skip points
    already complete; `force`: write into an existing folder that is not a sweep's (never overwriting
    a file); `max_points`: allow more than MAX_POINTS points. A point whose notebook fails is recorded
    and the others go on.
    """
    from tqdm import tqdm  # plain: tqdm.auto needs ipywidgets in Jupyter, and the bar goes to stderr

    clock = time.perf_counter()
    workers = parse_workers(workers)
    _check_scheduler(scheduler, workers)
    spec = sweep if isinstance(sweep, Sweep) else load_sweep(sweep, max_points=max_points)
    if isinstance(sweep, Sweep):
        _check_count(f"sweep {spec.name!r}", len(spec.points), parse_max_points(max_points))
    out_dir = Path(out).expanduser() if out else RESULTS_DIR / spec.name
    if out_dir.exists() and not out_dir.is_dir():
        raise InputError(f"--out: {display(out_dir)} exists and is not a folder")

    remote = None
    with contextlib.ExitStack() as stack:
        if scheduler not in (None, "local"):  # reach the cluster before writing anything
            remote = stack.enter_context(_dask_client(scheduler, workers))
        prepare_out_dir(out_dir, spec, force=force)
        resolved = out_dir.resolve()
        if progress and resolved != PROJECT_ROOT and PROJECT_ROOT not in resolved.parents:
            # Allowed (a scratch disk, a shared drive) but said, once the folder is accepted: results
            # usually live in results/, and a typo'd path should not go unnoticed.
            print(f"warning: --out {resolved} is outside the project ({PROJECT_ROOT})", file=sys.stderr)
        stack.enter_context(_locked(out_dir))
        _clean_stale(out_dir)
        done = [p for p in spec.points if resume and is_complete(out_dir / p.id)]
        done_ids = {p.id for p in done}
        todo = [p for p in spec.points if p.id not in done_ids]
        for point in todo:
            _clear_point(out_dir / point.id)

        notebook_text = spec.notebook.read_text(encoding="utf-8")  # one version of it for every point
        scratch = None if remote is not None else str(out_dir / SCRATCH_NAME)
        tasks = [(p, {"point_id": p.id, "notebook": notebook_text, "parameters": p.parameters,
                      "cell_timeout_s": spec.cell_timeout_s, "scratch": scratch}) for p in todo]
        client = remote
        if todo and scheduler == "local":
            client = stack.enter_context(_dask_client("local", workers))
        counts = {"ok": 0, "failed": 0}
        bar = tqdm(total=len(spec.points), initial=len(done), desc=spec.name, unit="point",
                   file=sys.stderr, disable=not progress or not todo, dynamic_ncols=True, smoothing=0)
        try:
            bar.set_postfix_str(f"ok=0 failed=0 skipped={len(done)}")
            for point, result in _results(tasks, workers=workers or 1, client=client):
                _record(out_dir, spec, point, result)
                counts[result["status"]] += 1
                bar.set_postfix_str(f"ok={counts['ok']} failed={counts['failed']} skipped={len(done)}")
                bar.update()
        finally:
            bar.close()
        _clean_stale(out_dir)  # the scratch folders of points that died mid-run; nothing else
        summary = summarize(spec, out_dir)
        headline, notes = write_index(spec, out_dir, summary)

    failed = []
    for point in spec.points:
        status = _read_json(out_dir / point.id / "status.json") or {}
        if status.get("status") != "ok":
            failed.append({"point_id": point.id, "error": status.get("error") or "no result",
                           "cell": status.get("cell_index"),
                           "parameters": {k: point.parameters.get(k) for k in spec.swept}})
    return SweepResult(name=spec.name, out_dir=out_dir, summary=summary, ran=len(todo), skipped=len(done),
                       elapsed_s=time.perf_counter() - clock, failed=failed, headline=headline, notes=notes)


# ---- aggregation -------------------------------------------------------------------------------

def _flatten(metrics: dict, prefix: str = "") -> dict[str, Any]:
    out = {}
    for key, value in metrics.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            out.update(_flatten(value, f"{name}."))
        elif isinstance(value, list):
            out[name] = json.dumps(value)
        else:
            out[name] = value
    return out


def summarize(sweep: Sweep, out_dir: str | os.PathLike) -> Any:
    """summary.csv and summary.parquet: one row per point (parameters, metrics, status, duration)."""
    import pandas as pd

    out_dir = Path(out_dir)
    rows, metric_names = [], {}
    for point in sweep.points:
        point_dir = out_dir / point.id
        status = _read_json(point_dir / "status.json") or {}
        metrics = _read_json(point_dir / "metrics.json") if status.get("status") == "ok" else None
        flat = _flatten(metrics) if isinstance(metrics, dict) else {}
        renamed = {}
        for key, value in flat.items():  # a metric named like a parameter keeps both columns
            column = f"metric.{key}" if key in point.parameters or key in _SUMMARY_COLUMNS else key
            renamed[column] = value
            metric_names.setdefault(column, None)
        has_notebook = (point_dir / "notebook.ipynb").is_file() and bool(status)
        rows.append({
            "point_id": point.id,
            **{k: point.parameters.get(k) for k in sweep.swept},
            "status": status.get("status", "missing"),
            **renamed,
            **{k: v for k, v in point.parameters.items() if k not in sweep.swept},
            "duration_s": status.get("duration_s"),
            "error": status.get("error"),
            "failed_cell": status.get("cell_index"),
            "notebook": f"{point.id}/notebook.ipynb" if has_notebook else None,
        })
    frame = pd.DataFrame(rows)
    frame["failed_cell"] = frame["failed_cell"].astype("Int64")  # a cell index, blank when none failed
    leading = ["point_id", *sweep.swept, "status", *metric_names]
    frame = frame[leading + [c for c in frame.columns if c not in leading]]
    _write_atomic(out_dir / "summary.csv", frame.to_csv(index=False))
    _write_bytes_atomic(out_dir / "summary.parquet", lambda tmp: _parquet_ready(frame).to_parquet(tmp, index=False))
    return frame


_SUMMARY_COLUMNS = {"point_id", "status", "duration_s", "error", "failed_cell", "notebook"}


def _parquet_ready(frame):
    """Columns Arrow can type: a column mixing kinds (text and numbers) is written as text."""
    frame = frame.copy()
    for column in frame.columns:
        if frame[column].dtype == object:
            kinds = {type(v) for v in frame[column] if v is not None and v == v}
            if len(kinds - {int, float}) > 0 and len(kinds) > 1:
                frame[column] = frame[column].map(lambda v: None if v is None or v != v else str(v))
    return frame


def _figure_png(sweep: Sweep, frame, headline: str) -> bytes | None:
    """The headline figure as PNG bytes (`plots.sweep_headline`), or None."""
    import io

    from .views.plots import sweep_headline

    fig = sweep_headline(sweep, frame, headline)
    if fig is None:
        return None
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=110, bbox_inches="tight")
    return buffer.getvalue()


def _cell_html(value: Any) -> str:
    import html

    import pandas as pd

    if pd.api.types.is_scalar(value) and pd.isna(value):  # None, NaN and pandas' NA
        return ""
    if isinstance(value, float):
        return f"{value:.4g}"
    return html.escape(str(value))


def write_index(sweep: Sweep, out_dir: str | os.PathLike, frame) -> tuple[str | None, list[str]]:
    """index.html: counts, the headline figure (PNG embedded) and the summary with notebook links.

    Returns the headline metric used (the sweep's, else the first recorded) and notes for the user.
    """
    import base64
    import html

    out_dir = Path(out_dir)
    notes: list[str] = []
    reserved = {"point_id", "status", *sweep.swept, *sweep.fixed, *_SUMMARY_COLUMNS}
    metric_columns = [c for c in frame.columns if c not in reserved]
    headline = sweep.headline
    if headline is not None and headline not in frame.columns:
        if metric_columns:
            notes.append(f"headline {headline!r} is not among the recorded metrics "
                         f"({', '.join(metric_columns[:12])}); no figure")
        headline = None
    elif headline is None and metric_columns:
        headline = metric_columns[0]
    png = _figure_png(sweep, frame, headline) if headline else None
    if png is not None:
        _write_bytes_atomic(out_dir / "figure.png", lambda tmp: Path(tmp).write_bytes(png))

    counts = frame["status"].value_counts().to_dict()
    header = "".join(f"<th>{html.escape(str(c))}</th>" for c in frame.columns)
    body = []
    for row in frame.to_dict("records"):
        cells = []
        for column, value in row.items():
            if column == "notebook" and isinstance(value, str) and value:
                cells.append(f'<td><a href="{html.escape(value)}">notebook</a></td>')
            elif column == "point_id":
                cells.append(f'<td><a href="{html.escape(value)}/"><code>{html.escape(value)}</code></a></td>')
            else:
                cells.append(f"<td>{_cell_html(value)}</td>")
        css = "" if row["status"] == "ok" else ' class="bad"'
        body.append(f"<tr{css}>{''.join(cells)}</tr>")
    figure = (f'<figure><img alt="{html.escape(headline)} against {html.escape(", ".join(sweep.swept))}" '
              f'src="data:image/png;base64,{base64.b64encode(png).decode()}"><figcaption>'
              f"{html.escape(headline)} against {html.escape(', '.join(sweep.swept))} "
              f"(points that failed are left out).</figcaption></figure>"
              if png else "<p>No figure: no point recorded a numeric headline metric.</p>")
    fixed = ", ".join(f"{k} = {v!r}" for k, v in sweep.fixed.items()) or "none"
    page = f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>Sweep {html.escape(sweep.name)}</title>
<style>
body {{ font-family: system-ui, sans-serif; margin: 2em; color: #222; }}
table {{ border-collapse: collapse; font-size: 0.85em; }}
th, td {{ border: 1px solid #ccc; padding: 0.25em 0.5em; text-align: right; }}
th {{ background: #f3f3f3; position: sticky; top: 0; }}
tr.bad td {{ background: #fde8e8; }}
img {{ max-width: 100%; }}
</style></head><body>
<h1>Sweep <code>{html.escape(sweep.name)}</code></h1>
{f"<p>{html.escape(sweep.description)}</p>" if sweep.description else ""}
<p>Notebook <code>{html.escape(display(sweep.notebook))}</code>; swept {html.escape(", ".join(sweep.swept))};
fixed parameters: {html.escape(fixed)}.<br>
{len(frame)} points: {counts.get("ok", 0)} ok, {counts.get("failed", 0)} failed, {counts.get("missing", 0)} missing.
Written {datetime.now(timezone.utc).isoformat(timespec="seconds")}. Data: <a href="summary.csv">summary.csv</a>,
<a href="summary.parquet">summary.parquet</a>.</p>
{figure}
<table><thead><tr>{header}</tr></thead><tbody>
{chr(10).join(body)}
</tbody></table>
</body></html>
"""
    _write_atomic(out_dir / "index.html", page)
    return headline, notes


# ---- command line ------------------------------------------------------------------------------

def run_cli(args) -> int:
    """`python -m analysis sweep`: 0 when every point is ok, 1 when some failed (listed on stderr)."""
    result = run_sweep(args.sweep, workers=args.workers, scheduler=args.scheduler, out=args.out,
                       resume=args.resume, progress=True, force=getattr(args, "force", False),
                       max_points=getattr(args, "max_points", None))
    where = display(result.out_dir)
    counts = result.summary["status"].value_counts().to_dict()
    print(f"sweep {result.name}: {len(result.summary)} points, {counts.get('ok', 0)} ok, "
          f"{counts.get('failed', 0)} failed; ran {result.ran}, skipped {result.skipped} already complete; "
          f"{result.elapsed_s:.1f} s")
    print(f"wrote {where}/summary.csv, {where}/summary.parquet, {where}/index.html")
    for note in result.notes:
        print(f"note: {note}", file=sys.stderr)
    if result.failed:
        print(f"{len(result.failed)} of {len(result.summary)} points failed (rerun them with --resume):", file=sys.stderr)
        for item in result.failed:
            params = ", ".join(f"{k}={v!r}" for k, v in item["parameters"].items())
            cell = "" if item["cell"] is None else f" [cell {item['cell']}]"
            print(f"  {item['point_id']} ({params}){cell}: {item['error']}", file=sys.stderr)
        return 1
    return 0

"""A sweep file, read and checked: the notebook, its declared parameters, the points to run.

`load_sweep` validates a sweep file (sweeps/README.md) or a dict against the parameters the notebook
declares (and its parameter model in `runs.parameters`, when it has one) before anything runs, and
refuses a grid of more than MAX_POINTS points before building it. A `Point`'s id is a stable hash of
its parameters, so a rerun finds the points already complete.
"""

from __future__ import annotations

import ast
import contextlib
import difflib
import hashlib
import itertools
import json
import math
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ...errors import InputError
from ...inputs.limits import check_whole, parse_whole
from ...inputs.yamlio import read_yaml
from ...paths import PROJECT_ROOT, display
from ..papermill import quiet_notebook_warnings

#: Keys a sweep file may hold (sweeps/README.md).
SWEEP_KEYS = (
    "name",
    "description",
    "notebook",
    "parameters",
    "grid",
    "points",
    "headline",
    "cell_timeout_s",
)
#: The parameter the sweep sets for every point; a sweep file may not.
METRICS_PARAMETER = "metrics_path"
#: Per-cell execution limit when the sweep file gives none: generous for real runs, finite so a hung
#: kernel fails its point instead of the whole sweep.
DEFAULT_CELL_TIMEOUT_S = 1800.0
#: Longest per-cell limit a sweep file may set: a week. Beyond it the limit overflowed the kernel
#: client's timers (cell_timeout_s: 1e308 failed every point with an OverflowError and a ZMQ
#: traceback), and no cell of a notebook sweep should run longer.
MAX_CELL_TIMEOUT_S = 7 * 24 * 3600.0
#: Longest sweep name: it names the results folder (results/<name>), and file systems refuse a name
#: of more than 255 bytes (a 300-character name was reported as a problem with --out).
MAX_NAME_CHARS = 100
#: Hex digits of sha256 in a point id: 48 bits, collision-free for any grid a notebook sweep can
#: run.
POINT_ID_HEX = 12
#: Most points a sweep runs unless told more (`--max-points`): 1,000 points is about an hour of
#: kernel start-up alone (SECONDS_PER_POINT) before any notebook computes.
MAX_POINTS = 1000
#: Seconds a point costs before its notebook computes anything (kernel start, imports, papermill's
#: bookkeeping; measured at 3-6 s on the project's 2-core VM, sweeps/README.md): for the estimate
#: shown when a grid is refused for its size.
SECONDS_PER_POINT = 3.5
_SAFE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")
#: Types a notebook parameter may be annotated with that the sweep checks; others are passed
#: through.
_TYPES = {
    "int": int,
    "float": float,
    "str": str,
    "bool": bool,
    "list": list,
    "dict": dict,
    "None": type(None),
}


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
    canonical = json.dumps(
        parameters, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
    )
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()[:POINT_ID_HEX]


def notebook_parameters(path: str | os.PathLike) -> dict[str, dict]:
    """Parameters a notebook declares: name -> {type, default, help}, in the order of its cell.

    Papermill's inspection reads the annotation (``draws: int = 2000  # help``). It skips any line
    with a second ``=`` (``scale: float = 1.0  # 1.0 = as signed``), so names it missed are
    recovered from the cell's syntax tree; an unannotated parameter takes the type of its literal
    default.
    """
    path = Path(path)
    with quiet_notebook_warnings():  # a notebook saved before cell ids: nbformat adds them itself
        return _notebook_parameters(path, display(path))


def _notebook_parameters(path: Path, where: str) -> dict[str, dict]:
    import logging

    import nbformat
    import papermill

    try:
        nb = nbformat.read(path, as_version=4)
    except Exception as exc:  # nbformat raises several unrelated types for unreadable files
        raise InputError(
            f"{where}: not a readable notebook ({type(exc).__name__}: {exc})"
        ) from None
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
        raise InputError(
            f"{where}: the parameters cell is not valid Python (line {exc.lineno}: {exc.msg})"
        ) from None
    for node in tree.body:
        if isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            name, annotation, value = node.target.id, ast.unparse(node.annotation), node.value
        elif (
            isinstance(node, ast.Assign)
            and len(node.targets) == 1
            and isinstance(node.targets[0], ast.Name)
        ):
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
        declared[name] = {
            "type": type_name or "any",
            "default": default,
            "help": info.get("help", ""),
        }
    for name, info in inspected.items():  # anything papermill saw that the tree did not (unlikely)
        declared.setdefault(
            name,
            {
                "type": info.get("inferred_type_name") or "any",
                "default": info.get("default"),
                "help": info.get("help", ""),
            },
        )
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
            raise InputError(
                f"{described}: {value!r} is not plain data (numbers, strings, lists, mappings)"
            ) from None
    elif value is not None and not isinstance(value, (bool, int, float, str)):
        # YAML dates and the like: papermill would inject their repr, which the notebook cannot read
        raise InputError(
            f"{described}: {value!r} is a {type(value).__name__}; write it as a string or number"
        )
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
        if (whole := parse_whole(value)) is not None:
            return whole
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
    """The values against the notebook's declared parameter model (analysis.runs.parameters), when
    it has one: ranges and choices too, so a sweep fails before running rather than at every
    point."""
    from ..parameters import check, model_for

    if model_for(notebook) is not None:
        try:
            check(notebook.stem, values, partial=True)
        except InputError as err:
            raise InputError(f"{where}: {err}") from None


def _resolve_notebook(where: str, value: Any, base: Path | None) -> Path:
    if not isinstance(value, str) or not value.strip():
        raise InputError(f"{where}: notebook: expected the path of a .ipynb file, got {value!r}")
    given = Path(value).expanduser()
    candidates = (
        [given]
        if given.is_absolute()
        else [PROJECT_ROOT / given] + ([base / given] if base else [])
    )
    for candidate in candidates:
        if candidate.is_file():
            if candidate.suffix != ".ipynb":
                raise InputError(
                    f"{where}: notebook: {value!r} is not a .ipynb file (papermill runs the paired "
                    ".ipynb)"
                )
            return candidate.resolve()
    looked = " or ".join(display(c) for c in candidates)
    raise InputError(f"{where}: notebook: {value!r} not found (looked for {looked})")


def parse_max_points(value: Any) -> int:
    """--max-points: a whole number from 1 to 10**9; MAX_POINTS when not given."""
    return MAX_POINTS if value is None else check_whole(value, "--max-points", 1, 10**9)


def _check_count(where: str, count: int, max_points: int) -> None:
    """Refuse a sweep of more points than allowed, before any point is built."""
    if count > max_points:
        hours = count * SECONDS_PER_POINT / 3600
        raise InputError(
            f"{where}: {count:,} points is more than the {max_points:,} allowed; at about "
            f"{SECONDS_PER_POINT:g} s "
            f"of kernel start-up per point that is at least {hours:,.1f} hours on one worker "
            "before any notebook "
            f"computes. Allow it with --max-points {count}, or sweep inside one notebook "
            "(sweeps/README.md)"
        )


def load_sweep(
    source: str | os.PathLike | dict, *, name: str | None = None, max_points: int | None = None
) -> Sweep:
    """A validated Sweep from a sweep file or a dict; nothing runs.

    Keys and value types are checked against the parameters the notebook declares (and its
    parameter model in `runs.parameters`, when it has one).

    Parameters
    ----------
    source : str, PathLike or dict
        A sweep file (YAML; schema in sweeps/README.md) or its contents.
    name : str, optional
        The sweep's name (default: the file's ``name``, else the file name).
    max_points : int, optional
        The most points allowed (default MAX_POINTS); a larger grid is refused before it is built.

    Returns
    -------
    Sweep
        The notebook, its declared parameters, the fixed values and the points to run.

    Raises
    ------
    InputError
        Naming the key (and point) that is wrong and what is allowed.
    """
    max_points = parse_max_points(max_points)
    if isinstance(source, dict):
        raw, where, path = source, "sweep", None
    else:
        path = Path(source)
        where = display(path)
        raw = read_yaml(path, what="sweep file")
    if not isinstance(raw, dict):
        raise InputError(
            f"{where}: expected a mapping with keys {', '.join(SWEEP_KEYS)} at the top level"
        )
    extra = [k for k in raw if k not in SWEEP_KEYS]
    if extra:
        raise InputError(
            f"{where}: unknown key {extra[0]!r}; a sweep file holds {', '.join(SWEEP_KEYS)}"
        )

    sweep_name = name or raw.get("name") or (path.stem if path else None)
    if not isinstance(sweep_name, str) or not _SAFE_NAME.match(sweep_name):
        raise InputError(
            f"{where}: name: {sweep_name!r} must be letters, digits, '.', '_' or '-' (a folder "
            "name)"
        )
    if len(sweep_name) > MAX_NAME_CHARS:
        source = (
            "name" if (name or raw.get("name")) else "name (the file's name, without a name key)"
        )
        raise InputError(
            f"{where}: {source}: {len(sweep_name)} characters; a sweep's name is at most "
            f"{MAX_NAME_CHARS} (it names the results folder)"
        )
    description = raw.get("description") or ""
    if not isinstance(description, str):
        raise InputError(f"{where}: description: expected text")
    headline = raw.get("headline")
    if headline is not None and not (isinstance(headline, str) and headline):
        raise InputError(
            f"{where}: headline: expected the name of a metric the notebook records, got "
            f"{headline!r}"
        )
    timeout = raw.get("cell_timeout_s", DEFAULT_CELL_TIMEOUT_S)
    if (
        isinstance(timeout, bool)
        or not isinstance(timeout, (int, float))
        or not (0 < timeout <= MAX_CELL_TIMEOUT_S)
    ):
        raise InputError(
            f"{where}: cell_timeout_s: expected a positive number of seconds up to "
            f"{MAX_CELL_TIMEOUT_S:,.0f} (a week), got {timeout!r}"
        )

    if "notebook" not in raw:
        raise InputError(f"{where}: notebook: missing (the .ipynb the sweep runs)")
    notebook = _resolve_notebook(where, raw["notebook"], path.parent if path else None)
    declared = notebook_parameters(notebook)
    if METRICS_PARAMETER not in declared:
        raise InputError(
            f"{display(notebook)}: declares no {METRICS_PARAMETER!r} parameter, so a sweep cannot "
            "collect its "
            'metrics (add metrics_path: str = "" and call analysis.notebook.record_metrics)'
        )

    def checked(section: str, values: Any) -> dict[str, Any]:
        if not isinstance(values, dict):
            raise InputError(f"{where}: {section}: expected a mapping of parameter names to values")
        out = {}
        for key, value in values.items():
            if key == METRICS_PARAMETER:
                raise InputError(
                    f"{where}: {section}: {METRICS_PARAMETER!r} is set by the sweep for each "
                    "point; remove it"
                )
            if key not in declared:
                raise _unknown(f"{where}: {section}", str(key), declared, notebook)
            out[key] = _check_value(f"{where}: {section}", key, value, declared[key])
        _check_declared_model(f"{where}: {section}", notebook, out)
        return out

    fixed = checked("parameters", raw.get("parameters") or {})
    has_grid, has_points = raw.get("grid") is not None, raw.get("points") is not None
    if has_grid == has_points:
        raise InputError(
            f"{where}: give either grid (lists to combine) or points (a list of mappings), "
            f"{'not both' if has_grid else 'none given'}"
        )
    combos: list[dict[str, Any]] = []
    if has_grid:
        grid = raw["grid"]
        if not isinstance(grid, dict) or not grid:
            raise InputError(
                f"{where}: grid: expected a non-empty mapping of parameter names to lists of values"
            )
        lists = {}
        if all(
            isinstance(values, list) for values in grid.values()
        ):  # counted, never built, when too many
            _check_count(where, math.prod(len(values) for values in grid.values()), max_points)
        for key, values in grid.items():
            if not isinstance(values, list):
                raise InputError(
                    f"{where}: grid.{key}: expected a list of values, got {values!r} "
                    "(a single value belongs in parameters)"
                )
            if not values:
                raise InputError(f"{where}: grid.{key}: empty list; the grid would have no points")
            lists[key] = [checked(f"grid.{key}[{i}]", {key: v})[key] for i, v in enumerate(values)]
            seen = {}
            for i, v in enumerate(lists[key]):
                token = json.dumps(v, sort_keys=True)
                if token in seen:
                    raise InputError(
                        f"{where}: grid.{key}[{i}]: {v!r} repeats grid.{key}[{seen[token]}]"
                    )
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
                raise InputError(
                    f"{where}: points[{i}]: expected a non-empty mapping of parameter names to "
                    "values"
                )
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
            raise InputError(
                f"{where}: {label}[{i}] repeats {label}[{first_index[pid]}] (same parameters)"
            )
        first_index[pid] = i
        result.append(Point(pid, parameters))
    return Sweep(
        name=sweep_name,
        notebook=notebook,
        declared=declared,
        fixed=fixed,
        swept=swept,
        points=tuple(result),
        headline=headline,
        description=description.strip(),
        cell_timeout_s=float(timeout),
        source=path,
    )

"""Papermill sweeps: one executed notebook per point of a parameter grid, resumable and
failure-isolated.

A sweep file (sweeps/README.md) names a notebook, fixed `parameters`, and either a `grid` (the
product of lists) or a list of `points`. Every key and value is checked against the parameters the
notebook declares before anything runs. Each point runs on a local process pool (`workers`) or on a
Dask
cluster (`scheduler`) and lands in ``results/<name>/<point-id>/``::

    notebook.ipynb   the executed notebook (with papermill's error banner when it failed)
    params.json      the parameters it ran with (the sweep injects `metrics_path` itself)
    metrics.json     the headline numbers the notebook recorded (analysis.runs.cells.record_metrics)
    status.json      ok or failed, error, failing cell, duration; written last: the commit marker

Workers send results back and only this process writes them, each file under a temporary name and
then renamed, so a run killed at any moment leaves complete points or nothing; `resume` skips
complete points and reruns the rest. Then ``summary.csv``, ``summary.parquet`` and ``index.html`` (a
seaborn figure of the headline metric against the swept parameters, links to every executed
notebook).

The sweep file is read in `spec`, the results folder kept in `store`, points run in `run` and the
summary and index written in `index`; this package re-exports their names. Heavy imports (papermill,
pandas, dask, seaborn) happen inside the functions that need them, so ``import analysis`` stays
fast.
"""

from .index import summarize, write_index
from .run import (
    KERNEL_START_TIMEOUT_S,
    PARENT_POLL_S,
    SOURCE_EXCERPT_CHARS,
    SweepResult,
    parse_workers,
    run_cli,
    run_point,
    run_sweep,
)
from .spec import (
    DEFAULT_CELL_TIMEOUT_S,
    MAX_CELL_TIMEOUT_S,
    MAX_NAME_CHARS,
    MAX_POINTS,
    METRICS_PARAMETER,
    POINT_ID_HEX,
    SECONDS_PER_POINT,
    SWEEP_KEYS,
    Point,
    Sweep,
    load_sweep,
    notebook_parameters,
    parse_max_points,
    point_id,
)
from .store import (
    LOCK_NAME,
    MARKER_NAME,
    POINT_FILES,
    SCRATCH_NAME,
    TOP_FILES,
    _clean_stale,
    is_complete,
    prepare_out_dir,
)

__all__ = [
    "DEFAULT_CELL_TIMEOUT_S",
    "KERNEL_START_TIMEOUT_S",
    "LOCK_NAME",
    "MARKER_NAME",
    "MAX_CELL_TIMEOUT_S",
    "MAX_NAME_CHARS",
    "MAX_POINTS",
    "METRICS_PARAMETER",
    "PARENT_POLL_S",
    "POINT_FILES",
    "POINT_ID_HEX",
    "SCRATCH_NAME",
    "SECONDS_PER_POINT",
    "SOURCE_EXCERPT_CHARS",
    "SWEEP_KEYS",
    "TOP_FILES",
    "Point",
    "Sweep",
    "SweepResult",
    "_clean_stale",
    "is_complete",
    "load_sweep",
    "notebook_parameters",
    "parse_max_points",
    "parse_workers",
    "point_id",
    "prepare_out_dir",
    "run_cli",
    "run_point",
    "run_sweep",
    "summarize",
    "write_index",
]

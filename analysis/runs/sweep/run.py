"""Running a sweep: one point's notebook with papermill, the executors, and `run_sweep` itself.

`run_point` executes one point in a scratch folder and never raises for the notebook; points run
inline, on a process pool of `workers` (which die with the sweep) or on a Dask cluster
(`scheduler`), and only this process writes their results (`store`). `run_cli` is
``python -m analysis sweep``.
"""

from __future__ import annotations

import contextlib
import json
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

from ...errors import InputError, first_line
from ...inputs.limits import check_whole
from ...paths import PROJECT_ROOT, RESULTS_DIR, display
from ..papermill import kernel_options, quiet_notebook_warnings
from .index import summarize, write_index
from .spec import METRICS_PARAMETER, Point, Sweep, _check_count, load_sweep, parse_max_points
from .store import (
    SCRATCH_NAME,
    _clean_stale,
    _clear_point,
    _locked,
    _read_json,
    _record,
    is_complete,
    prepare_out_dir,
)

#: Seconds to wait for a kernel to start; a loaded machine can take tens of seconds.
KERNEL_START_TIMEOUT_S = 120
#: Characters of the failing cell's source kept in status.json and shown in messages.
SOURCE_EXCERPT_CHARS = 300
_SCHEDULER = re.compile(r"^(tcp|tls)://[^\s:/]+:\d{1,5}/?$")
_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")


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
    """Execute one point's notebook with papermill in a scratch folder; never raises for the
    notebook (nor warns about a notebook saved before cell ids existed).

    `task`: point_id, notebook (its JSON text), parameters, cell_timeout_s, scratch (a folder for
    the temporary files, or None for the system's). Returns status, error details, duration_s, the
    executed notebook (JSON text) and the recorded metrics; the caller writes them.
    """
    with quiet_notebook_warnings():
        return _run_point(task)


def _run_point(task: dict) -> dict:
    import logging

    import nbformat
    import papermill
    from papermill.exceptions import PapermillExecutionError

    logging.getLogger("papermill").setLevel(
        logging.ERROR
    )  # unknown-parameter warnings: checked already
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
            error = {
                "ename": exc.ename,
                "evalue": str(exc.evalue),
                "traceback": [_ANSI.sub("", line) for line in exc.traceback or []],
            }
        except (
            Exception
        ) as exc:  # kernel death, cell timeout, unreadable output: this point fails, not the sweep
            lines = str(exc).strip().splitlines()
            error = {
                "ename": type(exc).__name__,
                "evalue": lines[0] if lines else "",
                "traceback": lines,
            }
        notebook_text = executed.read_text(encoding="utf-8") if executed.is_file() else None
        metrics = None
        if error is None:
            if metrics_file.is_file():
                metrics = json.loads(metrics_file.read_text(encoding="utf-8"))
            else:
                error = {
                    "ename": "MissingMetrics",
                    "traceback": [],
                    "evalue": "the notebook ran but wrote no metrics; call "
                    "analysis.notebook.record_metrics"
                    f"(..., {METRICS_PARAMETER})",
                }
        cell_index = execution_count = source = None
        if error is not None and notebook_text is not None:
            cell_index, execution_count, source = _failing_cell(
                nbformat.reads(notebook_text, as_version=4)
            )
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
        "point_id": point.id,
        "status": "failed",
        "error": f"{type(exc).__name__}: {text}",
        "ename": type(exc).__name__,
        "traceback": [],
        "cell_index": None,
        "execution_count": None,
        "cell_source": None,
        "started": None,
        "duration_s": round(time.perf_counter() - clock, 3),
        "host": None,
        "notebook": None,
        "metrics": None,
    }


# ---- executors ---------------------------------------------------------------------------------


def parse_workers(value: Any) -> int | None:
    """--workers: a whole number from 1 to 1,024; None when not given."""
    return None if value is None else check_whole(value, "--workers", 1, 1024)


def _check_scheduler(scheduler: str | None, workers: int | None) -> None:
    if scheduler is None:
        return
    if scheduler != "local" and not _SCHEDULER.match(scheduler):
        raise InputError(f"--scheduler: expected tcp://HOST:PORT or 'local', got {scheduler!r}")
    if scheduler != "local" and workers is not None:
        raise InputError(
            "--workers: the Dask cluster at --scheduler has its own workers; give one or the other"
        )


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
            with (
                LocalCluster(
                    n_workers=workers or 2,
                    threads_per_worker=1,
                    processes=True,
                    dashboard_address=None,
                    silence_logs=logging.ERROR,
                ) as cluster,
                Client(cluster) as client,
            ):
                yield client
        finally:
            quiet.setLevel(level)
        return
    try:
        client = Client(scheduler, timeout="15s")
    except (OSError, TimeoutError) as exc:
        raise InputError(
            f"--scheduler: cannot reach a Dask scheduler at {scheduler} ({exc})"
        ) from None
    except (
        MemoryError
    ):  # a peer that is not Dask: its first bytes read as a message length of exabytes
        raise InputError(
            f"--scheduler: {scheduler} answered, but not as a Dask scheduler does"
        ) from None
    except Exception as exc:  # noqa: BLE001 - any other failure to connect is the same answer to the user
        raise InputError(
            f"--scheduler: cannot connect to a Dask scheduler at {scheduler} ({first_line(exc)})"
        ) from None
    with client:
        yield client


def _results(
    tasks: list[tuple[Point, dict]], *, workers: int, client=None
) -> Iterator[tuple[Point, dict]]:
    """Run tasks and yield (point, result) as they finish: inline, on a process pool, or on Dask."""
    clock = time.perf_counter()
    if client is not None:
        from dask.distributed import as_completed

        futures = {}
        for point, task in tasks:
            # impure: a rerun must execute again, never reuse a cached result for the same key
            future = client.submit(
                run_point, task, pure=False, key=f"sweep-{point.id}-{os.urandom(4).hex()}"
            )
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
    pool = ProcessPoolExecutor(
        max_workers=min(workers, len(tasks)),
        mp_context=multiprocessing.get_context("spawn"),
        initializer=_worker_init,
        initargs=(os.getpid(),),
    )
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
        if (
            not finished
        ):  # Ctrl-C or an error here: stop the workers now, do not wait for their notebooks
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
    elsewhere a thread checks every PARENT_POLL_S that the parent is still there. A worker's
    notebook kernel follows it (ipykernel exits when its parent goes).
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
    """Run every point of a sweep and write its results folder.

    A point whose notebook fails is recorded and the others go on; each point's executed notebook,
    parameters and metrics go to ``<out>/<point id>/``, then summary.csv, summary.parquet and
    index.html.

    Parameters
    ----------
    sweep : str, PathLike, dict or Sweep
        A sweep file (YAML; schema in sweeps/README.md), its contents, or a loaded Sweep.
    workers : int, optional
        Local worker processes, 1 to 1,024 (default 1: in this process); with ``scheduler="local"``
        the size of the local Dask cluster (default 2).
    scheduler : str, optional
        ``tcp://host:port`` of a Dask scheduler, or ``"local"`` for a local Dask cluster.
    out : str or PathLike, optional
        The results folder (default results/<sweep name>): new, empty, or a sweep's own.
    resume : bool
        Skip points already complete.
    progress : bool
        Show a progress bar on stderr.
    force : bool
        Write into an existing folder that is not a sweep's (never overwriting a file).
    max_points : int, optional
        Allow more than MAX_POINTS (1,000) points, up to this many.

    Returns
    -------
    SweepResult
        The summary table (one row per point), the failed points, counts and the results folder.

    Raises
    ------
    InputError
        For a bad sweep file, argument or folder, before any point runs.
    """
    from tqdm import (
        tqdm,
    )  # plain: tqdm.auto needs ipywidgets in Jupyter, and the bar goes to stderr

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
            # Allowed (a scratch disk, a shared drive) but said, once the folder is accepted:
            # results usually live in results/, and a typo'd path should not go unnoticed.
            print(
                f"warning: --out {resolved} is outside the project ({PROJECT_ROOT})",
                file=sys.stderr,
            )
        stack.enter_context(_locked(out_dir))
        _clean_stale(out_dir)
        done = [p for p in spec.points if resume and is_complete(out_dir / p.id)]
        done_ids = {p.id for p in done}
        todo = [p for p in spec.points if p.id not in done_ids]
        for point in todo:
            _clear_point(out_dir / point.id)

        notebook_text = spec.notebook.read_text(
            encoding="utf-8"
        )  # one version of it for every point
        scratch = None if remote is not None else str(out_dir / SCRATCH_NAME)
        tasks = [
            (
                p,
                {
                    "point_id": p.id,
                    "notebook": notebook_text,
                    "parameters": p.parameters,
                    "cell_timeout_s": spec.cell_timeout_s,
                    "scratch": scratch,
                },
            )
            for p in todo
        ]
        client = remote
        if todo and scheduler == "local":
            client = stack.enter_context(_dask_client("local", workers))
        counts = {"ok": 0, "failed": 0}
        bar = tqdm(
            total=len(spec.points),
            initial=len(done),
            desc=spec.name,
            unit="point",
            file=sys.stderr,
            disable=not progress or not todo,
            dynamic_ncols=True,
            smoothing=0,
        )
        try:
            bar.set_postfix_str(f"ok=0 failed=0 skipped={len(done)}")
            for point, result in _results(tasks, workers=workers or 1, client=client):
                _record(out_dir, spec, point, result)
                counts[result["status"]] += 1
                bar.set_postfix_str(
                    f"ok={counts['ok']} failed={counts['failed']} skipped={len(done)}"
                )
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
            failed.append(
                {
                    "point_id": point.id,
                    "error": status.get("error") or "no result",
                    "cell": status.get("cell_index"),
                    "parameters": {k: point.parameters.get(k) for k in spec.swept},
                }
            )
    return SweepResult(
        name=spec.name,
        out_dir=out_dir,
        summary=summary,
        ran=len(todo),
        skipped=len(done),
        elapsed_s=time.perf_counter() - clock,
        failed=failed,
        headline=headline,
        notes=notes,
    )


# ---- command line ------------------------------------------------------------------------------


def run_cli(args) -> int:
    """`python -m analysis sweep`: 0 when every point is ok, 1 when some failed (listed on
    stderr)."""
    result = run_sweep(
        args.sweep,
        workers=args.workers,
        scheduler=args.scheduler,
        out=args.out,
        resume=args.resume,
        progress=True,
        force=getattr(args, "force", False),
        max_points=getattr(args, "max_points", None),
    )
    where = display(result.out_dir)
    counts = result.summary["status"].value_counts().to_dict()
    print(
        f"sweep {result.name}: {len(result.summary)} points, {counts.get('ok', 0)} ok, "
        f"{counts.get('failed', 0)} failed; ran {result.ran}, skipped {result.skipped} already "
        "complete; "
        f"{result.elapsed_s:.1f} s"
    )
    print(f"wrote {where}/summary.csv, {where}/summary.parquet, {where}/index.html")
    for note in result.notes:
        print(f"note: {note}", file=sys.stderr)
    if result.failed:
        print(
            f"{len(result.failed)} of {len(result.summary)} points failed (rerun them with "
            "--resume):",
            file=sys.stderr,
        )
        for item in result.failed:
            params = ", ".join(f"{k}={v!r}" for k, v in item["parameters"].items())
            cell = "" if item["cell"] is None else f" [cell {item['cell']}]"
            print(f"  {item['point_id']} ({params}){cell}: {item['error']}", file=sys.stderr)
        return 1
    return 0

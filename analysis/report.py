"""`python -m analysis report`: execute every notebook with papermill and write an HTML report.

Each notebook in notebooks/ (whatever exists, in name order) runs with kernel python3 and the
project root as working directory into ``results/report-<UTC timestamp>/``: the executed notebook,
its HTML (nbconvert, figures embedded as data URIs, so one file is self-contained), the headline
metrics it records, and an ``index.html`` linking them. A notebook that fails does not stop the
others; the index marks it and the command exits 1. Progress goes to stderr; the headline race table
of the default scenario goes to stdout at the end.
"""

from __future__ import annotations

import datetime as dt
import html
import json
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from .errors import InputError
from .paths import NOTEBOOKS_DIR, PROJECT_ROOT, RESULTS_DIR, display

KERNEL = "python3"
#: Draws for notebooks that declare a `draws` parameter: the default scenario's count, so the
#: report's figures carry the same Monte Carlo precision as `simulate` (notebook defaults are
#: sized for CI).
REPORT_DRAWS = 20_000
#: Seconds one notebook may run before the report gives up on it.
NOTEBOOK_TIMEOUT_S = 1800


@dataclass
class NotebookRun:
    name: str
    notebook: Path
    executed: Path
    html: Path | None = None
    seconds: float = 0.0
    error: str | None = None
    parameters: dict = field(default_factory=dict)
    metrics: dict = field(default_factory=dict)


def discover(notebooks_dir: Path = NOTEBOOKS_DIR) -> list[Path]:
    """Every committed notebook (`NN_topic.ipynb`), in name order."""
    return sorted(p for p in notebooks_dir.glob("*.ipynb") if not p.name.startswith("."))


def declared_parameters(notebook: Path) -> dict:
    """Names of the notebook's papermill parameters and their inferred types (papermill's inspector)."""
    import papermill

    return {name: info["inferred_type_name"] for name, info in papermill.inspect_notebook(str(notebook)).items()}


def report_parameters(notebook: Path, out_dir: Path, *, draws: int | None = REPORT_DRAWS) -> dict:
    """Parameters the report passes: `metrics_path` into the report folder, `draws` when declared.

    A notebook with a declared parameter model (analysis.params) is asked by its model, which also
    checks the values before anything runs; any other notebook by papermill's inspection.
    """
    from .params import check, model_for

    model = model_for(notebook)
    declared = model.model_fields if model is not None else declared_parameters(notebook)
    params = {}
    if "metrics_path" in declared:
        params["metrics_path"] = str(out_dir / f"{notebook.stem}.metrics.json")
    if draws is not None and "draws" in declared:
        params["draws"] = int(draws)
    if model is not None:
        params = check(notebook.stem, params, partial=True)
    return params


def to_html(executed: Path, target: Path) -> Path:
    """nbconvert HTML of an executed notebook; PNG outputs are embedded as base64 data URIs."""
    import nbformat
    from nbconvert import HTMLExporter

    nb = nbformat.read(executed, as_version=4)
    body, _ = HTMLExporter(embed_images=True).from_notebook_node(nb)
    target.write_text(body, encoding="utf-8")
    return target


def run_notebook(notebook: Path, out_dir: Path, *, parameters: dict | None = None) -> NotebookRun:
    """Execute one notebook with papermill (cwd = project root) and convert it to HTML."""
    import papermill

    run = NotebookRun(name=notebook.stem, notebook=notebook, executed=out_dir / notebook.name,
                      parameters=dict(parameters or {}))
    start = time.perf_counter()
    try:
        papermill.execute_notebook(
            str(notebook), str(run.executed), parameters=run.parameters, kernel_name=KERNEL,
            cwd=str(PROJECT_ROOT), progress_bar=False, log_output=False, execution_timeout=NOTEBOOK_TIMEOUT_S,
            # ipykernel warns on stderr about unencrypted local TCP at every start: keep the bar readable
            extra_arguments=["--log-level=ERROR"],
        )
    except Exception as exc:  # papermill's execution error names the cell; keep going with the others
        run.error = _one_line(exc)
    run.seconds = time.perf_counter() - start
    if run.executed.exists():
        run.html = to_html(run.executed, out_dir / f"{notebook.stem}.html")
    metrics_file = out_dir / f"{notebook.stem}.metrics.json"
    if metrics_file.exists():
        run.metrics = json.loads(metrics_file.read_text())
    return run


def _one_line(exc: Exception) -> str:
    name = getattr(exc, "ename", type(exc).__name__)
    value = getattr(exc, "evalue", str(exc))
    text = f"{name}: {value}"
    return " ".join(text.split())[:500]


@dataclass
class Report:
    out_dir: Path
    runs: list[NotebookRun]
    created: str
    race_table: str | None = None

    @property
    def failed(self) -> list[NotebookRun]:
        return [run for run in self.runs if run.error is not None]


def build_report(out_dir: Path | None = None, *, notebooks: list[Path] | None = None,
                 draws: int | None = REPORT_DRAWS, progress: bool = True, race: bool = True) -> Report:
    """Run `notebooks` (default: all) into `out_dir` (default results/report-<UTC timestamp>), write
    the index (with the default race table when `race`)."""
    from tqdm.auto import tqdm

    created = dt.datetime.now(dt.timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    out_dir = Path(out_dir) if out_dir is not None else RESULTS_DIR / f"report-{created}"
    if out_dir.exists() and not out_dir.is_dir():
        raise InputError(f"--out: {display(out_dir)} exists and is not a folder")
    notebooks = discover() if notebooks is None else list(notebooks)
    if not notebooks:
        raise InputError(f"no notebooks found in {display(NOTEBOOKS_DIR)}")
    out_dir.mkdir(parents=True, exist_ok=True)
    runs = []
    bar = tqdm(notebooks, desc="report", unit="notebook", file=sys.stderr, disable=not progress)
    for notebook in bar:
        bar.set_postfix_str(notebook.stem)
        runs.append(run_notebook(notebook, out_dir, parameters=report_parameters(notebook, out_dir, draws=draws)))
    bar.close()
    report = Report(out_dir=out_dir, runs=runs, created=created, race_table=race_table() if race else None)
    write_index(report)
    return report


def write_index(report: Report) -> Path:
    """index.html: one row per notebook (status, time, parameters, links, headline metrics), then the
    race table."""
    from . import __version__
    from .catalog import load_catalog
    from .provenance import git_commit

    commit, dirty = git_commit()
    out_dir, created, race_table = report.out_dir, report.created, report.race_table
    rows = []
    for run in report.runs:
        status = "ok" if run.error is None else f"FAILED: {html.escape(run.error)}"
        links = []
        if run.html is not None:
            links.append(f'<a href="{html.escape(run.html.name)}">HTML</a>')
        if run.executed.exists():
            links.append(f'<a href="{html.escape(run.executed.name)}">notebook</a>')
        params = ", ".join(f"{k}={v}" for k, v in run.parameters.items() if k != "metrics_path") or "defaults"
        metrics = "".join(
            f"<li><code>{html.escape(str(k))}</code>: {html.escape(_fmt(v))}</li>" for k, v in list(run.metrics.items())[:12]
        )
        rows.append(
            f"<tr><td><b>{html.escape(run.name)}</b></td><td>{' | '.join(links)}</td>"
            f"<td class=\"{'ok' if run.error is None else 'bad'}\">{status}</td><td>{run.seconds:.1f} s</td>"
            f"<td>{html.escape(params)}</td><td><ul>{metrics}</ul></td></tr>"
        )
    race = f"<h2>Race (default scenario)</h2><pre>{html.escape(race_table)}</pre>" if race_table else ""
    page = f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>compute-race report {html.escape(created)}</title>
<style>
body {{ font-family: system-ui, sans-serif; margin: 2em; max-width: 80em; }}
table {{ border-collapse: collapse; }} td, th {{ border: 1px solid #ccc; padding: 0.4em 0.6em; vertical-align: top; }}
.ok {{ color: #176117; }} .bad {{ color: #a11; }} ul {{ margin: 0; padding-left: 1.2em; font-size: 0.85em; }}
pre {{ background: #f6f6f6; padding: 1em; overflow-x: auto; }}
</style></head><body>
<h1>compute-race report</h1>
<p>Created {html.escape(created)} (UTC). compute-race {html.escape(__version__)}, git commit
{html.escape(str(commit))}{' (uncommitted changes)' if dirty else ''}, data {html.escape(load_catalog().data_hash)}.</p>
<table><tr><th>notebook</th><th>open</th><th>status</th><th>time</th><th>parameters</th><th>headline metrics</th></tr>
{''.join(rows)}
</table>
{race}
</body></html>
"""
    target = out_dir / "index.html"
    target.write_text(page, encoding="utf-8")
    return target


def _fmt(value) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)


def race_table() -> str:
    """The headline race of the default scenario at its own draw count."""
    from .scenarios import what_if

    return what_if(None).simulate().to_table()


def run_cli(args) -> int:
    """Entry point of `python -m analysis report [--out DIR]`."""
    out = Path(args.out).resolve() if getattr(args, "out", None) else None
    started = time.perf_counter()
    report = build_report(out)
    print(report.race_table)
    print()
    ok = len(report.runs) - len(report.failed)
    print(f"report: {ok} of {len(report.runs)} notebooks ran in {time.perf_counter() - started:.0f} s; "
          f"open {display(report.out_dir / 'index.html')}")
    for run in report.failed:
        print(f"error: notebook {run.name} failed: {run.error} (see {display(run.executed)})", file=sys.stderr)
    return 1 if report.failed else 0

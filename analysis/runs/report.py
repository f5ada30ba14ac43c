"""`python -m analysis report`: execute every notebook with papermill and write an HTML report.

Each notebook in notebooks/ (whatever exists, in name order) runs with kernel python3 and the
project root as working directory into ``results/report-<UTC timestamp>/``: the executed notebook,
its HTML (nbconvert, figures embedded as data URIs and no script fetched from a CDN, so one file
opens offline), the metrics it records, ``metrics.json`` (all of them, by notebook) and an
``index.html`` listing every metric, formatted with its unit. ``--update-readme`` fills the
README's ``<!-- results:NOTEBOOK.METRIC -->`` markers from the run (`update_readme`). A notebook
that fails does not stop the others; the index marks it and the command exits 1. Progress goes to
stderr; the headline race table of the default scenario goes to stdout at the end.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import html
import json
import os
import re
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import InputError
from ..paths import NOTEBOOKS_DIR, PROJECT_ROOT, RESULTS_DIR, display, open_output_dir
from .papermill import kernel_options, quiet_notebook_warnings

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
    """Names of the notebook's papermill parameters and their inferred types (papermill's
    inspector)."""
    import papermill

    with quiet_notebook_warnings():
        inspected = papermill.inspect_notebook(str(notebook))
    return {name: info["inferred_type_name"] for name, info in inspected.items()}


def report_parameters(notebook: Path, out_dir: Path, *, draws: int | None = REPORT_DRAWS) -> dict:
    """Parameters the report passes: `metrics_path` into the report folder, `draws` when declared.

    A notebook with a declared parameter model (analysis.runs.parameters) is asked by its model,
    which also checks the values before anything runs; any other notebook by papermill's inspection.
    """
    from .parameters import check, model_for

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


#: nbconvert's JupyterLab template less everything it would fetch from a CDN (require.js, MathJax,
#: mermaid, the widget manager): the report must open offline, and no notebook here needs them
#: (figures are PNGs, embedded; a "$" in prose stays a dollar sign instead of starting TeX).
OFFLINE_TEMPLATE = """{%- extends 'lab/index.html.j2' -%}
{%- block html_head_js -%}{%- endblock html_head_js -%}
{%- block jupyter_widgets -%}{%- endblock jupyter_widgets -%}
{%- block html_head_js_mathjax -%}{%- endblock html_head_js_mathjax -%}
{%- block html_head_js_mermaidjs -%}{%- endblock html_head_js_mermaidjs -%}
"""


def to_html(executed: Path, target: Path) -> Path:
    """Self-contained nbconvert HTML of an executed notebook: PNG outputs embedded as base64 data
    URIs, the lab template's CSS inline, and no script or stylesheet fetched from the network."""
    import nbformat
    from jinja2 import DictLoader
    from nbconvert import HTMLExporter

    with quiet_notebook_warnings():
        nb = nbformat.read(executed, as_version=4)
    exporter = HTMLExporter(
        embed_images=True,
        extra_loaders=[DictLoader({"offline.html.j2": OFFLINE_TEMPLATE})],
        template_file="offline.html.j2",
    )
    body, _ = exporter.from_notebook_node(nb)
    target.write_text(body, encoding="utf-8")
    return target


def network_references(page: str) -> list[str]:
    """Every script, stylesheet, image or frame the page would fetch over the network (should be
    none)."""
    import re

    pattern = (
        r"<(?:script|link|img|iframe)\b[^>]*\b(?:src|href)\s*=\s*[\"']?((?:https?:)?//[^\"'\s>]+)"
    )
    found = re.findall(pattern, page, flags=re.IGNORECASE)
    found += re.findall(
        r"@import\s+(?:url\()?[\"']?((?:https?:)?//[^\"')\s]+)", page, flags=re.IGNORECASE
    )
    found += re.findall(r"import\(\s*[\"']((?:https?:)?//[^\"']+)", page)
    return found


def _execute(notebook: str, executed: str, parameters: dict) -> str | None:
    """Run one notebook with papermill (cwd = project root); its error in one line, or None. In
    `build_report` this runs in the report's worker process (`notebook_worker`)."""
    import papermill

    try:
        with quiet_notebook_warnings():
            papermill.execute_notebook(
                notebook,
                executed,
                parameters=parameters,
                cwd=str(PROJECT_ROOT),
                progress_bar=False,
                log_output=False,
                execution_timeout=NOTEBOOK_TIMEOUT_S,
                **kernel_options(),
            )
    except Exception as exc:  # papermill's execution error names the cell; go on with the others
        return _one_line(exc)
    return None


@contextlib.contextmanager
def notebook_worker():
    """One worker process that executes the report's notebooks, as the sweep's workers do
    (`sweep.run._worker_init`: it ignores Ctrl-C and dies with this process). On Ctrl-C this
    process stops it at once and its kernel follows quietly; run here, papermill shut the kernel
    down mid-cell and the kernel printed about 20 lines of ZMQ traceback before `error:
    interrupted`, or the clean-up hung."""
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    from .sweep.run import _worker_init

    pool = ProcessPoolExecutor(
        max_workers=1,
        mp_context=multiprocessing.get_context("spawn"),
        initializer=_worker_init,
        initargs=(os.getpid(),),
    )
    finished = False
    try:
        yield pool
        finished = True
    finally:
        if not finished:
            for process in list((getattr(pool, "_processes", None) or {}).values()):
                with contextlib.suppress(Exception):
                    process.kill()
        pool.shutdown(wait=finished, cancel_futures=True)


def run_notebook(
    notebook: Path, out_dir: Path, *, parameters: dict | None = None, worker=None
) -> NotebookRun:
    """Execute one notebook with papermill (cwd = project root) and convert it to HTML; in
    `worker` (a `notebook_worker()`) when given, else in this process."""
    run = NotebookRun(
        name=notebook.stem,
        notebook=notebook,
        executed=out_dir / notebook.name,
        parameters=dict(parameters or {}),
    )
    start = time.perf_counter()
    task = (str(notebook), str(run.executed), run.parameters)
    if worker is None:
        run.error = _execute(*task)
    else:
        try:
            run.error = worker.submit(_execute, *task).result()
        except Exception as exc:  # BrokenProcessPool: the worker died (out of memory, killed)
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


#: A report folder holds this file: a later report may write there again (replacing its own files);
#: any other folder that is not empty is refused (`prepare_report_dir`).
REPORT_MARKER = ".compute-race-report"


def prepare_report_dir(out_dir: Path) -> None:
    """Make sure a report may write into `out_dir`: a new folder, an empty one or one holding
    REPORT_MARKER; create it and mark it. Anything else is refused (InputError) before a file is
    written: `report --out /etc` wrote two dozen files into /etc, and a folder of the user's whose
    names merely looked like a report's (index.html, metrics.json, 00_assumptions.html) had them
    replaced. Only the marker says a report wrote the folder."""
    entries, ours = open_output_dir(out_dir, REPORT_MARKER)
    if entries and not ours:
        shown = ", ".join(sorted(entries)[:3]) + (", ..." if len(entries) > 3 else "")
        raise InputError(
            f"--out: {display(out_dir)} is not a report's folder (no {REPORT_MARKER} marker) and "
            f"holds {len(entries)} entries ({shown}); a report writes only into a new folder, an "
            "empty one or its own. Pick another --out"
        )
    if not ours:
        try:
            (out_dir / REPORT_MARKER).write_text("compute-race report\n", encoding="utf-8")
        except OSError as exc:
            raise InputError(
                f"--out: cannot write in {display(out_dir)} ({exc.strerror or exc})"
            ) from None


def build_report(
    out_dir: Path | None = None,
    *,
    notebooks: list[Path] | None = None,
    draws: int | None = REPORT_DRAWS,
    progress: bool = True,
    race: bool = True,
) -> Report:
    """Run `notebooks` (default: all) into `out_dir` (default results/report-<UTC timestamp>), write
    the index (with the default race table when `race`)."""
    from tqdm.auto import tqdm

    created = dt.datetime.now(dt.timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    out_dir = Path(out_dir) if out_dir is not None else RESULTS_DIR / f"report-{created}"
    notebooks = discover() if notebooks is None else list(notebooks)
    if not notebooks:
        raise InputError(f"no notebooks found in {display(NOTEBOOKS_DIR)}")
    prepare_report_dir(out_dir)
    runs = []
    bar = tqdm(notebooks, desc="report", unit="notebook", file=sys.stderr, disable=not progress)
    with notebook_worker() as worker:
        for notebook in bar:
            bar.set_postfix_str(notebook.stem)
            params = report_parameters(notebook, out_dir, draws=draws)
            runs.append(run_notebook(notebook, out_dir, parameters=params, worker=worker))
    bar.close()
    report = Report(
        out_dir=out_dir, runs=runs, created=created, race_table=race_table() if race else None
    )
    write_index(report)
    return report


def readable_time(stamp: str) -> str:
    """``20261201T000540Z`` as ``1 December 2026, 00:05 UTC`` (other text is returned unchanged)."""
    try:
        when = dt.datetime.strptime(stamp, "%Y%m%dT%H%M%SZ")
    except ValueError:
        return stamp
    return f"{when.day} {when:%B %Y, %H:%M} UTC"


def _lab_keys() -> dict[str, str]:
    """Metric-key suffix of every lab in the catalog (``meta`` -> ``Meta``), longest first."""
    from ..inputs.catalog import load_catalog

    labs = {m.lab for m in load_catalog().models.values()}
    keys = {"_".join(lab.lower().split()): lab for lab in labs}
    return dict(sorted(keys.items(), key=lambda kv: -len(kv[0])))


def metric_groups(
    metrics: dict, labs: dict[str, str] | None = None
) -> tuple[list[str], list[tuple[str, dict]]]:
    """Metrics as rows people read: a metric recorded per lab (``p_first_meta``,
    ``p_first_deepseek``) becomes one row with a column per lab; the others keep one value. Returns
    (lab columns, rows of (metric stem, {lab or "": value})), in recorded order."""
    labs = _lab_keys() if labs is None else labs
    columns: list[str] = []
    rows: dict[str, dict] = {}
    for key, value in metrics.items():
        stem, lab = key, ""
        for suffix, name in labs.items():
            head = key[: -len(suffix) - 1]
            if (
                key.endswith(f"_{suffix}")
                and head
                and not any(other in head.split("_") for other in labs)
            ):
                stem, lab = head, name
                break
        if lab and lab not in columns:
            columns.append(lab)
        rows.setdefault(stem, {})[lab] = value
    return columns, list(rows.items())


def metrics_html(metrics: dict, *, open_up_to: int = 12) -> str:
    """Every metric of a notebook, formatted with its unit, labs side by side; folded when long."""
    from ..formatting import format_value, label

    if not metrics:
        return '<p class="muted">no metrics recorded</p>'
    labs, rows = metric_groups(metrics)
    header = "".join(f"<th>{html.escape(lab)}</th>" for lab in labs) + (
        "<th>value</th>" if any("" in r for _, r in rows) else ""
    )
    body = []
    for stem, values in rows:
        cells = "".join(
            f"<td>{html.escape(format_value(values[lab], stem)) if lab in values else ''}</td>"
            for lab in labs
        )
        if any("" in r for _, r in rows):
            cells += (
                f"<td>{html.escape(format_value(values[''], stem)) if '' in values else ''}</td>"
            )
        body.append(
            '<tr><th class="metric" '
            f'title="{html.escape(stem)}">{html.escape(label(stem))}</th>{cells}</tr>'
        )
    table = f'<table class="metrics"><tr><th>metric (unit)</th>{header}</tr>{"".join(body)}</table>'
    summary = f"{len(metrics)} metrics" + (f" ({len(rows)} rows, by lab)" if labs else "")
    return (
        f"<details{' open' if len(rows) <= open_up_to else ''}>"
        f"<summary>{summary}</summary>{table}</details>"
    )


def write_index(report: Report) -> Path:
    """index.html: one row per notebook (status, time, parameters, links), every metric of every
    notebook (formatted, with units, labs side by side, long lists folded), then the race table.
    Also metrics.json: every notebook's metrics, by notebook (what `update_readme` reads)."""
    from .. import __version__
    from ..inputs.catalog import load_catalog
    from ..provenance import git_commit

    commit, dirty = git_commit()
    out_dir, created, race_table = report.out_dir, report.created, report.race_table
    rows, sections = [], []
    for run in report.runs:
        status = "ok" if run.error is None else f"FAILED: {html.escape(run.error)}"
        links = []
        if run.html is not None:
            links.append(f'<a href="{html.escape(run.html.name)}">HTML</a>')
        if run.executed.exists():
            links.append(f'<a href="{html.escape(run.executed.name)}">notebook</a>')
        params = (
            ", ".join(
                f"{k}={v:,}" if isinstance(v, int) else f"{k}={v}"
                for k, v in run.parameters.items()
                if k != "metrics_path"
            )
            or "defaults"
        )
        rows.append(
            f'<tr><td><a href="#{html.escape(run.name)}"><b>{html.escape(run.name)}</b></a></td>'
            f"<td>{' | '.join(links)}</td>"
            f'<td class="{"ok" if run.error is None else "bad"}">{status}</td>'
            f"<td>{run.seconds:,.1f} s</td>"
            f"<td>{html.escape(params)}</td><td>{len(run.metrics)}</td></tr>"
        )
        sections.append(
            f'<h3 id="{html.escape(run.name)}">{html.escape(run.name)}</h3>'
            f"{metrics_html(run.metrics)}"
        )
    race = (
        f"<h2>Race (default scenario)</h2><pre>{html.escape(race_table)}</pre>"
        if race_table
        else ""
    )
    page = f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>compute-race report, {html.escape(readable_time(created))}</title>
<style>
body {{ font-family: system-ui, sans-serif; margin: 2em; max-width: 80em; }}
table {{ border-collapse: collapse; }} td, th {{ border: 1px solid #ccc; padding: 0.3em 0.6em; vertical-align: top; }}
table.metrics td {{ text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }}
table.metrics th.metric {{ text-align: left; font-weight: normal; }}
.ok {{ color: #176117; }} .bad {{ color: #a11; }} .muted {{ color: #666; }}
summary {{ cursor: pointer; margin: 0.3em 0; }}
pre {{ background: #f6f6f6; padding: 1em; overflow-x: auto; }}
</style></head><body>
<h1>compute-race report</h1>
<p>Created {html.escape(readable_time(created))}. compute-race {html.escape(__version__)}, git commit
{html.escape(str(commit))}{" (uncommitted changes)" if dirty else ""}, data {html.escape(load_catalog().data_hash)}.
Every page here opens offline: figures are embedded and nothing is fetched from the network.</p>
<table><tr><th>notebook</th><th>open</th><th>status</th><th>time</th><th>parameters</th><th>metrics</th></tr>
{"".join(rows)}
</table>
<h2>Metrics</h2>
<p class="muted">Every metric each notebook records (<code>metrics.json</code> holds the raw numbers); units in the
first column, one column per lab where a metric is recorded per lab.</p>
{"".join(sections)}
{race}
</body></html>
"""  # noqa: E501 (the page as written, byte for byte; HTML ignores the breaks)
    target = out_dir / "index.html"
    target.write_text(page, encoding="utf-8")
    (out_dir / "metrics.json").write_text(
        json.dumps({run.name: run.metrics for run in report.runs}, indent=2), encoding="utf-8"
    )
    return target


# ---------------------------------------------------------------------------------------------
# README figures from a run
# ---------------------------------------------------------------------------------------------

#: ``<!-- results:NOTEBOOK.METRIC -->value<!-- /results -->`` or ``<!-- results:NOTEBOOK.METRIC|SPEC
#: -->`` with a Python format spec (``.0%``, ``.1f``); without one the value is formatted by its
#: kind.
MARKER = re.compile(
    r"<!-- results:(?P<name>[\w.]+?)(?:\|(?P<spec>[^ ]+))? -->(?P<old>(?:(?!<!--).)*?)<!-- "
    r"/results -->",
    re.S,
)


def update_readme(text: str, metrics: dict[str, dict]) -> tuple[str, list[str]]:
    """Fill every README marker from a report's metrics (``{notebook: {metric: value}}``).

    Returns the new text and the names filled; a marker naming a notebook or metric the report does
    not have raises InputError (the README would otherwise keep a stale figure silently).
    """
    from ..formatting import format_value

    filled = []

    def fill(match: re.Match) -> str:
        name, spec = match["name"], match["spec"]
        notebook, _, metric = name.partition(".")
        if notebook not in metrics or metric not in metrics[notebook]:
            known = ", ".join(sorted(metrics)) or "none"
            raise InputError(
                f"README marker results:{name}: no metric {metric!r} in notebook {notebook!r} "
                f"of this report (notebooks: {known})"
            )
        value = metrics[notebook][metric]
        if value is None:
            raise InputError(
                f"README marker results:{name}: the metric has no value in this report"
            )
        shown = format(value, spec) if spec else format_value(value, metric)
        filled.append(name)
        return f"<!-- results:{name}{'|' + spec if spec else ''} -->{shown}<!-- /results -->"

    return MARKER.sub(fill, text), filled


def update_readme_file(readme: Path, metrics: dict[str, dict]) -> list[str]:
    """`update_readme` on a file, written only when every marker could be filled."""
    text = readme.read_text(encoding="utf-8")
    new, filled = update_readme(text, metrics)
    if new != text:
        readme.write_text(new, encoding="utf-8")
    return filled


def race_table() -> str:
    """The headline race of the default scenario at its own draw count."""
    from ..studies.whatif import what_if

    return what_if(None).simulate().to_table()


def run_cli(args) -> int:
    """Entry point of `python -m analysis report [--out DIR] [--update-readme]`."""
    out = Path(args.out).resolve() if getattr(args, "out", None) else None
    started = time.perf_counter()
    report = build_report(out)
    print(report.race_table)
    print()
    from ..studies.deal_value import (
        frontier_report,
    )  # the next-frontier race and the ~$21B deal's marginal value

    print(frontier_report())
    print()
    ok = len(report.runs) - len(report.failed)
    print(
        f"report: {ok} of {len(report.runs)} notebooks ran in {time.perf_counter() - started:.0f} "
        "s; "
        f"open {display(report.out_dir / 'index.html')}"
    )
    for run in report.failed:
        print(
            f"error: notebook {run.name} failed: {run.error} (see {display(run.executed)})",
            file=sys.stderr,
        )
    if getattr(args, "update_readme", False):
        if report.failed:
            print(
                "error: --update-readme: not updating README.md from a report with failed "
                "notebooks",
                file=sys.stderr,
            )
            return 1
        filled = update_readme_file(
            PROJECT_ROOT / "README.md", {run.name: run.metrics for run in report.runs}
        )
        print(f"README.md: {len(filled)} figures filled from this report")
    return 1 if report.failed else 0

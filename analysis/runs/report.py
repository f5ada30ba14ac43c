"""`python -m analysis report`: execute every notebook with papermill and write an HTML report.

Each notebook in notebooks/ (whatever exists, in name order) runs with kernel python3 and the
project root as working directory into ``results/report-<UTC timestamp>/``: the executed notebook,
its HTML (nbconvert, figures embedded as data URIs and no script fetched from a CDN, so one file
opens offline), the metrics it records, ``metrics.json`` (all of them, by notebook) and an
``index.html`` listing every metric, formatted with its unit. ``--update-readme`` fills the
README's ``<!-- results:NOTEBOOK.METRIC -->`` markers from the run (`update_readme`). A notebook
that fails does not stop the others; the index marks it and the command exits 1. Progress goes to
stderr; the headline race table of the default scenario goes to stdout at the end.

The index is written for readers: it opens with the headline answers (`HEADLINES`: the race, the
deal's value; each names its notebook, metrics and figure, so a new one is one entry) as formatted
tables with one figure each, then the full race table, the notebooks and every metric. Notebook
pages fold their code under a toggle and show papermill's injected parameters as one line.
"""

from __future__ import annotations

import contextlib
import datetime as dt
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
from .report_index import (  # noqa: F401  (the index's parts, re-exported: report.write_index)
    HEADLINES,
    Headline,
    headline_html,
    metric_groups,
    metrics_html,
    notebook_figure,
    readable_time,
    write_index,
)

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
#: (figures are PNGs, embedded; a "$" in prose stays a dollar sign instead of starting TeX). For
#: readers, every code cell's source is folded under a "code" toggle (a <details> element: no
#: script), so a page reads as prose, tables and figures; the checks stay in the notebooks.
OFFLINE_TEMPLATE = """{%- extends 'lab/index.html.j2' -%}
{%- block html_head_js -%}{%- endblock html_head_js -%}
{%- block jupyter_widgets -%}{%- endblock jupyter_widgets -%}
{%- block html_head_js_mathjax -%}{%- endblock html_head_js_mathjax -%}
{%- block html_head_js_mermaidjs -%}{%- endblock html_head_js_mermaidjs -%}
{%- block input_group -%}
<details class="cr-code"><summary>code</summary>
{{ super() }}
</details>
{%- endblock input_group -%}
{%- block body_header -%}
{{ super() }}
<style>
details.cr-code > summary { color: #777; font-size: 0.8em; cursor: pointer; margin: 0.2em 0; }
details.cr-code:not([open]) { margin-bottom: 0.3em; }
details.cr-claim > summary { color: #555; font-size: 0.85em; cursor: pointer; }
.jp-Cell:has(> .jp-Cell-inputWrapper > details.cr-code):not(:has(.jp-OutputArea-output)) {
  padding-top: 0; padding-bottom: 0; }
</style>
{%- endblock body_header -%}
"""

#: The tag papermill gives the cell it injects with a run's parameters.
INJECTED_TAG = "injected-parameters"


def for_readers(nb):
    """The executed notebook as the report's page shows it: papermill's injected-parameters cell
    (code holding an absolute `metrics_path`) becomes one line naming the parameters the report
    set, metrics_path left out."""
    import ast

    import nbformat

    for i, cell in enumerate(nb.cells):
        if INJECTED_TAG not in cell.get("metadata", {}).get("tags", []):
            continue
        shown = []
        for node in ast.parse(cell.source).body:
            if isinstance(node, ast.Assign) and isinstance(node.targets[0], ast.Name):
                name = node.targets[0].id
                if name == "metrics_path":
                    continue
                try:
                    value = ast.literal_eval(node.value)
                except ValueError:
                    value = ast.unparse(node.value)
                shown.append(
                    f"`{name}` = {value:,}" if isinstance(value, int) else f"`{name}` = {value!r}"
                )
        text = (
            f"*Run by the report with {', '.join(shown)}; every other parameter at its default.*"
            if shown
            else "*Run by the report with the notebook's default parameters.*"
        )
        nb.cells[i] = nbformat.v4.new_markdown_cell(text)
    return nb


def to_html(executed: Path, target: Path) -> Path:
    """Self-contained nbconvert HTML of an executed notebook for readers: PNG outputs embedded as
    base64 data URIs, the lab template's CSS inline, no script or stylesheet fetched from the
    network, code folded under a toggle, no prompts, papermill's injected cell as one line."""
    import nbformat
    from jinja2 import DictLoader
    from nbconvert import HTMLExporter

    with quiet_notebook_warnings():
        nb = for_readers(nbformat.read(executed, as_version=4))
    exporter = HTMLExporter(
        embed_images=True,
        exclude_input_prompt=True,
        exclude_output_prompt=True,
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
    race_html: str | None = None

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
    """Execute the notebooks with papermill and write an HTML report with an index.

    Parameters
    ----------
    out_dir : Path, optional
        The report folder (default results/report-<UTC timestamp>): new, empty, or a report's own.
    notebooks : list of Path, optional
        The notebooks to run (default: every notebook in notebooks/, in name order).
    draws : int, optional
        Passed as ``draws`` to each notebook that declares it (default REPORT_DRAWS, 20,000); None
        keeps each notebook's own.
    progress : bool
        Show a progress bar on stderr.
    race : bool
        Put the default scenario's race table in the index.

    Returns
    -------
    Report
        The folder, one NotebookRun per notebook (``.failed`` lists those that failed) and the race
        table.

    Raises
    ------
    InputError
        For a folder the report may not write into, or no notebooks to run.
    """
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
    text, table = race_summary() if race else (None, None)
    report = Report(out_dir=out_dir, runs=runs, created=created, race_table=text, race_html=table)
    write_index(report)
    return report


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


#: Draws per hindcast race in the `make run` summary (its notebook, 31, runs the scenarios' 20,000).
HINDCAST_DRAWS = 5000


def race_table() -> str:
    """The headline race of the default scenario at its own draw count."""
    return race_summary()[0]


#: The race table's columns as the index shows them (units in the names, for `present`).
_RACE_COLUMNS = {
    "months_p10": "time_to_train_p10_months",
    "months_p50": "time_to_train_p50_months",
    "months_p90": "time_to_train_p90_months",
}


def race_summary() -> tuple[str, str]:
    """The race of the default scenario at its own draw count: as text (stdout) and as a formatted
    HTML table (the index), P(nobody within the horizon) under it rather than as a competitor."""
    from ..formatting import present, probability
    from ..studies.whatif import what_if

    scenario = what_if(None)
    result = scenario.simulate()
    frame = result.race.rename(columns=_RACE_COLUMNS)
    nobody = frame["lab"].astype(str).str.startswith("nobody")
    table = present(frame[~nobody].set_index("lab").rename_axis(None)).to_html()
    note = (
        f'<p class="muted">P(nobody finishes within the horizon): '
        f"{probability(frame.loc[nobody, 'p_first'].sum())}.</p>"
        if nobody.any()
        else ""
    )
    intro = (
        f'<p class="muted">At the scenario\'s own {scenario.scenario.draws:,} draws, as '
        "<code>python -m analysis simulate</code> prints it.</p>"
    )
    return result.to_table(), intro + table + note


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
    from ..studies.hindcast import hindcast  # the race against history (2024-01 and 2024-06)

    print(hindcast(draws=HINDCAST_DRAWS).to_table())
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

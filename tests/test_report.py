"""analysis.runs.report: papermill runs, HTML with embedded figures, an index, failures isolated."""

from __future__ import annotations

import base64
import contextlib
import json
import re
from html import escape
from html.parser import HTMLParser

import nbformat
import pytest
from conftest import assert_one_line_error, run_cli

from analysis.errors import InputError
from analysis.paths import NOTEBOOKS_DIR, PROJECT_ROOT
from analysis.runs import report


def _notebook(
    path, *cells, parameters="draws = 10  # help: draws\nmetrics_path = ''  # help: metrics file"
):
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    nb.cells = [
        nbformat.v4.new_markdown_cell("# test"),
        nbformat.v4.new_code_cell(parameters, metadata={"tags": ["parameters"]}),
    ]
    nb.cells += [nbformat.v4.new_code_cell(c) for c in cells]
    nbformat.write(nb, path)
    return path


def test_discover_finds_every_committed_notebook():
    found = report.discover()
    assert found == sorted(NOTEBOOKS_DIR.glob("*.ipynb"))
    assert [p.stem for p in found][:2] == ["00_assumptions", "10_compute_budgets"]


def test_report_parameters_only_set_what_a_notebook_declares(tmp_path):
    declared = report.report_parameters(NOTEBOOKS_DIR / "20_time_to_train_race.ipynb", tmp_path)
    assert declared == {
        "metrics_path": str(tmp_path / "20_time_to_train_race.metrics.json"),
        "draws": report.REPORT_DRAWS,
    }
    assert report.report_parameters(NOTEBOOKS_DIR / "00_assumptions.ipynb", tmp_path).keys() == {
        "metrics_path"
    }


@pytest.mark.slow
def test_report_writes_html_with_images_and_isolates_failures(tmp_path):
    src = tmp_path / "src"
    src.mkdir()
    good = _notebook(
        src / "00_good.ipynb",
        "import matplotlib.pyplot as plt\nfig, ax = plt.subplots()\nax.plot([0, draws])\nfig",
        "from analysis import cells\ncells.record_metrics({'draws': draws}, metrics_path)",
    )
    bad = _notebook(src / "10_bad.ipynb", "raise ValueError('boom')")
    out = tmp_path / "out"
    result = report.build_report(out, notebooks=[good, bad], draws=7, progress=False, race=False)
    assert [r.name for r in result.failed] == ["10_bad"]
    assert "ValueError: boom" in result.failed[0].error
    html = (out / "00_good.html").read_text()
    assert "data:image/png;base64," in html
    assert json.loads((out / "00_good.metrics.json").read_text()) == {"draws": 7}
    index = (out / "index.html").read_text()
    assert 'href="00_good.html"' in index and 'href="10_bad.ipynb"' in index
    assert "FAILED: ValueError: boom" in index
    assert (out / "10_bad.html").exists()  # the partial run is kept, to read the error in place
    assert _fetched(html) == [] and _fetched(index) == []
    assert json.loads((out / "metrics.json").read_text()) == {"00_good": {"draws": 7}, "10_bad": {}}


class _Fetches(HTMLParser):
    """Every URL a page would fetch: script/img/iframe src, stylesheet/preload link href."""

    def __init__(self):
        super().__init__()
        self.urls = []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag in ("script", "img", "iframe", "embed", "source") and attrs.get("src"):
            self.urls.append(attrs["src"])
        if tag == "link" and attrs.get("href"):
            self.urls.append(attrs["href"])


def _fetched(page: str) -> list[str]:
    parser = _Fetches()
    parser.feed(page)
    return [u for u in parser.urls if re.match(r"^(https?:)?//", u)]


def test_notebook_html_is_self_contained(tmp_path):
    """No require.js, MathJax or widget manager from a CDN; the figure is embedded; "$" stays
    text."""
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    png = base64.b64encode(b"\x89PNG\r\n\x1a\n" + b"0" * 32).decode()
    cell = nbformat.v4.new_code_cell("fig", execution_count=1)
    cell.outputs = [
        nbformat.v4.new_output("display_data", data={"image/png": png, "text/plain": "<Figure>"})
    ]
    nb.cells = [nbformat.v4.new_markdown_cell("Meta's ~$14.2B and ~$21B CoreWeave deals"), cell]
    nb.metadata["widgets"] = {
        "application/vnd.jupyter.widget-state+json": {
            "state": {},
            "version_major": 2,
            "version_minor": 0,
        }
    }
    nbformat.write(nb, tmp_path / "a.ipynb")
    page = report.to_html(tmp_path / "a.ipynb", tmp_path / "a.html").read_text()
    assert f"data:image/png;base64,{png}" in page
    assert _fetched(page) == [] and report.network_references(page) == []
    assert "mathjax" not in page.lower() and "require.min.js" not in page
    assert "~$14.2B and ~$21B" in page


def test_network_references_finds_what_a_page_would_fetch():
    page = (
        '<script src="https://cdn.example/require.js"></script><link rel="stylesheet" '
        'href="//cdn.example/x.css">'
        '<style>@import url("https://fonts.example/f.css");</style>'
    )
    assert len(report.network_references(page)) == 3


def _report(tmp_path, metrics: dict) -> report.Report:
    run = report.NotebookRun(
        name="20_time_to_train_race",
        notebook=tmp_path / "20.ipynb",
        executed=tmp_path / "20_time_to_train_race.ipynb",
        seconds=12.34,
        parameters={"draws": 20000, "metrics_path": "x"},
        metrics=metrics,
    )
    return report.Report(
        out_dir=tmp_path, runs=[run], created="20261201T000540Z", race_table="race"
    )


def test_index_lists_every_metric_formatted_with_units_and_a_readable_date(tmp_path):
    metrics = {
        f"p_first_{lab}": p for lab, p in (("meta", 0.93), ("deepseek", 0.05), ("alibaba", 0.02))
    }
    metrics |= {f"cost_p50_usd_{lab}": 2.586734e07 for lab in ("meta", "deepseek", "alibaba")}
    metrics |= {f"time_to_train_p{q}_months_meta": 2.384186e-07 * q for q in (10, 50, 90)}
    metrics |= {f"extra_metric_{i}": float(i) for i in range(20)}  # far more than fits unfolded
    metrics |= {"deal_adds_p_done_campus_only_1e27_meta": 0.12, "p_meta_before_deepseek": 0.943}
    index = report.write_index(_report(tmp_path, metrics)).read_text()
    assert (
        "1 December 2026, 00:05 UTC" in index and "20261201T000540Z" not in index.split("<body>")[1]
    )
    for text in (
        "93.0%",
        "5.0%",
        "2.0%",
        "$25.9M",
        "+12.0 pp",
        "94.3%",
        "P(first) (%)",
        "cost p50 ($)",
        "time to train p10 (months)",
        "draws=20,000",
    ):
        assert text in index, text
    for i in range(20):  # no cap: every metric is listed
        assert f">extra metric {i}<" in index
    assert "e-07" not in index and "2.586734e" not in index
    assert "<details>" in index  # long lists are folded, not cut
    every = index.split("<h2>Every metric</h2>")[1]
    assert every.count("<th>Meta</th>") == 1 and "<th>DeepSeek</th>" in every  # labs side by side
    assert json.loads((tmp_path / "metrics.json").read_text()) == {"20_time_to_train_race": metrics}


def test_short_metric_lists_stay_open(tmp_path):
    index = report.write_index(_report(tmp_path, {"p_nobody": 0.0, "mdape": 0.136})).read_text()
    assert "<details open>" in index and "13.6%" in index


MARKED = (
    "Meta first with probability <!-- results:20_time_to_train_race.p_first_meta|.2f -->0.50<!-- "
    "/results -->"
    " (median <!-- results:20_time_to_train_race.time_to_train_p50_months_meta -->9<!-- /results "
    "--> months);"
    " backtest error <!-- results:30_backtest.mdape|.1% -->x<!-- /results -->."
)


def test_update_readme_fills_markers_from_a_report():
    metrics = {
        "20_time_to_train_race": {"p_first_meta": 0.9312, "time_to_train_p50_months_meta": 1.4375},
        "30_backtest": {"mdape": 0.1364},
    }
    text, filled = report.update_readme(MARKED, metrics)
    assert text == (
        "Meta first with probability <!-- results:20_time_to_train_race.p_first_meta|.2f -->0.93"
        "<!-- /results --> (median <!-- "
        "results:20_time_to_train_race.time_to_train_p50_months_meta -->"
        "1.4<!-- /results --> months); backtest error <!-- results:30_backtest.mdape|.1% -->13.6%"
        "<!-- /results -->."
    )
    assert len(filled) == 3
    assert report.update_readme(text, metrics)[0] == text  # idempotent: markers survive a fill


def test_update_readme_refuses_a_metric_the_report_lacks():
    with pytest.raises(InputError, match="results:30_backtest.mdape"):
        report.update_readme(
            MARKED,
            {"20_time_to_train_race": {"p_first_meta": 0.9, "time_to_train_p50_months_meta": 1.0}},
        )


def test_readme_markers_name_notebooks_that_exist_and_all_get_filled(tmp_path):
    readme = (PROJECT_ROOT / "README.md").read_text()
    names = [m["name"] for m in report.MARKER.finditer(readme)]
    assert names, "README has no results markers"
    stems = {p.stem for p in NOTEBOOKS_DIR.glob("*.ipynb")}
    assert {name.partition(".")[0] for name in names} <= stems
    metrics: dict = {}
    for i, name in enumerate(names):
        notebook, _, metric = name.partition(".")
        metrics.setdefault(notebook, {})[metric] = 0.001 * (i + 1)
    copy = tmp_path / "README.md"
    copy.write_text(readme)
    assert sorted(report.update_readme_file(copy, metrics)) == sorted(names)
    assert copy.read_text() != readme and len(copy.read_text().splitlines()) == len(
        readme.splitlines()
    )


def test_claim_passes_quietly_and_fails_with_the_sentence_and_its_numbers():
    from analysis.runs import cells

    shown = cells.claim("Meta usually finishes first", 0.93 > 0.5, p_first_meta=0.93)
    assert (
        "Meta usually finishes first" in shown._repr_markdown_()
        and "93.0%" in shown._repr_markdown_()
    )
    with pytest.raises(
        cells.ClaimError,
        match=r"claim no longer holds: Meta usually finishes first \(p_first_meta = 45.0%\)",
    ):
        cells.claim("Meta usually finishes first", 0.45 > 0.5, p_first_meta=0.45)
    skipped = cells.claim("Meta usually finishes first", False, applies=False, p_first_meta=0.45)
    assert "Not checked" in repr(skipped)


def test_every_owned_notebook_checks_its_prose():
    """Notebooks 00, 10, 11, 21 and 22 state results in prose; each backs them with cells.claim."""
    for stem in (
        "00_assumptions",
        "10_compute_budgets",
        "11_capacity_deals",
        "21_cost_power_carbon",
        "22_sensitivity",
    ):
        source = (NOTEBOOKS_DIR / f"{stem}.py").read_text()
        assert "cells.claim(" in source, stem


def test_notebook_kernels_are_not_interrupted_while_shutting_down(monkeypatch):
    """jupyter_client interrupts (SIGINT) a kernel before asking it to shut down, and ipykernel then
    prints "KeyboardInterrupt caught in kernel" after a notebook that ran fine. The report's and the
    sweep's kernel manager skips that interrupt only: a kernel not shutting down is interrupted."""
    import asyncio

    from jupyter_client.manager import AsyncKernelManager

    from analysis.runs import papermill as runs_papermill

    sent = []

    async def record(self):
        sent.append(self.shutting_down)

    monkeypatch.setattr(AsyncKernelManager, "_async_interrupt_kernel", record)
    manager = runs_papermill.kernel_options()["kernel_manager_class"]()
    manager.shutting_down = True
    asyncio.run(manager._async_interrupt_kernel())
    assert sent == []
    manager.shutting_down = False
    asyncio.run(manager._async_interrupt_kernel())
    assert sent == [False]


def test_the_report_and_the_sweep_start_kernels_the_same_way(monkeypatch, tmp_path):
    """Both pass runs.papermill.kernel_options() to papermill (one place for the kernel's name, log
    level and manager)."""
    import papermill

    from analysis.runs import papermill as runs_papermill
    from analysis.runs import report, sweep

    calls = []
    monkeypatch.setattr(papermill, "execute_notebook", lambda *a, **kw: calls.append(kw))
    notebook = report.discover()[0]
    report.run_notebook(notebook, tmp_path)
    sweep.run_point(
        {
            "point_id": "p0",
            "notebook": notebook.read_text(),
            "parameters": {},
            "cell_timeout_s": 60,
            "scratch": str(tmp_path / "scratch"),
        }
    )
    assert len(calls) == 2
    for kw in calls:
        assert {
            k: kw[k] for k in runs_papermill.kernel_options()
        } == runs_papermill.kernel_options()


# ---- where a report may write -----------------------------------------------------------------


def test_report_refuses_a_folder_that_is_not_its_own_and_writes_nothing_there(tmp_path):
    """`report --out /etc` wrote its files into /etc: a folder that holds anything but a report's
    files is refused in one line, before a file is written."""
    foreign = tmp_path / "etc"
    foreign.mkdir()
    (foreign / "passwd").write_text("root:x:0:0\n")
    proc = run_cli("report", "--out", str(foreign))
    assert_one_line_error(proc, "--out", "not a report's folder", "passwd")
    assert sorted(p.name for p in foreign.iterdir()) == ["passwd"]
    (tmp_path / "file").write_text("x")
    assert_one_line_error(
        run_cli("report", "--out", str(tmp_path / "file")), "--out", "not a folder"
    )


def test_report_writes_into_a_new_folder_or_its_own(tmp_path):
    from analysis.runs.report import REPORT_MARKER, prepare_report_dir

    new = tmp_path / "a" / "new"
    prepare_report_dir(new)
    assert (new / REPORT_MARKER).is_file()
    (new / "00_assumptions.html").write_text("<html></html>")
    (new / "notes.txt").write_text("mine")
    prepare_report_dir(new)  # its own (the marker), whatever else is there
    empty = tmp_path / "empty"
    empty.mkdir()
    prepare_report_dir(empty)
    assert (empty / REPORT_MARKER).is_file()


def test_a_folder_whose_names_look_like_a_reports_is_not_taken_without_the_marker(tmp_path):
    """A user's folder holding only index.html, metrics.json and 00_assumptions.html was adopted
    (every name looked like a report's) and the three files replaced: only the marker adopts."""
    from analysis.runs.report import REPORT_MARKER, prepare_report_dir

    mine = tmp_path / "mine"
    mine.mkdir()
    for name in ("index.html", "metrics.json", "00_assumptions.html"):
        (mine / name).write_text(f"my own {name}")
    with pytest.raises(InputError, match="not a report's folder"):
        prepare_report_dir(mine)
    assert not (mine / REPORT_MARKER).exists()
    assert_one_line_error(run_cli("report", "--out", str(mine)), "--out", REPORT_MARKER)
    assert sorted(p.name for p in mine.iterdir()) == [
        "00_assumptions.html",
        "index.html",
        "metrics.json",
    ]
    assert all(p.read_text() == f"my own {p.name}" for p in mine.iterdir())


# ---- the index and the pages, for readers ---------------------------------------------------


def _executed_notebook(path, *cells_with_outputs):
    """An executed notebook: papermill's injected cell (an absolute metrics_path), then code cells
    with the given outputs (lists of nbformat outputs)."""
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3"}
    injected = nbformat.v4.new_code_cell(
        '# Parameters\ndraws = 20000\nmetrics_path = "/abs/results/x.metrics.json"\n',
        metadata={"tags": ["injected-parameters"]},
    )
    nb.cells = [nbformat.v4.new_markdown_cell("# A notebook"), injected]
    for source, outputs in cells_with_outputs:
        cell = nbformat.v4.new_code_cell(source, execution_count=1)
        cell.outputs = outputs
        nb.cells.append(cell)
    nbformat.write(nb, path)
    return path


PNG = base64.b64encode(b"\x89PNG\r\n\x1a\n" + b"1" * 32).decode()


def test_index_opens_with_the_headline_answers_as_tables_and_figures(tmp_path):
    """The race and the deal's value first, each a formatted table and one figure; the main race
    section is never folded; a headline for a notebook the report lacks is left out."""
    metrics = {
        "p_first_meta": 0.842,
        "p_first_deepseek": 0.018,
        "time_to_train_p50_months_meta": 0.71,
        "p_nobody": 0.0,
        "deal_p_first_change_pp_max_abs": 11.745,
        "deal_campus_only_matters_from_flop": 3e26,
        "unrelated_metric": 1.0,
    }
    figure = [nbformat.v4.new_output("display_data", data={"image/png": PNG})]
    executed = _executed_notebook(
        tmp_path / "20_time_to_train_race.ipynb",
        ("plots.p_first(result.race)", figure),
        ('plots.time_to_train_curves(effect_curves, style="variant", col="case")', figure),
    )
    run = report.NotebookRun(
        name="20_time_to_train_race",
        notebook=executed,
        executed=executed,
        html=tmp_path / "20_time_to_train_race.html",
        metrics=metrics,
    )
    index = report.write_index(
        report.Report(
            out_dir=tmp_path,
            runs=[run],
            created="20261201T000540Z",
            race_table="race",
            race_html="<table><tr><td>83.8%</td></tr></table>",
        )
    ).read_text()
    body = index.split("<body>", 1)[1]
    first, second = (escape(h.title) for h in report.HEADLINES[:2])
    assert body.index(first) < body.index(second) < body.index("The notebooks")
    race = body.split(first, 1)[1].split(second, 1)[0]
    assert "84.2%" in race and "1.8%" in race and "0.7" in race, race
    assert "<details" not in race, "the main race section must not be folded"
    assert f"data:image/png;base64,{PNG}" in race
    deal = body.split(second, 1)[1].split("The notebooks", 1)[0]
    assert "+11.7 pp" in deal and "3.0e26" in deal and "1174.5%" not in index
    assert deal.count("<img") == 1 and "unrelated" not in race + deal
    assert "<pre>" not in index and "83.8%" in index  # the full race: a formatted table
    alone = report.write_index(
        report.Report(out_dir=tmp_path, runs=[], created="20261201T000540Z")
    ).read_text()
    assert first not in alone


def test_headlines_name_their_notebook_metrics_and_figure():
    """A third headline (the hindcast) is one more entry: a notebook, metrics and a figure."""
    stems = {p.stem for p in NOTEBOOKS_DIR.glob("*.ipynb")}
    for headline in report.HEADLINES:
        assert headline.notebook in stems, headline.notebook
        assert headline.metrics and headline.figure
        source = (NOTEBOOKS_DIR / f"{headline.notebook}.py").read_text()
        assert headline.figure in source, f"no cell of {headline.notebook} draws {headline.figure}"


def test_notebook_pages_fold_code_and_hide_the_injected_parameters(tmp_path):
    from analysis.runs import cells

    claim = cells.claim("Meta usually finishes first", True, p_first_meta=0.93)
    executed = _executed_notebook(
        tmp_path / "n.ipynb",
        (
            "assert 1 + 1 == 2\ncells.present(frame)",
            [
                nbformat.v4.new_output(
                    "execute_result", data={"text/html": "<table><td>45.2%</td></table>"}
                )
            ],
        ),
        (
            "cells.claim(...)",
            [
                nbformat.v4.new_output(
                    "display_data",
                    data={
                        "text/html": claim._repr_html_(),
                        "text/markdown": claim._repr_markdown_(),
                    },
                )
            ],
        ),
    )
    page = report.to_html(executed, tmp_path / "n.html").read_text()
    assert page.count('<details class="cr-code">') == 2  # every code cell folded
    assert "/abs/results" not in page and "metrics_path" not in page
    assert "Run by the report with <code>draws</code> = 20,000" in page
    claim_html = page.split('<details class="cr-claim">', 1)[1].split("</details>", 1)[0]
    assert "Checked against this run</summary>" in claim_html  # folded: one short line
    assert "45.2%" in page and "In&nbsp;[" not in page  # outputs shown, no prompts


_DRIVER = """
import sys
from pathlib import Path

import analysis.runs.report as report
from analysis.runs.cli import main

if __name__ == "__main__":  # the report's worker process imports this module again (spawn)
    notebook = Path(sys.argv[1])
    report.discover = lambda notebooks_dir=None: [notebook]
    sys.exit(main(["report", "--out", sys.argv[2]]))
"""


@pytest.mark.notebooks
@pytest.mark.slow
def test_ctrl_c_during_a_report_is_one_line_and_leaves_no_kernel(tmp_path):
    """Ctrl-C while a notebook ran printed about 20 lines of a kernel's ZMQ traceback before
    `error: interrupted` (papermill shut the kernel down mid-cell), or hung in the clean-up. The
    notebooks now run in a worker process that ignores Ctrl-C; the command stops it at once."""
    import os
    import signal
    import subprocess
    import sys
    import time

    import psutil

    logs = tmp_path / "logs"
    logs.mkdir()
    nb = json.loads((PROJECT_ROOT / "tests/fixtures/sweep_tiny.ipynb").read_text())
    cell = next(c for c in nb["cells"] if "parameters" in c["metadata"].get("tags", []))
    cell["source"] = (
        'x: float = 1.0\nn: int = 2\nlabel: str = "a"\nflag: bool = False\n'
        f'sleep_s: float = 3.0\nlog_dir: str = "{logs}"\nmetrics_path: str = ""\n'
    )
    notebook = tmp_path / "50_slow.ipynb"
    notebook.write_text(json.dumps(nb))
    driver = tmp_path / "driver.py"
    driver.write_text(_DRIVER)
    proc = subprocess.Popen(
        [sys.executable, str(driver), str(notebook), str(tmp_path / "out")],
        cwd=PROJECT_ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    descendants = []
    try:
        deadline = time.monotonic() + 240
        while not any(logs.iterdir()):  # the notebook is running its slow cell in a kernel
            assert proc.poll() is None and time.monotonic() < deadline, proc.communicate()
            time.sleep(0.2)
        descendants = psutil.Process(proc.pid).children(recursive=True)
        kernels = [p for p in descendants if "ipykernel" in " ".join(p.cmdline())]
        # the kernel belongs to a worker that ignores Ctrl-C, not to the command (whose clean-up
        # after Ctrl-C shut it down mid-cell)
        assert kernels and all(k.ppid() != proc.pid for k in kernels), [
            (p.pid, p.ppid(), p.cmdline()[:3]) for p in descendants
        ]
        os.killpg(proc.pid, signal.SIGINT)  # a terminal's Ctrl-C: the whole foreground group
        _, stderr = proc.communicate(timeout=60)
        assert proc.returncode == 130, stderr
        lines = [
            line
            for line in stderr.replace("\r", "\n").splitlines()
            if line.strip() and not line.startswith("report:")
        ]
        assert lines == ["error: interrupted"], stderr
        deadline = time.monotonic() + 20
        while any(p.is_running() and p.status() != psutil.STATUS_ZOMBIE for p in descendants):
            assert time.monotonic() < deadline, [p.cmdline() for p in descendants]
            time.sleep(0.2)
    finally:
        for p in descendants:
            with contextlib.suppress(psutil.Error):
                p.kill()
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)

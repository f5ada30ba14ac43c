"""analysis.report: papermill runs, HTML with embedded figures, an index, failures isolated."""

from __future__ import annotations

import json

import nbformat
import pytest

from analysis import report
from analysis.paths import NOTEBOOKS_DIR


def _notebook(path, *cells, parameters="draws = 10  # help: draws\nmetrics_path = ''  # help: metrics file"):
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nb.cells = [nbformat.v4.new_markdown_cell("# test"),
                nbformat.v4.new_code_cell(parameters, metadata={"tags": ["parameters"]})]
    nb.cells += [nbformat.v4.new_code_cell(c) for c in cells]
    nbformat.write(nb, path)
    return path


def test_discover_finds_every_committed_notebook():
    found = report.discover()
    assert found == sorted(NOTEBOOKS_DIR.glob("*.ipynb"))
    assert [p.stem for p in found][:2] == ["00_assumptions", "10_compute_budgets"]


def test_report_parameters_only_set_what_a_notebook_declares(tmp_path):
    declared = report.report_parameters(NOTEBOOKS_DIR / "20_time_to_train_race.ipynb", tmp_path)
    assert declared == {"metrics_path": str(tmp_path / "20_time_to_train_race.metrics.json"), "draws": report.REPORT_DRAWS}
    assert report.report_parameters(NOTEBOOKS_DIR / "00_assumptions.ipynb", tmp_path).keys() == {"metrics_path"}


@pytest.mark.slow
def test_report_writes_html_with_images_and_isolates_failures(tmp_path):
    src = tmp_path / "src"
    src.mkdir()
    good = _notebook(src / "00_good.ipynb",
                     "import matplotlib.pyplot as plt\nfig, ax = plt.subplots()\nax.plot([0, draws])\nfig",
                     "from analysis import notebook\nnotebook.record_metrics({'draws': draws}, metrics_path)")
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

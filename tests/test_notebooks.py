"""The notebooks as files and as a product: pairing, stripped outputs, one literal parameters cell,
the house structure, papermill overrides that change a result, and JupyterLab serving them.

Notebooks are discovered by glob, so notebooks added on other branches (30_backtest) are covered.
The notebooks themselves are executed by nbmake (`--nbmake` in pytest's addopts).
"""

from __future__ import annotations

import ast
import json
import os
import re
import secrets
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

import jupytext
import nbformat
import papermill
import pytest

from analysis.paths import NOTEBOOKS_DIR, PROJECT_ROOT

NOTEBOOKS = sorted(NOTEBOOKS_DIR.glob("*.ipynb"))
SCRIPTS = sorted(NOTEBOOKS_DIR.glob("*.py"))
IDS = [p.stem for p in NOTEBOOKS]
NAME = re.compile(r"^(\d)\d_[a-z0-9_]+$")

#: One papermill override per notebook group (first digit): notebook, parameters, a recorded metric
#: that must change. Cheap parameters (small draws) keep the two runs per group short.
OVERRIDES = {
    "0": ("00_assumptions", {}, {"precision": "fp8"}, "best_flop_per_s_per_server_w"),
    "1": (
        "11_capacity_deals",
        {"draws": 300},
        {"draws": 300, "power_cap_scale": 0.5},
        "powered_accelerators_p50_end_meta",
    ),
    "2": (
        "20_time_to_train_race",
        {"draws": 500, "effect_target_flop": 0.0},
        {"draws": 500, "effect_target_flop": 0.0, "target_flop": 1e26},
        "time_to_train_p50_months_meta",
    ),
    "3": ("30_backtest", {"draws": 500}, {"draws": 500, "leave_out": "group"}, "mdape"),
    "4": (
        "40_explorer",
        {"draws": 2000},
        {"draws": 2000, "scenario": "scenarios/common_target.yaml"},
        "p_first_meta",
    ),
}


def test_notebooks_exist_and_are_named_by_group():
    assert NOTEBOOKS, "no notebooks in notebooks/"
    for path in NOTEBOOKS + SCRIPTS:
        assert NAME.match(path.stem), (
            f"{path.name}: name notebooks NN_topic (0x data, 1x methods, 2x analyses, 3x reports)"
        )


def test_every_notebook_is_paired():
    assert {p.stem for p in NOTEBOOKS} == {p.stem for p in SCRIPTS}, (
        "each .ipynb needs its .py pair and vice versa"
    )


def _cells(notebook) -> list[tuple[str, str, tuple[str, ...]]]:
    return [
        (c.cell_type, c.source.strip(), tuple(c.metadata.get("tags", ()))) for c in notebook.cells
    ]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=IDS)
def test_pair_in_sync(path):
    """The .ipynb and its percent-format .py hold the same cells (type, source, tags), in order."""
    ipynb = _cells(jupytext.read(path))
    script = _cells(jupytext.read(path.with_suffix(".py")))
    for i, (a, b) in enumerate(zip(ipynb, script)):
        assert a == b, (
            f"{path.stem}: cell {i} differs between .ipynb and .py; run `jupytext --sync "
            f"notebooks/{path.stem}.py`"
        )
    assert len(ipynb) == len(script), (
        f"{path.stem}: {len(ipynb)} cells in .ipynb, {len(script)} in .py"
    )


@pytest.mark.parametrize("path", NOTEBOOKS, ids=IDS)
def test_committed_notebook_has_no_outputs_and_python3_kernel(path):
    raw = json.loads(path.read_text())
    for i, cell in enumerate(raw["cells"]):
        if cell["cell_type"] == "code":
            assert cell["outputs"] == [], f"{path.name} cell {i} has outputs; strip them"
            assert cell["execution_count"] is None, f"{path.name} cell {i} has an execution count"
    assert raw["metadata"]["kernelspec"]["name"] == "python3"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=IDS)
def test_kernelspec_is_what_jupyterlab_writes(path):
    """JupyterLab rewrites the kernelspec of a notebook it runs with the kernel's own spec; a
    notebook that already holds it stays unchanged (display name included) in both files of the
    pair."""
    from jupyter_client.kernelspec import KernelSpecManager

    spec = KernelSpecManager().get_kernel_spec("python3")
    expected = {"display_name": spec.display_name, "language": spec.language, "name": "python3"}
    assert json.loads(path.read_text())["metadata"]["kernelspec"] == expected
    assert jupytext.read(path.with_suffix(".py")).metadata["kernelspec"] == expected


def _parameters_cells(path):
    return [
        c
        for c in nbformat.read(path, as_version=4).cells
        if "parameters" in c.metadata.get("tags", [])
    ]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=IDS)
def test_exactly_one_parameters_cell_of_literals(path):
    cells = _parameters_cells(path)
    assert len(cells) == 1, f"{path.name}: {len(cells)} cells tagged 'parameters'; need exactly one"
    source = cells[0].source
    tree = ast.parse(source)
    names = []
    for node in tree.body:
        assert isinstance(node, ast.Assign) and len(node.targets) == 1, (
            f"{path.name}: parameters are `name = literal`"
        )
        ast.literal_eval(node.value)  # literals only: papermill does not recompute derived values
        names.append(node.targets[0].id)
    for line in source.splitlines():
        assert "# help:" in line, (
            f"{path.name}: parameter line without a '# help:' comment: {line!r}"
        )
    assert "metrics_path" in names
    # papermill's inspector must see every parameter (it skips lines with a second '=', e.g. in
    # help).
    assert sorted(papermill.inspect_notebook(str(path))) == sorted(names)


@pytest.mark.parametrize("path", NOTEBOOKS, ids=IDS)
def test_house_structure(path):
    """Title cell with papermill usage, parameters second, validated setup third, no logic,
    provenance last."""
    nb = nbformat.read(path, as_version=4)
    cells = nb.cells
    assert cells[0].cell_type == "markdown" and cells[0].source.startswith("# ")
    assert "papermill" in cells[0].source, (
        f"{path.name}: the title cell says how to run it with papermill"
    )
    assert "parameters" in cells[1].metadata.get("tags", []), (
        f"{path.name}: cell 2 is the parameters cell"
    )
    assert "check_parameters(" in cells[2].source, f"{path.name}: cell 3 validates the parameters"
    code = [c for c in cells if c.cell_type == "code"]
    assert "watermark(" in code[-1].source, f"{path.name}: the last cell is provenance (watermark)"
    assert any("record_metrics(" in c.source for c in code), (
        f"{path.name}: record_metrics is called"
    )
    banned = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.For, ast.While, ast.Lambda)
    for cell in code:
        for node in ast.walk(ast.parse(cell.source)):
            assert not isinstance(node, banned), (
                f"{path.name}: {type(node).__name__} in a cell; move logic to analysis/"
            )


BAD_PARAMETERS = [
    (
        "00_assumptions",
        {"precision": "fp16"},
        "parameter 'precision' of 00_assumptions: input should be 'bf16' or 'fp8'",
    ),
    ("20_time_to_train_race", {"coreweave_2026_scale": -1.0}, "parameter 'coreweave_2026_scale'"),
    (
        "20_time_to_train_race",
        {"drawz": 5000},
        "parameter 'drawz' is not a parameter of 20_time_to_train_race; did you mean 'draws'?",
    ),
    (
        "20_time_to_train_race",
        {"draws": "many"},
        "parameter 'draws' of 20_time_to_train_race: input should be a valid integer",
    ),
    ("21_cost_power_carbon", {"accelerator": "h100"}, "parameter 'accelerator'"),
    ("21_cost_power_carbon", {"pue": 0.5}, "parameter 'pue'"),
    ("22_sensitivity", {"scenario": "scenarios/missing.yaml"}, "scenarios/missing.yaml"),
]


@pytest.mark.slow
@pytest.mark.parametrize(
    "stem, parameters, needle",
    BAD_PARAMETERS,
    ids=[f"{s}-{next(iter(p))}" for s, p, _ in BAD_PARAMETERS],
)
def test_bad_parameter_stops_in_the_setup_cell_with_one_line(stem, parameters, needle, tmp_path):
    """An unknown or invalid parameter stops the notebook in its setup cell; the cell's error output
    is one line naming it (no traceback)."""
    path = NOTEBOOKS_DIR / f"{stem}.ipynb"
    out = tmp_path / "out.ipynb"
    with pytest.raises(papermill.PapermillExecutionError) as err:
        papermill.execute_notebook(
            str(path),
            str(out),
            parameters=parameters,
            kernel_name="python3",
            cwd=str(PROJECT_ROOT),
            progress_bar=False,
        )
    assert err.value.ename == "ParameterError", err.value.evalue
    assert needle in err.value.evalue
    assert "\n" not in err.value.evalue
    assert err.value.exec_count == 3, (
        "the setup cell (after parameters and injected parameters) should stop it"
    )
    errors = [
        o
        for c in nbformat.read(out, as_version=4).cells
        if c.cell_type == "code"
        for o in c.get("outputs", [])
        if o.output_type == "error"
    ]
    assert len(errors) == 1
    assert errors[0].traceback == [f"ParameterError: {err.value.evalue}"], (
        "the traceback is the message alone"
    )


@pytest.mark.parametrize("path", NOTEBOOKS, ids=IDS)
def test_parameters_cell_matches_the_declared_model(path):
    """The parameters cell holds exactly the names of the notebook's model
    (analysis.runs.parameters), and its defaults pass the model."""
    from analysis.runs import parameters as params

    model = params.model_for(path.stem)
    assert model is not None, (
        f"{path.stem}: declare its parameter model in analysis/runs/parameters.py (MODELS)"
    )
    cell = _parameters_cells(path)[0]
    defaults = {
        node.targets[0].id: ast.literal_eval(node.value) for node in ast.parse(cell.source).body
    }
    assert sorted(defaults) == sorted(model.model_fields), (
        f"{path.stem}: parameters cell and model differ"
    )
    params.check(path.stem, defaults)
    assert (
        f'check_parameters("{path.stem}", globals())'
        in nbformat.read(path, as_version=4).cells[2].source
    )


def _papermill_commands(path):
    """Each papermill command line in a notebook's title cell, as argv."""
    import shlex

    source = nbformat.read(path, as_version=4).cells[0].source
    return [
        shlex.split(line)
        for line in source.splitlines()
        if "papermill " in line and "notebooks/" in line
    ]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=IDS)
def test_title_cell_commands_work_as_printed(path):
    """`.venv/bin/papermill` (not on PATH otherwise), this notebook, an output under the git-ignored
    results/ created first, and `-p` names and values that its model accepts."""
    from papermill.cli import _resolve_type

    from analysis.runs import parameters as params

    source = nbformat.read(path, as_version=4).cells[0].source
    commands = _papermill_commands(path)
    assert commands, f"{path.name}: the title cell shows a papermill command"
    for argv in commands:
        assert argv[0] == ".venv/bin/papermill", f"{path.name}: {' '.join(argv)}"
        assert argv[1] == f"notebooks/{path.name}"
        assert argv[2].startswith("results/") and argv[2].endswith(".ipynb")
        folder = str(Path(argv[2]).parent)
        assert f"mkdir -p {folder}" in source.split(" ".join(argv[:3]))[0], (
            f"{path.name}: create {folder}/ first"
        )
        given = {
            argv[i + 1]: _resolve_type(argv[i + 2]) for i, arg in enumerate(argv) if arg == "-p"
        }
        params.check(path.stem, given, partial=True)


def _metrics(path: Path, parameters: dict, tmp_path: Path, tag: str) -> dict:
    metrics = tmp_path / f"{tag}.json"
    papermill.execute_notebook(
        str(path),
        str(tmp_path / f"{tag}.ipynb"),
        parameters={**parameters, "metrics_path": str(metrics)},
        kernel_name="python3",
        cwd=str(PROJECT_ROOT),
        progress_bar=False,
    )
    return json.loads(metrics.read_text())


GROUPS = sorted({p.stem[0] for p in NOTEBOOKS})


@pytest.mark.slow
@pytest.mark.parametrize("group", GROUPS, ids=[f"{g}x" for g in GROUPS])
def test_papermill_override_changes_a_result(group, tmp_path):
    if group not in OVERRIDES:
        pytest.skip(
            f"no override declared for group {group}x: add one to OVERRIDES in "
            "tests/test_notebooks.py"
        )
    stem, base, changed, metric = OVERRIDES[group]
    path = NOTEBOOKS_DIR / f"{stem}.ipynb"
    before = _metrics(path, base, tmp_path, "base")
    after = _metrics(path, changed, tmp_path, "changed")
    assert metric in before and before[metric] is not None
    assert after[metric] != before[metric], (
        f"{stem}: -p {changed} left {metric} at {before[metric]}"
    )


# ---- JupyterLab -------------------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _get(url: str) -> tuple[int, dict]:
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, {}


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    """A real JupyterLab on 127.0.0.1 with the project's settings (as `make lab` starts it)."""
    port, token = _free_port(), secrets.token_hex(16)
    runtime = tmp_path_factory.mktemp("jupyter-runtime")
    env = {
        **os.environ,
        "JUPYTER_CONFIG_DIR": str(PROJECT_ROOT / ".jupyter"),
        "JUPYTER_RUNTIME_DIR": str(runtime),
    }
    log = open(runtime / "lab.log", "w")
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "jupyterlab",
            "--no-browser",
            "--allow-root",
            f"--ServerApp.port={port}",
            "--ServerApp.port_retries=0",
            f"--IdentityProvider.token={token}",
        ],  # root: the repo (.jupyter config)
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 90
        while True:
            try:
                if _get(f"{base}/api/status?token={token}")[0] == 200:
                    break
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                log.flush()
                pytest.fail(
                    f"JupyterLab did not start:\n{(runtime / 'lab.log').read_text()[-3000:]}"
                )
            time.sleep(0.5)
        yield base, token
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()


@pytest.mark.parametrize("path", NOTEBOOKS + SCRIPTS, ids=[p.name for p in NOTEBOOKS + SCRIPTS])
def test_jupyterlab_serves_each_notebook_as_a_notebook(lab, path):
    base, token = lab
    status, model = _get(
        f"{base}/api/contents/notebooks/{urllib.parse.quote(path.name)}?token={token}"
    )
    assert status == 200, f"GET /api/contents/{path.name}: HTTP {status}"
    assert model["type"] == "notebook", f"{path.name} is served as {model['type']!r}"
    assert model["content"]["cells"], f"{path.name} has no cells"


def test_jupyterlab_settings_open_py_as_notebooks_without_news(lab):
    base, token = lab
    status, listing = _get(f"{base}/lab/api/settings/?token={token}")
    assert status == 200
    schemas = {s["id"]: s["schema"].get("properties", {}) for s in listing["settings"]}
    assert (
        schemas["@jupyterlab/docmanager-extension:plugin"]["defaultViewers"]["default"]["python"]
        == "Jupytext Notebook"
    )
    assert schemas["@jupyterlab/apputils-extension:notification"]["fetchNews"]["default"] == "false"
    assert (
        schemas["@jupyterlab/apputils-extension:notification"]["checkForUpdates"]["default"]
        is False
    )

"""Papermill sweeps for real on tiny grids: workers, failures, kill and resume, Dask, validation.

The fixture notebook (tests/fixtures/sweep_tiny.ipynb) records y = x * n with
analysis.runs.cells.record_metrics, raises when x is negative, sleeps `sleep_s` and appends a line
to `log_dir/<x>-<label>.log` each time it starts, so a test can count executions per point.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest
import yaml
from conftest import assert_one_line_error, run_cli
from inprocess import assert_one_line, call_main

from analysis.errors import InputError
from analysis.paths import PROJECT_ROOT
from analysis.runs.sweep import (
    LOCK_NAME,
    MARKER_NAME,
    MAX_POINTS,
    POINT_FILES,
    Point,
    Sweep,
    is_complete,
    load_sweep,
    notebook_parameters,
    point_id,
    prepare_out_dir,
    summarize,
    write_index,
)

FIXTURE = (
    "tests/fixtures/sweep_tiny.ipynb"  # relative to the project root, as sweeps/ files write it
)
PARAMS = ["x", "n", "label", "flag", "sleep_s", "log_dir"]


def write_sweep(tmp_path: Path, body: dict | str, name: str = "tiny") -> Path:
    path = tmp_path / f"{name}.yaml"
    path.write_text(body if isinstance(body, str) else yaml.safe_dump(body, sort_keys=False))
    return path


def read_json(path: Path):
    return json.loads(path.read_text())


def log_lines(log_dir: Path, x: float, label: str = "a") -> int:
    path = log_dir / f"{x}-{label}.log"
    return len(path.read_text().splitlines()) if path.exists() else 0


def leftovers(out: Path) -> list[str]:
    """Temporary files or folders anywhere under a results folder."""
    return [
        str(p.relative_to(out))
        for p in out.rglob("*")
        if p.name.endswith(".tmp") or p.name == ".scratch"
    ]


# ---- validation: nothing runs, nothing is written ----------------------------------------------


def test_notebook_parameters_include_what_papermill_skips():
    declared = notebook_parameters(PROJECT_ROOT / FIXTURE)
    assert list(declared) == [*PARAMS, "metrics_path"]
    # papermill's inspector drops `log_dir: str = ""  # ... empty = no log` (a second '=');
    # recovered
    assert declared["log_dir"]["type"] == "str"
    assert declared["x"]["type"] == "float" and declared["n"]["type"] == "int"


def test_point_id_is_a_stable_hash_of_canonical_parameters():
    assert point_id({"b": 1, "a": "z"}) == point_id({"a": "z", "b": 1})
    assert point_id({"a": 1.0}) == "c29a44abc114"  # fixed across runs and machines
    assert point_id({"a": 1.0}) != point_id({"a": 2.0})


def test_grid_points_and_normalized_types(tmp_path):
    sweep = load_sweep(
        write_sweep(
            tmp_path,
            {
                "notebook": FIXTURE,
                "parameters": {"n": 3},
                "grid": {"x": [1, 2.5], "label": ["a", "b"]},
            },
        )
    )
    assert sweep.name == "tiny" and sweep.swept == ("x", "label") and len(sweep.points) == 4
    assert sweep.points[0].parameters == {
        "n": 3,
        "x": 1.0,
        "label": "a",
    }  # int written where float declared
    assert isinstance(sweep.points[0].parameters["x"], float)
    same = load_sweep(
        write_sweep(
            tmp_path, {"notebook": FIXTURE, "points": [{"x": 1.0, "label": "a", "n": 3}]}, "p"
        )
    )
    assert same.points[0].id == sweep.points[0].id  # 1 and 1.0 are one point
    sci = load_sweep(
        write_sweep(
            tmp_path, "notebook: tests/fixtures/sweep_tiny.ipynb\ngrid:\n  x: [1e27]\n", "s"
        )
    )
    assert sci.points[0].parameters["x"] == 1e27  # YAML 1.1 would read 1e27 as a string


@pytest.mark.parametrize(
    "body, needles",
    [
        (
            {"grid": {"y": [1]}},
            ["grid", "unknown parameter 'y'", "x, n, label, flag, sleep_s, log_dir"],
        ),
        (
            {"parameters": {"lable": "a"}, "grid": {"x": [1]}},
            ["parameters", "'lable'", "did you mean label"],
        ),
        ({"grid": {"x": [1, "two"]}}, ["grid.x[1]", "parameter 'x'", "expected float", "'two'"]),
        ({"parameters": {"n": 2.5}, "grid": {"x": [1]}}, ["parameters", "'n'", "expected int"]),
        ({"grid": {"flag": [1]}}, ["'flag'", "expected bool"]),
        ({"grid": {"x": [True]}}, ["'x'", "expected float"]),
        ({"grid": {"metrics_path": ["a"]}}, ["metrics_path", "set by the sweep"]),
        ({"grid": {}}, ["grid", "non-empty"]),
        ({"grid": {"x": []}}, ["grid.x", "empty"]),
        ({"grid": {"x": 1}}, ["grid.x", "expected a list"]),
        ({"grid": {"x": [1, 1.0]}}, ["grid.x[1]", "repeats"]),
        ({"grid": {"x": [1]}, "points": [{"x": 2}]}, ["either grid", "not both"]),
        ({}, ["either grid", "none given"]),
        ({"points": [{"x": 1}, {"x": 1.0}]}, ["points[1] repeats points[0]"]),
        ({"parameters": {"x": 1}, "grid": {"x": [2]}}, ["parameters.x is also swept"]),
        ({"grid": {"x": [1]}, "headlin": "y"}, ["unknown key 'headlin'"]),
        ({"notebook": "notebooks/nope.ipynb", "grid": {"x": [1]}}, ["notebook", "not found"]),
        ({"notebook": "tests/conftest.py", "grid": {"x": [1]}}, ["not a .ipynb"]),
        ({"grid": {"x": [1]}, "cell_timeout_s": 0}, ["cell_timeout_s"]),
        # overflowed the kernel client's timers: an OverflowError and a ZMQ traceback per point
        ({"grid": {"x": [1]}, "cell_timeout_s": 1e308}, ["cell_timeout_s", "604,800 (a week)"]),
        # a folder name the file system refuses was blamed on --out
        ({"name": "s" * 300, "grid": {"x": [1]}}, ["name: 300 characters", "at most 100"]),
    ],
)
def test_bad_sweep_files_name_the_problem(tmp_path, body, needles):
    with pytest.raises(InputError) as err:
        load_sweep(write_sweep(tmp_path, {"notebook": FIXTURE, **body}))
    for needle in needles:
        assert needle in str(err.value), (needle, str(err.value))


def _notebook_without_cell_ids(tmp_path: Path) -> Path:
    """The fixture without its cell ids (nbformat 4.5 requires them; tools that drop them exist)."""
    nb = json.loads((PROJECT_ROOT / FIXTURE).read_text())
    assert (nb["nbformat"], nb["nbformat_minor"]) >= (4, 5)
    for cell in nb["cells"]:
        cell.pop("id", None)
    path = tmp_path / "old.ipynb"
    path.write_text(json.dumps(nb))
    return path


def test_a_notebook_without_cell_ids_is_read_without_nbformat_warnings(tmp_path):
    import warnings

    path = _notebook_without_cell_ids(tmp_path)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        sweep = load_sweep({"notebook": str(path), "grid": {"x": [1.0]}}, name="old")
    assert sweep.points and not [w for w in caught if "id field" in str(w.message)]


@pytest.mark.notebooks
def test_a_sweep_of_a_notebook_without_cell_ids_prints_no_nbformat_warnings(tmp_path):
    """Two MissingIDFieldWarning lines came with every read and every point."""
    path = _notebook_without_cell_ids(tmp_path)
    sweep = write_sweep(tmp_path, {"notebook": str(path), "grid": {"x": [1.0]}})
    proc = run_cli("sweep", str(sweep), "--out", str(tmp_path / "out"))
    assert proc.returncode == 0, proc.stderr
    assert "MissingIDFieldWarning" not in proc.stderr and "id field" not in proc.stderr


def test_notebook_without_metrics_path_is_rejected(tmp_path):
    import nbformat

    nb = nbformat.read(PROJECT_ROOT / FIXTURE, as_version=4)
    cell = next(c for c in nb.cells if "parameters" in c.metadata.get("tags", []))
    cell.source = "\n".join(line for line in cell.source.splitlines() if "metrics_path" not in line)
    nbformat.write(nb, tmp_path / "bare.ipynb")
    with pytest.raises(InputError, match="declares no 'metrics_path' parameter"):
        load_sweep({"notebook": str(tmp_path / "bare.ipynb"), "grid": {"x": [1]}}, name="bare")


@pytest.mark.parametrize(
    "body, flags, needles",
    [
        ({"grid": {"nope": [1]}}, [], ["unknown parameter 'nope'", "its parameters: x, n"]),
        ({"grid": {"x": ["one"]}}, [], ["grid.x[0]", "parameter 'x'", "expected float"]),
        ("grid: [x\n", [], ["malformed YAML"]),
        ({"grid": {"x": [1]}}, ["--workers", "two"], ["--workers", "'two'"]),
        ({"grid": {"x": [1]}}, ["--workers", "0"], ["--workers"]),
        (
            {"grid": {"x": [1]}},
            ["--scheduler", "localhost:8786"],
            ["--scheduler", "tcp://HOST:PORT"],
        ),
        (
            {"grid": {"x": [1]}},
            ["--scheduler", "tcp://127.0.0.1:8786", "--workers", "2"],
            ["--workers", "one or the other"],
        ),
    ],
)
def test_cli_rejects_before_any_run(tmp_path, body, flags, needles):
    if isinstance(body, dict):
        body = {"notebook": FIXTURE, **body}
    out = tmp_path / "out"
    proc = run_cli("sweep", str(write_sweep(tmp_path, body)), "--out", str(out), *flags)
    assert_one_line_error(proc, *needles)
    assert not out.exists()  # nothing run, nothing written


def test_cli_missing_sweep_file(tmp_path):
    assert_one_line_error(
        run_cli("sweep", str(tmp_path / "absent.yaml")), "absent.yaml", "not found"
    )


# ---- aggregation (no notebook runs) ------------------------------------------------------------


def test_summary_and_index_from_point_folders(tmp_path):
    points = []
    for x in (0.5, 1.0):
        for accel in ("h100-sxm", "gb200"):
            for n in (1, 2):
                params = {"x": x, "label": accel, "n": n}
                points.append(Point(point_id(params), params))
    sweep = Sweep(
        name="fake",
        notebook=PROJECT_ROOT / FIXTURE,
        declared={},
        fixed={},
        swept=("label", "x", "n"),
        points=tuple(points),
        headline="y",
    )
    for i, point in enumerate(points):
        folder = tmp_path / point.id
        folder.mkdir()
        if i == 0:
            (folder / "status.json").write_text(
                json.dumps({"status": "failed", "error": "ValueError: no", "cell_index": 3})
            )
            continue
        (folder / "status.json").write_text(json.dumps({"status": "ok", "duration_s": 1.5}))
        (folder / "metrics.json").write_text(
            json.dumps(
                {"y": point.parameters["x"] * point.parameters["n"], "detail": {"a": 1}, "x": 0}
            )
        )
        (folder / "notebook.ipynb").write_text("{}")
    frame = summarize(sweep, tmp_path)
    assert list(frame.columns[:5]) == ["point_id", "label", "x", "n", "status"]
    assert (
        "detail.a" in frame and "metric.x" in frame
    )  # nested metrics flattened; a clash keeps both
    assert frame["status"].tolist().count("failed") == 1 and frame.loc[0, "failed_cell"] == 3
    assert pd.read_csv(tmp_path / "summary.csv")["point_id"].tolist() == [p.id for p in points]
    assert len(pd.read_parquet(tmp_path / "summary.parquet")) == 8
    headline, notes = write_index(sweep, tmp_path, frame)
    page = (tmp_path / "index.html").read_text()
    assert headline == "y" and not notes
    assert "data:image/png;base64," in page and (tmp_path / "figure.png").stat().st_size > 1000
    assert all(f'href="{p.id}/notebook.ipynb"' in page for p in points[1:])
    assert 'class="bad"' in page


# ---- real runs ---------------------------------------------------------------------------------


@pytest.mark.notebooks
@pytest.mark.slow
def test_four_points_with_two_workers(tmp_path):
    logs = tmp_path / "logs"
    logs.mkdir()
    sweep = write_sweep(
        tmp_path,
        {
            "description": "four points",
            "notebook": FIXTURE,
            "headline": "y",
            "parameters": {"n": 3, "log_dir": str(logs)},
            "grid": {"x": [1, 2], "label": ["a", "bb"]},
        },
    )
    out = tmp_path / "out"
    proc = run_cli("sweep", str(sweep), "--workers", "2", "--out", str(out))
    assert proc.returncode == 0, proc.stderr
    assert "4 points, 4 ok, 0 failed" in proc.stdout
    assert "4/4" in proc.stderr and "Traceback" not in proc.stderr  # the progress bar, on stderr
    frame = pd.read_csv(out / "summary.csv")
    assert len(frame) == 4 and set(frame["status"]) == {"ok"}
    for row in frame.to_dict("records"):
        params = {"n": 3, "log_dir": str(logs), "x": float(row["x"]), "label": row["label"]}
        folder = out / point_id(params)
        assert row["point_id"] == folder.name and is_complete(folder)
        assert sorted(p.name for p in folder.iterdir()) == sorted(POINT_FILES)
        assert read_json(folder / "params.json") == params
        assert read_json(folder / "metrics.json")["y"] == pytest.approx(3 * row["x"]) == row["y"]
        assert row["duration_s"] > 0
        assert log_lines(logs, row["x"], row["label"]) == 1
    assert (
        pd.read_parquet(out / "summary.parquet")["point_id"].tolist() == frame["point_id"].tolist()
    )
    page = (out / "index.html").read_text()
    assert "data:image/png;base64," in page and page.count('">notebook</a>') == 4
    assert not leftovers(out)
    # Resuming a finished sweep with a pool runs nothing and rebuilds the summary.
    again = run_cli("sweep", str(sweep), "--workers", "2", "--out", str(out), "--resume")
    assert again.returncode == 0, again.stderr
    assert "ran 0, skipped 4 already complete" in again.stdout
    assert all(log_lines(logs, row["x"], row["label"]) == 1 for row in frame.to_dict("records"))


@pytest.mark.notebooks
@pytest.mark.slow
def test_failing_point_is_recorded_and_the_rest_finish(tmp_path):
    logs = tmp_path / "logs"
    logs.mkdir()
    sweep = write_sweep(
        tmp_path,
        {"notebook": FIXTURE, "parameters": {"log_dir": str(logs)}, "grid": {"x": [1, -1, 2]}},
    )
    out = tmp_path / "out"
    proc = run_cli("sweep", str(sweep), "--workers", "2", "--out", str(out))
    assert proc.returncode == 1, proc.stderr
    bad = point_id({"log_dir": str(logs), "x": -1.0})
    assert "1 of 3 points failed" in proc.stderr
    assert f"{bad} (x=-1.0) [cell 3]: ValueError: x must be non-negative, got -1.0" in proc.stderr
    status = read_json(out / bad / "status.json")
    assert status["status"] == "failed" and status["ename"] == "ValueError"
    assert status["cell_index"] == 3 and "raise ValueError" in status["cell_source"]
    assert (out / bad / "notebook.ipynb").is_file() and not (out / bad / "metrics.json").exists()
    frame = pd.read_csv(out / "summary.csv").set_index("point_id")
    assert frame.loc[bad, "status"] == "failed" and "ValueError" in frame.loc[bad, "error"]
    assert (frame["status"] == "ok").sum() == 2  # the others ran to the end
    assert 'class="bad"' in (out / "index.html").read_text()

    # --resume reruns only the failed point (it fails again: the notebook raises for x < 0)
    again = run_cli("sweep", str(sweep), "--workers", "2", "--out", str(out), "--resume")
    assert again.returncode == 1 and "ran 1, skipped 2" in again.stdout
    assert [log_lines(logs, x) for x in (1.0, -1.0, 2.0)] == [1, 2, 1]


@pytest.mark.notebooks
@pytest.mark.slow
def test_killed_sweep_resumes_without_rerunning_finished_points(tmp_path):
    logs = tmp_path / "logs"
    logs.mkdir()
    xs = [1.0, 2.0, 3.0, 4.0]
    sweep = write_sweep(
        tmp_path,
        {
            "notebook": FIXTURE,
            "parameters": {"log_dir": str(logs), "sleep_s": 2.0},
            "grid": {"x": xs},
        },
    )
    out = tmp_path / "out"
    ids = {x: point_id({"log_dir": str(logs), "sleep_s": 2.0, "x": x}) for x in xs}
    env = {k: v for k, v in os.environ.items() if k != "COMPUTE_RACE_BACKEND"}
    with open(tmp_path / "stderr", "w") as err:
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "analysis",
                "sweep",
                str(sweep),
                "--workers",
                "2",
                "--out",
                str(out),
            ],
            cwd=PROJECT_ROOT,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=err,
            start_new_session=True,
        )
        try:
            deadline = time.monotonic() + 240
            while not any(is_complete(out / i) for i in ids.values()):
                assert proc.poll() is None, (tmp_path / "stderr").read_text()
                assert time.monotonic() < deadline, "no point finished in time"
                time.sleep(0.2)
        finally:
            os.killpg(proc.pid, signal.SIGKILL)  # the CLI and its pool workers, mid-sweep
            proc.wait()
    finished = {
        x: read_json(out / i / "status.json") for x, i in ids.items() if is_complete(out / i)
    }
    assert 0 < len(finished) < len(xs), "the kill should land mid-sweep"
    for i in ids.values():  # only whole files under final names; a point without status is not done
        folder = out / i
        if folder.exists():
            names = {p.name for p in folder.iterdir() if not p.name.endswith(".tmp")}
            assert names <= set(POINT_FILES)
            assert "status.json" not in names or is_complete(folder)
    time.sleep(
        2
    )  # orphaned kernels notice their parent died and exit (ipykernel polls every second)

    proc = run_cli("sweep", str(sweep), "--workers", "2", "--out", str(out), "--resume")
    assert proc.returncode == 0, proc.stderr
    assert f"skipped {len(finished)} already complete" in proc.stdout
    for x, i in ids.items():
        assert is_complete(out / i)
        if x in finished:  # not rerun: same status file, one execution
            assert read_json(out / i / "status.json") == finished[x]
            assert log_lines(logs, x) == 1
        else:
            assert log_lines(logs, x) >= 1
    assert set(pd.read_csv(out / "summary.csv")["status"]) == {"ok"}
    assert not leftovers(out)


@pytest.mark.notebooks
@pytest.mark.slow
def test_dask_local_cluster(tmp_path):
    sweep = write_sweep(tmp_path, {"notebook": FIXTURE, "grid": {"x": [1, 2]}})
    out = tmp_path / "out"
    proc = run_cli("sweep", str(sweep), "--scheduler", "local", "--workers", "2", "--out", str(out))
    assert proc.returncode == 0, proc.stderr
    assert "2 points, 2 ok" in proc.stdout
    for line in proc.stderr.replace(
        "\r", "\n"
    ).splitlines():  # only the progress bar: a clean shutdown
        assert not line.strip() or line.startswith(("tiny:", "warning: --out")), proc.stderr[-4000:]
    frame = pd.read_csv(out / "summary.csv")
    assert frame["y"].tolist() == [2.0, 4.0]
    assert not leftovers(out)


# ---- the example sweeps in sweeps/ -------------------------------------------------------------

EXAMPLES = sorted((PROJECT_ROOT / "sweeps").glob("*.yaml"))


@pytest.mark.parametrize("path", EXAMPLES, ids=[p.stem for p in EXAMPLES])
def test_example_sweeps_are_small_and_valid(path):
    raw = yaml.safe_load(path.read_text())
    assert raw["notebook"].startswith("notebooks/") and "grid" in raw and "headline" in raw
    assert "metrics_path" not in {**raw.get("parameters", {}), **raw["grid"]}
    count = 1
    for values in raw["grid"].values():
        count *= len(values)
    assert 4 <= count <= 9 and raw["parameters"]["draws"] <= 2000
    if not (PROJECT_ROOT / raw["notebook"]).is_file():
        pytest.skip(f"{raw['notebook']} is not on this branch yet")
    sweep = load_sweep(path)  # keys and types against the notebook's declared parameters
    assert len(sweep.points) == count


# ---- nothing lost: a sweep writes only into its own folder -------------------------------------


def _snapshot(folder: Path) -> dict[str, tuple[bytes, int]]:
    return {
        str(p.relative_to(folder)): (p.read_bytes(), p.stat().st_mtime_ns)
        for p in folder.rglob("*")
        if p.is_file()
    }


def _users_folder(tmp_path: Path) -> Path:
    folder = tmp_path / "mine"
    folder.mkdir()
    (folder / "index.html").write_text("<p>my own page</p>")
    (folder / "summary.csv").write_text("a,b\n1,2\n")
    (folder / ".draft.tmp").write_text("half-written, mine")
    return folder


def test_folder_that_is_not_a_sweeps_is_refused_untouched(tmp_path):
    folder = _users_folder(tmp_path)
    before = _snapshot(folder)
    sweep = write_sweep(tmp_path, {"notebook": FIXTURE, "grid": {"x": [1]}})
    assert_one_line(
        call_main("sweep", sweep, "--out", folder),
        "--out",
        "not a sweep's folder",
        MARKER_NAME,
        "--force",
    )
    assert_one_line(
        call_main("sweep", sweep, "--out", folder, "--force"),
        "--out",
        "index.html, summary.csv",
        "never overwrites",
    )
    assert _snapshot(folder) == before and sorted(p.name for p in folder.iterdir()) == sorted(
        before
    )


def test_out_folder_rules(tmp_path):
    sweep = load_sweep({"notebook": FIXTURE, "grid": {"x": [1, 2]}}, name="rules")
    new = tmp_path / "a" / "new"
    prepare_out_dir(new, sweep)  # created, with parents, and marked
    assert (new / MARKER_NAME).is_file()
    prepare_out_dir(new, sweep)  # its own folder: fine again
    empty = tmp_path / "empty"
    empty.mkdir()
    prepare_out_dir(empty, sweep)  # nothing to lose in an empty folder
    assert (empty / MARKER_NAME).is_file()
    old = tmp_path / "old"  # shaped like a sweep's from before markers: never taken over
    (old / sweep.points[0].id).mkdir(parents=True)
    (old / sweep.points[0].id / "status.json").write_text(
        json.dumps({"status": "ok", "sweep": "rules"})
    )
    (old / "summary.csv").write_text("point_id\n")
    with pytest.raises(InputError, match="not a sweep's folder"):
        prepare_out_dir(old, sweep)
    assert not (old / MARKER_NAME).exists()
    shared = tmp_path / "shared"  # a user's folder: only with force, beside the user's files
    shared.mkdir()
    (shared / "notes.txt").write_text("mine")
    with pytest.raises(InputError, match="not a sweep's folder"):
        prepare_out_dir(shared, sweep)
    prepare_out_dir(shared, sweep, force=True)
    assert (shared / "notes.txt").read_text() == "mine" and (shared / MARKER_NAME).is_file()
    clash = tmp_path / "clash"  # force, but a point folder of this sweep is already there
    (clash / sweep.points[1].id).mkdir(parents=True)
    (clash / "notes.txt").write_text("mine")
    with pytest.raises(InputError, match=sweep.points[1].id):
        prepare_out_dir(clash, sweep, force=True)
    afile = tmp_path / "afile"
    afile.write_text("x")
    with pytest.raises(InputError, match="cannot create"):
        prepare_out_dir(afile / "sub", sweep)  # an OS error on the folder: one line naming --out


def test_a_sweep_never_writes_into_another_sweeps_folder(tmp_path):
    """`sweep B --resume --out A` rewrote A's summary and index: the marker's sweep name was never
    read. Now the folder of another sweep (or one whose marker names none) is refused, even with
    --force, and left as it was."""
    a = load_sweep({"notebook": FIXTURE, "grid": {"x": [1, 2]}}, name="sweep-a")
    folder = tmp_path / "a"
    prepare_out_dir(folder, a)
    (folder / "summary.csv").write_text("point_id,x\nA,1\n")
    (folder / "index.html").write_text("<p>sweep A</p>")
    before = _snapshot(folder)
    b = write_sweep(tmp_path, {"name": "sweep-b", "notebook": FIXTURE, "grid": {"x": [1, 2]}})
    for extra in ((), ("--resume",), ("--force",), ("--resume", "--force")):
        assert_one_line(
            call_main("sweep", b, "--out", folder, *extra), "--out", "'sweep-a'", "'sweep-b'"
        )
    assert _snapshot(folder) == before
    prepare_out_dir(folder, a)  # its own sweep still may
    (folder / MARKER_NAME).write_text("not json")
    with pytest.raises(InputError, match="does not record"):
        prepare_out_dir(folder, a)


def test_cleanup_removes_only_its_own_temporaries(tmp_path):
    from analysis.runs.sweep import SCRATCH_NAME, _clean_stale

    out = tmp_path / "out"
    point = out / "0123456789ab"
    point.mkdir(parents=True)
    (out / MARKER_NAME).write_text("{}")
    ours = [
        point / ".status.json.k2j3.tmp",
        point / ".notebook.ipynb.x_1.tmp",
        out / ".summary.csv.abc.tmp",
        out / SCRATCH_NAME / "0123456789ab-q9_z" / "notebook.ipynb",
    ]
    theirs = [
        point / ".mine.tmp",
        out / ".draft.tmp",
        out / "notes" / ".status.json.k2j3.tmp",
        out / SCRATCH_NAME / "keep-me.txt",
        out / "0123456789ab.tmp",
    ]
    for path in ours + theirs:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("x")
    assert _clean_stale(out) == 4
    assert not any(p.exists() for p in ours)
    assert all(p.read_text() == "x" for p in theirs)


def test_os_error_on_the_results_folder_is_one_line(tmp_path):
    afile = tmp_path / "afile"
    afile.write_text("x")
    sweep = write_sweep(tmp_path, {"notebook": FIXTURE, "grid": {"x": [1]}})
    assert_one_line(call_main("sweep", sweep, "--out", afile / "results"), "--out", "cannot create")


# ---- bounded work ------------------------------------------------------------------------------


def test_huge_grid_is_counted_and_refused_without_being_built(tmp_path, monkeypatch):
    import analysis.runs.sweep.spec

    def no_product(*args):
        raise AssertionError("the grid was built")

    monkeypatch.setattr(analysis.runs.sweep.spec.itertools, "product", no_product)
    body = {"notebook": FIXTURE, "grid": {"x": list(range(1000)), "n": list(range(1000))}}
    with pytest.raises(InputError) as err:
        load_sweep(write_sweep(tmp_path, body))
    message = str(err.value)
    assert "1,000,000 points" in message and f"{MAX_POINTS:,} allowed" in message
    assert "--max-points 1000000" in message and "972.2 hours" in message  # 1e6 x 3.5 s


def test_max_points_raises_or_lowers_the_limit(tmp_path):
    four = write_sweep(tmp_path, {"notebook": FIXTURE, "grid": {"x": [1, 2], "n": [1, 2]}})
    assert len(load_sweep(four, max_points=4).points) == 4
    with pytest.raises(InputError, match="4 points is more than the 3 allowed"):
        load_sweep(four, max_points=3)
    many = write_sweep(
        tmp_path, {"notebook": FIXTURE, "points": [{"x": i} for i in range(MAX_POINTS + 1)]}, "many"
    )
    with pytest.raises(InputError, match="1,001 points"):
        load_sweep(many)
    assert len(load_sweep(many, max_points=MAX_POINTS + 1).points) == MAX_POINTS + 1
    for bad in ("0", "abc", "inf", "1.5", ""):
        assert_one_line(
            call_main("sweep", four, "--max-points", bad, "--out", tmp_path / "o"), "--max-points"
        )
    assert not (tmp_path / "o").exists()


@pytest.mark.parametrize(
    "text, needles",
    [
        (
            "notebook: tests/fixtures/sweep_tiny.ipynb\ngrid:\n  x: &a [1, 2]\n  n: *a\n",
            ["anchor &a"],
        ),
        (
            "notebook: tests/fixtures/sweep_tiny.ipynb\ngrid:\n  x: [1]\ngrid:\n  x: [2]\n",
            ["duplicate key 'grid'"],
        ),
    ],
)
def test_sweep_yaml_aliases_and_repeated_keys(tmp_path, text, needles):
    assert_one_line(
        call_main("sweep", write_sweep(tmp_path, text), "--out", tmp_path / "o"), *needles
    )
    assert not (tmp_path / "o").exists()


# ---- workers die with the sweep; Ctrl-C is one line --------------------------------------------


def _start_slow_sweep(tmp_path: Path, workers: int) -> tuple[subprocess.Popen, Path]:
    logs = tmp_path / "logs"
    logs.mkdir()
    sweep = write_sweep(
        tmp_path,
        {
            "notebook": FIXTURE,
            "parameters": {"log_dir": str(logs), "sleep_s": 120.0},
            "grid": {"x": [1.0, 2.0, 3.0]},
        },
    )
    env = {k: v for k, v in os.environ.items() if k != "COMPUTE_RACE_BACKEND"}
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "analysis",
            "sweep",
            str(sweep),
            "--workers",
            str(workers),
            "--out",
            str(tmp_path / "out"),
        ],
        cwd=PROJECT_ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    deadline = time.monotonic() + 240
    while not any(logs.iterdir()):  # a notebook is running in a kernel of a worker
        assert proc.poll() is None, proc.communicate()
        assert time.monotonic() < deadline, "no point started in time"
        time.sleep(0.2)
    return proc, logs


def _survivors(processes, wait_s: float = 20.0) -> list:
    import psutil

    deadline = time.monotonic() + wait_s
    while True:
        alive = [p for p in processes if p.is_running() and p.status() != psutil.STATUS_ZOMBIE]
        if not alive or time.monotonic() > deadline:
            return alive
        time.sleep(0.2)


@pytest.mark.notebooks
@pytest.mark.slow
def test_sigkill_of_the_sweep_leaves_no_worker(tmp_path):
    import psutil

    proc, _ = _start_slow_sweep(tmp_path, workers=2)
    descendants = psutil.Process(proc.pid).children(recursive=True)  # workers and their kernels
    try:
        assert len(descendants) >= 2
        proc.kill()  # SIGKILL of the command alone, as `kill -9 PID` does
        proc.communicate()
        alive = _survivors(descendants)
        assert not alive, [(p.pid, p.cmdline()) for p in alive]
    finally:
        for p in descendants:
            with contextlib.suppress(psutil.Error):
                p.kill()


@pytest.mark.notebooks
@pytest.mark.slow
@pytest.mark.parametrize("workers", [1, 2])
def test_ctrl_c_stops_the_sweep_in_one_line(tmp_path, workers):
    import psutil

    proc, _ = _start_slow_sweep(tmp_path, workers=workers)
    descendants = psutil.Process(proc.pid).children(recursive=True)
    try:
        os.killpg(
            proc.pid, signal.SIGINT
        )  # what a terminal's Ctrl-C does: the whole foreground group
        stdout, stderr = proc.communicate(timeout=60)
        assert proc.returncode == 130, stderr
        lines = [
            line
            for line in stderr.replace("\r", "\n").splitlines()
            if line.strip() and not line.startswith(("tiny:", "warning: --out"))
        ]
        assert lines == ["error: interrupted"], stderr
        assert "Traceback" not in stderr and not _survivors(descendants)
    finally:
        for p in descendants:
            with contextlib.suppress(psutil.Error):
                p.kill()
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)


@pytest.mark.notebooks
@pytest.mark.slow
def test_force_writes_only_the_sweeps_files_beside_the_users(tmp_path):
    folder = tmp_path / "shared"
    folder.mkdir()
    (folder / "notes.txt").write_text("mine")
    (folder / ".notes.txt.abc.tmp").write_text(
        "mine too"
    )  # looks like a temporary, but not the sweep's
    (folder / ".draft.tmp").write_text("and this")
    before = _snapshot(folder)
    sweep = write_sweep(tmp_path, {"notebook": FIXTURE, "grid": {"x": [1]}})
    proc = run_cli("sweep", str(sweep), "--out", str(folder), "--force")
    assert proc.returncode == 0, proc.stderr
    # --out outside the project: allowed, said once on stderr
    assert f"warning: --out {folder.resolve()} is outside the project" in proc.stderr
    after = _snapshot(folder)
    assert {
        k: after[k] for k in before
    } == before  # every file of the user's, byte for byte and mtime
    added = {Path(k).parts[0] for k in after} - set(before)
    assert added == {
        MARKER_NAME,
        LOCK_NAME,
        "summary.csv",
        "summary.parquet",
        "index.html",
        "figure.png",
        point_id({"x": 1.0}),
    }
    again = run_cli(
        "sweep", str(sweep), "--out", str(folder), "--resume"
    )  # now a sweep's folder: no --force
    assert again.returncode == 0 and "skipped 1 already complete" in again.stdout, again.stderr
    assert {k: _snapshot(folder)[k] for k in before} == before


def test_a_scheduler_address_that_is_not_dask_is_one_line_and_writes_nothing(tmp_path):
    """A peer that answers with something other than Dask's protocol: distributed read its first
    bytes as a message length of exabytes, and the sweep said 'out of memory; use fewer draws'."""
    import socket
    import threading

    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen()

    def answer():
        with contextlib.suppress(OSError):
            while True:
                conn, _ = server.accept()
                with conn:
                    conn.sendall(b"HTTP/1.1 400 Bad Request\r\n\r\n" + b"\xff" * 64)

    threading.Thread(target=answer, daemon=True).start()
    sweep = write_sweep(tmp_path, {"notebook": FIXTURE, "grid": {"x": [1]}})
    out = tmp_path / "out"
    try:
        proc = run_cli(
            "sweep",
            str(sweep),
            "--scheduler",
            f"tcp://127.0.0.1:{server.getsockname()[1]}",
            "--out",
            str(out),
            timeout=120,
        )
    finally:
        server.close()
    assert_one_line_error(proc, "--scheduler", "127.0.0.1")
    assert "memory" not in proc.stderr and not out.exists()

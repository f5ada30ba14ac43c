"""Shared fixtures: the real CLI as a subprocess, copies of data/ to break, backends to compare."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, settings

from analysis.backend import cupy_status
from analysis.inputs.catalog import load_catalog
from analysis.paths import DATA_DIR_ENV, PROJECT_ROOT

# Deterministic property tests in CI (and everywhere): same examples every run, no deadlines on a
# shared 2-core machine.
settings.register_profile(
    "deterministic",
    derandomize=True,
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
# On demand (HYPOTHESIS_PROFILE=long): fresh random examples, many of them (the fuzz suite's long
# run).
settings.register_profile(
    "long",
    max_examples=2000,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "deterministic"))

ROOT = PROJECT_ROOT
DATA = ROOT / "data"


def run_cli(
    *args: str, env: dict | None = None, timeout: float = 300
) -> subprocess.CompletedProcess:
    """Run `python -m analysis ...` as a user would, from the project root."""
    full_env = {
        k: v for k, v in os.environ.items() if k not in ("COMPUTE_RACE_BACKEND", DATA_DIR_ENV)
    }
    full_env.update(env or {})
    return subprocess.run(
        [sys.executable, "-m", "analysis", *args],
        cwd=ROOT,
        env=full_env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def assert_one_line_error(proc: subprocess.CompletedProcess, *needles: str) -> str:
    """Exit 2, exactly one stderr line starting 'error:', no traceback, nothing on stdout."""
    assert proc.returncode == 2, (proc.returncode, proc.stdout[-2000:], proc.stderr[-2000:])
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    assert lines[0].startswith("error: "), lines[0]
    assert "Traceback" not in proc.stderr
    assert proc.stdout == ""
    for needle in needles:
        assert needle in lines[0], (needle, lines[0])
    return lines[0]


@pytest.fixture
def cli():
    return run_cli


@pytest.fixture
def data_copy(tmp_path) -> Path:
    """A writable copy of data/ to corrupt; point the CLI at it with COMPUTE_RACE_DATA_DIR."""
    target = tmp_path / "data"
    shutil.copytree(DATA, target)
    return target


def data_env(path: Path) -> dict:
    return {DATA_DIR_ENV: str(path)}


@pytest.fixture
def catalog():
    return load_catalog()


def catalog_with(tmp_path: Path, *, deals=(), models=(), accelerators_csv_rows=()) -> object:
    """The shipped catalog plus extra deals (dicts) and models (CSV lines), loaded from a copy."""
    target = tmp_path / "data-extra"
    if target.exists():
        shutil.rmtree(target)
    shutil.copytree(DATA, target)
    if deals:
        doc = yaml.safe_load((target / "deals.yaml").read_text())
        doc["deals"].extend(deals)
        (target / "deals.yaml").write_text(yaml.safe_dump(doc, sort_keys=False))
    if models:
        with open(target / "models.csv", "a") as handle:
            for line in models:
                handle.write(line.rstrip("\n") + "\n")
    return load_catalog(target)


# ---- backends ---------------------------------------------------------------------------------


def _strict_namespace():
    import array_api_strict

    return array_api_strict


BACKEND_PARAMS = [
    pytest.param("numpy", id="numpy"),
    pytest.param("array-api-strict", id="array-api-strict-device1"),
    pytest.param(
        "cupy",
        id="cupy",
        marks=[
            pytest.mark.gpu,
            pytest.mark.skipif(not cupy_status()[0], reason=f"CuPy not usable: {cupy_status()[1]}"),
        ],
    ),
]


@pytest.fixture(params=BACKEND_PARAMS)
def backend(request):
    """A Backend for each array library: NumPy, array-api-strict on its second device, CuPy."""
    from analysis.backend import Backend, select

    if request.param == "numpy":
        return select("numpy")
    if request.param == "cupy":
        return select("cupy")
    xp = _strict_namespace()
    return Backend("array-api-strict", xp, device=xp.Device("device1"))

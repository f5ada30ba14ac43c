"""The estimate context: what `estimate` reads from data/ and the prior as plain values, cached on
disk so that the `estimate` command imports neither pydantic nor the prior's fit. It must give the
same numbers as the catalog and the prior it comes from, and never serve stale data."""

from __future__ import annotations

import json
import math
import shutil
import subprocess
import sys

import numpy as np
import pytest
from conftest import DATA, ROOT

from analysis.inputs import catalog as catalog_module
from analysis.inputs.catalog import CSV_FILES, DEALS_FILE, load_catalog
from analysis.model import context as _context
from analysis.model.calibration import default_prior
from analysis.model.estimate import estimate
from analysis.paths import CACHE_ENV, DATA_DIR_ENV


@pytest.fixture
def fresh(monkeypatch, tmp_path):
    monkeypatch.setenv(CACHE_ENV, str(tmp_path / "cache"))
    _context._LOADED.clear()
    catalog_module._CACHE.clear()
    yield tmp_path
    _context._LOADED.clear()
    catalog_module._CACHE.clear()


def test_the_context_reads_the_files_the_catalog_reads():
    assert set(_context.DATA_FILES) == {f for f, _ in CSV_FILES.values()} | {DEALS_FILE}


@pytest.mark.parametrize("size", [None, 1e8, 7e9, 70e9, 405e9, 2e12, 1e13])
def test_the_compiled_prior_is_the_prior(size):
    catalog = load_catalog()
    prior = default_prior(catalog)
    ctx = _context.context_for(catalog)
    for chip in catalog.accelerators:
        want = prior.effective(size, accelerator=chip)
        got = ctx.effective(size, chip)
        assert got.mu == pytest.approx(want.mu, rel=1e-12, abs=1e-14), chip
        assert got.sigma == pytest.approx(want.sigma, rel=1e-12), chip
        assert got.describe() == want.describe()


class _CubicPrior:
    """A prior whose half-width is not of the compiled form."""

    def log_centre_and_half_width(self, active, accelerator):
        x = 0.0 if active is None else math.log10(active) - 11
        return -1.0 + 0.1 * x, 0.3 + 0.01 * x**3 + 0.05 * x * x


def test_a_prior_of_another_form_is_not_compiled_and_estimate_asks_the_prior(monkeypatch):
    assert _context._compile_prior(_CubicPrior(), "h100-sxm") is None
    catalog = load_catalog()
    ctx = _context.context_for(catalog)
    kw = dict(params=70e9, tokens=2e12, accelerator="h100-sxm", draws=500, catalog=catalog)
    compiled = estimate(**kw)
    monkeypatch.setitem(ctx.prior, "h100-sxm", None)
    ctx._effective.clear()
    try:
        asked = estimate(**kw)
    finally:
        ctx._effective.clear()
    for metric, q in compiled.metrics.items():
        if q is not None:
            assert asked.metrics[metric]["p50"] == pytest.approx(q["p50"], rel=1e-12)


def test_a_cached_context_gives_the_numbers_of_the_catalog(fresh):
    kw = dict(
        params=405e9,
        tokens=15e12,
        accelerator="h800",
        accelerators=2048,
        precision="fp8",
        draws=800,
        seed=9,
    )
    first = estimate(**kw)  # builds and writes the context
    assert len(list((fresh / "cache").glob("estimate-*.pickle"))) == 1
    _context._LOADED.clear()
    cached = estimate(**kw)  # reads it
    given = estimate(**kw, catalog=load_catalog())
    assert cached.metrics == first.metrics == given.metrics
    assert cached.inputs == given.inputs
    assert cached.provenance["versions"] == given.provenance["versions"]
    assert cached.provenance["data_hash"] == given.provenance["data_hash"]


def test_a_damaged_context_file_is_built_again(fresh):
    first = estimate(params=7e9, tokens=2e12, accelerator="h100-sxm", draws=300)
    (path,) = (fresh / "cache").glob("estimate-*.pickle")
    path.write_bytes(b"\x80\x05 not a pickle")
    _context._LOADED.clear()
    again = estimate(params=7e9, tokens=2e12, accelerator="h100-sxm", draws=300)
    assert again.metrics == first.metrics
    assert _context._read(path, first.provenance["data_hash"]) is not None


def _scale_cell(path, row_id, column, factor):
    """Multiply one numeric cell of a data CSV (row by id) in place."""
    import csv

    with open(path, newline="") as handle:
        reader = csv.DictReader(handle)
        fields, rows = reader.fieldnames, list(reader)
    row = next(r for r in rows if r["id"] == row_id)
    row[column] = str(float(row[column]) * factor)
    with open(path, "w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=fields, lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)


def _cli(*args, env):
    return subprocess.run(
        [sys.executable, "-m", "analysis", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_a_changed_data_file_is_read_not_the_cached_context(fresh, monkeypatch):
    data = fresh / "data"
    shutil.copytree(DATA, data)
    env = {k: v for k, v in __import__("os").environ.items() if k != "COMPUTE_RACE_BACKEND"}
    env.update({DATA_DIR_ENV: str(data), CACHE_ENV: str(fresh / "cache")})
    args = (
        "estimate",
        "--params",
        "7e9",
        "--tokens",
        "2e12",
        "--accelerator",
        "h100-sxm",
        "--draws",
        "300",
        "--format",
        "json",
    )
    before = json.loads(_cli(*args, env=env).stdout)
    _scale_cell(data / "accelerators.csv", "h100-sxm", "tdp_w", 2)
    after = json.loads(_cli(*args, env=env).stdout)
    assert after["provenance"]["data_hash"] != before["provenance"]["data_hash"]
    assert after["accelerator_energy_mwh"]["p50"] == pytest.approx(
        2 * before["accelerator_energy_mwh"]["p50"], rel=1e-9
    )


def test_the_estimate_command_imports_no_pydantic_pandas_or_scipy_once_cached(fresh):
    env = {k: v for k, v in __import__("os").environ.items() if k != "COMPUTE_RACE_BACKEND"}
    env[CACHE_ENV] = str(fresh / "cache")
    env.pop(DATA_DIR_ENV, None)
    code = (
        "import sys; from analysis.runs.cli import main; code = main(['estimate', '--params', "
        "'7e9', "
        "'--tokens', '2e12', '--accelerator', 'a100-sxm-80gb', '--draws', '500']); "
        "print(sorted(m for m in ('pydantic', 'pandas', 'scipy', 'yaml', 'array_api_compat.numpy', "
        "'importlib.metadata') if m in sys.modules), code)"
    )

    def run():
        return subprocess.run(
            [sys.executable, "-c", code],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
        )

    first = run()  # builds the context: imports them all
    assert first.returncode == 0, first.stderr
    second = run()
    assert second.returncode == 0, second.stderr
    assert second.stdout.strip().splitlines()[-1] == "[] 0"


def test_unknown_ids_still_name_what_is_allowed(fresh):
    from analysis.errors import InputError

    with pytest.raises(InputError, match="--accelerator: unknown accelerator 'h100'; did you mean"):
        estimate(params=7e9, tokens=2e12, accelerator="h100", draws=10)
    with pytest.raises(InputError, match="--site: unknown site"):
        estimate(params=7e9, tokens=2e12, accelerator="h100-sxm", site="atlantis", draws=10)
    with pytest.raises(InputError, match="no FP8 peak"):
        estimate(params=7e9, tokens=2e12, accelerator="a100-sxm-80gb", precision="fp8", draws=10)
    assert np.isfinite(
        estimate(params=7e9, tokens=2e12, accelerator="h100-sxm", draws=10).training_flop
    )


def test_in_one_process_a_changed_file_is_read_again(fresh, monkeypatch):
    data = fresh / "data"
    shutil.copytree(DATA, data)
    monkeypatch.setenv(DATA_DIR_ENV, str(data))
    kw = dict(params=7e9, tokens=2e12, accelerator="h100-sxm", draws=200)
    before = estimate(**kw)
    _scale_cell(data / "sites.csv", "us-average", "grid_gco2_per_kwh", 3)
    after = estimate(**kw)
    assert after.provenance["data_hash"] != before.provenance["data_hash"]
    assert after.metrics["emissions_tco2e"]["p50"] == pytest.approx(
        3 * before.metrics["emissions_tco2e"]["p50"]
    )

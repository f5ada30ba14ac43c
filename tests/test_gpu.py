"""CuPy against NumPy on the same draws, and the benchmark on CuPy (marker `gpu`).

Skipped with the reason where `analysis.backend.cupy_status()` says CuPy cannot run a kernel here.
On a GPU machine: `pytest -m gpu -ra` (or `scripts/gpu_check.sh OUT_DIR`, which also runs the
benchmark). CuPy runs the array-API kernel (`kernels/race.py`); NumPy runs the CPU fast path
(`kernels/race_cpu.py`); both see the same host draws, so they must agree to float32 tolerance.
"""

from __future__ import annotations

import json

import numpy as np
import pytest
from conftest import run_cli

from analysis.backend import cupy_status, select, to_numpy
from analysis.inputs.catalog import load_catalog
from analysis.inputs.scenario import DEFAULT_SCENARIO, load_scenario
from analysis.model import run as sim
from analysis.model.calibration import default_prior
from analysis.model.plan import plan_competitor

USABLE, REASON = cupy_status()
pytestmark = [pytest.mark.gpu, pytest.mark.skipif(not USABLE, reason=f"CuPy not usable: {REASON}")]


METRICS = (
    "finish_month",
    "launch_month",
    "release_month",
    "training_flop",
    "effective_flop",
    "time_to_train_months",
    "gpu_hours",
    "energy_mwh",
    "peak_power_mw",
    "cost_usd",
    "emissions_tco2e",
)


def _scenarios():
    import yaml

    base = yaml.safe_load(DEFAULT_SCENARIO.read_text())
    yield "default", None
    yield "span-sites", {**base, "span_sites": True}
    yield "common-target", {**base, "target_flop": 3e26}
    yield "effective-target", {**base, "target_effective_flop": 3e26}
    late = {**base, "time_step_months": 1.5, "competitors": [dict(c) for c in base["competitors"]]}
    late["competitors"][1]["launch"] = {"after": "2027-02"}  # inside a step of 1.5 months
    yield "late-start", late


@pytest.mark.parametrize("name", [n for n, _ in _scenarios()])
def test_cupy_and_numpy_agree_on_the_same_draws(name):
    source = dict(_scenarios())[name]
    catalog = load_catalog()
    sc = load_scenario(source, catalog)
    prior = default_prior(catalog)
    numpy_be, cupy_be = select("numpy"), select("cupy")
    for i, comp in enumerate(sc.competitors):
        plan = plan_competitor(i, comp, sc, catalog)
        inputs = sim.sample_inputs(plan, sc, catalog, prior, 0, 50_000)
        ref = sim.run_chunk(plan, sc, inputs, numpy_be, "float32")
        got = sim.run_chunk(plan, sc, inputs, cupy_be, "float32")
        finished = np.isfinite(ref["finish_month"])
        flips = np.count_nonzero(finished != np.isfinite(got["finish_month"]))
        assert flips <= 2, (
            f"{comp.label}: {flips} draws finish on one backend only"
        )  # crossings at the horizon
        both = finished & np.isfinite(got["finish_month"])
        for key in METRICS:
            np.testing.assert_allclose(
                got[key][both], ref[key][both], rtol=1e-4, err_msg=f"{name} {comp.label} {key}"
            )


def test_cupy_kernel_returns_device_arrays_and_matches_generic_numpy():
    """The same generic kernel on both libraries: CuPy's float32 ops against NumPy's."""
    from analysis.model.kernels.race import launch_runs

    catalog = load_catalog()
    sc = load_scenario(None, catalog)
    prior = default_prior(catalog)
    for i, comp in enumerate(sc.competitors):
        plan = plan_competitor(i, comp, sc, catalog)
        inputs = sim.sample_inputs(plan, sc, catalog, prior, 0, 20_000)
        ka_np = sim.kernel_args(plan, sc, inputs, select("numpy"), "float32")
        ka_cp = sim.kernel_args(plan, sc, inputs, select("cupy"), "float32")
        ref = launch_runs(*ka_np.args, **ka_np.keywords)
        got = launch_runs(*ka_cp.args, **ka_cp.keywords)
        assert type(got["launch_months"]).__module__.startswith("cupy")
        for key in ref:
            pairs = (
                zip(ref[key], got[key]) if isinstance(ref[key], list) else [(ref[key], got[key])]
            )
            for a, b in pairs:
                np.testing.assert_allclose(
                    to_numpy(b), a, rtol=1e-5, atol=1e-6, err_msg=f"{comp.label} {key}"
                )


def test_simulate_on_cupy_matches_numpy():
    a = sim.simulate(draws=200_000, seed=3, backend="numpy")
    b = sim.simulate(draws=200_000, seed=3, backend="cupy")
    assert b.backend == "cupy"
    for ca, cb in zip(a.competitors, b.competitors):
        assert cb["p_first"] == pytest.approx(ca["p_first"], abs=1e-4)
        assert cb["time_to_train_months"]["p50"] == pytest.approx(
            ca["time_to_train_months"]["p50"], rel=1e-4
        )
        assert cb["cost_usd"]["p50"] == pytest.approx(ca["cost_usd"]["p50"], rel=1e-4)


def test_bench_on_cupy_reports_and_agrees():
    proc = run_cli(
        "bench", "--draws", "200000", "--backend", "cupy", "--format", "json", timeout=600
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    out = json.loads(proc.stdout)
    (result,) = out["results"]
    assert (
        result["backend"] == "cupy"
        and result["draws"] == 200_000
        and result["scenario_steps_per_s"] > 0
    )
    assert isinstance(result["peak_memory_mb"], float) and result["peak_memory_mb"] > 0
    assert out["references"]["all_agree"] is True
    assert out["references"]["scalar"]["agreement"]["cupy"]["agrees"]
    assert result["stages"]["kernel"] > 0 and result["stages"]["end_to_end_ratio"] >= 1
    assert "cupy" in out["versions"] and "cupy" in out["device"]

"""The race kernel's three forms agree: the array-API kernel (`race.launch_runs`, the
specification), the CPU fast path (`race_cpu.launch_runs_cpu`: the same float32 operations on the
draws still waiting, so the same bits) and the scalar reference (`reference.scalar_launch`, float64
loops, to float32 rounding); and the compiled helpers (`native.c`) say whether they run and why."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from analysis.backend import select
from analysis.inputs.catalog import load_catalog
from analysis.inputs.scenario import load_scenario
from analysis.model import run as sim
from analysis.model.calibration import default_prior
from analysis.model.kernels import native
from analysis.model.kernels.race import RaceLayout, launch_runs
from analysis.model.kernels.race_cpu import launch_runs_cpu
from analysis.model.plan import plan_competitor
from analysis.model.reference import compare, scalar_launch

ROOT = Path(__file__).resolve().parents[1]
NUMPY = select("numpy")
KEYS = ("launch_months", "track", "run_flops", "run_facility_w", "need_flop")


def assert_same(a: dict, b: dict) -> None:
    for key in KEYS:
        np.testing.assert_array_equal(a[key], b[key], err_msg=key)
    for d, (x, y) in enumerate(zip(a["run_server_w"], b["run_server_w"])):
        np.testing.assert_array_equal(x, y, err_msg=f"run_server_w[{d}]")


def synthetic(
    k, seed, *, count_mode=False, target=True, n_deals=5, n_campus=3, span=False, dtype=np.float32
):
    """Random tables (with gaps of zero capacity), caps, delays, launches (some before the start,
    some after the horizon), shares or counts, targets raw or halving with progress."""
    rng = np.random.default_rng(seed)
    steps, sub = 36, 8
    n = sub * steps + 400
    deal_campus = [int(x) for x in rng.integers(0, n_campus, n_deals)]
    used = sorted(set(deal_campus))
    deal_campus = tuple(used.index(c) for c in deal_campus)
    n_campus = len(used)
    server_w = tuple(float(x) for x in rng.uniform(1000, 3000, n_deals))
    peak = rng.uniform(1e14, 3e15, n_deals)
    flops, power = [], []
    for d in range(n_deals):
        units = np.clip(np.cumsum(rng.uniform(0, 2000, n)) - rng.uniform(0, 1e5), 0, None)
        units[rng.uniform(size=n) < 0.02] = 0  # outages: capacity is not monotone
        flops.append((units * peak[d]).astype(dtype))
        power.append((units * server_w[d]).astype(dtype))
    caps = [
        None if rng.uniform() < 0.4 else np.cumsum(rng.uniform(0, 5, n)).astype(dtype)
        for _ in range(n_campus)
    ]
    layout = RaceLayout(
        deal_campus,
        (0,) * n_campus if span else tuple(range(n_campus)),
        1 if span else n_campus,
        steps,
        sub,
        1.0,
        35.5,
        server_w,
    )
    cast = lambda a: np.asarray(a, dtype)  # noqa: E731
    base = [rng.integers(0, 400, k).astype(np.int64) for _ in range(n_deals)]
    cap_base = [None if c is None else rng.integers(0, 400, k).astype(np.int64) for c in caps]
    pue = [cast(rng.uniform(1.05, 1.4, k)) for _ in range(n_campus)]
    args = (
        layout,
        flops,
        power,
        base,
        caps,
        cap_base,
        pue,
        cast(rng.uniform(-3, 40, k)),  # earliest launch
        cast(rng.uniform(0.1, 0.8, k)),  # share
        cast(rng.uniform(0.2, 0.5, k)),  # MFU x goodput
        cast(rng.uniform(1, 8, k) * 2.63e6),  # budget (s)
        cast(10 ** rng.uniform(22, 27, k) if target else np.zeros(k)),
        cast(1 / rng.uniform(5, 14, k) if target else np.zeros(k)),
    )
    keywords = {
        "count": cast(rng.uniform(100, 2e4, k)) if count_mode else None,
        "deal_gain": [
            cast(rng.uniform(1, 1.5, k)) if rng.uniform() < 0.5 else None for _ in range(n_deals)
        ],
    }
    return args, keywords


CASES = [
    {"count_mode": c, "target": t, "span": s}
    for c in (False, True)
    for t in (False, True)
    for s in (False, True)
]


@pytest.mark.parametrize("case", CASES, ids=lambda c: "-".join(f"{k}={v}" for k, v in c.items()))
def test_fast_path_is_the_array_api_kernel_bit_for_bit(case):
    args, keywords = synthetic(6000, seed=sum(map(int, case.values())) + 3, **case)
    ref = launch_runs(*args, **keywords)
    assert 0.5 < np.isfinite(ref["launch_months"]).mean() < 1  # some launch, some never do
    assert_same(launch_runs_cpu(*args, **keywords), ref)


@pytest.mark.parametrize(
    "case", CASES[::3], ids=lambda c: "-".join(f"{k}={v}" for k, v in c.items())
)
def test_both_kernels_agree_with_the_scalar_reference(case):
    args, keywords = synthetic(800, seed=11, **case)
    ref = scalar_launch(*args, **keywords)
    for kernel in (launch_runs, launch_runs_cpu):
        verdict = compare(ref, kernel(*args, **keywords), rtol=1e-5)
        assert verdict["agrees"], (kernel.__name__, verdict)


def test_compare_catches_a_wrong_kernel():
    args, keywords = synthetic(800, seed=12)
    ref = scalar_launch(*args, **keywords)
    wrong = launch_runs(*args, **keywords)
    wrong["run_flops"] = wrong["run_flops"] * np.float32(1.01)
    assert not compare(ref, wrong, rtol=1e-5)["agrees"]
    late = launch_runs(*args, **keywords)
    late["launch_months"] = late["launch_months"] + np.float32(1)
    assert compare(ref, late, rtol=1e-5)["launches_differ"] > 0


def test_float64_inputs_give_the_same_answers_in_float64():
    args, keywords = synthetic(2000, seed=5, dtype=np.float64)
    out = launch_runs_cpu(*args, **keywords)
    assert out["run_flops"].dtype == np.float64
    assert_same(out, launch_runs(*args, **keywords))


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 10_000), k=st.integers(1, 300))
def test_fast_path_agrees_on_any_chunk(seed, k):
    args, keywords = synthetic(k, seed=seed, count_mode=seed % 2 == 1, target=seed % 3 > 0)
    assert_same(launch_runs_cpu(*args, **keywords), launch_runs(*args, **keywords))


def _shipped_inputs(path, draws=3000):
    catalog = load_catalog()
    sc = load_scenario(path, catalog)
    prior = default_prior(catalog)
    for i, comp in enumerate(sc.competitors):
        plan = plan_competitor(i, comp, sc, catalog)
        inputs = sim.sample_inputs(plan, sc, catalog, prior, 0, draws)
        yield comp.label, sim.kernel_args(plan, sc, inputs, NUMPY, "float32")


@pytest.mark.parametrize("path", ["scenarios/default.yaml", "scenarios/next_frontier.yaml"])
def test_shipped_scenarios_run_the_same_on_both_kernels(path):
    for label, ka in _shipped_inputs(ROOT / path):
        assert_same(launch_runs_cpu(*ka.args, **ka.keywords), launch_runs(*ka.args, **ka.keywords))


def test_simulate_uses_the_fast_path_on_numpy_and_says_so():
    assert sim.race_kernel(NUMPY) is launch_runs_cpu
    result = sim.simulate(draws=500, seed=1)
    from analysis.model.kernels import race_cpu

    assert result.provenance["race_kernel"] == race_cpu.DESCRIPTION
    assert result.provenance["compiled_helpers"] == native.status()


def _status_in_subprocess(env_extra: dict) -> str:
    code = "from analysis.model.kernels import native\nprint(native.status())\n"
    proc = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        env={**os.environ, **env_extra},
        cwd=ROOT,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    return proc.stdout.strip()


def test_switch_off_by_environment_is_reported():
    assert _status_in_subprocess({native.ENV_SWITCH: "0"}) == f"NumPy ({native.ENV_SWITCH}=0)"


def test_installed_build_matches_the_source_and_a_stale_one_is_refused(monkeypatch):
    from analysis.model.kernels import native_build

    assert native.library() is not None, native.status()
    assert "compiled at install" in native.status()
    monkeypatch.setattr(native_build, "source_sha", lambda text=None: "0" * 16)
    native._load.cache_clear()
    try:
        assert native.library() is None and "stale" in native.status()
    finally:
        monkeypatch.undo()
        native._load.cache_clear()
    assert native.library() is not None


def test_a_build_for_another_cpu_is_refused(monkeypatch):
    from analysis.model.kernels import native_build

    monkeypatch.setattr(native_build, "cpu_key", lambda: "f" * 16)
    native._load.cache_clear()
    try:
        assert native.library() is None and "another CPU" in native.status()
    finally:
        monkeypatch.undo()
        native._load.cache_clear()
    assert native.library() is not None


def test_cffi_binds_the_functions_the_source_exports():
    import re

    from analysis.model.kernels import native_build

    names = re.findall(r"(race_\w+|native_\w+)\(", native_build.cdef())
    assert names == [
        "race_sample",
        "race_ndtri",
        "race_select",
        "native_source_sha",
        "native_flags",
        "native_machine",
    ]


def test_simulate_without_the_extension_gives_the_same_race(monkeypatch):
    """No compiled helpers: NumPy's Philox makes the draws and np.partition the quantiles; the
    per-draw results are the compiled path's to float32 rounding (the lognormal draws differ only
    in ndtri's and exp's last bits)."""
    fast = sim.simulate(draws=3000, seed=4, keep_draws=True)
    monkeypatch.setattr(native, "library", lambda: None)
    from analysis.model.sampling import sampler_status

    assert sampler_status().startswith("NumPy's np.random.Philox")
    slow = sim.simulate(draws=3000, seed=4, keep_draws=True)
    a, b = fast.draws, slow.draws
    assert list(a.columns) == list(b.columns) and len(a) == len(b)
    np.testing.assert_array_equal(np.isfinite(a["finish_month"]), np.isfinite(b["finish_month"]))
    for column in ("finish_month", "gpu_hours", "cost_usd", "energy_mwh", "training_flop"):
        np.testing.assert_allclose(a[column], b[column], rtol=2e-5, err_msg=column)

"""The CPU fast path of the race kernel (`kernels/race_cpu.c` via `race_cpu.race_tracks_cpu`) agrees
with the array-API kernel (`race.race_tracks`, the specification) and the scalar reference on the
same draws, whatever the chunking; and says why when it does not run.

Cases cover every branch of the fast path: power caps (binding, late, absent), several deals on one
campus, runs spanning sites, FP8 gains, training starts after the scenario start (partial steps),
fixed and uncertain delays, unfinished runs, and tables that are not proportional (the general
path).
"""

from __future__ import annotations

import functools
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from conftest import catalog_with
from test_race import TEST_MODEL, deal, scenario

from analysis.backend import select
from analysis.inputs.catalog import load_catalog
from analysis.inputs.scenario import DEFAULT_SCENARIO, load_scenario
from analysis.model import run as sim
from analysis.model.calibration import default_prior
from analysis.model.kernels import race_cpu
from analysis.model.kernels.race import race_tracks
from analysis.model.kernels.race_cpu import _Plan, flops_per_server_w, race_tracks_cpu
from analysis.model.plan import plan_competitor
from analysis.model.reference import compare, scalar_race

NUMPY = select("numpy")
ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def lib():
    """The compiled kernel, built at install time (make setup); its absence is a failed install."""
    assert race_cpu.library() is not None, race_cpu.status()
    return race_cpu.library()


@pytest.fixture(scope="module")
def cat(tmp_path_factory):
    tmp_path = tmp_path_factory.mktemp("race-numpy")
    deals = [
        deal("n-cluster", delay=0.0),
        deal("n-late", delay=3.0, campus="late"),
        deal(
            "n-owned",
            kind="owned",
            accelerators=100_000,
            cap=50.0,
            cap_delay=2.0,
            pue=1.25,
            campus="owned",
        ),
        deal(
            "n-owned-2",
            kind="owned",
            accelerators=40_000,
            start="2026-06",
            pue=1.25,
            campus="owned",
        ),
        deal("n-b200", accelerator="b200", accelerators=30_000, start="2026-03", campus="b200"),
        deal("n-tiny", accelerators=8, campus="tiny"),
    ]
    return catalog_with(tmp_path, deals=deals, models=[TEST_MODEL.format(n=405e9, d=15.6e12)])


def _uncertain_delays(ids):
    return {
        i: {
            "delay_months": {"dist": "triangular", "low": 0, "mode": 1, "high": 6},
            "power_delay_months": {"dist": "uniform", "low": 0, "high": 8},
        }
        for i in ids
    }


CASES = {
    "one-cluster-fixed-delay": dict(deals=["n-cluster"]),
    "binding-cap-uncertain-delays": dict(
        deals=["n-owned"], deal_overrides=_uncertain_delays(["n-owned"])
    ),
    "two-deals-one-campus-capped": dict(
        deals=["n-owned", "n-owned-2"], deal_overrides=_uncertain_delays(["n-owned", "n-owned-2"])
    ),
    "span-sites": dict(deals=["n-cluster", "n-late", "n-owned", "n-b200"], span_sites=True),
    "fp8-gain-mixed": dict(
        deals=["n-cluster", "n-b200", "n-owned"],
        precision="fp8",
        deal_overrides=_uncertain_delays(["n-b200"]),
    ),
    "late-start-partial-steps": dict(
        deals=["n-cluster", "n-late", "n-owned"],
        start="2026-03-16",
        deal_overrides=_uncertain_delays(["n-late"]),
    ),
    "unfinished": dict(deals=["n-tiny", "n-late"], horizon=6, target=5e26),
}


def _scenario(spec):
    spec = dict(spec)
    deals = spec.pop("deals")
    precision = spec.pop("precision", None)
    start = spec.pop("start", None)
    target = spec.pop("target", None)
    horizon = spec.pop("horizon", 24)
    sc = scenario(
        deals,
        mfu={"dist": "uniform", "low": 0.2, "high": 0.5},
        share={"dist": "uniform", "low": 0.3, "high": 1.0},
        draws=3000,
        horizon=horizon,
        target=target,
        **spec,
    )
    sc["uncertainty"] = {
        "pue_delta": {"dist": "uniform", "low": -0.05, "high": 0.1},
        "price_factor": 1.0,
        "fp8_gain": {"dist": "uniform", "low": 1.0, "high": 1.5},
    }
    comp = sc["competitors"][0]
    if precision:
        comp["precision"] = precision
    if start:
        # A start inside a month: the first steps are partial (start_fraction between 0 and 1).
        comp["start"] = start[:7]
    return sc


def _kernel_inputs(cat, spec, draws=3000, start_offset_months=None):
    sc = load_scenario(_scenario(spec), cat)
    plan = plan_competitor(0, sc.competitors[0], sc, cat)
    if start_offset_months is not None:
        frac = np.clip(np.arange(1, plan.layout.steps + 1) - start_offset_months, 0.0, 1.0)
        layout = plan.layout.__class__(
            **{**plan.layout.__dict__, "start_fraction": tuple(float(f) for f in frac)}
        )
        plan.layout = layout
    inputs = sim.sample_inputs(plan, sc, cat, default_prior(cat), 0, draws)
    return plan, sc, inputs, sim.kernel_args(plan, sc, inputs, NUMPY, "float32")


def _compare(ref, fast, target):
    done_ref = [r <= 0 for r in ref["remaining_flop"]]
    done_fast = [r <= 0 for r in fast["remaining_flop"]]
    for t, (a, b) in enumerate(zip(done_ref, done_fast)):
        np.testing.assert_array_equal(a, b, err_msg=f"finished flags of track {t}")
    for t in range(len(done_ref)):
        np.testing.assert_allclose(
            fast["elapsed_steps"][t],
            ref["elapsed_steps"][t],
            rtol=2e-6,
            atol=2e-5,
            err_msg=f"elapsed_steps track {t}",
        )
        # Remaining work is target - sum(progress): compare on the scale of the larger of the two.
        scale = np.maximum(np.abs(ref["remaining_flop"][t]), target)
        assert (
            np.max(np.abs(fast["remaining_flop"][t] - ref["remaining_flop"][t]) / scale) < 5e-5
        ), t
        done = done_ref[t]
        np.testing.assert_allclose(
            fast["peak_facility_w"][t][done],
            ref["peak_facility_w"][t][done],
            rtol=1e-6,
            err_msg=f"peak_facility_w track {t}",
        )
    for d, (a, b) in enumerate(zip(ref["server_w_steps"], fast["server_w_steps"])):
        np.testing.assert_allclose(b, a, rtol=1e-4, atol=1e-3, err_msg=f"server_w_steps deal {d}")


@pytest.mark.parametrize("case", sorted(CASES))
def test_fast_path_agrees_with_generic_kernel(cat, case, lib):
    plan, sc, inputs, ka = _kernel_inputs(cat, CASES[case])
    ref = race_tracks(*ka.args, deal_gain=ka.deal_gain)
    fast = race_tracks_cpu(*ka.args, deal_gain=ka.deal_gain, subchunk=512, threads=2, compiled=True)
    _compare(ref, fast, ka.args[8])


def test_partial_first_steps_agree(cat, lib):
    """A training start 2.4 steps in: zero, partial and full steps (start_fraction 0, 0.6, 1)."""
    plan, sc, inputs, ka = _kernel_inputs(
        cat, CASES["late-start-partial-steps"], start_offset_months=2.4
    )
    assert 0.0 in plan.layout.start_fraction and any(0 < f < 1 for f in plan.layout.start_fraction)
    ref = race_tracks(*ka.args, deal_gain=ka.deal_gain)
    fast = race_tracks_cpu(*ka.args, deal_gain=ka.deal_gain, subchunk=700, compiled=True)
    _compare(ref, fast, ka.args[8])


def test_cases_exercise_finished_and_unfinished_runs(cat):
    _, _, _, ka = _kernel_inputs(cat, CASES["unfinished"])
    out = race_tracks_cpu(*ka.args, deal_gain=ka.deal_gain)
    assert not np.any(out["remaining_flop"][0] <= 0)  # 8 accelerators never finish 5e26 FLOP
    _, _, _, ka = _kernel_inputs(cat, CASES["binding-cap-uncertain-delays"])
    assert np.all(race_tracks_cpu(*ka.args, deal_gain=ka.deal_gain)["remaining_flop"][0] <= 0)


def test_tables_that_are_not_proportional_take_the_general_path(cat, lib):
    plan, sc, inputs, ka = _kernel_inputs(cat, CASES["binding-cap-uncertain-delays"])
    args = list(ka.args)
    power = [p.copy() for p in args[2]]
    power[0] *= np.linspace(
        0.5, 1.0, power[0].size, dtype=np.float32
    )  # not flops x constant any more
    args[2] = power
    assert flops_per_server_w(args[1][0], power[0]) is None
    # The shipped tables are proportional: kappa is the chip's peak FLOP/s per server W.
    chip = plan.deals[0]
    assert flops_per_server_w(ka.args[1][0], ka.args[2][0]) == pytest.approx(
        chip.peak_bf16 / chip.costs.server_w, rel=1e-6
    )
    assert (
        _plan_of(ka).single
        and not _plan_of(
            type(ka)(
                tuple(args),
                *[getattr(ka, f) for f in ("deal_gain", "deal_base", "deal_pue", "price")],
            )
        ).single
    )
    ref = race_tracks(*args, deal_gain=ka.deal_gain)
    fast = race_tracks_cpu(*args, deal_gain=ka.deal_gain, subchunk=1000, compiled=True)
    _compare(ref, fast, args[8])


@pytest.mark.parametrize("case", ["span-sites", "fp8-gain-mixed", "binding-cap-uncertain-delays"])
def test_results_do_not_depend_on_subchunk_or_threads(cat, case, lib):
    _, _, _, ka = _kernel_inputs(cat, CASES[case])
    base = race_tracks_cpu(
        *ka.args, deal_gain=ka.deal_gain, subchunk=3000, threads=1, compiled=True
    )
    # 1 and 37: sub-chunks shorter than, and not a multiple of, the compiled kernel's 8 lanes.
    for subchunk, threads in ((1, 1), (37, 2), (1024, 3), (4096, 2)):
        other = race_tracks_cpu(
            *ka.args, deal_gain=ka.deal_gain, subchunk=subchunk, threads=threads, compiled=True
        )
        for key in base:
            for a, b in zip(base[key], other[key]):
                np.testing.assert_array_equal(
                    a, b, err_msg=f"{key} subchunk={subchunk} threads={threads}"
                )


def test_simulate_outcomes_agree_with_the_generic_kernel(cat, monkeypatch):
    """End to end through run_chunk: the shipped default scenario and a spanning variant."""
    from analysis.inputs.catalog import load_catalog

    catalog = load_catalog()
    for source in (None, {**_default_dict(), "span_sites": True}):
        sc = load_scenario(source, catalog)
        prior = default_prior(catalog)
        for i, comp in enumerate(sc.competitors):
            plan = plan_competitor(i, comp, sc, catalog)
            inputs = sim.sample_inputs(plan, sc, catalog, prior, 0, 4000)
            fast = sim.run_chunk(plan, sc, inputs, NUMPY, "float32")
            with monkeypatch.context() as m:
                m.setattr(sim, "race_kernel", lambda be: race_tracks)
                ref = sim.run_chunk(plan, sc, inputs, NUMPY, "float32")
            for key in (
                "finish_month",
                "gpu_hours",
                "cost_usd",
                "energy_mwh",
                "peak_power_mw",
                "emissions_tco2e",
            ):
                np.testing.assert_allclose(
                    fast[key], ref[key], rtol=1e-5, err_msg=f"{comp.label} {key}"
                )


def _default_dict():
    import yaml

    return yaml.safe_load(DEFAULT_SCENARIO.read_text())


def _plan_of(ka) -> _Plan:
    """The fast path's static plan of a call (which tracks are single-deal)."""
    return _Plan(ka.args[0], ka.args[1], ka.args[2], ka.args[4], ka.deal_gain, len(ka.args[6]))


@pytest.mark.parametrize("case", sorted(CASES))
def test_fast_path_and_array_api_kernel_agree_with_the_scalar_reference(cat, case, lib):
    """The scalar float64 reference (pure Python loops) against both float32 kernels."""
    _, _, _, ka = _kernel_inputs(cat, CASES[case], draws=150)
    ref = scalar_race(*ka.args, deal_gain=ka.deal_gain)
    for kernel in (race_tracks, functools.partial(race_tracks_cpu, compiled=True)):
        check = compare(
            ka.args[0], ref, kernel(*ka.args, deal_gain=ka.deal_gain), ka.args[8], rtol=1e-4
        )
        assert check["agrees"], (case, check)


def test_compare_catches_a_wrong_kernel(cat):
    """The agreement check can fail: a kernel 1% slow to finish is reported as disagreeing."""
    _, _, _, ka = _kernel_inputs(cat, CASES["binding-cap-uncertain-delays"], draws=100)
    ref = scalar_race(*ka.args, deal_gain=ka.deal_gain)
    wrong = race_tracks(*ka.args, deal_gain=ka.deal_gain)
    wrong["elapsed_steps"] = [e * 1.01 for e in wrong["elapsed_steps"]]
    check = compare(ka.args[0], ref, wrong, ka.args[8], rtol=1e-4)
    assert not check["agrees"] and check["max_rel_diff"]["elapsed_steps"] > 5e-3


def test_the_shipped_scenario_uses_both_compiled_functions(lib):
    """The default scenario has single-deal tracks and one general track (two deals on a campus)."""
    catalog = load_catalog()
    sc = load_scenario(None, catalog)
    kinds = set()
    for i, comp in enumerate(sc.competitors):
        plan = plan_competitor(i, comp, sc, catalog)
        inputs = sim.sample_inputs(plan, sc, catalog, default_prior(catalog), 0, 500)
        ka = sim.kernel_args(plan, sc, inputs, NUMPY, "float32")
        single = _plan_of(ka).single
        kinds |= {"single" if t in single else "general" for t in range(ka.args[0].n_tracks)}
    assert kinds == {"single", "general"}


def test_float64_or_too_many_deals_run_the_array_api_kernel_or_say_why(cat):  # noqa: F811
    assert race_cpu.unusable(np.float32, 6, 5) is None
    assert "float32" in race_cpu.unusable(np.float64, 6, 5)
    assert "at most 16 deals" in race_cpu.unusable(np.float32, 17, 5)
    _, _, _, ka = _kernel_inputs(cat, CASES["one-cluster-fixed-delay"], draws=300)
    args64 = [ka.args[0]] + [
        [None if a is None else np.asarray(a, np.float64) if a.dtype.kind == "f" else a for a in x]
        if isinstance(x, list)
        else np.asarray(x, np.float64)
        for x in ka.args[1:]
    ]
    with pytest.raises(RuntimeError, match="float32 arrays, not float64"):
        race_tracks_cpu(*args64, deal_gain=ka.deal_gain, compiled=True)
    out = race_tracks_cpu(*args64, deal_gain=ka.deal_gain)  # default: the array-API kernel runs
    ref = race_tracks(*args64, deal_gain=ka.deal_gain)
    assert out["elapsed_steps"][0].dtype == np.float64
    np.testing.assert_array_equal(out["elapsed_steps"][0], ref["elapsed_steps"][0])


def _status_in_subprocess(env_extra: dict) -> str:
    code = "from analysis.model.kernels import race_cpu\nprint(race_cpu.status())\n"
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
    assert (
        _status_in_subprocess({race_cpu.ENV_SWITCH: "0"})
        == f"array-API kernel ({race_cpu.ENV_SWITCH}=0)"
    )


def test_installed_build_matches_the_source_and_a_stale_one_is_refused(lib, monkeypatch):
    from analysis.model.kernels import race_cpu_build

    assert "compiled at install" in race_cpu.status()
    monkeypatch.setattr(race_cpu_build, "source_sha", lambda text=None: "0" * 16)
    race_cpu._load.cache_clear()
    try:
        assert race_cpu.library() is None and "stale" in race_cpu.status()
        with pytest.warns(RuntimeWarning, match="stale"):
            race_cpu._warn_once.cache_clear()
            _, _, _, ka = _kernel_inputs_default()
            race_tracks_cpu(*ka.args, deal_gain=ka.deal_gain)
    finally:
        monkeypatch.undo()
        race_cpu._load.cache_clear()
        race_cpu._warn_once.cache_clear()
    assert race_cpu.library() is not None


def _kernel_inputs_default():
    catalog = load_catalog()
    sc = load_scenario(None, catalog)
    plan = plan_competitor(0, sc.competitors[0], sc, catalog)
    inputs = sim.sample_inputs(plan, sc, catalog, default_prior(catalog), 0, 64)
    return plan, sc, inputs, sim.kernel_args(plan, sc, inputs, NUMPY, "float32")


def test_an_index_out_of_range_raises_instead_of_reading_stray_memory(cat, lib):  # noqa: F811
    _, _, _, ka = _kernel_inputs(cat, CASES["binding-cap-uncertain-delays"], draws=100)
    args = list(ka.args)
    layout, power = args[0], args[2]
    reach = (layout.steps - 1) * layout.substeps
    for bad in (-1, len(power[0]) - reach):  # below the table, and one past the last valid start
        base = [b.copy() for b in args[3]]
        base[0][57] = bad
        with pytest.raises(RuntimeError, match="table index of deal 0 is out of range"):
            race_tracks_cpu(*args[:3], base, *args[4:], deal_gain=ka.deal_gain, compiled=True)
    caps = [None if b is None else b.copy() for b in args[5]]
    c = next(i for i, b in enumerate(caps) if b is not None)
    caps[c][3] = len(args[4][c]) - reach
    with pytest.raises(RuntimeError, match=f"campus {c} power cap is out of range"):
        race_tracks_cpu(*args[:5], caps, *args[6:], deal_gain=ka.deal_gain, compiled=True)
    base = [b.copy() for b in args[3]]
    base[0][57] = len(power[0]) - 1 - reach  # the largest valid start index is accepted
    race_tracks_cpu(*args[:3], base, *args[4:], deal_gain=ka.deal_gain, compiled=True)


def test_cffi_binds_the_functions_the_source_exports():
    import re

    from analysis.model.kernels import race_cpu_build

    names = re.findall(r"(race_\w+)\(", race_cpu_build.cdef())
    assert names == [
        "race_single",
        "race_general",
        "race_check",
        "race_sample",
        "race_ndtri",
        "race_select",
        "race_cpu_source_sha",
        "race_cpu_flags",
        "race_cpu_machine",
    ]


def test_a_build_for_another_cpu_is_refused(lib, monkeypatch):
    from analysis.model.kernels import race_cpu_build

    monkeypatch.setattr(race_cpu_build, "cpu_key", lambda: "f" * 16)
    race_cpu._load.cache_clear()
    try:
        assert race_cpu.library() is None and "another CPU" in race_cpu.status()
    finally:
        monkeypatch.undo()
        race_cpu._load.cache_clear()
    assert race_cpu.library() is not None


def test_simulate_provenance_names_the_kernel_that_ran(lib):
    result = sim.simulate(draws=500, seed=1)
    assert result.provenance["race_kernel"] == race_cpu.status()
    assert result.provenance["race_kernel"].startswith("race_cpu.c compiled at install")


def test_simulate_without_the_extension_gives_the_same_race(monkeypatch):
    """No compiled extension: NumPy's Philox makes the draws and the array-API kernel runs; the
    per-draw results are the compiled path's to float32 rounding (the lognormal draws differ only
    in ndtri's and exp's last bits)."""
    fast = sim.simulate(draws=3000, seed=4, keep_draws=True)
    monkeypatch.setattr(race_cpu, "library", lambda: None)
    from analysis.model.sampling import sampler_status

    assert sampler_status().startswith("NumPy's np.random.Philox")
    slow = sim.simulate(draws=3000, seed=4, keep_draws=True)
    a, b = fast.draws, slow.draws
    assert list(a.columns) == list(b.columns) and len(a) == len(b) == 3 * 3000
    np.testing.assert_array_equal(np.isfinite(a["finish_month"]), np.isfinite(b["finish_month"]))
    for column in (
        "finish_month",
        "gpu_hours",
        "cost_usd",
        "energy_mwh",
        "peak_power_mw",
        "training_flop",
    ):
        np.testing.assert_allclose(a[column], b[column], rtol=2e-5, err_msg=column)
    for x, y in zip(fast.competitors, slow.competitors):
        assert x["p_first"] == pytest.approx(y["p_first"], abs=1e-3)

"""The race engine: analytic cases, monotonicity properties, chunk and backend invariance."""

from __future__ import annotations

import json

import numpy as np
import pytest
from conftest import catalog_with, run_cli
from hypothesis import given
from hypothesis import strategies as st

from analysis import estimate, simulate
from analysis.backend import Backend, select
from analysis.constants import SECONDS_PER_MONTH
from analysis.inputs.scenario import load_scenario
from analysis.model.calibration import default_prior
from analysis.model.plan import plan_competitor
from analysis.model.run import run_chunk, sample_inputs

H100_PEAK = 9.894e14
TEST_MODEL = "test-model,TestLab,Test model,none,dense,{n},{n},{n},{d},{d},bf16,test fixture,"


def deal(
    id_,
    *,
    kind="on_demand",
    accelerators=16384,
    start="2026-01",
    accelerator="h100-sxm",
    campus=None,
    delay=0.0,
    cap=None,
    cap_delay=None,
    term=120,
    rate=2.0,
    pue=None,
):
    d = {
        "id": id_,
        "kind": kind,
        "buyer": "TestLab",
        "provider": "Test",
        "racing": True,
        "accelerator": accelerator,
        "region": "us-average",
        "start": start,
        "term_months": term,
        "tranches": [{"month": 0, "accelerators": accelerators}],
        "delay_months": {"dist": "fixed", "value": delay},
        "sourced": [],
        "assumptions": {},
        "source": "test fixture",
    }
    claims = ["accelerator", "region", "start", "term_months", "tranches"]
    if delay:
        claims.append("delay_months")
    if kind != "owned":
        d["rate_usd_per_gpu_hour"] = rate
        claims.append("rate_usd_per_gpu_hour")
    if campus:
        d["campus"] = campus
        claims.append("campus")
    if cap is not None:
        d["power_cap_mw"] = [{"month": 0, "mw": cap}]
        claims.append("power_cap_mw")
        if cap_delay is not None:
            d["power_delay_months"] = {"dist": "fixed", "value": cap_delay}
            claims.append("power_delay_months")
    if pue is not None:
        d["pue"] = pue
        claims.append("pue")
    d["assumptions"] = {c: "assumption: test fixture" for c in claims}
    return d


def scenario(
    deals,
    *,
    n=405e9,
    d=15.6e12,
    mfu=0.4,
    goodput=0.9,
    share=1.0,
    horizon=24,
    step=1.0,
    draws=64,
    target=None,
    accelerators=None,
    budget=3.0,
    launch=None,
    **extra,
):
    """A one-lab race whose run aims at its model's 6 N D (or `target`), on `share` of its largest
    campus or a given count of `accelerators`, with a fixed wall-clock budget of `budget` months."""
    comp = {
        "lab": "TestLab",
        "model": "test-model",
        "deals": deals,
        "share": share,
        "mfu": mfu,
        "goodput": goodput,
        "budget_months": budget,
        "target_flop": "model" if target is None else target,
    }
    if accelerators is not None:
        comp["accelerators"] = accelerators
    if launch is not None:
        comp["launch"] = launch
    sc = {
        "name": "test",
        "start": "2026-01",
        "horizon_months": horizon,
        "time_step_months": step,
        "draws": draws,
        "seed": 11,
        "competitors": [comp],
        "uncertainty": {"pue_delta": 0.0, "price_factor": 1.0},
    }
    sc.update(extra)
    return sc


@pytest.fixture(scope="module")
def cat(tmp_path_factory):
    tmp_path = tmp_path_factory.mktemp("race")
    deals = [
        deal("t-cluster"),
        deal("t-late", delay=3.0, campus="late"),
        deal("t-owned", kind="owned", accelerators=100_000, cap=50.0, pue=1.25, campus="owned"),
        deal("t-tiny", accelerators=8, campus="tiny"),
    ]
    model = TEST_MODEL.format(n=405e9, d=15.6e12)
    return catalog_with(tmp_path, deals=deals, models=[model])


def test_constant_cluster_matches_estimate_within_one_percent(cat):
    """A given count on a cluster already online: the run is estimate's fixed-cluster run."""
    r = simulate(scenario(["t-cluster"], accelerators=16384), catalog=cat)
    e = estimate(
        params=405e9,
        tokens=15.6e12,
        accelerator="h100-sxm",
        accelerators=16384,
        mfu=0.4,
        goodput=0.9,
        catalog=cat,
    )
    comp = r.competitors[0]
    days_per_month = SECONDS_PER_MONTH / 86400
    assert comp["run_length_months"]["p50"] * days_per_month == pytest.approx(
        e.metrics["wall_clock_days"]["p50"], rel=0.01
    )
    # Launched at the start (month 0), so trained at month = run length.
    assert comp["launch_month"]["p50"] == 0.0
    assert comp["time_to_train_months"]["p50"] == pytest.approx(
        comp["run_length_months"]["p50"], rel=1e-6
    )
    assert comp["gpu_hours"]["p50"] == pytest.approx(e.metrics["gpu_hours"]["p50"], rel=0.01)
    assert comp["cost_usd"]["p50"] == pytest.approx(e.metrics["gpu_hours"]["p50"] * 2.0, rel=0.01)
    assert comp["training_flop"]["p50"] == pytest.approx(6 * 405e9 * 15.6e12, rel=1e-5)
    assert comp["p_within_horizon"] == 1.0 and comp["p_first"] == 1.0


def test_a_run_on_a_share_sizes_itself_to_its_budget(cat):
    """On a share of a campus, a run takes the accelerators that train its target in exactly its
    budget: run length = budget, accelerator-hours = FLOP / (peak x MFU x goodput)."""
    r = simulate(scenario(["t-cluster"], budget=3.0), catalog=cat)
    comp = r.competitors[0]
    flop = 6 * 405e9 * 15.6e12
    assert comp["run_length_months"]["p50"] == pytest.approx(3.0, rel=1e-6)
    assert comp["gpu_hours"]["p50"] == pytest.approx(flop / (H100_PEAK * 0.36 * 3600), rel=1e-4)
    # 3.8e25 FLOP in 3 months needs 13,600 of the 16,384 H100s; in 2 months it needs more than
    # the campus has, so the run cannot launch.
    assert (
        simulate(scenario(["t-cluster"], budget=2.0), catalog=cat).competitors[0]["p_launched"]
        == 0.0
    )


def test_binding_power_cap_gives_the_hand_computed_time(cat):
    # 50 MW / (700 W x 1.82 server multiplier x PUE 1.25) powers 31,397 of the 100,000 H100s.
    powered = 50e6 / (700 * 1.82 * 1.25)
    r = simulate(scenario(["t-owned"], accelerators=30_000, budget=6.0), catalog=cat)
    months = 6 * 405e9 * 15.6e12 / (30_000 * H100_PEAK * 0.4 * 0.9) / SECONDS_PER_MONTH
    comp = r.competitors[0]
    assert comp["time_to_train_months"]["p50"] == pytest.approx(months, rel=1e-4)
    assert comp["peak_power_mw"]["p50"] == pytest.approx(30_000 * 700 * 1.82 * 1.25e-6, rel=1e-4)
    assert comp["gpu_hours"]["p50"] == pytest.approx(
        30_000 * months * SECONDS_PER_MONTH / 3600, rel=1e-4
    )
    # More accelerators than the cap powers can never launch there.
    over = simulate(scenario(["t-owned"], accelerators=int(powered) + 100), catalog=cat)
    assert over.competitors[0]["p_launched"] == 0.0


def test_power_that_arrives_late_delays_the_run(cat):
    def trained(**extra):
        sc = scenario(["t-owned"], accelerators=30_000, budget=6.0, **extra)
        return simulate(sc, catalog=cat).competitors[0]["time_to_train_months"]["p50"]

    on_time = trained()
    late = trained(deal_overrides={"t-owned": {"power_delay_months": 4.0}})
    assert late == pytest.approx(on_time + 4.0, abs=1 / 8 + 1e-6)  # delays round to dt / 8


def test_a_run_that_cannot_launch_is_a_probability_not_a_crash(cat):
    r = simulate(scenario(["t-tiny"], horizon=12), catalog=cat)
    comp = r.competitors[0]
    assert comp["p_launched"] == 0.0 and comp["p_within_horizon"] == 0.0
    assert comp["p_first"] == 0.0 and r.p_nobody == 1.0
    assert comp["time_to_train_months"]["p50"] is None and comp["launch_month"]["p50"] is None
    assert comp["cost_usd"]["p50"] is None
    json.dumps(r.to_dict(), allow_nan=False)
    assert ">2027-01" in r.to_table()


def test_a_finish_after_the_horizon_is_not_counted_whatever_the_time_step(cat):
    """Horizon 13 months with 12-month steps: a run that trains until month ~15 is not done."""
    for step in (1.0, 12.0):
        sc = scenario(["t-cluster"], horizon=13, step=step, budget=15.0, launch={"months": 0.0})
        comp = simulate(sc, catalog=cat).competitors[0]
        assert comp["p_launched"] == 1.0 and comp["p_within_horizon"] == 0.0, step


def test_single_campus_rule_versus_spanning_sites(cat):
    """Twice Llama 3.1 405B's FLOP in 3 months needs about 27,000 H100: more than either campus of
    16,384, fewer than both pooled. One campus per run: it never launches; spanning sites: it
    launches when the second campus arrives."""
    both = ["t-cluster", "t-late"]
    soon = {"t-late": {"delay_months": 1.0}}
    target = 2 * 6 * 405e9 * 15.6e12
    single = simulate(scenario(both, deal_overrides=soon, target=target), catalog=cat)
    spanning = simulate(
        scenario(both, deal_overrides=soon, target=target, span_sites=True), catalog=cat
    )
    assert single.competitors[0]["p_launched"] == 0.0
    assert spanning.competitors[0]["p_launched"] == 1.0
    assert spanning.competitors[0]["launch_month"]["p50"] == pytest.approx(1.0, abs=1 / 8)


def test_capacity_that_arrives_after_launch_serves_the_next_run(cat):
    """A budget run fixes its accelerators at launch: a campus that arrives a month later adds
    nothing to it, while a launch after it arrives uses it."""
    both = ["t-cluster", "t-late"]

    def flop(months):
        sc = scenario(
            both, target=None, launch={"months": months}, deal_overrides={"t-late": {"scale": 3.0}}
        )
        sc["competitors"][0].pop("target_flop")
        return simulate(sc, catalog=cat).competitors[0]["training_flop"]["p50"]

    early, late = flop(0.0), flop(4.0)
    assert late == pytest.approx(3 * early, rel=1e-5)  # t-late x 3 is the larger campus by then


def _per_draw(result, column="finish_month"):
    return result.draws[column].to_numpy()


@given(delay=st.floats(0.0, 6.0), earlier=st.floats(0.0, 6.0))
def test_earlier_delivery_never_finishes_later(cat, delay, earlier):
    slow = simulate(
        scenario(["t-late"], deal_overrides={"t-late": {"delay_months": delay}}),
        catalog=cat,
        keep_draws=True,
    )
    fast = simulate(
        scenario(["t-late"], deal_overrides={"t-late": {"delay_months": min(delay, earlier)}}),
        catalog=cat,
        keep_draws=True,
    )
    assert np.all(_per_draw(fast) <= _per_draw(slow) + 1e-6)


@given(scale=st.floats(0.2, 3.0), more=st.floats(0.0, 2.0))
def test_more_accelerators_never_finish_later(cat, scale, more):
    base = simulate(
        scenario(
            ["t-cluster"],
            deal_overrides={"t-cluster": {"scale": scale}},
            mfu={"dist": "uniform", "low": 0.2, "high": 0.5},
        ),
        catalog=cat,
        keep_draws=True,
    )
    big = simulate(
        scenario(
            ["t-cluster"],
            deal_overrides={"t-cluster": {"scale": scale + more}},
            mfu={"dist": "uniform", "low": 0.2, "high": 0.5},
        ),
        catalog=cat,
        keep_draws=True,
    )
    assert np.all(_per_draw(big) <= _per_draw(base) * (1 + 1e-6))


@given(mfu=st.floats(0.1, 0.8), bump=st.floats(0.0, 0.2))
def test_higher_mfu_never_finishes_later(cat, mfu, bump):
    low = simulate(scenario(["t-owned", "t-late"], mfu=mfu), catalog=cat, keep_draws=True)
    high = simulate(scenario(["t-owned", "t-late"], mfu=mfu + bump), catalog=cat, keep_draws=True)
    assert np.all(_per_draw(high) <= _per_draw(low) * (1 + 1e-6))


@given(price=st.floats(0.5, 2.0), bump=st.floats(0.0, 1.0))
def test_higher_price_never_cheaper(cat, price, bump):
    def run(factor):
        sc = scenario(["t-cluster"], mfu={"dist": "uniform", "low": 0.2, "high": 0.5})
        sc["uncertainty"]["price_factor"] = factor
        return _per_draw(simulate(sc, catalog=cat, keep_draws=True), "cost_usd")

    high, low = run(price + bump), run(price)
    done = np.isfinite(low)
    assert np.array_equal(done, np.isfinite(high))  # the price does not change which runs launch
    assert np.all(high[done] >= low[done] * (1 - 1e-6))


def test_results_identical_for_any_chunk_size():
    a = simulate(draws=3000, seed=5, chunk_size=3000, keep_draws=True).draws
    b = simulate(draws=3000, seed=5, chunk_size=701, keep_draws=True).draws
    for column in (
        "finish_month",
        "gpu_hours",
        "cost_usd",
        "energy_mwh",
        "peak_power_mw",
        "emissions_tco2e",
    ):
        np.testing.assert_array_equal(a[column].to_numpy(), b[column].to_numpy(), err_msg=column)


def test_summary_quantiles_are_numpys_over_the_finished_draws():
    """At a size whose summaries come from the compiled radix selection (results.RADIX_MIN), every
    metric's p10/p50/p90 equals np.quantile over the per-draw values of the finished draws, and the
    finish month's over every draw (unfinished ones count as +inf)."""
    from analysis.model.summary import RADIX_MIN

    r = simulate(draws=RADIX_MIN + 1001, seed=7, keep_draws=True)
    frame = r.draws
    for entry in r.competitors:
        rows = frame[(frame["lab"] == entry["lab"]) & (frame["model"] == entry["model"])]
        done = np.isfinite(rows["finish_month"].to_numpy())
        for metric in ("gpu_hours", "cost_usd", "energy_mwh", "peak_power_mw", "emissions_tco2e"):
            values = rows[metric].to_numpy(dtype=np.float64)[done]
            expected = np.quantile(values, [0.1, 0.5, 0.9])
            got = [entry[metric][k] for k in ("p10", "p50", "p90")]
            np.testing.assert_array_equal(got, expected, err_msg=f"{entry['label']} {metric}")
        if done.all():
            expected = np.quantile(rows["finish_month"].to_numpy(dtype=np.float64), [0.1, 0.5, 0.9])
            assert [entry["finish_month"][k] for k in ("p10", "p50", "p90")] == expected.tolist()


def test_simulate_threads_use_the_cpus_without_oversubscribing_and_change_no_number(monkeypatch):
    """pipeline_threads: draws, kernel and outcomes together take every CPU and no more (from 3
    CPUs; below that one thread each), at least one thread each; and no per-draw number depends on
    the thread counts."""
    import analysis.model.run as sim

    for cpus in range(1, 65):
        prefetch, kernel = sim.pipeline_threads(cpus)
        assert 1 <= prefetch <= sim.MAX_PREFETCH and kernel >= 1
        assert prefetch + kernel + 1 == max(cpus, 3), cpus
    runs = []
    for counts in ((1, 1), (3, 2)):
        monkeypatch.setattr(sim, "pipeline_threads", lambda cpus=None, counts=counts: counts)
        runs.append(simulate(draws=2500, seed=9, chunk_size=400, keep_draws=True).draws)
    for column in ("finish_month", "gpu_hours", "cost_usd", "energy_mwh", "peak_power_mw"):
        np.testing.assert_array_equal(
            runs[0][column].to_numpy(), runs[1][column].to_numpy(), err_msg=column
        )


def test_a_failure_in_the_outcome_thread_reaches_the_caller(monkeypatch):
    """The outcomes run on their own thread while the kernel takes the next chunk: an exception
    there is raised by simulate, not lost or left waiting."""
    import analysis.model.run as sim

    real, calls = sim.chunk_outcomes, []

    def failing(*args, **kwargs):
        calls.append(1)
        if len(calls) == 3:
            raise RuntimeError("outcomes broke on chunk 3")
        return real(*args, **kwargs)

    monkeypatch.setattr(sim, "chunk_outcomes", failing)
    with pytest.raises(RuntimeError, match="outcomes broke on chunk 3"):
        simulate(draws=3000, seed=5, chunk_size=500)
    assert len(calls) == 3  # no outcome was computed after the failed one


def test_numpy_and_array_api_strict_agree_on_the_same_draws(catalog):
    import array_api_strict as xps

    sc = load_scenario(None, catalog)
    prior = default_prior(catalog)
    strict = Backend("array-api-strict", xps, device=xps.Device("device1"))
    for i, comp in enumerate(sc.competitors):
        plan = plan_competitor(i, comp, sc, catalog)
        inputs = sample_inputs(plan, sc, catalog, prior, 0, 500)
        ref = run_chunk(plan, sc, inputs, select("numpy"), "float32")
        other = run_chunk(plan, sc, inputs, strict, "float32")
        for key in ("finish_month", "gpu_hours", "cost_usd", "energy_mwh", "peak_power_mw"):
            np.testing.assert_allclose(
                other[key], ref[key], rtol=1e-5, err_msg=f"{comp.label} {key}"
            )


def test_default_race_contract():
    r = simulate(draws=4000, seed=2)
    d = r.to_dict()
    assert {"scenario", "draws", "backend", "horizon_months", "competitors"} <= set(d)
    labs = {c["lab"] for c in d["competitors"]}
    assert {"Meta", "DeepSeek", "Alibaba"} <= labs
    total = sum(c["p_first"] for c in d["competitors"]) + d["p_nobody_within_horizon"]
    assert total == pytest.approx(1.0, abs=1e-9)
    for c in d["competitors"]:
        for key in (
            "time_to_train_months",
            "gpu_hours",
            "energy_mwh",
            "peak_power_mw",
            "cost_usd",
            "emissions_tco2e",
        ):
            q = c[key]
            if None not in (q["p10"], q["p50"], q["p90"]):
                assert q["p10"] <= q["p50"] <= q["p90"], (c["lab"], key)
    assert not r.summary.empty and len(r.race) == len(r.competitors) + 1 and not r.pairs.empty


def test_simulate_cli_json_and_csv():
    proc = run_cli("simulate", "--draws", "2000", "--format", "json")
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout)
    assert out["draws"] == 2000 and len(out["competitors"]) >= 3
    csv_proc = run_cli("simulate", "--draws", "500", "--format", "csv")
    assert csv_proc.returncode == 0 and csv_proc.stdout.startswith(
        "lab,model,metric,unit,p10,p50,p90,mean"
    )


def test_race_statistics_split_ties_and_count_nobody():
    from analysis.model.result import race_statistics

    inf = np.inf
    finish = {
        "a": np.array([1, 2, inf, 3], np.float32),
        "b": np.array([1, 3, inf, inf], np.float32),
        "c": np.array([2, 2, inf, 4], np.float32),
    }
    p_first, p_nobody, pairs = race_statistics(finish)
    assert p_first == {"a": 0.5, "b": 0.125, "c": 0.125} and p_nobody == 0.25
    ab = next(p for p in pairs if (p["a"], p["b"]) == ("a", "b"))
    assert (ab["p_a_before_b"], ab["p_b_before_a"], ab["p_both_within_horizon"]) == (0.5, 0.0, 0.5)
    assert ab["lead_months"]["p50"] == pytest.approx(0.5)  # b - a over draws both finish: 0 and 1


@given(
    st.lists(st.tuples(*[st.sampled_from([1.0, 2.0, 3.0, np.inf])] * 3), min_size=1, max_size=60)
)
def test_race_statistics_match_a_draw_by_draw_count(draws):
    """P(first) with ties split equally, as a plain loop over draws computes it."""
    from analysis.model.result import race_statistics

    table = np.array(draws, dtype=np.float32)
    p_first, p_nobody, _ = race_statistics({lab: table[:, i] for i, lab in enumerate("xyz")})
    expected = dict.fromkeys("xyz", 0.0)
    nobody = 0
    for row in table:
        best = row.min()
        if not np.isfinite(best):
            nobody += 1
            continue
        winners = [lab for lab, t in zip("xyz", row) if t == best]
        for lab in winners:
            expected[lab] += 1 / len(winners)
    for lab in "xyz":
        assert p_first[lab] == pytest.approx(expected[lab] / len(table), abs=1e-12)
    assert p_nobody == nobody / len(table)
    assert sum(p_first.values()) + p_nobody == pytest.approx(1.0, abs=1e-12)

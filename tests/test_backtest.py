"""The backtest: grouped cross-validation really leaves out, metrics and baselines are what they
say."""

from __future__ import annotations

import csv
import json
import math

import numpy as np
import pytest
from conftest import assert_one_line_error, data_env, run_cli
from hypothesis import given
from hypothesis import strategies as st

from analysis import backtest, estimate
from analysis.constants import FP8_GAIN_TRIANGULAR
from analysis.errors import InputError
from analysis.inputs.catalog import load_catalog
from analysis.model.calibration import (
    FEATURES,
    FP8_LOG_GAIN_MEAN,
    calibration_points,
    default_prior,
)
from analysis.studies.backtest import (
    ALTERNATIVES,
    CONSTANT,
    GROUPED_SCHEMES,
    MIN_FIT_RUNS,
    NAIVE_MFU,
    PRIOR,
    SCHEME_TEXT,
    SCHEMES,
    SWITCH_SE,
    cv_predictions,
    energy_check,
    held_out,
    interval_metrics,
    loo_catalog,
    naive_gpu_hours,
    naive_label,
    pit_histogram,
    predict_gpu_hours,
    prior_scores,
)

DRAWS = 2_000
PRIORS = {PRIOR: FEATURES}


@pytest.fixture(scope="module")
def result():
    return backtest(draws=DRAWS, seed=0)


def _edit_runs(data_dir, edits: dict[str, dict[str, str]], *, load: bool = True):
    """Change cells of data_dir/training_runs.csv (run id -> {column: text}); return the new
    catalog."""
    path = data_dir / "training_runs.csv"
    with open(path, newline="") as handle:
        reader = csv.DictReader(handle)
        fields, rows = reader.fieldnames, list(reader)
    for row in rows:
        row.update(edits.get(row["id"], {}))
    with open(path, "w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=fields, lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
    return load_catalog(data_dir) if load else None


def _p50(frame, run_id, method=PRIOR):
    rows = frame[(frame["run_id"] == run_id) & (frame["method"] == method)]
    assert len(rows) == 1, (run_id, method)
    return float(rows["p50_gpu_hours"].iloc[0])


# ---- metrics and baselines ---------------------------------------------------------------------


def test_interval_metrics_on_a_constructed_case():
    reported = [100.0, 100.0, 100.0, 100.0]
    p10 = [90.0, 50.0, 101.0, 200.0]
    p50 = [110.0, 80.0, 120.0, 300.0]
    p90 = [180.0, 100.0, 202.0, 800.0]
    m = interval_metrics(reported, p10, p50, p90)
    # APEs 0.1, 0.2, 0.2, 2.0 -> median 0.2; inside: yes, yes (edge counts), no (p10 above), no.
    assert m["mdape"] == pytest.approx(0.2)
    assert m["coverage_p10_p90"] == pytest.approx(0.5)
    assert m["median_p90_over_p10"] == pytest.approx(2.0)
    assert m["median_p50_over_reported"] == pytest.approx(1.15)
    point = interval_metrics(reported, None, p50, None)
    assert point["coverage_p10_p90"] is None and point["median_p90_over_p10"] is None


def test_naive_baseline_is_6nd_at_mfu_040_of_the_precision_peak(result, catalog):
    for row in result.runs.itertuples():
        chip = catalog.accelerators[row.accelerator]
        peak = chip.peak_fp8_flop_per_s if row.precision == "fp8" else chip.peak_bf16_flop_per_s
        expected = row.hours_flop / (peak * NAIVE_MFU * 3600.0)
        assert row.naive_gpu_hours == pytest.approx(expected, rel=1e-12), row.run_id
        assert float(naive_gpu_hours(row.hours_flop, peak)) == pytest.approx(expected, rel=1e-12)


def test_best_constant_is_the_fit_folds_median_utilization(catalog):
    points = calibration_points(catalog)
    frame = cv_predictions(catalog, points, "organization", priors=PRIORS, draws=200)
    meta = frame[(frame["organization"] == "Meta") & (frame["method"] == CONSTANT)]
    others = [p for p in points if p.organization != "Meta"]
    u = math.exp(np.median(np.log([p.bf16_utilization for p in others])))
    for row in meta.itertuples():
        point = next(p for p in points if p.run_id == row.run_id)
        gain = math.exp(FP8_LOG_GAIN_MEAN) if point.precision == "fp8" else 1.0
        assert row.p50_gpu_hours == pytest.approx(
            point.flop / (point.peak_bf16_flop_per_s * u * gain * 3600)
        )


def test_summary_is_recomputed_from_the_runs_table(result):
    runs = result.runs
    s = result.summary.loc[PRIOR]
    inside = (runs["p10_gpu_hours"] <= runs["reported_gpu_hours"]) & (
        runs["reported_gpu_hours"] <= runs["p90_gpu_hours"]
    )
    assert list(inside) == list(runs["inside"])
    assert s["coverage_p10_p90"] == pytest.approx(inside.mean())
    assert s["mdape"] == pytest.approx(
        (runs["p50_gpu_hours"] / runs["reported_gpu_hours"] - 1).abs().median()
    )
    assert s["median_p90_over_p10"] == pytest.approx(
        (runs["p90_gpu_hours"] / runs["p10_gpu_hours"]).median()
    )
    assert result.summary.loc[naive_label()]["mdape"] == pytest.approx(runs["naive_ape"].median())
    assert (runs["p10_gpu_hours"] < runs["p50_gpu_hours"]).all() and (
        runs["p50_gpu_hours"] < runs["p90_gpu_hours"]
    ).all()


def test_every_scheme_has_the_prior_and_both_baselines(result):
    for scheme in SCHEMES:
        methods = set(result.cv.loc[result.cv["scheme"] == scheme, "method"])
        assert {PRIOR, CONSTANT, naive_label()} <= methods, scheme
    dims = set(result.breakdown["dimension"])
    assert dims == {"generation", "year", "size"}
    # Each breakdown adds back up to the scheme's run count.
    for (scheme, method, dim), g in result.breakdown.groupby(["scheme", "method", "dimension"]):
        total = result.cv[(result.cv["scheme"] == scheme) & (result.cv["method"] == method)][
            "n_runs"
        ].iloc[0]
        assert g["n_runs"].sum() == total, (scheme, method, dim)


# ---- cross-validation really leaves out ----------------------------------------------------------


@pytest.mark.parametrize(
    "scheme, edited, blind, sees",
    [
        # Leave one organization out: Falcon-180B's own hours never reach TII's predictions.
        ("organization", "falcon-180b", ["falcon-180b", "falcon-40b"], ["opt-175b", "llama-3-8b"]),
        # Leave one generation out: a Hopper run's hours never reach any Hopper prediction.
        (
            "generation",
            "mpt-30b",
            ["mpt-30b", "llama-3.1-405b", "deepseek-v3"],
            ["falcon-180b", "glam"],
        ),
        # Time split: a 2025 run never reaches a prediction for 2024 or earlier.
        ("year", "llama-4-scout", ["llama-3.1-405b", "falcon-40b", "llama-4-scout"], []),
    ],
)
def test_a_runs_hours_never_reach_predictions_it_is_held_out_of(
    data_copy, scheme, edited, blind, sees
):
    base = load_catalog(data_copy)
    before = cv_predictions(base, calibration_points(base), scheme, priors=PRIORS, draws=DRAWS)
    hours = base.training_runs[edited].gpu_hours
    changed = _edit_runs(data_copy, {edited: {"gpu_hours": repr(hours * 3.0)}})
    after = cv_predictions(changed, calibration_points(changed), scheme, priors=PRIORS, draws=DRAWS)
    for run_id in blind:
        assert _p50(after, run_id) == pytest.approx(_p50(before, run_id), rel=1e-12), run_id
        assert _p50(after, run_id, CONSTANT) == pytest.approx(
            _p50(before, run_id, CONSTANT), rel=1e-12
        ), run_id
    for run_id in sees:
        assert _p50(after, run_id) != pytest.approx(_p50(before, run_id), rel=1e-6), run_id
    assert default_prior(changed).coef != default_prior(base).coef


def test_time_split_fits_only_on_earlier_years(catalog):
    points = calibration_points(catalog)
    frame = cv_predictions(catalog, points, "year", priors=PRIORS, draws=200)
    years = {p.run_id: p.year for p in points}
    for row in frame[frame["method"] == PRIOR].itertuples():
        assert row.fitted_on == sum(y < row.year for y in years.values()) >= MIN_FIT_RUNS
    assert held_out(catalog, points, "llama-4-scout", "year") == {
        p.run_id for p in points if p.year >= 2025
    }
    assert held_out(catalog, points, "llama-3-8b", "group") == {"llama-3-8b", "llama-3.1-8b"}


def test_held_out_predictions_match_estimate_without_the_run(result, catalog):
    loo = result.predictions[
        (result.predictions["scheme"] == "run") & (result.predictions["method"] == PRIOR)
    ]
    loo = loo.set_index("run_id")
    for run_id in ("deepseek-v3", "nemotron-4-340b", "glam"):  # FP8; hours of one stage; MoE on TPU
        run = catalog.training_runs[run_id]
        r = estimate(
            params=run.total_params,
            active_params=run.active_params,
            tokens=run.hours_tokens or run.training_tokens,
            accelerator=run.accelerator,
            precision=run.precision or "bf16",
            draws=DRAWS,
            seed=0,
            price_per_hour=1.0,
            catalog=loo_catalog(catalog, run_id),
        )
        for q in ("p10", "p50", "p90"):
            assert r.metrics["gpu_hours"][q] == pytest.approx(
                loo.loc[run_id, f"{q}_gpu_hours"], rel=1e-9
            ), (run_id, q)


def test_pit_is_the_share_of_draws_above_the_reported_hours(catalog):
    points = calibration_points(catalog)
    prior = default_prior(catalog)
    for point in points[:5]:
        if point.precision == "fp8":
            continue
        hours = predict_gpu_hours(prior, point, draws=200_000, seed=1)
        pit = 1.0 - prior.cdf(
            point.bf16_utilization, point.active_params, accelerator=point.accelerator
        )
        assert np.mean(hours <= point.gpu_hours) == pytest.approx(pit, abs=0.01), point.run_id


def test_pit_histogram_shares_sum_to_one(result):
    for _, g in result.pit.groupby(["scheme", "method"]):
        assert g["share"].sum() == pytest.approx(1.0)
    frame = pit_histogram(result.predictions[result.predictions["method"] == PRIOR], bins=4)
    assert set(frame.groupby(["scheme"]).size()) == {4}


# ---- the choice of prior -------------------------------------------------------------------------


def test_default_prior_is_the_one_grouped_cv_picks(result):
    scores = prior_scores(result.cv)
    assert set(scores["prior"]) == set(ALTERNATIVES)
    assert {"size + bandwidth", "size + bandwidth + generation"} <= set(scores["prior"])
    # The rule: lowest mean log score on the exact-hours runs over the grouped schemes, recomputed
    # here from the cv table.
    grouped = result.cv[
        result.cv["scheme"].isin(GROUPED_SCHEMES) & result.cv["method"].str.startswith("prior: ")
    ]
    by_score = grouped.groupby("method")["mean_log_score_exact"].mean().sort_values()
    best = scores.iloc[0]["prior"]
    assert by_score.index[0] == f"prior: {best}"
    # The default is the best form, or one no candidate beats by more than SWITCH_SE standard
    # errors of the paired difference, recomputed here run by run.
    marked = result.prior_scores()
    (default,) = [p for p, feats in ALTERNATIVES.items() if feats == FEATURES]
    assert list(marked["default"]) == [p == default for p in marked["prior"]]
    exact = result.predictions[
        result.predictions["scheme"].isin(GROUPED_SCHEMES)
        & (result.predictions["hours_bound"] == "exact")
    ]
    wide = exact.pivot_table(index=["scheme", "run_id"], columns="method", values="log_score")
    for row in marked.itertuples():
        diff = (wide[f"prior: {row.prior}"] - wide[f"prior: {default}"]).groupby(level=0)
        lead = diff.mean().mean()
        se = (diff.std() / np.sqrt(diff.count())).mean()
        assert row.vs_default == pytest.approx(lead, abs=1e-12)
        assert row.vs_default_se == pytest.approx(se, abs=1e-12)
        assert not lead < -SWITCH_SE * se, f"{row.prior} beats the default {default}"
        assert row.beats_default == (lead < -SWITCH_SE * se)


def test_targets_are_reported_per_grouped_scheme_with_generation_checks(result):
    t = result.targets()
    assert set(t["scheme"]) >= set(GROUPED_SCHEMES)
    assert all(isinstance(v, bool) for v in t["met"])
    gens = result.runs["generation"].value_counts()
    for gen, n in gens.items():
        rows = t[(t["scheme"] == "organization") & t["target"].str.startswith(f"MdAPE on {gen} ")]
        assert len(rows) == (1 if n >= 5 else 0), gen


# ---- what calibrates
# ------------------------------------------------------------------------------


def test_calibration_set_follows_the_documented_rules(catalog):
    points = {p.run_id: p for p in calibration_points(catalog)}
    for run in catalog.training_runs.values():
        assert (run.id in points) == (run.role == "calibration"), run.id
    nemotron = catalog.training_runs["nemotron-4-340b"]
    assert points["nemotron-4-340b"].flop == pytest.approx(
        6 * nemotron.active_params * nemotron.hours_tokens
    )
    incoder = catalog.training_runs["incoder-6.7b"]  # authors' FLOP figure, no token count
    assert points["incoder-6.7b"].flop == incoder.training_flop
    assert "olmo-3-7b" not in points and "glm-130b" not in points


def test_fp8_runs_are_fitted_as_bf16_equivalent(catalog):
    assert math.log(FP8_GAIN_TRIANGULAR[0]) < FP8_LOG_GAIN_MEAN < math.log(FP8_GAIN_TRIANGULAR[2])
    for p in calibration_points(catalog):
        factor = math.exp(FP8_LOG_GAIN_MEAN) if p.precision == "fp8" else 1.0
        assert p.bf16_utilization == pytest.approx(p.utilization / factor)


# ---- energy model
# -----------------------------------------------------------------------------------


def test_energy_model_constants_are_epochs(catalog):
    h100 = catalog.accelerators["h100-sxm"]
    assert h100.server_power_multiplier == pytest.approx(10.2e3 / 8 / 700, abs=0.005)
    assert catalog.accelerators["a100-sxm-80gb"].server_power_multiplier == pytest.approx(2.03)
    for chip in catalog.accelerators.values():
        assert chip.server_power_fraction == (0.43 if chip.family == "tpu" else 0.75), chip.id


def test_energy_check_applies_the_model_and_never_uses_tdp_figures_as_tests(result, catalog):
    energy = result.energy.set_index("run_id")
    for run_id, row in energy.iterrows():
        run = catalog.training_runs[run_id]
        chip = catalog.accelerators[run.accelerator]
        per_hour = chip.tdp_w * chip.server_power_fraction * row["pue"] / 1e6
        assert row["model_facility_mwh"] == pytest.approx(
            row["gpu_hours"] * per_hour * chip.server_power_multiplier
        )
        assert row["model_accelerator_mwh"] == pytest.approx(row["gpu_hours"] * per_hour)
        assert row["tests_model"] == (run.energy_basis != "tdp_x_hours")
        if run.gpu_hours is not None:
            assert row["hours_known"] and row["gpu_hours"] == run.gpu_hours


def test_energy_check_is_not_fitted_to_published_energy(data_copy):
    base = load_catalog(data_copy)
    before = energy_check(base, default_prior(base), draws=DRAWS).set_index("run_id")
    changed = _edit_runs(data_copy, {"olmo-3-7b": {"energy_mwh": "999"}})
    after = energy_check(changed, default_prior(changed), draws=DRAWS).set_index("run_id")
    assert default_prior(changed).coef == default_prior(base).coef
    assert (
        after.loc["olmo-3-7b", "model_facility_mwh"]
        == before.loc["olmo-3-7b", "model_facility_mwh"]
    )


def test_upper_bound_runs_are_checked_not_fitted(result, catalog):
    bounded = {
        r.id
        for r in catalog.training_runs.values()
        if r.gpu_hours_scope == "upper_bound" and r.accelerator
    }
    assert set(result.bounds["run_id"]) == bounded
    assert not bounded & set(result.runs["run_id"])


# ---- outputs
# --------------------------------------------------------------------------------------


def test_json_contract(result):
    d = json.loads(json.dumps(result.to_dict(), allow_nan=False))
    assert {
        "prior",
        "settings",
        "summary",
        "runs",
        "cv",
        "breakdown",
        "pit",
        "alternatives",
        "energy",
        "energy_summary",
        "power",
        "bounds",
        "targets",
        "version",
        "provenance",
    } <= set(d)
    assert set(d["summary"]) == {PRIOR, CONSTANT, naive_label()}
    for method in d["summary"].values():
        assert {"n_runs", "mdape", "coverage_p10_p90", "median_p90_over_p10"} <= set(method)
    assert d["summary"][PRIOR]["n_runs"] == len(d["runs"])
    assert {
        "run_id",
        "reported_gpu_hours",
        "p10_gpu_hours",
        "p50_gpu_hours",
        "p90_gpu_hours",
        "inside",
        "ape",
        "naive_gpu_hours",
        "naive_ape",
        "pit",
        "generation",
    } <= set(d["runs"][0])
    assert {(a["features"], a["leave_out"]) for a in d["alternatives"]} >= {
        ("size", "organization"),
        ("generation", "year"),
    }
    assert {c["scheme"] for c in d["cv"]} == set(SCHEMES)


def test_same_seed_same_answer(result):
    again = backtest(draws=DRAWS, seed=0, alternatives={})
    assert again.runs[["p10_gpu_hours", "p50_gpu_hours", "p90_gpu_hours"]].equals(
        result.runs[["p10_gpu_hours", "p50_gpu_hours", "p90_gpu_hours"]]
    )


@pytest.mark.parametrize(
    "kwargs, needle",
    [
        (dict(draws=0), "draws"),
        (dict(draws=1.5), "draws"),
        (dict(seed=-1), "seed"),
        (dict(naive_mfu=0.0), "naive_mfu"),
        (dict(leave_out="fold"), "leave_out"),
    ],
)
def test_bad_arguments_are_input_errors(kwargs, needle):
    with pytest.raises(InputError, match=needle):
        backtest(**kwargs)


def test_table_and_figures(result):
    import matplotlib.pyplot as plt

    from analysis.views import plots

    text = result.to_table()
    assert (
        "naive" in text
        and "best single constant" in text
        and "targets" in text
        and "llama-3.1-405b" in text
    )
    for scheme in GROUPED_SCHEMES:
        assert f"by generation, year and size ({SCHEME_TEXT[scheme]})" in text
    fig = plots.backtest_figure(result)
    assert fig.axes[0].get_xscale() == "log"
    plt.close(fig)
    fig = plots.backtest_pit(result.pit)
    assert len(fig.axes) == len(SCHEMES)
    plt.close(fig)


def test_cli_json_and_table():
    proc = run_cli("backtest", "--format", "json")
    assert proc.returncode == 0, proc.stderr[-2000:]
    d = json.loads(proc.stdout)
    assert d["summary"][PRIOR]["n_runs"] == len(d["runs"]) > 0
    assert {c["scheme"] for c in d["cv"]} == set(SCHEMES)


def test_cli_bad_format_is_one_line_error():
    assert_one_line_error(run_cli("backtest", "--format", "xml"), "--format")


@pytest.mark.parametrize(
    "edit, needles",
    [
        ({"energy_basis": ""}, ["training_runs.csv", "olmo-3-7b", "energy_basis"]),
        (
            {"gpu_hours": "", "gpu_hours_scope": "", "hours_tokens": "1e12"},
            ["olmo-3-7b", "hours_tokens"],
        ),
        ({"energy_basis": "metered"}, ["olmo-3-7b", "energy_basis"]),
    ],
)
def test_bad_new_columns_name_the_row_and_field(data_copy, edit, needles):
    _edit_runs(data_copy, {"olmo-3-7b": edit}, load=False)
    assert_one_line_error(run_cli("backtest", env=data_env(data_copy)), *needles)


# ---- the prior's interface (estimate_many and simulate call ppf with arrays)
# ----------------------

_IDS = ["h100-sxm", "a100-sxm-80gb", "tpu-v4", "b300", "mi300x", "not-a-chip"]


@given(
    u=st.lists(st.floats(0.01, 0.99), min_size=1, max_size=6),
    log_n=st.lists(st.floats(8.0, 12.5), min_size=6, max_size=6),
    pick=st.lists(st.integers(0, len(_IDS) - 1), min_size=6, max_size=6),
)
def test_ppf_with_arrays_matches_effective_draw_by_draw(u, log_n, pick):
    prior = default_prior(load_catalog())
    n = len(u)
    active = 10.0 ** np.array(log_n[:n])
    ids = np.array([_IDS[i] for i in pick[:n]])
    got = prior.ppf(np.array(u), active, accelerator=ids)
    want = [
        prior.effective(a, accelerator=i).ppf(np.array([x]))[0] for x, a, i in zip(u, active, ids)
    ]
    assert got == pytest.approx(want, rel=1e-9)
    scalar = prior.ppf(np.array(u), active, accelerator="h100-sxm")
    assert scalar == pytest.approx(
        prior.ppf(np.array(u), active, accelerator=np.full(n, "h100-sxm")), rel=1e-12
    )


def test_unknown_generation_or_size_shrinks_to_the_pooled_centre_and_widens(catalog):
    prior = default_prior(catalog)
    known = prior.effective(70e9, accelerator="h100-sxm")
    blackwell = prior.effective(70e9, accelerator="b300")  # a generation with no calibration runs
    nothing = prior.effective(70e9)
    assert blackwell == nothing
    assert math.log(blackwell.p90 / blackwell.p10) > math.log(known.p90 / known.p10)
    no_size = prior.effective(None, accelerator="h100-sxm")
    assert math.log(no_size.p90 / no_size.p10) > math.log(known.p90 / known.p10)
    with pytest.raises(ValueError, match="unknown prior feature"):
        prior.effective(70e9, colour="red")


# ---- the chip-sheet feature and the between-generation variance
# ------------------------------------


def _bandwidth_prior(catalog):
    from analysis.model.calibration import chip_sheet, fit_prior

    return fit_prior(
        calibration_points(catalog), ("size", "bandwidth", "generation"), **chip_sheet(catalog)
    )


def test_bandwidth_feature_reads_the_chip_sheet_and_widens_where_it_is_blank(catalog, data_copy):
    prior = _bandwidth_prior(catalog)
    slope = prior.coef[2]
    # Blackwell has no calibration run: its centre differs from the pooled one only through its
    # sheet.
    b300, rubin = (
        prior.effective(70e9, accelerator="b300"),
        prior.effective(70e9, accelerator="vr200"),
    )
    assert catalog.accelerators["vr200"].memory_bandwidth_tb_per_s is None
    assert math.log(rubin.p90 / rubin.p10) > math.log(b300.p90 / b300.p10)  # blank bandwidth: wider
    # Halving B300's bandwidth on its sheet moves its centre by slope x log10(1/2), nothing else.
    path = data_copy / "accelerators.csv"
    with open(path, newline="") as handle:
        reader = csv.DictReader(handle)
        fields, rows = reader.fieldnames, list(reader)
    for row in rows:
        if row["id"] == "b300":
            row["memory_bandwidth_tb_per_s"] = str(float(row["memory_bandwidth_tb_per_s"]) / 2)
    with open(path, "w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=fields, lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
    halved = _bandwidth_prior(load_catalog(data_copy))
    before = prior.log_centre_and_half_width(70e9, accelerator="b300")[0]
    after = halved.log_centre_and_half_width(70e9, accelerator="b300")[0]
    # Blackwell has no run, so its centre is blended with the naive rule's: the move is scaled by
    # the prior's share of the blend.
    share = 1.0 - prior._naive_weight("b300", 1)[0]
    assert 0.0 < share < 1.0
    assert after - before == pytest.approx(share * slope * math.log10(0.5), rel=1e-9)
    # The default prior does not use the sheet: the same edit leaves it alone.
    assert default_prior(load_catalog(data_copy)).effective(
        70e9, accelerator="b300"
    ) == default_prior(catalog).effective(70e9, accelerator="b300")


def test_a_generation_shifted_away_from_the_rest_gets_its_offset_and_a_larger_tau(catalog):
    from dataclasses import replace

    from analysis.model.calibration import fit_prior

    points = calibration_points(catalog)
    base = fit_prior(points, ("size", "generation"))
    shifted = fit_prior(
        [
            replace(p, utilization=p.utilization * 2) if p.generation == "ampere" else p
            for p in points
        ],
        ("size", "generation"),
    )

    def moved(accelerator):
        return (
            shifted.log_centre_and_half_width(7e9, accelerator=accelerator)[0]
            - base.log_centre_and_half_width(7e9, accelerator=accelerator)[0]
        ) / math.log(2)

    # Fifteen A100 runs: the doubled utilization shows almost whole in an A100 prediction, barely in
    # an H100 one (the pooled centre moves a little, the Hopper offset takes it back)...
    assert 0.85 < moved("a100-sxm-80gb") < 1.02
    assert abs(moved("h100-sxm")) < 0.1
    # ...and the generations now differ more than before.
    assert shifted.tau > base.tau
    # All runs on one generation: no between-generation variance to estimate, no offset.
    one = fit_prior([replace(p, generation="hopper") for p in points], ("size", "generation"))
    assert one.tau == 0.0 and one.offsets["hopper"][0] == 0.0


# ---- upper bounds as censored observations, and generations without runs
# ------------------------------------------------------------------------


def _synthetic_points(n=60, seed=1, slack=math.log(2.5)):
    """Runs drawn from log u = log 0.35 + 0.15 x size + t(4) x 0.15; every other run's hours are
    reported `slack` too long and marked an upper bound."""
    from dataclasses import replace

    rng = np.random.default_rng(seed)
    template = calibration_points(load_catalog())[0]
    points = []
    for i in range(n):
        size = rng.uniform(-2.0, 1.0)
        log_u = math.log(0.35) + 0.15 * size + 0.15 * rng.standard_t(4.0)
        upper = i % 2 == 1
        observed = log_u - (slack if upper else 0.0)
        points.append(
            replace(
                template,
                run_id=f"synthetic-{i}",
                precision="bf16",
                active_params=10 ** (size + 11),
                utilization=math.exp(observed),
                generation="hopper",
                hours_bound="upper" if upper else "exact",
            )
        )
    return points


def test_the_censored_likelihood_recovers_the_centre_that_bounds_drag_down():
    from analysis.model.calibration import fit_prior

    points = _synthetic_points()
    point = fit_prior(points, ("size",))
    censored = fit_prior(points, ("size", "censored"))
    truth = math.log(0.35)
    # As points, the bounds (2.5x too many hours) pull the centre down; censored, they only say
    # "at least", and the exact runs put it back near the truth.
    assert point.coef[0] < truth - 0.2
    assert abs(censored.coef[0] - truth) < 0.1
    assert censored.censored_runs == 30 and point.censored_runs == 0
    assert "30 upper-bound runs censored" in censored.describe()
    # With no bound in the data the censored form is the point form.
    exact_only = [p for p in points if p.hours_bound == "exact"]
    assert fit_prior(exact_only, ("size", "censored")).coef == fit_prior(exact_only, ("size",)).coef


def test_a_bounded_run_is_scored_by_its_survival_probability(catalog):
    from scipy import stats

    prior = default_prior(catalog)
    centre, scale = prior.log_centre_and_scale(7e9, 1, accelerator="h100-sxm")
    u = 0.2
    assert prior.logsf(u, 7e9, accelerator="h100-sxm") == pytest.approx(
        stats.t.logsf(math.log(u), prior.dof, loc=centre[0], scale=scale[0])
    )
    points = calibration_points(catalog)
    frame = cv_predictions(catalog, points, "organization", priors=PRIORS, draws=500, seed=0)
    rows = frame[frame["method"] == PRIOR].set_index("run_id")
    bounded = next(p for p in points if p.hours_bound == "upper" and p.organization == "Meta")
    exact = next(p for p in points if p.hours_bound == "exact" and p.organization == "IBM")
    meta_fit = default_prior(loo_catalog_by_org(catalog, "Meta"))
    assert rows.loc[bounded.run_id, "log_score"] == pytest.approx(
        -meta_fit.logsf(bounded.bf16_utilization, bounded.active_params, accelerator="h100-sxm"),
        rel=1e-9,
    )
    assert rows.loc[exact.run_id, "hours_bound"] == "exact"


def loo_catalog_by_org(catalog, organization):
    """The catalog without one organization's runs (a new data hash: its own fitted prior)."""
    import dataclasses

    runs = {k: v for k, v in catalog.training_runs.items() if v.organization != organization}
    return dataclasses.replace(
        catalog,
        training_runs=runs,
        data_hash=f"{catalog.data_hash}-without-{organization}",
        _frames={},
    )


def test_the_censored_forms_are_candidates_and_the_exact_runs_pick(result):
    scores = result.prior_scores()
    assert {"size, censored", "size + generation, censored"} <= set(scores["prior"])
    assert list(scores["mean_log_score_exact"]) == sorted(scores["mean_log_score_exact"])
    assert {"mean_log_score", "bounds_respected", "mean_mdape_exact"} <= set(scores.columns)
    table = result.to_table()
    assert "prior: size + generation, censored" in table and "upper bounds' slack" in table


def test_bound_slack_is_small_when_bounds_are_tight_and_large_when_loose():
    from analysis.model.calibration import bound_slack

    tight = bound_slack(_synthetic_points(slack=0.0))
    loose = bound_slack(_synthetic_points(slack=math.log(2.5)))
    assert tight["lambda"] < 0.2 < loose["lambda"]
    assert 1.6 < loose["mean_slack_factor"] < 4.0
    assert loose["aic_slack"] < loose["aic_points"]
    assert tight["n_upper"] == 30 and tight["n_runs"] == 60


def test_a_generation_without_runs_is_moved_toward_the_naive_centre(catalog):
    from analysis.model.calibration import NAIVE_MFU

    prior = default_prior(catalog)
    assert "blackwell" not in prior.offsets and "hopper" in prior.offsets
    w = prior._naive_weight("b300", 1)[0]
    assert 0.0 < w < 1.0 and prior._naive_weight("h100-sxm", 1)[0] == 0.0
    pooled = prior.coef[0] + prior.coef[1] * (math.log10(70e9) - 11)
    centre = prior.log_centre_and_half_width(70e9, accelerator="b300")[0]
    assert centre == pytest.approx((1 - w) * pooled + w * math.log(NAIVE_MFU))
    assert pooled < centre < math.log(NAIVE_MFU)


def _generation_points(levels, runs=8, seed=3):
    """`runs` runs per generation ``g<i>`` (each on its own chip ``chip-<i>``) at log u =
    `levels`[i] + N(0, 0.05)."""
    from dataclasses import replace

    rng = np.random.default_rng(seed)
    template = calibration_points(load_catalog())[0]
    return [
        replace(
            template,
            run_id=f"g{i}-{j}",
            precision="bf16",
            accelerator=f"chip-{i}",
            generation=f"g{i}",
            utilization=math.exp(level + 0.05 * rng.standard_normal()),
            hours_bound="exact",
        )
        for i, level in enumerate(levels)
        for j in range(runs)
    ]


def test_blend_moves_a_seen_generation_toward_naive_by_inverse_variance(catalog):
    from analysis.model.calibration import NAIVE_MFU, fit_prior

    points = calibration_points(catalog)
    plain = fit_prior(points, ("size", "generation"))
    blended = fit_prior(points, ("size", "generation", "blend"))
    assert plain._naive_weight("h100-sxm", 1)[0] == 0.0
    offset_var = blended.offsets["hopper"][1]
    v = blended.sigma**2 + offset_var
    w = blended._naive_weight("h100-sxm", 1)[0]
    assert w == pytest.approx(v / (v + blended.naive_mse)) and 0.0 < w < 0.5
    # Volta's two runs leave its offset uncertain: it is moved further than Hopper's twenty.
    assert blended._naive_weight("v100-sxm-32gb", 1)[0] > w
    before = plain.log_centre_and_half_width(8e9, accelerator="h100-sxm")[0]
    after = blended.log_centre_and_half_width(8e9, accelerator="h100-sxm")[0]
    assert after == pytest.approx((1 - w) * before + w * math.log(NAIVE_MFU))
    assert "a seen one by its offset's variance" in blended.describe()
    # An unseen generation is blended as before.
    assert blended._naive_weight("b300", 1)[0] == pytest.approx(plain._naive_weight("b300", 1)[0])


def test_the_nested_weight_follows_what_left_out_generations_show():
    from analysis.model.calibration import NAIVE_MFU, choose_naive_weight, fit_prior

    features = ("generation", "nested")
    # Every generation at one level far below the naive MFU: the others predict a left-out one
    # well, so the naive centre gets no weight.
    alike = _generation_points([math.log(0.15)] * 5)
    assert choose_naive_weight(alike, features) == 0.0
    # Generations scattered evenly about the naive MFU: a left-out one is nearer the naive centre
    # than the others' pooled mean, which is pulled the other way.
    scattered = _generation_points([math.log(NAIVE_MFU) + d for d in (-0.6, 0.6, -0.6, 0.6, 0.3)])
    weight = choose_naive_weight(scattered, features)
    assert weight >= 0.8
    # The fitted prior carries the chosen weight for an unseen generation, none for a seen one.
    prior = fit_prior(scattered, features)
    assert prior.unseen_naive_weight == weight
    assert prior._naive_weight("chip-new", 1)[0] == weight
    assert prior._naive_weight("chip-0", 1)[0] == 0.0
    # Without the flag the inverse-variance rule stands; one generation gives nothing to leave out.
    assert fit_prior(scattered, ("generation",)).unseen_naive_weight is None
    assert choose_naive_weight(_generation_points([math.log(0.3)]), features) is None
    with pytest.raises(ValueError, match="'nested'.*add 'generation'"):
        fit_prior(scattered, ("size", "nested"))


def test_the_prior_is_compared_with_naive_per_scheme_and_generation(result):
    table = result.generation_vs_naive()
    assert set(table["scheme"]) == set(SCHEMES)
    assert {"generation", "n_runs", "prior_mdape", "naive_mdape", "judged", "prior_not_worse"} <= (
        set(table.columns)
    )
    assert (table["judged"] == (table["n_runs"] >= 5)).all()
    d = json.loads(json.dumps(result.to_dict(), allow_nan=False))
    assert {"generation_vs_naive", "prior_scores", "bound_slack"} <= set(d)
    assert len(d["generation_vs_naive"]) == len(table)
    assert "prior vs naive MdAPE by generation" in result.to_table()

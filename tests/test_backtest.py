"""The backtest: leave-one-out really leaves out, metrics and baseline are what they say, energy model."""

from __future__ import annotations

import csv
import json
import math

import numpy as np
import pytest

from analysis import backtest, estimate
from analysis._backtest import (
    LEAVE_OUT,
    NAIVE_MFU,
    energy_check,
    held_out,
    interval_metrics,
    leave_out_predictions,
    loo_catalog,
    naive_gpu_hours,
)
from analysis.calibration import (
    FP8_LOG_GAIN_MEAN,
    calibration_points,
    default_prior,
    fit_prior,
)
from analysis.catalog import load_catalog
from analysis.constants import FP8_GAIN_TRIANGULAR, SECONDS_PER_HOUR
from analysis.errors import InputError
from conftest import assert_one_line_error, data_env, run_cli

DRAWS = 2_000


@pytest.fixture(scope="module")
def result():
    return backtest(draws=DRAWS, seed=0)


def _edit_runs(data_dir, edits: dict[str, dict[str, str]], *, load: bool = True):
    """Change cells of data_dir/training_runs.csv (run id -> {column: text}); return the new catalog."""
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


def _p50(frame, run_id):
    return float(frame.set_index("run_id").loc[run_id, "p50_gpu_hours"])


# ---- metrics and baseline ------------------------------------------------------------------------

def test_interval_metrics_on_a_constructed_case():
    reported = [100.0, 100.0, 100.0, 100.0]
    p10 = [90.0, 50.0, 101.0, 200.0]
    p50 = [110.0, 80.0, 120.0, 300.0]
    p90 = [180.0, 100.0, 202.0, 800.0]
    m = interval_metrics(reported, p10, p50, p90)
    # APEs 0.1, 0.2, 0.2, 2.0 -> median 0.2; inside: yes, yes (edge counts), no (p10 above), no.
    assert m["mdape"] == pytest.approx(0.2)
    assert m["coverage_p10_p90"] == pytest.approx(0.5)
    # Widths 2, 2, 2, 4 -> median 2; P50/reported 1.1, 0.8, 1.2, 3 -> median 1.15.
    assert m["median_p90_over_p10"] == pytest.approx(2.0)
    assert m["median_p50_over_reported"] == pytest.approx(1.15)
    point = interval_metrics(reported, None, p50, None)
    assert point["coverage_p10_p90"] is None and point["median_p90_over_p10"] is None
    assert point["mdape"] == pytest.approx(0.2)


def test_naive_baseline_is_6nd_at_mfu_040_of_the_precision_peak(result, catalog):
    assert naive_gpu_hours(6 * 70e9 * 15e12, 9.894e14) == pytest.approx(6 * 70e9 * 15e12 / (9.894e14 * 0.40 * 3600))
    runs = result.runs.set_index("run_id")
    for run_id, row in runs.iterrows():
        chip = catalog.accelerators[row["accelerator"]]
        peak = chip.peak_fp8_flop_per_s if row["precision"] == "fp8" else chip.peak_bf16_flop_per_s
        run = catalog.training_runs[run_id]
        tokens = run.hours_tokens or run.training_tokens
        expected = 6 * run.active_params * tokens / (peak * NAIVE_MFU * SECONDS_PER_HOUR)
        assert row["naive_gpu_hours"] == pytest.approx(expected, rel=1e-12), run_id


def test_summary_is_recomputed_from_the_runs_table(result):
    runs = result.runs
    s = result.summary.loc["calibrated prior"]
    inside = (runs["p10_gpu_hours"] <= runs["reported_gpu_hours"]) & (runs["reported_gpu_hours"] <= runs["p90_gpu_hours"])
    assert list(inside) == list(runs["inside"])
    assert s["coverage_p10_p90"] == pytest.approx(inside.mean())
    ape = (runs["p50_gpu_hours"] / runs["reported_gpu_hours"] - 1).abs()
    assert s["mdape"] == pytest.approx(ape.median())
    assert s["median_p90_over_p10"] == pytest.approx((runs["p90_gpu_hours"] / runs["p10_gpu_hours"]).median())
    naive = result.summary.iloc[1]
    assert naive["mdape"] == pytest.approx(runs["naive_ape"].median())
    assert (runs["p10_gpu_hours"] < runs["p50_gpu_hours"]).all() and (runs["p50_gpu_hours"] < runs["p90_gpu_hours"]).all()


# ---- leave-one-out really leaves out -------------------------------------------------------------

def test_a_runs_own_hours_never_move_its_own_prediction(data_copy):
    base = load_catalog(data_copy)
    before = leave_out_predictions(base, calibration_points(base), ("size",), draws=DRAWS)
    falcon = base.training_runs["falcon-180b"]
    changed = _edit_runs(data_copy, {"falcon-180b": {"gpu_hours": repr(falcon.gpu_hours * 3.0)}})
    after = leave_out_predictions(changed, calibration_points(changed), ("size",), draws=DRAWS)
    # Held out: its prediction is blind to its own reported hours...
    assert _p50(after, "falcon-180b") == pytest.approx(_p50(before, "falcon-180b"), rel=1e-12)
    # ...but every other run's prediction, fitted with it, moves.
    for run_id in ("opt-175b", "nemotron-4-340b", "llama-3-8b"):
        assert _p50(after, run_id) != pytest.approx(_p50(before, run_id), rel=1e-6), run_id
    # And the prior estimate uses (fitted on everything) sees it.
    assert default_prior(changed).coef != default_prior(base).coef


def test_group_leave_out_also_hides_sibling_runs(data_copy, catalog):
    points = calibration_points(catalog)
    assert held_out(catalog, points, "llama-3-8b", "group") == {"llama-3-8b", "llama-3.1-8b"}
    assert held_out(catalog, points, "gpt-3-175b", "group") == {"gpt-3-175b"}
    assert held_out(catalog, points, "llama-3-8b", "run") == {"llama-3-8b"}
    base = load_catalog(data_copy)
    kw = dict(draws=DRAWS)
    before = {m: leave_out_predictions(base, calibration_points(base), ("size",), leave_out=m, **kw) for m in LEAVE_OUT}
    changed = _edit_runs(data_copy, {"llama-3-8b": {"gpu_hours": "4.0e6"}})
    after = {m: leave_out_predictions(changed, calibration_points(changed), ("size",), leave_out=m, **kw)
             for m in LEAVE_OUT}
    # The sibling's prediction uses the changed run only when siblings are not held out together.
    assert _p50(after["group"], "llama-3.1-8b") == pytest.approx(_p50(before["group"], "llama-3.1-8b"), rel=1e-12)
    assert _p50(after["run"], "llama-3.1-8b") != pytest.approx(_p50(before["run"], "llama-3.1-8b"), rel=1e-6)


def test_loo_predictions_match_estimate_without_the_run(result, catalog):
    runs = result.runs.set_index("run_id")
    for run_id in ("deepseek-v3", "nemotron-4-340b"):  # FP8, and hours covering one stage
        run = catalog.training_runs[run_id]
        r = estimate(params=run.total_params, active_params=run.active_params,
                     tokens=run.hours_tokens or run.training_tokens, accelerator=run.accelerator,
                     precision=run.precision or "bf16", draws=DRAWS, seed=0, price_per_hour=1.0,
                     catalog=loo_catalog(catalog, run_id))
        for q in ("p10", "p50", "p90"):
            assert r.metrics["gpu_hours"][q] == pytest.approx(runs.loc[run_id, f"{q}_gpu_hours"], rel=1e-9), (run_id, q)
        assert runs.loc[run_id, "fitted_on"] == len(result.runs) - 1


# ---- what calibrates ------------------------------------------------------------------------------

def test_calibration_set_follows_the_documented_rules(catalog):
    points = {p.run_id: p for p in calibration_points(catalog)}
    for run in catalog.training_runs.values():
        if run.confidence == "estimated-by-third-party" or run.gpu_hours_scope == "upper_bound":
            assert run.id not in points, run.id
    nemotron = catalog.training_runs["nemotron-4-340b"]
    assert nemotron.hours_tokens < nemotron.training_tokens
    assert points["nemotron-4-340b"].flop == pytest.approx(6 * nemotron.active_params * nemotron.hours_tokens)
    opt = catalog.training_runs["opt-175b"]
    assert points["opt-175b"].flop == pytest.approx(6 * opt.active_params * opt.training_tokens)
    assert "olmo-3-7b" not in points  # hours and energy, but no tokens: energy check only


def test_fp8_runs_are_fitted_as_bf16_equivalent(catalog):
    assert math.log(FP8_GAIN_TRIANGULAR[0]) < FP8_LOG_GAIN_MEAN < math.log(FP8_GAIN_TRIANGULAR[2])
    for p in calibration_points(catalog):
        factor = math.exp(FP8_LOG_GAIN_MEAN) if p.precision == "fp8" else 1.0
        assert p.bf16_utilization == pytest.approx(p.utilization / factor)


def test_scope_feature_predicts_new_runs_as_main_pretraining(catalog):
    prior = fit_prior(calibration_points(catalog), ("size", "scope"))
    new = prior.effective(70e9)
    assert new == prior.effective(70e9, scope="pretrain")
    draws = prior.ppf(np.array([0.1, 0.9]), np.array([70e9, 70e9]))
    assert draws == pytest.approx([new.p10, new.p90], rel=1e-9)
    plus = prior.effective(70e9, scope="pretrain_plus")
    assert (plus.p10 < new.p10) == (prior.coef[2] < 0)
    with pytest.raises(ValueError, match="unknown prior feature"):
        fit_prior(calibration_points(catalog), ("size", "colour"))


# ---- energy model -----------------------------------------------------------------------------------

def test_energy_model_constants_are_epochs(catalog):
    # DESIGN.md s3 item 7 (Cottier et al. 2024): H100 10.2 kW / 8 / 0.7 kW = 1.82, A100 2.03, TPUs ~1.56;
    # average fraction of server TDP drawn 0.75 for GPUs, 0.43 for TPUs.
    h100 = catalog.accelerators["h100-sxm"]
    assert h100.server_power_multiplier == pytest.approx(10.2e3 / 8 / 700, abs=0.005)
    assert catalog.accelerators["a100-sxm-80gb"].server_power_multiplier == pytest.approx(2.03)
    for chip in catalog.accelerators.values():
        assert chip.server_power_fraction == (0.43 if chip.family == "tpu" else 0.75), chip.id
        if chip.family == "tpu":
            assert chip.server_power_multiplier == pytest.approx(1.56)


def test_energy_check_applies_the_model_and_never_uses_tdp_figures_as_tests(result, catalog):
    energy = result.energy.set_index("run_id")
    for run_id, row in energy.iterrows():
        run = catalog.training_runs[run_id]
        chip = catalog.accelerators[run.accelerator]
        per_hour = chip.tdp_w * chip.server_power_fraction * row["pue"] / 1e6
        assert row["model_facility_mwh"] == pytest.approx(row["gpu_hours"] * per_hour * chip.server_power_multiplier)
        assert row["model_accelerator_mwh"] == pytest.approx(row["gpu_hours"] * per_hour)
        assert row["tests_model"] == (run.energy_basis != "tdp_x_hours")
        scale = row["pue"] if run.energy_basis == "gpu_measured" else 1.0
        assert row["published_facility_mwh"] == pytest.approx(run.energy_mwh * scale)
        if run.gpu_hours is not None:
            assert row["hours_known"] and row["gpu_hours"] == run.gpu_hours
    summary = result.energy_summary()
    assert set(summary["runs"]) == set(energy.index[energy["tests_model"] & energy["hours_known"]])


def test_energy_check_is_not_fitted_to_published_energy(data_copy):
    base = load_catalog(data_copy)
    prior = default_prior(base)
    before = energy_check(base, prior, draws=DRAWS).set_index("run_id")
    changed = _edit_runs(data_copy, {"olmo-3-7b": {"energy_mwh": "999"}})
    after = energy_check(changed, default_prior(changed), draws=DRAWS).set_index("run_id")
    assert default_prior(changed).coef == prior.coef
    assert after.loc["olmo-3-7b", "model_facility_mwh"] == before.loc["olmo-3-7b", "model_facility_mwh"]
    assert after.loc["olmo-3-32b", "model_facility_mwh"] == before.loc["olmo-3-32b", "model_facility_mwh"]


def test_upper_bound_runs_are_checked_not_fitted(result, catalog):
    bounded = {r.id for r in catalog.training_runs.values() if r.gpu_hours_scope == "upper_bound" and r.accelerator}
    assert set(result.bounds["run_id"]) == bounded
    assert not bounded & set(result.runs["run_id"])
    for row in result.bounds.itertuples():
        assert row.p50_within_bound == (row.p50_gpu_hours <= row.upper_bound_gpu_hours)


def test_power_check_is_n_times_server_rating(result, catalog):
    for row in result.power.itertuples():
        chip = catalog.accelerators[row.accelerator]
        assert row.model_it_power_mw == pytest.approx(row.n_accelerators * chip.tdp_w * chip.server_power_multiplier / 1e6)
        assert row.implied_pue == pytest.approx(row.published_power_mw / row.model_it_power_mw)


# ---- outputs --------------------------------------------------------------------------------------

def test_json_contract(result):
    d = json.loads(json.dumps(result.to_dict(), allow_nan=False))
    assert {"prior", "settings", "summary", "runs", "alternatives", "energy", "energy_summary", "power",
            "bounds", "targets", "version", "provenance"} <= set(d)
    assert set(d["summary"]) == {"calibrated prior", f"naive 6ND @ MFU {NAIVE_MFU:g}"}
    for method in d["summary"].values():
        assert {"n_runs", "mdape", "coverage_p10_p90", "median_p90_over_p10"} <= set(method)
    assert d["summary"]["calibrated prior"]["n_runs"] == len(d["runs"])
    assert {"run_id", "reported_gpu_hours", "p10_gpu_hours", "p50_gpu_hours", "p90_gpu_hours", "inside", "ape",
            "naive_gpu_hours", "naive_ape"} <= set(d["runs"][0])
    assert {(a["features"], a["leave_out"]) for a in d["alternatives"]} >= {("size", "run"), ("size", "group")}
    assert all(isinstance(t["met"], bool) for t in d["targets"])


def test_same_seed_same_answer(result):
    again = backtest(draws=DRAWS, seed=0, alternatives={})
    assert again.runs[["p10_gpu_hours", "p50_gpu_hours", "p90_gpu_hours"]].equals(
        result.runs[["p10_gpu_hours", "p50_gpu_hours", "p90_gpu_hours"]])


@pytest.mark.parametrize("kwargs, needle", [
    (dict(draws=0), "draws"),
    (dict(draws=1.5), "draws"),
    (dict(seed=-1), "seed"),
    (dict(naive_mfu=0.0), "naive_mfu"),
    (dict(leave_out="fold"), "leave_out"),
])
def test_bad_arguments_are_input_errors(kwargs, needle):
    with pytest.raises(InputError, match=needle):
        backtest(**kwargs)


def test_table_and_figure(result):
    text = result.to_table()
    assert "naive" in text and "targets:" in text and "llama-3.1-405b" in text
    fig = result.plot()
    ax = fig.axes[0]
    assert ax.get_xscale() == "log" and ax.get_yscale() == "log"
    import matplotlib.pyplot as plt

    plt.close(fig)


def test_cli_json_and_table():
    proc = run_cli("backtest", "--format", "json")
    assert proc.returncode == 0, proc.stderr[-2000:]
    d = json.loads(proc.stdout)
    assert d["summary"]["calibrated prior"]["n_runs"] == len(d["runs"]) > 0
    table = run_cli("backtest")
    assert table.returncode == 0 and "MdAPE" in table.stdout


def test_cli_bad_format_is_one_line_error():
    assert_one_line_error(run_cli("backtest", "--format", "xml"), "--format")


@pytest.mark.parametrize("edit, needles", [
    ({"energy_basis": ""}, ["training_runs.csv", "olmo-3-7b", "energy_basis"]),
    ({"gpu_hours": "", "gpu_hours_scope": "", "hours_tokens": "1e12"}, ["olmo-3-7b", "hours_tokens"]),
    ({"energy_basis": "metered"}, ["olmo-3-7b", "energy_basis"]),
])
def test_bad_new_columns_name_the_row_and_field(data_copy, edit, needles):
    _edit_runs(data_copy, {"olmo-3-7b": edit}, load=False)
    assert_one_line_error(run_cli("backtest", env=data_env(data_copy)), *needles)

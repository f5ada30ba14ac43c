"""analysis.views.tables: catalog views and the race, cost and deal-effect tables the notebooks
show."""

from __future__ import annotations

import math

import numpy as np
import pytest

from analysis import load_catalog
from analysis.studies.whatif import what_if
from analysis.views import tables

CW = "meta-coreweave-2026"


def test_compute_budgets_are_the_races_own_training_flop():
    budgets = tables.compute_budgets(draws=2_000, seed=3)
    result = what_if(draws=2_000, seed=3).simulate(keep_draws=True)
    for comp in result.competitors:
        drawn = result.per_draw[comp["label"]]["training_flop"]
        mine = budgets[budgets["lab"] == comp["lab"]]
        np.testing.assert_array_equal(mine["training_flop"].to_numpy(), drawn[np.isfinite(drawn)])
        # A budget run trains what its cluster does in its budget: FLOP = FLOP/s x seconds.
        assert (mine["training_flop"] > 0).all()
    table = tables.models_table()
    assert set(budgets["model"]) <= set(table.index)


def test_catalog_views_cover_every_row_and_assumption():
    assert len(tables.accelerators_table()) == len(
        load_catalog().accelerators
    )  # 23 contract ids + appended
    eff = tables.accelerator_efficiency(precision="fp8", min_year=2020)
    assert eff["year"].min() >= 2020 and eff["peak_flop_per_s"].notna().all()
    metrics = tables.efficiency_metrics(eff)
    assert metrics["n_accelerators_shown"] == len(eff)
    assumptions = tables.assumptions_table()
    assert set(assumptions["file"]) == {"accelerators.csv", "sites.csv", "models.csv", "deals.yaml"}
    assert not assumptions["assumption"].str.startswith("assumption:").any()
    assert tables.sources()["source"].str.len().min() > 0


def test_race_metrics_and_curves():
    result = what_if(draws=500, seed=2).simulate(keep_draws=True)
    metrics = tables.race_metrics(result)
    for lab in ("meta", "deepseek", "alibaba"):
        assert 0 <= metrics[f"p_first_{lab}"] <= 1
        assert metrics[f"time_to_train_p50_months_{lab}"] is not None
    assert sum(metrics[f"p_first_{lab}"] for lab in ("meta", "deepseek", "alibaba")) + metrics[
        "p_nobody"
    ] == pytest.approx(1)
    curves = tables.time_to_train_curves(result)
    for lab, part in curves.groupby("lab"):
        assert part["p_done"].is_monotonic_increasing
        comp = next(c for c in result.competitors if c["lab"] == lab)
        assert part["p_done"].iloc[-1] == pytest.approx(comp["p_within_horizon"])
    runs = tables.run_summary(result)
    assert list(runs.index) == ["Meta", "DeepSeek", "Alibaba"]
    for lab in ("meta", "deepseek", "alibaba"):
        row = runs.loc[{"meta": "Meta", "deepseek": "DeepSeek", "alibaba": "Alibaba"}[lab]]
        assert row["training_flop_p50"] == metrics[f"training_flop_p50_{lab}"]
        assert row["p_first"] == metrics[f"p_first_{lab}"]
    leads = tables.lead_times(result)
    assert set(leads["pair"]) == {
        "DeepSeek minus Meta",
        "Alibaba minus Meta",
        "Alibaba minus DeepSeek",
    }


def test_cost_by_deal_kind_and_cost_metrics():
    wi = what_if(draws=400, seed=1)
    frame = tables.cost_by_deal_kind(wi)
    assert set(frame[frame["lab"] == "Meta"]["kind"]) == {"all deals", "owned", "reserved"}
    assert set(frame[frame["lab"] != "Meta"]["kind"]) == {"all deals"}
    metrics = tables.cost_metrics(wi.simulate(keep_draws=True))
    for lab in ("meta", "deepseek", "alibaba"):
        assert metrics[f"cost_p50_usd_{lab}"] > 0 and metrics[f"energy_p50_mwh_{lab}"] > 0
        assert not math.isnan(metrics[f"usd_per_pflop_p50_{lab}"])


def test_quantile_summary_keeps_one_unit_per_column():
    from analysis.formatting import kind_of, present

    result = what_if(draws=300, seed=4).simulate(keep_draws=True)
    summary = tables.quantile_summary(tables.run_outcomes(result), list(tables.RUN_METRICS))
    assert list(summary.columns) == list(tables.RUN_METRICS)
    assert list(summary.index.names) == ["lab", "quantile"]
    assert set(summary.index.get_level_values("quantile")) == {"p10", "p50", "p90", "mean"}
    units = {column: kind_of(column).unit for column in summary.columns}
    assert (
        units["cost_usd"] == "$"
        and units["energy_mwh"] == "MWh"
        and units["emissions_tco2e"] == "tCO2e"
    )
    html = present(summary).to_html()
    assert "cost ($)" in html and "energy (MWh)" in html and "e+0" not in html
    meta_p50 = summary.loc[("Meta", "p50"), "cost_usd"]
    assert meta_p50 == pytest.approx(
        np.median(tables.run_outcomes(result).query("lab == 'Meta'")["cost_usd"])
    )


def test_time_to_train_curves_carry_the_clock_start():
    race = what_if(draws=200, seed=4)
    curves = tables.time_to_train_curves(race.simulate(keep_draws=True))
    assert set(curves["start"]) == {race.scenario.start}

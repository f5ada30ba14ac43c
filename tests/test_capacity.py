"""analysis.studies.capacity: the timeline replays the race's capacity tables and draws."""

from __future__ import annotations

import numpy as np
import pytest

from analysis.studies.capacity import (
    cap_binding_summary,
    capacity_metrics,
    capacity_timeline,
    lab_totals,
)
from analysis.studies.whatif import what_if


def _one_deal(deal: str, lab: str = "DeepSeek", model: str = "deepseek-next") -> dict:
    return {
        "name": "one-deal",
        "start": "2026-12",
        "horizon_months": 12,
        "draws": 50,
        "seed": 1,
        "competitors": [{"lab": lab, "model": model, "deals": [deal]}],
    }


def test_fixed_fleet_is_flat_and_exact():
    timeline = capacity_timeline(_one_deal("deepseek-h800"))
    deal = timeline[timeline["level"] == "deal"]
    assert len(deal) == 12
    for q in ("p10", "p50", "p90", "mean"):
        assert deal[f"accelerators_{q}"].to_numpy() == pytest.approx(10_000.0)
        assert deal[f"powered_accelerators_{q}"].to_numpy() == pytest.approx(10_000.0)
    assert deal["p_cap_binds"].isna().all()
    assert list(deal["date"][:2]) == ["2026-12", "2027-01"]
    # 10,000 H800 x 700 W x 1.82 x PUE 1.25 (+ its small sampled variation) is about 16 MW.
    assert deal["demand_mw_p50"].to_numpy() == pytest.approx(
        10_000 * 700 * 1.82 * 1.25 * 1e-6, rel=0.05
    )


def test_levels_add_up_and_powered_never_exceeds_delivered():
    timeline = capacity_timeline(draws=300, seed=2)
    assert set(timeline["level"]) == {"deal", "campus", "lab"}
    assert (timeline["powered_accelerators_p50"] <= timeline["accelerators_p50"] + 1e-6).all()
    assert (timeline["facility_mw_p50"] <= timeline["demand_mw_p50"] + 1e-9).all()
    capped = timeline[timeline["cap_mw_p50"].notna() & (timeline["level"] == "campus")]
    assert (capped["facility_mw_p90"] <= capped["cap_mw_p90"] + 1e-6).all()
    means = timeline.groupby(["lab", "level", "month"])["accelerators_mean"].sum().unstack("level")
    assert means["deal"].to_numpy() == pytest.approx(means["lab"].to_numpy())
    assert means["campus"].to_numpy() == pytest.approx(means["lab"].to_numpy())


def test_a_smaller_power_cap_binds_at_least_as_often():
    base = capacity_timeline(draws=300, seed=3)
    tight = capacity_timeline(what_if(power_cap_scale=0.5), draws=300, seed=3)
    mask = base["p_cap_binds"].notna()
    assert (
        tight.loc[mask, "p_cap_binds"].to_numpy()
        >= base.loc[mask, "p_cap_binds"].to_numpy() - 1e-12
    ).all()
    assert tight["powered_accelerators_mean"].sum() < base["powered_accelerators_mean"].sum()
    # Delivered hardware does not depend on the cap (same draws).
    assert np.array_equal(
        tight["accelerators_mean"].to_numpy(), base["accelerators_mean"].to_numpy()
    )


def test_summaries():
    timeline = capacity_timeline(draws=200, seed=4)
    summary = cap_binding_summary(timeline)
    assert {"lab", "campus", "months_binding", "first_binding"} <= set(summary.columns)
    assert "prometheus" in set(summary["campus"])
    totals = lab_totals(timeline)
    # Every six months from the default race's start (2026-12, the data's as-of month).
    assert set(totals["date"]) == {"2026-12", "2027-06", "2027-12", "2028-06", "2028-12", "2029-06"}
    metrics = capacity_metrics(timeline)
    assert metrics["accelerators_p50_end_meta"] > metrics["accelerators_p50_month12_meta"] > 0
    assert len(lab_totals(timeline, every_months=12)) == 3 * len(set(timeline["lab"]))


@pytest.mark.parametrize(
    "call, needle",
    [
        (
            lambda t: lab_totals(t, every_months=0),
            "every_months: expected a whole number of 1-month steps",
        ),  # was empty
        (lambda t: lab_totals(t, every_months=-6), "every_months"),  # was every month
        (lambda t: lab_totals(t, every_months=1.5), "every_months"),
        (
            lambda t: cap_binding_summary(t, threshold=5),
            "threshold: expected a share of draws in [0, 1)",
        ),
        (lambda t: capacity_metrics(t, threshold=-1), "threshold"),
    ],
)
def test_summaries_refuse_meaningless_arguments(call, needle):
    from analysis.errors import InputError

    with pytest.raises(InputError) as err:
        call(capacity_timeline(draws=50, seed=4))
    assert needle in str(err.value)

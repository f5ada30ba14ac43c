"""analysis.studies.sensitivity (tornado, RBD-FAST indices) and analysis.studies.economics (rent vs
build)."""

from __future__ import annotations

import numpy as np
import pytest

from analysis import InputError, simulate
from analysis.studies import economics, sensitivity
from analysis.studies.whatif import what_if
from analysis.views import tables


@pytest.fixture(scope="module")
def result():
    return what_if(draws=1500, seed=11).simulate(keep_draws=True)


def test_tornado_ranks_inputs_by_swing(result):
    frame = sensitivity.tornado(result, "time_to_train_months", tail=0.1)
    assert list(dict.fromkeys(frame["lab"])) == ["Meta", "DeepSeek", "Alibaba"]
    for _, part in frame.groupby("lab"):
        assert part["swing"].is_monotonic_decreasing
        assert list(part["rank"]) == list(range(1, len(part) + 1))
        # Outcome columns and the parts of utilization are never inputs.
        assert not set(part["input"]) & {
            "cost_usd",
            "mfu",
            "goodput",
            "finish_month",
            "release_month",
            "training_flop",
        }
    top = frame[frame["rank"] == 1]
    # A run trains for its budget from its planned launch: those two set when it is trained.
    assert set(top["input"]) <= {"earliest_launch_months", "budget_months"}


def test_variance_indices_find_compute_and_leave_prices_as_placebo(result):
    indices = sensitivity.variance_indices(result, "time_to_train_months", seed=0)
    assert set(indices["lab"]) == {"Meta", "DeepSeek", "Alibaba"}
    for lab, part in indices.groupby("lab"):
        # A budget run's end is its planned launch plus its budget: the same set the tornado allows.
        assert part.iloc[0]["input"] in {"earliest_launch_months", "budget_months"}
        assert part.iloc[0]["S1"] > 0.2
        prices = part[part["input"].str.startswith("price_factor:")]
        assert (prices["S1"].abs() < 0.1).all(), f"{lab}: a price factor cannot move time-to-train"
    assert (indices["S1_sum"] <= 1.5).all()
    headline = sensitivity.headline(indices, "time")
    assert set(headline) == {
        f"time_top_{k}_{lab}" for k in ("input", "s1") for lab in ("meta", "deepseek", "alibaba")
    }


def test_sensitivity_needs_per_draw_results():
    bare = what_if(draws=200).simulate()
    with pytest.raises(InputError, match="keep_draws"):
        sensitivity.tornado(bare)
    with pytest.raises(InputError, match="outcome"):
        sensitivity.outcome_data(bare, "speed")


def test_labels():
    assert sensitivity.label("delay:meta-hyperion") == "delivery delay: meta-hyperion"
    assert sensitivity.label("budget_months") == "wall-clock budget (months)"


def test_break_even_is_where_owning_costs_the_same_as_renting():
    costs = economics.hourly_costs("h100-sxm", draws=500, seed=1)
    f = costs["break_even_utilization"].to_numpy()
    finite = np.isfinite(f)
    own = (costs["hardware_usd_per_hour"] + costs["facility_usd_per_hour"]).to_numpy()[finite] / f[
        finite
    ] + costs["energy_usd_per_hour"].to_numpy()[finite]
    assert own == pytest.approx(costs["rent_usd_per_hour"].to_numpy()[finite])
    summary = economics.break_even_summary(costs)
    assert 0.2 < summary.loc["break_even_utilization", "p50"] < 1.0


def test_rent_vs_build_curves_and_single_run():
    curves = economics.rent_vs_build("h100-sxm", draws=300)
    own = curves[curves["option"] == "own"]
    assert own["p50"].is_monotonic_decreasing
    assert curves[curves["option"] == "rent"]["p50"].nunique() == 1
    run = economics.run_cost_rent_vs_own("h100-sxm", 1e25, mfu=0.4, draws=300)
    assert set(run.index) == {"gpu_hours", "energy_mwh", "cost_rent_usd", "cost_own_usd"}
    # A fixed MFU and the goodput range: hours = C / (peak x 0.4 x goodput x 3600).
    assert run.loc["gpu_hours", "p50"] == pytest.approx(
        1e25 / (9.894e14 * 0.4 * 0.92 * 3600), rel=0.05
    )


def test_rent_vs_build_needs_both_prices():
    assert "h100-sxm" in economics.rent_vs_build_accelerators()
    with pytest.raises(InputError, match="purchase or rental price"):
        economics.hourly_costs("tpu-v5p")
    with pytest.raises(InputError, match="unknown accelerator"):
        economics.hourly_costs("h100")
    fixed = economics.hourly_costs("h100-sxm", pue=1.3, draws=50)
    assert (fixed["pue"] == 1.3).all()


@pytest.mark.parametrize(
    "call, needle",
    [
        (
            lambda r: sensitivity.variance_indices(r, harmonics=0),
            "harmonics: expected a whole number from 1 to 50",
        ),
        (lambda r: sensitivity.variance_indices(r, resamples=10**9), "resamples"),
        (
            lambda r: sensitivity.top_inputs(
                sensitivity.tornado(r), sensitivity.variance_indices(r), n=-1
            ),
            "n: expected",
        ),
        (
            lambda r: tables.prior_band(points=10**9),
            "points: expected a whole number from 2 to 10,000",
        ),  # ran out of memory
        (lambda r: tables.prior_band(low=1e12, high=1e9), "0 < low < high"),
        (lambda r: simulate(draws=50).draws, "keep_draws=True"),
    ],
)
def test_notebook_helpers_refuse_absurd_arguments_in_one_line(result, call, needle):
    with pytest.raises(InputError, match=needle):
        call(result)

"""The deal's marginal value from paired draws: zero when nothing changes, positive when it is all a
lab has."""

from __future__ import annotations

import pytest

from analysis.errors import InputError
from analysis.studies import deal_value
from analysis.studies.deal_value import deal_marginal_value
from analysis.studies.whatif import what_if

DRAWS = 300


def test_a_deal_already_dropped_has_exactly_zero_value():
    base = what_if(
        "scenarios/next_frontier.yaml", draws=DRAWS, deal_scale={"meta-coreweave-2026": 0}
    )
    value = deal_marginal_value(base, targets_flop=(3e26,), draws=DRAWS)
    row = value.table.iloc[0]
    # Paired draws: with and without are the same race, so the difference is exactly zero, not
    # noise.
    assert row.months_gained_p10 == row.months_gained_p50 == row.months_gained_p90 == 0.0
    assert row.p_first_change_pp == 0.0 and not row.matters
    assert value.matters_from_flop is None
    assert "does not matter" in value.to_text()


def test_a_deal_that_is_the_labs_only_capacity_gains_months_and_more_so_for_bigger_targets():
    # Meta on the CoreWeave campus alone: dropping the 2026 deal leaves only the 2025 deal.
    base = what_if(
        "scenarios/next_frontier.yaml",
        draws=DRAWS,
        only_deals=[
            "meta-coreweave-2025",
            "meta-coreweave-2026",
            "deepseek-h800",
            "alibaba-capex-2025-h20",
        ],
    )
    value = deal_marginal_value(base, targets_flop=(1e26, 1e27), draws=DRAWS)
    small, big = value.table.iloc[0], value.table.iloc[1]
    assert (value.table["months_gained_p10"] >= 0).all()  # more capacity never finishes later
    # A run's accelerators are fixed at launch: a small target launches on the 2025 deal alone,
    # a big one often needs the 2026 deal's capacity before it can launch at all.
    assert big.p_first_change_pp > small.p_first_change_pp >= 0
    assert big.p_done_with > big.p_done_without
    assert big.months_gained_p90 > small.months_gained_p90 >= 0
    assert big.matters and value.matters_from_flop is not None
    assert value.matters_from_flop <= 1e27
    assert value.table["p_first_change_pp_low"].le(value.table["p_first_change_pp"]).all()


def test_unknown_lab_and_bad_targets_are_input_errors():
    with pytest.raises(InputError, match="targets_flop"):
        deal_marginal_value(targets_flop=(0.0,), draws=10)
    with pytest.raises(InputError, match="lab: 'xAI'"):
        deal_marginal_value(targets_flop=(1e26,), draws=10, lab="xAI")


@pytest.mark.parametrize(
    "targets, needle",
    [
        ("1e26", "got '1e26'"),  # a string was read as the targets '1', 'e', '2', '6' (ValueError)
        ((3.0,), "got [3.0]"),  # a target typed in units of 1e26
        ((1e26,) * 101, "got 101 values"),  # two simulations each
        ((), "got []"),
    ],
)
def test_targets_must_be_a_short_list_of_plausible_flop(targets, needle):
    with pytest.raises(
        InputError, match="targets_flop: expected a list of 1 to 100 FLOP values"
    ) as err:
        deal_marginal_value(targets_flop=targets, draws=10)
    assert needle in str(err.value)


def test_make_run_summary_has_the_race_and_three_views_of_the_deal():
    text = deal_value.frontier_report(draws=50)
    assert "Race 'next-frontier'" in text and "common target 1e+27 FLOP" in text
    assert text.count("Marginal value of meta-coreweave-2026 to Meta") == 3
    assert "runs may span sites" in text and "coreweave-meta campus only" in text


def test_deal_effect_with_and_without():
    from analysis.studies.deal_value import deal_effect, deal_effect_metrics
    from analysis.views import tables

    cw = "meta-coreweave-2026"
    effect = deal_effect(what_if(draws=400, seed=1), cw, targets=(None, 1e27))
    table = effect.table
    assert set(table["target"]) == {"each lab's own model", "1e+27 FLOP for every lab"}
    assert set(table["variant"]) == {f"with {cw}", f"without {cw}"}
    campus = table[
        table["case"].str.contains("campus") & (table["target"] != "each lab's own model")
    ]
    with_, without = (campus[campus["variant"] == f"{v} {cw}"].iloc[0] for v in ("with", "without"))
    assert with_["p_within_horizon"] >= without["p_within_horizon"]  # more capacity never hurts
    metrics = deal_effect_metrics(effect, cw, "Meta")
    assert metrics["deal_adds_p_done_campus_only_1e27_meta"] >= 0
    curves = tables.deal_effect_curves(effect)
    assert set(curves["case"]) == set(table["case"])
    assert len(effect.results) == len(table.groupby(["target", "case", "variant"]))

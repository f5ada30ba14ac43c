"""analysis.views.explorer: the live explorer's settings, runs and widgets, headless."""

from __future__ import annotations

import matplotlib
import numpy as np
import pytest

from analysis.errors import InputError
from analysis.studies.whatif import what_if
from analysis.views import explorer

matplotlib.use("Agg")
DRAWS = 2000


@pytest.fixture(scope="module")
def base():
    return what_if("scenarios/default.yaml", draws=DRAWS, seed=7)


@pytest.fixture(scope="module")
def live():
    return explorer.Explorer("scenarios/default.yaml", draws=DRAWS, seed=7, backend="numpy")


def test_default_settings_keep_the_scenario(base):
    settings = explorer.default_settings(base)
    assert settings.lab in explorer.labs_and_deals(base)
    chosen = explorer.variant(base, settings)
    assert chosen.changes == base.changes
    assert chosen.scenario == base.scenario


@pytest.mark.parametrize(
    "change, needle",
    [
        ({"lab": "OpenAI"}, "lab: 'OpenAI' is not in the race"),
        ({"deal": "deepseek-h800"}, "is not a deal of Meta"),
        ({"share": 1.5}, "share:"),
        ({"deal": "meta-coreweave-2026", "grid_delay_months": 6.0}, "has no power cap"),
        ({"deal_scale": -1.0}, "deal_scale"),
    ],
)
def test_bad_settings_name_the_control(base, change, needle):
    settings = explorer.Settings(**{"lab": "Meta", "deal": "meta-prometheus", **change})
    with pytest.raises(InputError, match=needle):
        explorer.variant(base, settings)


def test_every_control_is_a_listed_change(base):
    settings = explorer.Settings(
        lab="Meta",
        deal="meta-prometheus",
        deal_scale=2.0,
        delivery_delay_months=3.0,
        grid_delay_months=12.0,
        share=0.5,
        target_flop=1e27,
    )
    chosen = explorer.variant(base, settings)
    text = " | ".join(chosen.changes)
    for needle in (
        "meta-prometheus: accelerators x 2",
        "meta-prometheus: delivery delay",
        "grid connection delay triangular(low=6, mode=12, high=18)",
        "Meta: its run gets 50% of a campus",
        "common compute target 1e+27",
    ):
        assert needle in text, text
    meta = next(c for c in chosen.scenario.competitors if c.lab == "Meta")
    assert meta.share.value == 0.5
    assert chosen.scenario.deal_overrides["meta-prometheus"].power_delay_months.mode == 12.0


def test_a_smaller_share_slows_the_lab_and_a_later_grid_never_speeds_it(base):
    # A run's count is fixed at launch: a smaller share delays a run that aims at a target (it
    # waits for a campus whose share plans enough compute), not one that trains for its budget.
    ref = explorer.run(
        base,
        explorer.Settings(lab="Meta", deal="meta-prometheus", target_flop=3e26),
        backend="numpy",
    )
    small = explorer.run(
        base,
        explorer.Settings(lab="Meta", deal="meta-prometheus", share=0.02, target_flop=3e26),
        backend="numpy",
    )
    assert small.p_first["Meta"] < ref.p_first["Meta"]
    slow = small.months_p50["Meta"]
    assert np.isnan(slow) or slow > ref.months_p50["Meta"]  # NaN: not trained within the horizon
    late = explorer.run(
        base,
        explorer.Settings(
            lab="Meta", deal="meta-prometheus", grid_delay_months=30.0, target_flop=3e26
        ),
        backend="numpy",
    )
    early = explorer.run(
        base,
        explorer.Settings(lab="Meta", deal="meta-prometheus", target_flop=3e26),
        backend="numpy",
    )
    assert late.months_p50["Meta"] >= early.months_p50["Meta"]
    again = explorer.run(
        base,
        explorer.Settings(lab="Meta", deal="meta-prometheus", share=0.02, target_flop=3e26),
        backend="numpy",
    )
    assert again.p_first == small.p_first, "same settings and seed, same numbers"


def test_curves_end_at_p_within_horizon(base):
    outcome = explorer.run(
        base, explorer.Settings(lab="Meta", deal="meta-prometheus"), backend="numpy"
    )
    last = outcome.curves.groupby("lab").tail(1).set_index("lab")["p_done"]
    within = outcome.race.set_index("lab")["p_within_horizon"]
    for lab, p in last.items():
        assert p == pytest.approx(within[lab])


def test_widgets_update_once_per_change_and_redraw(live):
    # Aiming at a target, a run's share decides when it can launch, so the bars move.
    live.set(target_flop=3e26)
    runs = len(live.timings)
    before = live.outcome
    bars = [bar.get_width() for bar in live.figure.bars]
    png = live.image.value
    after = live.set(lab="Meta", share=0.02)
    assert len(live.timings) == runs + 1, "one programmatic change, one update"
    assert live.outcome is after and after.settings.share == 0.02
    assert after.p_first["Meta"] < before.p_first["Meta"]
    assert [bar.get_width() for bar in live.figure.bars] != bars, "the figure was not redrawn"
    assert live.image.value == live.figure.png() and live.image.value != png, (
        "the shown image was not replaced"
    )
    assert "2% of a campus" in live.figure.title.get_text()
    live.controls["share"].value = 0.0  # as a user's slider change
    assert len(live.timings) == runs + 2
    assert live.outcome.p_first == before.p_first
    live.set(target_flop=0.0)


def test_changing_the_lab_offers_its_deals(live):
    live.controls["lab"].value = "DeepSeek"
    assert list(live.controls["deal"].options) == explorer.labs_and_deals(live.base)["DeepSeek"]
    assert live.outcome.settings.lab == "DeepSeek"
    live.set(lab="Meta")


def test_grid_delay_is_only_offered_for_capped_campuses(live):
    live.set(deal="meta-coreweave-2026")
    assert live.controls["grid_delay_months"].disabled
    live.set(deal="meta-prometheus")
    assert not live.controls["grid_delay_months"].disabled


def test_a_run_that_cannot_be_made_shows_its_message_and_keeps_the_last_result(live, monkeypatch):
    kept, runs = live.outcome, len(live.timings)
    with pytest.raises(InputError, match="unknown control 'colour'"):
        live.set(colour="red")

    def refuse(*args, **kwargs):
        raise InputError("share: not today")

    monkeypatch.setattr(explorer, "run", refuse)
    assert live.set(share=0.5) is kept
    assert live.outcome is kept and len(live.timings) == runs
    assert "cannot run:" in live.status.value and "share: not today" in live.status.value
    monkeypatch.undo()
    live.set(share=0.0)
    assert "updated in" in live.status.value


@pytest.mark.parametrize(
    "change, needle",
    [
        (dict(share=5.0), "explorer: share: expected one of 0.0, 0.02"),  # a slider clamped it
        (dict(deal_scale=5.0), "explorer: deal_scale: expected a number from 0 to 3, got 5.0"),
        (dict(deal_scale=True), "explorer: deal_scale: expected a number"),
        (dict(lab="Nope"), "explorer: lab: expected one of Meta"),  # a widget TraitError before
        (dict(deal="deepseek-ascend"), "explorer: deal: expected one of meta-"),
        (dict(target_flop=3.0), "explorer: target_flop: expected one of 0.0, 1e+25"),
    ],
)
def test_set_refuses_what_a_control_cannot_show(live, change, needle):
    before = live.settings()
    with pytest.raises(InputError) as err:
        live.set(**change)
    assert needle in str(err.value)
    assert live.settings() == before


# ---- a new lab or deal gets its own controls, never the previous one's ------------------------


def _deal_changes(changes) -> list[str]:
    """The changes a lab's or a deal's controls make (the common target is the race's own)."""
    return [c for c in changes if "common compute target" not in c]


def test_the_explorer_opens_on_a_question_that_shows_a_change(live, base):
    fresh = explorer.Explorer("scenarios/default.yaml", draws=DRAWS, seed=7, backend="numpy")
    opening = fresh.outcome
    assert opening.settings == explorer.Settings(**explorer.OPENING)
    assert any("common compute target 1e+26" in c for c in opening.changes), opening.changes
    moved = abs(opening.p_first["Meta"] - fresh.baseline.p_first["Meta"])
    assert moved >= 0.01, f"the opening question moves P(Meta first) by {moved:.2%} only"
    labels = [t.get_text() for t in fresh.figure.bar_labels]
    assert all(" pp)" in t for t in labels), labels  # the change against the scenario, shown
    assert "1e+26" in fresh.figure.title.get_text()
    assert "1e+26" in fresh.changes.value


@pytest.mark.parametrize("lab", list(explorer.DEFAULT_DEALS))
def test_each_lab_opens_on_the_deal_whose_size_moves_the_race_most(base, lab):
    deal = explorer.default_deal(base, lab)
    assert deal == explorer.DEFAULT_DEALS[lab]
    target = explorer.OPENING["target_flop"]
    runs = [
        explorer.run(
            base,
            explorer.Settings(lab=lab, deal=deal, deal_scale=f, target_flop=target),
            backend="numpy",
        )
        for f in (0.0, 3.0)
    ]
    swing = max(abs(runs[1].p_first[x] - runs[0].p_first[x]) for x in runs[0].p_first)
    if lab == "Meta":  # several large campuses: no one deal decides where Meta's run launches
        assert swing < 0.02, f"{deal}: 0x to 3x moves P(first) by {swing:.2%}"
    else:
        assert swing >= 0.01, f"{deal}: 0x to 3x moves P(first) by {swing:.2%} only"


def test_a_new_lab_gets_its_own_controls_not_the_old_values():
    """Drop CoreWeave, then pick DeepSeek: the explorer ran "deepseek-ascend: dropped"."""
    live = explorer.Explorer("scenarios/default.yaml", draws=DRAWS, seed=7, backend="numpy")
    live.controls["deal_scale"].value = 0.0  # as a user drags the slider
    live.controls["share"].value = 0.5
    assert any("dropped" in c for c in live.outcome.changes)
    live.controls["lab"].value = "DeepSeek"  # as a user picks from the dropdown
    after = live.outcome
    assert after.settings.lab == "DeepSeek"
    assert after.settings.deal == explorer.DEFAULT_DEALS["DeepSeek"]
    assert after.settings.deal_scale == 1.0 and after.settings.share == 0.0
    # The seed, and the common target (a control of the whole race, kept across labs and deals).
    assert _deal_changes(after.changes) == _deal_changes(live.base.changes), after.changes
    assert live.controls["deal_scale"].value == 1.0
    assert list(live.controls["deal"].options) == explorer.labs_and_deals(live.base)["DeepSeek"]
    share_labels = [label for label, _ in live.controls["share"].options]
    assert share_labels[0] == "as in the scenario (20% to 60%)", share_labels  # DeepSeek's


def test_a_new_deal_gets_its_own_delays_not_the_old_values():
    live = explorer.Explorer("scenarios/default.yaml", draws=DRAWS, seed=7, backend="numpy")
    live.set(deal_scale=1.0)
    live.controls["delivery_delay_months"].value = 20.0
    assert any("delivery delay" in c for c in live.outcome.changes)
    live.controls["deal"].value = "meta-prometheus"
    settings = live.outcome.settings
    assert settings.deal == "meta-prometheus"
    assert settings.delivery_delay_months is None and settings.grid_delay_months is None
    assert settings.deal_scale == 1.0
    assert _deal_changes(live.outcome.changes) == _deal_changes(live.base.changes)
    data = explorer.data_delays(live.base, "meta-prometheus")
    assert live.controls["delivery_delay_months"].value == round(data["delivery_delay_months"])
    assert live.controls["grid_delay_months"].value == round(data["grid_delay_months"])
    assert not live.controls["grid_delay_months"].disabled
    live.set(deal="meta-coreweave-2026")  # from code: the same reload
    assert live.controls["grid_delay_months"].disabled
    assert _deal_changes(live.outcome.changes) == _deal_changes(live.base.changes)


def test_an_explicit_zero_delay_is_a_change(base):
    deal = "meta-prometheus"
    assert explorer.data_delays(base, deal)["delivery_delay_months"] > 0
    chosen = explorer.variant(
        base, explorer.Settings(lab="Meta", deal=deal, delivery_delay_months=0.0)
    )
    assert any(c.startswith(f"{deal}: delivery delay") for c in chosen.changes), chosen.changes
    kept = explorer.variant(base, explorer.Settings(lab="Meta", deal=deal))
    assert kept.changes == base.changes


def test_controls_are_labelled_in_plain_words_with_units_and_wrap_to_fit(live):
    """No "deal size (x signed)", "0 = data" or "0 = range"; a unit on every slider; controls in
    a grid that wraps (two columns at 1280 px, one below) with no fixed pixel widths."""
    for name, control in live.controls.items():
        text = control.description
        assert "0 =" not in text and "x signed" not in text, text
        if name not in ("lab", "deal", "share", "target_flop"):
            assert "(" in text and ")" in text, f"{name}: {text!r} names no unit"
        assert str(control.layout.width).endswith("%"), (name, control.layout.width)
    grid = live.widget.children[0]
    assert "auto-fill" in grid.layout.grid_template_columns
    assert "px" not in grid.layout.grid_template_columns
    assert [label for label, _ in live.controls["target_flop"].options][0] == "each lab's own model"

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
        (
            dict(share=5.0),
            "explorer: share: expected a number from 0 to 1, got 5.0",
        ),  # the slider clamped it to 1
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

"""analysis.studies.whatif.what_if: notebook parameters become validated scenario variants."""

from __future__ import annotations

import os

import numpy as np
import pytest

from analysis import InputError, load_catalog
from analysis.inputs.specs import Fixed, Triangular
from analysis.studies.whatif import DELAY_BAND, catalog_with_pue, what_if

CW = "meta-coreweave-2026"


def test_defaults_change_nothing():
    wi = what_if()
    assert wi.changes == ()
    assert wi.scenario.deal_overrides == {}
    assert wi.catalog is load_catalog()
    assert list(wi.changes_table["change"]) == ["none: the scenario and data as written"]


def test_scenario_path_is_relative_to_the_project_root(tmp_path):
    cwd = os.getcwd()
    try:
        os.chdir(tmp_path)
        assert what_if("scenarios/default.yaml").scenario.name == "default"
    finally:
        os.chdir(cwd)
    with pytest.raises(InputError, match="not found"):
        what_if("scenarios/nope.yaml")


def test_zero_means_keep_for_target_pue_mfu_and_delay():
    wi = what_if(
        target_flop=0.0,
        pue=0.0,
        mfu=0.0,
        deal_delay_months={CW: 0.0},
        deal_scale={CW: 1.0},
        power_cap_scale=1.0,
    )
    assert wi.changes == ()
    assert wi.scenario.target_flop is None


def test_deal_scale_and_delay_become_overrides():
    wi = what_if(deal_scale={CW: 0.5}, deal_delay_months={CW: 6.0})
    override = wi.scenario.deal_overrides[CW]
    assert override.scale == 0.5
    assert override.delay_months == Triangular(
        low=6.0 * DELAY_BAND[0], mode=6.0, high=6.0 * DELAY_BAND[1]
    )
    assert len(wi.changes) == 2
    # Chained variants multiply scales and keep earlier changes.
    again = wi.with_changes(deal_scale={CW: 0.0})
    assert again.scenario.deal_overrides[CW].scale == 0.0
    assert again.scenario.deal_overrides[CW].delay_months == override.delay_months
    assert len(again.changes) == 3


def test_power_cap_scale_reaches_every_capped_deal_in_the_race():
    catalog = load_catalog()
    wi = what_if(power_cap_scale=0.5)
    capped = {
        d
        for c in wi.scenario.competitors
        for d in c.deals
        if catalog.deals[d].power_cap_mw is not None
    }
    assert capped and set(wi.scenario.deal_overrides) == capped
    assert all(o.power_cap_scale == 0.5 for o in wi.scenario.deal_overrides.values())
    assert (
        what_if(wi, power_cap_scale=0.5).scenario.deal_overrides["meta-prometheus"].power_cap_scale
        == 0.25
    )


def test_absolute_pue_copies_the_catalog_and_fixes_the_delta():
    catalog = load_catalog()
    wi = what_if(pue=1.4)
    assert all(d.pue == 1.4 for d in wi.catalog.deals.values())
    assert all(s.pue == 1.4 for s in wi.catalog.sites.values())
    assert wi.scenario.uncertainty.pue_delta == Fixed(value=0.0)
    assert wi.catalog.data_hash.endswith("+pue=1.4")
    assert catalog.deals["meta-prometheus"].pue == 1.09  # the shipped catalog is untouched
    with pytest.raises(InputError, match="pue"):
        what_if(pue=0.7)
    with pytest.raises(InputError, match="pue"):
        catalog_with_pue(catalog, 4.0)


def test_fixed_mfu_applies_to_every_competitor():
    wi = what_if(mfu=0.35)
    assert wi.scenario.uncertainty.mfu == Fixed(value=0.35)
    assert all(c.mfu is None for c in wi.scenario.competitors)
    result = wi.with_changes(draws=200).simulate(keep_draws=True)
    assert result.draws["mfu"].to_numpy() == pytest.approx(0.35)


def test_only_kind_and_only_deals_drop_competitors_without_such_deals():
    reserved = what_if(only_kind="reserved")
    assert [c.lab for c in reserved.scenario.competitors] == ["Meta"]
    assert all(
        load_catalog().deals[d].kind == "reserved" for d in reserved.scenario.competitors[0].deals
    )
    campus = what_if(only_deals=["meta-coreweave-2025", CW])
    assert [c.deals for c in campus.scenario.competitors] == [["meta-coreweave-2025", CW]]
    with pytest.raises(InputError, match="only_kind"):
        what_if(only_kind="leased")


@pytest.mark.parametrize(
    "kwargs, needle",
    [
        ({"deal_scale": {"meta-corewave-2026": 1.0}}, "did you mean meta-coreweave-2026"),
        (
            {"deal_scale": {"meta-google-tpu-2026": 2.0}},
            "not used by any competitor",
        ),  # a context deal
        ({"deal_scale": {CW: -1.0}}, "deal_scale"),
        ({"draws": 0}, "draws"),
        ({"seed": -1}, "seed"),
        ({"mfu": 1.5}, "mfu"),
        ({"target_flop": -1e26}, "target_flop"),
        # bool('no') is True: a string ran the race with span_sites on
        ({"span_sites": "no"}, "span_sites: expected True or False"),
        # the band's top overflowed to infinity: a raw pydantic ValidationError
        ({"deal_delay_months": {CW: 1.3e308}}, r"deal_delay_months\['meta-coreweave-2026'\]"),
        ({"deal_delay_months": {CW: {"dist": "fixed", "value": 1e4}}}, "delay_months"),
        ({"only_deals": CW}, "only_deals: expected a list"),
        ({"mfu": True}, "mfu"),
    ],
)
def test_bad_values_raise_input_errors_naming_them(kwargs, needle):
    with pytest.raises(InputError, match=needle):
        what_if(**kwargs)


def test_numpy_numbers_are_numbers():
    """what_if refused np.float32(1e27), the type a NumPy grid hands a notebook."""
    variant = what_if(
        target_flop=np.float32(1e27), deal_scale={CW: np.float64(2)}, draws=np.int64(100)
    )
    assert variant.scenario.target_flop == pytest.approx(1e27, rel=1e-6)
    assert variant.scenario.draws == 100
    assert variant.scenario.deal_overrides[CW].scale == 2.0
    assert what_if(span_sites=np.bool_(True)).scenario.span_sites is True


def test_only_deals_drops_the_overrides_of_deals_it_leaves_out():
    """An override of a deal no competitor holds is refused at load; a variant that drops the deal
    takes its override with it."""
    variant = what_if(deal_scale={CW: 2.0}, only_deals=["meta-coreweave-2025"])
    assert CW not in variant.scenario.deal_overrides


def test_common_random_numbers_across_variants():
    """Dropping a deal that cannot matter leaves every other lab's draws identical."""
    base = what_if(draws=300, seed=5).simulate(keep_draws=True).draws
    without = what_if(draws=300, seed=5, deal_scale={CW: 0.0}).simulate(keep_draws=True).draws
    for lab in ("DeepSeek", "Alibaba"):
        a = base[base["lab"] == lab]["time_to_train_months"].to_numpy()
        b = without[without["lab"] == lab]["time_to_train_months"].to_numpy()
        assert (a == b).all() or ((a != a) == (b != b)).all()

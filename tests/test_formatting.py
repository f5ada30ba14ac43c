"""analysis.formatting: numbers as people read them, kinds read from names, headers with units."""

from __future__ import annotations

import math
import re

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from analysis import formatting as F

SUFFIX = {"": 1.0, "K": 1e3, "M": 1e6, "B": 1e9, "T": 1e12}


def _parse_money(text: str) -> float:
    match = re.fullmatch(r"(-?)\$([\d,]+(?:\.\d+)?)([KMBT]?)", text)
    assert match, f"not money: {text!r}"
    return (-1 if match[1] else 1) * float(match[2].replace(",", "")) * SUFFIX[match[3]]


@given(st.floats(0.0, 1.0))
def test_probability_is_a_percent_that_parses_back_within_rounding(p):
    text = F.probability(p)
    match = re.fullmatch(r"([<>]?)(\d{1,3}\.\d)%", text)
    assert match, text
    shown = float(match[2]) / 100
    if match[1] == "<":
        assert 0 < p < shown
    elif match[1] == ">":
        assert shown < p < 1
    else:
        assert abs(shown - p) <= 0.0005 + 1e-12
    # a near-certainty never reads as certainty, nor a rare event as impossible
    assert (text == "100.0%") == (p == 1.0) and (text == "0.0%") == (p == 0.0)


@given(st.floats(-1e13, 1e13).filter(lambda x: x == 0 or abs(x) >= 1e-6))
def test_money_keeps_three_significant_figures_and_a_suffix(usd):
    text = F.money(usd)
    back = _parse_money(text)
    assert "e" not in text
    tolerance = max(abs(usd) * 0.005, 0.005 + 1e-9)
    assert abs(back - usd) <= tolerance, (usd, text)


@given(st.floats(15, 300) | st.floats(-300, -6.01), st.booleans())
def test_money_beyond_a_thousand_trillion_or_below_a_millionth_is_scientific(log10, negative):
    usd = (-1 if negative else 1) * 10.0**log10
    text = F.money(usd)
    match = re.fullmatch(r"(-?)\$(\d\.\d\de-?\d+)", text)
    assert match, (usd, text)
    assert math.isclose((-1 if match[1] else 1) * float(match[2]), usd, rel_tol=0.006), (usd, text)


@given(st.floats(0, 1e12))
def test_count_is_an_integer_with_thousands_separators(n):
    text = F.count(n)
    assert re.fullmatch(r"\d{1,3}(,\d{3})*", text), text
    assert abs(int(text.replace(",", "")) - n) <= 0.5


@given(st.floats(-1e4, 1e4))
def test_months_have_one_decimal_and_no_float_noise(m):
    text = F.months(m)
    assert re.fullmatch(r"-?\d+\.\d", text), text
    assert abs(float(text) - m) <= 0.05 + 1e-9
    assert text != "-0.0"


@given(st.floats(1e-30, 1e40) | st.floats(-1e40, -1e-30))
def test_quantity_never_prints_more_than_a_few_digits(x):
    text = F.quantity(x)
    digits = re.sub(r"e-?\d+$", "", text)
    assert len(re.sub(r"\D", "", digits)) <= 6, (
        text
    )  # 3 significant figures, at most 999,999 in full


@pytest.mark.parametrize("value", [None, float("nan"), float("inf"), np.nan, "n/a"])
def test_missing_values_render_as_a_dash(value):
    for name in ("p_first", "cost_usd", "gpu_hours", "time_to_train_p50_months", "training_flop"):
        text = F.format_value(value, name)
        assert text == ("n/a" if isinstance(value, str) else F.MISSING)


def test_issue_examples_read_as_people_expect():
    assert F.format_value(1.0, "p_within_horizon_meta") == "100.0%"
    assert F.format_value(2.586734e07, "cost_p50_usd") == "$25.9M"
    assert F.format_value(325717.546623, "total_accelerators") == "325,718"
    assert F.format_value(2.384186e-07, "time_to_train_p10_months_meta") == "0.0"
    assert F.format_value(3.2e26, "training_flop") == "3.2e26"
    assert F.format_value(0.12, "deal_adds_p_done_campus_only_1e27_meta") == "+12.0 pp"
    assert F.format_value(-1.25, "lead_months") == "-1.2"  # round half even on a binary float
    assert F.format_value(2024, "year") == "2024"
    # metrics ending in _pp are already in points: the deal's +11.7 points once read "1174.5%"
    for name in (
        "p_first_change_pp",
        "p_first_change_pp_low",
        "deal_campus_only_1e27_p_first_change_pp",
        "deal_p_first_change_pp_max_abs",
    ):
        assert F.format_value(11.745, name) == "+11.7 pp", name
        assert F.with_unit(-0.04, name) == "0.0 pp", name
        assert F.label(name).endswith("(pp)") and "%" not in F.label(name), name
    assert F.label("p_first_change_pp") == "P(first) change (pp)"
    assert F.with_unit(1234.5, "energy_mwh") == "1,234 MWh"
    assert F.with_unit(2.5, "usd_per_pflop") == "$2.50 per PFLOP"


@pytest.mark.parametrize(
    "name, unit",
    [
        ("cost_p50_usd", "($)"),
        ("energy_mwh", "(MWh)"),
        ("peak_power_mw", "(MW)"),
        ("emissions_tco2e", "(tCO2e)"),
        ("p_first", "(%)"),
        ("time_to_train_p50_months_meta", "(months)"),
        ("tdp_w", "(W)"),
        ("peak_bf16_flop_per_s", "(FLOP/s)"),
        ("rate_usd_per_gpu_hour", "($ per accelerator-hour)"),
        ("training_flop", "(FLOP)"),
        ("error_p50_months", "(months)"),
        ("naive_error_months", "(months)"),
        ("rel_error", "(%)"),
    ],
)
def test_headers_name_their_unit(name, unit):
    assert F.label(name).endswith(unit)


def test_an_error_in_months_is_months_and_a_boolean_is_yes_or_no():
    # the hindcast's table once showed a 0.63-month error as "62.8%"
    assert F.format_value(0.628, "error_p50_months") == "0.6"
    assert F.format_value(0.12, "mdape") == "12.0%"
    assert [F.format_value(v, "covered") for v in (True, np.False_)] == ["yes", "no"]


def test_present_formats_each_column_by_its_kind_and_labels_units():
    frame = pd.DataFrame(
        {
            "lab": ["Meta", "DeepSeek"],
            "p_first": [0.93, 0.0512],
            "cost_p50_usd": [2.5e7, 1.2e9],
            "energy_mwh": [12345.6, np.nan],
        }
    ).set_index("lab")
    html = F.present(frame).to_html()
    for text in (
        "93.0%",
        "5.1%",
        "$25.0M",
        "$1.20B",
        "12,346",
        "P(first) (%)",
        "cost p50 ($)",
        "energy (MWh)",
    ):
        assert text in html, text
    assert "2.5e+07" not in html and "0.930000" not in html


def test_present_formats_quantile_tables_row_by_row():
    frame = pd.DataFrame(
        {"p10": [1e6, 10.0], "p50": [2e6, 20.0], "p90": [3e6, 30.0]},
        index=pd.Index(["cost_rent_usd", "energy_mwh"], name="quantity"),
    )
    html = F.present(frame).to_html()
    assert "$2.00M" in html and "cost rent ($)" in html and "energy (MWh)" in html
    assert "$20.00" not in html  # the MWh row is not money


def test_each_kind_has_one_unit():
    # kinds read from the project's metric names never mix units within a kind
    names = ["cost_p10_usd_meta", "cost_p50_usd_deepseek", "committed_usd"]
    assert {F.kind_of(n).unit for n in names} == {"$"}
    assert math.isclose(_parse_money(F.money(14.2e9)), 14.2e9)

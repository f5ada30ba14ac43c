"""The hindcast (`analysis.studies.hindcast`, `python -m analysis hindcast`), the break-even
efficiency (`analysis.studies.breakeven`) and the scenario keys they rest on: declared deals and
models, `as_of`, per-competitor targets."""

from __future__ import annotations

import json

import numpy as np
import pytest
from conftest import assert_one_line_error, run_cli

from analysis.errors import InputError
from analysis.inputs.scenario import load_scenario
from analysis.inputs.specs import FlagshipRelease
from analysis.paths import SCENARIOS_DIR
from analysis.studies import breakeven, hindcast

DRAWS = 2000


@pytest.fixture(scope="module")
def result():
    return hindcast.hindcast(draws=DRAWS, seed=3)


def test_json_contract_names_every_run(result):
    out = result.to_dict()
    assert {"runs", "order_correct_p50", "coverage"} <= set(out)
    assert isinstance(out["order_correct_p50"], bool) and 0 <= out["coverage"] <= 1
    assert {r["as_of"] for r in out["runs"]} == {"2024-01", "2024-06"}
    for run in out["runs"]:
        for key in (
            "lab",
            "model",
            "as_of",
            "release_month",
            "actual_release_month",
            "covered",
            "run_length_months",
        ):
            assert key in run, key
        assert set(run["release_month"]) == {"p10", "p50", "p90"}
        assert set(run["run_length_months"]) == {"p10", "p50", "p90"}
        assert len(run["actual_release_month"]) == 7 and run["actual_release_month"][4] == "-"
        assert isinstance(run["covered"], bool)
    json.dumps(out, allow_nan=False)


def test_covered_means_the_actual_month_lies_between_p10_and_p90(result):
    for run in result.runs:
        q, actual = run["release_month"], run["actual_release_month"]
        inside = q["p10"] <= actual and (q["p90"].startswith(">") or actual <= q["p90"])
        # Month labels compare as text (YYYY-MM); the test is at day resolution, so a run whose
        # actual month equals P10's or P90's may go either way.
        if actual not in (q["p10"], q["p90"]):
            assert run["covered"] == inside, run


def test_the_race_order_is_history_when_the_p50s_sort_as_the_releases(result):
    for race in result.races:
        runs = [r for r in result.runs if r["as_of"] == race["as_of"]]
        assert sorted(race["order_actual"]) == sorted(r["lab"] for r in runs)
        assert race["order_correct_p50"] == (race["order_p50"] == race["order_actual"])
    assert result.order_correct_p50 == all(race["order_correct_p50"] for race in result.races)


def test_naive_baseline_is_the_last_release_plus_the_last_interval():
    def release(id_, lab, day):
        return FlagshipRelease(id=id_, lab=lab, model=id_, released=day, record=True, source="t")

    releases = {
        r.id: r
        for r in (
            release("a1", "A", "2023-01-01"),
            release("a2", "A", "2023-05-01"),
            release("b1", "B", "2023-04-01"),
            release("c1", "C", "2023-03-01"),
            release("c2", "C", "2023-04-01"),
        )
    }
    from analysis.inputs.specs import month_index

    # A: 2023-05 + 4 months = 2023-09; B has one release: the median interval of A and C (2.5).
    assert hindcast.naive_release(releases, "A", "2023-05") == month_index("2023-09")
    assert hindcast.naive_release(releases, "B", "2023-05") == pytest.approx(
        month_index("2023-04") + 2.5
    )
    # Never earlier than the end of the as-of month: C's 2023-05 is already past in 2023-08.
    assert hindcast.naive_release(releases, "C", "2023-08") == month_index("2023-09")
    with pytest.raises(InputError, match="no record release of 'D'"):
        hindcast.naive_release(releases, "D", "2023-06")


def test_a_race_without_as_of_or_an_unknown_release_is_refused():
    import yaml

    raw = yaml.safe_load((SCENARIOS_DIR / "hindcast_2024_01.yaml").read_text())
    no_date = {k: v for k, v in raw.items() if k != "as_of"}
    with pytest.raises(InputError, match="needs as_of"):
        hindcast.hindcast([no_date], draws=100)
    other = dict(raw)
    other["models"] = [
        dict(m, id="mystery-70b") if m["id"] == "llama-3-70b" else m for m in raw["models"]
    ]
    other["competitors"] = [
        dict(c, model="mystery-70b") if c["model"] == "llama-3-70b" else c
        for c in raw["competitors"]
    ]
    with pytest.raises(InputError, match="'mystery-70b' has no row"):
        hindcast.hindcast([other], draws=100)


def test_a_declared_id_that_data_already_holds_is_refused():
    import yaml

    raw = yaml.safe_load((SCENARIOS_DIR / "hindcast_2024_01.yaml").read_text())
    raw["deals"][0] = dict(raw["deals"][0], id="meta-prometheus")
    with pytest.raises(InputError, match=r"deals\[0\]\.id: 'meta-prometheus' is already in data/"):
        load_scenario(raw)


def test_hindcast_cli_table_json_and_bad_draws():
    proc = run_cli("hindcast", "--draws", "500", "--format", "json")
    assert proc.returncode == 0, proc.stderr[-2000:]
    out = json.loads(proc.stdout)
    assert len(out["runs"]) == 6 and "order_correct_p50" in out
    table = run_cli("hindcast", "--draws", "500")
    assert table.returncode == 0 and "naive" in table.stdout and "2024-06" in table.stdout
    assert_one_line_error(run_cli("hindcast", "--draws", "0"), "--draws")


def test_break_even_efficiency_is_monotone_and_interpolated():
    b = breakeven.break_even_efficiency(lab="Alibaba", draws=1500, grid=(1, 3, 10, 30, 100))
    for column in ("p_before_with_deal", "p_before_without_deal"):
        p = b.table[column].to_numpy()
        assert np.all(np.diff(p) >= -1e-12), "more efficiency never makes a lab later"
    assert b.table["p_before_with_deal"].iloc[0] < 0.5
    if b.with_deal is not None:  # the crossing lies between the grid points around 50%
        p = b.table["p_before_with_deal"].to_numpy()
        j = int(np.nonzero(p >= 0.5)[0][0])
        assert b.table["efficiency"].iloc[j - 1] <= b.with_deal <= b.table["efficiency"].iloc[j]


def test_break_even_tables_hold_every_lab_and_multiplier():
    results = [
        breakeven.break_even_efficiency(lab=lab, draws=300, grid=(1, 10, 100))
        for lab in ("DeepSeek", "Alibaba")
    ]
    curves = breakeven.curves_table(results)
    assert list(curves.index) == [1.0, 10.0, 100.0]
    for b in results:
        assert (
            curves[("p_before_with_deal", b.lab)].to_numpy()
            == b.table["p_before_with_deal"].to_numpy()
        ).all()
    summary = breakeven.summary_table(results)
    assert list(summary["lab"]) == ["DeepSeek", "Alibaba"]
    assert list(summary["break_even_with_deal"]) == [b.with_deal for b in results]


def test_crossing_interpolates_on_the_log_of_the_multiplier():
    grid = np.array([1.0, 10.0, 100.0])
    assert breakeven._crossing(grid, np.array([0.0, 0.4, 0.6])) == pytest.approx(10**1.5)
    assert breakeven._crossing(grid, np.array([0.6, 0.7, 0.8])) == 1.0
    assert breakeven._crossing(grid, np.array([0.1, 0.2, 0.3])) is None


@pytest.mark.parametrize(
    "kwargs, needle",
    [
        ({"lab": "xAI"}, "lab: 'xAI' is not a competitor"),
        ({"lab": "Meta", "rival": "Meta"}, "rival: must be another lab"),
        ({"target_effective_flop": 3.0}, "target_effective_flop"),
        ({"grid": (0.0, 2.0)}, "grid"),
        ({"deal": "meta-nothing"}, "deal: unknown deal"),
    ],
)
def test_break_even_refuses_bad_arguments(kwargs, needle):
    with pytest.raises(InputError, match=needle):
        breakeven.break_even_efficiency(draws=100, **kwargs)

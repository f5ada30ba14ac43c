"""Bad scenario files: exit 2 and one line naming the file and key path
(competitors[1].deals[0])."""

from __future__ import annotations

import copy

import pytest
import yaml
from conftest import DATA, assert_one_line_error, data_env, run_cli

from analysis.paths import SCENARIOS_DIR

DEFAULT = yaml.safe_load((SCENARIOS_DIR / "default.yaml").read_text())


def _write(tmp_path, doc, name="bad.yaml"):
    path = tmp_path / name
    path.write_text(doc if isinstance(doc, str) else yaml.safe_dump(doc, sort_keys=False))
    return str(path)


def _edit(change):
    doc = copy.deepcopy(DEFAULT)
    change(doc)
    return doc


CASES = {
    "unknown deal": (
        lambda d: d["competitors"][1]["deals"].__setitem__(0, "deepseek-h900"),
        ["competitors[1].deals[0]", "deepseek-h900", "did you mean"],
    ),
    "unknown model": (
        lambda d: d["competitors"][0].__setitem__("model", "muse-sparky"),
        ["competitors[0].model", "muse-sparky"],
    ),
    "unknown distribution": (
        lambda d: d["competitors"][0].__setitem__("share", {"dist": "beta", "a": 2}),
        ["competitors[0].share", "unknown distribution 'beta'", "lognormal"],
    ),
    "p10 above p90": (
        lambda d: d["competitors"][2].__setitem__(
            "share", {"dist": "lognormal", "p10": 0.5, "p90": 0.1}
        ),
        ["competitors[2].share", "p10 0.5 is above p90 0.1"],
    ),
    "negative count": (
        lambda d: d.__setitem__("draws", -5),
        ["draws", "greater than or equal to 1"],
    ),
    "negative deal scale": (
        lambda d: d.__setitem__("deal_overrides", {"meta-hyperion": {"scale": -1}}),
        ["deal_overrides.meta-hyperion.scale"],
    ),
    "share above one": (
        lambda d: d["competitors"][0].__setitem__("share", 1.5),
        ["competitors[0].share", "outside (0, 1]"],
    ),
    "share zero": (
        lambda d: d["competitors"][0].__setitem__(
            "share", {"dist": "uniform", "low": 0, "high": 0.3}
        ),
        ["competitors[0].share", "outside (0, 1]"],
    ),
    "horizon zero": (
        lambda d: d.__setitem__("horizon_months", 0),
        ["horizon_months", "greater than 0"],
    ),
    "bad start month": (lambda d: d.__setitem__("start", "2026-13"), ["start", "month 13"]),
    "unknown key": (
        lambda d: d.__setitem__("horizon", 12),
        ["horizon", "Extra inputs are not permitted"],
    ),
    "negative delay override": (
        lambda d: d.__setitem__(
            "deal_overrides",
            {"meta-hyperion": {"delay_months": {"dist": "uniform", "low": -2, "high": 3}}},
        ),
        ["deal_overrides.meta-hyperion.delay_months", "outside"],
    ),
    "unknown override deal": (
        lambda d: d.__setitem__("deal_overrides", {"meta-atlantis": {"scale": 2}}),
        ["deal_overrides.meta-atlantis", "unknown deal"],
    ),
    "missing competitors": (lambda d: d.pop("competitors"), ["competitors", "Field required"]),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_bad_scenario_exits_2_naming_file_and_key(tmp_path, case):
    change, needles = CASES[case]
    path = _write(tmp_path, _edit(change))
    assert_one_line_error(run_cli("simulate", path, "--draws", "100"), "bad.yaml", *needles)


def test_malformed_yaml(tmp_path):
    path = _write(tmp_path, "name: x\ncompetitors: [\n  - lab: Meta\n")
    assert_one_line_error(run_cli("simulate", path), "bad.yaml", "malformed YAML", "line")


def test_missing_scenario_file(tmp_path):
    assert_one_line_error(
        run_cli("simulate", str(tmp_path / "nope.yaml")), "nope.yaml", "not found"
    )


@pytest.mark.parametrize("path", ["/dev/zero", "/dev/stdin"])  # /dev/zero never ends
def test_a_scenario_that_is_a_device_or_a_folder_is_refused_at_once(tmp_path, path):
    assert_one_line_error(run_cli("simulate", path), "not a regular file (a device or pipe)")
    assert_one_line_error(run_cli("simulate", str(tmp_path)), "a folder, not a scenario file")


def test_an_absurdly_large_yaml_file_is_refused_before_it_is_read(tmp_path):
    from analysis.inputs.yamlio import MAX_YAML_BYTES

    path = tmp_path / "huge.yaml"
    with open(path, "wb") as handle:
        handle.truncate(MAX_YAML_BYTES + 1)
    assert_one_line_error(run_cli("simulate", str(path)), "huge.yaml", "at most 16 MiB")


def test_bad_draws_flag():
    assert_one_line_error(run_cli("simulate", "--draws", "ten"), "--draws", "'ten'")
    assert_one_line_error(run_cli("simulate", "--seed", "-1"), "--seed")


def test_deal_whose_term_ends_before_deliveries(data_copy):
    doc = yaml.safe_load((data_copy / "deals.yaml").read_text())
    doc["deals"][0]["term_months"] = 0.5
    doc["deals"][0]["tranches"][-1]["month"] = 3
    (data_copy / "deals.yaml").write_text(yaml.safe_dump(doc, sort_keys=False))
    assert_one_line_error(
        run_cli("simulate", "--draws", "10", env=data_env(data_copy)),
        "deals.yaml",
        "deals[0]",
        "term end",
    )


def test_negative_tranche_in_data(data_copy):
    doc = yaml.safe_load((data_copy / "deals.yaml").read_text())
    doc["deals"][1]["tranches"][0]["accelerators"] = -100
    (data_copy / "deals.yaml").write_text(yaml.safe_dump(doc, sort_keys=False))
    assert_one_line_error(
        run_cli("simulate", "--draws", "10", env=data_env(data_copy)),
        "deals[1]",
        "tranches[0].accelerators",
        "greater than 0",
    )


def _set_first_deal(data_copy, changes):
    doc = yaml.safe_load((data_copy / "deals.yaml").read_text())
    for path, value in changes:
        target = doc["deals"][0]
        for key in path[:-1]:
            target = target[key]
        target[path[-1]] = value
    (data_copy / "deals.yaml").write_text(yaml.safe_dump(doc, sort_keys=False))


@pytest.mark.parametrize(
    "changes, needles",
    [
        (
            [(("tranches", 0, "accelerators"), 2.7e300)],
            ["tranches[0].accelerators", "100000000"],
        ),  # ran, with overflows
        ([(("term_months",), 1e300)], ["term_months", "600"]),
        ([(("total_value_usd",), 1.42e20)], ["total_value_usd", "10000000000000"]),
        (
            [(("total_value_usd",), 9e12), (("tranches",), [{"month": 0, "accelerators": 1000}])],
            ["USD per accelerator-hour", "check the value's unit"],
        ),
    ],
)
def test_absurd_deal_figures_in_data_are_refused(data_copy, changes, needles):
    _set_first_deal(data_copy, changes)
    assert_one_line_error(
        run_cli("simulate", "--draws", "10", env=data_env(data_copy)), "deals[0]", *needles
    )


def test_a_data_table_that_is_not_text_or_not_plausible_is_one_line(data_copy):
    (data_copy / "sites.csv").write_bytes(
        bytes(range(128, 256)) * 8
    )  # was an internal error with a traceback
    assert_one_line_error(
        run_cli("simulate", "--draws", "10", env=data_env(data_copy)),
        "sites.csv",
        "not a readable UTF-8 CSV table",
    )
    models = (data_copy / "models.csv").read_text()
    (data_copy / "sites.csv").write_text((DATA / "sites.csv").read_text())
    (data_copy / "models.csv").write_text(
        models.replace(",4e10,3e11,", ",4,3e11,", 1)
    )  # 4 active params: a size typed in billions
    assert_one_line_error(
        run_cli("simulate", "--draws", "10", env=data_env(data_copy)),
        "models.csv line 2",
        "active_params_p10",
        "greater than or equal to 1000000",
    )
    (data_copy / "models.csv").write_text(models)
    sites = (DATA / "sites.csv").read_text().splitlines()
    header, first = sites[0].split(","), sites[1].split(",")
    first[header.index("electricity_usd_per_mwh")] = "80000"  # USD per MWh typed as per GWh
    (data_copy / "sites.csv").write_text("\n".join([sites[0], ",".join(first), *sites[2:]]) + "\n")
    assert_one_line_error(
        run_cli("simulate", "--draws", "10", env=data_env(data_copy)),
        "sites.csv",
        "electricity_usd_per_mwh",
        "2000",
    )


# ---- physically impossible or careless values: refused, never a silently absurd result ----------
# In-process calls of the CLI's main() (the subprocess cases above cover the real entry point).

from inprocess import assert_one_line, call_main  # noqa: E402

ABSURD = {
    "competitor launches before the scenario": (
        lambda d: d["competitors"][1]["launch"].__setitem__("after", "2025-06"),
        [
            "competitors[1].launch",
            "as early as 2025-06",
            "before the scenario start 2026-12",
            "hindsight",
        ],
    ),
    "wall-clock budget beyond 36 months": (
        lambda d: d["competitors"][0].__setitem__("budget_months", 40),
        ["competitors[0].budget_months", "(0, 36]"],
    ),
    "goodput so low that the prior's MFU passes 1": (
        lambda d: d.__setitem__(
            "uncertainty", {"goodput": {"dist": "uniform", "low": 0.1, "high": 0.2}}
        ),
        ["uncertainty.goodput", "MFU = utilization / goodput exceeds 1 in", "at most 10%"],
    ),
    "efficiency of zero": (
        lambda d: d["competitors"][1].__setitem__("efficiency", 0),
        ["competitors[1].efficiency", "(0, 1000]"],
    ),
    "efficiency above 1,000": (
        lambda d: d["competitors"][1].__setitem__(
            "efficiency", {"dist": "uniform", "low": 2, "high": 2000}
        ),
        ["competitors[1].efficiency", "(0, 1000]"],
    ),
    "more accelerators than the largest campus": (
        lambda d: d["competitors"][1].__setitem__("accelerators", 5_000_000),
        ["competitors[1].accelerators", "5,000,000", "can have online at any launch"],
    ),
    "deal scale overflows float32": (
        lambda d: d.__setitem__("deal_overrides", {"meta-hyperion": {"scale": 1e300}}),
        ["deal_overrides.meta-hyperion.scale", "1000"],
    ),
    "power cap scale overflows": (
        lambda d: d.__setitem__("deal_overrides", {"meta-hyperion": {"power_cap_scale": 1e39}}),
        ["deal_overrides.meta-hyperion.power_cap_scale", "1000"],
    ),
    "pue_delta of 50": (
        lambda d: d.__setitem__("uncertainty", {"pue_delta": 50}),
        ["uncertainty.pue_delta", "within [1, 3]"],
    ),
    "pue_delta pushing a site above 3": (
        lambda d: d.__setitem__("uncertainty", {"pue_delta": 1.9}),
        ["uncertainty.pue_delta", "PUE must stay within [1, 3]"],
    ),
    "another lab's campus": (
        lambda d: d["competitors"][1]["deals"].append("meta-hyperion"),
        ["campus 'hyperion'", "Meta", "DeepSeek", "one lab"],
    ),
    "boolean draws": (lambda d: d.__setitem__("draws", True), ["draws", "boolean"]),
    "blank lab": (
        lambda d: d["competitors"][0].__setitem__("lab", "  "),
        ["competitors[0]", "lab: empty text"],
    ),
    "empty name": (lambda d: d.__setitem__("name", ""), ["name"]),
    "boolean horizon": (
        lambda d: d.__setitem__("horizon_months", True),
        ["horizon_months", "boolean"],
    ),
    "boolean share": (
        lambda d: d["competitors"][0].__setitem__("share", True),
        ["competitors[0]", "share", "boolean"],
    ),
    "seed above int64": (
        lambda d: d.__setitem__("seed", 2**64),
        ["seed", "less than or equal to 9223372036854775807"],
    ),
    "target FLOP beyond float32": (lambda d: d.__setitem__("target_flop", 1e300), ["target_flop"]),
    "target FLOP typed in units of 1e25": (
        lambda d: d.__setitem__("target_flop", 3.0),
        ["target_flop", "1e+15"],
    ),
    "MFU of 1e-5": (
        lambda d: d["competitors"][0].__setitem__("mfu", 1e-5),
        ["competitors[0]", "mfu", "[0.001, 1]"],
    ),
    "goodput of 0.1%": (
        lambda d: d.__setitem__("uncertainty", {"goodput": 0.001}),
        ["uncertainty.goodput", "[0.01, 1]"],
    ),
    "tiny time step": (
        lambda d: d.__setitem__("time_step_months", 1e-6),
        ["GiB", "the limit is 8 GiB", "COMPUTE_RACE_MAX_MEMORY_GB", "time_step_months"],
    ),
}


@pytest.mark.parametrize("case", sorted(ABSURD))
def test_absurd_scenario_is_refused(tmp_path, case):
    change, needles = ABSURD[case]
    path = _write(tmp_path, _edit(change))
    assert_one_line(call_main("simulate", path, "--draws", "20"), *needles)


def test_one_lab_may_split_a_campus_between_its_runs(tmp_path):
    """Two runs of one lab on one campus: allowed when their shares add up to at most 1."""
    doc = _edit(lambda d: None)
    meta = doc["competitors"][0]
    second = {**copy.deepcopy(meta), "model": "deepseek-next", "share": 0.5}
    doc["competitors"] = [{**meta, "share": 0.5}, second]
    ok = call_main("simulate", _write(tmp_path, doc), "--draws", "20", "--format", "json")
    assert ok.returncode == 0, ok.stderr
    doc["competitors"][0]["share"] = 0.6
    assert_one_line(
        call_main("simulate", _write(tmp_path, doc, "over.yaml"), "--draws", "20"),
        "shared by",
        "add up to at most 1",
        "1.1",
    )


def test_memory_limit_comes_from_the_environment(tmp_path, monkeypatch):
    path = _write(tmp_path, _edit(lambda d: d.__setitem__("time_step_months", 0.01)))
    assert call_main("simulate", path, "--draws", "20").returncode == 0
    monkeypatch.setenv("COMPUTE_RACE_MAX_MEMORY_GB", "0.001")
    assert_one_line(call_main("simulate", path, "--draws", "20"), "the limit is 0.001 GiB")
    monkeypatch.setenv("COMPUTE_RACE_MAX_MEMORY_GB", "lots")
    assert_one_line(
        call_main("simulate", path, "--draws", "20"), "$COMPUTE_RACE_MAX_MEMORY_GB", "'lots'"
    )


@pytest.mark.parametrize(
    "text, needles",
    [
        ("start: 2026-01-15\n", ["start", "2026-01-15 is a day", "YYYY-MM"]),
        ("start: 202601\n", ["start", "YYYY-MM"]),
    ],
)
def test_dates_only_in_the_documented_format(tmp_path, text, needles):
    raw = (SCENARIOS_DIR / "default.yaml").read_text()
    assert "start: 2026-12\n" in raw
    path = tmp_path / "bad.yaml"
    path.write_text(raw.replace("start: 2026-12\n", text, 1))
    assert_one_line(call_main("simulate", str(path), "--draws", "20"), "bad.yaml", *needles)


@pytest.mark.parametrize(
    "text, needles",
    [
        ("name: a\nname: b\n", ["duplicate key 'name'", "line 2", "first at line 1"]),
        ("deals: &d [meta-hyperion]\nother: *d\n", ["refused YAML", "anchor &d"]),
        ("a: [*x]\n", ["alias *x"]),
        ("base: &b {draws: 10}\nmore:\n  <<: *b\n", ["anchor &b"]),
    ],
)
def test_yaml_anchors_aliases_and_repeated_keys_are_refused(tmp_path, text, needles):
    path = tmp_path / "bad.yaml"
    path.write_text(text)
    assert_one_line(call_main("simulate", str(path)), "bad.yaml", *needles)


def test_billion_laughs_is_refused_at_once(tmp_path):
    """Nested aliases would expand to gigabytes; refused while parsing (the first anchor)."""
    lines = ["a0: &a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol]"]
    lines += [f"a{i}: &a{i} [{', '.join(['*a' + str(i - 1)] * 9)}]" for i in range(1, 10)]
    path = tmp_path / "laughs.yaml"
    path.write_text("\n".join(lines) + "\n")
    assert_one_line(call_main("simulate", str(path)), "laughs.yaml", "line 1", "anchor &a0")


def test_what_if_scale_beyond_the_bound_is_one_input_error():
    from analysis.errors import InputError
    from analysis.studies.whatif import what_if

    with pytest.raises(
        InputError,
        match=r"deal_scale\['meta-hyperion'\]: expected a number in \[0, 1000\], got 5000",
    ):
        what_if(deal_scale={"meta-hyperion": 5000})
    # factors multiply an override the scenario already has: the product keeps the bound too
    doubled = what_if(deal_scale={"meta-hyperion": 800})
    with pytest.raises(InputError, match=r"deal_overrides.meta-hyperion: scale: .*1000"):
        what_if(doubled.scenario, deal_scale={"meta-hyperion": 2})
    for change in (dict(deal_scale={"meta-hyperion": float("inf")}), dict(power_cap_scale=1e300)):
        with pytest.raises(
            InputError, match=r"expected a number in \[0, 1000\]"
        ):  # was "[0, inf]", refusing inf
            what_if(**change)


@pytest.mark.parametrize(
    "change, needle",
    [
        (dict(mfu=1e-4), r"mfu: .*\[0.001, 1\]"),
        (dict(target_flop=25.0), r"target_flop: .*\[1e\+15, 1e\+32\]"),
    ],
)
def test_what_if_refuses_what_a_scenario_file_refuses(change, needle):
    """what_if's overrides bypass the scenario's validation, so they keep its floors themselves."""
    from analysis.errors import InputError
    from analysis.studies.whatif import what_if

    with pytest.raises(InputError, match=needle):
        what_if(**change)


# ---- dates: a race uses only deals known at its start; a start before the announcement is
# explained


def _deal_index(doc, deal_id):
    return next(i for i, d in enumerate(doc["deals"]) if d["id"] == deal_id)


def test_deal_known_only_after_the_race_start_is_refused(data_copy):
    doc = yaml.safe_load((data_copy / "deals.yaml").read_text())
    i = _deal_index(doc, "meta-nebius-2026")
    doc["deals"][i]["as_of"] = "2027-02-15"
    (data_copy / "deals.yaml").write_text(yaml.safe_dump(doc, sort_keys=False))
    line = assert_one_line_error(
        run_cli("simulate", "--draws", "10", env=data_env(data_copy)),
        "deals.yaml",
        f"deals[{i}].as_of",
        "meta-nebius-2026",
        "2027-02-15",
        "2026-12",
    )
    assert "hindsight" in line  # says how to proceed


def test_historical_replay_with_hindsight_label_may_use_later_deals(tmp_path):
    doc = yaml.safe_load((SCENARIOS_DIR / "historical_2026_01.yaml").read_text())
    assert doc["hindsight"].startswith("assumption:")
    doc.pop("hindsight")
    path = _write(tmp_path, doc)
    assert_one_line_error(
        run_cli("simulate", path, "--draws", "10"), "as_of", "2026-01", "bad.yaml"
    )
    doc["hindsight"] = "because I said so"
    assert_one_line_error(
        run_cli("simulate", _write(tmp_path, doc), "--draws", "10"),
        "bad.yaml",
        "hindsight",
        "assumption:",
    )


def test_start_before_announcement_needs_an_assumption(data_copy):
    doc = yaml.safe_load((data_copy / "deals.yaml").read_text())
    i = _deal_index(doc, "meta-nebius-2026")
    doc["deals"][i]["start"] = "2026-01"  # before the 2026-03-16 announcement; start is 'sourced'
    (data_copy / "deals.yaml").write_text(yaml.safe_dump(doc, sort_keys=False))
    assert_one_line_error(
        run_cli("simulate", "--draws", "10", env=data_env(data_copy)),
        "deals.yaml",
        f"deals[{i}].start",
        "meta-nebius-2026",
        "precedes the announcement",
        "assumption",
    )
    # The same start with a reason given under `assumptions` (and no longer claimed as sourced)
    # loads.
    doc["deals"][i]["sourced"].remove("start")
    doc["deals"][i]["assumptions"]["start"] = "assumption: test fleet already online"
    (data_copy / "deals.yaml").write_text(yaml.safe_dump(doc, sort_keys=False))
    proc = run_cli("simulate", "--draws", "10", "--format", "json", env=data_env(data_copy))
    assert proc.returncode == 0, proc.stderr


def test_as_of_must_be_a_date(data_copy):
    doc = yaml.safe_load((data_copy / "deals.yaml").read_text())
    doc["deals"][0]["as_of"] = "2026-02-30"
    (data_copy / "deals.yaml").write_text(yaml.safe_dump(doc, sort_keys=False))
    assert_one_line_error(
        run_cli("simulate", "--draws", "10", env=data_env(data_copy)),
        "deals.yaml",
        "deals[0]",
        "as_of",
        "2026-02-30",
    )


def test_context_deal_must_say_why_it_does_not_race(data_copy):
    doc = yaml.safe_load((data_copy / "deals.yaml").read_text())
    i = _deal_index(doc, "meta-google-tpu-2026")
    doc["deals"][i]["not_racing_because"] = ""
    (data_copy / "deals.yaml").write_text(yaml.safe_dump(doc, sort_keys=False))
    assert_one_line_error(
        run_cli("simulate", "--draws", "10", env=data_env(data_copy)),
        "deals.yaml",
        f"deals[{i}]",
        "meta-google-tpu-2026",
        "not_racing_because",
    )


def _days():
    import datetime as dt

    from hypothesis import strategies as st

    return st.dates(min_value=dt.date(2024, 1, 1), max_value=dt.date(2029, 12, 31))


def test_a_deal_is_refused_exactly_when_checked_after_the_race_start():
    import dataclasses

    from hypothesis import given, settings

    from analysis.errors import InputError
    from analysis.inputs.catalog import load_catalog
    from analysis.inputs.scenario import Scenario, check_deals_known_at_start

    catalog = load_catalog()
    deal_id = "meta-nebius-2026"
    doc = yaml.safe_load((SCENARIOS_DIR / "next_frontier.yaml").read_text())
    doc["competitors"] = [{**doc["competitors"][0], "deals": [deal_id]}]  # the one deal under test
    base = Scenario.model_validate(doc)

    @settings(max_examples=60, deadline=None)
    @given(as_of=_days(), start=_days())
    def check(as_of, start):
        deals = dict(catalog.deals)
        deals[deal_id] = deals[deal_id].model_copy(update={"as_of": as_of.isoformat()})
        cat = dataclasses.replace(catalog, deals=deals, _frames={})
        scenario = base.model_copy(update={"start": f"{start.year:04d}-{start.month:02d}"})
        refused = as_of > start.replace(day=1)
        try:
            check_deals_known_at_start(scenario, cat, "x.yaml")
        except InputError as err:
            assert refused and deal_id in str(err) and "as_of" in str(err), (as_of, start, str(err))
        else:
            assert not refused, (as_of, start)
        # With a hindsight label nothing is refused.
        check_deals_known_at_start(
            scenario.model_copy(update={"hindsight": "assumption: replay"}), cat, "x.yaml"
        )

    check()


@pytest.mark.parametrize(
    "deal, needles",
    [
        # owned, on a chip without a purchase price: was refused as "needs purchase_price_usd"
        (
            "meta-nvidia-2026",
            ["context only", "racing: false", "cannot race", "purchase_price_usd"],
        ),
        # reserved: raced without a word
        ("meta-google-tpu-2026", ["context only", "racing: false", "terms too thin", "remove it"]),
    ],
)
def test_a_context_deal_in_a_race_is_refused_saying_so(tmp_path, deal, needles):
    doc = _edit(lambda d: d["competitors"][0]["deals"].append(deal))
    line = assert_one_line_error(
        run_cli("simulate", _write(tmp_path, doc), "--draws", "10"),
        "bad.yaml",
        f"competitors[0].deals[{len(DEFAULT['competitors'][0]['deals'])}]",
        deal,
        *needles,
    )
    assert len(line) < 600  # the data's reason, shortened


def test_a_labelled_replay_keeps_the_deal_list_of_its_time():
    """historical_2026_01 and common_target race alibaba-capex-2025-h200 (racing: false since
    the data date) under their hindsight label, as data/README.md says they do."""
    from analysis.inputs.scenario import load_scenario

    for name in ("historical_2026_01.yaml", "common_target.yaml"):
        scenario = load_scenario(SCENARIOS_DIR / name)
        assert scenario.hindsight and any(
            "alibaba-capex-2025-h200" in c.deals for c in scenario.competitors
        )


def test_an_override_of_a_deal_no_competitor_uses_is_refused(tmp_path):
    """It changed nothing, silently."""
    doc = _edit(lambda d: d.__setitem__("deal_overrides", {"microsoft-nebius": {"scale": 2}}))
    assert_one_line_error(
        run_cli("simulate", _write(tmp_path, doc), "--draws", "10"),
        "deal_overrides.microsoft-nebius",
        "no competitor uses deal 'microsoft-nebius'",
        "change nothing",
    )


@pytest.mark.parametrize("source", [123, 1.5, b"scenarios/default.yaml", ["default.yaml"]])
def test_simulate_of_something_that_is_not_a_scenario_is_an_input_error(source):
    """simulate(123) raised TypeError from deep inside the YAML reader."""
    from analysis import simulate
    from analysis.errors import InputError

    with pytest.raises(InputError, match="scenario: expected the path of a scenario file"):
        simulate(source, draws=10)


def test_a_budget_is_checked_at_its_plausible_percentiles_and_clipped_beyond():
    """A log-normal budget reaches past 36 months at the sampler's 7 standard deviations: it is
    checked at its 0.01st-99.99th percentiles (p10 3, p90 9 months: 26 months at the 99.99th) and
    its rare draws beyond 36 months are clipped; one whose 99.99th percentile passes 36 months is
    refused, naming the key."""
    from analysis import simulate
    from analysis.errors import InputError

    raw = yaml.safe_load((SCENARIOS_DIR / "default.yaml").read_text())
    raw["competitors"][0]["budget_months"] = {"dist": "lognormal", "p10": 3, "p90": 9}
    result = simulate(raw, draws=2000, seed=3, progress=False, keep_draws=True)
    lengths = result.draws.query("lab == 'Meta'")["run_length_months"]
    assert 9 < lengths.max() <= 36.0
    raw["competitors"][0]["budget_months"] = {"dist": "lognormal", "p10": 3, "p90": 12}
    with pytest.raises(InputError, match=r"competitors\[0\]\.budget_months: .*\(0, 36\]"):
        simulate(raw, draws=10, progress=False)

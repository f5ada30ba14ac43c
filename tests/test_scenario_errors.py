"""Bad scenario files: exit 2 and one line naming the file and key path (competitors[1].deals[0])."""

from __future__ import annotations

import copy

import pytest
import yaml

from analysis.paths import SCENARIOS_DIR

from conftest import assert_one_line_error, data_env, run_cli

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
    "unknown deal": (lambda d: d["competitors"][1]["deals"].__setitem__(0, "deepseek-h900"),
                     ["competitors[1].deals[0]", "deepseek-h900", "did you mean"]),
    "unknown model": (lambda d: d["competitors"][0].__setitem__("model", "muse-sparky"),
                      ["competitors[0].model", "muse-sparky"]),
    "unknown distribution": (lambda d: d["competitors"][0].__setitem__("share", {"dist": "beta", "a": 2}),
                             ["competitors[0].share", "unknown distribution 'beta'", "lognormal"]),
    "p10 above p90": (lambda d: d["competitors"][2].__setitem__("share", {"dist": "lognormal", "p10": 0.5, "p90": 0.1}),
                      ["competitors[2].share", "p10 0.5 is above p90 0.1"]),
    "negative count": (lambda d: d.__setitem__("draws", -5), ["draws", "greater than or equal to 1"]),
    "negative deal scale": (lambda d: d.__setitem__("deal_overrides", {"meta-hyperion": {"scale": -1}}),
                            ["deal_overrides.meta-hyperion.scale"]),
    "share above one": (lambda d: d["competitors"][0].__setitem__("share", 1.5),
                        ["competitors[0].share", "outside (0, 1]"]),
    "share zero": (lambda d: d["competitors"][0].__setitem__("share", {"dist": "uniform", "low": 0, "high": 0.3}),
                   ["competitors[0].share", "outside (0, 1]"]),
    "horizon zero": (lambda d: d.__setitem__("horizon_months", 0), ["horizon_months", "greater than 0"]),
    "bad start month": (lambda d: d.__setitem__("start", "2026-13"), ["start", "month 13"]),
    "unknown key": (lambda d: d.__setitem__("horizon", 12), ["horizon", "Extra inputs are not permitted"]),
    "negative delay override": (lambda d: d.__setitem__("deal_overrides", {"meta-hyperion": {"delay_months": {"dist": "uniform", "low": -2, "high": 3}}}),
                                ["deal_overrides.meta-hyperion.delay_months", "outside"]),
    "unknown override deal": (lambda d: d.__setitem__("deal_overrides", {"meta-atlantis": {"scale": 2}}),
                              ["deal_overrides.meta-atlantis", "unknown deal"]),
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
    assert_one_line_error(run_cli("simulate", str(tmp_path / "nope.yaml")), "nope.yaml", "not found")


def test_bad_draws_flag():
    assert_one_line_error(run_cli("simulate", "--draws", "ten"), "--draws", "'ten'")
    assert_one_line_error(run_cli("simulate", "--seed", "-1"), "--seed")


def test_deal_whose_term_ends_before_deliveries(data_copy):
    doc = yaml.safe_load((data_copy / "deals.yaml").read_text())
    doc["deals"][0]["term_months"] = 0.5
    doc["deals"][0]["tranches"][-1]["month"] = 3
    (data_copy / "deals.yaml").write_text(yaml.safe_dump(doc, sort_keys=False))
    assert_one_line_error(run_cli("simulate", "--draws", "10", env=data_env(data_copy)),
                          "deals.yaml", "deals[0]", "term end")


def test_negative_tranche_in_data(data_copy):
    doc = yaml.safe_load((data_copy / "deals.yaml").read_text())
    doc["deals"][1]["tranches"][0]["accelerators"] = -100
    (data_copy / "deals.yaml").write_text(yaml.safe_dump(doc, sort_keys=False))
    assert_one_line_error(run_cli("simulate", "--draws", "10", env=data_env(data_copy)),
                          "deals[1]", "tranches[0].accelerators", "greater than 0")


# ---- physically impossible or careless values: refused, never a silently absurd result ----------
# In-process calls of the CLI's main() (the subprocess cases above cover the real entry point).

from inprocess import assert_one_line, call_main  # noqa: E402

ABSURD = {
    "competitor starts before the scenario": (
        lambda d: d["competitors"][1].__setitem__("start", "2025-06"),
        ["competitors[1].start 2025-06", "before the scenario start 2026-01"]),
    "deal scale overflows float32": (
        lambda d: d.__setitem__("deal_overrides", {"meta-hyperion": {"scale": 1e300}}),
        ["deal_overrides.meta-hyperion.scale", "1000"]),
    "power cap scale overflows": (
        lambda d: d.__setitem__("deal_overrides", {"meta-hyperion": {"power_cap_scale": 1e39}}),
        ["deal_overrides.meta-hyperion.power_cap_scale", "1000"]),
    "pue_delta of 50": (lambda d: d.__setitem__("uncertainty", {"pue_delta": 50}),
                        ["uncertainty.pue_delta", "within [1, 3]"]),
    "pue_delta pushing a site above 3": (lambda d: d.__setitem__("uncertainty", {"pue_delta": 1.9}),
                                         ["uncertainty.pue_delta", "PUE must stay within [1, 3]"]),
    "another lab's campus": (lambda d: d["competitors"][1]["deals"].append("meta-hyperion"),
                             ["campus 'hyperion'", "Meta", "DeepSeek", "one lab"]),
    "boolean draws": (lambda d: d.__setitem__("draws", True), ["draws", "boolean"]),
    "blank lab": (lambda d: d["competitors"][0].__setitem__("lab", "  "), ["competitors[0]", "lab: empty text"]),
    "empty name": (lambda d: d.__setitem__("name", ""), ["name"]),
    "boolean horizon": (lambda d: d.__setitem__("horizon_months", True), ["horizon_months", "boolean"]),
    "boolean share": (lambda d: d["competitors"][0].__setitem__("share", True), ["competitors[0]", "share", "boolean"]),
    "seed above int64": (lambda d: d.__setitem__("seed", 2**64), ["seed", "less than or equal to 9223372036854775807"]),
    "target FLOP beyond float32": (lambda d: d.__setitem__("target_flop", 1e300), ["target_flop"]),
    "tiny time step": (lambda d: d.__setitem__("time_step_months", 1e-6),
                       ["GiB", "the limit is 8 GiB", "COMPUTE_RACE_MAX_MEMORY_GB", "time_step_months"]),
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
    assert_one_line(call_main("simulate", _write(tmp_path, doc, "over.yaml"), "--draws", "20"),
                    "shared by", "add up to at most 1", "1.1")


def test_memory_limit_comes_from_the_environment(tmp_path, monkeypatch):
    path = _write(tmp_path, _edit(lambda d: d.__setitem__("time_step_months", 0.01)))
    assert call_main("simulate", path, "--draws", "20").returncode == 0
    monkeypatch.setenv("COMPUTE_RACE_MAX_MEMORY_GB", "0.001")
    assert_one_line(call_main("simulate", path, "--draws", "20"), "the limit is 0.001 GiB")
    monkeypatch.setenv("COMPUTE_RACE_MAX_MEMORY_GB", "lots")
    assert_one_line(call_main("simulate", path, "--draws", "20"), "$COMPUTE_RACE_MAX_MEMORY_GB", "'lots'")


@pytest.mark.parametrize("text, needles", [
    ("start: 2026-01-15\n", ["start", "2026-01-15 is a day", "YYYY-MM"]),
    ("start: 202601\n", ["start", "YYYY-MM"]),
])
def test_dates_only_in_the_documented_format(tmp_path, text, needles):
    raw = (SCENARIOS_DIR / "default.yaml").read_text()
    assert "start: 2026-01\n" in raw
    path = tmp_path / "bad.yaml"
    path.write_text(raw.replace("start: 2026-01\n", text, 1))
    assert_one_line(call_main("simulate", str(path), "--draws", "20"), "bad.yaml", *needles)


@pytest.mark.parametrize("text, needles", [
    ("name: a\nname: b\n", ["duplicate key 'name'", "line 2", "first at line 1"]),
    ("deals: &d [meta-hyperion]\nother: *d\n", ["refused YAML", "anchor &d"]),
    ("a: [*x]\n", ["alias *x"]),
    ("base: &b {draws: 10}\nmore:\n  <<: *b\n", ["anchor &b"]),
])
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
    from analysis.scenarios import what_if

    with pytest.raises(InputError, match=r"deal_overrides.meta-hyperion: scale: .*1000"):
        what_if(deal_scale={"meta-hyperion": 5000})

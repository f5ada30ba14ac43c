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

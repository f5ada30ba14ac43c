"""The one table of plausible ranges (analysis/inputs/limits.py) and the silently absurd answers it
stops: every uncertainty key and every numeric data column has a range; an input outside it is
refused in one line naming the flag, file, line or key, never answered with a confident number
(issue 26's reproductions)."""

from __future__ import annotations

import copy
import typing

import numpy as np
import pandas as pd
import pytest
import yaml
from conftest import data_env
from inprocess import assert_one_line, call_main

from analysis.errors import InputError
from analysis.inputs.catalog import CSV_FILES, load_catalog
from analysis.inputs.limits import COLUMN_RANGES, FLAG_RANGES, UNCERTAINTY_RANGES
from analysis.inputs.scenario import Uncertainty
from analysis.inputs.specs import Deal, PowerStep, Tranche
from analysis.paths import DATA_DIR_ENV, SCENARIOS_DIR

DEFAULT = yaml.safe_load((SCENARIOS_DIR / "default.yaml").read_text())


def _numeric(annotation) -> bool:
    """Whether a field's type is a number (int or float, possibly constrained or optional)."""
    if annotation in (int, float):
        return True
    args = typing.get_args(annotation)
    if typing.get_origin(annotation) is typing.Annotated:
        return _numeric(args[0])
    return any(_numeric(a) for a in args if a is not type(None))


def _numeric_columns() -> list[str]:
    models = {stem: model for stem, (_, model) in CSV_FILES.items()}
    models.update({"deals": Deal, "deals.tranches": Tranche, "deals.power_cap_mw": PowerStep})
    return [
        f"{stem}.{name}"
        for stem, model in models.items()
        for name, info in model.model_fields.items()
        if _numeric(info.annotation)
    ]


def test_every_numeric_data_column_has_a_plausible_range_in_the_table():
    columns = _numeric_columns()
    assert sorted(columns) == sorted(COLUMN_RANGES), set(columns) ^ set(
        COLUMN_RANGES
    )  # and none in the table that no model uses
    for name, allowed in COLUMN_RANGES.items():
        assert np.isfinite(allowed.high), name  # "positive" alone let 1e300 through


def test_every_uncertainty_key_has_a_plausible_range_in_the_table():
    assert set(Uncertainty.model_fields) <= set(UNCERTAINTY_RANGES)
    for name in Uncertainty.model_fields:
        assert np.isfinite(UNCERTAINTY_RANGES[name].high), name
    assert set(FLAG_RANGES) >= {"params", "tokens", "price_per_hour"}
    assert all(np.isfinite(r.high) and (r.low > 0 or r.low_open) for r in FLAG_RANGES.values())


def test_the_shipped_data_and_defaults_are_within_their_ranges():
    cat = load_catalog()
    assert cat.training_runs and cat.deals
    Uncertainty()  # the defaults validate against their own ranges


def _simulate(tmp_path, doc, *extra):
    path = tmp_path / "s.yaml"
    path.write_text(yaml.safe_dump(doc, sort_keys=False))
    return call_main("simulate", path, "--draws", "20", "--format", "json", *extra)


@pytest.mark.parametrize(
    "key, value, needles",
    [
        ("fp8_gain", 1000, ["uncertainty.fp8_gain", "outside [1, 2]"]),
        ("price_factor", 1e30, ["uncertainty.price_factor", "outside [0.1, 10]"]),
        ("build_cost_usd_per_mw", 1e300, ["uncertainty.build_cost_usd_per_mw", "1e+08"]),
        ("hardware_life_years", 1e-9, ["uncertainty.hardware_life_years", "outside [1, 15]"]),
        (
            "price_factor",
            {"dist": "lognormal", "p10": 1, "p90": 1e30},
            ["uncertainty.price_factor", "reaches"],
        ),
        ("pue_delta", -0.5, ["uncertainty.pue_delta", "reaches PUE 0.59", "[1, 3]"]),
    ],
)
def test_an_implausible_uncertainty_is_refused_not_simulated(tmp_path, key, value, needles):
    """fp8_gain 1000 gave 150 times the FP8 peak, price_factor 1e30 and build cost 1e300 made
    costs null, a 1e-9-year life cost 1.1e16 USD, pue_delta -0.5 was clipped to PUE 1."""
    doc = copy.deepcopy(DEFAULT)
    doc.setdefault("uncertainty", {})[key] = value
    assert_one_line(_simulate(tmp_path, doc), *needles)


def test_a_plausible_log_normal_uncertainty_is_accepted(tmp_path):
    doc = copy.deepcopy(DEFAULT)
    doc["uncertainty"] = {"price_factor": {"dist": "lognormal", "p10": 0.5, "p90": 2}}
    assert _simulate(tmp_path, doc).returncode == 0


@pytest.fixture
def data_dir(tmp_path, monkeypatch):
    """A copy of data/ the in-process CLI reads (COMPUTE_RACE_DATA_DIR)."""
    import shutil

    from conftest import DATA

    target = tmp_path / "data"
    shutil.copytree(DATA, target)
    monkeypatch.setenv(DATA_DIR_ENV, data_env(target)[DATA_DIR_ENV])
    return target


def _edit_csv(path, row_id, **changes):
    frame = pd.read_csv(path, dtype=str, keep_default_na=False)
    for column, value in changes.items():
        frame.loc[frame["id"] == row_id, column] = value
    frame.to_csv(path, index=False)


def test_an_fp8_peak_below_the_bf16_peak_is_refused_at_load(data_dir):
    """FP8 runs divide the BF16-equivalent utilization by the FP8/BF16 peak ratio: below 1 it gave
    MFU 100% in every draw."""
    _edit_csv(data_dir / "accelerators.csv", "h100-sxm", peak_fp8_flop_per_s="4.9e14")
    assert_one_line(
        call_main("estimate", "--flop", "1e25", "--accelerator", "h100-sxm"),
        "accelerators.csv line",
        "'h100-sxm'",
        "peak_fp8_flop_per_s 4.9e+14 is below peak_bf16_flop_per_s",
    )


def test_a_calibration_row_implying_an_impossible_mfu_is_refused_at_load(data_dir):
    """One hours typo (1.3 for 1.3e6) moved the H100 prior's P50 from 25% to 50%."""
    _edit_csv(data_dir / "training_runs.csv", "llama-3-8b", gpu_hours="1.3")
    line = assert_one_line(
        call_main("estimate", "--flop", "1e25", "--accelerator", "h100-sxm"),
        "training_runs.csv line 2",
        "'llama-3-8b'",
        "field 'gpu_hours'",
        "imply an MFU of",
        "from 0.001 to 1",
    )
    assert "thousands or millions" in line
    _edit_csv(data_dir / "training_runs.csv", "llama-3-8b", gpu_hours="1.3e12")
    assert_one_line(
        call_main("estimate", "--flop", "1e25", "--accelerator", "h100-sxm"),
        "line 2",
        "gpu_hours",
        "not seconds",
    )


def test_fewer_than_five_calibration_rows_are_refused_in_one_line(data_dir):
    frame = pd.read_csv(data_dir / "training_runs.csv", dtype=str, keep_default_na=False)
    calibration = frame.index[frame["role"] == "calibration"]
    frame.loc[calibration[4:], "role"] = "check"
    frame.to_csv(data_dir / "training_runs.csv", index=False)
    assert_one_line(
        call_main("estimate", "--flop", "1e25", "--accelerator", "h100-sxm"),
        "training_runs.csv",
        "4 calibration row(s)",
        "at least 5",
    )


def test_fitting_too_few_usable_rows_is_an_input_error_not_a_traceback():
    from analysis.model.calibration import calibration_points, fit_prior

    points = calibration_points(load_catalog())[:3]
    with pytest.raises(InputError, match="need at least 5 calibration rows"):
        fit_prior(points)


@pytest.mark.parametrize(
    "value, needles",
    [
        (14200, ["total_value_usd", "greater than or equal to 1000000"]),  # 14.2e9 in millions
        (14.2e6, ["total_value_usd", "USD per accelerator-hour, below 0.01", "not millions"]),
    ],
)
def test_a_contract_value_in_the_wrong_unit_is_refused(data_dir, value, needles):
    """A value typed in millions priced a 2.4e25-FLOP run at $28.90."""
    doc = yaml.safe_load((data_dir / "deals.yaml").read_text())
    deal = next(d for d in doc["deals"] if d["id"] == "meta-coreweave-2025")
    deal["total_value_usd"] = value
    (data_dir / "deals.yaml").write_text(yaml.safe_dump(doc, sort_keys=False))
    assert_one_line(call_main("simulate", "--draws", "20"), "deals.yaml", *needles)


@pytest.mark.parametrize(
    "args, needles",
    [
        (["--goodput", "0.01"], ["--goodput", "exceeds 1 in 100% of draws", "at least 0.35"]),
        (["--price-per-hour", "1e-300"], ["--price-per-hour", "from 0.01 to 10,000"]),
    ],
)
def test_estimate_refuses_what_it_answered_absurdly(args, needles):
    """--goodput 0.01 with the prior (which already includes goodput) reported MFU 100% in every
    draw; --price-per-hour 1e-300 cost 1e-293 USD."""
    out = call_main("estimate", "--flop", "3.8e25", "--accelerator", "h100-sxm", *args)
    assert_one_line(out, *needles)


def test_a_size_typed_in_billions_is_refused():
    """--params 405 (for 405e9) answered 0.18 accelerator-hours."""
    out = call_main("estimate", "--params", "405", "--tokens", "15.6e12", "--accelerator", "h100")
    assert_one_line(out, "--params", "got '405'", "not billions")


def test_a_plausible_goodput_with_the_prior_still_answers():
    out = call_main("estimate", "--flop", "3.8e25", "--accelerator", "h100-sxm", "--goodput", "0.9")
    assert out.returncode == 0, out.stderr


def test_a_batch_row_whose_prior_mfu_would_be_clipped_is_refused_like_estimate():
    from analysis.model.batch import estimate_many

    frame = pd.DataFrame(
        {
            "flop": [3.8e25, 3.8e25],
            "accelerator": ["h100-sxm", "h100-sxm"],
            "goodput": [0.9, 0.01],
        }
    )
    with pytest.raises(InputError, match=r"row 2, column 'goodput': .*exceeds 1 in 100% of draws"):
        estimate_many(frame, draws=500)
    assert len(estimate_many(frame.head(1), draws=500)) == 1

"""One whole-number parser (`analysis.inputs.limits.parse_whole` and `check_whole`) reads every
count and seed: flags, function arguments, notebook parameters and sweep options. Where the five
forms it replaced disagreed, the stricter one holds (booleans are not numbers; every seed lies in
0 to 2**63 - 1 and is read exactly), and a whole float or text is a count everywhere (papermill's
`-p draws 2e4`), as docs/input-limits.md says."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from analysis.errors import InputError
from analysis.inputs.limits import (
    MAX_SEED,
    check_draws,
    check_seed,
    check_whole,
    parse_whole,
)
from analysis.paths import PACKAGE_DIR


@pytest.mark.parametrize(
    "value, expected",
    [
        (5, 5),
        (np.int64(5), 5),
        (5.0, 5),
        (np.float32(2e4), 20_000),
        ("5", 5),
        (" 5 ", 5),
        ("20_000", 20_000),
        ("2e4", 20_000),
        ("2.0e4", 20_000),
        (str(MAX_SEED), MAX_SEED),
        ("9007199254740993", 2**53 + 1),  # exact: through a float it would be 2**53
        (2**70, 2**70),
    ],
)
def test_whole_numbers_are_read_exactly(value, expected):
    whole = parse_whole(value)
    assert whole == expected and type(whole) is int


@pytest.mark.parametrize(
    "value",
    [True, False, 2.5, "2.5", math.nan, math.inf, "nan", "inf", "five", "", "0x10", None, [5], 1j],
)
def test_other_values_are_not_whole_numbers(value):
    assert parse_whole(value) is None


def test_check_whole_names_the_input_and_the_range():
    assert check_whole("7", "--workers", 1, 1024) == 7
    for bad in (0, 1025, True, 1.5, "many"):
        with pytest.raises(InputError) as err:
            check_whole(bad, "--workers", 1, 1024)
        assert str(err.value) == f"--workers: expected a whole number from 1 to 1,024, got {bad!r}"
    assert check_draws(2e4) == 20_000
    assert check_seed(MAX_SEED) == MAX_SEED
    with pytest.raises(InputError, match="seed: expected a whole number from 0 to"):
        check_seed(MAX_SEED + 1, "seed")


# ---- where the old forms disagreed --------------------------------------------------------------


def test_a_boolean_is_not_a_count_in_estimate():
    """estimate read counts through float(), so draws=True ran one draw; now it is refused, as it
    always was by simulate, what_if and the CLI."""
    from analysis import estimate

    for kwargs, flag in [
        (dict(draws=True), "--draws"),
        (dict(accelerators=True), "--accelerators"),
    ]:
        with pytest.raises(InputError, match=flag):
            estimate(flop=1e24, accelerator="h100-sxm", **kwargs)


def test_every_seed_is_bounded_and_exact():
    """estimate_many (and `estimate --batch`) and backtest took any seed >= 0, backtest through a
    float; now every seed is one from 0 to 2**63 - 1, read exactly."""
    from analysis import backtest, estimate_many

    frame = pd.DataFrame({"flop": [1e24], "accelerator": ["h100-sxm"]})
    for call in (
        lambda seed: estimate_many(frame, draws=100, seed=seed),
        lambda seed: backtest(draws=100, seed=seed, alternatives={}),
    ):
        with pytest.raises(InputError, match="9,223,372,036,854,775,807"):
            call(2**63)
    assert len(estimate_many(frame, draws=100, seed="1")) == 1  # text, as `--seed 1` arrives


def test_a_whole_float_is_a_count_from_the_notebook_to_the_study():
    """papermill reads `-p draws 2e4` as 20000.0: the notebook's parameter check accepted it and
    what_if then refused it; now both read it as 20,000."""
    from analysis.runs.parameters import check_namespace
    from analysis.studies.whatif import what_if

    namespace = dict(
        draws=2e4,
        seed=1.0,
        scenario="scenarios/default.yaml",
        target_flop=0.0,
        tail=0.1,
        top=8,
        backend="numpy",
        metrics_path="",
    )
    checked = check_namespace("22_sensitivity", namespace)
    assert (checked.draws, checked.seed) == (20_000, 1)
    race = what_if(namespace["scenario"], draws=namespace["draws"], seed=namespace["seed"])
    assert (race.scenario.draws, race.scenario.seed) == (20_000, 1)


def test_notebook_parameters_stay_typed():
    """A count given as text is still refused in a notebook (its parameters are typed)."""
    from analysis.runs.parameters import ParameterError, check

    with pytest.raises(ParameterError, match="draws"):
        check("22_sensitivity", {"draws": "2000"}, partial=True)


# ---- one home ----------------------------------------------------------------------------------


def test_no_other_module_reads_whole_numbers_itself():
    """`.is_integer()` (the test every old form made) appears only in the parser's module."""
    homes = {
        path.relative_to(PACKAGE_DIR).as_posix()
        for path in PACKAGE_DIR.rglob("*.py")
        if ".is_integer()" in path.read_text(encoding="utf-8")
    }
    assert homes == {"inputs/limits.py"}

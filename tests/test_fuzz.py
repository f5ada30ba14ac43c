"""Fuzz the input contract: generated scenario files, sweep files and argument lists, mutated from
the schemas (tests/fuzz_inputs.py), each meet it: exit 0 with a finite, self-consistent result or
exit 2 with one line; never a traceback, a hang or a memory blow-up.

The short profile (`make test`) runs the CLI's main() in-process on the deterministic profile's
examples; `HYPOTHESIS_PROFILE=long pytest tests/test_fuzz.py` runs thousands of fresh examples, and
scripts/fuzz_tally.py a counted round. A few cases also go through the real entry point.
"""

from __future__ import annotations

import random

import pytest
from conftest import assert_one_line_error, run_cli
from fuzz_inputs import GENERATORS, check
from hypothesis import given
from hypothesis import strategies as st


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    return tmp_path_factory.mktemp("fuzz")


def _meets_contract(kind: str, rnd: random.Random, folder) -> None:
    case = GENERATORS[kind](rnd, folder)
    clean, what = check(case)
    assert clean, f"{what}\n  input: {case.description}\n  argv: {case.argv}"


@given(rnd=st.randoms(use_true_random=False))
def test_fuzzed_scenario_files(folder, rnd):
    _meets_contract("scenario file", rnd, folder)


@given(rnd=st.randoms(use_true_random=False))
def test_fuzzed_sweep_files(folder, rnd):
    _meets_contract("sweep file", rnd, folder)


@given(rnd=st.randoms(use_true_random=False))
def test_fuzzed_argument_lists(folder, rnd):
    _meets_contract("argument list", rnd, folder)


def test_the_contract_catches_a_breach(monkeypatch, folder):
    """The checker itself can fail: a traceback, an absurd result and a hang are each reported."""
    import fuzz_inputs

    import analysis.runs.cli as cli

    case = fuzz_inputs.Case(
        "argument list",
        [
            "estimate",
            "--accelerator",
            "h100-sxm",
            "--flop",
            "1e24",
            "--draws",
            "50",
            "--format",
            "json",
        ],
        "valid",
    )
    assert check(case) == (True, "exit 0, valid result")

    def broken(args):
        raise RuntimeError("a bug")

    monkeypatch.setattr(cli, "_cmd_estimate", broken)
    clean, what = check(case)
    assert not clean and what.startswith("exit 1")
    monkeypatch.setattr(
        cli, "_cmd_estimate", lambda args: print('{"mfu": {"p10": 2, "p50": 3, "p90": 4}}') or 0
    )
    clean, what = check(case)
    assert not clean and "MFU outside (0, 1]" in what
    monkeypatch.setattr(fuzz_inputs, "TIME_LIMIT_S", 0.2)

    def hang(args):
        while True:
            pass

    monkeypatch.setattr(cli, "_cmd_estimate", hang)
    clean, what = check(case)
    assert not clean and "ran past" in what


def test_fuzzed_inputs_through_the_real_entry_point(folder):
    """A few generated bad inputs as a user runs them: a subprocess, one line, exit 2."""
    rnd = random.Random(0)
    for kind in ("scenario file", "argument list"):
        for _ in range(50):  # the first generated input of this kind that is refused
            case = GENERATORS[kind](rnd, folder)
            if check(case)[1] == "exit 2, one line":
                break
        else:
            pytest.fail(f"no refused {kind} in 50 tries")
        assert_one_line_error(run_cli(*case.argv, timeout=120))

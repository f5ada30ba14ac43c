"""Fuzz the input contract: generated scenario files, sweep files and argument lists, mutated from
the schemas, and issue 26's reproductions with fresh values (batch files, Python API calls, output
folders the command does not own; tests/fuzz_inputs.py), each meet it: exit 0 with a finite,
self-consistent, plausible result or exit 2 with one line naming what the case expects; never a
traceback, a hang, a memory blow-up or a change to a folder not the command's.

The short profile (`make test`) runs the CLI's main() in-process on the deterministic profile's
examples; `HYPOTHESIS_PROFILE=long pytest tests/test_fuzz.py` runs thousands of fresh examples, and
scripts/fuzz_tally.py a counted round. A few cases also go through the real entry point.
"""

from __future__ import annotations

import random

import pytest
from conftest import assert_one_line_error, run_cli
from fuzz_inputs import GENERATORS, category, check
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


@given(rnd=st.randoms(use_true_random=False))
def test_fuzzed_batch_files(folder, rnd):
    _meets_contract("batch file", rnd, folder)


@given(rnd=st.randoms(use_true_random=False))
def test_fuzzed_api_calls(folder, rnd):
    _meets_contract("api call", rnd, folder)


@given(rnd=st.randoms(use_true_random=False))
def test_fuzzed_output_folders(folder, rnd):
    _meets_contract("output folder", rnd, folder)


def test_every_issue_26_probe_is_generated(folder):
    """Each batch mutation, API probe and folder kind comes up in a round of a few hundred."""
    import fuzz_inputs

    rnd = random.Random(26)
    batch = {GENERATORS["batch file"](rnd, folder).description.split(":")[0] for _ in range(200)}
    assert batch == set(fuzz_inputs.BATCH_MUTATIONS)
    folders = {
        GENERATORS["output folder"](rnd, folder).description.split(",")[1] for _ in range(60)
    }
    assert len(folders) >= 3


def test_the_contract_catches_the_new_breaches(monkeypatch, folder):
    """Data loss, a misleading refusal, an absurd success and a traceback from a call are each
    reported, in their class."""
    import fuzz_inputs

    from analysis.runs import report

    case = fuzz_inputs.folder_case(random.Random(3), folder)
    while not case.description.startswith("report"):
        case = fuzz_inputs.folder_case(random.Random(), folder)
    monkeypatch.setattr(
        report, "open_output_dir", lambda out, marker: ([], False)
    )  # adopts anything, as before the fix: the marker lands beside the user's files
    clean, what = check(case)
    assert not clean and category(what) == "data loss", what
    monkeypatch.undo()

    refused = fuzz_inputs.Case(
        "api call",
        [],
        "x",
        call=lambda: fuzz_inputs._estimate(flop=1e24, mfu=2.0),
        expect=("nope",),
    )
    clean, what = check(refused)
    assert not clean and category(what) == "misleading", what
    accepted = fuzz_inputs.Case(
        "api call", [], "x", call=lambda: fuzz_inputs._estimate(flop=1e24), must_refuse=True
    )
    clean, what = check(accepted)
    assert not clean and category(what) == "absurd", what
    broken = fuzz_inputs.Case("api call", [], "x", call=lambda: 1 / 0)
    clean, what = check(broken)
    assert not clean and category(what) == "traceback", what
    clipped = '{"mfu": {"p10": 1.0, "p50": 1.0, "p90": 1.0}, "gpu_hours": {"p50": 10}}'
    assert "clipped" in fuzz_inputs.consistent(["estimate", "--format", "json"], clipped)


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

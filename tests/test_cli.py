"""The real entry point as a subprocess: JSON contract, table, and one-line errors with exit 2."""

from __future__ import annotations

import json

import pytest
import yaml
from conftest import assert_one_line_error, data_env, run_cli

LLAMA = ["estimate", "--params", "405e9", "--tokens", "15.6e12", "--accelerator", "h100-sxm"]


def test_estimate_json_contract():
    proc = run_cli(*LLAMA, "--accelerators", "16384", "--format", "json")
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout)
    assert out["training_flop"] == pytest.approx(3.79e25, rel=1e-3)
    for key in ("mfu", "gpu_hours", "wall_clock_days", "energy_mwh", "cost_usd", "emissions_tco2e"):
        q = out[key]
        assert set(q) == {"p10", "p50", "p90", "mean"}
        assert q["p10"] <= q["p50"] <= q["p90"]
    assert out["wall_clock_days"]["p50"] == pytest.approx(out["gpu_hours"]["p50"] / 16384 / 24)
    assert out["inputs"]["precision"] == "bf16" and out["inputs"]["site"] == "us-average"
    assert out["version"]


def test_wall_clock_is_null_without_cluster_size():
    out = json.loads(run_cli(*LLAMA, "--format", "json").stdout)
    assert out["wall_clock_days"] is None


def test_table_is_readable():
    proc = run_cli(*LLAMA, "--accelerators", "16384", "--draws", "2000")
    assert proc.returncode == 0
    assert "gpu_hours" in proc.stdout and "p50" in proc.stdout and "2,000 draws" in proc.stdout


def test_console_script_and_help():
    proc = run_cli("--help")
    assert proc.returncode == 0 and "estimate" in proc.stdout and "simulate" in proc.stdout


@pytest.mark.parametrize(
    "args, needles",
    [
        (["--params", "0", "--tokens", "1e12"], ["--params", "from 1e+06 to 1e+15"]),
        (["--params", "405", "--tokens", "15.6e12"], ["--params", "got '405'", "not billions"]),
        (["--params", "405e9", "--tokens", "15.6"], ["--tokens", "not trillions"]),
        (["--params", "-1e9", "--tokens", "1e12"], ["--params"]),
        # argparse took these for flags: "expected one argument" instead of the range
        (["--flop", "-1e25"], ["--flop", "from 1e+15 to 1e+32", "got '-1e25'"]),
        (["--params", "-4e11", "--tokens", "1e12"], ["--params", "got '-4e11'"]),
        (["--flop", "1e24", "--mfu", "-1e-3"], ["--mfu", "from 0.001 to 1", "got '-1e-3'"]),
        (["--flop", "1e24", "--pue", "-1.5E+0"], ["--pue", "got '-1.5E+0'"]),
        (["--flop", "-inf"], ["--flop", "got '-inf'"]),
        (["--params", "nan", "--tokens", "1e12"], ["--params"]),
        (["--params", "lots", "--tokens", "1e12"], ["--params", "'lots'"]),
        (["--params", "1e9", "--tokens", "0"], ["--tokens"]),
        (["--flop", "1e24", "--params", "1e9", "--tokens", "1e12"], ["--flop", "not both"]),
        ([], ["--params/--tokens"]),
        (["--flop", "1e24", "--mfu", "1.2"], ["--mfu", "from 0.001 to 1"]),
        (["--flop", "1e24", "--mfu", "0"], ["--mfu"]),
        (["--flop", "1e24", "--draws", "0"], ["--draws"]),
        (["--flop", "1e24", "--draws", "100000000000"], ["--draws", "20,000,000"]),
        (["--flop", "1e24", "--format", "xml"], ["--format", "table"]),
        (["--flop", "1e24", "--backend", "tpu"], ["--backend", "auto, numpy, cupy"]),
        (["--flop", "1e24", "--accelerators", "2.5"], ["--accelerators"]),
        (["--flop", "1e24", "--precision", "fp4"], ["--precision", "bf16, fp8"]),
        (["--flop", "1e24", "--site", "mars"], ["--site", "unknown site"]),
        (["--flop", "1e24", "--pue", "0.5"], ["--pue"]),
        (["--flop", "1e24", "--mfu", "1e-300"], ["--mfu", "from 0.001 to 1"]),
        (["--flop", "1e24", "--goodput", "1e-300"], ["--goodput", "from 0.01 to 1"]),
        (["--flop", "3.8"], ["--flop", "from 1e+15 to 1e+32"]),
        (
            ["--params", "7e6", "--tokens", "2e6"],
            ["--params/--tokens", "6 x N x D = 8.4e+13 FLOP", "check the units"],
        ),
        (
            ["--flop", "1e24", "--gpu-hours", "1e14"],
            ["--gpu-hours", "MFU is at least 0.001", "not seconds"],
        ),
    ],
)
def test_bad_flags_exit_2_with_one_line(args, needles):
    proc = run_cli("estimate", "--accelerator", "h100-sxm", *args)
    assert_one_line_error(proc, *needles)


def test_unknown_accelerator_suggests_nearest_ids():
    line = assert_one_line_error(
        run_cli("estimate", "--flop", "1e24", "--accelerator", "h100"), "--accelerator"
    )
    assert "h100-sxm" in line


def test_missing_required_flag_and_unknown_command():
    assert_one_line_error(run_cli("estimate", "--flop", "1e24"), "--accelerator")
    assert_one_line_error(run_cli("train"), "invalid choice")


def test_cupy_when_unusable_is_exit_2():
    from analysis.backend import cupy_status

    if cupy_status()[0]:
        pytest.skip("a GPU is usable here; the refusal path needs a machine without one")
    assert_one_line_error(
        run_cli("estimate", "--flop", "1e24", "--accelerator", "h100-sxm", "--backend", "cupy"),
        "cupy",
    )


# ---- bad data files -------------------------------------------------------------------------


def _rewrite(path, old, new):
    text = path.read_text()
    assert old in text
    path.write_text(text.replace(old, new, 1))


def test_data_missing_column(data_copy):
    _rewrite(data_copy / "accelerators.csv", "tdp_w,", "tdp_watts,")
    line = assert_one_line_error(
        run_cli(*LLAMA, env=data_env(data_copy)), "accelerators.csv", "tdp_w"
    )
    assert "missing column" in line


def test_data_duplicate_id(data_copy):
    text = (data_copy / "sites.csv").read_text().splitlines()
    (data_copy / "sites.csv").write_text("\n".join(text + [text[1]]) + "\n")
    line = assert_one_line_error(
        run_cli(*LLAMA, env=data_env(data_copy)), "sites.csv", "duplicate id"
    )
    assert f"line {len(text) + 1}" in line


def test_data_non_numeric_value(data_copy):
    _rewrite(data_copy / "accelerators.csv", ",9.894e14,", ",fast,")
    assert_one_line_error(
        run_cli(*LLAMA, env=data_env(data_copy)),
        "accelerators.csv",
        "h100-sxm",
        "peak_bf16_flop_per_s",
        "'fast'",
    )


def test_data_nan_value(data_copy):
    _rewrite(data_copy / "accelerators.csv", ",9.894e14,", ",nan,")
    assert_one_line_error(run_cli(*LLAMA, env=data_env(data_copy)), "peak_bf16_flop_per_s")


def test_data_malformed_yaml(data_copy):
    (data_copy / "deals.yaml").write_text("deals:\n  - id: [unclosed\n")
    assert_one_line_error(run_cli(*LLAMA, env=data_env(data_copy)), "deals.yaml", "malformed YAML")


def test_data_deal_claim_without_source_or_assumption(data_copy):
    doc = yaml.safe_load((data_copy / "deals.yaml").read_text())
    deal = doc["deals"][0]
    for field in ("tranches",):
        if field in deal.get("sourced", []):
            deal["sourced"].remove(field)
        deal.get("assumptions", {}).pop(field, None)
    (data_copy / "deals.yaml").write_text(yaml.safe_dump(doc, sort_keys=False))
    assert_one_line_error(
        run_cli(*LLAMA, env=data_env(data_copy)), "deals.yaml", "deals[0]", "tranches"
    )


def test_data_deal_unknown_accelerator(data_copy):
    doc = yaml.safe_load((data_copy / "deals.yaml").read_text())
    doc["deals"][2]["accelerator"] = "h1000"
    (data_copy / "deals.yaml").write_text(yaml.safe_dump(doc, sort_keys=False))
    assert_one_line_error(run_cli(*LLAMA, env=data_env(data_copy)), "deals[2].accelerator", "h1000")


def test_data_missing_file(data_copy):
    (data_copy / "models.csv").unlink()
    assert_one_line_error(run_cli(*LLAMA, env=data_env(data_copy)), "models.csv", "not found")


# ---- careless and hostile flags: refused in one line, never a silently absurd result -------------

from inprocess import assert_one_line, call_main  # noqa: E402

EST = ["estimate", "--accelerator", "h100-sxm"]


@pytest.mark.parametrize(
    "args, needles",
    [
        (
            [*LLAMA[1:], "--gpu-hours", "30.84"],
            ["--gpu-hours", "30.84", "MFU of up to", "at most 1"],
        ),
        (
            [*LLAMA[1:], "--gpu-hours", "3.08e7", "--mfu", "0.4"],
            ["--mfu", "--gpu-hours", "one or the other"],
        ),
        (["--params", "1e300", "--tokens", "1e12"], ["--params", "to 1e+15", "got '1e300'"]),
        (["--params", "1e12", "--tokens", "1e20"], ["--tokens", "to 1e+16", "got '1e20'"]),
        (["--flop", "1e33"], ["--flop", "to 1e+32"]),
        (["--flop", "1e24", "--price-per-hour", "1e300"], ["--price-per-hour", "10,000"]),
        (["--flop", "1e24", "--accelerators", "1e300"], ["--accelerators", "100,000,000"]),
        (["--flop", "1e24", "--gpu-hours", "1e300"], ["--gpu-hours", "1e+15"]),
        (["--flop", "1e24", "--site", ""], ["--site", "empty"]),
        (["--flop", "1e24", "--site", "  "], ["--site", "empty"]),
        (["--flop", "1e24", "--seed", "inf"], ["--seed", "'inf'"]),
        (["--flop", "1e24", "--seed", str(2**64)], ["--seed", "9,223,372,036,854,775,807"]),
        (["--flop", "1e24", "--draws", "inf"], ["--draws"]),
    ],
)
def test_hostile_estimate_flags(args, needles):
    assert_one_line(call_main(*EST, *args), *needles)


@pytest.mark.parametrize(
    "command, flag, value",
    [
        *[
            (c, "--draws", v)
            for c in ("simulate", "bench")
            for v in ("inf", "nan", "1e400", "", "true")
        ],
        *[("simulate", "--seed", v) for v in ("inf", "-inf", "nan", "1e400")],
    ],
)
def test_non_finite_counts_on_simulate_and_bench(command, flag, value):
    assert_one_line(call_main(command, flag, value), flag)


def test_large_seeds_stay_distinct():
    """Seeds are parsed exactly: 2**53 and 2**53 + 1 used to become the same float."""
    runs = [
        json.loads(
            call_main(
                *EST, "--flop", "1e24", "--draws", "200", "--seed", str(s), "--format", "json"
            ).stdout
        )
        for s in (2**53, 2**53 + 1)
    ]
    assert runs[0]["inputs"]["seed"] == 2**53 and runs[1]["inputs"]["seed"] == 2**53 + 1
    assert runs[0]["gpu_hours"] != runs[1]["gpu_hours"]


def test_plausible_gpu_hours_give_mfu_within_one():
    out = json.loads(call_main(*LLAMA, "--gpu-hours", "3.08e7", "--format", "json").stdout)
    assert 0 < out["mfu"]["p10"] <= out["mfu"]["p90"] <= 1


def test_ctrl_c_is_one_line_exit_130(monkeypatch):
    import analysis.model.estimate

    def interrupted(**kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(analysis.model.estimate, "estimate", interrupted)
    outcome = call_main(*EST, "--flop", "1e24")
    assert (
        outcome.returncode == 130
        and outcome.stderr == "error: interrupted\n"
        and outcome.stdout == ""
    )


_STALLED_CLEANUP = """
import argparse, sys, time
import analysis.runs.cli as cli

cli.INTERRUPT_GRACE_S = 1.0

def stalls(args):
    try:
        print("ready", flush=True)
        time.sleep(120)
    finally:
        time.sleep(120)  # a clean-up that never ends (a worker pool that will not shut down)

parser = argparse.ArgumentParser()
parser.add_subparsers(dest="command").add_parser("sweep").set_defaults(func=stalls)
cli.build_parser = lambda: parser
sys.exit(cli.main(["sweep"]))
"""


def test_ctrl_c_leaves_within_the_grace_even_when_the_clean_up_hangs():
    import signal
    import subprocess
    import sys
    import time

    from conftest import PROJECT_ROOT

    proc = subprocess.Popen(
        [sys.executable, "-c", _STALLED_CLEANUP],
        cwd=PROJECT_ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout.readline().strip() == "ready"
        start = time.monotonic()
        proc.send_signal(signal.SIGINT)
        _, stderr = proc.communicate(timeout=60)
        took = time.monotonic() - start
    finally:
        proc.kill()
    assert proc.returncode == 130 and stderr == "error: interrupted\n", stderr
    assert took < 30, took  # the grace is 1 s here; without the deadline it sleeps 120 s


@pytest.mark.parametrize(
    "exc, needles",
    [
        (
            PermissionError(13, "Permission denied", "/srv/results/run"),
            ["/srv/results/run", "Permission denied"],
        ),
        (OSError(28, "No space left on device", "/srv/out.csv"), ["/srv/out.csv", "No space left"]),
        (OSError(30, "Read-only file system"), ["Read-only file system"]),
    ],
)
def test_os_errors_are_one_line(monkeypatch, exc, needles):
    import analysis.model.estimate

    def failing(**kwargs):
        raise exc

    monkeypatch.setattr(analysis.model.estimate, "estimate", failing)
    assert_one_line(call_main(*EST, "--flop", "1e24"), *needles)


def test_closed_pipe_exits_quietly():
    """`compute-race ... | head` closing the pipe early: no traceback, no 'internal error'."""
    import subprocess
    import sys

    from conftest import ROOT

    proc = subprocess.Popen(
        [sys.executable, "-m", "analysis", *LLAMA, "--draws", "100"],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    proc.stdout.close()  # the reader is gone before the table is printed
    stderr = proc.stderr.read().decode()
    proc.wait(timeout=300)
    assert stderr == "" and proc.returncode == 141, (proc.returncode, stderr)

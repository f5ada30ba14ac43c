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
        (["--params", "0", "--tokens", "1e12"], ["--params", "positive"]),
        (["--params", "-1e9", "--tokens", "1e12"], ["--params"]),
        (["--params", "nan", "--tokens", "1e12"], ["--params"]),
        (["--params", "lots", "--tokens", "1e12"], ["--params", "'lots'"]),
        (["--params", "1e9", "--tokens", "0"], ["--tokens"]),
        (["--flop", "1e24", "--params", "1e9", "--tokens", "1e12"], ["--flop", "not both"]),
        ([], ["--params/--tokens"]),
        (["--flop", "1e24", "--mfu", "1.2"], ["--mfu", "(0, 1]"]),
        (["--flop", "1e24", "--mfu", "0"], ["--mfu"]),
        (["--flop", "1e24", "--draws", "0"], ["--draws"]),
        (["--flop", "1e24", "--draws", "100000000000"], ["--draws", "20,000,000"]),
        (["--flop", "1e24", "--format", "xml"], ["--format", "table"]),
        (["--flop", "1e24", "--backend", "tpu"], ["--backend", "auto, numpy, cupy"]),
        (["--flop", "1e24", "--accelerators", "2.5"], ["--accelerators"]),
        (["--flop", "1e24", "--precision", "fp4"], ["--precision", "bf16, fp8"]),
        (["--flop", "1e24", "--site", "mars"], ["--site", "unknown site"]),
        (["--flop", "1e24", "--pue", "0.5"], ["--pue"]),
    ],
)
def test_bad_flags_exit_2_with_one_line(args, needles):
    proc = run_cli("estimate", "--accelerator", "h100-sxm", *args)
    assert_one_line_error(proc, *needles)


def test_unknown_accelerator_suggests_nearest_ids():
    line = assert_one_line_error(run_cli("estimate", "--flop", "1e24", "--accelerator", "h100"), "--accelerator")
    assert "h100-sxm" in line


def test_missing_required_flag_and_unknown_command():
    assert_one_line_error(run_cli("estimate", "--flop", "1e24"), "--accelerator")
    assert_one_line_error(run_cli("train"), "invalid choice")


def test_cupy_when_unusable_is_exit_2():
    from analysis.backend import cupy_status

    if cupy_status()[0]:
        pytest.skip("a GPU is usable here; the refusal path needs a machine without one")
    assert_one_line_error(run_cli("estimate", "--flop", "1e24", "--accelerator", "h100-sxm", "--backend", "cupy"),
                          "cupy")


# ---- bad data files -------------------------------------------------------------------------

def _rewrite(path, old, new):
    text = path.read_text()
    assert old in text
    path.write_text(text.replace(old, new, 1))


def test_data_missing_column(data_copy):
    _rewrite(data_copy / "accelerators.csv", "tdp_w,", "tdp_watts,")
    line = assert_one_line_error(run_cli(*LLAMA, env=data_env(data_copy)), "accelerators.csv", "tdp_w")
    assert "missing column" in line


def test_data_duplicate_id(data_copy):
    text = (data_copy / "sites.csv").read_text().splitlines()
    (data_copy / "sites.csv").write_text("\n".join(text + [text[1]]) + "\n")
    line = assert_one_line_error(run_cli(*LLAMA, env=data_env(data_copy)), "sites.csv", "duplicate id")
    assert f"line {len(text) + 1}" in line


def test_data_non_numeric_value(data_copy):
    _rewrite(data_copy / "accelerators.csv", ",9.894e14,", ",fast,")
    assert_one_line_error(run_cli(*LLAMA, env=data_env(data_copy)), "accelerators.csv", "h100-sxm",
                          "peak_bf16_flop_per_s", "'fast'")


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
    assert_one_line_error(run_cli(*LLAMA, env=data_env(data_copy)), "deals.yaml", "deals[0]", "tranches")


def test_data_deal_unknown_accelerator(data_copy):
    doc = yaml.safe_load((data_copy / "deals.yaml").read_text())
    doc["deals"][2]["accelerator"] = "h1000"
    (data_copy / "deals.yaml").write_text(yaml.safe_dump(doc, sort_keys=False))
    assert_one_line_error(run_cli(*LLAMA, env=data_env(data_copy)), "deals[2].accelerator", "h1000")


def test_data_missing_file(data_copy):
    (data_copy / "models.csv").unlink()
    assert_one_line_error(run_cli(*LLAMA, env=data_env(data_copy)), "models.csv", "not found")

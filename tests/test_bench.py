"""`python -m analysis bench`: the JSON contract (docs/architecture.md §4), the references it
measures against, and its input errors. No wall-clock assertions: performance is measured by the
command, not tested."""

from __future__ import annotations

import json

import pytest
from conftest import assert_one_line_error, run_cli

from analysis.backend import cupy_status

RESULT_KEYS = {
    "backend": str,
    "draws": int,
    "steps": int,
    "seconds": float,
    "scenario_steps_per_s": float,
    "speedup_vs_scalar": float,
    "speedup_vs_naive": float,
    "peak_memory_mb": float,
}


@pytest.fixture(scope="module")
def bench_json():
    proc = run_cli("bench", "--draws", "3000", "--backend", "numpy", "--format", "json")
    assert proc.returncode == 0, proc.stderr[-3000:]
    return json.loads(proc.stdout)


def test_bench_json_has_the_contract_keys_and_types(bench_json):
    out = bench_json
    assert isinstance(out["memcpy_gb_per_s"], float) and out["memcpy_gb_per_s"] > 0
    assert isinstance(out["device"], str) and out["device"]
    assert (
        isinstance(out["versions"], dict)
        and "numpy" in out["versions"]
        and "python" in out["versions"]
    )
    assert isinstance(out["results"], list) and [r["backend"] for r in out["results"]] == ["numpy"]
    for result in out["results"]:
        for key, kind in RESULT_KEYS.items():
            assert isinstance(result[key], kind), (key, result[key])
        assert result["draws"] == 3000 and result["steps"] == 36
        assert (
            result["seconds"] > 0
            and result["scenario_steps_per_s"] > 0
            and result["peak_memory_mb"] > 0
        )
        # The count of scenario-steps is draws x competitors x steps (the default scenario has 3).
        assert result["scenario_steps"] == 3000 * 3 * 36
        assert result["scenario_steps_per_s"] == pytest.approx(
            result["scenario_steps"] / result["seconds"]
        )


def test_bench_json_says_what_it_measured(bench_json):
    out = bench_json
    assert (
        out["workload"]["deals"] == [10, 7, 5] and out["workload"]["steps"] == 36
    )  # the default race (2026-12)
    assert "(draw, competitor, time step)" in out["scenario_step"]
    refs = out["references"]
    assert refs["all_agree"] is True
    assert refs["scalar"]["agreement"]["numpy"]["agrees"]
    assert refs["scalar"]["draws"] == 200 and refs["naive"]["draws"] == 3000
    result = out["results"][0]
    assert result["speedup_vs_naive"] == pytest.approx(
        result["scenario_steps_per_s"] / refs["naive"]["scenario_steps_per_s"]
    )
    f32 = out["float32"]
    assert f32["launches_differ"] == 0
    assert max(f32["max_rel_error"].values()) < 1e-4


def test_bench_times_the_explorers_updates_at_the_runs_draws(bench_json):
    ex = bench_json["explorer"]
    # --draws 3000 caps the explorer's 20,000 draws; every change made is one update timed
    assert ex["draws"] == 3000 and ex["updates"] == 6
    assert 0 < ex["update_seconds_median"] <= ex["update_seconds_max"]
    assert "figure redrawn" in ex["update_is"]


def test_bench_names_the_fast_path_that_ran_and_checks_it_against_the_spec(bench_json):
    from analysis.model.kernels import native, race_cpu

    result = bench_json["results"][0]
    assert result["fast_path"] == race_cpu.DESCRIPTION == bench_json["fast_path"]
    assert result["kernel"] == race_cpu.DESCRIPTION
    assert bench_json["compiled_helpers"] == native.status()
    assert "compiled at install" in native.status()  # make setup builds it
    agreement = bench_json["references"]["scalar"]["agreement"]
    assert agreement["numpy"]["agrees"] and agreement["array-api"]["agrees"]


def test_bench_reports_simulate_stages_and_estimate_rates(bench_json):
    stages = bench_json["results"][0]["stages"]
    assert stages["draws"] == 3000
    for key in ("sampling", "kernel", "outcomes", "quantiles", "race_statistics", "total"):
        assert isinstance(stages[key], float) and stages[key] >= 0, key
    # The quantiles run on the outcome thread, alongside the kernel: each stage fits in the total.
    assert stages["kernel"] > 0 and stages["total"] >= max(stages["kernel"], stages["quantiles"])
    assert stages["prefetch_threads"] >= 1
    assert stages["end_to_end_ratio"] == pytest.approx(stages["total"] / stages["kernel"])
    result = bench_json["results"][0]
    assert stages["end_to_end_vs_kernel_alone"] == pytest.approx(
        stages["total"] / result["seconds"]
    )
    assert isinstance(stages["cpu_seconds"], float) and stages["cpu_seconds"] > 0
    assert isinstance(stages["load_average_1min"], float) and stages["load_average_1min"] >= 0
    from analysis.model.sampling import sampler_status

    assert stages["sampler"] == sampler_status() and stages["sampler"].startswith(
        "native.c race_sample"
    )
    est = bench_json["estimate"]
    assert est["draws"] == 1000 and est["batch_configs_per_s"] > 0 and est["single_calls_per_s"] > 0
    assert est["batch_configs_per_s"] == pytest.approx(est["batch_configs"] / est["batch_seconds"])
    assert est["command_seconds"] > 0 and est["command_after_touch_seconds"] > 0


def test_timing_the_command_after_a_save_leaves_the_notebooks_as_they_were(tmp_path):
    """The bench touches every notebook (as a save does) and puts their file times back (here on
    copies, so that the notebooks other tests read keep their times)."""
    import shutil

    from analysis.paths import NOTEBOOKS_DIR
    from analysis.runs.bench import time_estimate_command_after_touch

    for source in sorted(NOTEBOOKS_DIR.glob("*.ipynb")) + sorted(NOTEBOOKS_DIR.glob("*.py")):
        shutil.copy2(source, tmp_path / source.name)
    notebooks = sorted(tmp_path.iterdir())
    before = {p: (p.stat().st_mtime_ns, p.read_bytes()) for p in notebooks}
    assert time_estimate_command_after_touch(runs=1, notebooks_dir=tmp_path) > 0
    assert {p: (p.stat().st_mtime_ns, p.read_bytes()) for p in notebooks} == before


def test_bench_table_runs():
    proc = run_cli("bench", "--draws", "500", "--backend", "numpy")
    assert proc.returncode == 0, proc.stderr[-3000:]
    for text in (
        "scenario-step",
        "numpy",
        "agrees",
        "CPU fast path:",
        "x the kernel timed alone; stages",
        "configurations/s",
        "right after touching every notebook",
        "at draws=1,000 (median of 3)",
        "explorer: 6 updates at 500 draws",
    ):
        assert text in proc.stdout, text
    assert "{" not in proc.stdout, "a format field printed unfilled"


@pytest.mark.parametrize("value", ["abc", "0", "-5", "2.5", "1e9", ""])
def test_bad_draws_is_one_line_error(value):
    assert_one_line_error(run_cli("bench", "--draws", value), "--draws")


def test_bad_backend_is_one_line_error():
    assert_one_line_error(run_cli("bench", "--draws", "10", "--backend", "tpu"), "--backend", "tpu")


def test_bad_format_is_one_line_error():
    assert_one_line_error(run_cli("bench", "--format", "yaml"), "--format")


@pytest.mark.skipif(
    cupy_status()[0], reason="CuPy is usable here: the GPU tests cover --backend cupy"
)
def test_cupy_without_a_gpu_is_one_line_error():
    assert_one_line_error(run_cli("bench", "--draws", "10", "--backend", "cupy"), "cupy")

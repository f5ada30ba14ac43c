"""The compiled CPU race kernel (`kernels/race_cpu.c`): same numbers as the NumPy step loop, and a
clean fallback when it cannot be built or used.

The kernel is bit-identical to the NumPy step loop of `race_tracks_numpy` but for one output: what an
unfinished single-deal track used (`server_w_steps`), summed in float32 there and float64 in NumPy.
The agreement of both with the generic kernel is in tests/test_race_numpy.py (parametrized over
both). Tests that need the kernel skip, with the build's reason, where no C compiler can build it.
"""

from __future__ import annotations

import functools
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from analysis.backend import select
from analysis.calibration import default_prior
from analysis.catalog import load_catalog
from analysis.kernels import race_cpu
from analysis.kernels.race_numpy import _Plan, race_tracks_numpy

from test_race_numpy import CASES, _kernel_inputs, cat  # noqa: F401  (cat is a fixture)

ROOT = Path(__file__).resolve().parents[1]
from analysis import _simulate as sim
NUMPY = select("numpy")


def _shipped_competitors(draws: int):
    """(competitor, plan, scenario, inputs) for each competitor of the shipped default scenario."""
    catalog = load_catalog()
    sc = sim.load_scenario(None, catalog)
    prior = default_prior(catalog)
    for i, comp in enumerate(sc.competitors):
        plan = sim.plan_competitor(i, comp, sc, catalog)
        yield comp, plan, sc, sim.sample_inputs(plan, sc, catalog, prior, 0, draws)


def _plan_of(ka) -> _Plan:
    """race_numpy's static plan of a call (which tracks are single-deal)."""
    return _Plan(ka.args[0], ka.args[1], ka.args[2], ka.args[4], ka.deal_gain, len(ka.args[6]), np.float32)


@pytest.fixture(scope="module")
def lib():
    if race_cpu.library() is None:
        pytest.skip(f"compiled race kernel: {race_cpu.status()}")
    return race_cpu.library()


def _single_deal_unfinished(ka, out_numpy):
    """Per deal: the draws where the deal's track is a single-deal track that did not finish."""
    plan = _plan_of(ka)
    mask = [np.zeros(ka.args[7].shape[0], bool) for _ in ka.args[1]]
    for t, (c, d) in plan.single.items():
        mask[d] = out_numpy["remaining_flop"][t] > 0
    return mask


@pytest.mark.parametrize("case", sorted(CASES))
def test_compiled_kernel_is_bit_identical_to_the_numpy_step_loop(cat, lib, case):  # noqa: F811
    _, _, _, ka = _kernel_inputs(cat, CASES[case], draws=2003)  # not a multiple of the 8 lanes
    ref = race_tracks_numpy(*ka.args, deal_gain=ka.deal_gain, compiled=False)
    got = race_tracks_numpy(*ka.args, deal_gain=ka.deal_gain, compiled=True, subchunk=517, threads=2)
    for key in ("elapsed_steps", "remaining_flop", "peak_facility_w"):
        for t, (a, b) in enumerate(zip(ref[key], got[key])):
            np.testing.assert_array_equal(b, a, err_msg=f"{case} {key} track {t}")
    unfinished = _single_deal_unfinished(ka, ref)
    for d, (a, b) in enumerate(zip(ref["server_w_steps"], got["server_w_steps"])):
        same = ~unfinished[d]
        np.testing.assert_array_equal(b[same], a[same], err_msg=f"{case} server_w_steps deal {d}")
        # The float32 sum of an unfinished track's steps against NumPy's float64 sum.
        np.testing.assert_allclose(b[~same], a[~same], rtol=5e-6, err_msg=f"{case} unfinished deal {d}")


def test_the_unfinished_case_exercises_the_float32_sum(cat, lib):  # noqa: F811
    _, _, _, ka = _kernel_inputs(cat, CASES["unfinished"], draws=500)
    ref = race_tracks_numpy(*ka.args, deal_gain=ka.deal_gain, compiled=False)
    assert any(m.any() for m in _single_deal_unfinished(ka, ref))


def test_the_shipped_scenario_uses_both_compiled_functions(lib):
    """The default scenario has single-deal tracks and one general track (two deals on a campus):
    both C functions run, and simulate's results match the NumPy step loop's to float32 rounding."""
    kinds = set()
    for comp, plan, sc, inputs in _shipped_competitors(3001):
        ka = sim.kernel_args(plan, sc, inputs, NUMPY, "float32")
        single = _plan_of(ka).single
        kinds |= {"single" if t in single else "general" for t in range(ka.args[0].n_tracks)}
        ref = race_tracks_numpy(*ka.args, deal_gain=ka.deal_gain, compiled=False)
        got = race_tracks_numpy(*ka.args, deal_gain=ka.deal_gain, compiled=True)
        for key in ref:
            for a, b in zip(ref[key], got[key]):
                np.testing.assert_allclose(b, a, rtol=5e-6, err_msg=f"{comp.label} {key}")
    assert kinds == {"single", "general"}


def test_float64_or_too_many_deals_fall_back_or_say_why(cat):  # noqa: F811
    assert race_cpu.unusable(np.float32, 6, 5) is None
    assert "float32" in race_cpu.unusable(np.float64, 6, 5)
    assert "at most 16 deals" in race_cpu.unusable(np.float32, 17, 5)
    _, _, _, ka = _kernel_inputs(cat, CASES["one-cluster-fixed-delay"], draws=300)
    args64 = [ka.args[0]] + [[None if a is None else np.asarray(a, np.float64) if a.dtype.kind == "f" else a
                              for a in x] if isinstance(x, list) else np.asarray(x, np.float64)
                             for x in ka.args[1:]]
    with pytest.raises(RuntimeError, match="float32 arrays, not float64"):
        race_tracks_numpy(*args64, deal_gain=ka.deal_gain, compiled=True)
    out = race_tracks_numpy(*args64, deal_gain=ka.deal_gain)  # default: the NumPy step loop runs
    assert out["elapsed_steps"][0].dtype == np.float64


def _status_in_subprocess(env_extra: dict, cache: Path) -> dict:
    """race_cpu's status and whether race_tracks_numpy still runs, in a fresh process."""
    code = (
        "import json, numpy as np\n"
        "from analysis.kernels import race_cpu\n"
        "print(json.dumps({'status': race_cpu.status(), 'lib': race_cpu.library() is not None}))\n"
    )
    env = {**os.environ, race_cpu.ENV_CACHE: str(cache), **env_extra}
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, cwd=ROOT,
                          timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr == ""  # the build is quiet: compiler output goes to build.log
    return json.loads(proc.stdout)


def test_switch_off_by_environment(tmp_path):
    got = _status_in_subprocess({race_cpu.ENV_SWITCH: "0"}, tmp_path / "cache")
    assert got == {"status": f"off ({race_cpu.ENV_SWITCH}=0)", "lib": False}
    assert not (tmp_path / "cache").exists()  # nothing built


def test_no_compiler_gives_a_reason_and_a_log(tmp_path):
    got = _status_in_subprocess({"CC": str(tmp_path / "no-such-cc")}, tmp_path / "cache")
    assert got["lib"] is False
    assert got["status"].startswith("not available: building race_cpu.c failed")
    assert "build.log" in got["status"]


def test_processes_building_at_once_each_get_a_working_module(tmp_path, lib):
    """Two processes with an empty cache build together (as pytest-xdist workers or sweep workers
    do): both load a complete module, and one module file is left."""
    cache = tmp_path / "cache"
    code = ("from analysis.kernels import race_cpu\n"
            "assert race_cpu.library() is not None, race_cpu.status()\n")
    env = {**os.environ, race_cpu.ENV_CACHE: str(cache)}
    procs = [subprocess.Popen([sys.executable, "-c", code], env=env, cwd=ROOT, stderr=subprocess.PIPE, text=True)
             for _ in range(2)]
    for p in procs:
        _, err = p.communicate(timeout=300)
        assert p.returncode == 0, err
    modules = [p for p in cache.rglob("_race_cpu_*") if p.is_file()]
    assert len(modules) == 1, modules
    assert not list(cache.rglob("build-*"))  # temporary build directories are removed


def test_a_changed_source_builds_afresh(monkeypatch, tmp_path):
    key = race_cpu.build_key(race_cpu.FLAG_SETS[0])
    changed = tmp_path / "race_cpu.c"
    changed.write_text(race_cpu.SOURCE_PATH.read_text() + "\n/* changed */\n")
    monkeypatch.setattr(race_cpu, "SOURCE_PATH", changed)
    assert race_cpu.build_key(race_cpu.FLAG_SETS[0]) != key


def test_simulate_outcomes_are_identical_compiled_or_not(lib, monkeypatch):
    """End to end: the one output that differs (what an unfinished track used) is never chosen, so
    every per-draw outcome of `run_chunk` is the same bit for bit with or without the compiled kernel."""
    for comp, plan, sc, inputs in _shipped_competitors(5000):
        got = sim.run_chunk(plan, sc, inputs, NUMPY, "float32")
        with monkeypatch.context() as m:
            m.setattr(sim, "race_kernel", lambda be: functools.partial(race_tracks_numpy, compiled=False))
            ref = sim.run_chunk(plan, sc, inputs, NUMPY, "float32")
        assert set(got) == set(ref)
        for key in ref:
            np.testing.assert_array_equal(np.asarray(got[key]), np.asarray(ref[key]), err_msg=f"{comp.label} {key}")


def test_an_index_out_of_range_raises_instead_of_reading_stray_memory(cat, lib):  # noqa: F811
    _, _, _, ka = _kernel_inputs(cat, CASES["binding-cap-uncertain-delays"], draws=100)
    args = list(ka.args)
    layout, power = args[0], args[2]
    reach = (layout.steps - 1) * layout.substeps
    for bad in (-1, len(power[0]) - reach):  # below the table, and one past the last valid start
        base = [b.copy() for b in args[3]]
        base[0][57] = bad
        with pytest.raises(RuntimeError, match="table index of deal 0 is out of range"):
            race_tracks_numpy(*args[:3], base, *args[4:], deal_gain=ka.deal_gain, compiled=True)
    caps = [None if b is None else b.copy() for b in args[5]]
    c = next(i for i, b in enumerate(caps) if b is not None)
    caps[c][3] = len(args[4][c]) - reach
    with pytest.raises(RuntimeError, match=f"campus {c} power cap is out of range"):
        race_tracks_numpy(*args[:5], caps, *args[6:], deal_gain=ka.deal_gain, compiled=True)
    # The largest valid start index is accepted.
    base = [b.copy() for b in args[3]]
    base[0][57] = len(power[0]) - 1 - reach
    race_tracks_numpy(*args[:3], base, *args[4:], deal_gain=ka.deal_gain, compiled=True)


def test_cffi_binds_the_three_functions_the_source_exports():
    import re

    names = re.findall(r"(race_\w+)\(", race_cpu.cdef())
    assert names == ["race_single", "race_general", "race_check"]
    assert race_cpu.cdef().count(";") == 3

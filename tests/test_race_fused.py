"""The fused CUDA race kernel's source, compiled for the CPU, agrees with the NumPy kernels.

`kernels/race_fused.py` keeps the kernel as C source that CuPy compiles on a GPU; here a C compiler
builds the same source with a loop over draws in place of CUDA threads, so the kernel's arithmetic
is checked on machines without a GPU (the CUDA launch itself is checked by tests/test_gpu.py).
Skipped without a C compiler.
"""

from __future__ import annotations

import ctypes
import shutil
import subprocess

import numpy as np
import pytest

from analysis.kernels.race import race_tracks
from analysis.kernels.race_fused import CPU_SOURCE, fits, pack_args, unpack
from analysis.kernels.race_numpy import race_tracks_numpy

from test_race_numpy import CASES, _compare, _kernel_inputs, cat  # noqa: F401  (cat is a fixture)


@pytest.fixture(scope="module")
def c_kernel(tmp_path_factory):
    cc = shutil.which("cc") or shutil.which("gcc") or shutil.which("clang")
    if cc is None:
        pytest.skip("no C compiler to build the fused kernel's source for the CPU")
    where = tmp_path_factory.mktemp("race-fused")
    source, library = where / "race_fused.c", where / "race_fused.so"
    source.write_text(CPU_SOURCE)
    # -ffp-contract=off: no fused multiply-adds, as --fmad=false on the GPU.
    subprocess.run([cc, "-O2", "-ffp-contract=off", "-shared", "-fPIC", "-o", str(library), str(source), "-lm"],
                   check=True, capture_output=True)
    return ctypes.CDLL(str(library)).race_all


def run_c(race_all, ka):
    args, outputs = pack_args(np, *ka.args, ka.deal_gain)
    c_args = [ctypes.c_longlong(int(args[0]))] + [ctypes.c_int(int(a)) for a in args[1:6]]
    arrays = [np.ascontiguousarray(a) for a in args[6:]] + list(outputs.values())
    race_all(*c_args, *[a.ctypes.data_as(ctypes.c_void_p) for a in arrays])
    return unpack(outputs)


@pytest.mark.parametrize("case", sorted(CASES))
def test_fused_source_agrees_with_the_generic_kernel(cat, c_kernel, case):  # noqa: F811
    plan, _, _, ka = _kernel_inputs(cat, CASES[case], draws=2000)
    assert fits(plan.layout, len(plan.campus_ids))
    ref = race_tracks(*ka.args, deal_gain=ka.deal_gain)
    got = run_c(c_kernel, ka)
    # Same float32 operations in the same order: equal but for the rare last-bit difference.
    for key in ref:
        for a, b in zip(ref[key], got[key]):
            np.testing.assert_allclose(b, a, rtol=1e-6, atol=0, err_msg=f"{case} {key}")


def test_fused_source_agrees_with_the_fast_path_on_partial_steps(cat, c_kernel):  # noqa: F811
    _, _, _, ka = _kernel_inputs(cat, CASES["late-start-partial-steps"], start_offset_months=2.4)
    _compare(race_tracks_numpy(*ka.args, deal_gain=ka.deal_gain), run_c(c_kernel, ka), ka.args[8])


def test_fused_source_on_the_default_scenario(c_kernel):
    from analysis import _simulate as sim
    from analysis.backend import select
    from analysis.calibration import default_prior
    from analysis.catalog import load_catalog

    catalog = load_catalog()
    sc = sim.load_scenario(None, catalog)
    for i, comp in enumerate(sc.competitors):
        plan = sim.plan_competitor(i, comp, sc, catalog)
        inputs = sim.sample_inputs(plan, sc, catalog, default_prior(catalog), 0, 3000)
        ka = sim.kernel_args(plan, sc, inputs, select("numpy"), "float32")
        _compare(race_tracks(*ka.args, deal_gain=ka.deal_gain), run_c(c_kernel, ka), ka.args[8])

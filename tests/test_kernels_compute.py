"""Single-run kernels on every backend agree with a NumPy float64 reference, keep dtype and
device."""

from __future__ import annotations

import numpy as np
import pytest

from analysis.backend import to_numpy
from analysis.model.kernels import compute as kc

RNG = np.random.default_rng(0)
HOURS = RNG.uniform(1e5, 3e7, 64)
MFU = RNG.uniform(0.15, 0.55, 64)
GOODPUT = RNG.uniform(0.85, 0.97, 64)
PUE = RNG.uniform(1.05, 1.4, 64)
LIFE = RNG.uniform(3, 6, 64)


def _on(backend, *arrays, dtype):
    return [backend.asarray(a.astype(dtype)) for a in arrays]


@pytest.mark.parametrize("dtype, rtol", [(np.float64, 1e-12), (np.float32, 2e-6)])
def test_single_run_chain_matches_reference(backend, dtype, rtol):
    flop, peak = 3.79e25, 9.894e14
    mfu, goodput, pue, life = _on(backend, MFU, GOODPUT, PUE, LIFE, dtype=dtype)
    hours = kc.accelerator_hours(flop, peak, mfu, goodput)
    power = kc.average_power_w(1274.0, 0.75, pue)
    energy = kc.energy_mwh(hours, power)
    cost = kc.owned_cost_usd(hours, 33600.0, life, energy, 80.6)
    carbon = kc.emissions_tco2e(energy, 384.0)
    for out in (hours, energy, cost, carbon):
        assert out.dtype == mfu.dtype
        assert getattr(out, "device", None) == getattr(mfu, "device", None)
    ref_hours = flop / (peak * MFU * GOODPUT * 3600)
    ref_energy = ref_hours * 1274.0 * 0.75 * PUE / 1e6
    ref_cost = ref_hours * 33600 * 1.19 / (LIFE * 8766) + ref_energy * 80.6
    np.testing.assert_allclose(to_numpy(hours), ref_hours, rtol=rtol)
    np.testing.assert_allclose(to_numpy(energy), ref_energy, rtol=rtol)
    np.testing.assert_allclose(to_numpy(cost), ref_cost, rtol=rtol)
    np.testing.assert_allclose(to_numpy(carbon), ref_energy * 0.384, rtol=rtol)


def test_implied_mfu_inverts_accelerator_hours(backend):
    (mfu,) = _on(backend, MFU, dtype=np.float64)
    hours = kc.accelerator_hours(1e24, 3.12e14, mfu, 0.9)
    np.testing.assert_allclose(to_numpy(kc.implied_mfu(1e24, hours, 3.12e14, 0.9)), MFU, rtol=1e-12)


def test_training_flop_is_six_n_d():
    assert kc.training_flop(405e9, 15.6e12) == pytest.approx(3.7908e25)


def test_wall_clock_and_peak_power_units():
    assert kc.wall_clock_days(24.0 * 1000, 1000) == pytest.approx(1.0)
    # 16,384 H100 at 1.274 kW server power per GPU and PUE 1.1: about 23 MW.
    assert kc.peak_power_mw(16384, 1274.0, 1.1) == pytest.approx(22.96, rel=1e-3)

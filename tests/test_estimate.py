"""The single-run estimator: the Done-when checks of the Foundation issue, through the Python
API."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from analysis import estimate
from analysis.errors import InputError

LLAMA = dict(params=405e9, tokens=15.6e12, accelerator="h100-sxm", accelerators=16384)
H100_PEAK = 9.894e14


def _ordered(q):
    return q["p10"] <= q["p50"] <= q["p90"]


def test_llama_405b_contract():
    r = estimate(**LLAMA)
    assert r.training_flop == pytest.approx(3.79e25, rel=1e-3)
    for name in (
        "mfu",
        "gpu_hours",
        "wall_clock_days",
        "energy_mwh",
        "cost_usd",
        "emissions_tco2e",
    ):
        assert _ordered(r.metrics[name]), name
    days, hours = r.metrics["wall_clock_days"], r.metrics["gpu_hours"]
    for k in ("p10", "p50", "p90", "mean"):
        assert days[k] == pytest.approx(hours[k] / 16384 / 24, rel=1e-9)


def test_fixed_mfu_and_goodput_give_the_documented_hours_exactly():
    r = estimate(**LLAMA, mfu=0.4, goodput=0.9)
    expected = r.training_flop / (H100_PEAK * 0.4 * 0.9) / 3600
    for k in ("p10", "p50", "p90", "mean"):
        assert r.metrics["gpu_hours"][k] == pytest.approx(expected, rel=1e-12)


def test_fixed_mfu_with_sampled_goodput_follows_goodput_quantiles():
    r = estimate(**LLAMA, mfu=0.4, draws=50_000, keep_draws=True)
    goodput = r.training_flop / (H100_PEAK * 0.4 * 3600 * r.draws["gpu_hours"].to_numpy())
    assert goodput.min() >= 0.85 - 1e-9 and goodput.max() <= 0.97 + 1e-9
    assert r.metrics["gpu_hours"]["p50"] == pytest.approx(
        r.training_flop / (H100_PEAK * 0.4 * np.median(goodput) * 3600), rel=1e-6
    )


def test_known_gpu_hours_drive_energy_and_cost_without_mfu():
    r = estimate(**LLAMA, gpu_hours=30.84e6, price_per_hour=2.0, pue=1.1, site="us-average")
    assert r.metrics["gpu_hours"]["p50"] == pytest.approx(30.84e6)
    assert r.metrics["cost_usd"]["p50"] == pytest.approx(30.84e6 * 2.0)
    # H100: 700 W x 1.82 server multiplier x 0.75 drawn x PUE 1.1 per accelerator-hour.
    assert r.metrics["energy_mwh"]["p50"] == pytest.approx(
        30.84e6 * 700 * 1.82 * 0.75 * 1.1 / 1e6, rel=1e-3
    )
    assert r.inputs["mfu"].startswith("implied")
    # The implied MFU moves only with goodput: 3.79e25 / (30.84e6 h x peak x goodput).
    assert 0.35 < r.metrics["mfu"]["p50"] < 0.42


def test_same_seed_same_answer_other_seed_differs():
    a = estimate(**LLAMA, seed=3)
    assert a.metrics == estimate(**LLAMA, seed=3).metrics
    assert a.metrics != estimate(**LLAMA, seed=4).metrics


def test_fp8_is_faster_than_bf16_but_not_twice():
    bf16 = estimate(**LLAMA, draws=20_000).metrics["gpu_hours"]["p50"]
    fp8 = estimate(**LLAMA, precision="fp8", draws=20_000).metrics["gpu_hours"]["p50"]
    assert bf16 / 2 < fp8 < bf16


def test_cost_basis_is_rental_for_every_accelerator(catalog):
    for chip in catalog.accelerators.values():
        r = estimate(flop=1e24, accelerator=chip.id, mfu=0.3, goodput=0.9, pue=1.2, draws=50)
        assert r.inputs["cost_basis"].startswith("rental"), chip.id
        if chip.rental_usd_per_hour is None:
            # A purchase price alone (H20, MI300X) never switches the basis to owned hardware.
            assert r.metrics["cost_usd"] is None and r.inputs["cost_method"].startswith("n/a"), (
                chip.id
            )
        else:
            assert r.metrics["cost_usd"]["p10"] < r.metrics["cost_usd"]["p90"], chip.id


@given(
    n=st.integers(min_value=1, max_value=200_000), extra=st.integers(min_value=1, max_value=200_000)
)
def test_more_accelerators_never_slower(n, extra):
    few = estimate(flop=1e25, accelerator="h100-sxm", accelerators=n, draws=200)
    many = estimate(flop=1e25, accelerator="h100-sxm", accelerators=n + extra, draws=200)
    for k in ("p10", "p50", "p90"):
        assert many.metrics["wall_clock_days"][k] <= few.metrics["wall_clock_days"][k]


@given(low=st.floats(0.05, 0.9), bump=st.floats(0.001, 0.1))
def test_higher_mfu_never_more_gpu_hours(low, bump):
    a = estimate(flop=1e25, accelerator="h100-sxm", mfu=low, draws=100)
    b = estimate(flop=1e25, accelerator="h100-sxm", mfu=min(low + bump, 1.0), draws=100)
    for k in ("p10", "p50", "p90"):
        assert b.metrics["gpu_hours"][k] <= a.metrics["gpu_hours"][k]


# hours from 2e6 to 5e8: fewer would imply an MFU above 1 for 1e24 FLOP on an A100, more one below
# 0.001 (both refused)
@given(pue=st.floats(1.0, 2.0), hours=st.floats(2e6, 5e8))
def test_energy_is_power_times_time(pue, hours):
    r = estimate(
        flop=1e24,
        accelerator="a100-sxm-80gb",
        gpu_hours=hours,
        pue=pue,
        draws=10,
        price_per_hour=1.0,
    )
    power_kw = 400 * 2.03 * 0.75 * pue / 1000
    assert r.metrics["energy_mwh"]["mean"] == pytest.approx(hours * power_kw / 1000, rel=1e-9)
    # The chips-only boundary drops the chip-to-server multiplier and nothing else.
    assert r.metrics["accelerator_energy_mwh"]["mean"] == pytest.approx(
        hours * power_kw / 2.03 / 1000, rel=1e-9
    )


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (dict(params=0, tokens=1e12), "--params"),
        (dict(params=-5, tokens=1e12), "--params"),
        (dict(params=math.nan, tokens=1e12), "--params"),
        (dict(params="abc", tokens=1e12), "--params"),
        (dict(params=1e9, tokens=1e12, flop=1e22), "not both"),
        (dict(), "--params/--tokens"),
        (dict(params=1e9), "--tokens"),
        (dict(params=1e9, tokens=1e12, mfu=1.5), "--mfu"),
        (dict(params=1e9, tokens=1e12, mfu=0), "--mfu"),
        (dict(params=1e9, tokens=1e12, draws=0), "--draws"),
        (dict(params=1e9, tokens=1e12, draws=10**9), "--draws"),
        (dict(params=1e9, tokens=1e12, precision="fp4"), "--precision"),
        (dict(params=1e9, active_params=2e9, tokens=1e12), "--active-params"),
        (dict(flop=1e24, accelerator=None), "--accelerator: expected an id"),  # was a TypeError
        (dict(flop=1e24, accelerator=["h100-sxm"]), "--accelerator: expected an id"),
        (dict(flop=1e24, site=5), "--site: expected an id"),
        # booleans were read as numbers: estimate(mfu=True) was MFU 1.0
        (dict(flop=1e24, mfu=True), "--mfu: .*got True \\(a boolean\\)"),
        (dict(flop=1e24, accelerators=True), "--accelerators: .*a boolean"),
        (dict(flop=1e24, goodput=np.True_), "--goodput: .*a boolean"),
        (dict(flop=1e24, keep_draws="no"), "keep_draws: expected True or False"),
    ],
)
def test_bad_input_is_an_input_error(kwargs, message):
    kwargs.setdefault("accelerator", "h100-sxm")
    with pytest.raises(InputError, match=message):
        estimate(**kwargs)


def test_unknown_accelerator_suggests_near_ids():
    with pytest.raises(InputError, match="did you mean.*h100-sxm"):
        estimate(flop=1e24, accelerator="h100")


def test_fp8_on_a_chip_without_fp8_is_refused():
    with pytest.raises(InputError, match="no FP8 peak"):
        estimate(flop=1e24, accelerator="a100-sxm-80gb", precision="fp8")


def test_a_chip_without_a_price_still_answers_everything_but_cost():
    r = estimate(params=7e9, tokens=2e12, accelerator="mi355x", draws=500)
    assert r.metrics["cost_usd"] is None
    for name in ("mfu", "gpu_hours", "energy_mwh", "emissions_tco2e"):
        assert _ordered(r.metrics[name]), name
    said = (
        "n/a (no price for mi355x: no public per-GPU-hour list price found in the sources searched "
        "(2026-12); give --price-per-hour)"
    )
    assert r.inputs["cost_method"] == said
    assert said in r.to_table()
    assert r.to_dict()["cost_usd"] is None
    priced = estimate(params=7e9, tokens=2e12, accelerator="mi355x", draws=500, price_per_hour=1.5)
    assert priced.metrics["gpu_hours"] == r.metrics["gpu_hours"]
    assert priced.metrics["cost_usd"]["p50"] == pytest.approx(r.metrics["gpu_hours"]["p50"] * 1.5)


@pytest.mark.parametrize("accelerator", ["a100-sxm-80gb", "tpu-v4", "b300", "mi355x"])
def test_done_when_estimates_exit_0_with_hours_energy_and_cost_or_na(cli, accelerator, catalog):
    proc = cli(
        "estimate",
        "--params",
        "7e9",
        "--tokens",
        "2e12",
        "--accelerator",
        accelerator,
        "--draws",
        "500",
        "--format",
        "json",
    )
    assert proc.returncode == 0, proc.stderr
    d = json.loads(proc.stdout)
    assert d["gpu_hours"]["p50"] > 0 and d["energy_mwh"]["p50"] > 0
    assert (d["cost_usd"] is None) == (
        catalog.accelerators[accelerator].rental_usd_per_hour is None
    )
    table = cli(
        "estimate",
        "--params",
        "7e9",
        "--tokens",
        "2e12",
        "--accelerator",
        accelerator,
        "--draws",
        "500",
    )
    assert table.returncode == 0 and "cost basis: rental" in table.stdout


def test_the_prior_depends_on_the_accelerator_generation():
    a100 = estimate(
        params=7e9, tokens=2e12, accelerator="a100-sxm-80gb", draws=2000, price_per_hour=1.0
    )
    h100 = estimate(params=7e9, tokens=2e12, accelerator="h100-sxm", draws=2000, price_per_hour=1.0)
    # Published A100 runs imply a higher utilization of their (lower) peak than H100 runs do.
    assert a100.metrics["mfu"]["p50"] > h100.metrics["mfu"]["p50"]


def test_every_accelerator_estimates_with_a_cost_or_the_reason_there_is_none(catalog):
    for chip in catalog.accelerators.values():
        r = estimate(params=3e9, tokens=2e12, accelerator=chip.id, accelerators=512, draws=300)
        assert _ordered(r.metrics["gpu_hours"]) and _ordered(r.metrics["wall_clock_days"]), chip.id
        if chip.rental_usd_per_hour is not None:
            assert _ordered(r.metrics["cost_usd"]), chip.id
        else:
            assert r.metrics["cost_usd"] is None, chip.id
            assert chip.rental_na_reason and chip.rental_na_reason in r.inputs["cost_method"]


@pytest.mark.parametrize("accelerator", ["gh200", "a800-sxm-80gb", "mi250x", "mi250", "trainium1"])
def test_the_new_accelerators_answer_with_a_cost(cli, accelerator):
    proc = cli(
        "estimate", "--params", "8e9", "--tokens", "2e12", "--accelerator", accelerator,
        "--accelerators", "512", "--draws", "500", "--format", "json",
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    d = json.loads(proc.stdout)
    assert d["cost_usd"]["p50"] > 0 and d["wall_clock_days"]["p50"] > 0


def test_a_chip_without_a_price_says_why_in_the_table(cli):
    proc = cli("estimate", "--params", "7e9", "--tokens", "2e12", "--accelerator", "ascend-910")
    assert proc.returncode == 0, proc.stderr
    assert "n/a (no price for ascend-910: no public rental list price outside China" in proc.stdout


def test_a_chip_whose_generation_has_no_calibration_run_says_so(catalog):
    from analysis.model.calibration import default_prior

    prior = default_prior(catalog)
    for chip in catalog.accelerators.values():
        r = estimate(params=8e9, tokens=2e12, accelerator=chip.id, draws=300, price_per_hour=1.0)
        note = r.inputs["mfu_extrapolation"]
        if chip.family in prior.offsets:
            assert note is None, chip.id
            assert "MFU note" not in r.to_table()
        else:
            weight = f"{prior._naive_weight(chip.id, 1)[0]:.0%}"
            assert note.startswith(f"no calibration run on {chip.family};"), chip.id
            assert weight in note and f"MFU note: {note}" in r.to_table()
    # A fixed MFU is not the prior's: no note.
    fixed = estimate(params=8e9, tokens=2e12, accelerator="b300", mfu=0.4, draws=300)
    assert fixed.inputs["mfu_extrapolation"] is None

"""The race kernel: capacity online per time step, power caps, training progress, first crossing.

Layout: a loop over time steps, each step vectorized over a chunk of draws (K,). Capacity comes from
per-deal lookup tables on a fine grid of "deal time" (months since nominal delivery, step-averaged
on the host); a draw's delivery delay is a whole number of fine-grid cells, so the table index of
draw k at step i is ``base[k] + i * substeps`` and one gather gives the capacity of every draw.

Per campus (power domain) at step i, for every draw:
    flops = sum_d gather(flops_table_d)        FLOP/s at peak of the accelerators online
    watts = sum_d gather(power_table_d) * pue  facility W at rating
    scale = min(1, cap_mw * 1e6 / watts)       accelerators beyond the power cap sit idle
    inc   = flops * scale * rate * dt_s        FLOP of progress this step (rate = MFU x goodput x
    share)
Each track (one campus, or all campuses pooled when a run may span sites) keeps ``remaining`` FLOP.
The share of the step still needed is ``use = clip(remaining / inc, 0, 1)``: 1 before the crossing,
the interpolated fraction in the crossing step, 0 after, so ``elapsed = sum(use)`` is the finish
time in steps (linear within the step) and accelerator-steps and peak power are accumulated with
``use``.

Array-API code: NumPy, CuPy and array-api-strict run the same lines. It is the specification of
the race: the CPU fast path (`race_cpu.c` via `race_cpu.py`) and the scalar reference
(`analysis/model/reference.py`) must agree with it (tests/test_race_cpu.py).
"""

from __future__ import annotations

from dataclasses import dataclass

from array_api_compat import array_namespace

from .compute import facility_usd_per_hour, owned_cost_usd

#: Floor of a step's progress in the division below: 1 FLOP keeps remaining / inc finite in float32
#: (targets are far below 3e38) and a step of no capacity yields use = 1 (waiting, not done).
_ONE_FLOP = 1.0


@dataclass(frozen=True)
class RaceLayout:
    """Static structure of one competitor's capacity: which deal is on which campus and track."""

    deal_campus: tuple[int, ...]
    campus_track: tuple[int, ...]
    n_tracks: int
    steps: int
    substeps: int
    dt_s: float
    #: Fraction of each step after the training start (0 before it, 1 after): shape (steps,).
    start_fraction: tuple[float, ...]


def race_tracks(
    layout: RaceLayout,
    flops_tables,
    power_tables,
    deal_base,
    cap_tables,
    cap_base,
    campus_pue,
    rate,
    target_flop,
    /,
    *,
    deal_gain=None,
    xp=None,
):
    """Run one competitor's tracks over all steps for a chunk of K draws.

    Arguments (device arrays unless noted):
      flops_tables[d], power_tables[d]: 1-D tables, accelerators online x peak FLOP/s and x server W
        at rating (no PUE), step-averaged, indexed by fine-grid position.
      deal_base[d]: (K,) integer table index of step 0 for each draw (its delay already applied).
      cap_tables[c], cap_base[c]: campus power-cap table (MW) and its (K,) base index, or None.
      campus_pue[c]: (K,) PUE of campus c for each draw.
      rate: (K,) MFU x goodput x share; target_flop: (K,) FLOP to train.
      deal_gain[d]: optional (K,) throughput multiplier of deal d (FP8 gain), or None.
    Returns lists of (K,) arrays: ``elapsed_steps`` and ``remaining_flop`` and ``peak_facility_w``
    per track, ``server_w_steps`` per deal (server W x steps of the capacity the run used, at full
    share: divide by server W per accelerator for accelerator-steps).
    """
    xp = array_namespace(rate) if xp is None else xp
    n_deals = len(flops_tables)
    n_campus = len(campus_pue)
    zeros = xp.zeros_like(rate)
    ones = xp.ones_like(rate)
    remaining = [xp.asarray(target_flop, copy=True) for _ in range(layout.n_tracks)]
    elapsed = [xp.zeros_like(rate) for _ in range(layout.n_tracks)]
    peak_w = [xp.zeros_like(rate) for _ in range(layout.n_tracks)]
    server_w_steps = [xp.zeros_like(rate) for _ in range(n_deals)]
    deals_of = [[d for d in range(n_deals) if layout.deal_campus[d] == c] for c in range(n_campus)]
    campuses_of = [
        [c for c in range(n_campus) if layout.campus_track[c] == t] for t in range(layout.n_tracks)
    ]
    for i in range(layout.steps):
        offset = i * layout.substeps
        frac = layout.start_fraction[i]
        deal_w = [None] * n_deals
        campus_flops, campus_scale, campus_facility_w = [], [], []
        for c in range(n_campus):
            flops, server_w = zeros, zeros
            for d in deals_of[c]:
                idx = deal_base[d] + offset
                f = xp.take(flops_tables[d], idx)
                if deal_gain is not None and deal_gain[d] is not None:
                    f = f * deal_gain[d]
                deal_w[d] = xp.take(power_tables[d], idx)
                flops = flops + f
                server_w = server_w + deal_w[d]
            facility_w = server_w * campus_pue[c]
            if cap_tables[c] is not None:
                cap_w = xp.take(cap_tables[c], cap_base[c] + offset) * 1e6
                over = facility_w > cap_w
                scale = xp.where(over, cap_w / xp.where(over, facility_w, ones), ones)
            else:
                scale = ones
            campus_flops.append(flops * scale)
            campus_scale.append(scale)
            campus_facility_w.append(facility_w * scale)
        for t in range(layout.n_tracks):
            flops, facility_w = zeros, zeros
            for c in campuses_of[t]:
                flops = flops + campus_flops[c]
                facility_w = facility_w + campus_facility_w[c]
            inc = flops * (rate * (layout.dt_s * frac))
            use = xp.clip(remaining[t] / xp.maximum(inc, xp.full_like(inc, _ONE_FLOP)), 0.0, 1.0)
            remaining[t] = remaining[t] - inc
            elapsed[t] = elapsed[t] + use
            busy = use * frac
            peak_w[t] = xp.where(busy > 0, xp.maximum(peak_w[t], facility_w), peak_w[t])
            for c in campuses_of[t]:
                for d in deals_of[c]:
                    server_w_steps[d] = server_w_steps[d] + deal_w[d] * campus_scale[c] * busy
    return {
        "elapsed_steps": elapsed,
        "remaining_flop": remaining,
        "peak_facility_w": peak_w,
        "server_w_steps": server_w_steps,
    }


@dataclass(frozen=True)
class DealCosts:
    """Static cost and power figures of one deal (host scalars)."""

    kind: str
    server_w: float
    server_power_fraction: float
    grid_gco2_per_kwh: float
    electricity_usd_per_mwh: float
    rate_usd_per_gpu_hour: float | None
    purchase_price_usd: float | None


def first_finish(kernel_out: dict, /, *, xp=None):
    """(finish_steps, chosen): per draw, the earliest finish over the tracks (steps; inf when no
    track finishes) and the track that gives it (the first such track on ties; 0 when none
    finishes).

    A loop over tracks on (K,) arrays: no (tracks, K) stack and no strided argmin."""
    elapsed, remaining = kernel_out["elapsed_steps"], kernel_out["remaining_flop"]
    xp = array_namespace(elapsed[0]) if xp is None else xp
    inf = xp.full_like(elapsed[0], float("inf"))
    finish = xp.where(remaining[0] <= 0, elapsed[0], inf)
    zero = xp.astype(xp.zeros_like(finish), xp.int64)  # on finish's device
    chosen = zero
    for t in range(1, len(elapsed)):
        f = xp.where(remaining[t] <= 0, elapsed[t], inf)
        better = f < finish
        chosen = xp.where(better, zero + t, chosen)
        finish = xp.where(better, f, finish)
    return finish, chosen


def race_outcomes(
    layout: RaceLayout,
    kernel_out: dict,
    deal_track,
    costs: list[DealCosts],
    deal_pue,
    share,
    price_factor,
    life_years,
    build_usd_per_mw,
    committed_hours,
    /,
    *,
    start_months: float,
    dt_months: float,
    hours_per_step: float,
    first=None,
    xp=None,
):
    """Per-draw outcomes of one competitor from the kernel's accumulators.

    deal_track: tuple of the track index of each deal. deal_pue[d], price_factor[d]: (K,) per deal
    (price_factor[d] None for an owned deal, which pays no price).
    share, life_years, build_usd_per_mw: (K,). committed_hours[d]: (K,) accelerator-hours the deal
    delivers during the run window (reserved deals; None otherwise), at full share.
    first: `first_finish(kernel_out)` when the caller has it already.
    Returns a dict of (K,) arrays; draws that do not finish within the horizon get NaN for every
    metric except ``finish_month`` (inf) and ``finished`` (False).
    """
    xp = array_namespace(share) if xp is None else xp
    finish, chosen = first_finish(kernel_out, xp=xp) if first is None else first
    finished = xp.isfinite(finish)
    nan = xp.full_like(share, float("nan"))

    gpu_hours = xp.zeros_like(share)
    energy = xp.zeros_like(share)
    cost = xp.zeros_like(share)
    committed = xp.zeros_like(share)
    emissions = xp.zeros_like(share)
    for d, c in enumerate(costs):
        on_track = xp.astype(chosen == deal_track[d], share.dtype)
        hours = kernel_out["server_w_steps"][d] * (hours_per_step / c.server_w) * share * on_track
        mwh = hours * (c.server_w * c.server_power_fraction * 1e-6) * deal_pue[d]
        if c.kind == "owned":
            facility = facility_usd_per_hour(build_usd_per_mw, c.server_w, deal_pue[d])
            deal_cost = owned_cost_usd(
                hours,
                c.purchase_price_usd,
                life_years,
                mwh,
                c.electricity_usd_per_mwh,
                facility_usd_per_gpu_hour=facility,
            )
        else:
            deal_cost = hours * (c.rate_usd_per_gpu_hour * price_factor[d])
            if c.kind == "reserved" and committed_hours[d] is not None:
                committed = committed + committed_hours[d] * on_track * (
                    c.rate_usd_per_gpu_hour * price_factor[d]
                )
        gpu_hours = gpu_hours + hours
        energy = energy + mwh
        cost = cost + deal_cost
        emissions = emissions + mwh * (c.grid_gco2_per_kwh * 1e-3)

    peak = kernel_out["peak_facility_w"][0]
    for t in range(1, len(kernel_out["peak_facility_w"])):
        peak = xp.where(chosen == t, kernel_out["peak_facility_w"][t], peak)
    finish_month = finish * dt_months
    return {
        "finished": finished,
        "finish_month": finish_month,
        "time_to_train_months": xp.where(finished, finish_month - start_months, nan),
        "gpu_hours": xp.where(finished, gpu_hours, nan),
        "energy_mwh": xp.where(finished, energy, nan),
        "peak_power_mw": xp.where(finished, peak * share * 1e-6, nan),
        "cost_usd": xp.where(finished, cost, nan),
        "committed_usd": xp.where(finished, committed, nan),
        "emissions_tco2e": xp.where(finished, emissions, nan),
        "track": chosen,
    }

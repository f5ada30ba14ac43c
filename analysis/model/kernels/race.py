"""The race kernel: when each run launches, on which campus, with how many accelerators.

A lab plans a run as labs do: it launches no earlier than its planned launch month, on the largest
single campus (track) online then, with an accelerator count fixed at launch (a share of the
campus, or a given count), for a wall-clock budget. Training FLOP are then an output: throughput at
launch x the run's length. When the run aims at a compute target, the lab launches at the first
step whose planned compute within the budget reaches the target (capacity that arrives after the
launch serves the next run, not this one); with algorithmic progress the raw FLOP a target needs
halve every `halving` months.

Layout: a loop over time steps, each vectorized over a chunk of draws (K,). Capacity comes from
per-deal lookup tables on a fine grid of "deal time" (months since nominal delivery, step-averaged
on the host); a draw's delivery delay is a whole number of fine-grid cells, so the table index of
draw k at step i is ``base[k] + i * substeps``.

Per campus c at step i, for every draw:
    flops = sum_d gather(flops_table_d) (x gain_d)   FLOP/s at peak of the accelerators online
    watts = sum_d gather(power_table_d)               server W at rating
    units = sum_d gather(power_table_d) / server_w_d  accelerators online
    scale = min(1, cap_mw * 1e6 / (watts * pue))      accelerators beyond the power cap sit idle
Per track t (one campus, or all campuses pooled when a run may span sites): F, W, N summed over
its campuses, each x scale. With the run's fraction f (the share, or count / N):
    planned = f * F * rate * budget_s                 FLOP the run would train within its budget
    need    = need0 * 2 ** (-t_launch / halving)      raw FLOP the target needs at that launch
    ok      = step open for launch, not launched yet, F > 0, f <= 1, planned >= need
The first step with an ok track launches the run on the ok track with the largest f * F (the
first such track on ties), at t_launch = max(earliest, i * dt).

Array-API code: NumPy, CuPy and array-api-strict run the same lines. It is the specification of
the race: the CPU fast path (`race_cpu.py`) and the scalar reference
(`analysis/model/reference.py`) must agree with it (tests/test_race_cpu.py).
"""

from __future__ import annotations

from dataclasses import dataclass

from array_api_compat import array_namespace

from ...constants import SECONDS_PER_HOUR, SECONDS_PER_MONTH
from .compute import facility_usd_per_hour, owned_cost_usd

#: ln 2: 2 ** x is written exp(x ln 2), the array API having no exp2.
LN2 = 0.6931471805599453


@dataclass(frozen=True)
class RaceLayout:
    """Static structure of one competitor's capacity: which deal is on which campus and track."""

    deal_campus: tuple[int, ...]
    campus_track: tuple[int, ...]
    n_tracks: int
    steps: int
    substeps: int
    dt_months: float
    horizon_months: float
    #: All-in server W per accelerator of each deal (host constants): power table / this = units.
    deal_server_w: tuple[float, ...]


def launch_runs(
    layout: RaceLayout,
    flops_tables,
    power_tables,
    deal_base,
    cap_tables,
    cap_base,
    campus_pue,
    earliest_months,
    share,
    rate,
    budget_s,
    need_flop,
    inv_halving_months,
    /,
    *,
    count=None,
    deal_gain=None,
    xp=None,
):
    """Launch one competitor's run for a chunk of K draws.

    Arguments (device arrays unless noted):
      flops_tables[d], power_tables[d]: 1-D tables, accelerators online x peak FLOP/s and x server W
        at rating (no PUE), step-averaged, indexed by fine-grid position.
      deal_base[d]: (K,) integer table index of step 0 for each draw (its delay already applied).
      cap_tables[c], cap_base[c]: campus power-cap table (MW) and its (K,) base index, or None.
      campus_pue[c]: (K,) PUE of campus c for each draw.
      earliest_months: (K,) the planned launch, months after the scenario start (may be negative).
      share: (K,) fraction of the track's accelerators the run may take (unused with `count`).
      rate: (K,) MFU x goodput; budget_s: (K,) wall-clock budget in seconds.
      need_flop: (K,) raw FLOP the target needs at the scenario start (0: no target, a budget run).
      inv_halving_months: (K,) 1 / months per halving of the FLOP a fixed capability needs (0: raw).
      count: optional (K,) accelerators the run takes (its fraction is count / units online).
      deal_gain[d]: optional (K,) throughput multiplier of deal d (FP8 gain), or None.
    Returns a dict of (K,) arrays: ``launch_months`` (inf where the run cannot launch within the
    horizon), ``track``, ``run_flops`` (peak FLOP/s of the run's accelerators), ``run_facility_w``,
    ``need_flop`` (raw FLOP the target needs at the launch; 0 for budget runs), and the list
    ``run_server_w`` per deal (server W the run uses of deal d; 0 off its track).
    """
    xp = array_namespace(rate) if xp is None else xp
    n_deals = len(flops_tables)
    n_campus = len(campus_pue)
    dt = layout.dt_months
    zeros = xp.zeros_like(rate)
    ones = xp.ones_like(rate)
    inf = xp.full_like(rate, float("inf"))
    launch = inf
    track = xp.astype(zeros, xp.int64)
    run_flops = zeros
    run_facility_w = zeros
    need_at = zeros
    run_server_w = [zeros for _ in range(n_deals)]
    pending = xp.ones(rate.shape, dtype=xp.bool, device=getattr(rate, "device", None))
    deals_of = [[d for d in range(n_deals) if layout.deal_campus[d] == c] for c in range(n_campus)]
    campuses_of = [
        [c for c in range(n_campus) if layout.campus_track[c] == t] for t in range(layout.n_tracks)
    ]
    inv_w = [1.0 / w for w in layout.deal_server_w]
    for i in range(layout.steps):
        offset = i * layout.substeps
        # The first step launches at the planned month itself, even one before the start (a run in
        # flight at the start, `hindsight`): capacity is then read at step 0.
        step_start = xp.full_like(rate, i * dt if i else -float("inf"))
        t_launch = xp.maximum(earliest_months, step_start)
        open_ = pending & (earliest_months < (i + 1) * dt) & (t_launch < layout.horizon_months)
        need = need_flop * xp.exp(-(t_launch * inv_halving_months) * LN2)
        deal_w = [None] * n_deals
        c_flops, c_units, c_fac, c_scale = [], [], [], []
        for c in range(n_campus):
            flops, server_w, units = zeros, zeros, zeros
            for d in deals_of[c]:
                idx = deal_base[d] + offset
                f = xp.take(flops_tables[d], idx)
                if deal_gain is not None and deal_gain[d] is not None:
                    f = f * deal_gain[d]
                deal_w[d] = xp.take(power_tables[d], idx)
                flops = flops + f
                server_w = server_w + deal_w[d]
                units = units + deal_w[d] * inv_w[d]
            facility_w = server_w * campus_pue[c]
            if cap_tables[c] is not None:
                cap_w = xp.take(cap_tables[c], cap_base[c] + offset) * 1e6
                over = facility_w > cap_w
                scale = xp.where(over, cap_w / xp.where(over, facility_w, ones), ones)
            else:
                scale = ones
            c_flops.append(flops * scale)
            c_units.append(units * scale)
            c_fac.append(facility_w * scale)
            c_scale.append(scale)
        best = zeros
        best_t = xp.astype(zeros, xp.int64) - 1
        best_f = zeros
        best_fac = zeros
        for t in range(layout.n_tracks):
            flops, units, fac = zeros, zeros, zeros
            for c in campuses_of[t]:
                flops = flops + c_flops[c]
                units = units + c_units[c]
                fac = fac + c_fac[c]
            if count is None:
                frac = share
                fits = flops > 0
            else:
                frac = count / xp.where(units > 0, units, ones)
                fits = (flops > 0) & (frac <= 1)
            run = frac * flops
            ok = open_ & fits & (run * rate * budget_s >= need)
            better = ok & (run > best)
            best = xp.where(better, run, best)
            best_t = xp.where(better, xp.astype(zeros, xp.int64) + t, best_t)
            best_f = xp.where(better, frac, best_f)
            best_fac = xp.where(better, frac * fac, best_fac)
        now = best_t >= 0
        launch = xp.where(now, t_launch, launch)
        track = xp.where(now, best_t, track)
        run_flops = xp.where(now, best, run_flops)
        run_facility_w = xp.where(now, best_fac, run_facility_w)
        need_at = xp.where(now, need, need_at)
        for t in range(layout.n_tracks):
            on = now & (best_t == t)
            for c in campuses_of[t]:
                for d in deals_of[c]:
                    run_server_w[d] = xp.where(on, best_f * deal_w[d] * c_scale[c], run_server_w[d])
        pending = pending & ~now
    return {
        "launch_months": launch,
        "track": track,
        "run_flops": run_flops,
        "run_facility_w": run_facility_w,
        "need_flop": need_at,
        "run_server_w": run_server_w,
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


def run_timing(
    layout: RaceLayout, kernel_out: dict, rate, budget_s, /, *, count_given: bool, xp=None
):
    """How much of the launch's capacity the run uses, how long it runs, when it finishes.

    A run on a share of its campus sizes itself to its target: it takes the accelerators that
    train the target in exactly its budget (``use`` = the fraction of the share's capacity it
    takes; 1 for a run without a target, which trains for its budget on the whole share). A run
    of a given count takes them all and runs until the target is reached (at most its budget).
    Returns (K,) arrays: ``use``, ``run_s`` (seconds), ``finish_months`` (inf where the run does
    not finish within the horizon) and ``finished``.
    """
    launch, flops, need = (kernel_out[k] for k in ("launch_months", "run_flops", "need_flop"))
    xp = array_namespace(rate) if xp is None else xp
    ones = xp.ones_like(rate)
    launched = xp.isfinite(launch)
    targeted = need > 0
    speed = flops * rate  # FLOP/s of the capacity the run was given, at its MFU x goodput
    safe = xp.where(launched & (speed > 0), speed, ones)
    if count_given:
        use = ones
        run_s = xp.where(targeted, xp.minimum(need / safe, budget_s), budget_s)
    else:
        use = xp.where(targeted, xp.minimum(need / (safe * budget_s), ones), ones)
        run_s = budget_s
    finish = launch + run_s / SECONDS_PER_MONTH
    finished = launched & (finish <= layout.horizon_months)
    inf = xp.full_like(rate, float("inf"))
    return {
        "use": use,
        "run_s": run_s,
        "finish_months": xp.where(finished, finish, inf),
        "finished": finished,
    }


def run_outcomes(
    layout: RaceLayout,
    kernel_out: dict,
    timing: dict,
    deal_track,
    costs: list[DealCosts],
    deal_pue,
    price_factor,
    life_years,
    build_usd_per_mw,
    committed_hours,
    rate,
    efficiency,
    progress_inv_h,
    lag_months,
    /,
    *,
    xp=None,
):
    """Per-draw outcomes of one competitor's run from the kernel's output and `run_timing`.

    deal_track: the track index of each deal; deal_pue[d], price_factor[d]: (K,) per deal
    (price_factor[d] None for an owned deal, which pays no price); committed_hours[d]: (K,)
    accelerator-hours a reserved deal delivers during the run (None otherwise), at full share.
    efficiency: (K,) effective FLOP per FLOP of the lab's recipe; progress_inv_h: (K,) 1 / months
    per halving of the compute a fixed capability needs; lag_months: (K,) post-training.
    Returns a dict of (K,) arrays; draws that do not finish within the horizon get NaN for every
    metric but ``launch_months`` (inf when the run never launched), ``finish_month`` and
    ``release_month`` (inf) and ``finished`` (False).
    """
    xp = array_namespace(rate) if xp is None else xp
    finished = timing["finished"]
    use, run_s = timing["use"], timing["run_s"]
    track = kernel_out["track"]
    nan = xp.full_like(rate, float("nan"))
    hours_run = run_s / SECONDS_PER_HOUR
    gpu_hours = xp.zeros_like(rate)
    energy = xp.zeros_like(rate)
    cost = xp.zeros_like(rate)
    committed = xp.zeros_like(rate)
    emissions = xp.zeros_like(rate)
    for d, c in enumerate(costs):
        on_track = xp.astype(track == deal_track[d], rate.dtype)
        hours = kernel_out["run_server_w"][d] * (use / c.server_w) * hours_run
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
    launch = kernel_out["launch_months"]
    training = kernel_out["run_flops"] * use * rate * run_s
    zero = xp.zeros_like(rate)
    progress = xp.exp(xp.where(finished, launch, zero) * progress_inv_h * LN2)
    finish = timing["finish_months"]
    return {
        "finished": finished,
        "launch_month": launch,
        "finish_month": finish,
        "time_to_train_months": finish,
        "release_month": finish + lag_months,
        "run_length_months": xp.where(finished, run_s / SECONDS_PER_MONTH, nan),
        "training_flop": xp.where(finished, training, nan),
        "effective_flop": xp.where(finished, training * efficiency * progress, nan),
        "gpu_hours": xp.where(finished, gpu_hours, nan),
        "energy_mwh": xp.where(finished, energy, nan),
        "peak_power_mw": xp.where(finished, kernel_out["run_facility_w"] * use * 1e-6, nan),
        "cost_usd": xp.where(finished, cost, nan),
        "committed_usd": xp.where(finished, committed, nan),
        "emissions_tco2e": xp.where(finished, emissions, nan),
        "track": track,
    }

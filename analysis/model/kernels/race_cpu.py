"""The CPU fast path of the race kernel: `race.launch_runs` on the draws still waiting to launch.

`launch_runs_cpu` takes `launch_runs`'s arguments (NumPy arrays) and returns the same dict, the
same numbers bit for bit (the same float32 operations in the same order, on fewer draws). The
array-API kernel evaluates every draw at every step; here each step evaluates only the draws whose
planned launch has come and that have not launched yet, so a draw costs one step when its campus is
ready at its planned month (every budget run) and a few more while it waits for capacity. Steps
at which a draw cannot launch even by an upper bound of the kernel's condition (no power cap,
every deal at the most it has delivered by then) are skipped before the loop, so a run waiting
years for a campus big enough for its target costs a few bisection steps, not a pass per month.
"""

from __future__ import annotations

import numpy as np

from .race import LN2, RaceLayout, launch_runs

#: Relative slack on the bound that skips steps (the bound is float64, the kernel float32; the
#: slack keeps every step at which the kernel could launch a draw).
_BOUND_SLACK = 1e-3


def _first_feasible(
    layout,
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
    inv_h,
    count,
    deal_gain,
    step,
):
    """Per draw, the first step >= `step` at which its launch is conceivable (`layout.steps` when
    none is): an upper bound of the kernel's condition that is monotone in the step, searched by
    bisection.

    The bound reads each deal's table at the draw's own index, as the kernel does, but through a
    running maximum (capacity a deal has ever had by then: retirements are ignored), caps each
    campus at the most its power cap has ever allowed, and takes the draw's largest gain; the need
    is the one at that step's launch month. The kernel cannot launch a draw before that step, so
    the fast path starts there, and a draw with none is never evaluated."""
    n_deals, n_campus = len(flops_tables), len(campus_pue)
    steps, sub = layout.steps, layout.substeps
    f64 = lambda a: np.asarray(a, dtype=np.float64)  # noqa: E731
    gain = np.ones(rate.shape, dtype=np.float64)
    for g in deal_gain or ():
        if g is not None:
            gain = np.maximum(gain, g)
    run_flops = [np.maximum.accumulate(f64(t)) for t in flops_tables]
    run_units = [
        np.maximum.accumulate(f64(t)) / w for t, w in zip(power_tables, layout.deal_server_w)
    ]
    run_caps = [None if t is None else np.maximum.accumulate(f64(t)) * 1e6 for t in cap_tables]
    # Each table padded with its last value to the farthest index a draw reads (its base plus the
    # last step's offset), so that a read needs no clipping.
    reach = (steps - 1) * sub + 1

    def padded(table, base):
        short = int(np.max(base, initial=0)) + reach - table.shape[0]
        return np.pad(table, (0, short), mode="edge") if short > 0 else table

    run_flops = [padded(t, b) for t, b in zip(run_flops, deal_base)]
    run_units = [padded(t, b) for t, b in zip(run_units, deal_base)]
    run_caps = [None if t is None else padded(t, b) for t, b in zip(run_caps, cap_base)]
    deals_of = [[d for d in range(n_deals) if layout.deal_campus[d] == c] for c in range(n_campus)]
    # Per campus: peak FLOP/s per accelerator and per facility W at the draw's PUE (highest deal).
    per_unit = []
    for c in range(n_campus):
        best = 0.0
        for d in deals_of[c]:
            p = f64(power_tables[d])
            ratio = np.where(p > 0, f64(flops_tables[d]) / np.where(p > 0, p, 1.0), 0.0)
            best = max(best, float(np.max(ratio)) * layout.deal_server_w[d])
        per_unit.append(best)
    least_w = [
        min((layout.deal_server_w[d] for d in deals_of[c]), default=1.0) for c in range(n_campus)
    ]
    v = {
        "e": earliest_months.astype(np.float64),
        "per_s": f64(rate) * f64(budget_s) * (1 + _BOUND_SLACK),
        "need0": f64(need_flop) * (1 - _BOUND_SLACK),
        "inv": f64(inv_h),
        "shared": np.asarray(share) > 0,
        "share_per_s": f64(share) * f64(rate) * f64(budget_s) * (1 + _BOUND_SLACK),
        "count": None if count is None else f64(count),
        "gain": gain,
        "deal_gain": [None if g is None else f64(g) for g in (deal_gain or [None] * n_deals)],
        "base": list(deal_base),
        "cap_base": list(cap_base),
        "pue": [f64(p) for p in campus_pue],
    }

    def feasible(j, v):
        month = np.where(j == 0, v["e"], np.maximum(v["e"], j * layout.dt_months))
        need = v["need0"] * np.exp2(-month * v["inv"])
        off = np.minimum(j, steps - 1) * sub
        gain = v["gain"]
        flops_c, units_c = [], []
        for c in range(n_campus):
            flops = units = 0.0
            # Accelerator counts matter only to a power cap or a run of a given count.
            counted = run_caps[c] is not None or v["count"] is not None
            for d in deals_of[c]:
                idx = v["base"][d] + off
                g = v["deal_gain"][d]
                flops = flops + (run_flops[d][idx] if g is None else run_flops[d][idx] * g)
                if counted:
                    units = units + run_units[d][idx]
            if run_caps[c] is not None:
                cap_w = run_caps[c][v["cap_base"][c] + off]
                units = np.minimum(units, cap_w / (v["pue"][c] * least_w[c]))
                flops = np.minimum(flops, units * per_unit[c] * gain)
            flops_c.append(flops)
            units_c.append(units)
        ok = np.zeros(j.shape, dtype=bool)
        for t in range(layout.n_tracks):
            camps = [c for c in range(n_campus) if layout.campus_track[c] == t]
            flops = sum(flops_c[c] for c in camps) * (1 + _BOUND_SLACK)
            units = sum(units_c[c] for c in camps) * (1 + _BOUND_SLACK)
            if v["count"] is None:
                ok |= v["shared"] & (flops > 0) & (flops * v["share_per_s"] >= need)
            else:
                peak = max(per_unit[c] for c in camps) if camps else 0.0
                ok |= (units >= v["count"]) & (v["count"] * peak * gain * v["per_s"] >= need)
        return ok & (j < steps)

    out = step.copy()
    ready = feasible(step, v)  # most draws: their first open step already qualifies
    # The bound is monotone, so a draw it refuses at the last step never launches.
    never = ~ready & ~feasible(np.full(step.shape, steps - 1, dtype=np.int64), v)
    out[never] = steps
    rest = np.nonzero(~ready & ~never)[0]
    if rest.size == 0:
        return out
    # Bisection over the draws that must wait, on their own copies of the inputs.
    sub_v = {
        key: (
            None
            if a is None
            else [None if x is None else x[rest] for x in a]
            if isinstance(a, list)
            else a[rest]
        )
        for key, a in v.items()
    }
    low = step[rest] + 1
    high = np.full(rest.shape, steps, dtype=np.int64)
    while True:
        open_ = low < high
        if not open_.any():
            break
        mid = np.where(open_, (low + high) // 2, low)
        ok = feasible(mid, sub_v)
        high = np.where(open_ & ok, mid, high)
        low = np.where(open_ & ~ok, mid + 1, low)
    out[rest] = low
    return out


def launch_runs_cpu(
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
    """`race.launch_runs` on NumPy, evaluating only the draws open for launch at each step.

    Same arguments and returned dict; other dtypes than float32 and float64 run the array-API
    kernel itself."""
    if rate.dtype not in (np.float32, np.float64):  # pragma: no cover - callers pass float32/64
        return launch_runs(
            layout,
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
            count=count,
            deal_gain=deal_gain,
        )
    k = rate.shape[0]
    dtype = rate.dtype
    n_deals = len(flops_tables)
    n_campus = len(campus_pue)
    dt = layout.dt_months
    launch = np.full(k, np.inf, dtype=dtype)
    track = np.zeros(k, dtype=np.int64)
    run_flops = np.zeros(k, dtype=dtype)
    run_facility_w = np.zeros(k, dtype=dtype)
    need_at = np.zeros(k, dtype=dtype)
    run_server_w = [np.zeros(k, dtype=dtype) for _ in range(n_deals)]
    out = {
        "launch_months": launch,
        "track": track,
        "run_flops": run_flops,
        "run_facility_w": run_facility_w,
        "need_flop": need_at,
        "run_server_w": run_server_w,
    }
    if k == 0:
        return out
    deals_of = [[d for d in range(n_deals) if layout.deal_campus[d] == c] for c in range(n_campus)]
    campuses_of = [
        [c for c in range(n_campus) if layout.campus_track[c] == t] for t in range(layout.n_tracks)
    ]
    inv_w = [dtype.type(1.0 / w) for w in layout.deal_server_w]
    # Each draw's first open step: the smallest i >= 0 with earliest < float32((i + 1) dt), as the
    # array-API kernel compares; then the first step its launch is conceivable at (a bound), and one
    # pass per step of waiting from there, each draw at its own step.
    idx = np.arange(k)
    e_all = earliest_months
    step = np.maximum(np.floor(e_all.astype(np.float64) / dt), 0).astype(np.int64)
    for _ in range(2):  # float32 rounding of the step edges: move a draw by one step either way
        late = e_all >= ((step + 1) * dt).astype(dtype)
        step = np.where(late, step + 1, step)
        early = (step > 0) & (e_all < (step * dt).astype(dtype))
        step = np.where(early, step - 1, step)
    if np.any(need_flop > 0):  # budget runs launch at their first step with capacity: no bound
        step = _first_feasible(
            layout,
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
            count,
            deal_gain,
            step,
        )
    one = dtype.type(1)
    horizon = dtype.type(layout.horizon_months)
    while idx.size:
        keep = step < layout.steps
        idx, step = idx[keep], step[keep]
        if idx.size == 0:
            break
        full = idx.size == k  # every draw (the first pass, usually): no gathers of the inputs
        pick = (lambda a: a) if full else (lambda a: a[idx])  # noqa: E731
        e = pick(earliest_months)
        edge = (step * dt).astype(dtype)
        edge[step == 0] = -np.inf
        t_launch = np.maximum(e, edge)
        in_horizon = t_launch < horizon
        need = pick(need_flop) * np.exp(-(t_launch * pick(inv_halving_months)) * dtype.type(LN2))
        offset = step * layout.substeps
        deal_w = [None] * n_deals
        c_flops, c_units, c_fac, c_scale = [], [], [], []
        zeros = np.zeros(idx.size, dtype=dtype)
        ones = np.ones(idx.size, dtype=dtype)
        for c in range(n_campus):
            flops, server_w, units = zeros, zeros, zeros
            for d in deals_of[c]:
                j = pick(deal_base[d]) + offset
                f = np.take(flops_tables[d], j)
                if deal_gain is not None and deal_gain[d] is not None:
                    f = f * pick(deal_gain[d])
                deal_w[d] = np.take(power_tables[d], j)
                flops = flops + f
                server_w = server_w + deal_w[d]
                units = units + deal_w[d] * inv_w[d]
            facility_w = server_w * pick(campus_pue[c])
            if cap_tables[c] is not None:
                cap_w = np.take(cap_tables[c], pick(cap_base[c]) + offset) * dtype.type(1e6)
                over = facility_w > cap_w
                scale = np.where(over, cap_w / np.where(over, facility_w, ones), ones)
            else:
                scale = ones
            c_flops.append(flops * scale)
            c_units.append(units * scale)
            c_fac.append(facility_w * scale)
            c_scale.append(scale)
        r = pick(rate)
        b = pick(budget_s)
        best = zeros
        best_t = np.full(idx.size, -1, dtype=np.int16)
        best_f = zeros
        best_fac = zeros
        for t in range(layout.n_tracks):
            flops, units, fac = zeros, zeros, zeros
            for c in campuses_of[t]:
                flops = flops + c_flops[c]
                units = units + c_units[c]
                fac = fac + c_fac[c]
            if count is None:
                frac = pick(share)
                fits = flops > 0
            else:
                frac = pick(count) / np.where(units > 0, units, ones)
                fits = (flops > 0) & (frac <= one)
            run = frac * flops
            ok = in_horizon & fits & (run * r * b >= need)
            better = ok & (run > best)
            best = np.where(better, run, best)
            best_t = np.where(better, np.int16(t), best_t)
            best_f = np.where(better, frac, best_f)
            best_fac = np.where(better, frac * fac, best_fac)
        now = best_t >= 0
        if full:  # nothing written yet: whole arrays
            np.copyto(launch, t_launch, where=now)
            np.copyto(track, best_t, where=now)
            np.copyto(run_flops, best, where=now)
            np.copyto(run_facility_w, best_fac, where=now)
            np.copyto(need_at, need, where=now)
        else:
            sel = idx[now]
            launch[sel] = t_launch[now]
            track[sel] = best_t[now]
            run_flops[sel] = best[now]
            run_facility_w[sel] = best_fac[now]
            need_at[sel] = need[now]
        for t in range(layout.n_tracks):
            on = now & (best_t == t)
            if not on.any():
                continue
            for c in campuses_of[t]:
                for d in deals_of[c]:
                    used = best_f * deal_w[d] * c_scale[c]
                    if full:
                        np.copyto(run_server_w[d], used, where=on)
                    else:
                        run_server_w[d][idx[on]] = used[on]
        wait = ~now & in_horizon
        idx, step = idx[wait], step[wait] + 1
    return out


#: What runs the race on NumPy, for `bench` and provenance.
DESCRIPTION = "race_cpu.launch_runs_cpu (NumPy on the draws waiting to launch)"

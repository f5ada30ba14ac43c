"""The scalar reference of the race kernel, for the benchmark and the tests.

It takes `race_tracks`'s arguments (NumPy arrays) and return the same dict, and implement the same
model (kernels/race.py docstring): per campus, the capacity of every deal gathered from its table
at the draw's delayed index, the power cap, then per track the progress, the first crossing of the
target interpolated within the step, the peak facility power and the accelerator-W-steps used.

`scalar_race`: pure Python loops over draws, steps, campuses and deals, in float64: what one writes
first, and the yardstick "one configuration per Python call" peers are measured by. It is not used
by `simulate`; it exists so that `python -m analysis bench` and the tests can show the kernels (the
array-API kernel and the CPU fast path) give the same answers, and how much faster they are.
"""

from __future__ import annotations

import numpy as np

#: Progress floor of the kernel (FLOP per step): see kernels/race.py.
_ONE_FLOP = 1.0


def _structure(layout, n_deals, n_campus):
    deals_of = [[d for d in range(n_deals) if layout.deal_campus[d] == c] for c in range(n_campus)]
    campuses_of = [
        [c for c in range(n_campus) if layout.campus_track[c] == t] for t in range(layout.n_tracks)
    ]
    return deals_of, campuses_of


def scalar_race(
    layout,
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
):
    """The race kernel as pure Python loops over draws and steps (float64); same dict of arrays."""
    n_deals, n_campus = len(flops_tables), len(campus_pue)
    deals_of, campuses_of = _structure(layout, n_deals, n_campus)
    ftab = [np.asarray(t, dtype=np.float64).tolist() for t in flops_tables]
    ptab = [np.asarray(t, dtype=np.float64).tolist() for t in power_tables]
    ctab = [None if t is None else np.asarray(t, dtype=np.float64).tolist() for t in cap_tables]
    base = [np.asarray(b).tolist() for b in deal_base]
    cbase = [None if b is None else np.asarray(b).tolist() for b in cap_base]
    pue = [np.asarray(p, dtype=np.float64).tolist() for p in campus_pue]
    rate_l = np.asarray(rate, dtype=np.float64).tolist()
    target_l = np.asarray(target_flop, dtype=np.float64).tolist()
    gain = [
        None if deal_gain is None or g is None else np.asarray(g, dtype=np.float64).tolist()
        for g in (deal_gain or [None] * n_deals)
    ]
    k_draws = len(rate_l)
    out = {
        "elapsed_steps": [[0.0] * k_draws for _ in range(layout.n_tracks)],
        "remaining_flop": [[0.0] * k_draws for _ in range(layout.n_tracks)],
        "peak_facility_w": [[0.0] * k_draws for _ in range(layout.n_tracks)],
        "server_w_steps": [[0.0] * k_draws for _ in range(n_deals)],
    }
    for k in range(k_draws):
        remaining = [target_l[k]] * layout.n_tracks
        elapsed = [0.0] * layout.n_tracks
        peak = [0.0] * layout.n_tracks
        served = [0.0] * n_deals
        deal_w = [0.0] * n_deals
        for i in range(layout.steps):
            offset = i * layout.substeps
            frac = layout.start_fraction[i]
            c_flops, c_scale, c_fac = [0.0] * n_campus, [1.0] * n_campus, [0.0] * n_campus
            for c in range(n_campus):
                flops = server_w = 0.0
                for d in deals_of[c]:
                    j = base[d][k] + offset
                    f = ftab[d][j]
                    if gain[d] is not None:
                        f *= gain[d][k]
                    deal_w[d] = ptab[d][j]
                    flops += f
                    server_w += deal_w[d]
                facility_w = server_w * pue[c][k]
                scale = 1.0
                if ctab[c] is not None:
                    cap_w = ctab[c][cbase[c][k] + offset] * 1e6
                    if facility_w > cap_w:
                        scale = cap_w / facility_w
                c_flops[c], c_scale[c], c_fac[c] = flops * scale, scale, facility_w * scale
            for t in range(layout.n_tracks):
                flops = facility_w = 0.0
                for c in campuses_of[t]:
                    flops += c_flops[c]
                    facility_w += c_fac[c]
                inc = flops * rate_l[k] * layout.dt_s * frac
                use = min(max(remaining[t] / max(inc, _ONE_FLOP), 0.0), 1.0)
                remaining[t] -= inc
                elapsed[t] += use
                busy = use * frac
                if busy > 0:
                    peak[t] = max(peak[t], facility_w)
                    for c in campuses_of[t]:
                        for d in deals_of[c]:
                            served[d] += deal_w[d] * c_scale[c] * busy
        for t in range(layout.n_tracks):
            out["elapsed_steps"][t][k] = elapsed[t]
            out["remaining_flop"][t][k] = remaining[t]
            out["peak_facility_w"][t][k] = peak[t]
        for d in range(n_deals):
            out["server_w_steps"][d][k] = served[d]
    return {key: [np.asarray(v, dtype=np.float64) for v in values] for key, values in out.items()}


def compare(layout, reference: dict, candidate: dict, target_flop, *, rtol: float) -> dict:
    """How far `candidate` is from `reference` (dicts of lists of (K,) arrays, as the kernel
    returns).

    Largest relative difference of the elapsed steps (finish time) and peak power of every track
    that finishes in both, and of the accelerator-W-steps of the deals of those tracks (relative to
    the track's total, what accelerator-hours are made of); the count of
    tracks whose "finished" flag differs, not counting a crossing within 1e-4 of the target at the
    horizon's end (float rounding may put it either side). ``agrees`` when every difference is
    within `rtol` and no flag differs.
    """
    worst = {"elapsed_steps": 0.0, "peak_facility_w": 0.0, "server_w_steps": 0.0}
    flags = 0
    target = np.asarray(target_flop, dtype=np.float64)
    both_done = []
    for r_rem, c_rem in zip(reference["remaining_flop"], candidate["remaining_flop"]):
        r_rem, c_rem = np.asarray(r_rem, dtype=np.float64), np.asarray(c_rem, dtype=np.float64)
        near = np.abs(r_rem) <= 1e-4 * target
        flags += int(np.count_nonzero(((r_rem <= 0) != (c_rem <= 0)) & ~near))
        both_done.append((r_rem <= 0) & (c_rem <= 0))

    def rel(a, b, mask):
        a = np.asarray(a, dtype=np.float64)[mask]
        b = np.asarray(b, dtype=np.float64)[mask]
        return float(np.max(np.abs(b - a) / np.maximum(np.abs(a), 1e-30))) if a.size else 0.0

    for t, mask in enumerate(both_done):
        for key in ("elapsed_steps", "peak_facility_w"):
            worst[key] = max(worst[key], rel(reference[key][t], candidate[key][t], mask))
    # A deal's accelerator-W-steps are compared relative to its track's total: a deal that only
    # joins in the crossing step holds a few float32 ulps of the run, and its own relative error
    # says nothing about the run's accelerator-hours.
    track_of = [
        layout.campus_track[layout.deal_campus[d]] for d in range(len(reference["server_w_steps"]))
    ]
    totals = [
        sum(
            np.asarray(reference["server_w_steps"][d], dtype=np.float64)
            for d in range(len(track_of))
            if track_of[d] == t
        )
        for t in range(len(both_done))
    ]
    for d, (a, b) in enumerate(zip(reference["server_w_steps"], candidate["server_w_steps"])):
        t = track_of[d]
        mask = both_done[t]
        diff = np.abs(np.asarray(b, dtype=np.float64) - np.asarray(a, dtype=np.float64))[mask]
        scale = np.maximum(np.abs(np.asarray(totals[t]))[mask], 1e-30)
        worst["server_w_steps"] = max(
            worst["server_w_steps"], float(np.max(diff / scale)) if diff.size else 0.0
        )
    return {
        "max_rel_diff": worst,
        "finished_flags_differ": flags,
        "agrees": flags == 0 and all(v <= rtol for v in worst.values()),
    }

"""The scalar reference of the race kernel, for the benchmark and the tests.

`scalar_launch` takes `launch_runs`'s arguments (NumPy arrays) and returns the same dict: pure
Python loops over draws, steps, tracks, campuses and deals, in float64, written as one would first
write the model (kernels/launch.py docstring): from the planned launch month on, each step reads the
capacity of every deal from its table at the draw's delayed index, applies the campus's power cap,
and launches the run on the largest track whose planned compute within the budget reaches the
target. It is not used by `simulate`; `python -m analysis bench` and the tests use it to show that
the array-API kernel and the CPU fast path give the same answers, and how much faster they are.
"""

from __future__ import annotations

import math

import numpy as np


def _lists(arrays, dtype=np.float64):
    return [None if a is None else np.asarray(a, dtype=dtype).tolist() for a in arrays]


def scalar_launch(
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
    /,
    *,
    count=None,
    deal_gain=None,
):
    """The race kernel as pure Python loops (float64); the same dict of arrays as `launch_runs`."""
    n_deals, n_campus = len(flops_tables), len(campus_pue)
    deals_of = [[d for d in range(n_deals) if layout.deal_campus[d] == c] for c in range(n_campus)]
    campuses_of = [
        [c for c in range(n_campus) if layout.campus_track[c] == t] for t in range(layout.n_tracks)
    ]
    ftab, ptab, ctab = _lists(flops_tables), _lists(power_tables), _lists(cap_tables)
    base, cbase = _lists(deal_base, np.int64), _lists(cap_base, np.int64)
    pue = _lists(campus_pue)
    gain = _lists(deal_gain or [None] * n_deals)
    e_l, s_l, r_l, b_l, n_l, h_l = _lists(
        [earliest_months, share, rate, budget_s, need_flop, inv_halving_months]
    )
    c_l = None if count is None else _lists([count])[0]
    dt = layout.dt_months
    k_draws = len(r_l)
    out = {
        "launch_months": [math.inf] * k_draws,
        "track": [0] * k_draws,
        "run_flops": [0.0] * k_draws,
        "run_facility_w": [0.0] * k_draws,
        "need_flop": [0.0] * k_draws,
        "run_server_w": [[0.0] * k_draws for _ in range(n_deals)],
    }
    for k in range(k_draws):
        for i in range(layout.steps):
            if e_l[k] >= (i + 1) * dt:
                continue  # before the planned launch
            t_launch = e_l[k] if i == 0 else max(e_l[k], i * dt)
            if t_launch >= layout.horizon_months:
                break
            need = n_l[k] * 2.0 ** (-t_launch * h_l[k])
            offset = i * layout.substeps
            flops_c, units_c, fac_c, scale_c, deal_w = [], [], [], [], [0.0] * n_deals
            for c in range(n_campus):
                flops = server_w = units = 0.0
                for d in deals_of[c]:
                    j = base[d][k] + offset
                    f = ftab[d][j] * (gain[d][k] if gain[d] is not None else 1.0)
                    deal_w[d] = ptab[d][j]
                    flops += f
                    server_w += deal_w[d]
                    units += deal_w[d] / layout.deal_server_w[d]
                facility_w = server_w * pue[c][k]
                scale = 1.0
                if ctab[c] is not None:
                    cap_w = ctab[c][cbase[c][k] + offset] * 1e6
                    if facility_w > cap_w:
                        scale = cap_w / facility_w
                flops_c.append(flops * scale)
                units_c.append(units * scale)
                fac_c.append(facility_w * scale)
                scale_c.append(scale)
            best, best_t = 0.0, -1
            for t in range(layout.n_tracks):
                flops = sum(flops_c[c] for c in campuses_of[t])
                units = sum(units_c[c] for c in campuses_of[t])
                if flops <= 0:
                    continue
                frac = s_l[k] if c_l is None else c_l[k] / units
                if frac > 1:
                    continue
                run = frac * flops
                if run * r_l[k] * b_l[k] >= need and run > best:
                    best, best_t, best_frac = run, t, frac
            if best_t < 0:
                continue
            out["launch_months"][k] = t_launch
            out["track"][k] = best_t
            out["run_flops"][k] = best
            out["run_facility_w"][k] = best_frac * sum(fac_c[c] for c in campuses_of[best_t])
            out["need_flop"][k] = need
            for c in campuses_of[best_t]:
                for d in deals_of[c]:
                    out["run_server_w"][d][k] = best_frac * deal_w[d] * scale_c[c]
            break
    result = {key: np.asarray(v) for key, v in out.items() if key != "run_server_w"}
    result["run_server_w"] = [np.asarray(v) for v in out["run_server_w"]]
    return result


def compare(reference: dict, candidate: dict, *, rtol: float = 1e-4) -> dict:
    """How far a kernel's output is from the reference's, on the same inputs.

    The count of draws whose launch differs (one launches and the other not, or at months more
    than 1e-3 apart, or on another track), and over the draws that launch alike the largest
    relative difference of the run's FLOP/s, facility power and each deal's server W (relative to
    the run's total, what accelerator-hours are made of). ``agrees`` when no launch differs and
    every difference is within `rtol`.
    """
    r_l = np.asarray(reference["launch_months"], dtype=np.float64)
    c_l = np.asarray(candidate["launch_months"], dtype=np.float64)
    r_fin, c_fin = np.isfinite(r_l), np.isfinite(c_l)
    same = (r_fin == c_fin) & (
        ~r_fin
        | (
            (np.abs(np.where(r_fin & c_fin, r_l, 0.0) - np.where(r_fin & c_fin, c_l, 0.0)) <= 1e-3)
            & (np.asarray(reference["track"]) == np.asarray(candidate["track"]))
        )
    )
    both = same & r_fin

    def rel(a, b, scale=None):
        a = np.asarray(a, dtype=np.float64)[both]
        b = np.asarray(b, dtype=np.float64)[both]
        s = np.abs(a) if scale is None else np.asarray(scale, dtype=np.float64)[both]
        return float(np.max(np.abs(b - a) / np.maximum(s, 1e-30))) if a.size else 0.0

    worst = {
        key: rel(reference[key], candidate[key])
        for key in ("run_flops", "run_facility_w", "need_flop")
    }
    total = sum(np.asarray(w, dtype=np.float64) for w in reference["run_server_w"])
    worst["run_server_w"] = max(
        (rel(a, b, total) for a, b in zip(reference["run_server_w"], candidate["run_server_w"])),
        default=0.0,
    )
    differ = int(np.count_nonzero(~same))
    return {
        "max_rel_diff": worst,
        "launches_differ": differ,
        "agrees": differ == 0 and all(v <= rtol for v in worst.values()),
    }

"""The CPU fast path of the race kernel: `race.race_tracks` compiled with numba, same contract.

The one kernel module that imports numpy and numba (the backend-specific fast path DESIGN s6
allows): `analysis._simulate.race_kernel` runs it when the backend is NumPy; the array-API kernel
(`race.race_tracks`) stays the specification and is what CuPy and array-api-strict run.

Same model, same operations in the same order and in the arrays' dtype (float32 or float64), so it
agrees with the array-API kernel to the last bits but for the compiler's choices (no fast-math: no
reassociation, no fused multiply-adds beyond what LLVM may contract). Layout: draws are cut into
blocks of ``BLOCK``; blocks run in parallel (numba ``prange``, one thread per CPU); within a block,
steps are the outer loop and the block's draws the inner loop of every operation, so each loop is
a straight pass over small arrays held in L1 that LLVM vectorizes. Each draw is computed
independently, so no result depends on the block size, the chunk size or the thread count.

Compiled on first use and cached on disk (``cache=True``: numba's ``__pycache__`` next to this file,
or ``NUMBA_CACHE_DIR``); `warm()` compiles it (``make setup`` calls it).
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

from .race import _ONE_FLOP, RaceLayout

#: Draws per block: a 6-deal competitor keeps about 25 arrays of this length live (100 KB in float32).
BLOCK = 1024


@njit(parallel=True, cache=True, nogil=True, error_model="numpy")
def _race_blocks(steps, substeps, coef, frac, deal_campus, campus_track, n_tracks, ftab, ptab, base,
                 has_gain, gain, has_cap, ctab, cbase, pue, rate, target,
                 out_el, out_rem, out_peak, out_served, block):  # pragma: no cover - compiled
    n_deals = ftab.shape[0]
    n_campus = pue.shape[0]
    k_draws = rate.shape[0]
    n_blocks = (k_draws + block - 1) // block
    dt = rate.dtype
    one = np.ones(1, dt)[0]
    zero = np.zeros(1, dt)[0]
    floor = np.full(1, _ONE_FLOP, dt)[0]
    for b in prange(n_blocks):
        lo = b * block
        hi = min(lo + block, k_draws)
        n = hi - lo
        rem = np.empty((n_tracks, n), dt)
        for t in range(n_tracks):
            for k in range(n):
                rem[t, k] = target[lo + k]
        el = np.zeros((n_tracks, n), dt)
        peak = np.zeros((n_tracks, n), dt)
        served = np.zeros((n_deals, n), dt)
        deal_w = np.empty((n_deals, n), dt)
        c_flops = np.empty((n_campus, n), dt)
        c_fac = np.empty((n_campus, n), dt)
        c_scale = np.empty((n_campus, n), dt)
        flops = np.empty(n, dt)
        server_w = np.empty(n, dt)
        t_flops = np.empty(n, dt)
        t_fac = np.empty(n, dt)
        rc = np.empty(n, dt)
        for i in range(steps):
            off = i * substeps
            fr = frac[i]
            cf = coef[i]
            for c in range(n_campus):
                for k in range(n):
                    flops[k] = zero
                    server_w[k] = zero
                for d in range(n_deals):
                    if deal_campus[d] != c:
                        continue
                    if has_gain[d]:
                        for k in range(n):
                            j = base[d, lo + k] + off
                            flops[k] = flops[k] + ftab[d, j] * gain[d, lo + k]
                            w = ptab[d, j]
                            deal_w[d, k] = w
                            server_w[k] = server_w[k] + w
                    else:
                        for k in range(n):
                            j = base[d, lo + k] + off
                            flops[k] = flops[k] + ftab[d, j]
                            w = ptab[d, j]
                            deal_w[d, k] = w
                            server_w[k] = server_w[k] + w
                if has_cap[c]:
                    for k in range(n):
                        fac = server_w[k] * pue[c, lo + k]
                        cap_w = ctab[c, cbase[c, lo + k] + off]
                        s = cap_w / fac if fac > cap_w else one
                        c_scale[c, k] = s
                        c_flops[c, k] = flops[k] * s
                        c_fac[c, k] = fac * s
                else:
                    for k in range(n):
                        c_scale[c, k] = one
                        c_flops[c, k] = flops[k]
                        c_fac[c, k] = server_w[k] * pue[c, lo + k]
            for k in range(n):
                rc[k] = rate[lo + k] * cf
            for t in range(n_tracks):
                for k in range(n):
                    t_flops[k] = zero
                    t_fac[k] = zero
                for c in range(n_campus):
                    if campus_track[c] != t:
                        continue
                    for k in range(n):
                        t_flops[k] = t_flops[k] + c_flops[c, k]
                        t_fac[k] = t_fac[k] + c_fac[c, k]
                for k in range(n):
                    inc = t_flops[k] * rc[k]
                    r = rem[t, k]
                    u = r / (inc if inc > floor else floor)
                    u = u if u < one else one
                    u = u if u > zero else zero
                    rem[t, k] = r - inc
                    el[t, k] = el[t, k] + u
                    busy = u * fr
                    rc_busy = busy > zero
                    p = peak[t, k]
                    f = t_fac[k]
                    peak[t, k] = (f if f > p else p) if rc_busy else p
                    t_flops[k] = busy  # reused below as this track's busy share
                for c in range(n_campus):
                    if campus_track[c] != t:
                        continue
                    for d in range(n_deals):
                        if deal_campus[d] != c:
                            continue
                        for k in range(n):
                            served[d, k] = served[d, k] + deal_w[d, k] * c_scale[c, k] * t_flops[k]
        for t in range(n_tracks):
            for k in range(n):
                out_el[t, lo + k] = el[t, k]
                out_rem[t, lo + k] = rem[t, k]
                out_peak[t, lo + k] = peak[t, k]
        for d in range(n_deals):
            for k in range(n):
                out_served[d, lo + k] = served[d, k]


def _stack_tables(tables, dtype):
    """Tables of different lengths as one (n, longest) array (padding never read: indices are in range)."""
    width = max((0 if t is None else int(np.asarray(t).shape[0]) for t in tables), default=0)
    out = np.zeros((len(tables), max(width, 1)), dtype)
    for i, t in enumerate(tables):
        if t is not None:
            out[i, : np.asarray(t).shape[0]] = t
    return out


def race_tracks_numba(
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
    block: int | None = None,
):
    """`race.race_tracks` for NumPy arrays: same arguments, same returned dict of (K,) arrays.

    `block`: draws per block (default `BLOCK`); it changes no result.
    """
    dtype = np.result_type(rate, target_flop)
    n_deals, n_campus = len(flops_tables), len(campus_pue)
    k = int(np.asarray(rate).shape[0])
    reach = (layout.steps - 1) * layout.substeps
    for d in range(n_deals):
        b = np.asarray(deal_base[d])
        top = min(np.asarray(flops_tables[d]).shape[0], np.asarray(power_tables[d]).shape[0]) - 1 - reach
        if b.shape[0] and (int(b.min()) < 0 or int(b.max()) > top):
            raise RuntimeError(f"race kernel: a table index of deal {d} is out of range "
                               "(delays are clipped to the tables on the host, so this is a bug)")
    for c in range(n_campus):
        if cap_tables[c] is not None:
            b = np.asarray(cap_base[c])
            if b.shape[0] and (int(b.min()) < 0 or int(b.max()) > np.asarray(cap_tables[c]).shape[0] - 1 - reach):
                raise RuntimeError(f"race kernel: a table index of campus {c} power cap is out of range "
                                   "(delays are clipped to the tables on the host, so this is a bug)")
    frac = np.asarray(layout.start_fraction, dtype=np.float64)
    # As the array-API kernel: rate * (dt_s * frac) with a Python float rounds dt_s * frac to dtype.
    coef = np.asarray(layout.dt_s * frac, dtype=dtype)
    frac_d = frac.astype(dtype)
    ftab = _stack_tables(flops_tables, dtype)
    ptab = _stack_tables(power_tables, dtype)
    # The array-API kernel multiplies the gathered cap (MW) by 1e6 in dtype; scaling once is the same.
    ctab = _stack_tables([None if t is None else np.asarray(np.asarray(t, dtype) * 1e6, dtype) for t in cap_tables],
                         dtype)
    base = np.ascontiguousarray(np.stack([np.asarray(b, np.int64) for b in deal_base]))
    has_cap = np.array([t is not None for t in cap_tables], dtype=np.bool_)
    zeros_i = np.zeros(k, np.int64)
    cbase = np.ascontiguousarray(np.stack([zeros_i if t is None else np.asarray(b, np.int64)
                                           for t, b in zip(cap_tables, cap_base)]))
    gains = list(deal_gain) if deal_gain is not None else [None] * n_deals
    has_gain = np.array([g is not None for g in gains], dtype=np.bool_)
    ones = np.ones(k, dtype)
    gain = np.ascontiguousarray(np.stack([ones if g is None else np.asarray(g, dtype) for g in gains]))
    pue = np.ascontiguousarray(np.stack([np.asarray(p, dtype) for p in campus_pue]))
    rate = np.ascontiguousarray(rate, dtype=dtype)
    target = np.ascontiguousarray(target_flop, dtype=dtype)
    out_el = np.empty((layout.n_tracks, k), dtype)
    out_rem = np.empty((layout.n_tracks, k), dtype)
    out_peak = np.empty((layout.n_tracks, k), dtype)
    out_served = np.empty((n_deals, k), dtype)
    _race_blocks(layout.steps, layout.substeps, coef, frac_d, np.asarray(layout.deal_campus, np.int64),
                 np.asarray(layout.campus_track, np.int64), layout.n_tracks, ftab, ptab, base, has_gain, gain,
                 has_cap, ctab, cbase, pue, rate, target, out_el, out_rem, out_peak, out_served,
                 int(block or BLOCK))
    return {
        "elapsed_steps": list(out_el),
        "remaining_flop": list(out_rem),
        "peak_facility_w": list(out_peak),
        "server_w_steps": list(out_served),
    }

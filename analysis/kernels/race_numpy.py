"""NumPy fast path of `race_tracks`: same arguments, same returned dict, float32 tolerance.

The one kernel module that imports numpy: the backend-specific fast path allowed by DESIGN s6.
`analysis.simulate.run_chunk` dispatches here when the backend is NumPy; the generic array-API
kernel (`race.race_tracks`) stays the reference and is what CuPy and array-api-strict run.

Two ways to run the same arithmetic: the compiled kernel (`race_cpu.c`, via `_Plan.run_compiled`:
draws in vector registers, steps innermost, about 6x faster) where it is available and the arrays
are float32, else the NumPy step loop below (`_Plan.run`). They agree bit for bit but for the sum of
what an unfinished single-deal track used (float32 in C, float64 here; see race_cpu.c).

The NumPy step loop: same model, same layout as the generic kernel (a loop over steps, each step
vectorized over draws); it is faster because
1. draws are cut into sub-chunks (`SUBCHUNK`) that run on a thread pool (NumPy releases the GIL
   inside ufunc and take loops), with every buffer preallocated per sub-chunk and
   every step written in place (`out=`); gathers read a view of the table shifted by the step
   (`np.take(table[i * substeps:], base, out=, mode="wrap")`: no index arithmetic), and a deal whose
   delay is the same for the whole sub-chunk reads one value per step instead of gathering;
2. a track that is one campus with one deal (11 of the 12 tracks of the shipped default; Meta's two
   CoreWeave deals share a campus) runs in normalized units, all such tracks of a competitor stacked
   in (tracks, draws) arrays so that each operation is one NumPy call for all of them. The tables
   `simulate` builds are accelerators-online times a per-chip constant, so flops = kappa x server W
   (kappa = peak FLOP/s per server W, checked on the host). With m = min(server W x PUE, cap W)
   (cap W = inf without a cap), the facility power the run can use, a step's progress is
   lambda x m x frac with lambda = kappa x gain x rate x dt / PUE per draw. Dividing the target by
   lambda once leaves, per step: gather, multiply, (cap: gather), min, the share of the step still
   needed, the running peak of m while unfinished, and the remaining work. The accelerator-W-steps
   the run used follow without a per-step accumulator: the progress used is exactly the target
   (or all of it, when unfinished), so server_w_steps = (R0 - max(R_T, 0)) / PUE in those units
   (for the few unfinished draws the sum is taken again over the steps, to keep its digits);
3. min, max and the masks use arrays rather than scalars and no `where=` (NumPy's scalar-broadcast
   min/max and masked ufuncs are several times slower per element than plain array ufuncs).
Other tracks (several deals on a campus, runs spanning sites, tables that are not proportional) run
the generic kernel's arithmetic step by step, with the same buffers and threads.

Each draw is computed independently, so results do not depend on the sub-chunk size or the thread
count. Against the generic kernel the normalized tracks differ only by float32 rounding (a relative
1e-6 or so); tests compare them at float32 tolerance.
"""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor

import numpy as np

from . import race_cpu
from .race import _ONE_FLOP, RaceLayout

#: Draws per sub-chunk. A 6-deal competitor keeps about 30 float32 vectors of this length live
#: (2 MB at 16384: L2/L3 here); each step costs about a dozen NumPy calls per track, and below a
#: few thousand draws their overhead (about 1 us a call, with the GIL held) dominates. On the
#: 2-core EPYC this was tuned on, 16384-32768 ran fastest and 4096 about 25% slower.
SUBCHUNK = 16384
#: Relative tolerance for "flops table = kappa x power table" (both are float32 roundings).
_PROPORTIONAL_RTOL = 1e-6


def default_threads() -> int:
    """Threads for the sub-chunk pool: the CPUs this process may run on."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - not on Linux
        return max(1, os.cpu_count() or 1)


def flops_per_server_w(flops_table: np.ndarray, power_table: np.ndarray) -> float | None:
    """kappa with flops_table == kappa * power_table to float32 rounding, or None if there is none."""
    f = np.asarray(flops_table, dtype=np.float64)
    p = np.asarray(power_table, dtype=np.float64)
    j = int(np.argmax(p)) if p.size else 0
    if not p.size or p[j] <= 0 or np.any(p < 0):
        return None
    kappa = f[j] / p[j]
    if not np.isfinite(kappa) or kappa <= 0:
        return None
    if np.max(np.abs(f - kappa * p)) > _PROPORTIONAL_RTOL * np.max(np.abs(f)):
        return None
    return float(kappa)


def race_tracks_numpy(
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
    subchunk: int | None = None,
    threads: int | None = None,
    compiled: bool | None = None,
):
    """`race.race_tracks` for NumPy arrays: same arguments, same returned dict of (K,) arrays.

    `subchunk` draws are computed together (default: `SUBCHUNK`, or `race_cpu.SUBCHUNK` compiled);
    `threads` sub-chunks at a time (default: the CPUs available). Neither changes any result. `compiled`: run the step loops in the compiled
    kernel (`race_cpu`): None (default) when it is available and the arrays are float32, False never,
    True always (RuntimeError with the reason when it cannot).
    """
    plan = _Plan(layout, flops_tables, power_tables, cap_tables, deal_gain, len(campus_pue),
                 np.result_type(rate, target_flop))
    k = int(rate.shape[0])
    dtype = plan.dtype
    gains = list(deal_gain) if deal_gain is not None else [None] * len(flops_tables)
    lib = None
    if compiled is not False:
        why = race_cpu.unusable(dtype, len(flops_tables), len(campus_pue))
        lib = None if why else race_cpu.library()
        if lib is None and compiled:
            raise RuntimeError(f"compiled race kernel: {why or race_cpu.status()}")
    if lib is not None:
        # The compiled kernel writes every output in full.
        out = {key: [np.empty(k, dtype) for _ in range(n)] for key, n in
               (("elapsed_steps", layout.n_tracks), ("remaining_flop", layout.n_tracks),
                ("peak_facility_w", layout.n_tracks), ("server_w_steps", len(flops_tables)))}
        plan.run_compiled(lib, race_cpu.ffi(), out, deal_base, cap_base, campus_pue, rate, target_flop, gains,
                          subchunk or race_cpu.SUBCHUNK, threads)
        return out
    subchunk = subchunk or SUBCHUNK
    out = {
        "elapsed_steps": [np.zeros(k, dtype) for _ in range(layout.n_tracks)],
        "remaining_flop": [np.array(target_flop, dtype=dtype, copy=True) for _ in range(layout.n_tracks)],
        "peak_facility_w": [np.zeros(k, dtype) for _ in range(layout.n_tracks)],
        "server_w_steps": [np.zeros(k, dtype) for _ in range(len(flops_tables))],
    }

    def run(lo: int) -> None:
        hi = min(lo + subchunk, k)
        cut = lambda xs: [None if x is None else x[lo:hi] for x in xs]  # noqa: E731
        # errstate is per thread. x / 0 is expected (no capacity online): it gives inf, clipped to 1.
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            plan.run({key: cut(v) for key, v in out.items()}, cut(deal_base), cut(cap_base),
                     cut(campus_pue), rate[lo:hi], target_flop[lo:hi], cut(gains))

    _map(run, range(0, k, max(1, int(subchunk))), threads)
    return out


def _map(run, starts, threads: int | None) -> None:
    """run(lo) for every start, on up to `threads` threads (default: the CPUs available)."""
    workers = min(threads or default_threads(), len(starts))
    if workers <= 1:
        for lo in starts:
            run(lo)
    else:
        with ThreadPoolExecutor(workers) as pool:
            for _ in pool.map(run, starts):  # re-raises a worker's exception
                pass


class _Plan:
    """Static structure of one call (host side); `run` computes one sub-chunk of draws in place."""

    def __init__(self, layout: RaceLayout, flops_tables, power_tables, cap_tables, deal_gain, n_campus, dtype):
        self.layout = layout
        self.dtype = np.dtype(dtype)
        n_deals = len(flops_tables)
        self.flops_tables = [np.asarray(t) for t in flops_tables]
        self.power_tables = [np.asarray(t) for t in power_tables]
        # The generic kernel multiplies the gathered cap (MW) by 1e6 in the array dtype each step;
        # scaling the table once gives the same numbers.
        self.caps_w = [None if t is None else np.asarray(np.asarray(t) * 1e6, dtype=np.asarray(t).dtype)
                       for t in cap_tables]
        self.has_gain = [deal_gain is not None and deal_gain[d] is not None for d in range(n_deals)]
        self.kappa = [flops_per_server_w(f, p) for f, p in zip(self.flops_tables, self.power_tables)]
        self.deals_of = [[d for d in range(n_deals) if layout.deal_campus[d] == c] for c in range(n_campus)]
        self.campuses_of = [[c for c in range(n_campus) if layout.campus_track[c] == t]
                            for t in range(layout.n_tracks)]
        # Tracks of one campus with one deal of proportional tables run in normalized units.
        self.single = {}
        for t, camps in enumerate(self.campuses_of):
            if len(camps) == 1 and len(self.deals_of[camps[0]]) == 1:
                d = self.deals_of[camps[0]][0]
                if self.kappa[d] is not None:
                    self.single[t] = (camps[0], d)

    # ------------------------------------------------------------------------------------------
    def run_compiled(self, lib, ffi, out, deal_base, cap_base, pues, rate, target, gains, subchunk, threads):
        """`run`'s work in the compiled kernel (`race_cpu.c`): the normalized single-deal tracks
        (units set up and undone in C, per draw, as `run` does in NumPy) and the general tracks, on
        sub-chunks of draws split over threads; every output is written in place."""
        lay = self.layout
        k = int(rate.shape[0])
        keep = []  # every array whose memory a C pointer refers to stays alive until the calls end

        def ptr(ctype, a):
            if a is None:
                return ffi.NULL
            keep.append(a)
            return ffi.cast(ctype + " *", ffi.from_buffer(a))

        def ptrs(ctype, arrays):
            return ffi.new(ctype + " *[]", [ptr(ctype, a) for a in arrays] or [ffi.NULL])

        f32 = lambda a: np.ascontiguousarray(a, dtype=np.float32)  # noqa: E731
        i64 = lambda a: None if a is None else np.ascontiguousarray(a, dtype=np.int64)  # noqa: E731
        frac = f32(lay.start_fraction)
        rate32, target32 = f32(rate), f32(target)
        calls = []
        # The largest start index whose steps all lie in the table, per deal and per capped campus: the
        # kernels check every index against it (memory safety; an index beyond it is a bug upstream).
        reach = (lay.steps - 1) * lay.substeps
        limit = [min(len(f), len(p)) - 1 - reach for f, p in zip(self.flops_tables, self.power_tables)]
        cap_limit = [-1 if t is None else len(t) - 1 - reach for t in self.caps_w]

        singles = list(self.single.items())
        if singles:
            s_args = (
                lay.steps, lay.substeps, ptr("float", frac), len(singles),
                # kappa x dt_s as NumPy's run computes it (one Python float), the rest of lambda per draw in C.
                ptr("double", np.asarray([self.kappa[d] * lay.dt_s for _, (c, d) in singles], np.float64)),
                ptrs("float", [f32(self.power_tables[d]) for _, (c, d) in singles]),
                ptrs("float", [None if self.caps_w[c] is None else f32(self.caps_w[c]) for _, (c, d) in singles]),
                ptrs("float", [race_cpu.four_steps(self.power_tables[d], lay.substeps) for _, (c, d) in singles]),
                ptrs("float", [None if self.caps_w[c] is None else race_cpu.four_steps(self.caps_w[c], lay.substeps)
                               for _, (c, d) in singles]),
                ptr("long long", np.asarray([limit[d] for _, (c, d) in singles], np.int64)),
                ptr("long long", np.asarray([cap_limit[c] for _, (c, d) in singles], np.int64)),
                ptrs("long long", [i64(deal_base[d]) for _, (c, d) in singles]),
                ptrs("long long", [i64(cap_base[c]) if self.caps_w[c] is not None else None for _, (c, d) in singles]),
                ptrs("float", [f32(pues[c]) for _, (c, d) in singles]),
                ptrs("float", [f32(gains[d]) if self.has_gain[d] else None for _, (c, d) in singles]),
                ptr("float", rate32), ptr("float", target32),
                ptrs("float", [out["elapsed_steps"][t] for t, _ in singles]),
                ptrs("float", [out["remaining_flop"][t] for t, _ in singles]),
                ptrs("float", [out["peak_facility_w"][t] for t, _ in singles]),
                ptrs("float", [out["server_w_steps"][d] for _, (c, d) in singles]),
            )
            calls.append(lambda lo, hi: lib.race_single(lo, hi, *s_args))
        else:
            calls.append(lambda lo, hi: 0)

        general = [t for t in range(lay.n_tracks) if t not in self.single]
        if general:
            n_deals, n_campus = len(self.flops_tables), len(pues)
            g_args = (
                lay.steps, lay.substeps, ptr("float", frac),
                ptr("float", f32(np.asarray(lay.start_fraction, np.float64) * lay.dt_s)),
                len(general), ptr("int", np.asarray(general, np.int32)),
                n_deals, ptr("int", np.asarray(lay.deal_campus, np.int32)),
                n_campus, ptr("int", np.asarray(lay.campus_track, np.int32)),
                ptr("long long", np.asarray(limit, np.int64)), ptr("long long", np.asarray(cap_limit, np.int64)),
                # float32(kappa), as `_general_step` multiplies by it (0: tables not proportional).
                ptr("float", np.asarray([k or 0.0 for k in self.kappa], np.float32)),
                ptrs("float", [f32(t) for t in self.flops_tables]), ptrs("float", [f32(t) for t in self.power_tables]),
                ptrs("float", [None if g is None else f32(g) for g in gains]),
                ptrs("long long", [i64(b) for b in deal_base]),
                ptrs("float", [None if t is None else f32(t) for t in self.caps_w]),
                ptrs("long long", [i64(b) if t is not None else None for b, t in zip(cap_base, self.caps_w)]),
                ptrs("float", [f32(p) for p in pues]), ptr("float", rate32), ptr("float", target32),
                ptrs("float", out["elapsed_steps"]), ptrs("float", out["remaining_flop"]),
                ptrs("float", out["peak_facility_w"]), ptrs("float", out["server_w_steps"]),
            )

            def general_call(lo, hi):
                code = lib.race_general(lo, hi, *g_args)
                if code < 0:
                    raise RuntimeError("race_general: more deals or campuses than the compiled kernel holds")
                return code

            calls.append(general_call)

        def run(lo: int) -> None:
            hi = min(lo + subchunk, k)
            if any([call(lo, hi) for call in calls]):
                # A kernel met an index out of range (and read index 0 in its place): name it.
                checked = [(f"deal {d}", i64(b), limit[d]) for d, b in enumerate(deal_base)]
                checked += [(f"campus {c} power cap", i64(cap_base[c]), cap_limit[c])
                            for c, t in enumerate(self.caps_w) if t is not None]
                bad = lib.race_check(lo, hi, len(checked), ptrs("long long", [b for _, b, _ in checked]),
                                     ptr("long long", np.asarray([top for _, _, top in checked], np.int64)))
                where = checked[bad][0] if bad >= 0 else "a deal or campus"
                raise RuntimeError(f"race kernel: a table index of {where} is out of range "
                                   "(delays are clipped to the tables on the host, so this is a bug)")

        _map(run, range(0, k, max(1, int(subchunk))), threads)

    # ------------------------------------------------------------------------------------------
    def run(self, out, bases, cbases, pues, rate, target, gains):
        lay, dtype = self.layout, self.dtype
        n = rate.shape[0]
        fixed = [_fixed(b) for b in bases]
        cfixed = [None if b is None else _fixed(b) for b in cbases]
        bases = [np.ascontiguousarray(b, dtype=np.intp) for b in bases]
        cbases = [None if b is None else np.ascontiguousarray(b, dtype=np.intp) for b in cbases]
        buf = lambda: np.empty(n, dtype)  # noqa: E731
        ones, zeros = np.ones(n, dtype), np.zeros(n, dtype)
        alive = np.empty(n, dtype=bool)
        use, tmp = buf(), buf()
        rate64 = np.asarray(rate, dtype=np.float64)
        target64 = np.asarray(target, dtype=np.float64)

        # Normalized single-deal tracks, stacked into (tracks, draws) arrays so that one NumPy call
        # per operation serves them all: remaining work R in units of facility W x steps, m = the
        # facility power usable in the step = min(server W x PUE, cap W) (no cap: +inf).
        singles = list(self.single.items())
        ns = len(singles)
        if ns:
            block = lambda: np.empty((ns, n), dtype)  # noqa: E731
            m_all, cap_all, pue_all, use_all, tmp_all, cand_all = (block() for _ in range(6))
            r_all, el_all, pk_all = block(), np.zeros((ns, n), dtype), np.zeros((ns, n), dtype)
            ones_all, zeros_all = np.ones((ns, n), dtype), np.zeros((ns, n), dtype)
            alive_all = np.empty((ns, n), dtype=bool)
            lams = []
            for j, (t, (c, d)) in enumerate(singles):
                lam = self.kappa[d] * lay.dt_s * rate64 / pues[c]
                if self.has_gain[d]:
                    lam = lam * gains[d]
                lams.append(lam)
                r_all[j] = (target64 / lam).astype(dtype)
                pue_all[j] = pues[c]
                if self.caps_w[c] is None:
                    cap_all[j] = np.inf
            r0_all = r_all.copy()
        # General tracks: the generic kernel's arithmetic, in place.
        general = [t for t in range(lay.n_tracks) if t not in self.single]
        g_deals = [d for t in general for c in self.campuses_of[t] for d in self.deals_of[c]]
        deal_w = {d: buf() for d in g_deals}
        kg = {}
        for d in g_deals:
            if self.kappa[d] is not None:
                kg[d] = (self.kappa[d] * gains[d]).astype(dtype) if self.has_gain[d] else dtype.type(self.kappa[d])
        c_scale = {c: buf() for t in general for c in self.campuses_of[t] if self.caps_w[c] is not None}
        f_tmp, c_flops, c_fac, cap_w, t_flops, t_fac, inc = (buf() for _ in range(7))
        coef_cache: dict[float, np.ndarray] = {}
        floor = np.full(n, _ONE_FLOP, dtype)  # progress floor of the generic kernel (1 FLOP)

        for i in range(lay.steps):
            offset = i * lay.substeps
            frac = lay.start_fraction[i]
            if ns:
                for j, (t, (c, d)) in enumerate(singles):
                    self._gather(self.power_tables[d], offset, bases[d], fixed[d], m_all[j])
                    if self.caps_w[c] is not None:
                        self._gather(self.caps_w[c], offset, cbases[c], cfixed[c], cap_all[j])
                np.multiply(m_all, pue_all, out=m_all)
                np.minimum(m_all, cap_all, out=m_all)
                step = m_all
                if frac != 1.0:
                    step = np.multiply(m_all, dtype.type(frac), out=tmp_all)
                # use = clip(R / step, 0, 1): 1 before the crossing, the fraction in it, 0 after.
                np.divide(r_all, step, out=use_all)
                np.fmin(use_all, ones_all, out=use_all)
                np.fmax(use_all, zeros_all, out=use_all)
                np.add(el_all, use_all, out=el_all)
                if frac > 0.0:
                    np.greater(r_all, zeros_all, out=alive_all)
                    np.multiply(m_all, alive_all, out=cand_all)
                    np.maximum(pk_all, cand_all, out=pk_all)
                np.subtract(r_all, step, out=r_all)
            if not general:
                continue
            coef = coef_cache.get(frac)
            if coef is None:
                coef = coef_cache[frac] = np.multiply(rate, lay.dt_s * frac, dtype=dtype)
            for t in general:
                self._general_step(t, i, frac, coef, out, bases, cbases, fixed, cfixed, pues, gains, kg,
                                   deal_w, c_scale, f_tmp, c_flops, c_fac, cap_w, t_flops, t_fac, inc,
                                   use, tmp, alive, ones, zeros, floor)

        for j, (t, (c, d)) in enumerate(singles):
            r = r_all[j]
            out["elapsed_steps"][t][:] = el_all[j]
            out["peak_facility_w"][t][:] = pk_all[j]
            out["remaining_flop"][t][:] = r * lams[j]
            # A finished run used exactly R0 of progress. An unfinished one used every step in full
            # (use = 1 throughout), and R0 - R_T would lose the digits of a small sum to R0's
            # rounding, so its sum is taken again over the steps, for those draws only.
            used = r0_all[j].astype(np.float64)
            unfinished = np.flatnonzero(r > 0)
            if unfinished.size:
                used[unfinished] = self._steps_sum(c, d, unfinished, bases, cbases, pues)
            out["server_w_steps"][d][:] = used / pues[c]

    def _steps_sum(self, c, d, rows, bases, cbases, pues):
        """sum_i frac_i x m_i (float64) over all steps for the draws `rows` of a single-deal track."""
        lay = self.layout
        capped = self.caps_w[c] is not None
        base = bases[d][rows]
        pue = pues[c][rows]
        cbase = cbases[c][rows] if capped else None
        m = np.empty(rows.size, self.dtype)
        cap = np.empty(rows.size, self.dtype)
        total = np.zeros(rows.size, np.float64)
        for i in range(lay.steps):
            frac = lay.start_fraction[i]
            if frac == 0.0:
                continue
            offset = i * lay.substeps
            self._gather(self.power_tables[d], offset, base, None, m)
            np.multiply(m, pue, out=m)
            if capped:
                self._gather(self.caps_w[c], offset, cbase, None, cap)
                np.minimum(m, cap, out=m)
            total += m * frac
        return total

    # ------------------------------------------------------------------------------------------
    def _general_step(self, t, i, frac, coef, out, bases, cbases, fixed, cfixed, pues, gains, kg,
                      deal_w, c_scale, f_tmp, c_flops, c_fac, cap_w, t_flops, t_fac, inc, use, tmp,
                      alive, ones, zeros, floor):
        dtype = self.dtype
        offset = i * self.layout.substeps
        camps = self.campuses_of[t]
        for j, c in enumerate(camps):
            flops = t_flops if j == 0 else c_flops
            fac = t_fac if j == 0 else c_fac
            for k, d in enumerate(self.deals_of[c]):
                w = deal_w[d]
                self._gather(self.power_tables[d], offset, bases[d], fixed[d], w)
                dest = flops if k == 0 else f_tmp
                if d in kg:
                    np.multiply(w, kg[d], out=dest)
                else:
                    self._gather(self.flops_tables[d], offset, bases[d], fixed[d], dest)
                    if self.has_gain[d]:
                        np.multiply(dest, gains[d], out=dest)
                if k == 0:
                    np.copyto(fac, w)
                else:
                    np.add(flops, f_tmp, out=flops)
                    np.add(fac, w, out=fac)
            np.multiply(fac, pues[c], out=fac)
            if self.caps_w[c] is not None:
                scale = c_scale[c]
                self._gather(self.caps_w[c], offset, cbases[c], cfixed[c], cap_w)
                # where(fac > cap, cap / fac, 1) == fmin(cap / fac, 1), also for fac = 0.
                np.divide(cap_w, fac, out=scale)
                np.fmin(scale, ones, out=scale)
                np.multiply(flops, scale, out=flops)
                np.multiply(fac, scale, out=fac)
            if j:
                np.add(t_flops, c_flops, out=t_flops)
                np.add(t_fac, c_fac, out=t_fac)
        rem, elapsed = out["remaining_flop"][t], out["elapsed_steps"][t]
        peak = out["peak_facility_w"][t]
        np.multiply(t_flops, coef, out=inc)
        np.fmax(inc, floor, out=tmp)
        np.divide(rem, tmp, out=use)
        np.fmin(use, ones, out=use)
        np.fmax(use, zeros, out=use)
        np.subtract(rem, inc, out=rem)
        np.add(elapsed, use, out=elapsed)
        if frac != 1.0:
            np.multiply(use, dtype.type(frac), out=use)  # busy = use x frac
        np.greater(use, zeros, out=alive)
        np.multiply(t_fac, alive, out=tmp)
        np.maximum(peak, tmp, out=peak)
        for c in camps:
            for d in self.deals_of[c]:
                w = deal_w[d]
                if c in c_scale:
                    np.multiply(w, c_scale[c], out=w)
                np.multiply(w, use, out=w)
                np.add(out["server_w_steps"][d], w, out=out["server_w_steps"][d])

    @staticmethod
    def _gather(table, offset, base, fixed, dest):
        if fixed is not None:
            dest.fill(table[fixed + offset])
        else:
            # Indices are in range by construction (delays are clipped to the table on the host).
            np.take(table[offset:], base, out=dest, mode="wrap")


def _fixed(base) -> int | None:
    """The common table index when every draw of the sub-chunk has the same one (a fixed delay)."""
    if base.shape[0] and base.min() == base.max():
        return int(base[0])
    return None

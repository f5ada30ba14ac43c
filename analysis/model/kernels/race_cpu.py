"""The CPU fast path of the race kernel: `race_cpu.c`, compiled at install time, behind
`race_tracks_cpu`.

`race_tracks_cpu` takes `race.race_tracks`'s arguments (NumPy arrays) and returns the same dict;
`analysis.model.run.race_kernel` runs it on the NumPy backend. The one kernel module that imports
numpy (the one fast path docs/architecture.md §6 allows); the array-API kernel stays the
specification.

Why C: chosen by measurement against a numba version of the same kernel (`@njit(parallel=True)`,
blocks of draws, steps outer, bit-equal to the array-API kernel): on the default scenario, 2^17
draws, float32, median of 5 on the shared 2-core EPYC, C ran 2.4e8-4.5e8 scenario-steps/s and numba
3.2e7-6.1e7 (about 7x slower) in the same runs; C holds eight draws per vector register with the
steps innermost, and lays out table lookups four steps at a time (see race_cpu.c).

Building: setuptools builds the extension `analysis.model.kernels._race_cpu` when the package is
installed (`setup.py`, `race_cpu_build.py`), so a compiler that cannot build it fails the install.
At import the extension's source hash is checked against race_cpu.c. When it is missing or stale (a
checkout never installed, the C source edited since), or ``COMPUTE_RACE_COMPILED=0``, or the arrays
are not float32, NumPy runs the array-API kernel instead: `status()` (in `bench` and in the
provenance of every result) says which ran and why, and a missing or stale build warns once.

Tracks: a track of one campus with one deal whose flops table is kappa x its power table runs in
normalized units (`race_single`: remaining work in facility W x steps, divided by
lambda = kappa x gain x rate x dt / PUE once per draw); the others (several deals on a campus, runs
spanning sites, tables not proportional) run the array-API kernel's operations in order
(`race_general`). Draws are cut into ranges of ``SUBCHUNK`` run on a thread pool (cffi releases the
GIL); each draw is computed independently, so no result depends on the chunk or thread count.

The same extension holds `race_sample`, simulate's draws (counter-based Philox streams and their
inverse CDFs), which `analysis.model.sampling.sample_streams` calls through `library()`, and
`race_select`, the exact quantiles of simulate's summaries by radix selection
(`analysis.model.summary.radix_quantiles`).
"""

from __future__ import annotations

import functools
import os
import warnings
from concurrent.futures import ThreadPoolExecutor

import numpy as np

from .race import RaceLayout, race_tracks

#: "0" turns the compiled kernel off (the array-API kernel runs); anything else, or unset, allows
#: it.
ENV_SWITCH = "COMPUTE_RACE_COMPILED"
#: Draws per call (each thread takes one such range at a time). Smaller ranges keep a range's inputs
#: and outputs in the L2 cache while its tracks are computed one after another: on the 2-core EPYC
#: this was tuned on, 4096 ran best (2048 and 8192 about 5-15% slower, 16384 about 20%).
SUBCHUNK = 4096
#: Per-draw state arrays of race_general (as MAX_DEALS / MAX_CAMPUSES in race_cpu.c).
MAX_DEALS = 16
MAX_CAMPUSES = 16
#: Relative tolerance for "flops table = kappa x power table" (both are float32 roundings).
_PROPORTIONAL_RTOL = 1e-6


@functools.cache
def _load():
    """(module, status line): the compiled extension, or None and why it is not used."""
    if os.environ.get(ENV_SWITCH, "").strip() == "0":
        return None, f"array-API kernel ({ENV_SWITCH}=0)"
    try:
        from . import _race_cpu
    except ImportError as exc:
        return None, (
            f"array-API kernel: the compiled kernel is not built ({exc}); "
            "install the package (pip install -e . / make setup) to build it"
        )
    from .race_cpu_build import SOURCE_PATH, cpu_key, source_sha

    text = lambda f: _race_cpu.ffi.string(f()).decode()  # noqa: E731
    if text(_race_cpu.lib.race_cpu_source_sha) != source_sha(SOURCE_PATH.read_text()):
        return None, (
            "array-API kernel: the compiled kernel is stale (race_cpu.c changed since it was "
            "built); reinstall (pip install -e . / make setup)"
        )
    machine = text(_race_cpu.lib.race_cpu_machine)
    if machine and machine != cpu_key():
        return None, (
            "array-API kernel: the compiled kernel is stale (built with -march=native on another "
            "CPU); reinstall (pip install -e . / make setup) or build with COMPUTE_RACE_PORTABLE=1"
        )
    flags = _race_cpu.ffi.string(_race_cpu.lib.race_cpu_flags()).decode()
    return (
        _race_cpu,
        f"race_cpu.c compiled at install ({flags}); chosen over numba by measurement (7x)",
    )


def library():
    """The compiled extension's `lib` (race_single, race_general, race_check), or None."""
    module, _ = _load()
    return None if module is None else module.lib


def ffi():
    module, _ = _load()
    return None if module is None else module.ffi


def status() -> str:
    """One line: which CPU race kernel runs and why."""
    return _load()[1]


def status_if_loaded() -> str | None:
    """`status()` if this process has already asked for the kernel, else None (loads nothing)."""
    return _load()[1] if _load.cache_info().currsize else None


@functools.cache
def _warn_once(why: str) -> None:
    warnings.warn(f"race kernel: {why}", RuntimeWarning, stacklevel=3)


def default_threads() -> int:
    """Threads for the sub-chunk pool: the CPUs this process may run on."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - not on Linux
        return max(1, os.cpu_count() or 1)


def flops_per_server_w(flops_table: np.ndarray, power_table: np.ndarray) -> float | None:
    """kappa with flops_table == kappa * power_table to float32 rounding, or None if there is
    none."""
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


def four_steps(table, substeps: int):
    """A table as race_single's four-step lookups read it: row j holds table[j + m x substeps] for
    m = 0..3 (float32, rows j whose four values lie in the table; at least one row)."""
    table = np.asarray(table, dtype=np.float32)
    span = 3 * substeps + 1
    if table.shape[0] < span:
        return np.zeros((1, 4), np.float32)
    return np.ascontiguousarray(
        np.lib.stride_tricks.sliding_window_view(table, span)[:, ::substeps]
    )


def unusable(dtype, n_deals: int, n_campus: int) -> str | None:
    """Why a call cannot use the compiled kernel (its dtype or size), or None if it can."""
    if np.dtype(dtype) != np.float32:
        return f"it takes float32 arrays, not {np.dtype(dtype)}"
    if n_deals > MAX_DEALS or n_campus > MAX_CAMPUSES:
        return (
            f"it holds at most {MAX_DEALS} deals and {MAX_CAMPUSES} campuses (got {n_deals}, "
            f"{n_campus})"
        )
    return None


def race_tracks_cpu(
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

    `subchunk` draws per call (default `SUBCHUNK`), `threads` calls at a time (default: the CPUs
    available); neither changes any result. `compiled`: None (default) runs the compiled kernel when
    it is available and the arrays are float32, else the array-API kernel; True raises RuntimeError
    with the reason when it cannot run; False always runs the array-API kernel.
    """
    args = (
        layout,
        flops_tables,
        power_tables,
        deal_base,
        cap_tables,
        cap_base,
        campus_pue,
        rate,
        target_flop,
    )
    dtype = np.result_type(rate, target_flop)
    lib = None
    if compiled is not False:
        why = unusable(dtype, len(flops_tables), len(campus_pue))
        lib = None if why else library()
        if lib is None:
            if compiled:
                raise RuntimeError(f"compiled race kernel: {why or status()}")
            if why is None and ("not built" in status() or "stale" in status()):
                _warn_once(status())
    if lib is None:
        return race_tracks(*args, deal_gain=deal_gain)
    k = int(rate.shape[0])
    out = {
        key: [np.empty(k, np.float32) for _ in range(n)]
        for key, n in (
            ("elapsed_steps", layout.n_tracks),
            ("remaining_flop", layout.n_tracks),
            ("peak_facility_w", layout.n_tracks),
            ("server_w_steps", len(flops_tables)),
        )
    }
    gains = list(deal_gain) if deal_gain is not None else [None] * len(flops_tables)
    plan = _Plan(layout, flops_tables, power_tables, cap_tables, deal_gain, len(campus_pue))
    plan.run_compiled(
        lib,
        ffi(),
        out,
        deal_base,
        cap_base,
        campus_pue,
        rate,
        target_flop,
        gains,
        subchunk or SUBCHUNK,
        threads,
    )
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
    """Static structure of one call (host side): which tracks run normalized (`single`)."""

    def __init__(
        self, layout: RaceLayout, flops_tables, power_tables, cap_tables, deal_gain, n_campus
    ):
        self.layout = layout
        n_deals = len(flops_tables)
        self.flops_tables = [np.asarray(t) for t in flops_tables]
        self.power_tables = [np.asarray(t) for t in power_tables]
        # The array-API kernel multiplies the gathered cap (MW) by 1e6 in the array dtype each step;
        # scaling the table once gives the same numbers.
        self.caps_w = [
            None if t is None else np.asarray(np.asarray(t) * 1e6, dtype=np.asarray(t).dtype)
            for t in cap_tables
        ]
        self.has_gain = [deal_gain is not None and deal_gain[d] is not None for d in range(n_deals)]
        self.kappa = [
            flops_per_server_w(f, p) for f, p in zip(self.flops_tables, self.power_tables)
        ]
        self.deals_of = [
            [d for d in range(n_deals) if layout.deal_campus[d] == c] for c in range(n_campus)
        ]
        self.campuses_of = [
            [c for c in range(n_campus) if layout.campus_track[c] == t]
            for t in range(layout.n_tracks)
        ]
        # Tracks of one campus with one deal of proportional tables run in normalized units.
        self.single = {}
        for t, camps in enumerate(self.campuses_of):
            if len(camps) == 1 and len(self.deals_of[camps[0]]) == 1:
                d = self.deals_of[camps[0]][0]
                if self.kappa[d] is not None:
                    self.single[t] = (camps[0], d)

    # ------------------------------------------------------------------------------------------
    def run_compiled(
        self, lib, ffi, out, deal_base, cap_base, pues, rate, target, gains, subchunk, threads
    ):
        """The work in the compiled kernel (`race_cpu.c`): the normalized single-deal tracks
        (units set up and undone in C, per draw) and the general tracks, on
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
        # The largest start index whose steps all lie in the table, per deal and per capped campus:
        # the kernels check every index against it (memory safety; an index beyond it is a bug
        # upstream).
        reach = (lay.steps - 1) * lay.substeps
        limit = [
            min(len(f), len(p)) - 1 - reach for f, p in zip(self.flops_tables, self.power_tables)
        ]
        cap_limit = [-1 if t is None else len(t) - 1 - reach for t in self.caps_w]

        singles = list(self.single.items())
        if singles:
            s_args = (
                lay.steps,
                lay.substeps,
                ptr("float", frac),
                len(singles),
                # kappa x dt_s as one Python float, the rest of lambda per draw in C.
                ptr(
                    "double",
                    np.asarray([self.kappa[d] * lay.dt_s for _, (c, d) in singles], np.float64),
                ),
                ptrs("float", [f32(self.power_tables[d]) for _, (c, d) in singles]),
                ptrs(
                    "float",
                    [
                        None if self.caps_w[c] is None else f32(self.caps_w[c])
                        for _, (c, d) in singles
                    ],
                ),
                ptrs(
                    "float",
                    [four_steps(self.power_tables[d], lay.substeps) for _, (c, d) in singles],
                ),
                ptrs(
                    "float",
                    [
                        None if self.caps_w[c] is None else four_steps(self.caps_w[c], lay.substeps)
                        for _, (c, d) in singles
                    ],
                ),
                ptr("long long", np.asarray([limit[d] for _, (c, d) in singles], np.int64)),
                ptr("long long", np.asarray([cap_limit[c] for _, (c, d) in singles], np.int64)),
                ptrs("long long", [i64(deal_base[d]) for _, (c, d) in singles]),
                ptrs(
                    "long long",
                    [
                        i64(cap_base[c]) if self.caps_w[c] is not None else None
                        for _, (c, d) in singles
                    ],
                ),
                ptrs("float", [f32(pues[c]) for _, (c, d) in singles]),
                ptrs(
                    "float", [f32(gains[d]) if self.has_gain[d] else None for _, (c, d) in singles]
                ),
                ptr("float", rate32),
                ptr("float", target32),
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
                lay.steps,
                lay.substeps,
                ptr("float", frac),
                ptr("float", f32(np.asarray(lay.start_fraction, np.float64) * lay.dt_s)),
                len(general),
                ptr("int", np.asarray(general, np.int32)),
                n_deals,
                ptr("int", np.asarray(lay.deal_campus, np.int32)),
                n_campus,
                ptr("int", np.asarray(lay.campus_track, np.int32)),
                ptr("long long", np.asarray(limit, np.int64)),
                ptr("long long", np.asarray(cap_limit, np.int64)),
                # float32(kappa) (0: tables not proportional).
                ptr("float", np.asarray([k or 0.0 for k in self.kappa], np.float32)),
                ptrs("float", [f32(t) for t in self.flops_tables]),
                ptrs("float", [f32(t) for t in self.power_tables]),
                ptrs("float", [None if g is None else f32(g) for g in gains]),
                ptrs("long long", [i64(b) for b in deal_base]),
                ptrs("float", [None if t is None else f32(t) for t in self.caps_w]),
                ptrs(
                    "long long",
                    [i64(b) if t is not None else None for b, t in zip(cap_base, self.caps_w)],
                ),
                ptrs("float", [f32(p) for p in pues]),
                ptr("float", rate32),
                ptr("float", target32),
                ptrs("float", out["elapsed_steps"]),
                ptrs("float", out["remaining_flop"]),
                ptrs("float", out["peak_facility_w"]),
                ptrs("float", out["server_w_steps"]),
            )

            def general_call(lo, hi):
                code = lib.race_general(lo, hi, *g_args)
                if code < 0:
                    raise RuntimeError(
                        "race_general: more deals or campuses than the compiled kernel holds"
                    )
                return code

            calls.append(general_call)

        def run(lo: int) -> None:
            hi = min(lo + subchunk, k)
            if any([call(lo, hi) for call in calls]):
                # A kernel met an index out of range (and read index 0 in its place): name it.
                checked = [(f"deal {d}", i64(b), limit[d]) for d, b in enumerate(deal_base)]
                checked += [
                    (f"campus {c} power cap", i64(cap_base[c]), cap_limit[c])
                    for c, t in enumerate(self.caps_w)
                    if t is not None
                ]
                bad = lib.race_check(
                    lo,
                    hi,
                    len(checked),
                    ptrs("long long", [b for _, b, _ in checked]),
                    ptr("long long", np.asarray([top for _, _, top in checked], np.int64)),
                )
                where = checked[bad][0] if bad >= 0 else "a deal or campus"
                raise RuntimeError(
                    f"race kernel: a table index of {where} is out of range "
                    "(delays are clipped to the tables on the host, so this is a bug)"
                )

        _map(run, range(0, k, max(1, int(subchunk))), threads)


def main() -> int:
    """Print which CPU race kernel runs; exit 1 when the compiled one is not (make setup runs
    this)."""
    print(f"CPU race kernel: {status()}")
    return 0 if library() is not None else 1


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())

"""Fused race kernel for CuPy: one CUDA thread per draw walks every step (opt-in, measured by bench).

The generic array-API kernel (`race.race_tracks`) launches a dozen or so element-wise kernels per
track and step, each reading and writing whole (K,) arrays in GPU memory. Here one thread keeps a
draw's state in registers and walks the steps: the same arithmetic, in the same float32 order as
`race_tracks` (FMA contraction off), with no temporaries and one launch per call.

The kernel is C source (`RACE_SOURCE`) compiled by CuPy (`cupy.RawKernel`, NVRTC) on a GPU, and
by a C compiler on the CPU in the tests (`tests/test_race_fused.py`), so its logic is checked
against the NumPy kernels on machines without a GPU; `pack_args` builds its arguments for either
(any array namespace). CuPy is imported only inside `race_tracks_fused`, i.e. only when the
backend is CuPy (DESIGN s2: backend.py stays the one module importing it at package import); numpy
is used on the host for the small static arrays (layout, table offsets).

Not the default: `simulate.race_kernel` keeps the generic kernel on CuPy until a GPU run of
`python -m analysis bench --backend cupy` shows this one is faster and agrees (it reports both).
"""

from __future__ import annotations

import numpy as np

from .race import _ONE_FLOP, RaceLayout

#: Sizes of the per-thread state arrays (registers / local memory): a competitor with more deals,
#: campuses or tracks than this runs the generic kernel instead.
MAX_DEALS = 16
MAX_CAMPUSES = 16
MAX_TRACKS = 16
#: CUDA threads per block.
BLOCK = 256

#: The kernel's array arguments, shared by the per-draw function and its GPU and CPU entry points.
_PARAMS = """    const int* deal_campus, const int* campus_track, const float* frac, const float* dt_frac,
    const float* tables, const long long* flops_off, const long long* power_off,
    const long long* cap_off, const int* has_gain,
    const long long* deal_base, const float* gain, const long long* cap_base, const float* pue,
    const float* rate, const float* target,
    float* elapsed, float* remaining, float* peak, float* served)"""
_ARGS = ", ".join(
    name.split("*")[-1].strip(" )") for name in _PARAMS.replace("\n", " ").split(",")
)

RACE_SOURCE = r"""
#ifdef __CUDACC__
#define RACE_FN __device__ static
#else
#include <math.h>
#define RACE_FN static
#endif
#define MAX_DEALS %(max_deals)d
#define MAX_CAMPUSES %(max_campuses)d
#define MAX_TRACKS %(max_tracks)d
#define ONE_FLOP %(one_flop)ff

/* One draw k of K: the race kernel of kernels/race.py, same float32 operations in the same order. */
RACE_FN void race_draw(
    long long k, long long K, int steps, int substeps, int n_deals, int n_campus, int n_tracks,
%(params)s
{
    float rem[MAX_TRACKS], ela[MAX_TRACKS], pk[MAX_TRACKS], srv[MAX_DEALS], deal_w[MAX_DEALS];
    float c_flops[MAX_CAMPUSES], c_server[MAX_CAMPUSES], c_scale[MAX_CAMPUSES], c_fac[MAX_CAMPUSES];
    const float r = rate[k];
    for (int t = 0; t < n_tracks; ++t) { rem[t] = target[k]; ela[t] = 0.0f; pk[t] = 0.0f; }
    for (int d = 0; d < n_deals; ++d) { srv[d] = 0.0f; }
    for (int i = 0; i < steps; ++i) {
        const long long offset = (long long)i * substeps;
        for (int c = 0; c < n_campus; ++c) { c_flops[c] = 0.0f; c_server[c] = 0.0f; }
        for (int d = 0; d < n_deals; ++d) {
            const long long j = deal_base[d * K + k] + offset;
            float f = tables[flops_off[d] + j];
            if (has_gain[d]) f = f * gain[d * K + k];
            deal_w[d] = tables[power_off[d] + j];
            const int c = deal_campus[d];
            c_flops[c] = c_flops[c] + f;
            c_server[c] = c_server[c] + deal_w[d];
        }
        for (int c = 0; c < n_campus; ++c) {
            const float facility = c_server[c] * pue[c * K + k];
            float scale = 1.0f;
            if (cap_off[c] >= 0) {
                const float cap_w = tables[cap_off[c] + cap_base[c * K + k] + offset] * 1e6f;
                if (facility > cap_w) scale = cap_w / facility;
            }
            c_flops[c] = c_flops[c] * scale;
            c_scale[c] = scale;
            c_fac[c] = facility * scale;
        }
        const float coef = r * dt_frac[i];
        for (int t = 0; t < n_tracks; ++t) {
            float flops = 0.0f, facility = 0.0f;
            for (int c = 0; c < n_campus; ++c) {
                if (campus_track[c] == t) { flops = flops + c_flops[c]; facility = facility + c_fac[c]; }
            }
            const float inc = flops * coef;
            const float use = fminf(fmaxf(rem[t] / fmaxf(inc, ONE_FLOP), 0.0f), 1.0f);
            rem[t] = rem[t] - inc;
            ela[t] = ela[t] + use;
            const float busy = use * frac[i];
            if (busy > 0.0f) {
                pk[t] = fmaxf(pk[t], facility);
                for (int d = 0; d < n_deals; ++d) {
                    const int c = deal_campus[d];
                    if (campus_track[c] == t) srv[d] = srv[d] + deal_w[d] * c_scale[c] * busy;
                }
            }
        }
    }
    for (int t = 0; t < n_tracks; ++t) {
        elapsed[t * K + k] = ela[t]; remaining[t * K + k] = rem[t]; peak[t * K + k] = pk[t];
    }
    for (int d = 0; d < n_deals; ++d) served[d * K + k] = srv[d];
}
""" % {"max_deals": MAX_DEALS, "max_campuses": MAX_CAMPUSES, "max_tracks": MAX_TRACKS, "one_flop": _ONE_FLOP,
       "params": _PARAMS}

#: The CUDA entry point: one thread per draw.
CUDA_SOURCE = RACE_SOURCE + r"""
extern "C" __global__ void race_fused(
    long long K, int steps, int substeps, int n_deals, int n_campus, int n_tracks,
%(params)s
{
    const long long k = (long long)blockIdx.x * blockDim.x + threadIdx.x;
    if (k >= K) return;
    race_draw(k, K, steps, substeps, n_deals, n_campus, n_tracks, %(args)s);
}
""" % {"params": _PARAMS, "args": _ARGS}

#: A CPU entry point looping over draws, for checking the kernel with a C compiler (tests).
CPU_SOURCE = RACE_SOURCE + r"""
void race_all(
    long long K, int steps, int substeps, int n_deals, int n_campus, int n_tracks,
%(params)s
{
    for (long long k = 0; k < K; ++k)
        race_draw(k, K, steps, substeps, n_deals, n_campus, n_tracks, %(args)s);
}
""" % {"params": _PARAMS, "args": _ARGS}


def fits(layout: RaceLayout, n_campus: int) -> bool:
    """Whether a competitor's structure fits the kernel's per-thread arrays."""
    return (len(layout.deal_campus) <= MAX_DEALS and n_campus <= MAX_CAMPUSES
            and layout.n_tracks <= MAX_TRACKS)


def pack_args(xp, layout: RaceLayout, flops_tables, power_tables, deal_base, cap_tables, cap_base,
              campus_pue, rate, target_flop, deal_gain=None) -> tuple[tuple, dict]:
    """The kernel's arguments, in order, as arrays of namespace `xp` (float32 / int64 / int32), and
    the outputs (keys of `race_tracks`'s dict, 2-D arrays: tracks or deals x draws)."""
    k = int(rate.shape[0])
    n_deals, n_campus = len(flops_tables), len(campus_pue)
    f32 = lambda a: xp.asarray(a, dtype=xp.float32)  # noqa: E731
    i64 = lambda a: xp.asarray(a, dtype=xp.int64)  # noqa: E731
    # All tables in one float32 array; each deal's and campus's table starts at its offset.
    tables = list(flops_tables) + list(power_tables) + [t for t in cap_tables if t is not None]
    offsets = np.cumsum([0] + [int(t.shape[0]) for t in tables])
    flops_off, power_off = offsets[:n_deals], offsets[n_deals:2 * n_deals]
    cap_iter = iter(offsets[2 * n_deals:])
    cap_off = [int(next(cap_iter)) if t is not None else -1 for t in cap_tables]
    pieces = [f32(t) for t in tables]
    zeros_i = xp.zeros(k, dtype=xp.int64)
    ones_f = xp.ones(k, dtype=xp.float32)
    gains = [None] * n_deals if deal_gain is None else list(deal_gain)
    frac = np.asarray(layout.start_fraction, dtype=np.float64)
    args = (
        np.int64(k), np.int32(layout.steps), np.int32(layout.substeps), np.int32(n_deals),
        np.int32(n_campus), np.int32(layout.n_tracks),
        xp.asarray(np.asarray(layout.deal_campus, dtype=np.int32)),
        xp.asarray(np.asarray(layout.campus_track, dtype=np.int32)),
        # As race_tracks: busy = use * float32(frac); inc = flops * (rate * float32(dt_s * frac)).
        xp.asarray(frac.astype(np.float32)), xp.asarray((layout.dt_s * frac).astype(np.float32)),
        xp.concat(pieces) if hasattr(xp, "concat") else xp.concatenate(pieces),
        xp.asarray(np.asarray(flops_off, dtype=np.int64)), xp.asarray(np.asarray(power_off, dtype=np.int64)),
        xp.asarray(np.asarray(cap_off, dtype=np.int64)),
        xp.asarray(np.asarray([g is not None for g in gains], dtype=np.int32)),
        xp.stack([i64(b) for b in deal_base]),
        xp.stack([f32(g) if g is not None else ones_f for g in gains]),
        xp.stack([i64(b) if b is not None else zeros_i for b in cap_base]),
        xp.stack([f32(p) for p in campus_pue]),
        f32(rate), f32(target_flop),
    )
    outputs = {
        "elapsed_steps": xp.empty((layout.n_tracks, k), dtype=xp.float32),
        "remaining_flop": xp.empty((layout.n_tracks, k), dtype=xp.float32),
        "peak_facility_w": xp.empty((layout.n_tracks, k), dtype=xp.float32),
        "server_w_steps": xp.empty((n_deals, k), dtype=xp.float32),
    }
    return args, outputs


def unpack(outputs: dict) -> dict:
    """`race_tracks`'s dict of lists of (K,) arrays from the kernel's 2-D outputs (views)."""
    return {key: [value[i] for i in range(value.shape[0])] for key, value in outputs.items()}


_KERNEL = None


def race_tracks_fused(layout: RaceLayout, flops_tables, power_tables, deal_base, cap_tables, cap_base,
                      campus_pue, rate, target_flop, /, *, deal_gain=None):
    """`race.race_tracks` for CuPy arrays, float32, as one fused CUDA kernel; same dict of arrays.

    Falls back to the generic kernel for float64 inputs or structures larger than the per-thread
    arrays (`fits`).
    """
    import cupy

    global _KERNEL
    if rate.dtype != cupy.float32 or not fits(layout, len(campus_pue)):
        from .race import race_tracks

        return race_tracks(layout, flops_tables, power_tables, deal_base, cap_tables, cap_base, campus_pue,
                           rate, target_flop, deal_gain=deal_gain)
    if _KERNEL is None:
        _KERNEL = cupy.RawKernel(CUDA_SOURCE, "race_fused", options=("--fmad=false",))
    args, outputs = pack_args(cupy, layout, flops_tables, power_tables, deal_base, cap_tables, cap_base,
                              campus_pue, rate, target_flop, deal_gain)
    k = int(rate.shape[0])
    if k:
        _KERNEL(((k + BLOCK - 1) // BLOCK,), (BLOCK,), args + tuple(outputs.values()))
    return unpack(outputs)

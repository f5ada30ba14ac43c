"""Host-side draws from named distributions, reproducible whatever the chunking.

Every uncertain quantity has a name (``"Meta muse-next/mfu"``, ``"deal meta-hyperion/delay"``) and
its own stream of random numbers, cut into fixed blocks of draws. Block ``b`` of stream ``name``
comes from ``SeedSequence(seed, spawn_key=(crc32(name), b))``, so draw ``i`` of a quantity is the
same number whether the run is split into chunks of 1,000 or 1,000,000, and adding a quantity to a
scenario never changes the draws of the others (common random numbers across what-if scenarios).

How each kind is drawn (vectorized, in place where it can be; `draw`):
- fixed: the value (no random numbers are generated);
- lognormal: exp(mu + sigma z) from the generator's standard normals (`normals`; the inverse normal
  CDF applied to uniforms cost about 4x the generator itself);
- the others: the inverse CDF of each distribution at the stream's uniforms (`uniforms`; triangular
  with one square root per draw).

`simulate` draws through `sample_streams` instead (below): the same named streams, but counter-based
(Philox4x64-10, NumPy's own `np.random.Philox`), so any range of draws is computed on its own, and
the compiled fast path (`kernels/native.c`, race_sample) makes every stream of a chunk in one call
outside the GIL, the same numbers as the NumPy form here (tests/test_sampling.py). `estimate` keeps
the block-seeded streams above.
"""

from __future__ import annotations

import zlib

import numpy as np

#: Draws per generator block; a chunk of any size is cut from whole blocks.
BLOCK = 1 << 16


def _stream_id(name: str) -> int:
    return zlib.crc32(name.encode("utf-8"))


#: Prefixes of blocks up to this many values are kept (`_prefix`): repeated small calls (`estimate`
#: in a loop, `estimate_many`) reuse them instead of seeding a generator each time.
CACHE_VALUES = 1 << 14
_CACHE: dict[tuple, np.ndarray] = {}
_CACHE_ENTRIES = 256


def _generate(
    kind: str, seed: int, stream: int, block: int, m: int, out: np.ndarray | None = None
) -> np.ndarray:
    """The first m values of a block (into `out` when given)."""
    gen = np.random.Generator(
        np.random.PCG64(np.random.SeedSequence(seed, spawn_key=(stream, block)))
    )
    out = np.empty(m) if out is None else out
    return gen.random(out=out) if kind == "uniform" else gen.standard_normal(out=out)


def _prefix(kind: str, seed: int, stream: int, block: int, m: int) -> np.ndarray:
    """The first m values of a block (m <= CACHE_VALUES), from a small cache (read-only array)."""
    key = (kind, seed, stream, block)
    values = _CACHE.get(key)
    if values is None or values.shape[0] < m:
        if len(_CACHE) >= _CACHE_ENTRIES:
            _CACHE.pop(next(iter(_CACHE)))  # the oldest entry
        values = _generate(kind, seed, stream, block, max(m, 1024))
        values.flags.writeable = False
        _CACHE[key] = values
    return values


def _blocks(seed: int, name: str, start: int, stop: int, kind: str) -> np.ndarray:
    """Draws start..stop-1 of stream `name`: "uniform" or "normal" values, block by block.

    A stream's first m values do not depend on how many are asked for, so a chunk that ends inside a
    block generates the block up to its end only."""
    out = np.empty(max(stop - start, 0), dtype=np.float64)
    if stop <= start:
        return out
    stream = _stream_id(name)
    first, last = start // BLOCK, (stop - 1) // BLOCK
    for block in range(first, last + 1):
        lo = max(start, block * BLOCK)
        hi = min(stop, (block + 1) * BLOCK)
        m = hi - block * BLOCK
        if m <= CACHE_VALUES:
            out[lo - start : hi - start] = _prefix(kind, seed, stream, block, m)[
                lo - block * BLOCK : m
            ]
        elif lo == block * BLOCK:
            _generate(
                kind, seed, stream, block, m, out[lo - start : hi - start]
            )  # straight into the output
        else:
            out[lo - start : hi - start] = _generate(kind, seed, stream, block, m)[
                lo - block * BLOCK :
            ]
    return out


def uniforms(seed: int, name: str, start: int, stop: int) -> np.ndarray:
    """Uniforms in [0, 1) for draws ``start..stop-1`` of the stream ``name`` (float64, shape
    (stop-start,))."""
    out = _blocks(seed, name, start, stop, "uniform")
    # Keep the inverse CDFs finite: a uniform of exactly 0 would map to -inf for the normal.
    np.clip(out, 1e-12, 1.0 - 1e-12, out=out)
    return out


def normals(seed: int, name: str, start: int, stop: int) -> np.ndarray:
    """Standard normals for draws ``start..stop-1`` of the stream ``name`` (float64)."""
    return _blocks(seed, name, start, stop, "normal")


def draw(dist, seed: int, name: str, start: int, stop: int) -> np.ndarray:
    """Draws ``start..stop-1`` of ``dist`` for the quantity ``name`` (float64 on the host)."""
    kind = getattr(dist, "dist", None)
    if kind == "fixed":
        return np.full(max(stop - start, 0), float(dist.value))
    if kind == "lognormal":
        z = normals(seed, name, start, stop)
        z *= dist.sigma
        z += dist.mu
        return np.exp(z, out=z)
    if kind == "uniform":
        u = uniforms(seed, name, start, stop)
        u *= dist.high - dist.low
        u += dist.low
        return u
    if kind == "triangular" and dist.high > dist.low:
        return _triangular(dist, uniforms(seed, name, start, stop))
    return dist.ppf(uniforms(seed, name, start, stop))


#: Draws per pass of the inverse CDFs below: their temporaries stay in the L2 cache.
PASS = 1 << 14


def _triangular(dist, u: np.ndarray) -> np.ndarray:
    """Triangular inverse CDF in place, one square root per draw (the two branches share it), in
    cache-sized passes."""
    return _triangular_inverse(u, *compiled_form(dist)[1])


def _triangular_inverse(
    u: np.ndarray, low: float, high: float, cut: float, a: float, b: float
) -> np.ndarray:
    """In place: low + sqrt(u a) where u < cut, high - sqrt((1 - u) b) elsewhere (a = width x
    (mode - low), b = width x (high - mode), cut = (mode - low) / width; race_sample's kind 3)."""
    for lo in range(0, u.shape[0], PASS):
        x = u[lo : lo + PASS]
        left = x < cut
        t = np.where(left, x * a, (1.0 - x) * b)
        np.sqrt(t, out=t)
        x[...] = np.where(left, low + t, high - t)
    return u


# ---------------------------------------------------------------------------------------------
# Counter-based streams (simulate): any range of draws computed on its own, in C or NumPy alike
# ---------------------------------------------------------------------------------------------
#
# Draw i of stream `name` is output i of np.random.Philox(key=[seed, crc32(name)]): Philox4x64-10
# is counter-based, so draws start..stop-1 need no generator state before them (no blocks, no seed
# sequences), and the compiled fast path (`native.c` race_sample) computes the same 64-bit words
# and the same inverse CDFs as the NumPy form here, many streams in one call outside the GIL.
# `sample_streams` is what simulate draws with; `draw` and `uniforms` above (estimate's streams)
# are unchanged.

#: race_sample's kinds: fixed, raw uniform, uniform, triangular, lognormal.
FIXED, UNIFORM01, UNIFORM, TRIANGULAR, LOGNORMAL = range(5)


def compiled_form(dist) -> tuple[int, tuple[float, ...]]:
    """(kind, five parameters) of race_sample for a distribution; None stands for raw uniforms.

    A distribution without a compiled form gets raw uniforms (its `ppf` is applied afterwards)."""
    kind = getattr(dist, "dist", None)
    if dist is None:
        return UNIFORM01, (0.0,) * 5
    if kind == "fixed":
        return FIXED, (float(dist.value), 0.0, 0.0, 0.0, 0.0)
    if kind == "uniform":
        return UNIFORM, (float(dist.low), float(dist.high), 0.0, 0.0, 0.0)
    if kind == "triangular" and dist.high > dist.low:
        width = dist.high - dist.low
        return TRIANGULAR, (
            float(dist.low),
            float(dist.high),
            (dist.mode - dist.low) / width,
            width * (dist.mode - dist.low),
            width * (dist.high - dist.mode),
        )
    if kind == "lognormal":
        return LOGNORMAL, (float(dist.mu), float(dist.sigma), 0.0, 0.0, 0.0)
    return UNIFORM01, (0.0,) * 5


def counter_uniforms(seed: int, name: str, start: int, stop: int) -> np.ndarray:
    """Uniforms in [1e-12, 1 - 1e-12] for draws start..stop-1 of the counter-based stream `name`
    (the NumPy form of race_sample's kind 1; float64)."""
    n = max(stop - start, 0)
    if n == 0:
        return np.empty(0)
    first = start // 4  # four words per counter value; Philox(counter=c) starts at words 4c..4c+3
    bits = np.random.Philox(key=np.array([seed, _stream_id(name)], dtype=np.uint64), counter=first)
    raw = bits.random_raw(stop - 4 * first)[start - 4 * first :]
    u = (raw >> np.uint64(11)).astype(np.float64)
    u *= 2.0**-53
    np.clip(u, 1e-12, 1.0 - 1e-12, out=u)
    return u


def _transform(kind: int, params: tuple[float, ...], u: np.ndarray) -> np.ndarray:
    """race_sample's inverse CDFs on NumPy, in place on `u`, in the C code's order of operations."""
    if kind == FIXED:
        u[...] = params[0]
    elif kind == UNIFORM:
        u *= params[1] - params[0]
        u += params[0]
    elif kind == TRIANGULAR:
        _triangular_inverse(u, *params)
    elif kind == LOGNORMAL:
        from scipy.special import ndtri

        ndtri(u, out=u)
        u *= params[1]
        u += params[0]
        np.exp(u, out=u)
    return u


def sampler_status() -> str:
    """One line: which form makes simulate's draws (the compiled race_sample, or NumPy's Philox) and
    why."""
    from .kernels import native

    if native.library() is not None:
        return "native.c race_sample (Philox4x64-10 counter streams and inverse CDFs in C)"
    return (
        "NumPy's np.random.Philox and inverse CDFs (the compiled sampler is not in use: "
        f"{native.status()})"
    )


def sample_streams(
    seed: int,
    requests: list[tuple[str, object]],
    start: int,
    stop: int,
    *,
    compiled: bool | None = None,
) -> dict[str, np.ndarray]:
    """Draws start..stop-1 of each (name, dist) in `requests` (dist None: the raw uniforms), as a
    dict name -> float64 array; the same numbers whatever range or thread computes them.

    `compiled`: None (default) uses native.c's race_sample when the extension is built, else the
    NumPy form; False always the NumPy form; True raises RuntimeError when it is not built. The two
    agree bit for bit except the lognormal's last bits (ndtri; tests/test_sampling.py)."""
    n = max(stop - start, 0)
    forms = [compiled_form(dist) for _, dist in requests]
    lib = None
    if compiled is not False:
        from .kernels import native

        lib = native.library()
        if lib is None and compiled:
            raise RuntimeError(f"compiled sampler: {native.status()}")
    out = np.empty((len(requests), n), dtype=np.float64)
    if lib is not None and requests and n:
        ffi = native.ffi()
        streams = np.array([_stream_id(name) for name, _ in requests], dtype=np.uint64)
        kinds = np.array([k for k, _ in forms], dtype=np.int32)
        params = np.array([p for _, p in forms], dtype=np.float64)
        status = lib.race_sample(
            start,
            stop,
            seed,
            len(requests),
            ffi.cast("unsigned long long *", ffi.from_buffer(streams)),
            ffi.cast("int *", ffi.from_buffer(kinds)),
            ffi.cast("double *", ffi.from_buffer(params)),
            ffi.cast("double *", ffi.from_buffer(out)),
            n,
        )
        if status != 0:  # pragma: no cover - the kinds above are the ones race_sample knows
            raise RuntimeError(f"race_sample refused the stream kinds {kinds.tolist()}")
        for row, (kind, _) in zip(out, forms):
            if (
                kind == LOGNORMAL
            ):  # race_sample leaves the logarithm: NumPy's exp is the NumPy form's
                np.exp(row, out=row)
    else:
        for row, (name, _), (kind, params) in zip(out, requests, forms):
            if kind == FIXED:
                row[...] = params[0]
            else:
                row[...] = counter_uniforms(seed, name, start, stop)
                _transform(kind, params, row)
    result = {}
    for row, (name, dist), (kind, _) in zip(out, requests, forms):
        if kind == UNIFORM01 and dist is not None:
            row = np.asarray(dist.ppf(row), dtype=np.float64)
        result[name] = row
    return result

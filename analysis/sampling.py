"""Host-side draws from named distributions, reproducible whatever the chunking.

Every uncertain quantity has a name (``"Meta muse-spark/mfu"``, ``"deal meta-hyperion/delay"``) and its
own stream of random numbers, cut into fixed blocks of draws. Block ``b`` of stream ``name`` comes
from ``SeedSequence(seed, spawn_key=(crc32(name), b))``, so draw ``i`` of a quantity is the same number
whether the run is split into chunks of 1,000 or 1,000,000, and adding a quantity to a scenario never
changes the draws of the others (common random numbers across what-if scenarios).

How each kind is drawn (vectorized, in place where it can be; `draw`):
- fixed: the value (no random numbers are generated);
- lognormal: exp(mu + sigma z) from the generator's standard normals (`normals`; the inverse normal
  CDF applied to uniforms cost about 4x the generator itself);
- the others: the inverse CDF of each distribution at the stream's uniforms (`uniforms`; triangular
  with one square root per draw).
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


def _generate(kind: str, seed: int, stream: int, block: int, m: int, out: np.ndarray | None = None) -> np.ndarray:
    """The first m values of a block (into `out` when given)."""
    gen = np.random.Generator(np.random.PCG64(np.random.SeedSequence(seed, spawn_key=(stream, block))))
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
            out[lo - start: hi - start] = _prefix(kind, seed, stream, block, m)[lo - block * BLOCK: m]
        elif lo == block * BLOCK:
            _generate(kind, seed, stream, block, m, out[lo - start: hi - start])  # straight into the output
        else:
            out[lo - start: hi - start] = _generate(kind, seed, stream, block, m)[lo - block * BLOCK:]
    return out


def uniforms(seed: int, name: str, start: int, stop: int) -> np.ndarray:
    """Uniforms in [0, 1) for draws ``start..stop-1`` of the stream ``name`` (float64, shape (stop-start,))."""
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
    width = dist.high - dist.low
    cut = (dist.mode - dist.low) / width
    a, b = width * (dist.mode - dist.low), width * (dist.high - dist.mode)
    for lo in range(0, u.shape[0], PASS):
        x = u[lo:lo + PASS]
        left = x < cut
        # left: low + sqrt(u w (mode - low)); right: high - sqrt((1 - u) w (high - mode))
        t = np.where(left, x * a, (1.0 - x) * b)
        np.sqrt(t, out=t)
        x[...] = np.where(left, dist.low + t, dist.high - t)
    return u

"""Host-side draws from named distributions, reproducible whatever the chunking.

Every uncertain quantity has a name (``"Meta muse-spark/mfu"``, ``"deal meta-hyperion/delay"``) and its
own stream of uniforms, cut into fixed blocks of draws. Block ``b`` of stream ``name`` comes from
``SeedSequence(seed, spawn_key=(crc32(name), b))``, so draw ``i`` of a quantity is the same number
whether the run is split into chunks of 1,000 or 1,000,000, and adding a quantity to a scenario never
changes the draws of the others (common random numbers across what-if scenarios). Values come from
the inverse CDF of each distribution applied to those uniforms.
"""

from __future__ import annotations

import zlib

import numpy as np

#: Draws per generator block; a chunk of any size is cut from whole blocks.
BLOCK = 1 << 16


def _stream_id(name: str) -> int:
    return zlib.crc32(name.encode("utf-8"))


def uniforms(seed: int, name: str, start: int, stop: int) -> np.ndarray:
    """Uniforms in [0, 1) for draws ``start..stop-1`` of the stream ``name`` (float64, shape (stop-start,))."""
    if stop <= start:
        return np.empty(0, dtype=np.float64)
    stream = _stream_id(name)
    out = np.empty(stop - start, dtype=np.float64)
    first, last = start // BLOCK, (stop - 1) // BLOCK
    for block in range(first, last + 1):
        seq = np.random.SeedSequence(seed, spawn_key=(stream, block))
        values = np.random.Generator(np.random.PCG64(seq)).random(BLOCK)
        lo = max(start, block * BLOCK)
        hi = min(stop, (block + 1) * BLOCK)
        out[lo - start : hi - start] = values[lo - block * BLOCK : hi - block * BLOCK]
    # Keep the inverse CDFs finite: a uniform of exactly 0 would map to -inf for the normal.
    np.clip(out, 1e-12, 1.0 - 1e-12, out=out)
    return out


def draw(dist, seed: int, name: str, start: int, stop: int) -> np.ndarray:
    """Draws ``start..stop-1`` of ``dist`` for the quantity ``name`` (float64 on the host)."""
    return dist.ppf(uniforms(seed, name, start, stop))

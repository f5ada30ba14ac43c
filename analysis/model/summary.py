"""Tidy results: quantile summaries as DataFrames and JSON-ready dicts."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import pandas as pd

import functools
import math
from typing import Any

import numpy as np

QUANTILES = {"p10": 0.1, "p50": 0.5, "p90": 0.9}


def quantiles(values, *, overwrite: bool = False) -> dict[str, float | None]:
    """p10, p50, p90 and mean of the finite values (None when there are none).

    Quantiles by selection (`np.quantile` partitions; it does not sort); from RADIX_MIN values on,
    by the compiled radix selection (`radix_quantiles`: the same numbers, the mean to ~1e-15).
    `overwrite=True`: `values` is a scratch array the selection may reorder in place (no copy).
    """
    values = np.asarray(values).ravel()
    radix = radix_quantiles(values, _LEVELS, finite_only=True)
    if radix is not None:
        qs, count, total = radix
        mean = total / count if count else None
    else:
        finite = np.isfinite(values)
        if not finite.all():
            values, overwrite = values[finite], True
        count = values.size
        mean = float(values.mean(dtype=np.float64)) if count else None
        qs = select_quantiles(values, _LEVELS, overwrite=overwrite) if count else None
    if count == 0:
        return {key: None for key in (*QUANTILES, "mean")}
    out = {key: float(q) for key, q in zip(QUANTILES, qs)}
    out["mean"] = mean
    return out


_LEVELS = np.array(list(QUANTILES.values()))


def select_quantiles(
    values: np.ndarray, levels: np.ndarray, *, overwrite: bool = False
) -> np.ndarray:
    """Quantiles of a 1-D array by the linear rule of `np.quantile` (its default), by selection:
    partitions at the order statistics needed (`select_order_statistics`), then the same
    interpolation (`np.quantile`'s lerp), without its per-call overhead (most of a small
    `estimate`'s time). float64 results."""
    radix = radix_quantiles(
        values, levels, finite_only=False
    )  # None with a NaN: then as np.quantile
    if radix is not None:
        return radix[0]
    lo, hi, kth, t = _order_statistics(values.shape[0], tuple(float(q) for q in levels))
    part = values if overwrite else values.copy()
    a, b = select_order_statistics(part, lo, hi)
    return _lerp(a, b, t)


def _lerp(a: np.ndarray, b: np.ndarray, t: np.ndarray) -> np.ndarray:
    """np.quantile's interpolation between the order statistics a and b at weight t: from the nearer
    end, so the result is monotone and exact at the ends."""
    diff = b - a
    return np.where(t >= 0.5, b - diff * (1.0 - t), a + diff * t)


#: Arrays from this many values on go to the compiled radix selection (`radix_quantiles`); smaller
#: ones (estimate's 1,000 draws) are partitioned by NumPy, which then costs less than the call.
RADIX_MIN = 1 << 15


def radix_quantiles(
    values: np.ndarray, levels: np.ndarray, *, finite_only: bool, min_size: int = RADIX_MIN
):
    """(quantiles, count, sum) of a 1-D float32/float64 array by `native.c`'s race_select: exact
    order statistics by radix selection (two passes for float32, four for float64; nothing reordered
    or copied), then `np.quantile`'s lerp. Counted: the finite values (`finite_only`) or all but NaN
    (with a NaN: None). None as well when the extension is not built or the array is small, of
    another dtype or not contiguous: the caller partitions. `min_size`: the smallest array it
    takes."""
    if (
        values.ndim != 1
        or values.shape[0] < min_size
        or values.dtype not in (np.float32, np.float64)
    ):
        return None
    if not values.flags.c_contiguous:
        return None
    from .kernels import native

    lib = native.library()
    if lib is None:
        return None
    ffi = native.ffi()
    levels = np.ascontiguousarray(levels, dtype=np.float64)
    k = levels.shape[0]
    a, b, t = np.empty(k), np.empty(k), np.empty(k)
    count, total = ffi.new("long long *"), ffi.new("double *")
    dp = lambda x: ffi.cast("double *", ffi.from_buffer(x))  # noqa: E731
    code = lib.race_select(
        values.shape[0],
        ffi.from_buffer(values),
        int(values.dtype == np.float64),
        int(finite_only),
        k,
        dp(levels),
        dp(a),
        dp(b),
        dp(t),
        count,
        total,
    )
    if code != 0:
        return None
    with np.errstate(invalid="ignore"):  # inf - inf where a quantile lies among infinite values
        qs = _lerp(a, b, t)
    return qs, int(count[0]), float(total[0])


def row_stats(
    values: np.ndarray, *, overwrite: bool = False, order: np.ndarray | None = None
) -> np.ndarray:
    """p10, p50, p90 (the linear rule of `np.quantile`, as `select_quantiles`) and mean of each row
    of a 2-D array: shape (rows, 4). Rows are sorted (NumPy's vectorized sort beats a partition at
    several order statistics along an axis); `overwrite=True` sorts `values` itself. `order`: column
    indices that put every row in ascending order (rows that are one monotone function of the same
    draws), so nothing is sorted."""
    rows, n = values.shape
    out = np.empty((rows, 4))
    if rows == 0:
        return out
    out[:, 3] = values.mean(axis=1)
    lo, hi, _, t = _order_statistics(n, tuple(_LEVELS.tolist()))
    if order is not None:
        a = values[:, order[lo]]
        b = values[:, order[hi]]
    else:
        part = values if overwrite else values.copy()
        part.sort(axis=1)
        a = part[:, lo]
        b = part[:, hi]
    out[:, :3] = _lerp(a, b, t)
    return out


@functools.lru_cache(maxsize=64)
def _order_statistics(n: int, levels: tuple[float, ...]):
    """Indices below and above each quantile's position, the partition's kth, and the weights."""
    pos = np.asarray(levels) * (n - 1)
    lo = np.floor(pos).astype(np.intp)
    hi = np.minimum(lo + 1, n - 1)
    return lo, hi, np.unique(np.concatenate([lo, hi])), pos - lo


def summary_frame(metrics: dict[str, dict], units: dict[str, str]) -> pd.DataFrame:
    """One row per metric with its unit and p10/p50/p90/mean columns."""
    import pandas as pd

    rows = []
    for name, q in metrics.items():
        if q is None:
            q = {key: None for key in (*QUANTILES, "mean")}
        rows.append({"metric": name, "unit": units.get(name, ""), **q})
    return pd.DataFrame(rows).set_index("metric")


def json_ready(obj: Any) -> Any:
    """Plain JSON types: numpy scalars to Python, NaN and infinities to None."""
    if isinstance(obj, dict):
        return {str(k): json_ready(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [json_ready(v) for v in obj]
    if isinstance(obj, np.ndarray):
        return [json_ready(v) for v in obj.tolist()]
    if isinstance(obj, (np.floating, float)):
        value = float(obj)
        return value if math.isfinite(value) else None
    if isinstance(obj, np.integer):
        return int(obj)
    if isinstance(obj, np.bool_):
        return bool(obj)
    return obj


def select_order_statistics(
    part: np.ndarray, lo: np.ndarray, hi: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Order statistics `lo` and `hi` (= lo or lo + 1) of a 1-D array, reordering `part` in place
    (float64). One single-kth partition per distinct `lo`, each over the stretch its neighbours
    bound (NumPy's partition at several kth at once is about 10x slower than at one); the statistic
    above a `lo` is then the smallest value up to the next partitioned index."""
    ks = [int(k) for k in np.unique(lo)]
    _partition_at(part, ks, 0)
    above = {}
    for i, k in enumerate(ks):
        end = ks[i + 1] + 1 if i + 1 < len(ks) else part.shape[0]
        above[k] = part[k + 1 : end].min() if k + 1 < end else part[k]
    a = part[lo].astype(np.float64)
    b = np.array(
        [above[int(k)] if h > k else part[int(k)] for k, h in zip(lo, hi)], dtype=np.float64
    )
    return a, b


def _partition_at(part: np.ndarray, ks: list[int], offset: int) -> None:
    """Partition `part` (a view starting at index `offset` of the whole) at every index in `ks`."""
    if not ks:
        return
    m = len(ks) // 2
    k = ks[m] - offset
    part.partition(k)
    _partition_at(part[:k], ks[:m], offset)
    _partition_at(part[k + 1 :], ks[m + 1 :], offset + k + 1)

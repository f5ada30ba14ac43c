"""Many `estimate` configurations at once: a table in, one row of quantiles per configuration out.

`estimate_many(frame)` evaluates every row of a table whose columns are named like `estimate`'s
flags (``params``, ``tokens``, ``accelerator``, ``accelerators``, optional ``active_params``,
``flop``, ``precision``, ``mfu``, ``goodput``, ``gpu_hours``, ``pue``, ``site``, ``price_per_hour``)
and returns one row per input row with the same quantile columns `estimate` gives
(``<metric>_p10``, ``_p50``, ``_p90``, ``_mean``), equal to `estimate` called row by row with the same
draws and seed (tests/test_batch.py).

How: `estimate` draws every uncertain quantity from a named stream (``estimate/goodput``, ...), so
for one seed all rows share the same draws; only the per-row constants differ (FLOP, peak, prices,
the prior's centre and spread at the row's active parameters). Those constants are (rows, 1) arrays,
the draws (1, draws) arrays, and the single-run formulas of `kernels/compute.py` broadcast over
both, a block of rows at a time (memory stays bounded whatever the row count). Quantiles are taken
by selection along each row (`np.partition` via `np.quantile`), once per distinct ordering: days are
hours over a row constant, chip energy and emissions are energy times a row constant, so their
quantiles and means follow from those of hours and energy.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from . import constants as K
from .errors import InputError

if TYPE_CHECKING:
    import pandas as pd

#: Input columns, as the flags of `estimate` (underscores for dashes).
NUMERIC = ("params", "active_params", "tokens", "flop", "accelerators", "mfu", "goodput", "gpu_hours", "pue",
           "price_per_hour")
TEXT = ("accelerator", "precision", "site")
COLUMNS = NUMERIC[:3] + ("flop", "accelerator", "accelerators") + NUMERIC[5:] + TEXT[1:]
#: Rows evaluated together: (rows x draws) float64 arrays of about this many elements.
BLOCK_ELEMENTS = 1 << 20
QUANTILE_KEYS = ("p10", "p50", "p90", "mean")


def _metrics():
    from ._estimate import METRICS

    return METRICS


def output_columns() -> list[str]:
    return [f"{m}_{q}" for m in _metrics() for q in QUANTILE_KEYS]


class _Rows:
    """Checked per-row inputs: numeric columns as float arrays (NaN = not given), text as lists."""

    def __init__(self, frame, where: str):
        import pandas as pd

        self.where = where
        self.n = len(frame)
        unknown = [c for c in frame.columns if c not in COLUMNS]
        if unknown:
            raise InputError(f"{where}: column {unknown[0]!r}: unknown; allowed: {', '.join(COLUMNS)}")
        if "accelerator" not in frame.columns:
            raise InputError(f"{where}: column 'accelerator' is required")
        self.num = {}
        for col in NUMERIC:
            if col not in frame.columns:
                self.num[col] = np.full(self.n, np.nan)
                continue
            raw = frame[col]
            values = pd.to_numeric(raw, errors="coerce").to_numpy(dtype=np.float64, copy=True)
            given = raw.notna().to_numpy() & (raw.astype(str).str.strip() != "").to_numpy()
            bad = given & ~np.isfinite(values)
            self._fail_first(bad, col, raw, "a finite number")
            values[~given] = np.nan
            self.num[col] = values
        self.text = {}
        for col in TEXT:
            if col in frame.columns:
                raw = frame[col]
                self.text[col] = [None if (v is None or (isinstance(v, float) and math.isnan(v)) or str(v).strip() == "")
                                  else str(v).strip() for v in raw.tolist()]
            else:
                self.text[col] = [None] * self.n
        self._raw = frame

    def _fail_first(self, bad, col, raw, allowed) -> None:
        if np.any(bad):
            i = int(np.flatnonzero(bad)[0])
            value = raw.iloc[i] if raw is not None else None
            raise InputError(f"{self.where}: row {i + 1}, column {col!r}: expected {allowed}, got {value!r}")

    def check(self, col: str, ok, allowed: str) -> None:
        values = self.num[col]
        self._fail_first(np.isfinite(values) & ~ok, col, self._raw[col] if col in self._raw else None, allowed)

    def fail(self, i: int, col: str, message: str):
        raise InputError(f"{self.where}: row {i + 1}, column {col!r}: {message}")


def read_configs(path: str | Path) -> pd.DataFrame:
    """The configurations table of `estimate --batch` (CSV with a header row; cells as text);
    InputError naming the file (and the row whose field count differs from the header's)."""
    import csv

    import pandas as pd

    path = Path(path)
    try:
        with open(path, newline="", encoding="utf-8") as handle:
            rows = list(csv.reader(handle, skipinitialspace=True))
    except FileNotFoundError:
        raise InputError(f"--batch: file not found: {path}") from None
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        raise InputError(f"{path}: not a readable CSV table of configurations ({first})") from None
    rows = [r for r in rows if any(cell.strip() for cell in r)]  # blank lines
    if not rows:
        raise InputError(f"{path}: empty; expected a header row of column names (params, tokens, accelerator, ...)")
    header = [c.strip().replace("-", "_") for c in rows[0]]
    for i, row in enumerate(rows[1:], start=1):
        if len(row) != len(header):
            raise InputError(f"{path}: row {i}: {len(row)} fields, the header has {len(header)}")
    return pd.DataFrame(rows[1:], columns=header, dtype=object)


def estimate_many(frame, *, draws: int = K.DEFAULT_ESTIMATE_DRAWS, seed: int = 0, catalog=None,
                  where: str = "configs") -> pd.DataFrame:
    """`estimate` for every row of `frame` (a DataFrame or a mapping of columns); one output row each.

    Columns are named like `estimate`'s flags; a missing or empty cell is a flag not given. Returns
    the input columns followed by ``training_flop`` and ``<metric>_p10/_p50/_p90/_mean`` for each of
    `estimate`'s metrics (NaN where `estimate` has none, e.g. days without ``accelerators``). Bad
    input raises InputError naming `where`, the row (1 = first data row) and the column.
    """
    import pandas as pd

    from .calibration import default_prior
    from .catalog import load_catalog
    from .sampling import draw, normals
    from .specs import MAX_DRAWS, PRECISIONS, Uncertainty

    if not isinstance(frame, pd.DataFrame):
        frame = pd.DataFrame(frame)
    if not isinstance(draws, (int, np.integer)) or not 1 <= draws <= MAX_DRAWS:
        raise InputError(f"--draws: expected a whole number from 1 to {MAX_DRAWS:,}, got {draws!r}")
    if not isinstance(seed, (int, np.integer)) or seed < 0:
        raise InputError(f"--seed: expected a whole number >= 0, got {seed!r}")
    rows = _Rows(frame, where)
    n = rows.n
    num = rows.num
    positive = "a positive finite number"
    for col in ("params", "active_params", "tokens", "flop", "gpu_hours", "price_per_hour"):
        rows.check(col, num[col] > 0, positive)
    rows.check("accelerators", (num["accelerators"] > 0) & (num["accelerators"] == np.round(num["accelerators"])),
               "a positive whole number")
    for col in ("mfu", "goodput"):
        rows.check(col, (num[col] > 0) & (num[col] <= 1), "a number in (0, 1]")
    rows.check("pue", (num["pue"] >= 1) & (num["pue"] <= 3), "a number in [1, 3]")
    has = {c: np.isfinite(v) for c, v in num.items()}
    for i in range(n):  # the rules between columns, as `estimate` states them
        if has["flop"][i] and (has["params"][i] or has["tokens"][i] or has["active_params"][i]):
            rows.fail(i, "flop", "give either flop or params/tokens, not both")
        if not has["flop"][i]:
            if not (has["params"][i] or has["tokens"][i] or has["active_params"][i]):
                rows.fail(i, "params", "give params and tokens, or flop")
            if not has["tokens"][i]:
                rows.fail(i, "tokens", "training tokens are needed with params (or give flop)")
            if not (has["params"][i] or has["active_params"][i]):
                rows.fail(i, "params", "the parameter count is needed with tokens (or give flop)")
            if has["params"][i] and has["active_params"][i] and num["active_params"][i] > num["params"][i]:
                rows.fail(i, "active_params", f"{num['active_params'][i]:g} exceeds params {num['params'][i]:g}")

    catalog = catalog or load_catalog()
    precision = [p or "bf16" for p in rows.text["precision"]]
    chips, regions = [], []
    for i in range(n):
        if precision[i] not in PRECISIONS:
            rows.fail(i, "precision", f"unknown precision {precision[i]!r}; allowed: {', '.join(PRECISIONS)}")
        acc = rows.text["accelerator"][i]
        if acc is None:
            rows.fail(i, "accelerator", "an accelerator id is required")
        try:
            chips.append(catalog.accelerator(acc))
        except InputError as exc:
            rows.fail(i, "accelerator", str(exc).split(": ", 1)[-1])
        try:
            regions.append(catalog.site(rows.text["site"][i] or K.DEFAULT_SITE))
        except InputError as exc:
            rows.fail(i, "site", str(exc).split(": ", 1)[-1])
        chip = chips[-1]
        if precision[i] == "fp8" and chip.peak_fp8_flop_per_s is None:
            try:
                chip.peak_flop_per_s("fp8")
            except InputError as exc:
                rows.fail(i, "precision", str(exc).split(": ", 1)[-1])

    # Per-row constants (rows,).
    active = np.where(has["active_params"], num["active_params"], num["params"])
    from .kernels import compute as kc

    training_flop = np.where(has["flop"], num["flop"], kc.training_flop(active, num["tokens"]))
    peak = np.array([c.peak_flop_per_s(p) for c, p in zip(chips, precision)], dtype=np.float64)
    fp8_ratio = np.array([(c.peak_fp8_flop_per_s / c.peak_bf16_flop_per_s) if p == "fp8" else 1.0
                          for c, p in zip(chips, precision)])
    server_w = np.array([c.server_power_w for c in chips], dtype=np.float64)
    tdp_w = np.array([c.tdp_w for c in chips], dtype=np.float64)
    frac = np.array([c.server_power_fraction for c in chips], dtype=np.float64)
    rental = np.array([np.nan if c.rental_usd_per_hour is None else c.rental_usd_per_hour for c in chips])
    site_pue = np.array([r.pue for r in regions], dtype=np.float64)
    grid = np.array([r.grid_gco2_per_kwh for r in regions], dtype=np.float64)
    prior_rows = ~has["gpu_hours"] & ~has["mfu"]
    accelerator_ids = np.array([c.id for c in chips], dtype=object)
    # The prior's centre and spread of log utilization per row, through its vectorized ppf:
    # ppf(1/2) = exp(centre), ppf(0.9) = exp(centre + half) (what `effective` turns into a LogNormal).
    centre = np.zeros(n)
    sigma = np.zeros(n)
    from scipy.special import ndtri

    for sized in (True, False):
        sel = prior_rows & (has["flop"] != sized)
        if not sel.any():
            continue
        prior = default_prior(catalog, with_size=sized)
        act = active[sel] if sized else None
        m = int(sel.sum())
        ids = accelerator_ids[sel]
        c = np.log(prior.ppf(np.full(m, 0.5), act, accelerator=ids))
        half = (np.log(prior.ppf(np.full(m, 0.9), act, accelerator=ids)) - c) * (_z90() / float(ndtri(0.9)))
        # As LogNormal(p10=exp(c - half), p90=exp(c + half)): mu and sigma of log u.
        lo, hi = np.log(np.exp(c - half)), np.log(np.exp(c + half))
        centre[sel] = 0.5 * (lo + hi)
        sigma[sel] = (hi - lo) / (2.0 * _z90())

    # Shared draws (1, draws): the same streams and names as `estimate`.
    defaults = Uncertainty()

    def sample(name, dist):
        return draw(dist, seed, f"estimate/{name}", 0, draws)[None, :]

    goodput_draws = sample("goodput", defaults.goodput)
    pue_delta = sample("pue_delta", defaults.pue_delta)
    z_util = normals(seed, "estimate/utilization", 0, draws)[None, :]
    need = lambda mask: bool(np.any(mask))  # noqa: E731
    fp8_rows = prior_rows & np.array([p == "fp8" for p in precision], dtype=bool)
    fp8 = sample("fp8_gain", defaults.fp8_gain) if need(fp8_rows) else None
    # One cost basis, as in `estimate`: rental at the given price or the sheet's; no price, no cost (NaN).
    rental_rows = ~has["price_per_hour"] & ~np.isnan(rental)
    price_factor = sample("price_factor", defaults.price_factor) if need(rental_rows) else None

    # Rows of one kind (which columns are given, which cost method) next to each other, so that most
    # blocks take one branch of every choice (`_where`); results go back to the rows' own order.
    kind = np.zeros(n, np.int64)
    for bit, mask in enumerate((has["goodput"], has["pue"], has["mfu"], has["gpu_hours"], fp8_rows,
                                has["price_per_hour"], rental_rows)):
        kind |= mask.astype(np.int64) << bit
    order = np.argsort(kind, kind="stable")
    arrays = (active, training_flop, peak, fp8_ratio, server_w, tdp_w, frac, rental, site_pue, grid,
              prior_rows, centre, sigma, fp8_rows, rental_rows)
    (active, training_flop, peak, fp8_ratio, server_w, tdp_w, frac, rental, site_pue, grid,
     prior_rows, centre, sigma, fp8_rows, rental_rows) = (a[order] for a in arrays)
    num = {k: v[order] for k, v in num.items()}
    has = {k: v[order] for k, v in has.items()}

    out = {name: np.full(n, np.nan) for name in output_columns()}
    step = max(1, BLOCK_ELEMENTS // max(draws, 1))
    for lo in range(0, n, step):
        hi = min(lo + step, n)
        col = lambda a: a[lo:hi, None]  # noqa: E731
        s = slice(lo, hi)
        g = _where(col(has["goodput"]), lambda: col(num["goodput"]), lambda: goodput_draws)
        p = _where(col(has["pue"]), lambda: col(num["pue"]), lambda: np.maximum(col(site_pue) + pue_delta, 1.0))
        implied = col(has["gpu_hours"])

        def sampled_mfu():
            util = np.exp(col(centre) + col(sigma) * z_util)
            mfu = util / g
            if fp8 is not None:
                mfu = _where(col(fp8_rows), lambda: mfu * fp8 / col(fp8_ratio), lambda: mfu)
            np.clip(mfu, 1e-6, 1.0, out=mfu)
            return mfu

        shape = (hi - lo, draws)
        mfu = _where(col(has["mfu"]), lambda: np.broadcast_to(col(num["mfu"]), shape), sampled_mfu)
        hours_given = np.broadcast_to(col(num["gpu_hours"]), shape)
        mfu = _where(implied, lambda: kc.implied_mfu(col(training_flop), hours_given, col(peak), g), lambda: mfu)
        hours = _where(implied, lambda: hours_given,
                       lambda: kc.accelerator_hours(col(training_flop), col(peak), mfu, g))
        energy = kc.energy_mwh(hours, kc.average_power_w(col(server_w), col(frac), p))
        cost = _where(col(has["price_per_hour"]), lambda: kc.rental_cost_usd(hours, col(num["price_per_hour"])),
                      lambda: np.full(shape, np.nan))
        if price_factor is not None:
            cost = _where(col(rental_rows), lambda: kc.rental_cost_usd(hours, col(rental) * price_factor),
                          lambda: cost)
        mfu, hours, energy, cost = (_scratch(a, shape) for a in (mfu, hours, energy, cost))
        q = {"mfu": _row_quantiles(mfu), "gpu_hours": _row_quantiles(hours), "energy_mwh": _row_quantiles(energy),
             "cost_usd": _row_quantiles(cost)}
        # Scalar multiples of a row: quantiles and means scale with it.
        days_per_hour = 1.0 / (num["accelerators"][s] * K.HOURS_PER_DAY)
        q["wall_clock_days"] = {k: q["gpu_hours"][k] * days_per_hour for k in QUANTILE_KEYS}
        q["accelerator_energy_mwh"] = {k: q["energy_mwh"][k] * (tdp_w[s] / server_w[s]) for k in QUANTILE_KEYS}
        q["emissions_tco2e"] = {k: q["energy_mwh"][k] * (grid[s] * 1e-3) for k in QUANTILE_KEYS}
        for metric, values in q.items():
            for key in QUANTILE_KEYS:
                out[f"{metric}_{key}"][s] = values[key]
    back = np.empty(n, np.int64)
    back[order] = np.arange(n)
    result = frame.reset_index(drop=True).copy()
    result["training_flop"] = training_flop[back]
    for name, values in out.items():
        result[name] = values[back]
    return result


def _scratch(a, shape) -> np.ndarray:
    """`a` as a (rows, draws) array of its own that the quantile selection may reorder."""
    if isinstance(a, np.ndarray) and a.shape == shape and a.flags.owndata and a.flags.writeable:
        return a
    return np.array(np.broadcast_to(a, shape))


def _where(mask, if_true, if_false):
    """np.where(mask, if_true(), if_false()) computing only the side(s) the mask needs: rows of
    one kind (sorted together) make most blocks all one side."""
    if mask.all():
        return if_true()
    if not mask.any():
        return if_false()
    return np.where(mask, if_true(), if_false())


def _z90() -> float:
    from .specs import Z90

    return Z90


def _row_quantiles(values: np.ndarray) -> dict[str, np.ndarray]:
    """p10, p50, p90 (np.quantile's linear rule, by partition) and mean of each row; `values` is scratch."""
    mean = values.mean(axis=1)
    qs = np.quantile(values, [0.1, 0.5, 0.9], axis=1, overwrite_input=True)
    return {"p10": qs[0], "p50": qs[1], "p90": qs[2], "mean": mean}


def to_text(result: pd.DataFrame, fmt: str) -> str:
    """The batch result as csv, json (records) or a table a person reads."""
    if fmt == "csv":
        return result.to_csv(index=False).rstrip("\n")
    if fmt == "json":
        import json

        from .results import json_ready

        return json.dumps(json_ready(result.to_dict(orient="records")), indent=2)
    from .formatting import format_value

    cols = ["training_flop"] + [f"{m}_p50" for m in ("gpu_hours", "wall_clock_days", "energy_mwh", "cost_usd",
                                                       "emissions_tco2e")]
    heads = ["row", "accelerator", "FLOP", "acc-hours p50", "days p50", "MWh p50", "USD p50", "tCO2e p50"]
    lines = ["".join(f"{h:>14}" for h in heads)]
    for i, row in result.iterrows():
        cells = [str(i + 1), str(row.get("accelerator", ""))[:13]]
        cells += [format_value(float(row[c]), c) for c in cols]
        lines.append("".join(f"{c:>14}" for c in cells))
    return "\n".join(lines)

"""Many `estimate` configurations at once: a table in, one row of quantiles per configuration out.

`estimate_many(frame)` evaluates every row of a table whose columns are named like `estimate`'s
flags (``params``, ``tokens``, ``accelerator``, ``accelerators``, optional ``active_params``,
``flop``, ``precision``, ``mfu``, ``goodput``, ``gpu_hours``, ``pue``, ``site``, ``price_per_hour``)
and returns one row per input row with the same quantile columns `estimate` gives
(``<metric>_p10``, ``_p50``, ``_p90``, ``_mean``), equal to `estimate` called row by row with the
same draws and seed (tests/test_batch.py).

How: `estimate` draws every uncertain quantity from a named stream (``estimate/goodput``, ...), so
for one seed all rows share the same draws; only per-row constants differ. Each metric of a row is
then a positive constant times a vector that many rows share:

- MFU from the prior is clip(a x exp(sigma z) / goodput x FP8 gain, 1e-6, 1), with ``z`` the shared
  normals, ``sigma`` the prior's spread at the row's size and accelerator generation and ``a`` its
  centre (over a fixed goodput and the FP8 peak ratio); hours are FLOP / (peak x 3600) times
  1 / (MFU x goodput) (the sampled goodput cancels unless the MFU is clipped). A fixed MFU gives
  hours of 1 / goodput; given hours an MFU of 1 / goodput. So hours and MFU are one vector per
  (branch, sigma, a, goodput drawn or fixed, FP8 gain drawn), whatever the FLOP, cluster or price.
- energy (and chip energy, emissions) is hours x the site's drawn PUE (or a fixed one) x a row
  constant; cost is hours x the drawn price factor (sheet price) or x 1 (given price).
- days are hours over the cluster size.

Rows are grouped by those keys (`_group`); each group's vectors are made once, a block of groups
at a time (memory stays bounded), and their p10/p50/p90 (np.quantile's linear rule) and mean are
scaled by each row's constant: quantiles and means commute with a positive factor, so the result
is `estimate`'s up to rounding (tests/test_batch.py: 1e-9 relative), and the same bits whatever the
block size. A grid of sizes x tokens x accelerators x clusters has few groups; in the worst case
(every row its own size) every row is its own group and the cost is that of evaluating each row.
A row whose numbers leave the float range is answered by `estimate` itself (`_fill_from_estimate`).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from .. import constants as K
from ..errors import InputError, first_line
from .summary import row_stats

if TYPE_CHECKING:
    import pandas as pd

#: Input columns, as the flags of `estimate` (underscores for dashes).
NUMERIC = (
    "params",
    "active_params",
    "tokens",
    "flop",
    "accelerators",
    "mfu",
    "goodput",
    "gpu_hours",
    "pue",
    "price_per_hour",
)
TEXT = ("accelerator", "precision", "site")
COLUMNS = NUMERIC[:3] + ("flop", "accelerator", "accelerators") + NUMERIC[5:] + TEXT[1:]
#: Rows evaluated together: (rows x draws) float64 arrays of about this many elements.
BLOCK_ELEMENTS = 1 << 20
QUANTILE_KEYS = ("p10", "p50", "p90", "mean")


def _metrics():
    from .estimate import METRICS

    return METRICS


def output_columns() -> list[str]:
    return [f"{m}_{q}" for m in _metrics() for q in QUANTILE_KEYS]


#: Most rows of one batch (1e6 rows at 1,000 draws: about 9 s and 0.9 GB on the 2-core machine),
#: and the largest configurations file read.
MAX_BATCH_ROWS = 1_000_000
MAX_BATCH_BYTES = 256 * 2**20


class _Rows:
    """Checked per-row inputs: numeric columns as float arrays (NaN = not given), text as lists."""

    def __init__(self, frame, where: str):
        import pandas as pd

        self.where = where
        self.n = len(frame)
        names = [str(c) for c in frame.columns]
        repeated = sorted({c for c in names if names.count(c) > 1})
        if repeated:
            raise InputError(
                f"{where}: column {repeated[0]!r} appears more than once; give each column once"
            )
        unknown = [c for c in frame.columns if c not in COLUMNS]
        if unknown:
            raise InputError(
                f"{where}: column {unknown[0]!r}: unknown; allowed: {', '.join(COLUMNS)}"
            )
        if "accelerator" not in frame.columns:
            raise InputError(f"{where}: column 'accelerator' is required")
        self.num = {}
        for col in NUMERIC:
            if col not in frame.columns:
                self.num[col] = np.full(self.n, np.nan)
                continue
            # Each distinct cell is read once (a table of many rows repeats few values).
            raw = frame[col]
            codes, uniques = pd.factorize(raw, use_na_sentinel=True)
            cells = pd.Series(uniques, dtype=object)
            numbers = _numbers(cells)
            values = np.append(numbers, np.nan)[codes]
            given = np.append((cells.astype(str).str.strip() != "").to_numpy(dtype=bool), False)[
                codes
            ]
            boolean = np.append(cells.map(_is_bool).to_numpy(dtype=bool), False)[codes]
            self._fail_first(boolean, col, raw, "a number, not a boolean")
            bad = given & ~np.isfinite(values)
            self._fail_first(bad, col, raw, "a finite number")
            values[~given] = np.nan
            self.num[col] = values
        self.text = {}
        for col in TEXT:
            if col in frame.columns:
                codes, uniques = pd.factorize(frame[col], use_na_sentinel=True)
                cleaned = [str(v).strip() or None for v in uniques] + [None]
                self.text[col] = np.array(cleaned, dtype=object)[codes].tolist()
            else:
                self.text[col] = [None] * self.n
        self._raw = frame
        self.has = {c: np.isfinite(v) for c, v in self.num.items()}

    def _fail_first(self, bad, col, raw, allowed) -> None:
        if np.any(bad):
            i = int(np.flatnonzero(bad)[0])
            value = raw.iloc[i] if raw is not None else None
            raise InputError(
                f"{self.where}: row {i + 1}, column {col!r}: expected {allowed}, got {value!r}"
            )

    def check(self, col: str, ok, allowed: str) -> None:
        values = self.num[col]
        self._fail_first(
            np.isfinite(values) & ~ok, col, self._raw[col] if col in self._raw else None, allowed
        )

    def fail(self, i: int, col: str, message: str):
        raise InputError(f"{self.where}: row {i + 1}, column {col!r}: {message}")


def _is_bool(value) -> bool:
    return isinstance(value, (bool, np.bool_))


def _numbers(cells: pd.Series) -> np.ndarray:
    """The distinct cells of a numeric column as floats (NaN where not a number), read as the
    flag of the same name reads its text: `1_000` and ` 1e3 ` are numbers, as float() takes them
    (pandas' own parser refuses the underscore)."""
    import pandas as pd

    values = np.array(pd.to_numeric(cells, errors="coerce"), dtype=np.float64)
    for i in np.flatnonzero(np.isnan(values)):
        cell = cells.iloc[i]
        if isinstance(cell, str):
            try:
                number = float(cell)
            except ValueError:
                continue
            values[i] = number
    return values


def read_configs(path: str | Path) -> pd.DataFrame:
    """The configurations table of `estimate --batch` (CSV with a header row; cells as text);
    InputError naming the file (and the row whose field count differs from the header's)."""
    import csv

    import pandas as pd

    from ..paths import check_input_file

    path = Path(path)
    if not path.exists():
        raise InputError(f"--batch: file not found: {path}")
    check_input_file(path, "CSV table of configurations", MAX_BATCH_BYTES)
    try:
        # utf-8-sig: a byte-order mark (Excel writes one) is not part of the first column's name
        with open(path, newline="", encoding="utf-8-sig") as handle:
            rows = list(csv.reader(handle, skipinitialspace=True))
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise InputError(
            f"{path}: not a readable CSV table of configurations ({first_line(exc)})"
        ) from None
    rows = [r for r in rows if any(cell.strip() for cell in r)]  # blank lines
    if len(rows) > MAX_BATCH_ROWS + 1:
        raise InputError(
            f"{path}: {len(rows) - 1:,} rows; a table holds at most {MAX_BATCH_ROWS:,} (split it)"
        )
    if not rows:
        raise InputError(
            f"{path}: empty; expected a header row of column names (params, tokens, accelerator, "
            "...)"
        )
    header = [c.strip().replace("-", "_") for c in rows[0]]
    repeated = sorted({c for c in header if header.count(c) > 1})
    if repeated:
        raise InputError(
            f"{path}: column {repeated[0]!r} appears more than once in the header; give each "
            "column once"
        )
    for i, row in enumerate(rows[1:], start=1):
        if len(row) != len(header):
            raise InputError(f"{path}: row {i}: {len(row)} fields, the header has {len(header)}")
    return pd.DataFrame(rows[1:], columns=header, dtype=object)


def estimate_many(
    frame,
    *,
    draws: int = K.DEFAULT_ESTIMATE_DRAWS,
    seed: int = 0,
    catalog=None,
    where: str = "configs",
) -> pd.DataFrame:
    """`estimate` for every row of a table of configurations; one output row each.

    Every row draws from the same named streams as `estimate` would, so row i equals
    ``estimate(**row_i)`` up to rounding, at a fraction of the cost.

    Parameters
    ----------
    frame : pandas.DataFrame or mapping of columns
        One configuration per row, columns named like `estimate`'s arguments (``params``,
        ``tokens``, ``accelerator``, ``accelerators``, optional ``active_params``, ``flop``,
        ``precision``, ``mfu``, ``goodput``, ``gpu_hours``, ``pue``, ``site``, ``price_per_hour``);
        an empty cell is an argument not given. At most 1,000,000 rows.
    draws : int
        Monte Carlo draws per row, 1 to 20,000,000.
    seed : int
        Seed of every draw, 0 to 2**63 - 1.
    catalog : Catalog, optional
        The inputs to use; default `load_catalog()`.
    where : str
        How errors name the table (the CLI passes the CSV's path).

    Returns
    -------
    pandas.DataFrame
        The input columns, then ``training_flop`` and ``<metric>_p10/_p50/_p90/_mean`` for each of
        `estimate`'s metrics (NaN where `estimate` has none, e.g. days without ``accelerators``).

    Raises
    ------
    InputError
        Naming `where`, the row (1 = the first data row) and the column.
    """
    import pandas as pd

    from ..inputs.catalog import load_catalog
    from ..inputs.limits import check_draws, check_seed

    if not isinstance(frame, pd.DataFrame):
        frame = pd.DataFrame(frame)
    if len(frame) > MAX_BATCH_ROWS:
        raise InputError(
            f"{where}: {len(frame):,} rows; a table holds at most {MAX_BATCH_ROWS:,} (split it)"
        )
    draws, seed = check_draws(draws), check_seed(seed)
    rows = _Rows(frame, where)
    _check_rows(rows)
    catalog = catalog or load_catalog()
    plan = _Plan(rows, catalog)
    if (plan.mode == GIVEN_HOURS).any():
        _check_implied_mfu(rows, plan, draws, seed)
    with np.errstate(
        over="ignore", invalid="ignore", divide="ignore"
    ):  # such rows are redone below
        out, over_one = _evaluate(plan, draws, seed)
    _check_prior_mfu(rows, plan, over_one, draws, seed, catalog)
    # A row whose numbers leave the float range (a goodput of 1e-300, ...) is not a multiple of a
    # shared vector any more: `estimate` itself answers it (it drops non-finite draws).
    odd = ~np.all(
        [np.isfinite(v) | np.isnan(v) & _absent(plan, name) for name, v in out.items()], axis=0
    )
    for i in np.flatnonzero(odd):
        _fill_from_estimate(out, int(i), rows, plan, draws, seed, catalog)
    result = frame.reset_index(drop=True).copy()
    result["training_flop"] = plan.training_flop
    for name, values in out.items():
        result[name] = values
    return result


def _check_rows(rows: _Rows) -> None:
    """Each column's range, then the rules between columns (first bad row, as `estimate` states
    them)."""
    from ..inputs.limits import FLAG_RANGES

    num = rows.num
    for col, allowed in FLAG_RANGES.items():  # what `estimate`'s flag of the same name accepts
        rows.check(col, allowed.contains(num[col]), allowed.allowed)
    has = rows.has
    size = has["params"] | has["tokens"] | has["active_params"]
    with np.errstate(invalid="ignore"):
        bigger = has["params"] & has["active_params"] & (num["active_params"] > num["params"])
    bad = (
        (has["flop"] & size)
        | (
            ~has["flop"]
            & (~size | ~has["tokens"] | ~(has["params"] | has["active_params"]) | bigger)
        )
        | (has["mfu"] & has["gpu_hours"])
    )
    if bad.any():
        _row_rules(rows, int(np.flatnonzero(bad)[0]))
    from ..inputs.limits import MAX_TRAINING_FLOP, MIN_TRAINING_FLOP, check_training_flop
    from .kernels.compute import training_flop

    with np.errstate(over="ignore", invalid="ignore"):
        flop = training_flop(
            np.where(has["active_params"], num["active_params"], num["params"]), num["tokens"]
        )
        bad = ~has["flop"] & ~((flop >= MIN_TRAINING_FLOP) & (flop <= MAX_TRAINING_FLOP))
    for i in np.flatnonzero(bad)[:1]:
        try:
            check_training_flop(float(flop[i]), "params/tokens")
        except InputError as exc:
            rows.fail(int(i), "params", str(exc).split(": ", 1)[-1])


def _row_rules(rows: _Rows, i: int) -> None:
    """The rules between the columns of row i, in `estimate`'s order; InputError at the first
    broken."""
    has, num = rows.has, rows.num
    if has["flop"][i] and (has["params"][i] or has["tokens"][i] or has["active_params"][i]):
        rows.fail(i, "flop", "give either flop or params/tokens, not both")
    if not has["flop"][i]:
        if not (has["params"][i] or has["tokens"][i] or has["active_params"][i]):
            rows.fail(i, "params", "give params and tokens, or flop")
        if not has["tokens"][i]:
            rows.fail(i, "tokens", "training tokens are needed with params (or give flop)")
        if not (has["params"][i] or has["active_params"][i]):
            rows.fail(i, "params", "the parameter count is needed with tokens (or give flop)")
        if (
            has["params"][i]
            and has["active_params"][i]
            and num["active_params"][i] > num["params"][i]
        ):
            rows.fail(
                i,
                "active_params",
                f"{num['active_params'][i]:g} exceeds params {num['params'][i]:g}",
            )
    if has["mfu"][i] and has["gpu_hours"][i]:
        rows.fail(
            i,
            "mfu",
            "gpu_hours fixes the accelerator-hours, so MFU follows from them; "
            "give one or the other",
        )


#: How each row's MFU comes about.
PRIOR, FIXED_MFU, GIVEN_HOURS = 0, 1, 2
#: How each row's cost comes about (`estimate`'s one cost basis: rental).
NO_COST, GIVEN_PRICE, SHEET_PRICE = 0, 1, 2


class _Plan:
    """Per-row constants of a checked table: the catalog's figures, the prior's centre and spread,
    and which of `estimate`'s branches each row takes (one lookup per distinct accelerator or
    site)."""

    def __init__(self, rows: _Rows, catalog):
        import pandas as pd

        from ..inputs.specs import PRECISIONS
        from .kernels import compute as kc

        n, num, has = rows.n, rows.num, rows.has
        self.n, self.num, self.has = n, num, has
        precision = pd.Series([p or "bf16" for p in rows.text["precision"]], dtype=object)
        acc_code, acc_ids = pd.factorize(pd.Series(rows.text["accelerator"], dtype=object))
        site_code, site_ids = pd.factorize(
            pd.Series([s or K.DEFAULT_SITE for s in rows.text["site"]], dtype=object)
        )
        chips = [catalog.accelerators.get(a) for a in acc_ids]
        regions = [catalog.sites.get(s) for s in site_ids]
        fp8 = (precision == "fp8").to_numpy()
        bad = ~precision.isin(PRECISIONS).to_numpy()
        bad |= acc_code < 0
        bad |= np.array([c is None for c in chips] + [True])[
            acc_code
        ]  # [-1] (no id) reads the True
        bad |= np.array([r is None for r in regions], dtype=bool)[site_code]
        no_fp8 = np.array(
            [c is not None and c.peak_fp8_flop_per_s is None for c in chips] + [False]
        )
        bad |= fp8 & no_fp8[acc_code]
        if bad.any():
            _row_lookups(rows, int(np.flatnonzero(bad)[0]), catalog, precision)

        def per_chip(value):
            return np.array([value(c) for c in chips], dtype=np.float64)[acc_code]

        def per_site(value):
            return np.array([value(r) for r in regions], dtype=np.float64)[site_code]

        active = np.where(has["active_params"], num["active_params"], num["params"])
        self.training_flop = np.where(
            has["flop"], num["flop"], kc.training_flop(active, num["tokens"])
        )
        bf16 = per_chip(lambda c: c.peak_bf16_flop_per_s)
        fp8_peak = per_chip(lambda c: c.peak_fp8_flop_per_s or np.nan)
        self.peak = np.where(fp8, fp8_peak, bf16)
        self.server_w = per_chip(lambda c: c.server_power_w)
        self.tdp_w = per_chip(lambda c: c.tdp_w)
        self.frac = per_chip(lambda c: c.server_power_fraction)
        rental = per_chip(
            lambda c: np.nan if c.rental_usd_per_hour is None else c.rental_usd_per_hour
        )
        self.site_pue = per_site(lambda r: r.pue)
        self.grid = per_site(lambda r: r.grid_gco2_per_kwh)

        self.mode = np.where(has["gpu_hours"], GIVEN_HOURS, np.where(has["mfu"], FIXED_MFU, PRIOR))
        prior_rows = self.mode == PRIOR
        self.fp8 = prior_rows & fp8  # the FP8 gain is drawn only for an MFU from the prior
        self.fp8_ratio = np.where(self.fp8, fp8_peak / bf16, 1.0)
        self.cost = np.where(
            has["price_per_hour"], GIVEN_PRICE, np.where(np.isnan(rental), NO_COST, SHEET_PRICE)
        )
        self.price = np.where(has["price_per_hour"], num["price_per_hour"], rental)
        self.mu = np.zeros(n)
        self.sigma = np.zeros(n)
        if prior_rows.any():
            self.mu[prior_rows], self.sigma[prior_rows] = _prior_lognormal(
                catalog,
                np.where(has["flop"], np.nan, active)[prior_rows],
                acc_code[prior_rows],
                np.array([c.id for c in chips], dtype=object),
            )


def _check_implied_mfu(rows: _Rows, plan: _Plan, draws: int, seed: int) -> None:
    """Given hours must imply an MFU in [MIN_MFU, 1] in every draw, as `estimate` requires
    (inputs/limits.py)."""
    from ..inputs.limits import MIN_MFU, check_implied_mfu
    from ..inputs.scenario import Uncertainty
    from .sampling import draw

    goodput = draw(Uncertainty().goodput, seed, "estimate/goodput", 0, draws)
    lowest = np.where(plan.has["goodput"], plan.num["goodput"], float(np.min(goodput)))
    highest_goodput = np.where(plan.has["goodput"], plan.num["goodput"], float(np.max(goodput)))
    with np.errstate(over="ignore", divide="ignore", invalid="ignore"):
        utilization = plan.training_flop / (plan.num["gpu_hours"] * 3600.0 * plan.peak)
        highest, lowest_mfu = utilization / lowest, utilization / highest_goodput
    bad = (plan.mode == GIVEN_HOURS) & ~((highest > 0) & (highest <= 1.0) & (lowest_mfu >= MIN_MFU))
    for i in np.flatnonzero(bad)[:1]:
        given = plan.num["goodput"][i] if plan.has["goodput"][i] else goodput
        try:
            check_implied_mfu(plan.training_flop[i], plan.num["gpu_hours"][i], plan.peak[i], given)
        except InputError as exc:
            rows.fail(int(i), "gpu_hours", str(exc).split(": ", 1)[-1])


def _check_prior_mfu(rows: _Rows, plan: _Plan, over_one, draws: int, seed: int, catalog) -> None:
    """MFU from the prior may exceed 1 (and be clipped) in at most MAX_CLIPPED_MFU_SHARE of a row's
    draws, as `estimate` requires (`over_one`: per row, the draws above 1 before clipping); the
    first row beyond is refused with `estimate`'s own message, naming its column."""
    from ..inputs.limits import MAX_CLIPPED_MFU_SHARE
    from .estimate import estimate

    bad = (plan.mode == PRIOR) & (over_one > MAX_CLIPPED_MFU_SHARE * draws)
    for i in np.flatnonzero(bad)[:1]:
        try:
            estimate(**_row_arguments(rows, plan, int(i)), draws=draws, seed=seed, catalog=catalog)
        except InputError as exc:
            flag, _, message = str(exc).partition(": ")
            rows.fail(int(i), flag.removeprefix("--").replace("-", "_"), message)


def _row_arguments(rows: _Rows, plan: _Plan, i: int) -> dict:
    """Row i as `estimate`'s keyword arguments."""
    kw = {c: float(v[i]) for c, v in rows.num.items() if plan.has[c][i]}
    if "accelerators" in kw:
        kw["accelerators"] = int(kw["accelerators"])
    kw.update({c: v[i] for c, v in rows.text.items() if v[i] is not None})
    return kw


def _row_lookups(rows: _Rows, i: int, catalog, precision) -> None:
    """The catalog checks of row i in `estimate`'s order; InputError at the first that fails."""
    from ..inputs.specs import PRECISIONS

    if precision[i] not in PRECISIONS:
        rows.fail(
            i, "precision", f"unknown precision {precision[i]!r}; allowed: {', '.join(PRECISIONS)}"
        )
    acc = rows.text["accelerator"][i]
    if acc is None:
        rows.fail(i, "accelerator", "an accelerator id is required")
    try:
        chip = catalog.accelerator(acc)
    except InputError as exc:
        rows.fail(i, "accelerator", str(exc).split(": ", 1)[-1])
    try:
        catalog.site(rows.text["site"][i] or K.DEFAULT_SITE)
    except InputError as exc:
        rows.fail(i, "site", str(exc).split(": ", 1)[-1])
    if precision[i] == "fp8":
        try:
            chip.peak_flop_per_s("fp8")
        except InputError as exc:
            rows.fail(i, "precision", str(exc).split(": ", 1)[-1])


def _prior_lognormal(catalog, active: np.ndarray, acc_code: np.ndarray, acc_ids: np.ndarray):
    """mu and sigma of log utilization per row, as `estimate` draws them: the prior's P10 and P90
    (``effective``, a LogNormal) at the row's active parameters (NaN: unknown) and accelerator.
    Evaluated once per distinct (size, accelerator)."""
    from scipy.special import ndtri

    from .calibration import default_prior

    pairs = np.column_stack([np.where(np.isnan(active), -1.0, active), acc_code.astype(np.float64)])
    uniq, inverse = np.unique(pairs, axis=0, return_inverse=True)
    size = np.where(uniq[:, 0] < 0, np.nan, uniq[:, 0])
    ids = acc_ids[uniq[:, 1].astype(np.intp)]
    prior = default_prior(catalog)
    m = len(uniq)
    # ppf(1/2) = exp(centre), ppf(0.9) = exp(centre + half x ndtri(0.9) / Z90): the centre and the
    # P10-P90 half-width `effective` turns into a LogNormal.
    c = np.log(prior.ppf(np.full(m, 0.5), size, accelerator=ids))
    half = (np.log(prior.ppf(np.full(m, 0.9), size, accelerator=ids)) - c) * (
        _z90() / float(ndtri(0.9))
    )
    lo, hi = np.log(np.exp(c - half)), np.log(np.exp(c + half))
    mu = 0.5 * (lo + hi)
    sigma = (hi - lo) / (2.0 * _z90())
    inverse = inverse.ravel()
    return mu[inverse], sigma[inverse]


def _absent(plan: _Plan, column: str) -> np.ndarray:
    """Rows where `estimate` has no value for an output column (no cluster size, no price)."""
    if column.startswith("wall_clock_days"):
        return ~plan.has["accelerators"]
    if column.startswith("cost_usd"):
        return plan.cost == NO_COST
    return np.zeros(plan.n, dtype=bool)


def _fill_from_estimate(
    out: dict, i: int, rows: _Rows, plan: _Plan, draws: int, seed: int, catalog
) -> None:
    from .estimate import estimate

    single = estimate(**_row_arguments(rows, plan, i), draws=draws, seed=seed, catalog=catalog)
    for metric, q in single.metrics.items():
        for key in QUANTILE_KEYS:
            out[f"{metric}_{key}"][i] = np.nan if q is None or q[key] is None else q[key]


def _group(*keys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Rows whose keys are all equal form a group: (first row of each group, group of each row).
    Groups come in lexicographic order of the keys (the first key varies slowest)."""
    _, first, inverse = np.unique(
        np.column_stack(keys), axis=0, return_index=True, return_inverse=True
    )
    return first, inverse.ravel()


def _evaluate(plan: _Plan, draws: int, seed: int) -> tuple[dict[str, np.ndarray], np.ndarray]:
    """Quantiles and means of every metric of every row, through shared vectors (module
    docstring); and per row, how many draws put an MFU from the prior above 1 before clipping."""
    from ..inputs.scenario import Uncertainty
    from .sampling import draw, normals

    num, has = plan.num, plan.has
    defaults = Uncertainty()

    def sample(name, dist):
        return draw(dist, seed, f"estimate/{name}", 0, draws)

    goodput = sample("goodput", defaults.goodput)
    sampled_goodput = ~has["goodput"]
    fixed_goodput = np.where(sampled_goodput, 1.0, num["goodput"])
    prior = plan.mode == PRIOR
    z = normals(seed, "estimate/utilization", 0, draws) if prior.any() else None
    fp8_gain = sample("fp8_gain", defaults.fp8_gain) if plan.fp8.any() else None
    price_factor = (
        sample("price_factor", defaults.price_factor) if (plan.cost == SHEET_PRICE).any() else None
    )
    sampled_pue = ~has["pue"]

    # Row scales (see the module docstring): metric = scale x shared vector.
    per_second = plan.training_flop / (plan.peak * K.SECONDS_PER_HOUR)  # hours at MFU x goodput = 1
    a = np.where(prior, np.exp(plan.mu) / fixed_goodput / plan.fp8_ratio, 0.0)
    mfu_scale = np.select(
        [prior, plan.mode == FIXED_MFU],
        [1.0, num["mfu"]],
        per_second / (num["gpu_hours"] * fixed_goodput),
    )
    hours_scale = np.select(
        [prior, plan.mode == FIXED_MFU],
        [per_second / fixed_goodput, per_second / (num["mfu"] * fixed_goodput)],
        num["gpu_hours"],
    )
    pue_scale = np.where(sampled_pue, 1.0, num["pue"])
    energy_scale = hours_scale * (plan.server_w * plan.frac * pue_scale * 1e-6)
    chip_scale = hours_scale * (plan.tdp_w * plan.frac * pue_scale * 1e-6)
    cost_scale = np.where(plan.cost == NO_COST, np.nan, hours_scale * plan.price)

    # Shared vectors: hours (and MFU) per (branch, sigma, a, goodput drawn, FP8 gain drawn); energy
    # per hours group and PUE (the site's, drawn; or fixed); cost per hours group and price kind.
    hk_first, hk = _group(plan.mode, np.where(prior, plan.sigma, 0.0), a, sampled_goodput, plan.fp8)
    pue_key = np.where(sampled_pue, plan.site_pue, -1.0)
    ek_first, ek = _group(hk, pue_key)
    ck_first, ck = _group(hk, plan.cost)

    pue_values, pue_index = np.unique(pue_key, return_inverse=True)
    pue_delta = sample("pue_delta", defaults.pue_delta)
    pue_table = np.ones((len(pue_values), draws))
    for j, value in enumerate(pue_values):
        if value >= 0:
            pue_table[j] = np.maximum(value + pue_delta, 1.0)
    pue_of_e = pue_index.ravel()[ek_first]

    # Cost vectors: hours x 1 (a given price) or x the drawn price factor (the sheet's price).
    factors = np.ones((2, draws))
    if price_factor is not None:
        factors[1] = price_factor
    # Hours from the prior, MFU never clipped and no FP8 gain: 1 / (a exp(sigma z)), falling in z.
    z_falling = np.argsort(z, kind="stable")[::-1] if z is not None else None
    stats_h = np.empty((len(hk_first), 4))
    stats_m = np.empty((len(hk_first), 4))
    stats_e = np.empty((len(ek_first), 4))
    stats_c = np.full((len(ck_first), 4), np.nan)
    over_h = np.zeros(len(hk_first), dtype=np.int64)
    hk_of_e, hk_of_c = hk[ek_first], hk[ck_first]
    cost_of_c = plan.cost[ck_first]
    step = max(1, BLOCK_ELEMENTS // (4 * draws))
    for lo in range(0, len(hk_first), step):
        rep = hk_first[lo : lo + step]
        mfu_vec, hours_vec, over_h[lo : lo + len(rep)] = _hours_vectors(
            plan.mode[rep],
            plan.sigma[rep],
            a[rep],
            sampled_goodput[rep],
            plan.fp8[rep],
            z,
            goodput,
            fp8_gain,
            draws,
        )
        mfu_clipped = ((mfu_vec == 1.0) | (mfu_vec == 1e-6)).any(axis=1)
        stats_m[lo : lo + len(rep)] = row_stats(mfu_vec, overwrite=True)
        for first, last in _chunks(hk_of_e, lo, lo + len(rep), step):
            vec = hours_vec[hk_of_e[first:last] - lo]  # a copy: hours are needed again below
            _times_rows(vec, pue_table, pue_of_e[first:last])
            stats_e[first:last] = row_stats(vec, overwrite=True)
        for first, last in _chunks(hk_of_c, lo, lo + len(rep), step):
            kind = cost_of_c[first:last]
            keep = kind != NO_COST
            vec = hours_vec[hk_of_c[first:last][keep] - lo]
            _times_rows(vec, factors, np.where(kind[keep] == SHEET_PRICE, 1, 0))
            stats_c[first:last][keep] = row_stats(vec, overwrite=True)
        stats_h[lo : lo + len(rep)] = _hours_stats(
            hours_vec, mfu_clipped, plan.mode[rep], plan.fp8[rep], z_falling
        )

    days_scale = np.where(
        has["accelerators"], hours_scale / (num["accelerators"] * K.HOURS_PER_DAY), np.nan
    )
    by_metric = {
        "mfu": (mfu_scale, stats_m, hk),
        "gpu_hours": (hours_scale, stats_h, hk),
        "wall_clock_days": (days_scale, stats_h, hk),
        "energy_mwh": (energy_scale, stats_e, ek),
        "accelerator_energy_mwh": (chip_scale, stats_e, ek),
        "cost_usd": (cost_scale, stats_c, ck),
        "emissions_tco2e": (energy_scale * (plan.grid * 1e-3), stats_e, ek),
    }
    out = {}
    for metric in _metrics():
        scale, stats, group = by_metric[metric]
        values = scale[:, None] * stats[group]
        for j, key in enumerate(QUANTILE_KEYS):
            out[f"{metric}_{key}"] = values[:, j]
    return out, over_h[hk]


def _chunks(sorted_groups: np.ndarray, lo: int, hi: int, step: int):
    """(first, last) ranges of at most `step` entries of `sorted_groups` whose value is in [lo,
    hi)."""
    first, last = np.searchsorted(sorted_groups, [lo, hi])
    for start in range(int(first), int(last), step):
        yield start, min(start + step, int(last))


def _hours_stats(hours: np.ndarray, clipped, mode, fp8, z_falling) -> np.ndarray:
    """`row_stats` of hours vectors; those that fall as z rises (the MFU from the prior never
    clipped, no FP8 gain) are in the order of z, so their quantiles need no sort."""
    monotone = (mode == PRIOR) & ~clipped & ~fp8
    if monotone.all():
        return row_stats(hours, order=z_falling)
    out = np.empty((hours.shape[0], 4))
    if monotone.any():
        out[monotone] = row_stats(hours[monotone], order=z_falling)
    if not monotone.all():
        out[~monotone] = row_stats(hours[~monotone], overwrite=True)
    return out


def _times_rows(block: np.ndarray, table: np.ndarray, index: np.ndarray) -> None:
    """block[i] *= table[index[i]] in place (one broadcast multiply when every row takes the
    same)."""
    if len(index) == 0:
        return
    if (index == index[0]).all():
        block *= table[index[0]]
    else:
        block *= table[index]


def _hours_vectors(mode, sigma, a, sampled_goodput, fp8, z, goodput, fp8_gain, draws):
    """(MFU, accelerator-hours) vectors of a block of groups, (groups, draws) each, as `estimate`
    computes them for a row whose scale is 1: MFU clip(a exp(sigma z) / goodput x FP8 gain), hours
    1 / (MFU x goodput); a fixed MFU, 1 / goodput hours; given hours, 1 / goodput MFU. Also per
    group the draws whose MFU from the prior was above 1 before clipping."""
    prior = mode == PRIOR
    if prior.all():  # the usual block: no copies between the rows of each branch
        return _prior_vectors(sigma, a, sampled_goodput, fp8, z, goodput, fp8_gain)
    b = len(mode)
    mfu = np.ones((b, draws))
    hours = np.ones((b, draws))
    over = np.zeros(b, dtype=np.int64)
    if prior.any():
        mfu[prior], hours[prior], over[prior] = _prior_vectors(
            sigma[prior], a[prior], sampled_goodput[prior], fp8[prior], z, goodput, fp8_gain
        )
    drawn = ~prior & sampled_goodput
    inverse = 1.0 / goodput
    hours[drawn & (mode == FIXED_MFU)] = inverse
    mfu[drawn & (mode == GIVEN_HOURS)] = inverse
    return mfu, hours, over


def _prior_vectors(sigma, a, sampled_goodput, fp8, z, goodput, fp8_gain):
    """MFU and hours vectors of groups whose MFU comes from the prior, and per group the draws
    whose MFU was above 1 before clipping."""
    mfu = np.multiply.outer(sigma, z)
    np.exp(mfu, out=mfu)
    _times_rows(
        mfu, np.stack([np.ones_like(goodput), 1.0 / goodput]), sampled_goodput.astype(np.intp)
    )
    if fp8_gain is not None and fp8.any():
        _times_rows(mfu, np.stack([np.ones_like(fp8_gain), fp8_gain]), fp8.astype(np.intp))
    mfu *= a[:, None]
    over = np.count_nonzero(mfu > 1.0, axis=1)
    np.clip(mfu, 1e-6, 1.0, out=mfu)
    hours = mfu.copy()
    _times_rows(hours, np.stack([np.ones_like(goodput), goodput]), sampled_goodput.astype(np.intp))
    np.divide(1.0, hours, out=hours)
    return mfu, hours, over


def _z90() -> float:
    from ..inputs.specs import Z90

    return Z90


def to_text(result: pd.DataFrame, fmt: str) -> str:
    """The batch result as csv, json (records) or a table a person reads."""
    if fmt == "csv":
        return result.to_csv(index=False).rstrip("\n")
    if fmt == "json":
        import json

        from .summary import json_ready

        return json.dumps(json_ready(result.to_dict(orient="records")), indent=2)
    from ..formatting import format_value

    cols = ["training_flop"] + [
        f"{m}_p50"
        for m in ("gpu_hours", "wall_clock_days", "energy_mwh", "cost_usd", "emissions_tco2e")
    ]
    heads = [
        "row",
        "accelerator",
        "FLOP",
        "acc-hours p50",
        "days p50",
        "MWh p50",
        "USD p50",
        "tCO2e p50",
    ]
    lines = ["".join(f"{h:>14}" for h in heads)]
    for i, row in result.iterrows():
        cells = [str(i + 1), str(row.get("accelerator", ""))[:13]]
        cells += [format_value(float(row[c]), c) for c in cols]
        lines.append("".join(f"{c:>14}" for c in cells))
    return "\n".join(lines)

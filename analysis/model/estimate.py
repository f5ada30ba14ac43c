"""One training run on a fixed accelerator type: FLOP, accelerator-hours, days, energy, cost,
carbon.

Monte Carlo over what is uncertain (MFU from the calibrated prior, goodput, PUE, price, hardware
life), drawn on the host and evaluated by the array kernels on the chosen backend.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import pandas as pd

    from ..inputs.catalog import Catalog

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .. import constants as K
from ..backend import select, to_numpy
from ..errors import InputError
from ..formatting import format_value, present, scientific
from ..inputs.limits import (
    FLAG_RANGES,
    PRECISIONS,
    Range,
    check_draws,
    check_prior_mfu,
    check_seed,
    check_training_flop,
    check_whole,
)
from ..provenance import provenance
from .context import context_for, load_context
from .kernels import compute as kc
from .sampling import draw
from .summary import json_ready, quantiles, row_stats, summary_frame

# No pydantic, pandas or SciPy at import: `python -m analysis estimate` reads everything it needs
# from a cached context (`model.context`), so a repeat call imports none of them (docs/cli.md: the
# cache).

UNITS = {
    "mfu": "fraction of peak",
    "gpu_hours": "accelerator-hours",
    "wall_clock_days": "days",
    "energy_mwh": "MWh, facility: servers x fraction drawn x PUE",
    "accelerator_energy_mwh": "MWh, chips only x PUE (model-card boundary)",
    "cost_usd": "USD",
    "emissions_tco2e": "tCO2e",
}
METRICS = tuple(UNITS)
#: The one kind of cost `estimate` reports, for every accelerator (stated in its output).
COST_BASIS = "rental: accelerator-hours x price per accelerator-hour"


def _number(
    flag: str,
    value,
    *,
    low: float = 0.0,
    high: float = math.inf,
    low_open: bool = True,
    allowed: str | None = None,
) -> float | None:
    """Check one numeric input; InputError naming the flag and what is allowed. (Counts and seeds:
    `limits.check_whole`, the one whole-number parser.)"""
    return _checked(
        flag, value, Range(low, high, allowed or "a positive finite number", low_open=low_open)
    )


def _checked(flag: str, value, allowed: Range) -> float | int | None:
    """`value` (None: not given) as a number `allowed` accepts; else InputError naming `flag`."""
    if value is None:
        return None
    if isinstance(value, (bool, np.bool_)):  # float(True) is 1.0: `estimate(mfu=True)` was MFU 1
        raise InputError(f"{flag}: expected {allowed.allowed}, got {value!r} (a boolean)")
    if allowed.integer:  # a count (--accelerators): the one whole-number parser
        return check_whole(value, flag, math.ceil(allowed.low), math.floor(allowed.high))
    try:
        number = float(value)
    except (TypeError, ValueError):
        number = math.nan
    if not allowed.contains(number):
        raise InputError(f"{flag}: expected {allowed.allowed}, got {value!r}")
    return number


def _flag(name: str, value) -> float | int | None:
    """One of `estimate`'s numeric flags (None: not given), checked against what limits.FLAG_RANGES
    allows for it (the batch's columns are checked against the same table)."""
    return _checked(f"--{name.replace('_', '-')}", value, FLAG_RANGES[name])


@dataclass
class EstimateResult:
    """What `estimate` returns: quantiles of each metric, the inputs as applied, provenance.

    Attributes
    ----------
    training_flop : float
        The run's training compute, FLOP.
    metrics : dict of str to dict or None
        Metric -> ``{p10, p50, p90, mean}`` (None where the metric does not apply, e.g. wall-clock
        days without a cluster size); ``.summary`` shows them as a DataFrame with units.
    inputs : dict
        The inputs as used, with the defaults that were applied.
    provenance : dict
        Version, git commit, data hash, seed, backend and device.
    draws : pandas.DataFrame or None
        One row per draw, with ``keep_draws=True``.
    """

    training_flop: float
    metrics: dict[str, dict | None]
    inputs: dict[str, Any]
    provenance: dict[str, Any]
    draws: pd.DataFrame | None = field(default=None, repr=False)

    @property
    def summary(self) -> pd.DataFrame:
        return summary_frame(self.metrics, UNITS)

    def to_dict(self) -> dict:
        """The JSON contract of `estimate --format json` (docs/architecture.md §4)."""
        out = {"training_flop": self.training_flop}
        out.update(self.metrics)
        out["inputs"] = self.inputs
        out["version"] = self.provenance["version"]
        out["provenance"] = self.provenance
        return json_ready(out)

    def to_table(self) -> str:
        """A table a person reads at a glance."""
        inp = self.inputs
        cluster = (
            f"{inp['accelerators']:,} x {inp['accelerator']}"
            if inp["accelerators"]
            else inp["accelerator"]
        )
        lines = [
            f"Training compute {scientific(self.training_flop)} FLOP on {cluster} "
            f"({inp['precision']}), "
            f"site {inp['site']} (PUE {inp['pue']})",
            f"cost basis: {inp['cost_basis']}; {inp['cost_method']}",
            f"MFU: {inp['mfu']}; goodput: {inp['goodput']}",
            *([f"MFU note: {inp['mfu_extrapolation']}"] if inp.get("mfu_extrapolation") else []),
            "",
            f"{'metric':<24}{'p10':>12}{'p50':>12}{'p90':>12}{'mean':>12}  unit",
        ]
        for name, q in self.metrics.items():
            if q is None:
                why = inp["cost_method"] if name == "cost_usd" else "needs --accelerators"
                lines.append(
                    f"{name:<24}{'-':>12}{'-':>12}{'-':>12}{'-':>12}  {UNITS[name]}: {why}"
                )
                continue
            cells = "".join(
                f"{format_value(q[k], name):>12}" for k in ("p10", "p50", "p90", "mean")
            )
            lines.append(f"{name:<24}{cells}  {UNITS[name]}")
        prov = self.provenance
        lines += [
            "",
            f"{inp['draws']:,} draws, seed {inp['seed']}, backend {prov['device']}, "
            f"data {prov['data_hash']}, compute-race {prov['version']}",
        ]
        return "\n".join(lines)

    def _repr_html_(self) -> str:  # notebooks show the summary table
        return present(self.summary.drop(columns="unit"), rows=True).to_html()


#: Draws of recent (distribution, seed, stream, count)s, read-only: estimates in a loop with one
#: seed (a sweep of sizes or accelerators) share most of their draws, as `estimate_many` rows do.
_DRAWS: dict[tuple, np.ndarray] = {}
_DRAWS_MAX_VALUES = 1 << 14
_DRAWS_ENTRIES = 64


def _draws(dist, seed: int, name: str, draws: int) -> np.ndarray:
    if draws > _DRAWS_MAX_VALUES:
        return draw(dist, seed, name, 0, draws)
    key = (dist, seed, name, draws)
    values = _DRAWS.get(key)
    if values is None:
        values = draw(dist, seed, name, 0, draws)
        values.flags.writeable = False
        if len(_DRAWS) >= _DRAWS_ENTRIES:
            _DRAWS.pop(next(iter(_DRAWS)))
        _DRAWS[key] = values
    return values


def _metric_quantiles(host: dict) -> dict[str, dict | None]:
    """`quantiles` of each metric's draws (None where the metric is None): one sort of all of them
    at once when every draw is finite, the usual case."""
    present = [name for name, v in host.items() if v is not None]
    stacked = np.stack([host[name] for name in present]) if present else None
    if stacked is None or not np.isfinite(stacked).all():
        return {name: (quantiles(v) if v is not None else None) for name, v in host.items()}
    stats = row_stats(stacked, overwrite=True)
    out: dict[str, dict | None] = {name: None for name in host}
    for name, row in zip(present, stats.tolist()):
        out[name] = {"p10": row[0], "p50": row[1], "p90": row[2], "mean": row[3]}
    return out


def estimate(
    *,
    accelerator: str,
    params: float | None = None,
    active_params: float | None = None,
    tokens: float | None = None,
    flop: float | None = None,
    accelerators: int | None = None,
    precision: str = "bf16",
    mfu: float | None = None,
    goodput: float | None = None,
    gpu_hours: float | None = None,
    pue: float | None = None,
    site: str | None = None,
    price_per_hour: float | None = None,
    draws: int = K.DEFAULT_ESTIMATE_DRAWS,
    seed: int = 0,
    backend: str | None = None,
    keep_draws: bool = False,
    catalog: Catalog | None = None,
) -> EstimateResult:
    """One training run; every argument mirrors an `estimate` flag (docs/architecture.md §4).

    Monte Carlo over what is not fixed: MFU from the calibrated prior, goodput, the site's PUE, the
    price and the hardware's life. Numbers may be given as text (`"405e9"`), as the CLI passes them.

    Parameters
    ----------
    accelerator : str
        Accelerator id in data/accelerators.csv (``"h100-sxm"``).
    params : float, optional
        Total parameters N (a count). Give `params` and `tokens`, or `flop`.
    active_params : float, optional
        Active parameters per token (mixture of experts); default `params`.
    tokens : float, optional
        Training tokens D; the compute is 6 x active params x tokens FLOP.
    flop : float, optional
        Training compute in FLOP (1e15 to 1e32), instead of `params` and `tokens`.
    accelerators : int, optional
        Cluster size; needed for wall-clock days (whole number, 1 to 1e8).
    precision : {"bf16", "fp8"}
        Training precision; FP8 applies a realized gain over BF16 on chips that have it.
    mfu : float, optional
        Fix MFU in [0.001, 1] instead of drawing it from the calibrated prior.
    goodput : float, optional
        Fix goodput (useful share of wall-clock) in [0.01, 1] instead of its range.
    gpu_hours : float, optional
        Known accelerator-hours; MFU then follows from them (not with `mfu`).
    pue : float, optional
        Fix PUE in [1, 3] instead of the site's.
    site : str, optional
        Region id in data/sites.csv (default ``"us-average"``): PUE, electricity, carbon.
    price_per_hour : float, optional
        USD per accelerator-hour; default the catalog's rental price (none: cost is None).
    draws : int
        Monte Carlo draws, 1 to 20,000,000.
    seed : int
        Seed of every draw, 0 to 2**63 - 1; the same seed gives the same numbers.
    backend : {"auto", "numpy", "cupy"}, optional
        Array backend; default ``$COMPUTE_RACE_BACKEND``, else auto (CuPy when a GPU is usable).
    keep_draws : bool
        Keep the per-draw values in ``.draws`` (a DataFrame, one row per draw).
    catalog : Catalog, optional
        The inputs to use; default `load_catalog()`.

    Returns
    -------
    EstimateResult
        Quantiles (p10, p50, p90, mean) of each metric in ``.summary``, the inputs as applied, the
        provenance; ``.to_dict()`` is the JSON of ``estimate --format json``.

    Raises
    ------
    InputError
        For any bad input, naming the flag and what is allowed.
    """
    if not isinstance(keep_draws, (bool, np.bool_)):
        raise InputError(f"keep_draws: expected True or False, got {keep_draws!r}")
    params = _flag("params", params)
    active_params = _flag("active_params", active_params)
    tokens = _flag("tokens", tokens)
    flop = _flag("flop", flop)
    accelerators = _flag("accelerators", accelerators)
    mfu = _flag("mfu", mfu)
    goodput = _flag("goodput", goodput)
    gpu_hours = _flag("gpu_hours", gpu_hours)
    pue = _flag("pue", pue)
    price_per_hour = _flag("price_per_hour", price_per_hour)
    draws = check_draws(draws)
    seed = check_seed(seed)  # exact: through a float, seeds above 2**53 would collide
    if gpu_hours is not None and mfu is not None:
        raise InputError(
            "--mfu: --gpu-hours fixes the accelerator-hours, so MFU follows from them; "
            "give one or the other"
        )
    if precision not in PRECISIONS:
        raise InputError(
            f"--precision: unknown precision {precision!r}; allowed: {', '.join(PRECISIONS)}"
        )
    if flop is not None and (params is not None or tokens is not None or active_params is not None):
        raise InputError("--flop: give either --flop or --params/--tokens, not both")
    if flop is None:
        if params is None and tokens is None and active_params is None:
            raise InputError(
                "--params/--tokens: give the model size and data (--params N --tokens D) or --flop "
                "C"
            )
        if tokens is None:
            raise InputError("--tokens: training tokens are needed with --params (or give --flop)")
        if params is None and active_params is None:
            raise InputError(
                "--params: the parameter count is needed with --tokens (or give --flop)"
            )
        if params is not None and active_params is not None and active_params > params:
            raise InputError(
                f"--active-params: {active_params:g} exceeds --params {params:g}; active <= total"
            )
        active = active_params if active_params is not None else params
        training_flop = float(kc.training_flop(active, tokens))
        check_training_flop(training_flop)
    else:
        active = None
        training_flop = flop

    for flag, value in (("--accelerator", accelerator), ("--site", site)):
        if not (isinstance(value, str) or (flag == "--site" and value is None)):
            raise InputError(
                f"{flag}: expected an id from "
                f"data/{'accelerators' if flag == '--accelerator' else 'sites'}.csv, "
                f"got {value!r}"
            )
    ctx = context_for(catalog) if catalog is not None else load_context()
    chip = ctx.chips.get(accelerator)
    if chip is None or (precision == "fp8" and chip.peak_fp8_flop_per_s is None):
        _catalog(catalog).accelerator(accelerator).peak_flop_per_s(
            precision
        )  # raises, naming what is allowed
    peak = chip.peak_fp8_flop_per_s if precision == "fp8" else chip.peak_bf16_flop_per_s
    region = ctx.regions.get(site or K.DEFAULT_SITE)
    if region is None:
        _catalog(catalog).site(site or K.DEFAULT_SITE)  # raises, naming close ids
    be = select(backend)
    defaults = ctx.defaults

    def sample(name, dist):
        return _draws(dist, seed, f"estimate/{name}", draws)

    if goodput is not None:
        goodput_draws = np.full(draws, goodput)  # what `draw` gives for a fixed value
    else:
        goodput_draws = sample("goodput", defaults["goodput"])
    if pue is not None:
        pue_draws = np.full(draws, pue)
        pue_text = f"{pue:g}"
    else:
        pue_draws = np.maximum(region.pue + sample("pue_delta", defaults["pue_delta"]), 1.0)
        pue_text = f"{region.pue:g} {defaults['pue_delta'].text}"

    extrapolation = None  # only the prior's MFU can stand on no run of the chip's generation
    if gpu_hours is not None:
        mfu_text = "implied by --gpu-hours (not sampled)"
        mfu_draws = None
    elif mfu is not None:
        mfu_text = f"{mfu:g} (fixed)"
        mfu_draws = np.full(draws, mfu)
    else:
        u_dist = ctx.effective(active, chip.id)
        if u_dist is None:  # a prior the context could not compile: ask it
            from .calibration import default_prior

            u_dist = default_prior(_catalog(catalog)).effective(active, accelerator=chip.id)
        utilization = sample("utilization", u_dist)
        mfu_draws = utilization / goodput_draws
        mfu_text = f"calibrated prior, effective utilization {u_dist.describe()} / goodput"
        extrapolation = chip.extrapolation
        if precision == "fp8":
            ratio = chip.peak_fp8_flop_per_s / chip.peak_bf16_flop_per_s
            gain = sample("fp8_gain", defaults["fp8_gain"]) / ratio
            mfu_draws = mfu_draws * gain
            utilization = utilization * gain
            mfu_text += f", x FP8 gain {defaults['fp8_gain'].text} / {ratio:.2g}"
        check_prior_mfu(
            mfu_draws,
            u_dist.describe(),
            flag="--goodput"
            if goodput is not None
            else ("--precision" if precision == "fp8" else "--params"),
            goodput_given=goodput is not None,
            fp8=precision == "fp8",
            utilization_draws=utilization,
        )
        np.clip(mfu_draws, 1e-6, 1.0, out=mfu_draws)

    # One cost basis for every accelerator: rental (accelerator-hours x a price per
    # accelerator-hour). Owned-hardware cost belongs to deals of kind "owned" in simulate, never a
    # silent fallback here.
    if price_per_hour is not None:
        cost_method = f"rental at {price_per_hour:g} USD/h (--price-per-hour)"
    elif chip.rental_usd_per_hour is not None:
        cost_method = (
            f"rental at {chip.rental_usd_per_hour:g} USD/h (data/accelerators.csv) x "
            f"{defaults['price_factor'].text}"
        )
    else:
        why = f": {chip.rental_na_reason}" if chip.rental_na_reason else ""
        cost_method = f"n/a (no price for {chip.id}{why}; give --price-per-hour)"

    dev = be.asarray
    g = dev(goodput_draws)
    p = dev(pue_draws)
    if gpu_hours is not None:
        from ..inputs.limits import check_implied_mfu

        check_implied_mfu(training_flop, gpu_hours, peak, goodput_draws)
        hours = dev(np.full(draws, gpu_hours))
        mfu_out = kc.implied_mfu(training_flop, hours, peak, g)
    else:
        mfu_out = dev(mfu_draws)
        hours = kc.accelerator_hours(training_flop, peak, mfu_out, g)
    days = kc.wall_clock_days(hours, accelerators) if accelerators else None
    power_w = kc.average_power_w(chip.server_power_w, chip.server_power_fraction, p)
    energy = kc.energy_mwh(hours, power_w)
    # The boundary most published figures use (model cards, GPU meters): the chips alone, no host.
    chip_energy = kc.energy_mwh(
        hours, kc.average_power_w(chip.tdp_w, chip.server_power_fraction, p)
    )
    if price_per_hour is not None:
        cost = kc.rental_cost_usd(hours, price_per_hour)
    elif chip.rental_usd_per_hour is not None:
        cost = kc.rental_cost_usd(
            hours, chip.rental_usd_per_hour * dev(sample("price_factor", defaults["price_factor"]))
        )
    else:
        cost = None
    emissions = kc.emissions_tco2e(energy, region.grid_gco2_per_kwh)

    host = {
        "mfu": to_numpy(mfu_out),
        "gpu_hours": to_numpy(hours),
        "wall_clock_days": to_numpy(days) if days is not None else None,
        "energy_mwh": to_numpy(energy),
        "accelerator_energy_mwh": to_numpy(chip_energy),
        "cost_usd": to_numpy(cost) if cost is not None else None,
        "emissions_tco2e": to_numpy(emissions),
    }
    metrics = _metric_quantiles(host)
    inputs = {
        "params": params,
        "active_params": active if flop is None else None,
        "tokens": tokens,
        "flop": flop,
        "accelerator": chip.id,
        "accelerators": accelerators,
        "precision": precision,
        "peak_flop_per_s": peak,
        "mfu": mfu_text,
        "mfu_extrapolation": extrapolation,
        "goodput": f"{goodput:g} (fixed)" if goodput is not None else defaults["goodput"].text,
        "gpu_hours": gpu_hours,
        "pue": pue_text,
        "site": region.id,
        "price_per_hour": price_per_hour,
        "cost_basis": COST_BASIS,
        "cost_method": cost_method,
        "draws": draws,
        "seed": seed,
        "backend": be.name,
    }
    frame = None
    if keep_draws:
        import pandas as pd

        frame = pd.DataFrame({k: v for k, v in host.items() if v is not None})
    return EstimateResult(
        training_flop=training_flop,
        metrics=metrics,
        inputs=inputs,
        provenance=provenance(
            seed=seed,
            backend=be,
            data_hash=ctx.data_hash,
            package=ctx.package_version,
            library_versions=ctx.versions,
        ),
        draws=frame,
    )


def _catalog(catalog: Catalog | None) -> Catalog:
    """The validated catalog (for what the context does not hold: error messages naming close
    ids)."""
    from ..inputs.catalog import load_catalog

    return catalog or load_catalog()

"""What `estimate` reads from data/ and the prior, as plain values, kept on disk between processes.

`estimate` needs a few numbers per accelerator and site, the default distributions and the prior's
predictive distribution at the run's size. The validated catalog (pydantic models) and the prior
(`calibration`) cost a command about 0.3 s to import, more than the estimate itself. `context_for`
extracts the plain values from a catalog; `load_context` reads them from a cache file keyed by the
data's contents, this package's code and the installed libraries, so a repeated ``python -m
analysis estimate ...`` imports neither. A missing or unreadable file costs one build (and a write).

The prior, compiled: for one accelerator the prior's centre of log utilization is linear, and the
square of its P10-P90 half-width quadratic, in log10(active parameters) (`calibration`: a size slope
and the coefficients' covariance). The context keeps, per accelerator, those coefficients read off
the prior's own predictions at three sizes and checked against it at six more (to 1e-12); where
the check fails (a prior of another form), it keeps nothing and `estimate` asks the prior itself.
Both `estimate` paths (a given catalog, or this cache) use the same compiled values.
"""

from __future__ import annotations

import math
import os
import sys
from dataclasses import dataclass, field
from pathlib import Path

from .. import paths
from ..cache import hash_contents

#: The files of data/ that the catalog reads (`catalog.CSV_FILES` and `catalog.DEALS_FILE`).
DATA_FILES = ("accelerators.csv", "sites.csv", "training_runs.csv", "models.csv", "deals.yaml")
#: Modules whose code shapes a context: any change to them builds it again.
SOURCES = (
    "model/context.py",
    "cache.py",
    "inputs/catalog.py",
    "inputs/specs.py",
    "inputs/scenario.py",
    "model/calibration.py",
    "model/censored.py",
    "constants.py",
    "inputs/limits.py",
    "inputs/yamlio.py",
)
#: Sizes (log10 of active parameters) the compiled prior is read at, and checked at.
FIT_LOG10 = (10.0, 11.0, 12.0)
CHECK_LOG10 = (7.0, 8.5, 9.3, 11.6, 13.2, 14.5)
CHECK_RTOL = 1e-12
DEFAULTS = ("goodput", "pue_delta", "fp8_gain", "price_factor")


@dataclass(frozen=True)
class Chip:
    """An accelerator's figures `estimate` uses (data/accelerators.csv)."""

    id: str
    peak_bf16_flop_per_s: float
    peak_fp8_flop_per_s: float | None
    tdp_w: float
    server_power_w: float
    server_power_fraction: float
    rental_usd_per_hour: float | None
    #: Why there is no rental price (data/accelerators.csv `rental_usd_per_hour: n/a: why`).
    rental_na_reason: str | None = None
    #: Why the prior's prediction here stands on no run of the chip's generation
    #: (`UtilizationPrior.extrapolation`); None where it has runs.
    extrapolation: str | None = None


@dataclass(frozen=True)
class Region:
    """A site's figures `estimate` uses (data/sites.csv)."""

    id: str
    pue: float
    grid_gco2_per_kwh: float


@dataclass(frozen=True)
class Drawn:
    """A distribution as `sampling.draw` reads it (fixed, uniform, triangular or lognormal), in
    words too."""

    dist: str
    text: str
    value: float | None = None
    low: float | None = None
    mode: float | None = None
    high: float | None = None
    mu: float | None = None
    sigma: float | None = None

    def describe(self) -> str:
        return self.text


@dataclass(frozen=True)
class Context:
    data_hash: str
    chips: dict[str, Chip]
    regions: dict[str, Region]
    defaults: dict[str, Drawn]
    #: Accelerator id -> (centre at 10^11, slope, half^2 at 10^11, its slope, its curvature, centre
    #: and half-width with the size unknown), in log utilization per decade of active parameters.
    prior: dict[str, tuple[float, ...] | None]
    #: Package version and library versions, as `provenance` reports them (None: ask it).
    package_version: str | None = None
    versions: dict[str, str] | None = None
    _effective: dict = field(default_factory=dict, repr=False, compare=False)

    def effective(self, active_params: float | None, accelerator: str) -> Drawn | None:
        """The prior's predictive LogNormal of effective utilization (None: not compiled here)."""
        key = (active_params, accelerator)
        hit = self._effective.get(key)
        if hit is not None:
            return hit
        coef = self.prior.get(accelerator)
        if coef is None:
            return None
        centre, half = _predict(coef, active_params)
        p10, p90 = math.exp(centre - half), math.exp(centre + half)
        from ..inputs.limits import describe_dist, lognormal_mu_sigma

        mu, sigma = lognormal_mu_sigma(p10, p90)
        drawn = Drawn(
            "lognormal", describe_dist("lognormal", {"p10": p10, "p90": p90}), mu=mu, sigma=sigma
        )
        if len(self._effective) >= 1024:
            self._effective.clear()
        self._effective[key] = drawn
        return drawn


def _predict(coef: tuple[float, ...], active_params: float | None) -> tuple[float, float]:
    c0, c1, h0, h1, h2, centre_unknown, half_unknown = coef
    if active_params is None:
        return centre_unknown, half_unknown
    x = math.log10(active_params) - FIT_LOG10[1]
    return c0 + c1 * x, math.sqrt(max(h0 + h1 * x + h2 * x * x, 0.0))


def _compile_prior(prior, accelerator: str) -> tuple[float, ...] | None:
    """(c0, c1, h0, h1, h2, centre, half) of the prior at one accelerator, or None when the prior is
    not of that form (the check at CHECK_LOG10 fails)."""
    at = {
        x: prior.log_centre_and_half_width(10.0**x, accelerator=accelerator)
        for x in FIT_LOG10 + CHECK_LOG10
    }
    (cl, hl), (cm, hm), (cr, hr) = (at[x] for x in FIT_LOG10)
    sq = (hl * hl, hm * hm, hr * hr)
    coef = (
        cm,
        (cr - cl) / 2.0,
        sq[1],
        (sq[2] - sq[0]) / 2.0,
        (sq[2] + sq[0]) / 2.0 - sq[1],
        *prior.log_centre_and_half_width(None, accelerator=accelerator),
    )
    for x in CHECK_LOG10:
        centre, half = _predict(coef, 10.0**x)
        want_centre, want_half = at[x]
        if not (
            abs(centre - want_centre) <= CHECK_RTOL * max(1.0, abs(want_centre))
            and abs(half - want_half) <= CHECK_RTOL * max(1.0, abs(want_half))
        ):
            return None
    return coef


def _drawn(dist) -> Drawn:
    kind = dist.dist
    fields = {
        name: getattr(dist, name)
        for name in ("value", "low", "mode", "high")
        if hasattr(dist, name)
    }
    if kind == "lognormal":
        fields.update(mu=dist.mu, sigma=dist.sigma)
    elif kind not in ("fixed", "uniform", "triangular"):
        raise TypeError(
            f"a default distribution of kind {kind!r} has no plain form here; add it to Drawn"
        )
    return Drawn(kind, dist.describe(), **fields)


_BUILT: dict[int, tuple[object, Context]] = {}


def context_for(catalog) -> Context:
    """The context of a validated catalog (built once per catalog object in this process)."""
    hit = _BUILT.get(id(catalog))
    if hit is not None and hit[0] is catalog:
        return hit[1]
    from ..inputs.scenario import Uncertainty
    from .calibration import default_prior

    prior = default_prior(catalog)
    defaults = Uncertainty()
    ctx = Context(
        data_hash=catalog.data_hash,
        chips={
            c.id: Chip(
                c.id,
                c.peak_bf16_flop_per_s,
                c.peak_fp8_flop_per_s,
                c.tdp_w,
                c.server_power_w,
                c.server_power_fraction,
                c.rental_usd_per_hour,
                c.rental_na_reason,
                prior.extrapolation(c.id),
            )
            for c in catalog.accelerators.values()
        },
        regions={s.id: Region(s.id, s.pue, s.grid_gco2_per_kwh) for s in catalog.sites.values()},
        defaults={name: _drawn(getattr(defaults, name)) for name in DEFAULTS},
        prior={a: _compile_prior(prior, a) for a in catalog.accelerators},
    )
    if len(_BUILT) > 8:
        _BUILT.clear()
    _BUILT[id(catalog)] = (catalog, ctx)
    return ctx


_LOADED: dict[tuple, Context] = {}


def load_context(data_dir: str | Path | None = None) -> Context:
    """The context of data/ (or `data_dir`): from this process, else the cache file, else built from
    the validated catalog (bad data raises its InputError there) and written."""
    root = Path(data_dir).resolve() if data_dir is not None else paths.data_dir()
    stamp = _stamp(str(root))
    if stamp is not None and stamp in _LOADED:
        return _LOADED[stamp]
    try:
        contents = {p: p.read_bytes() for p in (root / name for name in DATA_FILES)}
    except OSError:
        contents = None  # the catalog loader names the missing file
    if contents is None:
        from ..inputs.catalog import load_catalog

        return context_for(load_catalog(root))
    data_hash = hash_contents(contents)
    key = (str(root), data_hash)
    if key in _LOADED:
        return _LOADED[key]
    path = _cache_file(root, data_hash)
    ctx = _read(path, data_hash)
    if ctx is None:
        from ..inputs.catalog import load_catalog
        from ..provenance import package_version, versions

        built = context_for(load_catalog(root))
        ctx = Context(
            built.data_hash,
            built.chips,
            built.regions,
            built.defaults,
            built.prior,
            package_version=package_version(),
            versions=versions(),
        )
        if ctx.data_hash == data_hash:
            _write(path, ctx)
    _LOADED.clear()
    _LOADED[key] = ctx
    if stamp is not None:
        _LOADED[stamp] = ctx
    return ctx


def _stamp(root: str) -> tuple | None:
    """The data files' times and sizes: in this process a context holds while they do (as the
    catalog's does); None when a file is missing."""
    try:
        return (root,) + tuple(
            (s.st_mtime_ns, s.st_size)
            for s in (os.stat(os.path.join(root, name)) for name in DATA_FILES)
        )
    except OSError:
        return None


def _cache_file(root: Path, data_hash: str) -> Path:
    """Keyed by the data, its folder, this package's code, Python, and the installed libraries (the
    site-packages folder changes whenever a package is installed, upgraded or removed)."""
    import numpy

    site = Path(numpy.__file__).parent.parent
    try:
        installed = str(site.stat().st_mtime_ns)
    except OSError:
        installed = "?"
    return paths.cache_file(
        "estimate",
        data_hash,
        [str(root), sys.version, numpy.__version__, str(site), installed],
        SOURCES,
        "pickle",
    )


def _read(path: Path, data_hash: str) -> Context | None:
    ctx = paths.read_pickle_cache(path, Context)
    return ctx if ctx is not None and ctx.data_hash == data_hash else None


def _write(path: Path, ctx: Context) -> None:
    import pickle

    paths.write_cache(path, pickle.dumps(ctx, protocol=pickle.HIGHEST_PROTOCOL))

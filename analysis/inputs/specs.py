"""Pydantic models of the inputs in data/: data rows, distributions, deals, competing models.

The scenario models (who races, on which deals, with what uncertainty) are in `inputs.scenario`.

Validation lives here and in the catalog loader; kernels trust what these models let through.
"""

from __future__ import annotations

import datetime as _dt
import math
import re
from typing import Annotated, Any, Literal, Union

import numpy as np
from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    field_validator,
    model_validator,
)

from .. import constants as K
from ..errors import InputError

# Bounds, precisions, Z90 and the seed and draw checks live in `limits` (no pydantic: the `estimate`
# command reads them without importing this module); re-exported here.
from .limits import (  # noqa: F401
    COLUMN_RANGES,
    MAX_ACCELERATORS,
    MAX_CAMPUS_MW,
    MAX_DEAL_SCALE,
    MAX_DEAL_VALUE_USD,
    MAX_DELAY_MONTHS,
    MAX_DRAWS,
    MAX_GPU_HOURS,
    MAX_PRICE_USD_PER_HOUR,
    MAX_SEED,
    MAX_TERM_MONTHS,
    MAX_TRAINING_FLOP,
    MIN_GOODPUT,
    MIN_MFU,
    MIN_PRICE_USD_PER_HOUR,
    MIN_TRAINING_FLOP,
    PRECISIONS,
    PUE_MAX,
    PUE_MIN,
    RANGE_TAIL,
    UNCERTAINTY_RANGES,
    Z90,
    Range,
    check_draws,
    check_seed,
    describe_dist,
    lognormal_mu_sigma,
)

# ---------------------------------------------------------------------------------------------
# Shared field types
# ---------------------------------------------------------------------------------------------


def bounded(column: str, kind: type = float) -> Any:
    """The type of a numeric data column: `kind` within limits.COLUMN_RANGES[column] (pydantic's
    own bounds, so a value outside is named with the file, line and field like any other)."""
    allowed = COLUMN_RANGES[column]
    low = {"gt": allowed.low} if allowed.low_open else {"ge": allowed.low}
    return Annotated[kind, Field(**low, le=allowed.high)]


PositiveFloat = Annotated[float, Field(gt=0)]
NonNegativeFloat = Annotated[float, Field(ge=0)]
NonEmptyStr = Annotated[str, Field(min_length=1)]
Precision = Literal["bf16", "fp8"]


_ID = re.compile(r"^[a-z0-9][a-z0-9.\-]*$")
_YEAR_MONTH = re.compile(r"^(\d{4})-(\d{2})$")


def check_id(value: str) -> str:
    if not _ID.match(value):
        raise ValueError(f"id {value!r} must be lowercase letters, digits, '.' and '-'")
    return value


def month_index(value: str) -> int:
    """'YYYY-MM' as a count of months since year 0 (so differences are month counts)."""
    match = _YEAR_MONTH.match(value)
    if not match:
        raise ValueError(f"{value!r} is not a month; write YYYY-MM, e.g. 2026-01")
    year, month = int(match.group(1)), int(match.group(2))
    if not 1 <= month <= 12:
        raise ValueError(f"{value!r} has month {month}; allowed 01-12")
    return year * 12 + (month - 1)


def month_label(index: float) -> str:
    """Inverse of month_index, for display (fractional months floor to their month)."""
    whole = int(math.floor(index))
    return f"{whole // 12:04d}-{whole % 12 + 1:02d}"


def _as_year_month(value: Any) -> str:
    if isinstance(value, (_dt.date, _dt.datetime)):
        # YAML reads 2026-01-15 as a date: a day where a month is expected is refused, never
        # truncated
        raise ValueError(
            f"{value.isoformat()} is a day; write the month as YYYY-MM, "
            f"e.g. {value.year:04d}-{value.month:02d}"
        )
    if not isinstance(value, str):
        raise ValueError(f"expected a month as text YYYY-MM, e.g. 2026-01, got {value!r}")
    month_index(value)
    return value


YearMonth = Annotated[str, BeforeValidator(_as_year_month)]

_DATE = re.compile(r"^(\d{4})-(\d{2})(?:-(\d{2}))?$")


def _as_date(value: Any) -> str:
    """A calendar date as text, `YYYY-MM-DD` (or `YYYY-MM`), checked to be a real date."""
    if isinstance(value, (_dt.date, _dt.datetime)):
        return value.strftime("%Y-%m-%d")
    value = str(value)
    match = _DATE.match(value)
    if not match:
        raise ValueError(f"{value!r} is not a date; write YYYY-MM-DD, e.g. 2026-12-01")
    try:
        _dt.date(int(match.group(1)), int(match.group(2)), int(match.group(3) or 1))
    except ValueError as err:
        raise ValueError(f"{value!r} is not a date: {err}") from None
    return value


def date_month_index(value: str) -> int:
    """The month index (as `month_index`) of a `YYYY-MM[-DD]` date."""
    return month_index(value[:7])


#: The date a row was true as of: `YYYY-MM-DD` (the day its figures were last checked).
AsOfDate = Annotated[str, BeforeValidator(_as_date)]


def _as_text(value: Any) -> Any:
    if isinstance(value, (_dt.date, _dt.datetime)):
        return value.isoformat()
    return value


Text = Annotated[str, BeforeValidator(_as_text)]


def _admits_bool(annotation: Any) -> bool:
    """Whether a field's type lets a boolean through on purpose (bool, bool | None, Any)."""
    if annotation is bool or annotation is Any:
        return True
    return any(_admits_bool(arg) for arg in getattr(annotation, "__args__", ()) or ())


class Strict(BaseModel):
    """Unknown keys are errors (they are usually typos), NaN and infinities are rejected, and a
    boolean is never read as a number (pydantic would take `draws: true` as 1)."""

    # defer_build: a model's validator is built when it first validates, not when this module is
    # imported (most commands validate a few of these models; building all cost ~0.15 s per call).
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False, frozen=True, defer_build=True)

    @model_validator(mode="before")
    @classmethod
    def _no_bool_as_number(cls, data):
        if isinstance(data, dict):
            for name, value in data.items():
                field = cls.model_fields.get(name) if isinstance(name, str) else None
                if field is None:
                    continue
                if isinstance(value, bool) and not _admits_bool(field.annotation):
                    raise ValueError(
                        f"{name}: expected a number or text, got {str(value).lower()} (a boolean)"
                    )
                # NonEmptyStr: blank text ("  ") is as empty as "" (min_length alone lets it
                # through)
                if (
                    isinstance(value, str)
                    and not value.strip()
                    and any(getattr(m, "min_length", 0) for m in field.metadata)
                ):
                    raise ValueError(f"{name}: empty text; give a value")
        return data


# ---------------------------------------------------------------------------------------------
# Distributions: every uncertain input is one of these; sampled by inverse CDF from uniforms
# ---------------------------------------------------------------------------------------------


class _Dist(Strict):
    def ppf(self, u: np.ndarray) -> np.ndarray:  # pragma: no cover - abstract
        raise NotImplementedError

    def support(self) -> tuple[float, float]:  # pragma: no cover - abstract
        raise NotImplementedError

    def median(self) -> float:
        return float(self.ppf(np.array([0.5]))[0])

    def describe(self) -> str:
        return describe_dist(self.dist, {k: v for k, v in self.model_dump().items() if k != "dist"})


class Fixed(_Dist):
    dist: Literal["fixed"] = "fixed"
    value: float

    def ppf(self, u):
        return np.full(np.shape(u), self.value, dtype=np.float64)

    def support(self):
        return (self.value, self.value)


class _Interval(_Dist):
    """A distribution on [low, high]."""

    @model_validator(mode="after")
    def _ordered(self):
        if self.low > self.high:
            raise ValueError(f"low {self.low} is above high {self.high}; need low <= high")
        return self

    def support(self):
        return (self.low, self.high)


class Uniform(_Interval):
    dist: Literal["uniform"] = "uniform"
    low: float
    high: float

    def ppf(self, u):
        return self.low + (self.high - self.low) * np.asarray(u, dtype=np.float64)


class Triangular(_Dist):
    dist: Literal["triangular"] = "triangular"
    low: float
    mode: float
    high: float

    @model_validator(mode="after")
    def _ordered(self):
        if not self.low <= self.mode <= self.high:
            raise ValueError(
                f"need low <= mode <= high, got low={self.low}, mode={self.mode}, high={self.high}"
            )
        return self

    def ppf(self, u):
        u = np.asarray(u, dtype=np.float64)
        width = self.high - self.low
        if width == 0:
            return np.full(u.shape, self.low)
        cut = (self.mode - self.low) / width
        left = self.low + np.sqrt(u * width * (self.mode - self.low))
        right = self.high - np.sqrt((1.0 - u) * width * (self.high - self.mode))
        return np.where(u < cut, left, right)

    def support(self):
        return (self.low, self.high)


#: Standard deviations of the inverse normal CDF at the sampler's extreme uniform (1 - 1e-12).
LOGNORMAL_REACH = 7.0344869100478356


class LogNormal(_Dist):
    """Log-normal given by its 10th and 90th percentiles (median = their geometric mean)."""

    dist: Literal["lognormal"] = "lognormal"
    p10: PositiveFloat
    p90: PositiveFloat

    @model_validator(mode="after")
    def _ordered(self):
        if self.p10 > self.p90:
            raise ValueError(f"p10 {self.p10} is above p90 {self.p90}; need p10 <= p90")
        return self

    @property
    def mu(self) -> float:
        return lognormal_mu_sigma(self.p10, self.p90)[0]

    @property
    def sigma(self) -> float:
        return lognormal_mu_sigma(self.p10, self.p90)[1]

    def ppf(self, u):
        from scipy.special import ndtri  # imported on use: scipy costs a CLI start about 0.1-0.4 s

        return np.exp(self.mu + self.sigma * ndtri(np.asarray(u, dtype=np.float64)))

    def support(self):
        if self.p10 == self.p90:
            return (self.p10, self.p10)
        # What the sampler can draw: its uniforms lie in [1e-12, 1 - 1e-12] (model/sampling.py),
        # so draws lie within 7.03 standard deviations of mu on the log scale.
        reach = LOGNORMAL_REACH * self.sigma
        return (math.exp(self.mu - reach), math.exp(self.mu + reach))


class LogUniform(_Interval):
    dist: Literal["loguniform"] = "loguniform"
    low: PositiveFloat
    high: PositiveFloat

    def ppf(self, u):
        lo, hi = math.log(self.low), math.log(self.high)
        return np.exp(lo + (hi - lo) * np.asarray(u, dtype=np.float64))


DIST_KINDS = ("fixed", "uniform", "triangular", "lognormal", "loguniform")


def _number_is_fixed(value: Any) -> Any:
    """A bare number in YAML means a fixed value; an unknown `dist` gets a message naming the
    kinds."""
    if isinstance(value, bool):
        return value
    if isinstance(value, (int, float)):
        return {"dist": "fixed", "value": value}
    if isinstance(value, dict):
        kind = value.get("dist")
        if kind is None:
            raise ValueError(f"a distribution needs a 'dist' key; allowed: {', '.join(DIST_KINDS)}")
        if kind not in DIST_KINDS:
            raise ValueError(f"unknown distribution {kind!r}; allowed: {', '.join(DIST_KINDS)}")
    return value


Dist = Annotated[
    Union[Fixed, Uniform, Triangular, LogNormal, LogUniform],
    Field(discriminator="dist"),
    BeforeValidator(_number_is_fixed),
]


def check_range(dist: _Dist, name: str) -> None:
    """Raise ValueError when a distribution puts draws outside the plausible range of `name`
    (limits.UNCERTAINTY_RANGES): a bounded one anywhere on its support, a log-normal beyond its
    RANGE_TAIL percentiles (it has no upper bound)."""
    allowed: Range = UNCERTAINTY_RANGES[name]
    lo, hi = dist.support()
    if dist.dist == "lognormal" or not math.isfinite(hi):
        # the sampler's reach (7 standard deviations) is not what a plausible range is about
        lo, hi = (float(v) for v in dist.ppf(np.array([RANGE_TAIL, 1.0 - RANGE_TAIL])))
    bad_low = lo <= allowed.low if allowed.low_open else lo < allowed.low
    if bad_low or hi > allowed.high:
        reach = "is" if lo == hi else f"reaches {lo:.4g} to {hi:.4g},"
        raise ValueError(
            f"{dist.describe()} {reach} outside {allowed.describe()} ({allowed.allowed})"
        )


def check_support(dist: _Dist, low: float, high: float, *, low_open: bool = False) -> None:
    """Raise ValueError when a distribution can put mass outside [low, high] (or (low, high])."""
    lo, hi = dist.support()
    bad_low = lo <= low if low_open else lo < low
    if bad_low or hi > high:
        bracket = "(" if low_open else "["
        raise ValueError(f"{dist.describe()} reaches outside {bracket}{low:g}, {high:g}]")


# ---------------------------------------------------------------------------------------------
# Data rows (data/*.csv)
# ---------------------------------------------------------------------------------------------

FAMILIES = (
    "volta",
    "ampere",
    "hopper",
    "blackwell",
    "rubin",
    "cdna2",
    "cdna3",
    "cdna4",
    "cdna5",
    "ascend",
    "tpu",
    "trainium",
)


class Accelerator(Strict):
    id: Annotated[str, BeforeValidator(lambda v: check_id(str(v)))]
    name: NonEmptyStr
    vendor: NonEmptyStr
    family: Literal[FAMILIES]  # type: ignore[valid-type]
    year: bounded("accelerators.year", int)
    peak_bf16_flop_per_s: bounded("accelerators.peak_bf16_flop_per_s")
    peak_fp8_flop_per_s: bounded("accelerators.peak_fp8_flop_per_s") | None = None
    memory_gb: bounded("accelerators.memory_gb") | None = None
    #: HBM bandwidth per chip; blank where no source gives it (the prior then treats it as unknown).
    memory_bandwidth_tb_per_s: bounded("accelerators.memory_bandwidth_tb_per_s") | None = None
    tdp_w: bounded("accelerators.tdp_w")
    server_power_multiplier: bounded("accelerators.server_power_multiplier")
    server_power_fraction: bounded("accelerators.server_power_fraction")
    #: Plausible bounds (limits.COLUMN_RANGES) catch a price typed in the wrong unit.
    purchase_price_usd: bounded("accelerators.purchase_price_usd") | None = None
    rental_usd_per_hour: bounded("accelerators.rental_usd_per_hour") | None = None
    source: NonEmptyStr
    assumptions: str = ""

    @model_validator(mode="after")
    def _fp8_not_below_bf16(self):
        # FP8 runs divide the prior's BF16-equivalent utilization by this ratio: below 1 it put
        # MFU at 100% in every draw (a BF16 figure in the FP8 column, or the two swapped).
        if self.peak_fp8_flop_per_s is not None and (
            self.peak_fp8_flop_per_s < self.peak_bf16_flop_per_s
        ):
            raise ValueError(
                f"peak_fp8_flop_per_s {self.peak_fp8_flop_per_s:g} is below peak_bf16_flop_per_s "
                f"{self.peak_bf16_flop_per_s:g}; an FP8 peak is at least the BF16 one (check the "
                "columns are not swapped)"
            )
        return self

    @property
    def rental_na_reason(self) -> str | None:
        """Why the row has no rental price: its `rental_usd_per_hour: n/a: why` entry (None when
        it has a price or gives no reason)."""
        if self.rental_usd_per_hour is not None:
            return None
        return (
            _split_assumptions(self.assumptions)
            .get("rental_usd_per_hour", "")
            .partition("n/a:")[2]
            .strip()
            or None
        )

    def peak_flop_per_s(self, precision: str) -> float:
        """Dense peak at a precision; FP8 on a chip without FP8 is an input error."""
        if precision == "fp8":
            if self.peak_fp8_flop_per_s is None:
                raise InputError(
                    f"accelerator {self.id!r} has no FP8 peak in data/accelerators.csv; "
                    "use --precision bf16"
                )
            return self.peak_fp8_flop_per_s
        return self.peak_bf16_flop_per_s

    @property
    def bytes_per_flop(self) -> float | None:
        """Memory bytes the chip can move per BF16 FLOP at peak (None when its bandwidth is
        unknown)."""
        if self.memory_bandwidth_tb_per_s is None:
            return None
        return self.memory_bandwidth_tb_per_s * 1e12 / self.peak_bf16_flop_per_s

    @property
    def server_power_w(self) -> float:
        """All-in server power per accelerator at its rating (chip TDP x chip-to-server
        multiplier)."""
        return self.tdp_w * self.server_power_multiplier


class Site(Strict):
    id: Annotated[str, BeforeValidator(lambda v: check_id(str(v)))]
    name: NonEmptyStr
    pue: bounded("sites.pue")
    #: Plausible bounds (limits.COLUMN_RANGES) catch a price or an intensity typed in the wrong
    #: unit (per kWh, in cents, kg).
    electricity_usd_per_mwh: bounded("sites.electricity_usd_per_mwh")
    grid_gco2_per_kwh: bounded("sites.grid_gco2_per_kwh")
    source: NonEmptyStr
    assumptions: str = ""


SCOPES = ("pretrain", "pretrain_plus", "upper_bound", "derived")
#: Scopes whose hours measure a run's throughput (an upper bound says too little to fit on).
FIT_SCOPES = ("pretrain", "pretrain_plus", "derived")
#: What a row is for: ``calibration`` rows fit the utilization prior and must pass the calibration
#: rule (data/README.md); ``check`` rows serve FLOP, energy, power and bound checks only.
ROLES = ("calibration", "check")
#: What the run is: only pre-training of a language model (from scratch) calibrates.
RUN_KINDS = ("language_pretrain", "continued_pretrain", "fine_tune", "multimodal", "other")
#: Where the training FLOP comes from. Only the first two say anything about utilization: a figure
#: worked out from the run's own hardware x time x an assumed utilization is circular.
FLOP_BASES = ("params_x_tokens", "reported", "hardware_time", "third_party_estimate")
CALIBRATION_FLOP_BASES = ("params_x_tokens", "reported")
#: Where the accelerator-hours come from: the authors' figure, reported quantity x reported time,
#: a reported rate per token x tokens, a reported iteration time x steps, or a third party's guess.
HOURS_BASES = (
    "reported",
    "quantity_x_time",
    "rate_x_tokens",
    "iteration_time",
    "third_party_estimate",
)
CALIBRATION_HOURS_BASES = ("reported", "quantity_x_time", "rate_x_tokens", "iteration_time")
THIRD_PARTY_CONFIDENCE = "estimated-by-third-party"
#: What a row's accelerator-hours say about the clean pass: ``exact`` (they measure it) or ``upper``
#: (they bound it from above: accelerators x calendar time, hours that cover more than one pass,
#: access windows). The censored form of the prior reads an ``upper`` row as "utilization at least
#: the implied value".
HOURS_BOUNDS = ("exact", "upper")
#: Hours of these scopes or this basis are upper bounds by construction: such a row cannot say
#: ``exact``.
UPPER_BOUND_SCOPES = ("pretrain_plus", "upper_bound")
UPPER_BOUND_BASES = ("quantity_x_time",)
#: What a published energy figure measures (data/README.md): accelerator-hours x chip TDP by
#: construction (cannot test an energy model), measured GPU power x time before PUE, or not stated.
ENERGY_BASES = ("tdp_x_hours", "gpu_measured", "unstated")


class TrainingRun(Strict):
    id: Annotated[str, BeforeValidator(lambda v: check_id(str(v)))]
    model: NonEmptyStr
    organization: NonEmptyStr
    year: bounded("training_runs.year", int)
    architecture: str = ""
    total_params: bounded("training_runs.total_params") | None = None
    active_params: bounded("training_runs.active_params") | None = None
    training_tokens: bounded("training_runs.training_tokens") | None = None
    training_flop: bounded("training_runs.training_flop") | None = None
    accelerator: str | None = None
    n_accelerators: bounded("training_runs.n_accelerators", int) | None = None
    gpu_hours: bounded("training_runs.gpu_hours") | None = None
    gpu_hours_scope: Literal[SCOPES] | None = None  # type: ignore[valid-type]
    #: Tokens the reported gpu_hours cover when that is not training_tokens (one stage of a run).
    hours_tokens: bounded("training_runs.hours_tokens") | None = None
    precision: Precision | None = None
    mfu_reported: bounded("training_runs.mfu_reported") | None = None
    #: Published training energy (MWh) and what it measures; used to check the energy model only.
    energy_mwh: bounded("training_runs.energy_mwh") | None = None
    energy_basis: Literal[ENERGY_BASES] | None = None  # type: ignore[valid-type]
    #: PUE the authors report for the facility of the run.
    pue: bounded("training_runs.pue") | None = None
    #: Facility power of the run (MW) as published (for frontier runs, a third-party estimate).
    power_mw: bounded("training_runs.power_mw") | None = None
    confidence: str = ""
    #: What the row is for (``calibration`` or ``check``) and where its figures come from.
    role: Literal[ROLES]  # type: ignore[valid-type]
    run_kind: Literal[RUN_KINDS] | None = None  # type: ignore[valid-type]
    flop_basis: Literal[FLOP_BASES] | None = None  # type: ignore[valid-type]
    hours_basis: Literal[HOURS_BASES] | None = None  # type: ignore[valid-type]
    #: Whether gpu_hours measure the clean pass or bound it from above (`HOURS_BOUNDS`).
    hours_bound: Literal[HOURS_BOUNDS] | None = None  # type: ignore[valid-type]
    source: NonEmptyStr
    notes: str = ""

    @model_validator(mode="after")
    def _scope_with_hours(self):
        if self.gpu_hours is not None and self.gpu_hours_scope is None:
            raise ValueError("gpu_hours is given, so gpu_hours_scope is required")
        if self.hours_tokens is not None and self.gpu_hours is None:
            raise ValueError(
                "hours_tokens says which tokens gpu_hours cover, so gpu_hours is required"
            )
        if self.energy_mwh is not None and self.energy_basis is None:
            raise ValueError(
                "energy_mwh is given, so energy_basis is required; allowed: "
                f"{', '.join(ENERGY_BASES)}"
            )
        return self

    def hours_bound_problem(self) -> tuple[str, str] | None:
        """(field, what is wrong) when the row's `hours_bound` is missing or contradicts its hours,
        else None: hours need a bound; an upper bound needs its basis (how the hours were got);
        hours that are an upper bound by construction cannot be declared exact."""
        if self.gpu_hours is None:
            if self.hours_bound is not None:
                return (
                    "hours_bound",
                    "hours_bound says what gpu_hours are, so gpu_hours is required",
                )
            return None
        if self.hours_bound is None:
            return (
                "hours_bound",
                "gpu_hours is given, so hours_bound is required: exact (the hours measure the "
                "clean pass) or upper (they bound it from above)",
            )
        if self.hours_bound == "upper" and self.hours_basis is None:
            return (
                "hours_basis",
                "hours_bound is upper, so hours_basis must say how the bound was got; allowed: "
                f"{', '.join(HOURS_BASES)}",
            )
        if self.hours_bound == "exact" and (
            self.gpu_hours_scope in UPPER_BOUND_SCOPES or self.hours_basis in UPPER_BOUND_BASES
        ):
            what = (
                f"scope {self.gpu_hours_scope}"
                if self.gpu_hours_scope in UPPER_BOUND_SCOPES
                else f"basis {self.hours_basis}"
            )
            return (
                "hours_bound",
                f"hours of {what} bound the clean pass from above; write upper, not exact",
            )
        return None

    def calibration_rule_violation(self) -> tuple[str, str] | None:
        """(field, what is wrong) when a ``calibration`` row breaks the calibration rule, else None.

        The rule (data/README.md): compute not from the run's own hardware time, accelerator and
        hours reported, hours that measure throughput, pre-training of a language model.
        """
        if self.role != "calibration":
            return None
        if self.flop_basis not in CALIBRATION_FLOP_BASES:
            return (
                "flop_basis",
                "a calibration row's compute must come from "
                f"{' or '.join(CALIBRATION_FLOP_BASES)}, "
                "not from its own hardware time or a third party's estimate; got "
                f"{self.flop_basis!r} "
                "(set role to check to keep the row for other uses)",
            )
        if self.flop_basis == "params_x_tokens":
            for name in ("active_params", "training_tokens"):
                if getattr(self, name) is None:
                    return (
                        name,
                        "flop_basis params_x_tokens needs active_params and training_tokens",
                    )
        elif self.training_flop is None:
            return (
                "training_flop",
                "flop_basis reported needs the authors' figure in training_flop",
            )
        if self.accelerator is None:
            return ("accelerator", "a calibration row needs its accelerator")
        if self.gpu_hours is None:
            return (
                "gpu_hours",
                "a calibration row needs its accelerator-hours (or quantity x time)",
            )
        if self.hours_basis not in CALIBRATION_HOURS_BASES:
            return (
                "hours_basis",
                f"a calibration row's hours must be one of {', '.join(CALIBRATION_HOURS_BASES)}; "
                f"got {self.hours_basis!r}",
            )
        if self.gpu_hours_scope not in FIT_SCOPES:
            return (
                "gpu_hours_scope",
                f"a calibration row's hours must be of scope {', '.join(FIT_SCOPES)}; "
                f"got {self.gpu_hours_scope!r}",
            )
        if self.run_kind != "language_pretrain":
            return ("run_kind", f"only language_pretrain runs calibrate; got {self.run_kind!r}")
        if self.confidence == THIRD_PARTY_CONFIDENCE:
            return ("confidence", f"rows {THIRD_PARTY_CONFIDENCE!r} never calibrate")
        return None

    @property
    def flop(self) -> float | None:
        """Training FLOP: the reported figure, else 6 * active params * tokens."""
        if self.training_flop is not None:
            return self.training_flop
        if self.active_params is not None and self.training_tokens is not None:
            return 6.0 * self.active_params * self.training_tokens
        return None

    @property
    def hours_flop(self) -> float | None:
        """Model FLOP (6 N_active D) of the tokens the reported gpu_hours cover.

        MFU is defined on model FLOP, so 6ND is preferred to a reported FLOP figure, which may count
        activation recomputation (OPT-175B's 4.3e23 is hardware FLOP, about 8ND). Falls back to the
        reported figure when N or D is unknown and the hours cover the whole run.
        """
        tokens = self.hours_tokens if self.hours_tokens is not None else self.training_tokens
        if self.active_params is not None and tokens is not None:
            return K.FLOP_PER_PARAM_PER_TOKEN * self.active_params * tokens
        if self.hours_tokens is None:
            return self.training_flop
        return None


def _split_assumptions(text: str) -> dict[str, str]:
    out = {}
    for entry in filter(None, (part.strip() for part in text.split(" | "))):
        field, _, why = entry.partition(":")
        out[field.strip()] = why.strip()
    return out


class FlagshipRelease(Strict):
    """A lab's flagship release (data/flagship_releases.csv): what the hindcast is judged against
    and what its naive cadence baseline reads. `record`: a new pre-training compute record for the
    lab (the hindcast's unit: the next record run after a date)."""

    id: Annotated[str, BeforeValidator(lambda v: check_id(str(v)))]
    lab: NonEmptyStr
    model: NonEmptyStr
    released: AsOfDate
    training_flop: Annotated[float, Field(ge=MIN_TRAINING_FLOP, le=MAX_TRAINING_FLOP)] | None = None
    record: bool
    source: NonEmptyStr
    notes: str = ""

    @property
    def released_month(self) -> float:
        """The release as a fractional month index (month_index + day fraction)."""
        day = _dt.date.fromisoformat(
            self.released if len(self.released) > 7 else self.released + "-01"
        )
        first = _dt.date(day.year, day.month, 1)
        nxt = _dt.date(day.year + (day.month == 12), day.month % 12 + 1, 1)
        return month_index(self.released[:7]) + (day - first).days / (nxt - first).days


class CompetingModel(Strict):
    """A lab's next model: size and data as log-normal ranges, each an explicit assumption."""

    id: Annotated[str, BeforeValidator(lambda v: check_id(str(v)))]
    lab: NonEmptyStr
    name: NonEmptyStr
    anchor_model: NonEmptyStr
    architecture: str = ""
    active_params_p10: bounded("models.active_params_p10")
    active_params_p90: bounded("models.active_params_p90")
    total_params: bounded("models.total_params") | None = None
    tokens_p10: bounded("models.tokens_p10")
    tokens_p90: bounded("models.tokens_p90")
    precision: Precision = "bf16"
    #: The date the row's anchors (latest shipped model, sizes) were last checked.
    as_of: AsOfDate | None = None
    source: NonEmptyStr
    assumptions: str = ""

    @model_validator(mode="after")
    def _ordered(self):
        for name in ("active_params", "tokens"):
            lo, hi = getattr(self, f"{name}_p10"), getattr(self, f"{name}_p90")
            if lo > hi:
                raise ValueError(f"{name}_p10 {lo:g} is above {name}_p90 {hi:g}")
        low, high = (
            6.0 * self.active_params_p10 * self.tokens_p10,
            6.0 * self.active_params_p90 * self.tokens_p90,
        )
        if not (MIN_TRAINING_FLOP <= low and high <= MAX_TRAINING_FLOP):
            raise ValueError(
                f"6 x N x D spans {low:.3g} to {high:.3g} FLOP (p10s, p90s); allowed from "
                f"{MIN_TRAINING_FLOP:g} to {MAX_TRAINING_FLOP:g} (check the units: counts, not "
                "billions)"
            )
        return self

    @property
    def active_params(self) -> LogNormal:
        return LogNormal(p10=self.active_params_p10, p90=self.active_params_p90)

    @property
    def tokens(self) -> LogNormal:
        return LogNormal(p10=self.tokens_p10, p90=self.tokens_p90)

    def flop_median(self) -> float:
        return 6.0 * self.active_params.median() * self.tokens.median()


# ---------------------------------------------------------------------------------------------
# Capacity deals (data/deals.yaml)
# ---------------------------------------------------------------------------------------------

DEAL_KINDS = ("reserved", "owned", "on_demand")

#: Fields of a deal that state a claim; each one present must be sourced or a labelled assumption.
CLAIM_FIELDS = (
    "accelerator",
    "region",
    "campus",
    "start",
    "term_months",
    "total_value_usd",
    "rate_usd_per_gpu_hour",
    "tranches",
    "delay_months",
    "power_cap_mw",
    "power_delay_months",
    "pue",
)


class Tranche(Strict):
    month: bounded("deals.tranches.month")
    accelerators: bounded("deals.tranches.accelerators")


class PowerStep(Strict):
    month: bounded("deals.power_cap_mw.month")
    mw: bounded("deals.power_cap_mw.mw")


class Deal(Strict):
    id: Annotated[str, BeforeValidator(lambda v: check_id(str(v)))]
    kind: Literal[DEAL_KINDS]  # type: ignore[valid-type]
    buyer: NonEmptyStr
    provider: NonEmptyStr
    announced: Text = ""
    #: The date the deal's terms were last checked against public reporting (YYYY-MM-DD).
    as_of: AsOfDate | None = None
    racing: bool = True
    #: Why a deal is context only (`racing: false`): terms too thin, double counting, ...
    not_racing_because: str = ""
    accelerator: NonEmptyStr
    region: NonEmptyStr
    campus: str | None = None
    start: YearMonth
    term_months: bounded("deals.term_months")
    total_value_usd: bounded("deals.total_value_usd") | None = None
    rate_usd_per_gpu_hour: bounded("deals.rate_usd_per_gpu_hour") | None = None
    tranches: Annotated[list[Tranche], Field(min_length=1)]
    delay_months: Dist = Fixed(value=0.0)
    power_cap_mw: list[PowerStep] | None = None
    power_delay_months: Dist | None = None
    pue: bounded("deals.pue") | None = None
    sourced: list[str] = []
    assumptions: dict[str, str] = {}
    source: NonEmptyStr
    notes: str = ""

    @field_validator("delay_months", "power_delay_months")
    @classmethod
    def _plausible_delay(cls, dist):
        if dist is not None:
            check_range(dist, "delay_months")
        return dist

    @model_validator(mode="after")
    def _consistent(self):
        for i, tranche in enumerate(self.tranches):
            if tranche.month >= self.term_months:
                raise ValueError(
                    f"tranches[{i}].month {tranche.month:g} is at or after the term end "
                    f"(term_months {self.term_months:g}); the term must end after deliveries start"
                )
        if (
            self.kind == "reserved"
            and self.total_value_usd is None
            and self.rate_usd_per_gpu_hour is None
        ):
            raise ValueError("a reserved deal needs total_value_usd or rate_usd_per_gpu_hour")
        if self.kind == "reserved" and self.rate_usd_per_gpu_hour is None:
            implied = self.total_value_usd / self.available_accelerator_hours()
            if implied < MIN_PRICE_USD_PER_HOUR:
                raise ValueError(
                    f"total_value_usd {self.total_value_usd:g} over the tranches' "
                    f"{self.available_accelerator_hours():.3g} accelerator-hours is "
                    f"{implied:.3g} USD per accelerator-hour, below {MIN_PRICE_USD_PER_HOUR:g} "
                    "(check the value's unit: USD, not millions, and the tranches' counts)"
                )
            if implied > MAX_PRICE_USD_PER_HOUR:
                raise ValueError(
                    f"total_value_usd {self.total_value_usd:g} over the tranches' "
                    f"{self.available_accelerator_hours():.3g} "
                    f"accelerator-hours is {implied:,.0f} USD per accelerator-hour, above "
                    f"{MAX_PRICE_USD_PER_HOUR:,g} "
                    "(check the value's unit and the tranches' counts)"
                )
        if self.kind == "on_demand" and self.rate_usd_per_gpu_hour is None:
            raise ValueError("an on_demand deal needs rate_usd_per_gpu_hour")
        if self.power_delay_months is not None and self.power_cap_mw is None:
            raise ValueError("power_delay_months is set but power_cap_mw is not")
        if not self.racing and not self.not_racing_because.strip():
            raise ValueError(
                "racing is false, so not_racing_because must say why (terms too thin, ...)"
            )
        present = {f for f in CLAIM_FIELDS if getattr(self, f) is not None}
        both = set(self.sourced) & set(self.assumptions)
        if both:
            raise ValueError(f"{sorted(both)} listed both in sourced and assumptions; pick one")
        for name in list(self.sourced) + list(self.assumptions):
            if name not in type(self).model_fields:
                raise ValueError(f"{name!r} in sourced/assumptions is not a deal field")
        uncovered = sorted(present - set(self.sourced) - set(self.assumptions))
        # A delay of exactly zero is no claim (already online); anything else must be covered.
        if "delay_months" in uncovered and self.delay_months == Fixed(value=0.0):
            uncovered.remove("delay_months")
        if uncovered:
            raise ValueError(
                f"{', '.join(uncovered)} must be listed in `sourced` or explained under "
                "`assumptions` ('assumption: why')"
            )
        for name, why in self.assumptions.items():
            if not why.strip().lower().startswith("assumption"):
                raise ValueError(f"assumptions.{name} must start with 'assumption:' and say why")
        return self

    def date_problem(self) -> tuple[str, str] | None:
        """(field, message) when the deal's dates contradict each other, else None.

        A start before the announcement needs `assumptions.start` (an existing fleet, say); an
        as_of date before the announcement cannot be. The catalog loader turns this into an error
        naming the file, the deal and the field.
        """
        announced = _DATE.match(self.announced.strip()) if self.announced else None
        if announced is None:
            return None
        if (
            self.start_index < date_month_index(announced.group(0))
            and "start" not in self.assumptions
        ):
            return (
                "start",
                f"start {self.start} precedes the announcement ({self.announced}); capacity "
                "online before a deal was announced needs assumptions.start: 'assumption: why'",
            )
        if self.as_of is not None and self.as_of < announced.group(0):
            return ("as_of", f"as_of {self.as_of} is before the announcement ({self.announced})")
        return None

    @property
    def campus_id(self) -> str:
        return self.campus or self.id

    @property
    def start_index(self) -> int:
        return month_index(self.start)

    @property
    def total_accelerators(self) -> float:
        return float(sum(t.accelerators for t in self.tranches))

    def available_accelerator_hours(self) -> float:
        """Accelerator-hours delivered over the whole term (no delay), for implied contract
        rates."""
        months = sum(t.accelerators * (self.term_months - t.month) for t in self.tranches)
        return months * K.HOURS_PER_MONTH

"""Bounds on inputs, the precisions, and the distribution arithmetic and checks that need no
pydantic.

`specs` (the pydantic models) re-exports the bounds and the draw and seed checks; they live here so
that the `estimate` command can check its flags and describe its distributions without importing
pydantic (about 0.15 s).
"""

from __future__ import annotations

import math
from statistics import NormalDist

from ..constants import MAX_DRAWS
from ..errors import InputError

PRECISIONS = ("bf16", "fp8")

#: z such that P(Z <= z) = 0.9 for a standard normal: turns a p10/p90 pair into a log-normal sigma.
Z90 = NormalDist().inv_cdf(0.9)

# ---------------------------------------------------------------------------------------------
# Physical and numeric bounds (README "Limits"): beyond them a result would be absurd, or not
# finite once the kernels work in float32 (largest float32: about 3.4e38).
# ---------------------------------------------------------------------------------------------

#: Largest training compute accepted (FLOP): about a million times the largest runs of 2025
#: (~5e26); keeps FLOP, hours, energy and cost finite in float32.
MAX_TRAINING_FLOP = 1e32
#: Smallest training compute accepted (FLOP): a petaFLOP, about one second of one current
#: accelerator at peak and a millionth of the smallest run in data/training_runs.csv (3e21). Below
#: it the hours, energy and cost are fractions of a second, a watt-hour and a cent: most often a
#: size typed in billions (--params 7 for 7e9).
MIN_TRAINING_FLOP = 1e15
#: Smallest MFU accepted (--mfu, an implied MFU, a scenario's mfu): 0.1% of peak, fifty times below
#: the lowest effective utilization any run in data/training_runs.csv implies (about 5%). Below it
#: the hours grow without bound (an MFU of 1e-300 gave 1e304 accelerator-hours).
MIN_MFU = 1e-3
#: Smallest goodput accepted (--goodput, a scenario's goodput): 1% of wall-clock time useful; runs
#: report 85-97% (constants.GOODPUT_TRIANGULAR).
MIN_GOODPUT = 1e-2
#: Largest deal multiplier in a scenario (scale, power_cap_scale): a thousand times the deal.
MAX_DEAL_SCALE = 1e3
#: Largest price per accelerator-hour (USD): a thousand times any published rental rate.
MAX_PRICE_USD_PER_HOUR = 1e4
#: Largest cluster size (--accelerators).
MAX_ACCELERATORS = 100_000_000
#: Largest accelerator-hours (--gpu-hours): keeps energy and cost finite in float32.
MAX_GPU_HOURS = 1e15
#: Longest deal term and latest tranche or power step (months): 50 years, the longest scenario
#: horizon.
MAX_TERM_MONTHS = 600.0
#: Largest deal value (USD): 10 trillion, over 30 times the largest compute contract reported by
#: 2026 (~$300B) - a value typed in cents or thousands is caught.
MAX_DEAL_VALUE_USD = 1e13
#: Largest campus power cap (MW): 100 GW, about 20 times the largest campus plans (~5 GW).
MAX_CAMPUS_MW = 1e5
#: Facility PUE range (power usage effectiveness): 1 is the physical floor (no overhead); 3 is
#: above the worst data centres surveyed (Uptime Institute: industry average ~1.6).
PUE_MIN, PUE_MAX = 1.0, 3.0
#: Largest seed: the int64 range, so a seed survives NumPy, pandas and Parquet columns exactly.
MAX_SEED = 2**63 - 1


class Range:
    """What one numeric flag (or batch column) accepts: [low, high], or (low, high] when `low_open`;
    whole numbers only when `integer`; `allowed` says it in words for the error message."""

    def __init__(
        self,
        low: float,
        high: float,
        allowed: str,
        *,
        low_open: bool = False,
        integer: bool = False,
    ):
        self.low, self.high, self.allowed, self.low_open, self.integer = (
            low,
            high,
            allowed,
            low_open,
            integer,
        )

    def contains(self, value):
        """True where `value` (a number or an array) is accepted; NaN and infinities are not."""
        if isinstance(
            value, float
        ):  # one flag: plain Python (NumPy's machinery costs ~20 us a call)
            return (
                math.isfinite(value)
                and (value > self.low if self.low_open else value >= self.low)
                and value <= self.high
                and (not self.integer or value == round(value))
            )
        import numpy as np

        value = np.asarray(value, dtype=np.float64)
        with np.errstate(invalid="ignore"):
            ok = (
                np.isfinite(value)
                & ((value > self.low) if self.low_open else (value >= self.low))
                & (value <= self.high)
            )
            if self.integer:
                ok &= value == np.round(value)
        return ok


_POSITIVE = Range(0.0, math.inf, "a positive finite number", low_open=True)
#: The numeric flags of `estimate`, which are also the numeric columns of `estimate --batch`: one
#: source for what each accepts (README "Limits on inputs").
FLAG_RANGES = {
    "params": _POSITIVE,
    "active_params": _POSITIVE,
    "tokens": _POSITIVE,
    "flop": Range(
        MIN_TRAINING_FLOP,
        MAX_TRAINING_FLOP,
        f"a number of FLOP from {MIN_TRAINING_FLOP:g} to {MAX_TRAINING_FLOP:g}",
    ),
    "accelerators": Range(
        1, MAX_ACCELERATORS, f"a whole number from 1 to {MAX_ACCELERATORS:,}", integer=True
    ),
    "mfu": Range(MIN_MFU, 1.0, f"a number from {MIN_MFU:g} to 1"),
    "goodput": Range(MIN_GOODPUT, 1.0, f"a number from {MIN_GOODPUT:g} to 1"),
    "gpu_hours": Range(
        0.0, MAX_GPU_HOURS, f"a positive number up to {MAX_GPU_HOURS:g}", low_open=True
    ),
    "pue": Range(PUE_MIN, PUE_MAX, f"a number in [{PUE_MIN:g}, {PUE_MAX:g}]"),
    "price_per_hour": Range(
        0.0,
        MAX_PRICE_USD_PER_HOUR,
        f"a positive number of USD up to {MAX_PRICE_USD_PER_HOUR:,g}",
        low_open=True,
    ),
}


def check_training_flop(training_flop: float, where: str = "--params/--tokens") -> None:
    """6 N D within [MIN_TRAINING_FLOP, MAX_TRAINING_FLOP] (InputError naming `where` otherwise)."""
    if not MIN_TRAINING_FLOP <= training_flop <= MAX_TRAINING_FLOP:
        raise InputError(
            f"{where}: 6 x N x D = {training_flop:.3g} FLOP; allowed from {MIN_TRAINING_FLOP:g} to "
            f"{MAX_TRAINING_FLOP:g} (check the units: counts, not thousands or billions)"
        )


def parse_whole(value) -> int | None:
    """The one reading of a whole number, for every count and seed a user gives (flags, function
    arguments, CSV cells, notebook parameters, sweep files); None when `value` is not one.

    A whole number is an int or NumPy integer (exact), a finite float with no fraction (papermill
    reads ``-p draws 2e4`` as 20000.0), or text spelling either (``"20000"``, ``" 20_000 "``,
    ``"2e4"``: flags arrive as text). Integer text is read exactly, never through a float, so seeds
    above 2**53 stay distinct. Booleans are not numbers (``True`` is not 1), nor are fractions, NaN,
    infinities or any other type.
    """
    import numbers

    if isinstance(value, bool):
        return None
    if isinstance(value, numbers.Integral):
        return int(value)
    if isinstance(value, str):
        text = value.strip().replace("_", "")
        try:
            return int(text)
        except ValueError:
            try:
                value = float(text)
            except ValueError:
                return None
    if isinstance(value, numbers.Real):
        number = float(value)
        if math.isfinite(number) and number.is_integer():
            return int(number)
    return None


def check_whole(value, name: str, low: int, high: int) -> int:
    """`value` read by `parse_whole` and within [`low`, `high`], as an int; else InputError naming
    `name`: "NAME: expected a whole number from LOW to HIGH, got VALUE"."""
    number = parse_whole(value)
    if number is None or not low <= number <= high:
        raise InputError(f"{name}: expected a whole number from {low:,} to {high:,}, got {value!r}")
    return number


def check_draws(value, name: str = "--draws") -> int:
    """A draw count from 1 to MAX_DRAWS (InputError naming `name` otherwise)."""
    return check_whole(value, name, 1, MAX_DRAWS)


def check_seed(value, name: str = "--seed") -> int:
    """A seed from 0 to MAX_SEED (InputError naming `name` otherwise)."""
    return check_whole(value, name, 0, MAX_SEED)


def lognormal_mu_sigma(p10: float, p90: float) -> tuple[float, float]:
    """mu and sigma of log x for a log-normal with these 10th and 90th percentiles."""
    return 0.5 * (math.log(p10) + math.log(p90)), (math.log(p90) - math.log(p10)) / (2.0 * Z90)


def describe_dist(kind: str, fields: dict[str, float]) -> str:
    """A distribution in words: ``triangular(low=0.85, mode=0.92, high=0.97)``."""
    return f"{kind}({', '.join(f'{k}={v:.4g}' for k, v in fields.items())})"


def check_implied_mfu(
    training_flop: float, gpu_hours: float, peak_flop_per_s: float, goodput
) -> None:
    """--gpu-hours: the MFU they imply must lie in [MIN_MFU, 1] in every draw (else a units
    slip)."""
    import numpy as np

    lowest_goodput, highest_goodput = float(np.min(goodput)), float(np.max(goodput))
    utilization = training_flop / (gpu_hours * 3600.0 * peak_flop_per_s)
    highest = utilization / lowest_goodput
    if not (math.isfinite(highest) and 0 < highest <= 1.0):
        raise InputError(
            f"--gpu-hours: {gpu_hours:g} accelerator-hours imply an MFU of up to {highest:,.4g} "
            "(at goodput "
            f"{lowest_goodput:.2f}); MFU is at most 1. Give accelerator-hours (not thousands or "
            "millions), "
            "or fix --goodput"
        )
    lowest = utilization / highest_goodput
    if not lowest >= MIN_MFU:
        raise InputError(
            f"--gpu-hours: {gpu_hours:g} accelerator-hours imply an MFU as low as {lowest:.3g} (at "
            "goodput "
            f"{highest_goodput:.2f}); MFU is at least {MIN_MFU:g}. Give accelerator-hours (not "
            "seconds), "
            "or check the model size"
        )

"""Bounds on inputs, the precisions, and the distribution arithmetic that needs no pydantic.

`specs` (the pydantic models) re-exports all of these; they live here so that the `estimate` command
can check its flags and describe its distributions without importing pydantic (about 0.15 s).
"""

from __future__ import annotations

import math
from statistics import NormalDist

from .constants import MAX_DRAWS
from .errors import InputError

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
#: Largest deal multiplier in a scenario (scale, power_cap_scale): a thousand times the deal.
MAX_DEAL_SCALE = 1e3
#: Largest price per accelerator-hour (USD): a thousand times any published rental rate.
MAX_PRICE_USD_PER_HOUR = 1e4
#: Largest cluster size (--accelerators).
MAX_ACCELERATORS = 100_000_000
#: Largest accelerator-hours (--gpu-hours): keeps energy and cost finite in float32.
MAX_GPU_HOURS = 1e15
#: Facility PUE range (power usage effectiveness): 1 is the physical floor (no overhead); 3 is
#: above the worst data centres surveyed (Uptime Institute: industry average ~1.6).
PUE_MIN, PUE_MAX = 1.0, 3.0
#: Largest seed: the int64 range, so a seed survives NumPy, pandas and Parquet columns exactly.
MAX_SEED = 2**63 - 1


def _is_whole(value) -> bool:
    import numbers

    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


def check_draws(value, name: str = "--draws") -> int:
    """A draw count from 1 to MAX_DRAWS (InputError naming `name` otherwise)."""
    if not _is_whole(value) or not 1 <= value <= MAX_DRAWS:
        raise InputError(f"{name}: expected a whole number from 1 to {MAX_DRAWS:,}, got {value!r}")
    return int(value)


def check_seed(value, name: str = "--seed") -> int:
    """A seed from 0 to MAX_SEED (InputError naming `name` otherwise)."""
    if not _is_whole(value) or not 0 <= value <= MAX_SEED:
        raise InputError(f"{name}: expected a whole number from 0 to {MAX_SEED:,} (2**63 - 1), got {value!r}")
    return int(value)


def lognormal_mu_sigma(p10: float, p90: float) -> tuple[float, float]:
    """mu and sigma of log x for a log-normal with these 10th and 90th percentiles."""
    return 0.5 * (math.log(p10) + math.log(p90)), (math.log(p90) - math.log(p10)) / (2.0 * Z90)


def describe_dist(kind: str, fields: dict[str, float]) -> str:
    """A distribution in words: ``triangular(low=0.85, mode=0.92, high=0.97)``."""
    return f"{kind}({', '.join(f'{k}={v:.4g}' for k, v in fields.items())})"

"""Bounds on inputs, the precisions, and the distribution arithmetic and checks that need no
pydantic.

`specs` (the pydantic models) re-exports the bounds and the draw and seed checks; they live here so
that the `estimate` command can check its flags and describe its distributions without importing
pydantic (about 0.15 s).
"""

from __future__ import annotations

import math
from statistics import NormalDist

from ..constants import MAX_BUDGET_MONTHS, MAX_DRAWS
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
#: Parameter counts accepted (--params, --active-params, the parameter columns of data/): from a
#: million, about 300 times below the smallest run in data/training_runs.csv (2.7e8), so a size
#: typed in billions (--params 405 for 405e9 answered 0.18 accelerator-hours) is caught, to 1e15,
#: about 500 times the largest models of 2026 (~2e12).
MIN_PARAMS, MAX_PARAMS = 1e6, 1e15
#: Token counts accepted (--tokens, the token columns of data/): from a million, 1e5 times below the
#: smallest run in data/training_runs.csv (1.5e11), to 1e16, 250 times the largest reported (4e13).
MIN_TOKENS, MAX_TOKENS = 1e6, 1e16
#: Smallest price per accelerator-hour (USD), given (--price-per-hour, a deal's rate) or implied (a
#: reserved deal's value over its accelerator-hours): a cent, a hundred times below the cheapest
#: rate the data hold (1.20, a V100) and five below the cheapest a chip's sheet may give (0.05).
#: Below it a cost is a typing slip: --price-per-hour 1e-300 cost 1e-293 USD, and a contract value
#: typed in millions priced a 2.4e25-FLOP run at $28.90.
MIN_PRICE_USD_PER_HOUR = 0.01
#: Smallest deal value (USD): a million, four hundred times below the smallest in data/deals.yaml
#: (4.8e8); a value typed in millions or billions (14200 for 14.2e9) is caught.
MIN_DEAL_VALUE_USD = 1e6
#: Longest delay of a deal's deliveries or of a campus's grid connection (months): the longest
#: horizon, 50 years (beyond it a delay only means "never", which no distribution should assert).
MAX_DELAY_MONTHS = MAX_TERM_MONTHS
#: Fewest calibration rows (role calibration) in data/training_runs.csv: the MFU prior's pooled fit
#: has an intercept and a size slope and needs three residual degrees of freedom beyond them
#: (analysis/model/calibration.py fit_prior), so five runs.
MIN_CALIBRATION_ROWS = 5
#: Share of draws allowed to put an MFU from the calibrated prior above 1 (where it is clipped):
#: the prior's tail at default goodput reaches it in at most ~6% of draws (gb200 at 1e12 active
#: parameters). More than this and the answer is MFU 100% in most draws: `--goodput 0.01` with the
#: prior, which already includes goodput, reported MFU 1.0 in every draw.
MAX_CLIPPED_MFU_SHARE = 0.1
#: Tails at which an unbounded distribution (a log-normal) is checked against its plausible range:
#: the 0.01st and 99.99th percentiles.
RANGE_TAIL = 1e-4


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

    def describe(self) -> str:
        """The interval in symbols: ``[1, 3]`` or ``(0, 1]``."""
        return f"{'(' if self.low_open else '['}{self.low:g}, {self.high:g}]"


PARAMS = Range(
    MIN_PARAMS,
    MAX_PARAMS,
    f"a parameter count from {MIN_PARAMS:g} to {MAX_PARAMS:g} (a count, not billions: 405e9)",
)
TOKENS = Range(
    MIN_TOKENS,
    MAX_TOKENS,
    f"a token count from {MIN_TOKENS:g} to {MAX_TOKENS:g} (a count, not trillions: 15.6e12)",
)
#: The numeric flags of `estimate`, which are also the numeric columns of `estimate --batch`: one
#: source for what each accepts (docs/cli.md "Input limits").
FLAG_RANGES = {
    "params": PARAMS,
    "active_params": PARAMS,
    "tokens": TOKENS,
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
        MIN_PRICE_USD_PER_HOUR,
        MAX_PRICE_USD_PER_HOUR,
        f"a number of USD from {MIN_PRICE_USD_PER_HOUR:g} to {MAX_PRICE_USD_PER_HOUR:,g}",
    ),
}

#: Where each key of a scenario's `uncertainty` (and a competitor's own mfu, goodput and share, and
#: a deal's delays) may put its draws; a distribution reaching outside is refused at load, naming
#: the key (scenarios/README.md). Bounded distributions are checked on their support, a log-normal
#: at its RANGE_TAIL percentiles. Each range is wide enough for any reported figure and narrow
#: enough to catch a unit slip or a typed exponent (fp8_gain 1000 gave 150 times the FP8 peak).
UNCERTAINTY_RANGES = {
    "mfu": Range(MIN_MFU, 1.0, "MFU, a fraction of peak"),
    "goodput": Range(MIN_GOODPUT, 1.0, "goodput, a fraction of wall-clock time"),
    #: A tenth to ten times a chip's or a contract's price: reported discounts and spot premiums are
    #: within about -60%/+100% (constants.PRICE_FACTOR_P10_P90 and its source).
    "price_factor": Range(0.1, 10.0, "a factor on the hourly price"),
    #: Site PUE plus pue_delta must stay within [PUE_MIN, PUE_MAX] (also checked per site at load).
    "pue_delta": Range(PUE_MIN - PUE_MAX, PUE_MAX - PUE_MIN, "added to a site's PUE"),
    #: One to fifteen years: frontier labs replace accelerators after one or two generations,
    #: hyperscalers state 5-6 year server lives, and a building (FACILITY_LIFE_YEARS) lasts 15.
    "hardware_life_years": Range(1.0, 15.0, "years of straight-line life"),
    #: 1 to 100 M USD per MW of IT load: a tenth of a standard data centre (10-12 M) to four times
    #: an AI-optimized hall (>20 M; constants.BUILD_COST_USD_PER_MW_UNIFORM and its source).
    "build_cost_usd_per_mw": Range(1e6, 1e8, "USD per MW of IT load"),
    #: FP8 throughput over BF16 on the same chip: from none (1) to the peak sheets' 2x, which a
    #: whole training step never reaches (constants.FP8_GAIN_TRIANGULAR).
    "fp8_gain": Range(1.0, 2.0, "a realized FP8 speed-up over BF16"),
    "share": Range(0.0, 1.0, "a share of a campus's accelerators", low_open=True),
    "delay_months": Range(0.0, MAX_DELAY_MONTHS, "months of delay"),
    #: A run's wall-clock budget (issue 21): the record is 48-180 days; longer than three years has
    #: no precedent (draws beyond are clipped to MAX_BUDGET_MONTHS, the planned trend to
    #: constants.MAX_PLANNED_RUN_MONTHS).
    "budget_months": Range(0.0, MAX_BUDGET_MONTHS, "months of wall-clock budget", low_open=True),
    #: Growth of run lengths a year: Epoch AI measures 1.3-1.5x; shrinking or growing more than
    #: 4x a year has no precedent.
    "budget_growth_per_year": Range(0.25, 4.0, "a factor a year"),
    #: Pre-training end to release: weeks to a few months on record; ten years bounds any reading.
    "release_lag_months": Range(0.0, 120.0, "months from pre-training end to release"),
    #: Ho et al. 2024: 95% CI about 5-14 months; 1 to 600 months bounds any plausible reading.
    "algorithmic_halving_months": Range(1.0, 600.0, "months per halving of the compute needed"),
}

#: What every numeric column of data/ accepts, as "<file stem>.<column>" (data/README.md): a
#: physically plausible range for each, so that a unit slip in a data file is refused at load
#: naming the file, line and field instead of entering every result. `inputs.specs` builds the
#: data models' fields from it.
COLUMN_RANGES = {
    # accelerators.csv
    "accelerators.year": Range(2010, 2035, "a year", integer=True),
    "accelerators.peak_bf16_flop_per_s": Range(1e12, 1e17, "FLOP/s", low_open=True),
    "accelerators.peak_fp8_flop_per_s": Range(1e12, 1e17, "FLOP/s", low_open=True),
    #: 1 GB to 10 TB of memory per accelerator (the largest of 2026 hold ~0.4 TB).
    "accelerators.memory_gb": Range(1.0, 1e4, "GB"),
    "accelerators.memory_bandwidth_tb_per_s": Range(0.01, 100.0, "TB/s", low_open=True),
    "accelerators.tdp_w": Range(10.0, 5000.0, "W", low_open=True),
    "accelerators.server_power_multiplier": Range(1.0, 5.0, "a factor"),
    "accelerators.server_power_fraction": Range(0.0, 1.0, "a fraction", low_open=True),
    #: Plausible prices catch one typed in the wrong unit (cents, thousands); per 8-GPU server hour
    #: is still allowed: the most expensive on-demand 8-GPU instance is ~100 USD/h.
    "accelerators.purchase_price_usd": Range(100.0, 1e6, "USD"),
    "accelerators.rental_usd_per_hour": Range(0.05, 100.0, "USD per accelerator-hour"),
    # sites.csv: industrial power costs about 30-300 USD/MWh; lignite, the dirtiest grid fuel, about
    # 1,100 g/kWh
    "sites.pue": Range(PUE_MIN, PUE_MAX, "PUE"),
    "sites.electricity_usd_per_mwh": Range(0.0, 2000.0, "USD/MWh", low_open=True),
    "sites.grid_gco2_per_kwh": Range(0.0, 1500.0, "gCO2/kWh"),
    # training_runs.csv
    "training_runs.year": Range(2015, 2035, "a year", integer=True),
    "training_runs.total_params": PARAMS,
    "training_runs.active_params": PARAMS,
    "training_runs.training_tokens": TOKENS,
    "training_runs.training_flop": Range(MIN_TRAINING_FLOP, MAX_TRAINING_FLOP, "FLOP"),
    "training_runs.n_accelerators": Range(
        0, MAX_ACCELERATORS, "accelerators", low_open=True, integer=True
    ),
    "training_runs.gpu_hours": Range(0.0, MAX_GPU_HOURS, "accelerator-hours", low_open=True),
    "training_runs.hours_tokens": TOKENS,
    "training_runs.mfu_reported": Range(MIN_MFU, 1.0, "MFU"),
    #: Up to 100 TWh, a small country's yearly use (the largest published run: ~2e4 MWh).
    "training_runs.energy_mwh": Range(0.0, 1e8, "MWh", low_open=True),
    "training_runs.pue": Range(PUE_MIN, PUE_MAX, "PUE"),
    "training_runs.power_mw": Range(0.0, MAX_CAMPUS_MW, "MW", low_open=True),
    # models.csv
    "models.active_params_p10": PARAMS,
    "models.active_params_p90": PARAMS,
    "models.total_params": PARAMS,
    "models.tokens_p10": TOKENS,
    "models.tokens_p90": TOKENS,
    # deals.yaml (a deal's delays are distributions: UNCERTAINTY_RANGES["delay_months"])
    "deals.term_months": Range(0.0, MAX_TERM_MONTHS, "months", low_open=True),
    "deals.total_value_usd": Range(MIN_DEAL_VALUE_USD, MAX_DEAL_VALUE_USD, "USD"),
    "deals.rate_usd_per_gpu_hour": Range(
        MIN_PRICE_USD_PER_HOUR, MAX_PRICE_USD_PER_HOUR, "USD per accelerator-hour"
    ),
    "deals.pue": Range(PUE_MIN, PUE_MAX, "PUE"),
    "deals.tranches.month": Range(0.0, MAX_TERM_MONTHS, "months"),
    "deals.tranches.accelerators": Range(0.0, MAX_ACCELERATORS, "accelerators", low_open=True),
    "deals.power_cap_mw.month": Range(0.0, MAX_TERM_MONTHS, "months"),
    "deals.power_cap_mw.mw": Range(0.0, MAX_CAMPUS_MW, "MW"),
}


def check_prior_mfu(
    mfu_draws, utilization: str, *, flag: str, goodput_given: bool, fp8: bool, utilization_draws
) -> None:
    """MFU from the calibrated prior, before it is clipped to 1: refused when more than
    MAX_CLIPPED_MFU_SHARE of the draws exceed 1 (InputError naming `flag`).

    `utilization`: the prior's effective utilization in words; `utilization_draws`: its draws
    (times the FP8 factor), whose quantile is the goodput at which no more than that share would
    exceed 1 (computed only for the message)."""
    import numpy as np

    share = float(np.count_nonzero(mfu_draws > 1.0)) / max(len(mfu_draws), 1)
    if share <= MAX_CLIPPED_MFU_SHARE:
        return
    needed_goodput = float(np.quantile(utilization_draws, 1.0 - MAX_CLIPPED_MFU_SHARE))
    gain = " x FP8 gain / FP8-to-BF16 peak ratio" if fp8 else ""
    if goodput_given:
        fix = f"give a goodput of at least {needed_goodput:.2g}, or fix the MFU (--mfu)"
    else:
        fix = (
            "fix the MFU (--mfu; the prior is extrapolated beyond the published runs it was "
            "fitted on)"
        )
    raise InputError(
        f"{flag}: with the calibrated prior (effective utilization {utilization}, which already "
        f"includes goodput), MFU = utilization / goodput{gain} exceeds 1 in {share:.0%} of "
        f"draws (at most {MAX_CLIPPED_MFU_SHARE:.0%} allowed; MFU is at most 1): {fix}"
    )


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

"""The utilization prior, fitted on the calibration runs in data/training_runs.csv.

What a published run pins down
------------------------------
A run's reported accelerator-hours H and the model FLOP C those hours cover give its *effective*
utilization ``u = C / (H x 3600 x peak)``: MFU times goodput, and also divided by any work the
hours cover beyond C. ``C`` is the model FLOP 6·N_active·D of the tokens the hours cover
(``TrainingRun.hours_flop``), or the authors' figure when N or D is unknown. ``peak`` is the chip's
BF16 dense peak for every run; FP8 runs are divided by the geometric mean of the assumed FP8 gain
(``constants.FP8_GAIN_TRIANGULAR``, about 1.21) so that the fitted quantity is a BF16-equivalent
utilization and ``estimate``/``simulate`` put the same gain back when they draw for an FP8 run.
Which rows calibrate is the calibration rule of data/README.md, enforced when the file is loaded
(``TrainingRun.calibration_rule_violation``): compute that does not come from the run's own
hardware time, accelerator and hours reported, pre-training of a language model.

Goodput (failures, restarts, checkpoints) is inside every run's hours, so it is part of ``u``; for a
new run an MFU draw is ``u / goodput``, and the hours, which depend on MFU x goodput, follow ``u``.

The model
---------
``log u = b0 [+ b1 x (log10 N_active - 11)] [+ a_g] + e``:

- the pooled centre ``b0`` (and the size slope ``b1`` when used) by robust regression
  (statsmodels ``RLM``, Huber's T norm), so a few runs whose hours include more than one pass
  (Llama 3 8B) or whose figures conflict do not drag the centre;
- ``a_g`` an offset per accelerator generation (``Accelerator.family``: volta, ampere, hopper,
  tpu, ...), partially pooled by empirical Bayes: the mean robust residual of the generation is
  shrunk toward 0 by ``tau^2 / (tau^2 + s^2 / n_g)``, with ``tau^2`` the between-generation variance
  (DerSimonian-Laird random-effects estimate, statsmodels ``combine_effects``) and ``n_g`` the
  generation's runs. A generation with few runs stays near the
  pooled centre; one with none (Blackwell, MI300X, Trainium) is predicted at the centre with the
  between-generation variance added to its spread;
- ``e`` Student-t with 4 degrees of freedom (``DOF``), its scale fitted to the residuals by maximum
  likelihood, so outlying runs widen the tails rather than the body.

Hours that bound the clean pass from above
------------------------------------------
A row's ``hours_bound`` says whether its hours measure the clean pass or bound it from above; the
*censored* form (flag ``"censored"`` beside the features) reads an upper bound as "utilization at
least the implied value" (``analysis.model.censored``). Without the flag every row is a point.

Generations without calibration runs
------------------------------------
Where a run's generation has no calibration run (Blackwell, MI300X, MI250X, Trainium, Ascend), the
pooled centre is moved toward the naive rule's (MFU ``NAIVE_MFU``) by inverse-variance weights, a
forecast combination: the prior's variance there (residual plus the between-generation tau^2)
against the naive rule's mean squared log error on the fitted runs (about a third of the way, on
today's data). The spread stays the prior's. Held out by generation, this moved the A100 runs'
MdAPE from 55% to 36% (naive 27%) for H100's 26% to 36% (naive 48%), with the same log score on
the exact runs and a better one on the bounded ones (notebook 30_backtest); a generation with runs
keeps its own offset (blending those too is the ``"blend"`` candidate below).

The flag ``"nested"`` chooses the weight from the data instead, as an unseen generation is met:
each fitted generation is left out in turn and its runs scored at weights 0, 0.05, ..., 1 by the
form's own likelihood (`choose_naive_weight`). It is a candidate of the backtest, not the default:
with Ampere held out the generations left (Hopper, TPU, Volta) choose weight 0, so the A100 runs
lose more to the naive rule (55% against 27%), and its log score on the exact runs is worse. The
flag ``"blend"`` combines every generation's centre with the naive one the same way, with the
offset's posterior variance in place of tau^2; it ties the default on the exact runs' log score
(a lead of 0.005, one standard error 0.033), so the default stands (``backtest.SWITCH_SE``).

The predictive interval adds the parameter uncertainty (the RLM covariance, the generation
offset's posterior variance) to the residual scale. It is exposed as a log-normal with the
Student-t predictive's P10 and P90, so the P10-P90 interval of a draw is that interval.

Which terms are used is chosen by grouped cross-validation in ``analysis.backtest``
(leave one organization out, leave one accelerator generation out, predict each year from the
years before it), never by single left-out runs: see ``FEATURES`` and data/README.md.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace

import numpy as np

from .. import constants as K
from .. import paths
from ..constants import SECONDS_PER_HOUR
from ..errors import InputError
from ..inputs.catalog import Catalog
from ..inputs.specs import FIT_SCOPES, THIRD_PARTY_CONFIDENCE, Z90, LogNormal, Triangular
from . import censored

__all__ = [
    "FIT_SCOPES",
    "KNOWN_FEATURES",
    "FEATURES",
    "CalibrationPoint",
    "UtilizationPrior",
    "calibration_points",
    "fit_prior",
    "bound_slack",
    "default_prior",
    "generation_of",
    "chip_sheet",
    "choose_naive_weight",
]

#: Rows whose figures are a third party's estimates never calibrate (also enforced at load).
EXCLUDED_CONFIDENCE = (THIRD_PARTY_CONFIDENCE,)
#: Centre of the size feature (log10 of 1e11 active parameters), so the intercept means something.
SIZE_CENTRE_LOG10 = 11.0
#: Centre of the bandwidth feature: log10 of 10^-2.5 (about 3.2e-3) memory bytes per BF16 FLOP at
#: peak, between A100 (5-6.5e-3) and H100 (3.4e-3).
BANDWIDTH_CENTRE_LOG10 = -2.5
#: Terms a prior may use: "size" is log10(active params) - 11; "bandwidth" is log10(memory bytes per
#: BF16 FLOP at peak, from the chip sheet) + 2.5, a feature of the accelerator known before any run
#: on it; "generation" is a partially pooled offset per accelerator generation.
KNOWN_FEATURES = ("size", "bandwidth", "generation")
#: Form flags a feature tuple may also carry: "censored" fits upper-bound rows as "utilization at
#: least the implied value" (a censored Student-t likelihood) and exact rows as points; "nested"
#: chooses the naive centre's weight for an unseen generation by leaving out each fitted generation
#: in turn (`choose_naive_weight`), where the default is the inverse-variance rule; "blend" combines
#: every generation's centre with the naive one by inverse variance, not only an unseen one's.
FORM_FLAGS = ("censored", "nested", "blend")
#: The naive rule the backtest compares with: 6·N·D at this MFU of the dense peak, no goodput; a
#: generation without calibration runs has its centre moved toward it.
NAIVE_MFU = 0.40
#: The default terms, chosen by grouped cross-validation (analysis.backtest, notebook 30_backtest).
FEATURES: tuple[str, ...] = ("size", "generation")
#: Degrees of freedom of the Student-t residuals: 4, the robust default of Lange, Little & Taylor
#: (1989, JASA 84:881). Fitting it per fold was tried: with 30-40 runs the estimate swings between
#: 3 and 30 from one fold to the next, and it cost 90% of the backtest's time.
DOF = 4.0


def _fp8_log_gain_mean() -> float:
    """E[log gain] of the assumed FP8 gain distribution (midpoint rule on its quantile function)."""
    gain = Triangular(**dict(zip(("low", "mode", "high"), K.FP8_GAIN_TRIANGULAR)))
    grid = (np.arange(4096) + 0.5) / 4096
    return float(np.mean(np.log(gain.ppf(grid))))


#: Mean log of the FP8 gain: an FP8 run's utilization is divided by exp(this) before fitting.
FP8_LOG_GAIN_MEAN = _fp8_log_gain_mean()


def generation_of(catalog: Catalog, accelerator: str | None) -> str | None:
    """The accelerator generation (its family in data/accelerators.csv); None when unknown."""
    chip = catalog.accelerators.get(accelerator) if accelerator is not None else None
    return chip.family if chip is not None else None


@dataclass(frozen=True)
class CalibrationPoint:
    run_id: str
    accelerator: str
    precision: str
    active_params: float | None
    #: Model FLOP the reported hours cover (6 N_active D of those tokens, else the reported FLOP).
    flop: float
    gpu_hours: float
    scope: str
    #: Effective utilization against the BF16 dense peak: C / (hours x 3600 x peak_bf16).
    utilization: float
    peak_bf16_flop_per_s: float = math.nan
    organization: str = ""
    year: int = 0
    generation: str = ""
    #: Memory bytes per BF16 FLOP at peak of the run's accelerator (None when its sheet has no
    #: bandwidth).
    bytes_per_flop: float | None = None
    #: "exact" (the hours measure the clean pass) or "upper" (they bound it from above).
    hours_bound: str = "exact"

    @property
    def bf16_utilization(self) -> float:
        """Utilization with the assumed FP8 gain divided out: what the prior is fitted on."""
        if self.precision == "fp8":
            return self.utilization / math.exp(FP8_LOG_GAIN_MEAN)
        return self.utilization


def calibration_points(catalog: Catalog, *, scopes=FIT_SCOPES) -> list[CalibrationPoint]:
    """The ``calibration`` rows of data/training_runs.csv (hours of one of `scopes`).

    With ``scopes=("upper_bound",)`` it returns the check rows whose hours are an upper bound (for
    the backtest's bound check) instead.
    """
    points = []
    for run in catalog.training_runs.values():
        flop = run.hours_flop
        if flop is None or run.gpu_hours is None or run.accelerator is None:
            continue
        if run.gpu_hours_scope not in scopes or run.confidence in EXCLUDED_CONFIDENCE:
            continue
        if tuple(scopes) == tuple(FIT_SCOPES) and run.role != "calibration":
            continue
        chip = catalog.accelerators[run.accelerator]
        points.append(
            CalibrationPoint(
                run_id=run.id,
                accelerator=run.accelerator,
                precision=run.precision or "bf16",
                active_params=run.active_params,
                flop=flop,
                gpu_hours=run.gpu_hours,
                scope=run.gpu_hours_scope,
                utilization=flop / (run.gpu_hours * SECONDS_PER_HOUR * chip.peak_bf16_flop_per_s),
                peak_bf16_flop_per_s=chip.peak_bf16_flop_per_s,
                organization=run.organization,
                year=run.year,
                generation=chip.family,
                bytes_per_flop=chip.bytes_per_flop,
                hours_bound=run.hours_bound or "exact",
            )
        )
    return points


def _check_features(features) -> tuple[str, ...]:
    features = tuple(features)
    unknown = [f for f in features if f not in KNOWN_FEATURES + FORM_FLAGS]
    if unknown:
        raise ValueError(
            f"unknown prior feature(s) {unknown}; allowed: {', '.join(KNOWN_FEATURES + FORM_FLAGS)}"
        )
    for flag in ("nested", "blend"):
        if flag in features and "generation" not in features:
            raise ValueError(
                f"prior flag {flag!r} sets the blend with the naive centre per generation: add "
                "'generation'"
            )
    return features


@dataclass(frozen=True)
class UtilizationPrior:
    """log u ~ Student-t(centre(x, generation), scale), u = effective BF16-equivalent utilization.

    ``effective`` and ``ppf`` take the active-parameter count and, as keywords, the features of the
    new run (``accelerator=`` an id); each may be a scalar or an array aligned with the uniforms.
    An unknown or missing feature falls back to the pooled centre with the matching extra variance.
    """

    features: tuple[str, ...]
    #: Pooled coefficients: intercept, then the size slope and the bandwidth slope when they are
    #: features.
    coef: tuple[float, ...]
    #: Covariance of `coef` (robust sandwich from statsmodels RLM).
    coef_cov: tuple[tuple[float, ...], ...]
    #: Student-t residual scale and degrees of freedom.
    sigma: float
    dof: float
    #: Between-generation standard deviation (0 when the generation term is off).
    tau: float
    #: Generation -> (shrunk offset, its posterior variance, runs behind it).
    offsets: dict[str, tuple[float, float, int]]
    #: Accelerator id -> generation, for every accelerator in the catalog the prior was fitted on.
    generations: dict[str, str]
    #: Mean and variance of the size feature over the calibration runs (for an unknown size).
    size_mean: float
    size_var: float
    runs: tuple[str, ...] = field(default=())
    #: P90 of the standard Student-t at `dof`, kept with the fit so that a prediction needs no SciPy
    #: (importing scipy.special costs a CLI call about 0.2 s).
    t90: float = math.nan
    #: Accelerator id -> bandwidth feature, for every accelerator whose sheet gives its bandwidth,
    #: and the feature's mean and variance over the calibration runs (for an accelerator without
    #: one).
    bandwidth: dict[str, float] = field(default_factory=dict)
    bandwidth_mean: float = 0.0
    bandwidth_var: float = 0.0
    #: Mean squared error of log u under the naive rule (u = NAIVE_MFU) over the fitted runs: the
    #: naive centre's variance in the blend for barely seen generations (0: no blend).
    naive_mse: float = 0.0
    #: Upper-bound rows the fit read as censored (0 for the point form).
    censored_runs: int = 0
    #: Weight of the naive centre for a generation without calibration runs, chosen by leaving out
    #: each fitted generation in turn (`choose_naive_weight`); None: the inverse-variance rule
    #: (None, not NaN, so that a prior read back from the cache equals the one fitted).
    unseen_naive_weight: float | None = None

    # -- pieces -----------------------------------------------------------------------------------

    def _size(self, active_params, n: int) -> tuple[np.ndarray, np.ndarray]:
        """Size feature per draw and its extra variance (size unknown -> calibration mean)."""
        if active_params is None:
            return np.full(n, self.size_mean), np.full(n, self.size_var)
        active = np.broadcast_to(np.asarray(active_params, dtype=np.float64), (n,))
        x = np.log10(np.where(active > 0, active, np.nan)) - SIZE_CENTRE_LOG10
        known = np.isfinite(x)
        return np.where(known, x, self.size_mean), np.where(known, 0.0, self.size_var)

    @staticmethod
    def _per_accelerator(accelerator, n: int, lookup) -> tuple[np.ndarray, np.ndarray]:
        """(value, variance) per draw from `lookup(id)`; one id (a scalar) is looked up once."""
        if np.ndim(accelerator) == 0:
            value, var = lookup(str(accelerator))
            return np.full(n, value), np.full(n, var)
        ids = np.broadcast_to(np.asarray(accelerator, dtype=object), (n,))
        # Few distinct ids per call: look each up once.
        uniq, inverse = np.unique(ids.astype(str), return_inverse=True)
        table = np.array([lookup(a) for a in uniq], dtype=np.float64).reshape(-1, 2)
        return table[inverse, 0], table[inverse, 1]

    def _naive_weight(self, accelerator, n: int) -> np.ndarray:
        """Weight of the naive centre per draw: inverse-variance for a generation without
        calibration runs; 0 for one with runs, or without the generation term."""
        if "generation" not in self.features or self.naive_mse <= 0:
            return np.zeros(n)

        def weight(a):
            generation = self.generations.get(a, "")
            seen = generation in self.offsets
            if seen and "blend" not in self.features:
                return (0.0, 0.0)
            if not seen and self.unseen_naive_weight is not None:
                return (self.unseen_naive_weight, 0.0)
            # A seen generation ("blend") puts its offset's posterior variance in place of tau^2.
            prior_var = self.sigma**2 + (self.offsets[generation][1] if seen else self.tau**2)
            return (prior_var / (prior_var + self.naive_mse), 0.0)

        if accelerator is None:
            return np.full(n, weight("")[0])
        return self._per_accelerator(accelerator, n, weight)[0]

    def _offset(self, accelerator, n: int) -> tuple[np.ndarray, np.ndarray]:
        """Generation offset per draw and its variance (unknown generation -> 0 and tau^2)."""
        if "generation" not in self.features:
            return np.zeros(n), np.zeros(n)
        if accelerator is None:
            return np.zeros(n), np.full(n, self.tau**2)
        unknown = (0.0, self.tau**2, 0)
        return self._per_accelerator(
            accelerator, n, lambda a: self.offsets.get(self.generations.get(a, ""), unknown)[:2]
        )

    def _bandwidth(self, accelerator, n: int) -> tuple[np.ndarray, np.ndarray]:
        """Bandwidth feature per draw and its extra variance (unknown -> calibration mean and
        variance)."""
        unknown = (self.bandwidth_mean, self.bandwidth_var)
        if accelerator is None:
            return np.full(n, unknown[0]), np.full(n, unknown[1])
        return self._per_accelerator(
            accelerator, n, lambda a: (self.bandwidth[a], 0.0) if a in self.bandwidth else unknown
        )

    def log_centre_and_scale(
        self, active_params=None, n: int = 1, **features
    ) -> tuple[np.ndarray, np.ndarray]:
        """Predictive centre and Student-t scale of log u, one per draw (arrays of length n)."""
        unknown = set(features) - {"accelerator"}
        if unknown:
            raise ValueError(f"unknown prior feature(s) {sorted(unknown)}; allowed: accelerator")
        accelerator = features.get("accelerator")
        if n > 1 and np.ndim(active_params) == 0 and np.ndim(accelerator) == 0:
            # One run's inputs for every draw: work them out once.
            centre, scale = self.log_centre_and_scale(active_params, 1, **features)
            return np.full(n, centre[0]), np.full(n, scale[0])
        beta = np.asarray(self.coef)
        cov = np.asarray(self.coef_cov)
        # Regressors (intercept, then each pooled feature) and the variance of each where it is
        # unknown. The intercept's column is the scalar 1 (x 1.0 is exact, so the sums below give
        # the numbers a column of ones gives, without two arrays and their products per call).
        columns, unknown_var = [1.0], [0.0]
        if "size" in self.features:
            x, x_var = self._size(active_params, n)
            columns.append(x)
            unknown_var.append(x_var)
        if "bandwidth" in self.features:
            x, x_var = self._bandwidth(accelerator, n)
            columns.append(x)
            unknown_var.append(x_var)
        # Residual, parameter (x' C x) and unknown-feature ((b_k^2 + C_kk) var_k) variance, as sums
        # over the few columns: a matrix product would start BLAS threads that compete with the race
        # kernel.
        k = len(columns)
        centre = sum(beta[i] * columns[i] for i in range(k))
        var = self.sigma**2 + sum(
            cov[i, j] * columns[i] * columns[j] for i in range(k) for j in range(k)
        )
        var = var + sum((beta[i] ** 2 + cov[i, i]) * unknown_var[i] for i in range(k))
        offset, offset_var = self._offset(accelerator, n)
        # The blend weight depends on the generation only, so the centre stays linear in size.
        w = self._naive_weight(accelerator, n)
        centre = (1.0 - w) * (centre + offset) + w * math.log(NAIVE_MFU)
        return centre, np.sqrt(var + offset_var)

    def _half_width(self, scale):
        """Half-width of the Student-t P10-P90 interval of log u."""
        t90 = self.t90
        if not math.isfinite(t90):
            from scipy.special import stdtrit

            t90 = float(stdtrit(self.dof, 0.9))
        return t90 * scale

    # -- the contract
    # -------------------------------------------------------------------------------

    def log_centre_and_half_width(
        self, active_params: float | None = None, **features
    ) -> tuple[float, float]:
        """Predictive centre of log u and the half-width of its P10-P90 interval (Student-t)."""
        centre, scale = self.log_centre_and_scale(active_params, 1, **features)
        return float(centre[0]), float(self._half_width(scale[0]))

    def effective(self, active_params: float | None = None, **features) -> LogNormal:
        """Predictive distribution of u for a new run (P10/P90 from the Student-t predictive)."""
        centre, half = self.log_centre_and_half_width(active_params, **features)
        return LogNormal(p10=math.exp(centre - half), p90=math.exp(centre + half))

    def ppf(self, u: np.ndarray, active_params: np.ndarray | None = None, **features) -> np.ndarray:
        """Effective utilization at uniforms `u`; active params and features scalar or aligned with
        u."""
        from scipy.special import ndtri

        u = np.asarray(u, dtype=np.float64)
        centre, scale = self.log_centre_and_scale(active_params, u.shape[0], **features)
        return np.exp(centre + (self._half_width(scale) / Z90) * ndtri(u))

    def logpdf(self, utilization: float, active_params: float | None = None, **features) -> float:
        """Log predictive density of log u at `utilization` (Student-t), for scoring held-out
        runs."""
        centre, scale = self.log_centre_and_scale(active_params, 1, **features)
        from scipy import stats  # scipy.stats costs ~0.3 s to import: only the backtest scores runs

        return float(stats.t.logpdf(math.log(utilization), self.dof, loc=centre[0], scale=scale[0]))

    def logsf(self, utilization: float, active_params: float | None = None, **features) -> float:
        """Log predictive probability that log u is at least log(`utilization`) (Student-t survival
        function): the log score of a held-out run whose hours are an upper bound."""
        centre, scale = self.log_centre_and_scale(active_params, 1, **features)
        from scipy import stats

        return float(stats.t.logsf(math.log(utilization), self.dof, loc=centre[0], scale=scale[0]))

    def cdf(self, utilization: float, active_params: float | None = None, **features) -> float:
        """Predictive probability that log u is below log(`utilization`): the PIT of a held-out
        run."""
        centre, half = self.log_centre_and_half_width(active_params, **features)
        from scipy import stats

        return float(stats.norm.cdf((math.log(utilization) - centre) * Z90 / half))

    def extrapolation(self, accelerator: str) -> str | None:
        """Why a prediction on `accelerator` stands on no run of its generation, in words; None
        where its generation has calibration runs (or the prior has no generation term)."""
        if "generation" not in self.features:
            return None
        generation = self.generations.get(accelerator)
        if generation in self.offsets:
            return None
        w = self._naive_weight(accelerator, 1)[0]
        return (
            f"no calibration run on {generation or 'its generation'}; the centre is the pooled "
            f"one moved {w:.0%} toward the naive MFU {NAIVE_MFU:g}, the interval widened by the "
            "spread between generations (`backtest`, leave one generation out, shows how far off "
            "such predictions have been)"
        )

    def describe(self) -> str:
        names = [f for f in ("size", "bandwidth") if f in self.features]
        terms = "".join(f" {c:+.3f}*{f}" for c, f in zip(self.coef[1:], names))
        gens = ""
        if "generation" in self.features:
            shown = ", ".join(
                f"{g} {o:+.2f} (n={n})" for g, (o, _, n) in sorted(self.offsets.items())
            )
            gens = f"; generation offsets (tau {self.tau:.2f}): {shown}"
            w = self._naive_weight(None, 1)[0]
            rule = "left-out generations" if "nested" in self.features else "inverse variance"
            gens += f"; an unseen generation {w:.0%} toward MFU {NAIVE_MFU:g} ({rule})"
            if "blend" in self.features:
                gens += ", a seen one by its offset's variance"
        form = (
            f"; {self.censored_runs} upper-bound runs censored"
            if "censored" in self.features
            else ""
        )
        return (
            f"log u = {self.coef[0]:.3f}{terms} + t(dof {self.dof:.1f}, scale "
            f"{self.sigma:.3f}){gens}{form}; "
            f"{len(self.runs)} runs (centre u = {math.exp(self.coef[0]):.2f})"
        )


def _size_feature(points) -> np.ndarray:
    return np.array(
        [
            math.log10(p.active_params) - SIZE_CENTRE_LOG10 if p.active_params else np.nan
            for p in points
        ]
    )


def _bandwidth_feature(bytes_per_flop: float | None) -> float:
    return math.log10(bytes_per_flop) - BANDWIDTH_CENTRE_LOG10 if bytes_per_flop else math.nan


def fit_prior(
    points: list[CalibrationPoint],
    features: tuple[str, ...] = FEATURES,
    *,
    generations: dict[str, str] | None = None,
    bytes_per_flop: dict[str, float | None] | None = None,
) -> UtilizationPrior:
    """Robust pooled fit, partially pooled generation offsets, Student-t residuals.

    `generations` maps accelerator ids to generations for prediction (default: those of `points`),
    and `bytes_per_flop` ids to their chip sheet's bytes per FLOP (default: those of `points`).
    Runs without active parameters are dropped when "size" is a feature, runs on a chip without a
    bandwidth when "bandwidth" is. With the generation term and the flag "nested", the naive
    centre's weight for an unseen generation is chosen by `choose_naive_weight` on these same
    points (else the inverse-variance rule).
    """
    prior = _fit_prior(points, features, generations, bytes_per_flop)
    if "nested" in prior.features:  # `_check_features` makes it come with "generation"
        weight = choose_naive_weight(
            points, prior.features, generations=generations, bytes_per_flop=bytes_per_flop
        )
        if weight is not None:
            prior = replace(prior, unseen_naive_weight=weight)
    return prior


#: Candidate weights of the naive centre for an unseen generation (`choose_naive_weight`).
NAIVE_WEIGHT_GRID = tuple(i / 20 for i in range(21))


def choose_naive_weight(
    points: list[CalibrationPoint],
    features: tuple[str, ...],
    *,
    generations: dict[str, str] | None = None,
    bytes_per_flop: dict[str, float | None] | None = None,
    grid: tuple[float, ...] = NAIVE_WEIGHT_GRID,
) -> float | None:
    """The naive centre's weight for a generation without runs, chosen as a generation without
    runs would be met: each generation of `points` is left out in turn, the rest fitted, and its
    runs scored at every weight of `grid` by the fitted form's own likelihood (the Student-t
    density; the censored form reads an upper-bound row by its survival probability). The weight
    with the best summed log score wins. None when fewer than two left-out generations can be
    fitted (the inverse-variance rule then stands).
    """
    from scipy import stats

    features = _check_features(features)
    by_generation: dict[str, list[CalibrationPoint]] = {}
    for p in points:
        by_generation.setdefault(p.generation, []).append(p)
    weights = np.asarray(grid, dtype=np.float64)
    scores = np.zeros(len(weights))
    folds = 0
    log_naive = math.log(NAIVE_MFU)
    for generation, test in sorted(by_generation.items()):
        train = [p for p in points if p.generation != generation]
        try:
            inner = _fit_prior(train, features, generations, bytes_per_flop)
        except (InputError, ValueError):  # too few runs, or features not separable without it
            continue
        inner = replace(inner, unseen_naive_weight=0.0)
        folds += 1
        for p in test:
            if "size" in features and p.active_params is None:
                continue
            centre, scale = inner.log_centre_and_scale(p.active_params, accelerator=p.accelerator)
            y = math.log(p.bf16_utilization)
            loc = (1.0 - weights) * centre[0] + weights * log_naive
            if "censored" in features and p.hours_bound == "upper":
                scores += stats.t.logsf(y, inner.dof, loc=loc, scale=scale[0])
            else:
                scores += stats.t.logpdf(y, inner.dof, loc=loc, scale=scale[0])
    if folds < 2:
        return None
    return float(grid[int(np.argmax(scores))])


def _fit_prior(points, features, generations, bytes_per_flop) -> UtilizationPrior:
    """`fit_prior` without the nested choice of the naive weight."""
    import statsmodels.api as sm

    features = _check_features(features)
    usable = [
        p
        for p in points
        if ("size" not in features or p.active_params is not None)
        and ("bandwidth" not in features or p.bytes_per_flop is not None)
    ]
    n_coef = 1 + ("size" in features) + ("bandwidth" in features)
    if len(usable) < n_coef + 3:  # an input problem (too few rows), said in one line
        raise InputError(
            f"training_runs.csv: the MFU prior's terms {features} need at least {n_coef + 3} "
            f"calibration rows with the figures they use, have {len(usable)}"
        )
    y = np.log([p.bf16_utilization for p in usable])
    size = _size_feature(usable)
    bandwidth = np.array([_bandwidth_feature(p.bytes_per_flop) for p in usable])
    X = np.column_stack(
        [np.ones(len(usable))]
        + [size] * ("size" in features)
        + [bandwidth] * ("bandwidth" in features)
    )
    if np.linalg.matrix_rank(X) < X.shape[1]:
        raise ValueError(f"features {features} cannot be separated on these {len(usable)} runs")
    fit = sm.RLM(y, X, M=sm.robust.norms.HuberT()).fit()
    coef = np.asarray(fit.params, dtype=np.float64)
    coef_cov = np.asarray(fit.cov_params(), dtype=np.float64)
    resid = y - X @ coef
    gens = np.array([p.generation for p in usable])
    upper = np.array([p.hours_bound == "upper" for p in usable])
    common = {
        "features": features,
        "dof": DOF,
        "generations": dict(generations)
        if generations is not None
        else {p.accelerator: p.generation for p in usable},
        "runs": tuple(p.run_id for p in usable),
        "naive_mse": float(np.mean((y - math.log(NAIVE_MFU)) ** 2)),
        **_feature_moments(usable, size, bandwidth, bytes_per_flop),
    }
    if "censored" in features and upper.any():
        return _fit_censored(y, X, upper, gens, coef, features, common)

    offsets: dict[str, tuple[float, float, int]] = {}
    tau = 0.0
    if "generation" in features:
        # Robust residual scale for the shrinkage weights (RLM's MAD-based scale). The generation
        # means are a random-effects meta-analysis (statsmodels, DerSimonian-Laird): the spread of
        # the means beyond what their sampling variance s^2/n_g explains, each mean weighted by
        # n_g/s^2, so a generation of two runs moves tau less than one of fifteen.
        offsets, tau = censored.shrunk_offsets(
            resid, gens, sorted(set(gens)), float(fit.scale) ** 2
        )
        resid = resid - np.array([offsets[g][0] for g in gens])

    dof = DOF
    # Maximum-likelihood scale of the Student-t residuals at the fixed degrees of freedom.
    from scipy import optimize, stats  # only a fit needs them (a cached fit skips both)

    mad = float(stats.median_abs_deviation(resid, scale="normal")) or 1e-3
    scale = optimize.minimize_scalar(
        lambda s: -np.sum(stats.t.logpdf(resid, dof, scale=s)),
        bounds=(mad / 10, mad * 10),
        method="bounded",
    ).x
    return _assemble(coef, coef_cov, scale, tau, offsets, common)


def _assemble(coef, cov, scale, tau, offsets, common, **extra) -> UtilizationPrior:
    """A fitted prior from its arrays, as plain floats and tuples (JSON- and cache-friendly)."""
    from scipy import stats

    return UtilizationPrior(
        coef=tuple(float(c) for c in coef),
        coef_cov=tuple(tuple(float(v) for v in row) for row in cov),
        sigma=float(scale),
        tau=tau,
        offsets=offsets,
        t90=float(stats.t.ppf(0.9, common["dof"])),
        **extra,
        **common,
    )


def _feature_moments(usable, size, bandwidth, bytes_per_flop) -> dict:
    """Mean and variance of the size and bandwidth features over the fitted runs (for a run whose
    feature is unknown), and the bandwidth feature of every chip."""
    finite = size[np.isfinite(size)]
    known_bw = bandwidth[np.isfinite(bandwidth)]
    if bytes_per_flop is None:
        bytes_per_flop = {p.accelerator: p.bytes_per_flop for p in usable}
    return {
        "size_mean": float(np.mean(finite)) if finite.size else 0.0,
        "size_var": float(np.var(finite)) if finite.size else 0.0,
        "bandwidth": {a: _bandwidth_feature(b) for a, b in bytes_per_flop.items() if b},
        "bandwidth_mean": float(np.mean(known_bw)) if known_bw.size else 0.0,
        "bandwidth_var": float(np.var(known_bw)) if known_bw.size else 0.0,
    }


def _fit_censored(y, X, upper, gens, start_coef, features, common) -> UtilizationPrior:
    """The censored form (`censored.fit_censored`), assembled into a prior."""
    coef, cov, scale, offsets, tau = censored.fit_censored(
        y, X, upper, gens, start_coef, common["dof"], generation="generation" in features
    )
    return _assemble(coef, cov, scale, tau, offsets, common, censored_runs=int(upper.sum()))


def bound_slack(points: list[CalibrationPoint]) -> dict[str, float]:
    """How loose the upper bounds of `points` are (`censored.bound_slack`, on log u = b0 + b1 x
    size + Student-t(DOF)); the backtest reports it beside the censored form."""
    usable = [p for p in points if p.active_params]
    y = np.log([p.bf16_utilization for p in usable])
    X = np.column_stack([np.ones(len(usable)), _size_feature(usable)])
    upper = np.array([p.hours_bound == "upper" for p in usable])
    return censored.bound_slack(y, X, upper, DOF)


def chip_sheet(catalog: Catalog) -> dict[str, dict]:
    """What the prior may know of every accelerator in the catalog before any run on it: its
    generation and its bytes per FLOP (keyword arguments of `fit_prior`)."""
    return {
        "generations": {a.id: a.family for a in catalog.accelerators.values()},
        "bytes_per_flop": {a.id: a.bytes_per_flop for a in catalog.accelerators.values()},
    }


_PRIORS: dict[tuple, UtilizationPrior] = {}


def default_prior(
    catalog: Catalog, *, features: tuple[str, ...] = FEATURES, **_ignored
) -> UtilizationPrior:
    """The prior `estimate` and `simulate` use, fitted once per catalog.

    ``effective(active_params, accelerator=id)`` and ``ppf(u, active_params, accelerator=ids)``;
    an accelerator with no calibration runs of its generation gets the pooled centre.
    """
    features = _check_features(features)
    key = (catalog.data_hash, features)
    if key not in _PRIORS:
        _PRIORS[key] = _cached_fit(catalog, features)
    return _PRIORS[key]


#: Where fitted default priors are kept between processes ($COMPUTE_RACE_CACHE, else ~/.cache).
CACHE_ENV = paths.CACHE_ENV


def _cache_file(catalog: Catalog, features: tuple[str, ...]):
    """The cache file of a fit: keyed by the data, the features, this module's code and the versions
    of the libraries that fit it, so any change refits."""
    from importlib import metadata

    versions = []
    for package in ("numpy", "scipy", "statsmodels"):
        try:
            versions.append(metadata.version(package))
        except metadata.PackageNotFoundError:
            versions.append("-")
    return paths.cache_file(
        "prior",
        catalog.data_hash,
        [",".join(features), *versions],
        ("model/calibration.py", "model/censored.py"),
        "json",
    )


def _cached_fit(catalog: Catalog, features: tuple[str, ...]) -> UtilizationPrior:
    """`fit_prior` on the catalog's calibration runs, read from the disk cache when this exact fit
    was made before (a CLI call then skips statsmodels and the robust fit: about a second); written
    atomically after a fit. An unreadable or unwritable cache only costs the fit."""
    import dataclasses
    import json

    path = _cache_file(catalog, features)
    try:
        raw = json.loads(path.read_text())
        # JSON gives lists where the prior keeps tuples.
        as_tuples = {
            "features": tuple,
            "coef": tuple,
            "coef_cov": lambda rows: tuple(map(tuple, rows)),
            "runs": tuple,
            "offsets": lambda table: {k: tuple(v) for k, v in table.items()},
        }
        return UtilizationPrior(**{k: as_tuples.get(k, lambda v: v)(v) for k, v in raw.items()})
    except (OSError, ValueError, KeyError, TypeError):
        pass
    prior = fit_prior(calibration_points(catalog), features, **chip_sheet(catalog))
    paths.write_cache(path, json.dumps(dataclasses.asdict(prior)).encode())
    return prior

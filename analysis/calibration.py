"""The utilization prior, fitted on the calibration runs in data/training_runs.csv.

What a published run pins down
------------------------------
A run's reported accelerator-hours H and the model FLOP C those hours cover give its *effective*
utilization ``u = C / (H x 3600 x peak)``: MFU times goodput, and also divided by any work the
hours cover beyond C. ``C`` is the model FLOP 6·N_active·D of the tokens the hours cover
(``TrainingRun.hours_flop``): MFU is defined on model FLOP, and a reported FLOP figure may count
activation recomputation (OPT-175B's logbook figure is about 8ND). ``peak`` is the chip's BF16 dense
peak for every run; FP8 runs are divided by the geometric mean of the assumed FP8 gain
(``constants.FP8_GAIN_TRIANGULAR``, about 1.21) so that the fitted quantity is a BF16-equivalent
utilization and ``estimate``/``simulate`` put the same gain back when they draw for an FP8 run.

What the reported hours include, and how it enters
--------------------------------------------------
- Failures, restarts, checkpointing and slow nodes are inside every run's hours (Llama 3.1 405B
  reports >90% effective training time). They are goodput, so they are part of ``u``. For a new run
  an MFU draw is ``u / goodput`` with ``goodput`` from its own range, and the hours, which depend on
  MFU x goodput, follow the calibrated ``u``: the goodput range changes how ``u`` is split, not the
  hours.
- Extra stages (scope ``pretrain_plus``): long-context extension and post-training for Llama 3.1
  405B and DeepSeek-V3 (+4.7% of its hours), and for the Llama 3 / 3.1 8B and 70B cards an unknown
  amount beyond one 15T-token pass (their implied u, 0.14-0.28, sits far below the 0.38-0.43 MFU the
  family's flagship reports). They make ``u`` low by the extra share. An optional ``scope`` feature
  (1 for ``pretrain_plus``) can absorb that; leave-one-out did not favour it (below), so the default
  prior leaves the extra stages in its spread rather than in its centre.
- One stage of a run (Nemotron-4 340B's 7.6T-token main stage of 9T): ``hours_tokens`` in the data
  says which tokens the hours cover, so C matches H.
- Derived hours (``derived``: GPT-3's 10,000 V100 x 14.8 days, OPT-175B's 33 days on 1,024 A100,
  DeepSeek-V2's 172.8K hours per trillion tokens, Nemotron's iteration time) are used like reported
  ones. Upper bounds (GLM-130B's access window) and third-party estimates (Gemini 1.0 Ultra's
  chip-hours, confidence ``estimated-by-third-party``) do not calibrate.

The model
---------
``log u = a + b x (log10 N_active - 11) [+ c x pretrain_plus] + e``, ``e ~ Normal(0, s^2)``, fitted
by least squares; the predictive for a new run is Student-t with the fit's residual degrees of
freedom, scaled by ``s x sqrt(1 + leverage)`` (parameter uncertainty included). It is exposed as a
log-normal with the t's P10 and P90, so the P10-P90 interval of a draw is the t interval. Without
the active-parameter count (``estimate --flop``) the intercept-only prior is used.

Why this model: leave-one-out on the 13 calibration runs (``analysis.backtest``, notebook
``30_backtest``) gives, for accelerator-hours, MdAPE / P10-P90 coverage / median P90/P10:
intercept-only 25% / 77% / 2.8; size 14% / 85% / 2.0; size + scope 11% / 85% / 2.1, with a worse
mean log predictive density than size alone (the scope term moves the centre but costs a parameter
on 13 points) and a worse MdAPE when the Llama 3/3.1 twin runs are left out together. Size is the
default. Hardware family, year, cluster size and precision were not used: one V100 run, two A100
runs, one FP8 run and four known cluster sizes cannot separate them from size. A dense/MoE
indicator beside size did about as well in an exploratory leave-one-out (MdAPE ~11%, coverage 85%,
P90/P10 ~2.05) but is not offered: ``simulate`` hands the prior only active parameters, so a
feature needing total parameters would make ``estimate`` and ``simulate`` disagree.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy.special import ndtri, stdtrit

from . import constants as K
from .catalog import Catalog
from .constants import SECONDS_PER_HOUR
from .specs import Z90, LogNormal, Triangular

#: Reported hours that measure a run's throughput; upper bounds say too little to fit on.
FIT_SCOPES = ("pretrain", "pretrain_plus", "derived")
#: Rows whose figures are a third party's estimates (Epoch's frontier rows) never calibrate.
EXCLUDED_CONFIDENCE = ("estimated-by-third-party",)
#: Centre of the size feature (log10 of 1e11 active parameters), so the intercept means something.
SIZE_CENTRE_LOG10 = 11.0
#: Features a prior may use: "size" is log10(active params) - 11; "scope" is 1 when the reported
#: hours include extra stages (gpu_hours_scope pretrain_plus). New runs are predicted at scope 0.
KNOWN_FEATURES = ("size", "scope")
#: The default features, chosen by leave-one-out (see the module docstring and analysis.backtest).
FEATURES = ("size",)
#: Scope value a prediction for a new run assumes: its main pre-training only.
NEW_RUN_SCOPE = "pretrain"


def _fp8_log_gain_mean() -> float:
    """E[log gain] of the assumed FP8 gain distribution (midpoint rule on its quantile function)."""
    gain = Triangular(**dict(zip(("low", "mode", "high"), K.FP8_GAIN_TRIANGULAR)))
    grid = (np.arange(4096) + 0.5) / 4096
    return float(np.mean(np.log(gain.ppf(grid))))


#: Mean log of the FP8 gain: an FP8 run's utilization is divided by exp(this) before fitting.
FP8_LOG_GAIN_MEAN = _fp8_log_gain_mean()


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

    @property
    def bf16_utilization(self) -> float:
        """Utilization with the assumed FP8 gain divided out: what the prior is fitted on."""
        if self.precision == "fp8":
            return self.utilization / math.exp(FP8_LOG_GAIN_MEAN)
        return self.utilization


def calibration_points(catalog: Catalog, *, scopes=FIT_SCOPES) -> list[CalibrationPoint]:
    """Runs with covered FLOP, accelerator and accelerator-hours in one of `scopes`.

    Rows whose confidence is ``estimated-by-third-party`` are skipped whatever their scope.
    """
    points = []
    for run in catalog.training_runs.values():
        flop = run.hours_flop
        if flop is None or run.gpu_hours is None or run.accelerator is None:
            continue
        if run.gpu_hours_scope not in scopes or run.confidence in EXCLUDED_CONFIDENCE:
            continue
        peak = catalog.accelerators[run.accelerator].peak_bf16_flop_per_s
        points.append(
            CalibrationPoint(
                run_id=run.id,
                accelerator=run.accelerator,
                precision=run.precision or "bf16",
                active_params=run.active_params,
                flop=flop,
                gpu_hours=run.gpu_hours,
                scope=run.gpu_hours_scope,
                utilization=flop / (run.gpu_hours * SECONDS_PER_HOUR * peak),
                peak_bf16_flop_per_s=peak,
            )
        )
    return points


def _check_features(features) -> tuple[str, ...]:
    features = tuple(features)
    unknown = [f for f in features if f not in KNOWN_FEATURES]
    if unknown:
        raise ValueError(f"unknown prior feature(s) {unknown}; allowed: {', '.join(KNOWN_FEATURES)}")
    return features


def _design(features: tuple[str, ...], active_params, scope_plus) -> np.ndarray:
    """Design matrix (n, 1 + len(features)) from active params and scope indicators (broadcast)."""
    active = np.atleast_1d(np.asarray(active_params, dtype=np.float64))
    plus = np.atleast_1d(np.asarray(scope_plus, dtype=np.float64))
    n = max(active.size, plus.size)
    cols = [np.ones(n)]
    for name in features:
        if name == "size":
            cols.append(np.broadcast_to(np.log10(active) - SIZE_CENTRE_LOG10, (n,)))
        elif name == "scope":
            cols.append(np.broadcast_to(plus, (n,)))
    return np.stack(cols, axis=1)


def _row(features: tuple[str, ...], active_params: float | None, scope: str = NEW_RUN_SCOPE) -> np.ndarray:
    return _design(features, active_params if active_params is not None else np.nan,
                   1.0 if scope == "pretrain_plus" else 0.0)[0]


@dataclass(frozen=True)
class UtilizationPrior:
    """log u ~ Student-t(x . coef, sigma_pred(x)), u = effective BF16-equivalent utilization."""

    features: tuple[str, ...]
    coef: tuple[float, ...]
    sigma: float
    dof: int
    xtx_inv: tuple[tuple[float, ...], ...]
    runs: tuple[str, ...]

    def _needs_size(self, active_params) -> None:
        if "size" in self.features and active_params is None:
            raise ValueError("this prior needs active_params")

    def log_centre_and_half_width(self, active_params: float | None = None, *,
                                  scope: str = NEW_RUN_SCOPE) -> tuple[float, float]:
        """Predictive centre of log u and the half-width of its P10-P90 interval (Student-t)."""
        self._needs_size(active_params)
        x = _row(self.features, active_params, scope)
        centre = float(x @ np.array(self.coef))
        spread = self.sigma * math.sqrt(1.0 + float(x @ np.array(self.xtx_inv) @ x))
        return centre, float(stdtrit(self.dof, 0.9)) * spread

    def effective(self, active_params: float | None = None, *, scope: str = NEW_RUN_SCOPE) -> LogNormal:
        """Predictive distribution of u for a new run (P10/P90 from the Student-t predictive)."""
        centre, half = self.log_centre_and_half_width(active_params, scope=scope)
        return LogNormal(p10=math.exp(centre - half), p90=math.exp(centre + half))

    def ppf(self, u: np.ndarray, active_params: np.ndarray | None = None, *,
            scope: str = NEW_RUN_SCOPE) -> np.ndarray:
        """Effective utilization at uniforms `u`, each draw with its own active-parameter count."""
        self._needs_size(active_params)
        u = np.asarray(u, dtype=np.float64)
        n = u.shape[0]
        active = np.ones(n) if active_params is None else active_params
        X = _design(self.features, active, np.full(n, 1.0 if scope == "pretrain_plus" else 0.0))
        centre = X @ np.array(self.coef)
        leverage = np.einsum("ki,ij,kj->k", X, np.array(self.xtx_inv), X)
        half = float(stdtrit(self.dof, 0.9)) * self.sigma * np.sqrt(1.0 + leverage)
        return np.exp(centre + (half / Z90) * ndtri(u))

    def describe(self) -> str:
        terms = " + ".join(f"{c:+.3f}*{f}" for c, f in zip(self.coef[1:], self.features))
        return (
            f"log u = {self.coef[0]:.3f}{(' ' + terms) if terms else ''}, residual sd {self.sigma:.3f}, "
            f"{len(self.runs)} runs"
        )


def fit_prior(points: list[CalibrationPoint], features: tuple[str, ...] = FEATURES) -> UtilizationPrior:
    """Least squares of log(BF16-equivalent u) on the features (runs lacking a feature are dropped)."""
    features = _check_features(features)
    usable = [p for p in points if "size" not in features or p.active_params is not None]
    if len(usable) < len(features) + 2:
        raise ValueError(f"need at least {len(features) + 2} calibration runs, have {len(usable)}")
    X = _design(
        features,
        np.array([p.active_params if p.active_params is not None else np.nan for p in usable]),
        np.array([1.0 if p.scope == "pretrain_plus" else 0.0 for p in usable]),
    )
    if np.linalg.matrix_rank(X) < X.shape[1]:
        raise ValueError(f"features {features} cannot be separated on these {len(usable)} runs")
    y = np.log([p.bf16_utilization for p in usable])
    coef, *_ = np.linalg.lstsq(X, y, rcond=None)
    dof = len(usable) - X.shape[1]
    sigma = float(np.sqrt(np.sum((y - X @ coef) ** 2) / dof))
    xtx_inv = np.linalg.inv(X.T @ X)
    return UtilizationPrior(
        features=features,
        coef=tuple(float(c) for c in coef),
        sigma=sigma,
        dof=dof,
        xtx_inv=tuple(tuple(float(v) for v in row) for row in xtx_inv),
        runs=tuple(p.run_id for p in usable),
    )


_PRIORS: dict[tuple, UtilizationPrior] = {}


def default_prior(catalog: Catalog, *, with_size: bool = True) -> UtilizationPrior:
    """The prior `estimate` and `simulate` use, fitted once per catalog."""
    features = FEATURES if with_size else tuple(f for f in FEATURES if f != "size")
    key = (catalog.data_hash, features)
    if key not in _PRIORS:
        _PRIORS[key] = fit_prior(calibration_points(catalog), features)
    return _PRIORS[key]

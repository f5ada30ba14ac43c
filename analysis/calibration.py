"""The MFU prior, fitted on the calibration runs in data/training_runs.csv.

What a published run pins down is its *effective* utilization: reported accelerator-hours include
time lost to failures and restarts, so ``u = C / (hours x 3600 x peak)`` is MFU x goodput. We model
``log u`` as normal with a centre that depends on the run's features (by default the log of its active
parameters: small models use big clusters poorly) and a spread from the fit's residuals, widened to a
predictive interval for a new run. Every run is measured against its chip's BF16 dense peak (FP8 runs
too: see ``constants.FP8_GAIN_TRIANGULAR`` for how FP8 enters), so one prior serves both precisions.

An MFU draw for a new run is ``u / goodput`` with ``u`` from this prior and ``goodput`` from its own
range, so the product that sets accelerator-hours is the calibrated ``u``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy.special import ndtri, stdtrit

from .catalog import Catalog
from .constants import SECONDS_PER_HOUR
from .specs import Z90, LogNormal

#: Reported hours that measure a run's throughput; upper bounds say too little to fit on.
FIT_SCOPES = ("pretrain", "pretrain_plus", "derived")
#: Centre of the size feature (log10 of 1e11 active parameters), so the intercept means something.
SIZE_CENTRE_LOG10 = 11.0
#: Features the prior may use; "size" is log10(active params) - 11.
FEATURES = ("size",)


@dataclass(frozen=True)
class CalibrationPoint:
    run_id: str
    accelerator: str
    precision: str
    active_params: float | None
    flop: float
    gpu_hours: float
    scope: str
    #: Effective utilization against the BF16 dense peak: C / (hours x 3600 x peak_bf16).
    utilization: float


def calibration_points(catalog: Catalog, *, scopes=FIT_SCOPES) -> list[CalibrationPoint]:
    """Runs with FLOP, accelerator and accelerator-hours in one of `scopes`."""
    points = []
    for run in catalog.training_runs.values():
        flop = run.flop
        if flop is None or run.gpu_hours is None or run.accelerator is None:
            continue
        if run.gpu_hours_scope not in scopes:
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
            )
        )
    return points


def _row(features: tuple[str, ...], active_params: float | None) -> np.ndarray:
    row = [1.0]
    for name in features:
        if name == "size":
            row.append(math.log10(active_params) - SIZE_CENTRE_LOG10)
    return np.array(row)


@dataclass(frozen=True)
class UtilizationPrior:
    """log u ~ Normal(x . coef, sigma_pred(x)), u = effective BF16-equivalent utilization."""

    features: tuple[str, ...]
    coef: tuple[float, ...]
    sigma: float
    dof: int
    xtx_inv: tuple[tuple[float, ...], ...]
    runs: tuple[str, ...]

    def effective(self, active_params: float | None = None) -> LogNormal:
        """Predictive distribution of u for a new run (P10/P90 from the Student-t predictive)."""
        features = self.features if active_params is not None else ()
        if features != self.features:
            raise ValueError("this prior needs active_params")
        x = _row(features, active_params)
        centre = float(x @ np.array(self.coef))
        spread = self.sigma * math.sqrt(1.0 + float(x @ np.array(self.xtx_inv) @ x))
        half = float(stdtrit(self.dof, 0.9)) * spread
        return LogNormal(p10=math.exp(centre - half), p90=math.exp(centre + half))

    def ppf(self, u: np.ndarray, active_params: np.ndarray | None = None) -> np.ndarray:
        """Effective utilization at uniforms `u`, each draw with its own active-parameter count."""
        u = np.asarray(u, dtype=np.float64)
        n = u.shape[0]
        cols = [np.ones(n)]
        for name in self.features:
            if name == "size":
                cols.append(np.log10(np.asarray(active_params, dtype=np.float64)) - SIZE_CENTRE_LOG10)
        X = np.stack(cols, axis=1)
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
    """Least squares of log u on the features; features without the data to fit them are dropped."""
    usable = [p for p in points if "size" not in features or p.active_params is not None]
    if len(usable) < len(features) + 2:
        raise ValueError(f"need at least {len(features) + 2} calibration runs, have {len(usable)}")
    X = np.array([_row(features, p.active_params) for p in usable])
    y = np.log([p.utilization for p in usable])
    coef, *_ = np.linalg.lstsq(X, y, rcond=None)
    dof = len(usable) - X.shape[1]
    sigma = float(np.sqrt(np.sum((y - X @ coef) ** 2) / dof))
    xtx_inv = np.linalg.inv(X.T @ X)
    return UtilizationPrior(
        features=tuple(features),
        coef=tuple(float(c) for c in coef),
        sigma=sigma,
        dof=dof,
        xtx_inv=tuple(tuple(float(v) for v in row) for row in xtx_inv),
        runs=tuple(p.run_id for p in usable),
    )


_PRIORS: dict[tuple, UtilizationPrior] = {}


def default_prior(catalog: Catalog, *, with_size: bool = True) -> UtilizationPrior:
    """The prior `estimate` and `simulate` use, fitted once per catalog."""
    features = FEATURES if with_size else ()
    key = (catalog.data_hash, features)
    if key not in _PRIORS:
        _PRIORS[key] = fit_prior(calibration_points(catalog), features)
    return _PRIORS[key]

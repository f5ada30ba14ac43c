"""Backtest: does the method reproduce published training runs it was not given the answers for?

For each calibration run (``calibration.calibration_points``), the utilization prior is refitted
without it (leave-one-out; ``leave_out="group"`` also drops its sibling runs: same organization and
same active-parameter count, such as Llama 3 8B and Llama 3.1 8B) and its accelerator-hours are
predicted the way ``estimate`` predicts them: the model FLOP the reported hours cover, the chip's
BF16 dense peak, an effective utilization drawn from the prior (times the FP8 gain for FP8 runs),
P10/P50/P90 over the draws. Beside it, the naive baseline: 6·N·D at a fixed MFU of 0.40 against
the dense peak at the run's precision, with no goodput. Metrics: median absolute percentage error of
the P50 (MdAPE), share of reported figures inside P10-P90 (coverage), median P90/P10 width.

The energy model (DESIGN.md s3 item 7: chip TDP x chip-to-server multiplier x average fraction
drawn x PUE, constants in data/accelerators.csv with their sources) is checked, never fitted,
against the published energy figures that can test it; figures that are accelerator-hours x TDP by
construction are shown but flagged as no test.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import pandas as pd

import dataclasses
import json
import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from scipy.special import gammaln, stdtrit

from . import constants as K
from .backend import select
from .calibration import (
    FEATURES,
    FIT_SCOPES,
    CalibrationPoint,
    UtilizationPrior,
    calibration_points,
    fit_prior,
)
from .catalog import Catalog, load_catalog
from .errors import InputError
from ._estimate import _number
from .kernels import compute as kc
from .provenance import provenance
from .results import format_number, json_ready
from .sampling import draw
from .specs import MAX_DRAWS, Uncertainty

#: The naive baseline's fixed MFU (the issue's comparison: 6 N D at MFU 0.40, no goodput).
NAIVE_MFU = 0.40
#: Monte Carlo draws per predicted run; the P10/P90 of 20,000 draws move by well under 1%.
DEFAULT_DRAWS = 20_000
DEFAULT_SEED = 0
#: Feature sets compared by leave-one-out; the default prior uses calibration.FEATURES.
ALTERNATIVES: dict[str, tuple[str, ...]] = {
    "intercept only": (),
    "size": ("size",),
    "size + scope": ("size", "scope"),
}
LEAVE_OUT = ("run", "group")
#: Headline targets of the backtest issue (#6): MdAPE, coverage, median P90/P10, energy error.
TARGETS = {"mdape_max": 0.15, "coverage_min": 0.80, "median_p90_over_p10_max": 2.2, "energy_error_max": 0.15}


# ---------------------------------------------------------------------------------------------
# Pieces with their own tests: metrics, naive baseline, leave-out sets, predictions
# ---------------------------------------------------------------------------------------------


def interval_metrics(reported, p10, p50, p90) -> dict[str, float | int | None]:
    """MdAPE of the P50, P10-P90 coverage, median P90/P10 and median P50/reported over runs.

    Arrays of the same shape (one entry per run); p10/p90 may be None for point predictions.
    """
    reported = np.asarray(reported, dtype=np.float64)
    p50 = np.asarray(p50, dtype=np.float64)
    ape = np.abs(p50 - reported) / reported
    out: dict[str, float | int | None] = {
        "n_runs": int(reported.size),
        "mdape": float(np.median(ape)),
        "median_p50_over_reported": float(np.median(p50 / reported)),
        "coverage_p10_p90": None,
        "median_p90_over_p10": None,
    }
    if p10 is not None and p90 is not None:
        p10 = np.asarray(p10, dtype=np.float64)
        p90 = np.asarray(p90, dtype=np.float64)
        out["coverage_p10_p90"] = float(np.mean((p10 <= reported) & (reported <= p90)))
        out["median_p90_over_p10"] = float(np.median(p90 / p10))
    return out


def naive_gpu_hours(flop, peak_flop_per_s, mfu: float = NAIVE_MFU):
    """Accelerator-hours of the naive baseline: C / (peak x MFU x 3600), goodput 1."""
    return kc.accelerator_hours(flop, peak_flop_per_s, mfu, 1.0)


def group_key(catalog: Catalog, run_id: str) -> tuple[str, float | None]:
    """Sibling runs share a key: same organization and same active-parameter count."""
    run = catalog.training_runs[run_id]
    size = round(math.log10(run.active_params), 2) if run.active_params else None
    return (run.organization, size if size is not None else run_id)


def held_out(catalog: Catalog, points: list[CalibrationPoint], run_id: str, leave_out: str) -> set[str]:
    """Run ids removed from the fit when predicting `run_id`."""
    if leave_out == "run":
        return {run_id}
    key = group_key(catalog, run_id)
    return {p.run_id for p in points if group_key(catalog, p.run_id) == key}


def predict_gpu_hours(prior: UtilizationPrior, point: CalibrationPoint, *, features_scope: bool,
                      draws: int, seed: int) -> np.ndarray:
    """Draws of the accelerator-hours of `point`'s covered FLOP, as `estimate` would draw them.

    Same streams as `estimate` ("estimate/utilization", "estimate/fp8_gain"), so with the same prior
    and seed the two agree draw for draw. The prior's scope feature, when present, takes the run's
    own scope (what its reported hours include is known, not the answer).
    """
    scope = point.scope if features_scope else "pretrain"
    u_dist = prior.effective(point.active_params if "size" in prior.features else None, scope=scope)
    utilization = draw(u_dist, seed, "estimate/utilization", 0, draws)
    if point.precision == "fp8":
        utilization = utilization * draw(Uncertainty().fp8_gain, seed, "estimate/fp8_gain", 0, draws)
    return kc.accelerator_hours(point.flop, point.peak_bf16_flop_per_s, utilization, 1.0)


def _log_score(prior: UtilizationPrior, point: CalibrationPoint, scope: str) -> float:
    """Negative log predictive density of the run's log BF16-equivalent utilization (lower is better)."""
    active = point.active_params if "size" in prior.features else None
    centre, half = prior.log_centre_and_half_width(active, scope=scope)
    nu = prior.dof
    scale = half / float(stdtrit(nu, 0.9))
    z = (math.log(point.bf16_utilization) - centre) / scale
    log_pdf = (gammaln((nu + 1) / 2) - gammaln(nu / 2) - 0.5 * math.log(nu * math.pi)
               - (nu + 1) / 2 * math.log1p(z * z / nu))
    return float(-log_pdf + math.log(scale))


def leave_out_predictions(catalog: Catalog, points: list[CalibrationPoint], features: tuple[str, ...], *,
                          leave_out: str = "run", draws: int = DEFAULT_DRAWS,
                          seed: int = DEFAULT_SEED) -> pd.DataFrame:
    """One row per run: P10/P50/P90 of accelerator-hours from a prior fitted without it."""
    import pandas as pd

    if leave_out not in LEAVE_OUT:
        raise InputError(f"leave_out: {leave_out!r} is not one of {', '.join(LEAVE_OUT)}")
    rows = []
    for point in points:
        removed = held_out(catalog, points, point.run_id, leave_out)
        prior = fit_prior([p for p in points if p.run_id not in removed], features)
        hours = predict_gpu_hours(prior, point, features_scope="scope" in features, draws=draws, seed=seed)
        p10, p50, p90 = np.quantile(hours, [0.1, 0.5, 0.9])
        scope = point.scope if "scope" in features else "pretrain"
        rows.append({
            "run_id": point.run_id,
            "reported_gpu_hours": point.gpu_hours,
            "p10_gpu_hours": float(p10),
            "p50_gpu_hours": float(p50),
            "p90_gpu_hours": float(p90),
            "fitted_on": len(prior.runs),
            "log_score": _log_score(prior, point, scope),
        })
    return pd.DataFrame(rows)


# ---------------------------------------------------------------------------------------------
# Energy model check
# ---------------------------------------------------------------------------------------------

_BASIS_TEXT = {
    "tdp_x_hours": "no test: published figure is accelerator-hours x TDP by construction",
    "gpu_measured": "measured GPU power x time (GPU only), times the reported PUE",
    "unstated": "published MWh, basis not stated (below chip TDP per accelerator-hour, so GPU-level)",
}


def energy_check(catalog: Catalog, prior: UtilizationPrior, *, draws: int = DEFAULT_DRAWS,
                 seed: int = DEFAULT_SEED) -> pd.DataFrame:
    """Model energy beside every published energy figure in data/training_runs.csv.

    ``model_facility_mwh`` is the energy of DESIGN s3 item 7 (TDP x chip-to-server multiplier x
    fraction drawn x PUE, per accelerator-hour): what `estimate` reports. ``model_accelerator_mwh``
    drops the chip-to-server multiplier (the accelerators' own draw, TDP x fraction drawn x PUE,
    assuming the chip draws the same fraction of its TDP as the server does of its rating): the
    boundary of GPU-metered figures. Hours are the reported ones; where a run has none (OLMo 2), the
    P50 of the prior fitted on all calibration runs (none of which is that run), flagged
    ``hours_known = False``. Published GPU-only figures are multiplied by the reported PUE. No
    figure here is used to fit anything.
    """
    import pandas as pd

    default_pue = catalog.site(K.DEFAULT_SITE, flag="site").pue
    rows = []
    for run in catalog.training_runs.values():
        if run.energy_mwh is None or run.accelerator is None:
            continue
        chip = catalog.accelerators[run.accelerator]
        hours_known = run.gpu_hours is not None
        if hours_known:
            hours = run.gpu_hours
        else:
            flop = run.hours_flop
            if flop is None:
                continue
            point = CalibrationPoint(run_id=run.id, accelerator=chip.id, precision=run.precision or "bf16",
                                     active_params=run.active_params, flop=flop, gpu_hours=math.nan,
                                     scope="pretrain", utilization=math.nan,
                                     peak_bf16_flop_per_s=chip.peak_bf16_flop_per_s)
            hours = float(np.median(predict_gpu_hours(prior, point, features_scope=False, draws=draws, seed=seed)))
        pue = run.pue if run.pue is not None else default_pue
        facility_w = kc.average_power_w(chip.server_power_w, chip.server_power_fraction, pue)
        accelerator_w = kc.average_power_w(chip.tdp_w, chip.server_power_fraction, pue)
        published = run.energy_mwh * (pue if run.energy_basis == "gpu_measured" else 1.0)
        model_facility = float(kc.energy_mwh(hours, facility_w))
        model_accel = float(kc.energy_mwh(hours, accelerator_w))
        rows.append({
            "run_id": run.id,
            "accelerator": chip.id,
            "gpu_hours": hours,
            "hours_known": hours_known,
            "energy_basis": run.energy_basis,
            "pue": pue,
            "pue_source": "reported" if run.pue is not None else f"{K.DEFAULT_SITE} site (assumed)",
            "published_mwh": run.energy_mwh,
            "published_facility_mwh": published,
            "model_facility_mwh": model_facility,
            "model_accelerator_mwh": model_accel,
            "facility_error": model_facility / published - 1.0,
            "accelerator_error": model_accel / published - 1.0,
            "tests_model": run.energy_basis != "tdp_x_hours",
            "what_it_tests": _BASIS_TEXT[run.energy_basis],
        })
    return pd.DataFrame(rows)


def bound_check(catalog: Catalog, prior: UtilizationPrior, *, draws: int = DEFAULT_DRAWS,
                seed: int = DEFAULT_SEED) -> pd.DataFrame:
    """Runs whose reported hours are an upper bound (GLM-130B's access window): is the P50 below it?

    They never calibrate, so the prior fitted on all calibration runs predicts them out of sample.
    """
    import pandas as pd

    rows = []
    for point in calibration_points(catalog, scopes=("upper_bound",)):
        hours = predict_gpu_hours(prior, point, features_scope=False, draws=draws, seed=seed)
        p10, p50, p90 = np.quantile(hours, [0.1, 0.5, 0.9])
        rows.append({"run_id": point.run_id, "upper_bound_gpu_hours": point.gpu_hours,
                     "p10_gpu_hours": float(p10), "p50_gpu_hours": float(p50), "p90_gpu_hours": float(p90),
                     "p50_within_bound": bool(p50 <= point.gpu_hours)})
    return pd.DataFrame(rows, columns=["run_id", "upper_bound_gpu_hours", "p10_gpu_hours", "p50_gpu_hours",
                                       "p90_gpu_hours", "p50_within_bound"])


def power_check(catalog: Catalog) -> pd.DataFrame:
    """Facility power at the rating (n x TDP x multiplier, before PUE) beside published run power.

    The published figures here are Epoch AI estimates made with the same formula, so the implied PUE
    (published / IT power) checks constants and arithmetic, not the model.
    """
    import pandas as pd

    rows = []
    for run in catalog.training_runs.values():
        if run.power_mw is None or run.accelerator is None or run.n_accelerators is None:
            continue
        chip = catalog.accelerators[run.accelerator]
        it_mw = float(kc.peak_power_mw(run.n_accelerators, chip.server_power_w, 1.0))
        rows.append({
            "run_id": run.id,
            "accelerator": chip.id,
            "n_accelerators": run.n_accelerators,
            "model_it_power_mw": it_mw,
            "published_power_mw": run.power_mw,
            "implied_pue": run.power_mw / it_mw,
            "confidence": run.confidence,
        })
    return pd.DataFrame(rows)


# ---------------------------------------------------------------------------------------------
# The backtest
# ---------------------------------------------------------------------------------------------


@dataclass
class BacktestResult:
    """Per-run predictions, summary metrics, alternatives compared, energy and power checks."""

    runs: pd.DataFrame
    summary: pd.DataFrame
    alternatives: pd.DataFrame
    energy: pd.DataFrame
    power: pd.DataFrame
    bounds: pd.DataFrame
    prior: str
    settings: dict[str, Any]
    provenance: dict[str, Any] = field(repr=False)

    def energy_summary(self) -> dict[str, Any]:
        """Median |error| of the energy model on independent figures with known accelerator-hours."""
        known = self.energy[self.energy["tests_model"] & self.energy["hours_known"]]
        out: dict[str, Any] = {"n_runs": int(len(known)), "runs": list(known["run_id"])}
        for col in ("facility", "accelerator"):
            values = known[f"{col}_error"].abs()
            out[f"median_abs_{col}_error"] = float(values.median()) if len(values) else None
        return out

    def targets(self) -> pd.DataFrame:
        """Each target of the issue beside the value reached on the calibration runs."""
        import pandas as pd

        s = self.summary.loc["calibrated prior"]
        e = self.energy_summary()
        rows = [
            ("accelerator-hours MdAPE", "<=", TARGETS["mdape_max"], s["mdape"]),
            ("P10-P90 coverage", ">=", TARGETS["coverage_min"], s["coverage_p10_p90"]),
            ("median P90/P10", "<=", TARGETS["median_p90_over_p10_max"], s["median_p90_over_p10"]),
            ("energy from known hours, median |error| (full model)", "<=", TARGETS["energy_error_max"],
             e["median_abs_facility_error"]),
            ("energy from known hours, median |error| (accelerator boundary)", "<=",
             TARGETS["energy_error_max"], e["median_abs_accelerator_error"]),
        ]
        frame = pd.DataFrame(rows, columns=["target", "op", "threshold", "value"])
        frame["met"] = [
            (v is not None and not (isinstance(v, float) and math.isnan(v)))
            and (v <= t if op == "<=" else v >= t)
            for op, t, v in zip(frame["op"], frame["threshold"], frame["value"])
        ]
        return frame.set_index("target")

    def to_dict(self) -> dict:
        """The JSON of `backtest --format json`."""
        def records(frame):
            return json.loads(frame.to_json(orient="records"))

        summary = {
            name: {k: (int(v) if k == "n_runs" else (None if _isnan(v) else v)) for k, v in row.items()}
            for name, row in self.summary.iterrows()
        }
        return json_ready({
            "prior": self.prior,
            "settings": self.settings,
            "summary": summary,
            "runs": records(self.runs),
            "alternatives": records(self.alternatives),
            "energy": records(self.energy),
            "energy_summary": self.energy_summary(),
            "power": records(self.power),
            "bounds": records(self.bounds),
            "targets": records(self.targets().reset_index()),
            "version": self.provenance["version"],
            "provenance": self.provenance,
        })

    def to_table(self) -> str:
        """Tables a person reads at a glance."""
        st = self.settings
        lines = [
            f"Backtest: leave-{st['leave_out']}-out on {len(self.runs)} calibration runs; prior {self.prior}",
            f"naive baseline: 6ND at MFU {st['naive_mfu']:g} of the dense peak at the run's precision",
            "",
            f"{'run':<18}{'reported':>10}{'p10':>10}{'p50':>10}{'p90':>10}{'in':>4}{'APE':>7}"
            f"{'naive':>10}{'APE':>7}  scope",
        ]
        for r in self.runs.itertuples():
            lines.append(
                f"{r.run_id:<18}{format_number(r.reported_gpu_hours):>10}{format_number(r.p10_gpu_hours):>10}"
                f"{format_number(r.p50_gpu_hours):>10}{format_number(r.p90_gpu_hours):>10}"
                f"{'y' if r.inside else 'n':>4}{r.ape:>7.0%}{format_number(r.naive_gpu_hours):>10}"
                f"{r.naive_ape:>7.0%}  {r.scope}"
            )
        lines += ["", f"{'method':<28}{'runs':>5}{'MdAPE':>8}{'cover':>8}{'P90/P10':>9}{'P50/rep':>9}"]
        for name, s in self.summary.iterrows():
            cover = "-" if s["coverage_p10_p90"] is None or _isnan(s["coverage_p10_p90"]) else f"{s['coverage_p10_p90']:.0%}"
            width = "-" if s["median_p90_over_p10"] is None or _isnan(s["median_p90_over_p10"]) else f"{s['median_p90_over_p10']:.2f}"
            lines.append(f"{name:<28}{int(s['n_runs']):>5}{s['mdape']:>8.1%}{cover:>8}{width:>9}"
                         f"{s['median_p50_over_reported']:>9.2f}")
        lines += ["", "alternatives (leave-out, features): MdAPE, coverage, median P90/P10, mean log score"]
        for a in self.alternatives.itertuples():
            lines.append(f"  {a.leave_out:<6}{a.features:<16}{a.mdape:>7.1%}{a.coverage_p10_p90:>7.0%}"
                         f"{a.median_p90_over_p10:>7.2f}{a.mean_log_score:>8.3f}")
        lines += ["", "energy model (never fitted): model / published - 1",
                  f"  {'run':<16}{'hours':>9}{'known':>6}{'published':>11}{'full':>8}{'accel':>8}  basis"]
        for e in self.energy.itertuples():
            lines.append(
                f"  {e.run_id:<16}{format_number(e.gpu_hours):>9}{'y' if e.hours_known else 'n':>6}"
                f"{format_number(e.published_facility_mwh):>11}{e.facility_error:>+8.0%}{e.accelerator_error:>+8.0%}"
                f"  {e.energy_basis}"
            )
        for p in self.power.itertuples():
            lines.append(f"  power {p.run_id}: {p.n_accelerators:,} x {p.accelerator} = "
                         f"{p.model_it_power_mw:.1f} MW IT; published {p.published_power_mw:g} MW -> PUE {p.implied_pue:.2f}")
        for b in self.bounds.itertuples():
            lines.append(f"  bound {b.run_id}: P50 {format_number(b.p50_gpu_hours)} h vs reported upper bound "
                         f"{format_number(b.upper_bound_gpu_hours)} h -> {'within' if b.p50_within_bound else 'ABOVE'}")
        lines += ["", "targets:"]
        for name, t in self.targets().iterrows():
            value = "-" if t["value"] is None or _isnan(t["value"]) else f"{t['value']:.3g}"
            lines.append(f"  {name:<62} {t['op']} {t['threshold']:<5g} {value:>7}  {'met' if t['met'] else 'NOT met'}")
        prov = self.provenance
        lines += ["", f"{st['draws']:,} draws, seed {st['seed']}, data {prov['data_hash']}, compute-race {prov['version']}"]
        return "\n".join(lines)

    def plot(self, ax=None):
        """Predicted (P50, P10-P90 bars) against reported accelerator-hours, log-log, with the naive baseline
        (`plots.backtest`)."""
        from .plots import backtest

        return backtest(self, ax)

    def _repr_html_(self) -> str:  # notebooks show the summary table
        return self.summary.to_html(float_format=lambda v: f"{v:.3g}")


def _isnan(value) -> bool:
    return isinstance(value, float) and math.isnan(value)


def backtest(catalog: Catalog | None = None, *, features: tuple[str, ...] = FEATURES, leave_out: str = "run",
             draws: int = DEFAULT_DRAWS, seed: int = DEFAULT_SEED, naive_mfu: float = NAIVE_MFU,
             alternatives: dict[str, tuple[str, ...]] | None = None) -> BacktestResult:
    """Leave-one-out backtest of accelerator-hours on the calibration runs, naive baseline, energy check.

    `features` are the prior's (default: the one `estimate` uses); `leave_out` is "run" or "group"
    (siblings out too); `alternatives` maps a label to a feature set, each compared under both
    leave-out modes (default `ALTERNATIVES`). Hours in accelerator-hours, energy in MWh.
    """
    import pandas as pd

    catalog = catalog or load_catalog()
    draws = _number("draws", draws, integer=True, low=100, low_open=False, high=MAX_DRAWS,
                    allowed=f"a whole number from 100 to {MAX_DRAWS:,}")
    seed = _number("seed", seed, integer=True, low=0, low_open=False, allowed="a whole number >= 0")
    naive_mfu = _number("naive_mfu", naive_mfu, high=1.0, allowed="a number in (0, 1]")
    features = tuple(features)
    alternatives = ALTERNATIVES if alternatives is None else alternatives

    points = calibration_points(catalog)
    if len(points) < len(features) + 3:
        raise InputError(f"data/training_runs.csv: only {len(points)} calibration runs; the backtest needs "
                         f"at least {len(features) + 3}")
    frame = leave_out_predictions(catalog, points, features, leave_out=leave_out, draws=draws, seed=seed)
    info = {p.run_id: p for p in points}
    frame["model"] = [catalog.training_runs[r].model for r in frame["run_id"]]
    frame["accelerator"] = [info[r].accelerator for r in frame["run_id"]]
    frame["precision"] = [info[r].precision for r in frame["run_id"]]
    frame["scope"] = [info[r].scope for r in frame["run_id"]]
    frame["active_params"] = [info[r].active_params for r in frame["run_id"]]
    frame["hours_flop"] = [info[r].flop for r in frame["run_id"]]
    frame["utilization"] = [info[r].utilization for r in frame["run_id"]]
    frame["inside"] = (frame["p10_gpu_hours"] <= frame["reported_gpu_hours"]) & (
        frame["reported_gpu_hours"] <= frame["p90_gpu_hours"])
    frame["ape"] = (frame["p50_gpu_hours"] - frame["reported_gpu_hours"]).abs() / frame["reported_gpu_hours"]
    naive_peaks = np.array([
        catalog.accelerators[info[r].accelerator].peak_flop_per_s(info[r].precision) for r in frame["run_id"]
    ])
    frame["naive_gpu_hours"] = naive_gpu_hours(frame["hours_flop"].to_numpy(), naive_peaks, naive_mfu)
    frame["naive_ape"] = (frame["naive_gpu_hours"] - frame["reported_gpu_hours"]).abs() / frame["reported_gpu_hours"]
    columns = ["run_id", "model", "accelerator", "precision", "scope", "active_params", "hours_flop",
               "reported_gpu_hours", "utilization", "p10_gpu_hours", "p50_gpu_hours", "p90_gpu_hours", "inside",
               "ape", "naive_gpu_hours", "naive_ape", "fitted_on", "log_score"]
    runs = frame[columns]

    method = interval_metrics(runs["reported_gpu_hours"], runs["p10_gpu_hours"], runs["p50_gpu_hours"],
                              runs["p90_gpu_hours"])
    method["mean_log_score"] = float(runs["log_score"].mean())
    naive = interval_metrics(runs["reported_gpu_hours"], None, runs["naive_gpu_hours"], None)
    naive["mean_log_score"] = None
    summary = pd.DataFrame([method, naive], index=pd.Index(
        ["calibrated prior", f"naive 6ND @ MFU {naive_mfu:g}"], name="method"))

    alt_rows = []
    for label, feats in alternatives.items():
        for mode in LEAVE_OUT:
            try:
                alt = leave_out_predictions(catalog, points, tuple(feats), leave_out=mode, draws=draws, seed=seed)
            except ValueError as exc:  # a feature set the data cannot separate once runs are left out
                alt_rows.append({"features": label, "leave_out": mode, "n_runs": len(points), "mdape": math.nan,
                                 "coverage_p10_p90": math.nan, "median_p90_over_p10": math.nan,
                                 "median_p50_over_reported": math.nan, "mean_log_score": math.nan,
                                 "note": str(exc)})
                continue
            m = interval_metrics(alt["reported_gpu_hours"], alt["p10_gpu_hours"], alt["p50_gpu_hours"],
                                 alt["p90_gpu_hours"])
            alt_rows.append({"features": label, "leave_out": mode, **m,
                             "mean_log_score": float(alt["log_score"].mean()), "note": ""})
    alternatives_frame = pd.DataFrame(alt_rows)

    full_prior = fit_prior(points, features)
    energy = energy_check(catalog, full_prior, draws=draws, seed=seed)
    power = power_check(catalog)
    bounds = bound_check(catalog, full_prior, draws=draws, seed=seed)
    settings = {"features": list(features), "leave_out": leave_out, "draws": draws, "seed": seed,
                "naive_mfu": naive_mfu, "fit_scopes": list(FIT_SCOPES),
                "calibration_runs": [p.run_id for p in points]}
    return BacktestResult(
        runs=runs.reset_index(drop=True),
        summary=summary,
        alternatives=alternatives_frame,
        energy=energy,
        power=power,
        bounds=bounds,
        prior=full_prior.describe(),
        settings=settings,
        provenance=provenance(seed=seed, backend=select("numpy"), data_hash=catalog.data_hash),
    )


def loo_catalog(catalog: Catalog, run_id: str) -> Catalog:
    """The catalog without one training run (a new data hash, so cached priors are not reused)."""
    runs = {k: v for k, v in catalog.training_runs.items() if k != run_id}
    return dataclasses.replace(catalog, training_runs=runs, data_hash=f"{catalog.data_hash}-without-{run_id}",
                               _frames={})


def run_cli(args) -> int:
    """`python -m analysis backtest [--format table|json]`."""
    result = backtest()
    if args.format == "json":
        print(json.dumps(result.to_dict(), indent=2, allow_nan=False))
    else:
        print(result.to_table())
    return 0

"""What a race returns: `SimulationResult`, and the statistics it is built from.

Per competitor, the quantiles of each stored metric (time-to-train counting unfinished draws as
beyond the horizon); across competitors, P(first) with ties split, P(nobody within the horizon) and
pairwise leads (`race_statistics`). The result gives tidy DataFrames, the JSON contract of
``simulate --format json`` (`to_dict`) and the CLI's table (`to_table`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from ..errors import InputError
from ..formatting import format_value, present
from ..inputs.scenario import Scenario
from ..inputs.specs import month_label
from .plan import CompetitorPlan
from .summary import QUANTILES, json_ready, quantiles, select_quantiles

if TYPE_CHECKING:
    import pandas as pd

#: The unit of each metric (the summary's `unit` column).
METRIC_UNITS = {
    "time_to_train_months": "months",
    "gpu_hours": "accelerator-hours",
    "energy_mwh": "MWh",
    "peak_power_mw": "MW",
    "cost_usd": "USD",
    "committed_usd": "USD",
    "emissions_tco2e": "tCO2e",
    "training_flop": "FLOP",
    "effective_flop": "effective FLOP (FLOP of the reference recipe at the scenario start)",
    "run_length_months": "months",
    "launch_month": "months after the scenario start",
    "release_month": "months after the scenario start",
}

#: Metrics in the JSON contract (docs/architecture.md §4), then extensions.
CONTRACT_METRICS = (
    "time_to_train_months",
    "gpu_hours",
    "energy_mwh",
    "peak_power_mw",
    "cost_usd",
    "emissions_tco2e",
)
EXTRA_METRICS = ("committed_usd", "training_flop", "effective_flop", "run_length_months")
#: Months after the scenario start, quantiles counting runs that never launch or finish within the
#: horizon as beyond it (None where a quantile falls there), as time_to_train_months.
TIMING_METRICS = ("launch_month", "release_month")


@dataclass
class SimulationResult:
    """What `simulate` returns: per-competitor quantiles, who finishes first, lead times.

    Attributes
    ----------
    scenario : Scenario
        The scenario as run (draws and seed included).
    backend : str
        ``"numpy"`` or ``"cupy"``.
    competitors : list of dict
        Per competitor: lab, model, P(first), P(within horizon) and the quantiles of each metric;
        ``.summary`` and ``.race`` show them as DataFrames.
    p_nobody : float
        The probability that nobody finishes within the horizon.
    pairwise : list of dict
        Per pair of competitors: P(a before b), P(b before a), the lead in months (``.pairs``).
    provenance : dict
        Version, git commit, data hash, seed, backend, device and the race kernel that ran.
    per_draw : dict or None
        Per-draw inputs and outcomes with ``keep_draws=True`` (``.draws`` as a DataFrame).
    """

    scenario: Scenario
    backend: str
    competitors: list[dict]
    p_nobody: float
    pairwise: list[dict]
    provenance: dict
    per_draw: dict[str, dict[str, np.ndarray]] | None = field(default=None, repr=False)

    @property
    def labels(self) -> list[str]:
        return [c["label"] for c in self.competitors]

    @property
    def summary(self) -> pd.DataFrame:
        """Tidy: one row per competitor and metric, with unit, p10, p50, p90, mean."""
        import pandas as pd

        rows = []
        for comp in self.competitors:
            for metric in CONTRACT_METRICS + EXTRA_METRICS + TIMING_METRICS:
                q = comp[metric]
                rows.append(
                    {
                        "lab": comp["lab"],
                        "model": comp["model"],
                        "metric": metric,
                        "unit": METRIC_UNITS[metric],
                        **q,
                    }
                )
        return pd.DataFrame(rows)

    @property
    def race(self) -> pd.DataFrame:
        """One row per competitor: P(first), P(within horizon), time-to-train quantiles."""
        import pandas as pd

        rows = []
        for comp in self.competitors:
            q = comp["time_to_train_months"]
            rows.append(
                {
                    "lab": comp["lab"],
                    "model": comp["model"],
                    "p_first": comp["p_first"],
                    "p_within_horizon": comp["p_within_horizon"],
                    "months_p10": q["p10"],
                    "months_p50": q["p50"],
                    "months_p90": q["p90"],
                }
            )
        rows.append(
            {
                "lab": "nobody within horizon",
                "model": "",
                "p_first": self.p_nobody,
                "p_within_horizon": float("nan"),
            }
        )
        return pd.DataFrame(rows)

    @property
    def pairs(self) -> pd.DataFrame:
        """Pairwise: P(A finishes before B) and quantiles of B's finish minus A's (months)."""
        import pandas as pd

        return pd.DataFrame(self.pairwise)

    @property
    def draws(self) -> pd.DataFrame:
        """Per-draw inputs and outcomes, long by competitor (needs keep_draws=True)."""
        import pandas as pd

        if self.per_draw is None:
            raise InputError("per-draw results were not kept; call simulate(..., keep_draws=True)")
        frames = []
        for label, columns in self.per_draw.items():
            comp = next(c for c in self.competitors if c["label"] == label)
            frame = pd.DataFrame(columns)
            frame.insert(0, "model", comp["model"])
            frame.insert(0, "lab", comp["lab"])
            frame.insert(0, "draw", np.arange(len(frame)))
            frames.append(frame)
        return pd.concat(frames, ignore_index=True)

    def to_dict(self) -> dict:
        """The JSON contract of `simulate --format json` (docs/architecture.md §4) plus race
        extensions."""
        comps = []
        for comp in self.competitors:
            entry = {
                k: comp[k] for k in ("lab", "model", "p_first", "p_within_horizon", "p_launched")
            }
            for metric in CONTRACT_METRICS + EXTRA_METRICS + TIMING_METRICS:
                entry[metric] = comp[metric]
            entry["finish_month"] = comp["finish_month"]
            entry["target"] = comp["target"]
            comps.append(entry)
        return json_ready(
            {
                "scenario": self.scenario.name,
                "draws": self.scenario.draws,
                "backend": self.backend,
                "horizon_months": self.scenario.horizon_months,
                "start": self.scenario.start,
                "target_flop": self.scenario.target_flop,
                "target_effective_flop": self.scenario.target_effective_flop,
                "competitors": comps,
                "p_nobody_within_horizon": self.p_nobody,
                "pairwise": self.pairwise,
                "notes": "time_to_train_months, finish_month, launch_month and release_month are "
                "months after the scenario start, counting runs that never launch or finish "
                "within the horizon as beyond it (null where a quantile falls there); the other "
                "quantiles are over runs that finish within the horizon. A run launches once, on "
                "an accelerator count fixed at launch; without a target its training FLOP are an "
                "output",
                "provenance": self.provenance,
            }
        )

    def to_table(self) -> str:
        """The race at a glance."""
        sc = self.scenario
        if sc.target_flop:
            target = f"common target {sc.target_flop:.3g} FLOP"
        elif sc.target_effective_flop:
            target = f"common target {sc.target_effective_flop:.3g} effective FLOP"
        else:
            target = "each lab's own next run"
        lines = [
            f"Race '{sc.name}': {target}; start {sc.start}, horizon {sc.horizon_months:g} months, "
            f"{sc.draws:,} draws, "
            f"{'runs may span sites' if sc.span_sites else 'one campus per run'}",
            "",
            f"{'competitor':<26}{'P(first)':>9}{'P(done)':>9}{'launch':>9}{'run mo':>8}"
            f"{'trained p10':>12}{'p50':>9}{'p90':>9}{'release':>9}{'FLOP':>9}{'eff FLOP':>10}"
            f"{'cost':>10}{'MW':>8}",
        ]
        beyond = f">{month_label(sc.start_index + sc.horizon_months)}"

        def when(q, key="p50"):
            value = q[key]
            return beyond if value is None else month_label(sc.start_index + value)

        for comp in self.competitors:
            t = comp["time_to_train_months"]
            run = comp["run_length_months"]["p50"]
            lines.append(
                f"{comp['label'][:25]:<26}{comp['p_first']:>9.1%}{comp['p_within_horizon']:>9.1%}"
                f"{when(comp['launch_month']):>9}"
                f"{('-' if run is None else f'{run:.1f}'):>8}"
                f"{when(t, 'p10'):>12}{when(t):>9}{when(t, 'p90'):>9}"
                f"{when(comp['release_month']):>9}"
                f"{format_value(comp['training_flop']['p50'], 'training_flop'):>9}"
                f"{format_value(comp['effective_flop']['p50'], 'training_flop'):>10}"
                f"{format_value(comp['cost_usd']['p50'], 'cost_usd'):>10}"
                f"{format_value(comp['peak_power_mw']['p50'], 'peak_power_mw'):>8}"
            )
        lines.append(f"{'nobody within horizon':<26}{self.p_nobody:>9.1%}")
        lines.append(
            "(months as YYYY-MM, P50 unless marked; run mo = pre-training months; FLOP and "
            "eff FLOP = training and effective FLOP, P50)"
        )
        if self.pairwise:
            lines += [
                "",
                "Pairwise: P(A trained before B), and B's finish minus A's in months "
                "(p10 / p50 / p90)",
            ]
            for pair in self.pairwise:
                lead = pair["lead_months"]
                lead_text = " / ".join(
                    "-" if lead[k] is None else f"{lead[k]:+.1f}" for k in ("p10", "p50", "p90")
                )
                lines.append(
                    f"  {pair['a']} before {pair['b']}: {pair['p_a_before_b']:.1%}   lead "
                    f"{lead_text}"
                )
        prov = self.provenance
        lines += [
            "",
            f"seed {sc.seed}, backend {prov['device']}, data {prov['data_hash']}, "
            f"compute-race {prov['version']}; costs, energy and power are over runs that finish",
        ]
        return "\n".join(lines)

    def _repr_html_(self) -> str:
        return present(self.race).to_html()


_QUANTILE_LEVELS = np.array(list(QUANTILES.values()))


def _finish_quantiles(finish: np.ndarray, start_months: float) -> tuple[dict, dict]:
    """Quantiles of the finish month and of time-to-train (finish minus the start) with unfinished
    draws counted as +inf (None where a quantile is): one selection over the stored array (radix
    selection, or a partition of a scratch copy), the start subtracted from the finish month's
    figures."""
    values = finish
    all_finite = bool(values.size) and bool(np.isfinite(values).all())
    mean = float(values.mean(dtype=np.float64)) if all_finite else None
    with np.errstate(
        invalid="ignore"
    ):  # inf - inf inside the interpolation: the quantile is beyond
        qs = select_quantiles(values, _QUANTILE_LEVELS) if values.size else np.full(3, np.nan)
    out = []
    for shift in (0.0, start_months):
        entry = {
            k: (float(q - shift) if np.isfinite(q) else None)
            for k, q in zip(("p10", "p50", "p90"), qs)
        }
        entry["mean"] = None if mean is None else mean - shift
        out.append(entry)
    return out[0], out[1]


def competitor_quantiles(plan: CompetitorPlan, values: dict[str, np.ndarray]) -> dict:
    """One competitor's summary from its per-draw metrics (P(first) is added by the race
    statistics)."""
    done = np.isfinite(values["finish_month"])
    entry = {
        "lab": plan.competitor.lab,
        "model": plan.competitor.model,
        "label": plan.label,
        "p_first": None,
        "p_within_horizon": float(done.mean()),
        "p_launched": float(np.isfinite(values["launch_month"]).mean()),
        "target": {"kind": plan.target_kind, "flop": plan.target},
    }
    entry["finish_month"], _ = _finish_quantiles(values["finish_month"], 0.0)
    entry["time_to_train_months"] = dict(entry["finish_month"])
    for metric in TIMING_METRICS:
        entry[metric], _ = _finish_quantiles(values[metric], 0.0)
    for metric in CONTRACT_METRICS[1:] + EXTRA_METRICS:
        # Over the finished draws: an unfinished draw's metrics are NaN (run_outcomes), which
        # quantiles() leaves out, so no copy of the finished draws is made.
        entry[metric] = quantiles(values[metric])
    return entry


def race_statistics(finish: dict[str, np.ndarray]) -> tuple[dict[str, float], float, list[dict]]:
    """P(first) per competitor (ties split), P(nobody), pairwise P(A before B) and lead
    quantiles."""
    labels = list(finish)
    # Row by row in the stored dtype (min, == and < are exact in float32) and with boolean masks and
    # counts, so no (competitors, draws) or per-draw float64 array: at 1e7 draws those copies and
    # their temporaries were the peak of simulate's memory and most of this stage's time.
    rows = [finish[k] for k in labels]
    n = rows[0].shape[0]
    best = rows[0].copy()
    for row in rows[1:]:
        np.minimum(best, row, out=best)
    someone = np.isfinite(best)
    wins = [(row == best) & someone for row in rows]
    ties = np.zeros(
        n, dtype=np.int16
    )  # competitors sharing the best time (0 where nobody finishes)
    for win in wins:
        ties += win
    tied = ties > 1
    p_first = {}
    for lab, win in zip(labels, wins):
        # A tie of k splits the draw in k equal parts: whole wins, plus 1/k of each k-way tie.
        alone = np.count_nonzero(win & ~tied)
        shared = (
            sum(np.count_nonzero(win & (ties == k)) / k for k in range(2, len(rows) + 1))
            if tied.any()
            else 0.0
        )
        p_first[lab] = float((alone + shared) / n)
    p_nobody = float((n - np.count_nonzero(someone)) / n)
    pairs = []
    for i, a in enumerate(labels):
        for j in range(i + 1, len(labels)):
            b = labels[j]
            ta, tb = rows[i], rows[j]
            both = np.isfinite(ta) & np.isfinite(tb)
            diff = np.compress(both, tb).astype(np.float64)
            diff -= np.compress(both, ta)
            lead = quantiles(diff, overwrite=True) if diff.size else quantiles([])
            pairs.append(
                {
                    "a": a,
                    "b": b,
                    "p_a_before_b": float(np.count_nonzero(ta < tb) / n),
                    "p_b_before_a": float(np.count_nonzero(tb < ta) / n),
                    "p_both_within_horizon": float(np.count_nonzero(both) / n),
                    "lead_months": lead,
                }
            )
    return p_first, p_nobody, pairs

"""The hindcast: races as of past dates, planned as labs plan runs, set against what happened.

Each hindcast race (scenarios/hindcast_*.yaml) is a scenario whose knowledge dates from `as_of`:
each lab's next compute-record pre-training run after that date, at its published size
(`hindsight`), launched by the lab's planning rule on the clusters of the time, trained for a budget
from the run-length record, released after a post-training lag. For every run the hindcast reports
the predicted release month (P10 / P50 / P90), the actual one (data/flagship_releases.csv), whether
the actual lies inside P10-P90, and the predicted run length; per race, whether the P50 order of
releases is history's; and beside it a naive baseline that knows only each lab's release cadence:
its last record release plus the interval between its last two (the median interval of every lab
when a lab has one release), no earlier than the end of the as-of month.

The targets it is judged by: the actual release inside P10-P90 for at least 80% of runs, the P50
order right in every race, every P50 run length inside the 48-180 days frontier runs took in
2023-2025, and a median absolute error in months below the naive baseline's.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from ..errors import InputError
from ..inputs.catalog import Catalog, load_catalog, read_csv
from ..inputs.limits import check_draws, check_seed
from ..inputs.scenario import load_scenario
from ..inputs.specs import FlagshipRelease, month_index, month_label
from ..model.run import simulate
from ..model.summary import json_ready
from ..paths import SCENARIOS_DIR

if TYPE_CHECKING:
    import pandas as pd

#: The shipped hindcast races, oldest first.
HINDCASTS = (SCENARIOS_DIR / "hindcast_2024_01.yaml", SCENARIOS_DIR / "hindcast_2024_06.yaml")
RELEASES_FILE = "flagship_releases.csv"
#: The run-length band of frontier pre-training runs recorded in 2023-2025 (days): Epoch AI 'Data
#: on AI Models' and the papers of Llama 3.1 405B, DeepSeek-V3 and Nemotron-4 (constants.py).
RECORD_RUN_DAYS = (48.0, 180.0)
#: Share of runs whose actual release must lie inside the predicted P10-P90.
COVERAGE_TARGET = 0.8
DAYS_PER_MONTH = 365.25 / 12


def load_releases(catalog: Catalog | None = None) -> dict[str, FlagshipRelease]:
    """data/flagship_releases.csv, validated (one error per bad row, naming file, line, field).

    Parameters
    ----------
    catalog : Catalog, optional
        Whose data folder to read (default: data/).

    Returns
    -------
    dict of str to FlagshipRelease
        The releases by id.
    """
    root = (catalog or load_catalog()).data_dir
    return read_csv(Path(root) / RELEASES_FILE, FlagshipRelease)


def _end_of(month_label_text: str) -> float:
    """The end of a YYYY-MM month as a fractional month index (the start of the next)."""
    return month_index(month_label_text) + 1.0


def naive_release(releases: dict[str, FlagshipRelease], lab: str, as_of: str) -> float:
    """The cadence baseline's release: the lab's last record release by the end of `as_of` plus
    the interval between its last two (the median of every lab's last interval when it has one),
    and no earlier than the end of the as-of month.

    Parameters
    ----------
    releases : dict of str to FlagshipRelease
        From `load_releases`.
    lab : str
        The lab.
    as_of : str
        YYYY-MM; releases up to the end of that month are known.

    Returns
    -------
    float
        The predicted release as a fractional month index (`specs.month_index` plus the day).
    """
    cutoff = _end_of(as_of)
    known = [r for r in releases.values() if r.record and r.released_month < cutoff]
    by_lab: dict[str, list[float]] = {}
    for r in known:
        by_lab.setdefault(r.lab, []).append(r.released_month)
    for months in by_lab.values():
        months.sort()
    mine = by_lab.get(lab, [])
    if not mine:
        raise InputError(f"{RELEASES_FILE}: no record release of {lab!r} before {as_of}")
    intervals = [m[-1] - m[-2] for m in by_lab.values() if len(m) >= 2]
    interval = mine[-1] - mine[-2] if len(mine) >= 2 else float(np.median(intervals))
    return max(mine[-1] + interval, cutoff)


def _calendar(start_index: int, q: dict, horizon_end: float) -> dict:
    """Quantiles in months after the start -> fractional month indexes (None: beyond horizon)."""
    return {k: (None if q[k] is None else start_index + q[k]) for k in ("p10", "p50", "p90")}


def _label(value: float | None, horizon_end: float) -> str:
    return f">{month_label(horizon_end)}" if value is None else month_label(value)


@dataclass
class HindcastResult:
    """The hindcast's runs and its verdict on the four targets; `to_dict()` is the JSON.

    Attributes
    ----------
    runs : list of dict
        One per run: lab, model, as_of, release_month and run_length_months quantiles, the actual
        release, covered, the naive release and both errors.
    races : list of dict
        One per race: as_of, scenario, the P50 and actual orders of labs, order_correct_p50.
    draws : int
        Draws per race.
    provenance : dict
        Versions, data hash, seed of the last race.
    targets : dict
        The four targets and whether each is met.
    """

    runs: list[dict]
    races: list[dict]
    draws: int
    provenance: dict
    targets: dict = field(default_factory=dict)

    @property
    def coverage(self) -> float:
        return float(np.mean([r["covered"] for r in self.runs]))

    @property
    def order_correct_p50(self) -> bool:
        return all(race["order_correct_p50"] for race in self.races)

    @property
    def frame(self) -> pd.DataFrame:
        """One row per run: lab, model, as_of, release P10/P50/P90 and actual (YYYY-MM), covered,
        run length P50 (days), absolute P50 and naive errors (months)."""
        import pandas as pd

        rows = []
        for r in self.runs:
            rows.append(
                {
                    "as_of": r["as_of"],
                    "lab": r["lab"],
                    "model": r["model"],
                    "release_p10": r["release_month"]["p10"],
                    "release_p50": r["release_month"]["p50"],
                    "release_p90": r["release_month"]["p90"],
                    "actual_release": r["actual_release_month"],
                    "covered": r["covered"],
                    "naive_release": r["naive_release_month"],
                    "run_length_p50_days": r["run_length_days_p50"],
                    "error_p50_months": r["abs_error_months"],
                    "naive_error_months": r["naive_abs_error_months"],
                    "p_launched": r["p_launched"],
                }
            )
        return pd.DataFrame(rows)

    def to_dict(self) -> dict:
        return json_ready(
            {
                "runs": self.runs,
                "order_correct_p50": self.order_correct_p50,
                "coverage": self.coverage,
                "median_abs_error_months": {
                    "model": self.targets["model_mdae_months"],
                    "naive": self.targets["naive_mdae_months"],
                },
                "races": self.races,
                "targets": self.targets,
                "draws": self.draws,
                "notes": "release_month and run_length_months are each run's predicted P10/P50/P90 "
                "(YYYY-MM; '>YYYY-MM' beyond the race's horizon); covered: the actual release lies "
                "inside P10-P90; the naive baseline is the lab's last record release plus its last "
                "interval; errors are absolute, in months, of the P50 (the horizon's end where the "
                "P50 lies beyond it)",
                "provenance": self.provenance,
            }
        )

    def to_table(self) -> str:
        lines = [
            "Hindcast: each lab's next record run, planned as of the date, against history",
            "",
            f"{'as of':<8}{'lab':<10}{'model':<17}{'release p10':>12}{'p50':>9}{'p90':>10}"
            f"{'actual':>9}{'in':>4}{'naive':>9}{'run p50':>9}{'|err|':>7}{'naive':>7}",
        ]
        for r in self.runs:
            q = r["release_month"]
            lines.append(
                f"{r['as_of']:<8}{r['lab']:<10}{r['model'][:16]:<17}{q['p10']:>12}{q['p50']:>9}"
                f"{q['p90']:>10}{r['actual_release_month']:>9}"
                f"{('yes' if r['covered'] else 'no'):>4}"
                f"{r['naive_release_month']:>9}{r['run_length_days_p50']:>7.0f} d"
                f"{r['abs_error_months']:>7.1f}{r['naive_abs_error_months']:>7.1f}"
            )
        t = self.targets
        lines += [
            "",
            f"actual inside P10-P90: {self.coverage:.0%} of {len(self.runs)} runs (target >= "
            f"{COVERAGE_TARGET:.0%}); P50 order as history: "
            + ", ".join(
                f"{race['as_of']} {'yes' if race['order_correct_p50'] else 'no'}"
                for race in self.races
            )
            + f"; P50 run lengths within {RECORD_RUN_DAYS[0]:.0f}-{RECORD_RUN_DAYS[1]:.0f} days: "
            f"{'yes' if t['run_lengths_in_record'] else 'no'}",
            f"median absolute error of the P50: {t['model_mdae_months']:.1f} months, naive cadence "
            f"{t['naive_mdae_months']:.1f} months "
            f"({'better' if t['beats_naive'] else 'not better'})"
            f"; {self.draws:,} draws per race",
        ]
        return "\n".join(lines)


def _race(path, releases, catalog, draws, seed, backend) -> tuple[list[dict], dict]:
    scenario = load_scenario(path, catalog)
    if scenario.as_of is None:
        raise InputError(f"{path}: a hindcast race needs as_of: YYYY-MM (its knowledge date)")
    result = simulate(
        scenario, catalog=catalog, draws=draws, seed=seed, backend=backend, progress=False
    )
    start = scenario.start_index
    horizon_end = start + scenario.horizon_months
    runs = []
    for comp in result.competitors:
        release = releases.get(comp["model"])
        if release is None:
            raise InputError(
                f"{path}: competitor model {comp['model']!r} has no row in data/{RELEASES_FILE} "
                "(its actual release)"
            )
        actual = release.released_month
        q = _calendar(start, comp["release_month"], horizon_end)
        low = q["p10"]
        high = q["p90"]
        covered = low is not None and low <= actual and (high is None or actual <= high)
        p50 = q["p50"] if q["p50"] is not None else horizon_end
        naive = naive_release(releases, comp["lab"], scenario.as_of)
        run = comp["run_length_months"]
        runs.append(
            {
                "lab": comp["lab"],
                "model": release.model,
                "model_id": comp["model"],
                "as_of": scenario.as_of,
                "scenario": scenario.name,
                "release_month": {k: _label(v, horizon_end) for k, v in q.items()},
                "trained_month": {
                    k: _label(v, horizon_end)
                    for k, v in _calendar(start, comp["time_to_train_months"], horizon_end).items()
                },
                "launch_month": {
                    k: _label(v, horizon_end)
                    for k, v in _calendar(start, comp["launch_month"], horizon_end).items()
                },
                "actual_release_month": release.released[:7],
                "actual_release": release.released,
                "covered": bool(covered),
                "run_length_months": {k: run[k] for k in ("p10", "p50", "p90")},
                "run_length_days_p50": None if run["p50"] is None else run["p50"] * DAYS_PER_MONTH,
                "p_launched": comp["p_launched"],
                "p_within_horizon": comp["p_within_horizon"],
                "naive_release_month": month_label(naive),
                "abs_error_months": abs(p50 - actual),
                "naive_abs_error_months": abs(naive - actual),
                "_p50": p50,
                "_actual": actual,
            }
        )
    by_p50 = [r["lab"] for r in sorted(runs, key=lambda r: r["_p50"])]
    by_actual = [r["lab"] for r in sorted(runs, key=lambda r: r["_actual"])]
    race = {
        "as_of": scenario.as_of,
        "scenario": scenario.name,
        "order_p50": by_p50,
        "order_actual": by_actual,
        "order_correct_p50": by_p50 == by_actual,
    }
    for r in runs:
        del r["_p50"], r["_actual"]
    return runs, race, result.provenance


def hindcast(
    scenarios=HINDCASTS,
    *,
    draws: int | None = None,
    seed: int | None = None,
    backend: str | None = None,
    catalog: Catalog | None = None,
) -> HindcastResult:
    """Run the hindcast races and judge them against history.

    Parameters
    ----------
    scenarios : sequence of paths or dicts
        Hindcast races (scenarios with `as_of`); default the shipped ones (HINDCASTS).
    draws, seed : int, optional
        Replace each race's draws and seed.
    backend : str, optional
        Array backend ("auto", "numpy", "cupy").
    catalog : Catalog, optional
        The data (default: data/).

    Returns
    -------
    HindcastResult
        Per run the predicted and actual release, coverage, run length and errors; per race the
        P50 order; the targets met (`.targets`); `.to_dict()` is `hindcast --format json`.
    """
    catalog = catalog or load_catalog()
    if draws is not None:
        draws = check_draws(draws)
    if seed is not None:
        seed = check_seed(seed)
    releases = load_releases(catalog)
    runs, races, provenance = [], [], {}
    for path in scenarios:
        race_runs, race, provenance = _race(path, releases, catalog, draws, seed, backend)
        runs += race_runs
        races.append(race)
    days = [r["run_length_days_p50"] for r in runs]
    model_mdae = float(np.median([r["abs_error_months"] for r in runs]))
    naive_mdae = float(np.median([r["naive_abs_error_months"] for r in runs]))
    result = HindcastResult(runs=runs, races=races, draws=draws or 0, provenance=provenance)
    result.draws = draws if draws is not None else load_scenario(scenarios[0], catalog).draws
    result.targets = {
        "coverage": result.coverage,
        "coverage_met": result.coverage >= COVERAGE_TARGET,
        "order_correct_p50": result.order_correct_p50,
        "run_lengths_in_record": all(
            d is not None and RECORD_RUN_DAYS[0] <= d <= RECORD_RUN_DAYS[1] for d in days
        ),
        "model_mdae_months": model_mdae,
        "naive_mdae_months": naive_mdae,
        "beats_naive": model_mdae < naive_mdae,
    }
    return result


def headline_metrics(result: HindcastResult) -> dict[str, Any]:
    """Notebook 31's recorded metrics (the README's hindcast figures).

    Parameters
    ----------
    result : HindcastResult
        From `hindcast`.

    Returns
    -------
    dict
        coverage_p10_p90, order_correct_p50, run_lengths_in_record, model_mdae_months,
        naive_mdae_months, runs.
    """
    t = result.targets
    return {
        "coverage_p10_p90": t["coverage"],
        "order_correct_p50": t["order_correct_p50"],
        "run_lengths_in_record": t["run_lengths_in_record"],
        "model_mdae_months": t["model_mdae_months"],
        "naive_mdae_months": t["naive_mdae_months"],
        "runs": len(result.runs),
    }


def run_cli(args) -> int:
    """`python -m analysis hindcast [--draws K] [--seed S] [--backend B] [--format table|json]`.

    Parameters
    ----------
    args : argparse.Namespace
        The parsed flags: draws, seed, backend, format.

    Returns
    -------
    int
        The exit status (0).
    """
    import json

    result = hindcast(draws=args.draws, seed=args.seed, backend=args.backend)
    if args.format == "json":
        print(json.dumps(result.to_dict(), indent=2, allow_nan=False))
    else:
        print(result.to_table())
    return 0

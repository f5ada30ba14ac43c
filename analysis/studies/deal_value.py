"""The marginal value of one deal to one lab, per common compute target, from paired draws.

For each target the race is simulated twice with the same seed: as written, and with the deal
dropped (scale 0). Every other input draws the same values in both runs (common random numbers, see
scenarios/README.md), so the per-draw difference is the deal's effect alone. Reported per target:

- months gained by the lab's run: the per-draw difference of time-to-train without minus with the
  deal; P50 with the p10-p90 interval over draws. A run not done within the horizon counts as
  finishing at the horizon, so a gain involving such a draw is a lower bound.
- change in P(lab first), in percentage points, with a 95% interval for the paired difference
  (normal approximation on the per-draw indicator differences, scipy.stats).
- the smallest target at which the deal "matters": P50 months gained of at least MATTERS_MONTHS, or
  a P(first) change whose 95% interval excludes zero and exceeds MATTERS_PP in size.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd
from scipy import stats

from ..errors import InputError
from ..inputs.catalog import Catalog
from ..inputs.limits import MAX_TRAINING_FLOP, MIN_TRAINING_FLOP
from .whatif import WhatIf, what_if

#: Frontier compute targets swept by default (FLOP): Grok-3 class (~3e26) up to ~10x GPT-4.5-class.
FRONTIER_TARGETS_FLOP = (1e26, 3e26, 1e27, 3e27)
#: Most targets per call: each one is two paired simulations.
MAX_TARGETS = 100
#: Threshold for "the deal matters": a median gain of half a month (below the one-month time step,
#: but above the interpolation noise of the finish inside a step).
MATTERS_MONTHS = 0.5
#: Threshold for "the deal matters" in P(first): one percentage point, interval excluding zero.
MATTERS_PP = 1.0
#: Two-sided 95% normal quantile for the interval on the change in P(first).
_Z95 = float(stats.norm.ppf(0.975))


@dataclasses.dataclass(frozen=True)
class DealValue:
    """Per-target marginal value of `deal` to `lab`; `.table` has one row per target."""

    deal: str
    lab: str
    scenario: str
    draws: int
    seed: int
    span_sites: bool
    horizon_months: float
    table: pd.DataFrame

    @property
    def matters_from_flop(self) -> float | None:
        """The smallest swept target (FLOP) at which the deal matters, None if at none."""
        rows = self.table[self.table["matters"]]
        return float(rows["target_flop"].min()) if len(rows) else None

    def to_text(self) -> str:
        """A plain-text table with a one-line verdict, for `make run`."""
        where = "runs may span sites" if self.span_sites else "one campus per run"
        lines = [
            f"Marginal value of {self.deal} to {self.lab} ('{self.scenario}', {where}; "
            f"{self.draws:,} paired draws, "
            f"seed {self.seed})",
            f"{'target FLOP':>12}{'months gained p50':>19}{'p10..p90':>16}"
            f"{'P(first) with':>15}{'without':>9}"
            f"{'change pp':>11}{'95% interval':>18}{'matters':>9}",
        ]
        for row in self.table.itertuples():
            lines.append(
                f"{row.target_flop:>12.0e}{row.months_gained_p50:>19.1f}"
                f"{f'{row.months_gained_p10:.1f}..{row.months_gained_p90:.1f}':>16}"
                f"{row.p_first_with:>15.1%}{row.p_first_without:>9.1%}{row.p_first_change_pp:>+11.1f}"
                f"{f'{row.p_first_change_pp_low:+.1f}..{row.p_first_change_pp_high:+.1f}':>18}"
                f"{'yes' if row.matters else 'no':>9}"
            )
        start = self.matters_from_flop
        lines.append(
            f"The deal starts to matter at {start:.0e} FLOP."
            if start is not None
            else "The deal does not matter at any target from "
            f"{self.table['target_flop'].min():.0e} to "
            f"{self.table['target_flop'].max():.0e} FLOP (median gain < {MATTERS_MONTHS} month, "
            f"P(first) change < {MATTERS_PP} pp)."
        )
        return "\n".join(lines)


def _lab_index(result, lab: str) -> int:
    labs = [c["lab"] for c in result.competitors]
    if lab not in labs:
        raise InputError(
            f"lab: {lab!r} is not a competitor of scenario {result.scenario.name!r}; "
            f"competitors: {', '.join(labs)}"
        )
    return labs.index(lab)


def _per_draw(result, lab: str) -> tuple[np.ndarray, np.ndarray]:
    """(finish month since the race start, unfinished draws at the horizon; `lab`'s share of first).

    Both runs of a pair share the race start, so finish months differ exactly as times-to-train do.
    """
    i = _lab_index(result, lab)
    finish = {
        label: np.asarray(cols["finish_month"], dtype=np.float64)
        for label, cols in result.per_draw.items()
    }
    labels = list(finish)
    rows = np.vstack([finish[k] for k in labels])
    best = rows.min(axis=0)
    someone = np.isfinite(best)
    ties = (rows == best) & someone
    share = np.where(
        ties[i], 1.0 / np.maximum(ties.sum(axis=0), 1), 0.0
    )  # ties split, as in simulate
    horizon = result.scenario.horizon_months
    months = np.where(np.isfinite(rows[i]), rows[i], horizon)
    return months, share


def deal_marginal_value(
    scenario: str | Path | dict | WhatIf = "scenarios/next_frontier.yaml",
    *,
    deal: str = "meta-coreweave-2026",
    lab: str = "Meta",
    targets_flop: Sequence[float] = FRONTIER_TARGETS_FLOP,
    draws: int | None = 2000,
    seed: int | None = None,
    span_sites: bool | None = None,
    only_campus: bool = False,
    catalog: Catalog | None = None,
    backend: str | None = None,
) -> DealValue:
    """Months gained and change in P(first) for `lab` from `deal`, per common target (paired draws).

    targets_flop: common compute targets in FLOP (each > 0). draws, seed: replace the scenario's
    (None keeps them). span_sites: override the scenario's campus rule. only_campus: keep only the
    lab's deals on the deal's own campus (what the deal does where it is all the lab has). Returns a
    DealValue whose `.table` has, per target: target_flop, months_gained_p10/p50/p90 (months,
    without minus with), p_first_with, p_first_without (probabilities), p_first_change_pp and its
    95% interval (p_first_change_pp_low/high, percentage points), p_done_with/without, matters
    (bool).
    """
    allowed = (
        f"a list of 1 to {MAX_TARGETS} FLOP values from {MIN_TRAINING_FLOP:g} to "
        f"{MAX_TRAINING_FLOP:g}"
    )
    try:
        if isinstance(targets_flop, (str, bytes)):
            raise TypeError  # a string is a sequence of characters, not of targets
        targets = [float(t) for t in targets_flop]
    except (TypeError, ValueError):
        raise InputError(f"targets_flop: expected {allowed}, got {targets_flop!r}") from None
    if not 1 <= len(targets) <= MAX_TARGETS or not all(
        MIN_TRAINING_FLOP <= t <= MAX_TRAINING_FLOP for t in targets
    ):
        shown = repr(targets) if len(targets) <= 5 else f"{len(targets)} values"
        raise InputError(f"targets_flop: expected {allowed}, got {shown}")
    base = what_if(scenario, catalog=catalog, draws=draws, seed=seed, span_sites=span_sites)
    if deal not in base.catalog.deals:
        raise InputError(f"deal: unknown deal {deal!r}")
    if only_campus:
        campus = base.catalog.deals[deal].campus_id
        keep = [
            d
            for comp in base.scenario.competitors
            for d in comp.deals
            if comp.lab != lab or base.catalog.deals[d].campus_id == campus
        ]
        base = base.with_changes(only_deals=keep)
    rows = []
    for target in sorted(targets):
        with_deal = base.with_changes(target_flop=target)
        without = with_deal.with_changes(deal_scale={deal: 0.0})
        res_with = with_deal.simulate(keep_draws=True, backend=backend)
        res_without = without.simulate(keep_draws=True, backend=backend)
        months_with, first_with = _per_draw(res_with, lab)
        months_without, first_without = _per_draw(res_without, lab)
        # Rounded to 1e-4 months (~4 minutes): the kernel accumulates in float32, whose rounding
        # alone moves a finish by a few 1e-6 months when the deal adds nothing.
        gained = np.round(months_without - months_with, 4) + 0.0
        p10, p50, p90 = np.quantile(gained, [0.1, 0.5, 0.9])
        diff = first_with - first_without
        change = 100.0 * float(diff.mean())
        half = 100.0 * _Z95 * float(stats.sem(diff)) if diff.size > 1 else 0.0
        half = 0.0 if not np.isfinite(half) else half
        low, high = change - half, change + half
        matters = bool(
            p50 >= MATTERS_MONTHS or (abs(change) >= MATTERS_PP and (low > 0 or high < 0))
        )
        rows.append(
            {
                "target_flop": target,
                "months_gained_p10": float(p10) + 0.0,
                "months_gained_p50": float(p50) + 0.0,
                "months_gained_p90": float(p90) + 0.0,  # + 0.0 turns -0.0 into 0.0 for display
                "p_first_with": float(first_with.mean()),
                "p_first_without": float(first_without.mean()),
                "p_first_change_pp": change,
                "p_first_change_pp_low": low,
                "p_first_change_pp_high": high,
                "p_done_with": float(np.mean(months_with < base.scenario.horizon_months)),
                "p_done_without": float(np.mean(months_without < base.scenario.horizon_months)),
                "matters": matters,
            }
        )
    name = base.scenario.name + (
        f", {lab} on the {base.catalog.deals[deal].campus_id} campus only" if only_campus else ""
    )
    return DealValue(
        deal=deal,
        lab=lab,
        scenario=name,
        draws=base.scenario.draws,
        seed=base.scenario.seed,
        span_sites=base.scenario.span_sites,
        horizon_months=base.scenario.horizon_months,
        table=pd.DataFrame(rows),
    )


@dataclasses.dataclass
class DealEffect:
    """With versus without one deal (`deal_effect`): the summary table and every simulation."""

    table: pd.DataFrame
    #: (target name, case, variant label, SimulationResult) of each run, for curves and checks.
    results: list


def deal_effect(
    wi: WhatIf,
    deal_id: str,
    *,
    targets=(None,),
    backend: str | None = None,
) -> DealEffect:
    """With versus without one deal: in the race as set, and for its buyer's run on the deal's own
    campus alone (where the contract's capacity is all the run gets), at each compute target.

    Parameters
    ----------
    wi : WhatIf
        The race (a `what_if` variant).
    deal_id : str
        The deal dropped (scale 0) in the "without" variant.
    targets : sequence of float or None
        None (or 0) keeps the scenario's target; a number sets a common compute target (FLOP).
    backend : str, optional
        Array backend.

    Returns
    -------
    DealEffect
        `.table`: one row per target, case, variant and lab with P(first) (race only), P(done
        within horizon), time-to-train p10/p50/p90, training FLOP p50 and cost p50; `.results`:
        the simulations (`views.tables.deal_effect_curves` draws their curves).
    """

    if deal_id not in wi.catalog.deals:
        raise InputError(f"deal: unknown deal {deal_id!r}")
    deal = wi.catalog.deals[deal_id]
    holders = [c for c in wi.scenario.competitors if deal_id in c.deals]
    if not holders:
        raise InputError(f"deal: {deal_id!r} is not used by any competitor of this scenario")
    campus_deals = [d for d in holders[0].deals if wi.catalog.deals[d].campus_id == deal.campus_id]
    rows, results = [], []
    seen = set()
    for target in targets:
        at = wi.with_changes(target_flop=target)
        sc = at.scenario
        if sc.target_flop in seen:
            continue
        seen.add(sc.target_flop)
        target_name = (
            f"{sc.target_flop:.3g} FLOP for every lab" if sc.target_flop else "each lab's own model"
        )
        cases = [
            ("race as set", at),
            (
                f"{holders[0].lab} on campus {deal.campus_id} only",
                at.with_changes(only_deals=campus_deals),
            ),
        ]
        for case, base in cases:
            variants = [("with", base)]
            if case == "race as set" or len(campus_deals) > 1:
                variants.append(("without", base.with_changes(deal_scale={deal_id: 0.0})))
            for variant, variant_wi in variants:
                result = variant_wi.simulate(backend=backend, keep_draws=True)
                label = f"{variant} {deal_id}"
                for comp in result.competitors:
                    t = comp["time_to_train_months"]
                    rows.append(
                        {
                            "target": target_name,
                            "target_flop": sc.target_flop,
                            "case": case,
                            "variant": label,
                            "lab": comp["lab"],
                            "p_first": comp["p_first"] if case == "race as set" else float("nan"),
                            "p_within_horizon": comp["p_within_horizon"],
                            "months_p10": t["p10"],
                            "months_p50": t["p50"],
                            "months_p90": t["p90"],
                            "training_flop_p50": comp["training_flop"]["p50"],
                            "cost_p50_usd": comp["cost_usd"]["p50"],
                        }
                    )
                results.append((target_name, case, label, result))
    return DealEffect(table=pd.DataFrame(rows), results=results)


def deal_effect_metrics(effect: DealEffect, deal_id: str, lab: str) -> dict[str, float | None]:
    """What the deal buys `lab` per target and case: months saved at p50 (without minus with; None
    where a p50 is beyond the horizon), P(done within horizon) with and without it, and the gain.
    Keys end in
    `<race|campus_only>_<own_model|1e27...>_<lab>`."""
    out: dict[str, float | None] = {}
    table = effect.table
    part = table[table["lab"] == lab]
    for target, by_target in part.groupby("target", sort=False):
        target_flop = by_target["target_flop"].iloc[0]
        target_key = (
            "own_model"
            if target_flop is None or math.isnan(target_flop)
            else f"{target_flop:.0e}".replace("+", "")
        )
        for c, (case, rows) in enumerate(by_target.groupby("case", sort=False)):
            values = rows.set_index("variant")
            if f"without {deal_id}" not in values.index:
                continue
            with_, without = values.loc[f"with {deal_id}"], values.loc[f"without {deal_id}"]
            name = f"{'race' if c == 0 else 'campus_only'}_{target_key}_{lab.lower()}"
            a, b = with_["months_p50"], without["months_p50"]
            ok = a is not None and b is not None and not (math.isnan(a) or math.isnan(b))
            out[f"deal_saves_p50_months_{name}"] = float(b - a) if ok else None
            out[f"deal_adds_p_done_{name}"] = float(
                with_["p_within_horizon"] - without["p_within_horizon"]
            )
            out[f"p_done_with_deal_{name}"] = float(with_["p_within_horizon"])
            out[f"p_done_without_deal_{name}"] = float(without["p_within_horizon"])
    return out


def headline_metrics(
    frontier: DealValue, pooled: DealValue, campus_only: DealValue
) -> dict[str, float | None]:
    """The numbers notebook 20's headline and the README rest on, flat for `cells.record_metrics`.

    `frontier`, `pooled` and `campus_only` are the deal's value with one campus per run, with runs
    that may pool sites, and on the deal's own campus alone (`deal_marginal_value`). Probabilities
    as fractions, months as months, changes in P(first) in percentage points.
    """
    both = pd.concat([frontier.table, pooled.table])
    out: dict[str, float | None] = {
        "deal_p_first_min_with_or_without": float(
            both[["p_first_with", "p_first_without"]].min().min()
        ),
        "deal_p_first_change_pp_max_abs": float(both["p_first_change_pp"].abs().max()),
        "deal_months_gained_p50_max": float(both["months_gained_p50"].max()),
        "deal_campus_only_matters_from_flop": campus_only.matters_from_flop,
    }
    for row in campus_only.table.itertuples():
        key = f"{row.target_flop:.0e}".replace("+", "")
        out[f"deal_campus_only_{key}_months_gained_p50"] = float(row.months_gained_p50)
        out[f"deal_campus_only_{key}_months_gained_p10"] = float(row.months_gained_p10)
        out[f"deal_campus_only_{key}_months_gained_p90"] = float(row.months_gained_p90)
        out[f"deal_campus_only_{key}_p_first_change_pp"] = float(row.p_first_change_pp)
        out[f"deal_campus_only_{key}_p_first_change_pp_low"] = float(row.p_first_change_pp_low)
        out[f"deal_campus_only_{key}_p_first_change_pp_high"] = float(row.p_first_change_pp_high)
    return out


#: Paired draws per target for the `make run` summary (the pairing removes most of the noise).
REPORT_DRAWS = 5000


def frontier_report(
    scenario: str = "scenarios/next_frontier.yaml",
    *,
    deal: str = "meta-coreweave-2026",
    lab: str = "Meta",
    draws: int = REPORT_DRAWS,
) -> str:
    """The next-frontier race table and the deal's marginal value: one campus per run, pooled sites,
    and on the deal's own campus alone."""
    race = what_if(scenario, draws=draws).simulate()
    parts = [
        race.to_table(),
        "",
        deal_marginal_value(scenario, deal=deal, lab=lab, draws=draws).to_text(),
    ]
    if not race.scenario.span_sites:
        parts += [
            "",
            deal_marginal_value(
                scenario, deal=deal, lab=lab, draws=draws, span_sites=True
            ).to_text(),
        ]
    # Where the deal is all the lab has: the size of what it buys, apart from the lab's other
    # campuses.
    parts += [
        "",
        deal_marginal_value(scenario, deal=deal, lab=lab, draws=draws, only_campus=True).to_text(),
    ]
    return "\n".join(parts)


#: The wide data assumptions behind the deal's answer, each as a what-if at the ends of its range
#: (data/deals.yaml says where each range comes from).
WIDE_ASSUMPTIONS: dict[str, dict] = {
    "as shipped": {},
    "deal at 0.3x (30% overlap, 10% training share, 10.5 USD/GPU-h list rate)": {
        "deal_scale": {"meta-coreweave-2026": 0.3}
    },
    "deal at 2x (no overlap, 50% training share, 4.2 USD/GPU-h)": {
        "deal_scale": {"meta-coreweave-2026": 2.0}
    },
    "Prometheus 12 months later than the data (power ramp slips again)": {
        "deal_delay_months": {"meta-prometheus": 12}
    },
    "deal at 2x, Prometheus 12 months late, no AMD capacity (the deal's best case)": {
        "deal_scale": {"meta-coreweave-2026": 2.0, "meta-amd-mi450": 0.0},
        "deal_delay_months": {"meta-prometheus": 12},
    },
    "rivals strong: Alibaba capex share 40% (2.4x domestic), DeepSeek 60k Ascend (3x)": {
        "deal_scale": {"alibaba-capex-2025-domestic": 2.4, "deepseek-ascend": 3.0}
    },
    "rivals weak: Alibaba capex share 15% (0.65x domestic), DeepSeek 5k Ascend (0.25x)": {
        "deal_scale": {"alibaba-capex-2025-domestic": 0.65, "deepseek-ascend": 0.25}
    },
}


def wide_assumptions_table(
    scenario: str = "scenarios/next_frontier.yaml",
    *,
    deal: str = "meta-coreweave-2026",
    lab: str = "Meta",
    draws: int | None = 2000,
    seed: int | None = None,
    backend: str | None = None,
) -> pd.DataFrame:
    """Does the deal's answer move at the ends of the wide assumption ranges? One row per variant.

    Columns: variant, matters_from_flop (FLOP, NaN where the deal matters at no swept target),
    max_months_gained_p50 (months, over targets), max_abs_p_first_change_pp (points, over targets),
    min_p_first_with (the lab's lowest P(first) with the deal, over targets).
    """
    rows = []
    for variant, changes in WIDE_ASSUMPTIONS.items():
        base = what_if(scenario, draws=draws, seed=seed, **changes)
        value = deal_marginal_value(base, deal=deal, lab=lab, draws=draws, backend=backend)
        table = value.table
        start = value.matters_from_flop
        rows.append(
            {
                "variant": variant,
                "matters_from_flop": start if start is not None else float("nan"),
                "max_months_gained_p50": float(table["months_gained_p50"].max()),
                "max_abs_p_first_change_pp": float(table["p_first_change_pp"].abs().max()),
                "min_p_first_with": float(table["p_first_with"].min()),
            }
        )
    return pd.DataFrame(rows)

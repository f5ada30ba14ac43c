"""Capacity online over time: accelerators and facility power per lab, campus and deal, with bands.

The race kernel integrates capacity without keeping it; this module replays the same plan tables
(`simulate.plan_competitor`), the same draws (`simulate.sample_inputs`) and the same table indexing
(`simulate.base_index`, one step = SUBSTEPS fine cells) on the host, so the timeline shown in a
notebook is the capacity the race used, step by step, before each lab's share for one run.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from ..errors import InputError
from ..inputs.catalog import Catalog
from ..inputs.specs import month_label
from ..model.calibration import default_prior
from ..model.plan import SUBSTEPS, plan_competitor
from ..model.run import base_index, sample_inputs
from ..model.summary import QUANTILES
from .whatif import WhatIf, what_if

if TYPE_CHECKING:
    import pandas as pd

#: Quantities of the timeline, each reported as p10 / p50 / p90 / mean columns.
QUANTITIES = {
    "accelerators": "accelerators delivered and online (before the power cap)",
    "powered_accelerators": "accelerators the campus power cap lets run",
    "demand_mw": "facility power the delivered accelerators would draw at rating, MW",
    "facility_mw": "facility power drawn at rating after the cap, MW",
    "cap_mw": "power available to the campus, MW (NaN: not power-capped)",
}


def _bands(values: np.ndarray) -> dict[str, np.ndarray]:
    """p10/p50/p90/mean over draws (axis 0) of a (draws, steps) array."""
    qs = np.quantile(values, list(QUANTILES.values()), axis=0)
    out = {key: q for key, q in zip(QUANTILES, qs)}
    out["mean"] = values.mean(axis=0)
    return out


def capacity_timeline(
    scenario: str | WhatIf | object | None = "scenarios/default.yaml",
    draws: int | None = None,
    seed: int | None = None,
    *,
    catalog: Catalog | None = None,
) -> pd.DataFrame:
    """Capacity online over time: one row per time step x lab x level (deal, campus, lab) x name.

    The same plan tables, draws and table indexing as the race, replayed on the host, so the
    timeline is the one the race integrates. Accelerators are the lab's, not the share one run gets.

    Parameters
    ----------
    scenario : str, WhatIf or Scenario
        A scenario file relative to the project root (default scenarios/default.yaml), a dict, a
        Scenario or a WhatIf.
    draws, seed : int, optional
        Replace the scenario's draws and seed.
    catalog : Catalog, optional
        The inputs to use; default `load_catalog()`.

    Returns
    -------
    pandas.DataFrame
        Columns lab, model, level (``"deal"``, ``"campus"`` or ``"lab"``), name (deal id, campus id
        or ``"all deals"``), campus, kind, month (months since the scenario start, start of the
        step), date (YYYY-MM), ``<quantity>_p10/_p50/_p90/_mean`` for each of QUANTITIES (step
        averages) and p_cap_binds (share of draws in which the campus power cap binds in that step;
        for a lab, any of its campuses; NaN where nothing is capped).
    """
    import pandas as pd

    wi = what_if(scenario, catalog=catalog, draws=draws, seed=seed)
    sc, cat = wi.scenario, wi.catalog
    prior = default_prior(cat)
    dt = sc.time_step_months
    h = dt / SUBSTEPS
    n = sc.draws
    steps = np.arange(sc.steps) * SUBSTEPS
    months = np.arange(sc.steps) * dt
    dates = [month_label(sc.start_index + m) for m in months]
    frames = []

    def emit(plan, level, name, campus, kind, series, binds):
        row = {
            "lab": plan.competitor.lab,
            "model": plan.competitor.model,
            "level": level,
            "name": name,
            "campus": campus,
            "kind": kind,
            "month": months,
            "date": dates,
        }
        for quantity, values in series.items():
            if values is None:
                for key in (*QUANTILES, "mean"):
                    row[f"{quantity}_{key}"] = np.full(sc.steps, np.nan)
            else:
                for key, band in _bands(values).items():
                    row[f"{quantity}_{key}"] = band
        row["p_cap_binds"] = binds.mean(axis=0) if binds is not None else np.full(sc.steps, np.nan)
        frames.append(pd.DataFrame(row))

    for index, comp in enumerate(sc.competitors):
        plan = plan_competitor(index, comp, sc, cat)
        inputs = sample_inputs(plan, sc, cat, prior, 0, n)
        accelerators, server_w = [], []
        campus_pue: list[np.ndarray | None] = [None] * len(plan.campus_ids)
        for p in plan.deals:
            idx = (
                base_index(p.x_min, p.offset_months, inputs[f"delay:{p.deal.id}"], p.delay_cap, h)[
                    :, None
                ]
                + steps
            )
            accelerators.append(p.flops_table[idx] / p.peak_bf16)
            server_w.append(p.power_table[idx])
            # As in simulate.run_chunk: the campus runs at the PUE of its last deal, per draw.
            campus_pue[p.campus] = np.maximum(p.pue + inputs[f"pue_delta:{p.deal.region}"], 1.0)[
                :, None
            ]
        campus_scale, campus_binds, campus_cap_mw = [], [], []
        campus_demand_w = []
        for c, cap in enumerate(plan.caps):
            demand_w = sum(w for p, w in zip(plan.deals, server_w) if p.campus == c) * campus_pue[c]
            campus_demand_w.append(demand_w)
            if cap is None:
                campus_scale.append(np.ones_like(demand_w))
                campus_binds.append(None)
                campus_cap_mw.append(None)
                continue
            cap_base = base_index(
                cap.x_min, cap.offset_months, inputs[f"power_delay:{cap.deal.id}"], cap.delay_cap, h
            )
            cap_w = cap.table[cap_base[:, None] + steps] * 1e6
            over = demand_w > cap_w
            campus_scale.append(np.where(over, cap_w / np.where(over, demand_w, 1.0), 1.0))
            campus_binds.append(over)
            campus_cap_mw.append(cap_w * 1e-6)

        for p, acc, w in zip(plan.deals, accelerators, server_w):
            scale = campus_scale[p.campus]
            emit(
                plan,
                "deal",
                p.deal.id,
                plan.campus_ids[p.campus],
                p.deal.kind,
                {
                    "accelerators": acc,
                    "powered_accelerators": acc * scale,
                    "demand_mw": w * campus_pue[p.campus] * 1e-6,
                    "facility_mw": w * campus_pue[p.campus] * scale * 1e-6,
                    "cap_mw": campus_cap_mw[p.campus],
                },
                campus_binds[p.campus],
            )
        for c, campus in enumerate(plan.campus_ids):
            members = [i for i, p in enumerate(plan.deals) if p.campus == c]
            acc = sum(accelerators[i] for i in members)
            kinds = sorted({plan.deals[i].deal.kind for i in members})
            emit(
                plan,
                "campus",
                campus,
                campus,
                "+".join(kinds),
                {
                    "accelerators": acc,
                    "powered_accelerators": acc * campus_scale[c],
                    "demand_mw": campus_demand_w[c] * 1e-6,
                    "facility_mw": campus_demand_w[c] * campus_scale[c] * 1e-6,
                    "cap_mw": campus_cap_mw[c],
                },
                campus_binds[c],
            )
        acc = sum(accelerators)
        powered = sum(a * campus_scale[p.campus] for p, a in zip(plan.deals, accelerators))
        capped = [b for b in campus_binds if b is not None]
        caps = [m for m in campus_cap_mw if m is not None]
        emit(
            plan,
            "lab",
            "all deals",
            "",
            "+".join(sorted({p.deal.kind for p in plan.deals})),
            {
                "accelerators": acc,
                "powered_accelerators": powered,
                "demand_mw": sum(campus_demand_w) * 1e-6,
                "facility_mw": sum(d * s for d, s in zip(campus_demand_w, campus_scale)) * 1e-6,
                "cap_mw": sum(caps) if caps else None,
            },
            np.logical_or.reduce(capped) if capped else None,
        )
    return pd.concat(frames, ignore_index=True)


def _check_threshold(threshold) -> None:
    if not (
        isinstance(threshold, (int, float))
        and not isinstance(threshold, bool)
        and 0 <= threshold < 1
    ):
        raise InputError(f"threshold: expected a share of draws in [0, 1), got {threshold!r}")


def cap_binding_summary(timeline: pd.DataFrame, *, threshold: float = 0.5) -> pd.DataFrame:
    """When each power-capped campus's cap binds, from a capacity timeline.

    Parameters
    ----------
    timeline : pandas.DataFrame
        From `capacity_timeline`.
    threshold : float
        The share of draws in which the cap must bind for a month to count.

    Returns
    -------
    pandas.DataFrame
        One row per power-capped campus: first and last month the cap binds in more than
        `threshold` of draws, the number of such months, the largest share of draws bound, and the
        p50 accelerators idled then.
    """
    import pandas as pd

    _check_threshold(threshold)

    campuses = timeline[(timeline["level"] == "campus") & timeline["p_cap_binds"].notna()]
    rows = []
    for (lab, campus), group in campuses.groupby(["lab", "name"], sort=False):
        binding = group[group["p_cap_binds"] > threshold]
        idle = group["accelerators_p50"] - group["powered_accelerators_p50"]
        rows.append(
            {
                "lab": lab,
                "campus": campus,
                "months_binding": int(len(binding)),
                "first_binding": binding["date"].iloc[0] if len(binding) else None,
                "last_binding": binding["date"].iloc[-1] if len(binding) else None,
                "max_p_cap_binds": float(group["p_cap_binds"].max()),
                "max_idle_accelerators_p50": float(idle.max()),
            }
        )
    return pd.DataFrame(rows)


def lab_totals(timeline: pd.DataFrame, *, every_months: float = 6.0) -> pd.DataFrame:
    """Each lab's accelerators and facility MW at regular months, from a capacity timeline.

    Parameters
    ----------
    timeline : pandas.DataFrame
        From `capacity_timeline`.
    every_months : float
        Months between rows: a whole number of the timeline's steps, up to its length.

    Returns
    -------
    pandas.DataFrame
        One row per lab and month: lab, date, accelerators_p10/_p50/_p90 (delivered),
        powered_accelerators_p50, facility_mw_p50 and p_cap_binds.

    Raises
    ------
    InputError
        When `every_months` is not a whole number of steps within the timeline.
    """
    months = np.unique(timeline["month"].to_numpy())
    step = float(np.min(np.diff(months))) if len(months) > 1 else 1.0
    last = max(float(months[-1]), step)
    if not (
        isinstance(every_months, (int, float))
        and step <= every_months <= last
        and np.isclose(every_months / step, round(every_months / step))
    ):
        raise InputError(
            f"every_months: expected a whole number of {step:g}-month steps from {step:g} to "
            f"{last:g}, got {every_months!r}"
        )
    rows = timeline[
        (timeline["level"] == "lab") & np.isclose(timeline["month"] % every_months, 0.0)
    ]
    columns = [
        "lab",
        "date",
        "accelerators_p10",
        "accelerators_p50",
        "accelerators_p90",
        "powered_accelerators_p50",
        "facility_mw_p50",
        "p_cap_binds",
    ]
    return rows[columns].reset_index(drop=True)


def capacity_metrics(
    timeline: pd.DataFrame, *, threshold: float = 0.5
) -> dict[str, float | int | None]:
    """Headline metrics of notebook 11, for `cells.record_metrics`.

    Parameters
    ----------
    timeline : pandas.DataFrame
        From `capacity_timeline`.
    threshold : float
        The share of draws in which a cap must bind for a month to count.

    Returns
    -------
    dict of str to number or None
        Per lab: p50 accelerators online at months 12 and 24 and at the horizon, powered at the
        horizon, and the months in which a power cap binds in more than `threshold` of draws (any
        campus).
    """
    _check_threshold(threshold)
    out: dict[str, float | int | None] = {}
    labs = timeline[timeline["level"] == "lab"]
    for lab, part in labs.groupby("lab", sort=False):
        key = "_".join(lab.lower().split())
        for month in (12, 24):
            at = part[np.isclose(part["month"], month)]
            out[f"accelerators_p50_month{month}_{key}"] = (
                float(at["accelerators_p50"].iloc[0]) if len(at) else None
            )
        out[f"accelerators_p50_end_{key}"] = float(part["accelerators_p50"].iloc[-1])
        out[f"powered_accelerators_p50_end_{key}"] = float(
            part["powered_accelerators_p50"].iloc[-1]
        )
        binds = part["p_cap_binds"]
        out[f"months_cap_binds_{key}"] = (
            int((binds > threshold).sum()) if binds.notna().any() else 0
        )
    return out

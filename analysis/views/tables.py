"""Tidy tables the notebooks show and plot: catalog views, compute budgets, race and cost outcomes.

Each function takes the package's objects (Catalog, WhatIf, SimulationResult) and returns a pandas
DataFrame (or a dict of headline metrics for `cells.record_metrics`), so a notebook cell is one
call and a display. Units are in the column names.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import numpy as np

from .. import constants as K
from ..errors import InputError
from ..inputs.catalog import Catalog, load_catalog
from ..inputs.scenario import Scenario
from ..inputs.specs import PRECISIONS, Z90, _Dist
from ..model.calibration import calibration_points, default_prior
from ..model.summary import QUANTILES, quantiles
from ..studies.whatif import WhatIf, what_if

if TYPE_CHECKING:
    import pandas as pd

    from ..model.result import SimulationResult


def _key(lab: str) -> str:
    """A lab name as a metric-key suffix: lowercase, spaces to underscores."""
    return "_".join(lab.lower().split())


# ---------------------------------------------------------------------------------------------
# Catalog views (notebook 00)
# ---------------------------------------------------------------------------------------------


def accelerators_table(catalog: Catalog | None = None) -> pd.DataFrame:
    """Every accelerator with its peaks, power and prices (sources: `sources`)."""
    frame = (catalog or load_catalog()).frame("accelerators")
    columns = [
        "id",
        "vendor",
        "family",
        "year",
        "peak_bf16_flop_per_s",
        "peak_fp8_flop_per_s",
        "tdp_w",
        "server_power_multiplier",
        "server_power_fraction",
        "purchase_price_usd",
        "rental_usd_per_hour",
    ]
    return frame[columns].set_index("id")


def accelerator_efficiency(
    catalog: Catalog | None = None, precision: str = "bf16", *, min_year: int | None = None
) -> pd.DataFrame:
    """Peak FLOP/s per USD of purchase price, per USD/hour of rent and per watt, by accelerator.

    Per watt uses the all-in server power at rating (TDP x chip-to-server multiplier), the figure a
    data centre provisions; per chip-watt (TDP alone) is given beside it. Rows without a peak at the
    precision, or first available before `min_year`, are dropped; a missing price leaves NaN.
    """
    if precision not in PRECISIONS:
        raise InputError(f"precision: {precision!r} is not one of {', '.join(PRECISIONS)}")
    frame = (catalog or load_catalog()).frame("accelerators")
    peak = frame[f"peak_{precision}_flop_per_s"]
    out = frame[["id", "name", "vendor", "family", "year"]].copy()
    out["peak_flop_per_s"] = peak
    out["flop_per_s_per_usd"] = peak / frame["purchase_price_usd"]
    out["flop_per_usd_rented"] = peak * K.SECONDS_PER_HOUR / frame["rental_usd_per_hour"]
    out["flop_per_s_per_server_w"] = peak / (frame["tdp_w"] * frame["server_power_multiplier"])
    out["flop_per_s_per_chip_w"] = peak / frame["tdp_w"]
    out["precision"] = precision
    keep = out["peak_flop_per_s"].notna()
    if min_year is not None:
        keep &= out["year"] >= min_year
    return out[keep].reset_index(drop=True)


def efficiency_metrics(eff: pd.DataFrame) -> dict[str, object]:
    """Headline metrics of notebook 00: how many chips are shown and the best per USD and per
    watt."""
    out: dict[str, object] = {"n_accelerators_shown": int(len(eff))}
    for column in ("flop_per_s_per_usd", "flop_per_s_per_server_w"):
        ranked = eff[eff[column].notna()].sort_values(column, ascending=False)
        out[f"best_{column}"] = float(ranked[column].iloc[0]) if len(ranked) else None
        out[f"best_{column}_id"] = ranked["id"].iloc[0] if len(ranked) else None
    return out


def per_watt_by_vendor(eff: pd.DataFrame) -> pd.DataFrame:
    """Per vendor with chips in at least two years: the median peak FLOP/s per server W of its
    oldest and of its newest year shown (one row per vendor)."""
    import pandas as pd

    by_year = eff.groupby(["vendor", "year"])["flop_per_s_per_server_w"].median().reset_index()
    rows = []
    for vendor, part in by_year.groupby("vendor"):
        if len(part) < 2:
            continue
        part = part.sort_values("year")
        rows.append(
            {
                "vendor": vendor,
                "oldest_year": int(part["year"].iloc[0]),
                "newest_year": int(part["year"].iloc[-1]),
                "oldest_flop_per_s_per_server_w": float(part.iloc[0, 2]),
                "newest_flop_per_s_per_server_w": float(part.iloc[-1, 2]),
            }
        )
    columns = [
        "vendor",
        "oldest_year",
        "newest_year",
        "oldest_flop_per_s_per_server_w",
        "newest_flop_per_s_per_server_w",
    ]
    return pd.DataFrame(rows, columns=columns)


def sources(catalog: Catalog | None = None) -> pd.DataFrame:
    """The source text of every row of every data file, untruncated (file, id, source)."""
    import pandas as pd

    catalog = catalog or load_catalog()
    rows = []
    for name, file in (
        ("accelerators", "accelerators.csv"),
        ("deals", "deals.yaml"),
        ("sites", "sites.csv"),
        ("models", "models.csv"),
        ("training_runs", "training_runs.csv"),
    ):
        for item in getattr(catalog, name).values():
            rows.append({"file": file, "id": item.id, "source": item.source})
    return pd.DataFrame(rows)


def deals_table(catalog: Catalog | None = None) -> pd.DataFrame:
    """Every capacity deal: kind, buyer, chip, size, timing, power cap and delays (sources:
    `sources`)."""
    frame = (catalog or load_catalog()).frame("deals")
    columns = [
        "id",
        "racing",
        "kind",
        "buyer",
        "provider",
        "accelerator",
        "total_accelerators",
        "region",
        "campus",
        "start",
        "term_months",
        "total_value_usd",
        "rate_usd_per_gpu_hour",
        "delay_months",
        "peak_power_cap_mw",
        "power_delay_months",
        "pue",
    ]
    return frame[columns].set_index("id")


def scenario_deals(scenario: WhatIf) -> pd.DataFrame:
    """The deals each competitor of the scenario races with, with any what-if override applied."""
    frame = deals_table(scenario.catalog).reset_index()
    rows = []
    for comp in scenario.scenario.competitors:
        for deal_id in comp.deals:
            row = frame[frame["id"] == deal_id].iloc[0].to_dict()
            override = scenario.scenario.deal_overrides.get(deal_id)
            row["override"] = (
                ""
                if override is None
                else ", ".join(
                    f"{k}={v.describe() if hasattr(v, 'describe') else v}"
                    for k, v in override
                    if v is not None and not (k in ("scale", "power_cap_scale") and v == 1.0)
                )
            )
            rows.append({"lab": comp.lab, **row})
    import pandas as pd

    columns = [
        "lab",
        "id",
        "kind",
        "accelerator",
        "total_accelerators",
        "campus",
        "start",
        "delay_months",
        "peak_power_cap_mw",
        "power_delay_months",
        "override",
    ]
    return pd.DataFrame(rows)[columns]


def sites_table(catalog: Catalog | None = None) -> pd.DataFrame:
    """Regions: PUE, electricity price, grid carbon intensity (sources: `sources`)."""
    return (
        (catalog or load_catalog())
        .frame("sites")
        .set_index("id")
        .drop(columns=["assumptions", "source"])
    )


def _product_lognormal(a, b, factor: float = 1.0) -> dict[str, float]:
    """p10/p50/p90 of factor x A x B for independent log-normals A and B (exact)."""
    mu = math.log(factor) + a.mu + b.mu
    sigma = math.hypot(a.sigma, b.sigma)
    return {
        "p10": math.exp(mu - Z90 * sigma),
        "p50": math.exp(mu),
        "p90": math.exp(mu + Z90 * sigma),
    }


def models_table(catalog: Catalog | None = None) -> pd.DataFrame:
    """The competing models: parameter and token ranges, precision and the implied 6ND FLOP
    quantiles."""
    import pandas as pd

    catalog = catalog or load_catalog()
    rows = []
    for m in catalog.models.values():
        flop = _product_lognormal(m.active_params, m.tokens, K.FLOP_PER_PARAM_PER_TOKEN)
        rows.append(
            {
                "id": m.id,
                "lab": m.lab,
                "name": m.name,
                "architecture": m.architecture,
                "active_params_p10": m.active_params_p10,
                "active_params_p90": m.active_params_p90,
                "tokens_p10": m.tokens_p10,
                "tokens_p90": m.tokens_p90,
                "precision": m.precision,
                **{f"training_flop_{k}": v for k, v in flop.items()},
                "anchor_model": m.anchor_model,
            }
        )
    return pd.DataFrame(rows).set_index("id")


def assumptions_table(catalog: Catalog | None = None) -> pd.DataFrame:
    """Every labelled assumption in data/: file, row id, field and the reason given."""
    import pandas as pd

    catalog = catalog or load_catalog()
    rows = []
    for name, file in (
        ("accelerators", "accelerators.csv"),
        ("sites", "sites.csv"),
        ("models", "models.csv"),
    ):
        for item in getattr(catalog, name).values():
            for entry in filter(None, (part.strip() for part in item.assumptions.split(" | "))):
                field, _, why = entry.partition(":")
                rows.append(
                    {
                        "file": file,
                        "id": item.id,
                        "field": field.strip(),
                        "assumption": why.strip().removeprefix("assumption:").strip(),
                    }
                )
    for deal in catalog.deals.values():
        for field, why in deal.assumptions.items():
            rows.append(
                {
                    "file": "deals.yaml",
                    "id": deal.id,
                    "field": field,
                    "assumption": why.strip().removeprefix("assumption:").strip(),
                }
            )
    return pd.DataFrame(rows)


def uncertainty_table(scenario: Scenario | WhatIf) -> pd.DataFrame:
    """The scenario's uncertain inputs that no data file pins down, with their distributions."""
    import pandas as pd

    sc = scenario.scenario if isinstance(scenario, WhatIf) else scenario
    rows = []
    for name, value in sc.uncertainty:
        rows.append(
            {
                "input": name,
                "applies to": "every competitor",
                "distribution": value.describe()
                if isinstance(value, _Dist)
                else f"{value} (calibrated)",
            }
        )
    for comp in sc.competitors:
        rows.append(
            {"input": "share", "applies to": comp.label, "distribution": comp.share.describe()}
        )
        for field in ("mfu", "goodput"):
            value = getattr(comp, field)
            if value is not None:
                rows.append(
                    {
                        "input": field,
                        "applies to": comp.label,
                        "distribution": value.describe()
                        if isinstance(value, _Dist)
                        else str(value),
                    }
                )
    return pd.DataFrame(rows)


# ---------------------------------------------------------------------------------------------
# Compute budgets and the MFU prior (notebook 10)
# ---------------------------------------------------------------------------------------------


def published_runs(catalog: Catalog | None = None) -> pd.DataFrame:
    """Published training runs with their FLOP (reported, or 6ND), chip, hours and confidence."""
    import pandas as pd

    catalog = catalog or load_catalog()
    rows = [
        {
            "id": r.id,
            "model": r.model,
            "organization": r.organization,
            "year": r.year,
            "training_flop": r.flop,
            "accelerator": r.accelerator,
            "gpu_hours": r.gpu_hours,
            "confidence": r.confidence,
        }
        for r in catalog.training_runs.values()
        if r.flop is not None
    ]
    return pd.DataFrame(rows).sort_values("training_flop", ascending=False).reset_index(drop=True)


def compute_budgets(
    scenario: WhatIf | str | Scenario | None = "scenarios/default.yaml",
    draws: int | None = None,
    seed: int | None = None,
) -> pd.DataFrame:
    """Per draw and lab: the training FLOP each lab's next run trains (the race's own output: its
    cluster at launch x MFU x goodput x its wall-clock budget, or its target), with the active
    parameters and utilization drawn for it. Runs that do not finish within the horizon are left
    out."""
    import pandas as pd

    wi = what_if(scenario, draws=draws, seed=seed)
    result = wi.simulate(keep_draws=True, progress=False)
    frames = []
    for comp in wi.scenario.competitors:
        cols = result.per_draw[comp.label]
        frame = pd.DataFrame(
            {
                "lab": comp.lab,
                "model": comp.model,
                "draw": np.arange(len(cols["training_flop"])),
                "training_flop": cols["training_flop"].astype(np.float64),
                "effective_flop": cols["effective_flop"].astype(np.float64),
                "active_params": cols["active_params"],
                "utilization": cols["utilization"],
            }
        )
        frames.append(frame[np.isfinite(frame["training_flop"])])
    return pd.concat(frames, ignore_index=True)


def quantile_summary(frame: pd.DataFrame, columns: list[str], by: str = "lab") -> pd.DataFrame:
    """p10/p50/p90/mean of `columns` per group (finite values only): one row per group and quantile,
    one column per metric, so each column holds one unit (show it with `formatting.present`)."""
    import pandas as pd

    rows = []
    for group, part in frame.groupby(by, sort=False):
        q = {column: quantiles(part[column].to_numpy()) for column in columns}
        for key in (*QUANTILES, "mean"):
            rows.append(
                {by: group, "quantile": key, **{column: q[column][key] for column in columns}}
            )
    return pd.DataFrame(rows).set_index([by, "quantile"])


def budgets_beside_runs(
    budgets: pd.DataFrame, runs: pd.DataFrame, *, top: int = 12
) -> pd.DataFrame:
    """One frame for a forest plot: the `top` largest published runs (a point each) and each lab's
    next model (p10-p50-p90 of its sampled FLOP). Columns: name, kind, lab, flop_p10, flop_p50,
    flop_p90."""
    import pandas as pd

    rows = []
    for (lab, model), part in budgets.groupby(["lab", "model"], sort=False):
        q = quantiles(part["training_flop"].to_numpy())
        rows.append(
            {
                "name": f"{lab} {model} (next, assumed)",
                "kind": "next model (assumption)",
                "lab": lab,
                "flop_p10": q["p10"],
                "flop_p50": q["p50"],
                "flop_p90": q["p90"],
            }
        )
    for _, run in runs.head(top).iterrows():
        rows.append(
            {
                "name": f"{run['model']} ({run['year']})",
                "kind": f"published ({run['confidence'] or 'n/a'})",
                "lab": run["organization"],
                "flop_p10": run["training_flop"],
                "flop_p50": run["training_flop"],
                "flop_p90": run["training_flop"],
            }
        )
    return pd.DataFrame(rows).sort_values("flop_p50", ascending=False).reset_index(drop=True)


def calibration_table(catalog: Catalog | None = None) -> pd.DataFrame:
    """The calibration runs: effective utilization (MFU x goodput against the BF16 dense peak)
    beside the prior's p10/p50/p90 at each run's size."""
    import pandas as pd

    catalog = catalog or load_catalog()
    prior = default_prior(catalog)
    rows = []
    for p in calibration_points(catalog):
        row = {
            "run": p.run_id,
            "accelerator": p.accelerator,
            "precision": p.precision,
            "active_params": p.active_params,
            "training_flop": p.flop,
            "gpu_hours": p.gpu_hours,
            "scope": p.scope,
            "utilization": p.utilization,
        }
        if p.active_params is not None:
            band = prior.ppf(
                np.array(list(QUANTILES.values())),
                np.full(3, p.active_params),
                accelerator=p.accelerator,
            )
            row.update({f"prior_{k}": float(v) for k, v in zip(QUANTILES, band)})
        rows.append(row)
    return pd.DataFrame(rows).sort_values("active_params").reset_index(drop=True)


def prior_band(
    catalog: Catalog | None = None,
    *,
    low: float = 1e9,
    high: float = 1e12,
    points: int = 40,
    accelerator: str | None = None,
) -> pd.DataFrame:
    """The MFU-prior's p10/p50/p90 of effective utilization over a range of active parameters.

    `accelerator`: the id whose generation the band is for (None: the pooled centre)."""
    import pandas as pd

    from ..inputs.limits import check_whole

    points = check_whole(points, "points", 2, 10_000)
    if not (
        isinstance(low, (int, float))
        and isinstance(high, (int, float))
        and 0 < low < high < math.inf
    ):
        raise InputError(
            f"low, high: expected active parameter counts with 0 < low < high, got {low!r}, "
            f"{high!r}"
        )
    prior = default_prior(catalog or load_catalog())
    sizes = np.geomspace(low, high, points)
    out = {"active_params": sizes}
    for key, q in QUANTILES.items():
        out[f"prior_{key}"] = prior.ppf(np.full(points, q), sizes, accelerator=accelerator)
    return pd.DataFrame(out)


def budget_metrics(budgets: pd.DataFrame) -> dict[str, float]:
    """Headline metrics of notebook 10: p10/p50/p90 of training FLOP per lab."""
    out = {}
    for lab, part in budgets.groupby("lab", sort=False):
        q = quantiles(part["training_flop"].to_numpy())
        for key in QUANTILES:
            out[f"training_flop_{key}_{_key(lab)}"] = q[key]
    return out


# ---------------------------------------------------------------------------------------------
# The race (notebook 20)
# ---------------------------------------------------------------------------------------------


def time_to_train_curves(
    result: SimulationResult, *, step_months: float = 0.25, variant: str | None = None
) -> pd.DataFrame:
    """P(trained within m months) per lab on a grid up to the horizon; draws that never finish count
    as not done, so each curve ends at P(done within horizon), not 1."""
    import pandas as pd

    frame = _draws(result)
    horizon = result.scenario.horizon_months
    grid = np.arange(0.0, horizon + 1e-9, step_months)
    rows = []
    for lab, part in frame.groupby("lab", sort=False):
        months = np.sort(
            np.nan_to_num(part["time_to_train_months"].to_numpy(np.float64), nan=np.inf)
        )
        done = np.searchsorted(months, grid, side="right") / len(months)
        rows.append(pd.DataFrame({"lab": lab, "months": grid, "p_done": done}))
    out = pd.concat(rows, ignore_index=True)
    out["start"] = result.scenario.start  # month 0 of the clock, e.g. "2026-01"
    if variant is not None:
        out["variant"] = variant
    return out


def lead_times(result: SimulationResult) -> pd.DataFrame:
    """Per draw and pair (A, B) where both finish: B's finish minus A's, in months (positive: A
    leads)."""
    import pandas as pd

    frame = _draws(result)
    finish = {
        lab: part["finish_month"].to_numpy(np.float64)
        for lab, part in frame.groupby("lab", sort=False)
    }
    labs = list(finish)
    rows = []
    for i, a in enumerate(labs):
        for b in labs[i + 1 :]:
            both = np.isfinite(finish[a]) & np.isfinite(finish[b])
            rows.append(
                pd.DataFrame(
                    {
                        "pair": f"{b} minus {a}",
                        "a": a,
                        "b": b,
                        "lead_months": finish[b][both] - finish[a][both],
                    }
                )
            )
    return (
        pd.concat(rows, ignore_index=True)
        if rows
        else pd.DataFrame(columns=["pair", "a", "b", "lead_months"])
    )


def race_metrics(result: SimulationResult) -> dict[str, float | None]:
    """Headline metrics of the race: p_first_<lab>, time_to_train_p10/p50/p90_months_<lab>,
    p_within_horizon_<lab>, training_flop_p50_<lab>, effective_flop_p50_<lab>,
    run_length_months_p50_<lab>, launch_p50_months_<lab> and release_p50_months_<lab> (months
    after the start), p_nobody, and the pairwise P(A before B)."""
    out: dict[str, float | None] = {}
    for comp in result.competitors:
        key = _key(comp["lab"])
        out[f"p_first_{key}"] = comp["p_first"]
        for q in ("p10", "p50", "p90"):
            out[f"time_to_train_{q}_months_{key}"] = comp["time_to_train_months"][q]
        out[f"p_within_horizon_{key}"] = comp["p_within_horizon"]
        for metric in ("training_flop", "effective_flop", "run_length_months"):
            out[f"{metric}_p50_{key}"] = comp[metric]["p50"]
        for metric in ("launch_month", "release_month"):
            value = comp[metric]["p50"]
            out[f"{metric.replace('_month', '')}_p50_months_{key}"] = value
    out["p_nobody"] = result.p_nobody
    for pair in result.pairwise:
        a, b = (
            next(c["lab"] for c in result.competitors if c["label"] == x)
            for x in (pair["a"], pair["b"])
        )
        out[f"p_{_key(a)}_before_{_key(b)}"] = pair["p_a_before_b"]
    return out


def run_summary(result: SimulationResult) -> pd.DataFrame:
    """Per lab (the index): P50 training and effective FLOP, P50 run length in months, P(first)."""
    import pandas as pd

    return pd.DataFrame(
        [
            {
                "lab": c["lab"],
                "training_flop_p50": c["training_flop"]["p50"],
                "effective_flop_p50": c["effective_flop"]["p50"],
                "run_length_months_p50": c["run_length_months"]["p50"],
                "p_first": c["p_first"],
            }
            for c in result.competitors
        ]
    ).set_index("lab")


def deal_effect_curves(effect, *, step_months: float = 0.25) -> pd.DataFrame:
    """`time_to_train_curves` of every run of a `deal_value.deal_effect` study, with columns
    target, case and variant (the study's simulations; this only tabulates them)."""
    import pandas as pd

    curves = []
    for target_name, case, label, result in effect.results:
        curve = time_to_train_curves(result, step_months=step_months, variant=label)
        curve["case"] = case
        curve["target"] = target_name
        curves.append(curve)
    return pd.concat(curves, ignore_index=True)


# ---------------------------------------------------------------------------------------------
# Cost, power and carbon (notebook 21)
# ---------------------------------------------------------------------------------------------

RUN_METRICS = (
    "cost_usd",
    "usd_per_pflop",
    "gpu_hours",
    "energy_mwh",
    "peak_power_mw",
    "emissions_tco2e",
    "committed_usd",
)


def run_outcomes(result: SimulationResult) -> pd.DataFrame:
    """Per draw that finishes: cost, USD per PFLOP of training compute, accelerator-hours, energy,
    peak power, emissions and committed reserved spend, per lab."""
    frame = _draws(result)
    done = frame[np.isfinite(frame["finish_month"].to_numpy(np.float64))].copy()
    done["usd_per_pflop"] = done["cost_usd"] / (done["training_flop"] / 1e15)
    return done[["lab", "model", "draw", *RUN_METRICS]].reset_index(drop=True)


def cost_by_deal_kind(wi: WhatIf, *, backend: str | None = None) -> pd.DataFrame:
    """Cost per run when each lab trains on one kind of deal only (rented vs owned capacity), beside
    the race as set (labs whose deals are all of one kind get the "all deals" row only). Rows: lab,
    kind ("all deals", "reserved", "owned", ...), P(done within horizon) and p10/p50/p90 of cost,
    USD per PFLOP, energy and time-to-train, over runs that finish."""
    import pandas as pd

    kinds_of = {c.lab: {wi.catalog.deals[d].kind for d in c.deals} for c in wi.scenario.competitors}
    kinds = sorted(set().union(*kinds_of.values()))
    variants = [("all deals", wi)] + [(kind, wi.with_changes(only_kind=kind)) for kind in kinds]
    rows = []
    for kind, variant in variants:
        result = variant.simulate(backend=backend, keep_draws=True)
        outcomes = run_outcomes(result)
        for comp in result.competitors:
            if kind != "all deals" and len(kinds_of[comp["lab"]]) == 1:
                continue  # one kind only: the same run as "all deals"
            part = outcomes[outcomes["lab"] == comp["lab"]]
            row = {"lab": comp["lab"], "kind": kind, "p_within_horizon": comp["p_within_horizon"]}
            for metric in ("cost_usd", "usd_per_pflop", "energy_mwh"):
                q = quantiles(part[metric].to_numpy())
                row.update({f"{metric}_{k}": q[k] for k in QUANTILES})
            row.update({f"months_{k}": comp["time_to_train_months"][k] for k in QUANTILES})
            rows.append(row)
    return pd.DataFrame(rows)


def cost_metrics(result: SimulationResult) -> dict[str, float | None]:
    """Headline metrics of notebook 21: per lab p50 (and p10/p90 of cost) of cost, USD per PFLOP,
    energy, peak power and emissions, over runs that finish."""
    outcomes = run_outcomes(result)
    out: dict[str, float | None] = {}
    for comp in result.competitors:
        key = _key(comp["lab"])
        part = outcomes[outcomes["lab"] == comp["lab"]]
        q = {m: quantiles(part[m].to_numpy()) for m in RUN_METRICS}
        out[f"cost_p10_usd_{key}"] = q["cost_usd"]["p10"]
        out[f"cost_p50_usd_{key}"] = q["cost_usd"]["p50"]
        out[f"cost_p90_usd_{key}"] = q["cost_usd"]["p90"]
        out[f"usd_per_pflop_p50_{key}"] = q["usd_per_pflop"]["p50"]
        out[f"energy_p50_mwh_{key}"] = q["energy_mwh"]["p50"]
        out[f"peak_power_p50_mw_{key}"] = q["peak_power_mw"]["p50"]
        out[f"emissions_p50_tco2e_{key}"] = q["emissions_tco2e"]["p50"]
        out[f"p_within_horizon_{key}"] = comp["p_within_horizon"]
    return out


def _draws(result: SimulationResult) -> pd.DataFrame:
    try:
        return result.draws
    except ValueError:
        raise InputError(
            "this table needs per-draw results: simulate(..., keep_draws=True)"
        ) from None

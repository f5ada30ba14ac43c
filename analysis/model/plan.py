"""The race's static plans: each competitor's deals as capacity tables, built once per scenario.

For each deal on the host, in float64: the accelerators online, their peak FLOP/s and server power
on a fine grid of deal-time (SUBSTEPS cells per time step), wide enough that any sampled delay
shifts the table rather than rebuilding it; each campus's power cap likewise; and the race layout
(which deal is on which campus and track). `model.run` draws the uncertain inputs and runs the
kernels over these tables.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from ..errors import InputError
from ..inputs.catalog import Catalog
from ..inputs.scenario import Competitor, Scenario, scenario_catalog
from ..inputs.specs import Deal, Fixed, month_index
from .kernels.race import DealCosts, RaceLayout

#: Fine-grid cells per time step: delivery and grid delays are rounded to dt / SUBSTEPS.
SUBSTEPS = 8


# ---------------------------------------------------------------------------------------------
# Static plans: capacity tables per deal (host, float64, then moved to the device)
# ---------------------------------------------------------------------------------------------


@dataclass
class DealPlan:
    deal: Deal
    offset_months: float  # deal start minus scenario start
    scale: float
    delay: Any
    peak_bf16: float
    fp8_capable: bool
    costs: DealCosts
    pue: float
    campus: int
    x_min: float  # deal-time (months) of table cell 0
    delay_cap: float
    flops_table: np.ndarray
    power_table: np.ndarray
    cumulative_table: np.ndarray  # accelerator-months delivered since nominal start, at cell x


@dataclass
class CapPlan:
    deal: Deal
    offset_months: float
    delay: Any
    x_min: float
    delay_cap: float
    table: np.ndarray  # MW available, step-averaged


@dataclass
class CompetitorPlan:
    index: int
    competitor: Competitor
    label: str
    deals: list[DealPlan]
    caps: list[CapPlan | None]
    campus_ids: list[str]
    layout: RaceLayout
    #: The launch anchor (`launch.after`, else the scenario start), months after the start.
    launch_after_months: float
    precision: str
    mfu: Any
    goodput: Any
    #: "budget" (no target: FLOP are an output), "raw" or "effective" (a target in that FLOP).
    target_kind: str
    #: The target (FLOP, or "model" for the model's 6 N D); None for a budget run.
    target: Any


def time_grid(scenario: Scenario) -> tuple[float, float]:
    """(time step, fine-grid cell) of a scenario, in months."""
    h = scenario.time_step_months / SUBSTEPS
    return scenario.time_step_months, h


def _table_grid(offset: float, scenario: Scenario) -> tuple[float, float, np.ndarray]:
    """Fine grid of deal-time x covering every step of the horizon for delays in [0, delay_cap]."""
    dt, h = time_grid(scenario)
    horizon = scenario.steps * dt
    delay_cap = max(horizon - offset, 0.0) + dt
    x_min = -offset - delay_cap
    n = int(round(delay_cap / h)) + (scenario.steps - 1) * SUBSTEPS + 2
    x = x_min + h * np.arange(n, dtype=np.float64)
    return x_min, delay_cap, x


def _step_average(
    x: np.ndarray, starts: np.ndarray, ends: np.ndarray, amounts: np.ndarray, dt: float
) -> np.ndarray:
    """Mean over [x, x + dt] of sum_j amounts_j * [starts_j <= s < ends_j]."""
    lo = np.maximum(x[:, None], starts[None, :])
    hi = np.minimum(x[:, None] + dt, ends[None, :])
    return (np.clip(hi - lo, 0.0, None) * amounts[None, :]).sum(axis=1) / dt


def plan_competitor(
    index: int, comp: Competitor, scenario: Scenario, catalog: Catalog
) -> CompetitorPlan:
    """The static plan of one competitor: its deals' capacity tables, campuses, caps and layout."""
    catalog = scenario_catalog(scenario, catalog)
    dt, _ = time_grid(scenario)
    model = catalog.models[comp.model]
    precision = comp.precision or model.precision
    campus_ids: list[str] = []
    deals: list[DealPlan] = []
    cap_sources: dict[int, Deal] = {}
    for deal_id in comp.deals:
        deal = catalog.deals[deal_id]
        override = scenario.deal_overrides.get(deal_id)
        scale = override.scale if override else 1.0
        if scale == 0:
            continue
        if deal.campus_id not in campus_ids:
            campus_ids.append(deal.campus_id)
        campus = campus_ids.index(deal.campus_id)
        chip = catalog.accelerators[deal.accelerator]
        site = catalog.sites[deal.region]
        if deal.kind == "owned" and chip.purchase_price_usd is None:
            raise InputError(
                f"data/deals.yaml (id {deal.id!r}): an owned deal needs purchase_price_usd for "
                "accelerator "
                f"{chip.id!r} in data/accelerators.csv"
            )
        rate = deal.rate_usd_per_gpu_hour
        if rate is None and deal.kind == "reserved":
            rate = deal.total_value_usd / deal.available_accelerator_hours()
        offset = month_index(deal.start) - scenario.start_index
        x_min, delay_cap, x = _table_grid(offset, scenario)
        starts = np.array([t.month for t in deal.tranches])
        amounts = np.array([t.accelerators for t in deal.tranches]) * scale
        ends = np.full_like(starts, deal.term_months)
        online = _step_average(x, starts, ends, amounts, dt)
        cumulative = (np.clip(np.minimum(x[:, None], ends) - starts, 0.0, None) * amounts).sum(
            axis=1
        )
        deals.append(
            DealPlan(
                deal=deal,
                offset_months=offset,
                scale=scale,
                delay=(
                    override.delay_months
                    if override and override.delay_months
                    else deal.delay_months
                ),
                peak_bf16=chip.peak_bf16_flop_per_s,
                fp8_capable=chip.peak_fp8_flop_per_s is not None,
                costs=DealCosts(
                    kind=deal.kind,
                    server_w=chip.server_power_w,
                    server_power_fraction=chip.server_power_fraction,
                    grid_gco2_per_kwh=site.grid_gco2_per_kwh,
                    electricity_usd_per_mwh=site.electricity_usd_per_mwh,
                    rate_usd_per_gpu_hour=rate,
                    purchase_price_usd=chip.purchase_price_usd,
                ),
                pue=deal.pue if deal.pue is not None else site.pue,
                campus=campus,
                x_min=x_min,
                delay_cap=delay_cap,
                flops_table=online * chip.peak_bf16_flop_per_s,
                power_table=online * chip.server_power_w,
                cumulative_table=cumulative,
            )
        )
        if deal.power_cap_mw is not None:
            cap_sources[campus] = deal
    if not deals:
        raise InputError(
            f"scenario: competitors[{index}] ({comp.label}) has no deal left after deal_overrides"
        )
    caps: list[CapPlan | None] = []
    for campus in range(len(campus_ids)):
        deal = cap_sources.get(campus)
        if deal is None:
            caps.append(None)
            continue
        override = scenario.deal_overrides.get(deal.id)
        cap_scale = override.power_cap_scale if override else 1.0
        offset = month_index(deal.start) - scenario.start_index
        x_min, delay_cap, x = _table_grid(offset, scenario)
        steps = sorted(deal.power_cap_mw, key=lambda s: s.month)
        starts = np.array([s.month for s in steps])
        levels = np.array([s.mw for s in steps]) * cap_scale
        # A step function of levels: each level holds from its month to the next step's month.
        ends = np.append(starts[1:], np.inf)
        table = _step_average(x, starts, ends, levels, dt)
        delay = (
            override.power_delay_months
            if override and override.power_delay_months
            else deal.power_delay_months
        )
        caps.append(CapPlan(deal, offset, delay or Fixed(value=0.0), x_min, delay_cap, table))
    plan = comp.launch_plan
    after = (month_index(plan.after) - scenario.start_index) if plan.after else 0.0
    single = not scenario.span_sites
    layout = RaceLayout(
        deal_campus=tuple(p.campus for p in deals),
        campus_track=tuple(range(len(campus_ids))) if single else (0,) * len(campus_ids),
        n_tracks=len(campus_ids) if single else 1,
        steps=scenario.steps,
        substeps=SUBSTEPS,
        dt_months=dt,
        horizon_months=scenario.horizon_months,
        deal_server_w=tuple(p.costs.server_w for p in deals),
    )
    u = scenario.uncertainty
    kind, target = target_of(comp, scenario)
    return CompetitorPlan(
        index=index,
        competitor=comp,
        label=comp.label,
        deals=deals,
        caps=caps,
        campus_ids=campus_ids,
        layout=layout,
        launch_after_months=float(after),
        precision=precision,
        mfu=comp.mfu if comp.mfu is not None else u.mfu,
        goodput=comp.goodput if comp.goodput is not None else u.goodput,
        target_kind=kind,
        target=target,
    )


def target_of(comp: Competitor, scenario: Scenario) -> tuple[str, Any]:
    """(kind, value) of a competitor's target: its own, else the scenario's, else a budget run."""
    for owner in (comp, scenario):
        if owner.target_flop is not None:
            return "raw", owner.target_flop
        if owner.target_effective_flop is not None:
            return "effective", owner.target_effective_flop
    return "budget", None

"""One chunk's draws of one competitor: every uncertain input of the race, made on the host.

`sample_inputs` makes them from named counter-based streams (`model.sampling`), so a draw is the
same number whatever the chunk, the thread or the backend; `model.run` turns them into the
kernel's arguments. The planned launch (the anchor plus the drawn gap), the wall-clock budget (the
record's length grown by the trend, `planned_budget`) and the MFU (from the calibrated prior at the
model's size) are derived here.
"""

from __future__ import annotations

import numpy as np

from .. import constants as K
from ..inputs.catalog import Catalog
from ..inputs.scenario import Scenario, scenario_catalog
from ..inputs.specs import month_index
from .calibration import UtilizationPrior
from .kernels.compute import training_flop as _training_flop
from .plan import CompetitorPlan
from .sampling import sample_streams


def _prior_accelerator(plan: CompetitorPlan) -> str:
    """The accelerator the utilization prior is asked about: the deal with the most peak FLOP/s."""
    return max(plan.deals, key=lambda p: float(p.flops_table[-1]) * p.scale).deal.accelerator


def sample_inputs(
    plan: CompetitorPlan,
    scenario: Scenario,
    catalog: Catalog,
    prior: UtilizationPrior,
    start: int,
    stop: int,
) -> dict[str, np.ndarray]:
    """Every uncertain input of one competitor for draws start..stop-1 (host float64).

    All of them come from one `sampling.sample_streams` call (counter-based streams, compiled when
    the extension is built): each quantity keeps its own named stream, so a draw is the same number
    whatever the chunk, and a stream shared by competitors (a site's PUE, algorithmic progress and
    the run-length trend, which are the industry's, not a lab's) is the same for all of them."""
    catalog = scenario_catalog(scenario, catalog)
    label = plan.label
    unc = scenario.uncertainty
    comp = plan.competitor
    model = catalog.models[comp.model]
    # (input key, stream name, distribution; None = the stream's raw uniforms)
    wanted = [("active_params", f"{label}/active_params", model.active_params)]
    if plan.target == "model":
        wanted.append(("tokens", f"{label}/tokens", model.tokens))
    wanted.append(("goodput", f"{label}/goodput", plan.goodput))
    if plan.mfu == "prior":
        wanted.append(("utilization_u", f"{label}/utilization", None))
    else:
        wanted.append(("mfu", f"{label}/mfu", plan.mfu))
    if comp.accelerators is not None:
        wanted.append(("accelerators", f"{label}/accelerators", comp.accelerators))
    wanted.append(("share", f"{label}/share", comp.share))
    wanted.append(("launch_gap_months", f"{label}/launch", comp.launch_plan.months))
    if comp.budget_months is not None:
        wanted.append(("budget_months", f"{label}/budget", comp.budget_months))
    else:
        wanted.append(("budget_record_months", f"{label}/budget", unc.budget_months))
        wanted.append(("budget_growth", "race/budget_growth", unc.budget_growth_per_year))
    lag = comp.release_lag_months if comp.release_lag_months is not None else unc.release_lag_months
    wanted.append(("release_lag_months", f"{label}/release_lag", lag))
    wanted.append(("efficiency", f"{label}/efficiency", comp.efficiency))
    wanted.append(("halving_months", "race/algorithmic_halving", unc.algorithmic_halving_months))
    if plan.precision == "fp8":
        wanted.append(("fp8_gain", f"{label}/fp8_gain", unc.fp8_gain))
    wanted.append(("hardware_life_years", f"{label}/hardware_life_years", unc.hardware_life_years))
    wanted.append(("build_usd_per_mw", f"{label}/build_cost_usd_per_mw", unc.build_cost_usd_per_mw))
    for p in plan.deals:
        wanted.append((f"delay:{p.deal.id}", f"deal {p.deal.id}/delay", p.delay))
        if p.deal.kind != "owned":  # an owned deal pays no price: its cost is hardware and energy
            wanted.append(
                (f"price_factor:{p.deal.id}", f"deal {p.deal.id}/price_factor", unc.price_factor)
            )
    for cap in plan.caps:
        if cap is not None:
            wanted.append(
                (f"power_delay:{cap.deal.id}", f"deal {cap.deal.id}/power_delay", cap.delay)
            )
    for region in sorted({p.deal.region for p in plan.deals}):
        wanted.append((f"pue_delta:{region}", f"site {region}/pue_delta", unc.pue_delta))
    streams = sample_streams(scenario.seed, [(name, dist) for _, name, dist in wanted], start, stop)
    drawn = {key: streams[name] for key, name, _ in wanted}
    out: dict[str, np.ndarray] = {}
    active = drawn.pop("active_params")
    if plan.target == "model":
        out["target_flop"] = _training_flop(active, drawn.pop("tokens"))
    elif plan.target is not None:
        out["target_flop"] = np.full(stop - start, float(plan.target))
    out["active_params"] = active
    goodput = drawn.pop("goodput")
    if plan.mfu == "prior":
        # The prior is on MFU x goodput (what published hours measure); MFU is what remains.
        effective = prior.ppf(
            drawn.pop("utilization_u"), active, accelerator=_prior_accelerator(plan)
        )
        out["mfu"] = np.minimum(effective / goodput, 1.0)
    else:
        out["mfu"] = drawn.pop("mfu")
    out["utilization"] = out["mfu"] * goodput
    out["goodput"] = goodput
    out["earliest_launch_months"] = plan.launch_after_months + drawn.pop("launch_gap_months")
    if "budget_record_months" in drawn:
        out["budget_months"] = planned_budget(
            drawn.pop("budget_record_months"),
            drawn.pop("budget_growth"),
            scenario.start_index + out["earliest_launch_months"],
        )
    if "budget_months" in drawn:  # a competitor's own: a log-normal's far tail is clipped
        drawn["budget_months"] = np.minimum(drawn["budget_months"], K.MAX_BUDGET_MONTHS)
    out.update(drawn)
    return out


def planned_budget(record_months, growth_per_year, launch_month_index):
    """The wall-clock budget a lab plans at its launch: the record's run length grown by the
    trend from the record's centre to the launch, at most constants.MAX_PLANNED_RUN_MONTHS."""
    years = (launch_month_index - month_index(K.BUDGET_RECORD_MONTH)) / 12.0
    return np.minimum(record_months * growth_per_year**years, K.MAX_PLANNED_RUN_MONTHS)

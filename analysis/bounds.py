"""Checks that keep a run physically possible and its work bounded, made before anything is allocated.

Field-level bounds live on the pydantic models (analysis/specs.py); the checks here need more than
one field or the catalog: an implied MFU, how much memory a simulation will take, which lab uses
which campus, the PUE a site plus its uncertainty can reach.
"""

from __future__ import annotations

import math
import os
from typing import TYPE_CHECKING

import numpy as np

from .errors import InputError
from .limits import MIN_MFU, PUE_MAX, PUE_MIN  # not specs: `estimate --gpu-hours` checks here without pydantic

if TYPE_CHECKING:
    from .catalog import Catalog
    from .specs import Scenario

#: Most memory one simulation may plan to use (bytes), unless $COMPUTE_RACE_MAX_MEMORY_GB says more:
#: enough for the largest draw count on the shipped scenarios, below a laptop's RAM.
DEFAULT_MAX_MEMORY_GB = 8.0
MAX_MEMORY_ENV = "COMPUTE_RACE_MAX_MEMORY_GB"
#: Fine-grid cells per time step in the capacity tables (analysis/_simulate.py SUBSTEPS).
_SUBSTEPS = 8
#: Float64 arrays alive per table cell and tranche while a table is built (bounds, overlap, product).
_TABLE_TEMPORARIES = 4
#: Arrays of chunk length alive per deal and per competitor in the kernel (inputs, state, outputs).
_CHUNK_ARRAYS_PER_DEAL = 12
_CHUNK_ARRAYS = 48
#: Per-draw metrics stored for each competitor (analysis/_simulate.py STORED).
_STORED_METRICS = 9


def max_memory_bytes() -> float:
    """The memory limit: $COMPUTE_RACE_MAX_MEMORY_GB (a positive number of GiB) or the default."""
    text = os.environ.get(MAX_MEMORY_ENV)
    if text is None or not text.strip():
        return DEFAULT_MAX_MEMORY_GB * 2**30
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not (math.isfinite(value) and value > 0):
        raise InputError(f"${MAX_MEMORY_ENV}: expected a positive number of GiB, got {text!r}")
    return value * 2**30


def check_implied_mfu(training_flop: float, gpu_hours: float, peak_flop_per_s: float, goodput) -> None:
    """--gpu-hours: the MFU they imply must lie in [MIN_MFU, 1] in every draw (else a units slip)."""
    lowest_goodput, highest_goodput = float(np.min(goodput)), float(np.max(goodput))
    utilization = training_flop / (gpu_hours * 3600.0 * peak_flop_per_s)
    highest = utilization / lowest_goodput
    if not (math.isfinite(highest) and 0 < highest <= 1.0):
        raise InputError(
            f"--gpu-hours: {gpu_hours:g} accelerator-hours imply an MFU of up to {highest:,.4g} (at goodput "
            f"{lowest_goodput:.2f}); MFU is at most 1. Give accelerator-hours (not thousands or millions), "
            "or fix --goodput"
        )
    lowest = utilization / highest_goodput
    if not lowest >= MIN_MFU:
        raise InputError(
            f"--gpu-hours: {gpu_hours:g} accelerator-hours imply an MFU as low as {lowest:.3g} (at goodput "
            f"{highest_goodput:.2f}); MFU is at least {MIN_MFU:g}. Give accelerator-hours (not seconds), "
            "or check the model size"
        )


def estimate_simulation_bytes(scenario: Scenario, catalog: Catalog, *, chunk_size: int, itemsize: int,
                              keep_draws: bool = False) -> dict[str, float]:
    """Bytes a simulation will hold at its peak, by part: capacity tables, per-draw results, one chunk."""
    from .specs import month_index

    dt = scenario.time_step_months
    steps = math.ceil(scenario.horizon_months / dt - 1e-9)
    h = dt / _SUBSTEPS
    tables = 0.0
    chunk_arrays = _CHUNK_ARRAYS * len(scenario.competitors)
    for comp in scenario.competitors:
        for deal_id in comp.deals:
            deal = catalog.deals.get(deal_id)
            if deal is None:
                continue
            offset = month_index(deal.start) - month_index(scenario.start)
            delay_cap = max(steps * dt - offset, 0.0) + dt
            cells = delay_cap / h + steps * _SUBSTEPS + 2
            pieces = len(deal.tranches) + len(deal.power_cap_mw or ())
            tables += cells * 8.0 * (_TABLE_TEMPORARIES * pieces + 4)
            chunk_arrays += _CHUNK_ARRAYS_PER_DEAL
    draws = scenario.draws
    per_draw = draws * _STORED_METRICS * itemsize * len(scenario.competitors)
    if keep_draws:
        per_draw += draws * 8.0 * chunk_arrays
    chunk = min(chunk_size, draws) * 8.0 * chunk_arrays
    return {"tables": tables, "per_draw": per_draw, "chunk": chunk}


def check_simulation_size(scenario: Scenario, catalog: Catalog, *, chunk_size: int, itemsize: int = 4,
                          keep_draws: bool = False, where: str = "scenario") -> None:
    """InputError before anything is allocated when a simulation would need more than the limit."""
    parts = estimate_simulation_bytes(scenario, catalog, chunk_size=chunk_size, itemsize=itemsize,
                                      keep_draws=keep_draws)
    total = sum(parts.values())
    limit = max_memory_bytes()
    if total > limit:
        biggest = max(parts, key=parts.get)
        fix = {"tables": "a coarser time_step_months or a shorter horizon_months",
               "per_draw": "fewer draws", "chunk": "a smaller chunk_size"}[biggest]
        raise InputError(
            f"{where}: needs about {total / 2**30:,.1f} GiB ({scenario.draws:,} draws x "
            f"{math.ceil(scenario.horizon_months / scenario.time_step_months - 1e-9):,} steps of "
            f"{scenario.time_step_months:g} months x the deals' tranches); the limit is {limit / 2**30:g} GiB "
            f"(${MAX_MEMORY_ENV}); use {fix}"
        )


def check_scenario(scenario: Scenario, catalog: Catalog, where: str) -> None:
    """Cross-checks that need the catalog: one lab per campus (or an explicit split), PUE in range."""
    users: dict[str, list[int]] = {}
    for i, comp in enumerate(scenario.competitors):
        for campus in dict.fromkeys(catalog.deals[d].campus_id for d in comp.deals if d in catalog.deals):
            users.setdefault(campus, []).append(i)
    for campus, indices in users.items():
        if len(indices) < 2:
            continue
        labs = list(dict.fromkeys(scenario.competitors[i].lab for i in indices))
        who = ", ".join(f"competitors[{i}] ({scenario.competitors[i].label})" for i in indices)
        if len(labs) > 1:
            raise InputError(
                f"{where}: campus {campus!r} is used by {who}; a campus belongs to one lab (each would "
                "get its whole capacity)"
            )
        # One lab's runs on one campus: each would get all of it unless their shares split it.
        top = sum(scenario.competitors[i].share.support()[1] for i in indices)
        if top > 1.0 + 1e-9:
            raise InputError(
                f"{where}: campus {campus!r} is shared by {who}; split it explicitly: their share values "
                f"may add up to at most 1 (now up to {top:g})"
            )
    delta_low, delta_high = scenario.uncertainty.pue_delta.support()
    for comp in scenario.competitors:
        for deal_id in comp.deals:
            deal = catalog.deals.get(deal_id)
            if deal is None or deal.region not in catalog.sites:
                continue
            base = deal.pue if deal.pue is not None else catalog.sites[deal.region].pue
            if base + delta_high > PUE_MAX:
                raise InputError(
                    f"{where}: uncertainty.pue_delta: up to {delta_high:g} on deal {deal_id!r} (PUE {base:g}) "
                    f"reaches PUE {base + delta_high:g}; PUE must stay within [{PUE_MIN:g}, {PUE_MAX:g}]"
                )

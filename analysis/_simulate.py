"""The race: each competitor's capacity deals, power caps and uncertainty, simulated over draws.

Host side of the race: read and check a scenario, build each deal's capacity tables, draw every
uncertain input on the host in chunks, run the kernels on the chosen backend, collect per-draw
outcomes and the race statistics.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import pandas as pd

import sys
import time
from collections import deque
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from . import constants as K
from .backend import Backend, select, sync, to_numpy
from .calibration import UtilizationPrior, default_prior
from .inputs.catalog import Catalog, load_catalog
from .errors import InputError
from .kernels.compute import training_flop as _training_flop
from .kernels.race import DealCosts, RaceLayout, first_finish, race_outcomes, race_tracks
from .provenance import provenance
from .formatting import format_value, months, present
from .results import QUANTILES, json_ready, quantiles, select_quantiles
from .sampling import sample_streams
from .inputs.scenario import Competitor, Scenario, check_simulation_size, load_scenario
from .inputs.specs import Deal, Fixed, check_draws, check_seed, month_index

#: Fine-grid cells per time step: delivery and grid delays are rounded to dt / SUBSTEPS.
SUBSTEPS = 8
#: Draws per chunk: bounds memory whatever the draw count (about 40 arrays of this length live).
DEFAULT_CHUNK = 1 << 17
#: At most this many chunks have their host draws made ahead, each on its own thread (`pipeline_threads`).
MAX_PREFETCH = 4
#: Draws per chunk on CuPy: a GPU needs large chunks to amortize the kernel launches of each step.
GPU_CHUNK = 1 << 20

METRIC_UNITS = {
    "time_to_train_months": "months",
    "gpu_hours": "accelerator-hours",
    "energy_mwh": "MWh",
    "peak_power_mw": "MW",
    "cost_usd": "USD",
    "committed_usd": "USD",
    "emissions_tco2e": "tCO2e",
    "training_flop": "FLOP",
}
#: Metrics stored per draw (float32 on the host) for quantiles, the race and per-draw frames.
STORED = ("finish_month", "time_to_train_months", "gpu_hours", "energy_mwh", "peak_power_mw",
          "cost_usd", "committed_usd", "emissions_tco2e", "training_flop")


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
    start_months: float
    precision: str
    mfu: Any
    goodput: Any


def _cells(scenario: Scenario) -> tuple[float, float]:
    h = scenario.time_step_months / SUBSTEPS
    return scenario.time_step_months, h


def _table_grid(offset: float, scenario: Scenario) -> tuple[float, float, np.ndarray]:
    """Fine grid of deal-time x covering every step of the horizon for delays in [0, delay_cap]."""
    dt, h = _cells(scenario)
    horizon = scenario.steps * dt
    delay_cap = max(horizon - offset, 0.0) + dt
    x_min = -offset - delay_cap
    n = int(round(delay_cap / h)) + (scenario.steps - 1) * SUBSTEPS + 2
    x = x_min + h * np.arange(n, dtype=np.float64)
    return x_min, delay_cap, x


def _step_average(x: np.ndarray, starts: np.ndarray, ends: np.ndarray, amounts: np.ndarray, dt: float) -> np.ndarray:
    """Mean over [x, x + dt] of sum_j amounts_j * [starts_j <= s < ends_j]."""
    lo = np.maximum(x[:, None], starts[None, :])
    hi = np.minimum(x[:, None] + dt, ends[None, :])
    return (np.clip(hi - lo, 0.0, None) * amounts[None, :]).sum(axis=1) / dt


def plan_competitor(index: int, comp: Competitor, scenario: Scenario, catalog: Catalog) -> CompetitorPlan:
    dt, _ = _cells(scenario)
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
                f"data/deals.yaml (id {deal.id!r}): an owned deal needs purchase_price_usd for accelerator "
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
        cumulative = (np.clip(np.minimum(x[:, None], ends) - starts, 0.0, None) * amounts).sum(axis=1)
        deals.append(
            DealPlan(
                deal=deal,
                offset_months=offset,
                scale=scale,
                delay=(override.delay_months if override and override.delay_months else deal.delay_months),
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
        raise InputError(f"scenario: competitors[{index}] ({comp.label}) has no deal left after deal_overrides")
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
        delay = override.power_delay_months if override and override.power_delay_months else deal.power_delay_months
        caps.append(CapPlan(deal, offset, delay or Fixed(value=0.0), x_min, delay_cap, table))
    start = (month_index(comp.start) - scenario.start_index) if comp.start else 0.0
    edges = np.arange(scenario.steps + 1) * dt
    start_fraction = np.clip((edges[1:] - start) / dt, 0.0, 1.0)
    single = not scenario.span_sites
    layout = RaceLayout(
        deal_campus=tuple(p.campus for p in deals),
        campus_track=tuple(range(len(campus_ids))) if single else (0,) * len(campus_ids),
        n_tracks=len(campus_ids) if single else 1,
        steps=scenario.steps,
        substeps=SUBSTEPS,
        dt_s=dt * K.SECONDS_PER_MONTH,
        start_fraction=tuple(float(f) for f in start_fraction),
    )
    u = scenario.uncertainty
    return CompetitorPlan(
        index=index,
        competitor=comp,
        label=comp.label,
        deals=deals,
        caps=caps,
        campus_ids=campus_ids,
        layout=layout,
        start_months=float(start),
        precision=precision,
        mfu=comp.mfu if comp.mfu is not None else u.mfu,
        goodput=comp.goodput if comp.goodput is not None else u.goodput,
    )


# ---------------------------------------------------------------------------------------------
# Draws for one chunk (host) and the kernel call (device)
# ---------------------------------------------------------------------------------------------


def base_index(x_min: float, offset: float, delay: np.ndarray, delay_cap: float, h: float) -> np.ndarray:
    """Table cell of step 0 for each draw: deal-time x0 = -offset - delay, delay clipped to the table."""
    d = np.clip(delay, 0.0, delay_cap)
    # (-offset - d - x_min) / h, in place on the clipped copy
    np.subtract(-offset - x_min, d, out=d)
    np.divide(d, h, out=d)
    np.rint(d, out=d)
    return d.astype(np.int64)


def pipeline_threads(cpus: int | None = None) -> tuple[int, int]:
    """(prefetch threads, kernel threads) of simulate on NumPy, for `cpus` CPUs (default: those this
    process may use). Three stages run at once: the draws of the next chunks (prefetch), the kernel, and
    the outcomes of the last chunk (one thread). Half the CPUs, 1 to MAX_PREFETCH, make draws (the
    largest stage: about twice the kernel's CPU time); the kernel takes what is left, at least one, so
    from 3 CPUs the three stages use every CPU and no more. On 2 CPUs that is one thread each (three
    threads, the outcome thread often waiting for the kernel): measured on the 2-core EPYC at 1e6
    draws, 0.71 s and 1.16 CPU s against 0.81 s and 1.37 CPU s with two prefetch threads and a
    two-thread kernel. No number depends on these counts."""
    from .kernels.race_cpu import default_threads

    cpus = cpus or default_threads()
    prefetch = min(MAX_PREFETCH, max(1, cpus // 2))
    return prefetch, max(1, cpus - prefetch - 1)


def _prior_accelerator(plan: CompetitorPlan) -> str:
    """The accelerator the utilization prior is asked about: the deal with the most peak FLOP/s."""
    return max(plan.deals, key=lambda p: float(p.flops_table[-1]) * p.scale).deal.accelerator


def sample_inputs(plan: CompetitorPlan, scenario: Scenario, catalog: Catalog, prior: UtilizationPrior,
                   start: int, stop: int) -> dict[str, np.ndarray]:
    """Every uncertain input of one competitor for draws start..stop-1 (host float64).

    All of them come from one `sampling.sample_streams` call (counter-based streams, compiled when
    the extension is built): each quantity keeps its own named stream, so a draw is the same number
    whatever the chunk, and a stream shared by competitors (a site's PUE) is the same for both."""
    label = plan.label
    unc = scenario.uncertainty
    comp = plan.competitor
    model = catalog.models[comp.model]
    # (input key, stream name, distribution; None = the stream's raw uniforms)
    wanted = [("active_params", f"{label}/active_params", model.active_params)]
    if scenario.target_flop is None:
        wanted.append(("tokens", f"{label}/tokens", model.tokens))
    wanted.append(("goodput", f"{label}/goodput", plan.goodput))
    if plan.mfu == "prior":
        wanted.append(("utilization_u", f"{label}/utilization", None))
    else:
        wanted.append(("mfu", f"{label}/mfu", plan.mfu))
    wanted.append(("share", f"{label}/share", comp.share))
    if plan.precision == "fp8":
        wanted.append(("fp8_gain", f"{label}/fp8_gain", unc.fp8_gain))
    wanted.append(("hardware_life_years", f"{label}/hardware_life_years", unc.hardware_life_years))
    wanted.append(("build_usd_per_mw", f"{label}/build_cost_usd_per_mw", unc.build_cost_usd_per_mw))
    for p in plan.deals:
        wanted.append((f"delay:{p.deal.id}", f"deal {p.deal.id}/delay", p.delay))
        if p.deal.kind != "owned":  # an owned deal pays no price: its cost is hardware and energy
            wanted.append((f"price_factor:{p.deal.id}", f"deal {p.deal.id}/price_factor", unc.price_factor))
    for cap in plan.caps:
        if cap is not None:
            wanted.append((f"power_delay:{cap.deal.id}", f"deal {cap.deal.id}/power_delay", cap.delay))
    for region in sorted({p.deal.region for p in plan.deals}):
        wanted.append((f"pue_delta:{region}", f"site {region}/pue_delta", unc.pue_delta))
    streams = sample_streams(scenario.seed, [(name, dist) for _, name, dist in wanted], start, stop)
    drawn = {key: streams[name] for key, name, _ in wanted}
    out: dict[str, np.ndarray] = {}
    active = drawn.pop("active_params")
    if scenario.target_flop is not None:
        out["training_flop"] = np.full(stop - start, scenario.target_flop)
    else:
        out["training_flop"] = _training_flop(active, drawn.pop("tokens"))
    out["active_params"] = active
    goodput = drawn.pop("goodput")
    if plan.mfu == "prior":
        # The prior is on MFU x goodput (what published hours measure); MFU is what remains.
        effective = prior.ppf(drawn.pop("utilization_u"), active, accelerator=_prior_accelerator(plan))
        out["mfu"] = np.minimum(effective / goodput, 1.0)
    else:
        out["mfu"] = drawn.pop("mfu")
    out["utilization"] = out["mfu"] * goodput
    out["goodput"] = goodput
    out.update(drawn)
    return out


@dataclass
class KernelArgs:
    """One chunk's inputs of the race kernel on a backend's device, and the per-deal arrays the
    outcomes need. ``args`` are `race_tracks`'s positional arguments, ``deal_gain`` its keyword."""

    args: tuple
    deal_gain: list
    deal_base: list
    deal_pue: list  # each deal's PUE per draw, on the device in the kernel's dtype (its campus's in the kernel)
    price: list


def kernel_args(plan: CompetitorPlan, scenario: Scenario, inputs: dict[str, np.ndarray], be: Backend,
                dtype: str) -> KernelArgs:
    """Build the race kernel's inputs for one competitor and one chunk of host draws."""
    _, h = _cells(scenario)
    dev = lambda a: be.asarray(np.asarray(a, dtype=dtype))  # noqa: E731
    idev = lambda a: be.asarray(np.asarray(a, dtype=np.int64))  # noqa: E731
    # The static tables on the device, converted once per plan, backend and dtype (not per chunk).
    cache = plan.__dict__.setdefault("_device_tables", {})
    key = (be.name, dtype)
    if key not in cache:
        cache[key] = ([dev(p.flops_table) for p in plan.deals], [dev(p.power_table) for p in plan.deals],
                      [None if c is None else dev(c.table) for c in plan.caps])
    dev_flops, dev_power, dev_caps = cache[key]
    rate = inputs["utilization"] * inputs["share"]
    gain = dev(inputs["fp8_gain"]) if plan.precision == "fp8" else None  # one copy for every FP8 deal
    flops_tables, power_tables, deal_base, gains, deal_pue, price = [], [], [], [], [], []
    for i, p in enumerate(plan.deals):
        flops_tables.append(dev_flops[i])
        power_tables.append(dev_power[i])
        deal_base.append(idev(base_index(p.x_min, p.offset_months, inputs[f"delay:{p.deal.id}"], p.delay_cap, h)))
        gains.append(gain if p.fp8_capable else None)
        deal_pue.append(dev(np.maximum(p.pue + inputs[f"pue_delta:{p.deal.region}"], 1.0)))
        key = f"price_factor:{p.deal.id}"
        price.append(dev(inputs[key]) if key in inputs else None)  # None: an owned deal (no price)
    n_campus = len(plan.campus_ids)
    campus_pue = [None] * n_campus
    for p, pue in zip(plan.deals, deal_pue):
        campus_pue[p.campus] = pue
    cap_tables, cap_base = [], []
    for c, cap in enumerate(plan.caps):
        if cap is None:
            cap_tables.append(None)
            cap_base.append(None)
        else:
            cap_tables.append(dev_caps[c])
            delay = inputs[f"power_delay:{cap.deal.id}"]
            cap_base.append(idev(base_index(cap.x_min, cap.offset_months, delay, cap.delay_cap, h)))
    target = dev(inputs["training_flop"])
    args = (plan.layout, flops_tables, power_tables, deal_base, cap_tables, cap_base, campus_pue, dev(rate), target)
    return KernelArgs(args, gains, deal_base, deal_pue, price)


def race_kernel(be: Backend):
    """The race kernel for a backend: on NumPy the CPU fast path (`kernels/race_cpu.py`: the compiled
    `race_cpu.c`, or the array-API kernel when it is not built; `race_cpu.status()` says which), else
    the array-API kernel (CuPy, array-api-strict). Both take and return the same things."""
    if be.name == "numpy":
        from .kernels.race_cpu import race_tracks_cpu

        return race_tracks_cpu
    return race_tracks


def run_chunk(plan: CompetitorPlan, scenario: Scenario, inputs: dict[str, np.ndarray], be: Backend,
               dtype: str, timings: dict[str, float] | None = None, *,
               ka: KernelArgs | None = None) -> dict[str, np.ndarray]:
    """Kernel + outcomes for one competitor and one chunk; returns host arrays.

    `timings`: when given, seconds are added to its "kernel" (the kernel call, device synchronised)
    and "outcomes" (kernel inputs, outcomes, copy to the host) entries. `ka`: the chunk's
    `kernel_args`, when the caller built them already (simulate does, on its prefetch threads)."""
    if ka is None:
        ka = _timed_kernel_args(plan, scenario, inputs, be, dtype, timings)
    kernel_out = run_kernel(ka, be, timings)
    return chunk_outcomes(plan, scenario, inputs, be, dtype, ka, kernel_out, timings)


def _timed_kernel_args(plan: CompetitorPlan, scenario: Scenario, inputs: dict[str, np.ndarray], be: Backend,
                       dtype: str, timings: dict[str, float] | None) -> KernelArgs:
    """`kernel_args`, its seconds added to timings["outcomes"] (where the kernel's inputs are built
    on the kernel's thread: every backend but NumPy)."""
    t0 = time.perf_counter()
    ka = kernel_args(plan, scenario, inputs, be, dtype)
    if timings is not None:
        timings["outcomes"] = timings.get("outcomes", 0.0) + (time.perf_counter() - t0)
    return ka


def run_kernel(ka: KernelArgs, be: Backend, timings: dict[str, float] | None = None,
               threads: int | None = None) -> dict:
    """The race kernel on one chunk's `kernel_args`; seconds added to timings["kernel"] (device
    synchronised). `threads`: the CPU fast path's threads (default: the CPUs available)."""
    if timings is not None:
        sync()
        t1 = time.perf_counter()
    extra = {"threads": threads} if threads is not None and be.name == "numpy" else {}
    kernel_out = race_kernel(be)(*ka.args, deal_gain=ka.deal_gain, **extra)
    if timings is not None:
        sync(kernel_out["elapsed_steps"][0])
        timings["kernel"] = timings.get("kernel", 0.0) + (time.perf_counter() - t1)
    return kernel_out


def chunk_outcomes(plan: CompetitorPlan, scenario: Scenario, inputs: dict[str, np.ndarray], be: Backend,
                   dtype: str, ka: KernelArgs, kernel_out: dict, timings: dict[str, float] | None = None
                   ) -> dict[str, np.ndarray]:
    """Per-draw outcomes of one chunk from the kernel's output, as host arrays (seconds added to
    timings["outcomes"])."""
    t2 = time.perf_counter()
    dt, h = _cells(scenario)
    dev = lambda a: be.asarray(np.asarray(a, dtype=dtype))  # noqa: E731
    deal_base, deal_pue, price = ka.deal_base, ka.deal_pue, ka.price
    # Accelerator-hours each reserved deal delivers during the run window (used or not).
    first = first_finish(kernel_out, xp=be.xp)
    finish_steps = be.xp.where(be.xp.isfinite(first[0]), first[0], be.xp.full_like(first[0], plan.layout.steps))
    start_cells = int(round(plan.start_months / h))
    committed = []
    for p, base in zip(plan.deals, deal_base):
        if p.deal.kind != "reserved":
            committed.append(None)
            continue
        table = dev(p.cumulative_table)
        last = table.shape[0] - 1
        end_idx = be.xp.clip(base + be.xp.astype(be.xp.round(finish_steps * SUBSTEPS), base.dtype), 0, last)
        start_idx = be.xp.clip(base + start_cells, 0, last)
        delivered = be.xp.take(table, end_idx) - be.xp.take(table, start_idx)
        committed.append(delivered * K.HOURS_PER_MONTH)
    out = race_outcomes(
        plan.layout, kernel_out, tuple(plan.layout.campus_track[p.campus] for p in plan.deals),
        [p.costs for p in plan.deals], deal_pue, dev(inputs["share"]), price,
        dev(inputs["hardware_life_years"]), dev(inputs["build_usd_per_mw"]), committed,
        start_months=plan.start_months, dt_months=dt, hours_per_step=dt * K.HOURS_PER_MONTH, first=first,
    )
    host = {k: to_numpy(v) for k, v in out.items()}
    host["training_flop"] = inputs["training_flop"]
    if timings is not None:
        timings["outcomes"] = timings.get("outcomes", 0.0) + (time.perf_counter() - t2)
    return host


# ---------------------------------------------------------------------------------------------
# Results
# ---------------------------------------------------------------------------------------------

#: Metrics in the JSON contract (DESIGN.md s4), then extensions.
CONTRACT_METRICS = ("time_to_train_months", "gpu_hours", "energy_mwh", "peak_power_mw", "cost_usd",
                    "emissions_tco2e")
EXTRA_METRICS = ("committed_usd", "training_flop")


@dataclass
class SimulationResult:
    """Race outcome: per-competitor quantiles, who finishes first, lead times; per-draw frame on request."""

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
            for metric in CONTRACT_METRICS + EXTRA_METRICS:
                q = comp[metric]
                rows.append({"lab": comp["lab"], "model": comp["model"], "metric": metric,
                             "unit": METRIC_UNITS[metric], **q})
        return pd.DataFrame(rows)

    @property
    def race(self) -> pd.DataFrame:
        """One row per competitor: P(first), P(within horizon), time-to-train quantiles."""
        import pandas as pd

        rows = []
        for comp in self.competitors:
            q = comp["time_to_train_months"]
            rows.append({"lab": comp["lab"], "model": comp["model"], "p_first": comp["p_first"],
                         "p_within_horizon": comp["p_within_horizon"],
                         "months_p10": q["p10"], "months_p50": q["p50"], "months_p90": q["p90"]})
        rows.append({"lab": "nobody within horizon", "model": "", "p_first": self.p_nobody,
                     "p_within_horizon": float("nan")})
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
        """The JSON contract of `simulate --format json` (DESIGN.md s4) plus race extensions."""
        comps = []
        for comp in self.competitors:
            entry = {k: comp[k] for k in ("lab", "model", "p_first", "p_within_horizon")}
            for metric in CONTRACT_METRICS + EXTRA_METRICS:
                entry[metric] = comp[metric]
            entry["finish_month"] = comp["finish_month"]
            comps.append(entry)
        return json_ready({
            "scenario": self.scenario.name,
            "draws": self.scenario.draws,
            "backend": self.backend,
            "horizon_months": self.scenario.horizon_months,
            "start": self.scenario.start,
            "target_flop": self.scenario.target_flop,
            "competitors": comps,
            "p_nobody_within_horizon": self.p_nobody,
            "pairwise": self.pairwise,
            "notes": "quantiles of metrics other than time_to_train_months are over draws that finish "
                     "within the horizon; time_to_train_months counts unfinished draws as beyond the "
                     "horizon (null where a quantile falls there)",
            "provenance": self.provenance,
        })

    def to_table(self) -> str:
        """The race at a glance."""
        sc = self.scenario
        target = f"common target {sc.target_flop:.3g} FLOP" if sc.target_flop else "each lab's own next model"
        lines = [
            f"Race '{sc.name}': {target}; start {sc.start}, horizon {sc.horizon_months:g} months, "
            f"{sc.draws:,} draws, {'runs may span sites' if sc.span_sites else 'one campus per run'}",
            "",
            f"{'competitor':<28}{'P(first)':>9}{'P(done)':>9}{'months p10':>12}{'p50':>8}{'p90':>8}"
            f"{'cost p50':>11}{'MWh p50':>10}{'MW p50':>9}{'tCO2e p50':>11}",
        ]
        horizon = f">{sc.horizon_months:g}"
        for comp in self.competitors:
            t = comp["time_to_train_months"]
            cells = [f"{(months(t[k]) if t[k] is not None else horizon):>{w}}"
                     for k, w in (("p10", 12), ("p50", 8), ("p90", 8))]
            lines.append(
                f"{comp['label'][:27]:<28}{comp['p_first']:>9.1%}{comp['p_within_horizon']:>9.1%}"
                + "".join(cells)
                + "".join(f"{format_value(comp[m]['p50'], m):>{w}}" for m, w in
                          (("cost_usd", 11), ("energy_mwh", 10), ("peak_power_mw", 9), ("emissions_tco2e", 11)))
            )
        lines.append(f"{'nobody within horizon':<28}{self.p_nobody:>9.1%}")
        if self.pairwise:
            lines += ["", "Pairwise: P(A before B), and B's finish minus A's in months (p10 / p50 / p90)"]
            for pair in self.pairwise:
                lead = pair["lead_months"]
                lead_text = " / ".join("-" if lead[k] is None else f"{lead[k]:+.1f}" for k in ("p10", "p50", "p90"))
                lines.append(f"  {pair['a']} before {pair['b']}: {pair['p_a_before_b']:.1%}   lead {lead_text}")
        prov = self.provenance
        lines += ["", f"seed {sc.seed}, backend {prov['device']}, data {prov['data_hash']}, "
                      f"compute-race {prov['version']}; costs, energy and power are over runs that finish"]
        return "\n".join(lines)

    def _repr_html_(self) -> str:
        return present(self.race).to_html()


_QUANTILE_LEVELS = np.array(list(QUANTILES.values()))


def _finish_quantiles(finish: np.ndarray, start_months: float) -> tuple[dict, dict]:
    """Quantiles of the finish month and of time-to-train (finish minus the start) with unfinished
    draws counted as +inf (None where a quantile is): one selection over the stored array (radix
    selection, or a partition of a scratch copy), the start subtracted from the finish month's figures."""
    values = finish
    all_finite = bool(values.size) and bool(np.isfinite(values).all())
    mean = float(values.mean(dtype=np.float64)) if all_finite else None
    with np.errstate(invalid="ignore"):  # inf - inf inside the interpolation: the quantile is beyond
        qs = select_quantiles(values, _QUANTILE_LEVELS) if values.size else np.full(3, np.nan)
    out = []
    for shift in (0.0, start_months):
        entry = {k: (float(q - shift) if np.isfinite(q) else None) for k, q in zip(("p10", "p50", "p90"), qs)}
        entry["mean"] = None if mean is None else mean - shift
        out.append(entry)
    return out[0], out[1]


def _competitor_quantiles(plan: CompetitorPlan, values: dict[str, np.ndarray]) -> dict:
    """One competitor's summary from its per-draw metrics (P(first) is added by the race statistics)."""
    done = np.isfinite(values["finish_month"])
    entry = {
        "lab": plan.competitor.lab,
        "model": plan.competitor.model,
        "label": plan.label,
        "p_first": None,
        "p_within_horizon": float(done.mean()),
    }
    entry["finish_month"], entry["time_to_train_months"] = _finish_quantiles(values["finish_month"], plan.start_months)
    for metric in CONTRACT_METRICS[1:] + EXTRA_METRICS:
        # Over the finished draws: an unfinished draw's metrics are NaN (race_outcomes), which
        # quantiles() leaves out, so no copy of the finished draws is made.
        entry[metric] = quantiles(values[metric])
    return entry


def race_statistics(finish: dict[str, np.ndarray]) -> tuple[dict[str, float], float, list[dict]]:
    """P(first) per competitor (ties split), P(nobody), pairwise P(A before B) and lead quantiles."""
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
    ties = np.zeros(n, dtype=np.int16)  # competitors sharing the best time (0 where nobody finishes)
    for win in wins:
        ties += win
    tied = ties > 1
    p_first = {}
    for lab, win in zip(labels, wins):
        # A tie of k splits the draw in k equal parts: whole wins, plus 1/k of each k-way tie.
        alone = np.count_nonzero(win & ~tied)
        shared = sum(np.count_nonzero(win & (ties == k)) / k for k in range(2, len(rows) + 1)) if tied.any() else 0.0
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
            pairs.append({"a": a, "b": b, "p_a_before_b": float(np.count_nonzero(ta < tb) / n),
                          "p_b_before_a": float(np.count_nonzero(tb < ta) / n),
                          "p_both_within_horizon": float(np.count_nonzero(both) / n), "lead_months": lead})
    return p_first, p_nobody, pairs


def simulate(
    scenario: str | Path | dict | Scenario | None = None,
    *,
    draws: int | None = None,
    seed: int | None = None,
    backend: str | None = None,
    chunk_size: int | None = None,
    keep_draws: bool = False,
    dtype: str = "float32",
    progress: bool | None = None,
    catalog: Catalog | None = None,
    timings: dict[str, float] | None = None,
) -> SimulationResult:
    """Simulate the race of a scenario (path, dict or Scenario; default scenarios/default.yaml).

    `draws` and `seed` override the scenario's. Returns a SimulationResult whose `.to_dict()` is the
    JSON contract; `keep_draws=True` keeps per-draw inputs and outcomes (`.draws`). `chunk_size`
    (draws per kernel call; default DEFAULT_CHUNK on NumPy, GPU_CHUNK on CuPy) changes no result.
    `timings`: a dict that receives the seconds of each stage (sampling: the draws and, on NumPy, the
    kernel's inputs, made on prefetch threads while the kernel runs; kernel; outcomes: on NumPy on
    one more thread while the kernel runs the next chunk; quantiles; race_statistics; total), for `bench`.
    """
    t_start = time.perf_counter()
    catalog = catalog or load_catalog()
    scenario = load_scenario(scenario, catalog)
    updates = {}
    if draws is not None:
        updates["draws"] = check_draws(draws)
    if seed is not None:
        updates["seed"] = check_seed(seed)
    if updates:
        scenario = scenario.model_copy(update=updates)
    if chunk_size is not None and (not isinstance(chunk_size, int) or chunk_size < 1):
        raise InputError(f"chunk_size: expected a positive whole number, got {chunk_size!r}")
    if dtype not in ("float32", "float64"):
        raise InputError(f"dtype: expected float32 or float64, got {dtype!r}")
    be = select(backend)
    if chunk_size is None:
        chunk_size = GPU_CHUNK if be.name == "cupy" else DEFAULT_CHUNK
    check_simulation_size(scenario, catalog, chunk_size=chunk_size, itemsize=np.dtype(dtype).itemsize,
                          keep_draws=keep_draws, where=f"scenario {scenario.name!r}")  # before any allocation
    prior = default_prior(catalog)
    plans = [plan_competitor(i, comp, scenario, catalog) for i, comp in enumerate(scenario.competitors)]
    n = scenario.draws
    store_dtype = np.float32 if dtype == "float32" else np.float64
    # Competitor by competitor (draws do not depend on the order): a competitor's per-draw metrics are
    # reduced to quantiles as soon as its last chunk is in, and only its finish months are kept for
    # the race statistics (unless keep_draws), so memory holds one competitor's metrics at a time.
    stored: dict[str, dict[str, np.ndarray]] = {}
    kept_inputs: dict[str, dict[str, list]] = {p.label: {} for p in plans}
    chunks = list(range(0, n, chunk_size))
    bar = _progress(len(chunks) * len(plans), progress)
    tasks = [(start, min(start + chunk_size, n), plan) for plan in plans for start in chunks]

    stage = {} if timings is None else timings
    stage["sampling"] = 0.0
    stage["quantiles"] = 0.0

    def sample(task):
        t0 = time.perf_counter()
        out = sample_inputs(task[2], scenario, catalog, prior, task[0], task[1])
        # On NumPy the kernel's inputs are host arrays too: built here, off the kernel's thread.
        ka = kernel_args(task[2], scenario, out, be, dtype) if be.name == "numpy" else None
        return out, ka, time.perf_counter() - t0

    entries: dict[str, dict] = {}

    def reduce(start, stop, plan, inputs, ka, kernel_out):
        """One chunk's outcomes into the competitor's per-draw arrays; its quantiles after its last chunk."""
        out = chunk_outcomes(plan, scenario, inputs, be, dtype, ka, kernel_out, stage)
        values = stored.setdefault(plan.label, {m: np.empty(n, dtype=store_dtype) for m in STORED})
        for m in STORED:
            values[m][start:stop] = out[m]
        if keep_draws:
            for key, column in inputs.items():
                kept_inputs[plan.label].setdefault(key, []).append(column.astype(np.float64))
        if stop == n:  # the competitor's last chunk: reduce it now
            t0 = time.perf_counter()
            entries[plan.label] = _competitor_quantiles(plan, values)
            if not keep_draws:
                stored[plan.label] = {"finish_month": values["finish_month"]}
            stage["quantiles"] += time.perf_counter() - t0
        if bar is not None:
            bar.update(1)

    # The host draws of the next (chunk, competitor)s are made on prefetch threads while the kernel runs
    # on this one (race_sample, NumPy's generators and ufuncs release the GIL); on NumPy a chunk's
    # outcomes and quantiles run on one more thread while the kernel takes the next chunk (one chunk
    # in flight, in order). No number depends on the order or the thread.
    pipelined = be.name == "numpy"
    ahead, kernel_threads = pipeline_threads()
    with ThreadPoolExecutor(ahead) as prefetch, ThreadPoolExecutor(1) as reducer:
        pending = deque(prefetch.submit(sample, task) for task in tasks[:ahead])
        in_flight = None
        for j, (start, stop, plan) in enumerate(tasks):
            inputs, ka, seconds = pending.popleft().result()
            stage["sampling"] += seconds
            if j + ahead < len(tasks):
                pending.append(prefetch.submit(sample, tasks[j + ahead]))
            if ka is None:
                ka = _timed_kernel_args(plan, scenario, inputs, be, dtype, stage)
            kernel_out = run_kernel(ka, be, stage, kernel_threads if pipelined else None)
            if in_flight is not None:
                in_flight.result()  # re-raises the reducer's exception
                in_flight = None
            if pipelined:
                in_flight = reducer.submit(reduce, start, stop, plan, inputs, ka, kernel_out)
            else:
                reduce(start, stop, plan, inputs, ka, kernel_out)
            del inputs, ka, kernel_out
        if in_flight is not None:
            in_flight.result()
    if bar is not None:
        bar.close()

    finish = {p.label: stored[p.label]["finish_month"] for p in plans}
    t0 = time.perf_counter()
    p_first, p_nobody, pairs = race_statistics(finish)
    stage["race_statistics"] = time.perf_counter() - t0
    competitors = []
    for plan in plans:
        entry = entries[plan.label]
        entry["p_first"] = p_first[plan.label]
        competitors.append(entry)
    per_draw = None
    if keep_draws:
        per_draw = {}
        for plan in plans:
            cols = {m: stored[plan.label][m] for m in STORED}
            cols.update({k: np.concatenate(v) for k, v in kept_inputs[plan.label].items()})
            per_draw[plan.label] = cols
    result = SimulationResult(
        scenario=scenario,
        backend=be.name,
        competitors=competitors,
        p_nobody=p_nobody,
        pairwise=pairs,
        provenance=provenance(seed=scenario.seed, backend=be, data_hash=catalog.data_hash),
        per_draw=per_draw,
    )
    stage["total"] = time.perf_counter() - t_start
    return result


def _progress(total: int, progress: bool | None):
    """A tqdm bar on stderr for long runs (auto: only when stderr is a terminal and work is large)."""
    if progress is False or total <= 1:
        return None
    if progress is None and not sys.stderr.isatty():
        return None
    from tqdm.auto import tqdm

    return tqdm(total=total, desc="simulate", unit="chunk", file=sys.stderr, leave=False)

"""The race, run: a scenario's inputs drawn over chunks of draws, the kernels, the outcomes.

Host side of the race: load and check the scenario (`inputs.scenario`), plan each competitor's
capacity tables (`model.plan`), draw every uncertain input on the host in chunks, build the kernel's
arguments, run the kernels on the chosen backend, and reduce per-draw outcomes to the race's
statistics (`model.result`). `simulate` is the pipeline.
"""

from __future__ import annotations

import sys
import time
from collections import deque
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .. import constants as K
from ..backend import Backend, select, sync, to_numpy
from ..errors import InputError
from ..inputs.catalog import Catalog, load_catalog
from ..inputs.limits import MAX_CLIPPED_MFU_SHARE
from ..inputs.scenario import Scenario, check_simulation_size, load_scenario, scenario_catalog
from ..inputs.specs import check_draws, check_seed
from ..provenance import provenance
from .calibration import default_prior
from .draws import planned_budget, sample_inputs  # noqa: F401  (re-exported)
from .kernels.race import launch_runs, run_outcomes, run_timing
from .plan import CompetitorPlan, plan_competitor, time_grid
from .result import SimulationResult, competitor_quantiles, race_statistics

#: Draws per chunk: bounds memory whatever the draw count (about 40 arrays of this length live).
DEFAULT_CHUNK = 1 << 17
#: At most this many chunks have their host draws made ahead, each on its own thread
#: (`pipeline_threads`).
MAX_PREFETCH = 4
#: Draws per chunk on CuPy: a GPU needs large chunks to amortize the kernel launches of each step.
GPU_CHUNK = 1 << 20

#: Metrics stored per draw (float32 on the host) for quantiles, the race and per-draw frames.
STORED = (
    "finish_month",
    "launch_month",
    "release_month",
    "run_length_months",
    "effective_flop",
    "time_to_train_months",
    "gpu_hours",
    "energy_mwh",
    "peak_power_mw",
    "cost_usd",
    "committed_usd",
    "emissions_tco2e",
    "training_flop",
)


# ---------------------------------------------------------------------------------------------
# Draws for one chunk (host) and the kernel call (device)
# ---------------------------------------------------------------------------------------------


def base_index(
    x_min: float, offset: float, delay: np.ndarray, delay_cap: float, h: float
) -> np.ndarray:
    """Table cell of step 0 for each draw: deal-time x0 = -offset - delay, delay clipped to the
    table."""
    d = np.clip(delay, 0.0, delay_cap)
    # (-offset - d - x_min) / h, in place on the clipped copy
    np.subtract(-offset - x_min, d, out=d)
    np.divide(d, h, out=d)
    np.rint(d, out=d)
    return d.astype(np.int64)


def pipeline_threads(cpus: int | None = None) -> tuple[int, int]:
    """(prefetch threads, kernel threads) of simulate on NumPy, for `cpus` CPUs (default: those this
    process may use). Three stages run at once: the draws of the next chunks (prefetch), the kernel,
    and the outcomes of the last chunk (one thread). Half the CPUs, 1 to MAX_PREFETCH, make draws
    (the largest stage: about twice the kernel's CPU time); the kernel takes what is left, at least
    one, so from 3 CPUs the three stages use every CPU and no more. On 2 CPUs that is one thread
    each (three threads, the outcome thread often waiting for the kernel): measured on the 2-core
    EPYC at 1e6 draws, 0.71 s and 1.16 CPU s against 0.81 s and 1.37 CPU s with two prefetch threads
    and a two-thread kernel. No number depends on these counts."""
    from .kernels.native import default_threads

    cpus = cpus or default_threads()
    prefetch = min(MAX_PREFETCH, max(1, cpus // 2))
    return prefetch, max(1, cpus - prefetch - 1)


@dataclass
class KernelArgs:
    """One chunk's inputs of the race kernel on a backend's device, and the per-deal arrays the
    outcomes need. ``args`` are `launch_runs`'s positional arguments, ``keywords`` its keywords
    (count, deal_gain)."""

    args: tuple
    keywords: dict
    deal_base: list
    # each deal's PUE per draw, on the device in the kernel's dtype (its campus's in the kernel)
    deal_pue: list
    price: list


def kernel_args(
    plan: CompetitorPlan, scenario: Scenario, inputs: dict[str, np.ndarray], be: Backend, dtype: str
) -> KernelArgs:
    """Build the race kernel's inputs for one competitor and one chunk of host draws."""
    _, h = time_grid(scenario)
    dev = lambda a: be.asarray(np.asarray(a, dtype=dtype))  # noqa: E731
    idev = lambda a: be.asarray(np.asarray(a, dtype=np.int64))  # noqa: E731
    # The static tables on the device, converted once per plan, backend and dtype (not per chunk).
    cache = plan.__dict__.setdefault("_device_tables", {})
    key = (be.name, dtype)
    if key not in cache:
        cache[key] = (
            [dev(p.flops_table) for p in plan.deals],
            [dev(p.power_table) for p in plan.deals],
            [None if c is None else dev(c.table) for c in plan.caps],
        )
    dev_flops, dev_power, dev_caps = cache[key]
    gain = (
        dev(inputs["fp8_gain"]) if plan.precision == "fp8" else None
    )  # one copy for every FP8 deal
    flops_tables, power_tables, deal_base, gains, deal_pue, price = [], [], [], [], [], []
    for i, p in enumerate(plan.deals):
        flops_tables.append(dev_flops[i])
        power_tables.append(dev_power[i])
        deal_base.append(
            idev(base_index(p.x_min, p.offset_months, inputs[f"delay:{p.deal.id}"], p.delay_cap, h))
        )
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
    n = inputs["utilization"].shape[0]
    need, inv_h = _need(plan, inputs, n)
    args = (
        plan.layout,
        flops_tables,
        power_tables,
        deal_base,
        cap_tables,
        cap_base,
        campus_pue,
        dev(inputs["earliest_launch_months"]),
        dev(inputs["share"]),
        dev(inputs["utilization"]),
        dev(_budget_months(plan, inputs) * K.SECONDS_PER_MONTH),
        dev(need),
        dev(inv_h),
    )
    count = dev(inputs["accelerators"]) if "accelerators" in inputs else None
    return KernelArgs(args, {"count": count, "deal_gain": gains}, deal_base, deal_pue, price)


def _budget_months(plan: CompetitorPlan, inputs: dict[str, np.ndarray]) -> np.ndarray:
    """The wall-clock budget the kernel plans with: the drawn one, except for a run of a given
    count that aims at a target (a run whose cluster is known, e.g. one in flight): it trains until
    it reaches the target, for up to constants.MAX_BUDGET_MONTHS."""
    if "accelerators" in inputs and plan.target_kind != "budget":
        return np.full_like(inputs["budget_months"], K.MAX_BUDGET_MONTHS)
    return inputs["budget_months"]


def _need(plan: CompetitorPlan, inputs: dict[str, np.ndarray], n: int):
    """(raw FLOP the target needs at the scenario start, 1 / months per halving of that need):
    zeros for a budget run; a raw target needs its FLOP whenever it launches; an effective target
    needs target / efficiency at the start, halving with algorithmic progress."""
    if plan.target_kind == "budget":
        return np.zeros(n), np.zeros(n)
    target = inputs["target_flop"]
    if plan.target_kind == "raw":
        return target, np.zeros(n)
    return target / inputs["efficiency"], 1.0 / inputs["halving_months"]


def race_kernel(be: Backend):
    """The race kernel for a backend: on NumPy the CPU fast path (`kernels/race_cpu.py`: the
    array-API kernel's operations on the draws still waiting to launch), else the array-API kernel
    (CuPy, array-api-strict). Both take and return the same things."""
    if be.name == "numpy":
        from .kernels.race_cpu import launch_runs_cpu

        return launch_runs_cpu
    return launch_runs


def run_chunk(
    plan: CompetitorPlan,
    scenario: Scenario,
    inputs: dict[str, np.ndarray],
    be: Backend,
    dtype: str,
    timings: dict[str, float] | None = None,
    *,
    ka: KernelArgs | None = None,
) -> dict[str, np.ndarray]:
    """Kernel + outcomes for one competitor and one chunk; returns host arrays.

    `timings`: when given, seconds are added to its "kernel" (the kernel call, device synchronised)
    and "outcomes" (kernel inputs, outcomes, copy to the host) entries. `ka`: the chunk's
    `kernel_args`, when the caller built them already (simulate does, on its prefetch threads)."""
    if ka is None:
        ka = _timed_kernel_args(plan, scenario, inputs, be, dtype, timings)
    kernel_out = run_kernel(ka, be, timings)
    return chunk_outcomes(plan, scenario, inputs, be, dtype, ka, kernel_out, timings)


def _timed_kernel_args(
    plan: CompetitorPlan,
    scenario: Scenario,
    inputs: dict[str, np.ndarray],
    be: Backend,
    dtype: str,
    timings: dict[str, float] | None,
) -> KernelArgs:
    """`kernel_args`, its seconds added to timings["outcomes"] (where the kernel's inputs are built
    on the kernel's thread: every backend but NumPy)."""
    t0 = time.perf_counter()
    ka = kernel_args(plan, scenario, inputs, be, dtype)
    if timings is not None:
        timings["outcomes"] = timings.get("outcomes", 0.0) + (time.perf_counter() - t0)
    return ka


def run_kernel(ka: KernelArgs, be: Backend, timings: dict[str, float] | None = None) -> dict:
    """The race kernel on one chunk's `kernel_args`; seconds added to timings["kernel"] (device
    synchronised)."""
    if timings is not None:
        sync()
        t1 = time.perf_counter()
    kernel_out = race_kernel(be)(*ka.args, **ka.keywords)
    if timings is not None:
        sync(kernel_out["launch_months"])
        timings["kernel"] = timings.get("kernel", 0.0) + (time.perf_counter() - t1)
    return kernel_out


def chunk_outcomes(
    plan: CompetitorPlan,
    scenario: Scenario,
    inputs: dict[str, np.ndarray],
    be: Backend,
    dtype: str,
    ka: KernelArgs,
    kernel_out: dict,
    timings: dict[str, float] | None = None,
) -> dict[str, np.ndarray]:
    """Per-draw outcomes of one chunk from the kernel's output, as host arrays (seconds added to
    timings["outcomes"])."""
    t2 = time.perf_counter()
    _, h = time_grid(scenario)
    xp = be.xp
    dev = lambda a: be.asarray(np.asarray(a, dtype=dtype))  # noqa: E731
    deal_base, deal_pue, price = ka.deal_base, ka.deal_pue, ka.price
    rate, budget_s = ka.args[9], ka.args[10]
    timing = run_timing(
        plan.layout, kernel_out, rate, budget_s, count_given=ka.keywords["count"] is not None, xp=xp
    )
    # Accelerator-hours each reserved deal delivers while the run trains (used by it or not).
    launch = kernel_out["launch_months"]
    zero = xp.zeros_like(launch)
    start_cells = xp.where(xp.isfinite(launch), launch, zero) / h
    end_cells = xp.where(timing["finished"], timing["finish_months"], zero) / h
    committed = []
    for p, base in zip(plan.deals, deal_base):
        if p.deal.kind != "reserved":
            committed.append(None)
            continue
        table = dev(p.cumulative_table)
        last = table.shape[0] - 1
        end_idx = xp.clip(base + xp.astype(xp.round(end_cells), base.dtype), 0, last)
        start_idx = xp.clip(base + xp.astype(xp.round(start_cells), base.dtype), 0, last)
        delivered = xp.take(table, end_idx) - xp.take(table, start_idx)
        committed.append(delivered * K.HOURS_PER_MONTH)
    out = run_outcomes(
        plan.layout,
        kernel_out,
        timing,
        tuple(plan.layout.campus_track[p.campus] for p in plan.deals),
        [p.costs for p in plan.deals],
        deal_pue,
        price,
        dev(inputs["hardware_life_years"]),
        dev(inputs["build_usd_per_mw"]),
        committed,
        rate,
        dev(inputs["efficiency"]),
        dev(1.0 / inputs["halving_months"]),
        dev(inputs["release_lag_months"]),
    )
    host = {k: to_numpy(v) for k, v in out.items()}
    if timings is not None:
        timings["outcomes"] = timings.get("outcomes", 0.0) + (time.perf_counter() - t2)
    return host


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
    """Simulate the race of a scenario: who trains first, when, at what cost, energy and power.

    Parameters
    ----------
    scenario : str, Path, dict or Scenario, optional
        A scenario file (YAML; schema in scenarios/README.md), its contents as a dict, or a loaded
        Scenario; default scenarios/default.yaml.
    draws : int, optional
        Monte Carlo draws, replacing the scenario's (1 to 20,000,000).
    seed : int, optional
        Seed of every draw, replacing the scenario's (0 to 2**63 - 1).
    backend : {"auto", "numpy", "cupy"}, optional
        Array backend; default ``$COMPUTE_RACE_BACKEND``, else auto (CuPy when a GPU is usable).
    chunk_size : int, optional
        Draws per kernel call (default DEFAULT_CHUNK on NumPy, GPU_CHUNK on CuPy); it changes no
        result, only memory and speed.
    keep_draws : bool
        Keep the per-draw inputs and outcomes (``.draws``), for sensitivity and plots.
    dtype : {"float32", "float64"}
        Precision of the kernels; float32 moves finish times by under 1e-6 relative.
    progress : bool, optional
        Show a progress bar; None: only on an interactive terminal.
    catalog : Catalog, optional
        The inputs to use; default `load_catalog()`.
    timings : dict, optional
        Receives the seconds of each stage (sampling, kernel, outcomes, quantiles, race_statistics,
        total), for `bench`.

    Returns
    -------
    SimulationResult
        Per-competitor quantiles (``.summary``), P(first) and lead times (``.race``, ``.pairs``);
        ``.to_dict()`` is the JSON of ``simulate --format json``.

    Raises
    ------
    InputError
        For a bad scenario or argument (naming the file and key path), or a simulation that would
        need more memory than the limit.
    """
    t_start = time.perf_counter()
    catalog = catalog or load_catalog()
    scenario = load_scenario(scenario, catalog)
    catalog = scenario_catalog(scenario, catalog)
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
    check_simulation_size(
        scenario,
        catalog,
        chunk_size=chunk_size,
        itemsize=np.dtype(dtype).itemsize,
        keep_draws=keep_draws,
        where=f"scenario {scenario.name!r}",
    )  # before any allocation
    prior = default_prior(catalog)
    plans = [
        plan_competitor(i, comp, scenario, catalog) for i, comp in enumerate(scenario.competitors)
    ]
    for plan in plans:
        check_prior_goodput(plan, scenario, catalog, prior)
    n = scenario.draws
    store_dtype = np.float32 if dtype == "float32" else np.float64
    # Competitor by competitor (draws do not depend on the order): a competitor's per-draw metrics
    # are reduced to quantiles as soon as its last chunk is in, and only its finish months are kept
    # for the race statistics (unless keep_draws), so memory holds one competitor's metrics at a
    # time.
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
        """One chunk's outcomes into the competitor's per-draw arrays; its quantiles after its last
        chunk."""
        out = chunk_outcomes(plan, scenario, inputs, be, dtype, ka, kernel_out, stage)
        values = stored.setdefault(plan.label, {m: np.empty(n, dtype=store_dtype) for m in STORED})
        for m in STORED:
            values[m][start:stop] = out[m]
        if keep_draws:
            for key, column in inputs.items():
                kept_inputs[plan.label].setdefault(key, []).append(column.astype(np.float64))
        if stop == n:  # the competitor's last chunk: reduce it now
            t0 = time.perf_counter()
            entries[plan.label] = competitor_quantiles(plan, values)
            if not keep_draws:
                stored[plan.label] = {"finish_month": values["finish_month"]}
            stage["quantiles"] += time.perf_counter() - t0
        if bar is not None:
            bar.update(1)

    # The host draws of the next (chunk, competitor)s are made on prefetch threads while the kernel
    # runs on this one (race_sample, NumPy's generators and ufuncs release the GIL); on NumPy a
    # chunk's outcomes and quantiles run on one more thread while the kernel takes the next chunk
    # (one chunk in flight, in order). No number depends on the order or the thread.
    pipelined = be.name == "numpy"
    ahead, _ = pipeline_threads()
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
            kernel_out = run_kernel(ka, be, stage)
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


#: Draws the prior-MFU check looks at: the scenario's first ones, whatever the chunk size.
PRIOR_CHECK_DRAWS = 4096


def check_prior_goodput(plan: CompetitorPlan, scenario: Scenario, catalog: Catalog, prior) -> None:
    """With MFU from the calibrated prior, MFU = utilization / goodput is clipped to 1; refuse a
    goodput so low that more than limits.MAX_CLIPPED_MFU_SHARE of the first PRIOR_CHECK_DRAWS draws
    would be clipped (a race of MFU 100% runs), in one line naming the goodput's key."""
    if plan.mfu != "prior":
        return
    stop = min(scenario.draws, PRIOR_CHECK_DRAWS)
    mfu = sample_inputs(plan, scenario, catalog, prior, 0, stop)["mfu"]
    share = float(np.count_nonzero(mfu >= 1.0)) / stop
    if share <= MAX_CLIPPED_MFU_SHARE:
        return
    key = (
        f"competitors[{plan.index}].goodput"
        if plan.competitor.goodput is not None
        else "uncertainty.goodput"
    )
    raise InputError(
        f"scenario {scenario.name!r}: {key} ({plan.label}): with MFU from the calibrated prior "
        f"(whose utilization already includes goodput), MFU = utilization / goodput exceeds 1 in "
        f"{share:.0%} of draws (at most {MAX_CLIPPED_MFU_SHARE:.0%} allowed): give a larger "
        "goodput, or an mfu distribution"
    )


def _progress(total: int, progress: bool | None):
    """A tqdm bar on stderr for long runs (auto: only when stderr is a terminal and work is
    large)."""
    if progress is False or total <= 1:
        return None
    if progress is None and not sys.stderr.isatty():
        return None
    from tqdm.auto import tqdm

    return tqdm(total=total, desc="simulate", unit="chunk", file=sys.stderr, leave=False)

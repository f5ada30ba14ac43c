"""`python -m analysis bench`: how fast the race kernel runs, which CPU fast path ran, how close
`simulate` comes to it end to end, and how many `estimate` configurations a second run.

What is timed:
1. The race kernel (`model.run.race_kernel(backend)`: on NumPy the CPU fast path
   `kernels/race_cpu.py`: the array-API kernel's operations on the draws still waiting to launch;
   on CuPy the array-API kernel `kernels/race.py`) over
   K draws of the shipped default scenario (scenarios/default.yaml: 3 competitors with 10, 7 and 5
   deals, T = 36 monthly steps; `workload` in the JSON says how many campuses are capped), chunk by
   chunk as
   `simulate` runs it. Each chunk's draws are made and moved to the device first, untimed; the timer
   runs from a device synchronisation before the kernel call to one after it. One untimed warm-up
   chunk runs first.
2. `simulate` end to end on the same K draws (``stages``): seconds of sampling (the draws and, on
   NumPy, the kernel's inputs, on prefetch threads overlapping the kernel), kernel, outcomes
   (per-draw outcomes, copies to the host; on NumPy on one more thread, overlapping the next chunk's
   kernel; the kernel's inputs on other backends), quantiles (by radix selection,
   `model.summary.radix_quantiles`), race statistics, the total, ``end_to_end_ratio`` = total / the
   kernel's seconds inside simulate, and ``end_to_end_vs_kernel_alone`` = total / the kernel's
   seconds timed alone (1.).
3. ``estimate`` at draws=1000: `estimate_many` on three tables: the realistic grid (a sweep of sizes
   x token counts x accelerators x cluster sizes x sites; ``batch_configs_per_s``),
   ``BATCH_CONFIGS`` rows of five kinds (``batch_mixed_configs_per_s``) and the worst case, the grid
   with every row a distinct model size so that no two rows share a vector of draws
   (``batch_worst_case_configs_per_s``); and single `estimate` calls in a loop, of one configuration
   (``single_calls_per_s``) and each of its own size and accelerator
   (``single_calls_varied_per_s``); and the command ``python -m analysis estimate ...`` end to end,
   a new process each time (``command_seconds``), also right after every notebook's file times
   changed, as a save or a fresh clone leaves them (``command_after_touch_seconds``).
4. The explorer (``explorer``): `views.explorer.Explorer` on the default scenario at the notebook's
   ``EXPLORER_DRAWS`` draws, then ``EXPLORER_UPDATES`` changes made as a user makes them (a common
   target, a lab, a share, back), each an update: the race rerun, its curves and the figure
   redrawn (``update_seconds_median``, ``update_seconds_max``).

Scenario-step: one (draw, competitor, time step) evaluation of the array-API race kernel: the
capacity online of every deal of that competitor (a table lookup at the draw's delayed index), the
power cap of every campus, then for every track the planned compute within the run's budget
against its target, and the launch's accumulators. K draws make K x 3 x 36 scenario-steps: the
array-API kernel evaluates every step for every draw, so that count is the work it does; the CPU
fast path does the same work for the steps a draw waits to launch only, so its rate in
scenario-steps per second says how much work it saves as much as how fast it computes.

``speedup_vs_scalar`` is against the scalar reference (`model/reference.py`: pure Python loops in
float64), timed on ``SCALAR_DRAWS`` draws per competitor and checked against the kernel and the
array-API kernel; ``speedup_vs_naive`` against the array-API kernel itself run on NumPy (the
straightforward vectorized form: one NumPy call per operation and step) on ``NAIVE_DRAWS`` draws.
The float32 error is measured against the same kernel run in float64 on the same draws.

Memory: ``peak_memory_mb`` is the peak resident set size of this process (getrusage ru_maxrss, so
it includes the interpreter and libraries) up to the end of that backend's timed run; for CuPy it
is the device memory CuPy's pool holds after the run (the pool keeps freed blocks, so about its
peak), with the host figure beside it. ``memcpy_gb_per_s`` is bytes copied per second by
`np.copyto` of a 256 MiB float32 array (each byte read once and written once), median of 5.

Timings on a shared machine vary from run to run: the table says how many repeats the median is
of, and the spread. The stages of 2. also carry ``cpu_seconds`` (every thread of the process, during
the median run), ``load_average_1min`` (when the stages were timed) and ``sampler`` (which form made
simulate's draws: `sampling.sampler_status`).
"""

from __future__ import annotations

import contextlib
import json
import os
import platform
import resource
import statistics
import sys
import time

import numpy as np

from ..backend import BACKEND_ENV, BACKENDS, Backend, cupy_status, select, sync
from ..errors import InputError
from ..model.kernels import native, race_cpu

DEFAULT_DRAWS = 1_000_000
#: Draws per kernel call: simulate's chunk on NumPy (the fast path splits it into cache-sized
#: sub-chunks itself); on a GPU one large chunk keeps the device busy between host calls.
CHUNK = {"numpy": 1 << 17, "cupy": 1 << 22}
SCALAR_DRAWS = 200
#: Draws per competitor of the "naive" baseline: the array-API kernel run on NumPy (one NumPy call
#: per operation and step, the straightforward vectorized form of the model).
NAIVE_DRAWS = 1 << 15
#: Configurations of the batch-estimate timing, and single `estimate` calls timed; both at
#: draws=1000.
BATCH_CONFIGS = 20_000
SINGLE_CALLS = 200
ESTIMATE_DRAWS = 1000
#: The explorer's draws (notebook 40's default) and the updates timed.
EXPLORER_DRAWS = 20_000
EXPLORER_UPDATES = 6
FLOAT64_DRAWS = 1 << 15
#: Repeats of the timed run (the median is reported); one above this many draws.
REPEATS = 3
REPEAT_MAX_DRAWS = 2_000_000
MEMCPY_BYTES = 256 << 20
#: Agreement required of the references (relative; float32 kernel against float64 and float32).
REFERENCE_RTOL = 1e-4

SCENARIO_STEP = (
    "one (draw, competitor, time step) evaluation the array-API race kernel makes: capacity online "
    "of every deal of the competitor, power cap of every campus, and for every track the planned "
    "compute within the run's budget against its target; the array-API kernel evaluates every "
    "step of the horizon for every draw, the CPU fast path only the steps a draw waits to launch"
)


def _sim():
    from ..model import run

    return run


# ---------------------------------------------------------------------------------------------
# Machine figures
# ---------------------------------------------------------------------------------------------


def memcpy_gb_per_s(nbytes: int = MEMCPY_BYTES, repeats: int = 5) -> float:
    """Bytes per second (1e9) that `np.copyto` moves between two large host arrays; median."""
    src = np.ones(nbytes // 4, dtype=np.float32)
    dst = np.empty_like(src)
    np.copyto(dst, src)  # touch both
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        np.copyto(dst, src)
        times.append(time.perf_counter() - t0)
    return nbytes / statistics.median(times) / 1e9


def peak_rss_mb() -> float:
    """Peak resident set size of this process so far (MB, 1e6 bytes)."""
    kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return kb * (1 if sys.platform == "darwin" else 1024) / 1e6


def cpu_description() -> str:
    name = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as handle:
            for line in handle:
                if line.startswith("model name"):
                    name = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    try:
        cpus = len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not on Linux
        cpus = os.cpu_count() or 1
    return f"{name}, {cpus} CPUs available"


# ---------------------------------------------------------------------------------------------
# The workload
# ---------------------------------------------------------------------------------------------


class Workload:
    """The default scenario's competitors: kernel inputs for any range of draws on any backend."""

    def __init__(self):
        from ..inputs.catalog import load_catalog
        from ..inputs.scenario import load_scenario
        from ..model.calibration import default_prior
        from ..model.plan import plan_competitor

        self.catalog = load_catalog()
        self.scenario = load_scenario(None, self.catalog)
        self.prior = default_prior(self.catalog)
        self.plans = [
            plan_competitor(i, c, self.scenario, self.catalog)
            for i, c in enumerate(self.scenario.competitors)
        ]
        self.steps = self.scenario.steps

    def describe(self) -> dict:
        return {
            "scenario": self.scenario.name,
            "competitors": len(self.plans),
            "deals": [len(p.deals) for p in self.plans],
            "campuses": [len(p.campus_ids) for p in self.plans],
            "power_capped_campuses": [sum(c is not None for c in p.caps) for p in self.plans],
            "steps": self.steps,
            "time_step_months": self.scenario.time_step_months,
        }

    def args(self, plan, start: int, stop: int, be: Backend, dtype: str = "float32"):
        sim = _sim()
        inputs = sim.sample_inputs(plan, self.scenario, self.catalog, self.prior, start, stop)
        return sim.kernel_args(plan, self.scenario, inputs, be, dtype)


def _kernel_name(be: Backend) -> str:
    if be.name != "numpy":
        return "race.launch_runs (array-API kernel)"
    return race_cpu.DESCRIPTION


def _first_array(out: dict):
    return out["launch_months"]


def time_backend(work: Workload, be: Backend, draws: int, repeats: int) -> dict:
    """Time the race kernel on `draws` draws of every competitor; median over `repeats` runs."""
    kernels = {"main": _sim().race_kernel(be)}
    chunk = CHUNK.get(be.name, CHUNK["numpy"])
    # Warm-up: CuPy compiles its kernels on first use; NumPy touches its code paths and pools.
    for plan in work.plans:
        ka = work.args(plan, 0, min(draws, 4096), be)
        for kernel in kernels.values():
            sync(_first_array(kernel(*ka.args, **ka.keywords)))
    runs = {label: [] for label in kernels}
    host = []
    for _ in range(repeats):
        kernel_s = dict.fromkeys(kernels, 0.0)
        host_s = 0.0
        for start in range(0, draws, chunk):
            stop = min(start + chunk, draws)
            for plan in work.plans:
                t0 = time.perf_counter()
                ka = work.args(plan, start, stop, be)
                sync()
                host_s += time.perf_counter() - t0
                for label, kernel in kernels.items():
                    t1 = time.perf_counter()
                    out = kernel(*ka.args, **ka.keywords)
                    sync(_first_array(out))
                    kernel_s[label] += time.perf_counter() - t1
                    del out
                del ka
        for label in kernels:
            runs[label].append(kernel_s[label])
        host.append(host_s)
    runs = runs["main"]
    seconds = statistics.median(runs)
    scenario_steps = draws * len(work.plans) * work.steps
    result = {
        "backend": be.name,
        "draws": draws,
        "steps": work.steps,
        "seconds": seconds,
        "scenario_steps_per_s": scenario_steps / seconds,
        "speedup_vs_scalar": None,
        "speedup_vs_naive": None,
        "peak_memory_mb": peak_rss_mb(),
        "scenario_steps": scenario_steps,
        "repeats": repeats,
        "seconds_min": min(runs),
        "seconds_max": max(runs),
        "host_input_seconds": statistics.median(host),
        "chunk_draws": chunk,
        "kernel": _kernel_name(be),
        "device": be.describe(),
        "peak_memory_is": "peak resident set size of the process (getrusage ru_maxrss)",
    }
    if be.name == "numpy":
        result["fast_path"] = race_cpu.DESCRIPTION
        result["compiled_helpers"] = native.status()
    if be.name == "cupy":
        import cupy

        result["host_peak_memory_mb"] = result["peak_memory_mb"]
        result["peak_memory_mb"] = cupy.get_default_memory_pool().total_bytes() / 1e6
        result["peak_memory_is"] = (
            "device memory held by CuPy's memory pool after the run (about its peak)"
        )
    return result


# ---------------------------------------------------------------------------------------------
# References: scalar, float64
# ---------------------------------------------------------------------------------------------


def _host(out: dict) -> dict:
    from ..backend import to_numpy

    return {
        key: [to_numpy(a) for a in value] if isinstance(value, list) else to_numpy(value)
        for key, value in out.items()
    }


def kernels_to_check(backends: list[Backend]) -> list[tuple[str, Backend, object]]:
    """(label, backend, kernel) of every kernel the bench checks: the dispatched one per backend,
    and on NumPy also the array-API kernel (the specification) when the compiled one is what
    runs."""
    out = [(be.name, be, _sim().race_kernel(be)) for be in backends]
    numpy_be = next((be for be in backends if be.name == "numpy"), None)
    if numpy_be is not None:
        from ..model.kernels.race import launch_runs

        out.append(("array-api", numpy_be, launch_runs))
    return out


def time_naive(work: Workload, draws: int) -> dict:
    """The array-API kernel on NumPy over `draws` draws of every competitor (the "naive"
    baseline)."""
    from ..model.kernels.race import launch_runs

    be = select("numpy")
    seconds = 0.0
    for plan in work.plans:
        ka = work.args(plan, 0, draws, be)
        t0 = time.perf_counter()
        launch_runs(*ka.args, **ka.keywords)
        seconds += time.perf_counter() - t0
    scenario_steps = draws * len(work.plans) * work.steps
    return {
        "draws": draws,
        "seconds": seconds,
        "scenario_steps_per_s": scenario_steps / seconds,
        "kernel": "race.launch_runs (array-API kernel) on NumPy",
    }


def time_reference(
    work: Workload, name: str, draws: int, checks_of: list[tuple[str, Backend, object]]
) -> dict:
    """Time a reference on `draws` draws of every competitor and check the kernels agree with it."""
    from ..model.reference import compare, scalar_launch

    fn = {"scalar": scalar_launch}[name]
    numpy_be = select("numpy")
    seconds, checks = 0.0, {}
    for plan in work.plans:
        ka = work.args(plan, 0, draws, numpy_be)
        t0 = time.perf_counter()
        ref = fn(*ka.args, **ka.keywords)
        seconds += time.perf_counter() - t0
        for label, be, kernel in checks_of:
            kb = ka if be.name == "numpy" else work.args(plan, 0, draws, be)
            got = _host(kernel(*kb.args, **kb.keywords))
            check = compare(ref, got, rtol=REFERENCE_RTOL)
            prev = checks.setdefault(
                label, {"agrees": True, "launches_differ": 0, "max_rel_diff": {}}
            )
            prev["agrees"] = prev["agrees"] and check["agrees"]
            prev["launches_differ"] += check["launches_differ"]
            for key, value in check["max_rel_diff"].items():
                prev["max_rel_diff"][key] = max(prev["max_rel_diff"].get(key, 0.0), value)
    scenario_steps = draws * len(work.plans) * work.steps
    return {
        "draws": draws,
        "seconds": seconds,
        "scenario_steps_per_s": scenario_steps / seconds,
        "agreement": checks,
    }


def float32_error(work: Workload, draws: int) -> dict:
    """Largest relative error of the float32 kernel against float64 on the same draws (finished
    runs)."""
    from ..model.reference import compare

    be = select("numpy")
    kernel = _sim().race_kernel(be)
    worst: dict[str, float] = {}
    flags = 0
    for plan in work.plans:
        k32 = work.args(plan, 0, draws, be, "float32")
        k64 = work.args(plan, 0, draws, be, "float64")
        out32 = kernel(*k32.args, **k32.keywords)
        out64 = kernel(*k64.args, **k64.keywords)
        check = compare(out64, out32, rtol=REFERENCE_RTOL)
        flags += check["launches_differ"]
        for key, value in check["max_rel_diff"].items():
            worst[key] = max(worst.get(key, 0.0), value)
    return {"draws": draws, "max_rel_error": worst, "launches_differ": flags}


# ---------------------------------------------------------------------------------------------
# simulate end to end; estimate, batch and single
# ---------------------------------------------------------------------------------------------

STAGES = ("sampling", "kernel", "outcomes", "quantiles", "race_statistics", "total")


def time_stages(draws: int, backend: str, repeats: int) -> dict:
    """`simulate` on the default scenario: seconds per stage (median over `repeats` runs, by
    total)."""
    from ..model.run import simulate
    from ..model.sampling import sampler_status

    simulate(draws=min(draws, 4096), backend=backend)  # warm-up
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else None
    runs = []
    for _ in range(repeats):
        timings: dict[str, float] = {}
        before = resource.getrusage(resource.RUSAGE_SELF)
        simulate(draws=draws, backend=backend, timings=timings)
        after = resource.getrusage(resource.RUSAGE_SELF)
        timings["cpu_seconds"] = (after.ru_utime - before.ru_utime) + (
            after.ru_stime - before.ru_stime
        )
        runs.append(timings)
    runs.sort(key=lambda t: t["total"])
    median = runs[len(runs) // 2]
    out = {"draws": draws, "repeats": repeats, **{k: median.get(k, 0.0) for k in STAGES}}
    out["end_to_end_ratio"] = out["total"] / out["kernel"] if out["kernel"] > 0 else None
    out["cpu_seconds"] = median["cpu_seconds"]
    out["peak_memory_mb"] = peak_rss_mb()
    out["load_average_1min"] = load
    out["sampler"] = sampler_status()
    if backend == "numpy":
        from ..model.run import pipeline_threads

        out["prefetch_threads"], _ = pipeline_threads()
    out["sampling_is"] = (
        "the draws and, on NumPy, the kernel's inputs, on prefetch threads while the kernel "
        "runs (overlaps the kernel; seconds summed over the threads)"
    )
    out["cpu_is"] = (
        "CPU seconds of the whole process (every thread) during that run: what the stages cost "
        "whoever else shares the machine"
    )
    return out


#: The realistic batch workload (a sweep): sizes x token counts x accelerators x cluster sizes x
#: sites.
GRID_PARAMS = (1e9, 3e9, 7e9, 13e9, 34e9, 70e9, 180e9, 405e9, 1e12, 2e12)
GRID_TOKENS = (2e12, 5e12, 10e12, 15e12, 30e12)
GRID_ACCELERATORS = (
    "h100-sxm",
    "h200",
    "a100-sxm-80gb",
    "b200",
    "mi300x",
    "h800",
    "tpu-v4",
    "gb200",
)
GRID_CLUSTERS = (1024, 2048, 4096, 8192, 16384, 32768, 65536, 131072)
GRID_SITES = ("us-average", "us-southeast")


def batch_grid():
    """The realistic batch workload: a sweep of GRID_* (every combination; 6,400 configurations),
    as `estimate --batch` reads them. Rows of one size and accelerator share their draws' shape."""
    import itertools

    import pandas as pd

    combos = itertools.product(
        GRID_PARAMS, GRID_TOKENS, GRID_ACCELERATORS, GRID_CLUSTERS, GRID_SITES
    )
    return pd.DataFrame(
        [
            dict(params=p, tokens=t, accelerator=a, accelerators=c, site=s)
            for p, t, a, c, s in combos
        ]
    )


def batch_worst_case():
    """The worst case for the batch: the grid with every row a distinct model size (so the prior's
    spread differs on every row and no two rows share a vector of draws)."""
    frame = batch_grid()
    frame["params"] = np.geomspace(1e9, 2e12, len(frame))
    return frame


def batch_configs(n: int):
    """n configurations of five kinds (dense and MoE by params/tokens, FP8, fixed MFU, known hours,
    rental price), as `estimate --batch` reads them."""
    import pandas as pd

    kinds = [
        dict(params=405e9, tokens=15.6e12, accelerator="h100-sxm", accelerators=16384),
        dict(
            params=671e9,
            active_params=37e9,
            tokens=14.8e12,
            accelerator="h800",
            accelerators=2048,
            precision="fp8",
        ),
        dict(flop=3e25, accelerator="h100-sxm", mfu=0.4, pue=1.2),
        dict(flop=3e25, accelerator="h100-sxm", gpu_hours=3e7),
        dict(params=7e9, tokens=2e12, accelerator="h100-sxm", price_per_hour=2.5, goodput=0.9),
    ]
    frame = pd.DataFrame([kinds[i % len(kinds)] for i in range(n)])
    scale = 1.0 + (np.arange(n) % 97) / 97.0  # 97 sizes of each kind
    for col in ("params", "active_params", "flop"):
        frame[col] = frame[col] * scale
    return frame


BATCH_WORKLOADS = {
    "grid": "realistic: a sweep of 10 sizes x 5 token counts x 8 accelerators x 8 cluster sizes x "
    "2 sites",
    "mixed": "five kinds of rows (dense, MoE FP8, fixed MFU, known hours, given price) at 97 sizes "
    "each",
    "worst_case": "worst case: the grid with every row a distinct model size (no two rows share "
    "draws)",
}


def _time_batch(frame, catalog, repeats: int) -> float:
    from ..model.batch import estimate_many

    seconds = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        estimate_many(frame, draws=ESTIMATE_DRAWS, catalog=catalog)
        seconds.append(time.perf_counter() - t0)
    return statistics.median(seconds)


#: The command timed end to end (a new Python process each time, after one untimed run that fills
#: the on-disk caches), and how many times.
ESTIMATE_COMMAND = (
    "estimate",
    "--params",
    "7e9",
    "--tokens",
    "2e12",
    "--accelerator",
    "a100-sxm-80gb",
)
COMMAND_RUNS = 5


def time_estimate_command(runs: int = COMMAND_RUNS) -> float:
    """Median wall-clock seconds of `python -m analysis estimate ...` (ESTIMATE_COMMAND), from
    process start to exit: interpreter start, imports, the estimate and its table."""
    import subprocess

    command = [sys.executable, "-m", "analysis", *ESTIMATE_COMMAND]
    subprocess.run(command, capture_output=True, check=True)
    seconds = []
    for _ in range(runs):
        t0 = time.perf_counter()
        subprocess.run(command, capture_output=True, check=True)
        seconds.append(time.perf_counter() - t0)
    return statistics.median(seconds)


def time_estimate_command_after_touch(runs: int = COMMAND_RUNS, notebooks_dir=None) -> float:
    """Median seconds of the same command right after every notebook's file times changed (what a
    save in JupyterLab or a fresh clone does; provenance's dirty check must not start the notebook
    filter for them). The notebooks' times are put back afterwards; their contents are untouched.
    `notebooks_dir`: the folder touched (default notebooks/)."""
    import subprocess

    from ..paths import NOTEBOOKS_DIR

    folder = NOTEBOOKS_DIR if notebooks_dir is None else notebooks_dir
    notebooks = sorted(folder.glob("*.ipynb")) + sorted(folder.glob("*.py"))
    times = {path: path.stat() for path in notebooks}
    command = [sys.executable, "-m", "analysis", *ESTIMATE_COMMAND]
    seconds = []
    try:
        for _ in range(runs):
            now = time.time_ns()
            for path in notebooks:
                os.utime(path, ns=(now, now))
            t0 = time.perf_counter()
            subprocess.run(command, capture_output=True, check=True)
            seconds.append(time.perf_counter() - t0)
    finally:
        for path, stat in times.items():
            with contextlib.suppress(OSError):
                os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    return statistics.median(seconds)


def time_estimates(
    configs: int = BATCH_CONFIGS, calls: int = SINGLE_CALLS, repeats: int = 3
) -> dict:
    """Configurations per second at draws=ESTIMATE_DRAWS, medians of `repeats`: `estimate_many` on
    the realistic grid (``batch_configs_per_s``), on `configs` mixed rows and on the worst case; and
    `estimate` called `calls` times (same catalog; provenance is cached)."""
    from ..inputs.catalog import load_catalog
    from ..model.batch import estimate_many
    from ..model.estimate import estimate

    catalog = load_catalog()
    frames = {
        "grid": batch_grid(),
        "mixed": batch_configs(configs),
        "worst_case": batch_worst_case(),
    }
    estimate_many(frames["mixed"].head(50), draws=ESTIMATE_DRAWS, catalog=catalog)  # warm-up
    seconds = {name: _time_batch(frame, catalog, repeats) for name, frame in frames.items()}
    kw = dict(
        params=405e9,
        tokens=15.6e12,
        accelerator="h100-sxm",
        accelerators=16384,
        draws=ESTIMATE_DRAWS,
        catalog=catalog,
    )
    estimate(**kw)
    single = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        for _ in range(calls):
            estimate(**kw)
        single.append(time.perf_counter() - t0)
    # A sweep in a loop: every call its own size and accelerator (its own prior draws), one seed.
    sweep = [
        dict(kw, params=float(p), accelerator=GRID_ACCELERATORS[i % len(GRID_ACCELERATORS)])
        for i, p in enumerate(np.geomspace(1e9, 2e12, calls))
    ]
    varied = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        for one in sweep:
            estimate(**one)
        varied.append(time.perf_counter() - t0)
    out = {
        "draws": ESTIMATE_DRAWS,
        "batch_workload": BATCH_WORKLOADS["grid"],
        "batch_configs": len(frames["grid"]),
        "batch_seconds": seconds["grid"],
        "batch_configs_per_s": len(frames["grid"]) / seconds["grid"],
    }
    for name in ("mixed", "worst_case"):
        out[f"batch_{name}_workload"] = BATCH_WORKLOADS[name]
        out[f"batch_{name}_configs"] = len(frames[name])
        out[f"batch_{name}_configs_per_s"] = len(frames[name]) / seconds[name]
    out.update(
        {
            "single_calls": calls,
            "single_calls_per_s": calls / statistics.median(single),
            "single_calls_varied_per_s": calls / statistics.median(varied),
            "repeats": repeats,
            "command": "python -m analysis " + " ".join(ESTIMATE_COMMAND),
            "command_seconds": time_estimate_command(),
            "command_after_touch_seconds": time_estimate_command_after_touch(),
            "command_runs": COMMAND_RUNS,
        }
    )
    return out


# ---------------------------------------------------------------------------------------------
# The command
# ---------------------------------------------------------------------------------------------


def time_explorer(draws: int = EXPLORER_DRAWS, backend: str = "numpy") -> dict:
    """Seconds of the explorer's updates (rerun, curves, redraw) on the default scenario."""
    import matplotlib

    matplotlib.use("Agg")
    from ..views.explorer import Explorer

    live = Explorer(draws=draws, backend=backend)
    changes = (
        {"target_flop": 3e26},
        {"lab": "Meta", "share": 0.02},
        {"share": 0.0},
        {"target_flop": 1e26},
        {"lab": "DeepSeek"},
        {"target_flop": 0.0},
    )[:EXPLORER_UPDATES]
    live.timings.clear()
    for change in changes:
        live.set(**change)
    times = list(live.timings)
    return {
        "draws": draws,
        "updates": len(times),
        "update_seconds_median": statistics.median(times),
        "update_seconds_max": max(times),
        "update_is": "one change of a control: the race rerun at these draws, its time-to-train "
        "curves and the figure redrawn (PNG)",
    }


def resolve_backends(name: str | None) -> list[Backend]:
    """``auto``: NumPy and, when usable, CuPy; ``numpy`` or ``cupy``: that one (InputError if not
    usable)."""
    source = "--backend"
    if name is None and os.environ.get(BACKEND_ENV):
        name, source = os.environ[BACKEND_ENV], BACKEND_ENV
    name = (name or "auto").strip().lower()
    if name not in BACKENDS:
        raise InputError(f"{source}: unknown backend {name!r}; allowed: {', '.join(BACKENDS)}")
    if name == "auto":
        return [select("numpy")] + ([select("cupy")] if cupy_status()[0] else [])
    return [select(name)]


def run_bench(draws: int = DEFAULT_DRAWS, backend: str | None = None) -> dict:
    """Benchmark the race kernel; returns the JSON of `bench --format json` (docs/architecture.md
    §4)."""
    from ..inputs.limits import check_draws
    from ..provenance import versions

    draws = check_draws(draws)
    backends = resolve_backends(backend)
    work = Workload()
    repeats = REPEATS if draws <= REPEAT_MAX_DRAWS else 1
    checks = kernels_to_check(backends)
    results = [time_backend(work, be, draws, repeats) for be in backends]
    for r in results:
        r["stages"] = time_stages(draws, r["backend"], repeats)
        # Against the kernel timed alone (above): inside simulate the kernel shares the CPUs with
        # the sampling and outcome threads, so its in-simulate seconds are longer.
        r["stages"]["end_to_end_vs_kernel_alone"] = r["stages"]["total"] / r["seconds"]
    scalar = time_reference(work, "scalar", min(draws, SCALAR_DRAWS), checks)
    naive = time_naive(work, min(draws, NAIVE_DRAWS))
    for r in results:
        r["speedup_vs_scalar"] = r["scenario_steps_per_s"] / scalar["scenario_steps_per_s"]
        r["speedup_vs_naive"] = r["scenario_steps_per_s"] / naive["scenario_steps_per_s"]
    by_name = {r["backend"]: r for r in results}
    if "numpy" in by_name and "cupy" in by_name:
        by_name["cupy"]["speedup_vs_numpy"] = (
            by_name["cupy"]["scenario_steps_per_s"] / by_name["numpy"]["scenario_steps_per_s"]
        )
    agreement_ok = all(check["agrees"] for check in scalar["agreement"].values())
    f32 = float32_error(work, min(draws, FLOAT64_DRAWS))
    device = cpu_description()
    if "cupy" in by_name:
        device += "; " + by_name["cupy"]["device"]
    return {
        "memcpy_gb_per_s": memcpy_gb_per_s(),
        "device": device,
        "versions": versions(),
        "results": results,
        "workload": work.describe(),
        "scenario_step": SCENARIO_STEP,
        "references": {"scalar": scalar, "naive": naive, "all_agree": agreement_ok},
        "estimate": time_estimates(),
        "explorer": time_explorer(min(draws, EXPLORER_DRAWS), backend=results[0]["backend"]),
        "fast_path": race_cpu.DESCRIPTION,
        "compiled_helpers": native.status(),
        "float32": f32,
        "memcpy_is": "bytes copied per second by np.copyto of 256 MiB (read once, written once), "
        "median of 5",
    }


def to_table(report: dict) -> str:
    w = report["workload"]
    lines = [
        f"Race kernel benchmark: scenario '{w['scenario']}', {w['competitors']} competitors "
        f"(deals {'/'.join(map(str, w['deals']))}, power-capped campuses "
        f"{'/'.join(map(str, w['power_capped_campuses']))}), T = {w['steps']} steps of "
        f"{w['time_step_months']:g} month",
        f"scenario-step = {report['scenario_step']}",
        f"CPU fast path: {report['fast_path']}; compiled helpers: {report['compiled_helpers']}",
        "",
        f"{'backend':<8}{'draws':>12}{'seconds':>10}{'(min-max)':>17}{'scen-steps/s':>14}"
        f"{'vs scalar':>11}{'vs naive':>10}{'peak MB':>9}",
    ]
    for r in report["results"]:
        spread = f"{r['seconds_min']:.3g}-{r['seconds_max']:.3g}"
        lines.append(
            f"{r['backend']:<8}{r['draws']:>12,}{r['seconds']:>10.3g}{spread:>17}{r['scenario_steps_per_s']:>14.3g}"
            f"{r['speedup_vs_scalar']:>10.0f}x{r['speedup_vs_naive']:>9.1f}x{r['peak_memory_mb']:>9.0f}"
        )
        extra = f"  {r['kernel']}; {r['device']}; median of {r['repeats']}"
        if "speedup_vs_numpy" in r:
            extra += f"; {r['speedup_vs_numpy']:.1f}x NumPy"
        lines.append(extra)
        st = r["stages"]
        load = st["load_average_1min"]
        cells = ", ".join(f"{k} {st[k]:.3g}" for k in STAGES[:-1])
        lines.append(
            f"  simulate end to end ({st['draws']:,} draws, median of {st['repeats']}): "
            f"{st['total']:.3g} s "
            f"= {st['end_to_end_ratio']:.2f}x the kernel inside simulate, "
            f"{st['end_to_end_vs_kernel_alone']:.2f}x the "
            f"kernel timed alone; stages (s): {cells}; sampling and outcomes overlap the kernel; "
            f"{st['cpu_seconds']:.3g} CPU s; peak {st['peak_memory_mb']:.0f} MB; load average "
            f"{load if load is None else round(load, 2)}"
        )
        if "prefetch_threads" in st:
            lines.append(
                f"  threads inside simulate: {st['prefetch_threads']} making draws, "
                "1 for the kernel, 1 for the outcomes"
            )
        lines.append(f"  draws: {st['sampler']}")
    refs = report["references"]
    lines.append("")
    ref = refs["scalar"]
    agree = ", ".join(
        f"{b} {'agrees' if c['agrees'] else 'DISAGREES'}" for b, c in ref["agreement"].items()
    )
    lines.append(
        f"{'scalar pure-Python reference':<34}{ref['draws']:>8,} draws "
        f"{ref['scenario_steps_per_s']:>10.3g} "
        f"scen-steps/s   {agree}"
    )
    nv = refs["naive"]
    lines.append(
        f"{'naive: array-API kernel on NumPy':<34}{nv['draws']:>8,} draws "
        f"{nv['scenario_steps_per_s']:>10.3g} "
        f"scen-steps/s"
    )
    f32 = report["float32"]
    errors = ", ".join(f"{k} {v:.1e}" for k, v in f32["max_rel_error"].items())
    est = report["estimate"]
    lines += [
        f"float32 vs float64 ({f32['draws']:,} draws, finished runs): max relative error {errors}; "
        f"launches differ: {f32['launches_differ']}",
        f"estimate: `{est['command']}` {est['command_seconds']:.2f} s end to end (median of "
        f"{est['command_runs']}), {est['command_after_touch_seconds']:.2f} s right after "
        f"touching every notebook; at draws={est['draws']:,} (median of {est['repeats']}): single "
        "estimate calls "
        f"{est['single_calls_per_s']:,.0f}/s (one configuration), "
        f"{est['single_calls_varied_per_s']:,.0f}/s (every "
        "call its own size and accelerator); batch (estimate_many) configurations/s:",
        f"  {est['batch_configs_per_s']:>10,.0f}  {est['batch_configs']:,} rows, "
        f"{est['batch_workload']}",
        f"  {est['batch_mixed_configs_per_s']:>10,.0f}  {est['batch_mixed_configs']:,} rows, "
        f"{est['batch_mixed_workload']}",
        f"  {est['batch_worst_case_configs_per_s']:>10,.0f}  {est['batch_worst_case_configs']:,} "
        "rows, "
        f"{est['batch_worst_case_workload']}",
        f"explorer: {report['explorer']['updates']} updates at "
        f"{report['explorer']['draws']:,} draws, median "
        f"{report['explorer']['update_seconds_median']:.2f} s, slowest "
        f"{report['explorer']['update_seconds_max']:.2f} s ({report['explorer']['update_is']})",
        f"memory copy bandwidth {report['memcpy_gb_per_s']:.1f} GB/s; device: {report['device']}",
        f"peak MB: {report['results'][0]['peak_memory_is']}",
    ]
    return "\n".join(lines)


def run_cli(args) -> int:
    """`python -m analysis bench`: `run_bench`, printed as JSON or a table."""
    report = run_bench(DEFAULT_DRAWS if args.draws is None else args.draws, args.backend)
    if args.format == "json":
        print(json.dumps(report, indent=2, allow_nan=False))
    else:
        print(to_table(report))
    if not report["references"]["all_agree"]:
        print(
            "error: a kernel disagrees with the reference implementations (see "
            "references.*.agreement)",
            file=sys.stderr,
        )
        return 1
    return 0

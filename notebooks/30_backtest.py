# ---
# jupyter:
#   jupytext:
#     formats: ipynb,py:percent
#   kernelspec:
#     display_name: Python 3 (ipykernel)
#     language: python
#     name: python3
# ---

# %% [markdown]
# # 30 Backtest: do the intervals contain what published runs actually took?
#
# **Question.** Given only a published run's model size, tokens, accelerator and precision, how close
# does the calibrated method come to the accelerator-hours the authors reported, and do its P10-P90
# intervals contain the reported figure about 80% of the time? How does that compare with the naive
# 6·N·D at MFU 0.40? And does the energy model (chip TDP x chip-to-server multiplier x fraction drawn
# x PUE) reproduce the energy figures that can test it?
#
# **Method.** Leave-one-out: for each calibration run in `data/training_runs.csv`, the utilization
# prior (`analysis/calibration.py`) is refitted without it and predicts its accelerator-hours with
# the same random streams as `analysis.estimate`. `leave_out = "group"` also drops sibling runs (same
# organization and active size, e.g. Llama 3 8B and Llama 3.1 8B). The energy model is never fitted.
#
# **Inputs.** `data/training_runs.csv` (calibration runs and published energy), `data/accelerators.csv`
# (peaks, TDP, power factors), `data/sites.csv` (default PUE).
#
# **Outputs.** Per-run predictions with P10/P50/P90, MdAPE, coverage and median P90/P10 for the
# prior and the naive baseline, the feature sets compared, the energy and power checks, the targets,
# and `metrics_path` (JSON of the headline numbers) when given.
#
# **Run it.** From the repository root (outputs go to the git-ignored `results/`; the CLI gives the
# same numbers: `.venv/bin/python -m analysis backtest`):
#
# ```bash
# mkdir -p results
# .venv/bin/papermill notebooks/30_backtest.ipynb results/30.ipynb -p draws 20000
# ```

# %% tags=["parameters"]
draws = 2000  # help: Monte Carlo draws per predicted run (20000 for reported figures)
seed = 0  # help: seed of the draws (same streams as analysis.estimate)
leave_out = "run"  # help: "run" (leave-one-out) or "group" (sibling runs left out together)
naive_mfu = 0.40  # help: fixed MFU of the naive 6ND baseline, in (0, 1]
metrics_path = ""  # help: write the headline metrics as JSON here (empty means do not write)

# %%
import analysis
from analysis.notebook import check_parameters, record_metrics, watermark

check_parameters("30_backtest", globals())

# %%
result = analysis.backtest(draws=draws, seed=seed, leave_out=leave_out, naive_mfu=naive_mfu)
result.summary

# %% [markdown]
# The summary puts the calibrated prior beside the naive baseline on the same runs and the same
# FLOP: MdAPE of the P50, the share of reported figures inside P10-P90, the median P90/P10 width,
# and the median of predicted over reported (above 1 means the method predicts too many hours).

# %%
assert result.summary.loc["calibrated prior", "n_runs"] == len(result.runs)
assert (result.runs["fitted_on"] < len(result.runs)).all(), "every prediction must come from a fit without its run"

# %%
result.runs[["run_id", "accelerator", "precision", "scope", "utilization", "reported_gpu_hours",
             "p10_gpu_hours", "p50_gpu_hours", "p90_gpu_hours", "inside", "ape", "naive_gpu_hours",
             "naive_ape"]]

# %% [markdown]
# Run by run: `utilization` is what the reported hours imply against the BF16 dense peak (MFU x
# goodput), `scope` says what the hours include (`pretrain_plus`: extra stages such as long
# context or post-training; `derived`: worked out by a third party or from throughput).

# %%
result.plot()

# %% [markdown]
# Predicted against reported accelerator-hours on log axes: dots are the P50 with P10-P90 bars,
# crosses the naive baseline; points on the dashed line are exact. The naive crosses sit mostly
# below it: 0.40 is above the effective utilization most published runs reach.

# %%
result.alternatives

# %% [markdown]
# The feature sets tried, each under leave-one-out and leave-group-out: the mean log score is the
# negative log predictive density of each held-out run's utilization (lower is better). The default
# prior is the one these comparisons favour (see `analysis/calibration.py`).

# %%
result.energy

# %% [markdown]
# The energy model against published energy, never fitted. `full` is the model `estimate` uses
# (facility energy: TDP x chip-to-server multiplier x fraction drawn x PUE); `accelerator` drops the
# multiplier, which is the boundary of GPU-metered figures. Rows with `tests_model` false are
# accelerator-hours x TDP by construction and test nothing; OLMo 2 rows have no published hours, so
# their hours come from the prior.

# %%
result.power

# %% [markdown]
# Published facility power of three runs, all Epoch AI estimates made with the same formula: the
# implied PUE checks our constants and arithmetic against theirs, not the model.

# %%
result.bounds

# %% [markdown]
# GLM-130B's hours are an upper bound (768 GPUs over a 60-day access window), so it never
# calibrates; the prior's P50 for it should fall below that bound.

# %%
result.targets()

# %% [markdown]
# Each target of the backtest issue beside the value reached on the calibration runs.

# %%
energy = result.energy_summary()
record_metrics(
    {
        "mdape": result.summary.loc["calibrated prior", "mdape"],
        "coverage_p10_p90": result.summary.loc["calibrated prior", "coverage_p10_p90"],
        "median_p90_over_p10": result.summary.loc["calibrated prior", "median_p90_over_p10"],
        "naive_mdape": result.summary.iloc[1]["mdape"],
        "energy_median_abs_error_full_model": energy["median_abs_facility_error"],
        "energy_median_abs_error_accelerator": energy["median_abs_accelerator_error"],
        "runs": len(result.runs),
    },
    metrics_path,
)

# %%
watermark(seed=seed, backend="numpy")

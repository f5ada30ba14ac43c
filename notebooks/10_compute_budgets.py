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
# # 10 Compute budgets: how much training compute the next runs get
#
# **Question.** How many FLOP will Meta's, DeepSeek's and Alibaba's next pre-training runs train,
# how uncertain is that, and how does it compare with published runs and with the model sizes the
# data assumes? And how much of an accelerator's peak does a run turn into training (the MFU prior
# that converts a cluster and a wall-clock budget into FLOP)?
#
# **Inputs.** The scenario (each lab's launch, share of its largest campus and wall-clock budget),
# `data/deals.yaml` (the campuses), `data/models.csv` (each next model's assumed active parameters
# and tokens, labelled log-normal ranges), `data/training_runs.csv` (published runs, the
# calibration set).
#
# **Outputs.** Training FLOP per lab (p10 / p50 / p90 of the race's own runs) beside published
# runs; the assumed model sizes; the calibration runs' effective utilization against the fitted MFU
# prior; headline metrics (JSON when `metrics_path` is set).
#
# **Method.** A run's compute is what its cluster does in its budget: accelerators fixed at launch
# x dense peak x MFU x goodput x wall-clock (notebook 20 and `docs/architecture.md`). C = 6 N D
# (Kaplan et al. 2020, Hoffmann et al. 2022) gives the assumed model sizes' compute. The MFU prior
# is fitted on published accelerator-hours, which measure MFU x goodput
# (`analysis/model/calibration.py`).
#
# **Run it.** From the repository root (outputs go to the git-ignored `results/`):
#
# ```bash
# mkdir -p results
# .venv/bin/papermill notebooks/10_compute_budgets.ipynb results/10.ipynb -p draws 20000 -p seed 1
# ```

# %% tags=["parameters"]
draws = 2000  # help: Monte Carlo draws of each model's size and data (1 to 20,000,000)
seed = 20260409  # help: seed of every draw; the same seed gives the same numbers
scenario = "scenarios/default.yaml"  # help: scenario file, path from the repo root
metrics_path = ""  # help: where a sweep collects this run's headline metrics (JSON); empty means don't write

# %%
from analysis import cells, plots, tables
from analysis.model.calibration import default_prior
from analysis.studies.whatif import what_if

cells.check_parameters("10_compute_budgets", globals())
race = what_if(scenario, draws=draws, seed=seed)

# %% [markdown]
# ## The assumed next models
# Ranges of active parameters and tokens per lab, and the 6ND compute they imply (exact quantiles
# of the product of the two log-normals). In the race these sizes only set the model size the MFU
# prior is asked about: a run's compute is what its cluster trains in its budget (below).

# %%
cells.present(tables.models_table(race.catalog))

# %% [markdown]
# ## Training FLOP as the race trains it

# %%
budgets = tables.compute_budgets(race)
budget_summary = tables.quantile_summary(budgets, ["training_flop", "active_params"])
cells.present(budget_summary)

# %%
plots.compute_budgets(tables.budgets_beside_runs(budgets, tables.published_runs(race.catalog)))

# %% [markdown]
# Each bar, in its lab's colour, spans the p10 to p90 of one lab's next-run compute over the race's
# draws (dot: median); grey dots are the largest published runs (filled: reported by the authors;
# hollow: third-party estimates, used for scale only). Meta's next run, on a share of a
# gigawatt campus for a budget of several months, trains more than any published run; DeepSeek's
# and Alibaba's, on their largest campuses, stay near the largest open-weight runs. All three train
# more than the `data/models.csv` sizes above assume, which were scaled from the last published
# models.

# %%
runs = tables.published_runs(race.catalog)
largest_reported_flop = runs.loc[runs["confidence"] == "reported", "training_flop"].max()
next_p50_flop = budget_summary.xs("p50", level="quantile")["training_flop"]
cells.claim(
    "Meta's next run's median compute is above every published run, the largest third-party "
    "estimate included; DeepSeek's and Alibaba's medians are within a factor of 3 of the largest "
    "run its authors reported",
    next_p50_flop["Meta"] > runs["training_flop"].max()
    and next_p50_flop.drop("Meta")
    .between(largest_reported_flop / 3, largest_reported_flop * 3)
    .all(),
    largest_reported_flop=largest_reported_flop,
    largest_estimate_flop=runs["training_flop"].max(),
    **next_p50_flop.add_prefix("p50_flop_").to_dict(),
)

# %% [markdown]
# ## From FLOP to accelerator-hours: the MFU prior
# A run's accelerator-hours are C / (peak x MFU x goodput). The prior on MFU x goodput is fitted on
# the published runs below (the calibration rows of `data/training_runs.csv`: the reference runs
# and Epoch AI's database under the calibration rule of `data/README.md`). Its form, chosen by
# grouped cross-validation in notebook `30_backtest`: a robust pooled centre, a modest size slope
# (larger models use their clusters somewhat better) and a partially pooled offset per accelerator
# generation. The `prior_*` columns are each run's own band (its size and generation).

# %%
calibration = tables.calibration_table(race.catalog)
cells.present(calibration)
prior = default_prior(race.catalog)
assert prior.coef[1] > 0, "the size slope is the sentence above; it changed sign"

# %%
band = tables.prior_band(race.catalog, accelerator="h100-sxm")
plots.calibration(calibration, band)

# %% [markdown]
# Each point is one published run's effective utilization (its FLOP divided by its reported
# accelerator-hours times the BF16 dense peak), against its active parameters; the band is the
# prior's p10 to p90 for a new run of that size on H100 (Hopper), the line its median. Runs on
# other generations sit around their own offsets (A100 runs higher against their lower peak).
# Points far above the band (hours that undercount the run) or below it (hours that include
# restarts or extra stages) are what the `scope` colours flag.

# %%
cells.claim(
    "larger models use their clusters better: the prior's median utilization rises with model size",
    band["prior_p50"].is_monotonic_increasing
    and band["prior_p50"].iloc[-1] > band["prior_p50"].iloc[0],
    prior_p50_at_1b_params=band["prior_p50"].iloc[0],
    prior_p50_at_1t_params=band["prior_p50"].iloc[-1],
)

# %% [markdown]
# ## Published runs

# %%
cells.present(tables.published_runs(race.catalog))

# %%
assert (budgets["training_flop"] > 0).all()
cells.record_metrics(tables.budget_metrics(budgets), metrics_path)

# %% [markdown]
# ## Provenance

# %%
cells.watermark(seed=seed, backend=None)

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
# # 22 Sensitivity: which inputs move time-to-train, training compute and cost most
#
# **Question.** Of all the uncertain inputs (each run's planned launch, wall-clock budget and share
# of its largest campus, MFU, training efficiency, algorithmic progress, delivery and grid delays,
# prices, PUE, hardware life, build cost), which drive the spread of each lab's time-to-train,
# training compute and cost, and which hardly matter?
#
# **Inputs.** The scenario, `data/`, and the per-draw inputs and outcomes of the race
# (`simulate(..., keep_draws=True)`).
#
# **Outputs.** Tornado charts (median outcome with each input in its bottom vs top `tail` of draws)
# and first-order variance-based indices (Sobol S1 by RBD-FAST, SALib) per lab, for time-to-train
# and cost; headline metrics (JSON when `metrics_path` is set).
#
# **Method and limits.** Both are computed on the race's own draws, so they measure exactly the
# model the other notebooks report (`analysis/studies/sensitivity.py` says why RBD-FAST on given
# data rather than a Saltelli design). S1 is the share of variance one input explains alone; 1 -
# sum(S1) is left to interactions (delays x power caps) and estimator noise. Inputs that cannot move
# an outcome (price factors for time-to-train) act as a placebo: their S1 shows the noise level.
#
# **Run it.** From the repository root (outputs go to the git-ignored `results/`):
#
# ```bash
# mkdir -p results
# .venv/bin/papermill notebooks/22_sensitivity.ipynb results/22.ipynb -p draws 20000
# ```

# %% tags=["parameters"]
draws = 2000  # help: Monte Carlo draws (at least 200 per lab); 20,000 or more for stable indices
seed = 20260409  # help: seed of every draw; the same seed gives the same numbers
scenario = "scenarios/default.yaml"  # help: scenario file, path from the repo root
target_flop = 0.0  # help: common compute target for every lab in FLOP; 0 means each lab's own model
tail = 0.1  # help: tornado tails, the bottom and top fraction of draws of each input (0 to 0.5)
top = 8  # help: inputs shown per lab in the tornado charts
backend = "auto"  # help: array backend, "auto" (CuPy when a GPU is usable), "numpy" or "cupy"
metrics_path = ""  # help: where a sweep collects this run's headline metrics (JSON); empty means don't write

# %%
from analysis import cells, deal_value, plots, sensitivity
from analysis.studies.whatif import what_if

cells.check_parameters("22_sensitivity", globals())
race = what_if(scenario, draws=draws, seed=seed, target_flop=target_flop)
race.changes_table

# %%
result = race.simulate(keep_draws=True, backend=backend)
print(result.to_table())

# %% [markdown]
# ## Time-to-train

# %%
time_tornado = sensitivity.tornado(result, "time_to_train_months", tail=tail)
plots.tornado(time_tornado, top=top, unit="time-to-train (months)")

# %% [markdown]
# For each lab, the inputs with the largest swing: the bar runs from the median time-to-train among
# draws where the input is in its bottom tail to that where it is in its top tail, around the
# overall median (black line). A lab's own next run (no target) launches at its planned month and
# trains for its wall-clock budget, so those two lead; a delay matters only where the run waits for
# capacity before it can launch. The bars compare draws, they do not rerun the model, so an input
# correlated with another carries part of its effect (the budget grows with a later launch, by the
# run-length trend).

# %%
time_leaders = time_tornado.loc[time_tornado["rank"] == 1].set_index("lab")["input"]
cells.claim(
    "for each lab's own next run, its planned launch or its wall-clock budget leads the "
    "time-to-train tornado; never a delay",
    time_leaders.isin(["earliest_launch_months", "budget_months"]).all(),
    applies=not target_flop,
    **time_leaders.add_prefix("top_input_").to_dict(),
)

# %%
time_indices = sensitivity.variance_indices(result, "time_to_train_months", seed=seed)
plots.sensitivity_heatmap(time_indices, title="time-to-train: first-order index S1 (RBD-FAST)")

# %% [markdown]
# The share of the variance of each lab's time-to-train that each input explains on its own (first
# order, RBD-FAST on the race's draws), for the inputs in any lab's top six. Blank cells: the input
# does not exist for that lab. An S1 smaller than its confidence half-width (`S1_conf`, in the table
# below) cannot be told from zero.

# %%
cells.present(sensitivity.top_inputs(time_tornado, time_indices, n=top))

# %% [markdown]
# ## Training compute

# %%
flop_tornado = sensitivity.tornado(result, "training_flop", tail=tail)
plots.tornado(flop_tornado, top=top, unit="training compute (FLOP)", log=True)

# %% [markdown]
# What a run trains: its accelerators at launch (the share of its largest campus) x MFU x goodput x
# its budget. What capacity buys shows here, in FLOP, not in time: a deal or a delay matters only
# where it changes which campus is largest, or how big, at the launch.

# %%
flop_leaders = flop_tornado.loc[flop_tornado["rank"] == 1].set_index("lab")["input"]
cells.claim(
    "for each lab's own next run, utilization, the share of its campus or the budget leads the "
    "training-compute tornado",
    flop_leaders.isin(["utilization", "share", "budget_months"]).all(),
    applies=not target_flop,
    **flop_leaders.add_prefix("top_input_").to_dict(),
)

# %% [markdown]
# ## Cost

# %%
cost_tornado = sensitivity.tornado(result, "cost_usd", tail=tail)
plots.tornado(cost_tornado, top=top, unit="cost per run (USD)", log=True)

# %% [markdown]
# As above for the cost of a run (draws that finish). The run's size (share and budget) sets its
# accelerator-hours; prices then enter: contract price factors, hardware life and build cost for
# owned campuses.

# %%
cost_indices = sensitivity.variance_indices(result, "cost_usd", seed=seed)
plots.sensitivity_heatmap(cost_indices, title="cost: first-order index S1 (RBD-FAST)")

# %%
cells.present(sensitivity.top_inputs(cost_tornado, cost_indices, n=top))

# %%
assert (time_indices["S1_sum"] <= 1.5).all()
cells.record_metrics(
    {**sensitivity.headline(time_indices, "time"), **sensitivity.headline(cost_indices, "cost")},
    metrics_path,
)

# %% [markdown]
# ## Do the wide data assumptions change the answer about the ~$21B CoreWeave deal?
# The deal's size rests on three unsourced splits (overlap with the 2025 deal, training share, the
# contract rate between CoreWeave's 60%-discounted 4.2 and list 10.5 USD/GPU-hour), Prometheus's
# power ramp on a tracker's slipped date, and the rivals on Alibaba's capex share and DeepSeek's
# Ascend count. Each row reruns the deal's marginal value (`analysis.studies.deal_value`, paired
# draws, targets 1e26-3e27 FLOP, next-frontier race) at one end of those ranges.

# %%
wide = deal_value.wide_assumptions_table(draws=draws, seed=seed, backend=backend)
wide

# %% [markdown]
# In every row the deal matters at no target (`matters_from_flop` is empty), moves Meta's median
# finish by well under a month and leaves Meta first in most draws (in the rest a rival's earlier
# launch wins the smallest target, or nobody reaches the largest within the horizon): the wide
# assumptions do not matter for this answer. A run takes its accelerators on the largest campus
# online when it launches, and the CoreWeave capacity is never that campus, even at twice its size
# with Prometheus a year late: the deal's best case moves P(first) by under a point. The checks
# below fail when that stops being true.

# %%
best_case = wide["variant"].str.contains("best case")
cells.claim(
    "in every row the deal matters at no target and moves Meta's median finish by under half a "
    "month",
    bool(wide["matters_from_flop"].isna().all() and (wide["max_months_gained_p50"] < 0.5).all()),
    max_months_gained_p50=wide["max_months_gained_p50"].max(),
)
cells.claim(
    "even the deal's best case moves P(first) by under 2 points",
    bool(best_case.sum() == 1 and (wide["max_abs_p_first_change_pp"] < 2.0).all()),
    max_abs_p_first_change_pp=wide["max_abs_p_first_change_pp"].max(),
)
cells.claim(
    "Meta stays first in most draws in every row",
    bool((wide["min_p_first_with"] > 0.5).all()),
    min_p_first_with=wide["min_p_first_with"].min(),
)

# %% [markdown]
# ## Provenance

# %%
cells.watermark(seed=seed, backend=backend)

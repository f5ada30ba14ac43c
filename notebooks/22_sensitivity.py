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
# # 22 Sensitivity: which inputs move time-to-train and cost most
#
# **Question.** Of all the uncertain inputs (model size and data, MFU, each lab's share of a campus,
# delivery and grid delays, prices, PUE, hardware life, build cost), which drive the spread of each
# lab's time-to-train and cost, and which hardly matter?
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
cells.present(result.race.set_index("lab"))

# %% [markdown]
# ## Time-to-train

# %%
time_tornado = sensitivity.tornado(result, "time_to_train_months", tail=tail)
plots.tornado(time_tornado, top=top, unit="time-to-train (months)")

# %% [markdown]
# For each lab, the inputs with the largest swing: the bar runs from the median time-to-train among
# draws where the input is in its bottom tail (teal) to that where it is in its top tail (magenta),
# around the overall median (black line). Training compute, the share of a campus a run gets and the
# utilization (MFU x goodput) lead: utilization leads for a lab whose accelerators have no published
# training run to calibrate on (Blackwell, Ascend), where the prior falls back to its pooled centre
# with a wide spread; a delay matters only for a lab whose run waits on that deal. The bars compare
# draws, they do not rerun the model, so an input correlated with another carries part of its
# effect: MFU x goodput rises with model size in the calibrated prior, and bigger models need more
# compute, so a high MFU can sit beside a longer time-to-train (Meta) although, other things equal,
# it always shortens it (a property the tests check).

# %%
time_leaders = time_tornado.loc[time_tornado["rank"] == 1].set_index("lab")["input"]
cells.claim(
    "for each lab's own model, training compute, the share of a campus or utilization leads the "
    "time-to-train tornado; never a delay",
    time_leaders.isin(["training_flop", "share", "utilization"]).all(),
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
# ## Cost

# %%
cost_tornado = sensitivity.tornado(result, "cost_usd", tail=tail)
plots.tornado(cost_tornado, top=top, unit="cost per run (USD)", log=True)

# %% [markdown]
# As above for the cost of a run (draws that finish). Beyond compute and utilization, cost brings in
# prices: contract price factors, hardware life and build cost for owned campuses.

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
cells.present(wide)

# %% [markdown]
# In every row but the deal's best case the deal matters at no target (`matters_from_flop` is
# empty); in every row it moves Meta's median finish by well under a month and leaves Meta first in
# at least 90% of draws (in the rest nobody finishes the largest target within the horizon): the
# wide assumptions do not matter for this answer. Only the deal's best case (twice the size,
# Prometheus a year late, no AMD capacity) gives it a fraction of a month and under a point of
# P(first) at the smallest target (`max_abs_p_first_change_pp` above; 0.6-0.9 points at 20,000
# paired draws, by the seed's random numbers), close enough to the 1-point threshold that at a few
# thousand draws it may count as mattering there, never by as much as 2 points. The checks below
# fail when that stops being true.

# %%
best_case = wide["variant"].str.contains("best case")
assert (
    wide.loc[~best_case, "matters_from_flop"].isna().all()
    and (wide["max_months_gained_p50"] < 0.5).all()
), f"'the wide assumptions do not matter for the deal's answer' no longer holds:\n{wide}"
assert best_case.sum() == 1 and (wide["max_abs_p_first_change_pp"] < 2.0).all(), (
    f"'the deal's best case moves P(first) by about a point, never 2' no longer holds:\n{wide}"
)
assert (wide["min_p_first_with"] >= 0.90).all(), (
    f"'Meta stays first in at least 90% of draws' no longer holds:\n{wide}"
)

# %% [markdown]
# ## Provenance

# %%
cells.watermark(seed=seed, backend=backend)

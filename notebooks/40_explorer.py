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
# # 40 Explorer: move a deal, a delay, a share or the target and watch the race change
#
# **Question.** What if every lab aimed at the same 1e26-FLOP run (it opens there), Meta's
# CoreWeave deal were twice the size, Prometheus waited two more years for its grid connection, or
# DeepSeek's run got half a campus?
#
# **How to use it.** Run every cell in JupyterLab (`make lab`), then move the controls: each change
# reruns the whole race (all draws, the compiled kernel) and redraws P(first) and the time-to-train
# curves in place, typically in under half a second at 20,000 draws. The controls change one deal of
# one lab at a time: its size (x the signed size; 0 drops it), its delivery delay and, for an owned
# campus with a power cap, its grid-connection delay (0 keeps the data's); the lab's share of a
# campus (0 keeps the scenario's range); and one common compute target (or each lab's own model).
# Every change is listed above the figure.
#
# **Inputs.** The scenario (`scenarios/default.yaml`) and `data/`, as in notebook 20.
#
# **Outputs.** The live figure; one change made from code and checked (a run with 2% of a campus
# must fall behind); update timings; headline metrics (JSON when `metrics_path` is set).
#
# **Run it.** Headless, from the repository root (outputs go to the git-ignored `results/`):
#
# ```bash
# mkdir -p results
# .venv/bin/papermill notebooks/40_explorer.ipynb results/40.ipynb -p draws 20000
# ```

# %% tags=["parameters"]
draws = 20000  # help: Monte Carlo draws of every update (1 to 20,000,000); 20,000 keeps an update well under a second
seed = 20260409  # help: seed of every draw; the same seed gives the same numbers
scenario = "scenarios/default.yaml"  # help: scenario file, path from the repo root
backend = "auto"  # help: array backend, "auto" (CuPy when a GPU is usable), "numpy" or "cupy"
metrics_path = ""  # help: where a sweep collects this run's headline metrics (JSON); empty means don't write

# %%
from analysis import cells, explorer

cells.check_parameters("40_explorer", globals())

# %% [markdown]
# ## The explorer

# %%
live = explorer.Explorer(scenario, draws=draws, seed=seed, backend=backend)
live.widget

# %% [markdown]
# ## One change, made from code and checked
# The same update a slider triggers, from the opening question: every lab aims at a common
# 3e26-FLOP target, then Meta's run
# may take at most 2% of a campus instead of the scenario's 15-70%. A run's accelerators are fixed
# at launch, so it must wait for a campus whose 2% plans enough compute within its budget: it is
# trained later (or not within the horizon) and less often first.

# %%
before = live.set(target_flop=3e26)
after = live.set(lab="Meta", share=0.02)
assert after.p_first["Meta"] < before.p_first["Meta"], (
    "a smaller share of a campus must not help Meta"
)
assert not after.months_p50["Meta"] <= before.months_p50["Meta"], (
    "a smaller share must not speed Meta's run (NaN: not trained within the horizon)"
)
explorer.compare(before, after)

# %% [markdown]
# ## The scenario as written
# Back to the scenario's shares; the figure as the controls now leave it, for readers of the HTML
# report, where the controls are not live.

# %%
live.set(share=0.0)
live.figure

# %%
cells.record_metrics(
    {
        "p_first_meta": before.p_first["Meta"],
        "p_first_meta_share_2pct": after.p_first["Meta"],
        "update_seconds_median": live.median_update_seconds,
        "draws": draws,
    },
    metrics_path,
)

# %%
cells.watermark(seed=seed, backend=backend)

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
# **Question.** What if Meta's CoreWeave deal were twice the size, Prometheus waited two more years
# for its grid connection, DeepSeek's run got half a campus, or every lab trained the same 1e27
# FLOP?
#
# **How to use it.** Open this notebook in JupyterLab (`make lab`; the `.ipynb` and the `.py` are
# the same notebook) and run every cell (Run > Run All Cells), then move the controls: each change
# reruns the whole race (all draws, the compiled kernel) and redraws P(first) and the time-to-train
# curves in place, typically in under half a second at 20,000 draws. It opens on one question
# already asked, Meta's ~$14.2B CoreWeave deal at twice its size, and shows every change against
# the scenario as written (a tick on each bar, the change in points beside it, dashed curves). The
# controls change one deal of one lab at a time: its size (% of the accelerators signed; 0% drops
# it), its delivery delay and, for an owned campus with a power cap, its grid-connection delay
# (both open on the data's own most likely delay, which keeps the data's range); the lab's share
# of a campus (or the scenario's range); and one common compute target (or each lab's own model).
# Picking another lab or deal resets these controls for it. Every change is listed above the
# figure and in its title.
#
# **Reopening it.** Saved notebooks keep no outputs (JupyterLab saves them as git holds them), so a
# reopened explorer shows only its code: run all cells again for live controls.
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
# The same update a slider triggers, on top of the opening question: Meta's run gets 2% of a campus
# instead of the scenario's 10-30%. It must then finish later and less often first.

# %%
before = live.outcome
after = live.set(lab="Meta", share=0.02)
assert after.p_first["Meta"] < before.p_first["Meta"], (
    "a smaller share of a campus must not help Meta"
)
assert after.months_p50["Meta"] > before.months_p50["Meta"], "a smaller share must slow Meta's run"
explorer.compare(before, after)

# %% [markdown]
# ## The opening question
# Back to the scenario's shares: the figure as the controls now leave it (Meta's 2025 CoreWeave
# deal at twice its size, against the scenario as written), for readers of the HTML report, where
# the controls are not live.

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

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
# # 00 Assumptions: the catalog behind every number
#
# **Question.** What does the model assume about accelerators, capacity deals, sites and the
# competing models, where does each figure come from, and how much compute per dollar and per watt
# has each accelerator generation bought?
#
# **Inputs.** `data/accelerators.csv`, `data/deals.yaml`, `data/sites.csv`, `data/models.csv`,
# `data/training_runs.csv` (units and provenance: `data/README.md`) and the uncertainty ranges of
# the scenario below.
#
# **Outputs.** Every input table; the source of every row; every labelled assumption; peak FLOP/s
# per dollar and per watt by generation; headline metrics (written as JSON when `metrics_path` is
# set).
#
# **Run it.** In JupyterLab (`make lab`), or with papermill from the repository root (outputs go
# to the git-ignored `results/`):
#
# ```bash
# mkdir -p results
# .venv/bin/papermill notebooks/00_assumptions.ipynb results/00.ipynb -p precision fp8 -p min_year 2020
# ```
#
# Parameters: `precision`, `min_year`, `scenario`, `metrics_path` (next cell, each with its help).

# %% tags=["parameters"]
precision = "bf16"  # help: peak used in the efficiency figure, "bf16" or "fp8" (chips without FP8 drop out)
min_year = 2017  # help: show accelerators first available in this year or later (2010-2035)
scenario = "scenarios/default.yaml"  # help: scenario whose uncertainty ranges are listed, path from the repo root
metrics_path = ""  # help: where a sweep collects this run's headline metrics (JSON); empty means don't write

# %%
import analysis
from analysis import cells, plots, tables
from analysis.studies.whatif import what_if

cells.check_parameters("00_assumptions", globals())
catalog = analysis.load_catalog()
race = what_if(scenario)

# %% [markdown]
# ## Accelerators
# Dense peaks (vendor sheets often quote sparse figures, 2x dense), chip TDP, the chip-to-server
# power multiplier and the average fraction of server power drawn (Epoch AI's cost model), and the
# purchase and rental prices where a source gives one.

# %%
cells.present(tables.accelerators_table(catalog))

# %% [markdown]
# ## Capacity deals
# Contracts (`reserved`), own builds and fleets (`owned`): accelerators, start, delivery delay and,
# for own builds, the campus power cap and its grid delay. `racing = False` marks context deals the
# race does not use.

# %%
cells.present(tables.deals_table(catalog))

# %% [markdown]
# ## Sites and the competing models
# Regions give PUE, electricity price and grid carbon intensity. The next model of each lab is a
# labelled assumption: log-normal ranges of active parameters and tokens, and the 6ND compute they
# imply (p10 / p50 / p90, exact for the product of the two log-normals).

# %%
cells.present(tables.sites_table(catalog))

# %%
cells.present(tables.models_table(catalog))

# %% [markdown]
# ## Uncertainty the data do not pin down
# The scenario's distributions for MFU (a prior calibrated on published runs, notebook 10),
# goodput, price factors, PUE variation, hardware life, build cost, FP8 gain and each lab's share of
# a campus for one run.

# %%
cells.present(tables.uncertainty_table(race))

# %% [markdown]
# ## Every labelled assumption
# Each value that no source gives is written `field: assumption: why` in the data files; this is the
# full list, by file, row and field.

# %%
tables.assumptions_table(catalog).style

# %% [markdown]
# ## Sources
# The citation behind every row of every data file, untruncated.

# %%
tables.sources(catalog).style

# %% [markdown]
# ## Peak FLOP/s per dollar and per watt by generation

# %%
efficiency = tables.accelerator_efficiency(catalog, precision, min_year=min_year)
plots.efficiency_by_generation(efficiency)

# %% [markdown]
# Each point is one accelerator at its dense peak at the chosen precision, placed at the year it was
# first available. Left: peak FLOP/s per US dollar of purchase price (only chips with a sourced
# price). Right: peak FLOP/s per watt of all-in server power at rating, the figure a data centre has
# to provision. Both axes are logarithmic, so equal vertical steps are equal ratios: the gain per
# generation in compute per watt is what lets a power-capped campus train faster.

# %%
per_watt = tables.per_watt_by_vendor(efficiency)
rises = per_watt["newest_flop_per_s_per_server_w"] > per_watt["oldest_flop_per_s_per_server_w"]
cells.claim(
    "compute per watt rises from generation to generation: for every vendor with chips in two or "
    "more years, its newest chips give more peak FLOP/s per server watt than its oldest",
    bool(rises.all()),
    vendors=", ".join(per_watt["vendor"]),
)

# %%
assert (efficiency["peak_flop_per_s"] > 0).all()
cells.record_metrics(
    {
        **tables.efficiency_metrics(efficiency),
        "n_assumptions": len(tables.assumptions_table(catalog)),
    },
    metrics_path,
)

# %% [markdown]
# ## Provenance

# %%
cells.watermark(seed=None, backend=None)

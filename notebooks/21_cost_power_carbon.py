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
# # 21 Cost, power and carbon: what each run costs, draws and emits, and when building beats renting
#
# **Question.** What does each lab's next run cost (by the kind of capacity it trains on), per
# PFLOP of training compute, in MWh, peak MW and tCO2e? And for one accelerator type, how busy must
# an owned fleet be before owning beats renting?
#
# **Inputs.** The scenario and `data/` (deal rates, purchase prices, site electricity prices, PUE,
# grid carbon), the uncertainty ranges (price factor, hardware life, build cost per MW, PUE), and
# the what-if parameters below.
#
# **Outputs.** Per lab: p10/p50/p90 of cost, USD per PFLOP, accelerator-hours, MWh, peak MW, tCO2e,
# committed reserved spend; cost per run on rented versus owned capacity; the rent-versus-build
# curve and break-even utilization for `accelerator`; a single run of `run_flop` rented and owned;
# headline metrics (JSON when `metrics_path` is set: `cost_p50_usd_<lab>`, `energy_p50_mwh_<lab>`,
# ...).
#
# **Method.** Epoch AI's cost model (Cottier et al. 2024): rented capacity at its hourly rate
# (reserved contracts: the implied rate); owned hardware amortized over its life plus 19% for the
# interconnect, energy at the site's price, the building at USD per MW; energy = accelerator-hours x
# server power x average draw x PUE; emissions = energy x grid intensity.
#
# **Run it.** From the repository root (outputs go to the git-ignored `results/`):
#
# ```bash
# mkdir -p results
# .venv/bin/papermill notebooks/21_cost_power_carbon.ipynb results/21.ipynb -p pue 1.3 -p accelerator gb200 -p draws 5000
# ```

# %% tags=["parameters"]
draws = 2000  # help: Monte Carlo draws (1 to 20,000,000); 20,000 or more for final numbers
seed = 20260409  # help: seed of every draw; the same seed gives the same numbers
scenario = "scenarios/default.yaml"  # help: scenario file, path from the repo root
power_cap_scale = 1.0  # help: factor on the power cap of every owned campus (1 keeps the data)
pue = 0.0  # help: one PUE (1 to 3) for every site and deal, with no sampled variation; 0 keeps each site's
accelerator = "h100-sxm"  # help: accelerator id for the rent-vs-build comparison (needs a purchase and a rental price)
mfu = 0.0  # help: fixed MFU in [0.001, 1] for every run; 0 means the calibrated prior
run_flop = 1e26  # help: training FLOP of the single run costed rented and owned on `accelerator`
backend = "auto"  # help: array backend, "auto" (CuPy when a GPU is usable), "numpy" or "cupy"
metrics_path = ""  # help: where a sweep collects this run's headline metrics (JSON); empty means don't write

# %%
from analysis import cells, economics, plots, tables
from analysis.studies.whatif import what_if

cells.check_parameters("21_cost_power_carbon", globals())
race = what_if(scenario, draws=draws, seed=seed, power_cap_scale=power_cap_scale, pue=pue, mfu=mfu)
race.changes_table

# %% [markdown]
# ## What each run costs, draws and emits

# %%
result = race.simulate(keep_draws=True, backend=backend)
outcomes = tables.run_outcomes(result)
cells.present(tables.quantile_summary(outcomes, list(tables.RUN_METRICS)))

# %% [markdown]
# Per lab, over the draws whose run finishes within the horizon: cost (USD), USD per PFLOP of
# training compute, accelerator-hours, energy (MWh), peak facility power of the run (MW), emissions
# (tCO2e), and the reserved-contract spend committed during the run whether used or not.

# %%
plots.run_metric_distributions(outcomes)

# %% [markdown]
# The spread of each metric across draws, per lab, on logarithmic axes. Cost and energy follow
# compute and utilization; USD per PFLOP compares labs per unit of work (cheap Chinese electricity
# against slower chips); peak MW is the share of a campus a run occupies; emissions add each site's
# grid intensity.

# %% [markdown]
# ## Rented versus owned capacity

# %%
by_kind = tables.cost_by_deal_kind(race, backend=backend)
cells.present(by_kind)

# %%
plots.cost_by_kind(by_kind)

# %% [markdown]
# Cost per run (left, p10 to p90 with the median) and median time-to-train (right) when a lab trains
# on all its deals, only on rented (reserved) capacity, or only on its own: only Meta holds both
# kinds. Owned capacity is charged by the hours used (amortized), which assumes a busy fleet; the
# next figure asks how busy it must be.

# %%
cells.claim(
    "only Meta holds both kinds of capacity (rented and owned)",
    set(by_kind.loc[by_kind["kind"] != "all deals", "lab"]) == {"Meta"},
    applies=scenario == "scenarios/default.yaml",
    labs_with_both_kinds=", ".join(sorted(set(by_kind.loc[by_kind["kind"] != "all deals", "lab"]))),
)

# %% [markdown]
# ## Rent versus build: break-even utilization

# %%
hourly = economics.hourly_costs(accelerator, catalog=race.catalog, pue=pue, draws=draws, seed=seed)
break_even = economics.break_even_summary(hourly)
cells.present(break_even)

# %%
plots.rent_vs_build(
    economics.rent_vs_build(accelerator, catalog=race.catalog, pue=pue, draws=draws, seed=seed),
    break_even,
)

# %% [markdown]
# USD per useful accelerator-hour of `accelerator` (US-average site) against the share of its life
# an owned fleet spends on useful work: owning (hardware and building amortized, plus energy) falls
# as utilization rises, renting (paid per hour used) does not depend on it. Owning is cheaper to the
# right of the break-even (dashed, with its p10-p90 from price, life and build-cost uncertainty).

# %%
cells.present(
    economics.run_cost_rent_vs_own(
        accelerator,
        run_flop,
        catalog=race.catalog,
        mfu=mfu,
        pue=pue,
        draws=draws,
        seed=seed,
        backend=backend,
    )
)

# %% [markdown]
# One run of `run_flop` FLOP on `accelerator`: accelerator-hours (from the MFU prior, or `mfu`),
# energy, and its cost rented versus owned with a fully used fleet.

# %%
assert (outcomes["cost_usd"] > 0).all()
cells.record_metrics(
    {
        **tables.cost_metrics(result),
        "break_even_utilization_p50": break_even.loc["break_even_utilization", "p50"],
    },
    metrics_path,
)

# %% [markdown]
# ## Provenance

# %%
cells.watermark(seed=seed, backend=backend)

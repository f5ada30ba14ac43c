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
# # 11 Capacity deals: accelerators and megawatts online, and where power caps bind
#
# **Question.** How many accelerators does each lab have online month by month under its deals,
# how uncertain is that (delivery and grid delays), how many megawatts do they draw, and when does a
# campus's power connection, not its hardware, set the limit?
#
# **Inputs.** `data/deals.yaml` (tranches, delays, power caps and their delays),
# `data/accelerators.csv` (server power), `data/sites.csv` (PUE), the scenario and its what-if
# changes.
#
# **Outputs.** Per lab, campus and deal: accelerators delivered and powered, facility MW (p50 with a
# p10-p90 band over draws), P(power cap binds); a table of the months each cap binds; headline
# metrics (JSON when `metrics_path` is set).
#
# **Method.** The timeline replays the race's own capacity tables and draws
# (`analysis.studies.capacity.capacity_timeline`): each deal's tranches shifted by its sampled
# delay; on a capped campus, accelerators beyond cap / (server W x PUE) sit idle. These are the
# lab's accelerators, before the share one run gets.
#
# **Run it.** From the repository root (outputs go to the git-ignored `results/`):
#
# ```bash
# mkdir -p results
# .venv/bin/papermill notebooks/11_capacity_deals.ipynb results/11.ipynb -p power_cap_scale 0.5 -p draws 5000
# ```

# %% tags=["parameters"]
draws = 1000  # help: Monte Carlo draws of delivery and grid delays (1 to 20,000,000)
seed = 20260409  # help: seed of every draw; the same seed gives the same numbers
scenario = "scenarios/default.yaml"  # help: scenario file, path from the repo root
power_cap_scale = 1.0  # help: factor on the power cap of every owned campus (1 keeps the data, 0.5 halves it)
metrics_path = ""  # help: where a sweep collects this run's headline metrics (JSON); empty means don't write

# %%
from analysis import capacity, cells, plots, tables
from analysis.studies.whatif import what_if

cells.check_parameters("11_capacity_deals", globals())
race = what_if(scenario, draws=draws, seed=seed, power_cap_scale=power_cap_scale)
race.changes_table

# %% [markdown]
# ## The deals in the race
# Each lab's deals as the scenario uses them, with any what-if override.

# %%
cells.present(tables.scenario_deals(race))

# %% [markdown]
# ## Every deal in `data/`, and the date it was true as of
# Each deal carries `as_of`, the day its terms were last checked against public reporting; a race
# refuses a deal checked after its start (unless the scenario is a labelled `hindsight` replay).
# Context deals (`racing: false`) say why they are left out of the race.

# %%
cells.present(
    race.catalog.frame("deals")[
        [
            "id",
            "buyer",
            "provider",
            "announced",
            "as_of",
            "start",
            "accelerator",
            "total_accelerators",
            "racing",
            "not_racing_because",
        ]
    ]
)

# %%
timeline = capacity.capacity_timeline(race)
cells.present(capacity.lab_totals(timeline))

# %% [markdown]
# Each lab's accelerators (delivered: p10 / p50 / p90; powered: p50), facility MW and the share of
# draws in which any of its power caps binds, every six months.

# %% [markdown]
# ## Accelerators online per deal

# %%
plots.capacity_bands(timeline, "accelerators", "deal")

# %% [markdown]
# One panel per lab, one line per deal: the median number of accelerators delivered and online in
# each month, with the p10-p90 band from the delivery delays. Steps are tranches; a wide band is a
# deal whose timing is uncertain (Meta's Hyperion, DeepSeek's Ascend fleet, Alibaba's domestic
# chips).

# %% [markdown]
# ## Megawatts per campus

# %%
plots.capacity_bands(timeline, "facility_mw", "campus")

# %% [markdown]
# Facility power each campus draws at rating after its power cap (server power x PUE), median with
# p10-p90 band. Own builds dominate Meta's megawatts; rented capacity (CoreWeave, Nebius, Google
# Cloud) draws power the provider supplies.

# %%
meta_mw_at_end = (
    timeline.query("level == 'campus' and lab == 'Meta' and month == month.max()")
    .groupby("kind")["facility_mw_p50"]
    .sum()
)
cells.claim(
    "own builds dominate Meta's megawatts",
    meta_mw_at_end.get("owned", 0) > meta_mw_at_end.get("reserved", 0),
    applies=scenario == "scenarios/default.yaml",
    owned_facility_mw=meta_mw_at_end.get("owned", 0),
    rented_facility_mw=meta_mw_at_end.get("reserved", 0),
)

# %% [markdown]
# ## Where power caps bind

# %%
plots.power_caps(timeline)

# %% [markdown]
# Top: for each power-capped campus, the facility power its delivered accelerators would draw
# (solid, median and p10-p90) against the power available (dashed, median). Bottom: the share of
# draws in which demand exceeds the cap in that month, so some accelerators sit idle. A cap that
# binds for most draws means the grid connection, not the hardware, sets the campus's capacity.

# %%
cells.present(capacity.cap_binding_summary(timeline))

# %% [markdown]
# Per capped campus: months in which the cap binds in more than half the draws, the first and last
# such month, the largest share of draws bound, and the largest median number of accelerators idled.

# %%
assert (timeline["powered_accelerators_p50"] <= timeline["accelerators_p50"] + 1e-6).all()
cells.record_metrics(capacity.capacity_metrics(timeline), metrics_path)

# %% [markdown]
# ## Provenance

# %%
cells.watermark(seed=seed, backend=None)

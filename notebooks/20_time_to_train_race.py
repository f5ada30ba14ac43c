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
# # 20 The race: who finishes training first, by how much, and what the ~$21B CoreWeave deal buys
#
# **Question.** Starting at the data's as-of month (December 2026) on the capacity their deals bring
# online, how long do Meta, DeepSeek and Alibaba take to train their next models, who finishes first
# with what probability and by how many months, and how much does Meta's ~$21B 2026 CoreWeave
# contract change that?
#
# **Inputs.** The scenario (`scenarios/default.yaml`: competitors, their deals, each lab's share
# of a campus), `data/` (deals, accelerators, sites, models), the MFU prior (notebook 10), and the
# what-if parameters below.
#
# **Outputs.** The race table (P(first), time-to-train p10/p50/p90, cost, energy); the
# distribution of time-to-train per lab; lead times between each pair; with versus without
# `meta-coreweave-2026`; headline metrics (JSON when `metrics_path` is set: `p_first_<lab>`,
# `time_to_train_p50_months_<lab>`, `p_nobody`, ...).
#
# **Run it.** From the repository root (outputs go to the git-ignored `results/`; any parameter
# below can be overridden with `-p`):
#
# ```bash
# mkdir -p results
# .venv/bin/papermill notebooks/20_time_to_train_race.ipynb results/20.ipynb -p draws 5000
# .venv/bin/papermill notebooks/20_time_to_train_race.ipynb results/20-big-target.ipynb -p target_flop 1e27 -p coreweave_2026_scale 0
# ```

# %% tags=["parameters"]
draws = 2000  # help: Monte Carlo draws (1 to 20,000,000); 20,000 or more for final numbers
seed = 20260409  # help: seed of every draw; the same seed gives the same numbers
scenario = "scenarios/default.yaml"  # help: scenario file, path from the repo root
coreweave_2026_scale = 1.0  # help: factor on the size of deal meta-coreweave-2026 (0 drops it, 2 doubles it)
coreweave_delay_months = 0.0  # help: mode of its delivery delay, triangular(0.5x, 1x, 1.5x) months; 0 keeps the data's
target_flop = 0.0  # help: common compute target for every lab in FLOP, e.g. 1e27; 0 means each lab's own model
effect_target_flop = 1e27  # help: a second common target at which the CoreWeave with/without is also shown; 0 skips it
backend = "auto"  # help: array backend, "auto" (CuPy when a GPU is usable), "numpy" or "cupy"
metrics_path = ""  # help: where a sweep collects this run's headline metrics (JSON); empty means don't write

# %%
import pandas as pd

from analysis import cells, deal_value, plots, tables
from analysis.studies.whatif import what_if

cells.check_parameters("20_time_to_train_race", globals())
DEAL = "meta-coreweave-2026"
race = what_if(
    scenario,
    draws=draws,
    seed=seed,
    target_flop=target_flop,
    deal_scale={DEAL: coreweave_2026_scale},
    deal_delay_months={DEAL: coreweave_delay_months},
)
race.changes_table

# %% [markdown]
# ## Headline: does the ~$21B CoreWeave deal change who trains the next frontier model first?
# **No.** In the race that starts now (data as of 2026-12-01; `scenarios/next_frontier.yaml`: each
# lab's run after Muse Spark, DeepSeek-V4 and Qwen3.6, at common targets from 1e26 to 3e27 FLOP,
# with Meta's Nebius and AMD substitutes), Meta finishes first in at least 90% of draws with and
# without the deal (in the rest, at the largest target, nobody finishes within the horizon), the
# deal moves P(Meta first) by less than one point, and Meta's median finish by less than half a
# month, at every target, even if a run may pool all of Meta's sites. The reason is Prometheus: from
# its 2026-09 energization it alone out-trains every other campus in the race, so Meta's run never
# needs CoreWeave. The deal would matter only where it is all Meta has: on the CoreWeave campus
# alone it matters by 1e27 FLOP (at 3e26 it sits at the threshold), where it gains months and
# several points of P(first). The checks below fail when the numbers stop supporting these
# sentences.

# %%
FRONTIER = "scenarios/next_frontier.yaml"
frontier = deal_value.deal_marginal_value(
    FRONTIER, deal=DEAL, draws=draws, seed=seed, backend=backend
)
print(frontier.to_text())

# %%
pooled = deal_value.deal_marginal_value(
    FRONTIER, deal=DEAL, draws=draws, seed=seed, backend=backend, span_sites=True
)
print(pooled.to_text())

# %%
campus_only = deal_value.deal_marginal_value(
    FRONTIER, deal=DEAL, draws=draws, seed=seed, backend=backend, only_campus=True
)
print(campus_only.to_text())

# %% [markdown]
# Months gained are Meta's finish without the deal minus with it in the same draw (paired draws: one
# seed, every other input identical), P50 with the p10..p90 spread over draws; the change in
# P(first) is in percentage points with a 95% interval. "Matters" means a median gain of at least
# half a month, or a P(first) change of at least one point whose interval excludes zero.

# %%
both = pd.concat(
    [
        frontier.table.assign(view="one campus per run"),
        pooled.table.assign(view="runs may pool sites"),
    ]
)
assert (both["p_first_with"] >= 0.90).all() and (both["p_first_without"] >= 0.90).all(), (
    "headline sentence 'Meta finishes first in at least 90% of draws with and without the deal' "
    f"no longer holds:\n{both}"
)
assert (both["p_first_change_pp"].abs() < 1.0).all(), (
    "headline sentence 'the deal moves P(Meta first) by less than one point at every target' no "
    f"longer holds:\n{both}"
)
assert (both["months_gained_p50"] < 0.5).all() and not both["matters"].any(), (
    "headline answer 'No' ('the deal moves Meta's median finish by less than half a month at every "
    "target, also "
    f"when one run may pool all of Meta's sites') no longer holds:\n{both}"
)
assert campus_only.matters_from_flop is not None and campus_only.matters_from_flop <= 1e27, (
    "headline sentence 'on the CoreWeave campus alone it matters by 1e27 FLOP' no longer holds:\n"
    f"{campus_only.table}"
)
row_1e27 = campus_only.table.set_index("target_flop").loc[1e27]
assert row_1e27["months_gained_p50"] >= 1.0 and row_1e27["p_first_change_pp_low"] > 0, (
    "headline sentence 'for a 1e27 run [on the CoreWeave campus alone] it gains months and points "
    "of P(first)' "
    f"no longer holds:\n{row_1e27}"
)

# %% [markdown]
# ## The race as set by the parameters

# %%
result = race.simulate(keep_draws=True, backend=backend)
print(result.to_table())

# %% [markdown]
# The table gives, per competitor, the probability of finishing first (ties split), of finishing
# within the horizon, time-to-train quantiles (">36": beyond the horizon), and the median cost,
# energy, peak power and emissions of runs that finish; then P(A before B) and the lead times.

# %%
plots.p_first(result.race)

# %% [markdown]
# The probability that each lab finishes its run first, and that nobody finishes within the horizon.

# %% [markdown]
# ## Time-to-train

# %%
plots.time_to_train_curves(tables.time_to_train_curves(result))

# %% [markdown]
# For each lab, the probability its run is trained within a given number of months of the start. A
# curve that ends below 1 never finishes in some draws within the horizon. Curves further left win
# the race more often; a steep curve is a confident forecast, a flat one an uncertain one.

# %% [markdown]
# ## Lead times

# %%
leads = tables.lead_times(result)
plots.lead_times(leads)

# %% [markdown]
# For each pair, the distribution over draws of the later-named lab's finish minus the first-named
# lab's (draws where both finish): mass right of zero means the first-named lab leads, the dashed
# line is the median lead.

# %% [markdown]
# ## With and without the ~$21B CoreWeave deal
# Two views, each with the deal and with it dropped (common random numbers: the same draws for
# everything else). *Race as set*: Meta's run takes the campus that finishes it first. *On the
# CoreWeave campus only*: what the rented capacity alone would do for Meta's run.

# %%
effect, effect_curves = tables.deal_effect(
    race, DEAL, targets=(target_flop, effect_target_flop), backend=backend
)
cells.present(effect)

# %%
plots.time_to_train_curves(
    effect_curves[effect_curves["lab"] == "Meta"], style="variant", col="case", row="target"
)

# %% [markdown]
# Meta's time-to-train curve with the deal (solid) and without it (dashed), per view (columns) and
# compute target (rows); where the two curves coincide, the deal changes nothing for this run. The
# 2026 contract delivers from 2027 (after its delay) and adds a fraction of what Meta's own campuses
# hold, so in the default race Meta's run finishes on its own hardware before the deal could matter;
# on the CoreWeave campus alone, and for a large common target, it shortens the run and raises the
# chance of finishing at all.

# %%
assert abs(sum(result.race["p_first"]) - 1.0) < 1e-6
cells.record_metrics(
    {
        **tables.race_metrics(result),
        **tables.deal_effect_metrics(effect, DEAL, "Meta"),
        **deal_value.headline_metrics(frontier, pooled, campus_only),
    },
    metrics_path,
)

# %% [markdown]
# ## Provenance

# %%
cells.watermark(seed=seed, backend=backend)

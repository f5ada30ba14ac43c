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
# # 20 The race: who trains first, what each run trains, and what the ~$21B CoreWeave deal buys
#
# **Question.** Starting at the data's as-of month (December 2026), each lab launches its next
# pre-training run as labs plan runs: no earlier than its planned month, on the largest single
# campus online then, with a share of that campus fixed at launch, for a wall-clock budget from the
# record of frontier run lengths. When is each trained and released, how much compute (and
# effective compute) does it train, who finishes first, and how much does Meta's ~$21B 2026
# CoreWeave contract change that? And how much more efficient would DeepSeek's or Qwen's training
# have to be to reach a frontier capability first: code against supply chains?
#
# **Inputs.** The scenario (`scenarios/default.yaml`: competitors, their deals, launch windows,
# shares, training-efficiency multipliers), `data/` (deals, accelerators, sites, models), the MFU
# prior (notebook 10), the run-length record and algorithmic progress (`analysis/constants.py`), and
# the what-if parameters below.
#
# **Outputs.** The deal's marginal value at common compute targets; the break-even training
# efficiency; the race table (P(first), launch, run length, trained and released months, training
# and effective FLOP, cost); the distribution of when each lab's run is trained; lead times; with
# versus without `meta-coreweave-2026`; headline metrics (JSON when `metrics_path` is set).
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
target_flop = 0.0  # help: common compute target for every lab in FLOP, e.g. 1e27; 0 means each lab's own next run
effect_target_flop = 1e27  # help: a second common target at which the CoreWeave with/without is also shown; 0 skips it
breakeven_target_effective_flop = 1e27  # help: the capability, in effective FLOP, at which break-even efficiency is found
backend = "auto"  # help: array backend, "auto" (CuPy when a GPU is usable), "numpy" or "cupy"
metrics_path = ""  # help: where a sweep collects this run's headline metrics (JSON); empty means don't write

# %%
import pandas as pd

from analysis import breakeven, cells, deal_value, plots, tables
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
# with Meta's Nebius and AMD substitutes), Meta trains first in most draws at every target (in the
# rest a rival's earlier launch wins the smallest target, or nobody reaches the largest within the
# horizon), and the deal moves P(Meta first) by less than one point and Meta's median finish by
# less than half a month at every target, even if a run may pool all of Meta's sites. A run takes
# its accelerators on the largest campus online when it launches: that is Prometheus (or, later,
# Hyperion or El Paso), never the CoreWeave capacity. The deal matters only where it is all Meta
# has: on the CoreWeave campus alone it adds several points of P(first) from 1e26 FLOP on, because
# with it the campus plans enough compute within a run's budget sooner. The checks below fail
# when the numbers stop supporting these sentences.

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
cells.claim(
    "Meta trains first in most draws at every target, with and without the deal",
    bool((both["p_first_with"] > 0.5).all() and (both["p_first_without"] > 0.5).all()),
    p_first_min_with=both["p_first_with"].min(),
    p_first_min_without=both["p_first_without"].min(),
)
cells.claim(
    "the deal moves P(Meta first) by less than one point at every target",
    bool((both["p_first_change_pp"].abs() < 1.0).all()),
    largest_change_pp=both["p_first_change_pp"].abs().max(),
)
cells.claim(
    "the deal moves Meta's median finish by less than half a month at every target, also when one "
    "run may pool all of Meta's sites",
    bool((both["months_gained_p50"] < 0.5).all() and not both["matters"].any()),
    largest_months_gained_p50=both["months_gained_p50"].max(),
)
low_pp = campus_only.table.set_index("target_flop")["p_first_change_pp_low"]
cells.claim(
    "on the CoreWeave campus alone the deal matters from 1e26 FLOP on, adding points of P(first)",
    campus_only.matters_from_flop is not None
    and campus_only.matters_from_flop <= 1e26
    and bool((low_pp.loc[[1e26, 3e26, 1e27]] > 0).all()),
    matters_from_flop=campus_only.matters_from_flop,
)

# %% [markdown]
# ## Code against supply chains: the training efficiency a rival needs to train first
# Set one capability target for every lab in effective FLOP (raw FLOP x the lab's training
# efficiency x algorithmic progress since the start, Ho et al. 2024): a lab with less capacity
# needs fewer raw FLOP if its training is more efficient. Fixing DeepSeek's (or Alibaba's)
# efficiency multiplier at each value of a grid, on the same draws, gives the multiplier at which it
# trains before Meta in half the draws: the break-even efficiency, with and without the deal.

# %%
rivals = [
    breakeven.break_even_efficiency(
        FRONTIER,
        lab=lab,
        deal=DEAL,
        target_effective_flop=breakeven_target_effective_flop,
        draws=draws,
        seed=seed,
        backend=backend,
    )
    for lab in ("DeepSeek", "Alibaba")
]
cells.present(breakeven.curves_table(rivals))

# %%
cells.present(breakeven.summary_table(rivals))

# %%
plots.break_even(rivals)

# %% [markdown]
# P(the lab trains before Meta) at each efficiency multiplier (1 = Meta's recipe), with and
# without the deal. DeepSeek-V3 matched Llama 3.1 405B's MMLU with about 1/11.5 of its FLOP, about
# 7x once 5 months of algorithmic progress between them are taken out (the efficiency range of the
# scenario, P10-P90 1.5 to 8, is set from it). At a 1e27-effective-FLOP frontier, DeepSeek would
# need far more than that to train first on the supply it has, and Alibaba several times more; the
# ~$21B deal does not move either break-even, because Meta's run never needs CoreWeave.

# %%
deepseek = next(b for b in rivals if b.lab == "DeepSeek")
cells.claim(
    "DeepSeek would need more than 8x Meta's training efficiency (the scenario's P90) to train a "
    "frontier-capability model first, with or without the deal",
    applies=breakeven_target_effective_flop >= 1e27,
    holds=all(v is None or v > 8 for v in (deepseek.with_deal, deepseek.without_deal)),
    with_deal=deepseek.with_deal,
    without_deal=deepseek.without_deal,
)
cells.claim(
    "the deal moves neither rival's break-even efficiency by more than 10%",
    holds=all(
        (b.with_deal is None and b.without_deal is None)
        or (
            b.with_deal is not None
            and b.without_deal is not None
            and abs(b.with_deal / b.without_deal - 1) < 0.1
        )
        for b in rivals
    ),
)

# %% [markdown]
# ## The race as set by the parameters

# %%
result = race.simulate(keep_draws=True, backend=backend)
print(result.to_table())

# %% [markdown]
# The table gives, per competitor, the probability of training first (ties split), of being
# trained within the horizon, the median launch, the run's length in months, when it is trained
# (p10/p50/p90; ">YYYY-MM": beyond the horizon) and released, its training and effective FLOP, and
# the median cost and peak power of runs that finish; then P(A before B) and the lead times.
# Without a target, each lab's run trains for its budget: who finishes first is then a matter of
# launch dates and budgets, and what the capacity buys shows in the FLOP each run trains.

# %%
runs_table = tables.run_summary(result)
cells.present(runs_table)

# %%
meta_flop = runs_table.loc["Meta", "training_flop_p50"]
cells.claim(
    "for each lab's own next run, Meta's trains more raw FLOP than DeepSeek's and Alibaba's "
    "together, and more effective FLOP than either",
    applies=not target_flop and "Meta" in runs_table.index,
    holds=bool(
        meta_flop > runs_table.drop("Meta")["training_flop_p50"].sum()
        and (
            runs_table.loc["Meta", "effective_flop_p50"]
            > runs_table.drop("Meta")["effective_flop_p50"]
        ).all()
    ),
    **runs_table["training_flop_p50"].add_prefix("training_flop_p50_").to_dict(),
)

# %%
plots.p_first(result.race)

# %% [markdown]
# The probability that each lab's run is trained first, and that nobody's is within the horizon.

# %% [markdown]
# ## When each run is trained

# %%
plots.time_to_train_curves(tables.time_to_train_curves(result))

# %% [markdown]
# For each lab, the probability its run is trained within a given number of months of the start. A
# curve that ends below 1 is not trained within the horizon in some draws. Curves further left win
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
# everything else). *Race as set*: Meta's run takes the largest campus at its launch. *On the
# CoreWeave campus only*: what the rented capacity alone would do for Meta's run.

# %%
effect = deal_value.deal_effect(
    race, DEAL, targets=(target_flop, effect_target_flop), backend=backend
)
cells.present(effect.table)

# %%
effect_curves = tables.deal_effect_curves(effect)
plots.time_to_train_curves(
    effect_curves[effect_curves["lab"] == "Meta"], style="variant", col="case", row="target"
)

# %% [markdown]
# Meta's time-to-train curve with the deal (solid) and without it (dashed), per view (columns) and
# compute target (rows); where the two curves coincide, the deal changes nothing for this run. The
# 2026 contract delivers from 2027 (after its delay) and is never Meta's largest campus, so in the
# race as set Meta's run launches on its own hardware; on the CoreWeave campus alone, and for a
# large common target, the deal lets the run launch sooner and raises the chance it is trained at
# all.

# %%
assert abs(sum(result.race["p_first"]) - 1.0) < 1e-6
cells.record_metrics(
    {
        **tables.race_metrics(result),
        **deal_value.deal_effect_metrics(effect, DEAL, "Meta"),
        **deal_value.headline_metrics(frontier, pooled, campus_only),
        **breakeven.headline_metrics(rivals),
    },
    metrics_path,
)

# %% [markdown]
# ## Provenance

# %%
cells.watermark(seed=seed, backend=backend)

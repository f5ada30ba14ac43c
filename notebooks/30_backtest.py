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
# # 30 Backtest: does the method predict runs it has never seen?
#
# **Question.** Given only a published run's model size, tokens, accelerator and precision, how
# close does the calibrated method come to the accelerator-hours the authors reported, for runs of
# *other labs, other accelerator generations and later years* than those it was fitted on? Do its
# P10-P90 intervals contain the reported figure about 80% of the time? How does it compare with the
# naive 6·N·D at MFU 0.40 and with the best single constant? And does the energy model reproduce the
# energy figures that can test it?
#
# **Method.** Grouped cross-validation over the calibration rows of `data/training_runs.csv`: leave
# one organization out, leave one accelerator generation out, and a time split that predicts each
# year from the runs of earlier years (leave one run out is shown for comparison). In each fold the
# utilization prior (`analysis/model/calibration.py`) is refitted without the runs it predicts, and
# predicts their accelerator-hours with the same random streams as `analysis.estimate`. Eight
# forms of prior are compared, two of them *censored* (hours that are an upper bound on the clean
# pass read as "utilization at least the implied value"); the default is the one with the lowest
# mean log score on the held-out runs whose hours are exact, over the grouped schemes.
#
# **Inputs.** `data/training_runs.csv` (calibration runs and published energy),
# `data/accelerators.csv` (peaks, TDP, power factors), `data/sites.csv` (default PUE).
#
# **Outputs.** Per scheme and prior: MdAPE of the P50, P10-P90 coverage, median P90/P10 and mean log
# score beside both baselines; the breakdown by generation, year and size; PIT histograms; per-run
# predictions; the energy and power checks; the targets; `metrics_path` (JSON) when given.
#
# **Run it.** From the repository root (outputs go to the git-ignored `results/`; the CLI gives the
# same numbers: `.venv/bin/python -m analysis backtest`):
#
# ```bash
# mkdir -p results
# .venv/bin/papermill notebooks/30_backtest.ipynb results/30.ipynb -p draws 20000
# ```

# %% tags=["parameters"]
draws = 2000  # help: Monte Carlo draws per predicted run (20000 for reported figures)
seed = 0  # help: seed of the draws (same streams as analysis.estimate)
leave_out = "organization"  # help: headline scheme: organization, generation, year, run or group
naive_mfu = 0.40  # help: fixed MFU of the naive 6ND baseline, in (0, 1]
metrics_path = ""  # help: write the headline metrics as JSON here (empty means do not write)

# %%
import analysis
from analysis import cells, plots

cells.check_parameters("30_backtest", globals())

# %%
result = analysis.backtest(draws=draws, seed=seed, leave_out=leave_out, naive_mfu=naive_mfu)
cells.present(
    result.cv.pivot_table(
        index=["scheme", "method"],
        values=[
            "n_runs",
            "mdape",
            "mdape_exact",
            "coverage_p10_p90",
            "median_p90_over_p10",
            "mean_log_score",
            "mean_log_score_exact",
            "p50_within_bound",
        ],
        sort=False,
    )
)

# %% [markdown]
# Every scheme, every prior form and both baselines on the same runs and FLOP: MdAPE of the P50 (on
# all runs and on the runs whose hours are exact), the share of reported figures inside P10-P90,
# the median P90/P10 width, the mean log score (negative log predictive density of each held-out
# run's utilization, or for a run whose hours are an upper bound the log probability that its
# utilization is at least the implied value; lower is better) and the same on exact runs only, and
# the share of bounded runs whose P50 lies under the bound. Leaving a whole generation out is the
# hardest test: the prior then falls back to its pooled centre, moved toward the naive rule's, and
# widens.

# %%
scores = result.prior_scores()
assert not scores["beats_default"].any(), (
    "a candidate prior now beats the default by more than the switching margin: "
    + ", ".join(scores.loc[scores["beats_default"], "prior"])
)
cells.present(scores)

# %% [markdown]
# How the default was chosen: the lowest mean log score on the exact-hours runs over the grouped
# schemes (a proper scoring rule: it rewards a centre near the held-out runs and an interval as wide
# as the errors, together). The score over all runs, bounds included, is shown beside it but does
# not pick: a bound's survival probability cannot penalize a centre set too high, so it favours the
# censored forms, which the exact runs show predict too few hours (their exact-run log score and
# MdAPE are far the worst). The count of the targets met is shown too; it was the rule until
# it was seen to flip on a hundredth. So a candidate replaces the default only when its lead
# (`vs_default`, paired run by run) exceeds one standard error (`vs_default_se`): blending every
# generation toward the naive centre, not only an unseen one, leads by a few thousandths inside an
# error several times larger, and the default stands.
#
# The two `bandwidth` forms test a feature of the chip sheet, known before any run on a chip: log10
# of memory bytes per BF16 FLOP at peak (`memory_bandwidth_tb_per_s` in `data/accelerators.csv`).
# Hopper has about half the bytes per FLOP of Ampere and runs at lower utilization, so within the
# generations it has seen it helps (leave one organization out). It does not predict a generation
# it has not seen: with A100 or H100 left out, the two V100 runs (high bytes per FLOP, the lowest
# utilizations in the data) turn its slope around, and its held-out error is the worst of all forms.

# %%
slack = result.slack
point_form, censored_form = scores.set_index("prior").loc[
    ["size + generation", "size + generation, censored"], "mean_log_score_exact"
]
assert censored_form > point_form, "the censored form now predicts the exact runs as well"
assert slack["mean_slack_factor"] < 1.5, "the upper bounds are no longer nearly tight"
slack

# %% [markdown]
# Why the censored form loses on the exact runs: fitted by maximum likelihood, the slack between an
# upper-bound row's hours and its clean pass (half-normal, `calibration.bound_slack`) is small, the
# hours about `mean_slack_factor` times the clean pass, and the AIC prefers reading every run as a
# point. Accelerators x calendar time, as these papers report it, is nearly the run itself; read as
# "at least", 28 of the 41 runs stop constraining how high utilization may be.

# %%
cells.present(result.generation_vs_naive())

# %% [markdown]
# The prior's MdAPE beside the naive rule's, per scheme and accelerator generation; `judged` where a
# generation has at least five runs. A generation without calibration runs has its centre moved
# toward the naive rule's (a forecast combination by inverse variance, `calibration.py`): held out
# by generation, that brings the A100 runs from about 55% to 36% against naive's 27%, and costs the
# H100 runs (from 26% to 36%, still under naive's 48%). The A100 runs still lose to the naive rule
# there and in the time split, where the 2023 A100 runs (Phi-1.5 and Phi-2 at 0.6-0.7 of peak) ran
# well above the earlier ones; no term of the forms tried predicts that. The candidate "size +
# generation, nested weight" chooses the blend weight from the generations it was fitted on, each
# left out in turn: with Ampere held out, the three left (Hopper, TPU, Volta) choose no weight, and
# the A100 runs come out further off (about 55%).

# %%
assert (result.runs["fitted_on"] < len(result.settings["calibration_runs"])).all()
cells.present(
    result.breakdown[
        result.breakdown["method"].isin(["calibrated prior", f"naive 6ND @ MFU {naive_mfu:g}"])
    ]
)

# %% [markdown]
# Where it fails: the same metrics by accelerator generation, year and size (active parameters),
# for the prior and the naive rule.

# %%
plots.backtest_pit(result.pit)

# %% [markdown]
# PIT histograms: where each held-out run's reported hours fall in its predictive distribution.
# Honest intervals give flat bars at the dashed line; a U shape means intervals too narrow, a hump
# too wide, a slope a biased centre.

# %%
cells.present(
    result.runs[
        [
            "run_id",
            "organization",
            "accelerator",
            "year",
            "utilization",
            "reported_gpu_hours",
            "p10_gpu_hours",
            "p50_gpu_hours",
            "p90_gpu_hours",
            "inside",
            "ape",
            "naive_gpu_hours",
            "naive_ape",
            "constant_gpu_hours",
        ]
    ]
)

# %%
plots.backtest_figure(result)

# %% [markdown]
# Run by run under the headline scheme: predicted (P50 with P10-P90 bars) against reported
# accelerator-hours on log axes, crosses for the naive baseline; points on the dashed line are
# exact.

# %%
cells.present(result.energy)

# %% [markdown]
# The energy model against published energy, never fitted. `full` is the model `estimate` uses
# (facility energy: TDP x chip-to-server multiplier x fraction drawn x PUE); `accelerator` drops the
# multiplier, which is the boundary of GPU-metered figures. Rows with `tests_model` false are
# accelerator-hours x TDP by construction and test nothing.

# %%
cells.present(result.power)

# %%
cells.present(result.bounds)

# %% [markdown]
# Published facility power (Epoch AI estimates made with the same formula: the implied PUE checks
# constants and arithmetic), and the check rows whose hours are only an upper bound (GLM-130B's
# access window, CodeGeeX-13B's calendar window, Pleias-3B's grant days, Motif-2.6B's count of
# unstated unit): the prior's P50 for each should fall below its bound.

# %%
cells.present(result.targets())

# %% [markdown]
# Each target of the issue, per grouped scheme, beside the value the default prior reaches.

# %%
energy = result.energy_summary()
headline = result.summary.loc["calibrated prior"]
cells.record_metrics(
    {
        "mdape": headline["mdape"],
        "coverage_p10_p90": headline["coverage_p10_p90"],
        "median_p90_over_p10": headline["median_p90_over_p10"],
        "naive_mdape": result.summary.loc[f"naive 6ND @ MFU {naive_mfu:g}", "mdape"],
        "constant_mdape": result.summary.loc["best single constant", "mdape"],
        "energy_median_abs_error_full_model": energy["median_abs_facility_error"],
        "energy_median_abs_error_accelerator": energy["median_abs_accelerator_error"],
        "runs": len(result.runs),
        **result.scheme_metrics(),
    },
    metrics_path,
)

# %%
cells.watermark(seed=seed, backend="numpy")

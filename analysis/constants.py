"""Every fixed number of the model, named, with its source beside it, in one place.

Numbers about particular chips, runs, sites and deals live in data/ with their sources; these are
the method's own constants and the default ranges of inputs that no data file pins down.
"""

from __future__ import annotations

SECONDS_PER_HOUR = 3600.0
HOURS_PER_DAY = 24.0
#: 365.25 days: contracts and useful lives are stated in calendar years.
HOURS_PER_YEAR = 8766.0
HOURS_PER_MONTH = HOURS_PER_YEAR / 12.0
SECONDS_PER_MONTH = HOURS_PER_MONTH * SECONDS_PER_HOUR

#: Training FLOP per active parameter per token, forward + backward: C = 6 N D.
#: Kaplan et al. 2020 (arXiv:2001.08361) s2.1; Hoffmann et al. 2022 (arXiv:2203.15556); Epoch AI's
#: operation-counting method. For MoE, N is the active parameters per token.
FLOP_PER_PARAM_PER_TOKEN = 6.0

#: Cluster interconnect as a fraction of accelerator purchase cost, added when amortizing owned
#: hardware. Cottier et al. 2024, 'The rising costs of training frontier AI models'
#: (arXiv:2405.21015), Epoch AI training-cost model (docs/architecture.md §3.9).
INTERCONNECT_COST_FRACTION = 0.19

#: Goodput: share of wall-clock time spent on useful training. Llama 3 reports >90% effective
#: training time with 466 interruptions in a 54-day snapshot ('The Llama 3 Herd of Models',
#: arXiv:2407.21783 s3.3.4). assumption: triangular(0.85, 0.92, 0.97) around that figure, wider
#: below because less mature stacks and smaller teams lose more time to failures.
GOODPUT_TRIANGULAR = (0.85, 0.92, 0.97)

#: assumption: contract and market prices for the same chip vary about -20%/+25% (p10/p90) around
#: the catalog figure; the H100 1-year contract index moved from 1.70 to 2.35 USD/h (+38%) between
#: Oct-2025 and Mar-2026 (SemiAnalysis GPU rental index, via the reference capacity-deals sheet).
PRICE_FACTOR_P10_P90 = (0.8, 1.25)

#: assumption: the PUE a site achieves varies around its catalog value by -0.02/+0.10 (triangular,
#: mode 0); new AI halls run near design PUE, older or overloaded ones above it (Uptime Institute
#: 2025 survey: 1.48 for facilities < 5 years old against a 1.54 industry average).
PUE_DELTA_TRIANGULAR = (-0.02, 0.0, 0.10)

#: assumption: accelerators are depreciated straight-line over 3-6 years (mode 4) when amortizing
#: owned hardware; hyperscalers state 5-6 year server lives, while frontier labs replace
#: accelerators after about one or two generations.
HARDWARE_LIFE_YEARS_TRIANGULAR = (3.0, 4.0, 6.0)

#: Data-centre construction cost per MW of IT load: 10-12 M USD standard, about 2x (>20 M USD) for
#: AI-optimized halls (the reference capacity-deals sheet, build cost rows).
#: assumption: uniform 12-25 M USD/MW for AI campuses, amortized over FACILITY_LIFE_YEARS.
BUILD_COST_USD_PER_MW_UNIFORM = (12e6, 25e6)
#: assumption: a data-centre shell and power plant are amortized over 15 years (buildings and
#: electrical plant outlive several accelerator generations).
FACILITY_LIFE_YEARS = 15.0

#: FP8 training throughput relative to BF16 on the same chip, as realized end to end. Only the large
#: matrix products run in FP8 (attention, norms, optimizer and communication stay in higher
#: precision: DeepSeek-V3 technical report, arXiv:2412.19437 s3.3), so the gain is far below the 2x
#: of the peak sheets. DeepSeek-V3 reached about 0.33 of the H800 BF16 dense peak in FP8, in line
#: with BF16 runs of its size. assumption: triangular(1.0, 1.15, 1.5).
FP8_GAIN_TRIANGULAR = (1.0, 1.15, 1.5)

#: The region used when none is given.
DEFAULT_SITE = "us-average"

#: Most Monte Carlo draws one call accepts (memory: simulate stores 9 float32 metrics per draw and
#: competitor).
MAX_DRAWS = 20_000_000

#: Draws of `estimate` when --draws is not given.
DEFAULT_ESTIMATE_DRAWS = 10_000

# ---------------------------------------------------------------------------------------------
# How labs plan a run (the race): wall-clock budget, post-training lag, algorithmic progress
# ---------------------------------------------------------------------------------------------

#: Wall-clock length of a frontier pre-training run, P10 and P90 in months, as recorded in
#: 2023-2025: Epoch AI 'Data on AI Models' (epoch.ai, CC BY 4.0) language models of >= 1e24 FLOP
#: with a training time, plus DeepSeek-V3's 54 days (arXiv:2412.19437): 15 runs, P10 37 days,
#: median 92, P90 176.
#: assumption: lognormal with P10 48 days (1.6 months) and P90 180 days (5.9 months), the band of
#: the better-documented runs (Llama 3.1 405B about 80-90 days, DeepSeek-V3 54, Nemotron-4 340B
#: about 75-92), median 93 days.
BUDGET_MONTHS_P10_P90 = (1.6, 5.9)
#: The calendar month the record above is centred on (its runs were published 2023-03 to 2025-03).
BUDGET_RECORD_MONTH = "2024-07"
#: Growth of frontier training-run length per year: 1.4x (90% CI 1.3-1.5x) over 38 frontier LLMs
#: since 2020 (L. Emberson, Y. Edelman, 'Frontier training runs will likely stop getting longer by
#: around 2027', Epoch AI data insight, 2025-07-25). Lognormal with that 90% interval (P10/P90
#: 1.32/1.48).
BUDGET_GROWTH_PER_YEAR_P10_P90 = (1.32, 1.48)
#: Longest run a lab plans: runs much longer than ~9 months are likely inefficient, because waiting
#: for better hardware and algorithms beats training longer (same Epoch AI data insight).
MAX_PLANNED_RUN_MONTHS = 9.0
#: Largest wall-clock budget a scenario may set (months): four times the longest efficient run.
MAX_BUDGET_MONTHS = 36.0

#: Months from the end of pre-training to release (post-training, evaluation, launch), where
#: datable: LLaMA-1 under 1 (card: trained Dec-2022 to Feb-2023, released 2023-02-24), Llama 3.1
#: 405B about 1.5-3 (still training on 2024-04-18, released 2024-07-23), DeepSeek-V3 0-2 (trained
#: Nov-Dec 2024 per D. Amodei 2025-01-29, released 2024-12-26), Nemotron-4 340B under 1.5, Muse
#: Spark at least 2.6 (pre-training done by 2026-01-20, The Information 2026-02-05; released
#: 2026-04-08). assumption: lognormal with P10 0.8 and P90 3.5 months.
RELEASE_LAG_MONTHS_P10_P90 = (0.8, 3.5)

#: Algorithmic progress in language models: the compute needed to reach a fixed performance halves
#: about every 8 months (95% CI about 5-14 months): Ho et al. 2024, 'Algorithmic progress in
#: language models', arXiv:2403.05812. Lognormal through that interval: P10 6.0, P90 11.7 months.
ALGORITHMIC_HALVING_MONTHS_P10_P90 = (6.0, 11.7)

#: Largest training-efficiency multiplier a competitor may set (effective FLOP per FLOP against the
#: reference recipe): DeepSeek-V3 matched Llama 3.1 405B's MMLU with about 1/11.5 of its FLOP
#: (arXiv:2412.19437 Tables 3 and 6); 1,000 leaves two orders of magnitude above any observed gap.
MAX_EFFICIENCY = 1000.0

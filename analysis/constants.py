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

"""Seaborn figures from the package's tidy DataFrames, one function per figure the notebooks show.

Every function takes DataFrames (from `tables`, `capacity`, `sensitivity`, `economics`), draws one
figure under a local style (no global matplotlib state changes), closes it so Jupyter's inline
backend does not show it twice, and returns the Figure: the notebook cell's last value displays it
once, and `fig.savefig` works for reports.

One palette: each lab has one colour in every figure (`LAB_COLORS`, Okabe-Ito, safe for the common
colour-vision deficiencies), each campus one colour (`campus_colors`, Paul Tol's "muted" set, fixed
from the catalog's order), and deals on one campus share its colour with their own line style.
Every numeric axis names its unit; log axes say so; legends sit outside the data.

The figures live by notebook family: `style` (palette and axis helpers), `inputs` (notebooks 00,
10, 11), `race` (20, 21, 40), `studies` (22, 30, 31, sweeps); every public name is here.
"""

from __future__ import annotations

from .inputs import (
    calibration,
    capacity_bands,
    compute_budgets,
    efficiency_by_generation,
    power_caps,
)
from .race import (
    RaceExplorerFigure,
    break_even,
    cost_by_kind,
    lead_times,
    nobody_note,
    p_first,
    rent_vs_build,
    run_metric_distributions,
    time_to_train_curves,
)
from .studies import (
    backtest_figure,
    backtest_pit,
    backtest_scatter,
    hindcast,
    sensitivity_heatmap,
    sweep_headline,
    tornado,
)
from .style import (
    CAMPUS_PALETTE,
    DEAL_STYLES,
    LAB_COLORS,
    NEUTRAL,
    OTHER_LAB_COLORS,
    WIDTH_IN,
    campus_colors,
    clock_label,
    lab_color,
)

__all__ = [
    "LAB_COLORS",
    "OTHER_LAB_COLORS",
    "CAMPUS_PALETTE",
    "DEAL_STYLES",
    "NEUTRAL",
    "WIDTH_IN",
    "lab_color",
    "campus_colors",
    "clock_label",
    "efficiency_by_generation",
    "compute_budgets",
    "calibration",
    "capacity_bands",
    "power_caps",
    "time_to_train_curves",
    "nobody_note",
    "p_first",
    "lead_times",
    "run_metric_distributions",
    "cost_by_kind",
    "rent_vs_build",
    "tornado",
    "sensitivity_heatmap",
    "backtest_figure",
    "backtest_scatter",
    "backtest_pit",
    "RaceExplorerFigure",
    "sweep_headline",
    "hindcast",
    "break_even",
]

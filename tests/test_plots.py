"""analysis.views.plots: every figure labels its numeric axes with units, keeps legends off the
data, and draws each lab (and campus) in one colour across all figures."""

from __future__ import annotations

import datetime as dt
import re
from types import SimpleNamespace

import matplotlib

matplotlib.use("Agg")

import pandas as pd
import pytest
from matplotlib.colors import to_hex
from matplotlib.lines import Line2D
from matplotlib.patches import Patch
from matplotlib.ticker import NullFormatter

import analysis
from analysis.studies import capacity, deal_value, economics, hindcast, sensitivity
from analysis.studies.whatif import what_if
from analysis.views import plots, tables

UNIT = re.compile(r"\([^)]+\)")
DEAL = "meta-coreweave-2026"


@pytest.fixture(scope="module")
def figures():
    """Every plotting function on the shipped data at small draws, by name (the warnings raised
    while they are drawn: `_WARNINGS`)."""
    import warnings

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        figs = _figures()
    _WARNINGS[:] = caught
    return figs


_WARNINGS: list = []


def _figures():
    race = what_if(draws=300, seed=5)
    cat = race.catalog
    result = race.simulate(keep_draws=True)
    timeline = capacity.capacity_timeline(race)
    budgets = tables.compute_budgets(race)
    effect_curves = tables.deal_effect_curves(
        deal_value.deal_effect(what_if(draws=200, seed=5), DEAL)
    )
    hourly = economics.hourly_costs("h100-sxm", catalog=cat, draws=300, seed=5)
    time_tornado = sensitivity.tornado(result, "time_to_train_months", tail=0.1)
    backtest = analysis.backtest(draws=200, seed=5)
    figs = {
        "efficiency_by_generation": plots.efficiency_by_generation(
            tables.accelerator_efficiency(cat)
        ),
        "compute_budgets": plots.compute_budgets(
            tables.budgets_beside_runs(budgets, tables.published_runs(cat))
        ),
        "calibration": plots.calibration(tables.calibration_table(cat), tables.prior_band(cat)),
        "capacity_bands_deal": plots.capacity_bands(timeline, "accelerators", "deal"),
        "capacity_bands_campus": plots.capacity_bands(timeline, "facility_mw", "campus"),
        "power_caps": plots.power_caps(timeline),
        "time_to_train_curves": plots.time_to_train_curves(tables.time_to_train_curves(result)),
        "time_to_train_curves_effect": plots.time_to_train_curves(
            effect_curves, style="variant", col="case"
        ),
        "p_first": plots.p_first(result.race),
        "lead_times": plots.lead_times(tables.lead_times(result)),
        "run_metric_distributions": plots.run_metric_distributions(tables.run_outcomes(result)),
        "cost_by_kind": plots.cost_by_kind(tables.cost_by_deal_kind(what_if(draws=200, seed=5))),
        "rent_vs_build": plots.rent_vs_build(
            economics.rent_vs_build("h100-sxm", catalog=cat, draws=300, seed=5),
            economics.break_even_summary(hourly),
        ),
        "tornado": plots.tornado(time_tornado, unit="time-to-train (months)"),
        "tornado_log": plots.tornado(
            sensitivity.tornado(result, "cost_usd"), unit="cost per run ($)", log=True
        ),
        "sensitivity_heatmap": plots.sensitivity_heatmap(
            sensitivity.variance_indices(result, "time_to_train_months", seed=5)
        ),
        "backtest_scatter": plots.backtest_scatter(backtest.runs),
        "backtest_figure": plots.backtest_figure(backtest),
        "backtest_pit": plots.backtest_pit(backtest.pit),
        "hindcast": plots.hindcast(hindcast.hindcast(draws=300, seed=5)),
        "RaceExplorerFigure": plots.RaceExplorerFigure(
            result.race, tables.time_to_train_curves(result)
        ).fig,
        "sweep_headline": plots.sweep_headline(
            SimpleNamespace(swept=["draws", "coreweave_2026_scale"]),
            pd.DataFrame(
                {
                    "status": "ok",
                    "draws": [1000, 2000, 1000, 2000],
                    "coreweave_2026_scale": [0, 0, 1, 1],
                    "p_first_meta": [0.90, 0.91, 0.92, 0.93],
                }
            ),
            "p_first_meta",
        ),
    }
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    for fig in figs.values():
        FigureCanvasAgg(fig).draw()  # closed figures keep a bare canvas; lay them out as saved
    return figs


def test_figures_are_drawn_without_warnings(figures):
    """A notebook shows every warning a figure raises; none is the reader's to act on (seaborn's
    boxplot passes matplotlib 3.11 a deprecated argument: plots.py silences that one warning)."""
    assert [
        f"{w.category.__name__}: {w.message} ({w.filename}:{w.lineno})" for w in _WARNINGS
    ] == []


def test_every_plotting_function_is_covered(figures):
    public = {
        name
        for name in dir(plots)
        if not name.startswith("_")
        and callable(getattr(plots, name))
        and getattr(getattr(plots, name), "__module__", "") == plots.__name__
        and name not in {"lab_color", "campus_colors", "clock_label"}
    }
    covered = {
        name.removesuffix("_deal")
        .removesuffix("_campus")
        .removesuffix("_effect")
        .removesuffix("_log")
        for name in figures
    }
    assert public <= covered, f"no figure test for {public - covered}"


NUMBER = re.compile(r"^[-\u2212+$]*\d[\d,.]*(e-?\d+)?[KMBT%]?$|^\d{4}-\d{2}$")


def _numeric(axis) -> bool:
    """An axis whose visible tick labels are numbers or dates (not category names)."""
    if isinstance(axis.get_major_formatter(), NullFormatter):
        return False
    texts = [t.get_text() for t in axis.get_ticklabels() if t.get_visible() and t.get_text()]
    return bool(texts) and all(NUMBER.match(t) for t in texts)


def test_numeric_axes_carry_labels_with_units(figures):
    for name, fig in figures.items():
        checked = 0
        for ax in fig.axes:
            if not ax.get_visible():
                continue
            for axis in (ax.xaxis, ax.yaxis):
                if _numeric(axis):
                    checked += 1
                    text = axis.get_label().get_text()
                    assert UNIT.search(text), (
                        f"{name}: numeric axis labelled {text!r}, no unit in parentheses"
                    )
                    if axis.get_scale() == "log":
                        assert "log scale" in text, (
                            f"{name}: log axis {text!r} does not say it is logarithmic"
                        )
        assert checked, f"{name}: no numeric axis found"


def _overlap(a, b) -> float:
    width = min(a.x1, b.x1) - max(a.x0, b.x0)
    height = min(a.y1, b.y1) - max(a.y0, b.y0)
    return max(width, 0) * max(height, 0)


def test_legends_sit_outside_the_data(figures):
    for name, fig in figures.items():
        renderer = fig.canvas.get_renderer()
        for ax in fig.axes:
            legend = ax.get_legend()
            if legend is None or not ax.get_visible():
                continue
            inside = _overlap(legend.get_window_extent(renderer), ax.get_window_extent(renderer))
            assert inside == 0, f"{name}: a legend overlaps its axes' data area"


def _color(artist) -> str:
    if isinstance(artist, Line2D):
        return to_hex(artist.get_color())
    if isinstance(artist, Patch):
        return to_hex(artist.get_facecolor())
    color = getattr(artist, "get_color", None) or artist.get_facecolor
    value = color()
    return to_hex(value[0] if getattr(value, "ndim", 1) == 2 else value)


def _lab_artists(fig):
    for ax in fig.axes:
        found = ax.findobj(lambda a: str(a.get_gid() or "").startswith("lab:"))
        legend = ax.get_legend()
        if legend is not None:
            found += legend.findobj(lambda a: str(a.get_gid() or "").startswith("lab:"))
        for artist in found:
            yield artist.get_gid().removeprefix("lab:"), _color(artist)


LAB_FIGURES = {
    "compute_budgets",
    "time_to_train_curves",
    "time_to_train_curves_effect",
    "p_first",
    "run_metric_distributions",
    "cost_by_kind",
}


def test_a_lab_has_one_colour_in_every_figure(figures):
    seen: dict[str, set[str]] = {}
    for name in LAB_FIGURES:
        found = list(_lab_artists(figures[name]))
        assert found, f"{name}: no artist drawn in a lab's colour"
        for lab, color in found:
            seen.setdefault(lab, set()).add(color)
    # panel titles and tick labels naming a lab are in its colour too
    for name, fig in figures.items():
        for ax in fig.axes:
            texts = [ax.title, *ax.get_yticklabels(), *ax.get_xticklabels()]
            for text in texts:
                lab = next(
                    (lab for lab in plots.LAB_COLORS if text.get_text().split(":")[0] == lab), None
                )
                if (
                    lab
                    and to_hex(text.get_color()) != to_hex("#262626")
                    and name != "efficiency_by_generation"
                ):
                    seen.setdefault(lab, set()).add(to_hex(text.get_color()))
    assert set(plots.LAB_COLORS) <= set(seen)
    for lab, colors in seen.items():
        assert colors == {to_hex(plots.lab_color(lab))}, f"{lab} drawn in {colors}"


def test_lab_colours_are_distinct_for_colour_blind_readers():
    """DeepSeek and Alibaba (and Meta) stay apart under simulated deuteranopia, protanopia and
    tritanopia (Machado et al. 2009 matrices at full severity), by a clear distance in sRGB."""
    import numpy as np
    from matplotlib.colors import to_rgb

    matrices = {
        "deuteranopia": [[0.367, 0.861, -0.228], [0.280, 0.673, 0.047], [-0.012, 0.043, 0.969]],
        "protanopia": [[0.152, 1.053, -0.205], [0.115, 0.786, 0.099], [-0.004, -0.048, 1.052]],
        "tritanopia": [[1.256, -0.077, -0.179], [-0.078, 0.931, 0.148], [0.005, 0.691, 0.304]],
    }
    colors = {lab: np.array(to_rgb(c)) ** 2.2 for lab, c in plots.LAB_COLORS.items()}  # linear RGB
    labs = list(colors)
    for vision, m in matrices.items():
        seen = {lab: np.clip(np.array(m) @ rgb, 0, 1) ** (1 / 2.2) for lab, rgb in colors.items()}
        for i, a in enumerate(labs):
            for b in labs[i + 1 :]:
                assert np.linalg.norm(seen[a] - seen[b]) > 0.25, (
                    f"{a} and {b} look alike under {vision}"
                )


def test_a_campus_has_one_colour_in_every_figure(figures):
    colors = plots.campus_colors()
    for name in ("capacity_bands_campus", "power_caps"):
        lines = [
            line
            for ax in figures[name].axes
            for line in ax.get_lines()
            if line.get_label() in colors
        ]
        assert lines, name
        for line in lines:
            assert to_hex(line.get_color()) == to_hex(colors[line.get_label()]), (
                f"{name}: {line.get_label()}"
            )
    # a deal is drawn in its campus's colour
    from analysis.inputs.catalog import load_catalog

    deals = load_catalog().deals
    lines = [
        line
        for ax in figures["capacity_bands_deal"].axes
        for line in ax.get_lines()
        if line.get_label() in deals
    ]
    assert lines
    for line in lines:
        assert to_hex(line.get_color()) == to_hex(colors[deals[line.get_label()].campus_id])
    # the campuses of one lab never share a colour
    campuses_of: dict[str, set[str]] = {}
    for deal in deals.values():
        campuses_of.setdefault(deal.buyer, set()).add(deal.campus_id)
    for lab, campuses in campuses_of.items():
        assert len({colors[c] for c in campuses}) == len(campuses), lab


def test_time_axis_says_where_the_clock_starts(figures):
    fig = figures["time_to_train_curves"]
    labels = " ".join(ax.get_xlabel() for ax in fig.axes)
    start = dt.datetime.strptime(what_if(draws=10).scenario.start, "%Y-%m").strftime("%B %Y")
    assert start in labels and "start of training" not in labels


def test_lead_time_titles_name_the_lab_that_leads_right_of_zero(figures):
    for ax in figures["lead_times"].axes:
        a, b = ax.get_title().split(":")[0].split(" vs ")
        assert ax.get_xlabel().startswith(f"{b}'s finish minus {a}'s")
        assert f"right of 0, {a} first" in ax.get_title()

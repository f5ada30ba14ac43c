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
from analysis.studies import breakeven, capacity, deal_value, economics, hindcast, sensitivity
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
        "break_even": plots.break_even(
            [
                breakeven.break_even_efficiency(lab=lab, grid=(1.0, 10.0, 100.0), draws=200, seed=5)
                for lab in ("DeepSeek", "Alibaba")
            ]
        ),
        "RaceExplorerFigure": plots.RaceExplorerFigure(
            result.race, tables.time_to_train_curves(result)
        ).fig,
        # after several changes: a long title, one change per line, and the deltas
        "RaceExplorerFigure_changed": _explorer_after_changes(race, result),
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


def _explorer_after_changes(race, result):
    """The explorer's figure after five changes, each described at length in its title."""
    from analysis.views import explorer

    settings = explorer.Settings(
        lab="Meta",
        deal="meta-prometheus",
        deal_scale=2.0,
        delivery_delay_months=3.0,
        grid_delay_months=12.0,
        share=0.5,
        target_flop=1e27,
    )
    changed = explorer.run(race, settings, backend="numpy")
    figure = plots.RaceExplorerFigure(
        result.race,
        tables.time_to_train_curves(result),
        baseline=(result.race, tables.time_to_train_curves(result)),
    )
    for n in range(1, len(changed.changes) + 1):  # one change after another, as a user makes them
        figure.update(
            changed.race,
            changed.curves,
            title="300 draws, changes from the scenario as written:\n"
            + "\n".join(list(changed.changes)[:n] * 2),
        )
    return figure.fig


def test_figures_are_drawn_without_warnings(figures):
    """A notebook shows every warning a figure raises; none is the reader's to act on (seaborn's
    boxplot passes matplotlib 3.11 a deprecated argument: views.plots silences that one warning)."""
    assert [
        f"{w.category.__name__}: {w.message} ({w.filename}:{w.lineno})" for w in _WARNINGS
    ] == []


def test_every_plotting_function_is_covered(figures):
    public = {
        name
        for name in dir(plots)
        if not name.startswith("_")
        and callable(getattr(plots, name))
        and getattr(getattr(plots, name), "__module__", "").startswith(plots.__name__ + ".")
        and name not in {"lab_color", "campus_colors", "clock_label", "nobody_note"}
    }
    covered = {
        name.removesuffix("_deal")
        .removesuffix("_campus")
        .removesuffix("_effect")
        .removesuffix("_log")
        .removesuffix("_changed")
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


# ---- text that collides ----------------------------------------------------------------------


def _outline(artist, renderer):
    """The corners of what `artist` covers on the canvas, in display pixels: its bounding box, or
    for rotated text (30-degree date ticks) the rotated rectangle, whose axis-aligned box would
    report neighbours that do not touch."""
    import numpy as np
    from matplotlib.text import Text

    box = artist.get_window_extent(renderer)
    angle = artist.get_rotation() % 180 if isinstance(artist, Text) else 0.0
    if angle in (0.0, 90.0):
        return np.array([[box.x0, box.y0], [box.x1, box.y0], [box.x1, box.y1], [box.x0, box.y1]])
    artist.set_rotation(0)
    flat = artist.get_window_extent(renderer)
    artist.set_rotation(angle)
    half = np.array([[-1, -1], [1, -1], [1, 1], [-1, 1]]) * [flat.width / 2, flat.height / 2]
    theta = np.deg2rad(angle)
    turn = np.array([[np.cos(theta), -np.sin(theta)], [np.sin(theta), np.cos(theta)]])
    return half @ turn.T + [(box.x0 + box.x1) / 2, (box.y0 + box.y1) / 2]


def _text_boxes(fig):
    """(description, outline) of every piece of text a reader must be able to read: figure titles,
    texts and legends, each axes' titles, axis labels, drawn tick labels and legend (one box), in
    display pixels as the figure is saved."""
    renderer = fig.canvas.get_renderer()
    boxes = []

    def add(what, artist):
        if artist is None or not artist.get_visible():
            return
        if hasattr(artist, "get_text") and not artist.get_text().strip():
            return
        box = artist.get_window_extent(renderer)
        if box.width > 0 and box.height > 0:
            boxes.append((what, _outline(artist, renderer)))

    if fig._suptitle is not None:
        add("suptitle", fig._suptitle)
    for i, text in enumerate(fig.texts):
        if text is not fig._suptitle:  # suptitle is one of the figure's texts
            add(f"figure text {i} {text.get_text()[:30]!r}", text)
    for i, legend in enumerate(fig.legends):
        add(f"figure legend {i}", legend)
    for n, ax in enumerate(fig.axes):
        if not ax.get_visible():
            continue
        where = f"axes {n}"
        for loc in ("title", "_left_title", "_right_title"):
            add(f"{where} title", getattr(ax, loc))
        add(f"{where} x label", ax.xaxis.label)
        add(f"{where} y label", ax.yaxis.label)
        for axis, name in ((ax.xaxis, "x"), (ax.yaxis, "y")):
            # the ticks matplotlib draws: get_ticklabels() also holds labels beyond the view
            for tick in axis._update_ticks():
                for label in (tick.label1, tick.label2):
                    add(f"{where} {name} tick {label.get_text()!r}", label)
        add(f"{where} legend", ax.get_legend())
    return boxes


def _overlap_px(a, b) -> float:
    """How far two convex outlines overlap, in pixels (separating axis theorem: the smallest
    overlap of their projections on the normals of their edges; 0 or less when apart)."""
    import numpy as np

    depth = np.inf
    for outline in (a, b):
        edges = np.roll(outline, -1, axis=0) - outline
        for ex, ey in edges:
            normal = np.array([-ey, ex]) / (np.hypot(ex, ey) or 1.0)
            pa, pb = a @ normal, b @ normal
            depth = min(depth, min(pa.max(), pb.max()) - max(pa.min(), pb.min()))
    return float(depth)


def _collisions(fig, *, tolerance_px: float = 1.0) -> list[str]:
    found = []
    boxes = _text_boxes(fig)
    for i, (a, outline_a) in enumerate(boxes):
        for b, outline_b in boxes[i + 1 :]:
            if _overlap_px(outline_a, outline_b) > tolerance_px:
                found.append(f"{a} overlaps {b}")
    return found


def test_no_title_label_tick_or_legend_overlaps_another(figures):
    """Every figure as saved: no two titles, axis labels, tick labels or legends overlap (their
    bounding boxes, from the renderer). Notebook 20's lead-time titles ran into each other and
    notebook 11's x label sat on the first legend entry."""
    problems = {name: _collisions(fig) for name, fig in figures.items()}
    problems = {name: found for name, found in problems.items() if found}
    assert not problems, "\n".join(
        f"{name}: {len(found)} collisions, e.g. {'; '.join(found[:4])}"
        for name, found in problems.items()
    )


def test_no_text_leaves_the_figure(figures):
    """Nothing is cut off at the figure's edges (the explorer's title was, after a few changes)."""
    for name, fig in figures.items():
        bounds = fig.bbox
        for what, outline in _text_boxes(fig):
            (x0, y0), (x1, y1) = outline.min(axis=0), outline.max(axis=0)
            assert (
                x0 >= bounds.x0 - 1
                and x1 <= bounds.x1 + 1
                and y0 >= bounds.y0 - 1
                and y1 <= bounds.y1 + 1
            ), f"{name}: {what} is cut off by the figure's edge"


def test_nobody_is_a_note_not_a_bar_beside_the_labs(figures):
    """P(nobody finishes within the horizon) is not a competitor: never a bar among the labs."""
    for name in ("p_first", "RaceExplorerFigure"):
        fig = figures[name]
        ticks = [t.get_text() for ax in fig.axes for t in ax.get_yticklabels()]
        assert not any("nobody" in t for t in ticks), f"{name}: {ticks}"
        notes = [t.get_text() for t in fig.texts] + [
            t.get_text() for ax in fig.axes for t in ax.texts
        ]
        assert any(t.startswith("nobody finishes within the horizon in ") for t in notes), (
            f"{name}: {notes}"
        )


# ---- captions that name colours ----------------------------------------------------------------

#: Colour words a caption may use, and the hues (degrees) or greys each one covers.
COLOUR_WORDS = (
    "red",
    "orange",
    "brown",
    "yellow",
    "green",
    "teal",
    "cyan",
    "blue",
    "indigo",
    "purple",
    "violet",
    "magenta",
    "pink",
    "grey",
    "gray",
    "black",
)


def _colour_names(rgba) -> set[str]:
    """The words a reader would use for a colour (a few per colour: teal is also blue-green)."""
    import colorsys

    r, g, b, a = rgba
    if a < 0.05:
        return set()
    hue, light, sat = colorsys.rgb_to_hls(r, g, b)
    if light < 0.12:
        return {"black"}
    if sat < 0.15 or max(r, g, b) - min(r, g, b) < 0.08:
        return {"grey", "gray"} | ({"black"} if light < 0.25 else set())
    deg = hue * 360
    bands = [
        (0, 15, {"red"}),
        (15, 45, {"orange"} | ({"brown"} if light < 0.4 else set())),
        (45, 70, {"yellow"}),
        (70, 160, {"green"}),
        (160, 200, {"teal", "cyan", "green"}),
        (200, 255, {"blue"}),
        (255, 290, {"indigo", "purple", "violet", "blue"}),
        (290, 345, {"magenta", "purple", "pink"}),
        (345, 361, {"red"}),
    ]
    return next(names for low, high, names in bands if low <= deg < high)


def _figure_colour_names(fig) -> set[str]:
    """Every colour word that fits something drawn in the figure's axes (lines, bars, areas and
    markers; not text, grid or frame)."""
    from matplotlib.colors import to_rgba, to_rgba_array

    names: set[str] = set()
    for ax in fig.axes:
        if not ax.get_visible():
            continue
        for line in ax.lines:
            names |= _colour_names(to_rgba(line.get_color(), line.get_alpha()))
        for patch in ax.patches:
            names |= _colour_names(to_rgba(patch.get_facecolor()))
        for collection in ax.collections:
            for rgba in [*to_rgba_array(collection.get_facecolor())]:
                names |= _colour_names(rgba)
            for rgba in [*to_rgba_array(collection.get_edgecolor())]:
                names |= _colour_names(rgba)
    return names


def _captions():
    """(notebook, plotting function, caption) for every figure cell followed by a markdown cell."""
    import jupytext

    from analysis.paths import NOTEBOOKS_DIR

    for path in sorted(NOTEBOOKS_DIR.glob("*.py")):
        cells = jupytext.read(path).cells
        for cell, after in zip(cells, cells[1:]):
            called = (
                re.findall(r"\bplots\.(\w+)\(", cell.source) if cell.cell_type == "code" else []
            )
            if called and after.cell_type == "markdown":
                yield path.stem, called[-1], after.source


def test_a_caption_names_only_colours_its_figure_uses(figures):
    """Notebook 22's caption said blue and orange for teal and magenta bars: every colour word in
    a figure's caption must fit a colour drawn in that figure (as the shipped data draws it)."""
    checked = 0
    for notebook, function, caption in _captions():
        words = {w for w in re.findall(r"[a-z]+", caption.lower()) if w in COLOUR_WORDS}
        drawn = [fig for name, fig in figures.items() if re.sub(r"_[a-z]+$", "", name) == function]
        drawn += [figures[function]] if function in figures else []
        if not words:
            continue
        assert drawn, f"{notebook}: no test figure for plots.{function}"
        used = set().union(*(_figure_colour_names(fig) for fig in drawn))
        missing = words - used
        assert not missing, (
            f"{notebook}: the caption of plots.{function} names {sorted(missing)}, "
            f"but the figure draws only {sorted(used)}"
        )
        checked += 1
    assert checked >= 2, "no caption names a colour: the test checks nothing"

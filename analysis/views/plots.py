"""Seaborn figures from the package's tidy DataFrames, one function per figure the notebooks show.

Every function takes DataFrames (from `tables`, `capacity`, `sensitivity`, `economics`), draws one
figure under a local style (no global matplotlib state changes), closes it so Jupyter's inline
backend does not show it twice, and returns the Figure: the notebook cell's last value displays it
once, and `fig.savefig` works for reports.

One palette: each lab has one colour in every figure (`LAB_COLORS`, Okabe-Ito, safe for the common
colour-vision deficiencies), each campus one colour (`campus_colors`, Paul Tol's "muted" set, fixed
from the catalog's order), and deals on one campus share its colour with their own line style.
Every numeric axis names its unit; log axes say so; legends sit outside the data.
"""

from __future__ import annotations

import contextlib
import functools
import textwrap
import warnings
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    import pandas as pd
    from matplotlib.figure import Figure

#: One colour per lab, the same in every figure: indigo, sky blue and orange (Okabe-Ito and Tol),
#: chosen as the triple that stays furthest apart under simulated deuteranopia, protanopia and
#: tritanopia (tests/test_plots.py checks it); DeepSeek and Alibaba differ in hue and lightness.
LAB_COLORS = {"Meta": "#332288", "DeepSeek": "#56B4E9", "Alibaba": "#E69F00"}
#: Further labs (published runs, context deals): a fixed colour from the name.
OTHER_LAB_COLORS = ("#CC79A7", "#009E73", "#000000", "#0072B2")
#: Campus colours (Paul Tol's "muted" qualitative scheme, colour-blind safe, less the two blues that
#: read as lab colours); a lab's campuses take
#: them in the catalog's order, so a campus has the same colour in every figure.
CAMPUS_PALETTE = (
    "#CC6677",
    "#117733",
    "#DDCC77",
    "#882255",
    "#44AA99",
    "#999933",
    "#AA4499",
    "#EE8866",
    "#BBCC33",
    "#FFAABB",
    "#77AADD",
    "#EEDD88",
)
#: Line styles of the deals sharing one campus (its colour).
DEAL_STYLES = ("-", "--", ":", "-.")
NEUTRAL = "0.45"
WIDTH_IN = 11.0


@contextlib.contextmanager
def _style():
    import matplotlib.pyplot as plt
    import seaborn as sns

    with (
        plt.rc_context({"figure.dpi": 100, "savefig.dpi": 100, "figure.autolayout": False}),
        sns.axes_style("whitegrid"),
        sns.plotting_context("notebook", font_scale=0.85),
    ):
        yield


def _done(fig, **kwargs) -> Figure:
    import matplotlib.pyplot as plt

    fig.tight_layout(**kwargs)
    plt.close(fig)
    return fig


def lab_color(lab: str) -> str:
    """The lab's colour in every figure (labs outside `LAB_COLORS` get a fixed colour from their
    name)."""
    if lab in LAB_COLORS:
        return LAB_COLORS[lab]
    return OTHER_LAB_COLORS[sum(map(ord, str(lab))) % len(OTHER_LAB_COLORS)]


def _lab_palette(labs) -> dict:
    return {lab: lab_color(lab) for lab in labs}


@functools.lru_cache(maxsize=1)
def _catalog_campuses() -> tuple[tuple[str, str, str], ...]:
    from ..inputs.catalog import load_catalog

    return tuple((d.buyer, d.campus_id, d.id) for d in load_catalog().deals.values())


def campus_colors() -> dict[str, str]:
    """Colour of every campus in data/deals.yaml: each buyer's campuses in catalog order take
    `CAMPUS_PALETTE` in turn, so a campus keeps its colour in every figure and campuses of one lab
    (the panels of a figure) never share one."""
    out, seen = {}, {}
    for buyer, campus, _ in _catalog_campuses():
        if campus not in out:
            out[campus] = CAMPUS_PALETTE[seen.get(buyer, 0) % len(CAMPUS_PALETTE)]
            seen[buyer] = seen.get(buyer, 0) + 1
    return out


def _campus_color(campus: str) -> str:
    return (
        campus_colors().get(campus)
        or CAMPUS_PALETTE[sum(map(ord, str(campus))) % len(CAMPUS_PALETTE)]
    )


def _tag(artist, lab: str):
    """Mark an artist as drawn in `lab`'s colour (tests check every tagged artist)."""
    artist.set_gid(f"lab:{lab}")
    return artist


def _label_column(ax, x: float, ys: np.ndarray, texts: list[str], *, gap: float = 0.045) -> None:
    """Label points that share one x, to their right: labels pushed apart (symmetrically, in axes
    fraction) until none are closer than `gap`, each joined to its point by a thin line if it
    moved."""
    ax.autoscale_view()
    to_axes = ax.transAxes.inverted()
    where = to_axes.transform(ax.transData.transform(np.column_stack([np.full(len(ys), x), ys])))
    order = np.argsort(where[:, 1])
    placed = where[order, 1].copy()
    for _ in range(
        200
    ):  # 1-D relaxation: push overlapping neighbours apart by half the shortfall each
        short = gap - np.diff(placed)
        if not (short > 1e-6).any():
            break
        push = np.where(short > 0, short / 2, 0.0)
        placed[:-1] -= push
        placed[1:] += push
        placed = np.clip(placed, 0.02, 0.98)
    for i, y in zip(order, placed):
        moved = abs(y - where[i, 1]) > 0.01
        ax.annotate(
            texts[i],
            (x, ys[i]),
            xytext=(where[i, 0] + 0.012, y),
            textcoords="axes fraction",
            fontsize=6.5,
            ha="left",
            va="center",
            arrowprops={"arrowstyle": "-", "lw": 0.4, "color": "0.55", "shrinkA": 0, "shrinkB": 3}
            if moved
            else None,
        )


def _dates(frame: pd.DataFrame):
    import pandas as pd

    return pd.to_datetime(frame["date"], format="%Y-%m")


def _date_axis(ax) -> None:
    """Ticks every six months, labelled YYYY-MM."""
    import matplotlib.dates as mdates

    ax.xaxis.set_major_locator(mdates.MonthLocator(bymonth=(1, 7)))
    ax.xaxis.set_major_formatter(mdates.DateFormatter("%Y-%m"))
    ax.tick_params(axis="x", rotation=30)
    ax.set_xlabel("month (YYYY-MM)")


def _number_axis(ax, axis: str = "y", kind: str = "quantity") -> None:
    """Tick labels as the formatting module writes numbers (thousands separators, %, $)."""
    from matplotlib.ticker import FuncFormatter

    from .. import formatting

    fmt = {
        "quantity": formatting.quantity,
        "count": lambda v: formatting.quantity(v) if abs(v) >= 1e6 else formatting.count(v),
        "percent": lambda v: f"{v * 100:.0f}%",
        "money": formatting.money,
    }[kind]
    getattr(ax, f"{axis}axis").set_major_formatter(
        FuncFormatter(lambda v, _: formatting.tick(fmt(v)))
    )


def _log_locator():
    """Log ticks at 1, 2 and 5 x 10^k where their labels fit the axis, thinned to 1 and 3, then to
    10^k alone, when the axis spans more decades than its length holds labels (the backtest's
    hour axes ran "1,000" into "2,000" and "5,000"): decided at draw time, from the view limits
    and the axes' size in inches."""
    import math

    from matplotlib.ticker import LogLocator

    class LogTicks(LogLocator):
        def tick_values(self, vmin, vmax):
            lo, hi = sorted((vmin, vmax))
            axis = getattr(self, "axis", None)
            if lo > 0 and axis is not None and axis.axes is not None:
                fig = axis.axes.figure
                box = axis.axes.get_position()
                if axis.axis_name == "x":
                    room = max(box.width * fig.get_figwidth() / 0.55, 3)
                else:
                    room = max(box.height * fig.get_figheight() / 0.22, 3)
                decades = math.log10(hi / lo) + 1
                subs = next(
                    (s for s in ((1.0, 2.0, 5.0), (1.0, 3.0)) if len(s) * decades <= room), (1.0,)
                )
                self.set_params(subs=subs)
            return super().tick_values(vmin, vmax)

    return LogTicks(base=10, subs=(1.0, 2.0, 5.0))


def _log_axis(ax, axis: str = "x", *, money: bool = False) -> None:
    """Log scale with ticks at 1, 2 and 5 x 10^k (fewer where the labels would not fit), labelled
    compactly (20M, 5,000, 0.002), and the axis label saying it is logarithmic."""
    from matplotlib.ticker import FuncFormatter, NullFormatter

    from .. import formatting

    getattr(ax, f"set_{axis}scale")("log")
    target = getattr(ax, f"{axis}axis")
    target.set_major_locator(_log_locator())
    fmt = formatting.money if money else formatting.quantity
    target.set_major_formatter(FuncFormatter(lambda v, _: formatting.tick(fmt(v))))
    target.set_minor_formatter(NullFormatter())
    text = target.get_label().get_text()
    if "log scale" not in text:
        target.set_label_text(f"{text}, log scale" if text else "log scale")


def _renderer(fig):
    """The figure's renderer, to measure text before the figure is shown."""
    get = getattr(fig.canvas, "get_renderer", None)
    return get() if get is not None else fig._get_renderer()


def _legend_outside(ax, *, where: str = "right", ncol: int = 1, **kwargs):
    """The axes' legend outside the data: to the right, or below the axes, under the x axis's tick
    labels and label as measured (a fixed offset put notebook 11's x label on the first entry)."""
    from matplotlib.transforms import ScaledTranslation

    handles, labels = ax.get_legend_handles_labels()
    if not handles:
        return None
    unique = dict(zip(labels, handles))
    options = {"fontsize": 7, "title_fontsize": 8, "frameon": False, **kwargs}
    if where == "right":
        return ax.legend(
            unique.values(),
            unique.keys(),
            loc="upper left",
            bbox_to_anchor=(1.01, 1.0),
            ncol=ncol,
            **options,
        )
    fig = ax.figure
    renderer = _renderer(fig)
    below = ax.get_window_extent(renderer).y0 - ax.xaxis.get_tightbbox(renderer).y0
    depth_in = max(below, 0.0) / fig.dpi + 0.06
    return ax.legend(
        unique.values(),
        unique.keys(),
        loc="upper center",
        bbox_to_anchor=(0.5, 0.0),
        bbox_transform=ax.transAxes + ScaledTranslation(0, -depth_in, fig.dpi_scale_trans),
        ncol=ncol,
        **options,
    )


def clock_label(start: str | None) -> str:
    """X label of time-to-train: months from the scenario's start (the clock includes any wait for
    capacity, not only the training itself)."""
    import datetime as dt

    when = "the scenario's start"
    if start:
        try:
            when = (
                dt.datetime.strptime(str(start)[:7], "%Y-%m").strftime("%B %Y")
                + " (scenario start)"
            )
        except ValueError:
            when = f"{start} (scenario start)"
    return f"months from {when}, waiting for capacity included"


# ---------------------------------------------------------------------------------------------
# 00 assumptions
# ---------------------------------------------------------------------------------------------


def efficiency_by_generation(eff: pd.DataFrame) -> Figure:
    """Peak FLOP/s per USD of purchase price and per server watt, by release year (log scale)."""
    import matplotlib.pyplot as plt
    import seaborn as sns

    precision = (eff["precision"].iloc[0] if len(eff) else "").upper()
    panels = [
        (
            "flop_per_s_per_usd",
            f"peak {precision} FLOP/s per $ of purchase price",
            f"peak {precision} (FLOP/s per $)",
        ),
        (
            "flop_per_s_per_server_w",
            f"peak {precision} FLOP/s per W of server power at rating",
            f"peak {precision} (FLOP/s per W)",
        ),
    ]
    with _style():
        fig, axes = plt.subplots(1, 2, figsize=(WIDTH_IN, 4.6))
        for ax, (column, title, ylabel) in zip(axes, panels):
            data = eff[eff[column].notna()]
            sns.scatterplot(
                data=data,
                x="year",
                y=column,
                hue="vendor",
                style="vendor",
                s=70,
                ax=ax,
                legend=ax is axes[-1],
            )
            # chips at the same point (h100-sxm and h800) share one label instead of overprinting
            ax.set_title(title, fontsize=9)
            ax.set_xlabel("first available (year)")
            ax.set_ylabel(ylabel)
            _log_axis(ax, "y")
            if len(data):
                ax.set_xticks(range(int(data["year"].min()), int(data["year"].max()) + 1))
            ax.set_xlim(
                ax.get_xlim()[0] - 0.2, ax.get_xlim()[1] + 0.9
            )  # room for the last year's labels
            # chips at one point share a label; the labels of one year are spread so none overlap
            points = data.groupby(["year", column], sort=True)["id"].agg(" / ".join).reset_index()
            for year, group in points.groupby("year"):
                _label_column(ax, year, group[column].to_numpy(), list(group["id"]))
            missing = int(eff[column].isna().sum())
            if missing:
                ax.text(
                    0.01,
                    0.01,
                    f"{missing} accelerators without this figure not shown",
                    transform=ax.transAxes,
                    fontsize=7,
                    color="0.4",
                )
        handles, names = axes[-1].get_legend_handles_labels()
        axes[-1].get_legend().remove()
        fig.legend(
            handles,
            names,
            loc="lower center",
            ncol=len(names),
            fontsize=8,
            frameon=False,
            title="vendor",
            title_fontsize=8,
        )
        return _done(fig, rect=(0, 0.08, 1, 1))


# ---------------------------------------------------------------------------------------------
# 10 compute budgets
# ---------------------------------------------------------------------------------------------


def compute_budgets(forest: pd.DataFrame) -> Figure:
    """Forest plot: training FLOP of published runs (points) and each lab's next model (p10-p90),
    the next models in their lab's colour."""
    import matplotlib.pyplot as plt
    from matplotlib.lines import Line2D

    with _style():
        fig, ax = plt.subplots(figsize=(WIDTH_IN, 0.32 * len(forest) + 1.4))
        y = np.arange(len(forest))[::-1]
        for yi, (_, row) in zip(y, forest.iterrows()):
            nxt = row["kind"].startswith("next")
            lab = row.get("lab", "")
            color = lab_color(lab) if nxt else NEUTRAL
            if nxt:
                _tag(
                    ax.plot(
                        [row["flop_p10"], row["flop_p90"]],
                        [yi, yi],
                        color=color,
                        lw=3,
                        solid_capstyle="round",
                    )[0],
                    lab,
                )
            ax.plot(
                row["flop_p50"],
                yi,
                "o",
                color=color,
                ms=7 if nxt else 5,
                mfc=color if nxt or "reported" in row["kind"] else "white",
            )
        ax.set_yticks(y)
        ax.set_yticklabels(forest["name"])
        for tick, (_, row) in zip(ax.get_yticklabels(), forest.iterrows()):
            if row["kind"].startswith("next"):
                tick.set_color(lab_color(row.get("lab", "")))
        ax.set_xlabel("training compute (FLOP)")
        _log_axis(ax)
        ax.set_title(
            "Next models (p10-p50-p90 of the race's draws, in the lab's colour) beside published "
            "runs",
            fontsize=9,
        )
        handles = [
            Line2D([], [], color="0.3", lw=3, marker="o", label="next model: p10-p90, dot p50"),
            Line2D(
                [], [], color=NEUTRAL, ls="", marker="o", label="published, reported by the authors"
            ),
            Line2D(
                [],
                [],
                color=NEUTRAL,
                ls="",
                marker="o",
                mfc="white",
                label="published, third-party estimate",
            ),
        ]
        ax.legend(
            handles=handles, loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=7, frameon=False
        )
        return _done(fig)


def calibration(cal: pd.DataFrame, band: pd.DataFrame) -> Figure:
    """Effective utilization of the calibration runs against model size, with the prior's band."""
    import matplotlib.pyplot as plt
    import seaborn as sns

    with _style():
        fig, ax = plt.subplots(figsize=(WIDTH_IN * 0.85, 4.4))
        ax.fill_between(
            band["active_params"],
            band["prior_p10"],
            band["prior_p90"],
            color="0.5",
            alpha=0.15,
            label="prior p10-p90",
        )
        ax.plot(band["active_params"], band["prior_p50"], color="0.3", label="prior p50")
        data = cal[cal["active_params"].notna()]
        sns.scatterplot(
            data=data,
            x="active_params",
            y="utilization",
            hue="scope",
            style="precision",
            s=60,
            ax=ax,
            palette=dict(zip(dict.fromkeys(data["scope"]), CAMPUS_PALETTE)),
        )
        for _, row in data.iterrows():
            ax.annotate(
                row["run"],
                (row["active_params"], row["utilization"]),
                xytext=(4, 2),
                textcoords="offset points",
                fontsize=7,
            )
        ax.set_xlabel("active parameters per token (count)")
        _log_axis(ax)
        ax.set_ylabel("effective utilization (% of BF16 peak: MFU x goodput)")
        _number_axis(ax, "y", "percent")
        ax.set_title("Calibration runs and the MFU prior", fontsize=10)
        _legend_outside(ax)
        return _done(fig)


# ---------------------------------------------------------------------------------------------
# 11 capacity
# ---------------------------------------------------------------------------------------------

_QUANTITY_LABELS = {
    "accelerators": "accelerators online (count)",
    "powered_accelerators": "accelerators powered (count)",
    "facility_mw": "facility power drawn at rating (MW)",
    "demand_mw": "facility power demanded (MW)",
}


def _series_styles(part: pd.DataFrame, level: str) -> dict[str, tuple[str, str]]:
    """Colour (the campus's) and line style (per deal on that campus) of each line of a panel."""
    styles, per_campus = {}, {}
    for name, campus in dict.fromkeys(zip(part["name"], part["campus"])):
        n = per_campus.get(campus, 0)
        per_campus[campus] = n + 1
        styles[name] = (
            _campus_color(campus),
            DEAL_STYLES[n % len(DEAL_STYLES)] if level == "deal" else "-",
        )
    return styles


def capacity_bands(
    timeline: pd.DataFrame,
    quantity: str = "accelerators",
    level: str = "deal",
    ylabel: str | None = None,
) -> Figure:
    """p50 line and p10-p90 band of `quantity` over time, one panel per lab, one line per `level`
    name (deal or campus) in its campus's colour (deals sharing a campus: line styles); legends
    below."""
    import matplotlib.pyplot as plt

    data = timeline[timeline["level"] == level]
    labs = list(dict.fromkeys(data["lab"]))
    with _style():
        fig, axes = plt.subplots(1, len(labs), figsize=(WIDTH_IN, 4.9), squeeze=False)
        for ax, lab in zip(axes[0], labs):
            part = data[data["lab"] == lab]
            for name, (color, ls) in _series_styles(part, level).items():
                rows = part[part["name"] == name]
                x = _dates(rows)
                ax.fill_between(
                    x,
                    rows[f"{quantity}_p10"],
                    rows[f"{quantity}_p90"],
                    color=color,
                    alpha=0.15,
                    step="post",
                    lw=0,
                )
                ax.step(
                    x, rows[f"{quantity}_p50"], where="post", color=color, ls=ls, lw=1.8, label=name
                )
            ax.set_title(lab, color=lab_color(lab), fontweight="bold")
            ax.set_ylabel(ylabel or _QUANTITY_LABELS.get(quantity, quantity))
            _number_axis(ax, "y", "count" if "accelerators" in quantity else "quantity")
            _date_axis(ax)
            _legend_outside(ax, where="below", ncol=1)
        return _done(fig)


def power_caps(timeline: pd.DataFrame) -> Figure:
    """Per power-capped campus: facility demand (p50, p10-p90) against the cap (p50), and the share
    of draws in which the cap binds; one colour per campus, as in every figure."""
    import matplotlib.pyplot as plt
    from matplotlib.lines import Line2D

    data = timeline[(timeline["level"] == "campus") & timeline["p_cap_binds"].notna()]
    labs = list(dict.fromkeys(data["lab"]))
    with _style():
        fig, axes = plt.subplots(
            2,
            max(len(labs), 1),
            figsize=(WIDTH_IN, 6.6),
            squeeze=False,
            sharex="col",
            gridspec_kw={"height_ratios": [2, 1]},
        )
        for col, lab in enumerate(labs):
            part = data[data["lab"] == lab]
            top, bottom = axes[0][col], axes[1][col]
            for name in dict.fromkeys(part["name"]):
                rows = part[part["name"] == name]
                color = _campus_color(rows["campus"].iloc[0])
                x = _dates(rows)
                top.fill_between(
                    x,
                    rows["demand_mw_p10"],
                    rows["demand_mw_p90"],
                    color=color,
                    alpha=0.15,
                    step="post",
                    lw=0,
                )
                top.step(x, rows["demand_mw_p50"], where="post", color=color, label=name)
                top.step(x, rows["cap_mw_p50"], where="post", color=color, ls="--")
                bottom.step(x, rows["p_cap_binds"], where="post", color=color, label=name)
            top.set_title(lab, color=lab_color(lab), fontweight="bold")
            top.set_ylabel("facility power (MW)")
            _number_axis(top, "y")
            bottom.set_ylabel("P(cap binds) (%)")
            bottom.set_ylim(-0.02, 1.02)
            _number_axis(bottom, "y", "percent")
            _date_axis(bottom)
            _legend_outside(bottom, where="below", ncol=1)
        for ax in axes[0][len(labs) :]:
            ax.set_visible(False)
        key = [
            Line2D([], [], color="0.3", label="demand p50 (band p10-p90)"),
            Line2D([], [], color="0.3", ls="--", label="power available (cap) p50"),
        ]
        fig.legend(
            handles=key,
            loc="upper center",
            ncol=2,
            fontsize=7,
            frameon=False,
            bbox_to_anchor=(0.5, 1.0),
        )
        return _done(fig, rect=(0, 0, 1, 0.96))


# ---------------------------------------------------------------------------------------------
# 20 race
# ---------------------------------------------------------------------------------------------


def time_to_train_curves(
    curves: pd.DataFrame,
    *,
    style: str | None = None,
    col: str | None = None,
    row: str | None = None,
    title: str | None = None,
) -> Figure:
    """P(trained within m months of the scenario's start) per lab; curves end at P(done within
    horizon). Optional line style (e.g. variant), panel columns (e.g. case) and panel rows (e.g.
    target): one curve per panel, lab and style, never averaged across anything else. The legend
    sits right of the panels."""
    import matplotlib.pyplot as plt
    import seaborn as sns

    cols = list(dict.fromkeys(curves[col])) if col else [None]
    rows = list(dict.fromkeys(curves[row])) if row else [None]
    labs = list(dict.fromkeys(curves["lab"]))
    palette = _lab_palette(labs)
    start = curves["start"].iloc[0] if "start" in curves.columns and len(curves) else None
    with _style():
        fig, axes = plt.subplots(
            len(rows),
            len(cols),
            figsize=(WIDTH_IN, 3.4 * len(rows) + 0.8),
            squeeze=False,
            sharey=True,
            sharex=True,
        )
        for i, row_value in enumerate(rows):
            for j, col_value in enumerate(cols):
                ax = axes[i][j]
                part = curves
                if row is not None:
                    part = part[part[row] == row_value]
                if col is not None:
                    part = part[part[col] == col_value]
                sns.lineplot(
                    data=part,
                    x="months",
                    y="p_done",
                    hue="lab",
                    style=style,
                    palette=palette,
                    ax=ax,
                    drawstyle="steps-post",
                    errorbar=None,
                    estimator=None,
                    units=None,
                    legend=(i == 0 and j == len(cols) - 1),
                    lw=1.8,
                )
                for line in ax.get_lines():
                    if line.get_label() in palette:
                        _tag(line, line.get_label())
                ax.set_ylim(-0.02, 1.02)
                _number_axis(ax, "y", "percent")
                ax.set_xlabel(textwrap.fill(clock_label(start), 48) if i == len(rows) - 1 else "")
                ax.set_ylabel("P(trained by then) (%)" if j == 0 else "")
                label = ", ".join(str(v) for v in (row_value, col_value) if v is not None)
                if label:
                    ax.set_title(label, fontsize=9)
        legend_ax = axes[0][-1]
        if legend_ax.get_legend() is not None:
            sns.move_legend(
                legend_ax,
                "upper left",
                bbox_to_anchor=(1.02, 1.0),
                fontsize=7,
                title_fontsize=7,
                frameon=False,
                title=None,
            )
            for text, handle in zip(
                legend_ax.get_legend().get_texts(), legend_ax.get_legend().legend_handles
            ):
                if text.get_text() in palette:
                    _tag(handle, text.get_text())
        if title:
            fig.suptitle(title, fontsize=10)
        return _done(fig)


def _nobody(race: pd.DataFrame) -> tuple[pd.DataFrame, float | None]:
    """The competitors of a race table, and P(nobody finishes within the horizon) when the table
    holds that row (`SimulationResult.race` does; it is not a competitor, so never a bar)."""
    nobody = race["lab"].astype(str).str.startswith("nobody")
    value = float(race.loc[nobody, "p_first"].sum()) if nobody.any() else None
    return race[~nobody], value


def nobody_note(p_nobody: float | None) -> str:
    """The line a race figure shows under its bars instead of a bar for "nobody"."""
    from .. import formatting

    if p_nobody is None:
        return ""
    return (
        f"nobody finishes within the horizon in {formatting.probability(p_nobody)} of draws "
        "(not a competitor, so not a bar)"
    )


def p_first(race: pd.DataFrame) -> Figure:
    """P(first) per competitor, each bar in its lab's colour beside its label; P(nobody finishes
    within the horizon) is a grey note under the axis, not a bar beside the labs."""
    import matplotlib.pyplot as plt

    from .. import formatting

    labs, p_nobody = _nobody(race)
    with _style():
        height_in = 0.5 * len(labs) + 1.2 + (0.3 if p_nobody is not None else 0.0)
        fig, ax = plt.subplots(figsize=(WIDTH_IN * 0.6, height_in))
        labels = [f"{lab} {model}".strip() for lab, model in zip(labs["lab"], labs["model"])]
        y = np.arange(len(labs))[::-1]
        for yi, lab, value in zip(y, labs["lab"], labs["p_first"].to_numpy()):
            bar = ax.barh(yi, value, color=lab_color(lab), height=0.6)[0]
            _tag(bar, lab)
            ax.text(value + 0.01, yi, formatting.probability(value), va="center", fontsize=8)
        ax.set_yticks(y)
        ax.set_yticklabels(labels)
        ax.set_xlim(0, 1.1)
        ax.set_xlabel("P(first to finish) (%)")
        _number_axis(ax, "x", "percent")
        ax.grid(axis="y", visible=False)
        if p_nobody is None:
            return _done(fig)
        fig.text(0.01, 0.01, nobody_note(p_nobody), fontsize=7, color=NEUTRAL, va="bottom")
        return _done(fig, rect=(0, 0.3 / height_in, 1, 1))


def lead_times(leads: pd.DataFrame) -> Figure:
    """Distribution of lead times per pair: panel "A vs B" shows B's finish minus A's in months, so
    mass right of zero means A (the first-named lab) finishes first."""
    import matplotlib.pyplot as plt
    import seaborn as sns

    pairs = list(dict.fromkeys(leads["pair"]))
    with _style():
        fig, axes = plt.subplots(
            1, max(len(pairs), 1), figsize=(WIDTH_IN, 3.6), squeeze=False, sharey=False
        )
        for ax, pair in zip(axes[0], pairs):
            part = leads[leads["pair"] == pair]
            values = part["lead_months"]
            a, b = (
                (part["a"].iloc[0], part["b"].iloc[0]) if len(part) else pair.split(" minus ")[::-1]
            )
            sns.histplot(values, bins=40, ax=ax, color=NEUTRAL, stat="probability")
            ax.axvline(0, color="k", lw=1)
            if len(values):
                median = float(np.median(values))
                ax.axvline(
                    median, color=lab_color(a) if median > 0 else lab_color(b), lw=1.8, ls="--"
                )
            # two short lines: three panels of one line each ran into one another
            median_text = f"\nmedian (dashed) {median:+.1f} months" if len(values) else ""
            ax.set_title(f"{a} vs {b}: right of 0, {a} first{median_text}", fontsize=8)
            ax.set_xlabel(f"{b}'s finish minus {a}'s (months)")
            ax.set_ylabel("share of draws (%)")
            _number_axis(ax, "y", "percent")
        return _done(fig)


# ---------------------------------------------------------------------------------------------
# 21 cost, power, carbon
# ---------------------------------------------------------------------------------------------

_METRIC_LABELS = {
    "cost_usd": "cost per run ($)",
    "usd_per_pflop": "cost per PFLOP of training compute ($)",
    "energy_mwh": "energy (MWh)",
    "peak_power_mw": "peak facility power of the run (MW)",
    "emissions_tco2e": "emissions (tCO2e)",
    "gpu_hours": "accelerator-hours (count)",
    "committed_usd": "committed reserved spend ($)",
}


def run_metric_distributions(
    outcomes: pd.DataFrame,
    metrics=("cost_usd", "usd_per_pflop", "energy_mwh", "peak_power_mw", "emissions_tco2e"),
) -> Figure:
    """Box plots per lab (log scale) of each run metric over the draws that finish."""
    import matplotlib.pyplot as plt
    import seaborn as sns

    palette = _lab_palette(dict.fromkeys(outcomes["lab"]))
    with _style():
        ncols = 3
        nrows = int(np.ceil(len(metrics) / ncols))
        fig, axes = plt.subplots(nrows, ncols, figsize=(WIDTH_IN, 2.9 * nrows + 0.3), squeeze=False)
        for ax, metric in zip(axes.flat, metrics):
            with warnings.catch_warnings():
                # seaborn 0.13 hands matplotlib >= 3.11 its deprecated `vert`: not the reader's to
                # act on.
                warnings.filterwarnings(
                    "ignore", message="vert: bool was deprecated", category=DeprecationWarning
                )
                sns.boxplot(
                    data=outcomes,
                    x=metric,
                    y="lab",
                    hue="lab",
                    palette=palette,
                    ax=ax,
                    log_scale=True,
                    showfliers=False,
                    whis=(10, 90),
                    legend=False,
                    saturation=1.0,
                )
            for patch, lab in zip(ax.patches, dict.fromkeys(outcomes["lab"])):
                _tag(patch, lab)
            ax.set_xlabel(_METRIC_LABELS.get(metric, metric))
            _log_axis(ax, money=metric.endswith("usd") or metric.startswith("usd"))
            ax.set_ylabel("")
            for tick in ax.get_yticklabels():
                tick.set_color(lab_color(tick.get_text()))
        for ax in list(axes.flat)[len(metrics) :]:
            ax.set_visible(False)
        fig.text(
            0.5,
            0.0,
            "boxes: p25-p75, whiskers: p10-p90, line: median; runs that finish within the horizon",
            ha="center",
            va="bottom",  # on the baseline its descenders fell off the figure's edge
            fontsize=7,
            color="0.35",
        )
        return _done(fig, rect=(0, 0.03, 1, 1))


_KIND_MARKERS = {"all deals": "o", "owned": "s", "reserved": "D", "on_demand": "^"}


def cost_by_kind(frame: pd.DataFrame) -> Figure:
    """Cost per run (p50 with p10-p90) and time-to-train p50 when each lab uses one kind of deal:
    one row per lab and kind, labelled, in the lab's colour; both panels share the rows."""
    import matplotlib.pyplot as plt

    labels = [
        f"{lab}: {kind if kind == 'all deals' else kind + ' only'}"
        for lab, kind in zip(frame["lab"], frame["kind"])
    ]
    y = np.arange(len(frame))[::-1]
    with _style():
        fig, axes = plt.subplots(1, 2, figsize=(WIDTH_IN, 0.42 * len(frame) + 1.4), sharey=True)
        for yi, (_, row) in zip(y, frame.iterrows()):
            c = lab_color(row["lab"])
            marker = _KIND_MARKERS.get(row["kind"], "o")
            _tag(
                axes[0].plot([row["cost_usd_p10"], row["cost_usd_p90"]], [yi, yi], color=c, lw=2.5)[
                    0
                ],
                row["lab"],
            )
            axes[0].plot(row["cost_usd_p50"], yi, marker, color=c, ms=7)
            months = row["months_p50"]
            if months is not None and np.isfinite(months):
                _tag(axes[1].barh(yi, months, height=0.6, color=c)[0], row["lab"])
                axes[1].text(months, yi, f" {months:.1f}", va="center", fontsize=7)
            else:
                axes[1].text(0, yi, " beyond the horizon", va="center", fontsize=7, color="0.4")
        axes[0].set_yticks(y)
        axes[0].set_yticklabels(labels)
        for tick, lab in zip(axes[0].get_yticklabels(), frame["lab"]):
            tick.set_color(lab_color(lab))
        axes[0].set_xlabel("cost per run ($; p10-p90, marker p50)")
        _log_axis(axes[0], money=True)
        axes[1].set_xlabel("time-to-train p50 (months from the scenario start)")
        axes[1].margins(x=0.12)
        for ax in axes:
            ax.grid(axis="y", visible=False)
        return _done(fig)


def rent_vs_build(curves: pd.DataFrame, summary: pd.DataFrame) -> Figure:
    """USD per useful accelerator-hour against fleet utilization: rent vs own (p50, p10-p90 band),
    with the break-even utilization (p50 line, p10-p90 shaded)."""
    import matplotlib.pyplot as plt

    colors = {"rent": "#882255", "own": "#117733"}  # not lab colours: this figure has no lab
    with _style():
        fig, ax = plt.subplots(figsize=(WIDTH_IN * 0.8, 4.2))
        for option, part in curves.groupby("option", sort=False):
            ax.fill_between(
                part["utilization"], part["p10"], part["p90"], color=colors[option], alpha=0.2, lw=0
            )
            ax.plot(
                part["utilization"],
                part["p50"],
                color=colors[option],
                lw=2,
                label=f"{option} (p50, band p10-p90)",
            )
        be = summary.loc["break_even_utilization"]
        if np.isfinite(be["p50"]) and be["p50"] <= 1:
            ax.axvspan(
                max(be["p10"], 0.0),
                min(be["p90"], 1.0),
                color="0.5",
                alpha=0.12,
                lw=0,
                label="break-even p10-p90",
            )
            ax.axvline(be["p50"], color="0.3", ls="--", label=f"break-even p50 = {be['p50']:.0%}")
        ax.set_xlabel("fleet utilization (% of the hardware's life doing useful work)")
        _number_axis(ax, "x", "percent")
        ax.set_ylabel("cost per useful accelerator-hour ($)")
        _log_axis(ax, "y", money=True)
        ax.set_title(f"Rent vs build: {curves['accelerator'].iloc[0]}", fontsize=10)
        _legend_outside(ax)
        return _done(fig)


# ---------------------------------------------------------------------------------------------
# 22 sensitivity
# ---------------------------------------------------------------------------------------------


def tornado(frame: pd.DataFrame, *, top: int = 8, unit: str = "", log: bool = False) -> Figure:
    """Tornado per lab (one panel per lab, stacked): median outcome with each input low vs high
    (bars), against the overall median (line); the `top` largest swings, labels in full."""
    import matplotlib.pyplot as plt

    labs = list(dict.fromkeys(frame["lab"]))
    shown = [
        frame[(frame["lab"] == lab) & (frame["rank"] <= top)].sort_values("rank", ascending=False)
        for lab in labs
    ]
    heights = [max(len(part), 1) for part in shown]
    with _style():
        fig, axes = plt.subplots(
            max(len(labs), 1),
            1,
            figsize=(WIDTH_IN * 0.85, 0.3 * sum(heights) + 1.1 * len(labs) + 0.6),
            squeeze=False,
            gridspec_kw={"height_ratios": heights or [1]},
        )
        for ax, lab, part in zip(axes[:, 0], labs, shown):
            y = np.arange(len(part))
            base = part["base"].iloc[0] if len(part) else 0.0
            low, high = part["low"].to_numpy(), part["high"].to_numpy()
            ax.barh(
                y,
                low - base,
                left=base,
                color="#44AA99",
                height=0.7,
                label="input in its bottom tail",
            )
            ax.barh(
                y,
                high - base,
                left=base,
                color="#AA4499",
                height=0.7,
                label="input in its top tail",
            )
            ax.axvline(base, color="k", lw=1, label="median over all draws")
            ax.set_yticks(y)
            ax.set_yticklabels(
                [textwrap.shorten(str(t), 60, placeholder="...") for t in part["label"]], fontsize=8
            )
            ax.set_title(lab, color=lab_color(lab), fontweight="bold", loc="left", fontsize=10)
            ax.set_xlabel(f"median {unit}" if unit else "median outcome")
            ax.grid(axis="y", visible=False)
            if log:
                _log_axis(ax, money="USD" in unit or "$" in unit)
        _legend_outside(axes[0][0])
        return _done(fig)


def sensitivity_heatmap(indices: pd.DataFrame, *, top: int = 6, title: str = "") -> Figure:
    """First-order index S1 (RBD-FAST) of the inputs in any lab's top `top`, per lab; blank where an
    input does not exist for a lab."""
    import matplotlib.pyplot as plt
    import seaborn as sns

    keep = indices[indices["rank"] <= top]["label"].unique()
    table = indices[indices["label"].isin(keep)].pivot_table(
        index="label", columns="lab", values="S1"
    )
    table = table.loc[table.max(axis=1).sort_values(ascending=False).index]
    table = table[[lab for lab in dict.fromkeys(indices["lab"]) if lab in table.columns]]
    with _style(), sns.axes_style("white"):
        # the colour bar in its own grid cell, so tight_layout makes room for its label (a bar
        # seaborn adds beside the axes had its label cut off at the figure's right edge)
        fig, (ax, bar_ax) = plt.subplots(
            1,
            2,
            figsize=(WIDTH_IN * 0.75, 0.34 * len(table) + 1.6),
            gridspec_kw={"width_ratios": [24, 1]},
        )
        sns.heatmap(
            table.clip(lower=0),
            annot=True,
            fmt=".0%",
            cmap="rocket_r",
            vmin=0,
            vmax=1,
            ax=ax,
            cbar_ax=bar_ax,
            cbar_kws={
                "label": "S1: share of the outcome's variance explained alone (%)",
                "format": "{x:.0%}",
            },
            annot_kws={"fontsize": 7},
        )
        ax.set_ylabel("")
        ax.set_xlabel("")
        for tick in ax.get_xticklabels():
            tick.set_color(lab_color(tick.get_text()))
        if title:
            ax.set_title(title, fontsize=10)
        return _done(fig)


def backtest_figure(result) -> Figure:
    """A backtest's headline: `backtest_scatter` of its runs under its headline scheme, so titled.

    `result`: a ``BacktestResult`` (`analysis.backtest()`); the figure the notebook shows.
    """
    from ..studies.backtest import SCHEME_TEXT

    return backtest_scatter(
        result.runs,
        naive_mfu=result.settings["naive_mfu"],
        title=f"{SCHEME_TEXT[result.settings['leave_out']]}, {len(result.runs)} published runs",
    )


def backtest_scatter(runs: pd.DataFrame, *, naive_mfu: float = 0.40, title: str = "") -> Figure:
    """Predicted (P50 with P10-P90 bars) against reported accelerator-hours, log-log, naive crosses.

    `runs`: the backtest's per-run table (``BacktestResult.runs``), one colour per generation.
    """
    import matplotlib.pyplot as plt
    import seaborn as sns

    with _style():
        fig, ax = plt.subplots(figsize=(7.5, 6.5))
        sns.scatterplot(
            data=runs,
            x="reported_gpu_hours",
            y="p50_gpu_hours",
            hue="generation",
            ax=ax,
            zorder=3,
            s=40,
        )
        ax.errorbar(
            runs["reported_gpu_hours"],
            runs["p50_gpu_hours"],
            yerr=[
                runs["p50_gpu_hours"] - runs["p10_gpu_hours"],
                runs["p90_gpu_hours"] - runs["p50_gpu_hours"],
            ],
            fmt="none",
            ecolor="0.6",
            elinewidth=1,
            capsize=2,
            zorder=2,
        )
        ax.scatter(
            runs["reported_gpu_hours"],
            runs["naive_gpu_hours"],
            marker="x",
            color="0.3",
            s=18,
            label=f"naive 6ND @ MFU {naive_mfu:g}",
            zorder=3,
        )
        values = runs[
            ["reported_gpu_hours", "p10_gpu_hours", "p90_gpu_hours", "naive_gpu_hours"]
        ].to_numpy()
        lo, hi = float(np.nanmin(values)) / 1.5, float(np.nanmax(values)) * 1.5
        ax.plot(
            [lo, hi],
            [lo, hi],
            color="0.6",
            linestyle="--",
            linewidth=1,
            label="predicted = reported",
        )
        ax.set(
            xlim=(lo, hi),
            ylim=(lo, hi),
            xlabel="reported accelerator-hours (h)",
            ylabel="predicted accelerator-hours (h), P50 and P10-P90",
            title=title or "Backtest",
        )
        _log_axis(ax, "x")
        _log_axis(ax, "y")
        ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False)
    return _done(fig)


def backtest_pit(pit: pd.DataFrame) -> Figure:
    """PIT histograms of held-out runs per cross-validation scheme (flat at 1/bins = honest
    intervals).

    `pit`: ``BacktestResult.pit`` (columns scheme, pit_low, pit_high, share).
    """
    import matplotlib.pyplot as plt

    schemes = list(dict.fromkeys(pit["scheme"]))
    with _style():
        fig, axes = plt.subplots(
            1, len(schemes), figsize=(WIDTH_IN, 3.0), sharey=True, squeeze=False
        )
        for ax, scheme in zip(axes[0], schemes):
            part = pit[pit["scheme"] == scheme]
            width = float((part["pit_high"] - part["pit_low"]).iloc[0])
            ax.bar(
                part["pit_low"],
                100 * part["share"],
                width=width,
                align="edge",
                color="#1f77b4",
                edgecolor="white",
            )
            ax.axhline(100 * width, color="0.4", linestyle="--", linewidth=1)
            ax.set(
                title=f"{scheme} ({int(part['n_runs'].iloc[0])} runs)",
                xlabel="PIT of reported hours\n(probability, 0-1)",
                xlim=(0, 1),
            )
        axes[0][0].set_ylabel("share of held-out runs (%)")
    return _done(fig)


# ---------------------------------------------------------------------------------------------
# 40 explorer
# ---------------------------------------------------------------------------------------------


class RaceExplorerFigure:
    """The live explorer's figure: P(first) per lab (bars) and P(trained within m months) per lab
    (step curves), each beside the scenario as written (`baseline`: a black tick on each bar, the
    change in points in its label, dashed curves), and P(nobody within the horizon) as a note under
    the bars, never a bar. The title, the only record of what is simulated once the figure is a
    PNG, is wrapped one change per line; the figure grows by a line's height per title line, so it
    is never cut off.

    Axes, ticks, labels and the baseline are drawn once; `update` redraws only the bars, curves,
    labels, note and title over that cached background (Agg blitting), and lays the figure out
    again only when the title's line count changes. `png` encodes the result. `update` takes
    `result.race` and `tables.time_to_train_curves`; the object displays as the current PNG
    (`_repr_png_`)."""

    #: Characters per title line at its font size (9 pt across the 11-inch figure), with margin.
    TITLE_CHARS = 150
    TITLE_LINE_IN = 0.16
    BODY_IN = 3.1
    NOTE_IN = 0.28

    def __init__(
        self,
        race: pd.DataFrame,
        curves: pd.DataFrame,
        *,
        title: str = "",
        baseline: tuple[pd.DataFrame, pd.DataFrame] | None = None,
    ):
        import matplotlib.pyplot as plt
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.lines import Line2D

        labs = list(dict.fromkeys(curves["lab"]))
        palette = _lab_palette(labs)
        competitors, _ = _nobody(race)
        self.rows = list(competitors["lab"])
        with _style():
            self.fig, (self.ax_first, self.ax_curves) = plt.subplots(
                1, 2, figsize=(WIDTH_IN, self.BODY_IN + 1.0), gridspec_kw={"width_ratios": [1, 1.6]}
            )
            colors = [palette.get(lab, "0.6") for lab in self.rows]
            self.bars = self.ax_first.barh(
                self.rows[::-1], np.zeros(len(self.rows)), color=colors[::-1]
            )
            for bar, lab in zip(self.bars, self.rows[::-1]):
                _tag(bar, lab)
            self.bar_labels = [
                self.ax_first.text(0, i, "", va="center", fontsize=8) for i in range(len(self.rows))
            ]
            self.ax_first.set_xlim(0, 1.32)
            self.ax_first.set_xticks([0, 0.25, 0.5, 0.75, 1.0])
            self.ax_first.set_xlabel("P(first to finish) (%)")
            self.ax_first.xaxis.set_major_formatter(lambda x, _: f"{x:.0%}")
            self.ax_first.grid(axis="y", visible=False)
            self.baseline = None
            self.ticks = []  # the baseline's value on each bar, drawn over the bar
            handles = []
            if baseline is not None:
                base_race, base_curves = baseline
                self.baseline = dict(zip(base_race["lab"], base_race["p_first"]))
                for i, lab in enumerate(self.rows[::-1]):
                    if lab in self.baseline:
                        v = float(self.baseline[lab])
                        self.ticks += self.ax_first.plot(
                            [v, v], [i - 0.4, i + 0.4], color="k", lw=1.2
                        )
                for lab, part in base_curves.groupby("lab", sort=False):
                    if lab in palette:
                        self.ax_curves.step(
                            part["months"],
                            part["p_done"],
                            where="post",
                            color=palette[lab],
                            ls="--",
                            lw=1,
                            alpha=0.7,
                        )
                handles = [
                    Line2D([], [], color="0.3", lw=1.8, label="with the change"),
                    Line2D([], [], color="0.3", lw=1, ls="--", label="scenario as written"),
                    Line2D([], [], color="k", lw=1.2, label="bar tick: as written"),
                ]
            self.lines = {}
            for lab in labs:
                (self.lines[lab],) = self.ax_curves.step(
                    [], [], where="post", color=palette[lab], label=lab, lw=1.8
                )
                _tag(self.lines[lab], lab)
            self.ax_curves.set_xlim(0, float(curves["months"].max()))
            self.ax_curves.set_ylim(-0.02, 1.02)
            self.ax_curves.set_xlabel(
                clock_label(curves["start"].iloc[0] if "start" in curves else None)
            )
            self.ax_curves.set_ylabel("P(trained by then) (%)")
            self.ax_curves.yaxis.set_major_formatter(lambda y, _: f"{y:.0%}")
            self.ax_curves.legend(
                handles=[*self.lines.values(), *handles],
                loc="upper left",
                bbox_to_anchor=(1.01, 1.0),
                fontsize=8,
                frameon=False,
            )
            self.title = self.fig.suptitle("", fontsize=9, va="top", linespacing=1.3)
            self.note = self.fig.text(0.01, 0.01, "", fontsize=7, color=NEUTRAL, va="bottom")
            self.fig.tight_layout(rect=(0, 0.1, 1, 0.88))
        plt.close(self.fig)
        box = self.ax_first.get_position()
        self._margins = {
            "left": box.x0,
            "right": self.ax_curves.get_position().x1,
            "wspace": self.fig.subplotpars.wspace,
        }
        self._bottom_in = 0.1 * self.fig.get_figheight() + self.NOTE_IN
        self.canvas = FigureCanvasAgg(self.fig)
        self._dynamic = [
            *self.bars,
            *self.ticks,
            *self.bar_labels,
            *self.lines.values(),
            self.title,
            self.note,
        ]
        for artist in self._dynamic:
            artist.set_animated(True)
        self._title_lines = None
        self.update(race, curves, title=title)

    def wrap(self, title: str) -> str:
        """The title as drawn: each line of `title` wrapped at `TITLE_CHARS`."""
        lines = []
        for line in title.splitlines() or [""]:
            lines += textwrap.wrap(line, self.TITLE_CHARS, subsequent_indent="  ") or [""]
        return "\n".join(lines)

    def _layout(self, lines: int) -> None:
        """Size the figure for a title of `lines` lines (the axes keep their size) and cache the
        background without the animated artists."""
        height = self._bottom_in + self.BODY_IN + 0.15 + self.TITLE_LINE_IN * max(lines, 1)
        self.fig.set_size_inches(WIDTH_IN, height)
        self.fig.subplots_adjust(
            bottom=self._bottom_in / height,
            top=(self._bottom_in + self.BODY_IN) / height,
            **self._margins,
        )
        self.title.set_y(1 - 0.08 / height)
        self.canvas.draw()  # everything but the animated artists
        self._background = self.canvas.copy_from_bbox(self.fig.bbox)
        self._title_lines = lines

    def update(
        self, race: pd.DataFrame, curves: pd.DataFrame, *, title: str | None = None
    ) -> RaceExplorerFigure:
        from .. import formatting

        competitors, p_nobody = _nobody(race)
        values = dict(zip(competitors["lab"], competitors["p_first"]))
        for bar, text, lab, i in zip(
            self.bars, self.bar_labels, self.rows[::-1], range(len(self.rows))
        ):
            v = float(values.get(lab, 0.0))
            bar.set_width(v)
            shown = formatting.probability(v)
            if self.baseline is not None and lab in self.baseline:
                shown += f" ({formatting.percentage_points(v - float(self.baseline[lab]))})"
            text.set_position((v + 0.01, i))
            text.set_text(shown)
        for lab, part in curves.groupby("lab", sort=False):
            if lab in self.lines:
                self.lines[lab].set_data(part["months"].to_numpy(), part["p_done"].to_numpy())
        self.note.set_text(nobody_note(p_nobody))
        if title is not None:
            self.title.set_text(self.wrap(title))
        lines = self.title.get_text().count("\n") + 1
        if lines != self._title_lines:
            self._layout(lines)
        self.canvas.restore_region(self._background)
        for artist in self._dynamic:
            self.fig.draw_artist(artist)
        return self

    def png(self) -> bytes:
        """The figure as it stands, PNG-encoded (fast compression: it is redrawn on every
        change)."""
        import io

        from PIL import Image

        buffer = io.BytesIO()
        Image.frombuffer(
            "RGBA", self.canvas.get_width_height(), self.canvas.buffer_rgba(), "raw", "RGBA", 0, 1
        ).save(buffer, format="png", compress_level=1)
        return buffer.getvalue()

    def _repr_png_(self) -> bytes:
        return self.png()


def sweep_headline(sweep, frame, headline: str) -> Figure | None:
    """Seaborn figure of the headline metric against the swept parameters (first on x, then colour,
    then one panel per value); None when no point has a numeric headline. `sweep` needs `.swept`
    (parameter names in the sweep file's order); `frame` is the sweep's summary (`status`
    column)."""
    import pandas as pd
    import seaborn as sns
    from matplotlib.figure import Figure  # no pyplot: no global state, works headless

    from .. import formatting

    data = frame[frame["status"] == "ok"].copy()
    data[headline] = pd.to_numeric(data[headline], errors="coerce")
    data = data.dropna(subset=[headline])
    swept = [k for k in sweep.swept if k in data.columns]
    if data.empty or not swept:
        return None
    x = swept[0]
    hue = swept[1] if len(swept) > 1 else None
    panel = swept[2] if len(swept) > 2 else None
    if hue:
        data[hue] = data[hue].map(str)  # categorical colours with a readable legend
    hue_order = (
        list(dict.fromkeys(data[hue])) if hue else None
    )  # the sweep file's order, in every panel
    groups = list(data.groupby(panel, sort=True)) if panel else [(None, data)]
    fig = Figure(figsize=(min(4.5 * len(groups), 15), 3.6), layout="constrained")
    axes = fig.subplots(1, len(groups), squeeze=False, sharey=True)[0]
    numeric_x = pd.api.types.is_numeric_dtype(data[x]) and not pd.api.types.is_bool_dtype(data[x])
    for ax, (value, sub) in zip(axes, groups):
        if numeric_x:
            sns.lineplot(
                data=sub,
                x=x,
                y=headline,
                hue=hue,
                hue_order=hue_order,
                marker="o",
                errorbar=None,
                ax=ax,
            )
        else:
            sns.pointplot(
                data=sub.assign(**{x: sub[x].map(str)}),
                x=x,
                y=headline,
                hue=hue,
                hue_order=hue_order,
                order=list(dict.fromkeys(data[x].map(str))),
                errorbar=None,
                ax=ax,
            )
        if panel:
            ax.set_title(f"{panel} = {value}")
        # A swept parameter or metric whose name carries no unit says so rather than leave the
        # reader guessing.
        ax.set_xlabel(
            x_label if "(" in (x_label := formatting.label(x)) else f"{x_label} (as swept, no unit)"
        )
        ax.set_ylabel(
            y_label if "(" in (y_label := formatting.label(headline)) else f"{y_label} (no unit)"
        )
        legend = ax.get_legend()
        if hue and legend is not None:
            if ax is not axes[-1]:
                legend.remove()
            else:
                sns.move_legend(
                    ax, "upper left", bbox_to_anchor=(1.01, 1.0), frameon=False, title=hue
                )
    extra = swept[3:]
    if extra:
        fig.suptitle(f"mean over {', '.join(extra)}", fontsize="small")
    return fig


def hindcast(result) -> Figure:
    """The hindcast: per run, the predicted release P10-P90 (bar, the lab's colour) and P50 (dot),
    the actual release (black diamond) and the naive cadence baseline (grey cross), one row per
    run grouped by the date the race was planned as of.

    `result`: `studies.hindcast.hindcast(...)`. A quantile beyond the race's horizon is drawn to the
    horizon with an arrow.
    """
    import matplotlib.pyplot as plt
    import pandas as pd

    def when(label: str):
        return pd.Timestamp(label.lstrip(">") + "-15")

    runs = result.runs
    with _style():
        fig, ax = plt.subplots(figsize=(WIDTH_IN, 0.45 * len(runs) + 1.6))
        labels = []
        for i, run in enumerate(runs):
            y = len(runs) - 1 - i
            q = run["release_month"]
            color = lab_color(run["lab"])
            low, mid, high = when(q["p10"]), when(q["p50"]), when(q["p90"])
            _tag(
                ax.plot(
                    [low, high],
                    [y, y],
                    color=color,
                    linewidth=6,
                    alpha=0.45,
                    solid_capstyle="butt",
                    label=f"{run['lab']}: predicted P10-P90",
                )[0],
                run["lab"],
            )
            _tag(ax.plot([mid], [y], "o", color=color, markersize=6)[0], run["lab"])
            if q["p90"].startswith(">"):
                ax.annotate(
                    "",
                    xy=(high + pd.Timedelta(days=40), y),
                    xytext=(high, y),
                    arrowprops={"arrowstyle": "->", "color": color},
                )
            ax.plot(
                [pd.Timestamp(run["actual_release"])],
                [y],
                "D",
                color="black",
                markersize=5,
                label="actual release",
            )
            ax.plot(
                [when(run["naive_release_month"])],
                [y],
                "x",
                color=NEUTRAL,
                markersize=6,
                label="naive cadence baseline",
            )
            labels.append(f"as of {run['as_of']}: {run['model']}")
        ax.set_yticks(range(len(runs)), labels[::-1])
        ax.set_ylim(-0.7, len(runs) - 0.3)
        _date_axis(ax)
        ax.set_xlabel("release month (YYYY-MM)")
        ax.set_title("Hindcast: predicted release (P10-P90, P50) against the actual release")
        _legend_outside(ax, where="right")
    return _done(fig)


def break_even(rivals) -> Figure:
    """P(the lab trains before its rival) against the lab's training-efficiency multiplier, one line
    per lab in its colour: solid with the deal, dashed without; the 50% line marks break-even.

    `rivals`: `studies.breakeven.break_even_efficiency(...)` results, one per lab.
    """
    import matplotlib.pyplot as plt

    with _style():
        fig, ax = plt.subplots(figsize=(WIDTH_IN * 0.75, 3.2))
        for b in rivals:
            color = lab_color(b.lab)
            table = b.table
            for column, dash, how in (
                ("p_before_with_deal", "-", "with"),
                ("p_before_without_deal", "--", "without"),
            ):
                _tag(
                    ax.plot(
                        table["efficiency"],
                        table[column],
                        dash,
                        color=color,
                        marker="o" if how == "with" else None,
                        markersize=3,
                        label=f"{b.lab}, {how} {b.deal}",
                    )[0],
                    b.lab,
                )
        ax.axhline(0.5, color=NEUTRAL, linewidth=0.8, linestyle=":")
        rival = rivals[0].rival if rivals else "the rival"
        ax.set_xlabel(f"training-efficiency multiplier (x {rival}'s recipe)")
        ax.set_ylabel(f"P(trained before {rival}) (%)")
        _log_axis(ax, "x")
        ax.set_ylim(-0.02, 1.02)
        _number_axis(ax, "y", "percent")
        target = rivals[0].target_effective_flop if rivals else float("nan")
        target_text = f"{target:.0e}".replace("e+", "e")
        ax.set_title(f"Break-even efficiency at {target_text} effective FLOP (dotted: 50%)")
        _legend_outside(ax, where="right")
    return _done(fig)

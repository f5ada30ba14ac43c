"""The figures' shared style: one colour per lab and per campus, the local matplotlib style, and the
axis, date, legend and label helpers every figure in `views.plots` draws with.

One palette: each lab has one colour in every figure (`LAB_COLORS`, Okabe-Ito, safe for the common
colour-vision deficiencies), each campus one colour (`campus_colors`, Paul Tol's "muted" set, fixed
from the catalog's order), and deals on one campus share its colour with their own line style.
"""

from __future__ import annotations

import contextlib
import functools
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
    from ...inputs.catalog import load_catalog

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

    from ... import formatting

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

    from ... import formatting

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

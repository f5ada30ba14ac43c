"""Figures of the studies: notebooks 22 (tornado, variance indices), 30 (backtest), 31 (hindcast)
and a sweep's headline figure."""

from __future__ import annotations

import textwrap
from typing import TYPE_CHECKING

import numpy as np

from .style import (
    NEUTRAL,
    WIDTH_IN,
    _date_axis,
    _done,
    _legend_outside,
    _log_axis,
    _style,
    _tag,
    lab_color,
)

if TYPE_CHECKING:
    import pandas as pd
    from matplotlib.figure import Figure

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
    from ...studies.backtest import SCHEME_TEXT

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


def sweep_headline(sweep, frame, headline: str) -> Figure | None:
    """Seaborn figure of the headline metric against the swept parameters (first on x, then colour,
    then one panel per value); None when no point has a numeric headline. `sweep` needs `.swept`
    (parameter names in the sweep file's order); `frame` is the sweep's summary (`status`
    column)."""
    import pandas as pd
    import seaborn as sns
    from matplotlib.figure import Figure  # no pyplot: no global state, works headless

    from ... import formatting

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

"""Figures of the inputs: notebooks 00 (FLOP/s per dollar and per watt), 10 (compute budgets, the
MFU prior) and 11 (capacity online, power caps)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from .style import (
    CAMPUS_PALETTE,
    DEAL_STYLES,
    NEUTRAL,
    WIDTH_IN,
    _campus_color,
    _date_axis,
    _dates,
    _done,
    _label_column,
    _legend_outside,
    _log_axis,
    _number_axis,
    _style,
    _tag,
    lab_color,
)

if TYPE_CHECKING:
    import pandas as pd
    from matplotlib.figure import Figure


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

"""Seaborn figures from the package's tidy DataFrames, one function per figure the notebooks show.

Every function takes DataFrames (from `tables`, `capacity`, `sensitivity`, `economics`), draws one
figure under a local style (no global matplotlib state changes), closes it so Jupyter's inline
backend does not show it twice, and returns the Figure: the notebook cell's last value displays it
once, and `fig.savefig` works for reports.
"""

from __future__ import annotations

import contextlib
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    import pandas as pd
    from matplotlib.figure import Figure

#: One colour per lab, the same in every figure.
LAB_COLORS = {"Meta": "#1f77b4", "DeepSeek": "#d62728", "Alibaba": "#ff7f0e"}
WIDTH_IN = 11.0


@contextlib.contextmanager
def _style():
    import matplotlib.pyplot as plt
    import seaborn as sns

    with plt.rc_context({"figure.dpi": 100, "savefig.dpi": 100, "figure.autolayout": False}), \
            sns.axes_style("whitegrid"), sns.plotting_context("notebook", font_scale=0.85):
        yield


def _done(fig) -> Figure:
    import matplotlib.pyplot as plt

    fig.tight_layout()
    plt.close(fig)
    return fig


def _lab_palette(labs) -> dict:
    import seaborn as sns

    extra = iter(sns.color_palette("tab10", 10)[4:])
    return {lab: LAB_COLORS.get(lab) or next(extra) for lab in labs}


def _dates(frame: pd.DataFrame):
    import pandas as pd

    return pd.to_datetime(frame["date"], format="%Y-%m")


def _date_axis(ax) -> None:
    """Ticks every six months, labelled YYYY-MM."""
    import matplotlib.dates as mdates

    ax.xaxis.set_major_locator(mdates.MonthLocator(bymonth=(1, 7)))
    ax.xaxis.set_major_formatter(mdates.DateFormatter("%Y-%m"))
    ax.tick_params(axis="x", rotation=30)


def _log_axis(ax, axis: str = "x") -> None:
    """Log scale with ticks at 1, 2 and 5 x 10^k, labelled compactly (20M, 5,000, 0.002)."""
    from matplotlib.ticker import FuncFormatter, LogLocator, NullFormatter

    from .results import format_number

    getattr(ax, f"set_{axis}scale")("log")
    target = getattr(ax, f"{axis}axis")
    target.set_major_locator(LogLocator(base=10, subs=(1.0, 2.0, 5.0)))
    target.set_major_formatter(FuncFormatter(lambda v, _: format_number(v)))
    target.set_minor_formatter(NullFormatter())


# ---------------------------------------------------------------------------------------------
# 00 assumptions
# ---------------------------------------------------------------------------------------------


def efficiency_by_generation(eff: pd.DataFrame) -> Figure:
    """Peak FLOP/s per USD of purchase price and per server watt, by release year (log scale)."""
    import matplotlib.pyplot as plt
    import seaborn as sns

    precision = eff["precision"].iloc[0] if len(eff) else ""
    panels = [("flop_per_s_per_usd", f"peak {precision} FLOP/s per USD of purchase price"),
              ("flop_per_s_per_server_w", f"peak {precision} FLOP/s per W (server, at rating)")]
    with _style():
        fig, axes = plt.subplots(1, 2, figsize=(WIDTH_IN, 4.4))
        for ax, (column, title) in zip(axes, panels):
            data = eff[eff[column].notna()]
            sns.scatterplot(data=data, x="year", y=column, hue="vendor", style="vendor", s=70, ax=ax,
                            legend=ax is axes[0])
            for _, row in data.iterrows():
                ax.annotate(row["id"], (row["year"], row[column]), xytext=(4, 2), textcoords="offset points",
                            fontsize=7)
            ax.set_yscale("log")
            ax.set_title(title)
            ax.set_xlabel("first available (year)")
            ax.set_ylabel(column)
            missing = int(eff[column].isna().sum())
            if missing:
                ax.text(0.01, 0.01, f"{missing} accelerators without this figure not shown", transform=ax.transAxes,
                        fontsize=7, color="0.4")
        if axes[0].get_legend() is not None:
            sns.move_legend(axes[0], "upper left", fontsize=7, title_fontsize=8)
        return _done(fig)


# ---------------------------------------------------------------------------------------------
# 10 compute budgets
# ---------------------------------------------------------------------------------------------


def compute_budgets(forest: pd.DataFrame) -> Figure:
    """Forest plot: training FLOP of published runs (points) and each lab's next model (p10-p90)."""
    import matplotlib.pyplot as plt

    with _style():
        fig, ax = plt.subplots(figsize=(WIDTH_IN, 0.32 * len(forest) + 1.2))
        y = np.arange(len(forest))[::-1]
        for yi, (_, row) in zip(y, forest.iterrows()):
            nxt = row["kind"].startswith("next")
            color = "#1f77b4" if nxt else "0.45"
            if nxt:
                ax.plot([row["flop_p10"], row["flop_p90"]], [yi, yi], color=color, lw=3, solid_capstyle="round")
            ax.plot(row["flop_p50"], yi, "o", color=color, ms=7 if nxt else 5,
                    mfc=color if nxt or "reported" in row["kind"] else "white")
        ax.set_yticks(y)
        ax.set_yticklabels(forest["name"])
        _log_axis(ax)
        ax.set_xlabel("training compute (FLOP)")
        ax.set_title("Next models (blue: p10-p50-p90 of the race's draws) beside published runs "
                     "(grey; hollow = third-party estimate)")
        return _done(fig)


def calibration(cal: pd.DataFrame, band: pd.DataFrame) -> Figure:
    """Effective utilization of the calibration runs against model size, with the prior's band."""
    import matplotlib.pyplot as plt
    import seaborn as sns

    with _style():
        fig, ax = plt.subplots(figsize=(WIDTH_IN * 0.75, 4.2))
        ax.fill_between(band["active_params"], band["prior_p10"], band["prior_p90"], color="#1f77b4", alpha=0.15,
                        label="prior p10-p90")
        ax.plot(band["active_params"], band["prior_p50"], color="#1f77b4", label="prior p50")
        data = cal[cal["active_params"].notna()]
        sns.scatterplot(data=data, x="active_params", y="utilization", hue="scope", style="precision", s=60, ax=ax)
        for _, row in data.iterrows():
            ax.annotate(row["run"], (row["active_params"], row["utilization"]), xytext=(4, 2),
                        textcoords="offset points", fontsize=7)
        _log_axis(ax)
        ax.set_xlabel("active parameters")
        ax.set_ylabel("effective utilization (MFU x goodput, BF16 peak)")
        ax.set_title("Calibration runs and the MFU prior")
        ax.legend(fontsize=7)
        return _done(fig)


# ---------------------------------------------------------------------------------------------
# 11 capacity
# ---------------------------------------------------------------------------------------------


def capacity_bands(timeline: pd.DataFrame, quantity: str = "accelerators", level: str = "deal",
                   ylabel: str | None = None) -> Figure:
    """p50 line and p10-p90 band of `quantity` over time, one panel per lab, one line per `level` name."""
    import matplotlib.pyplot as plt
    import seaborn as sns

    data = timeline[timeline["level"] == level]
    labs = list(dict.fromkeys(data["lab"]))
    with _style():
        fig, axes = plt.subplots(1, len(labs), figsize=(WIDTH_IN, 4.0), squeeze=False)
        for ax, lab in zip(axes[0], labs):
            part = data[data["lab"] == lab]
            names = list(dict.fromkeys(part["name"]))
            colors = dict(zip(names, sns.color_palette("tab10", len(names))))
            for name in names:
                rows = part[part["name"] == name]
                x = _dates(rows)
                ax.fill_between(x, rows[f"{quantity}_p10"], rows[f"{quantity}_p90"], color=colors[name], alpha=0.18,
                                step="post", lw=0)
                ax.step(x, rows[f"{quantity}_p50"], where="post", color=colors[name], label=name)
            ax.set_title(lab)
            ax.set_ylabel(ylabel or quantity)
            ax.legend(fontsize=6.5, loc="upper left")
            _date_axis(ax)
        return _done(fig)


def power_caps(timeline: pd.DataFrame) -> Figure:
    """Per power-capped campus: facility demand (p50, p10-p90) against the cap (p50), and the share
    of draws in which the cap binds."""
    import matplotlib.pyplot as plt
    import seaborn as sns

    data = timeline[(timeline["level"] == "campus") & timeline["p_cap_binds"].notna()]
    labs = list(dict.fromkeys(data["lab"]))
    with _style():
        fig, axes = plt.subplots(2, max(len(labs), 1), figsize=(WIDTH_IN, 5.6), squeeze=False, sharex="col",
                                 gridspec_kw={"height_ratios": [2, 1]})
        for col, lab in enumerate(labs):
            part = data[data["lab"] == lab]
            names = list(dict.fromkeys(part["name"]))
            colors = dict(zip(names, sns.color_palette("tab10", len(names))))
            top, bottom = axes[0][col], axes[1][col]
            for name in names:
                rows = part[part["name"] == name]
                x = _dates(rows)
                top.fill_between(x, rows["demand_mw_p10"], rows["demand_mw_p90"], color=colors[name], alpha=0.15,
                                 step="post", lw=0)
                top.step(x, rows["demand_mw_p50"], where="post", color=colors[name], label=f"{name} demand")
                top.step(x, rows["cap_mw_p50"], where="post", color=colors[name], ls="--", label=f"{name} cap")
                bottom.step(x, rows["p_cap_binds"], where="post", color=colors[name], label=name)
            top.set_title(lab)
            top.set_ylabel("facility MW (p50; band p10-p90)")
            top.legend(fontsize=6.5, loc="upper left")
            bottom.set_ylabel("P(cap binds)")
            bottom.set_ylim(-0.02, 1.02)
            _date_axis(bottom)
        return _done(fig)


# ---------------------------------------------------------------------------------------------
# 20 race
# ---------------------------------------------------------------------------------------------


def time_to_train_curves(curves: pd.DataFrame, *, style: str | None = None, col: str | None = None,
                         row: str | None = None, title: str | None = None) -> Figure:
    """P(trained within m months) per lab; curves end at P(done within horizon). Optional line style
    (e.g. variant), panel columns (e.g. case) and panel rows (e.g. target): one curve per panel,
    lab and style, never averaged across anything else."""
    import matplotlib.pyplot as plt
    import seaborn as sns

    cols = list(dict.fromkeys(curves[col])) if col else [None]
    rows = list(dict.fromkeys(curves[row])) if row else [None]
    palette = _lab_palette(dict.fromkeys(curves["lab"]))
    with _style():
        fig, axes = plt.subplots(len(rows), len(cols), figsize=(WIDTH_IN, 3.4 * len(rows) + 0.6), squeeze=False,
                                 sharey=True, sharex=True)
        for i, row_value in enumerate(rows):
            for j, col_value in enumerate(cols):
                ax = axes[i][j]
                part = curves
                if row is not None:
                    part = part[part[row] == row_value]
                if col is not None:
                    part = part[part[col] == col_value]
                sns.lineplot(data=part, x="months", y="p_done", hue="lab", style=style, palette=palette, ax=ax,
                             drawstyle="steps-post", errorbar=None, estimator=None,
                             units=None, legend=(i == 0 and j == len(cols) - 1))
                ax.set_ylim(-0.02, 1.02)
                ax.set_xlabel("months from the start of training")
                ax.set_ylabel("P(trained by then)")
                label = ", ".join(str(v) for v in (row_value, col_value) if v is not None)
                if label:
                    ax.set_title(label, fontsize=9)
        if axes[0][-1].get_legend() is not None:
            sns.move_legend(axes[0][-1], "lower right", fontsize=7, title_fontsize=7)
        if title:
            fig.suptitle(title, fontsize=10)
        return _done(fig)


def p_first(race: pd.DataFrame) -> Figure:
    """P(first) per competitor, and P(nobody finishes within the horizon)."""
    import matplotlib.pyplot as plt

    palette = _lab_palette(race["lab"])
    with _style():
        fig, ax = plt.subplots(figsize=(WIDTH_IN * 0.6, 2.6))
        labels = [f"{lab} {model}".strip() for lab, model in zip(race["lab"], race["model"])]
        colors = [palette.get(lab) or "0.6" for lab in race["lab"]]
        ax.barh(labels[::-1], race["p_first"].to_numpy()[::-1], color=colors[::-1])
        for i, v in enumerate(race["p_first"].to_numpy()[::-1]):
            ax.text(v + 0.01, i, f"{v:.1%}", va="center", fontsize=8)
        ax.set_xlim(0, 1.1)
        ax.set_xlabel("P(first to finish)")
        return _done(fig)


def lead_times(leads: pd.DataFrame) -> Figure:
    """Distribution of lead times per pair (B's finish minus A's, months; > 0: A first)."""
    import matplotlib.pyplot as plt
    import seaborn as sns

    pairs = list(dict.fromkeys(leads["pair"]))
    with _style():
        fig, axes = plt.subplots(1, max(len(pairs), 1), figsize=(WIDTH_IN, 3.2), squeeze=False, sharey=False)
        for ax, pair in zip(axes[0], pairs):
            values = leads.loc[leads["pair"] == pair, "lead_months"]
            sns.histplot(values, bins=40, ax=ax, color="0.45", stat="probability")
            ax.axvline(0, color="k", lw=1)
            if len(values):
                ax.axvline(float(np.median(values)), color="#d62728", lw=1.5, ls="--", label="median")
            ax.set_title(pair, fontsize=9)
            ax.set_xlabel("months (> 0: the second lab named finishes first)")
            ax.legend(fontsize=7)
        return _done(fig)


# ---------------------------------------------------------------------------------------------
# 21 cost, power, carbon
# ---------------------------------------------------------------------------------------------

_METRIC_LABELS = {
    "cost_usd": "cost per run (USD)",
    "usd_per_pflop": "USD per PFLOP of training compute",
    "energy_mwh": "energy (MWh)",
    "peak_power_mw": "peak facility power for the run (MW)",
    "emissions_tco2e": "emissions (tCO2e)",
    "gpu_hours": "accelerator-hours",
}


def run_metric_distributions(outcomes: pd.DataFrame,
                             metrics=("cost_usd", "usd_per_pflop", "energy_mwh", "peak_power_mw", "emissions_tco2e")) -> Figure:
    """Box plots per lab (log scale) of each run metric over the draws that finish."""
    import matplotlib.pyplot as plt
    import seaborn as sns

    palette = _lab_palette(dict.fromkeys(outcomes["lab"]))
    with _style():
        ncols = 3
        nrows = int(np.ceil(len(metrics) / ncols))
        fig, axes = plt.subplots(nrows, ncols, figsize=(WIDTH_IN, 2.6 * nrows), squeeze=False)
        for ax, metric in zip(axes.flat, metrics):
            sns.boxplot(data=outcomes, x=metric, y="lab", hue="lab", palette=palette, ax=ax, log_scale=True,
                        showfliers=False, whis=(10, 90), legend=False)
            _log_axis(ax)
            ax.set_title(_METRIC_LABELS.get(metric, metric), fontsize=9)
            ax.set_xlabel("")
            ax.set_ylabel("")
        for ax in list(axes.flat)[len(metrics):]:
            ax.set_visible(False)
        fig.text(0.5, 0.0, "boxes: p25-p75, whiskers: p10-p90, line: median; runs that finish within the horizon",
                 ha="center", fontsize=7, color="0.35")
        return _done(fig)


def cost_by_kind(frame: pd.DataFrame) -> Figure:
    """Cost per run (p50 with p10-p90) and time-to-train p50 when each lab uses one kind of deal."""
    import matplotlib.pyplot as plt
    import seaborn as sns

    kinds = list(dict.fromkeys(frame["kind"]))
    colors = dict(zip(kinds, sns.color_palette("Set2", len(kinds))))
    labs = list(dict.fromkeys(frame["lab"]))
    with _style():
        fig, axes = plt.subplots(1, 2, figsize=(WIDTH_IN, 0.55 * len(frame) + 1.4), sharey=True)
        offsets = {k: (i - (len(kinds) - 1) / 2) * 0.22 for i, k in enumerate(kinds)}
        for _, row in frame.iterrows():
            y = labs.index(row["lab"]) + offsets[row["kind"]]
            c = colors[row["kind"]]
            axes[0].plot([row["cost_usd_p10"], row["cost_usd_p90"]], [y, y], color=c, lw=2.5)
            axes[0].plot(row["cost_usd_p50"], y, "o", color=c, label=row["kind"])
            if row["months_p50"] is not None and np.isfinite(row["months_p50"]):
                axes[1].barh(y, row["months_p50"], height=0.2, color=c)
        _log_axis(axes[0])
        axes[0].set_xlabel("cost per run (USD; p10-p50-p90)")
        axes[1].set_xlabel("time-to-train p50 (months)")
        axes[0].set_yticks(range(len(labs)))
        axes[0].set_yticklabels(labs)
        handles, names = axes[0].get_legend_handles_labels()
        unique = dict(zip(names, handles))
        axes[0].legend(unique.values(), unique.keys(), fontsize=7, title="deals used", title_fontsize=8)
        return _done(fig)


def rent_vs_build(curves: pd.DataFrame, summary: pd.DataFrame) -> Figure:
    """USD per useful accelerator-hour against fleet utilization: rent vs own (p50, p10-p90 band),
    with the break-even utilization (p50 line, p10-p90 shaded)."""
    import matplotlib.pyplot as plt

    colors = {"rent": "#2ca02c", "own": "#9467bd"}
    with _style():
        fig, ax = plt.subplots(figsize=(WIDTH_IN * 0.7, 4.0))
        for option, part in curves.groupby("option", sort=False):
            ax.fill_between(part["utilization"], part["p10"], part["p90"], color=colors[option], alpha=0.15, lw=0)
            ax.plot(part["utilization"], part["p50"], color=colors[option], label=option)
        be = summary.loc["break_even_utilization"]
        if np.isfinite(be["p50"]) and be["p50"] <= 1:
            ax.axvspan(max(be["p10"], 0.0), min(be["p90"], 1.0), color="0.5", alpha=0.12, lw=0,
                       label="break-even p10-p90")
            ax.axvline(be["p50"], color="0.3", ls="--", label=f"break-even p50 = {be['p50']:.0%}")
        _log_axis(ax, "y")
        ax.set_xlabel("fleet utilization (share of the hardware's life doing useful work)")
        ax.set_ylabel("USD per useful accelerator-hour")
        ax.set_title(f"Rent vs build: {curves['accelerator'].iloc[0]}")
        ax.legend(fontsize=8)
        return _done(fig)


# ---------------------------------------------------------------------------------------------
# 22 sensitivity
# ---------------------------------------------------------------------------------------------


def tornado(frame: pd.DataFrame, *, top: int = 8, unit: str = "", log: bool = False) -> Figure:
    """Tornado per lab: median outcome with each input low vs high (bars), against the overall
    median (line); the `top` largest swings."""
    import matplotlib.pyplot as plt

    labs = list(dict.fromkeys(frame["lab"]))
    with _style():
        fig, axes = plt.subplots(1, max(len(labs), 1), figsize=(WIDTH_IN, 0.38 * top + 1.3), squeeze=False)
        for ax, lab in zip(axes[0], labs):
            part = frame[(frame["lab"] == lab) & (frame["rank"] <= top)].sort_values("rank", ascending=False)
            y = np.arange(len(part))
            base = part["base"].iloc[0] if len(part) else 0.0
            low, high = part["low"].to_numpy(), part["high"].to_numpy()
            ax.barh(y, low - base, left=base, color="#4c72b0", label="input low (bottom tail)")
            ax.barh(y, high - base, left=base, color="#dd8452", label="input high (top tail)")
            ax.axvline(base, color="k", lw=1)
            ax.set_yticks(y)
            ax.set_yticklabels(part["label"], fontsize=7)
            ax.set_title(lab)
            ax.set_xlabel(unit)
            if log:
                _log_axis(ax)
        handles, names = axes[0][0].get_legend_handles_labels()
        fig.legend(handles, names, loc="lower center", ncol=2, fontsize=7, frameon=False)
        fig.tight_layout(rect=(0, 0.06, 1, 1))
        plt.close(fig)
        return fig


def sensitivity_heatmap(indices: pd.DataFrame, *, top: int = 6, title: str = "") -> Figure:
    """First-order index S1 (RBD-FAST) of the inputs in any lab's top `top`, per lab; blank where an
    input does not exist for a lab."""
    import matplotlib.pyplot as plt
    import seaborn as sns

    keep = indices[indices["rank"] <= top]["label"].unique()
    table = indices[indices["label"].isin(keep)].pivot_table(index="label", columns="lab", values="S1")
    table = table.loc[table.max(axis=1).sort_values(ascending=False).index]
    table = table[[lab for lab in dict.fromkeys(indices["lab"]) if lab in table.columns]]
    with _style(), sns.axes_style("white"):
        fig, ax = plt.subplots(figsize=(WIDTH_IN * 0.7, 0.32 * len(table) + 1.4))
        sns.heatmap(table.clip(lower=0), annot=True, fmt=".2f", cmap="rocket_r", vmin=0, vmax=1, ax=ax,
                    cbar_kws={"label": "S1 (share of variance, first order)"}, annot_kws={"fontsize": 7})
        ax.set_ylabel("")
        ax.set_xlabel("")
        if title:
            ax.set_title(title, fontsize=10)
        return _done(fig)


def backtest(result, ax=None):
    """Backtest figure: predicted (P50, P10-P90 bars) against reported accelerator-hours, log-log, with the
    naive baseline (`BacktestResult.plot`)."""
    import matplotlib.pyplot as plt
    import seaborn as sns

    if ax is None:
        _, ax = plt.subplots(figsize=(6.5, 6))
    runs = result.runs
    sns.scatterplot(data=runs, x="reported_gpu_hours", y="p50_gpu_hours", hue="scope", ax=ax, zorder=3,
                    s=45)
    ax.errorbar(runs["reported_gpu_hours"], runs["p50_gpu_hours"],
                yerr=[runs["p50_gpu_hours"] - runs["p10_gpu_hours"], runs["p90_gpu_hours"] - runs["p50_gpu_hours"]],
                fmt="none", ecolor="0.5", elinewidth=1, capsize=2, zorder=2)
    ax.scatter(runs["reported_gpu_hours"], runs["naive_gpu_hours"], marker="x", color="0.3",
               label=f"naive 6ND @ MFU {result.settings['naive_mfu']:g}", zorder=3)
    lo = float(min(runs["reported_gpu_hours"].min(), runs["p10_gpu_hours"].min(), runs["naive_gpu_hours"].min())) / 1.5
    hi = float(max(runs["reported_gpu_hours"].max(), runs["p90_gpu_hours"].max(), runs["naive_gpu_hours"].max())) * 1.5
    ax.plot([lo, hi], [lo, hi], color="0.6", linestyle="--", linewidth=1, label="predicted = reported")
    ax.set(xscale="log", yscale="log", xlim=(lo, hi), ylim=(lo, hi),
           xlabel="reported accelerator-hours", ylabel="predicted accelerator-hours (P50, P10-P90)",
           title=f"Leave-{result.settings['leave_out']}-out backtest, {len(runs)} published runs")
    # Sorted by reported hours, labels alternate above and below so neighbours do not overlap.
    for i, r in enumerate(runs.sort_values("reported_gpu_hours").itertuples()):
        ax.annotate(r.run_id, (r.reported_gpu_hours, r.p50_gpu_hours), fontsize=7,
                    xytext=(4, 3 if i % 2 == 0 else -10), textcoords="offset points")
    ax.legend(fontsize=8, loc="upper left")
    return ax.figure


def sweep_headline_png(sweep, frame, headline: str) -> bytes | None:
    """Seaborn figure of the headline metric against the swept parameters (first on x, then colour,
    then one panel per value); None when no point has a numeric headline."""
    import io

    import pandas as pd
    import seaborn as sns
    from matplotlib.figure import Figure  # no pyplot: no global state, works headless

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
    hue_order = list(dict.fromkeys(data[hue])) if hue else None  # the sweep file's order, in every panel
    groups = list(data.groupby(panel, sort=True)) if panel else [(None, data)]
    fig = Figure(figsize=(min(4.5 * len(groups), 15), 3.6), layout="constrained")
    axes = fig.subplots(1, len(groups), squeeze=False, sharey=True)[0]
    numeric_x = pd.api.types.is_numeric_dtype(data[x]) and not pd.api.types.is_bool_dtype(data[x])
    for ax, (value, sub) in zip(axes, groups):
        if numeric_x:
            sns.lineplot(data=sub, x=x, y=headline, hue=hue, hue_order=hue_order, marker="o", errorbar=None, ax=ax)
        else:
            sns.pointplot(data=sub.assign(**{x: sub[x].map(str)}), x=x, y=headline, hue=hue, hue_order=hue_order,
                          order=list(dict.fromkeys(data[x].map(str))), errorbar=None, ax=ax)
        if panel:
            ax.set_title(f"{panel} = {value}")
        if hue and ax.get_legend() is not None and ax is not axes[-1]:
            ax.get_legend().remove()
    extra = swept[3:]
    if extra:
        fig.suptitle(f"mean over {', '.join(extra)}", fontsize="small")
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=110)
    return buffer.getvalue()

"""Figures of the race: notebooks 20 (time-to-train curves, P(first), lead times, break-even
efficiency), 21 (run metrics, cost by deal kind, rent versus build) and 40 (the live explorer's
figure)."""

from __future__ import annotations

import textwrap
import warnings
from typing import TYPE_CHECKING

import numpy as np

from .style import (
    NEUTRAL,
    WIDTH_IN,
    _done,
    _lab_palette,
    _legend_outside,
    _log_axis,
    _number_axis,
    _style,
    _tag,
    clock_label,
    lab_color,
)

if TYPE_CHECKING:
    import pandas as pd
    from matplotlib.figure import Figure

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
    from ... import formatting

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

    from ... import formatting

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
        from ... import formatting

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

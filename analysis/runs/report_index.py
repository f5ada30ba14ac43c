"""The report's index.html (`write_index`), written for readers: the headline answers first.

`HEADLINES` lists the sections the index opens with, each naming its notebook, the metrics that
say the answer and the figure; then come the full race table, the notebooks (status, time,
parameters, links) and every metric each notebook recorded, formatted with its unit and labs side
by side. `analysis.runs.report` runs the notebooks and calls `write_index`.
"""

from __future__ import annotations

import datetime as dt
import html
import json
from dataclasses import dataclass
from pathlib import Path


def readable_time(stamp: str) -> str:
    """``20261201T000540Z`` as ``1 December 2026, 00:05 UTC`` (other text is returned unchanged)."""
    try:
        when = dt.datetime.strptime(stamp, "%Y%m%dT%H%M%SZ")
    except ValueError:
        return stamp
    return f"{when.day} {when:%B %Y, %H:%M} UTC"


def _lab_keys() -> dict[str, str]:
    """Metric-key suffix of every lab in the catalog (``meta`` -> ``Meta``), longest first."""
    from ..inputs.catalog import load_catalog

    labs = {m.lab for m in load_catalog().models.values()}
    keys = {"_".join(lab.lower().split()): lab for lab in labs}
    return dict(sorted(keys.items(), key=lambda kv: -len(kv[0])))


# ---------------------------------------------------------------------------------------------
# The index: headline answers first
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Headline:
    """One headline answer at the top of the index: a question, the notebook that answers it, the
    metrics that say the answer (a metric recorded per lab is named by its stem, without the lab:
    ``p_first``; a pair (metric, label) gives it a reader's label) and the figure (text in the
    source of the notebook's code cell whose first image is shown; empty: no figure)."""

    title: str
    notebook: str
    metrics: tuple
    figure: str
    note: str = ""


#: The index opens with these, in order. A new headline (the hindcast) is one more entry.
HEADLINES = (
    Headline(
        title="The race: who finishes training the next frontier model first?",
        notebook="20_time_to_train_race",
        metrics=(
            "p_first",
            "launch_p50_months",
            "time_to_train_p50_months",
            "release_p50_months",
            "training_flop_p50",
            "effective_flop_p50",
            "p_within_horizon",
            ("p_nobody", "P(nobody finishes within the horizon) (%)"),
        ),
        figure="plots.p_first(",
        note="Default scenario: each lab's own next run, launched from the data's as-of month on "
        "the largest campus online then, for its wall-clock budget; months count from the "
        "scenario's start.",
    ),
    Headline(
        title="The deal's value: what does Meta's ~$21B 2026 CoreWeave contract buy?",
        notebook="20_time_to_train_race",
        metrics=(
            ("deal_p_first_min_with_or_without", "lowest P(Meta first), with or without (%)"),
            ("deal_p_first_change_pp_max_abs", "largest change in P(Meta first) (pp)"),
            ("deal_months_gained_p50_max", "largest median months gained (months)"),
            (
                "deal_campus_only_matters_from_flop",
                "on its campus alone, matters from (FLOP)",
            ),
            (
                "deal_campus_only_1e27_p_first_change_pp_low",
                "on its campus alone at 1e27 FLOP: change in P(Meta first), 95% low (pp)",
            ),
            (
                "deal_campus_only_1e27_p_first_change_pp",
                "on its campus alone at 1e27 FLOP: change in P(Meta first) (pp)",
            ),
        ),
        figure='style="variant"',
        note="The table: the next-frontier race (scenarios/next_frontier.yaml), paired draws with "
        "and without the deal, over common targets from 1e26 to 3e27 FLOP. The figure: the "
        "default race, Meta's time-to-train with the deal (solid) and without it (dashed), for "
        "its own model and at 1e27 FLOP, in the race as set and on the CoreWeave campus alone.",
    ),
    Headline(
        title="Code against supply chains: how much more efficient must a rival's training be?",
        notebook="20_time_to_train_race",
        metrics=(
            ("break_even_efficiency_deepseek_with_deal", "DeepSeek, with the deal (x Meta's)"),
            ("break_even_efficiency_deepseek_without_deal", "DeepSeek, without it (x Meta's)"),
            ("break_even_efficiency_alibaba_with_deal", "Alibaba, with the deal (x Meta's)"),
            ("break_even_efficiency_alibaba_without_deal", "Alibaba, without it (x Meta's)"),
        ),
        figure="plots.break_even(",
        note="The training-efficiency multiplier at which the lab trains a model of 1e27 "
        "effective FLOP before Meta in half the draws (next-frontier race, same draws at every "
        "multiplier).",
    ),
    Headline(
        title="Against history: the race as of 2024-01 and 2024-06",
        notebook="31_hindcast",
        metrics=(
            ("coverage_p10_p90", "actual release inside P10-P90 (%)"),
            ("model_mdae_months", "median error of the P50 (months)"),
            ("naive_mdae_months", "naive cadence baseline (months)"),
            ("order_correct_p50", "P50 order as history in every race"),
            ("run_lengths_in_record", "P50 run lengths within 48-180 days"),
        ),
        figure="plots.hindcast(",
        note="Each lab's next compute-record run as of the date (scenarios/hindcast_*.yaml), "
        "against data/flagship_releases.csv.",
    ),
)


def notebook_figure(executed: Path, needle: str) -> str | None:
    """The first PNG output (base64) of the first code cell whose source contains `needle`."""
    import nbformat

    if not executed.exists():
        return None
    for cell in nbformat.read(executed, as_version=4).cells:
        if cell.cell_type != "code" or needle not in cell.source:
            continue
        for output in cell.get("outputs", []):
            png = output.get("data", {}).get("image/png")
            if png:
                return "".join(png).replace("\n", "")
    return None


def headline_html(headline: Headline, runs: list) -> str:
    """A headline section: its question, note, metrics as a formatted table and its figure."""
    run = next((r for r in runs if r.name == headline.notebook), None)
    title = f"<h2>{html.escape(headline.title)}</h2>"
    if run is None:
        return ""
    source = (
        f'<p class="muted">From notebook <a href="{html.escape(run.html.name)}">'
        f"{html.escape(run.name)}</a>.</p>"
        if run.html is not None
        else ""
    )
    if run.error is not None:
        return f'{title}<p class="bad">notebook failed: {html.escape(run.error)}</p>{source}'
    suffixes = list(_lab_keys())
    chosen: dict[str, object] = {}
    names: dict[str, str] = {}
    for entry in headline.metrics:
        stem, name = (entry, None) if isinstance(entry, str) else entry
        keys = {stem, *(f"{stem}_{suffix}" for suffix in suffixes)}
        chosen |= {k: v for k, v in run.metrics.items() if k in keys}  # in recorded order
        if name:
            names[stem] = name
    table = (
        _metrics_table(chosen, names=names)
        if chosen
        else '<p class="muted">no headline metric recorded</p>'
    )
    png = notebook_figure(run.executed, headline.figure) if headline.figure else None
    figure = (
        f'<img class="headline" alt="{html.escape(headline.title)}" '
        f'src="data:image/png;base64,{png}">'
        if png
        else ""
    )
    note = f"<p>{html.escape(headline.note)}</p>" if headline.note else ""
    return f'<section class="headline">{title}{note}{table}{figure}{source}</section>'


def metric_groups(
    metrics: dict, labs: dict[str, str] | None = None
) -> tuple[list[str], list[tuple[str, dict]]]:
    """Metrics as rows people read: a metric recorded per lab (``p_first_meta``,
    ``p_first_deepseek``) becomes one row with a column per lab; the others keep one value. Returns
    (lab columns, rows of (metric stem, {lab or "": value})), in recorded order."""
    labs = _lab_keys() if labs is None else labs
    columns: list[str] = []
    rows: dict[str, dict] = {}
    for key, value in metrics.items():
        stem, lab = key, ""
        for suffix, name in labs.items():
            head = key[: -len(suffix) - 1]
            if (
                key.endswith(f"_{suffix}")
                and head
                and not any(other in head.split("_") for other in labs)
            ):
                stem, lab = head, name
                break
        if lab and lab not in columns:
            columns.append(lab)
        rows.setdefault(stem, {})[lab] = value
    return columns, list(rows.items())


def _metrics_table(metrics: dict, *, names: dict[str, str] | None = None) -> str:
    """Metrics as an HTML table: formatted with their units, labs side by side."""
    from ..formatting import format_value, label

    names = names or {}
    labs, rows = metric_groups(metrics)
    single = any("" in r for _, r in rows)
    header = "".join(f"<th>{html.escape(lab)}</th>" for lab in labs) + (
        "<th>value</th>" if single else ""
    )
    body = []
    for stem, values in rows:
        cells = "".join(
            f"<td>{html.escape(format_value(values[lab], stem)) if lab in values else ''}</td>"
            for lab in labs
        )
        if single:
            cells += (
                f"<td>{html.escape(format_value(values[''], stem)) if '' in values else ''}</td>"
            )
        body.append(
            '<tr><th class="metric" '
            f'title="{html.escape(stem)}">{html.escape(names.get(stem) or label(stem))}</th>'
            f"{cells}</tr>"
        )
    return f'<table class="metrics"><tr><th>metric (unit)</th>{header}</tr>{"".join(body)}</table>'


def metrics_html(metrics: dict, *, open_up_to: int = 12) -> str:
    """Every metric of a notebook, formatted with its unit, labs side by side; folded when long."""
    if not metrics:
        return '<p class="muted">no metrics recorded</p>'
    labs, rows = metric_groups(metrics)
    summary = f"{len(metrics)} metrics" + (f" ({len(rows)} rows, by lab)" if labs else "")
    return (
        f"<details{' open' if len(rows) <= open_up_to else ''}>"
        f"<summary>{summary}</summary>{_metrics_table(metrics)}</details>"
    )


def write_index(report) -> Path:
    """index.html: one row per notebook (status, time, parameters, links), every metric of every
    notebook (formatted, with units, labs side by side, long lists folded), then the race table.
    Also metrics.json: every notebook's metrics, by notebook (what `update_readme` reads)."""
    from .. import __version__
    from ..inputs.catalog import load_catalog
    from ..provenance import git_commit

    commit, dirty = git_commit()
    out_dir, created, race_table = report.out_dir, report.created, report.race_table
    rows, sections = [], []
    for run in report.runs:
        status = "ok" if run.error is None else f"FAILED: {html.escape(run.error)}"
        links = []
        if run.html is not None:
            links.append(f'<a href="{html.escape(run.html.name)}">HTML</a>')
        if run.executed.exists():
            links.append(f'<a href="{html.escape(run.executed.name)}">notebook</a>')
        params = (
            ", ".join(
                f"{k}={v:,}" if isinstance(v, int) else f"{k}={v}"
                for k, v in run.parameters.items()
                if k != "metrics_path"
            )
            or "defaults"
        )
        rows.append(
            f'<tr><td><a href="#{html.escape(run.name)}"><b>{html.escape(run.name)}</b></a></td>'
            f"<td>{' | '.join(links)}</td>"
            f'<td class="{"ok" if run.error is None else "bad"}">{status}</td>'
            f"<td>{run.seconds:,.1f} s</td>"
            f"<td>{html.escape(params)}</td><td>{len(run.metrics)}</td></tr>"
        )
        sections.append(
            f'<h3 id="{html.escape(run.name)}">{html.escape(run.name)}</h3>'
            f"{metrics_html(run.metrics)}"
        )
    if report.race_html:
        race = f"<h2>The race in the default scenario, in full</h2>{report.race_html}"
    elif race_table:
        race = f"<h2>The race in the default scenario</h2><pre>{html.escape(race_table)}</pre>"
    else:
        race = ""
    headlines = "".join(headline_html(h, report.runs) for h in HEADLINES)
    page = f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>compute-race report, {html.escape(readable_time(created))}</title>
<style>
body {{ font-family: system-ui, sans-serif; margin: 2em; max-width: 80em; }}
table {{ border-collapse: collapse; }} td, th {{ border: 1px solid #ccc; padding: 0.3em 0.6em; vertical-align: top; }}
table.metrics td {{ text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }}
table.metrics th.metric {{ text-align: left; font-weight: normal; }}
.ok {{ color: #176117; }} .bad {{ color: #a11; }} .muted {{ color: #666; }}
summary {{ cursor: pointer; margin: 0.3em 0; }}
pre {{ background: #f6f6f6; padding: 1em; overflow-x: auto; }}
section.headline {{ margin: 1.5em 0 2.5em; }}
img.headline {{ display: block; max-width: 100%; margin: 0.8em 0; }}
</style></head><body>
<h1>compute-race report</h1>
<p>Created {html.escape(readable_time(created))}. compute-race {html.escape(__version__)}, git commit
{html.escape(str(commit))}{" (uncommitted changes)" if dirty else ""}, data {html.escape(load_catalog().data_hash)}.
Every page here opens offline: figures are embedded and nothing is fetched from the network.</p>
{headlines}
{race}
<h2>The notebooks</h2>
<table><tr><th>notebook</th><th>open</th><th>status</th><th>time</th><th>parameters</th><th>metrics</th></tr>
{"".join(rows)}
</table>
<h2>Every metric</h2>
<p class="muted">Every metric each notebook records (<code>metrics.json</code> holds the raw numbers); units in the
first column, one column per lab where a metric is recorded per lab.</p>
{"".join(sections)}
</body></html>
"""  # noqa: E501 (the page as written, byte for byte; HTML ignores the breaks)
    target = out_dir / "index.html"
    target.write_text(page, encoding="utf-8")
    (out_dir / "metrics.json").write_text(
        json.dumps({run.name: run.metrics for run in report.runs}, indent=2), encoding="utf-8"
    )
    return target

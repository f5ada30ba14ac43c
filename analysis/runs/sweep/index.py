"""A sweep's summary: summary.csv and summary.parquet (one row per point) and index.html.

The index holds the counts, the headline figure (`views.plots.sweep_headline`, PNG embedded) and
the summary with a link to every executed notebook.
"""

from __future__ import annotations

import json
import os
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from ...paths import display
from .spec import Sweep
from .store import _read_json, _write_atomic, _write_bytes_atomic

# ---- aggregation -------------------------------------------------------------------------------


def _flatten(metrics: dict, prefix: str = "") -> dict[str, Any]:
    out = {}
    for key, value in metrics.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            out.update(_flatten(value, f"{name}."))
        elif isinstance(value, list):
            out[name] = json.dumps(value)
        else:
            out[name] = value
    return out


def summarize(sweep: Sweep, out_dir: str | os.PathLike) -> Any:
    """summary.csv and summary.parquet: one row per point (parameters, metrics, status,
    duration)."""
    import pandas as pd

    out_dir = Path(out_dir)
    rows, metric_names = [], {}
    for point in sweep.points:
        point_dir = out_dir / point.id
        status = _read_json(point_dir / "status.json") or {}
        metrics = _read_json(point_dir / "metrics.json") if status.get("status") == "ok" else None
        flat = _flatten(metrics) if isinstance(metrics, dict) else {}
        renamed = {}
        for key, value in flat.items():  # a metric named like a parameter keeps both columns
            column = f"metric.{key}" if key in point.parameters or key in _SUMMARY_COLUMNS else key
            renamed[column] = value
            metric_names.setdefault(column, None)
        has_notebook = (point_dir / "notebook.ipynb").is_file() and bool(status)
        rows.append(
            {
                "point_id": point.id,
                **{k: point.parameters.get(k) for k in sweep.swept},
                "status": status.get("status", "missing"),
                **renamed,
                **{k: v for k, v in point.parameters.items() if k not in sweep.swept},
                "duration_s": status.get("duration_s"),
                "error": status.get("error"),
                "failed_cell": status.get("cell_index"),
                "notebook": f"{point.id}/notebook.ipynb" if has_notebook else None,
            }
        )
    frame = pd.DataFrame(rows)
    frame["failed_cell"] = frame["failed_cell"].astype(
        "Int64"
    )  # a cell index, blank when none failed
    leading = ["point_id", *sweep.swept, "status", *metric_names]
    frame = frame[leading + [c for c in frame.columns if c not in leading]]
    _write_atomic(out_dir / "summary.csv", frame.to_csv(index=False))
    _write_bytes_atomic(
        out_dir / "summary.parquet", lambda tmp: _parquet_ready(frame).to_parquet(tmp, index=False)
    )
    return frame


_SUMMARY_COLUMNS = {"point_id", "status", "duration_s", "error", "failed_cell", "notebook"}


def _parquet_ready(frame):
    """Columns Arrow can type: a column mixing kinds (text and numbers) is written as text."""
    frame = frame.copy()
    for column in frame.columns:
        if frame[column].dtype == object:
            kinds = {type(v) for v in frame[column] if v is not None and v == v}
            if len(kinds - {int, float}) > 0 and len(kinds) > 1:
                frame[column] = frame[column].map(lambda v: None if v is None or v != v else str(v))
    return frame


def _figure_png(sweep: Sweep, frame, headline: str) -> bytes | None:
    """The headline figure as PNG bytes (`plots.sweep_headline`), or None."""
    import io

    from ...views.plots import sweep_headline

    fig = sweep_headline(sweep, frame, headline)
    if fig is None:
        return None
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=110, bbox_inches="tight")
    return buffer.getvalue()


def _cell_html(value: Any) -> str:
    import html

    import pandas as pd

    if pd.api.types.is_scalar(value) and pd.isna(value):  # None, NaN and pandas' NA
        return ""
    if isinstance(value, float):
        return f"{value:.4g}"
    return html.escape(str(value))


def write_index(sweep: Sweep, out_dir: str | os.PathLike, frame) -> tuple[str | None, list[str]]:
    """index.html: counts, the headline figure (PNG embedded) and the summary with notebook links.

    Returns the headline metric used (the sweep's, else the first recorded) and notes for the user.
    """
    import base64
    import html

    out_dir = Path(out_dir)
    notes: list[str] = []
    reserved = {"point_id", "status", *sweep.swept, *sweep.fixed, *_SUMMARY_COLUMNS}
    metric_columns = [c for c in frame.columns if c not in reserved]
    headline = sweep.headline
    if headline is not None and headline not in frame.columns:
        if metric_columns:
            notes.append(
                f"headline {headline!r} is not among the recorded metrics "
                f"({', '.join(metric_columns[:12])}); no figure"
            )
        headline = None
    elif headline is None and metric_columns:
        headline = metric_columns[0]
    png = _figure_png(sweep, frame, headline) if headline else None
    if png is not None:
        _write_bytes_atomic(out_dir / "figure.png", lambda tmp: Path(tmp).write_bytes(png))

    counts = frame["status"].value_counts().to_dict()
    header = "".join(f"<th>{html.escape(str(c))}</th>" for c in frame.columns)
    body = []
    for row in frame.to_dict("records"):
        cells = []
        for column, value in row.items():
            if column == "notebook" and isinstance(value, str) and value:
                cells.append(f'<td><a href="{html.escape(value)}">notebook</a></td>')
            elif column == "point_id":
                cells.append(
                    f'<td><a href="{html.escape(value)}/">'
                    f"<code>{html.escape(value)}</code></a></td>"
                )
            else:
                cells.append(f"<td>{_cell_html(value)}</td>")
        css = "" if row["status"] == "ok" else ' class="bad"'
        body.append(f"<tr{css}>{''.join(cells)}</tr>")
    figure = (
        f'<figure><img alt="{html.escape(headline)} against {html.escape(", ".join(sweep.swept))}" '
        f'src="data:image/png;base64,{base64.b64encode(png).decode()}"><figcaption>'
        f"{html.escape(headline)} against {html.escape(', '.join(sweep.swept))} "
        f"(points that failed are left out).</figcaption></figure>"
        if png
        else "<p>No figure: no point recorded a numeric headline metric.</p>"
    )
    fixed = ", ".join(f"{k} = {v!r}" for k, v in sweep.fixed.items()) or "none"
    page = f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>Sweep {html.escape(sweep.name)}</title>
<style>
body {{ font-family: system-ui, sans-serif; margin: 2em; color: #222; }}
table {{ border-collapse: collapse; font-size: 0.85em; }}
th, td {{ border: 1px solid #ccc; padding: 0.25em 0.5em; text-align: right; }}
th {{ background: #f3f3f3; position: sticky; top: 0; }}
tr.bad td {{ background: #fde8e8; }}
img {{ max-width: 100%; }}
</style></head><body>
<h1>Sweep <code>{html.escape(sweep.name)}</code></h1>
{f"<p>{html.escape(sweep.description)}</p>" if sweep.description else ""}
<p>Notebook <code>{html.escape(display(sweep.notebook))}</code>; swept {html.escape(", ".join(sweep.swept))};
fixed parameters: {html.escape(fixed)}.<br>
{len(frame)} points: {counts.get("ok", 0)} ok, {counts.get("failed", 0)} failed, {counts.get("missing", 0)} missing.
Written {datetime.now(timezone.utc).isoformat(timespec="seconds")}. Data: <a href="summary.csv">summary.csv</a>,
<a href="summary.parquet">summary.parquet</a>.</p>
{figure}
<table><thead><tr>{header}</tr></thead><tbody>
{chr(10).join(body)}
</tbody></table>
</body></html>
"""  # noqa: E501 (the page as written, byte for byte; HTML ignores the breaks)
    _write_atomic(out_dir / "index.html", page)
    return headline, notes

"""What every notebook calls: check its papermill parameters, record headline metrics, watermark.

Papermill only warns about unknown parameter names and never checks values, so each notebook's setup
cell calls `check_parameters` (its declared model in analysis/runs/parameters.py); a sentence that
states a result is followed by `claim`, which fails the notebook when the numbers stop supporting
it; its last cells call `record_metrics` (a sweep reads the JSON it writes) and `watermark`
(provenance).
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any

from ..formatting import present  # noqa: F401  (notebooks show tables with `cells.present(frame)`)


def check_parameters(name: str, namespace: dict[str, Any]):
    """A notebook's setup cell: check its parameters against its declared model
    (analysis.runs.parameters).

    ``cells.check_parameters("20_time_to_train_race", globals())`` right after the parameters cell.
    A name papermill injected that the notebook does not declare (``-p drawz 5000``; papermill
    itself only warns and runs the defaults), a missing name and an ill-typed or out-of-range value
    each stop the notebook with one line (a ParameterError, shown without a traceback) naming the
    parameter, the notebook, and what is allowed or the closest name. Returns nothing, so the cell
    shows nothing when all is well.
    """
    from .parameters import check_namespace

    check_namespace(name, namespace)


class ClaimError(AssertionError):
    """A notebook's prose states something this run's numbers no longer support."""


class Claim:
    """A checked sentence: shows as "Checked: <sentence> (the numbers behind it)" in the notebook,
    or as not checked when the run is outside what the sentence describes."""

    def __init__(self, text: str, numbers: dict[str, Any], checked: bool = True):
        self.text, self.numbers, self.checked = text, numbers, checked

    def _numbers(self) -> str:
        from ..formatting import with_unit

        return "; ".join(
            f"{name} = {with_unit(value, name)}" for name, value in self.numbers.items()
        )

    def _verdict(self) -> str:
        return (
            "Checked against this run"
            if self.checked
            else "Not checked (this run is outside what the sentence describes)"
        )

    def __repr__(self) -> str:
        return f"{self._verdict()}: {self.text}" + (f" ({self._numbers()})" if self.numbers else "")

    def _repr_markdown_(self) -> str:
        numbers = f" <small>({self._numbers()})</small>" if self.numbers else ""
        mark = "&#10003;" if self.checked else "&#8211;"
        return f"{mark} **{self._verdict()}:** {self.text}{numbers}"

    def _repr_html_(self) -> str:
        """Folded: a reader sees one short line ("checked against this run"); the sentence and its
        numbers open on a click, so a check stays in the notebook without repeating the prose."""
        import html

        numbers = f" <small>({html.escape(self._numbers())})</small>" if self.numbers else ""
        mark = "&#10003;" if self.checked else "&#8211;"
        return (
            f'<details class="cr-claim"><summary>{mark} {html.escape(self._verdict())}</summary>'
            f"<p>{html.escape(self.text)}{numbers}</p></details>"
        )


def claim(text: str, holds: bool, *, applies: bool = True, **numbers: Any) -> Claim:
    """State a result in words and check it: raise ClaimError naming the sentence and the numbers
    when `holds` is false, so a rerun whose numbers contradict the prose fails instead of
    misleading.

    `applies` false (e.g. a papermill parameter moved the run away from the default the prose
    describes) shows the claim as not checked instead. `numbers` are the values the sentence rests
    on, named with the project's units-in-names convention (``p_first_meta=0.93``); they are shown
    beside the sentence, formatted.
    """
    found = Claim(text, numbers, checked=bool(applies))
    if applies and not bool(holds):
        raise ClaimError(
            f"claim no longer holds: {text} ({found._numbers() or 'no numbers given'})"
        )
    return found


def metrics_table(metrics: dict[str, Any]):
    """Headline metrics as people read them: metric, value formatted with its unit (from the
    name)."""
    import pandas as pd

    from ..formatting import with_unit

    return pd.DataFrame(
        {"metric": list(metrics), "value": [with_unit(v, k) for k, v in metrics.items()]}
    ).set_index("metric")


def record_metrics(metrics: dict[str, Any], path: str | os.PathLike | None = None):
    """Headline numbers of a notebook run: shown as a formatted table (`metrics_table`); written
    atomically to `path` as JSON (raw numbers).

    A sweep passes `metrics_path` to each run and collects these files; an empty path writes
    nothing.
    """
    from ..model.summary import json_ready

    clean = json_ready(dict(metrics))
    if path:
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
        with os.fdopen(fd, "w") as handle:
            json.dump(clean, handle, indent=2, allow_nan=False)
        os.chmod(tmp, 0o644)  # mkstemp creates 0600; results are meant to be shared
        os.replace(tmp, path)
    return metrics_table(clean)


def watermark(*, seed: int | None = None, backend: str | None = None):
    """Provenance of a notebook run (versions, backend, device, git commit, data hash, seed)."""
    import pandas as pd

    from ..backend import select
    from ..inputs.catalog import load_catalog
    from ..provenance import provenance

    info = provenance(seed=seed, backend=select(backend), data_hash=load_catalog().data_hash)
    versions = info.pop("versions")
    rows = {**info, **{f"version {k}": v for k, v in versions.items()}}
    return pd.DataFrame({"value": [str(v) for v in rows.values()]}, index=list(rows))

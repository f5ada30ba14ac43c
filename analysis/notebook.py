"""What every notebook calls: check its papermill parameters, record headline metrics, watermark.

Papermill only warns about unknown parameter names and never checks values, so each notebook's setup
cell calls `check_parameters`; a sentence that states a result is followed by `claim`, which fails the
notebook when the numbers stop supporting it; its last cells call `record_metrics` (a sweep reads the
JSON it writes) and `watermark` (provenance).
"""

from __future__ import annotations

import json
import math
import os
import tempfile
from pathlib import Path
from typing import Any

from .errors import InputError
from .formatting import present  # noqa: F401  (notebooks show tables with `notebook.present(frame)`)


def check_parameters(values: dict[str, Any], rules: dict[str, tuple]) -> None:
    """Validate notebook parameters; raise InputError naming the parameter and what is allowed.

    `rules` maps a name to ``(type, low, high)`` for numbers (low/high may be None), ``(str, choices)``
    for strings (choices None = any non-empty string), or ``(bool,)``.
    """
    for name, rule in rules.items():
        if name not in values:
            raise InputError(f"parameter {name!r} is missing from the parameters cell")
        value = values[name]
        kind = rule[0]
        if kind is bool:
            if not isinstance(value, bool):
                raise InputError(f"parameter {name!r}: expected true or false, got {value!r}")
        elif kind is str:
            choices = rule[1] if len(rule) > 1 else None
            if not isinstance(value, str) or (choices is None and value == "" and name != "metrics_path"):
                raise InputError(f"parameter {name!r}: expected a string, got {value!r}")
            if choices is not None and value not in choices:
                raise InputError(f"parameter {name!r}: {value!r} is not one of {', '.join(map(str, choices))}")
        elif kind in (int, float):
            low = rule[1] if len(rule) > 1 else None
            high = rule[2] if len(rule) > 2 else None
            ok_type = isinstance(value, (int, float)) and not isinstance(value, bool)
            if kind is int and ok_type and float(value) != int(value):
                ok_type = False
            if not ok_type or not math.isfinite(float(value)):
                what = "a whole number" if kind is int else "a number"
                raise InputError(f"parameter {name!r}: expected {what}, got {value!r}")
            if (low is not None and value < low) or (high is not None and value > high):
                lo = "-inf" if low is None else f"{low:g}"
                hi = "inf" if high is None else f"{high:g}"
                raise InputError(f"parameter {name!r}: {value!r} is outside [{lo}, {hi}]")
        else:  # pragma: no cover - programming error in a notebook
            raise TypeError(f"unsupported rule for {name!r}: {rule!r}")


class ClaimError(AssertionError):
    """A notebook's prose states something this run's numbers no longer support."""


class Claim:
    """A checked sentence: shows as "Checked: <sentence> (the numbers behind it)" in the notebook, or
    as not checked when the run is outside what the sentence describes."""

    def __init__(self, text: str, numbers: dict[str, Any], checked: bool = True):
        self.text, self.numbers, self.checked = text, numbers, checked

    def _numbers(self) -> str:
        from .formatting import with_unit

        return "; ".join(f"{name} = {with_unit(value, name)}" for name, value in self.numbers.items())

    def _verdict(self) -> str:
        return "Checked against this run" if self.checked else "Not checked (this run is outside what the sentence describes)"

    def __repr__(self) -> str:
        return f"{self._verdict()}: {self.text}" + (f" ({self._numbers()})" if self.numbers else "")

    def _repr_markdown_(self) -> str:
        numbers = f" <small>({self._numbers()})</small>" if self.numbers else ""
        mark = "&#10003;" if self.checked else "&#8211;"
        return f"{mark} **{self._verdict()}:** {self.text}{numbers}"


def claim(text: str, holds: bool, *, applies: bool = True, **numbers: Any) -> Claim:
    """State a result in words and check it: raise ClaimError naming the sentence and the numbers when
    `holds` is false, so a rerun whose numbers contradict the prose fails instead of misleading.

    `applies` false (e.g. a papermill parameter moved the run away from the default the prose
    describes) shows the claim as not checked instead. `numbers` are the values the sentence rests on,
    named with the project's units-in-names convention (``p_first_meta=0.93``); they are shown beside
    the sentence, formatted.
    """
    found = Claim(text, numbers, checked=bool(applies))
    if applies and not bool(holds):
        raise ClaimError(f"claim no longer holds: {text} ({found._numbers() or 'no numbers given'})")
    return found


def metrics_table(metrics: dict[str, Any]):
    """Headline metrics as people read them: metric, value formatted with its unit (from the name)."""
    import pandas as pd

    from .formatting import with_unit

    return pd.DataFrame({"metric": list(metrics), "value": [with_unit(v, k) for k, v in metrics.items()]}).set_index("metric")


def record_metrics(metrics: dict[str, Any], path: str | os.PathLike | None = None):
    """Headline numbers of a notebook run: shown as a formatted table (`metrics_table`); written
    atomically to `path` as JSON (raw numbers).

    A sweep passes `metrics_path` to each run and collects these files; an empty path writes nothing.
    """
    from .results import json_ready

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

    from .backend import select
    from .catalog import load_catalog
    from .provenance import provenance

    info = provenance(seed=seed, backend=select(backend), data_hash=load_catalog().data_hash)
    versions = info.pop("versions")
    rows = {**info, **{f"version {k}": v for k, v in versions.items()}}
    return pd.DataFrame({"value": [str(v) for v in rows.values()]}, index=list(rows))

"""What every notebook calls: check its papermill parameters, record headline metrics, watermark.

Papermill only warns about unknown parameter names and never checks values, so each notebook's setup
cell calls `check_parameters` (its declared model in analysis/params.py); its last cells call `record_metrics` (a sweep reads the JSON it writes)
and `watermark` (provenance).
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any


def check_parameters(name: str, namespace: dict[str, Any]):
    """A notebook's setup cell: check its parameters against its declared model (analysis.params).

    ``notebook.check_parameters("20_time_to_train_race", globals())`` right after the parameters cell.
    A name papermill injected that the notebook does not declare (``-p drawz 5000``; papermill itself
    only warns and runs the defaults), a missing name and an ill-typed or out-of-range value each stop
    the notebook with one line (a ParameterError, shown without a traceback) naming the parameter, the
    notebook, and what is allowed or the closest name. Returns nothing, so the cell shows nothing when
    all is well.
    """
    from .params import check_namespace

    check_namespace(name, namespace)


def record_metrics(metrics: dict[str, Any], path: str | os.PathLike | None = None):
    """Headline numbers of a notebook run: shown as a table; written atomically to `path` as JSON.

    A sweep passes `metrics_path` to each run and collects these files; an empty path writes nothing.
    """
    import pandas as pd

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
    return pd.DataFrame({"metric": list(clean), "value": list(clean.values())}).set_index("metric")


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

"""Reading the project's YAML inputs (deals, scenarios, sweeps) with one set of rules and errors."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml

from .errors import InputError
from .paths import display


class NumberLoader(yaml.SafeLoader):
    """Safe YAML that reads 1e27 as a number (YAML 1.1 wants 1.0e+27), as the CLI's flags do."""


NumberLoader.add_implicit_resolver(
    "tag:yaml.org,2002:float",
    re.compile(
        r"""^(?:[-+]?(?:[0-9][0-9_]*)\.[0-9_]*(?:[eE][-+]?[0-9]+)?
        |[-+]?(?:[0-9][0-9_]*)(?:[eE][-+]?[0-9]+)
        |\.[0-9_]+(?:[eE][-+]?[0-9]+)?
        |[-+]?\.(?:inf|Inf|INF)
        |\.(?:nan|NaN|NAN))$""",
        re.X,
    ),
    list("-+0123456789."),
)


def read_yaml(path: str | Path, *, what: str = "file") -> Any:
    """Parse a YAML file; InputError (one line: file, line, column, problem) when it cannot be read."""
    path = Path(path)
    where = display(path)
    if not path.is_file():
        raise InputError(f"{where}: {what} not found")
    try:
        return yaml.load(path.read_text(encoding="utf-8"), Loader=NumberLoader)  # noqa: S506 (a SafeLoader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        at = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise InputError(f"{where}: malformed YAML{at}: {problem}") from None
    except UnicodeDecodeError:
        raise InputError(f"{where}: not a text file (expected UTF-8 YAML)") from None

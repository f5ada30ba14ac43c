"""The CLI's main() called in this process (fast: no interpreter start), with its output
captured."""

from __future__ import annotations

import contextlib
import io
from dataclasses import dataclass

from analysis.runs.cli import main


@dataclass
class Outcome:
    returncode: int
    stdout: str
    stderr: str


def call_main(*args: str) -> Outcome:
    """Run `python -m analysis ARGS` in-process; stdout and stderr captured."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main([str(a) for a in args])
    return Outcome(code, out.getvalue(), err.getvalue())


def is_one_line_error(outcome: Outcome) -> bool:
    """Exit 2 with exactly one stderr line `error: ...`, no traceback, nothing on stdout."""
    lines = outcome.stderr.strip().splitlines()
    return (
        outcome.returncode == 2
        and len(lines) == 1
        and lines[0].startswith("error: ")
        and "Traceback" not in outcome.stderr
        and outcome.stdout == ""
    )


def assert_one_line(outcome: Outcome, *needles: str) -> str:
    assert is_one_line_error(outcome), (
        outcome.returncode,
        outcome.stdout[-1000:],
        outcome.stderr[-2000:],
    )
    line = outcome.stderr.strip()
    for needle in needles:
        assert needle in line, (needle, line)
    return line

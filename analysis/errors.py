"""Errors a user can act on.

`InputError` is raised for bad input anywhere (flags, scenario files, data files); the CLI prints
its message as one line ``error: ...`` and exits with status 2. Anything else is a bug (exit 1).
"""

from __future__ import annotations


class InputError(ValueError):
    """Bad user input: what was wrong, where (flag, file, row, field or key path) and what is
    allowed."""


def first_line(exc: BaseException) -> str:
    """The first line of an exception's message (its class name when the message is empty), for an
    InputError that wraps a library's error."""
    return (str(exc).strip().splitlines() or [type(exc).__name__])[0]


def key_path(loc: tuple) -> str:
    """Render a pydantic error location as ``competitors[1].deals[0]``."""
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        elif str(part).startswith(("function-", "tagged-union", "union[")):
            continue  # pydantic's internal validator names carry no meaning for users
        else:
            out += ("." if out else "") + str(part)
    return out or "(top level)"


def describe_validation_error(err, where: str) -> str:
    """One line from a pydantic ValidationError: where, which key, what is wrong."""
    errors = err.errors(include_url=False)
    first = errors[0]
    msg = first["msg"]
    if msg.startswith("Value error, "):
        msg = msg[len("Value error, ") :]
    more = f" (and {len(errors) - 1} more problem(s))" if len(errors) > 1 else ""
    if not first["loc"]:  # a whole-model check: its message names the key itself
        return f"{where}: {msg}{more}"
    return f"{where}: {key_path(first['loc'])}: {msg}{more}"

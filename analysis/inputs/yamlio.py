"""Reading the project's YAML inputs (deals, scenarios, sweeps) with one set of rules and errors."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml

from ..errors import InputError
from ..paths import check_input_file, display


class _Refused(yaml.MarkedYAMLError):
    """A construct the project's YAML files may not use (aliases, anchors, repeated keys)."""


class NumberLoader(yaml.SafeLoader):
    """Safe YAML that reads 1e27 as a number (YAML 1.1 wants 1.0e+27), as the CLI's flags do.

    Anchors and aliases are refused as they are parsed, before any node is built: an alias nested
    in aliases (the "billion laughs") would otherwise expand to gigabytes in whatever walks the
    result. A key repeated in one mapping is refused too (plain YAML lets the last one win
    silently).
    """

    def compose_node(self, parent, index):
        event = self.peek_event()
        if isinstance(event, yaml.AliasEvent):
            raise _Refused(
                None,
                None,
                f"alias *{event.anchor} is not allowed (write the value out)",
                event.start_mark,
            )
        anchor = getattr(event, "anchor", None)
        if anchor is not None:
            raise _Refused(
                None,
                None,
                f"anchor &{anchor} is not allowed (anchors and aliases are refused)",
                event.start_mark,
            )
        return super().compose_node(parent, index)

    def construct_mapping(self, node, deep=False):
        seen = {}
        if isinstance(node, yaml.MappingNode):
            for key_node, _ in node.value:
                if key_node.tag == "tag:yaml.org,2002:merge":
                    raise _Refused(None, None, "merge key << is not allowed", key_node.start_mark)
                key = self.construct_object(key_node, deep=True)
                try:
                    hash(key)
                except TypeError:
                    raise _Refused(
                        None,
                        None,
                        f"a mapping key must be text or a number, got {key!r}",
                        key_node.start_mark,
                    ) from None
                if key in seen:
                    raise _Refused(
                        None,
                        None,
                        f"duplicate key {key!r} (first at line {seen[key] + 1})",
                        key_node.start_mark,
                    )
                seen[key] = key_node.start_mark.line
        return super().construct_mapping(node, deep=deep)


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


#: Largest YAML input read (a scenario, a sweep, data/deals.yaml are a few KB to a few hundred KB).
MAX_YAML_BYTES = 16 * 2**20


def read_yaml(path: str | Path, *, what: str = "file") -> Any:
    """Parse a YAML file; InputError (one line: file, line, column, problem) when it cannot be
    read."""
    path = Path(path)
    where = display(path)
    check_input_file(path, what, MAX_YAML_BYTES)
    try:
        return yaml.load(path.read_text(encoding="utf-8"), Loader=NumberLoader)  # noqa: S506 (a SafeLoader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        at = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        kind = "refused YAML" if isinstance(exc, _Refused) else "malformed YAML"
        raise InputError(f"{where}: {kind}{at}: {problem}") from None
    except UnicodeDecodeError:
        raise InputError(f"{where}: not a text file (expected UTF-8 YAML)") from None
    except RecursionError:
        raise InputError(f"{where}: nested too deeply to read") from None
    except OSError as exc:
        raise InputError(f"{where}: cannot read ({exc.strerror or exc})") from None

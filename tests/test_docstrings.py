"""The public entry points document themselves in numpydoc style: every public name in
`analysis.__all__`, the sweep's and the report's entry points, and the studies' public functions
have a docstring whose Parameters section names every parameter they take, and a Returns section
when they return something; a class users receive lists its fields under Attributes."""

from __future__ import annotations

import dataclasses
import importlib
import inspect
import re

import pytest

import analysis

#: Entry points beside analysis.__all__: the sweep (a module there) and the report.
ENTRY_POINTS = [
    "analysis.runs.sweep:run_sweep",
    "analysis.runs.sweep:load_sweep",
    "analysis.runs.report:build_report",
]
#: Study modules whose every public function is an entry point (notebooks call them). Not here:
#: `deal_value` (its older helpers document their parameters in prose) and `backtest` beyond
#: `backtest` itself (its other names are the steps of one study).
STUDIES = ["breakeven", "capacity", "economics", "hindcast", "sensitivity", "whatif"]


def _public_functions(module_name: str) -> list[str]:
    module = importlib.import_module(f"analysis.studies.{module_name}")
    return [
        f"{module.__name__}:{name}"
        for name, obj in vars(module).items()
        if inspect.isfunction(obj) and obj.__module__ == module.__name__ and name[0] != "_"
    ]


def _names() -> list[str]:
    public = [f"analysis:{name}" for name in analysis.__all__]
    return public + ENTRY_POINTS + [name for study in STUDIES for name in _public_functions(study)]


def _resolve(name: str):
    module, _, attribute = name.partition(":")
    return getattr(importlib.import_module(module), attribute)


def _section(doc: str, title: str) -> str | None:
    match = re.search(
        rf"^{title}\n-{{{len(title)}}}\n(.*?)(?=^\S[^\n]*\n-{{3,}}\n|\Z)", doc, re.M | re.S
    )
    return match.group(1) if match else None


def _documented(section: str) -> set[str]:
    """Names of the entries of a numpydoc section (``a, b : type`` documents a and b)."""
    names = set()
    for line in section.splitlines():
        if line and not line[0].isspace():
            names |= {n.strip() for n in line.split(" : ")[0].split(",")}
    return names


@pytest.mark.parametrize("name", _names())
def test_public_entry_point_documents_its_parameters(name):
    obj = _resolve(name)
    if not callable(obj) or inspect.ismodule(obj):  # a constant, __version__, the sweep module
        return
    doc = inspect.getdoc(obj)
    assert doc, f"{name}: no docstring"
    if inspect.isclass(obj):
        if issubclass(obj, BaseException):
            return
        fields = {f.name for f in dataclasses.fields(obj) if not f.name.startswith("_")}
        attributes = _section(doc, "Attributes")
        assert attributes is not None, f"{name}: no Attributes section"
        assert fields <= _documented(attributes), (
            f"{name}: undocumented {fields - _documented(attributes)}"
        )
        return
    signature = inspect.signature(obj)
    params = set(signature.parameters)
    if params:
        section = _section(doc, "Parameters")
        assert section is not None, f"{name}: no Parameters section"
        assert params == _documented(section), (
            f"{name}: Parameters section names {sorted(_documented(section))}, "
            f"the function takes {sorted(params)}"
        )
    if signature.return_annotation not in (None, "None", inspect.Signature.empty):
        assert _section(doc, "Returns") is not None, f"{name}: no Returns section"


def test_the_entry_points_are_found():
    names = _names()
    assert {"analysis:estimate", "analysis:simulate", "analysis.studies.whatif:what_if"} <= set(
        names
    )
    assert len(names) > 30

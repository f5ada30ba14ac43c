"""compute-race: what a capacity deal buys in the race to train the next frontier model.

Public API: load_catalog, estimate, estimate_many, simulate, load_scenario, backtest; results expose
tidy pandas DataFrames and ``to_dict()`` matching the CLI's JSON.

Names are imported on first use (PEP 562 ``__getattr__``), so ``python -m analysis estimate`` does
not pay for the modules of other commands (pandas, scipy, pydantic models of scenarios, ...).

The package is five wings over a small base (paths, errors, constants, backend, provenance,
formatting, cache): `inputs` (data and scenarios, validated), `model` (prior, sampling, kernels,
estimate, the race), `studies` (what-if, capacity, economics, sensitivity, deal value, backtest),
`views` (plots, tables, explorer) and `runs` (CLI, report, sweep, bench, notebook cells). Each
imports only the wings below it (the import-linter contract in pyproject.toml). Modules that moved
into a wing keep their old names here (`_MODULES`): ``from analysis import plots``,
``import analysis.notebook`` and ``from analysis.params import check`` still work.
"""

from __future__ import annotations

import importlib
import sys
from importlib.machinery import ModuleSpec

#: Public name -> the module that defines it, or "module:attribute" (".runs.sweep" is the module
#: itself).
_EXPORTS = {
    "backtest": ".studies.backtest",
    "BacktestResult": ".studies.backtest",
    "BACKTEST_SCHEMES": ".studies.backtest:SCHEMES",
    "Catalog": ".inputs.catalog",
    "load_catalog": ".inputs.catalog",
    "InputError": ".errors",
    "EstimateResult": ".model.estimate",
    "estimate": ".model.estimate",
    "estimate_many": ".model.batch",
    "SimulationResult": ".model.result",
    "load_scenario": ".inputs.scenario",
    "simulate": ".model.run",
    "sweep": ".runs.sweep",
    "what_if": ".studies.whatif",
}

#: Modules that moved into the wings, under the names they had at the top of the package, so that
#: ``from analysis import plots`` (or ``analysis.catalog``) in users' code keeps working.
_MODULES = {
    "bench": ".runs.bench",
    "breakeven": ".studies.breakeven",
    "calibration": ".model.calibration",
    "capacity": ".studies.capacity",
    "catalog": ".inputs.catalog",
    "cells": ".runs.cells",
    "deal_value": ".studies.deal_value",
    "economics": ".studies.economics",
    "explorer": ".views.explorer",
    "hindcast": ".studies.hindcast",
    "kernels": ".model.kernels",
    "limits": ".inputs.limits",
    "notebook": ".runs.cells",
    "params": ".runs.parameters",
    "plots": ".views.plots",
    "report": ".runs.report",
    "results": ".model.summary",
    "sampling": ".model.sampling",
    "scenarios": ".studies.whatif",
    "sensitivity": ".studies.sensitivity",
    "specs": ".inputs.specs",
    "tables": ".views.tables",
    "yamlio": ".inputs.yamlio",
}

__all__ = sorted([*_EXPORTS, "__version__"])


def __getattr__(name: str):
    if name == "__version__":
        from .provenance import package_version

        value = package_version()
    elif name in _EXPORTS:
        module_name, _, attribute = _EXPORTS[name].partition(":")
        module = importlib.import_module(module_name, __name__)
        value = module if name == "sweep" else getattr(module, attribute or name)
    elif name in _MODULES:
        value = importlib.import_module(_MODULES[name], __name__)
    else:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    globals()[name] = value
    return value


def __dir__():
    return __all__


class _OldNames:
    """Import hook: ``import analysis.<old name>`` (or a submodule of it) gives the module that now
    lives in a wing: the same module object, so its state and its classes are shared."""

    @staticmethod
    def _moved(fullname: str) -> str | None:
        package, _, rest = fullname.partition(".")
        first, dot, sub = rest.partition(".")
        new = _MODULES.get(first) or (".runs.sweep" if first == "sweep" else None)
        return None if package != __name__ or new is None else new + dot + sub

    @staticmethod
    def find_spec(fullname, path=None, target=None):
        return None if _OldNames._moved(fullname) is None else ModuleSpec(fullname, _OldNames)

    @staticmethod
    def create_module(spec):
        module = importlib.import_module(_OldNames._moved(spec.name), __name__)
        spec.loader_state = module.__spec__  # importlib sets __spec__ to this alias's; put it back
        return module

    @staticmethod
    def exec_module(module):
        module.__spec__ = module.__spec__.loader_state


if _OldNames.__qualname__ not in {getattr(f, "__qualname__", "") for f in sys.meta_path}:
    sys.meta_path.insert(0, _OldNames)  # before the path finder, which would load a second copy

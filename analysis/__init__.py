"""compute-race: what a capacity deal buys in the race to train the next frontier model.

Public API: load_catalog, estimate, estimate_many, simulate, load_scenario, backtest; results expose
tidy pandas DataFrames and ``to_dict()`` matching the CLI's JSON.

Names are imported on first use (PEP 562 ``__getattr__``), so ``python -m analysis estimate`` does
not pay for the modules of other commands (pandas, scipy, pydantic models of scenarios, ...).
"""

from __future__ import annotations

import importlib

#: Public name -> the module that defines it, or "module:attribute" (".sweep" is the module itself).
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
    "sweep": ".sweep",
    "what_if": ".studies.whatif",
}

#: Modules that moved into the wings, under the names they had at the top of the package, so that
#: ``from analysis import plots`` (or ``analysis.catalog``) in users' code keeps working.
_MODULES = {
    "calibration": ".model.calibration",
    "capacity": ".studies.capacity",
    "catalog": ".inputs.catalog",
    "deal_value": ".studies.deal_value",
    "economics": ".studies.economics",
    "explorer": ".views.explorer",
    "kernels": ".model.kernels",
    "limits": ".inputs.limits",
    "plots": ".views.plots",
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

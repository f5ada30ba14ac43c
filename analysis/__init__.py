"""compute-race: what a capacity deal buys in the race to train the next frontier model.

Public API: load_catalog, estimate, simulate, load_scenario; results expose tidy pandas DataFrames
and ``to_dict()`` matching the CLI's JSON.
"""

from ._backtest import SCHEMES as BACKTEST_SCHEMES
from ._backtest import BacktestResult, backtest
from .catalog import Catalog, load_catalog
from .errors import InputError
from ._estimate import EstimateResult, estimate
from .provenance import package_version
from ._simulate import SimulationResult, load_scenario, simulate
from . import sweep

__version__ = package_version()

__all__ = [
    "BACKTEST_SCHEMES",
    "BacktestResult",
    "Catalog",
    "EstimateResult",
    "InputError",
    "SimulationResult",
    "__version__",
    "backtest",
    "estimate",
    "load_catalog",
    "load_scenario",
    "simulate",
    "sweep",
]

"""Where things live, computed from the package file so nothing depends on the working directory."""

from __future__ import annotations

import os
from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parent
PROJECT_ROOT = PACKAGE_DIR.parent
NOTEBOOKS_DIR = PROJECT_ROOT / "notebooks"
SCENARIOS_DIR = PROJECT_ROOT / "scenarios"
SWEEPS_DIR = PROJECT_ROOT / "sweeps"
RESULTS_DIR = PROJECT_ROOT / "results"

#: Environment variable that points the loader at another data folder (tests, what-if copies).
DATA_DIR_ENV = "COMPUTE_RACE_DATA_DIR"


def data_dir() -> Path:
    """The data folder: $COMPUTE_RACE_DATA_DIR if set, else the project's data/."""
    override = os.environ.get(DATA_DIR_ENV)
    return Path(override).resolve() if override else PROJECT_ROOT / "data"


def display(path: Path) -> str:
    """A path as users should read it in messages: relative to the project root when inside it."""
    path = Path(path).resolve()
    try:
        return str(path.relative_to(PROJECT_ROOT))
    except ValueError:
        return str(path)


#: Where results derived from data/ are kept between processes (the fitted prior, the validated
#: catalog): $COMPUTE_RACE_CACHE, else ~/.cache/compute-race.
CACHE_ENV = "COMPUTE_RACE_CACHE"


def cache_dir() -> Path:
    return Path(os.environ.get(CACHE_ENV) or Path.home() / ".cache" / "compute-race")

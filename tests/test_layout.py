"""The package's layout holds: the wings import in one direction, nothing imports in a circle, no
module grows past MAX_LINES unless listed here with its reason, and every old name still imports."""

from __future__ import annotations

import importlib
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from analysis.paths import PACKAGE_DIR, PROJECT_ROOT

#: Longest module (lines) before it should be split by concern.
MAX_LINES = 600
#: Modules allowed past MAX_LINES, each with why it is one module.
LONG_MODULES = {
    "inputs/scenario.py": "the scenario's models and every check on them, one home (issue 24): "
    "field bounds, references, launch, counts, campuses, look-ahead, memory",
    "studies/backtest.py": "one study: the cross-validation schemes, baselines, energy check and "
    "BacktestResult share the refitted priors",
    "inputs/specs.py": "the pydantic models of every data row and distribution; the scenario "
    "models already left for inputs/scenario.py",
    "views/tables.py": "one function per notebook table, sharing the race's per-lab headline "
    "metrics (deal_effect already left for studies.deal_value)",
    "runs/bench.py": "the benchmark and its report: kernel, references, simulate's stages, the "
    "explorer's updates and estimate timed by calling the package's functions, and one table",
    "model/batch.py": "estimate_many's shared-vector evaluation: row plans, grouped draws and "
    "blocks are one algorithm",
    "model/calibration.py": "the utilization prior: its points, both fitted forms, the cache and "
    "the predictive share UtilizationPrior; the censored likelihood left for model/censored.py",
}


def test_the_import_contracts_hold():
    """lint-imports (pyproject.toml [tool.importlinter]): runs > views > studies > model > inputs,
    and the base modules import no wing."""
    lint = shutil.which("lint-imports", path=str(Path(sys.executable).parent))
    lint = lint or shutil.which("lint-imports")
    assert lint is not None, "lint-imports is not installed (pip install -e '.[dev]')"
    run = subprocess.run(
        [lint, "--no-cache"], cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=300
    )
    assert run.returncode == 0, run.stdout[-4000:] + run.stderr[-2000:]


def test_no_module_imports_in_a_circle():
    grimp = pytest.importorskip("grimp")
    graph = grimp.build_graph("analysis", cache_dir=None)
    edges = {m: graph.find_modules_directly_imported_by(m) for m in graph.modules}
    index, low, stack, on_stack, cycles = {}, {}, [], set(), []

    def visit(module):  # Tarjan's strongly connected components
        index[module] = low[module] = len(index)
        stack.append(module)
        on_stack.add(module)
        for other in edges[module]:
            if other not in index:
                visit(other)
                low[module] = min(low[module], low[other])
            elif other in on_stack:
                low[module] = min(low[module], index[other])
        if low[module] == index[module]:
            component = []
            while True:
                other = stack.pop()
                on_stack.discard(other)
                component.append(other)
                if other == module:
                    break
            if len(component) > 1:
                cycles.append(sorted(component))

    for module in sorted(edges):
        if module not in index:
            visit(module)
    assert cycles == []


def test_no_module_is_longer_than_the_limit_unless_listed():
    lengths = {
        p.relative_to(PACKAGE_DIR).as_posix(): len(p.read_text(encoding="utf-8").splitlines())
        for p in PACKAGE_DIR.rglob("*.py")
    }
    too_long = {
        name: n for name, n in lengths.items() if n > MAX_LINES and name not in LONG_MODULES
    }
    assert too_long == {}, f"split these, or list them in LONG_MODULES with a reason: {too_long}"
    stale = {name for name in LONG_MODULES if lengths.get(name, 0) <= MAX_LINES}
    assert stale == set(), f"no longer long (drop them from LONG_MODULES): {stale}"


def test_every_module_opens_with_its_role():
    for path in sorted(PACKAGE_DIR.rglob("*.py")):
        text = path.read_text(encoding="utf-8").lstrip()
        assert text.startswith('"""'), f"{path.relative_to(PROJECT_ROOT)}: no opening docstring"


def test_public_names_and_old_module_names_still_import():
    import analysis

    for name in analysis._EXPORTS:
        assert getattr(analysis, name) is not None, name
    for old, new in analysis._MODULES.items():
        module = importlib.import_module(new, "analysis")
        assert getattr(analysis, old) is module
        assert importlib.import_module(f"analysis.{old}") is module  # import analysis.plots
    from analysis.notebook import check_parameters  # noqa: F401 (the pre-wing form of a notebook import)
    from analysis.sweep import load_sweep  # noqa: F401

    assert analysis.plots.__spec__.name == "analysis.views.plots"


def test_only_main_imports_the_cli():
    """The import contract that keeps bench (and report, sweep, cells) calling functions covers
    every module of runs/ but the CLI itself."""
    with open(PROJECT_ROOT / "pyproject.toml", "rb") as handle:
        contracts = tomllib.load(handle)["tool"]["importlinter"]["contracts"]
    (contract,) = [c for c in contracts if c.get("forbidden_modules") == ["analysis.runs.cli"]]
    runs = {
        "analysis.runs." + (p.stem if p.suffix == ".py" else p.name)
        for p in (PACKAGE_DIR / "runs").iterdir()
        if (p.suffix == ".py" and p.stem != "__init__") or (p / "__init__.py").exists()
    }
    assert set(contract["source_modules"]) == runs - {"analysis.runs.cli"}

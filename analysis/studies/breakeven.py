"""Code against supply chains: how much more efficient a rival's training must be to finish first.

The race counts raw FLOP only when the target is raw. With a target in effective FLOP (raw FLOP x
a lab's training efficiency x algorithmic progress since the scenario start), a lab with less
capacity can reach the same capability sooner by needing fewer FLOP. `break_even_efficiency` fixes
one lab's efficiency multiplier at each value of a grid (against the reference lab's recipe,
efficiency 1), runs the race on the same draws (common random numbers) with and without a deal,
and reports the multiplier at which that lab trains before its rival in half the draws: the
break-even efficiency. The grid's P(before) is monotone in the multiplier (a larger one only lowers
the raw FLOP the lab needs), so the crossing is interpolated on the log of the multiplier.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from ..constants import MAX_EFFICIENCY
from ..errors import InputError
from ..inputs.catalog import Catalog
from ..inputs.limits import MAX_TRAINING_FLOP, MIN_TRAINING_FLOP, check_draws, check_seed
from ..inputs.scenario import Scenario
from ..model.run import simulate
from .whatif import what_if

if TYPE_CHECKING:
    import pandas as pd

#: Multipliers tried: 1x to 1,000x, four a decade.
GRID = tuple(float(x) for x in np.logspace(0, 3, 13))
#: The probability of training before the rival that defines break-even.
BREAK_EVEN_P = 0.5


@dataclass
class BreakEven:
    """The efficiency a lab needs to train before its rival, with and without a deal.

    Attributes
    ----------
    lab, rival, deal : str
        The lab whose efficiency varies, the lab it must beat, the deal dropped.
    target_effective_flop : float
        The common target (effective FLOP).
    table : pandas.DataFrame
        efficiency, p_before_with_deal, p_before_without_deal.
    with_deal, without_deal : float or None
        The break-even multipliers (None: above the grid).
    """

    lab: str
    rival: str
    deal: str
    target_effective_flop: float
    table: pd.DataFrame  # efficiency, p_before_with_deal, p_before_without_deal
    with_deal: float | None
    without_deal: float | None

    def to_dict(self) -> dict:
        return {
            "lab": self.lab,
            "rival": self.rival,
            "deal": self.deal,
            "target_effective_flop": self.target_effective_flop,
            "break_even_with_deal": self.with_deal,
            "break_even_without_deal": self.without_deal,
        }


def _crossing(grid: np.ndarray, p: np.ndarray) -> float | None:
    """The multiplier where P(before) first reaches BREAK_EVEN_P, log-interpolated; None if it
    never does on the grid."""
    above = np.nonzero(p >= BREAK_EVEN_P)[0]
    if above.size == 0:
        return None
    j = int(above[0])
    if j == 0:
        return float(grid[0])
    x0, x1 = np.log(grid[j - 1]), np.log(grid[j])
    y0, y1 = p[j - 1], p[j]
    t = (BREAK_EVEN_P - y0) / (y1 - y0) if y1 > y0 else 1.0
    return float(np.exp(x0 + t * (x1 - x0)))


def _variant(raw: dict, lab: str, efficiency: float, target: float, deal: str, keep: bool) -> dict:
    out = {**raw, "target_flop": None, "target_effective_flop": target}
    comps = []
    for comp in raw["competitors"]:
        comp = dict(comp)
        if comp["lab"] == lab:
            comp["efficiency"] = {"dist": "fixed", "value": efficiency}
        comp.pop("target_flop", None)
        comp.pop("target_effective_flop", None)
        comps.append(comp)
    out["competitors"] = comps
    overrides = dict(raw.get("deal_overrides") or {})
    if not keep:
        overrides[deal] = {**overrides.get(deal, {}), "scale": 0.0}
    out["deal_overrides"] = overrides
    return out


def break_even_efficiency(
    scenario: str | Path | dict | Scenario = "scenarios/next_frontier.yaml",
    *,
    lab: str = "DeepSeek",
    rival: str = "Meta",
    deal: str = "meta-coreweave-2026",
    target_effective_flop: float = 1e27,
    grid=GRID,
    draws: int | None = 4000,
    seed: int | None = None,
    backend: str | None = None,
    catalog: Catalog | None = None,
) -> BreakEven:
    """The training-efficiency multiplier `lab` needs to train before `rival` in half the draws.

    Parameters
    ----------
    scenario : path, dict or Scenario
        The race (default scenarios/next_frontier.yaml); its targets are replaced by one common
        target in effective FLOP.
    lab, rival : str
        The lab whose efficiency is varied, and the lab it must train before.
    deal : str
        The deal dropped (scale 0) for the "without" column.
    target_effective_flop : float
        The common target, in effective FLOP (FLOP of the reference recipe at the start).
    grid : sequence of float
        Multipliers tried, each in (0, 1000], ascending.
    draws, seed : int, optional
        Replace the scenario's (None keeps them); the same draws for every multiplier.
    backend : str, optional
        Array backend.
    catalog : Catalog, optional
        The data (default: data/).

    Returns
    -------
    BreakEven
        `.table`: P(`lab` trained before `rival`) per multiplier, with and without the deal;
        `.with_deal`, `.without_deal`: the break-even multipliers (None: above the grid).
    """
    wi = what_if(scenario, catalog=catalog)  # a relative path is the project's, as elsewhere
    catalog, base = wi.catalog, wi.scenario
    labs = [c.lab for c in base.competitors]
    for name, value in (("lab", lab), ("rival", rival)):
        if value not in labs:
            raise InputError(
                f"{name}: {value!r} is not a competitor; competitors: {', '.join(labs)}"
            )
    if lab == rival:
        raise InputError("rival: must be another lab than lab")
    if not MIN_TRAINING_FLOP <= target_effective_flop <= MAX_TRAINING_FLOP:
        raise InputError(
            f"target_effective_flop: expected {MIN_TRAINING_FLOP:g} to {MAX_TRAINING_FLOP:g} FLOP, "
            f"got {target_effective_flop!r}"
        )
    values = np.asarray(sorted(float(g) for g in grid))
    if values.size < 2 or values[0] <= 0 or values[-1] > MAX_EFFICIENCY:
        raise InputError(f"grid: expected 2 or more multipliers in (0, {MAX_EFFICIENCY:g}]")
    if deal not in catalog.deals and deal not in {d.id for d in base.deals}:
        raise InputError(f"deal: unknown deal {deal!r}")
    raw = base.model_dump(mode="json", exclude_none=True)
    if draws is not None:
        raw["draws"] = check_draws(draws, "draws")
    if seed is not None:
        raw["seed"] = check_seed(seed, "seed")
    pair = (lab, rival)
    rows = []
    for m in values:
        row = {"efficiency": float(m)}
        for keep, column in ((True, "p_before_with_deal"), (False, "p_before_without_deal")):
            result = simulate(
                _variant(raw, lab, float(m), target_effective_flop, deal, keep),
                catalog=catalog,
                backend=backend,
                progress=False,
            )
            row[column] = _p_before(result, *pair)
        rows.append(row)
    import pandas as pd

    table = pd.DataFrame(rows)
    return BreakEven(
        lab=lab,
        rival=rival,
        deal=deal,
        target_effective_flop=target_effective_flop,
        table=table,
        with_deal=_crossing(values, table["p_before_with_deal"].to_numpy()),
        without_deal=_crossing(values, table["p_before_without_deal"].to_numpy()),
    )


def _p_before(result, lab: str, rival: str) -> float:
    """P(`lab` is trained before `rival`) from the race's pairwise statistics."""
    label = {c["lab"]: c["label"] for c in result.competitors}
    mine, theirs = label[lab], label[rival]
    for pair in result.pairwise:
        if (pair["a"], pair["b"]) == (mine, theirs):
            return pair["p_a_before_b"]
        if (pair["a"], pair["b"]) == (theirs, mine):
            return pair["p_b_before_a"]
    raise InputError(f"no pair of {lab!r} and {rival!r} in the race")  # pragma: no cover


def curves_table(results) -> pd.DataFrame:
    """P(each lab trains before its rival) at each efficiency multiplier, with and without the
    deal: one row per multiplier, columns (p_before_with_deal | p_before_without_deal, lab).

    Parameters
    ----------
    results : sequence of BreakEven
        From `break_even_efficiency`, one per lab.

    Returns
    -------
    pandas.DataFrame
        Indexed by the efficiency multiplier; probabilities as fractions.
    """
    import pandas as pd

    return pd.concat([b.table.assign(lab=b.lab) for b in results]).pivot(
        index="efficiency", columns="lab", values=["p_before_with_deal", "p_before_without_deal"]
    )


def summary_table(results) -> pd.DataFrame:
    """One row per lab: its rival, the deal, the target and both break-even multipliers.

    Parameters
    ----------
    results : sequence of BreakEven
        From `break_even_efficiency`, one per lab.

    Returns
    -------
    pandas.DataFrame
        The `BreakEven.to_dict` of each result, one row each (a multiplier None: above the grid).
    """
    import pandas as pd

    return pd.DataFrame([b.to_dict() for b in results])


def headline_metrics(results) -> dict:
    """Notebook 20's recorded break-even metrics.

    Parameters
    ----------
    results : sequence of BreakEven
        From `break_even_efficiency`, one per lab.

    Returns
    -------
    dict
        ``break_even_efficiency_<lab>_with_deal`` and ``..._without_deal`` (None: above the grid),
        and the target as ``break_even_target_effective_flop``.
    """
    out = {}
    for b in results:
        key = "_".join(b.lab.lower().split())
        out[f"break_even_efficiency_{key}_with_deal"] = b.with_deal
        out[f"break_even_efficiency_{key}_without_deal"] = b.without_deal
        out["break_even_target_effective_flop"] = b.target_effective_flop
    return out

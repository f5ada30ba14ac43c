"""What-if variants of a scenario, built from the plain values a notebook parameter holds.

A notebook says ``what_if("scenarios/default.yaml", draws=2000, deal_scale={"meta-coreweave-2026":
0})`` and gets a validated Scenario (plus, for an absolute PUE, a catalog copy) with every change
listed, so the notebook holds no logic and the changes show up beside the results. Every change goes
through the scenario schema (``deal_overrides``, ``uncertainty``, ``target_flop``), so `simulate`
itself is untouched.

Conventions shared with the notebooks' parameters: ``0`` (or None) means "keep the scenario's or the
data's value" for ``target_flop``, ``pue``, ``mfu`` and a delay mode.
"""

from __future__ import annotations

import dataclasses
import math
import numbers
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import numpy as np
from pydantic import ValidationError

from ..errors import InputError, describe_validation_error
from ..inputs.catalog import Catalog, load_catalog, suggest
from ..inputs.scenario import DealOverride, Scenario, load_scenario
from ..inputs.specs import (
    DEAL_KINDS,
    MAX_DEAL_SCALE,
    MAX_DELAY_MONTHS,
    MAX_TRAINING_FLOP,
    MIN_MFU,
    MIN_TRAINING_FLOP,
    Fixed,
    Triangular,
    _Dist,
    check_draws,
    check_seed,
)
from ..model.result import SimulationResult
from ..model.run import simulate
from ..paths import PROJECT_ROOT

#: A delay given as one number m becomes triangular(m x low, m, m x high): the data give single
#: figures for most delays, and a symmetric +-50% band says "about m months" without a new source.
DELAY_BAND = (0.5, 1.5)


def scenario_path(path: str | Path) -> Path:
    """A scenario path as a notebook parameter gives it: relative to the project root, not the cwd.

    Parameters
    ----------
    path : str or Path
        A scenario file, absolute or relative to the project root.

    Returns
    -------
    Path
        The existing file.

    Raises
    ------
    InputError
        When no such file exists, listing the scenarios that do.
    """
    path = Path(path)
    resolved = path if path.is_absolute() else PROJECT_ROOT / path
    if not resolved.is_file():
        known = sorted(
            p.relative_to(PROJECT_ROOT).as_posix()
            for p in (PROJECT_ROOT / "scenarios").glob("*.yaml")
        )
        raise InputError(
            f"scenario: file {str(path)!r} not found (relative to the project root); known: "
            f"{', '.join(known)}"
        )
    return resolved


@dataclasses.dataclass(frozen=True)
class WhatIf:
    """A scenario and the catalog it runs against, with the list of changes made to the
    originals."""

    scenario: Scenario
    catalog: Catalog
    changes: tuple[str, ...] = ()

    def simulate(
        self, *, keep_draws: bool = False, backend: str | None = None, **kwargs
    ) -> SimulationResult:
        """`analysis.simulate` of this variant (draws and seed are the scenario's)."""
        return simulate(
            self.scenario, catalog=self.catalog, keep_draws=keep_draws, backend=backend, **kwargs
        )

    def with_changes(self, **changes) -> WhatIf:
        """A further variant of this one (same keywords as `what_if`)."""
        return what_if(self, **changes)

    @property
    def changes_table(self):
        """The changes as a one-column DataFrame (empty: the scenario as written)."""
        import pandas as pd

        rows = list(self.changes) or ["none: the scenario and data as written"]
        return pd.DataFrame({"change": rows}, index=pd.RangeIndex(1, len(rows) + 1, name="#"))


def _keep(value: Any) -> bool:
    return value is None or (_is_number(value) and value == 0)


def _is_number(value: Any) -> bool:
    """A real number of any kind (int, float, NumPy's float32, int64, ...), never a boolean."""
    return isinstance(value, numbers.Real) and not isinstance(value, (bool, np.bool_))


def _number(
    name: str, value: Any, *, low: float, high: float = math.inf, low_open: bool = False
) -> float:
    ok = _is_number(value) and math.isfinite(value)
    ok = ok and (value > low if low_open else value >= low) and value <= high
    if not ok:
        bracket = "(" if low_open else "["
        raise InputError(f"{name}: expected a number in {bracket}{low:g}, {high:g}], got {value!r}")
    return float(value)


def _check_deal(name: str, deal_id: str, catalog: Catalog, scenario: Scenario) -> None:
    if deal_id not in catalog.deals:
        raise InputError(f"{name}: unknown deal {deal_id!r}; {suggest(deal_id, catalog.deals)}")
    if not any(deal_id in comp.deals for comp in scenario.competitors):
        raise InputError(
            f"{name}: deal {deal_id!r} is not used by any competitor of scenario {scenario.name!r}"
        )


def delay_distribution(value: float | _Dist, *, name: str = "delay") -> _Dist:
    """A delay as a distribution: a number m is triangular(m x 0.5, m, m x 1.5) months (DELAY_BAND).

    Parameters
    ----------
    value : float or distribution
        A delay in months (>= 0), or a distribution, returned as it is.
    name : str
        How an error names the value.

    Returns
    -------
    distribution
        A pydantic distribution spec (``Triangular``, or `value` itself).
    """
    if isinstance(value, _Dist):
        return value
    # The band's top must stay a plausible delay (1.3e308 months overflowed it to infinity).
    mode = _number(name, value, low=0.0, high=MAX_DELAY_MONTHS / DELAY_BAND[1])
    return Triangular(low=mode * DELAY_BAND[0], mode=mode, high=mode * DELAY_BAND[1])


def catalog_with_pue(catalog: Catalog, pue: float) -> Catalog:
    """The catalog with every site and every deal at one PUE (an absolute override, not a delta).

    Parameters
    ----------
    catalog : Catalog
        The catalog to copy.
    pue : float
        The PUE, in [1, 3].

    Returns
    -------
    Catalog
        A copy; `catalog` is unchanged.
    """
    pue = _number("pue", pue, low=1.0, high=3.0)
    sites = {k: s.model_copy(update={"pue": pue}) for k, s in catalog.sites.items()}
    deals = {k: d.model_copy(update={"pue": pue}) for k, d in catalog.deals.items()}
    # The data hash names the change, so provenance never passes the copy off as the shipped data.
    return dataclasses.replace(
        catalog, sites=sites, deals=deals, data_hash=f"{catalog.data_hash}+pue={pue:g}", _frames={}
    )


def what_if(
    scenario: str | Path | dict | Scenario | WhatIf | None = "scenarios/default.yaml",
    *,
    catalog: Catalog | None = None,
    draws: int | None = None,
    seed: int | None = None,
    target_flop: float | None = None,
    deal_scale: Mapping[str, float] | None = None,
    deal_delay_months: Mapping[str, float | _Dist] | None = None,
    power_cap_scale: float | None = None,
    pue: float | None = None,
    mfu: float | None = None,
    span_sites: bool | None = None,
    only_kind: str | None = None,
    only_deals: Iterable[str] | None = None,
) -> WhatIf:
    """A what-if variant of a scenario, validated, with every change listed.

    A value that keeps the scenario as written (None, and 0 where noted) makes no change, so a
    notebook can pass its parameters straight through.

    Parameters
    ----------
    scenario : str, Path, dict, Scenario or WhatIf
        A scenario file relative to the project root (default scenarios/default.yaml), its contents,
        a Scenario, or a WhatIf to change further.
    catalog : Catalog, optional
        The inputs to use; default the WhatIf's, else `load_catalog()`.
    draws, seed : int, optional
        Replace the scenario's draws (1 to 20,000,000) and seed (0 to 2**63 - 1).
    target_flop : float, optional
        One common compute target in FLOP for every lab (1e15 to 1e32); 0 keeps the scenario's.
    deal_scale : mapping of str to float, optional
        Deal id -> factor on its accelerators (0 drops the deal; at most 1,000).
    deal_delay_months : mapping of str to float or distribution, optional
        Deal id -> delivery delay: a number m means triangular(0.5m, m, 1.5m) months (0 keeps the
        data's), or a distribution.
    power_cap_scale : float, optional
        Factor on the power cap of every owned campus in the race (1 keeps).
    pue : float, optional
        One absolute PUE in [1, 3] for every site and deal, with no sampled site variation (0 keeps
        each site's PUE and its uncertainty).
    mfu : float, optional
        A fixed MFU in [0.001, 1] for every competitor (0 keeps the calibrated prior).
    span_sites : bool, optional
        Let one run use every campus of its lab.
    only_kind : {"reserved", "owned", "on_demand"}, optional
        Keep only deals of this kind; competitors left with none are dropped.
    only_deals : iterable of str, optional
        Keep only these deals; competitors holding none of them are dropped.

    Returns
    -------
    WhatIf
        The validated scenario, its catalog and ``changes`` (one line per change);
        ``.simulate()`` runs it.

    Raises
    ------
    InputError
        Naming the argument (and deal id) and what is allowed.
    """
    changes: list[str] = []
    if isinstance(scenario, WhatIf):
        catalog = catalog or scenario.catalog
        changes = list(scenario.changes)
        scenario = scenario.scenario
    catalog = catalog or load_catalog()
    if isinstance(scenario, (str, Path)):
        scenario = scenario_path(scenario)
    scenario = load_scenario(scenario, catalog)
    update: dict[str, Any] = {}

    if draws is not None:
        update["draws"] = check_draws(draws, "draws")
    if seed is not None:
        seed = check_seed(seed, "seed")
        if seed != scenario.seed:
            changes.append(f"seed {seed} (scenario: {scenario.seed})")
        update["seed"] = seed
    if not _keep(target_flop):
        value = _number("target_flop", target_flop, low=MIN_TRAINING_FLOP, high=MAX_TRAINING_FLOP)
        update["target_flop"] = value
        changes.append(f"common compute target {value:.3g} FLOP for every lab")
    if span_sites is not None and not isinstance(span_sites, (bool, np.bool_)):
        # bool('no') is True: a string ran the race with span_sites on
        raise InputError(f"span_sites: expected True or False, got {span_sites!r}")
    if span_sites is not None and bool(span_sites) != scenario.span_sites:
        update["span_sites"] = bool(span_sites)
        changes.append(
            "one run may span every campus of its lab" if span_sites else "one campus per run"
        )

    overrides = {k: v for k, v in scenario.deal_overrides.items()}

    def override(deal_id: str, **fields) -> None:
        current = overrides.get(deal_id, DealOverride())
        try:
            overrides[deal_id] = DealOverride.model_validate(
                {**current.model_dump(exclude_none=True), **fields}
            )
        except (
            ValidationError
        ) as err:  # e.g. a scale beyond MAX_DEAL_SCALE: one line naming the deal
            raise InputError(describe_validation_error(err, f"deal_overrides.{deal_id}")) from None

    for deal_id, factor in (deal_scale or {}).items():
        _check_deal(f"deal_scale[{deal_id!r}]", deal_id, catalog, scenario)
        factor = _number(f"deal_scale[{deal_id!r}]", factor, low=0.0, high=MAX_DEAL_SCALE)
        if factor != 1.0:
            current = overrides.get(deal_id, DealOverride()).scale
            override(deal_id, scale=current * factor)
            changes.append(
                f"{deal_id}: {'dropped (scale 0)' if factor == 0 else f'accelerators x {factor:g}'}"
            )
    for deal_id, delay in (deal_delay_months or {}).items():
        _check_deal(f"deal_delay_months[{deal_id!r}]", deal_id, catalog, scenario)
        if _keep(delay):
            continue
        dist = delay_distribution(delay, name=f"deal_delay_months[{deal_id!r}]")
        override(deal_id, delay_months=dist.model_dump())
        changes.append(
            f"{deal_id}: delivery delay {dist.describe()} months "
            f"(data: {catalog.deals[deal_id].delay_months.describe()})"
        )
    if power_cap_scale is not None:
        factor = _number("power_cap_scale", power_cap_scale, low=0.0, high=MAX_DEAL_SCALE)
        if factor != 1.0:
            capped = sorted(
                {
                    d
                    for comp in scenario.competitors
                    for d in comp.deals
                    if catalog.deals[d].power_cap_mw is not None
                }
            )
            for deal_id in capped:
                current = overrides.get(deal_id, DealOverride()).power_cap_scale
                override(deal_id, power_cap_scale=current * factor)
            changes.append(
                f"power caps x {factor:g} on every owned campus with a cap "
                f"({', '.join(capped) or 'none'})"
            )
    if overrides != scenario.deal_overrides:
        update["deal_overrides"] = overrides

    uncertainty: dict[str, Any] = {}
    if not _keep(pue):
        value = _number("pue", pue, low=1.0, high=3.0)
        catalog = catalog_with_pue(catalog, value)
        uncertainty["pue_delta"] = Fixed(value=0.0)
        changes.append(f"PUE {value:g} at every site and deal (no sampled site variation)")
    if not _keep(mfu):
        value = _number("mfu", mfu, low=MIN_MFU, high=1.0)
        uncertainty["mfu"] = Fixed(value=value)
        update["competitors"] = [c.model_copy(update={"mfu": None}) for c in scenario.competitors]
        changes.append(
            f"MFU fixed at {value:g} for every competitor (instead of the calibrated prior)"
        )
    if uncertainty:
        update["uncertainty"] = scenario.uncertainty.model_copy(update=uncertainty)

    competitors = update.get("competitors", scenario.competitors)
    if only_kind is not None:
        if only_kind not in DEAL_KINDS:
            raise InputError(f"only_kind: {only_kind!r} is not one of {', '.join(DEAL_KINDS)}")
        competitors = [
            c.model_copy(
                update={"deals": [d for d in c.deals if catalog.deals[d].kind == only_kind]}
            )
            for c in competitors
        ]
        competitors = [c for c in competitors if c.deals]
        if not competitors:
            raise InputError(f"only_kind: no competitor has a deal of kind {only_kind!r}")
        update["competitors"] = competitors
        changes.append(f"only {only_kind} deals")
    if only_deals is not None:
        if isinstance(only_deals, str) or not isinstance(only_deals, Iterable):
            raise InputError(f"only_deals: expected a list of deal ids, got {only_deals!r}")
        keep = list(only_deals)
        for deal_id in keep:
            _check_deal("only_deals", deal_id, catalog, scenario)
        competitors = [
            c.model_copy(update={"deals": [d for d in c.deals if d in keep]}) for c in competitors
        ]
        competitors = [c for c in competitors if c.deals]
        update["competitors"] = competitors
        changes.append(f"only deals {', '.join(keep)}")

    if "competitors" in update:
        # Deals no competitor holds any more (only_kind, only_deals) take their overrides with them.
        held = {d for comp in update["competitors"] for d in comp.deals}
        current = update.get("deal_overrides", scenario.deal_overrides)
        if any(d not in held for d in current):
            update["deal_overrides"] = {d: o for d, o in current.items() if d in held}
    if update:
        # Validate the whole variant again (cross-field rules), then its references against data/.
        changed = scenario.model_copy(update=update).model_dump()
        scenario = load_scenario(changed, catalog)
    return WhatIf(scenario=scenario, catalog=catalog, changes=tuple(changes))

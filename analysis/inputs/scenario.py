"""Scenarios: their models, how one is loaded, and every check it must pass before a race runs.

A scenario (scenarios/*.yaml, README there) says who races on which deals, from when, for how long
and with what uncertainty. `load_scenario` reads one from a path, a dict or a Scenario, validates it
against the pydantic models here (field-level bounds), then checks it against the catalog: the
models and deals it names exist, a campus is one site and one lab's (or explicitly split), PUE stays
in range, and no deal's terms were known only after the race starts. `check_simulation_size` bounds
the memory a simulation plans to use, before anything is allocated. The checks of `estimate`'s flags
that need no pydantic (an implied MFU) are in `inputs.limits`.
"""

from __future__ import annotations

import dataclasses
import math
import os
import warnings
from pathlib import Path
from typing import Annotated, Literal

from pydantic import BeforeValidator, Field, ValidationError, field_validator, model_validator

from .. import constants as K
from ..errors import InputError, describe_validation_error
from ..paths import SCENARIOS_DIR, display
from .catalog import DEALS_FILE, Catalog, load_catalog, suggest
from .limits import (
    MAX_ACCELERATORS,
    MAX_DEAL_SCALE,
    MAX_DRAWS,
    MAX_SEED,
    MAX_TRAINING_FLOP,
    MIN_TRAINING_FLOP,
    PUE_MAX,
    PUE_MIN,
    UNCERTAINTY_RANGES,
)
from .specs import (
    CompetingModel,
    Deal,
    Dist,
    Fixed,
    LogNormal,
    NonEmptyStr,
    Precision,
    Strict,
    Triangular,
    Uniform,
    YearMonth,
    check_range,
    check_support,
    month_index,
    month_label,
)
from .yamlio import read_yaml

DEFAULT_SCENARIO = SCENARIOS_DIR / "default.yaml"

#: Model ids renamed, old -> new: the old id is accepted with a FutureWarning (deprecated).
#: `muse-spark` named the run *after* Muse Spark, which every table showed as "Meta muse-spark".
MODEL_ALIASES = {"muse-spark": "muse-next"}

#: Most memory one simulation may plan to use (bytes), unless $COMPUTE_RACE_MAX_MEMORY_GB says more:
#: enough for the largest draw count on the shipped scenarios, below a laptop's RAM.
DEFAULT_MAX_MEMORY_GB = 8.0
MAX_MEMORY_ENV = "COMPUTE_RACE_MAX_MEMORY_GB"
#: Fine-grid cells per time step in the capacity tables (analysis/model/plan.py SUBSTEPS).
_SUBSTEPS = 8
#: Float64 arrays alive per table cell and tranche while a table is built (bounds, overlap,
#: product).
_TABLE_TEMPORARIES = 4
#: Arrays of chunk length alive per deal and per competitor in the kernel (inputs, state, outputs).
_CHUNK_ARRAYS_PER_DEAL = 12
_CHUNK_ARRAYS = 48
#: Per-draw metrics stored for each competitor (analysis/model/run.py STORED).
_STORED_METRICS = 13


# ---------------------------------------------------------------------------------------------
# The scenario models (scenarios/*.yaml)
# ---------------------------------------------------------------------------------------------


class Uncertainty(Strict):
    """Distributions of the inputs that no data file pins down. Omitted keys keep their defaults."""

    mfu: Dist | Literal["prior"] = "prior"
    goodput: Dist = Triangular(**dict(zip(("low", "mode", "high"), K.GOODPUT_TRIANGULAR)))
    price_factor: Dist = LogNormal(**dict(zip(("p10", "p90"), K.PRICE_FACTOR_P10_P90)))
    pue_delta: Dist = Triangular(**dict(zip(("low", "mode", "high"), K.PUE_DELTA_TRIANGULAR)))
    hardware_life_years: Dist = Triangular(
        **dict(zip(("low", "mode", "high"), K.HARDWARE_LIFE_YEARS_TRIANGULAR))
    )
    build_cost_usd_per_mw: Dist = Uniform(
        **dict(zip(("low", "high"), K.BUILD_COST_USD_PER_MW_UNIFORM))
    )
    fp8_gain: Dist = Triangular(**dict(zip(("low", "mode", "high"), K.FP8_GAIN_TRIANGULAR)))
    #: Wall-clock budget of a run at the record's centre (constants.BUDGET_RECORD_MONTH), before
    #: the trend; a competitor's own `budget_months` replaces budget, trend and cap.
    budget_months: Dist = LogNormal(**dict(zip(("p10", "p90"), K.BUDGET_MONTHS_P10_P90)))
    budget_growth_per_year: Dist = LogNormal(
        **dict(zip(("p10", "p90"), K.BUDGET_GROWTH_PER_YEAR_P10_P90))
    )
    release_lag_months: Dist = LogNormal(**dict(zip(("p10", "p90"), K.RELEASE_LAG_MONTHS_P10_P90)))
    algorithmic_halving_months: Dist = LogNormal(
        **dict(zip(("p10", "p90"), K.ALGORITHMIC_HALVING_MONTHS_P10_P90))
    )

    @field_validator(
        "budget_months",
        "budget_growth_per_year",
        "release_lag_months",
        "algorithmic_halving_months",
    )
    @classmethod
    def _plausible_run(cls, dist, info):
        check_range(dist, info.field_name)
        return dist

    @field_validator("mfu")
    @classmethod
    def _mfu_range(cls, dist):
        if dist != "prior":
            check_within(dist, "mfu")
        return dist

    @field_validator("goodput", "pue_delta")
    @classmethod
    def _strict_range(cls, dist, info):
        # Hard limits: beyond them a draw is clipped (MFU, PUE) or impossible, so every draw must
        # lie within; site PUE + pue_delta is also checked per site at load (`check_scenario`).
        check_within(dist, info.field_name)
        return dist

    @field_validator("price_factor", "hardware_life_years", "build_cost_usd_per_mw", "fp8_gain")
    @classmethod
    def _plausible(cls, dist, info):
        check_range(dist, info.field_name)
        return dist


def check_within(dist, name: str) -> None:
    """Every draw of `dist` within limits.UNCERTAINTY_RANGES[name] (ValueError otherwise)."""
    allowed = UNCERTAINTY_RANGES[name]
    try:
        check_support(dist, allowed.low, allowed.high, low_open=allowed.low_open)
    except ValueError as exc:
        extra = (
            f": PUE = site PUE + pue_delta must stay within [{PUE_MIN:g}, {PUE_MAX:g}]"
            if name == "pue_delta"
            else f" ({allowed.allowed})"
        )
        raise ValueError(f"{exc}{extra}") from None


class DealOverride(Strict):
    """What-if changes to a deal for one scenario: scale its size, replace its delays, drop it."""

    scale: Annotated[float, Field(ge=0, le=MAX_DEAL_SCALE)] = 1.0
    delay_months: Dist | None = None
    power_delay_months: Dist | None = None
    power_cap_scale: Annotated[float, Field(ge=0, le=MAX_DEAL_SCALE)] = 1.0

    @field_validator("delay_months", "power_delay_months")
    @classmethod
    def _plausible_delay(cls, dist):
        if dist is not None:
            check_range(dist, "delay_months")
        return dist


class Launch(Strict):
    """When a run can launch: `months` after the month `after` (default: the scenario start)."""

    after: YearMonth | None = None
    months: Dist = Fixed(value=0.0)


def _target(value):
    """A compute target: a number of FLOP, or "model" (the competitor's model's 6 N D)."""
    if value is None or value == "model":
        return value
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ValueError(f"expected a number of FLOP or 'model', got {value!r}")
    return _flop_range(float(value))


def _flop_range(value: float) -> float:
    if not MIN_TRAINING_FLOP <= value <= MAX_TRAINING_FLOP:
        raise ValueError(
            f"expected a number of FLOP from {MIN_TRAINING_FLOP:g} to {MAX_TRAINING_FLOP:g}, "
            f"got {value:g} (check the units: 3e26, not 3 for 3e26)"
        )
    return value


class Competitor(Strict):
    """One lab's run: where it trains, when it can launch, how big a cluster and for how long.

    The run launches no earlier than `launch` on the largest single campus online then (all of its
    campuses pooled when the scenario spans sites), with `share` of that campus's accelerators, or
    `accelerators` of them, fixed at launch, for a wall-clock budget. Without a target the run
    trains for its budget and its FLOP are an output; with one (`target_flop`, or
    `target_effective_flop` in effective FLOP) it launches at the first month its planned compute
    within the budget reaches the target.
    """

    lab: NonEmptyStr
    model: NonEmptyStr
    deals: Annotated[list[str], Field(min_length=1)]
    share: Dist = Fixed(value=1.0)
    accelerators: Dist | None = None
    #: The earliest launch month (kept for scenarios written before `launch`): launch.after.
    start: YearMonth | None = None
    launch: Launch | None = None
    budget_months: Dist | None = None
    release_lag_months: Dist | None = None
    efficiency: Dist = Fixed(value=1.0)
    target_flop: Annotated[float | str | None, BeforeValidator(_target)] = None
    target_effective_flop: float | None = None
    precision: Precision | None = None
    mfu: Dist | Literal["prior"] | None = None
    goodput: Dist | None = None

    @field_validator("model")
    @classmethod
    def _model_alias(cls, value):
        if value in MODEL_ALIASES:
            warnings.warn(
                f"model id {value!r} is deprecated; use {MODEL_ALIASES[value]!r} (the same row "
                "of data/models.csv)",
                FutureWarning,
                stacklevel=2,
            )
            return MODEL_ALIASES[value]
        return value

    @field_validator("accelerators")
    @classmethod
    def _count_range(cls, dist):
        if dist is not None:
            check_support(dist, 1.0, MAX_ACCELERATORS)
        return dist

    @field_validator("budget_months", "release_lag_months")
    @classmethod
    def _plausible_run(cls, dist, info):
        # plausible ranges (limits.UNCERTAINTY_RANGES); a budget draw beyond the range's top is
        # clipped to it (model.draws)
        if dist is not None:
            check_range(dist, info.field_name)
        return dist

    @field_validator("efficiency")
    @classmethod
    def _efficiency_range(cls, dist):
        check_support(dist, 0.0, K.MAX_EFFICIENCY, low_open=True)
        return dist

    @field_validator("target_effective_flop")
    @classmethod
    def _effective_range(cls, value):
        return None if value is None else _flop_range(value)

    @field_validator("share", "mfu", "goodput")
    @classmethod
    def _strict_range(cls, dist, info):
        if dist not in (None, "prior"):
            check_within(dist, info.field_name)
        return dist

    @model_validator(mode="after")
    def _one_of(self):
        if self.start is not None and self.launch is not None:
            raise ValueError("give launch (after, months) or start, not both")
        if self.target_flop is not None and self.target_effective_flop is not None:
            raise ValueError("give target_flop or target_effective_flop, not both")
        return self

    @property
    def label(self) -> str:
        return f"{self.lab} {self.model}"

    @property
    def launch_plan(self) -> Launch:
        """`launch`, or the launch `start` stands for (that month, no gap), or the scenario
        start."""
        if self.launch is not None:
            return self.launch
        return Launch(after=self.start)


class Scenario(Strict):
    name: NonEmptyStr
    description: str = ""
    start: YearMonth
    #: The month the race's knowledge dates from, when it is later than `start` (a hindcast whose
    #: tables begin before it, so runs launched earlier are planned on the capacity of their own
    #: time); default: the start.
    as_of: YearMonth | None = None
    horizon_months: Annotated[float, Field(gt=0, le=600)]
    time_step_months: Annotated[float, Field(gt=0, le=12)] = 1.0
    draws: Annotated[int, Field(ge=1, le=MAX_DRAWS)] = 20_000
    seed: Annotated[int, Field(ge=0, le=MAX_SEED)] = 0
    span_sites: bool = False
    target_flop: float | None = None
    #: A common target in effective FLOP (raw FLOP x a lab's efficiency x algorithmic progress
    #: since the scenario start), instead of raw FLOP.
    target_effective_flop: float | None = None
    #: 'assumption: why' a race may use deals whose terms were known only after its start (a
    #: historical replay with today's data), or launch a run before it; without it such deals
    #: and launches are refused at load.
    hindsight: str | None = None
    #: Deals and models declared in the scenario (a historical cluster, a published model's size):
    #: the same fields as data/deals.yaml and data/models.csv, with ids of their own.
    deals: list[Deal] = []
    models: list[CompetingModel] = []
    competitors: Annotated[list[Competitor], Field(min_length=1)]
    uncertainty: Uncertainty = Uncertainty()
    deal_overrides: dict[str, DealOverride] = {}

    @field_validator("target_flop", "target_effective_flop")
    @classmethod
    def _target_range(cls, value):
        return None if value is None else _flop_range(value)

    @field_validator("competitors")
    @classmethod
    def _launch_not_before_scenario(cls, competitors, info):
        start = info.data.get("start")
        if start is None or info.data.get("hindsight") is not None:
            return competitors
        for i, comp in enumerate(competitors):
            plan = comp.launch_plan
            after = month_index(plan.after) if plan.after is not None else month_index(start)
            earliest = after + plan.months.support()[0]
            if earliest < month_index(start) - 1e-9:
                key = "start" if comp.start is not None else "launch"
                raise ValueError(
                    f"competitors[{i}].{key} ({comp.label}): the run can launch as early as "
                    f"{month_label(earliest)}, before the scenario start {start}; a run launched "
                    "before the race starts needs hindsight: 'assumption: why'"
                )
        return competitors

    @model_validator(mode="after")
    def _steps(self):
        if self.time_step_months > self.horizon_months:
            raise ValueError(
                f"time_step_months {self.time_step_months:g} exceeds horizon_months "
                f"{self.horizon_months:g}"
            )
        if self.hindsight is not None and not self.hindsight.strip().lower().startswith(
            "assumption"
        ):
            raise ValueError(
                "hindsight must start with 'assumption:' and say why the race may use later data"
            )
        labels = [c.label for c in self.competitors]
        dupes = sorted({x for x in labels if labels.count(x) > 1})
        if dupes:
            raise ValueError(f"competitors repeat {dupes}; each lab/model pair once")
        if self.target_flop is not None and self.target_effective_flop is not None:
            raise ValueError("give target_flop or target_effective_flop, not both")
        for kind, entries in (("deals", self.deals), ("models", self.models)):
            ids = [e.id for e in entries]
            twice = sorted({x for x in ids if ids.count(x) > 1})
            if twice:
                raise ValueError(f"{kind}: id {twice[0]!r} is declared twice")
        return self

    @property
    def steps(self) -> int:
        return int(math.ceil(self.horizon_months / self.time_step_months - 1e-9))

    @property
    def start_index(self) -> int:
        return month_index(self.start)


# ---------------------------------------------------------------------------------------------
# Loading a scenario, and the checks against the catalog
# ---------------------------------------------------------------------------------------------


def load_scenario(
    source: str | Path | dict | Scenario | None = None, catalog: Catalog | None = None
) -> Scenario:
    """A validated Scenario, its references checked against data/.

    Parameters
    ----------
    source : str, Path, dict or Scenario, optional
        A scenario file (YAML; schema in scenarios/README.md), its contents as a dict, or a Scenario
        to check again; default scenarios/default.yaml.
    catalog : Catalog, optional
        The data the scenario's labs, models, deals and sites must exist in; default
        `load_catalog()`.

    Returns
    -------
    Scenario
        The scenario, frozen; every field within its bounds and every reference known.

    Raises
    ------
    InputError
        One line naming the file and the key path of the first problem, and what is allowed.
    """
    if not (source is None or isinstance(source, (str, os.PathLike, dict, Scenario))):
        # simulate(123) raised TypeError from deep inside the YAML reader
        raise InputError(
            "scenario: expected the path of a scenario file, a mapping or a Scenario, got "
            f"{source!r} ({type(source).__name__})"
        )
    catalog = catalog or load_catalog()
    if isinstance(source, Scenario):
        scenario, where = source, f"scenario {source.name!r}"
    else:
        if source is None:
            source = DEFAULT_SCENARIO
        if isinstance(source, dict):
            raw, where = source, "scenario"
        else:
            where = display(Path(source))
            raw = read_yaml(source, what="scenario file")
            if not isinstance(raw, dict):
                raise InputError(f"{where}: expected a mapping of scenario keys at the top level")
        try:
            scenario = Scenario.model_validate(raw)
        except ValidationError as err:
            raise InputError(describe_validation_error(err, where)) from None
    catalog = scenario_catalog(scenario, catalog, where)
    _check_references(scenario, catalog, where)
    check_scenario(scenario, catalog, where)
    return scenario


_DECLARED: dict[tuple, Catalog] = {}


def scenario_catalog(scenario: Scenario, catalog: Catalog, where: str = "scenario") -> Catalog:
    """The catalog with the deals and models the scenario declares (`deals:`, `models:`) added.

    The catalog itself when the scenario declares none. A declared id that data/ already holds is
    refused (a scenario adds rows, it does not redefine them); declared deals are checked as the
    loader checks data/deals.yaml (their dates, accelerator and region)."""
    if not scenario.deals and not scenario.models:
        return catalog
    if all(catalog.deals.get(d.id) == d for d in scenario.deals) and all(
        catalog.models.get(m.id) == m for m in scenario.models
    ):
        return catalog  # already this scenario's catalog
    import json

    from ..cache import hash_contents

    payload = json.dumps(
        [
            [d.model_dump(mode="json") for d in scenario.deals],
            [m.model_dump(mode="json") for m in scenario.models],
        ],
        sort_keys=True,
    ).encode()
    key = (catalog.data_hash, str(catalog.data_dir), payload)
    if key in _DECLARED:
        return _DECLARED[key]
    for kind, entries, known in (
        ("deals", scenario.deals, catalog.deals),
        ("models", scenario.models, catalog.models),
    ):
        for i, entry in enumerate(entries):
            if entry.id in known:
                raise InputError(
                    f"{where}: {kind}[{i}].id: {entry.id!r} is already in data/; a scenario "
                    "declares rows of its own: give it another id"
                )
    for i, deal in enumerate(scenario.deals):
        label = f"{where}: deals[{i}]"
        problem = deal.date_problem()
        if problem is not None:
            raise InputError(f"{label}.{problem[0]} (id {deal.id!r}): {problem[1]}")
        if deal.accelerator not in catalog.accelerators:
            raise InputError(
                f"{label}.accelerator (id {deal.id!r}): unknown accelerator "
                f"{deal.accelerator!r}; {suggest(deal.accelerator, catalog.accelerators)}"
            )
        if deal.region not in catalog.sites:
            raise InputError(
                f"{label}.region (id {deal.id!r}): unknown site {deal.region!r}; "
                f"{suggest(deal.region, catalog.sites)}"
            )
    merged = dataclasses.replace(
        catalog,
        deals={**catalog.deals, **{d.id: d for d in scenario.deals}},
        models={**catalog.models, **{m.id: m for m in scenario.models}},
        data_hash=hash_contents(
            {Path("data"): catalog.data_hash.encode(), Path("scenario"): payload}
        ),
        _frames={},
    )
    _DECLARED.clear()
    _DECLARED[key] = merged
    return merged


def _check_references(scenario: Scenario, catalog: Catalog, where: str) -> None:
    for i, comp in enumerate(scenario.competitors):
        if comp.model not in catalog.models:
            raise InputError(
                f"{where}: competitors[{i}].model: unknown model {comp.model!r}; "
                f"{suggest(comp.model, catalog.models)}"
            )
        for j, deal_id in enumerate(comp.deals):
            if deal_id not in catalog.deals:
                raise InputError(
                    f"{where}: competitors[{i}].deals[{j}]: unknown deal {deal_id!r}; "
                    f"{suggest(deal_id, catalog.deals)}"
                )
        if len(set(comp.deals)) != len(comp.deals):
            raise InputError(f"{where}: competitors[{i}].deals: a deal is listed twice")
        campuses: dict[str, list[Deal]] = {}
        for deal_id in comp.deals:
            deal = catalog.deals[deal_id]
            campuses.setdefault(deal.campus_id, []).append(deal)
        for campus, deals in campuses.items():
            if len({d.region for d in deals}) > 1:
                raise InputError(
                    f"{where}: competitors[{i}]: deals {[d.id for d in deals]} share campus "
                    f"{campus!r} "
                    "but not a region; a campus is one site"
                )
            if sum(d.power_cap_mw is not None for d in deals) > 1:
                raise InputError(
                    f"{where}: competitors[{i}]: more than one deal on campus {campus!r} sets "
                    "power_cap_mw; "
                    "give the campus cap on one deal"
                )
    used = {deal_id for comp in scenario.competitors for deal_id in comp.deals}
    for key in scenario.deal_overrides:
        if key not in catalog.deals:
            raise InputError(
                f"{where}: deal_overrides.{key}: unknown deal {key!r}; "
                f"{suggest(key, catalog.deals)}"
            )
        if key not in used:
            # An override of a deal nobody races on changed nothing, without a word.
            raise InputError(
                f"{where}: deal_overrides.{key}: no competitor uses deal {key!r}, so the override "
                f"would change nothing; {suggest(key, used)}"
            )
    check_deals_known_at_start(scenario, catalog, where)
    for i, comp in enumerate(scenario.competitors):
        for j, deal_id in enumerate(comp.deals):
            _check_context_deal(scenario, catalog, catalog.deals[deal_id], where, i, j)


def _check_context_deal(scenario, catalog: Catalog, deal: Deal, where: str, i: int, j: int):
    """A context deal (`racing: false`) races only in a labelled replay (`hindsight`), which keeps
    the deal list of its time (data/README.md), and only when it can race at all. Elsewhere one such
    deal was refused as "needs purchase_price_usd" and another raced without a word."""
    if deal.racing:
        return
    why = " ".join(deal.not_racing_because.split())
    why = why if len(why) <= 120 else why[:117].rstrip() + "..."
    context = (
        f"{where}: competitors[{i}].deals[{j}]: deal {deal.id!r} is context only (racing: false "
        f"in {DEALS_FILE}: {why})"
    )
    chip = catalog.accelerators.get(deal.accelerator)
    if deal.kind == "owned" and chip is not None and chip.purchase_price_usd is None:
        raise InputError(
            f"{context} and cannot race: it is owned and {deal.accelerator!r} has no "
            "purchase_price_usd in accelerators.csv; remove it from the competitor's deals"
        )
    if scenario.hindsight is None:
        raise InputError(
            f"{context}; a race uses only racing deals: remove it from the competitor's deals "
            "(only a labelled replay, hindsight: 'assumption: why', keeps the deal list of its "
            "time)"
        )


def check_deals_known_at_start(scenario, catalog: Catalog, where: str) -> None:
    """Refuse a deal whose `as_of` date is after the scenario's start (look-ahead), naming it.

    A scenario that says `hindsight: 'assumption: why'` (a historical replay with today's data) is
    exempt. A deal is "known" at the start when its terms were checked on or before the first day of
    the start month.
    """
    if scenario.hindsight is not None:
        return
    start_day = f"{scenario.start}-01"
    declared = {d.id: i for i, d in enumerate(scenario.deals)}
    order = {deal_id: i for i, deal_id in enumerate(catalog.deals)}
    for c, comp in enumerate(scenario.competitors):
        for deal_id in comp.deals:
            deal = catalog.deals[deal_id]
            if deal.as_of is not None and deal.as_of > start_day:
                if deal_id in declared:
                    row = f"{where}: deals[{declared[deal_id]}]"
                else:
                    row = f"{display(catalog.data_dir / DEALS_FILE)}: deals[{order[deal_id]}]"
                raise InputError(
                    f"{row}.as_of (id {deal_id!r}): {deal.as_of} "
                    "is after the "
                    f"start {scenario.start} of {where} (competitors[{c}]); a race may only use "
                    "deals known at its "
                    "start: start the race later, drop the deal, or set hindsight: 'assumption: "
                    "why'"
                )


def check_scenario(scenario: Scenario, catalog: Catalog, where: str) -> None:
    """Cross-checks that need the catalog: one lab per campus (or an explicit split), PUE in
    range."""
    users: dict[str, list[int]] = {}
    for i, comp in enumerate(scenario.competitors):
        for campus in dict.fromkeys(
            catalog.deals[d].campus_id for d in comp.deals if d in catalog.deals
        ):
            users.setdefault(campus, []).append(i)
    for campus, indices in users.items():
        if len(indices) < 2:
            continue
        labs = list(dict.fromkeys(scenario.competitors[i].lab for i in indices))
        who = ", ".join(f"competitors[{i}] ({scenario.competitors[i].label})" for i in indices)
        if len(labs) > 1:
            raise InputError(
                f"{where}: campus {campus!r} is used by {who}; a campus belongs to one lab (each "
                "would "
                "get its whole capacity)"
            )
        # One lab's runs on one campus: each would get all of it unless their shares split it.
        top = sum(scenario.competitors[i].share.support()[1] for i in indices)
        if top > 1.0 + 1e-9:
            raise InputError(
                f"{where}: campus {campus!r} is shared by {who}; split it explicitly: their share "
                "values "
                f"may add up to at most 1 (now up to {top:g})"
            )
    for i, comp in enumerate(scenario.competitors):
        if comp.accelerators is not None:
            _check_count(scenario, catalog, i, comp, where)
    delta_low, delta_high = scenario.uncertainty.pue_delta.support()
    for comp in scenario.competitors:
        for deal_id in comp.deals:
            deal = catalog.deals.get(deal_id)
            if deal is None or deal.region not in catalog.sites:
                continue
            base = deal.pue if deal.pue is not None else catalog.sites[deal.region].pue
            if base + delta_low < PUE_MIN - 1e-9:
                # PUE below 1 is impossible: the race clipped it to 1 silently (pue_delta -0.5)
                raise InputError(
                    f"{where}: uncertainty.pue_delta: down to {delta_low:g} on deal {deal_id!r} "
                    f"(PUE {base:g}) reaches PUE {base + delta_low:g}; PUE must stay within "
                    f"[{PUE_MIN:g}, {PUE_MAX:g}]"
                )
            if base + delta_high > PUE_MAX:
                raise InputError(
                    f"{where}: uncertainty.pue_delta: up to {delta_high:g} on deal {deal_id!r} "
                    f"(PUE {base:g}) "
                    f"reaches PUE {base + delta_high:g}; PUE must stay within [{PUE_MIN:g}, "
                    f"{PUE_MAX:g}]"
                )


def _check_count(scenario: Scenario, catalog: Catalog, i: int, comp: Competitor, where: str):
    """A given accelerator count must fit the largest campus (or the pool, when runs span sites)
    at its fullest within the horizon: more can never be online at any launch."""
    campuses: dict[str, float] = {}
    for deal_id in comp.deals:
        deal = catalog.deals.get(deal_id)
        if deal is None:
            continue
        override = scenario.deal_overrides.get(deal_id)
        scale = override.scale if override is not None else 1.0
        end = scenario.start_index + scenario.horizon_months
        online = sum(
            t.accelerators
            for t in deal.tranches
            if deal.start_index + t.month < end
            and deal.start_index + deal.term_months > scenario.start_index
        )
        campuses[deal.campus_id] = campuses.get(deal.campus_id, 0.0) + online * scale
    if not campuses:
        return
    if scenario.span_sites:
        most, where_most = sum(campuses.values()), "all its campuses pooled"
    else:
        where_most = max(campuses, key=campuses.get)
        most = campuses[where_most]
        where_most = f"campus {where_most!r}"
    high = comp.accelerators.support()[1]
    if high > most * (1 + 1e-9):
        raise InputError(
            f"{where}: competitors[{i}].accelerators ({comp.label}): up to {high:,.0f} "
            f"accelerators, more than the {most:,.0f} that {where_most} can have online at any "
            "launch within the horizon; give at most that many, or a share"
        )


# ---------------------------------------------------------------------------------------------
# Memory: a simulation's size, checked before anything is allocated
# ---------------------------------------------------------------------------------------------


def max_memory_bytes() -> float:
    """The memory limit: $COMPUTE_RACE_MAX_MEMORY_GB (a positive number of GiB) or the default."""
    text = os.environ.get(MAX_MEMORY_ENV)
    if text is None or not text.strip():
        return DEFAULT_MAX_MEMORY_GB * 2**30
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not (math.isfinite(value) and value > 0):
        raise InputError(f"${MAX_MEMORY_ENV}: expected a positive number of GiB, got {text!r}")
    return value * 2**30


def estimate_simulation_bytes(
    scenario: Scenario,
    catalog: Catalog,
    *,
    chunk_size: int,
    itemsize: int,
    keep_draws: bool = False,
) -> dict[str, float]:
    """Bytes a simulation will hold at its peak, by part: capacity tables, per-draw results, one
    chunk."""
    dt = scenario.time_step_months
    steps = math.ceil(scenario.horizon_months / dt - 1e-9)
    h = dt / _SUBSTEPS
    tables = 0.0
    chunk_arrays = _CHUNK_ARRAYS * len(scenario.competitors)
    for comp in scenario.competitors:
        for deal_id in comp.deals:
            deal = catalog.deals.get(deal_id)
            if deal is None:
                continue
            offset = month_index(deal.start) - month_index(scenario.start)
            delay_cap = max(steps * dt - offset, 0.0) + dt
            cells = delay_cap / h + steps * _SUBSTEPS + 2
            pieces = len(deal.tranches) + len(deal.power_cap_mw or ())
            tables += cells * 8.0 * (_TABLE_TEMPORARIES * pieces + 4)
            chunk_arrays += _CHUNK_ARRAYS_PER_DEAL
    draws = scenario.draws
    per_draw = draws * _STORED_METRICS * itemsize * len(scenario.competitors)
    if keep_draws:
        per_draw += draws * 8.0 * chunk_arrays
    chunk = min(chunk_size, draws) * 8.0 * chunk_arrays
    return {"tables": tables, "per_draw": per_draw, "chunk": chunk}


def check_simulation_size(
    scenario: Scenario,
    catalog: Catalog,
    *,
    chunk_size: int,
    itemsize: int = 4,
    keep_draws: bool = False,
    where: str = "scenario",
) -> None:
    """InputError before anything is allocated when a simulation would need more than the limit."""
    parts = estimate_simulation_bytes(
        scenario, catalog, chunk_size=chunk_size, itemsize=itemsize, keep_draws=keep_draws
    )
    total = sum(parts.values())
    limit = max_memory_bytes()
    if total > limit:
        biggest = max(parts, key=parts.get)
        fix = {
            "tables": "a coarser time_step_months or a shorter horizon_months",
            "per_draw": "fewer draws",
            "chunk": "a smaller chunk_size",
        }[biggest]
        raise InputError(
            f"{where}: needs about {total / 2**30:,.1f} GiB ({scenario.draws:,} draws x "
            f"{math.ceil(scenario.horizon_months / scenario.time_step_months - 1e-9):,} steps of "
            f"{scenario.time_step_months:g} months x the deals' tranches); the limit is "
            f"{limit / 2**30:g} GiB "
            f"(${MAX_MEMORY_ENV}); use {fix}"
        )

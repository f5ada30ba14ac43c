"""The live explorer (notebooks/40_explorer): change a deal, a delay, a share or the target and see
the race again, at full precision, while you move the slider.

`Settings` holds what the controls set; `variant` turns them into a validated what-if of the base
scenario (every change listed, as in the other notebooks); `run` simulates it and returns the race
table and the time-to-train curves; `Explorer` wires ipywidgets to `run` and redraws one figure in
place (plots.RaceExplorerFigure). The same objects run headless (papermill, nbmake): `Explorer.set`
changes controls programmatically and the update happens exactly as when a user moves them.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from ..errors import InputError
from ..inputs.scenario import DealOverride
from ..inputs.specs import Fixed
from ..studies.whatif import WhatIf, delay_distribution, what_if

#: Target FLOP choices of the explorer's slider; 0 means each lab's own next model.
TARGETS_FLOP = (0.0, 1e25, 3e25, 1e26, 3e26, 1e27, 3e27, 1e28)


@dataclass(frozen=True)
class Settings:
    """What the controls set. `deal` belongs to `lab`; 0 keeps the data's or scenario's value for
    the delays, the share and the target."""

    lab: str
    deal: str
    deal_scale: float = 1.0  # factor on the deal's accelerators (0 drops it)
    delivery_delay_months: float = (
        0.0  # mode of the deal's delivery delay, triangular(0.5x, 1x, 1.5x)
    )
    grid_delay_months: float = (
        0.0  # mode of the grid-connection delay of the deal's campus (capped deals)
    )
    share: float = (
        0.0  # fixed share of a campus the lab's run gets, in (0, 1]; 0 keeps the scenario's range
    )
    target_flop: float = (
        0.0  # one common compute target for every lab; 0 keeps each lab's own model
    )


@dataclass(frozen=True)
class Outcome:
    """One explorer run: the settings, the race table, the time-to-train curves and how long it
    took."""

    settings: Settings
    race: Any  # pandas DataFrame: lab, model, p_first, p_within_horizon, months_p10/p50/p90
    curves: Any  # pandas DataFrame: lab, months, p_done
    changes: tuple[str, ...]
    seconds: float
    #: Median training FLOP of each lab's run (over runs that finish; None where none does).
    training_flop_p50: dict = None

    @property
    def p_first(self) -> dict[str, float]:
        return dict(zip(self.race["lab"], self.race["p_first"]))

    @property
    def months_p50(self) -> dict[str, float]:
        return dict(zip(self.race["lab"], self.race["months_p50"]))


def labs_and_deals(base: WhatIf) -> dict[str, list[str]]:
    """The racing labs of the scenario and each one's deals, in scenario order."""
    return {comp.lab: list(comp.deals) for comp in base.scenario.competitors}


def default_settings(base: WhatIf) -> Settings:
    lab, deals = next(iter(labs_and_deals(base).items()))
    return Settings(lab=lab, deal=deals[-1])


def variant(base: WhatIf, settings: Settings) -> WhatIf:
    """The what-if the settings describe, validated like any scenario; InputError names a bad
    control."""
    deals = labs_and_deals(base)
    if settings.lab not in deals:
        raise InputError(f"lab: {settings.lab!r} is not in the race; one of {', '.join(deals)}")
    if settings.deal not in deals[settings.lab]:
        raise InputError(
            f"deal: {settings.deal!r} is not a deal of {settings.lab}; one of "
            f"{', '.join(deals[settings.lab])}"
        )
    if not 0.0 <= settings.share <= 1.0:
        raise InputError(
            f"share: expected 0 (the scenario's range) or a share in (0, 1], got {settings.share!r}"
        )
    changed = base.with_changes(
        target_flop=settings.target_flop,
        deal_scale={settings.deal: settings.deal_scale},
        deal_delay_months={settings.deal: settings.delivery_delay_months},
    )
    scenario, changes = changed.scenario, list(changed.changes)
    update: dict[str, Any] = {}
    if settings.grid_delay_months:
        deal = changed.catalog.deals[settings.deal]
        if deal.power_cap_mw is None:
            raise InputError(
                f"grid delay: {settings.deal} has no power cap (only owned campuses wait for the "
                "grid)"
            )
        dist = delay_distribution(settings.grid_delay_months, name="grid delay")
        overrides = dict(scenario.deal_overrides)
        current = overrides.get(settings.deal, DealOverride())
        overrides[settings.deal] = current.model_copy(update={"power_delay_months": dist})
        update["deal_overrides"] = overrides
        data = deal.power_delay_months.describe() if deal.power_delay_months is not None else "none"
        changes.append(
            f"{settings.deal}: grid connection delay {dist.describe()} months (data: {data})"
        )
    if settings.share:
        update["competitors"] = [
            c.model_copy(update={"share": Fixed(value=float(settings.share))})
            if c.lab == settings.lab
            else c
            for c in scenario.competitors
        ]
        changes.append(
            f"{settings.lab}: its run gets {settings.share:.0%} of a campus (scenario: "
            f"{next(c.share for c in scenario.competitors if c.lab == settings.lab).describe()})"
        )
    if update:
        from ..inputs.scenario import load_scenario

        scenario = load_scenario(scenario.model_copy(update=update).model_dump(), changed.catalog)
    return WhatIf(scenario=scenario, catalog=changed.catalog, changes=tuple(changes))


def run(base: WhatIf, settings: Settings, *, backend: str | None = None) -> Outcome:
    """Simulate the variant the settings describe (the base's draws and seed) and time it."""
    from .tables import time_to_train_curves

    start = time.perf_counter()
    chosen = variant(base, settings)
    result = chosen.simulate(keep_draws=True, backend=backend)
    curves = time_to_train_curves(result)
    return Outcome(
        settings=settings,
        race=result.race,
        curves=curves,
        changes=chosen.changes,
        seconds=time.perf_counter() - start,
        training_flop_p50={c["lab"]: c["training_flop"]["p50"] for c in result.competitors},
    )


class Explorer:
    """ipywidgets controls over `run`, with one figure redrawn in place on every change.

    `widget` is what a notebook displays; `outcome` the latest run; `set(**settings)` changes
    controls from code (one update, as a user's change); `timings` the seconds of every update
    (simulation, curves and redraw).
    """

    def __init__(
        self,
        scenario="scenarios/default.yaml",
        *,
        draws: int | None = None,
        seed: int | None = None,
        backend: str | None = None,
    ):
        import ipywidgets as w

        self.base = what_if(scenario, draws=draws, seed=seed)
        self.backend = backend
        self.deals = labs_and_deals(self.base)
        first = default_settings(self.base)
        style = {"description_width": "17em"}
        layout = w.Layout(width="34em")
        self.controls = {
            "lab": w.Dropdown(
                options=list(self.deals),
                value=first.lab,
                description="lab",
                style=style,
                layout=layout,
            ),
            "deal": w.Dropdown(
                options=self.deals[first.lab],
                value=first.deal,
                description="deal",
                style=style,
                layout=layout,
            ),
            "deal_scale": w.FloatSlider(
                value=1.0,
                min=0.0,
                max=3.0,
                step=0.1,
                description="deal size (x signed)",
                style=style,
                layout=layout,
                continuous_update=False,
            ),
            "delivery_delay_months": w.FloatSlider(
                value=0.0,
                min=0.0,
                max=24.0,
                step=1.0,
                description="delivery delay (months, 0 = data)",
                style=style,
                layout=layout,
                continuous_update=False,
            ),
            "grid_delay_months": w.FloatSlider(
                value=0.0,
                min=0.0,
                max=36.0,
                step=1.0,
                description="grid delay (months, 0 = data)",
                style=style,
                layout=layout,
                continuous_update=False,
            ),
            "share": w.FloatSlider(
                value=0.0,
                min=0.0,
                max=1.0,
                step=0.05,
                description="share of a campus (0 = range)",
                style=style,
                layout=layout,
                continuous_update=False,
                readout_format=".0%",
            ),
            "target_flop": w.SelectionSlider(
                options=[("own model" if t == 0 else f"{t:.0e}", t) for t in TARGETS_FLOP],
                value=0.0,
                description="target (FLOP)",
                style=style,
                layout=layout,
                continuous_update=False,
            ),
        }
        self.status = w.HTML()
        self.image = w.Image(format="png")
        self.timings: list[float] = []
        self._busy = False
        self.outcome = run(self.base, first, backend=backend)
        from .plots import RaceExplorerFigure

        self.figure = RaceExplorerFigure(
            self.outcome.race, self.outcome.curves, title=self._title(self.outcome)
        )
        self._sync_grid_control()
        self._show()
        for control in self.controls.values():
            control.observe(self._changed, names="value")
        controls = list(self.controls.values())
        self.widget = w.VBox(
            [w.HBox([w.VBox(controls[:4]), w.VBox([*controls[4:], self.status])]), self.image]
        )

    # ---- state ----

    def settings(self) -> Settings:
        values = {name: control.value for name, control in self.controls.items()}
        return Settings(**values)

    def set(self, **changes) -> Outcome:
        """Change controls from code; the explorer updates once, as after a user's change."""
        unknown = [k for k in changes if k not in self.controls]
        if unknown:
            raise InputError(
                f"explorer: unknown control {unknown[0]!r}; one of {', '.join(self.controls)}"
            )
        for name, value in changes.items():
            self._check_control(name, value, lab=changes.get("lab", self.controls["lab"].value))
        self._busy = True
        try:
            if "lab" in changes:
                self.controls["lab"].value = changes["lab"]
                self.controls["deal"].options = self.deals[changes["lab"]]
                self.controls["deal"].value = self.deals[changes["lab"]][-1]
            for name, value in changes.items():
                if name != "lab":
                    self.controls[name].value = value
        finally:
            self._busy = False
        return self.update()

    def _check_control(self, name: str, value, *, lab: str) -> None:
        """InputError unless the control can take `value` as it is: a slider would silently clamp 5
        to its maximum, and a dropdown raised a widget TraitError for a value not among its
        options."""
        control = self.controls[name]
        if name == "deal":
            options = list(self.deals.get(lab, []))
        elif name == "target_flop":
            options = [t for _, t in control.options]
        elif hasattr(control, "min"):
            if (
                isinstance(value, bool)
                or not isinstance(value, (int, float))
                or not control.min <= value <= control.max
            ):
                raise InputError(
                    f"explorer: {name}: expected a number from {control.min:g} to {control.max:g}, "
                    f"got {value!r}"
                )
            return
        else:
            options = list(control.options)
        if value not in options:
            raise InputError(
                f"explorer: {name}: expected one of {', '.join(map(str, options))}, got {value!r}"
            )

    def update(self) -> Outcome:
        """Run the race for the controls' settings and redraw; a bad combination shows its
        message."""
        start = time.perf_counter()
        self._sync_grid_control()
        try:
            outcome = run(self.base, self.settings(), backend=self.backend)
        except InputError as err:
            self.status.value = f"<b>cannot run:</b> {err}"
            return self.outcome
        self.outcome = outcome
        self.figure.update(outcome.race, outcome.curves, title=self._title(outcome))
        self.image.value = self.figure.png()
        self.timings.append(time.perf_counter() - start)
        self._show_status()
        return outcome

    # ---- widgets ----

    def _changed(self, change) -> None:
        if self._busy:
            return
        if change["owner"] is self.controls["lab"]:
            self._busy = True
            try:
                self.controls["deal"].options = self.deals[change["new"]]
                self.controls["deal"].value = self.deals[change["new"]][-1]
            finally:
                self._busy = False
        self.update()

    def _sync_grid_control(self) -> None:
        deal = self.base.catalog.deals[self.controls["deal"].value]
        capped = deal.power_cap_mw is not None
        grid = self.controls["grid_delay_months"]
        grid.disabled = not capped
        if not capped and grid.value:
            self._busy, was = True, self._busy
            try:
                grid.value = 0.0
            finally:
                self._busy = was

    def _title(self, outcome: Outcome) -> str:
        changes = "; ".join(outcome.changes) or "the scenario as written"
        return f"{self.base.scenario.draws:,} draws: {changes}"

    @property
    def median_update_seconds(self) -> float:
        """Median seconds of the updates so far (rerun, curves and redraw), the figure the notebook
        reports."""
        import statistics

        return statistics.median_high(self.timings) if self.timings else self.outcome.seconds

    def _show(self) -> None:
        self.image.value = self.figure.png()
        self._show_status()

    def _show_status(self) -> None:
        seconds = self.timings[-1] if self.timings else self.outcome.seconds
        self.status.value = f"updated in {seconds:.2f} s ({self.base.scenario.draws:,} draws)"


def compare(before: Outcome, after: Outcome):
    """Before and after one change, per lab: P(first) and median time-to-train (months from January
    2026)."""
    import pandas as pd

    labs = [lab for lab in before.race["lab"] if lab in after.p_first]
    return pd.DataFrame(
        {
            "P(first) before (%)": [100 * before.p_first[lab] for lab in labs],
            "P(first) after (%)": [100 * after.p_first[lab] for lab in labs],
            "median months before": [before.months_p50.get(lab) for lab in labs],
            "median months after": [after.months_p50.get(lab) for lab in labs],
        },
        index=pd.Index(labs, name="lab"),
    ).round(1)

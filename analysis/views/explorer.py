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
#: Fixed shares of a campus the share slider offers beside the scenario's own range (0).
SHARES = (0.0, 0.02, 0.05, 0.1, 0.15, 0.2, 0.3, 0.4, 0.5, 0.75, 1.0)
#: The deal a lab's controls open on: the one whose size moves the race most at the opening's
#: common 1e26-FLOP target (tests/test_explorer.py: scaling DeepSeek's H800s or Alibaba's
#: domestic chips from 0 to 3x moves P(first) by about 9 and 21 points). No single deal of Meta's
#: moves it by a point: a run launches on the largest campus online, and Meta has several; its
#: controls open on Prometheus, the largest. A lab not listed opens on its first deal.
DEFAULT_DEALS = {
    "Meta": "meta-prometheus",
    "DeepSeek": "deepseek-h800",
    "Alibaba": "alibaba-capex-2025-domestic",
}
#: The question the explorer opens on, so its first figure already shows a change and its
#: deltas: "what if every lab aimed at the same 1e26-FLOP run?" Without a target each lab's run
#: trains for its budget and the race is one of launch dates; with one, capacity decides who can
#: launch a run big enough, and when.
OPENING = {"lab": "Meta", "deal": "meta-coreweave-2025", "target_flop": 1e26}


@dataclass(frozen=True)
class Settings:
    """What the controls set. `deal` belongs to `lab`; the delays are the most likely delay m of a
    triangular(0.5m, m, 1.5m) in months, None keeping the data's own distribution; `share` 0 keeps
    the scenario's range and `target_flop` 0 each lab's own model."""

    lab: str
    deal: str
    deal_scale: float = 1.0  # factor on the deal's accelerators (0 drops it)
    delivery_delay_months: float | None = None  # None: the data's delivery delay
    grid_delay_months: float | None = None  # None: the data's grid delay (capped campuses only)
    share: float = 0.0  # fixed share of a campus for the lab's run, in (0, 1]; 0: the scenario's
    target_flop: float = 0.0  # one common compute target for every lab; 0: each lab's own model


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


def default_deal(base: WhatIf, lab: str) -> str:
    """The deal `lab`'s controls open on (`DEFAULT_DEALS`, else its first deal)."""
    deals = labs_and_deals(base)[lab]
    return DEFAULT_DEALS[lab] if DEFAULT_DEALS.get(lab) in deals else deals[0]


def default_settings(base: WhatIf, lab: str | None = None) -> Settings:
    """No change at all, with the controls on `lab` (default: the first racing lab) and its
    default deal."""
    lab = lab or next(iter(labs_and_deals(base)))
    return Settings(lab=lab, deal=default_deal(base, lab))


def opening_settings(base: WhatIf) -> Settings:
    """The question the explorer opens on (`OPENING`), or no change where the scenario lacks its
    lab or deal."""
    deals = labs_and_deals(base)
    if OPENING["deal"] in deals.get(OPENING["lab"], []):
        return Settings(**OPENING)
    return default_settings(base)


def data_delays(base: WhatIf, deal_id: str) -> dict[str, float | None]:
    """The most likely delivery and grid delays of a deal in the data (months; median of the
    distribution), where the sliders open; grid None for a deal without a power cap."""
    deal = base.catalog.deals[deal_id]
    grid = None
    if deal.power_cap_mw is not None:
        grid = deal.power_delay_months.median() if deal.power_delay_months is not None else 0.0
    return {"delivery_delay_months": deal.delay_months.median(), "grid_delay_months": grid}


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
    delivery = settings.delivery_delay_months
    changed = base.with_changes(
        target_flop=settings.target_flop,
        deal_scale={settings.deal: settings.deal_scale},
        # a distribution, so that an explicit 0 months is a change (a number 0 keeps the data's)
        deal_delay_months={}
        if delivery is None
        else {settings.deal: delay_distribution(delivery, name="delivery delay")},
    )
    scenario, changes = changed.scenario, list(changed.changes)
    update: dict[str, Any] = {}
    if settings.grid_delay_months is not None:
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

    `widget` is what a notebook displays; `outcome` the latest run; `baseline` the scenario as
    written (the figure shows every change against it); `set(**settings)` changes controls from
    code (one update, as a user's change); `timings` the seconds of every update (simulation,
    curves and redraw).

    Choosing another lab or deal reloads the controls for it (its deal's size at 100%, its delays
    as in the data, for a new lab the scenario's share) before the race runs again: the values
    set for the previous deal are never applied to the new one.
    """

    #: Description column and control width: two columns of controls fit a notebook at 1280 px
    #: with JupyterLab's file browser open, one column below that (a CSS grid that wraps).
    DESCRIPTION_WIDTH = "12em"
    COLUMN_MIN = "25em"

    def __init__(
        self,
        scenario="scenarios/default.yaml",
        *,
        draws: int | None = None,
        seed: int | None = None,
        backend: str | None = None,
        opening: Settings | None = None,
    ):
        import ipywidgets as w

        self.base = what_if(scenario, draws=draws, seed=seed)
        self.backend = backend
        self.deals = labs_and_deals(self.base)
        first = opening or opening_settings(self.base)
        style = {"description_width": self.DESCRIPTION_WIDTH}
        layout = {"width": "98%"}

        def slider(kind, **kwargs):
            return kind(style=style, layout=w.Layout(**layout), continuous_update=False, **kwargs)

        self.controls = {
            "lab": w.Dropdown(
                options=list(self.deals),
                value=first.lab,
                description="lab",
                style=style,
                layout=w.Layout(**layout),
            ),
            "deal": w.Dropdown(
                options=self.deals[first.lab],
                value=first.deal,
                description="deal",
                style=style,
                layout=w.Layout(**layout),
            ),
            "deal_scale": slider(
                w.FloatSlider,
                value=1.0,
                min=0.0,
                max=3.0,
                step=0.1,
                description="deal size (% of signed)",
                readout_format=".0%",
            ),
            "delivery_delay_months": slider(
                w.FloatSlider,
                value=0.0,
                min=0.0,
                max=24.0,
                step=1.0,
                description="delivery delay (months)",
                readout_format=".0f",
            ),
            "grid_delay_months": slider(
                w.FloatSlider,
                value=0.0,
                min=0.0,
                max=36.0,
                step=1.0,
                description="grid delay (months)",
                readout_format=".0f",
            ),
            # discrete choices as dropdowns: a selection slider's readout cut their labels short
            "share": w.Dropdown(
                options=self._share_options(first.lab),
                value=0.0,
                description="share of a campus",
                style=style,
                layout=w.Layout(**layout),
            ),
            "target_flop": w.Dropdown(
                options=[("each lab's own model", 0.0)]
                + [(f"{t:.0e} FLOP for every lab", t) for t in TARGETS_FLOP[1:]],
                value=0.0,
                description="compute target",
                style=style,
                layout=w.Layout(**layout),
            ),
        }
        self.changes = w.HTML()
        self.status = w.HTML()
        self.note = w.HTML(
            "<small>Delays: the slider sets the most likely delay m (range 0.5m to 1.5m); where "
            "it opens, on the data's own most likely value, the data's own range is used. "
            "Changing the lab or the deal resets these controls for it.</small>"
        )
        self.image = w.Image(format="png", layout=w.Layout(width="100%", max_width="1100px"))
        self.timings: list[float] = []
        self._busy = False
        self._loaded = {"delivery_delay_months": None, "grid_delay_months": None}
        self._load_deal(first.deal)
        self._apply(first)
        baseline = run(self.base, default_settings(self.base, first.lab), backend=backend)
        self.baseline = baseline
        self.outcome = run(self.base, self.settings(), backend=backend)
        from .plots import RaceExplorerFigure

        self.figure = RaceExplorerFigure(
            self.outcome.race,
            self.outcome.curves,
            title=self._title(self.outcome),
            baseline=(baseline.race, baseline.curves),
        )
        self._show()
        for control in self.controls.values():
            control.observe(self._changed, names="value")
        grid = w.GridBox(
            list(self.controls.values()),
            layout=w.Layout(
                grid_template_columns=f"repeat(auto-fill, minmax({self.COLUMN_MIN}, 1fr))",
                grid_gap="2px 1em",
                width="100%",
            ),
        )
        self.widget = w.VBox(
            [grid, self.note, self.status, self.changes, self.image],
            layout=w.Layout(width="100%", max_width="1100px"),
        )

    # ---- state ----

    def settings(self) -> Settings:
        """What the controls now describe; a delay left where it was loaded keeps the data's."""
        values = {name: control.value for name, control in self.controls.items()}
        for name, loaded in self._loaded.items():
            if loaded is None or values[name] == loaded:
                values[name] = None
        if self.controls["grid_delay_months"].disabled:
            values["grid_delay_months"] = None
        return Settings(**values)

    def set(self, **changes) -> Outcome:
        """Change controls from code; the explorer updates once, as after a user's change. A new
        lab or deal first reloads the controls for it; the other values given are then applied
        (a delay: months; None keeps the data's)."""
        unknown = [k for k in changes if k not in self.controls]
        if unknown:
            raise InputError(
                f"explorer: unknown control {unknown[0]!r}; one of {', '.join(self.controls)}"
            )
        lab = changes.get("lab", self.controls["lab"].value)
        for name, value in changes.items():
            if value is None and name in self._loaded:
                continue
            self._check_control(name, value, lab=lab)
        self._busy = True
        try:
            if "lab" in changes and changes["lab"] != self.controls["lab"].value:
                self._switch_lab(changes["lab"])
            if "deal" in changes and changes["deal"] != self.controls["deal"].value:
                self._switch_deal(changes["deal"])
            for name, value in changes.items():
                if name in ("lab", "deal"):
                    continue
                if value is None and name in self._loaded:
                    value = self._loaded[name] if self._loaded[name] is not None else 0.0
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
        elif name in ("target_flop", "share"):
            options = [v for _, v in control.options]
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

    # ---- reloading the controls for a new lab or deal ----

    def _share_options(self, lab: str) -> list[tuple[str, float]]:
        share = next(c.share for c in self.base.scenario.competitors if c.lab == lab)
        low, high = share.support()
        scenario = f"as in the scenario ({low:.0%}" + (f" to {high:.0%})" if high > low else ")")
        return [(scenario, 0.0)] + [(f"{s:.0%}", s) for s in SHARES[1:]]

    def _load_deal(self, deal_id: str) -> None:
        """The deal's own values on its controls: size 100%, delays as in the data, the grid delay
        disabled for a deal without a power cap."""
        delays = data_delays(self.base, deal_id)
        self._loaded = dict(delays)
        self.controls["deal_scale"].value = 1.0
        self.controls["delivery_delay_months"].value = round(delays["delivery_delay_months"])
        self._loaded["delivery_delay_months"] = self.controls["delivery_delay_months"].value
        grid = self.controls["grid_delay_months"]
        grid.disabled = delays["grid_delay_months"] is None
        grid.value = round(delays["grid_delay_months"] or 0.0)
        self._loaded["grid_delay_months"] = None if grid.disabled else grid.value

    def _switch_deal(self, deal_id: str) -> None:
        self.controls["deal"].value = deal_id
        self._load_deal(deal_id)

    def _switch_lab(self, lab: str) -> None:
        self.controls["lab"].value = lab
        share = self.controls["share"]
        share.options = self._share_options(lab)
        share.value = 0.0
        self.controls["deal"].options = self.deals[lab]
        self._switch_deal(default_deal(self.base, lab))

    def _apply(self, settings: Settings) -> None:
        """Put `settings` on the controls without running (the opening question)."""
        self._busy = True
        try:
            for name in ("deal_scale", "share", "target_flop"):
                self.controls[name].value = getattr(settings, name)
            for name in self._loaded:
                if getattr(settings, name) is not None:
                    self.controls[name].value = getattr(settings, name)
        finally:
            self._busy = False

    # ---- widgets ----

    def _changed(self, change) -> None:
        if self._busy:
            return
        owner = change["owner"]
        if owner is self.controls["lab"] or owner is self.controls["deal"]:
            self._busy = True
            try:
                if owner is self.controls["lab"]:
                    self._switch_lab(change["new"])
                else:
                    self._load_deal(change["new"])
            finally:
                self._busy = False
        self.update()

    def _title(self, outcome: Outcome) -> str:
        draws = f"{self.base.scenario.draws:,} draws"
        if not outcome.changes:
            return f"{draws}: the scenario as written"
        return f"{draws}, changes from the scenario as written:\n" + "\n".join(outcome.changes)

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
        import html

        seconds = self.timings[-1] if self.timings else self.outcome.seconds
        self.status.value = f"updated in {seconds:.2f} s ({self.base.scenario.draws:,} draws)"
        items = "".join(f"<li>{html.escape(c)}</li>" for c in self.outcome.changes)
        self.changes.value = (
            f"<b>Simulated:</b> changes from the scenario as written<ul>{items}</ul>"
            if items
            else "<b>Simulated:</b> the scenario as written"
        )


def compare(before: Outcome, after: Outcome):
    """Before and after one change, per lab: P(first) and median time-to-train (months from January
    2026)."""
    import pandas as pd

    labs = [
        lab
        for lab in before.race["lab"]
        if lab in after.p_first and not str(lab).startswith("nobody")  # not a competitor
    ]
    return pd.DataFrame(
        {
            "P(first) before (%)": [100 * before.p_first[lab] for lab in labs],
            "P(first) after (%)": [100 * after.p_first[lab] for lab in labs],
            "median months before": [before.months_p50.get(lab) for lab in labs],
            "median months after": [after.months_p50.get(lab) for lab in labs],
        },
        index=pd.Index(labs, name="lab"),
    ).round(1)

"""The declared parameters of every notebook: one pydantic model per notebook, keyed by its name.

The notebook's `parameters` cell holds the defaults papermill overrides; the model says which names
exist and what each may hold. Three places use it, so a parameter cannot be misspelt anywhere:

- the notebook's setup cell (`analysis.runs.cells.check_parameters("20_time_to_train_race",
  globals())`) stops on an unknown name papermill injected (papermill itself only warns) or an
  ill-typed value, with one line and no traceback;
- `python -m analysis report` checks what it passes (`draws`, `metrics_path`) before running;
- `python -m analysis sweep` checks a sweep file's `parameters`, `grid` and `points` before running.

Types are strict: a number is never a string or true/false; a whole float (papermill reads `2e4` as
20000.0) is accepted where a count is declared; an int is accepted where a float is.
"""

from __future__ import annotations

import ast
import difflib
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    TypeAdapter,
    ValidationError,
)

from ..errors import InputError
from ..inputs.limits import parse_whole
from ..inputs.specs import MAX_TRAINING_FLOP, MIN_MFU, MIN_TRAINING_FLOP

#: The comment papermill puts at the top of the cell it injects (papermill.translators, `codify`).
PAPERMILL_COMMENT = "# Parameters"


class ParameterError(InputError):
    """A notebook parameter that is unknown, missing or ill-typed. In a notebook (IPython) its
    traceback is the message alone: the one line that says what to change."""

    def _render_traceback_(self) -> list[str]:
        return [f"{type(self).__name__}: {self}"]


# ---- field types ---------------------------------------------------------------------------------


def _whole(value: Any) -> Any:
    """A number the one whole-number parser reads as whole (papermill's `-p draws 2e4` is 20000.0)
    as an int; anything else, text included, as is, for the strict int type to refuse."""
    if isinstance(value, str):
        return value
    whole = parse_whole(value)
    return value if whole is None else whole


def _scenario_exists(value: str) -> str:
    from ..studies.whatif import scenario_path

    try:
        scenario_path(value)
    except (
        InputError
    ) as err:  # "scenario: file ... not found ...; known: ..." without the repeated name
        raise ValueError(str(err).removeprefix("scenario: ")) from None
    return value


def _pue(value: float) -> float:
    if value != 0 and not 1.0 <= value <= 3.0:
        raise ValueError(f"expected 0 (each site's own) or a PUE from 1 to 3, got {value!r}")
    return value


def _zero_or(low: float, high: float, zero_means: str):
    """A check for a parameter where 0 means `zero_means` and any other value must lie in [low,
    high] (the range the same input has in a scenario or on the command line)."""

    def check(value: float) -> float:
        if value != 0 and not low <= value <= high:
            raise ValueError(
                f"expected 0 ({zero_means}) or a number from {low:g} to {high:g}, got {value!r}"
            )
        return value

    return check


def _rentable_accelerator(value: str) -> str:
    from ..studies.economics import rent_vs_build_accelerators

    known = rent_vs_build_accelerators()
    if value not in known:
        raise ValueError(f"{value!r} has no purchase and rental price; one of {', '.join(known)}")
    return value


def Count(low: int | None = None, high: int | None = None):  # noqa: N802 (a type factory)
    return Annotated[int, BeforeValidator(_whole), Field(strict=True, ge=low, le=high)]


def Number(low: float | None = None, high: float | None = None, *, above: float | None = None):  # noqa: N802
    return Annotated[float, Field(strict=True, ge=low, le=high, gt=above, allow_inf_nan=False)]


Text = Annotated[str, Field(strict=True)]
#: A common compute target (0: each lab's own model) and a fixed MFU (0: the calibrated prior).
TargetFlop = Annotated[
    float,
    Field(strict=True, allow_inf_nan=False),
    AfterValidator(_zero_or(MIN_TRAINING_FLOP, MAX_TRAINING_FLOP, "each lab's own model")),
]
FixedMfu = Annotated[
    float,
    Field(strict=True, allow_inf_nan=False),
    AfterValidator(_zero_or(MIN_MFU, 1.0, "the calibrated prior")),
]
Draws = Count(1, 20_000_000)
Seed = Count(0)
Scenario = Annotated[str, Field(strict=True, min_length=1), AfterValidator(_scenario_exists)]
Backend = Literal["auto", "numpy", "cupy"]
MetricsPath = Text


class NotebookParameters(BaseModel):
    """Base of every notebook's model: no other names, no coercion, values as papermill passes
    them."""

    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)

    metrics_path: MetricsPath


class Assumptions(NotebookParameters):
    precision: Literal["bf16", "fp8"]
    min_year: Count(2010, 2035)
    scenario: Scenario


class ComputeBudgets(NotebookParameters):
    draws: Draws
    seed: Seed
    scenario: Scenario


class CapacityDeals(ComputeBudgets):
    power_cap_scale: Number(0.0, 100.0)


class TimeToTrainRace(ComputeBudgets):
    coreweave_2026_scale: Number(0.0, 100.0)
    coreweave_delay_months: Number(0.0, 120.0)
    target_flop: TargetFlop
    effect_target_flop: TargetFlop
    breakeven_target_effective_flop: Number(MIN_TRAINING_FLOP, MAX_TRAINING_FLOP)
    backend: Backend


class Hindcast(NotebookParameters):
    draws: Draws
    seed: Seed
    backend: Backend


class CostPowerCarbon(ComputeBudgets):
    power_cap_scale: Number(0.0, 100.0)
    pue: Annotated[float, Field(strict=True, allow_inf_nan=False), AfterValidator(_pue)]
    accelerator: Annotated[str, Field(strict=True), AfterValidator(_rentable_accelerator)]
    mfu: FixedMfu
    run_flop: Number(1e18, MAX_TRAINING_FLOP)
    backend: Backend


class Sensitivity(ComputeBudgets):
    draws: Count(200, 20_000_000)
    target_flop: TargetFlop
    tail: Number(0.01, 0.5)
    top: Count(1, 50)
    backend: Backend


class Backtest(NotebookParameters):
    draws: Count(100, 10_000_000)
    seed: Seed
    leave_out: Literal["organization", "generation", "year", "run", "group"]
    naive_mfu: Number(1e-3, 1.0)


class Explorer(ComputeBudgets):
    backend: Backend


#: Every notebook's parameter model, by notebook name (the file name without .ipynb / .py).
MODELS: dict[str, type[NotebookParameters]] = {
    "00_assumptions": Assumptions,
    "10_compute_budgets": ComputeBudgets,
    "11_capacity_deals": CapacityDeals,
    "20_time_to_train_race": TimeToTrainRace,
    "21_cost_power_carbon": CostPowerCarbon,
    "22_sensitivity": Sensitivity,
    "30_backtest": Backtest,
    "31_hindcast": Hindcast,
    "40_explorer": Explorer,
}


# ---- checking
# --------------------------------------------------------------------------------------


def model_for(notebook: str | Path) -> type[NotebookParameters] | None:
    """The parameter model of a notebook (by name or path), or None for a notebook without one."""
    return MODELS.get(
        Path(notebook).stem
        if not isinstance(notebook, str) or notebook.endswith((".ipynb", ".py"))
        else notebook
    )


def _model(notebook: str) -> type[NotebookParameters]:
    model = model_for(notebook)
    if model is None:
        raise ParameterError(
            f"{notebook!r} is not a notebook with declared parameters; known: {', '.join(MODELS)}"
        )
    return model


def unknown_parameter(notebook: str, name: str) -> ParameterError:
    """The one-line error for a name the notebook does not declare, with the closest names."""
    known = list(_model(notebook).model_fields)
    close = difflib.get_close_matches(name, known, n=1, cutoff=0.6)
    hint = f"did you mean {close[0]!r}?" if close else f"its parameters: {', '.join(known)}"
    return ParameterError(f"parameter {name!r} is not a parameter of {notebook}; {hint}")


def _describe(
    notebook: str, err: ValidationError, values: dict[str, Any], name: str | None = None
) -> ParameterError:
    """One line from pydantic's first error: which parameter, of which notebook, what is wrong."""
    first = err.errors(include_url=False)[0]
    if name is None:
        loc = [str(p) for p in first["loc"] if not isinstance(p, int)]
        name = loc[0] if loc else "?"
    if first["type"] == "extra_forbidden":
        return unknown_parameter(notebook, name)
    if first["type"] == "missing":
        return ParameterError(
            f"parameter {name!r} of {notebook} is missing (the parameters cell declares it)"
        )
    msg = first["msg"]
    for prefix in ("Value error, ", "Assertion failed, "):
        msg = msg.removeprefix(prefix)
    msg = msg[:1].lower() + msg[1:]
    got = values.get(name, first.get("input"))
    if (isinstance(got, (bool, int, float, str)) or got is None) and repr(got) not in msg:
        msg = f"{msg}; got {got!r} ({type(got).__name__})"
    return ParameterError(f"parameter {name!r} of {notebook}: {msg}")


def check(notebook: str, values: dict[str, Any], *, partial: bool = False) -> dict[str, Any]:
    """Validate `values` against the notebook's model; the values as the notebook receives them.

    partial: only the names given are checked (a sweep or the report sets some parameters and the
    notebook's defaults hold the rest); otherwise every declared name must be present.
    Raises ParameterError (an InputError, one line) naming the parameter and the notebook.
    """
    model = _model(notebook)
    for name in values:
        if name not in model.model_fields:
            raise unknown_parameter(notebook, str(name))
    if partial:
        out = {}
        for name, value in values.items():
            field = model.model_fields[name]
            try:
                kind = (
                    Annotated[field.annotation, *field.metadata]
                    if field.metadata
                    else field.annotation
                )
                out[name] = TypeAdapter(kind).validate_python(value, strict=True)
            except ValidationError as err:
                raise _describe(notebook, err, values, name) from None
        return out
    try:
        return model.model_validate(values).model_dump()
    except ValidationError as err:
        raise _describe(notebook, err, values) from None
    except (
        InputError
    ) as err:  # a validator's own InputError (e.g. a scenario file that is not there)
        raise ParameterError(str(err)) from None


def injected_names(history: list[str] | None) -> list[str]:
    """Names papermill injected in this kernel: the assignments of its last `# Parameters` cell."""
    for source in reversed(history or []):
        if isinstance(source, str) and source.lstrip().startswith(PAPERMILL_COMMENT):
            try:
                tree = ast.parse(source)
            except SyntaxError:
                return []
            return [
                t.id
                for node in tree.body
                if isinstance(node, ast.Assign)
                for t in node.targets
                if isinstance(t, ast.Name)
            ]
    return []


def check_namespace(notebook: str, namespace: dict[str, Any]) -> BaseModel:
    """A notebook's setup cell: its parameters from `namespace` (the notebook's globals()), checked.

    Names papermill injected that the notebook does not declare are errors (papermill only warns and
    runs with the defaults); so are missing and ill-typed values.
    """
    model = _model(notebook)
    for name in injected_names(namespace.get("In")):
        if name not in model.model_fields:
            raise unknown_parameter(notebook, name)
    values = {name: namespace[name] for name in model.model_fields if name in namespace}
    missing = [name for name in model.model_fields if name not in namespace]
    if missing:
        raise ParameterError(
            f"parameter {missing[0]!r} of {notebook} is missing (the parameters cell declares it)"
        )
    try:
        return model.model_validate(values)
    except ValidationError as err:
        raise _describe(notebook, err, values) from None
    except InputError as err:
        raise ParameterError(str(err)) from None

"""Numbers for people: one formatter per kind of quantity, and tables whose headers carry the unit.

Every table (`present`), the CLI's text tables and the report's index go through this module, so a
probability always reads ``45.2%``, a count ``325,718``, money ``$25.9M``, a duration ``12.3``
months, training compute ``3.2e26`` FLOP. The kind of a column or metric is read from its name,
where the project keeps units (``cost_p50_usd``, ``energy_mwh``, ``p_first``,
``time_to_train_p50_months_meta``): see `kind_of`. A column holds one unit; a long table that mixes
units in one column is pivoted first.

In the base, not the views: the model's results (`to_table`) use it; it imports nothing of ours.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Callable

if TYPE_CHECKING:
    import pandas as pd
    from pandas.io.formats.style import Styler

MISSING = "-"


def _finite(value: Any) -> float | None:
    """The value as a finite float, or None (None, NaN, inf, a non-number)."""
    if value is None or isinstance(value, bool):
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


def probability(value: Any, digits: int = 1) -> str:
    """A probability or fraction in [0, 1] as a percentage: ``0.452 -> '45.2%'``.

    A value that is not exactly 0 or 1 never rounds to it: ``0.99996 -> '>99.9%'``, ``4e-5 ->
    '<0.1%'`` (a forecast of certainty is a different claim from a near-certainty).
    """
    p = _finite(value)
    if p is None:
        return MISSING
    step = 10.0**-digits
    text = f"{p * 100:.{digits}f}"
    if 0 < p < 1:
        if float(text) <= 0:
            return f"<{step:.{digits}f}%"
        if float(text) >= 100:
            return f">{100 - step:.{digits}f}%"
    return f"{text}%"


def percentage_points(value: Any, digits: int = 1) -> str:
    """A difference of probabilities, signed: ``0.12 -> '+12.0 pp'``."""
    d = _finite(value)
    if d is None:
        return MISSING
    return points(d * 100, digits)


def points(value: Any, digits: int = 1) -> str:
    """A value already in percentage points, signed: ``11.745 -> '+11.7 pp'`` (a name ending in
    ``_pp``: the project keeps such differences in points, not as fractions)."""
    d = _finite(value)
    if d is None:
        return MISSING
    text = f"{d:+.{digits}f}"
    if float(text) == 0:
        text = f"{0:.{digits}f}"
    return f"{text} pp"


def count(value: Any) -> str:
    """A count as an integer with thousands separators: ``325717.5 -> '325,718'``."""
    n = _finite(value)
    if n is None:
        return MISSING
    return f"{round(n):,}"


def _compact(magnitude: float) -> tuple[float, str]:
    for size, suffix in ((1e12, "T"), (1e9, "B"), (1e6, "M"), (1e3, "K")):
        if magnitude >= size:
            return size, suffix
    return 1.0, ""


def _significant(value: float, digits: int = 3) -> str:
    """`digits` significant figures without scientific notation or trailing float noise."""
    if value == 0:
        return "0"
    decimals = max(digits - 1 - math.floor(math.log10(abs(value))), 0)
    text = f"{value:,.{decimals}f}"
    # rounding can carry into a new digit (9.996 -> 10.00): keep `digits` significant figures
    if (
        decimals
        and len(text.replace(",", "").replace("-", "").replace(".", "").lstrip("0")) > digits
    ):
        text = f"{value:,.{decimals - 1}f}"
    return text


def money(value: Any, digits: int = 3) -> str:
    """US dollars with K/M/B/T: ``25867340 -> '$25.9M'``, ``14.2e9 -> '$14.2B'``, ``2.5 ->
    '$2.50'``; scientific from $1,000T (``2.96e22 -> '$2.96e22'``) and below a millionth of a
    dollar."""
    usd = _finite(value)
    if usd is None:
        return MISSING
    sign = "-" if usd < 0 else ""
    magnitude = abs(usd)
    if magnitude == 0:
        return "$0"
    if (
        magnitude >= 1e15 or magnitude < 1e-6
    ):  # '$29,566,099,038T' and '$0.000...0179' read as nothing
        return f"{sign}${scientific(magnitude, digits)}"
    size, suffix = _compact(magnitude)
    if suffix == "K" and magnitude < 1e4:  # $1,234 reads better than $1.23K
        size, suffix = 1.0, ""
    if size == 1.0:
        if magnitude >= 100:
            text = f"{magnitude:,.0f}"
        elif magnitude >= 0.01 or magnitude == 0:
            text = f"{magnitude:,.2f}"
        else:  # fractions of a cent (USD per PFLOP): significant figures, not $0.00
            text = _significant(magnitude, digits)
    else:
        scaled = magnitude / size
        text = _significant(scaled, digits)
        if float(text.replace(",", "")) >= 1000 and suffix != "T":  # 999.96M -> 1.00B
            bigger = {"K": (1e6, "M"), "M": (1e9, "B"), "B": (1e12, "T")}[suffix]
            size, suffix = bigger
            text = _significant(magnitude / size, digits)
    return f"{sign}${text}{suffix}"


def months(value: Any, digits: int = 1) -> str:
    """A duration in months with `digits` decimals, no float noise: ``2.38e-07 -> '0.0'``."""
    m = _finite(value)
    if m is None:
        return MISSING
    text = f"{m:.{digits}f}"
    return text.lstrip("-") if float(text) == 0 else text


def signed_months(value: Any, digits: int = 1) -> str:
    """A lead or a saving in months, signed: ``1.25 -> '+1.2'``."""
    m = _finite(value)
    if m is None:
        return MISSING
    text = f"{m:+.{digits}f}"
    return f"{0:.{digits}f}" if float(text) == 0 else text


def scientific(value: Any, digits: int = 2) -> str:
    """A very large quantity (FLOP, FLOP/s) as ``3.2e26`` (mantissa with `digits` significant
    figures)."""
    x = _finite(value)
    if x is None:
        return MISSING
    if x == 0:
        return "0"
    mantissa, exponent = f"{x:.{digits - 1}e}".split("e")
    return f"{mantissa}e{int(exponent)}"


def quantity(value: Any, digits: int = 3) -> str:
    """Any other quantity: 3 significant figures, thousands separators, K/M/B above a million
    (``1234.5 -> '1,230'``, ``30.8e6 -> '30.8M'``), scientific only beyond 1e15 or below 1e-3."""
    x = _finite(value)
    if x is None:
        return MISSING
    magnitude = abs(x)
    if magnitude == 0:
        return "0"
    if magnitude >= 1e15 or magnitude < 1e-3:
        return scientific(x, digits)
    if magnitude >= 1e6:
        size, suffix = _compact(magnitude)
        text = _significant(x / size, digits)
        if abs(float(text.replace(",", ""))) >= 1000 and suffix != "T":
            size, suffix = {"M": (1e9, "B"), "B": (1e12, "T")}[suffix]
            text = _significant(x / size, digits)
        return f"{text}{suffix}"
    return _significant(x, digits)


def tick(text: str) -> str:
    """An axis tick label without trailing zeros: ``'$10.0M' -> '$10M'``, ``'5.00e24' ->
    '5e24'``."""
    return re.sub(r"\.0+(?=\D|$)|(\.\d*?[1-9])0+(?=\D|$)", lambda m: m.group(1) or "", text)


def number(value: Any, digits: int = 3) -> str:
    """A plain ratio or factor (PUE, a multiplier, an index): ``1.1``, ``0.42``."""
    x = _finite(value)
    if x is None:
        return MISSING
    text = quantity(x, digits)
    if "." in text and "e" not in text and text[-1].isdigit():
        text = text.rstrip("0").rstrip(".")
    return text


def year(value: Any) -> str:
    """A calendar year, without a thousands separator."""
    x = _finite(value)
    return MISSING if x is None else f"{int(round(x))}"


@dataclass(frozen=True)
class Kind:
    """How a column or metric is shown: its formatter and the unit its header names ("" for
    none)."""

    name: str
    unit: str
    format: Callable[[Any], str]


KINDS = {
    "probability": Kind("probability", "%", probability),
    "points": Kind("points", "pp", percentage_points),
    "pp": Kind("pp", "pp", points),
    "count": Kind("count", "", count),
    "money": Kind("money", "$", money),
    "months": Kind("months", "months", months),
    "lead": Kind("lead", "months", signed_months),
    "flop": Kind("flop", "FLOP", scientific),
    "flop_per_s": Kind("flop_per_s", "FLOP/s", scientific),
    "params": Kind("params", "", quantity),
    "hours": Kind("hours", "accelerator-hours", quantity),
    "mwh": Kind("mwh", "MWh", quantity),
    "mw": Kind("mw", "MW", quantity),
    "w": Kind("w", "W", count),
    "tco2e": Kind("tco2e", "tCO2e", quantity),
    "year": Kind("year", "", year),
    "number": Kind("number", "", number),
    "text": Kind("text", "", lambda value: MISSING if value is None else str(value)),
}

_UNIT_NAMES = {
    "usd": "$",
    "mwh": "MWh",
    "mw": "MW",
    "w": "W",
    "tco2e": "tCO2e",
    "kwh": "kWh",
    "flop": "FLOP",
    "flops": "FLOP/s",
    "pflop": "PFLOP",
    "s": "second",
    "hour": "hour",
    "gpu": "accelerator",
    "kgco2e": "kgCO2e",
    "gco2": "gCO2",
    "gco2e": "gCO2e",
}
_FRACTION_WORDS = {
    "share",
    "utilization",
    "fraction",
    "mfu",
    "goodput",
    "coverage",
    "inside",
    "mape",
    "mdape",
    "ape",
    "prior",
    "error",
    "s1",
}  # prior: the MFU prior's quantiles; error: relative; s1: variance share
_COUNT_WORDS = {"accelerators", "draws", "count", "runs", "tranches", "assumptions"}
_QUANTILE = re.compile(r"^(p\d{1,2}|mean)$")


def _tokens(name: str) -> list[str]:
    """Lowercase words of a name; ``flop_per_s`` is one word (``flops``, FLOP/s)."""
    text = re.sub(r"flop_per_s(?=_|$)", "flops", str(name).lower())
    return [t for t in text.split("_") if t]


def _rate(tokens: list[str]) -> Kind:
    cut = tokens.index("per")
    numerator, denominator = tokens[:cut], tokens[cut + 1 :]
    top = next((_UNIT_NAMES[t] for t in reversed(numerator) if t in _UNIT_NAMES), "")
    bottom = " ".join(_UNIT_NAMES.get(t, t) for t in denominator)
    bottom = bottom.replace("accelerator hour", "accelerator-hour")
    unit = f"{top} per {bottom}".strip()
    if top == "$":
        return Kind("money_rate", unit, money)
    return Kind("rate", unit, scientific if top.startswith("FLOP") else quantity)


def kind_of(name: str) -> Kind:
    """The kind of a column or metric named with the project's conventions (units in names).

    ``p_first``, ``p_within_horizon_meta``, ``max_p_cap_binds``, shares, utilization, MFU, errors
    (``mdape``): probability, shown in %; ``deal_adds_p_done_*``: a difference of probabilities,
    shown in percentage points; ``*_pp*`` (``p_first_change_pp``): already in points, shown as
    ``+11.7 pp``; ``*_usd*``:
    money; ``*_months*``: months (``lead_months``, ``deal_saves_*``: signed); ``*_flop``: FLOP;
    ``*_flop_per_s``: FLOP/s; ``*_mwh``, ``*_mw``, ``*_w``, ``*_tco2e``; ``gpu_hours``:
    accelerator-hours; counts (``accelerators``, ``n_*``, ``draws``); ``year``; rates (``x_per_y``)
    keep both units; anything else a plain number.
    """
    tokens = _tokens(name)
    words = set(tokens)
    if not tokens:
        return KINDS["number"]
    if tokens[-1] in (
        "id",
        "input",
    ):  # best_flop_per_s_per_usd_id, time_top_input_meta: a name, not a number
        return KINDS["text"]
    if "pp" in words:  # p_first_change_pp(_low): already in points, never a fraction x 100
        return KINDS["pp"]
    if "per" in tokens[:-1]:
        return _rate(tokens)
    if "p" in tokens[:-1]:
        return KINDS["points"] if "adds" in words else KINDS["probability"]
    # an error named in months (error_p50_months) is months, not a relative error
    if words & _FRACTION_WORDS and not (words & {"months"} and "error" in words):
        return KINDS["probability"]
    if "usd" in words:
        return KINDS["money"]
    if "months" in words:
        if tokens[0] == "months" and words & {"binding", "binds"}:
            return KINDS["count"]
        return KINDS["lead"] if words & {"lead", "saves"} else KINDS["months"]
    if "flops" in words:
        return KINDS["flop_per_s"]
    for word in ("flop", "mwh", "mw", "tco2e", "hours"):
        if word in words:
            return KINDS[word]
    if tokens[-1] == "w":
        return KINDS["w"]
    if words & {"params", "tokens"}:
        return KINDS["params"]
    if "year" in words:
        return KINDS["year"]
    if words & _COUNT_WORDS or tokens[0] == "n":
        return KINDS["count"]
    return KINDS["number"]


def format_value(value: Any, name: str) -> str:
    """`value` formatted as the kind its `name` says; a boolean as yes or no; strings and dates
    pass through."""
    if isinstance(value, bool) or getattr(getattr(value, "dtype", None), "kind", "") == "b":
        return "yes" if value else "no"
    if isinstance(value, str) or (
        value is not None
        and not isinstance(value, (int, float))
        and _finite(value) is None
        and not _is_nan(value)
    ):
        return str(value)
    return kind_of(name).format(value)


def _is_nan(value: Any) -> bool:
    try:
        return value != value  # NaN, pd.NA-like
    except (TypeError, ValueError):
        return False


def with_unit(value: Any, name: str) -> str:
    """`format_value` plus the unit where the number does not carry it: ``'1,230 MWh'``,
    ``'$25.9M'``, ``'45.2%'``, ``'$2.50 per PFLOP'``."""
    text = format_value(value, name)
    kind = kind_of(name)
    if text == MISSING or isinstance(value, str) or not kind.unit or kind.unit in ("%", "$", "pp"):
        return text
    if kind.name == "money_rate":
        return f"{text} {kind.unit.removeprefix('$').strip()}"
    return f"{text} {kind.unit}"


_WORDS = {
    "gpu": "accelerator",
    "pue": "PUE",
    "mfu": "MFU",
    "tdp": "TDP",
    "bf16": "BF16",
    "fp8": "FP8",
    "s1": "S1",
    "flops": "FLOP/s",
    "mdape": "MdAPE",
    "ape": "APE",
}
_UNIT_TOKENS = {
    "probability": set(),
    "points": set(),
    "pp": {"pp"},
    "money": {"usd"},
    "months": {"months"},
    "lead": {"months"},
    "flop": {"flop"},
    "flop_per_s": {"flops"},
    "hours": {"hours", "gpu"},
    "mwh": {"mwh"},
    "mw": {"mw"},
    "w": {"w"},
    "tco2e": {"tco2e"},
}


def label(name: str) -> str:
    """A column or metric name as a header with its unit: ``cost_p50_usd -> 'cost p50 ($)'``,
    ``p_first -> 'P(first) (%)'``, ``energy_mwh -> 'energy (MWh)'``, ``gpu_hours ->
    'accelerator-hours'``."""
    kind = kind_of(name)
    tokens = _tokens(name)
    if kind.name == "text" and tokens[-1] == "id" and len(tokens) > 1:
        return f"{label('_'.join(str(name).split('_')[:-1]))}: id"
    if kind.name in ("rate", "money_rate"):
        numerator = tokens[: tokens.index("per")]
        words = [t for t in numerator if t not in _UNIT_NAMES]
    else:
        words = [t for t in tokens if t not in _UNIT_TOKENS.get(kind.name, set())]
        if kind.name == "flop":  # training_flop -> "training compute (FLOP)"
            words = [w for w in words if w != "compute"]
            words.insert(1 if words[:1] == ["training"] else 0, "compute")
    if "p" in words[:-1]:
        at = words.index("p")
        # a change of a probability: "P(first) change", not "P(first change)"
        end = words.index("change") if "change" in words[at + 1 :] else len(words)
        inner = " ".join(words[at + 1 : end])
        head = " ".join(words[:at] + [f"P({inner})"] + [_WORDS.get(w, w) for w in words[end:]])
    else:
        head = " ".join(_WORDS.get(w, w) for w in words)
    unit = kind.unit
    if not head:
        return unit or str(name)
    return f"{head} ({unit})" if unit else head


# ---------------------------------------------------------------------------------------------
# Tables
# ---------------------------------------------------------------------------------------------

_TABLE_CSS = [
    {"selector": "", "props": "border-collapse: collapse; font-size: 0.9em;"},
    {"selector": "th", "props": "text-align: right; padding: 0.2em 0.6em; vertical-align: bottom;"},
    {"selector": "th.row_heading", "props": "text-align: left;"},
    {"selector": "td", "props": "text-align: right; padding: 0.2em 0.6em; max-width: 30em;"},
]


def _is_quantile_table(frame: pd.DataFrame) -> bool:
    columns = [str(c) for c in frame.columns]
    return bool(columns) and all(_QUANTILE.match(c) for c in columns)


def present(frame: pd.DataFrame, *, rows: bool | None = None, caption: str | None = None) -> Styler:
    """A DataFrame as people read it: every number formatted as its kind, units in the headers.

    Columns are read by name (`kind_of`). With ``rows=True`` (the default for a table whose columns
    are quantiles, p10/p50/p90/mean, and whose index names quantities) each row is one quantity: it
    is formatted row by row and its label carries the unit. The frame itself is unchanged.
    """
    import pandas as pd

    styler = frame.style
    if rows is None:
        rows = _is_quantile_table(frame) and not pd.api.types.is_numeric_dtype(frame.index)
    if rows:
        for name in frame.index:
            styler = styler.format(
                lambda v, n=str(name): format_value(v, n), subset=pd.IndexSlice[[name], :]
            )
        styler = styler.format_index(label, axis=0)
    numeric = [c for c in frame.columns if pd.api.types.is_numeric_dtype(frame[c])]
    if not rows:
        for column in frame.columns:
            styler = styler.format(lambda v, n=str(column): format_value(v, n), subset=[column])
        # a header names a unit only over numbers: `prior` holds names of priors, not a percentage
        numbers = {str(c) for c in numeric if not pd.api.types.is_bool_dtype(frame[c])}
        styler = styler.format_index(
            lambda c: label(c) if str(c) in numbers else str(c).replace("_", " "), axis=1
        )
        if frame.index.name is None and pd.api.types.is_integer_dtype(frame.index):
            styler = styler.hide(axis="index")  # row numbers of a filtered frame say nothing
    if (
        numeric
    ):  # numbers never wrap; long text (sources, providers) may, so the table fits the page
        styler = styler.set_properties(subset=numeric, **{"white-space": "nowrap"})
    styler = styler.set_table_styles(_TABLE_CSS, overwrite=False)
    if caption:
        styler = styler.set_caption(caption)
    return styler

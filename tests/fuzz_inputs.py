"""Careless and hostile inputs for the fuzz tests and scripts/fuzz_tally.py, and the contract they
must meet.

Inputs come from the schemas: scenario files mutate the fields of the pydantic models (Scenario,
Competitor, Uncertainty, DealOverride), sweep files the keys of a sweep file and the parameters the
fixture notebook declares, argument lists the flags argparse declares for each command. Each
mutation puts a hostile value somewhere (booleans, empty text, NaN, infinities, 1e300, 2**64, days
where months are expected, reversed ranges, huge grids), deletes or adds a key, or damages the YAML
text itself (anchors and aliases, repeated keys, truncation, stray bytes, deep nesting).

Issue 26's minimal reproductions are generators too, each drawing fresh values: batch files
(repeated columns, a byte-order mark, underscores, booleans, seeds beyond int64, a goodput the prior
cannot meet, sizes in billions), Python API calls (booleans as numbers, NumPy numbers, strings as
booleans, overflowing delays, things that are not scenarios, implausible uncertainties, context
deals, idle overrides, data files with unit slips) and output folders that are not the command's
own (report-like names, another sweep's marker, a sweep folder from before markers).

The contract (`check`): exit 0 with a finite, self-consistent result, or exit 2 with one line
`error: ...` and nothing on stdout (an API call: a result, or an InputError of one line); never a
traceback or exit 1, never longer than TIME_LIMIT_S, never more than MEMORY_LIMIT_MB of peak memory;
never a change to a folder the command does not own; and where a case knows what the answer must
be (`Case.expect`, `must_succeed`), the refusal names it. `category` sorts every breach into
absurd, traceback, data loss, misleading, hang or memory (scripts/fuzz_tally.py counts them).
"""

from __future__ import annotations

import copy
import datetime as dt
import json
import math
import random
import resource
import signal
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import yaml
from inprocess import Outcome, call_main, is_one_line_error

from analysis.inputs.scenario import Competitor, DealOverride, Scenario, Uncertainty
from analysis.paths import PROJECT_ROOT, SCENARIOS_DIR
from analysis.runs.sweep import SWEEP_KEYS

#: Most seconds one in-process call may take (the slowest valid case, a shipped scenario at a few
#: hundred draws, takes well under a second).
TIME_LIMIT_S = 60
#: Most peak memory (resident, MB) the process may reach while fuzzing.
MEMORY_LIMIT_MB = 4096
FIXTURE = "tests/fixtures/sweep_tiny.ipynb"
FIXTURE_PARAMETERS = ("x", "n", "label", "flag", "sleep_s", "log_dir")
BASE_SCENARIOS = [
    yaml.safe_load((SCENARIOS_DIR / name).read_text())
    for name in ("default.yaml", "common_target.yaml")
]

HOSTILE_VALUES: list[Any] = [
    True,
    False,
    None,
    "",
    " ",
    "abc",
    "\u00e9\U0001f600",
    "x" * 500,
    0,
    -1,
    1,
    0.5,
    2,
    12,
    50,
    1e-6,
    1e-300,
    -1e300,
    1e300,
    1e39,
    math.nan,
    math.inf,
    -math.inf,
    2**53 + 1,
    2**64,
    -(2**64),
    [],
    {},
    [1, 2],
    {"a": 1},
    dt.date(2026, 1, 15),
    "2026-13",
    "2026-01",
    "1999-01",
    "3000-01",
    "1e27",
    {"dist": "uniform", "low": 2, "high": 1},
    {"dist": "fixed", "value": 1e39},
    {"dist": "beta"},
    {"dist": "lognormal", "p10": 0, "p90": 1},
    {"dist": "triangular", "low": 0, "mode": 5, "high": 1},
    {"dist": "loguniform", "low": 1e-300, "high": 1e300},
    {"dist": "uniform", "low": 0.1, "high": 0.2},
    # issue 26: an exponent typed too far, a negative delta, an overflowing log-normal
    1000,
    1e30,
    -0.5,
    1.3e308,
    {"dist": "lognormal", "p10": 1, "p90": 1e30},
]
#: Flag values as a shell would pass them.
HOSTILE_TEXT = [
    "",
    " ",
    "inf",
    "-inf",
    "nan",
    "0",
    "-1",
    "1",
    "0.5",
    "2.5",
    "1e300",
    "1e-300",
    "abc",
    "true",
    str(2**64),
    str(2**53 + 1),
    "1e6",
    "10",
    "100",
    "1_000",
    "0x10",
    "\u00e9",
    "-",
    "--",
    "1e400",
    # issue 26: negative numbers argparse took for flags, sizes in billions, a cent, int64 + 1
    "-1e25",
    "-4e11",
    "-1e-3",
    "405",
    "0.01",
    "1e-3",
    str(2**63),
]


@dataclass
class Case:
    """One input: the argument list of the CLI (or a Python call), and what it is for the tally.

    `expect`: words a refusal must contain (it names the flag, column, key or what is allowed);
    `must_succeed`: the input is valid and must be answered; `must_refuse`: it must be refused;
    `owned`: a folder the command does not own, which must be left exactly as it was."""

    kind: str
    argv: list[str]
    description: str
    files: dict[str, str] = field(default_factory=dict)
    call: Callable[[], Any] | None = None
    expect: tuple[str, ...] = ()
    must_succeed: bool = False
    must_refuse: bool = False
    owned: Path | None = None


# ---- scenario files ----------------------------------------------------------------------------


def _scenario_paths(doc: dict) -> list[tuple]:
    """Key paths the scenario schema defines, on this document."""
    paths = [(name,) for name in Scenario.model_fields]
    competitors = doc.get("competitors")
    for i, _ in enumerate(competitors if isinstance(competitors, list) else []):
        paths += [("competitors", i, name) for name in Competitor.model_fields]
        paths.append(("competitors", i, "deals", 0))
    paths += [("uncertainty", name) for name in Uncertainty.model_fields]
    paths += [("deal_overrides", "meta-hyperion", name) for name in DealOverride.model_fields]
    return paths


def _set(doc: Any, path: tuple, value: Any, *, delete: bool = False) -> None:
    node = doc
    for key in path[:-1]:
        if isinstance(node, dict):
            node = node.setdefault(key, {})
        elif isinstance(node, list) and isinstance(key, int) and key < len(node):
            node = node[key]
        else:
            return
    last = path[-1]
    if isinstance(node, dict):
        if delete:
            node.pop(last, None)
        else:
            node[last] = value
    elif isinstance(node, list) and isinstance(last, int) and last < len(node):
        if delete:
            node.pop(last)
        else:
            node[last] = value


def _damage_text(rnd: random.Random, text: str) -> tuple[str, str]:
    """A textual mutation of YAML: what careless editing or a hostile file does."""
    kind = rnd.choice(
        ["alias", "laughs", "duplicate", "truncate", "stray", "tab", "deep", "binary", "empty"]
    )
    if kind == "alias":
        return text + "\nextra: &a [1, 2]\nmore: *a\n", "anchor and alias"
    if kind == "laughs":
        lines = ["a0: &a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol]"]
        lines += [f"a{i}: &a{i} [{', '.join(['*a' + str(i - 1)] * 9)}]" for i in range(1, 9)]
        return "\n".join(lines) + "\n" + text, "billion laughs"
    if kind == "duplicate":
        first = text.splitlines()[rnd.randrange(min(8, len(text.splitlines())))]
        return first + "\n" + text, f"repeated line {first[:30]!r}"
    if kind == "truncate":
        cut = rnd.randrange(1, max(2, len(text)))
        return text[:cut], f"truncated at {cut}"
    if kind == "stray":
        at = rnd.randrange(len(text))
        char = rnd.choice(
            ["[", "{", ":", "'", '"', "\t", "&", "*", "!", "%", "@", "`", "\x00", "\ufeff"]
        )
        return text[:at] + char + text[at:], f"stray {char!r} at {at}"
    if kind == "tab":
        return text.replace("\n  ", "\n\t", 1), "tab indentation"
    if kind == "deep":
        depth = rnd.choice([100, 1000, 5000])
        return text + f"\nextra: {'[' * depth}{']' * depth}\n", f"nesting {depth} deep"
    if kind == "binary":
        return "\x89PNG\r\n\x1a\n" + text[:50], "binary junk"
    return "", "empty file"


def _catalog():
    from analysis.inputs.catalog import load_catalog

    return load_catalog()


def _context_deals() -> list[str]:
    """Deals of data/deals.yaml marked `racing: false` (context only)."""
    return sorted(d.id for d in _catalog().deals.values() if not d.racing)


def _unused_deals(doc: dict) -> list[str]:
    """Deals no competitor of the scenario holds."""
    held = {
        d
        for c in doc.get("competitors") or []
        if isinstance(c, dict)
        for d in (c.get("deals") if isinstance(c.get("deals"), list) else [])
        if isinstance(d, str)
    }
    return sorted(d.id for d in _catalog().deals.values() if d.id not in held)


def scenario_case(rnd: random.Random, folder: Path) -> Case:
    doc = copy.deepcopy(rnd.choice(BASE_SCENARIOS))
    notes = []
    for _ in range(rnd.randint(1, 3)):
        op = rnd.random()
        paths = _scenario_paths(doc)
        path = rnd.choice(paths)
        if op < 0.65:
            value = rnd.choice(HOSTILE_VALUES)
            _set(doc, path, copy.deepcopy(value))
            notes.append(f"{'.'.join(map(str, path))}={value!r:.40}")
        elif op < 0.8:
            _set(doc, path, None, delete=True)
            notes.append(f"del {'.'.join(map(str, path))}")
        elif op < 0.9:
            doc[rnd.choice(["horizon", "draw", "Seed", "competitor"])] = 1
            notes.append("unknown key")
        elif op < 0.93:
            comps = doc.get("competitors")
            if isinstance(comps, list) and comps:
                comps.append(copy.deepcopy(rnd.choice(comps)))
                notes.append("repeated competitor")
        elif op < 0.96:
            comps = doc.get("competitors")
            if isinstance(comps, list) and comps and isinstance(comps[0], dict):
                deals = comps[0].get("deals")
                if isinstance(deals, list):
                    deal = rnd.choice(_context_deals())
                    deals.append(deal)
                    notes.append(f"competitors[0] races context deal {deal}")
        elif op < 0.98:
            unused = rnd.choice(_unused_deals(doc))
            doc["deal_overrides"] = {unused: {"scale": rnd.choice([0.5, 2.0])}}
            notes.append(f"override of unused deal {unused}")
        else:
            comps = doc.get("competitors")
            if (
                isinstance(comps, list)
                and len(comps) > 1
                and all(isinstance(c, dict) for c in comps)
            ):
                a, b = rnd.sample(range(len(comps)), 2)
                theirs = comps[b].get("deals")
                if isinstance(comps[a].get("deals"), list) and isinstance(theirs, list) and theirs:
                    comps[a]["deals"].append(rnd.choice(theirs))
                    notes.append(f"competitors[{a}] takes a deal of competitors[{b}]")
    text = yaml.safe_dump(doc, sort_keys=False, allow_unicode=True)
    if rnd.random() < 0.25:
        text, note = _damage_text(rnd, text)
        notes.append(note)
    path = folder / f"scenario-{rnd.randrange(10**9)}.yaml"
    path.write_text(text, encoding="utf-8", errors="surrogateescape")
    draws = rnd.choice(["20", "50", "200"])
    return Case(
        "scenario file",
        ["simulate", str(path), "--draws", draws, "--format", "json"],
        "; ".join(notes),
    )


# ---- sweep files -------------------------------------------------------------------------------


def sweep_doc(rnd: random.Random) -> tuple[dict | str, str]:
    doc: dict[str, Any] = {"notebook": FIXTURE, "parameters": {"n": 2}, "grid": {"x": [1.0, 2.0]}}
    notes = []
    for _ in range(rnd.randint(1, 3)):
        op = rnd.random()
        if op < 0.35:
            section = rnd.choice(["parameters", "grid"])
            name = rnd.choice(FIXTURE_PARAMETERS + ("metrics_path", "nope", ""))
            value = copy.deepcopy(rnd.choice(HOSTILE_VALUES))
            if section == "grid" and rnd.random() < 0.7:
                value = [value]
            target = doc.setdefault(section, {})
            if isinstance(target, dict):
                target[name] = value
            notes.append(f"{section}.{name}={value!r:.40}")
        elif op < 0.5:
            key = rnd.choice(SWEEP_KEYS + ("grids", "Notebook"))
            doc[key] = copy.deepcopy(rnd.choice(HOSTILE_VALUES))
            notes.append(f"{key}={doc[key]!r:.40}")
        elif op < 0.6:
            doc.pop(rnd.choice(SWEEP_KEYS), None)
            notes.append("deleted a key")
        elif op < 0.75:
            sizes = [rnd.choice([10, 100, 1000, 2000]) for _ in range(2)]
            doc["grid"] = {"x": [float(i) for i in range(sizes[0])], "n": list(range(sizes[1]))}
            doc.pop("points", None)
            doc["parameters"] = {}
            notes.append(f"grid {sizes[0]} x {sizes[1]}")
        elif op < 0.85:
            doc["points"] = [
                {"x": rnd.choice([1, 1, "a", None, math.nan])} for _ in range(rnd.randint(0, 3))
            ]
            notes.append("points")
        else:
            doc["notebook"] = rnd.choice(
                ["notebooks/nope.ipynb", "README.md", "", "/etc/passwd", "tests"]
            )
            notes.append(f"notebook={doc['notebook']!r}")
    return doc, "; ".join(notes)


def sweep_case(rnd: random.Random, folder: Path) -> Case:
    doc, note = sweep_doc(rnd)
    text = yaml.safe_dump(doc, sort_keys=False, allow_unicode=True)
    if rnd.random() < 0.25:
        text, extra = _damage_text(rnd, text)
        note += f"; {extra}"
    path = folder / f"sweep-{rnd.randrange(10**9)}.yaml"
    path.write_text(text, encoding="utf-8", errors="surrogateescape")
    return Case(
        "sweep file",
        ["sweep", str(path), "--out", str(folder / f"out-{rnd.randrange(10**9)}")],
        note,
    )


# ---- argument lists ----------------------------------------------------------------------------


def _flags(command: str) -> list[str]:
    """The flags argparse declares for a command (the CLI's schema)."""
    import argparse

    from analysis.runs.cli import build_parser

    parser = build_parser()
    commands = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return [
        a.option_strings[-1]
        for a in commands.choices[command]._actions
        if a.option_strings and a.option_strings[-1] != "--help"
    ]


def cli_case(rnd: random.Random, folder: Path) -> Case:
    command = rnd.choice(
        ["estimate", "estimate", "estimate", "simulate", "bench", "sweep", "backtest", "nope"]
    )
    argv = [command]
    if command == "nope":
        return Case("argument list", argv, "unknown command")
    flags = [f for f in _flags(command) if f not in ("--format",)]
    if command == "estimate":
        argv += ["--accelerator", rnd.choice(["h100-sxm", "a100-sxm-80gb", "gb200", "h100", ""])]
        argv += rnd.choice([["--flop", "1e24"], ["--params", "405e9", "--tokens", "15.6e12"], []])
        argv += ["--format", "json"]
    if command == "simulate":
        argv += rnd.choice([[], ["scenarios/default.yaml"], ["nope.yaml"], [""], [str(folder)]])
        argv += ["--format", "json"]
    if command == "sweep":
        argv += [rnd.choice(["sweeps/power_cap.yaml", "nope.yaml", "", "README.md"])]
    chosen = rnd.sample(flags, k=min(len(flags), rnd.randint(1, 4)))
    for flag in chosen:
        action_takes_value = flag not in ("--resume", "--force")
        argv.append(flag)
        if action_takes_value:
            argv.append(rnd.choice(HOSTILE_TEXT))
    if command in ("bench", "sweep", "backtest"):
        # never a long valid run: bench only with a bad --draws, sweep only into a refused folder
        if command == "bench":
            argv += ["--draws", rnd.choice(["inf", "nan", "0", "-1", "abc", "", "1e300", "2.5"])]
        if command == "sweep":
            argv += ["--max-points", rnd.choice(["0", "abc", "inf", "", "-3"])]
        if command == "backtest":
            argv += ["--format", rnd.choice(["xml", "", "JSON"])]
    if command in ("estimate", "simulate") and "--draws" in argv:
        i = argv.index("--draws")
        if argv[i + 1] in ("1e6",):  # valid but slow: keep fuzzing cheap
            argv[i + 1] = "100"
    return Case("argument list", argv, " ".join(argv[:12]))


# ---- batch files (estimate --batch) ------------------------------------------------------------

BATCH_MUTATIONS = (
    "repeated column",
    "byte-order mark",
    "underscores",
    "boolean cell",
    "seed beyond int64",
    "goodput the prior cannot meet",
    "size in billions",
    "negative number",
    "as written",
)


def batch_case(rnd: random.Random, folder: Path) -> Case:
    rows = [
        {
            "params": rnd.choice(["405e9", "7e9", "70e9", "1.2e12"]),
            "tokens": rnd.choice(["15.6e12", "2e12", "3.6e13"]),
            "accelerator": rnd.choice(["h100-sxm", "a100-sxm-80gb", "gb200", "tpu-v5p"]),
            "accelerators": rnd.choice(["", "1024", "16384"]),
        }
        for _ in range(rnd.randint(1, 4))
    ]
    header = list(rows[0])
    kind = rnd.choice(BATCH_MUTATIONS)
    extra: list[str] = []
    expect: tuple[str, ...] = ()
    must_succeed = must_refuse = False
    row = rnd.randrange(len(rows))
    if kind == "repeated column":
        column = rnd.choice(header)
        header.append(column)
        expect, must_refuse = (repr(column), "more than once"), True
    elif kind == "byte-order mark":
        must_succeed = True
    elif kind == "underscores":
        rows[row]["accelerators"] = rnd.choice(["1_024", "16_384"])
        rows[row]["tokens"] = rnd.choice(["15_600_000_000_000", "2_000_000_000_000"])
        must_succeed = True
    elif kind == "boolean cell":
        column = rnd.choice(["params", "tokens", "accelerators"])
        rows[row][column] = rnd.choice(["true", "True", "FALSE"])
        expect, must_refuse = (f"row {row + 1}", repr(column)), True
    elif kind == "seed beyond int64":
        extra = ["--seed", str(2**63 + rnd.randrange(10**6))]
        expect, must_refuse = ("--seed", "9,223,372,036,854,775,807"), True
    elif kind == "goodput the prior cannot meet":
        header.append("goodput")
        for r in rows:
            r["goodput"] = "0.9"
        rows[row]["goodput"] = rnd.choice(["0.01", "0.02", "0.05"])
        expect, must_refuse = (f"row {row + 1}", "'goodput'", "exceeds 1"), True
    elif kind == "size in billions":
        rows[row]["params"] = rnd.choice(["7", "70", "405", "671"])
        expect, must_refuse = (f"row {row + 1}", "'params'", "not billions"), True
    elif kind == "negative number":
        column = rnd.choice(["params", "tokens"])
        rows[row][column] = "-" + rows[row][column]
        expect, must_refuse = (f"row {row + 1}", repr(column)), True
    else:
        must_succeed = True
    lines = [",".join(header)] + [",".join(r.get(c, r["params"]) for c in header) for r in rows]
    text = ("\ufeff" if kind == "byte-order mark" else "") + "\n".join(lines) + "\n"
    path = folder / f"batch-{rnd.randrange(10**9)}.csv"
    path.write_text(text, encoding="utf-8")
    argv = ["estimate", "--batch", str(path), "--draws", "50", "--format", "json", *extra]
    return Case(
        "batch file",
        argv,
        f"{kind}: row {row + 1}",
        expect=expect,
        must_succeed=must_succeed,
        must_refuse=must_refuse,
    )


# ---- Python API calls --------------------------------------------------------------------------

CW = "meta-coreweave-2026"


def _estimate(**kw):
    from analysis import estimate

    kw.setdefault("accelerator", "h100-sxm")
    kw.setdefault("draws", 50)
    return estimate(**kw)


def _what_if(**kw):
    from analysis.studies.whatif import what_if

    return what_if(**kw)


def _simulate(source):
    from analysis import simulate

    return simulate(source, draws=20)


def _load(doc):
    from analysis.inputs.scenario import load_scenario

    return load_scenario(doc)


def _estimate_many(frame, **kw):
    import pandas as pd

    from analysis import estimate_many

    return estimate_many(pd.DataFrame(frame) if isinstance(frame, dict) else frame, **kw)


def _data_copy(folder: Path, change: Callable[[Path], None]):
    """load_catalog of a copy of data/ after `change(copy)`."""
    import shutil
    import tempfile

    from analysis.inputs.catalog import load_catalog
    from analysis.paths import data_dir

    target = Path(tempfile.mkdtemp(prefix="data-", dir=folder)) / "data"
    shutil.copytree(data_dir(), target)
    change(target)
    return lambda: load_catalog(target)


def _edit_cell(path: Path, row_id: str, column: str, value: str) -> None:
    import csv

    with open(path, newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    for row in rows:
        if row["id"] == row_id:
            row[column] = value
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)


def api_case(rnd: random.Random, folder: Path) -> Case:
    import numpy as np

    flop = 10 ** rnd.uniform(23, 26)
    probe = rnd.randrange(13)
    if probe == 0:
        name = rnd.choice(["mfu", "goodput", "accelerators", "pue", "price_per_hour", "flop"])
        value = rnd.choice([True, False, np.True_])
        kw = {"flop": flop, name: value} if name != "flop" else {"flop": value}
        return Case(
            "api call",
            [],
            f"estimate({name}={value!r})",
            call=lambda: _estimate(**kw),
            expect=(f"--{name.replace('_', '-')}", "boolean"),
            must_refuse=True,
        )
    if probe == 1:
        size = rnd.choice([7, 70, 405, 671, 1.5, 8e3])
        return Case(
            "api call",
            [],
            f"estimate(params={size})",
            call=lambda: _estimate(params=size, tokens=15.6e12),
            expect=("--params", "not billions"),
            must_refuse=True,
        )
    if probe == 2:
        goodput = rnd.uniform(0.01, 0.08)
        return Case(
            "api call",
            [],
            f"estimate(goodput={goodput:.3g}) with the prior",
            call=lambda: _estimate(flop=flop, goodput=goodput),
            expect=("--goodput", "exceeds 1"),
            must_refuse=True,
        )
    if probe == 3:
        price = 10.0 ** -rnd.randint(3, 300)
        return Case(
            "api call",
            [],
            f"estimate(price_per_hour={price:g})",
            call=lambda: _estimate(flop=flop, price_per_hour=price),
            expect=("--price-per-hour", "from 0.01"),
            must_refuse=True,
        )
    if probe == 4:
        value = rnd.choice(["no", "yes", "false", "0", 1, 0, "True"])
        return Case(
            "api call",
            [],
            f"what_if(span_sites={value!r})",
            call=lambda: _what_if(span_sites=value),
            expect=("span_sites",),
            must_refuse=True,
        )
    if probe == 5:
        target = np.float32(10 ** rnd.uniform(25, 28))
        return Case(
            "api call",
            [],
            f"what_if(target_flop=np.float32({target:g}))",
            call=lambda: _what_if(target_flop=target, draws=np.int64(100)),
            must_succeed=True,
        )
    if probe == 6:
        delay = rnd.choice([1.3e308, 1e300, 1e5, math.inf, -1.0])
        return Case(
            "api call",
            [],
            f"what_if(deal_delay_months={{{CW}: {delay}}})",
            call=lambda: _what_if(deal_delay_months={CW: delay}),
            expect=("deal_delay_months",),
            must_refuse=True,
        )
    if probe == 7:
        source = rnd.choice([123, 1.5, b"scenarios/default.yaml", ["default.yaml"], object()])
        return Case(
            "api call",
            [],
            f"simulate({source!r:.40})",
            call=lambda: _simulate(source),
            expect=("scenario: expected",),
            must_refuse=True,
        )
    if probe == 8:
        columns = ["params", "tokens", "accelerator"]
        column = rnd.choice(columns)
        import pandas as pd

        frame = pd.DataFrame(
            [[405e9, 15.6e12, "h100-sxm", {"params": 405e9, "tokens": 1e12}.get(column, "a100")]],
            columns=columns + [column],
        )
        return Case(
            "api call",
            [],
            f"estimate_many with column {column!r} twice",
            call=lambda: _estimate_many(frame, draws=50),
            expect=(repr(column), "more than once"),
            must_refuse=True,
        )
    if probe == 9:
        seed = 2**63 + rnd.randrange(2**40)
        frame = {"flop": [flop], "accelerator": ["h100-sxm"]}
        return Case(
            "api call",
            [],
            f"estimate_many(seed={seed})",
            call=lambda: _estimate_many(frame, draws=50, seed=seed),
            expect=("--seed",),
            must_refuse=True,
        )
    doc = copy.deepcopy(BASE_SCENARIOS[0])
    if probe == 10:
        deal = rnd.choice(_context_deals())
        doc["competitors"][rnd.randrange(len(doc["competitors"]))]["deals"].append(deal)
        return Case(
            "api call",
            [],
            f"load_scenario: races context deal {deal}",
            call=lambda: _load(doc),
            expect=("context only", deal),
            must_refuse=True,
        )
    if probe == 11:
        deal = rnd.choice(_unused_deals(doc))
        doc["deal_overrides"] = {deal: {"scale": 2.0}}
        return Case(
            "api call",
            [],
            f"load_scenario: override of unused deal {deal}",
            call=lambda: _load(doc),
            expect=(f"deal_overrides.{deal}", "no competitor uses"),
            must_refuse=True,
        )
    # data files with a unit slip, each refused at load naming the file and the field
    slip = rnd.randrange(4)
    if slip == 0:
        call = _data_copy(
            folder,
            lambda d: _edit_cell(d / "accelerators.csv", "h100-sxm", "peak_fp8_flop_per_s", "5e14"),
        )
        expect = ("accelerators.csv", "peak_fp8_flop_per_s")
    elif slip == 1:
        hours = rnd.choice(["1.3", "13", "1.3e12"])
        call = _data_copy(
            folder, lambda d: _edit_cell(d / "training_runs.csv", "llama-3-8b", "gpu_hours", hours)
        )
        expect = ("training_runs.csv line", "gpu_hours", "MFU")
    elif slip == 2:

        def few(d: Path) -> None:
            import csv

            with open(d / "training_runs.csv", newline="", encoding="utf-8") as handle:
                rows = list(csv.DictReader(handle))
            kept = [r for r in rows if r["role"] != "calibration"] + [
                r for r in rows if r["role"] == "calibration"
            ][: rnd.randint(0, 4)]
            with open(d / "training_runs.csv", "w", newline="", encoding="utf-8") as handle:
                writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
                writer.writeheader()
                writer.writerows(kept)

        call = _data_copy(folder, few)
        expect = ("training_runs.csv", "calibration row")
    else:
        value = rnd.choice(["14200", "14.2e+6", "1.42e+7"])

        def millions(d: Path) -> None:
            text = (d / "deals.yaml").read_text(encoding="utf-8")
            (d / "deals.yaml").write_text(
                text.replace("total_value_usd: 14.2e+9", f"total_value_usd: {value}", 1),
                encoding="utf-8",
            )

        call = _data_copy(folder, millions)
        expect = ("deals.yaml", "total_value_usd")
    return Case(
        "api call", [], f"data file slip {slip}", call=call, expect=expect, must_refuse=True
    )


# ---- output folders the command does not own ------------------------------------------------


def _sweep_file(folder: Path, name: str) -> Path:
    import tempfile

    path = Path(tempfile.mkdtemp(prefix="sweep-file-", dir=folder)) / f"{name}.yaml"
    path.write_text(
        yaml.safe_dump({"name": name, "notebook": FIXTURE, "grid": {"x": [1.0, 2.0]}}),
        encoding="utf-8",
    )
    return path


def folder_case(rnd: random.Random, folder: Path) -> Case:
    """A folder that is not the command's own: it must be refused and left exactly as it was."""
    import tempfile

    from analysis.runs.sweep import MARKER_NAME, load_sweep, prepare_out_dir

    out = Path(tempfile.mkdtemp(prefix="owned-", dir=folder))
    kind = rnd.choice(["report-like names", "another sweep's folder", "a pre-marker sweep folder"])
    if kind == "report-like names":
        names = ["index.html", "metrics.json", "00_assumptions.html", "20_time_to_train_race.ipynb"]
        for name in rnd.sample(names, rnd.randint(1, len(names))):
            (out / name).write_text(f"the user's own {name}", encoding="utf-8")

        def call():
            from analysis.runs.report import prepare_report_dir

            prepare_report_dir(out)

        return Case(
            "output folder",
            [],
            f"report --out, {kind}",
            call=call,
            expect=("--out", "not a report's folder"),
            must_refuse=True,
            owned=out,
        )
    flags = rnd.choice([[], ["--resume"], ["--force"], ["--resume", "--force"]])
    if kind == "another sweep's folder":
        other = load_sweep(_sweep_file(folder, "sweep-a"))
        prepare_out_dir(out, other)
        (out / "summary.csv").write_text("point_id,x\nA,1\n", encoding="utf-8")
        (out / "index.html").write_text("<p>sweep A</p>", encoding="utf-8")
        expect: tuple[str, ...] = ("--out", "'sweep-a'")
    else:
        point = out / "0123456789ab"
        point.mkdir()
        (point / "status.json").write_text(json.dumps({"status": "ok", "sweep": "sweep-b"}))
        (out / "summary.csv").write_text("point_id\n0123456789ab\n", encoding="utf-8")
        expect = ("--out",)
    assert (out / MARKER_NAME).exists() == (kind == "another sweep's folder")
    sweep = _sweep_file(folder, "sweep-b")
    return Case(
        "output folder",
        ["sweep", str(sweep), "--out", str(out), *flags],
        f"sweep --out, {kind} {' '.join(flags)}",
        expect=expect,
        must_refuse=True,
        owned=out,
    )


GENERATORS = {
    "scenario file": scenario_case,
    "sweep file": sweep_case,
    "argument list": cli_case,
    "batch file": batch_case,
    "api call": api_case,
    "output folder": folder_case,
}


# ---- the contract ------------------------------------------------------------------------------


class _Timeout(BaseException):
    """Raised by the alarm; a BaseException so that main()'s own handlers cannot swallow it."""


def _alarm(signum, frame):
    raise _Timeout


def _call(case: Case) -> Outcome:
    """A Python call as an Outcome: 0 with its result's repr, or 2 with an InputError's message
    (any other exception propagates: a traceback for the user)."""
    from analysis.errors import InputError

    try:
        result = case.call()
    except InputError as exc:
        return Outcome(2, "", f"error: {exc}")
    return Outcome(0, repr(result)[:200], "")


def run(case: Case) -> tuple[Outcome | None, float, str | None]:
    """Run a case in-process under a time limit; (outcome, seconds, problem with the run itself)."""
    previous = signal.signal(signal.SIGALRM, _alarm)
    signal.setitimer(signal.ITIMER_REAL, TIME_LIMIT_S)
    clock = time.perf_counter()
    try:
        outcome = _call(case) if case.call is not None else call_main(*case.argv)
        problem = None
    except _Timeout:
        outcome, problem = None, f"ran past {TIME_LIMIT_S} s"
    except BaseException as exc:  # main() must catch everything itself
        who = "the call" if case.call is not None else "main()"
        outcome, problem = None, f"{who} raised {type(exc).__name__}: {exc}"
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
    return outcome, time.perf_counter() - clock, problem


def _finite(value: Any, where: str = "") -> str | None:
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return None
    if isinstance(value, (int, float)):
        return None if math.isfinite(value) else f"{where} = {value}"
    if isinstance(value, dict):
        for key, item in value.items():
            bad = _finite(item, f"{where}.{key}")
            if bad:
                return bad
    if isinstance(value, list):
        for i, item in enumerate(value):
            bad = _finite(item, f"{where}[{i}]")
            if bad:
                return bad
    return None


def _ordered(q: dict | None, name: str) -> str | None:
    if q is None:
        return None
    known = [
        q[k] for k in ("p10", "p50", "p90") if q.get(k) is not None
    ]  # None: beyond the horizon
    if known != sorted(known):
        return f"{name}: p10 {q['p10']} <= p50 {q['p50']} <= p90 {q['p90']} fails"
    return None


#: Cheapest plausible price of an accelerator-hour (USD; inputs/limits.py): below it a cost is a
#: unit slip, not an answer.
_MIN_USD_PER_HOUR = 0.01


def _absurd_estimate(mfu: dict, hours: float | None, cost: float | None, fixed: bool) -> str | None:
    """Why one estimate is silently absurd: MFU at its clip (1) in most draws though not fixed
    there, or a cost below a cent per accelerator-hour."""
    if not fixed and mfu["p10"] is not None and mfu["p10"] >= 1.0:
        return f"MFU 1.0 in at least 90% of draws (clipped): {mfu}"
    if hours and cost is not None and cost / hours < _MIN_USD_PER_HOUR:
        return f"{cost / hours:.3g} USD per accelerator-hour"
    return None


def consistent(argv: list[str], stdout: str) -> str | None:
    """Why a successful result is not finite, self-consistent or plausible (None when it is)."""
    if "--format" not in argv or argv[argv.index("--format") + 1] != "json":
        return None if stdout.strip() else "exit 0 with nothing on stdout"
    try:
        out = json.loads(stdout)
    except ValueError:
        return "exit 0 but stdout is not JSON"
    bad = _finite(out)
    if bad:
        return f"non-finite number: {bad}"
    if argv[0] == "estimate" and "--batch" in argv:
        for i, row in enumerate(out):
            mfu = {k: row.get(f"mfu_{k}") for k in ("p10", "p50", "p90")}
            if not (mfu["p10"] is not None and 0 < mfu["p10"] <= mfu["p90"] <= 1):
                return f"row {i + 1}: MFU outside (0, 1]: {mfu}"
            fixed = row.get("mfu") not in (None, "") or row.get("gpu_hours") not in (None, "")
            problem = _absurd_estimate(mfu, row["gpu_hours_p50"], row.get("cost_usd_p50"), fixed)
            if problem:
                return f"row {i + 1}: {problem}"
        return None
    if argv[0] == "estimate":
        mfu = out["mfu"]
        if not 0 < mfu["p10"] <= mfu["p90"] <= 1:
            return f"MFU outside (0, 1]: {mfu}"
        fixed = "--mfu" in argv or "--gpu-hours" in argv
        cost = out["cost_usd"]["p50"] if out.get("cost_usd") else None
        problem = _absurd_estimate(mfu, out["gpu_hours"]["p50"], cost, fixed)
        if problem:
            return problem
        for name in (
            "mfu",
            "gpu_hours",
            "energy_mwh",
            "cost_usd",
            "emissions_tco2e",
            "wall_clock_days",
        ):
            problem = _ordered(out.get(name), name)
            if problem:
                return problem
        if (out["wall_clock_days"] is None) != ("--accelerators" not in argv):
            return "wall_clock_days null exactly when --accelerators is missing: fails"
        if not 0 < out["training_flop"] <= 1e32:
            return f"training_flop {out['training_flop']}"
    if argv[0] == "simulate":
        total = 0.0
        for comp in out["competitors"]:
            total += comp["p_first"]
            if not (0 <= comp["p_first"] <= comp["p_within_horizon"] + 1e-9 <= 1 + 1e-9):
                return (
                    f"{comp['lab']}: p_first {comp['p_first']} vs p_within_horizon "
                    f"{comp['p_within_horizon']}"
                )
            ttt = comp["time_to_train_months"]
            for k in ("p10", "p50", "p90"):
                if ttt.get(k) is not None and not 0 <= ttt[k] <= out["horizon_months"] + 1e-6:
                    return (
                        f"{comp['lab']}: time_to_train {k} {ttt[k]} outside [0, horizon "
                        f"{out['horizon_months']}]"
                    )
            for name in (
                "time_to_train_months",
                "gpu_hours",
                "energy_mwh",
                "peak_power_mw",
                "cost_usd",
            ):
                problem = _ordered(comp.get(name), f"{comp['lab']} {name}")
                if problem:
                    return problem
        if total > 1 + 1e-6:
            return f"P(first) adds up to {total}"
    return None


def _valid_sweep(case: Case) -> str | None:
    """For a sweep file that validates, why it is not self-consistent (None when it is); such a file
    is checked, not run (running it would execute notebooks). Raises InputError when it is
    invalid."""
    from analysis.runs.sweep import MAX_POINTS, load_sweep

    sweep = load_sweep(case.argv[1])
    if not 1 <= len(sweep.points) <= MAX_POINTS:
        return f"{len(sweep.points)} points accepted"
    if len({p.id for p in sweep.points}) != len(sweep.points):
        return "two points share an id"
    for point in sweep.points:
        bad = _finite(point.parameters)
        if bad:
            return f"non-finite parameter {bad}"
    if len(sweep.name.encode()) > 255:
        return f"a name of {len(sweep.name)} characters, which no results folder can have"
    if not 0 < sweep.cell_timeout_s <= 7 * 24 * 3600:
        return f"cell_timeout_s {sweep.cell_timeout_s:g} accepted"
    return None


def _snapshot(folder: Path) -> dict[str, tuple[bytes, int]]:
    return {
        str(p.relative_to(folder)): (p.read_bytes(), p.stat().st_mtime_ns)
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


def check(case: Case) -> tuple[bool, str]:
    """(clean, what happened) for one case under the contract."""
    before = _snapshot(case.owned) if case.owned is not None else None
    clean, what = _check(case)
    if before is not None:
        after = _snapshot(case.owned)
        if after != before:
            changed = sorted(
                set(after) ^ set(before) | {k for k in before if after.get(k) != before[k]}
            )
            return (
                False,
                f"data loss: {', '.join(changed[:4])} written in a folder not the command's",
            )
    if not clean or not what.startswith(("exit 2", "exit 0")):
        return clean, what
    if case.must_succeed and not what.startswith("exit 0"):
        return False, f"misleading: a valid input was refused: {what}"
    if case.must_refuse and what.startswith("exit 0"):
        return False, f"exit 0 but the input should have been refused ({case.description})"
    return clean, what


def _check(case: Case) -> tuple[bool, str]:
    if case.kind == "sweep file":
        from analysis.errors import InputError

        try:
            bad = _valid_sweep(case)
        except InputError:
            pass  # invalid: the CLI must say so in one line (below)
        except Exception as exc:
            return False, f"load_sweep raised {type(exc).__name__}: {exc}"
        else:
            return (bad is None), ("valid sweep file (checked, not run)" if bad is None else bad)
    outcome, seconds, problem = run(case)
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    if problem:
        return False, problem
    if peak_mb > MEMORY_LIMIT_MB:
        return False, f"peak memory {peak_mb:.0f} MB"
    if outcome.returncode == 0:
        bad = consistent(case.argv, outcome.stdout) if case.call is None else None
        return (bad is None), ("exit 0, valid result" if bad is None else f"exit 0 but {bad}")
    if is_one_line_error(outcome):
        line = outcome.stderr.strip()
        missing = [word for word in case.expect if word not in line]
        if missing:
            return False, f"misleading: the error does not name {missing}: {line[:200]}"
        if "expected one argument" in line and _number_follows_flag(case.argv, line):
            return False, f"misleading: a number read as a flag: {line[:200]}"
        return True, "exit 2, one line"
    tail = outcome.stderr.strip().splitlines()[-1:] or [""]
    if outcome.returncode == 2:
        return False, f"misleading: exit 2 but not one line: {tail[0][:200]}"
    return False, f"exit {outcome.returncode}: {tail[0][:200]}"


def _number_follows_flag(argv: list[str], line: str) -> bool:
    """Whether the flag an "expected one argument" error names was followed by a negative number
    (which argparse then took for a flag)."""
    for i, arg in enumerate(argv[:-1]):
        value = argv[i + 1]
        if arg.startswith("--") and f"argument {arg}:" in line and value.startswith("-"):
            try:
                float(value.replace("_", ""))
            except ValueError:
                continue
            return True
    return False


#: What each kind of breach is, for the tally (every problem `check` reports starts with one of
#: these).
CATEGORIES = {
    "absurd": ("exit 0 but",),
    "traceback": ("exit 1", "main() raised", "the call raised", "load_sweep raised"),
    "data loss": ("data loss",),
    "misleading": ("misleading",),
    "hang": ("ran past",),
    "memory": ("peak memory",),
}


def category(what: str) -> str:
    """The class of a breach `check` reported: absurd, traceback, data loss, misleading, hang,
    memory, or other (an exit code the contract has no class for)."""
    for name, prefixes in CATEGORIES.items():
        if what.startswith(prefixes):
            return name
    return "other"


def project_relative(path: Path) -> str:
    return str(path.relative_to(PROJECT_ROOT)) if PROJECT_ROOT in path.parents else str(path)

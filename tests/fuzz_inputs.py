"""Careless and hostile inputs for the fuzz tests and scripts/fuzz_tally.py, and the contract they
must meet.

Inputs come from the schemas: scenario files mutate the fields of the pydantic models (Scenario,
Competitor, Uncertainty, DealOverride), sweep files the keys of a sweep file and the parameters the
fixture notebook declares, argument lists the flags argparse declares for each command. Each
mutation puts a hostile value somewhere (booleans, empty text, NaN, infinities, 1e300, 2**64, days
where months are expected, reversed ranges, huge grids), deletes or adds a key, or damages the YAML
text itself (anchors and aliases, repeated keys, truncation, stray bytes, deep nesting).

The contract (`check`): exit 0 with a finite, self-consistent result, or exit 2 with one line
`error: ...` and nothing on stdout; never a traceback or exit 1, never longer than TIME_LIMIT_S,
never more than MEMORY_LIMIT_MB of peak memory.
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
from typing import Any

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
]


@dataclass
class Case:
    """One input: the argument list of the CLI, and what it is for the tally."""

    kind: str
    argv: list[str]
    description: str
    files: dict[str, str] = field(default_factory=dict)


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
        elif op < 0.95:
            comps = doc.get("competitors")
            if isinstance(comps, list) and comps:
                comps.append(copy.deepcopy(rnd.choice(comps)))
                notes.append("repeated competitor")
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


GENERATORS = {"scenario file": scenario_case, "sweep file": sweep_case, "argument list": cli_case}


# ---- the contract ------------------------------------------------------------------------------


class _Timeout(BaseException):
    """Raised by the alarm; a BaseException so that main()'s own handlers cannot swallow it."""


def _alarm(signum, frame):
    raise _Timeout


def run(case: Case) -> tuple[Outcome | None, float, str | None]:
    """Run a case in-process under a time limit; (outcome, seconds, problem with the run itself)."""
    previous = signal.signal(signal.SIGALRM, _alarm)
    signal.setitimer(signal.ITIMER_REAL, TIME_LIMIT_S)
    clock = time.perf_counter()
    try:
        outcome = call_main(*case.argv)
        problem = None
    except _Timeout:
        outcome, problem = None, f"ran past {TIME_LIMIT_S} s"
    except BaseException as exc:  # main() must catch everything itself
        outcome, problem = None, f"main() raised {type(exc).__name__}: {exc}"
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


def consistent(argv: list[str], stdout: str) -> str | None:
    """Why a successful result is not finite or self-consistent (None when it is)."""
    if "--format" not in argv or argv[argv.index("--format") + 1] != "json":
        return None if stdout.strip() else "exit 0 with nothing on stdout"
    try:
        out = json.loads(stdout)
    except ValueError:
        return "exit 0 but stdout is not JSON"
    bad = _finite(out)
    if bad:
        return f"non-finite number: {bad}"
    if argv[0] == "estimate":
        mfu = out["mfu"]
        if not 0 < mfu["p10"] <= mfu["p90"] <= 1:
            return f"MFU outside (0, 1]: {mfu}"
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
    return None


def check(case: Case) -> tuple[bool, str]:
    """(clean, what happened) for one case under the contract."""
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
        bad = consistent(case.argv, outcome.stdout)
        return (bad is None), ("exit 0, valid result" if bad is None else f"exit 0 but {bad}")
    if is_one_line_error(outcome):
        return True, "exit 2, one line"
    tail = outcome.stderr.strip().splitlines()[-1:] or [""]
    return False, f"exit {outcome.returncode}: {tail[0][:200]}"


def project_relative(path: Path) -> str:
    return str(path.relative_to(PROJECT_ROOT)) if PROJECT_ROOT in path.parents else str(path)

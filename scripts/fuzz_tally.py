"""A fresh round of generated careless and hostile inputs against the CLI: how many meet the
contract.

    .venv/bin/python scripts/fuzz_tally.py [--n 240] [--seed S]

Generates N inputs (in turn: scenario files, sweep files, argument lists, batch files, Python API
calls and output folders the command does not own; tests/fuzz_inputs.py), runs each through the
CLI's main() (or the call) in this process and prints the tally: clean (exit 2 with one line that
names what a case expects, or exit 0 with a finite, self-consistent, plausible result) against not
clean, by class: silently absurd, traceback, data loss, misleading message, hang, memory blow-up;
every unclean case is listed. Exit 1 when any is unclean.
"""

from __future__ import annotations

import argparse
import collections
import random
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

from fuzz_inputs import CATEGORIES, GENERATORS, category, check  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=240, help="inputs to generate (default 240)")
    parser.add_argument(
        "--seed", type=int, default=None, help="seed (default: from the clock, a fresh round)"
    )
    args = parser.parse_args()
    seed = args.seed if args.seed is not None else time.time_ns() % 2**32
    rnd = random.Random(seed)
    kinds = list(GENERATORS)
    tally: dict[str, collections.Counter] = {kind: collections.Counter() for kind in kinds}
    unclean = []
    clock = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="fuzz-tally-") as folder:
        for i in range(args.n):
            kind = kinds[i % len(kinds)]
            case = GENERATORS[kind](rnd, Path(folder))
            clean, what = check(case)
            tally[kind][("clean: " + what) if clean else f"NOT clean: {category(what)}"] += 1
            if not clean:
                unclean.append((case, what))
    print(
        f"fuzz round: {args.n} generated inputs, seed {seed}, {time.perf_counter() - clock:.0f} s"
    )
    for kind in kinds:
        total = sum(tally[kind].values())
        ok = sum(n for k, n in tally[kind].items() if k.startswith("clean"))
        print(f"  {kind:<14} {total:>4} inputs: {ok} clean, {total - ok} not clean")
        for outcome, n in sorted(tally[kind].items()):
            print(f"      {n:>4}  {outcome}")
    total_ok = args.n - len(unclean)
    print(f"  {'all':<14} {args.n:>4} inputs: {total_ok} clean, {len(unclean)} not clean")
    classes = collections.Counter(category(what) for _, what in unclean)
    names = {"traceback": "tracebacks", "hang": "hangs", "memory": "memory blow-ups"}
    print(
        "  "
        + ", ".join(f"{classes.get(c, 0)} {names.get(c, c)}" for c in CATEGORIES)
        + (f", {classes['other']} other" if classes.get("other") else "")
    )
    for case, what in unclean:
        print(
            f"NOT clean [{case.kind}, {category(what)}] {case.description[:160]}\n    argv: "
            f"{' '.join(case.argv)[:200]}\n    -> {what}"
        )
    return 1 if unclean else 0


if __name__ == "__main__":
    sys.exit(main())

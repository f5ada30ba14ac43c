"""Cross-check data/training_runs.csv against the shared reference sheets (developer script).

    .venv/bin/python scripts/check_calibration_rule.py [REFERENCE_DIR]

Checks, and exits 1 listing every failure:
1. every run comes from ../shared/reference (training_runs.csv by model name, or epoch_ai_models.csv
   through scripts/epoch_calibration.py);
2. every Epoch-sourced row is exactly what that script builds from the sheet today (hardware,
   quantity, hours, parameters), so a hand edit or a new snapshot cannot drift silently;
3. no calibration row takes its compute from Epoch's hardware-only method;
4. every reference row added 2026-12 (notes "Added 2026-12") is listed exactly once in
   data/README.md under "Reference rows added 2026-12: accepted / rejected": an accepted one is in
   data/training_runs.csv under the id the listing gives, a rejected one is not in it.
The tests (tests/test_data.py) check only what needs nothing outside the repository.
"""

from __future__ import annotations

import csv
import re
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import epoch_calibration as ec  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]


def _norm(name: str) -> str:
    return re.sub(r"[^a-z0-9]", "", name.lower())


#: The reference rows of the 2026-12 update and the section of data/README.md that lists them.
ADDED_NOTE = "Added 2026-12"
LISTING = "### Reference rows added 2026-12: accepted / rejected"
_ITEM = re.compile(r"^- `([^`]+)`(?: → `([^`]+)`)?")


def added_listing(readme: str) -> tuple[dict[str, tuple[str, str | None]], list[str]]:
    """{normalized model: (accepted|rejected, id or None)} from data/README.md, and the problems
    found there."""
    if LISTING not in readme:
        return {}, [f"data/README.md has no section {LISTING!r}"]
    section = readme.split(LISTING, 1)[1].split("\n#", 1)[0]
    listed: dict[str, tuple[str, str | None]] = {}
    problems, verdict = [], None
    for line in section.splitlines():
        if line.strip() in ("Accepted:", "Rejected:"):
            verdict = line.strip()[:-1].lower()
            continue
        match = _ITEM.match(line)
        if match is None or verdict is None:
            continue
        name = _norm(match.group(1))
        if name in listed:
            problems.append(f"data/README.md lists {match.group(1)!r} twice")
        listed[name] = (verdict, match.group(2))
    return listed, problems


def main(argv: list[str]) -> int:
    ref_dir = Path(argv[0]) if argv else ec.SHEET.parent
    with open(ref_dir / "training_runs.csv", newline="", encoding="utf-8") as handle:
        ref_rows = list(csv.DictReader(handle))
    reference = {_norm(r["model"]) for r in ref_rows}
    added = {_norm(r["model"]): r["model"] for r in ref_rows if r["notes"].startswith(ADDED_NOTE)}
    sheet = {r["Model"].strip(): r for r in ec.sheet_rows(ref_dir / "epoch_ai_models.csv")}
    built = {r["id"]: r for r in ec.epoch_rows(ref_dir / "epoch_ai_models.csv")}
    with open(ROOT / "data" / "training_runs.csv", newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    failures = []
    for row in rows:
        rid = row["id"]
        if row["source"].startswith(ec.EPOCH_CITATION):
            if row["model"] not in sheet:
                failures.append(f"{rid}: model {row['model']!r} is not in epoch_ai_models.csv")
                continue
            if rid not in built:
                failures.append(
                    f"{rid}: not built by scripts/epoch_calibration.py (not in ACCEPTED)"
                )
                continue
            for col in (
                "accelerator",
                "n_accelerators",
                "gpu_hours",
                "total_params",
                "active_params",
                "training_tokens",
                "training_flop",
                "flop_basis",
                "hours_basis",
                "hours_bound",
                "role",
            ):
                if row[col] != built[rid][col]:
                    failures.append(
                        f"{rid}: {col} is {row[col]!r}, the sheet gives {built[rid][col]!r}"
                    )
            if sheet[row["model"]]["Training compute estimation method"].strip() == "Hardware":
                failures.append(f"{rid}: Epoch's compute for it is hardware-only")
        elif _norm(row["model"]) not in reference:
            failures.append(f"{rid}: model {row['model']!r} is in neither reference sheet")
    listed, problems = added_listing((ROOT / "data" / "README.md").read_text(encoding="utf-8"))
    failures += problems
    ids_by_model = {_norm(r["model"]): r["id"] for r in rows}
    for name, model in added.items():
        if name not in listed:
            failures.append(
                f"reference row {model!r} (added 2026-12) is neither accepted nor rejected in "
                "data/README.md"
            )
            continue
        verdict, rid = listed[name]
        if verdict == "accepted" and ids_by_model.get(name) != rid:
            failures.append(
                f"{model!r} is accepted as {rid!r} but data/training_runs.csv has "
                f"{ids_by_model.get(name)!r}"
            )
        if verdict == "rejected" and name in ids_by_model:
            failures.append(
                f"{model!r} is rejected but data/training_runs.csv has it as {ids_by_model[name]!r}"
            )
    for name in set(listed) - set(added):
        failures.append(
            f"data/README.md lists {name!r}, which is not a reference row added 2026-12"
        )
    for failure in failures:
        print(f"FAIL {failure}")
    n_cal = sum(r["role"] == "calibration" for r in rows)
    print(
        f"{len(rows)} rows ({n_cal} calibration, {len(built)} from Epoch; {len(added)} reference "
        f"rows added 2026-12 listed): {'ok' if not failures else f'{len(failures)} failure(s)'}"
    )
    return 1 if failures else 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))

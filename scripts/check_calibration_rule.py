"""Cross-check data/training_runs.csv against the shared reference sheets (developer script).

    .venv/bin/python scripts/check_calibration_rule.py [REFERENCE_DIR]

Checks, and exits 1 listing every failure:
1. every run comes from ../shared/reference (training_runs.csv by model name, or epoch_ai_models.csv
   through scripts/epoch_calibration.py);
2. every Epoch-sourced row is exactly what that script builds from the sheet today (hardware,
   quantity, hours, parameters), so a hand edit or a new snapshot cannot drift silently;
3. no calibration row takes its compute from Epoch's hardware-only method.
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


def main(argv: list[str]) -> int:
    ref_dir = Path(argv[0]) if argv else ec.SHEET.parent
    with open(ref_dir / "training_runs.csv", newline="", encoding="utf-8") as handle:
        reference = {_norm(r["model"]) for r in csv.DictReader(handle)}
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
    for failure in failures:
        print(f"FAIL {failure}")
    n_cal = sum(r["role"] == "calibration" for r in rows)
    print(
        f"{len(rows)} rows ({n_cal} calibration, {len(built)} from Epoch): "
        f"{'ok' if not failures else f'{len(failures)} failure(s)'}"
    )
    return 1 if failures else 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))

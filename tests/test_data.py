"""The shipped data: contract ids, sources on every row, plausible dense peaks, the calibration rule."""

from __future__ import annotations

import csv
import os
import re
from pathlib import Path

import pytest

from analysis.paths import PROJECT_ROOT
from analysis.specs import CLAIM_FIELDS

CONTRACT_IDS = (
    "v100-sxm-32gb a100-sxm-40gb a100-sxm-80gb h100-sxm h800 h20 h200 b200 b300 gb200 gb300 mi300x mi325x "
    "mi355x ascend-910b ascend-910c tpu-v3 tpu-v4 tpu-v5e tpu-v5p tpu-v6e tpu-v7 trainium2"
).split()
# The shared reference sheet sits beside the checkout in this workplace; $COMPUTE_RACE_REFERENCE_DIR
# points elsewhere. Where no copy is reachable the calibration-rule test says so and skips.
_CANDIDATES = [Path(p) for p in (os.environ.get("COMPUTE_RACE_REFERENCE_DIR", ""),) if p] + [
    PROJECT_ROOT.parent / "shared" / "reference",
    Path("/work/shared/reference"),
]
REFERENCE = next((d / "training_runs.csv" for d in _CANDIDATES if (d / "training_runs.csv").is_file()),
                 _CANDIDATES[-1] / "training_runs.csv")


#: Ids appended after the contract list (the list may grow; ids never change or move).
ADDED_IDS = ("vr200", "mi450")


def test_accelerator_ids_keep_the_contract_and_only_grow(catalog):
    ids = list(catalog.accelerators)
    assert ids[: len(CONTRACT_IDS)] == CONTRACT_IDS, "contract ids changed or moved"
    assert tuple(ids[len(CONTRACT_IDS):]) == ADDED_IDS


def test_every_row_has_a_source(catalog):
    for table in ("accelerators", "sites", "training_runs", "models", "deals"):
        for item in getattr(catalog, table).values():
            assert item.source.strip(), (table, item.id)


def test_assumption_entries_name_real_columns(catalog):
    for table in ("accelerators", "sites", "models"):
        for item in getattr(catalog, table).values():
            for entry in filter(None, (e.strip() for e in item.assumptions.split(" | "))):
                field, _, why = entry.partition(":")
                assert field.strip() in type(item).model_fields, (table, item.id, field)
                assert why.strip().lower().startswith("assumption"), (table, item.id, entry)


def test_dense_peaks_are_plausible(catalog):
    for chip in catalog.accelerators.values():
        assert 5e13 <= chip.peak_bf16_flop_per_s <= 2e16, chip.id  # Rubin-class parts reach ~1e16
        if chip.peak_fp8_flop_per_s is not None:
            # Dense FP8 is at most about twice dense BF16 (TPU v6e runs FP8 at the BF16 rate); a
            # sparse figure copied by mistake would show up as ~4x.
            assert 1.0 <= chip.peak_fp8_flop_per_s / chip.peak_bf16_flop_per_s <= 2.5, chip.id
    assert catalog.accelerators["h100-sxm"].peak_bf16_flop_per_s == pytest.approx(989.4e12, rel=1e-3)


def test_deals_cover_every_claim(catalog):
    for deal in catalog.deals.values():
        covered = set(deal.sourced) | set(deal.assumptions)
        for field in CLAIM_FIELDS:
            value = getattr(deal, field)
            if value is None or (field == "delay_months" and value.describe() == "fixed(value=0)"):
                continue
            assert field in covered, (deal.id, field)


def test_the_race_labs_have_deals_and_models(catalog):
    buyers = {d.buyer for d in catalog.deals.values() if d.racing}
    assert {"Meta", "DeepSeek", "Alibaba"} <= buyers
    assert {m.lab for m in catalog.models.values()} >= {"Meta", "DeepSeek", "Alibaba"}


def _norm(name: str) -> str:
    return re.sub(r"[^a-z0-9]", "", name.lower())


@pytest.mark.skipif(not REFERENCE.is_file(), reason=f"reference sheet not beside this checkout ({REFERENCE})")
def test_calibration_runs_come_only_from_the_reference_sheet(catalog):
    with open(REFERENCE, newline="") as handle:
        reference = {_norm(row["model"]) for row in csv.DictReader(handle)}
    for run in catalog.training_runs.values():
        assert _norm(run.model) in reference, f"{run.id} ({run.model}) is not in the reference sheet"


def test_every_deal_and_model_row_says_when_it_was_true(catalog):
    for table in ("deals", "models"):
        for item in getattr(catalog, table).values():
            assert item.as_of is not None, (table, item.id)
    for deal in catalog.deals.values():
        assert deal.racing or deal.not_racing_because.strip(), deal.id

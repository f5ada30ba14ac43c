"""The shipped data: contract ids, sources on every row, plausible dense peaks, the calibration
rule."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest
from conftest import data_env

from analysis.inputs.specs import CLAIM_FIELDS

CONTRACT_IDS = (
    "v100-sxm-32gb a100-sxm-40gb a100-sxm-80gb h100-sxm h800 h20 h200 b200 b300 gb200 gb300 mi300x "
    "mi325x "
    "mi355x ascend-910b ascend-910c tpu-v3 tpu-v4 tpu-v5e tpu-v5p tpu-v6e tpu-v7 trainium2"
).split()
#: Ids appended after the contract list (the list may grow; ids never change or move).
ADDED_IDS = (
    "vr200",
    "mi450",
    "ascend-950",
    "ascend-960",
    "ascend-970",
    "gh200",
    "a800-sxm-80gb",
    "mi250x",
    "mi250",
    "trainium1",
    "ascend-910",
)


def test_accelerator_ids_keep_the_contract_and_only_grow(catalog):
    ids = list(catalog.accelerators)
    assert ids[: len(CONTRACT_IDS)] == CONTRACT_IDS, "contract ids changed or moved"
    assert tuple(ids[len(CONTRACT_IDS) :]) == ADDED_IDS


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
                why = why.strip().lower()
                # `field: n/a: why` says why a value is left empty (no source gives one): only for
                # an empty field.
                if why.startswith("n/a:"):
                    assert getattr(item, field.strip()) is None, (table, item.id, entry)
                    continue
                assert why.startswith("assumption"), (table, item.id, entry)


def test_every_accelerator_has_a_rental_price_or_says_why_not(catalog):
    prefix = "rental_usd_per_hour: n/a: "
    for chip in catalog.accelerators.values():
        reasons = [e.strip() for e in chip.assumptions.split(" | ") if e.strip().startswith(prefix)]
        if chip.rental_usd_per_hour is None:
            assert len(reasons) == 1 and len(reasons[0]) > len(prefix) + 10, chip.id
        else:
            assert not reasons, chip.id


def test_dense_peaks_are_plausible(catalog):
    for chip in catalog.accelerators.values():
        assert 5e13 <= chip.peak_bf16_flop_per_s <= 2e16, chip.id  # Rubin-class parts reach ~1e16
        if chip.peak_fp8_flop_per_s is not None:
            # Dense FP8 is at most about twice dense BF16 (TPU v6e runs FP8 at the BF16 rate); a
            # sparse figure copied by mistake would show up as ~4x.
            assert 1.0 <= chip.peak_fp8_flop_per_s / chip.peak_bf16_flop_per_s <= 2.5, chip.id
    assert catalog.accelerators["h100-sxm"].peak_bf16_flop_per_s == pytest.approx(
        989.4e12, rel=1e-3
    )


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


EPOCH_CITATION = "Epoch AI, 'Data on AI Models'"


def test_every_training_run_says_what_it_is_for_and_where_its_figures_come_from(catalog):
    for run in catalog.training_runs.values():
        assert run.role in ("calibration", "check"), run.id
        if run.gpu_hours is not None:
            assert run.hours_basis is not None, run.id
        if run.flop is not None:
            assert run.flop_basis is not None, run.id


def test_calibration_rows_pass_the_rule_and_come_from_the_two_reference_sheets(catalog):
    calibration = [r for r in catalog.training_runs.values() if r.role == "calibration"]
    assert len(calibration) >= 30
    for run in calibration:
        assert run.calibration_rule_violation() is None, run.id
        assert (
            run.flop_basis in ("params_x_tokens", "reported")
            and run.run_kind == "language_pretrain"
        ), run.id
    epoch = [r for r in calibration if r.source.startswith(EPOCH_CITATION)]
    assert len(epoch) >= 20
    for run in epoch:  # the sheet's figures are recorded on the row, so a reader can check them
        assert "Epoch row '" in run.notes and run.hours_basis in ("reported", "quantity_x_time"), (
            run.id
        )


def _rewrite(path: Path, run_id: str, **cells) -> None:
    with open(path, newline="") as handle:
        reader = csv.DictReader(handle)
        fields, rows = reader.fieldnames, list(reader)
    for row in rows:
        if row["id"] == run_id:
            row.update(cells)
    with open(path, "w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=fields, lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)


def _line_of(path: Path, run_id: str) -> int:
    with open(path, newline="") as handle:
        reader = csv.DictReader(handle)
        for row in reader:
            if row["id"] == run_id:
                return reader.line_num
    raise AssertionError(run_id)


@pytest.mark.parametrize(
    "run_id, cells, field",
    [
        ("falcon-40b", {"flop_basis": "hardware_time"}, "flop_basis"),  # compute from its own hours
        ("falcon-40b", {"flop_basis": ""}, "flop_basis"),
        ("falcon-40b", {"accelerator": ""}, "accelerator"),  # missing hardware
        ("falcon-40b", {"gpu_hours": "", "gpu_hours_scope": "", "hours_bound": ""}, "gpu_hours"),
        ("falcon-40b", {"hours_basis": "third_party_estimate"}, "hours_basis"),
        ("falcon-40b", {"run_kind": "fine_tune"}, "run_kind"),
        ("falcon-40b", {"gpu_hours_scope": "upper_bound"}, "gpu_hours_scope"),
        ("incoder-6.7b", {"training_flop": ""}, "training_flop"),
        ("gemini-1.0-ultra", {"role": "calibration"}, "flop_basis"),
    ],
)
def test_a_row_that_breaks_the_calibration_rule_is_rejected_naming_file_row_and_field(
    data_copy, run_id, cells, field
):
    from analysis.errors import InputError
    from analysis.inputs.catalog import load_catalog

    path = data_copy / "training_runs.csv"
    line = _line_of(path, run_id)
    _rewrite(path, run_id, **cells)
    with pytest.raises(InputError) as err:
        load_catalog(data_copy)
    message = str(err.value)
    assert "training_runs.csv" in message and f"line {line}" in message and run_id in message, (
        message
    )
    assert f"field {field!r}" in message, message


@pytest.mark.parametrize(
    "run_id, cells, field, words",
    [
        # an upper bound must say how it was got
        ("falcon-40b", {"hours_basis": ""}, "hours_basis", "how the bound was got"),
        # hours need a bound, and exact cannot be claimed for accelerators x time
        ("granite-3.0-8b", {"hours_bound": ""}, "hours_bound", "hours_bound is required"),
        ("falcon-40b", {"hours_bound": "exact"}, "hours_bound", "write upper"),
        ("llama-3-8b", {"hours_bound": "exact"}, "hours_bound", "scope pretrain_plus"),
        ("falcon-40b", {"hours_bound": "lower"}, "hours_bound", "exact"),
        # a censored row whose bound already says utilization above 1, and an exact one
        ("falcon-40b", {"gpu_hours": "1000"}, "gpu_hours", "at least"),
        ("granite-3.0-8b", {"gpu_hours": "1000"}, "gpu_hours", "cannot exceed 1"),
    ],
)
def test_an_hours_bound_that_cannot_hold_is_refused_naming_file_line_and_field(
    data_copy, cli, run_id, cells, field, words
):
    from conftest import assert_one_line_error

    path = data_copy / "training_runs.csv"
    line = _line_of(path, run_id)
    _rewrite(path, run_id, **cells)
    proc = cli("estimate", "--flop", "1e24", "--accelerator", "h100-sxm", env=data_env(data_copy))
    message = assert_one_line_error(proc, "training_runs.csv", f"line {line}", run_id, words)
    assert f"field {field!r}" in message, message


def test_every_run_with_hours_says_whether_they_are_exact_or_an_upper_bound(catalog):
    for run in catalog.training_runs.values():
        assert (run.gpu_hours is None) == (run.hours_bound is None), run.id
        if run.hours_basis == "quantity_x_time" or run.gpu_hours_scope in (
            "pretrain_plus",
            "upper_bound",
        ):
            assert run.hours_bound == "upper", run.id


def test_a_check_row_may_carry_figures_that_cannot_calibrate(data_copy):
    from analysis.inputs.catalog import load_catalog

    _rewrite(
        data_copy / "training_runs.csv", "falcon-40b", role="check", flop_basis="hardware_time"
    )
    assert "falcon-40b" in load_catalog(data_copy).training_runs


@pytest.mark.parametrize(
    "cells, field",
    [
        ({"rental_usd_per_hour": "-2"}, "rental_usd_per_hour"),
        ({"rental_usd_per_hour": "2 USD"}, "rental_usd_per_hour"),
        ({"rental_usd_per_hour": "2350"}, "rental_usd_per_hour"),  # cents, not dollars
        ({"purchase_price_usd": "33.6"}, "purchase_price_usd"),  # thousands, not dollars
        ({"memory_bandwidth_tb_per_s": "3350"}, "memory_bandwidth_tb_per_s"),  # GB/s, not TB/s
        ({"memory_bandwidth_tb_per_s": "0"}, "memory_bandwidth_tb_per_s"),
    ],
)
def test_a_malformed_price_row_is_rejected_naming_file_row_and_field(data_copy, cells, field, cli):
    path = data_copy / "accelerators.csv"
    line = _line_of(path, "h100-sxm")
    _rewrite(path, "h100-sxm", **cells)
    proc = cli("estimate", "--flop", "1e24", "--accelerator", "h100-sxm", env=data_env(data_copy))
    assert proc.returncode == 2 and proc.stdout == ""
    message = proc.stderr.strip()
    assert "accelerators.csv" in message and f"line {line}" in message and field in message, message


def test_every_deal_and_model_row_says_when_it_was_true(catalog):
    for table in ("deals", "models"):
        for item in getattr(catalog, table).values():
            assert item.as_of is not None, (table, item.id)
    for deal in catalog.deals.values():
        assert deal.racing or deal.not_racing_because.strip(), deal.id

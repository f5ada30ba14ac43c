"""`estimate_many` and `estimate --batch`: one output row per configuration, equal to `estimate`
called row by row with the same seed and draws; bad rows name the file, row and column."""

from __future__ import annotations

import io
import json
import math

import numpy as np
import pandas as pd
import pytest
from conftest import assert_one_line_error, run_cli
from hypothesis import given, settings
from hypothesis import strategies as st
from inprocess import call_main

from analysis import InputError, estimate, estimate_many
from analysis.inputs.limits import FLAG_RANGES
from analysis.model.batch import output_columns

ROWS = [
    dict(params=405e9, tokens=15.6e12, accelerator="h100-sxm", accelerators=16384),
    dict(
        params=671e9,
        active_params=37e9,
        tokens=14.8e12,
        accelerator="h800",
        accelerators=2048,
        precision="fp8",
    ),
    dict(flop=3e25, accelerator="h100-sxm", mfu=0.4, pue=1.2),
    dict(flop=3e25, accelerator="h100-sxm", gpu_hours=3e7, site="us-average"),
    dict(params=7e9, tokens=2e12, accelerator="h100-sxm", price_per_hour=2.5, goodput=0.9),
    # No price in the sheet: every metric but cost, as `estimate` answers (one cost basis, never
    # owned).
    dict(params=7e9, tokens=2e12, accelerator="b300"),
    dict(params=70e9, tokens=2e12, accelerator="mi300x", accelerators=1024),
    dict(params=7e9, tokens=2e12, accelerator="tpu-v4"),
]


def _given(row: dict) -> dict:
    kw = {k: v for k, v in row.items() if not (isinstance(v, float) and math.isnan(v))}
    if "accelerators" in kw:
        kw["accelerators"] = int(kw["accelerators"])
    return kw


def _assert_rows_match(frame: pd.DataFrame, result: pd.DataFrame, draws: int, seed: int) -> None:
    assert len(result) == len(frame)
    for i, row in enumerate(frame.to_dict(orient="records")):
        single = estimate(**_given(row), draws=draws, seed=seed)
        assert result.loc[i, "training_flop"] == pytest.approx(single.training_flop, rel=1e-12)
        for metric, q in single.metrics.items():
            for key in ("p10", "p50", "p90", "mean"):
                got = result.loc[i, f"{metric}_{key}"]
                if q is None or q[key] is None:
                    assert math.isnan(got), (i, metric, key)
                else:
                    assert got == pytest.approx(q[key], rel=1e-9), (i, metric, key)


def test_every_row_matches_estimate_called_alone():
    frame = pd.DataFrame(ROWS)
    result = estimate_many(frame, draws=1000, seed=3)
    assert list(result.columns[-len(output_columns()) :]) == output_columns()
    _assert_rows_match(frame, result, 1000, 3)


def test_row_order_and_kinds_mixed_do_not_change_a_row():
    """Rows are grouped by kind inside; each result comes back to its own row."""
    frame = pd.DataFrame(ROWS * 3).iloc[::-1].reset_index(drop=True)
    shuffled = estimate_many(frame, draws=500, seed=1)
    alone = pd.concat(
        [estimate_many(frame.iloc[[i]], draws=500, seed=1) for i in range(len(frame))],
        ignore_index=True,
    )
    cols = output_columns()
    np.testing.assert_allclose(shuffled[cols].to_numpy(), alone[cols].to_numpy(), rtol=1e-12)


@settings(max_examples=15, deadline=None)
@given(
    params=st.floats(1e8, 2e12),
    tokens=st.floats(1e10, 3e13),
    seed=st.integers(0, 2**31),
    accelerators=st.integers(1, 100_000),
    chip=st.sampled_from(["h100-sxm", "h800", "h200"]),
)
def test_random_configurations_match_estimate(params, tokens, seed, accelerators, chip):
    frame = pd.DataFrame(
        [dict(params=params, tokens=tokens, accelerator=chip, accelerators=accelerators)]
    )
    _assert_rows_match(frame, estimate_many(frame, draws=300, seed=seed), 300, seed)


def test_a_different_seed_gives_different_quantiles():
    frame = pd.DataFrame(ROWS[:1])
    a = estimate_many(frame, draws=1000, seed=1)
    b = estimate_many(frame, draws=1000, seed=2)
    assert a.loc[0, "gpu_hours_p50"] != b.loc[0, "gpu_hours_p50"]


@pytest.mark.parametrize(
    "row, column, needle",
    [
        (dict(params="abc", tokens=1e12, accelerator="h100-sxm"), "params", "finite number"),
        (dict(params=-1, tokens=1e12, accelerator="h100-sxm"), "params", "from 1e+06 to 1e+15"),
        (dict(params=405, tokens=15.6e12, accelerator="h100-sxm"), "params", "not billions"),
        (dict(params=1e9, tokens=1e12, accelerator="nope"), "accelerator", "unknown accelerator"),
        (dict(params=1e9, tokens=1e12, accelerator="h100-sxm", mfu=1.5), "mfu", "from 0.001 to 1"),
        (
            dict(params=1e9, tokens=1e12, accelerator="h100-sxm", mfu=1e-6, goodput=1e-300),
            "mfu",
            "from 0.001 to 1",
        ),
        (
            dict(params=1e9, tokens=1e12, accelerator="h100-sxm", goodput=1e-300),
            "goodput",
            "from 0.01 to 1",
        ),
        (dict(flop=1e40, accelerator="h100-sxm"), "flop", "to 1e+32"),
        (dict(flop=3.8, accelerator="h100-sxm"), "flop", "from 1e+15"),
        (
            dict(params=7e6, tokens=2e6, accelerator="h100-sxm"),
            "params",
            "6 x N x D = 8.4e+13 FLOP",
        ),
        (
            dict(params=1e9, tokens=1e12, accelerator="h100-sxm", accelerators=1e9),
            "accelerators",
            "100,000,000",
        ),
        (
            dict(params=1e9, tokens=1e12, accelerator="h100-sxm", price_per_hour=1e5),
            "price_per_hour",
            "10,000",
        ),
        (
            dict(flop=3e25, accelerator="h100-sxm", gpu_hours=1e15),
            "gpu_hours",
            "MFU is at least 0.001",
        ),
        (
            dict(params=1e9, tokens=1e12, accelerator="h100-sxm", accelerators=2.5),
            "accelerators",
            "whole number",
        ),
        (dict(params=1e9, accelerator="h100-sxm"), "tokens", "tokens are needed"),
        (dict(params=1e9, tokens=1e12, flop=1e22, accelerator="h100-sxm"), "flop", "not both"),
        (
            dict(params=1e9, tokens=1e12, accelerator="h100-sxm", site="atlantis"),
            "site",
            "atlantis",
        ),
        (
            dict(params=1e9, tokens=1e12, accelerator="h100-sxm", precision="fp4"),
            "precision",
            "fp4",
        ),
        (
            dict(params=1e9, tokens=1e12, accelerator="a100-sxm-80gb", precision="fp8"),
            "precision",
            "no FP8 peak",
        ),
        (
            dict(flop=1e22, accelerator="h100-sxm", mfu=0.4, gpu_hours=1e5),
            "mfu",
            "give one or the other",
        ),
        (
            dict(params=1e9, active_params=2e9, tokens=1e12, accelerator="h100-sxm"),
            "active_params",
            "exceeds",
        ),
        (dict(flop=3e25, accelerator="h100-sxm", gpu_hours=3e3), "gpu_hours", "MFU is at most 1"),
    ],
)
def test_a_bad_row_names_its_row_and_column(row, column, needle):
    frame = pd.DataFrame([ROWS[0], row])
    with pytest.raises(InputError) as err:
        estimate_many(frame, draws=10, where="configs.csv")
    message = str(err.value)
    assert message.startswith(f"configs.csv: row 2, column '{column}'") and needle in message, (
        message
    )


def _write(tmp_path, rows, name="configs.csv"):
    path = tmp_path / name
    pd.DataFrame(rows).to_csv(path, index=False)
    return path


@pytest.mark.parametrize("fmt", ["csv", "json", "table"])
def test_cli_batch_prints_one_row_per_configuration(tmp_path, fmt):
    path = _write(tmp_path, ROWS)
    proc = run_cli(
        "estimate", "--batch", str(path), "--draws", "400", "--seed", "5", "--format", fmt
    )
    assert proc.returncode == 0, proc.stderr
    expected = estimate_many(pd.DataFrame(ROWS), draws=400, seed=5)
    if fmt == "csv":
        got = pd.read_csv(io.StringIO(proc.stdout))
        np.testing.assert_allclose(got["gpu_hours_p50"], expected["gpu_hours_p50"], rtol=1e-12)
    elif fmt == "json":
        got = json.loads(proc.stdout)
        assert len(got) == len(ROWS) and got[2]["wall_clock_days_p50"] is None
        assert got[0]["cost_usd_p90"] == pytest.approx(expected.loc[0, "cost_usd_p90"], rel=1e-12)
    else:
        assert len(proc.stdout.strip().splitlines()) == len(ROWS) + 1


def test_cli_bad_row_exits_2_naming_file_row_and_column(tmp_path):
    path = tmp_path / "bad.csv"
    path.write_text("params,tokens,accelerator\n405e9,15.6e12,h100-sxm\n405e9,lots,h100-sxm\n")
    proc = run_cli("estimate", "--batch", str(path))
    assert_one_line_error(proc, "bad.csv", "row 2", "'tokens'", "lots")
    assert proc.stdout == ""


@pytest.mark.parametrize(
    "args, needle",
    [
        (["--params", "1e9"], "--params"),
        (["--format", "yaml"], "--format"),
    ],
)
def test_cli_batch_flag_errors(tmp_path, args, needle):
    path = _write(tmp_path, ROWS[:1])
    assert_one_line_error(run_cli("estimate", "--batch", str(path), *args), needle)


def test_cli_batch_missing_file_and_unknown_column(tmp_path):
    assert_one_line_error(
        run_cli("estimate", "--batch", str(tmp_path / "none.csv")), "--batch", "not found"
    )
    path = tmp_path / "cols.csv"
    path.write_text("params,tokens,accelerator,colour\n1e9,1e12,h100-sxm,red\n")
    assert_one_line_error(
        run_cli("estimate", "--batch", str(path)), "cols.csv", "'colour'", "unknown"
    )


def test_cli_single_estimate_still_needs_an_accelerator():
    assert_one_line_error(
        run_cli("estimate", "--params", "1e9", "--tokens", "1e12"), "--accelerator"
    )


@pytest.mark.parametrize(
    "text, needles",
    [
        (
            "params,tokens,accelerator\n1e9,1e12,h100-sxm,extra\n",
            ["row 1", "4 fields", "header has 3"],
        ),
        ("", ["empty"]),
        ("params,tokens,accelerator\n1e9,,h100-sxm\n", ["row 1", "'tokens'", "tokens are needed"]),
    ],
)
def test_cli_malformed_csv_exits_2(tmp_path, text, needles):
    path = tmp_path / "m.csv"
    path.write_text(text)
    proc = run_cli("estimate", "--batch", str(path))
    assert_one_line_error(proc, "m.csv", *needles)
    assert proc.stdout == ""


# A table with many rows of few shapes (the batch's fast case) and every branch of `estimate`: the
# MFU clipped at 1 for some draws (A100 and MI300X at large sizes), FP8, fixed goodput and PUE, a
# given price, known hours, rows without a size.
GRID = [
    dict(params=p, tokens=t, accelerator=a, accelerators=c)
    for p in (7e9, 405e9)
    for t in (2e12, 15e12)
    for a in ("h100-sxm", "a100-sxm-80gb", "mi300x")
    for c in (512, 16384)
] + [
    dict(params=405e9, tokens=15e12, accelerator="h100-sxm", precision="fp8", goodput=0.8, pue=1.1),
    dict(
        params=405e9,
        tokens=15e12,
        accelerator="h100-sxm",
        precision="fp8",
        goodput=0.8,
        pue=1.1,
        site="us-southeast",
    ),
    dict(flop=3e25, accelerator="a100-sxm-80gb", goodput=0.95, price_per_hour=1.5),
    dict(flop=3e25, accelerator="h100-sxm", gpu_hours=2e7, goodput=0.9, accelerators=4096),
    dict(flop=3e25, accelerator="h100-sxm", mfu=0.45, site="us-southeast"),
]


def test_rows_that_share_their_draws_match_estimate_row_by_row():
    frame = pd.DataFrame(GRID)
    _assert_rows_match(frame, estimate_many(frame, draws=2000, seed=11), 2000, 11)


def test_results_do_not_depend_on_the_block_size(monkeypatch):
    """Shared vectors are made a block at a time: one group per block gives the same bits."""
    import analysis.model.batch as batch

    frame = pd.DataFrame(GRID + ROWS)
    whole = estimate_many(frame, draws=700, seed=4)
    monkeypatch.setattr(batch, "BLOCK_ELEMENTS", 1)
    blocked = estimate_many(frame, draws=700, seed=4)
    cols = output_columns()
    np.testing.assert_array_equal(whole[cols].to_numpy(), blocked[cols].to_numpy())


@settings(max_examples=12, deadline=None)
@given(
    seed=st.integers(0, 2**31),
    sizes=st.lists(st.floats(1e8, 2e12), min_size=1, max_size=3),
    chip=st.sampled_from(["h100-sxm", "a100-sxm-80gb", "mi300x", "h800"]),
    precision=st.sampled_from(["bf16", "fp8"]),
    goodput=st.none() | st.floats(0.5, 1.0),
    pue=st.none() | st.floats(1.0, 2.0),
    price=st.none() | st.floats(0.5, 20.0),
)
def test_any_mix_of_branches_matches_estimate(seed, sizes, chip, precision, goodput, pue, price):
    if precision == "fp8" and chip == "a100-sxm-80gb":
        precision = "bf16"  # no FP8 peak: a row error, tested above
    optional = dict(goodput=goodput, pue=pue, price_per_hour=price)
    rows = [
        dict(
            params=s,
            tokens=1e13,
            accelerator=chip,
            precision=precision,
            accelerators=1024,
            **{k: v for k, v in optional.items() if v is not None},
        )
        for s in sizes * 2
    ]
    frame = pd.DataFrame(rows)
    _assert_rows_match(frame, estimate_many(frame, draws=400, seed=seed), 400, seed)


def test_a_row_whose_vectors_are_not_finite_is_answered_by_estimate_itself(monkeypatch):
    """The flags' bounds keep every row's figures finite; should a row's shared-vector answer still
    not be (the safety net of estimate_many), that row is answered by `estimate`, exactly."""
    import analysis.model.batch as batch

    real = batch._evaluate

    def spoiled(plan, draws, seed):
        out, over_one = real(plan, draws, seed)
        out["gpu_hours_p50"][1] = np.inf
        return out, over_one

    monkeypatch.setattr(batch, "_evaluate", spoiled)
    frame = pd.DataFrame(ROWS[:3])
    _assert_rows_match(frame, estimate_many(frame, draws=300, seed=2), 300, 2)


def test_a_configurations_file_that_never_ends_or_is_absurdly_large_is_refused_at_once(
    tmp_path, monkeypatch
):
    """--batch /dev/zero read forever (killed at 2 minutes); a folder, a device and a file beyond
    MAX_BATCH_BYTES are refused before a byte is read, a table beyond MAX_BATCH_ROWS rows too."""
    import analysis.model.batch as batch

    for path, needle in (("/dev/zero", "not a regular file"), (str(tmp_path), "a folder")):
        assert_one_line_error(run_cli("estimate", "--batch", path), path.split("/")[-1], needle)
    big = tmp_path / "big.csv"
    with open(big, "wb") as handle:
        handle.truncate(batch.MAX_BATCH_BYTES + 1)  # sparse: no disk used
    assert_one_line_error(run_cli("estimate", "--batch", str(big)), "big.csv", "at most 256 MiB")
    monkeypatch.setattr(batch, "MAX_BATCH_ROWS", 3)
    rows = tmp_path / "rows.csv"
    rows.write_text("flop,accelerator\n" + "1e24,h100-sxm\n" * 4)
    with pytest.raises(InputError, match="4 rows; a table holds at most 3"):
        batch.read_configs(rows)
    with pytest.raises(InputError, match="4 rows; a table holds at most 3"):
        estimate_many(pd.DataFrame([ROWS[0]] * 4))


@given(
    name=st.sampled_from(sorted(FLAG_RANGES)),
    value=st.floats(allow_nan=True, allow_infinity=True)
    | st.sampled_from([1e-3, 1e-2, 1.0, 1e15, 1e32, 1e8, 3.0]),
)
def test_a_flag_and_its_batch_column_accept_the_same_values(name, value):
    """estimate checks one flag with Range.contains' scalar path, the batch a column with its array
    path."""
    allowed = FLAG_RANGES[name]
    assert bool(allowed.contains(value)) == bool(allowed.contains(np.array([value]))[0])


@pytest.mark.parametrize(
    "text, needles",
    [
        # pandas raised TypeError (a traceback) on a repeated column
        ("params,tokens,accelerator,params\n405e9,15.6e12,h100-sxm,405e9\n", ["'params'", "once"]),
        ("params,tokens,accelerator,tokens\n405e9,15.6e12,h100-sxm,1e12\n", ["'tokens'", "once"]),
    ],
)
def test_a_repeated_column_is_one_line_not_a_traceback(tmp_path, text, needles):
    path = tmp_path / "dup.csv"
    path.write_text(text)
    assert_one_line_error(run_cli("estimate", "--batch", str(path)), "dup.csv", *needles)
    frame = pd.DataFrame(
        [[405e9, 15.6e12, "h100-sxm", 405e9]], columns=["params", "tokens", "accelerator", "params"]
    )
    with pytest.raises(InputError, match="column 'params' appears more than once"):
        estimate_many(frame, draws=100)


def test_a_byte_order_mark_is_not_part_of_the_first_column(tmp_path):
    """A CSV saved by Excel starts with a UTF-8 BOM: the first column read as '\\ufeffparams'."""
    path = tmp_path / "bom.csv"
    path.write_bytes(b"\xef\xbb\xbfparams,tokens,accelerator\n405e9,15.6e12,h100-sxm\n")
    out = call_main("estimate", "--batch", path, "--draws", "200", "--format", "csv")
    assert out.returncode == 0, out.stderr
    assert out.stdout.startswith("params,tokens,accelerator,training_flop")


def test_a_column_accepts_the_underscores_its_flag_accepts():
    """--accelerators 1_000 was accepted and the same cell in a batch refused."""
    frame = pd.DataFrame(
        {
            "params": ["405e9"],
            "tokens": ["15_600_000_000_000"],
            "accelerator": ["h100-sxm"],
            "accelerators": ["1_000"],
        }
    )
    got = estimate_many(frame, draws=200)
    single = estimate(
        params=405e9, tokens=15.6e12, accelerator="h100-sxm", accelerators=1000, draws=200
    )
    assert got.loc[0, "wall_clock_days_p50"] == pytest.approx(
        single.metrics["wall_clock_days"]["p50"], rel=1e-9
    )
    assert call_main(
        "estimate", "--params", "405e9", "--tokens", "15.6e12", "--accelerator", "h100-sxm",
        "--accelerators", "1_000", "--draws", "200",
    ).returncode == 0  # fmt: skip


def test_a_seed_beyond_int64_is_refused_by_the_batch_as_by_estimate(tmp_path):
    path = _write(tmp_path, ROWS[:1])
    big = str(2**63)
    assert_one_line_error(
        run_cli("estimate", "--batch", str(path), "--seed", big),
        "--seed",
        "9,223,372,036,854,775,807",
    )
    with pytest.raises(InputError, match="--seed"):
        estimate_many(pd.DataFrame(ROWS[:1]), draws=100, seed=2**64)
    assert len(estimate_many(pd.DataFrame(ROWS[:1]), draws=100, seed=2**63 - 1)) == 1


def test_a_boolean_cell_is_not_read_as_a_number():
    """estimate(mfu=True) and a column of True were MFU 1.0."""
    frame = pd.DataFrame({"flop": [1e25], "accelerator": ["h100-sxm"], "mfu": [True]})
    with pytest.raises(InputError, match="row 1, column 'mfu': expected a number, not a boolean"):
        estimate_many(frame, draws=100)

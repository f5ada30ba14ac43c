"""analysis.runs.parameters: one declared parameter model per notebook, used by the notebooks,
report and sweep."""

from __future__ import annotations

import subprocess
import sys

import pytest
from hypothesis import given
from hypothesis import strategies as st

from analysis.errors import InputError
from analysis.paths import NOTEBOOKS_DIR, PROJECT_ROOT
from analysis.runs import parameters as params
from analysis.runs import report
from analysis.runs.parameters import ParameterError
from analysis.runs.sweep import load_sweep


def test_every_model_belongs_to_a_notebook_and_every_notebook_has_one():
    notebooks = {p.stem for p in NOTEBOOKS_DIR.glob("*.ipynb")}
    assert set(params.MODELS) == notebooks


def test_misspelt_name_suggests_the_declared_one():
    with pytest.raises(ParameterError) as err:
        params.check("20_time_to_train_race", {"drawz": 5000}, partial=True)
    assert (
        str(err.value)
        == "parameter 'drawz' is not a parameter of 20_time_to_train_race; did you mean 'draws'?"
    )
    assert isinstance(err.value, InputError)  # the CLI's exit 2, one line


def test_unrelated_name_lists_the_parameters():
    with pytest.raises(
        ParameterError,
        match=r"'colour' is not a parameter of 30_backtest; its parameters: .*naive_mfu",
    ):
        params.check("30_backtest", {"colour": "red"}, partial=True)


@given(st.text(alphabet="abcdefghijklmnopqrstuvwxyz_", min_size=1, max_size=12))
def test_any_undeclared_name_is_refused_by_name(name):
    model = params.MODELS["21_cost_power_carbon"]
    if name in model.model_fields:
        return
    with pytest.raises(ParameterError) as err:
        params.check("21_cost_power_carbon", {name: 1}, partial=True)
    assert f"parameter {name!r} is not a parameter of 21_cost_power_carbon" in str(err.value)


@pytest.mark.parametrize("value", ["5000", True, 12.5, None, float("nan")])
def test_ill_typed_counts_are_refused_naming_the_parameter(value):
    with pytest.raises(ParameterError, match=r"^parameter 'draws' of 10_compute_budgets: ") as err:
        params.check("10_compute_budgets", {"draws": value}, partial=True)
    assert "\n" not in str(err.value)


def test_whole_floats_are_counts_and_ints_are_floats():
    # papermill's CLI reads `-p draws 2e4` as 20000.0 and `-p target_flop 0` as 0
    assert params.check(
        "20_time_to_train_race", {"draws": 2e4, "target_flop": 0}, partial=True
    ) == {"draws": 20000, "target_flop": 0.0}
    assert isinstance(
        params.check("20_time_to_train_race", {"draws": 2e4}, partial=True)["draws"], int
    )


@pytest.mark.parametrize(
    "notebook, values, needle",
    [
        ("20_time_to_train_race", {"coreweave_2026_scale": -1.0}, "greater than or equal to 0"),
        ("21_cost_power_carbon", {"pue": 0.5}, "PUE from 1 to 3"),
        ("21_cost_power_carbon", {"accelerator": "b200"}, "no purchase and rental price"),
        ("22_sensitivity", {"draws": 100}, "greater than or equal to 200"),
        ("22_sensitivity", {"scenario": "scenarios/nope.yaml"}, "'scenarios/nope.yaml' not found"),
        ("00_assumptions", {"precision": "fp16"}, "'bf16' or 'fp8'"),
        ("30_backtest", {"leave_out": "lab"}, "'run' or 'group'"),
        (
            "21_cost_power_carbon",
            {"mfu": 1e-5},
            "0 (the calibrated prior) or a number from 0.001 to 1",
        ),
        (
            "20_time_to_train_race",
            {"target_flop": 3.0},
            "0 (each lab's own model) or a number from 1e+15 to 1e+32",
        ),
        ("22_sensitivity", {"target_flop": 1e40}, "from 1e+15 to 1e+32"),
    ],
)
def test_out_of_range_values_say_what_is_allowed(notebook, values, needle):
    with pytest.raises(ParameterError) as err:
        params.check(notebook, values, partial=True)
    assert needle in str(err.value) and f"of {notebook}" in str(err.value)


def test_a_full_check_needs_every_parameter():
    with pytest.raises(ParameterError, match="parameter 'seed' of 10_compute_budgets is missing"):
        params.check(
            "10_compute_budgets",
            {"draws": 10, "scenario": "scenarios/default.yaml", "metrics_path": ""},
        )


def test_injected_names_come_from_papermills_last_parameters_cell():
    history = [
        "",
        "draws = 2000",
        "# Parameters\ndraws = 5\n",
        "x = 1",
        "# Parameters\ndrawz = 5000\nseed = 1\n",
    ]
    assert params.injected_names(history) == ["drawz", "seed"]
    assert params.injected_names(["draws = 1"]) == []
    assert params.injected_names(None) == []


def test_check_namespace_refuses_what_papermill_injected_but_was_not_declared():
    namespace = {
        "precision": "bf16",
        "min_year": 2017,
        "scenario": "scenarios/default.yaml",
        "metrics_path": "",
        "In": ["", "precision = 'bf16'", "# Parameters\nprecison = 'fp8'\n"],
        "precison": "fp8",
    }
    with pytest.raises(
        ParameterError,
        match="'precison' is not a parameter of 00_assumptions; did you mean 'precision'",
    ):
        params.check_namespace("00_assumptions", namespace)
    namespace["In"] = namespace["In"][
        :2
    ]  # interactive: nothing injected; other globals are the user's
    assert params.check_namespace("00_assumptions", namespace).precision == "bf16"


def test_parameter_error_shows_one_line_in_ipython():
    err = ParameterError("parameter 'x' of 00_assumptions: bad")
    assert err._render_traceback_() == ["ParameterError: parameter 'x' of 00_assumptions: bad"]


def test_report_checks_what_it_passes(tmp_path, monkeypatch):
    assert (
        report.report_parameters(NOTEBOOKS_DIR / "22_sensitivity.ipynb", tmp_path, draws=500)[
            "draws"
        ]
        == 500
    )
    with pytest.raises(ParameterError, match="parameter 'draws' of 22_sensitivity"):
        report.report_parameters(NOTEBOOKS_DIR / "22_sensitivity.ipynb", tmp_path, draws=10)


def test_sweep_checks_grid_values_against_the_model_before_running(tmp_path):
    sweep = tmp_path / "bad.yaml"
    sweep.write_text(
        "notebook: notebooks/21_cost_power_carbon.ipynb\nparameters: {draws: 100}\n"
        "grid: {pue: [0, 1.2, 0.5]}\n"
    )
    with pytest.raises(
        InputError, match=r"grid\.pue\[2\]: parameter 'pue' of 21_cost_power_carbon"
    ):
        load_sweep(sweep)
    done = subprocess.run(
        [sys.executable, "-m", "analysis", "sweep", str(sweep), "--out", str(tmp_path / "out")],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 2
    assert (
        done.stderr.count("\n") == 1
        and done.stderr.startswith("error: ")
        and "'pue'" in done.stderr
    )
    assert not (tmp_path / "out").exists()

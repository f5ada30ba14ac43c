"""Which inputs move time-to-train and cost: a tornado and a variance-based index, from per-draw
data.

Both work on the draws `simulate(..., keep_draws=True)` already made, so they measure exactly the
model the race reports, at no extra simulation cost:

- Tornado: for each input, the median outcome among draws whose input lies in its lowest `tail`
  fraction against those in its highest; the bar spans the two, the swing ranks the inputs. It reads
  like a one-at-a-time tornado but averages over every other input instead of fixing it.
- Variance-based index: first-order Sobol indices S1 (the share of the outcome's variance explained
  by one input alone) estimated by RBD-FAST on the given sample (SALib's `rbd_fast`, Plischke 2010;
  Tissot and Prieur 2012 bias correction), with bootstrap confidence intervals. Why this and not a
  Saltelli design: the race draws every input from its own seeded stream inside `simulate`, so a
  Saltelli matrix would need a second path through the sampling code (re-deriving it), while
  given-data RBD-FAST is valid for independent inputs, which these are (except training FLOP and MFU
  x goodput, linked through model size in the MFU prior). What it does not give: total-order
  indices; 1 - sum(S1) bounds what interactions (delays x power caps, above all) explain.

Outcomes: time-to-train counts draws that do not finish within the horizon at the horizon
(censored); cost and the other run metrics use the draws that finish.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from ..errors import InputError

if TYPE_CHECKING:
    import pandas as pd

    from ..model.result import SimulationResult

#: Columns of the per-draw frame that are outcomes or bookkeeping, never inputs.
NOT_INPUTS = frozenset(
    {
        "draw",
        "lab",
        "model",
        "finish_month",
        "time_to_train_months",
        "gpu_hours",
        "energy_mwh",
        "peak_power_mw",
        "cost_usd",
        "committed_usd",
        "emissions_tco2e",
        "launch_month",
        "release_month",
        "run_length_months",
        "training_flop",
        "effective_flop",
        # mfu and goodput enter the race only through their product, `utilization`, which is kept;
        # active parameters enter through the MFU prior (and a model's 6 N D target, kept).
        "mfu",
        "goodput",
        "active_params",
    }
)
#: Readable names of the sampled inputs (prefix before ':' for per-deal and per-site inputs).
LABELS = {
    "target_flop": "target compute (FLOP)",
    "earliest_launch_months": "planned launch (months after the start)",
    "budget_months": "wall-clock budget (months)",
    "release_lag_months": "post-training lag (months)",
    "efficiency": "training efficiency (effective FLOP per FLOP)",
    "halving_months": "algorithmic progress (months per halving)",
    "accelerators": "accelerators of the run",
    "utilization": "MFU x goodput",
    "share": "share of the largest campus for the run",
    "fp8_gain": "FP8 throughput gain",
    "hardware_life_years": "hardware life (years)",
    "build_usd_per_mw": "build cost per MW",
    "delay": "delivery delay",
    "power_delay": "power (grid) delay",
    "price_factor": "price factor",
    "pue_delta": "PUE variation",
}
OUTCOMES = {
    "time_to_train_months": "time-to-train (months)",
    "release_month": "release (months after the start)",
    "training_flop": "training compute (FLOP)",
    "effective_flop": "effective training compute (FLOP)",
    "cost_usd": "cost (USD)",
    "energy_mwh": "energy (MWh)",
    "peak_power_mw": "peak power (MW)",
    "emissions_tco2e": "emissions (tCO2e)",
}
#: Fewest usable draws for an index; below this a lab is left out with no row.
MIN_DRAWS = 200


def label(column: str) -> str:
    """A readable name for an input column (``delay:meta-hyperion``: delivery delay).

    Parameters
    ----------
    column : str
        A per-draw input column of a SimulationResult.

    Returns
    -------
    str
        The name shown in tables and figures.
    """
    prefix, _, rest = column.partition(":")
    name = LABELS.get(prefix, prefix)
    return f"{name}: {rest}" if rest else name


def _frame(result: SimulationResult) -> pd.DataFrame:
    try:
        return result.draws
    except ValueError:
        raise InputError(
            "sensitivity needs per-draw results: call simulate(..., keep_draws=True)"
        ) from None


def outcome_data(
    result: SimulationResult, outcome: str = "time_to_train_months"
) -> dict[str, tuple]:
    """Per lab, the inputs that vary and the outcome, as arrays, unusable draws removed.

    Parameters
    ----------
    result : SimulationResult
        From ``simulate(..., keep_draws=True)`` (or ``WhatIf.simulate(keep_draws=True)``).
    outcome : str
        One of OUTCOMES: ``"time_to_train_months"`` (draws not finished count at the horizon),
        ``"cost_usd"``, ``"energy_mwh"``, ``"peak_power_mw"``, ``"emissions_tco2e"``.

    Returns
    -------
    dict of str to tuple
        Lab -> (input columns, X of shape (n, d), y of shape (n,)); a lab with fewer than
        MIN_DRAWS usable draws, or an outcome that does not vary, has no entry.

    Raises
    ------
    InputError
        For an unknown outcome, or a result without per-draw data.
    """
    if outcome not in OUTCOMES:
        raise InputError(f"outcome: {outcome!r} is not one of {', '.join(OUTCOMES)}")
    frame = _frame(result)
    horizon = result.scenario.horizon_months
    out = {}
    for lab, group in frame.groupby("lab", sort=False):
        y = group[outcome].to_numpy(dtype=np.float64)
        if outcome == "time_to_train_months":
            y = np.where(np.isfinite(y), y, horizon)
            keep = np.ones(len(y), dtype=bool)
        else:
            keep = np.isfinite(y)
        columns = [c for c in group.columns if c not in NOT_INPUTS and group[c].notna().all()]
        X = group.loc[keep, columns].to_numpy(dtype=np.float64)
        varying = [i for i, c in enumerate(columns) if X.shape[0] and np.ptp(X[:, i]) > 0]
        if keep.sum() < MIN_DRAWS or np.ptp(y[keep]) == 0:
            continue
        out[lab] = ([columns[i] for i in varying], X[:, varying], y[keep])
    return out


def tornado(
    result: SimulationResult, outcome: str = "time_to_train_months", *, tail: float = 0.1
) -> pd.DataFrame:
    """Median outcome with each input in its lowest versus highest `tail` of draws, per lab.

    Parameters
    ----------
    result : SimulationResult
        From ``simulate(..., keep_draws=True)`` (or ``WhatIf.simulate(keep_draws=True)``).
    outcome : str
        One of OUTCOMES: ``"time_to_train_months"`` (draws not finished count at the horizon),
        ``"cost_usd"``, ``"energy_mwh"``, ``"peak_power_mw"``, ``"emissions_tco2e"``.
    tail : float
        The bottom and top fraction of draws of each input, in (0, 0.5].

    Returns
    -------
    pandas.DataFrame
        Columns lab, input, label, low (median outcome when the input is low), high (when high),
        base (median over all draws), swing (abs(high - low)), rank (1 = the largest swing in the
        lab).
    """
    import pandas as pd

    if not 0 < tail <= 0.5:
        raise InputError(f"tail: expected a fraction in (0, 0.5], got {tail!r}")
    rows = []
    for lab, (columns, X, y) in outcome_data(result, outcome).items():
        base = float(np.median(y))
        for i, column in enumerate(columns):
            lo_cut, hi_cut = np.quantile(X[:, i], [tail, 1.0 - tail])
            low = float(np.median(y[X[:, i] <= lo_cut]))
            high = float(np.median(y[X[:, i] >= hi_cut]))
            rows.append(
                {
                    "lab": lab,
                    "input": column,
                    "label": label(column),
                    "low": low,
                    "high": high,
                    "base": base,
                    "swing": abs(high - low),
                }
            )
    frame = pd.DataFrame(rows, columns=["lab", "input", "label", "low", "high", "base", "swing"])
    frame["rank"] = frame.groupby("lab")["swing"].rank(ascending=False, method="first").astype(int)
    return _in_lab_order(frame)


def variance_indices(
    result: SimulationResult,
    outcome: str = "time_to_train_months",
    *,
    harmonics: int = 10,
    resamples: int = 50,
    seed: int = 0,
) -> pd.DataFrame:
    """First-order Sobol indices by RBD-FAST on the race's draws, per lab (SALib).

    Parameters
    ----------
    result : SimulationResult
        From ``simulate(..., keep_draws=True)`` (or ``WhatIf.simulate(keep_draws=True)``).
    outcome : str
        One of OUTCOMES: ``"time_to_train_months"`` (draws not finished count at the horizon),
        ``"cost_usd"``, ``"energy_mwh"``, ``"peak_power_mw"``, ``"emissions_tco2e"``.
    harmonics : int
        RBD-FAST's number of harmonics M, 1 to 50 (SALib's default: 10).
    resamples : int
        Bootstrap resamples for the confidence interval, 1 to 10,000.
    seed : int
        Seed of the bootstrap, 0 to 2**63 - 1.

    Returns
    -------
    pandas.DataFrame
        Columns lab, input, label, S1, S1_conf (half-width of the 95% bootstrap interval), rank, and
        S1_sum per lab (1 - S1_sum: the variance left to interactions and estimator noise).
    """
    import pandas as pd
    from SALib.analyze import rbd_fast

    from ..inputs.limits import check_seed, check_whole

    harmonics = check_whole(harmonics, "harmonics", 1, 50)  # RBD-FAST: a handful (SALib: 10)
    resamples = check_whole(resamples, "resamples", 1, 10_000)
    seed = check_seed(seed, "seed")
    rows = []
    for lab, (columns, X, y) in outcome_data(result, outcome).items():
        problem = {
            "num_vars": len(columns),
            "names": columns,
            "bounds": [[float(X[:, i].min()), float(X[:, i].max())] for i in range(len(columns))],
        }
        res = rbd_fast.analyze(
            problem,
            X,
            y,
            M=harmonics,
            num_resamples=resamples,
            conf_level=0.95,
            print_to_console=False,
            seed=seed,
        )
        for column, s1, conf in zip(columns, res["S1"], res["S1_conf"]):
            rows.append(
                {
                    "lab": lab,
                    "input": column,
                    "label": label(column),
                    "S1": float(s1),
                    "S1_conf": float(conf),
                }
            )
    frame = pd.DataFrame(rows, columns=["lab", "input", "label", "S1", "S1_conf"])
    frame["rank"] = frame.groupby("lab")["S1"].rank(ascending=False, method="first").astype(int)
    frame["S1_sum"] = frame.groupby("lab")["S1"].transform(lambda s: s.clip(lower=0).sum())
    return _in_lab_order(frame)


def _in_lab_order(frame: pd.DataFrame) -> pd.DataFrame:
    """Rows by lab in the scenario's order (as they came), then by rank."""
    order = {lab: i for i, lab in enumerate(dict.fromkeys(frame["lab"]))}
    return frame.sort_values(
        ["lab", "rank"], key=lambda c: c.map(order) if c.name == "lab" else c, kind="stable"
    ).reset_index(drop=True)


def top_inputs(tornado_frame: pd.DataFrame, indices: pd.DataFrame, *, n: int = 5) -> pd.DataFrame:
    """The `n` inputs with the largest S1 per lab, beside their tornado swing.

    Parameters
    ----------
    tornado_frame : pandas.DataFrame
        From `tornado`.
    indices : pandas.DataFrame
        From `variance_indices`.
    n : int
        Inputs per lab, 1 to 1,000.

    Returns
    -------
    pandas.DataFrame
        Columns lab, rank, label, S1, S1_conf, low, high, swing.
    """
    from ..inputs.limits import check_whole

    n = check_whole(n, "n", 1, 1000)
    merged = indices.merge(
        tornado_frame[["lab", "input", "low", "high", "swing"]], on=["lab", "input"], how="left"
    )
    return merged[merged["rank"] <= n][
        ["lab", "rank", "label", "S1", "S1_conf", "low", "high", "swing"]
    ].reset_index(drop=True)


def headline(indices: pd.DataFrame, prefix: str) -> dict[str, object]:
    """Metrics for `cells.record_metrics`: per lab, the top input and its S1.

    Parameters
    ----------
    indices : pandas.DataFrame
        From `variance_indices`.
    prefix : str
        Starts every key (``"time"`` gives ``time_top_input_meta``, ``time_top_s1_meta``).

    Returns
    -------
    dict of str to object
        ``<prefix>_top_input_<lab>`` (the input column) and ``<prefix>_top_s1_<lab>`` (its S1),
        the lab in lower case.
    """
    out: dict[str, object] = {}
    for lab, group in indices.groupby("lab", sort=False):
        top = group.sort_values("rank").iloc[0]
        key = lab.lower()
        out[f"{prefix}_top_input_{key}"] = top["input"]
        out[f"{prefix}_top_s1_{key}"] = float(top["S1"])
    return out

"""Hours that bound the clean pass from above, read as censored observations of utilization.

A row's ``hours_bound`` (data/training_runs.csv) says whether its hours measure the clean pass
(``exact``) or bound it from above (``upper``: accelerators x calendar time, hours that also cover
post-training or restarts). An upper bound on the hours is a lower bound on ``u``. The censored
form of the prior (``calibration``, the flag ``"censored"``) fits the pooled coefficients and the
scale by maximum likelihood with exact rows by their Student-t density and upper-bound rows by the
probability that ``log u`` is at least the implied value (``scipy.stats.t.logsf``; BFGS from
scipy.optimize; the coefficients' covariance from the numerical Hessian of statsmodels). Its
generation offsets are shrunk as in the point form, from residuals in which each bounded row
stands at its expected value given the bound (a Buckley-James step), alternated with the fit until
they settle.

`bound_slack` asks how loose the bounds are: it reads a bounded row's log u as the truth minus a
half-normal slack and fits the slack's scale by maximum likelihood. Array functions only: the
prior is assembled in ``calibration``.
"""

from __future__ import annotations

import math

import numpy as np

#: Rounds of the censored fit and its generation offsets; they settle in 3-6.
CENSORED_ROUNDS = 20
#: Quantile points of the half-normal slack in `bound_slack` (midpoint rule on its quantile
#: function; 64 move the log-likelihood by under 1e-3).
SLACK_GRID = 64


def censored_mle(y, X, upper, offset, start, dof):
    """Maximum likelihood of (coefficients, log scale) with Student-t residuals: exact rows by their
    density, upper-bound rows (log u at least y) by the survival function. Returns the
    coefficients, the scale, the coefficients' covariance (inverse of the numerical Hessian) and the
    optimum for a warm start."""
    from scipy import optimize, stats
    from statsmodels.tools.numdiff import approx_hess

    exact = ~upper

    def nll(theta):
        r = y - X @ theta[:-1] - offset
        s = math.exp(theta[-1])
        return -(
            np.sum(stats.t.logpdf(r[exact], dof, scale=s))
            + np.sum(stats.t.logsf(r[upper], dof, scale=s))
        )

    theta = optimize.minimize(nll, start, method="BFGS").x
    cov = np.linalg.pinv(approx_hess(theta, nll))
    k = X.shape[1]
    return theta[:k], math.exp(theta[-1]), cov[:k, :k], theta


def expected_given_bound(resid, upper, scale, dof):
    """Residuals with each upper-bound row at its expectation given that it is at least the observed
    value: for a Student-t with scale s, E[e | e >= c] = s (nu + z^2) / (nu - 1) pdf(z) / sf(z) with
    z = c / s (scipy.stats' pdf and sf)."""
    from scipy import stats

    z = resid / scale
    sf = np.maximum(stats.t.sf(z, dof), 1e-300)
    tail = scale * (dof + z**2) / (dof - 1.0) * stats.t.pdf(z, dof) / sf
    return np.where(upper, tail, resid)


def shrunk_offsets(resid, gens, groups, s2) -> tuple[dict[str, tuple[float, float, int]], float]:
    """Generation offsets: each generation's mean residual shrunk toward 0 by tau^2 / (tau^2 +
    s2 / n_g), tau^2 the DerSimonian-Laird between-generation variance (statsmodels
    ``combine_effects``): the spread of the means beyond what their sampling variance explains, each
    mean weighted by n_g / s2. Returns {generation: (offset, its variance, runs)} and tau."""
    means = np.array([np.mean(resid[gens == g]) for g in groups])
    counts = np.array([np.sum(gens == g) for g in groups])
    tau2 = 0.0
    if len(groups) >= 2:
        import warnings

        from statsmodels.stats.meta_analysis import combine_effects

        with warnings.catch_warnings():
            # combine_effects also works out a Hartung-Knapp variance, unused here, whose square
            # root warns when it comes out negative for a few small groups.
            warnings.simplefilter("ignore", RuntimeWarning)
            tau2 = max(0.0, float(combine_effects(means, s2 / counts, method_re="dl").tau2))
    offsets = {}
    for g, m, n_g in zip(groups, means, counts):
        weight = tau2 / (tau2 + s2 / n_g) if tau2 > 0 else 0.0
        offsets[str(g)] = (float(weight * m), float(weight * s2 / n_g), int(n_g))
    return offsets, math.sqrt(tau2)


def fit_censored(y, X, upper, gens, start_coef, dof, *, generation: bool):
    """The censored fit: coefficients and scale by censored maximum likelihood, then (with the
    generation term) offsets from the completed residuals, the two alternated until the offsets
    settle. Returns (coefficients, their covariance, scale, offsets, tau)."""
    from scipy import stats

    mad = float(stats.median_abs_deviation(y - X @ start_coef, scale="normal")) or 0.1
    start = np.append(start_coef, math.log(mad))
    offset = np.zeros(len(y))
    offsets: dict[str, tuple[float, float, int]] = {}
    tau = 0.0
    groups = sorted(set(gens))
    for _ in range(CENSORED_ROUNDS):
        coef, scale, cov, start = censored_mle(y, X, upper, offset, start, dof)
        if not generation:
            break
        completed = expected_given_bound(y - X @ coef, upper, scale, dof)
        offsets, tau = shrunk_offsets(completed, gens, groups, scale**2)
        new = np.array([offsets[g][0] for g in gens])
        settled = np.max(np.abs(new - offset)) < 1e-4
        offset = new
        if settled:
            break
    return coef, cov, scale, offsets, tau


def bound_slack(y, X, upper, dof) -> dict[str, float]:
    """How loose the upper bounds are, by maximum likelihood: a bounded row's log u is the truth
    minus a slack ~ half-normal(lambda) (lambda 0: the bounds are the runs; lambda -> inf: the
    censored form), exact rows are points, log u = X b + Student-t(dof). Densities from scipy.stats,
    the slack integrated on its quantile grid, Nelder-Mead from scipy.optimize.

    Returns ``lambda``, ``mean_slack_factor`` (exp of the slack's mean: hours over the clean pass),
    the AIC of this model and of every row as a point (same regression), and the row counts.
    """
    from scipy import optimize, stats

    grid = stats.halfnorm.ppf((np.arange(SLACK_GRID) + 0.5) / SLACK_GRID)
    k = X.shape[1]

    def nll_slack(theta):
        r = y - X @ theta[:k]
        s, lam = math.exp(theta[k]), math.exp(theta[k + 1])
        exact = np.sum(stats.t.logpdf(r[~upper], dof, scale=s))
        density = stats.t.pdf(r[upper][:, None] + lam * grid[None, :], dof, scale=s).mean(axis=1)
        return -(exact + np.sum(np.log(np.maximum(density, 1e-300))))

    def nll_points(theta):
        return -np.sum(stats.t.logpdf(y - X @ theta[:k], dof, scale=math.exp(theta[k])))

    start = [float(np.median(y))] + [0.0] * (k - 1) + [math.log(0.3)]
    opts = {"maxiter": 4000, "xatol": 1e-7, "fatol": 1e-9}
    points_fit = optimize.minimize(nll_points, start, method="Nelder-Mead", options=opts)
    slack_fit = optimize.minimize(
        nll_slack, [*points_fit.x, math.log(0.2)], method="Nelder-Mead", options=opts
    )
    lam = math.exp(slack_fit.x[k + 1])
    return {
        "lambda": lam,
        "mean_slack_factor": math.exp(lam * math.sqrt(2.0 / math.pi)),
        "aic_slack": float(2.0 * slack_fit.fun + 2 * (k + 2)),
        "aic_points": float(2.0 * points_fit.fun + 2 * (k + 1)),
        "n_upper": int(upper.sum()),
        "n_runs": len(y),
    }

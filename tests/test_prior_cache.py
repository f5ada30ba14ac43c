"""The fitted default prior is cached on disk between processes: the cached prior is the fitted one,
and a damaged or foreign cache file only costs a refit."""

from __future__ import annotations

import numpy as np

from analysis.inputs.catalog import load_catalog
from analysis.model import calibration


def _fresh(monkeypatch, tmp_path):
    monkeypatch.setenv(calibration.CACHE_ENV, str(tmp_path))
    calibration._PRIORS.clear()


def test_a_cached_prior_is_the_fitted_prior(monkeypatch, tmp_path):
    _fresh(monkeypatch, tmp_path)
    catalog = load_catalog()
    fitted = calibration.default_prior(catalog)
    files = list(tmp_path.glob("prior-*.json"))
    assert len(files) == 1
    calibration._PRIORS.clear()
    cached = calibration.default_prior(catalog)
    assert cached == fitted and cached is not fitted
    u = np.linspace(0.01, 0.99, 9)
    ids = np.array(
        [
            "h100-sxm",
            "a100-sxm-80gb",
            "tpu-v4",
            "gb300",
            "ascend-910c",
            "h800",
            "b300",
            "v100-sxm-32gb",
            "h100-sxm",
        ],
        dtype=object,
    )
    np.testing.assert_array_equal(
        cached.ppf(u, np.full(9, 7e10), accelerator=ids),
        fitted.ppf(u, np.full(9, 7e10), accelerator=ids),
    )


def test_a_damaged_cache_file_is_refitted_and_rewritten(monkeypatch, tmp_path):
    _fresh(monkeypatch, tmp_path)
    catalog = load_catalog()
    path = calibration._cache_file(catalog, calibration.FEATURES)
    path.write_text('{"features": ["size"], "coef": "not a list"')
    prior = calibration.default_prior(catalog)
    assert prior.runs and len(prior.coef) >= 1
    calibration._PRIORS.clear()
    assert calibration.default_prior(catalog) == prior  # the rewritten file reads back


def test_the_cache_key_follows_the_data(monkeypatch, tmp_path, data_copy):
    _fresh(monkeypatch, tmp_path)
    shipped = calibration._cache_file(load_catalog(), calibration.FEATURES)
    runs = data_copy / "training_runs.csv"
    assert (
        calibration._cache_file(load_catalog(data_copy), calibration.FEATURES) == shipped
    )  # same data
    lines = runs.read_text().splitlines(keepends=True)
    runs.write_text("".join(lines[:-1]))  # one row fewer: other data, another file
    assert calibration._cache_file(load_catalog(data_copy), calibration.FEATURES) != shipped

"""The validated catalog is kept on disk between processes, keyed by the data's contents: a cached
catalog is the validated one, a changed file is validated again (its errors still raised), and a
damaged cache file only costs the validation."""

from __future__ import annotations

import shutil

import pytest
from conftest import DATA

from analysis.errors import InputError
from analysis.inputs import catalog as catalog_module
from analysis.paths import CACHE_ENV


@pytest.fixture
def fresh(monkeypatch, tmp_path):
    monkeypatch.setenv(CACHE_ENV, str(tmp_path / "cache"))
    catalog_module._CACHE.clear()
    data = tmp_path / "data"
    shutil.copytree(DATA, data)
    yield data
    catalog_module._CACHE.clear()


def _files(data):
    return sorted((data.parent / "cache").glob("catalog-*.pickle"))


def test_a_cached_catalog_is_the_validated_one_without_validating_again(fresh, monkeypatch):
    validated = catalog_module.load_catalog(fresh)
    assert len(_files(fresh)) == 1
    catalog_module._CACHE.clear()
    monkeypatch.setattr(catalog_module, "read_csv", lambda *a, **k: pytest.fail("validated again"))
    cached = catalog_module.load_catalog(fresh)
    assert cached is not validated and cached == validated
    assert cached.accelerator("h100-sxm") == validated.accelerator("h100-sxm")


def test_a_changed_file_is_validated_again_and_its_error_raised(fresh):
    catalog_module.load_catalog(fresh)
    catalog_module._CACHE.clear()
    path = fresh / "sites.csv"
    lines = path.read_text().splitlines()
    header = lines[0].split(",")
    cells = lines[1].split(",")
    cells[header.index("pue")] = "7"  # outside [1, 3]
    path.write_text("\n".join([lines[0], ",".join(cells), *lines[2:]]) + "\n")
    with pytest.raises(InputError, match="sites.csv line 2.*'pue'"):
        catalog_module.load_catalog(fresh)


def test_a_damaged_cache_file_is_validated_again_and_rewritten(fresh):
    validated = catalog_module.load_catalog(fresh)
    (path,) = _files(fresh)
    path.write_bytes(b"not a pickle")
    catalog_module._CACHE.clear()
    again = catalog_module.load_catalog(fresh)
    assert again == validated
    assert path.read_bytes() != b"not a pickle"

"""Provenance's git figures: the commit and a dirty flag that never starts the notebook filter."""

from __future__ import annotations

import os
import shutil
import subprocess

import pytest

import analysis.provenance as provenance

pytestmark = pytest.mark.skipif(shutil.which("git") is None, reason="git is not installed")


def _git(repo, *args):
    subprocess.run(["git", "-C", str(repo), *args], check=True, capture_output=True)


@pytest.fixture
def checkout(tmp_path, monkeypatch):
    """A throwaway checkout shaped like this project's: a paired notebook behind a clean filter
    that leaves a mark each time git starts it."""
    repo = tmp_path / "repo"
    (repo / "notebooks").mkdir(parents=True)
    (repo / ".gitattributes").write_text("*.ipynb filter=nbstripout\n")
    (repo / "notebooks" / "10_x.ipynb").write_text('{"cells": []}\n')
    (repo / "notebooks" / "10_x.py").write_text("# %%\n")
    mark = tmp_path / "filter-ran"
    _git(repo, "init", "-q")
    _git(repo, "config", "user.email", "t@example.org")
    _git(repo, "config", "user.name", "t")
    _git(repo, "config", "filter.nbstripout.clean", f"sh -c 'echo ran >> {mark}; cat'")
    _git(repo, "config", "filter.nbstripout.smudge", "cat")
    _git(repo, "add", ".")
    _git(repo, "commit", "-q", "-m", "x")
    mark.unlink(missing_ok=True)  # `git add` ran it
    monkeypatch.setattr(provenance, "PROJECT_ROOT", repo)
    provenance.git_commit.cache_clear()
    yield repo, mark
    provenance.git_commit.cache_clear()


def _touch(path):
    stat = path.stat()
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 10**9))


def test_a_saved_notebook_leaves_the_checkout_clean_without_starting_the_filter(checkout):
    """After a save (new file times, same content) the dirty check compares bytes; `git status`
    started the nbstripout filter, a Python process, once per notebook (10 s a command)."""
    repo, mark = checkout
    _touch(repo / "notebooks" / "10_x.ipynb")
    _touch(repo / "notebooks" / "10_x.py")
    commit, dirty = provenance.git_commit()
    assert commit and len(commit) == 40
    assert dirty is False
    assert not mark.exists(), "the dirty check started the notebook filter"


def test_a_changed_tracked_file_is_dirty(checkout):
    repo, mark = checkout
    (repo / "notebooks" / "10_x.py").write_text("# %%\nx = 1\n")
    assert provenance.git_commit()[1] is True
    assert not mark.exists()


def test_outside_a_checkout_there_is_no_commit(tmp_path, monkeypatch):
    monkeypatch.setattr(provenance, "PROJECT_ROOT", tmp_path)
    monkeypatch.setenv("GIT_CEILING_DIRECTORIES", str(tmp_path.parent))
    provenance.git_commit.cache_clear()
    try:
        assert provenance.git_commit() == (None, None)
    finally:
        provenance.git_commit.cache_clear()

"""JupyterLab's save hook (`.jupyter/jupyter_lab_config.py`): a notebook is saved as git holds it.

A notebook that git sends through the nbstripout clean filter (`.gitattributes`) is written by
JupyterLab with its outputs: git then sees a file whose size differs from the one in its index and
lists it as modified (` M`) although `git diff`, which runs the filter, is empty; only `git add`
cleared it, and every run recorded `git_dirty: True`. `strip_on_save` runs the same filter on the
notebook before the server writes it, so a save, an autosave or jupytext's write of the paired
`.ipynb` produces exactly the bytes git holds and `git status` stays clean. The filter is the one
git runs (`git config filter.nbstripout.clean`, installed by `make setup`), or the Makefile's own
command where it is not installed yet, so the two can never drift apart.

The price: a saved notebook keeps no outputs (they are in the browser until the page is closed;
the report keeps executed copies under results/). Notebooks that git does not filter (anything
outside the repository, `tests/fixtures/`) are saved as they are.
"""

from __future__ import annotations

import io
import json
import shlex
import subprocess
import sys
from pathlib import Path

#: The clean filter's arguments, as the Makefile's NBSTRIPOUT installs them (tests/test_roundtrip.py
#: checks the two agree); used where `make setup` has not installed the filter yet.
NBSTRIPOUT_ARGS = ("--keep-id", "--extra-keys", "metadata.language_info")
FILTER = "nbstripout"


def _git(root: Path, *args: str) -> str | None:
    try:
        done = subprocess.run(
            ["git", "-C", str(root), *args], capture_output=True, text=True, timeout=30
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    return done.stdout.strip() if done.returncode == 0 else None


def clean_command(root: Path, path: str) -> list[str] | str | None:
    """The command git's clean filter runs on `path` (relative to `root`), or None when git does not
    filter it (not a git work tree, or no `filter=nbstripout` attribute)."""
    attribute = _git(root, "check-attr", "filter", "--", path)
    if attribute is None or not attribute.endswith(f": {FILTER}"):
        return None
    configured = _git(root, "config", "--get", f"filter.{FILTER}.clean")
    if configured:
        return configured  # a shell command, as git runs it
    return [sys.executable, "-m", "nbstripout", *NBSTRIPOUT_ARGS]


class _Buffer(io.BytesIO):
    """A buffer nbstripout's output wrapper cannot close when it is collected."""

    def close(self) -> None:
        pass


def _nbstripout_args(command: list[str] | str) -> list[str] | None:
    """The arguments of an nbstripout command (``python -m nbstripout ARGS`` or ``nbstripout
    ARGS``), or None for any other filter."""
    parts = shlex.split(command) if isinstance(command, str) else list(command)
    if "-m" in parts[:-1] and parts[parts.index("-m") + 1] == "nbstripout":
        return parts[parts.index("-m") + 2 :]
    if parts and Path(parts[0]).name == "nbstripout":
        return parts[1:]
    return None


def _run_nbstripout(args: list[str], text: str) -> str:
    """nbstripout's own command line, in this process: a new interpreter took 1-3 s per save
    (imports), and the hook blocks the server while it runs."""
    from nbstripout._nbstripout import main

    out = _Buffer()
    saved = sys.argv, sys.stdin, sys.stdout
    sys.argv = ["nbstripout", *args]
    sys.stdin = io.TextIOWrapper(io.BytesIO(text.encode("utf-8")), encoding="utf-8")
    sys.stdout = io.TextIOWrapper(_Buffer(), encoding="utf-8")
    try:
        import contextlib

        with contextlib.suppress(SystemExit):
            sys.stdout = io.TextIOWrapper(out, encoding="utf-8")
            main()
    finally:
        sys.argv, sys.stdin, sys.stdout = saved
    return out.getvalue().decode("utf-8")


def strip(content: dict, command: list[str] | str, root: Path) -> dict:
    """`content` (a notebook as JSON) through the clean filter `command`, as git runs it (an
    nbstripout command runs in this process, with the same arguments)."""
    import nbformat

    text = nbformat.writes(nbformat.from_dict(content), version=nbformat.NO_CONVERT)
    args = _nbstripout_args(command)
    if args is not None:
        return json.loads(_run_nbstripout(args, text))
    done = subprocess.run(
        command,
        input=text,
        capture_output=True,
        text=True,
        cwd=root,
        shell=isinstance(command, str),
        check=True,
        timeout=120,
    )
    return json.loads(done.stdout)


def strip_on_save(model: dict, path: str, contents_manager, **_) -> None:
    """Jupyter server pre-save hook: a notebook git filters is saved as the filter writes it."""
    if model.get("type") != "notebook" or not str(path).endswith(".ipynb"):
        return
    root = Path(contents_manager.root_dir)
    command = clean_command(root, str(path).strip("/"))
    if command is None:
        return
    try:
        model["content"] = strip(model["content"], command, root)
    except (OSError, subprocess.SubprocessError, ValueError) as exc:
        # saving with outputs beats losing the save; git still strips them at `git add`
        contents_manager.log.warning(
            "notebook %s saved with its outputs: the clean filter %s failed (%s)",
            path,
            command if isinstance(command, str) else shlex.join(command),
            exc,
        )

"""Opening and saving a notebook in JupyterLab changes nothing git tracks.

Each test works on a throwaway git repository holding a copy of the project's notebooks and settings
(never the real tree): a real JupyterLab server, started as `make lab` starts it, opens and saves
every notebook through its contents API (GET the model, PUT it back, as the editor's save does), and
the files must come back byte for byte. A save after a run (outputs, execution counts, the kernel's
`language_info`) must write the bytes git holds, so that plain `git status --porcelain` is empty:
the project's JupyterLab config strips a notebook on save with git's own clean filter
(analysis/runs/lab.py). And the committed notebooks are what nbstripout and jupytext write
themselves, so neither rewrites them.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

import nbformat
import pytest

from analysis.paths import NOTEBOOKS_DIR, PROJECT_ROOT

#: What the throwaway repository copies: the notebooks and everything that decides how they are
#: saved.
COPIED = ("notebooks", "pyproject.toml", ".jupyter", ".gitattributes", ".gitignore", "Makefile")
NOTEBOOK_NAMES = sorted(p.name for p in NOTEBOOKS_DIR.glob("*.ipynb")) + sorted(
    p.name for p in NOTEBOOKS_DIR.glob("*.py")
)
SERVER_START_S = 120


def _git(repo: Path, *args: str, check: bool = True) -> subprocess.CompletedProcess:
    env = {
        **os.environ,
        "GIT_AUTHOR_NAME": "test",
        "GIT_AUTHOR_EMAIL": "test@example.org",
        "GIT_COMMITTER_NAME": "test",
        "GIT_COMMITTER_EMAIL": "test@example.org",
        "GIT_CONFIG_NOSYSTEM": "1",
        "HOME": str(repo.parent),
    }
    return subprocess.run(
        ["git", *args], cwd=repo, env=env, check=check, capture_output=True, text=True
    )


def _copy_project(target: Path) -> Path:
    """The notebooks and their settings as a fresh git repository with one commit."""
    target.mkdir()
    for name in COPIED:
        source = PROJECT_ROOT / name
        if source.is_dir():
            shutil.copytree(
                source,
                target / name,
                ignore=shutil.ignore_patterns(
                    ".ipynb_checkpoints", "__pycache__", "user-settings", "workspaces", "migrated"
                ),
            )
        elif source.exists():
            shutil.copy2(source, target / name)
    _git(target, "init", "-q")
    _git(target, "add", "-A")
    _git(target, "commit", "-q", "-m", "copy")
    return target


def _install_filters(repo: Path) -> str:
    """`make git-filters` in the copy, with this interpreter standing in for .venv/bin/python."""
    if shutil.which("make") is None:
        pytest.fail("make is needed (the project's entry points are make targets)")
    subprocess.run(
        ["make", "-s", "git-filters", f"PY={sys.executable}"],
        cwd=repo,
        check=True,
        capture_output=True,
        env={**os.environ, "HOME": str(repo.parent), "GIT_CONFIG_NOSYSTEM": "1"},
    )
    return _git(repo, "config", "--get", "filter.nbstripout.clean").stdout.strip()


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Lab:
    """A JupyterLab server on 127.0.0.1 with token auth, serving `root` with its own .jupyter
    settings."""

    def __init__(self, root: Path, runtime: Path):
        self.root, self.token, port = root, secrets.token_hex(16), _free_port()
        self.runtime = runtime
        self.base = f"http://127.0.0.1:{port}"
        env = {
            **os.environ,
            "JUPYTER_CONFIG_DIR": str(root / ".jupyter"),
            "JUPYTER_RUNTIME_DIR": str(runtime),
            "JUPYTER_DATA_DIR": str(runtime / "data"),
        }
        self.log_path = runtime / "lab.log"
        self.log = open(self.log_path, "w")
        # No --ServerApp.root_dir: the project's .jupyter config must root it at the repository
        # itself.
        self.proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "jupyterlab",
                "--no-browser",
                "--allow-root",
                f"--ServerApp.port={port}",
                "--ServerApp.port_retries=0",
                f"--IdentityProvider.token={self.token}",
            ],
            cwd=runtime,
            env=env,
            stdout=self.log,
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + SERVER_START_S
        while True:
            try:
                self.request("GET", "/api/status")
                break
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                pass
            if self.proc.poll() is not None or time.monotonic() > deadline:
                self.close()
                pytest.fail(f"JupyterLab did not start:\n{self.log_path.read_text()[-3000:]}")
            time.sleep(0.5)

    def request(self, method: str, path: str, body: dict | None = None):
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(
            f"{self.base}{path}",
            data=data,
            method=method,
            headers={"Authorization": f"token {self.token}", "Content-Type": "application/json"},
        )
        with urllib.request.urlopen(req, timeout=60) as response:
            raw = response.read()
            return (
                json.loads(raw)
                if response.headers.get_content_type() == "application/json"
                else raw.decode()
            )

    def contents(self, path: str) -> str:
        return f"/api/contents/{urllib.parse.quote(path)}"

    def close(self):
        self.proc.terminate()
        try:
            self.proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(timeout=20)
        self.log.close()


@pytest.fixture(scope="module")
def repo_and_lab(tmp_path_factory):
    base = tmp_path_factory.mktemp("roundtrip")
    repo = _copy_project(base / "repo")
    runtime = base / "runtime"
    runtime.mkdir()
    lab = Lab(repo, runtime)
    try:
        yield repo, lab
    finally:
        lab.close()


def _snapshot(repo: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted((repo / "notebooks").iterdir()) if p.is_file()}


def test_lab_is_rooted_at_the_repository_and_starts_in_notebooks(repo_and_lab):
    repo, lab = repo_and_lab
    listing = lab.request("GET", lab.contents("") + "?content=1")
    names = {item["name"] for item in listing["content"]}
    assert {"notebooks", "pyproject.toml"} <= names, (
        f"the lab's root is not the repository: {sorted(names)}"
    )
    page = lab.request("GET", "/lab")
    config = json.loads(
        page.split('id="jupyter-config-data"', 1)[1].split(">", 1)[1].split("</script>", 1)[0]
    )
    assert config["preferredPath"].strip("/") == "notebooks", config["preferredPath"]


def test_a_kernel_starts_without_warnings(repo_and_lab):
    """ipykernel warned at every start that its TCP sockets are unencrypted: the project's lab
    config has the kernel manager provision CurveZMQ keys, and the kernel starts silently."""
    repo, lab = repo_and_lab
    from jupyter_client import BlockingKernelClient

    kernel = lab.request("POST", "/api/kernels", {"name": "python3"})
    try:
        client = BlockingKernelClient(
            connection_file=str(lab.runtime / f"kernel-{kernel['id']}.json")
        )
        client.load_connection_file()
        client.start_channels()
        try:
            client.wait_for_ready(timeout=SERVER_START_S)  # it answers: past its start-up
        finally:
            client.stop_channels()
        time.sleep(1.0)  # whatever the kernel printed at start reaches the server's log
        log = lab.log_path.read_text()
        assert "Kernel started" in log
        for noise in ("without encryption", "WARNING", "Debugger warning", "setuptools"):
            assert noise not in log, f"the lab's log at a kernel start says {noise!r}:\n{log}"
    finally:
        lab.request("DELETE", f"/api/kernels/{kernel['id']}")


def test_a_kernel_started_as_papermill_starts_it_prints_nothing(tmp_path):
    """papermill and nbmake start kernels without CurveZMQ keys: the environment's kernel config
    (.jupyter/ipython_kernel_config.py, copied into the environment by `make setup`) drops
    ipykernel's unencrypted-TCP warning, and the kernel prints nothing else at start."""
    from jupyter_client import KernelManager

    installed = Path(sys.prefix) / "etc" / "ipython" / "ipython_kernel_config.py"
    source = PROJECT_ROOT / ".jupyter" / "ipython_kernel_config.py"
    assert installed.is_file() and installed.read_bytes() == source.read_bytes(), (
        f"{installed} is not the project's kernel config: run make setup"
    )
    manager = KernelManager(kernel_name="python3")
    with open(tmp_path / "kernel.log", "w") as log:
        manager.start_kernel(stdout=log, stderr=log, cwd=str(tmp_path))
        client = manager.client()
        client.start_channels()
        try:
            client.wait_for_ready(timeout=SERVER_START_S)
        finally:
            client.stop_channels()
            manager.shutdown_kernel(now=True)
    assert (tmp_path / "kernel.log").read_text() == ""


def test_open_and_save_every_notebook_changes_no_byte(repo_and_lab):
    """GET then PUT each .ipynb and each paired .py: both files of every pair come back
    unchanged."""
    repo, lab = repo_and_lab
    before = _snapshot(repo)
    assert len(NOTEBOOK_NAMES) >= 2
    for name in NOTEBOOK_NAMES:
        model = lab.request("GET", lab.contents(f"notebooks/{name}"))
        assert model["type"] == "notebook", (
            f"{name} is served as {model['type']!r}, not as a notebook"
        )
        saved = lab.request(
            "PUT",
            lab.contents(f"notebooks/{name}"),
            {"type": "notebook", "format": "json", "content": model["content"]},
        )
        assert saved["path"] == f"notebooks/{name}"
        after = _snapshot(repo)
        changed = sorted(k for k in before if after.get(k) != before[k])
        assert not changed, f"saving {name} from JupyterLab rewrote {changed}"
    diff = _git(repo, "diff", "--exit-code", "--stat", "--", "notebooks/", check=False)
    assert diff.returncode == 0, diff.stdout
    status = _git(repo, "status", "--porcelain", "--", "notebooks/").stdout
    assert status == "", status


def _ran(content: dict, count_from: int = 1) -> dict:
    """A notebook model as JupyterLab saves it after a run: outputs, execution counts, the
    kernel's language_info and widget state."""
    content["metadata"]["language_info"] = {
        "name": "python",
        "version": "3.11.99",
        "file_extension": ".py",
    }
    content["metadata"]["widgets"] = {
        "application/vnd.jupyter.widget-state+json": {"state": {}, "version_major": 2}
    }
    for count, cell in enumerate(
        (c for c in content["cells"] if c["cell_type"] == "code"), start=count_from
    ):
        cell["execution_count"] = count
        cell["outputs"] = [{"output_type": "stream", "name": "stdout", "text": f"ran {count}\n"}]
    return content


def test_save_after_a_run_leaves_git_status_clean(repo_and_lab):
    """Every notebook saved after a run, as JupyterLab saves it (outputs, counts, language_info,
    widget state), through its .ipynb and through its paired .py: the files on disk are the bytes
    git holds, so plain `git status --porcelain` is empty (no `git add`, no renormalize). Before,
    git saw the saved file's size differ from its index and listed both files ` M` although `git
    diff` was empty. Once without the filter installed (the hook falls back to the Makefile's
    command), once with it."""
    repo, lab = repo_and_lab
    committed = _snapshot(repo)
    for installed in (False, True):
        if installed:
            assert "nbstripout" in _install_filters(repo)
        for name in NOTEBOOK_NAMES:  # the .ipynb and the .py of every pair
            model = lab.request("GET", lab.contents(f"notebooks/{name}"))
            lab.request(
                "PUT",
                lab.contents(f"notebooks/{name}"),
                {"type": "notebook", "format": "json", "content": _ran(model["content"])},
            )
            changed = sorted(k for k, v in _snapshot(repo).items() if committed.get(k) != v)
            assert not changed, f"saving {name} after a run wrote {changed} unlike git holds them"
        status = _git(repo, "status", "--porcelain").stdout
        assert status == "", f"git status after saving every notebook:\n{status}"
        # and git itself, without refreshing its index, finds nothing to report either
        assert _git(repo, "diff-index", "--quiet", "HEAD", "--", check=False).returncode == 0


def test_the_save_hook_strips_with_the_makefiles_filter():
    """analysis.runs.lab falls back on the Makefile's nbstripout command: the same arguments."""
    from analysis.runs import lab

    makefile = (PROJECT_ROOT / "Makefile").read_text()
    line = next(x for x in makefile.splitlines() if x.startswith("NBSTRIPOUT :="))
    assert line.split("-m nbstripout", 1)[1].split() == list(lab.NBSTRIPOUT_ARGS)
    config = (PROJECT_ROOT / ".jupyter" / "jupyter_lab_config.py").read_text()
    assert 'pre_save_hook = "analysis.runs.lab.strip_on_save"' in config


# ---- the filter and the committed form, without a server ---------------------------------------


def _strip(path: Path, clean_command: str) -> bytes:
    return subprocess.run(
        clean_command, shell=True, input=path.read_bytes(), capture_output=True, check=True
    ).stdout


def _filter_command(tmp_path: Path) -> str:
    repo = tmp_path / "filters"
    repo.mkdir()
    for name in ("Makefile",):
        shutil.copy2(PROJECT_ROOT / name, repo / name)
    _git(repo, "init", "-q")
    return _install_filters(repo)


def test_git_filters_install_only_in_a_git_repository_and_idempotently(tmp_path):
    repo = tmp_path / "repo"
    repo.mkdir()
    shutil.copy2(PROJECT_ROOT / "Makefile", repo / "Makefile")
    _git(repo, "init", "-q")
    first = _install_filters(repo)
    config = (repo / ".git" / "config").read_text()
    second = _install_filters(repo)
    assert first == second and (repo / ".git" / "config").read_text() == config, (
        "a second install changed the config"
    )
    assert _git(repo, "config", "--get", "filter.nbstripout.smudge").stdout.strip() == "cat"
    outside = tmp_path / "not-a-repo"
    outside.mkdir()
    shutil.copy2(PROJECT_ROOT / "Makefile", outside / "Makefile")
    env = {**os.environ, "GIT_CEILING_DIRECTORIES": str(tmp_path), "HOME": str(tmp_path)}
    done = subprocess.run(
        ["make", "-s", "git-filters", f"PY={sys.executable}"],
        cwd=outside,
        env=env,
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr
    assert not (outside / ".git").exists()


def test_gitattributes_send_notebooks_through_the_filter():
    lines = (PROJECT_ROOT / ".gitattributes").read_text().splitlines()
    assert "*.ipynb filter=nbstripout" in lines


@pytest.mark.parametrize("path", sorted(NOTEBOOKS_DIR.glob("*.ipynb")), ids=lambda p: p.stem)
def test_committed_notebook_is_what_the_filter_writes(path, tmp_path):
    """nbstripout leaves a committed notebook byte for byte as it is (so `git add` never rewrites
    it)."""
    clean = _filter_command(tmp_path)
    assert _strip(path, clean) == path.read_bytes(), (
        f"{path.name}: run `make setup` and re-add it (git add --renormalize)"
    )


def test_stripping_is_idempotent_and_keeps_what_pairing_needs(tmp_path):
    """A notebook with outputs, counts, tags and jupytext metadata: stripping once removes the
    outputs and keeps tags, cell ids and the pairing metadata; stripping again changes nothing."""
    clean = _filter_command(tmp_path)
    source = sorted(NOTEBOOKS_DIR.glob("*.ipynb"))[0]
    nb = nbformat.read(source, as_version=4)
    nb.metadata["language_info"] = {"name": "python", "version": "3.11.99"}
    nb.metadata["widgets"] = {"application/vnd.jupyter.widget-state+json": {"state": {}}}
    for count, cell in enumerate((c for c in nb.cells if c.cell_type == "code"), start=1):
        cell.execution_count = count
        cell.outputs = [nbformat.v4.new_output("stream", name="stdout", text="x\n")]
        cell.metadata["scrolled"] = True
    dirty = tmp_path / "dirty.ipynb"
    nbformat.write(nb, dirty)
    once = tmp_path / "once.ipynb"
    once.write_bytes(_strip(dirty, clean))
    twice = _strip(once, clean)
    assert twice == once.read_bytes(), "stripping a stripped notebook changed it"
    stripped = nbformat.read(once, as_version=4)
    original = nbformat.read(source, as_version=4)
    assert all(
        c.outputs == [] and c.execution_count is None
        for c in stripped.cells
        if c.cell_type == "code"
    )
    assert "language_info" not in stripped.metadata and "widgets" not in stripped.metadata
    assert stripped.metadata["jupytext"] == original.metadata["jupytext"]
    assert stripped.metadata["kernelspec"] == original.metadata["kernelspec"]
    assert [c.metadata for c in stripped.cells] == [c.metadata for c in original.cells], (
        "tags must survive stripping"
    )
    assert [c.id for c in stripped.cells] == [c.id for c in original.cells], (
        "cell ids must survive stripping"
    )
    assert once.read_bytes() == source.read_bytes()


def test_jupytext_sync_from_the_script_yields_the_committed_notebook(tmp_path):
    """`jupytext --sync notebooks/NN.py` (the .py is what people edit) rewrites neither file."""
    repo = _copy_project(tmp_path / "repo")
    scripts = sorted((repo / "notebooks").glob("*.py"))
    before = _snapshot(repo)
    for script in scripts:
        os.utime(script)  # the .py is the newer file, as after an edit
        subprocess.run(
            [sys.executable, "-m", "jupytext", "--sync", str(script)],
            cwd=repo,
            check=True,
            capture_output=True,
        )
    after = _snapshot(repo)
    assert [k for k in before if after[k] != before[k]] == []

"""JupyterLab for this project (`make lab` sets JUPYTER_CONFIG_DIR to this folder).

Serves on 127.0.0.1 only, never contacts the network on its own (no news, no update check, no PyPI
extension manager), and takes its default settings from lab/settings/overrides.json, which opens the
paired percent-format `.py` notebooks as notebooks (jupytext's "Jupytext Notebook" viewer). The
jupytext contents manager itself is enabled by jupytext's own server extension.

The server is rooted at the repository (so data/, scenarios/ and results/ open from the file
browser, and jupytext finds its pairing settings in pyproject.toml: it looks for them only inside
the root) and the file browser starts in notebooks/.

Saving writes a notebook exactly as git holds it: the pre-save hook (analysis/runs/lab.py) runs
git's own nbstripout clean filter on it first, so a save or an autosave leaves `git status` clean
(a saved notebook keeps no outputs; rerun it, or read the report's executed copies).

Kernels talk to the server over CurveZMQ-encrypted sockets where the kernel supports it (ipykernel
warns at every start that plain TCP is unencrypted); the sockets stay on 127.0.0.1 either way.
"""

from pathlib import Path

here = Path(__file__).resolve().parent

c = get_config()  # noqa: F821 (provided by the traitlets config loader)
c.ServerApp.ip = "127.0.0.1"
c.ServerApp.root_dir = str(here.parent)
c.FileContentsManager.preferred_dir = "notebooks"
c.LabApp.news_url = None
c.LabApp.check_for_updates_class = "jupyterlab.NeverCheckForUpdate"
c.LabApp.extension_manager = "readonly"
# overrides.json here holds project defaults; user changes still go to lab/user-settings
# (git-ignored).
c.LabApp.app_settings_dir = str(here / "lab" / "settings")
c.ContentsManager.pre_save_hook = "analysis.runs.lab.strip_on_save"
if __import__("zmq").has("curve"):  # a libzmq without libsodium refuses the setting
    c.KernelManager.transport_encryption = "auto"

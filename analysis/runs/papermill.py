"""How the report and the sweep start a notebook's kernel: papermill options both pass.

- ``kernel_name``: the environment's own ``python3`` kernel.
- ``--log-level=ERROR``: ipykernel warns on stderr about unencrypted local TCP at every start, which
  would break the report's progress bar and the sweep's stderr.
- ``kernel_manager_class``: `quiet_shutdown_manager()`. jupyter_client's ``shutdown_kernel`` sends
  the kernel an interrupt (SIGINT) before asking it to shut down; when the interrupt lands while
  ipykernel is handling a message, the kernel prints "[IPKernelApp] ERROR | KeyboardInterrupt caught
  in kernel" on the terminal, after a notebook that ran fine. The manager does not interrupt a
  kernel it is shutting down. Every other interrupt (a cell past its timeout) is sent as before; a
  kernel stuck in a cell still gets jupyter_client's SIGTERM, then SIGKILL.
"""

from __future__ import annotations

import contextlib
import functools
import warnings

KERNEL_NAME = "python3"


@functools.cache
def quiet_shutdown_manager() -> type:
    """jupyter_client's AsyncKernelManager, less the interrupt it sends a kernel it is shutting
    down."""
    from jupyter_client.manager import AsyncKernelManager

    class QuietShutdownKernelManager(AsyncKernelManager):
        async def _async_interrupt_kernel(self) -> None:
            if self.shutting_down:
                return
            await super()._async_interrupt_kernel()

    return QuietShutdownKernelManager


def kernel_options() -> dict:
    """Keyword arguments for ``papermill.execute_notebook`` that start and stop the kernel."""
    return {
        "kernel_name": KERNEL_NAME,
        "extra_arguments": ["--log-level=ERROR"],
        "kernel_manager_class": quiet_shutdown_manager(),
    }


@contextlib.contextmanager
def quiet_notebook_warnings():
    """Read, run and write notebooks without nbformat's MissingIDFieldWarning: a notebook saved
    before cell ids existed (nbformat < 4.5) printed two lines of it per read and per point, which
    nbformat itself then fixes by adding the ids."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="Cell is missing an id field")
        yield

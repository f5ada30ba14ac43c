"""Every ipykernel of this project's environment: `make setup` copies this file to
.venv/etc/ipython/, where IPython reads a kernel's config at every start.

ipykernel 7 warns at every start that its TCP sockets are unencrypted: JupyterLab (`make lab`)
provisions CurveZMQ keys, so its kernels are encrypted and never warn, but papermill and nbmake
start kernels without keys, on 127.0.0.1 only, where the warning tells the reader nothing to act on.
This filter drops that one message and nothing else the kernel logs.
"""

import logging


class _LocalPlainTcp(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        return not str(record.msg).startswith("Kernel is running over TCP without encryption")


logging.getLogger("IPKernelApp").addFilter(_LocalPlainTcp())

"""Waiting for a process the test started to listen on its port (nginx, gunicorn, mosquitto)."""

from __future__ import annotations

import socket
import subprocess
import threading
import time


def wait_for_port(port: int, process: subprocess.Popen, what: str, timeout: float = 20) -> None:
    """Return once something listens on 127.0.0.1:`port`; fail with the process's stderr if it exits first."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return
        except OSError:
            pass
        if process.poll() is not None:
            errors = process.stderr.read() if process.stderr else ""
            raise AssertionError(f"{what} exited ({process.returncode}): {errors}")
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} did not listen on {port} within {timeout} s")
        threading.Event().wait(0.05)

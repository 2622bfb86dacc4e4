"""Starts a private Mosquitto on a free loopback port with its own config (tests and benchmarks)."""

from __future__ import annotations

import getpass
import shutil
import socket
import subprocess
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from ressenti.errors import RessentiError
from ressenti.mqtt import BrokerAddress


class MosquittoError(RessentiError, RuntimeError):
    """Mosquitto is missing or did not start."""


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as sock:
        sock.bind((host, 0))
        return sock.getsockname()[1]


@dataclass
class Mosquitto:
    port: int
    process: subprocess.Popen
    conf: Path
    log: Path

    @property
    def address(self) -> BrokerAddress:
        return BrokerAddress("127.0.0.1", self.port)

    @property
    def url(self) -> str:
        return f"mqtt://127.0.0.1:{self.port}"

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(5)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(5)


def start_mosquitto(directory: Path, extra_config: str = "", port: int | None = None, *,
                    default_listener: bool = True) -> Mosquitto:
    """Start Mosquitto; `default_listener=False` leaves out the plain anonymous listener on `port`,
    so `extra_config` must declare `listener {port} ...` itself (e.g. TLS with a password file)."""
    binary = shutil.which("mosquitto") or "/usr/sbin/mosquitto"
    if not Path(binary).exists():
        raise MosquittoError("mosquitto is not installed: apt-get install -y mosquitto")
    port = port or free_port()
    directory.mkdir(parents=True, exist_ok=True)
    conf, log = directory / "mosquitto.conf", directory / "mosquitto.log"
    listener = f"listener {port} 127.0.0.1\nallow_anonymous true\n" if default_listener else ""
    conf.write_text(
        f"{listener}persistence false\n"
        # Started as root, Mosquitto would switch to its own user and could
        # not write its log into our directory.
        f"user {getpass.getuser()}\n"
        f"log_dest file {log}\nlog_type error\nlog_type warning\n{extra_config}\n"
    )
    process = subprocess.Popen([binary, "-c", str(conf)], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 10
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return Mosquitto(port, process, conf, log)
        except OSError:
            if process.poll() is not None or time.monotonic() > deadline:
                process.kill()
                err = process.stderr.read().decode() if process.stderr else ""
                raise MosquittoError(f"mosquitto did not start on {port}: {err}"
                                     f" {log.read_text() if log.exists() else ''}") from None
            threading.Event().wait(0.02)

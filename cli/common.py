"""What every subcommand module shares: context settings, options, logging, signal waiting."""

from __future__ import annotations

import errno
import logging
import os
import shutil
import signal
import socket
import sys
import threading
import time
from pathlib import Path

import click

from ressenti.errors import RessentiError

CONTEXT = {"help_option_names": ["-h", "--help"]}


def logging_setup(verbose: bool) -> None:
    logging.basicConfig(level=logging.DEBUG if verbose else logging.INFO,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")


def signal_stop() -> threading.Event:
    """An event set by SIGTERM or SIGINT."""
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    return stop


def wait_for_signal() -> None:
    signal_stop().wait()


class BrokerWatch:
    """Warns, with the address, while a service is not connected to its broker (paho retries silently).

    `check()` is called from the command's own loop; the first warning comes
    `first_after_s` after start, then one every `every_s` until connected.
    """

    def __init__(self, connected: threading.Event, address: str, *, first_after_s: float = 5.0,
                 every_s: float = 30.0, logger: logging.Logger | None = None) -> None:
        self.connected = connected
        self.address = address
        self.every_s = every_s
        self.log = logger or logging.getLogger("cli")
        self._next = time.monotonic() + first_after_s
        self._warned = False

    def check(self) -> None:
        now = time.monotonic()
        if self.connected.is_set():
            if self._warned:
                self.log.info("broker %s reached: ingesting", self.address)
                self._warned = False
            self._next = now + self.every_s
            return
        if now >= self._next:
            self.log.warning("no MQTT broker answers at %s: is Mosquitto running there? (--broker, "
                             "RESSENTI_BROKER_URL); nothing is ingested until it does, retrying", self.address)
            self._warned = True
            self._next = now + self.every_s

    def wait(self, stop: threading.Event, tick_s: float = 1.0) -> None:
        """Until `stop`, checking every `tick_s`."""
        while not stop.wait(tick_s):
            self.check()


def check_port_free(host: str, port: int) -> None:
    """Refuse a web port that is taken, naming --port (werkzeug would print its own advice and exit)."""
    if port == 0:
        return
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as werkzeug binds
        try:
            probe.bind((host, port))
        except OSError as exc:
            if exc.errno != errno.EADDRINUSE:
                raise click.ClickException(f"cannot listen on {host}:{port}: {exc.strerror}; "
                                           "check --host (an address of this machine)") from None
            raise click.ClickException(f"port {port} on {host} is already in use (another collector or demo?); "
                                       "stop it, or choose another port with --port") from None


def program_name() -> str:
    """How to type `ressenti` here: bare when on PATH, else the venv's script (e.g. `.venv/bin/ressenti`)."""
    script = Path(sys.executable).parent / "ressenti"
    found = shutil.which("ressenti")
    if found and Path(found).resolve() == script.resolve():
        return "ressenti"
    if script.exists():
        local = Path(".venv/bin/ressenti")  # the checkout's, as the README types it
        if local.exists() and local.resolve() == script.resolve():
            return str(local)
        relative = os.path.relpath(script)
        return relative if not relative.startswith("..") else str(script)
    return f"{sys.executable} -m cli"


db_option = click.option("--db", "db_path", type=click.Path(dir_okay=False), required=True,
                         envvar="RESSENTI_DATABASE", help="Collector database file.")
broker_option = click.option("--broker", "broker_url", required=True, envvar="RESSENTI_BROKER_URL",
                             help="Broker URL, e.g. mqtt://localhost:1883.")
verbose_option = click.option("-v", "--verbose", is_flag=True, help="Debug logging.")


class Group(click.Group):
    """Shows the project's own errors as one clear line, not a traceback."""

    def invoke(self, ctx: click.Context):  # type: ignore[no-untyped-def]
        try:
            return super().invoke(ctx)
        except RessentiError as exc:
            raise click.ClickException(str(exc)) from exc

"""systemd notifications (READY=1, WATCHDOG=1) without a dependency: one datagram to $NOTIFY_SOCKET."""

from __future__ import annotations

import logging
import os
import socket

log = logging.getLogger(__name__)


def sd_notify(state: str) -> bool:
    """Send a state line to systemd; False when not run by systemd (no NOTIFY_SOCKET) or it failed.

    Never raises: a notification that cannot be sent must not stop the kiosk
    (a missed WATCHDOG=1 is what gets a hung kiosk restarted anyway).
    """
    address = os.environ.get("NOTIFY_SOCKET")
    if not address:
        return False
    if address.startswith("@"):
        address = "\0" + address[1:]  # abstract socket
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
            sock.connect(address)
            sock.sendall(state.encode())
    except OSError as exc:
        log.warning("could not notify systemd (%s): %s", state.split("=")[0], exc)
        return False
    return True


def watchdog_interval_s() -> float | None:
    """Half of WatchdogSec= (systemd passes WATCHDOG_USEC), or None without a watchdog."""
    usec = os.environ.get("WATCHDOG_USEC")
    return int(usec) / 2_000_000 if usec else None

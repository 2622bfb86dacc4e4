"""The running kiosk's press socket: `ressenti kiosk press` simulates button presses through it.

A unix stream socket, `data_dir/press.sock`, mode 0600, that also checks
the caller's uid (SO_PEERCRED): only root and the kiosk's own user may
press. One JSON line in, `{"rating": 3}`; one JSON line out,
`{"ok": true, "seq": 12, "flags": [], "lit": true}` or
`{"ok": false, "error": "..."}`. A press goes through
`ButtonBox.simulate_press`, the same function a GPIO press runs (chord
check, self-test mode, filter, outbox, LED), so it is counted like one.
"""

from __future__ import annotations

import json
import logging
import os
import socket
import socketserver
import struct
import threading
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ressenti.protocol import parse_json

if TYPE_CHECKING:  # the `kiosk press` client needs no gpiozero
    from kiosk.buttons import Press

log = logging.getLogger(__name__)

FILE_NAME = "press.sock"
MAX_REQUEST_BYTES = 1024
TIMEOUT_S = 5.0


def socket_path(data_dir: Path) -> Path:
    return Path(data_dir) / FILE_NAME


def _peer_uid(connection: socket.socket) -> int:
    creds = connection.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, struct.calcsize("3i"))
    return struct.unpack("3i", creds)[1]


def _reply(press: Callable[[int], Press], line: bytes) -> dict[str, Any]:
    try:
        request = parse_json(line)
    except ValueError as exc:
        return {"ok": False, "error": f"not JSON: {exc}"}
    rating = request.get("rating") if isinstance(request, dict) else None
    if not isinstance(rating, int) or isinstance(rating, bool):
        return {"ok": False, "error": 'send {"rating": N}, N a whole number'}
    try:
        done = press(rating)
    except ValueError as exc:
        return {"ok": False, "error": str(exc)}
    if done.event is None:
        return {"ok": False, "error": done.not_recorded}
    return {"ok": True, "rating": rating, "seq": done.event["seq"], "flags": done.event["flags"], "lit": True}


class PressSocket:
    """Serves presses on `path` until `close()`; one thread, one short request per connection."""

    def __init__(self, path: Path, press: Callable[[int], Press]) -> None:
        self.path = Path(path)
        self._press = press
        allowed = {0, os.getuid()}

        class Handler(socketserver.StreamRequestHandler):
            timeout = TIMEOUT_S

            def handle(self) -> None:
                uid = _peer_uid(self.connection)
                try:
                    line = self.rfile.readline(MAX_REQUEST_BYTES)  # read first, so the answer reaches the caller
                except TimeoutError:
                    return
                if uid not in allowed:
                    log.warning("press socket: uid %d refused (only root and uid %d)", uid, os.getuid())
                    answer: dict[str, Any] = {"ok": False, "error": f"uid {uid} may not press this kiosk"}
                else:
                    answer = _reply(press, line)
                    log.info("simulated press from uid %d: %s", uid, answer)
                self.wfile.write(json.dumps(answer).encode() + b"\n")

        if self.path.is_socket():
            self.path.unlink()  # left by a kiosk that was killed
        # A thread per connection: a caller that sends nothing holds only its own (TIMEOUT_S).
        self.server = socketserver.ThreadingUnixStreamServer(str(self.path), Handler)
        self.server.daemon_threads = True
        os.chmod(self.path, 0o600)  # the uid check above covers the instant before this
        self._thread = threading.Thread(target=self.server.serve_forever, name="press-socket", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def close(self) -> None:
        if self._thread.is_alive():
            self.server.shutdown()
            self._thread.join(5)
        self.server.server_close()
        try:
            self.path.unlink()
        except FileNotFoundError:
            pass


def send_press(path: Path, rating: int, timeout_s: float = TIMEOUT_S) -> dict[str, Any]:
    """Ask the kiosk listening on `path` to press `rating`; its answer (raises OSError if none listens)."""
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as client:
        client.settimeout(timeout_s)
        client.connect(str(path))
        client.sendall(json.dumps({"rating": rating}).encode() + b"\n")
        reply = b""
        while not reply.endswith(b"\n"):
            chunk = client.recv(4096)
            if not chunk:
                break
            reply += chunk
    answer = parse_json(reply) if reply else None
    if not isinstance(answer, dict):
        raise ConnectionError(f"no answer from the kiosk on {path}")
    return answer

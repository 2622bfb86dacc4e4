"""gunicorn's gthread worker with deadlines on slow clients, for a web tier reachable without nginx.

gunicorn's gthread worker waits 5 s for a connection's first byte, then
reads the request head with a blocking socket and no time limit: a client that
sends one header byte every few seconds (slowloris) holds a thread for as
long as it likes, and a few dozen of them hold every thread (issue 17).
nginx in front reads whole requests before passing them on; without it, this
worker bounds what a slow client can hold:

- HEAD_DEADLINE_S: from the moment a thread takes a connection until the
  request's head (request line and headers) is read. Past it, the socket is
  shut down, which wakes the blocked read and frees the thread.
- IDLE_S: once the head is read, each read or write of the socket (a request
  body, a response the client stopped reading) may wait this long. Live streams
  are unaffected while the client reads them: they write at least every 15 s.

Both can be changed through the environment (RESSENTI_WEB_HEAD_TIMEOUT_S,
RESSENTI_WEB_IDLE_TIMEOUT_S). gunicorn has no setting for either (27.0):
hence this subclass rather than configuration. See docs/provisioning.md,
"gunicorn without nginx".
"""

from __future__ import annotations

import os
import socket
import threading
import time
from typing import Any

from gunicorn.workers.gthread import ThreadWorker  # type: ignore[import-untyped]

HEAD_DEADLINE_S = 15.0
IDLE_S = 30.0
WATCH_EVERY_S = 0.5


def _seconds(name: str, default: float) -> float:
    value = os.environ.get(name)
    try:
        seconds = float(value) if value else default
    except ValueError:
        seconds = -1.0
    if not 0 < seconds < 86400:
        from ressenti.errors import BadConfig
        raise BadConfig(f"{name} must be a number of seconds above 0, not {value!r}")
    return seconds


class GuardedThreadWorker(ThreadWorker):
    def init_process(self) -> None:
        self.head_deadline_s = _seconds("RESSENTI_WEB_HEAD_TIMEOUT_S", HEAD_DEADLINE_S)
        self.idle_s = _seconds("RESSENTI_WEB_IDLE_TIMEOUT_S", IDLE_S)
        self._reading_head: dict[Any, float] = {}  # connection -> moment its head must be read by
        self._heads_lock = threading.Lock()
        self._watching = threading.Event()
        threading.Thread(target=self._watch_heads, name="head-deadlines", daemon=True).start()
        super().init_process()  # runs the worker until it stops

    def handle(self, conn: Any) -> Any:
        with self._heads_lock:
            self._reading_head[conn] = time.monotonic() + self.head_deadline_s
        try:
            return super().handle(conn)
        finally:
            with self._heads_lock:
                self._reading_head.pop(conn, None)

    def handle_request(self, req: Any, conn: Any) -> Any:
        with self._heads_lock:
            self._reading_head.pop(conn, None)  # the head is read: from now on, IDLE_S per socket operation
        conn.sock.settimeout(self.idle_s)
        return super().handle_request(req, conn)

    def _watch_heads(self) -> None:
        while not self._watching.wait(WATCH_EVERY_S):
            now = time.monotonic()
            with self._heads_lock:
                late = [conn for conn, deadline in self._reading_head.items() if deadline < now]
                for conn in late:
                    del self._reading_head[conn]
            for conn in late:
                self.log.warning("closing a connection from %s: its request head took over %.0f s",
                                 _address(conn), self.head_deadline_s)
                try:
                    conn.sock.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass  # already gone


def _address(conn: Any) -> str:
    client = getattr(conn, "client", None)
    return str(client[0]) if isinstance(client, tuple) and client else "?"

"""A timed SMTP sink for the alert benchmarks: the tests' aiosmtpd server, in its own process.

In its own process as the organisation's server is another machine: it does not
compete with the sender for the GIL. For each accepted message it notes the
acceptance time of every number the message names (`pattern`, one group: a
change's or a trial's), and keeps no message.
"""

from __future__ import annotations

import multiprocessing
import queue
import re
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from alerts_support import SmtpServer, free_port  # noqa: E402


def _serve(port: int, pattern: bytes, times: multiprocessing.Queue, ready: multiprocessing.Event) -> None:  # type: ignore[type-arg]
    server = SmtpServer(Path(tempfile.gettempdir()), port=port)
    inner = server.mailbox.handle_DATA

    async def handle_data(smtp, session, envelope):  # type: ignore[no-untyped-def]
        answer = await inner(smtp, session, envelope)
        at = time.time()
        for n in set(re.findall(pattern, envelope.content)):
            times.put((int(n), at))
        server.mailbox.accepted.clear()
        return answer

    server.mailbox.handle_DATA = handle_data  # type: ignore[method-assign]
    server.start()
    ready.set()
    threading.Event().wait()


class TimedServer:
    """Start it, point RESSENTI_SMTP_* at it (`env`), then `collect` when each number was first accepted."""

    def __init__(self, pattern: bytes) -> None:
        self.port = free_port()
        self.times: multiprocessing.Queue = multiprocessing.Queue()  # type: ignore[type-arg]
        ready = multiprocessing.Event()
        self.process = multiprocessing.Process(target=_serve, args=(self.port, pattern, self.times, ready),
                                               daemon=True)
        self.process.start()
        ready.wait(30)
        self.env = SmtpServer.env.__get__(self)  # the same RESSENTI_* settings as the tests' server
        self.security, self.ca_file = "none", None

    def collect(self, expected: int, timeout_s: float) -> dict[int, float]:
        accepted: dict[int, float] = {}
        deadline = time.monotonic() + timeout_s
        while len(accepted) < expected and time.monotonic() < deadline:
            try:
                n, at = self.times.get(timeout=1)
            except queue.Empty:
                continue
            accepted.setdefault(n, at)
        return accepted

    def stop(self) -> None:
        self.process.terminate()
        self.process.join(10)

"""Helpers for the kiosk benchmarks: fill an outbox fast, measure a process, find the machine."""

from __future__ import annotations

import json
import os
import platform
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

from kiosk.clock import ClockState
from kiosk.core import Kiosk
from kiosk.outbox import Outbox
from ressenti.protocol import Clock, KioskSettings


def fill_outbox(path: Path, count: int, *, kiosk: str = "bench-kiosk", site: str = "bench") -> str:
    """Queue `count` realistic events in the outbox at `path`; return its epoch.

    The first event goes through Kiosk.press (the real shape); the others are
    copies with their own id, seq and time, written in one transaction
    instead of `count` fsyncs (filling is not what is measured).
    """
    outbox = Outbox(path)
    k = Kiosk(kiosk, site, outbox, settings=KioskSettings(scale=4), clock=ClockState(Clock.NTP))
    template = k.press(3, "button")
    start = outbox.state().last_seq
    now = time.time()
    rows = []
    for n in range(1, count):
        seq = start + n
        at = now - (count - n) * 0.5
        event = {**template, "id": str(uuid.uuid4()), "seq": seq, "rating": 1 + seq % 4,
                 "ts": datetime.fromtimestamp(at, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z"),
                 "up_ms": template["up_ms"] + n}
        rows.append((seq, json.dumps(event, separators=(",", ":")), at))
    conn = outbox._conn
    conn.execute("BEGIN IMMEDIATE")
    conn.executemany("INSERT INTO outbox(seq, body, created) VALUES (?, ?, ?)", rows)
    conn.execute("UPDATE meta SET value = ? WHERE key = 'last_seq'", (str(start + count - 1),))
    conn.execute("COMMIT")
    epoch = outbox.epoch
    outbox.close()
    return epoch


def machine() -> str:
    model = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{os.cpu_count()} cores, {model}, Python {platform.python_version()}, {platform.system()}"

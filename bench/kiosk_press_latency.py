"""Press -> confirmation LED latency on MockFactory pins, durable commit included.

    .venv/bin/python bench/kiosk_press_latency.py [--presses 2000] [--queued 0 100000] [--dir PATH]

The real ButtonBox, Kiosk and Outbox (SQLite WAL, synchronous=FULL, on a disk
folder: --dir, default a temporary folder), empty or with --queued events
already waiting (a kiosk offline for weeks) on gpiozero's MockFactory. Each
press is timed from `pin.drive_low()` until the button's LED pin is high
(the LED is switched off, untimed, before each press). Next to it, in the
same run and folder, alternating with the presses so both see the same disk:
the bare cost of the same durable commit, an INSERT of a same-sized row plus
its meta update in one transaction with synchronous=FULL, nothing around it.
"""

from __future__ import annotations

import argparse
import json
import sqlite3
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import percentile, table  # noqa: E402
from gpiozero.pins.mock import MockFactory  # noqa: E402
from kiosk_common import fill_outbox, machine  # noqa: E402

from kiosk.buttons import ButtonBox  # noqa: E402
from kiosk.clock import ClockState  # noqa: E402
from kiosk.core import Kiosk  # noqa: E402
from kiosk.outbox import SCHEMA, Outbox  # noqa: E402
from ressenti.protocol import Clock, KioskSettings  # noqa: E402


class BareCommit:
    """The baseline: the outbox's commit (row insert + meta update, WAL, synchronous=FULL), alone."""

    def __init__(self, path: Path) -> None:
        self.conn = sqlite3.connect(path, isolation_level=None)
        self.conn.execute("PRAGMA journal_mode=WAL")
        self.conn.execute("PRAGMA synchronous=FULL")
        self.conn.executescript(SCHEMA)
        self.seq = 0

    def commit(self, body: str) -> float:
        self.seq += 1
        start = time.perf_counter()
        self.conn.execute("BEGIN IMMEDIATE")
        self.conn.execute("INSERT INTO outbox(seq, body, created) VALUES (?, ?, ?)", (self.seq, body, time.time()))
        self.conn.execute("INSERT INTO meta(key, value) VALUES ('last_seq', ?) "
                          "ON CONFLICT(key) DO UPDATE SET value = excluded.value", (str(self.seq),))
        self.conn.execute("COMMIT")
        return (time.perf_counter() - start) * 1000


def measure(folder: Path, presses: int, queued: int) -> tuple[list[float], list[float], int]:
    """Presses and bare commits alternate, so both see the same disk at the same moments."""
    if queued:
        fill_outbox(folder / "outbox.db", queued)
    outbox = Outbox(folder / "outbox.db")
    kiosk = Kiosk("bench-kiosk", "bench", outbox, settings=KioskSettings(scale=4), clock=ClockState(Clock.NTP))
    pins = MockFactory()
    box = ButtonBox(kiosk, pin_factory=pins, bounce_time=None)
    bare = BareCommit(folder / "bare.db")
    press_ms, bare_ms, body = [], [], ""
    try:
        for n in range(presses):
            slot = box.pinmap.slots[n % 4]
            button, led_pin = pins.pin(slot.button.bcm), pins.pin(slot.led.bcm)
            box.leds[n % 4].off()
            start = time.perf_counter()
            button.drive_low()
            while not led_pin.state:  # lit inside drive_low's handler when all is well
                pass
            press_ms.append((time.perf_counter() - start) * 1000)
            button.drive_high()
            if not body:
                body = json.dumps(outbox.batch(1)[0], separators=(",", ":"))
                bare.commit(body)  # create the file outside the timings, as the outbox was
            bare_ms.append(bare.commit(body))
        return press_ms, bare_ms, len(body)
    finally:
        box.close()
        outbox.close()
        bare.conn.close()
        pins.reset()


def row(name: str, samples: list[float]) -> tuple:
    return (name, len(samples), *(f"{percentile(samples, p):.2f}" for p in (50, 95, 99)), f"{max(samples):.2f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--presses", type=int, default=2000)
    parser.add_argument("--queued", type=int, nargs="+", default=[0, 100_000],
                        help="events already waiting in the outbox, one run each")
    parser.add_argument("--dir", type=Path, default=None, help="folder on the disk to test (default: a temp dir)")
    args = parser.parse_args()
    rows, size, worst = [], 0, 0.0
    for queued in args.queued:
        with tempfile.TemporaryDirectory(dir=args.dir) as tmp:
            presses, bare, size = measure(Path(tmp), args.presses, queued)
        rows += [row(f"press -> LED high, {queued:,} queued", presses),
                 row("  bare commit, synchronous=FULL, same moments", bare)]
        worst = max(worst, percentile(presses, 99))
    print(f"{args.presses} presses per run, outbox in {args.dir or tempfile.gettempdir()}, row {size} bytes; "
          f"{machine()}")
    print(table(rows, ("run", "n", "p50 ms", "p95 ms", "p99 ms", "max ms")))
    print(f"target p99 <= 50 ms: {'met' if worst <= 50 else 'MISSED'} (worst p99 {worst:.1f} ms)")


if __name__ == "__main__":
    main()

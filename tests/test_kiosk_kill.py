"""The outbox survives kill -9 at any moment: every press whose LED lit reaches the collector exactly once.

tests/kiosk_kill_driver.py runs a real kiosk in a subprocess, pressed in a
tight loop against a real Mosquitto and collector, and prints "LIT <id>"
after each confirmed press. It is killed with SIGKILL at random moments
(after a random number of presses, plus a random fraction of a press), then
restarted on the same data dir until its outbox drains.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from collector.db import connect

pytestmark = pytest.mark.mosquitto

ROOT = Path(__file__).parent.parent
DRIVER = Path(__file__).with_name("kiosk_kill_driver.py")
KILL_CYCLES = 4


class Driver:
    """The driver subprocess, its stdout read line by line by a thread."""

    def __init__(self, data_dir: Path, port: int, mode: str) -> None:
        self.lines: list[str] = []
        self.process = subprocess.Popen(
            [sys.executable, str(DRIVER), str(data_dir), str(port), mode], cwd=ROOT,
            env={**os.environ, "PYTHONPATH": str(ROOT)}, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.process.stdout
        for line in self.process.stdout:
            self.lines.append(line.strip())

    def lit(self) -> list[str]:
        return [line.split()[1] for line in self.lines if line.startswith("LIT ")]

    def epoch(self) -> str:
        return next(line.split()[1] for line in self.lines if line.startswith("EPOCH "))

    def kill(self) -> None:
        os.kill(self.process.pid, signal.SIGKILL)
        self.finish()

    def finish(self, timeout: float = 20) -> int:
        code = self.process.wait(timeout)
        self._reader.join(5)  # every line written before the kill is still in the pipe
        return code


def test_every_lit_press_is_delivered_exactly_once_across_kill_9(tmp_path, mosquitto, collector_stack, wait):
    collector_stack.register("borne-kill")
    collector_stack.start()
    seed = random.randrange(1 << 30)
    rng = random.Random(seed)
    data_dir = tmp_path / "kiosk"
    lit: list[str] = []
    epochs = set()
    for cycle in range(KILL_CYCLES):
        driver = Driver(data_dir, mosquitto.port, "press")
        presses = rng.randint(5, 250)
        wait(lambda d=driver, n=presses: len(d.lit()) >= n or d.process.poll() is not None, timeout=30,
             what=f"{presses} presses in cycle {cycle} (seed {seed})")
        assert driver.process.poll() is None, driver.process.stderr.read() if driver.process.stderr else ""
        threading.Event().wait(rng.uniform(0, 0.01))  # land anywhere inside a press, not only after one
        driver.kill()
        lit += driver.lit()
        epochs.add(driver.epoch())

    drain = Driver(data_dir, mosquitto.port, "drain")
    wait(lambda: "DRAINED" in drain.lines or drain.process.poll() is not None, timeout=30,
         what=f"the outbox to drain (seed {seed})")
    assert drain.finish() == 0, drain.process.stderr.read() if drain.process.stderr else ""
    epochs.add(drain.epoch())

    assert len(epochs) == 1, f"kill -9 never corrupts the outbox into a new epoch (seed {seed})"
    assert "None" not in lit and len(lit) == len(set(lit)), "an LED lit before its own commit"
    assert len(lit) >= KILL_CYCLES * 5
    db = connect(collector_stack.db_path)
    rows = list(db.execute("SELECT id, seq FROM events WHERE kiosk = 'borne-kill'"))
    stored = [r[0] for r in rows]
    assert len(stored) == len(set(stored)), "no event stored twice"
    missing = set(lit) - set(stored)
    assert not missing, f"{len(missing)} lit presses never reached the collector (seed {seed})"
    seqs = sorted(r[1] for r in rows)
    assert seqs == list(range(1, len(seqs) + 1)), "every committed press, lit or not yet, is delivered"
    assert db["rejected"].count == 0

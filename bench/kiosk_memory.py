"""Resident memory of a real kiosk process: idle, and with 100,000 events queued.

    .venv/bin/python bench/kiosk_memory.py [--queued 100000] [--seconds 8]

Each run starts `ressenti kiosk run` (buttons on MockFactory pins: mock_pins
= true) from a temporary config, waits for its READY=1 on a NOTIFY_SOCKET
this script binds, then samples VmRSS every 0.2 s for --seconds and reports
the value at READY and the peak. Runs: an empty outbox with the broker
unreachable; --queued events with the broker unreachable; the same queue
with a real Mosquitto and no collector, so the link reads, encodes and
resends 500-event batches (ack timeout 1 s) during the sampling. Baseline:
a bare Python interpreter.
"""

from __future__ import annotations

import argparse
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import rss_mb, table  # noqa: E402
from kiosk_common import fill_outbox, machine  # noqa: E402

from ressenti.mosquitto_runner import free_port, start_mosquitto  # noqa: E402

TARGET_MB = 40


def write_config(folder: Path, broker_url: str) -> Path:
    path = folder / "kiosk.toml"
    path.write_text(f'kiosk = "bench-kiosk"\nsite = "bench"\ndata_dir = "{folder / "data"}"\n'
                    f'clock = "ntp"\nmock_pins = true\nack_timeout_s = 1\n[broker]\nurl = "{broker_url}"\n')
    return path


def sample(command: list[str], seconds: float, *, wait_ready: bool = True) -> tuple[float, float]:
    """(RSS at READY=1, peak RSS over `seconds` after it), in MB."""
    address = f"ressenti-bench-{uuid.uuid4().hex[:8]}"
    notify = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    notify.bind("\0" + address)
    notify.settimeout(60)
    env = {**os.environ, "NOTIFY_SOCKET": f"@{address}"}
    process = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        if wait_ready:
            while not notify.recv(4096).startswith(b"READY=1"):
                pass
        ready = rss_mb(process.pid)
        peak, tick, deadline = ready, threading.Event(), time.monotonic() + seconds
        while time.monotonic() < deadline and process.poll() is None:
            tick.wait(0.2)
            peak = max(peak, rss_mb(process.pid))
        if process.poll() is not None:
            raise SystemExit(f"{command} exited with {process.returncode}")
        return ready, peak
    finally:
        process.terminate()
        process.wait(20)
        notify.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--queued", type=int, default=100_000)
    parser.add_argument("--seconds", type=float, default=8.0)
    args = parser.parse_args()
    kiosk_run = [sys.executable, "-m", "cli", "kiosk", "run", "--config"]
    rows = []
    baseline = sample([sys.executable, "-c", "import signal; signal.pause()"], 1.0, wait_ready=False)
    rows.append(("bare Python interpreter (baseline)", "-", "-", f"{baseline[1]:.1f}", "-"))
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        unreachable = f"mqtt://127.0.0.1:{free_port()}"
        config = write_config(folder, unreachable)
        ready, peak = sample([*kiosk_run, str(config)], args.seconds)
        rows.append(("kiosk run, idle", 0, "unreachable", f"{ready:.1f}", f"{peak:.1f}"))

        fill_outbox(folder / "data" / "outbox.db", args.queued)
        size_mb = sum(f.stat().st_size for f in (folder / "data").glob("outbox.db*")) / 1e6
        ready, peak = sample([*kiosk_run, str(config)], args.seconds)
        rows.append((f"kiosk run, queue of {size_mb:.0f} MB on disk", args.queued, "unreachable",
                     f"{ready:.1f}", f"{peak:.1f}"))

        broker = start_mosquitto(folder / "broker")
        try:
            config = write_config(folder, broker.url)
            ready, peak = sample([*kiosk_run, str(config)], args.seconds)
            rows.append(("kiosk run, sending batches, no collector", args.queued, "Mosquitto",
                         f"{ready:.1f}", f"{peak:.1f}"))
        finally:
            broker.stop()
    print(f"`ressenti kiosk run` with mock pins; {machine()}")
    print(table(rows, ("run", "queued", "broker", "RSS MB at READY", f"peak RSS MB over {args.seconds:g} s")))
    worst = max(float(r[4]) for r in rows[1:])
    print(f"target RSS <= {TARGET_MB} MB: {'met' if worst <= TARGET_MB else 'MISSED'} (worst {worst:.1f} MB)")


if __name__ == "__main__":
    main()

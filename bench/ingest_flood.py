"""Valid traffic's ack latency while one producer floods garbage, next to the same without the flood.

    .venv/bin/python bench/ingest_flood.py [--kiosks 5] [--batches 40] [--flood 20000] [--baseline-code DIR]

Each honest kiosk sends one-event batches one at a time, like a real kiosk
(the next after the ack), and the latency from publish to ack is recorded.
In the flood run one more kiosk, at another site, publishes `--flood`
mutated payloads (integers past SQLite, wrong encodings, 250 KiB junk,
random bytes, bit flips) as fast as the broker takes them, during the same
traffic. The ingest is the real service (`ressenti collector ingest`) in its
own process, against a private Mosquitto that drops nothing
(`max_queued_messages 0`), on a fresh database per run.

`--baseline-code DIR` runs the same two runs first with the ingest imported
from DIR (e.g. `git archive` of an older commit), for a before/after in one
run. A batch with no ack within `--ack-timeout` seconds counts at that value.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from common import client, make_batches, table
from test_security_ingest import flood_payloads

from collector.db import connect
from collector.registry import add_kiosk, add_site
from ressenti.mosquitto_runner import start_mosquitto
from ressenti.protocol import Kind, topic

ACK_TIMEOUT_S = 60.0


def honest_kiosk(broker, kiosk: str, batches: list[bytes], latencies: list[float]) -> None:
    acked = threading.Event()
    c = client(broker, f"bench-{kiosk}")
    c.on_message = lambda *_: acked.set()
    c.subscribe(topic("mairie", kiosk, Kind.ACK), qos=1)
    time.sleep(0.2)
    for body in batches:
        acked.clear()
        start = time.perf_counter()
        c.publish(topic("mairie", kiosk, Kind.EVENTS), body, qos=1)
        acked.wait(ACK_TIMEOUT_S)
        latencies.append(time.perf_counter() - start)
    c.disconnect()
    c.loop_stop()


def run(workdir: Path, kiosks: int, batches: int, flood: int, code: str | None) -> tuple[list[float], float, int]:
    broker = start_mosquitto(workdir / "mosquitto", "max_queued_messages 0")
    db_path = workdir / "collector.db"
    db = connect(db_path)
    add_site(db, "mairie", "Mairie")
    add_site(db, "caf", "CAF")
    names = [f"borne-{n}" for n in range(kiosks)]
    for name in names:
        add_kiosk(db, name, "mairie")
    add_kiosk(db, "flooder", "caf")
    db.close()
    ingest = subprocess.Popen([sys.executable, "-m", "cli", "collector", "ingest", "--db", str(db_path),
                               "--broker", broker.url], stderr=subprocess.DEVNULL,
                              env={**os.environ, "PYTHONPATH": code or os.environ.get("PYTHONPATH", "")})
    try:
        time.sleep(2)
        latencies: list[float] = []
        threads = [threading.Thread(target=honest_kiosk, args=(broker.address, k, make_batches(k, "mairie", batches, 1),
                                                               latencies)) for k in names]
        flooder = client(broker.address, "bench-flooder") if flood else None
        payloads = flood_payloads("flooder", "caf", flood) if flood else []
        start = time.perf_counter()
        for t in threads:
            t.start()
        if flooder:
            infos = [flooder.publish(topic("caf", "flooder", Kind.EVENTS), p, qos=1) for p in payloads]
            for info in infos:
                info.wait_for_publish(300)
        for t in threads:
            t.join()
        elapsed = time.perf_counter() - start
        filed = 0
        if flood and code is None:  # the baseline may take hours to file it all: not waited for
            deadline = time.monotonic() + 600
            check = connect(db_path)
            while time.monotonic() < deadline:
                filed = check.execute("SELECT COALESCE(SUM(count), 0) FROM rejected WHERE kiosk = 'flooder'"
                                      " AND reason_class != 'event'").fetchone()[0]
                events = check.execute("SELECT COUNT(*) FROM events WHERE kiosk = 'flooder'").fetchone()[0]
                if filed + events >= flood * 0.99:
                    break
                time.sleep(0.5)
            elapsed = time.perf_counter() - start
            check.close()
        if flooder:
            flooder.disconnect()
            flooder.loop_stop()
        return latencies, elapsed, filed
    finally:
        ingest.terminate()
        ingest.wait(30)
        broker.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kiosks", type=int, default=5)
    parser.add_argument("--batches", type=int, default=40, help="one-event batches per honest kiosk")
    parser.add_argument("--flood", type=int, default=20_000, help="garbage messages from the flooding kiosk")
    parser.add_argument("--baseline-code", help="a source tree whose ingest runs first, for comparison")
    parser.add_argument("--ack-timeout", type=float, default=ACK_TIMEOUT_S)
    args = parser.parse_args()
    globals()["ACK_TIMEOUT_S"] = args.ack_timeout
    rows = []
    codes = [("baseline", args.baseline_code)] if args.baseline_code else []
    for (name, code), (label, flood) in [(c, f) for c in [*codes, ("this code", None)] for f in (
            ("no flood", 0), (f"one kiosk floods {args.flood:,} garbage messages", args.flood))]:
        with tempfile.TemporaryDirectory() as tmp:
            latencies, elapsed, filed = run(Path(tmp), args.kiosks, args.batches, flood, code)
        q = statistics.quantiles(latencies, n=100)
        rows.append((name, label, len(latencies), f"{statistics.median(latencies) * 1000:.1f}", f"{q[98] * 1000:.1f}",
                     f"{max(latencies) * 1000:.1f}", f"{filed:,}" if flood and code is None else "-", f"{elapsed:.1f}"))
    print(f"{args.kiosks} honest kiosks x {args.batches} one-event batches, one at a time; 2 cores")
    print(table(rows, ("code", "run", "valid batches", "ack p50 ms", "ack p99 ms", "ack max ms", "garbage filed",
                       "seconds (all handled)")))


if __name__ == "__main__":
    main()

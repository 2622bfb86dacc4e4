"""Drain: 100,000 queued events from a real kiosk to a real collector through a real Mosquitto.

    .venv/bin/python bench/kiosk_drain.py [--queued 100000]

A kiosk outbox is filled with --queued events; `ressenti collector ingest`
runs as its own process; then `ressenti kiosk run` starts on that outbox and
the clock runs until the outbox is empty (every event stored and acked by
the collector, one 500-event batch in flight at a time). In the same run and
through the same broker, before the collector starts, the same batches (the
bytes the link sends) are relayed to a subscriber that does nothing: once
pipelined (QoS 1, 100 in flight), and once one at a time (the next batch
only after the subscriber got the previous one: the kiosk's rhythm without
the collector's work).
"""

from __future__ import annotations

import argparse
import json
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import Counter, client, rss_mb, table  # noqa: E402
from kiosk_common import fill_outbox, machine  # noqa: E402

from collector.db import connect  # noqa: E402
from collector.registry import add_kiosk, add_site  # noqa: E402
from kiosk.linkstate import FILE_NAME, read_link_state  # noqa: E402
from kiosk.outbox import peek  # noqa: E402
from ressenti.mosquitto_runner import start_mosquitto  # noqa: E402
from ressenti.protocol import (  # noqa: E402
    MAX_EVENTS_PER_BATCH,
    Kind,
    decode_ack,
    encode_batch,
    subscription,
    topic,
)

KIOSK, SITE = "bench-kiosk", "bench"
TARGET_S = 60.0


def batches_as_sent(outbox_path: Path, epoch: str, kiosk: str = KIOSK) -> list[bytes]:
    """The outbox's events in 500-event batches, encoded as the link encodes them."""
    conn = sqlite3.connect(f"{outbox_path.resolve().as_uri()}?mode=ro", uri=True)
    bodies = [row[0] for row in conn.execute("SELECT body FROM outbox ORDER BY seq")]
    conn.close()
    events = [json.loads(b) for b in bodies]
    return [encode_batch(kiosk=kiosk, site=SITE, epoch=epoch, boot=events[0]["boot"], up_ms=events[0]["up_ms"],
                         events=events[i:i + MAX_EVENTS_PER_BATCH])
            for i in range(0, len(events), MAX_EVENTS_PER_BATCH)]


def relay_pipelined(broker, payloads: list[bytes]) -> float:
    counter = Counter(broker, subscription(Kind.EVENTS), len(payloads))
    publisher = client(broker, "bench-relay-pub")
    start = time.perf_counter()
    for payload in payloads:
        publisher.publish(topic(SITE, "relay-probe", Kind.EVENTS), payload, qos=1)
    if not counter.done.wait(300):
        raise SystemExit(f"relay: {counter.count}/{len(payloads)} arrived")
    elapsed = time.perf_counter() - start
    publisher.disconnect()
    publisher.loop_stop()
    counter.close()
    return elapsed


def relay_one_at_a_time(broker, payloads: list[bytes]) -> float:
    arrived = threading.Event()
    counter = Counter(broker, subscription(Kind.EVENTS), 1)
    counter.client.on_message = lambda *_: arrived.set()
    publisher = client(broker, "bench-relay-pub1")
    start = time.perf_counter()
    for payload in payloads:
        arrived.clear()
        publisher.publish(topic(SITE, "relay-probe", Kind.EVENTS), payload, qos=1)
        if not arrived.wait(30):
            raise SystemExit("relay one at a time: a batch did not arrive")
    elapsed = time.perf_counter() - start
    publisher.disconnect()
    publisher.loop_stop()
    counter.close()
    return elapsed


def start_ingest(broker, db_path: Path, probe: bytes) -> subprocess.Popen:
    """`ressenti collector ingest` as its own process; returns once it answers a probe batch."""
    process = subprocess.Popen([sys.executable, "-m", "cli", "collector", "ingest", "--db", str(db_path),
                                "--broker", f"mqtt://{broker.host}:{broker.port}", "--instance", "bench"],
                               stderr=subprocess.DEVNULL)
    acked = threading.Event()
    watcher = client(broker, "bench-probe-acks")
    watcher.on_message = lambda c, u, m: acked.set() if decode_ack(m.payload).through >= 1 else None
    watcher.subscribe(topic(SITE, "probe", Kind.ACK), qos=1)
    publisher = client(broker, "bench-probe")
    deadline = time.monotonic() + 60
    while not acked.wait(0.5):
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            raise SystemExit("ingest did not answer the probe batch")
        publisher.publish(topic(SITE, "probe", Kind.EVENTS), probe, qos=1)
    for c in (watcher, publisher):
        c.disconnect()
        c.loop_stop()
    return process


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--queued", type=int, default=100_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        data = folder / "data"
        epoch = fill_outbox(data / "outbox.db", args.queued, kiosk=KIOSK, site=SITE)
        payloads = batches_as_sent(data / "outbox.db", epoch)
        mb = sum(map(len, payloads)) / 1e6
        db_path = folder / "collector.db"
        db = connect(db_path)
        add_site(db, SITE, "Bench")
        add_kiosk(db, KIOSK, SITE)
        add_kiosk(db, "probe", SITE)
        db.close()
        probe_dir = folder / "probe"
        probe_epoch = fill_outbox(probe_dir / "outbox.db", 1, kiosk="probe", site=SITE)
        probe = batches_as_sent(probe_dir / "outbox.db", probe_epoch, "probe")[0]

        broker = start_mosquitto(folder / "broker")
        ingest = kiosk = None
        try:
            pipelined_s = relay_pipelined(broker.address, payloads)
            one_by_one_s = relay_one_at_a_time(broker.address, payloads)
            ingest = start_ingest(broker.address, db_path, probe)
            config = folder / "kiosk.toml"
            config.write_text(f'kiosk = "{KIOSK}"\nsite = "{SITE}"\ndata_dir = "{data}"\nclock = "ntp"\n'
                              f'mock_pins = true\n[broker]\nurl = "{broker.url}"\n')
            started = time.perf_counter()
            kiosk = subprocess.Popen([sys.executable, "-m", "cli", "kiosk", "run", "--config", str(config)],
                                     stderr=subprocess.DEVNULL)
            tick, peak_rss, connected_at = threading.Event(), 0.0, None
            while True:
                snapshot = peek(data / "outbox.db")
                if snapshot and snapshot.queue.pending == 0:
                    break
                if kiosk.poll() is not None:
                    raise SystemExit("the kiosk exited")
                if connected_at is None and (read_link_state(data / FILE_NAME) or {}).get("state") == "connected":
                    connected_at = time.perf_counter()
                peak_rss = max(peak_rss, rss_mb(kiosk.pid))
                tick.wait(0.1)
            drained_s = time.perf_counter() - started
            stored = connect(db_path).execute("SELECT COUNT(*) FROM events WHERE kiosk = ?", [KIOSK]).fetchone()[0]
            if stored != args.queued:
                raise SystemExit(f"the collector stored {stored} events, expected {args.queued}")
        finally:
            for process in (kiosk, ingest):
                if process:
                    process.terminate()
                    process.wait(20)
            broker.stop()
    n = args.queued
    rows = [
        ("raw relay, pipelined (QoS 1, 100 in flight)", f"{pipelined_s:.2f}", f"{n / pipelined_s:,.0f}"),
        ("raw relay, one batch at a time", f"{one_by_one_s:.2f}", f"{n / one_by_one_s:,.0f}"),
        ("kiosk -> collector, stored + acked, from process start", f"{drained_s:.2f}", f"{n / drained_s:,.0f}"),
    ]
    if connected_at:
        since = drained_s - (connected_at - started)
        rows.append(("  of which after the link connected", f"{since:.2f}", f"{n / since:,.0f}"))
    print(f"{n:,} events in {len(payloads)} batches of {MAX_EVENTS_PER_BATCH} ({mb:.1f} MB), Mosquitto, "
          f"{machine()}; kiosk peak RSS during the drain {peak_rss:.1f} MB")
    print(table(rows, ("run", "seconds", "events/s")))
    print(f"target <= {TARGET_S:.0f} s: {'met' if drained_s <= TARGET_S else 'MISSED'} ({drained_s:.1f} s)")


if __name__ == "__main__":
    main()

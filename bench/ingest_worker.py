"""The ingest's own cost, without a broker: decoding an event, and the worker storing queued messages.

    .venv/bin/python bench/ingest_worker.py [--sizes 1 10 500] [--messages 5000]

`decode` times `decode_event` (the reference path's per-event checks) on one realistic event. `worker` keeps the
ingest worker's queue full, as paho would, and has it take and store its
groups (up to 128 messages or 1 MiB), with the acks and publishes replaced by
no-ops, into a fresh file database (`synchronous=FULL`). What this leaves out
(paho, Mosquitto, the publishers) is measured by bench/ingest_throughput.py.

`floors` times, alone, the two steps no ingest can skip: parsing the JSON
(Python's C parser) and SQLite inserting the rows (prebuilt, in the product's
schema and connection settings, one transaction per worker group).
bench/ingest_throughput.py prints them next to the relay rate.
"""

from __future__ import annotations

import argparse
import itertools
import json
import sys
import tempfile
import time
import timeit
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import paho.mqtt.client as mqtt
from common import make_batches, table

from collector.db import connect, connect_for_ingest
from collector.ingest import IngestService
from collector.registry import add_kiosk, add_site
from ressenti.mqtt import parse_broker_url
from ressenti.protocol import Kind, decode_batch, decode_event, topic

KIOSKS = 20


def decode_us() -> float:
    event = json.loads(make_batches("k", "bench", 1, 1)[0])["events"][0]
    return min(timeit.repeat(lambda: decode_event(event), number=20_000, repeat=5)) / 20_000 * 1e6


def worker_rate(size: int, messages: int, workdir: Path) -> float:
    """Messages per second through `_take_group` and `_store_group`, the queue kept full."""
    db = connect(workdir / f"worker-{size}.db")
    add_site(db, "bench", "Bench")
    per_kiosk = max(1, messages // KIOSKS)
    plan = {f"k{n:03d}": make_batches(f"k{n:03d}", "bench", per_kiosk, size) for n in range(KIOSKS)}
    for kiosk in plan:
        add_kiosk(db, kiosk, "bench")
    db.close()
    service = IngestService(workdir / f"worker-{size}.db", parse_broker_url("mqtt://127.0.0.1:1"))
    service._connection = 1
    service.client.ack = lambda *a, **k: None  # type: ignore[method-assign]
    sender = getattr(service, "sender", service.client)
    sender.publish = lambda *a, **k: None  # type: ignore[method-assign]
    queued = []
    for i in range(per_kiosk):
        for kiosk, payloads in plan.items():
            message = mqtt.MQTTMessage(mid=len(queued) + 1, topic=topic("bench", kiosk, Kind.EVENTS).encode())
            message.payload, message.qos = payloads[i], 1
            queued.append((1, message))
    start = time.perf_counter()
    waiting = iter(queued)
    while True:
        for item in itertools.islice(waiting, service.QUEUE_SIZE - service._queue.qsize()):
            service._queue.put_nowait(item)
        backlog = getattr(service, "_backlog", None)  # what the worker already took, per producer
        if service._queue.empty():
            if not backlog:
                break
            group, _ = service._take_group(None, arrived=False)
        else:
            group, _ = service._take_group(service._queue.get_nowait())
        service._store_group(group)
    elapsed = time.perf_counter() - start
    stored = service.db["events"].count
    service.db.close()
    if stored != len(queued) * size:
        raise SystemExit(f"stored {stored} events, expected {len(queued) * size}")
    return len(queued) / elapsed


def floors(payloads: list[bytes], workdir: Path) -> list[tuple[str, float, int]]:
    """(step, seconds, events) for parsing alone, decoding alone and inserting alone."""
    start = time.perf_counter()
    for p in payloads:
        json.loads(p)
    parse_s = time.perf_counter() - start
    start = time.perf_counter()
    batches = [decode_batch(p) for p in payloads]
    decode_s = time.perf_counter() - start
    rows = [(e.id, b.kiosk, b.epoch, e.seq, b.site, e.question, e.scale, e.rating, e.input.value, "[]", None,
             e.lang, e.ts_wire(), "kiosk", e.ts_wire(), e.clock.value, e.boot, e.up_ms, e.ts_wire(),
             e.ts_wire()[:13], 1) for b in batches for e in b.events]
    db = connect_for_ingest(workdir / "floor.db")
    per_transaction = max(1, min(IngestService.GROUP_SIZE, IngestService.GROUP_BYTES // len(payloads[0])))
    per_transaction *= len(batches[0].events)
    start = time.perf_counter()
    for n in range(0, len(rows), per_transaction):
        db.conn.execute("BEGIN IMMEDIATE")
        db.conn.executemany(
            "INSERT INTO events (id, kiosk, epoch, seq, site, question, scale, rating, channel, flags, followup,"
            " lang, ts, time_source, ts_kiosk, clock, boot, up_ms, received_at, hour, in_hours)"
            " VALUES (" + ",".join("?" * 21) + ")", rows[n:n + per_transaction])
        db.conn.execute("COMMIT")
    insert_s = time.perf_counter() - start
    db.close()
    return [("floor: json.loads alone", parse_s, len(rows)), ("floor: decode_batch alone", decode_s, len(rows)),
            ("floor: SQLite insert alone", insert_s, len(rows))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="*", default=[1, 10, 500],
                        help="events per message (none: decode only)")
    parser.add_argument("--messages", type=int, default=5000, help="messages per size, at most")
    args = parser.parse_args()
    rows = [("decode_event, one event", "-", f"{decode_us():.1f} us", "-")]
    with tempfile.TemporaryDirectory() as tmp:
        for size in args.sizes:
            rate = worker_rate(size, min(args.messages, max(20, 250_000 // size)), Path(tmp))
            rows.append(("worker, queue kept full", size, f"{rate:,.0f} messages/s", f"{rate * size:,.0f}"))
    print(table(rows, ("what", "events per message", "rate", "events/s")))


if __name__ == "__main__":
    main()

"""What the rollups per local span cost `store_batch`: the same batches stored with and without them.

    .venv/bin/python bench/store_local_rollups.py [--batches 40] [--rounds 3]

Batches of 500 valid events go straight to `store_batch` (no broker, no
decoding in the timing) on a fresh file database each time. "Live" batches
hold presses a second apart (one or two hour buckets); "backlog" batches
presses five minutes apart (about 42 hour buckets each: a kiosk sending what
it queued while offline). Without local spans, `add_local` is replaced by a
no-op: the baseline is today's code minus that one call, in the same run.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
import uuid
from datetime import timedelta
from pathlib import Path

import collector.rollups as rollups
from collector.db import connect
from collector.registry import add_kiosk, add_site, get_site
from collector.store import store_batch
from ressenti.protocol import Batch, decode_batch, encode_batch, format_ts, utc_now


def make_batches(count: int, step: timedelta) -> list[Batch]:
    epoch, start, seq, out = str(uuid.uuid4()), utc_now() - timedelta(days=60), 1, []
    for _ in range(count):
        events = []
        for _ in range(500):
            events.append({"id": str(uuid.uuid4()), "seq": seq, "ts": format_ts(start + seq * step),
                           "clock": "ntp", "boot": "b", "up_ms": seq, "question": "overall", "scale": 4,
                           "rating": 1 + seq % 4, "input": "button", "flags": ["burst"] if seq % 9 == 0 else [],
                           "followup": None, "lang": "fr"})
            seq += 1
        out.append(decode_batch(encode_batch(kiosk="k", site="s", epoch=epoch, boot="b", up_ms=seq, events=events)))
    return out


def events_per_second(batches: list[Batch], *, local_spans: bool) -> float:
    with tempfile.TemporaryDirectory() as tmp:
        db = connect(Path(tmp) / "store.db")
        add_site(db, "s", "Site")
        add_kiosk(db, "k", "s")
        site = get_site(db, "s")
        assert site is not None
        real = rollups.add_local
        if not local_spans:
            rollups.add_local = lambda *args, **kwargs: None  # type: ignore[assignment]
        try:
            started = time.perf_counter()
            for batch in batches:
                store_batch(db, batch, site=site, received_at=utc_now(), topic="bench")
            elapsed = time.perf_counter() - started
        finally:
            rollups.add_local = real
        db.close()
    return len(batches) * 500 / elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batches", type=int, default=40)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    print("| batches | events/s without local spans | with | change |")
    print("|---|---|---|---|")
    for name, step in (("live (1 s apart)", timedelta(seconds=1)), ("backlog (5 min apart)", timedelta(minutes=5))):
        batches = make_batches(args.batches, step)
        without, with_spans = [], []
        for _ in range(args.rounds):  # interleaved, so both see the same machine
            without.append(events_per_second(batches, local_spans=False))
            with_spans.append(events_per_second(batches, local_spans=True))
        a, b = statistics.median(without), statistics.median(with_spans)
        print(f"| {name} | {a:,.0f} | {b:,.0f} | {b / a - 1:+.0%} |")


if __name__ == "__main__":
    main()

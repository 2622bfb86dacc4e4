"""The contract check (`decode_batch`) next to `json.loads` alone, on the same payloads, in the same run.

    .venv/bin/python bench/decode_batch.py [--sizes 1 10 500] [--events 100000] [--rounds 7]

Rows per batch size: `json.loads` alone (the floor: a decode that checks the
contract parses the JSON too), `decode_batch` (msgspec fast path, what kiosks'
valid batches take), `decode_batch_reference` (the straight Python checks, which
every batch took before msgspec and every batch with a bad event still takes)
and, to show the fallback's cost, `decode_batch` on the same batches with one
bad event each (one event in ten for batches of 10 and 500). The three are
interleaved round by round and the best round of each is kept, so a busy
neighbour slows all of them alike.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import make_batches, table

from ressenti.protocol import decode_batch, decode_batch_reference


def with_bad_events(payloads: list[bytes]) -> list[bytes]:
    """The same batches with every tenth event (at least one per batch) given a rating out of its scale."""
    out = []
    for payload in payloads:
        body = json.loads(payload)
        for i, event in enumerate(body["events"]):
            if i % 10 == 0:
                event["rating"] = 9
        out.append(json.dumps(body, separators=(",", ":")).encode())
    return out


def best_rates(runs: dict[str, tuple], events: int, rounds: int) -> dict[str, float]:
    best = dict.fromkeys(runs, float("inf"))
    for _ in range(rounds):
        for name, (decode, payloads) in runs.items():
            gc.collect()
            start = time.perf_counter()
            for p in payloads:
                decode(p)
            best[name] = min(best[name], time.perf_counter() - start)
    return {name: events / seconds for name, seconds in best.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1, 10, 500], help="events per batch")
    parser.add_argument("--events", type=int, default=100_000, help="events per size")
    parser.add_argument("--rounds", type=int, default=7, help="interleaved rounds; the best is kept")
    args = parser.parse_args()
    rows = []
    for size in args.sizes:
        payloads = make_batches("k001", "bench", max(1, args.events // size), size)
        events = len(payloads) * size
        bad = with_bad_events(payloads)
        assert all(decode_batch(p) == decode_batch_reference(p) for p in payloads[:50])
        runs = {
            "json.loads alone": (json.loads, payloads),
            "decode_batch (msgspec fast path)": (decode_batch, payloads),
            "decode_batch_reference (Python checks)": (decode_batch_reference, payloads),
            "decode_batch, a bad event per batch or per 10": (decode_batch, bad),
        }
        rates = best_rates(runs, events, args.rounds)
        floor = rates["json.loads alone"]
        for name, rate in rates.items():
            rows.append((size, name, f"{rate:,.0f}", f"{rate / floor:.2f}x"))
    load = os.getloadavg()[0]
    print(f"{args.events:,} events per size, best of {args.rounds} interleaved rounds, {os.cpu_count()} cores, "
          f"load {load:.1f}, Python {sys.version.split()[0]}")
    print(table(rows, ("batch size", "run", "events/s", "of json.loads")))


if __name__ == "__main__":
    main()

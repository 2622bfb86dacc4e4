"""Shared helpers for the benchmarks: event payloads, a counting subscriber, process memory, tables."""

from __future__ import annotations

import statistics
import threading
import uuid
from datetime import timedelta
from pathlib import Path

import paho.mqtt.client as mqtt

from ressenti.mqtt import BrokerAddress
from ressenti.protocol import encode_batch, format_ts, utc_now

BOOT = "bench-boot"


def make_batches(kiosk: str, site: str, batches: int, size: int) -> list[bytes]:
    """`batches` encoded batches of `size` realistic events, seqs from 1, for one kiosk."""
    epoch = str(uuid.uuid4())
    start = utc_now() - timedelta(hours=1)
    payloads, seq = [], 1
    for _ in range(batches):
        events = []
        for _ in range(size):
            events.append({
                "id": str(uuid.uuid4()), "seq": seq, "ts": format_ts(start + timedelta(milliseconds=seq)),
                "clock": "ntp", "boot": BOOT, "up_ms": seq, "question": "overall", "scale": 4,
                "rating": 1 + seq % 4, "input": "button", "flags": ["rapid_repeat"] if seq % 9 == 0 else [],
                "followup": None, "lang": "fr",
            })
            seq += 1
        payloads.append(encode_batch(kiosk=kiosk, site=site, epoch=epoch, boot=BOOT, up_ms=seq, events=events))
    return payloads


def client(broker: BrokerAddress, client_id: str = "") -> mqtt.Client:
    c = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=client_id)
    c.max_inflight_messages_set(100)
    c.max_queued_messages_set(0)
    c.connect(broker.host, broker.port, keepalive=60)
    c.loop_start()
    return c


class Counter:
    """Subscribes to a topic filter and counts messages until `expected` arrive."""

    def __init__(self, broker: BrokerAddress, topic: str, expected: int) -> None:
        self.expected = expected
        self.count = 0
        self.done = threading.Event()
        self.subscribed = threading.Event()
        self.client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id="bench-counter")
        self.client.on_message = self._on_message
        self.client.on_subscribe = lambda *a: self.subscribed.set()
        self.client.connect(broker.host, broker.port, keepalive=60)
        self.client.subscribe(topic, qos=1)
        self.client.loop_start()
        self.subscribed.wait(10)

    def _on_message(self, client, userdata, message) -> None:  # type: ignore[no-untyped-def]
        self.count += 1
        if self.count >= self.expected:
            self.done.set()

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


def table(rows: list[tuple], headers: tuple[str, ...]) -> str:
    cells = [tuple(str(c) for c in row) for row in [headers, *rows]]
    widths = [max(len(r[i]) for r in cells) for i in range(len(headers))]
    lines = ["| " + " | ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)) + " |" for r in cells]
    lines.insert(1, "|" + "|".join("-" * (w + 2) for w in widths) + "|")
    return "\n".join(lines)


def mean(values: list[float]) -> float:
    return statistics.fmean(values) if values else 0.0

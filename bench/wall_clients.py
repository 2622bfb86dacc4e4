"""100 wall displays on one web process: its memory and CPU, and whether every display got every update.

    .venv/bin/python bench/wall_clients.py [--clients 100] [--kiosks 200] [--sites 40] [--rate 33] [--seconds 60]

Same production-shaped collector as bench/wall_latency.py (Mosquitto, `ressenti collector ingest`,
gunicorn gthread with one worker), the same 200 real kiosks in worker processes pressing at 10x a busy
morning. The displays are plain HTTP clients of `/wall/<token>/stream` (one thread each, parsing the
Server-Sent Events as a browser would), 25 to a process. The web worker's RSS and CPU are sampled every second: idle,
with the displays connected and idle, and under the presses.

"No lost update" is checked two ways: at the end every display's last figures for every site equal the
database's, and every display received the same number of updates (the hub sends the same sequence to
all; a display that fell behind by 256 messages would be cut off and counted here).
"""

from __future__ import annotations

import argparse
import http.client
import json
import random
import sys
import tempfile
import threading
import time
from collections import defaultdict
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import psutil
from common import mean, table
from wall_common import KioskFleet, latencies, machine, press_poisson, start_stack, summary

from collector.db import connect
from collector.queries import site_summary
from collector.registry import get_site

DISPLAY_PROCESSES = 4


class Display(threading.Thread):
    """One wall display: keeps each site's last total and the time each update arrived."""

    def __init__(self, port: int, secret: str) -> None:
        super().__init__(daemon=True)
        self.port, self.secret = port, secret
        self.totals: dict[str, int] = {}
        self.seen: dict[str, list[tuple[float, int]]] = defaultdict(list)
        self.updates = 0
        self.snapshots = 0
        self.snapshot_at: float | None = None
        self.ended: str | None = None
        self.stop = threading.Event()

    def run(self) -> None:
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=120)
        connection.request("GET", f"/wall/{self.secret}/stream")
        response = connection.getresponse()
        event, data = "", ""
        while not self.stop.is_set():
            line = response.readline()
            if not line:
                self.ended = "stream ended"
                return
            text = line.decode().rstrip("\n")
            if text.startswith("event: "):
                event = text[7:]
            elif text.startswith("data: "):
                data = text[6:]
            elif text == "" and event:
                self.handle(event, data)
                event, data = "", ""

    def handle(self, event: str, data: str) -> None:
        now = time.time()
        body = json.loads(data)
        if event == "snapshot":
            self.snapshots += 1
            self.snapshot_at = self.snapshot_at or now
            for site in body["sites"]:
                self.totals[site["site"]] = site["total"]
        elif event == "update":
            self.updates += 1
            site = body["site"]
            self.totals[site["site"]] = site["total"]
            self.seen[site["site"]].append((now, site["total"]))


def display_worker(count: int, port: int, secret: str, commands, results) -> None:
    """`count` displays in one process (the measuring side must not be the bottleneck)."""
    displays = [Display(port, secret) for _ in range(count)]
    for d in displays:
        d.start()
    deadline = time.monotonic() + 60
    while any(d.snapshot_at is None for d in displays) and time.monotonic() < deadline:
        time.sleep(0.02)
    results.put(("connected", max(d.snapshot_at or time.time() for d in displays)))
    commands.get()  # the end
    results.put(("displays", [{"totals": d.totals, "seen": dict(d.seen), "updates": d.updates,
                               "ended": d.ended} for d in displays]))


class Sampler(threading.Thread):
    def __init__(self, pid: int) -> None:
        super().__init__(daemon=True)
        self.process = psutil.Process(pid)
        self.phase = "idle"
        self.samples: dict[str, list[tuple[float, float]]] = defaultdict(list)
        self.stop = threading.Event()

    def run(self) -> None:
        self.process.cpu_percent()
        while not self.stop.wait(1.0):
            self.samples[self.phase].append((self.process.memory_info().rss / 2**20, self.process.cpu_percent()))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=100)
    parser.add_argument("--kiosks", type=int, default=200)
    parser.add_argument("--sites", type=int, default=40)
    parser.add_argument("--rate", type=float, default=33.0)
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()

    host = machine()  # before this benchmark adds its own load
    work = Path(tempfile.mkdtemp(prefix="ressenti-wall-clients-"))
    stack = start_stack(work, sites=args.sites, kiosks=args.kiosks, threads=args.clients + 32)
    fleet = None
    try:
        fleet = KioskFleet(args.kiosks, args.sites, stack.mosquitto.url, work)
        sampler = Sampler(stack.web_worker_pid())
        sampler.start()
        time.sleep(5)
        sampler.phase = "connected, idle"
        import multiprocessing
        context = multiprocessing.get_context("spawn")
        results, commands = context.Queue(), context.Queue()
        groups = [args.clients // DISPLAY_PROCESSES + (1 if i < args.clients % DISPLAY_PROCESSES else 0)
                  for i in range(DISPLAY_PROCESSES)]
        started = time.time()
        workers = [context.Process(target=display_worker, args=(n, stack.port, stack.wall_secret, commands, results),
                                   daemon=True) for n in groups if n]
        for w in workers:
            w.start()
        connect_s = max(results.get(timeout=120)[1] for _ in workers) - started
        time.sleep(10)
        sampler.phase = "under presses"
        rng = random.Random(2)
        count, elapsed = press_poisson(fleet, rate=args.rate, seconds=args.seconds, kiosks=args.kiosks, rng=rng)
        time.sleep(5)
        sampler.phase = "after"
        presses = fleet.stop()
        fleet = None
        time.sleep(2)
        sampler.stop.set()
        for _ in workers:
            commands.put(None)
        displays = [d for _ in workers for d in results.get(timeout=120)[1]]
        # The database's own figures (the public summary withholds a site under the minimum count).
        db = connect(stack.directory / "collector.db")
        truth = {}
        for n in range(args.sites):
            site = f"site-{n:02d}"
            truth[site] = site_summary(db, get_site(db, site))["total"]  # type: ignore[arg-type]
        db.close()
        wrong = sum(1 for d in displays if any(d["totals"].get(s) != n for s, n in truth.items()))
        updates = [d["updates"] for d in displays]
        all_lat: list[float] = []
        not_shown = 0
        for d in displays:
            values, missing = latencies(presses, d["seen"])
            all_lat += values
            not_shown += missing
        phases = {phase: {"rss_mb": round(max(r for r, _ in s), 1), "cpu_pct_mean": round(mean([c for _, c in s]), 1),
                          "cpu_pct_max": round(max(c for _, c in s), 1)}
                  for phase, s in sampler.samples.items() if s}
        result = {
            "date": datetime.now(UTC).strftime("%Y-%m-%d"), "machine": host, "clients": args.clients,
            "kiosks": args.kiosks, "sites": args.sites, "presses": count, "rate_per_s": round(count / elapsed, 1),
            "connect_all_s": round(connect_s, 2), "web_worker": phases,
            "updates_per_display": {"min": min(updates), "max": max(updates)},
            "displays_with_wrong_final_figures": wrong, "streams_ended_early": sum(1 for d in displays if d["ended"]),
            "press_to_display_ms": {k: round(v, 1) for k, v in summary(all_lat).items()},
            "press_displays_never_shown": not_shown,
            "presses_stored": sum(truth.values()),
        }
    finally:
        if fleet is not None:
            fleet.stop()
        stack.stop()
    print(table([(phase, v["rss_mb"], v["cpu_pct_mean"], v["cpu_pct_max"]) for phase, v in phases.items()],
                ("web worker", "RSS MB (max)", "CPU % (mean)", "CPU % (max)")))
    lat = result["press_to_display_ms"]
    print(table([(args.clients, result["presses"], f"{min(updates)}-{max(updates)}", wrong, not_shown,
                  lat.get("p50"), lat.get("p99"))],
                ("displays", "presses", "updates each", "wrong at end", "never shown", "p50 ms", "p99 ms")))
    print(json.dumps(result))
    if args.json:
        args.json.write_text(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()

"""Ingest throughput through a real Mosquitto, next to the raw relay rate of the same payloads.

    .venv/bin/python bench/ingest_throughput.py [--kiosks 20] [--sizes 1 10 500] [--events 250000] [--processes 1 2]

Batches of 1 are live traffic (a kiosk online sends each press at once);
batches of 500 are a kiosk's backlog after an outage.

Both runs publish the same pre-encoded batches from the same publishers to the
same broker. The baseline subscriber does nothing; the ingest run counts an
event only when its ack arrives, that is after the collector committed the
events and their rollups. The ingest process's RSS is sampled throughout.

The floor rows time, without a broker, the two steps no ingest can skip, each
alone on the same payloads: parsing the JSON and SQLite inserting the rows
(bench/ingest_worker.py, `floors`). An ingest that must do both cannot pass
either.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import Counter, client, make_batches, rss_mb, table
from ingest_worker import floors

from collector.db import connect
from collector.registry import add_kiosk, add_site
from ressenti.mosquitto_runner import start_mosquitto
from ressenti.protocol import Kind, decode_ack, subscription, topic


def publish_all(broker, plan: dict[str, list[bytes]], site: str) -> float:
    """One publisher per kiosk, all batches at once (QoS 1); return the start time."""
    publishers = {k: client(broker, f"bench-pub-{k}") for k in plan}
    start = time.perf_counter()
    threads = [threading.Thread(target=lambda k=k: [publishers[k].publish(topic(site, k, Kind.EVENTS), p, qos=1)
                                                   for p in plan[k]]) for k in plan]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    publish_all.publishers = publishers  # type: ignore[attr-defined]
    return start


def close_publishers() -> None:
    for c in publish_all.publishers.values():  # type: ignore[attr-defined]
        c.disconnect()
        c.loop_stop()


def relay_baseline(broker, plan, site) -> float:
    total = sum(len(p) for p in plan.values())
    counter = Counter(broker, subscription(Kind.EVENTS), total)
    start = publish_all(broker, plan, site)
    if not counter.done.wait(300):
        raise SystemExit(f"relay: only {counter.count}/{total} messages arrived")
    elapsed = time.perf_counter() - start
    counter.close()
    close_publishers()
    return elapsed


class AckWatcher:
    def __init__(self, broker, final: dict[str, int]) -> None:
        self.final = final
        self.through = dict.fromkeys(final, 0)
        self.done = threading.Event()
        self.c = client(broker, "bench-acks")
        self.c.on_message = self._on_message
        self.c.subscribe(subscription(Kind.ACK), qos=1)

    def _on_message(self, c, u, message) -> None:  # type: ignore[no-untyped-def]
        kiosk = message.topic.split("/")[3]
        self.through[kiosk] = max(self.through.get(kiosk, 0), decode_ack(message.payload).through)
        if all(self.through[k] >= v for k, v in self.final.items()):
            self.done.set()


def ingest_run(broker, plan, site, processes: int, workdir: Path) -> tuple[float, list[float]]:
    db_path = workdir / f"ingest-{processes}.db"
    db = connect(db_path)
    add_site(db, site, "Bench")
    for k in [*plan, "probe"]:
        add_kiosk(db, k, site)
    db.close()
    cmd = [sys.executable, "-m", "cli", "collector", "ingest", "--db", str(db_path), "--broker",
           f"mqtt://{broker.host}:{broker.port}"]
    logs = [open(workdir / f"ingest-{processes}-{i}.log", "w") for i in range(processes)]  # noqa: SIM115
    procs = [subprocess.Popen(cmd + (["--shared", "--instance", f"bench{processes}-{i}"] if processes > 1
                                     else ["--instance", "bench1"]), stderr=logs[i])
             for i in range(processes)]
    try:
        # Probe until the ingest processes answer: then they are subscribed.
        probe = make_batches("probe", site, 1, 1)[0]
        watcher = AckWatcher(broker, {"probe": 1})
        pub = client(broker, "bench-probe")
        while not watcher.done.wait(0.5):
            pub.publish(topic(site, "probe", Kind.EVENTS), probe, qos=1)
        pub.disconnect()
        watcher.c.disconnect()
        final = {k: len(p) * plan_size(p) for k, p in plan.items()}
        watcher = AckWatcher(broker, final)
        samples: list[float] = []
        stop = threading.Event()

        def sample() -> None:
            while not stop.wait(0.5):
                samples.append(sum(rss_mb(p.pid) for p in procs))

        sampler = threading.Thread(target=sample)
        sampler.start()
        start = publish_all(broker, plan, site)
        if not watcher.done.wait(600):
            tails = "\n".join(Path(f.name).read_text()[-3000:] for f in logs)
            raise SystemExit(f"ingest: acks stopped at {watcher.through}\n{tails}")
        elapsed = time.perf_counter() - start
        stop.set()
        sampler.join()
        close_publishers()
        watcher.c.disconnect()
        db = connect(db_path)
        stored = db["events"].count
        expected = sum(final.values()) + 1
        if stored != expected:
            raise SystemExit(f"ingest stored {stored} events, expected {expected}")
        return elapsed, samples
    finally:
        for p in procs:
            p.terminate()
            try:
                p.wait(10)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait(10)


def plan_size(payloads: list[bytes]) -> int:
    import json
    return len(json.loads(payloads[0])["events"])


def measure(size: int, args: argparse.Namespace, workdir: Path) -> tuple[str, list[tuple]]:
    """Relay, then ingest with each process count, of the same batches of `size` events."""
    site = "bench"
    messages = min(args.events // size, args.max_messages)
    batches = max(1, messages // args.kiosks)
    plan = {f"k{n:03d}": make_batches(f"k{n:03d}", site, batches, size) for n in range(args.kiosks)}
    events = args.kiosks * batches * size
    mb = sum(len(p) for ps in plan.values() for p in ps) / 1e6
    # Unlimited queue: the baseline and the ingest see every message.
    broker = start_mosquitto(workdir / f"broker-{size}", "max_queued_messages 0\nmax_inflight_messages 100")
    try:
        relay_s = relay_baseline(broker.address, plan, site)
        relay = events / relay_s
        rows = [(size, "raw relay (subscriber does nothing)", 1, f"{relay_s:.2f}", f"{relay:,.0f}", "100%", "-")]
        for step, seconds, n in floors([p for ps in plan.values() for p in ps], workdir / f"size-{size}"):
            rows.append((size, step, 1, f"{seconds:.2f}", f"{n / seconds:,.0f}", f"{n / seconds / relay:.1%}", "-"))
        for n in args.processes:
            elapsed, rss = ingest_run(broker.address, plan, site, n, workdir / f"size-{size}")
            rate = events / elapsed
            memory = f"{rss[0]:.0f} -> {max(rss):.0f} -> {rss[-1]:.0f}" if rss else "-"
            rows.append((size, "ingest, committed + acked", n, f"{elapsed:.2f}", f"{rate:,.0f}",
                         f"{rate / relay:.1%}", memory))
    finally:
        broker.stop()
    return f"{events:,} events in {args.kiosks * batches:,} batches of {size} ({mb:.1f} MB)", rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kiosks", type=int, default=20, help="publishers, one per kiosk")
    parser.add_argument("--sizes", type=int, nargs="+", default=[1, 10, 500], help="events per batch")
    parser.add_argument("--events", type=int, default=250_000, help="events per size, at most")
    parser.add_argument("--max-messages", type=int, default=20_000, help="batches per size, at most")
    parser.add_argument("--processes", type=int, nargs="+", default=[1, 2], help="ingest processes to try")
    args = parser.parse_args()
    rows, plans = [], []
    with tempfile.TemporaryDirectory() as tmp:
        for size in args.sizes:
            (Path(tmp) / f"size-{size}").mkdir()
            plan, size_rows = measure(size, args, Path(tmp))
            plans.append(plan)
            rows.extend(size_rows)
    version = os.popen("mosquitto -h 2>/dev/null | head -1").read().split()[2]
    print(f"{'; '.join(plans)}; {args.kiosks} publishers, Mosquitto {version}, {os.cpu_count()} cores")
    print(table(rows, ("batch size", "run", "processes", "seconds", "events/s", "of relay",
                       "RSS MB first -> peak -> last")))


if __name__ == "__main__":
    main()

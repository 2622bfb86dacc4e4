"""Web survey submissions per second into committed rows, with the MQTT ingest busy beside them.

    .venv/bin/python bench/survey_submit.py [--seconds 20] [--clients 16 32] [--links 40] [--kiosk-rate 200]

One stack (bench/wall_common.py): a real Mosquitto, `ressenti collector ingest` and gunicorn
(gthread, 2 workers x 32 threads: the deploy role's defaults, collector/web/gunicorn_conf.py)
on one SQLite database. Each client thread
answers like a phone: GET /s/<slug> (a fresh signed one-time form), then POST the rating, and
counts a submission only on the 303 to the thank-you page, that is after the row committed.
Each submission comes from its own loopback address (127.a.b.c), because one address is
limited to 20 submissions per link in 10 minutes (docs/survey.md); links are spread over the
sites so no link reaches its per-minute limit by itself.

Beside them, kiosks publish batches of one event at --kiosk-rate events/s through the broker
(live traffic), and the ingest commits them: the row counts at the end check that both paths
stored everything they acknowledged. The baseline row is the same GET+POST loop against a
page that stores nothing (GET /s/<slug> twice), in the same run: the web server's own ceiling.
"""

from __future__ import annotations

import argparse
import http.client
import itertools
import re
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlencode

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import client, make_batches, percentile, table
from wall_common import kiosk_id, machine, site_of, start_stack

from collector.db import connect
from collector.survey.links import create_link
from ressenti.mqtt import parse_broker_url
from ressenti.protocol import Kind, topic

FIELD = re.compile(r'type="hidden" name="(n|i|s)" value="([^"]+)"')
_addresses = itertools.count(1)
_address_lock = threading.Lock()


def next_address() -> str:
    """A loopback address never used before in this run: 127.0.0.1 onwards, skipping .0 and .255."""
    with _address_lock:
        while True:
            n = next(_addresses)
            a, b, c = (n >> 16) & 255, (n >> 8) & 255, n & 255
            if 0 < c < 255:
                return f"127.{a}.{b}.{c}"


def one_answer(port: int, slug: str, rating: int, store: bool) -> tuple[float, float]:
    """(GET seconds, POST seconds) of one citizen's answer from a fresh address; raises on a wrong status."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30, source_address=(next_address(), 0))
    try:
        t0 = time.perf_counter()
        conn.request("GET", f"/s/{slug}")
        response = conn.getresponse()
        page = response.read().decode()
        if response.status != 200:
            raise RuntimeError(f"GET /s/{slug}: {response.status}")
        t1 = time.perf_counter()
        if not store:  # the baseline: a second page render, nothing written
            conn.request("GET", f"/s/{slug}")
            response = conn.getresponse()
            response.read()
            return t1 - t0, time.perf_counter() - t1
        fields = dict(FIELD.findall(page))
        body = urlencode({**fields, "rating": str(rating)})
        conn.request("POST", f"/s/{slug}", body=body,
                     headers={"Content-Type": "application/x-www-form-urlencoded"})
        response = conn.getresponse()
        response.read()
        if response.status != 303:
            raise RuntimeError(f"POST /s/{slug}: {response.status}")
        return t1 - t0, time.perf_counter() - t1
    finally:
        conn.close()


def load(port: int, slugs: list[str], clients: int, seconds: float, store: bool) -> dict[str, object]:
    """`clients` threads answering for `seconds`; their counts and latencies."""
    gets: list[float] = []
    posts: list[float] = []
    errors: list[str] = []
    lock = threading.Lock()
    stop_at = time.perf_counter() + seconds

    def worker(w: int) -> None:
        for i in itertools.count():
            if time.perf_counter() > stop_at:
                return
            slug = slugs[(w * 7 + i) % len(slugs)]
            try:
                g, p = one_answer(port, slug, 1 + (w + i) % 4, store)
            except (OSError, RuntimeError) as exc:
                with lock:
                    errors.append(str(exc))
                continue
            with lock:
                gets.append(g)
                posts.append(p)

    threads = [threading.Thread(target=worker, args=(w,)) for w in range(clients)]
    start = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - start
    return {"n": len(posts), "elapsed": elapsed, "gets": gets, "posts": posts, "errors": errors}


class KioskTraffic:
    """Kiosks publishing batches of one event at a steady total rate until stopped."""

    def __init__(self, broker_url: str, kiosks: int, sites: int, rate: float, seconds: float) -> None:
        self.broker = parse_broker_url(broker_url)
        per_kiosk = int(rate * seconds / kiosks) + 10
        self.plan = {kiosk_id(k): (site_of(k, sites), make_batches(kiosk_id(k), site_of(k, sites), per_kiosk, 1))
                     for k in range(kiosks)}
        self.rate, self.sent, self.stop = rate, 0, threading.Event()
        self.thread = threading.Thread(target=self._run)

    def _run(self) -> None:
        publisher = client(self.broker, "bench-survey-kiosks")
        queues = {k: iter(p) for k, (_, p) in self.plan.items()}
        start = time.perf_counter()
        for k in itertools.cycle(list(self.plan)):
            if self.stop.is_set():
                break
            payload = next(queues[k], None)
            if payload is None:
                break
            publisher.publish(topic(self.plan[k][0], k, Kind.EVENTS), payload, qos=1)
            self.sent += 1
            delay = start + self.sent / self.rate - time.perf_counter()
            if delay > 0:
                time.sleep(delay)
        time.sleep(1)
        publisher.disconnect()
        publisher.loop_stop()

    def __enter__(self) -> KioskTraffic:
        self.thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self.stop.set()
        self.thread.join()


def count_rows(db_path: Path, channel: str) -> int:
    db = connect(db_path)
    try:
        return int(db.execute("SELECT COUNT(*) FROM events WHERE channel = ?", [channel]).fetchone()[0])
    finally:
        db.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument("--clients", type=int, nargs="+", default=[16, 32])
    parser.add_argument("--links", type=int, default=40)
    parser.add_argument("--sites", type=int, default=20)
    parser.add_argument("--kiosks", type=int, default=20)
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers.")
    parser.add_argument("--kiosk-rate", type=float, default=200, help="Kiosk events/s published beside.")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="ressenti-bench-survey-") as tmp:
        stack = start_stack(Path(tmp), sites=args.sites, kiosks=args.kiosks, threads=32, workers=args.workers)
        db_path = Path(tmp) / "collector.db"
        try:
            db = connect(db_path)
            slugs = [create_link(db, f"site-{i % args.sites:02d}", "web", label=f"bench {i}").slug
                     for i in range(args.links)]
            db.close()
            rows, stored_total = [], 0
            for clients in args.clients:
                base = load(stack.port, slugs, clients, args.seconds / 2, store=False)
                before_kiosk = count_rows(db_path, "button")
                with KioskTraffic(stack.mosquitto.url, args.kiosks, args.sites, args.kiosk_rate,
                                  args.seconds) as kiosks:
                    run = load(stack.port, slugs, clients, args.seconds, store=True)
                    kiosk_sent = kiosks.sent
                time.sleep(2)  # the ingest's last commits
                kiosk_rows = count_rows(db_path, "button") - before_kiosk
                stored_total += int(run["n"])  # type: ignore[call-overload]
                for name, r, extra in (("baseline: GET twice, nothing stored", base, "-"),
                                       ("survey: GET form + POST answer", run,
                                        f"{kiosk_rows}/{kiosk_sent}")):
                    posts = [1000 * x for x in r["posts"]]  # type: ignore[attr-defined]
                    rows.append((name, clients, r["n"], f"{r['n'] / r['elapsed']:.0f}",  # type: ignore[operator]
                                 f"{percentile(posts, 50):.1f}", f"{percentile(posts, 99):.1f}",
                                 len(r["errors"]), extra))  # type: ignore[arg-type]
            web_rows = count_rows(db_path, "web")
        finally:
            stack.stop()
    print(f"# bench/survey_submit.py, {datetime.now(UTC):%Y-%m-%d %H:%M} UTC, {machine()}")
    print(f"# {args.seconds:.0f} s per run, {args.links} links on {args.sites} sites, kiosks beside at "
          f"{args.kiosk_rate:.0f} events/s (batches of 1)")
    print(table(rows, ("run", "clients", "answers", "answers/s", "2nd request p50 ms", "2nd request p99 ms",
                       "errors", "kiosk rows/sent")))
    print(f"# web rows committed: {web_rows}, answers acknowledged (303): {stored_total}"
          f" -> {'equal' if web_rows == stored_total else 'MISMATCH'}")


if __name__ == "__main__":
    main()

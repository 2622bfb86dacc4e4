"""The public results page under 50 concurrent readers (issue 13), on a real gunicorn (production settings).

    .venv/bin/python bench/public_page.py [--readers 50] [--requests 20] [--days 365]

One gunicorn worker, 32 threads (`-k gthread`, collector/web/gunicorn_conf.py), on a
year of history of four sites (tests/web_support.py `seed_history`). `--readers`
client threads, each with its own keep-alive connection, GET a page `--requests`
times, all at once; latency per request, p50 / p95 / p99, and pages per second.
No cache in front (the pages say `Cache-Control: public, max-age=300`, which a
proxy would use). Baselines in the same run: `/login` (a template, no figures)
and the existing public figure, `/api/v1/sites/<site>/summary` over the same 12 months.
"""

from __future__ import annotations

import argparse
import http.client
import sys
import tempfile
import threading
import time
from datetime import datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from common import percentile, table
from gunicorn_support import start_gunicorn
from web_support import seed_history

from collector.db import connect
from collector.public_results import last_full_month, months_back
from collector.web.scope import DEFAULT_ZONE


def hammer(port: int, path: str, readers: int, requests: int) -> tuple[list[float], float, int]:
    """(latencies in ms, wall time in s, failures) of readers x requests GETs, all readers at once."""
    latencies: list[float] = []
    failures = [0]
    lock = threading.Lock()
    start_line = threading.Barrier(readers)

    def reader() -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        mine = []
        start_line.wait()
        for _ in range(requests):
            t0 = time.perf_counter()
            try:
                conn.request("GET", path)
                response = conn.getresponse()
                response.read()
                ok = response.status == 200
            except OSError:
                ok = False
                conn.close()
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
            mine.append((time.perf_counter() - t0) * 1000)
            if not ok:
                with lock:
                    failures[0] += 1
        conn.close()
        with lock:
            latencies.extend(mine)

    threads = [threading.Thread(target=reader) for _ in range(readers)]
    t0 = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return latencies, time.perf_counter() - t0, failures[0]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--readers", type=int, default=50)
    parser.add_argument("--requests", type=int, default=20, help="per reader")
    parser.add_argument("--days", type=int, default=365, help="days of seeded history")
    parser.add_argument("--threads", type=int, default=32, help="gunicorn threads")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "bench.db"
        db = connect(path)
        t0 = time.perf_counter()
        stored = seed_history(db, days=args.days)
        db.close()
        print(f"seeded {sum(stored.values())} answers over {args.days} days in {time.perf_counter() - t0:.0f} s",
              file=sys.stderr)
        month = last_full_month(datetime.now(DEFAULT_ZONE).date())
        first = months_back(month, 12)
        server = start_gunicorn(path, Path(tmp) / "gunicorn.log", threads=args.threads)
        try:
            pages = [("/login (baseline: a template)", "/login"),
                     ("public summary API, 12 months (baseline)",
                      f"/api/v1/sites/mairie-centre/summary?from={first}&to={month.replace(day=28)}"),
                     ("/resultats/<site>", "/resultats/mairie-centre"),
                     ("/resultats/<site>/embed", "/resultats/mairie-centre/embed"),
                     ("/resultats/org/<org> (4 sites)", "/resultats/org/demo-ville"),
                     ("/opendata/resultats.csv (4 sites x 12 months)", "/opendata/resultats.csv")]
            rows = []
            for name, url in pages:
                hammer(server.port, url, 4, 3)  # warm up
                latencies, elapsed, failed = hammer(server.port, url, args.readers, args.requests)
                rows.append((name, len(latencies), failed, f"{percentile(latencies, 50):.0f}",
                             f"{percentile(latencies, 95):.0f}", f"{percentile(latencies, 99):.0f}",
                             f"{len(latencies) / elapsed:.0f}"))
        finally:
            server.stop()
    print(f"{args.readers} concurrent readers x {args.requests} requests; gunicorn 1 worker x {args.threads} threads")
    print(table(rows, ("page", "requests", "failed", "p50 ms", "p95 ms", "p99 ms", "pages/s")))


if __name__ == "__main__":
    main()

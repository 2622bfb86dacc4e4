"""Summary and series latency on a collector database of N million events.

    .venv/bin/python bench/query_latency.py [--events 10000000] [--sites 200] [--db PATH]

Builds (once; reused when it exists with the same shape) a year of events for
`--sites` sites, written straight into the events table with the same columns
ingest writes (7 in 10 of the unhappy presses with a follow-up answer, one of
four reasons), then the rollups with `rebuild_rollups` (the code a test proves
equal to ingest's live rollups). Then times the API's queries, which read
rollups only, and the dashboard's figures for big scopes over a year (what
`/dashboard` computes before rendering: `build_view`), and reports the
database size per million events.
"""

from __future__ import annotations

import argparse
import json
import random
import sqlite3
import sys
import time
import uuid
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import percentile, table

from collector.db import connect
from collector.publication import DEFAULT_MIN_CELL
from collector.queries import site_summary
from collector.registry import add_kiosk, add_site, get_site, list_sites
from collector.reports import followup_answers
from collector.rollups import rebuild_rollups
from collector.series import site_series
from collector.web import create_app
from collector.web.dashboard import build_view
from collector.web.scope import Selection
from ressenti.protocol import format_ts

HOURS = {d: "08:30-12:00,13:30-17:30" for d in ("mon", "tue", "wed", "thu", "fri")}


GENERATE = """
WITH RECURSIVE n(seq) AS (SELECT 1 UNION ALL SELECT seq + 1 FROM n WHERE seq < :count),
draw AS MATERIALIZED (
    SELECT seq, abs(random()) % 100 AS r_rating, abs(random()) % 100 AS r_flag, abs(random()) % 100 AS r_follow,
           7 + abs(random()) % 10 AS h, abs(random()) % 365 AS d, abs(random()) % 60 AS m
    FROM n
),
stamped AS MATERIALIZED (
    SELECT seq, r_rating, r_flag, r_follow, h,
           strftime('%Y-%m-%dT%H:%M:00.000Z', :start, '+' || d || ' days', '+' || h || ' hours',
                    '+' || m || ' minutes') AS ts
    FROM draw
)
INSERT INTO events (id, kiosk, epoch, seq, site, question, scale, rating, channel, flags, followup,
                    lang, ts, time_source, ts_kiosk, clock, boot, up_ms, received_at, hour, in_hours)
SELECT lower(hex(randomblob(16))), :kiosk, :epoch, seq, :site, 'overall', 4,
       CASE WHEN r_rating < 50 THEN 4 WHEN r_rating < 80 THEN 3 WHEN r_rating < 93 THEN 2 ELSE 1 END,
       'button', CASE WHEN r_flag < 4 THEN '["rapid_repeat"]' ELSE '[]' END,
       CASE WHEN r_rating >= 80 AND r_follow < 70 THEN json_object('question', 'why', 'choice',
            CASE r_follow % 4 WHEN 0 THEN 'wait' WHEN 1 THEN 'welcome' WHEN 2 THEN 'answer' ELSE 'other' END)
       END, 'fr',
       ts, 'kiosk', ts, 'ntp', 'b', 1, :received, substr(ts, 1, 13), CASE WHEN h IN (7, 12) THEN 0 ELSE 1 END
FROM stamped
"""


def build(path: Path, events: int, sites: int) -> None:
    """A year of office-hour presses per site, generated inside SQLite (fast, C speed)."""
    db = connect(path)
    for n in range(sites):
        add_site(db, f"site-{n:03d}", f"Site {n}", org=f"org-{n % 10}", scale=4, opening_hours=HOURS)
        add_kiosk(db, f"kiosk-{n:03d}", f"site-{n:03d}")
    db.close()
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA synchronous=OFF")  # building the fixture, not measuring ingest
    end = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    start = (end - timedelta(days=365)).strftime("%Y-%m-%d %H:%M:%S")
    per_site = events // sites
    received = format_ts(end)
    for n in range(sites):
        epoch = str(uuid.uuid4())
        conn.execute("BEGIN")
        conn.execute(GENERATE, {"count": per_site, "start": start, "kiosk": f"kiosk-{n:03d}", "epoch": epoch,
                                "site": f"site-{n:03d}", "received": received})
        conn.execute("INSERT INTO streams (kiosk, epoch, through, max_seq, dropped_through, first_seen, last_seen)"
                     " VALUES (?, ?, ?, ?, 0, ?, ?)", (f"kiosk-{n:03d}", epoch, per_site, per_site, received, received))
        conn.execute("COMMIT")
        if n % 20 == 19:
            print(f"  built {n + 1}/{sites} sites", file=sys.stderr)
    conn.close()
    db = connect(path)
    rebuild_rollups(db)
    db.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    db.close()
    shape = {"events": events, "sites": sites, "followups": True}
    (path.parent / (path.name + ".shape")).write_text(json.dumps(shape))


def timed(fn, runs: int) -> list[float]:
    out = []
    for _ in range(runs):
        t = time.perf_counter()
        fn()
        out.append((time.perf_counter() - t) * 1000)
    return out


def dashboard_cases(path: Path, db, sites, today: date) -> list[tuple[str, object]]:
    """The dashboard's whole computation (report, previous period, follow-ups, charts) for big scopes."""
    app = create_app({"DATABASE": str(path), "SECRET_KEY": "bench", "START_LIVE": False, "TESTING": True})
    org = [s for s in sites if s.org == "org-0"]

    def view(scope: str, chosen, start: date) -> object:
        selection = Selection(scope, scope, chosen, start, today, "all", "filtered")

        def run() -> None:
            with app.test_request_context("/dashboard"):
                build_view(db, selection)
        return run

    year_start = today.replace(month=1, day=1)
    return [
        (f"dashboard, all {len(sites)} sites, year to date", view("all", sites, year_start)),
        (f"dashboard, all {len(sites)} sites, last 365 days", view("all", sites, today - timedelta(days=364))),
        (f"dashboard, one organisation ({len(org)} sites), year to date", view("org:org-0", org, year_start)),
        (f"dashboard, all {len(sites)} sites, last 30 days", view("all", sites, today - timedelta(days=29))),
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=10_000_000)
    parser.add_argument("--sites", type=int, default=200)
    parser.add_argument("--db", type=Path, default=Path("/tmp/ressenti-bench/query.db"))
    parser.add_argument("--runs", type=int, default=200)
    parser.add_argument("--dashboard-runs", type=int, default=20,
                        help="runs of each dashboard line (a year of 200 sites is slow to sum)")
    args = parser.parse_args()
    args.db.parent.mkdir(parents=True, exist_ok=True)
    shape = args.db.parent / (args.db.name + ".shape")
    wanted = {"events": args.events, "sites": args.sites, "followups": True}
    if not shape.exists() or json.loads(shape.read_text()) != wanted:
        for suffix in ("", "-wal", "-shm", ".shape"):
            Path(f"{args.db}{suffix}").unlink(missing_ok=True)
        t = time.perf_counter()
        build(args.db, args.events, args.sites)
        print(f"built in {time.perf_counter() - t:.0f} s", file=sys.stderr)
    db = connect(args.db)
    sites = list_sites(db)
    rng = random.Random(1)
    today = date.today()
    rows_count = db.execute("SELECT COUNT(*) FROM rollup_hourly").fetchone()[0]

    def pick():
        return get_site(db, rng.choice(sites).id)

    cases = [
        ("summary, one day", lambda: site_summary(db, pick(), today - timedelta(days=rng.randrange(1, 300)))),
        ("summary, one month", lambda: site_summary(db, pick(), today - timedelta(days=30), today)),
        ("summary, one year, open hours", lambda: site_summary(db, pick(), today - timedelta(days=365), today,
                                                               hours="open")),
        ("hourly series, one week", lambda: site_series(db, pick(), today - timedelta(days=7), today, unit="hour",
                                                        min_cell=DEFAULT_MIN_CELL)),
        ("hourly series, one month", lambda: site_series(db, pick(), today - timedelta(days=30), today, unit="hour",
                                                         min_cell=DEFAULT_MIN_CELL)),
        ("daily series (public), one month", lambda: site_series(db, pick(), today - timedelta(days=30), today,
                                                                 min_cell=DEFAULT_MIN_CELL)),
        ("daily series (public), one year", lambda: site_series(db, pick(), today - timedelta(days=365), today,
                                                                min_cell=DEFAULT_MIN_CELL)),
        ("follow-up reasons, one site, one year", lambda: followup_answers(db, [pick()], today - timedelta(days=365),
                                                                           today)),
    ]
    rows = []
    for name, fn in cases:
        fn()  # warm
        ms = timed(fn, args.runs)
        rows.append((name, f"{percentile(ms, 50):.2f}", f"{percentile(ms, 95):.2f}", f"{percentile(ms, 99):.2f}"))
    for name, fn in dashboard_cases(args.db, db, sites, today):
        fn()  # warm
        ms = timed(fn, args.dashboard_runs)
        rows.append((name, f"{percentile(ms, 50):.2f}", f"{percentile(ms, 95):.2f}", f"{percentile(ms, 99):.2f}"))
    size = sum(Path(f"{args.db}{s}").stat().st_size for s in ("", "-wal") if Path(f"{args.db}{s}").exists())
    events = db["events"].count
    print(f"{events:,} events, {len(sites)} sites, {rows_count:,} rollup rows; database {size / 1e9:.2f} GB "
          f"= {size / 1e6 / (events / 1e6):.0f} MB per million events")
    print(table(rows, ("query (reads rollups)", "p50 ms", "p95 ms", "p99 ms")))


if __name__ == "__main__":
    main()

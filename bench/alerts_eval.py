"""One alert evaluation pass on 2,000 sites / 20,000 kiosks (issue 12).

    PYTHONPATH=$PWD .venv/bin/python bench/alerts_eval.py [--sites 2000] [--kiosks-per-site 10] [--weeks 8]
                                                          [--per-hour 2] [--db PATH] [--passes 7]

Builds (once; reused when it exists with the same shape) `--sites` sites with
opening hours, `--kiosks-per-site` kiosks each with a status row (2 in 100
offline for an hour, 1 in 100 with an unsynchronised clock) and a stream, and
`--weeks` weeks of presses in opening hours (about `--per-hour` an hour and
site, half the sites twice that; inserted in time order and received 2 s after
the press, as ingest would), generated inside SQLite like
bench/query_latency.py; then the hourly rollups (the SQL of rebuild_rollups)
and the local ones (`rebuild_local`). The evaluator's baselines look back at
most `weeks` weeks (8 by default), so older rollups only deepen the indexes it
reads by key. One site gets a burst of 300 presses and a gap in its stream,
so every kind has something to raise.

Times `evaluate` at a Tuesday 10:30 Paris time (sites open): the first pass
(raises), then steady passes (nothing new: the every-minute case). Baseline
in the same run: reading the same database's fleet page data
(`collector.fleet.fleet` without gaps), which the fleet page does per request.

`--ingest S` then stores 10-event batches through `store_batch` (the HTTP
sources' path: one transaction and fsync per batch) into the same database
for S seconds at a time, alone and with an evaluator process (niced like its
unit) running passes back to back (about 100 times its production duty of
0.5 s a minute), alternating three times.
"""

from __future__ import annotations

import argparse
import json
import sqlite3
import sys
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import percentile, table

from collector.alerts.evaluate import evaluate
from collector.db import connect
from collector.fleet import fleet
from collector.local_rollups import rebuild_local
from ressenti.protocol import format_ts

HOURS = {d: "08:30-12:00,13:30-17:30" for d in ("mon", "tue", "wed", "thu", "fri")}
PARIS = ZoneInfo("Europe/Paris")

GENERATE = """
WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < :count - 1),
draw AS MATERIALIZED (
    SELECT i, i % :sites AS s, abs(random()) % 100 AS r, abs(random()) % :days AS d,
           8 + abs(random()) % 9 AS h, abs(random()) % 60 AS m FROM n
)
INSERT INTO events (id, kiosk, epoch, seq, site, question, scale, rating, channel, flags, followup, lang, ts,
                    time_source, ts_kiosk, clock, boot, up_ms, received_at, hour, in_hours)
SELECT lower(hex(randomblob(16))), printf('k-%04d-0', s), 'bench', i + 1, printf('s-%04d', s), 'overall', 4,
       CASE WHEN r < 50 THEN 4 WHEN r < 80 THEN 3 WHEN r < 93 THEN 2 ELSE 1 END, 'button', '[]', NULL, 'fr',
       strftime('%Y-%m-%dT%H:%M:00.000Z', :start, '+' || d || ' days', '+' || (h - 1) || ' hours',
                '+' || m || ' minutes') AS ts,
       'kiosk', NULL, 'ntp', 'b', 1, :received, NULL, 1
FROM draw WHERE (s % 2 = 0 OR r % 2 = 0) ORDER BY ts
"""


def build(path: Path, sites: int, per_site: int, weeks: int, per_hour: int, now: datetime) -> None:
    conn = sqlite3.connect(path, isolation_level=None)
    connect(path).close()  # the schema
    conn.execute("PRAGMA synchronous=OFF")  # building the fixture, not measuring ingest
    received = format_ts(now - timedelta(hours=1))
    conn.execute("BEGIN")
    conn.executemany("INSERT INTO orgs (id, name) VALUES (?, ?)", [(f"org-{n}", f"Org {n}") for n in range(20)])
    conn.executemany(
        "INSERT INTO sites (id, org, name, tz, scale, opening_hours, created)"
        " VALUES (?, ?, ?, 'Europe/Paris', 4, ?, ?)",
        [(f"s-{n:04d}", f"org-{n % 20}", f"Site {n}", json.dumps(HOURS), received) for n in range(sites)])
    kiosks = [(f"k-{n:04d}-{k}", f"s-{n:04d}") for n in range(sites) for k in range(per_site)]
    conn.executemany("INSERT INTO kiosks (id, site, name, created) VALUES (?, ?, ?, ?)",
                     [(k, s, k, received) for k, s in kiosks])
    seen = format_ts(now - timedelta(seconds=30))
    rows = []
    for i, (kiosk, site) in enumerate(kiosks):
        offline = i % 50 == 7
        rows.append((kiosk, site, "offline" if offline else "online",
                     format_ts(now - timedelta(hours=1)) if offline else seen,
                     "unsynced" if i % 100 == 3 else "ntp"))
    conn.executemany("INSERT INTO kiosk_status (kiosk, site, state, received_at, clock, body)"
                     " VALUES (?, ?, ?, ?, ?, '{}')", rows)
    conn.execute("COMMIT")
    days = weeks * 7
    start = (now - timedelta(days=days)).replace(hour=0, minute=0, second=0, microsecond=0)
    count = sites * days * 9 * per_hour * 5 // 7 * 4 // 3  # about per_hour in opening hours, some on weekends
    print(f"  generating {count:,} presses", file=sys.stderr)
    conn.execute("BEGIN")
    conn.execute(GENERATE, {"count": count, "sites": sites, "days": days, "start": start.strftime("%Y-%m-%d %H:%M:%S"),
                            "received": received})
    # Received a couple of seconds after the press, as ingest would (rowids follow received_at).
    conn.execute("UPDATE events SET hour = substr(ts, 1, 13), ts_kiosk = ts,"
                 " received_at = strftime('%Y-%m-%dT%H:%M:%fZ', ts, '+2 seconds')")
    conn.execute("DELETE FROM events WHERE ts > ?", (format_ts(now - timedelta(hours=2)),))
    # One site with a stuck button (300 presses in 40 minutes) and a stream with a hole.
    burst = [(str(uuid.uuid4()), "k-0001-1", "burst", seq, "s-0001", "overall", 4, 4, "button", "[]", None, "fr",
              format_ts(now - timedelta(seconds=8 * (300 - seq))), "kiosk", None, "ntp", "b", 1,
              format_ts(now - timedelta(seconds=8 * (300 - seq) - 2)), None, 1)
             for seq in range(1, 301)]
    conn.executemany("INSERT INTO events VALUES (" + ",".join("?" * 21) + ")", burst)
    conn.execute("UPDATE events SET hour = substr(ts, 1, 13) WHERE hour IS NULL")
    streams = [(k, "bench", 0, 0, received, received) for k, _ in kiosks]
    conn.executemany("INSERT OR IGNORE INTO streams (kiosk, epoch, through, max_seq, first_seen, last_seen)"
                     " VALUES (?, ?, ?, ?, ?, ?)", streams)
    conn.execute("INSERT INTO streams (kiosk, epoch, through, max_seq, first_seen, last_seen)"
                 " VALUES ('k-0001-1', 'burst', 280, 310, ?, ?)", (received, received))
    print("  hourly rollups", file=sys.stderr)
    conn.execute(
        "INSERT INTO rollup_hourly (site, hour, question, channel, scale, rating, in_hours, n_raw, n_filtered)"
        " SELECT site, hour, question, channel, scale, rating, in_hours, COUNT(*),"
        " SUM(CASE WHEN flags = '[]' THEN 1 ELSE 0 END) FROM events"
        " GROUP BY site, hour, question, channel, scale, rating, in_hours")
    conn.execute("COMMIT")
    conn.close()
    print("  local rollups", file=sys.stderr)
    db = connect(path)
    db.conn.execute("BEGIN")
    rebuild_local(db)
    db.conn.execute("COMMIT")
    db.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    db.conn.execute("ANALYZE")
    db.close()


def evaluator_loop(path: Path, now: datetime) -> None:
    """Passes back to back until killed (the `--ingest` comparison's other process), niced like the unit."""
    import os

    os.nice(10)  # systemd/ressenti-collector-alerts.service: Nice=10
    db = connect(path)
    n = 0
    while True:
        evaluate(db, now + timedelta(seconds=n))
        n += 1


def ingest_rate(path: Path, seconds: float) -> float:
    """Batches of 10 events stored per second through store_batch, for `seconds`."""
    from common import make_batches

    from collector.registry import add_kiosk, add_site, get_site
    from collector.store import store_batch
    from ressenti.protocol import decode_batch, utc_now

    db = connect(path)
    if get_site(db, "ingest-bench") is None:
        add_site(db, "ingest-bench", "Ingest bench")
        add_kiosk(db, "ingest-bench-1", "ingest-bench")
    site = get_site(db, "ingest-bench")
    assert site is not None
    payloads = [decode_batch(p) for p in make_batches("ingest-bench-1", "ingest-bench", 4000, 10)]
    stored, started = 0, time.perf_counter()
    while time.perf_counter() - started < seconds and stored < len(payloads):
        store_batch(db, payloads[stored], site=site, received_at=utc_now(), topic="bench")
        stored += 1
    rate = stored / (time.perf_counter() - started)
    db.close()
    return rate


def compare_ingest(path: Path, now: datetime, seconds: float) -> None:
    import subprocess

    rows = []
    for round_ in range(1, 4):
        alone = ingest_rate(path, seconds)
        loop = subprocess.Popen([sys.executable, __file__, "--db", str(path), "--evaluator-loop", format_ts(now)])
        time.sleep(1)  # its first pass under way
        try:
            beside = ingest_rate(path, seconds)
        finally:
            loop.terminate()
            loop.wait(10)
        rows.append((round_, f"{alone:.0f}", f"{beside:.0f}", f"{100 * (beside - alone) / alone:+.0f} %"))
    print(table(rows, ("round", "batches/s alone (baseline)", "batches/s beside passes", "change")))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sites", type=int, default=2000)
    parser.add_argument("--kiosks-per-site", type=int, default=10)
    parser.add_argument("--weeks", type=int, default=8)
    parser.add_argument("--per-hour", type=int, default=2)
    parser.add_argument("--passes", type=int, default=7)
    parser.add_argument("--db", type=Path, default=Path("/tmp/ressenti-bench-alerts.db"))
    parser.add_argument("--ingest", type=float, default=0, help="seconds per ingest measurement (0: none)")
    parser.add_argument("--evaluator-loop", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.evaluator_loop:
        evaluator_loop(args.db, datetime.fromisoformat(args.evaluator_loop))
        return
    # A recent Tuesday, 10:30 in Paris: every site is open.
    today = datetime.now(PARIS).date()
    tuesday = today - timedelta(days=(today.weekday() - 1) % 7 or 7)
    now = datetime(tuesday.year, tuesday.month, tuesday.day, 10, 30, tzinfo=PARIS).astimezone(UTC)
    shape = {"fixture": 2, "sites": args.sites, "kiosks": args.kiosks_per_site, "weeks": args.weeks,
             "per_hour": args.per_hour, "now": format_ts(now)}
    marker = args.db.with_name(args.db.name + ".shape")
    if not (args.db.exists() and marker.exists() and json.loads(marker.read_text()) == shape):
        for stale in (args.db, args.db.with_name(args.db.name + "-wal"), args.db.with_name(args.db.name + "-shm")):
            stale.unlink(missing_ok=True)
        started = time.perf_counter()
        build(args.db, args.sites, args.kiosks_per_site, args.weeks, args.per_hour, now)
        marker.write_text(json.dumps(shape))
        print(f"  built in {time.perf_counter() - started:.0f} s", file=sys.stderr)
    db = connect(args.db)
    for t in ("alert_comments", "alert_changes", "alert_watch", "alerts"):
        db.conn.execute(f"DELETE FROM {t}")
    events = db.conn.execute("SELECT COUNT(*) FROM events").fetchone()[0]
    hourly = db.conn.execute("SELECT COUNT(*) FROM rollup_hourly").fetchone()[0]
    rows = []
    timings = []
    for n in range(args.passes):
        started = time.perf_counter()
        result = evaluate(db, now + timedelta(seconds=n))
        timings.append((time.perf_counter() - started) * 1000)
        if n == 0:
            rows.append(("first pass (raises)", f"{timings[0]:.0f}", "", "", result.raised))
    steady = timings[1:]
    rows.append((f"steady pass x{len(steady)}", f"{percentile(steady, 50):.0f}", f"{max(steady):.0f}",
                 f"{min(steady):.0f}", result.changes))
    base = []
    for _ in range(3):
        started = time.perf_counter()
        fleet(db, with_gaps=False)
        base.append((time.perf_counter() - started) * 1000)
    rows.append(("baseline: fleet state of every kiosk", f"{percentile(base, 50):.0f}", f"{max(base):.0f}",
                 f"{min(base):.0f}", ""))
    kinds = dict(db.conn.execute("SELECT kind, COUNT(*) FROM alerts GROUP BY kind").fetchall())
    print(f"{args.sites} sites, {args.sites * args.kiosks_per_site} kiosks, {events:,} events, "
          f"{hourly:,} hourly rollup rows; alerts open: {kinds}")
    print(table(rows, ("what", "p50 ms", "max ms", "min ms", "changes")))
    db.close()
    if args.ingest:
        compare_ingest(args.db, now, args.ingest)


if __name__ == "__main__":
    main()

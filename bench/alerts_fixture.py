"""The alert evaluation benchmark's database: sites, kiosks, statuses, a year of presses and their rollups.

Built inside SQLite (no Python loop over events) and cached under /tmp in a
file named by its parameters, so a rerun with the same ones starts at once:

- `--sites` sites with opening hours (Mon-Fri 08:30-12:00, 13:30-17:30),
  `--kiosks-per-site` kiosks each with a status row (2 in 100 offline for an
  hour, 1 in 100 with an unsynchronised clock) and a stream;
- `--days` days of presses before the measured moment, in opening hours
  (about `--per-hour` an hour and site, half the sites twice that), inserted
  in time order and received 2 s after the press, as ingest would (rowids
  follow received_at), with no answer on the measured day yet (every open
  site is silent since its opening: the silence check's worst case);
- one site with a stuck button (300 presses in 40 minutes) and a hole in a
  stream, so every kind has something to raise;
- the hourly rollups (one GROUP BY: the SQL of rebuild_rollups for events
  without follow-ups) and the local ones (`rebuild_local`).

The events table's secondary indexes are dropped while it is filled and built
again after (a sort each, instead of ten million random inserts): the result
is the same file ingest would have produced, not the same history.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
import sys
import time
import uuid
from datetime import datetime, timedelta
from pathlib import Path

from collector.db import connect
from collector.local_rollups import rebuild_local
from ressenti.protocol import format_ts

HOURS = {d: "08:30-12:00,13:30-17:30" for d in ("mon", "tue", "wed", "thu", "fri")}
FIXTURE_VERSION = 3  # bump when the fixture's content changes

GENERATE = """
WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < :count - 1),
draw AS MATERIALIZED (
    SELECT i, i % :sites AS s, abs(random()) % 100 AS r,
           strftime('%Y-%m-%dT%H:%M:00.000Z', :start, '+' || (abs(random()) % :days) || ' days',
                    '+' || (7 + abs(random()) % 9) || ' hours', '+' || (abs(random()) % 60) || ' minutes') AS ts
    FROM n
)
INSERT INTO events (id, kiosk, epoch, seq, site, question, scale, rating, channel, flags, followup, lang, ts,
                    time_source, ts_kiosk, clock, boot, up_ms, received_at, hour, in_hours, late)
SELECT lower(hex(randomblob(16))), printf('k-%04d-0', s), 'bench', i + 1, printf('s-%04d', s), 'overall', 4,
       CASE WHEN r < 50 THEN 4 WHEN r < 80 THEN 3 WHEN r < 93 THEN 2 ELSE 1 END, 'button', '[]', NULL, 'fr', ts,
       'kiosk', ts, 'ntp', 'b', 1, strftime('%Y-%m-%dT%H:%M:%fZ', ts, '+2 seconds'), substr(ts, 1, 13), 1, 0
FROM draw WHERE (s % 2 = 0 OR r % 2 = 0) AND ts <= :cutoff ORDER BY ts
"""


def fixture_path(folder: Path, shape: dict) -> Path:
    """The cached file for these parameters (and the measured moment)."""
    key = hashlib.sha256(json.dumps({"version": FIXTURE_VERSION, **shape}, sort_keys=True).encode()).hexdigest()
    return folder / f"ressenti-bench-alerts-{shape['sites']}s-{shape['days']}d-{key[:12]}.db"


def ensure(path: Path, sites: int, per_site: int, days: int, per_hour: int, now: datetime) -> float:
    """Build the fixture at `path` unless it is there complete; return the build's seconds (0: cached)."""
    done = path.with_name(path.name + ".done")
    if path.exists() and done.exists():
        return 0.0
    for stale in (path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm"), done):
        stale.unlink(missing_ok=True)
    started = time.perf_counter()
    build(path, sites, per_site, days, per_hour, now)
    done.write_text("")
    return time.perf_counter() - started


def _step(what: str, started: float) -> None:
    print(f"  {what}: {time.perf_counter() - started:.0f} s", file=sys.stderr)


def build(path: Path, sites: int, per_site: int, days: int, per_hour: int, now: datetime) -> None:
    started = time.perf_counter()
    connect(path).close()  # the schema, through every migration
    conn = sqlite3.connect(path, isolation_level=None)
    # Building the fixture, not measuring ingest: no journal, no fsync, a big cache.
    for pragma in ("journal_mode=OFF", "synchronous=OFF", "cache_size=-3000000", "temp_store=MEMORY"):
        conn.execute(f"PRAGMA {pragma}")
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
    conn.executemany(
        "INSERT INTO kiosk_status (kiosk, site, state, received_at, clock, body) VALUES (?, ?, ?, ?, ?, '{}')",
        [(kiosk, site, "offline" if i % 50 == 7 else "online", received if i % 50 == 7 else seen,
          "unsynced" if i % 100 == 3 else "ntp") for i, (kiosk, site) in enumerate(kiosks)])
    conn.executemany("INSERT OR IGNORE INTO streams (kiosk, epoch, through, max_seq, first_seen, last_seen)"
                     " VALUES (?, 'bench', 0, 0, ?, ?)", [(k, received, received) for k, _ in kiosks])
    conn.execute("INSERT INTO streams (kiosk, epoch, through, max_seq, first_seen, last_seen)"
                 " VALUES ('k-0001-1', 'burst', 280, 310, ?, ?)", (received, received))
    conn.execute("COMMIT")
    indexes = conn.execute("SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name = 'events'"
                           " AND sql IS NOT NULL").fetchall()
    for name, _ in indexes:
        conn.execute(f"DROP INDEX {name}")
    start = (now - timedelta(days=days)).replace(hour=0, minute=0, second=0, microsecond=0)
    count = sites * days * 9 * per_hour * 5 // 7 * 4 // 3  # about per_hour in opening hours, some on weekends
    print(f"  generating about {count * 3 // 4:,} presses over {days} days", file=sys.stderr)
    conn.execute("BEGIN")
    conn.execute(GENERATE, {"count": count, "sites": sites, "days": days,
                            "start": start.strftime("%Y-%m-%d %H:%M:%S"),
                            "cutoff": format_ts(now.replace(hour=0, minute=0, second=0, microsecond=0))})
    _step("presses", started)
    # The stuck button: 300 presses in the last 40 minutes, received 2 s later.
    conn.executemany(
        "INSERT INTO events (id, kiosk, epoch, seq, site, question, scale, rating, channel, flags, followup, lang,"
        " ts, time_source, ts_kiosk, clock, boot, up_ms, received_at, hour, in_hours, late)"
        " VALUES (?, 'k-0001-1', 'burst', ?, 's-0001', 'overall', 4, 4, 'button', '[]', NULL, 'fr', ?, 'kiosk',"
        " NULL, 'ntp', 'b', 1, ?, substr(?, 1, 13), 1, 0)",
        [(str(uuid.uuid4()), seq, ts, format_ts(now - timedelta(seconds=8 * (300 - seq) - 2)), ts)
         for seq in range(1, 301) if (ts := format_ts(now - timedelta(seconds=8 * (300 - seq))))])
    conn.execute("COMMIT")
    for _, sql in indexes:
        conn.execute(sql)
    _step("events' indexes", started)
    conn.execute("BEGIN")
    conn.execute(
        "INSERT INTO rollup_hourly (site, hour, question, channel, scale, rating, in_hours, n_raw, n_filtered)"
        " SELECT site, hour, question, channel, scale, rating, in_hours, COUNT(*),"
        " SUM(CASE WHEN flags = '[]' THEN 1 ELSE 0 END) FROM events"
        " GROUP BY site, hour, question, channel, scale, rating, in_hours")
    conn.execute("COMMIT")
    _step("hourly rollups", started)
    conn.close()
    db = connect(path)
    for pragma in ("synchronous=OFF", "cache_size=-3000000", "temp_store=MEMORY"):
        db.conn.execute(f"PRAGMA {pragma}")
    db.conn.execute("BEGIN")
    rebuild_local(db)
    db.conn.execute("COMMIT")
    _step("local rollups", started)
    db.conn.execute("ANALYZE")
    db.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    db.close()
    _step("analyzed", started)

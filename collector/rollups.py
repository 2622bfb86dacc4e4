"""Hourly rollups: added to in the ingest transaction, and rebuildable from raw events.

Two tables: `rollup_hourly` (ratings) and `rollup_followup` (follow-up
answers). Every figure reads them, never raw events, so retention can delete
events and keep the figures (issue 5). `rebuild_rollups` recomputes them from
the events table; a test proves that the rebuild equals what ingest
maintained live.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable

from sqlite_utils import Database

RollupKey = tuple[str, str, str, str, int, int, int]  # site, hour, question, channel, scale, rating, in_hours
# site, hour, question, channel, follow-up question, choice, in_hours
FollowupKey = tuple[str, str, str, str, str, str, int]

ROLLUP_TABLES = ("rollup_hourly", "rollup_followup")


def add_to_rollups(db: Database, raw: Counter[RollupKey], filtered: Counter[RollupKey]) -> None:
    """Add event counts (every press, and unflagged presses) to the hourly rollups."""
    db.conn.executemany(
        "INSERT INTO rollup_hourly (site, hour, question, channel, scale, rating, in_hours, n_raw, n_filtered)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"
        " ON CONFLICT (site, hour, question, channel, scale, rating, in_hours) DO UPDATE SET"
        " n_raw = n_raw + excluded.n_raw, n_filtered = n_filtered + excluded.n_filtered",
        [(*key, n, filtered.get(key, 0)) for key, n in raw.items()])


def add_followups_to_rollups(db: Database, raw: Counter[FollowupKey], filtered: Counter[FollowupKey]) -> None:
    """Add follow-up answers (every press, and unflagged presses) to their hourly rollup."""
    db.conn.executemany(
        "INSERT INTO rollup_followup (site, hour, question, channel, followup_question, choice, in_hours,"
        " n_raw, n_filtered) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"
        " ON CONFLICT (site, hour, question, channel, followup_question, choice, in_hours) DO UPDATE SET"
        " n_raw = n_raw + excluded.n_raw, n_filtered = n_filtered + excluded.n_filtered",
        [(*key, n, filtered.get(key, 0)) for key, n in raw.items()])


def rebuild_rollups(db: Database, sites: Iterable[str] | None = None, *, hours: Iterable[str] | None = None,
                    in_transaction: bool = False) -> int:
    """Recompute rollups from raw events; return rollup rows written.

    With `hours`, exactly those hour buckets of these sites are recomputed
    (an hour left with no events ends with no rollup). Without, each site's
    hours from its oldest raw event on: raw events past the retention period
    are gone, and the rollups of those older hours are kept as they are.
    """
    conn = db.conn
    if not in_transaction:
        conn.execute("BEGIN IMMEDIATE")
    try:
        site_list = list(sites) if sites is not None else [r[0] for r in conn.execute("SELECT id FROM sites")]
        hour_list = sorted(set(hours)) if hours is not None else None
        written = 0
        for site in site_list:
            if hour_list is None:
                oldest = conn.execute("SELECT MIN(hour) FROM events WHERE site = ?", (site,)).fetchone()[0]
                if oldest is None:
                    continue
                where, params = "site = ? AND hour >= ?", [site, oldest]
            else:
                where = f"site = ? AND hour IN ({','.join('?' * len(hour_list))})"
                params = [site, *hour_list]
            conn.execute(f"DELETE FROM rollup_hourly WHERE {where}", params)
            written += conn.execute(
                "INSERT INTO rollup_hourly (site, hour, question, channel, scale, rating, in_hours, n_raw, n_filtered)"
                " SELECT site, hour, question, channel, scale, rating, in_hours, COUNT(*),"
                " SUM(CASE WHEN flags = '[]' THEN 1 ELSE 0 END)"
                f" FROM events WHERE {where} GROUP BY site, hour, question, channel, scale, rating, in_hours",
                params).rowcount
            conn.execute(f"DELETE FROM rollup_followup WHERE {where}", params)
            written += conn.execute(
                "INSERT INTO rollup_followup (site, hour, question, channel, followup_question, choice, in_hours,"
                " n_raw, n_filtered)"
                " SELECT site, hour, question, channel, json_extract(followup, '$.question') AS followup_question,"
                " json_extract(followup, '$.choice') AS choice, in_hours, COUNT(*),"
                " SUM(CASE WHEN flags = '[]' THEN 1 ELSE 0 END)"
                f" FROM events WHERE {where} AND followup IS NOT NULL"
                " GROUP BY site, hour, question, channel, followup_question, choice, in_hours",
                params).rowcount
        if not in_transaction:
            conn.execute("COMMIT")
    except BaseException:
        if not in_transaction:
            conn.execute("ROLLBACK")
        raise
    return written


def rollup_rows(db: Database) -> dict[str, list[tuple]]:
    """Every row of every rollup table, sorted, for comparisons."""
    return {table: sorted(tuple(r) for r in db.conn.execute(f"SELECT * FROM {table}")) for table in ROLLUP_TABLES}

"""Rollups: added to in the ingest transaction, and rebuildable from raw events.

Two hourly tables, `rollup_hourly` (ratings) and `rollup_followup` (follow-up
answers), and their sums per local day, week, month and year
(`collector/local_rollups.py`). Every figure reads them, never raw events, so
retention can delete events and keep the figures (issue 5).
`rebuild_rollups` recomputes them from the events table; a test proves that
the rebuild equals what ingest maintained live.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field

from sqlite_utils import Database

from collector.local_rollups import (
    FAMILIES,
    FOLLOWUPS,
    HEAT,
    RATINGS,
    add_local,
    local_hour,
    rebuild_local,
    site_zones,
    upsert_counts,
)

RollupKey = tuple[str, str, str, str, int, int, int]  # site, hour, question, channel, scale, rating, in_hours
# site, hour, question, channel, follow-up question, choice, in_hours
FollowupKey = tuple[str, str, str, str, str, str, int]

ROLLUP_TABLES = ("rollup_hourly", "rollup_followup", *(family.table for family in FAMILIES))


HOURLY_KEY = ("site", "hour", "question", "channel", "scale", "rating", "in_hours")
FOLLOWUP_HOURLY_KEY = ("site", "hour", "question", "channel", "followup_question", "choice", "in_hours")


@dataclass
class RollupCounts:
    """Counts waiting to be added to the rollups, so a caller can add several batches' at once.

    The ingest worker stores up to 128 messages in one transaction and adds
    their counts once, before the commit (collector/store.py, BatchWriter):
    rollups are upserted into several tables.
    """

    raw: Counter[RollupKey] = field(default_factory=Counter)
    filtered: Counter[RollupKey] = field(default_factory=Counter)
    followups_raw: Counter[FollowupKey] = field(default_factory=Counter)
    followups_filtered: Counter[FollowupKey] = field(default_factory=Counter)

    def write(self, db: Database) -> None:
        """Add the counts to the hourly rollups and their local spans (inside the caller's transaction)."""
        if not self.raw and not self.followups_raw:
            return
        zones = site_zones(db, {key[0] for key in self.raw} | {key[0] for key in self.followups_raw})
        if self.raw:
            upsert_counts(db, "rollup_hourly", HOURLY_KEY, self.raw, self.filtered)
            add_local(db, RATINGS, self.raw, self.filtered, zones)
            add_local(db, HEAT, self.raw, self.filtered, zones)
        if self.followups_raw:
            upsert_counts(db, "rollup_followup", FOLLOWUP_HOURLY_KEY, self.followups_raw, self.followups_filtered)
            add_local(db, FOLLOWUPS, self.followups_raw, self.followups_filtered, zones)


def rebuild_rollups(db: Database, sites: Iterable[str] | None = None, *, hours: Iterable[str] | None = None,
                    in_transaction: bool = False) -> int:
    """Recompute rollups from raw events; return hourly rollup rows written.

    With `hours`, exactly those hour buckets of these sites are recomputed
    (an hour left with no events ends with no rollup). Without, each site's
    hours from its oldest raw event on: raw events past the retention period
    are gone, and the rollups of those older hours are kept as they are.
    The local spans are then summed again from the hourly rollups: those
    overlapping `hours`, or all of the site's.
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
                if oldest is None:  # every event purged: the hourly rollups stay, the spans are summed again
                    rebuild_local(db, [site])
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
            _rebuild_local_spans(db, site, hour_list)
        if not in_transaction:
            conn.execute("COMMIT")
    except BaseException:
        if not in_transaction:
            conn.execute("ROLLBACK")
        raise
    return written


def _rebuild_local_spans(db: Database, site: str, hours: list[str] | None) -> None:
    if hours is None:
        rebuild_local(db, [site])
        return
    tz = db.conn.execute("SELECT tz FROM sites WHERE id = ?", (site,)).fetchone()
    if tz is not None and hours:
        days = sorted({local_hour(tz[0], hour).day for hour in hours})
        rebuild_local(db, [site], days=(days[0], days[-1]))


def rollup_rows(db: Database) -> dict[str, list[tuple]]:
    """Every row of every rollup table, sorted, for comparisons."""
    return {table: sorted(tuple(r) for r in db.conn.execute(f"SELECT * FROM {table}")) for table in ROLLUP_TABLES}

"""Follow-up reasons ("what went wrong?") for a scope and period: over time, and per face.

Totals come from `collector.reports.followup_answers`. Over time is read from
the follow-up rollups, like every other figure, so it survives retention. Per
face is read from the raw events, the only place that keeps which face came
with which reason: it covers the events still kept (`collector/retention.py`,
400 days by default), and says so.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date
from typing import Any

from sqlite_utils import Database

from collector.periods import Span
from collector.queries import day_range_utc
from collector.registry import Site
from collector.report_cells import cells_for

Reason = tuple[str, str]  # (follow-up question, choice)


def _zones(sites: list[Site]) -> list[list[Site]]:
    zones: dict[str, list[Site]] = defaultdict(list)
    for site in sites:
        zones[site.tz].append(site)
    return list(zones.values())


def reasons_over_time(db: Database, sites: list[Site], start: date, end: date, unit: Span, *,
                      hours: str = "all", counts: str = "filtered", hourly: bool = False,
                      question: str | None = None) -> dict[tuple[date, Reason], int]:
    """(bucket's first day, reason) -> answers, buckets as the dashboard's bars (`periods.bucket_unit`).

    `hourly` reads the hourly rollups only: the reference the local spans are tested against.
    """
    out: dict[tuple[date, Reason], int] = defaultdict(int)
    for zone_sites in _zones(sites):
        for bucket, asked, choice, in_hours, n_raw, n_filtered in cells_for(
                db, zone_sites, start, end, hourly=hourly, question=question).followup_buckets(unit):
            if n_raw and (in_hours or hours != "open"):
                out[(bucket, (asked, choice))] += n_filtered if counts == "filtered" else n_raw
    return {key: n for key, n in out.items() if n}


def reasons_by_face(db: Database, sites: list[Site], start: date, end: date, *, hours: str = "all",
                    counts: str = "filtered", question: str | None = None) -> dict[tuple[int, int, Reason], int]:
    """(scale, rating, reason) -> answers, from the events still kept."""
    out: dict[tuple[int, int, Reason], int] = defaultdict(int)
    flagged_out = " AND flags = '[]'" if counts == "filtered" else ""
    open_only = " AND in_hours = 1" if hours == "open" else ""
    one_question = (" AND question = ?", [question]) if question is not None else ("", [])
    for site in sites:
        lo, hi = day_range_utc(site, start, end)  # hour buckets: a prefix of the events' ISO stamps
        for scale, rating, question, choice, n in db.conn.execute(
            "SELECT scale, rating, json_extract(followup, '$.question'), json_extract(followup, '$.choice'),"
            " COUNT(*) FROM events WHERE site = ? AND ts >= ? AND ts < ? AND followup IS NOT NULL"
            f"{flagged_out}{open_only}{one_question[0]} GROUP BY 1, 2, 3, 4", [site.id, lo, hi, *one_question[1]]):
            if question is not None and choice is not None:
                out[(scale, rating, (str(question), str(choice)))] += n
    return dict(out)


def questions_of(db: Database, site: Site) -> list[str]:
    """The questions a site's answers were given to, from its yearly rollups (a few rows)."""
    return [r[0] for r in db.conn.execute(
        "SELECT DISTINCT question FROM rollup_local WHERE site = ? AND span = 'year' ORDER BY question", (site.id,))]


def oldest_kept_event(db: Database, sites: list[Site]) -> str | None:
    """The stamp of the oldest raw event kept for these sites (what the per-face figures can cover)."""
    # One MIN per site: each is a single step of the (site, ts) index.
    stamps = [db.conn.execute("SELECT MIN(ts) FROM events WHERE site = ?", (s.id,)).fetchone()[0] for s in sites]
    kept = [stamp for stamp in stamps if stamp]
    return min(kept) if kept else None


def by_reason(table: dict[Any, int]) -> dict[Reason, int]:
    totals: dict[Reason, int] = defaultdict(int)
    for key, n in table.items():
        totals[key[-1]] += n
    return dict(totals)

"""Rollups by the site's local day, week, month and year, summed from the hourly ones.

A year of hourly rollups for 200 sites is 2.5 million rows, and the dashboard
summed them all for each view (26 s measured, docs/benchmarks.md). These
tables hold the same counts per local span, so a year is a few rows per site
(`collector/periods.py` says which). Three families:

- `rollup_local`: `rollup_hourly` per day, week, month and year;
- `rollup_heat`: `rollup_hourly` per local weekday and hour, per day, month and
  year (the dashboard's hours x weekdays grid);
- `rollup_followup_local`: `rollup_followup` per day, month and year.

A UTC hour bucket belongs to the local day (and hour) in which it starts. In a
zone whose offsets are whole hours (all of metropolitan and overseas France)
that is exact, so these tables sum to what the hourly rollups give; reports
check `whole_hour_offsets` and read the hourly rollups otherwise.

They are added to in the ingest transaction (`add_local`, from the hourly
counts) and rebuilt from the hourly rollups (`rebuild_local`), never from raw
events, so retention changes nothing. A site's time zone change rebuilds its
rows (`collector/registry.py`).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from functools import lru_cache
from typing import Any
from zoneinfo import ZoneInfo

from sqlite_utils import Database

from collector.engine import is_postgres
from collector.periods import DAY_STEP, Piece, Span, span_end, span_start

RATING_DIMS = ("question", "channel", "scale", "rating", "in_hours")
FOLLOWUP_DIMS = ("question", "channel", "followup_question", "choice", "in_hours")
CLOCK = ("weekday", "local_hour")
SPAN_ORDER = {span: i for i, span in enumerate(Span)}


@dataclass(frozen=True)
class Family:
    """A table of local rollups: the hourly table it sums, the dimensions it keeps, its spans."""

    source: str
    table: str
    source_dims: tuple[str, ...]  # the hourly table's key after (site, hour)
    dims: tuple[str, ...]  # the ones kept, in the same order
    spans: tuple[Span, ...]
    clock: bool = False  # also keyed by the local weekday and hour
    # Columns of the `{table}_by_cell` index (span, start, *cell, site, ...), if it has one: many
    # sites' rows of one span come in cell order, so SQLite sums them without sorting.
    cell: tuple[str, ...] = ()

    @property
    def key(self) -> tuple[str, ...]:
        return ("site", "span", "start", *(CLOCK if self.clock else ()), *self.dims)

    @property
    def picks(self) -> tuple[int, ...]:
        return tuple(self.source_dims.index(d) for d in self.dims)


RATINGS = Family("rollup_hourly", "rollup_local", RATING_DIMS, RATING_DIMS,
                 (Span.DAY, Span.WEEK, Span.MONTH, Span.YEAR), cell=("scale", "rating", "in_hours"))
HEAT = Family("rollup_hourly", "rollup_heat", RATING_DIMS, ("scale", "rating", "in_hours"),
              (Span.DAY, Span.MONTH, Span.YEAR), clock=True,
              cell=("weekday", "local_hour", "scale", "rating", "in_hours"))
FOLLOWUPS = Family("rollup_followup", "rollup_followup_local", FOLLOWUP_DIMS, FOLLOWUP_DIMS,
                   (Span.DAY, Span.MONTH, Span.YEAR))
FAMILIES = (RATINGS, HEAT, FOLLOWUPS)


@dataclass(frozen=True)
class LocalHour:
    """Where a UTC hour bucket falls in a zone."""

    day: date
    weekday: int
    hour: int

    def start(self, span: Span) -> str:
        return _span_starts(self.day)[SPAN_ORDER[span]]


@lru_cache(maxsize=100_000)
def local_hour(tz: str, bucket: str) -> LocalHour:
    """The local day, weekday and hour in which the UTC hour bucket `YYYY-MM-DDTHH` starts."""
    local = datetime.strptime(bucket, "%Y-%m-%dT%H").replace(tzinfo=UTC).astimezone(ZoneInfo(tz))
    return LocalHour(local.date(), local.weekday(), local.hour)


@lru_cache(maxsize=1024)
def whole_hour_offsets(tz: str, first: date, last: date) -> bool:
    """Is the zone's UTC offset a whole number of hours all through first..last (give or take a day)?"""
    zone = ZoneInfo(tz)
    moment = datetime.combine(first - DAY_STEP, datetime.min.time(), UTC)
    end = datetime.combine(last + 2 * DAY_STEP, datetime.min.time(), UTC)
    while moment < end:
        offset = moment.astimezone(zone).utcoffset()
        if offset is None or offset.total_seconds() % 3600:
            return False
        moment += timedelta(hours=6)
    return True


def site_zones(db: Database, site_ids: Iterable[str]) -> dict[str, str]:
    """Site id -> time zone, for the sites given."""
    ids = sorted(set(site_ids))
    return dict(db.conn.execute(f"SELECT id, tz FROM sites WHERE id IN ({','.join('?' * len(ids))})", ids))


def upsert_counts(db: Database, table: str, key: Sequence[str], raw: Counter[tuple[Any, ...]],
                  filtered: Counter[tuple[Any, ...]]) -> None:
    """Add (key..., n_raw, n_filtered) counts to what the table holds."""
    columns = ", ".join(key)
    db.conn.executemany(
        f"INSERT INTO {table} ({columns}, n_raw, n_filtered) VALUES ({', '.join('?' * (len(key) + 2))})"
        f" ON CONFLICT ({columns}) DO UPDATE SET"
        f" n_raw = {table}.n_raw + excluded.n_raw, n_filtered = {table}.n_filtered + excluded.n_filtered",
        # In key order: two ingest processes on PostgreSQL then lock shared rows in the same order (no deadlock).
        [(*k, n, filtered.get(k, 0)) for k, n in sorted(raw.items(), key=lambda item: repr(item[0]))])


def add_local(db: Database, family: Family, raw: Counter[tuple[Any, ...]], filtered: Counter[tuple[Any, ...]],
              zones: dict[str, str] | None = None) -> None:
    """Add hourly counts (keys: site, hour, *source_dims) to the family's local spans.

    `zones` (site -> time zone) saves the lookup when the caller has it.
    """
    if zones is None:
        zones = site_zones(db, (key[0] for key in raw))
    local_raw: Counter[tuple[Any, ...]] = Counter()
    local_filtered: Counter[tuple[Any, ...]] = Counter()
    picks = family.picks
    for key, n in raw.items():
        site, bucket, *rest = key
        tz = zones.get(site)
        if tz is None:  # rollups of a site the registry does not know: nothing to place them by
            continue
        where = local_hour(tz, bucket)
        clock = (where.weekday, where.hour) if family.clock else ()
        kept = tuple(rest[i] for i in picks)
        f = filtered.get(key, 0)
        for span in family.spans:
            local_key = (site, span.value, where.start(span), *clock, *kept)
            local_raw[local_key] += n
            local_filtered[local_key] += f
    if local_raw:
        upsert_counts(db, family.table, family.key, local_raw, local_filtered)


# -- rebuilding from the hourly rollups ---------------------------------------------


def rebuild_local(db: Database, site_ids: Iterable[str] | None = None, *, days: tuple[date, date] | None = None,
                  families: Sequence[Family] = FAMILIES) -> int:
    """Recompute local rollups from the hourly ones, in the caller's transaction; return rows written.

    With `days` (first, last local day), exactly the spans that overlap those
    days; without, every row of these sites (all sites by default).
    """
    conn = db.conn
    if site_ids is None:
        site_ids = [r[0] for r in conn.execute("SELECT id FROM sites")]
    written = 0
    for site, tz in sorted(site_zones(db, site_ids).items()):
        ranges: dict[Family, tuple[date, date]] = {}
        for family in families:
            if days is not None:
                ranges[family] = days
                continue
            conn.execute(f"DELETE FROM {family.table} WHERE site = ?", (site,))
            lo, hi = conn.execute(f"SELECT MIN(hour), MAX(hour) FROM {family.source} WHERE site = ?",
                                  (site,)).fetchone()
            if lo is not None:
                ranges[family] = (local_hour(tz, lo).day, local_hour(tz, hi).day)
        spans = {family: {span: (span_start(span, first), span_start(span, last)) for span in family.spans}
                 for family, (first, last) in ranges.items()}
        if not spans:
            continue
        hours = _fill_clock(db, tz, site, list(spans),
                            min(lo for each in spans.values() for lo, _ in each.values()),
                            max(span_end(span, hi) for each in spans.values() for span, (_, hi) in each.items()))
        for family, family_spans in spans.items():
            written += _rebuild_spans(db, family, site, family_spans, hours)
    return written


def _rebuild_spans(db: Database, family: Family, site: str, spans: dict[Span, tuple[date, date]],
                   hours: tuple[str, str]) -> int:
    """Recompute the family's spans of each kind that start between the two dates given for it."""
    conn = db.conn
    clock = [f"m.{c}" for c in CLOCK] if family.clock else []
    dims = [f"r.{d}" for d in family.dims]
    written = 0
    for span, (lo, hi) in spans.items():
        conn.execute(f"DELETE FROM {family.table} WHERE site = ? AND span = ? AND start BETWEEN ? AND ?",
                     (site, span.value, lo.isoformat(), hi.isoformat()))
        group = ", ".join([f"m.{span.value}", *clock, *dims])
        written += conn.execute(
            f"INSERT INTO {family.table} ({', '.join(family.key)}, n_raw, n_filtered)"
            f" SELECT r.site, ?, {group}, SUM(r.n_raw), SUM(r.n_filtered)"
            f" FROM {family.source} r JOIN temp.local_clock m ON m.hour = r.hour"
            f" WHERE r.site = ? AND r.hour >= ? AND r.hour < ? AND m.{span.value} BETWEEN ? AND ?"
            f" GROUP BY r.site, {group}",
            (span.value, site, *hours, lo.isoformat(), hi.isoformat())).rowcount
    return written


def _fill_clock(db: Database, tz: str, site: str, families: list[Family], first: date, last: date
                ) -> tuple[str, str]:
    """temp.local_clock: the site's hours with rollups in local days first..last, placed locally; the bounds."""
    zone = ZoneInfo(tz)
    lo = datetime.combine(first, datetime.min.time(), zone).astimezone(UTC).isoformat()[:13]
    hi = datetime.combine(last + DAY_STEP, datetime.min.time(), zone).astimezone(UTC).isoformat()[:13]
    sources = sorted({family.source for family in families})
    hours = sorted({r[0] for source in sources for r in db.conn.execute(
        f"SELECT DISTINCT hour FROM {source} WHERE site = ? AND hour >= ? AND hour < ?", (site, lo, hi))})
    rows = []
    for bucket in hours:
        where = local_hour(tz, bucket)
        rows.append((bucket, *_span_starts(where.day), where.weekday, where.hour))
    fill_temp(db, "local_clock", "hour TEXT PRIMARY KEY, day TEXT, week TEXT, month TEXT, year TEXT,"
              " weekday INTEGER, local_hour INTEGER", rows)
    return lo, hi


@lru_cache(maxsize=10_000)
def _span_starts(day: date) -> tuple[str, ...]:
    """The first day of the day's span of each kind, in `Span` order (day, week, month, year)."""
    return tuple(span_start(span, day).isoformat() for span in Span)


def fill_temp(db: Database, name: str, columns: str, rows: list[tuple[Any, ...]]) -> None:
    """(Re)fill a connection-private scratch table; in memory, never worth a disk write."""
    conn = db.conn
    own = not conn.in_transaction
    # SQLite refuses this pragma inside a transaction (migrations, rebuilds: a file then); PostgreSQL has none.
    if own and not is_postgres(db):
        conn.execute("PRAGMA temp_store = MEMORY")
    conn.execute(f"CREATE TEMP TABLE IF NOT EXISTS {name} ({columns})")
    if own:
        conn.execute("BEGIN")
    try:
        conn.execute(f"DELETE FROM temp.{name}")
        if rows:
            conn.executemany(f"INSERT INTO temp.{name} VALUES ({', '.join('?' * len(rows[0]))})", rows)
    finally:
        if own:
            conn.execute("COMMIT")


# -- reading ------------------------------------------------------------------------------


def fill_scope(db: Database, site_ids: Sequence[str]) -> None:
    """temp.scope: the sites a report is about, to join on (see `read_local`)."""
    fill_temp(db, "scope", "id TEXT PRIMARY KEY", [(site,) for site in site_ids])


def read_local(db: Database, family: Family, site_ids: Sequence[str], pieces: Sequence[tuple[str, Piece]],
               group: Sequence[str], where: str = "", *, many_sites: bool = False) -> list[tuple[Any, ...]]:
    """(label, *group, n_raw, n_filtered) summed over the labelled, signed pieces, for these sites.

    Sums can be 0 where a subtracted piece took away all there was: callers
    skip cells with no raw count, as if no row had been there. `many_sites`
    (a large share of the database's sites) reads each piece through the
    family's cell index when `group` is a prefix of its cell: every site's
    rows of the piece, in cell order, summed without a sort.
    """
    if not pieces or not site_ids:
        return []
    fill_scope(db, site_ids)
    fill_temp(db, "pieces", "n INTEGER, label TEXT, span TEXT, start TEXT, sign INTEGER",
              [(n, label, span.value, start.isoformat(), sign)
               for n, (label, (sign, span, start)) in enumerate(pieces)])
    columns = ", ".join(f"l.{c}" for c in group)
    if many_sites and family.cell and tuple(group) == family.cell[:len(group)]:
        sums: dict[tuple[Any, ...], list[int]] = {}
        for label, sign, *key, n_raw, n_filtered in db.conn.execute(
            f"SELECT p.label, p.sign, {columns}, SUM(l.n_raw), SUM(l.n_filtered)"
            f" FROM temp.pieces p CROSS JOIN {family.table} l INDEXED BY {family.table}_by_cell"
            f" WHERE l.span = p.span AND l.start = p.start AND l.site IN (SELECT id FROM temp.scope){where}"
            f" GROUP BY p.n, p.label, p.sign, {columns}"):
            cell = sums.setdefault((label, *key), [0, 0])
            cell[0] += sign * n_raw
            cell[1] += sign * n_filtered
        return [(*key, n_raw, n_filtered) for key, (n_raw, n_filtered) in sums.items()]
    # CROSS JOIN fixes the order: each (site, piece) is one primary-key range of the table. Left
    # free, the planner may build an automatic index over the whole table instead (measured: 27 s).
    return db.conn.execute(
        f"SELECT p.label, {columns}, SUM(p.sign * l.n_raw), SUM(p.sign * l.n_filtered)"
        f" FROM temp.scope s CROSS JOIN temp.pieces p CROSS JOIN {family.table} l"
        f" WHERE l.site = s.id AND l.span = p.span AND l.start = p.start{where}"
        f" GROUP BY p.label, {columns}").fetchall()

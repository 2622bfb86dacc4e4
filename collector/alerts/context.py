"""What every alert check shares: the pass's context, recent-window counts, kiosk statuses, links.

The checks only read, with short statements (autocommit mode: each is its own
read transaction), so ingest is never held up. Recent windows (15 min, one hour)
are read from the events table through its (site, ts) index: retention never
removes events that recent, and the hourly rollups are too coarse for them.
"""

from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from sqlite_utils import Database

from collector.alerts.rules import Kind
from collector.alerts.store import Effective, Finding
from collector.fleet import STALE_AFTER
from collector.registry import Site
from ressenti.protocol import format_ts

OpenAlerts = dict[tuple[str, str, str], dict[str, Any]]


@dataclass
class Context:
    """One pass: the database, the moment judged, the sites and the alerts open before the pass."""

    db: Database
    now: datetime
    sites: dict[str, Site]
    open: OpenAlerts
    # Conditions that cannot be judged now (a kiosk with no recent status): their alert stays as it is.
    unknown: set[tuple[str, str, str]] = field(default_factory=set)
    # Counters to store with the pass's decisions: (kind, kiosk) -> (value, when it last grew).
    counters: dict[tuple[str, str], tuple[int, str | None]] = field(default_factory=dict)
    _not_fresh: list[dict[str, Any]] | None = None

    def not_fresh(self, site_ids: set[str]) -> list[dict[str, Any]]:
        """Kiosks without a fresh status (read once per pass: offline and clock checks both need them)."""
        if self._not_fresh is None:
            self._not_fresh = status_rows(self, set(self.sites), fresh=False)
        return [row for row in self._not_fresh if row["site"] in site_ids]

    def finding(self, kind: Kind, site: Site, rule: Effective, figures: dict[str, Any], fr: str, en: str,
                link: str, kiosk: str | None = None) -> Finding:
        return Finding(kind, site.id, site.org, kiosk, rule.rule_id, figures, fr, en, link)


def pct(x: float) -> int:
    return round(100 * x)


def local_time(site: Site, moment: datetime) -> str:
    return moment.astimezone(site.zone).strftime("%H:%M")


def dashboard_link(site: Site, now: datetime, first: date | None = None) -> str:
    """The dashboard of the site from `first` (default: today, local) to today."""
    day = now.astimezone(site.zone).date()
    return f"/dashboard?scope=site:{site.id}&from={(first or day).isoformat()}&to={day.isoformat()}"


def window_counts(db: Database, site_ids: list[str], since: datetime, now: datetime, *,
                   filtered: bool) -> dict[str, list[tuple[int, int, int]]]:
    """Site -> [(scale, rating, presses)] of events dated in (since, now]."""
    out: dict[str, list[tuple[int, int, int]]] = defaultdict(list)
    if not site_ids:
        return out
    only = " AND flags = '[]'" if filtered else ""
    for site, scale, rating, n in db.conn.execute(
            "SELECT site, scale, rating, COUNT(*) FROM events WHERE site IN (SELECT value FROM json_each(?))"
            f" AND ts > ? AND ts <= ?{only} GROUP BY site, scale, rating",
            (json.dumps(site_ids), format_ts(since), format_ts(now))):
        out[site].append((scale, rating, n))
    return out


def by_param(rules: dict[str, Effective], name: str) -> dict[int, list[str]]:
    groups: dict[int, list[str]] = defaultdict(list)
    for site_id, rule in rules.items():
        groups[rule.params[name]].append(site_id)
    return groups



def status_rows(ctx: Context, site_ids: set[str], *, fresh: bool, unsynced: bool = False) -> list[dict[str, Any]]:
    """Active kiosks (not HTTP sources, not retired) of these sites whose last status is fresh (an online
    heartbeat of the last 3 minutes: `collector/fleet.py`), or not; with `unsynced`, only unsynced clocks."""
    cutoff = format_ts(ctx.now - STALE_AFTER)
    where = "s.state = 'online' AND s.received_at >= ?" if fresh else "NOT (s.state = 'online' AND s.received_at >= ?)"
    if unsynced:
        where += " AND s.clock IS NOT NULL AND s.clock NOT IN ('ntp', 'rtc')"
    cursor = ctx.db.conn.execute(
        "SELECT k.id, k.site, k.name, s.state, s.received_at, s.clock FROM kiosks k"
        f" JOIN kiosk_status s ON s.kiosk = k.id WHERE k.channel IS NULL AND k.retired IS NULL AND {where}", (cutoff,))
    names = ("kiosk", "site", "name", "state", "received_at", "clock")
    return [dict(zip(names, row, strict=True)) for row in cursor if row[1] in site_ids]



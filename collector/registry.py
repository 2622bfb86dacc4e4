"""Organisations, sites and producers (kiosks and HTTP sources): who a rating belongs to.

A site has a time zone, a scale and optional opening hours. A producer is a
kiosk (its events say button or touch) or an HTTP source whose channel (web,
phone) the collector imposes on its events.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from datetime import datetime, time
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlite_utils import Database

from collector.db import write_transaction
from collector.local_rollups import rebuild_local
from ressenti.errors import RessentiError
from ressenti.protocol import SCALES, Input, format_ts, is_slug, utc_now

UNASSIGNED = "unassigned"  # where unknown kiosks land under the "unassigned" policy
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
SOURCE_CHANNELS = (Input.WEB.value, Input.PHONE.value)
_RANGE_RE = re.compile(r"^(\d{2}):(\d{2})-(\d{2}):(\d{2})$")
# What people type in France: 8h30-12h, 8h30 – 12h00, 14h-17h30, 08:30-12:00, 9 h - 12 h.
_FRENCH_RANGE_RE = re.compile(r"^(\d{1,2})\s*(?:[h:]\s*(\d{2})?)?\s*(?:-|–|—|à)\s*(\d{1,2})\s*(?:[h:]\s*(\d{2})?)?$",
                              re.IGNORECASE)
MAX_NAME_CHARS = 120


class RegistryError(RessentiError, ValueError):
    """A registry change was refused; the message says why."""


OpeningHours = dict[str, list[tuple[time, time]]]


def normalize_ranges(text: str) -> str:
    """'8h30 – 12h, 14h-17h30' -> '08:30-12:00,14:00-17:30'; RegistryError if a part is not a time range."""
    out = []
    for part in str(text).replace(";", ",").split(","):
        if not part.strip():
            continue
        match = _FRENCH_RANGE_RE.match(part.strip())
        if not match:
            raise RegistryError(f"{part.strip()[:40]!r} is not a time range such as 08:30-12:00 or 8h30-12h")
        h1, m1, h2, m2 = (int(g) if g else 0 for g in match.groups())
        out.append(f"{h1:02d}:{m1:02d}-{h2:02d}:{m2:02d}")
    return ",".join(out)


def normalize_opening_hours(spec: Any) -> dict[str, str] | None:
    """Opening hours as stored: each day's ranges written HH:MM-HH:MM, checked (`parse_opening_hours`)."""
    if spec is None:
        return None
    if not isinstance(spec, dict) or set(spec) - set(WEEKDAYS) or not all(isinstance(v, str) for v in spec.values()):
        raise RegistryError(f"opening hours must map {', '.join(WEEKDAYS)} to 'HH:MM-HH:MM,...'")
    out = {}
    for day, ranges in spec.items():
        try:
            out[day] = normalize_ranges(ranges)
        except RegistryError as exc:
            raise RegistryError(f"opening hours {day}: {exc}") from None
    parse_opening_hours(out)
    return out


def parse_opening_hours(spec: dict[str, str] | None) -> OpeningHours | None:
    """{"mon": "08:30-12:00,13:30-17:00", ...}; a day left out is closed; None = always open."""
    if spec is None:
        return None
    if not isinstance(spec, dict) or set(spec) - set(WEEKDAYS):
        raise RegistryError(f"opening hours must map {', '.join(WEEKDAYS)} to 'HH:MM-HH:MM,...'")
    hours: OpeningHours = {}
    for day, ranges in spec.items():
        hours[day] = []
        for part in str(ranges).split(","):
            if not part.strip():
                continue  # an empty day is closed
            match = _RANGE_RE.match(part.strip())
            if not match:
                raise RegistryError(f"opening hours {day}: {part!r} is not HH:MM-HH:MM")
            h1, m1, h2, m2 = map(int, match.groups())
            if not (h1 < 24 and h2 <= 24 and m1 < 60 and m2 < 60):
                raise RegistryError(f"opening hours {day}: {part!r} is not a time of day")
            start, end = time(h1, m1), time(23, 59, 59, 999999) if h2 == 24 else time(h2, m2)
            if end <= start:
                raise RegistryError(f"opening hours {day}: {part!r} ends before it starts")
            hours[day].append((start, end))
    return hours


@dataclass(frozen=True)
class Site:
    id: str
    org: str
    name: str
    tz: str
    scale: int
    opening_hours: OpeningHours | None = field(default=None, compare=False)

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.tz)

    def is_open(self, moment: datetime) -> bool:
        """Was the site open at this moment (its local time)? Always, without opening hours."""
        if self.opening_hours is None:
            return True
        local = moment.astimezone(self.zone)
        ranges = self.opening_hours.get(WEEKDAYS[local.weekday()], [])
        return any(start <= local.time() < end for start, end in ranges)


@dataclass(frozen=True)
class Producer:
    id: str
    site: str
    channel: str | None  # None for a kiosk; web or phone for an HTTP source
    retired: bool


def zone_exists(tz: str) -> bool:
    if not tz or len(tz) > 64:
        return False
    try:
        ZoneInfo(tz)
    except (ZoneInfoNotFoundError, ValueError, OSError):  # OSError: a name no file system takes
        return False
    return True


def _site_from_row(row: dict[str, Any]) -> Site:
    hours = json.loads(row["opening_hours"]) if row.get("opening_hours") else None
    return Site(row["id"], row["org"], row["name"], row["tz"], row["scale"], parse_opening_hours(hours))


def _check_slug(kind: str, value: str) -> None:
    if not is_slug(value):
        raise RegistryError(f"{kind} id {value!r} must be lower-case letters, digits and '-'")


def add_org(db: Database, org_id: str, name: str) -> None:
    _check_slug("organisation", org_id)
    db["orgs"].upsert({"id": org_id, "name": name}, pk="id")


def org_names(db: Database) -> dict[str, str]:
    """Organisation id -> its name, for pages that show names rather than ids."""
    return {r["id"]: r["name"] for r in db.query("SELECT id, name FROM orgs")}


def add_site(db: Database, site_id: str, name: str, *, org: str = "default", tz: str = "Europe/Paris",
             scale: int = 4, opening_hours: dict[str, str] | None = None) -> Site:
    _check_slug("site", site_id)
    if not isinstance(name, str) or not name.strip() or len(name) > MAX_NAME_CHARS:
        raise RegistryError(f"a site's name is a text of 1 to {MAX_NAME_CHARS} characters")
    if not isinstance(org, str):
        raise RegistryError("a site's organisation is an id (lower-case letters, digits and '-')")
    if type(scale) is not int or scale not in SCALES:
        raise RegistryError(f"scale {str(scale)[:20]} must be 3, 4 or 5")
    if not isinstance(tz, str) or not zone_exists(tz):
        raise RegistryError(f"time zone {str(tz)[:60]!r} is unknown (e.g. Europe/Paris)")
    opening_hours = normalize_opening_hours(opening_hours)
    if not db["orgs"].count_where("id = ?", [org]):
        add_org(db, org, org)
    row = {"id": site_id, "org": org, "name": name, "tz": tz, "scale": scale,
           "opening_hours": json.dumps(opening_hours) if opening_hours else None}
    before = get_site(db, site_id)
    if before is None:
        row["created"] = format_ts(utc_now())
    db["sites"].upsert(row, pk="id")
    if before is not None and before.tz != tz:
        # Its local days are cut elsewhere now: the rollups per local span are summed again.
        with write_transaction(db):
            rebuild_local(db, [site_id])
    return get_site(db, site_id)  # type: ignore[return-value]


def update_site(db: Database, site_id: str, **changes: Any) -> Site:
    """Rename, move to another organisation, change time zone, scale or opening hours."""
    site = get_site(db, site_id)
    if site is None:
        raise RegistryError(f"no site {site_id!r}")
    row = next(db.query("SELECT * FROM sites WHERE id = ?", [site_id]))
    current = {"name": site.name, "org": site.org, "tz": site.tz, "scale": site.scale,
               "opening_hours": json.loads(row["opening_hours"]) if row["opening_hours"] else None}
    unknown = set(changes) - set(current)
    if unknown:
        raise RegistryError(f"cannot change {', '.join(sorted(unknown))} of a site")
    current.update(changes)
    return add_site(db, site_id, current.pop("name"), **current)


def _one(db: Database, sql: str, params: list[Any]) -> dict[str, Any] | None:
    """One row as a dict. Plain sqlite3: ingest looks up every message's
    producer and site, and `db.query` wraps each read in a savepoint."""
    cursor = db.conn.execute(sql, params)
    row = cursor.fetchone()
    return dict(zip([c[0] for c in cursor.description], row, strict=True)) if row else None


def get_site(db: Database, site_id: str) -> Site | None:
    row = _one(db, "SELECT * FROM sites WHERE id = ?", [site_id])
    return _site_from_row(row) if row else None


def list_sites(db: Database, org: str | None = None) -> list[Site]:
    where, params = ("WHERE org = ?", [org]) if org else ("", [])
    return [_site_from_row(r) for r in db.query(f"SELECT * FROM sites {where} ORDER BY org, name", params)]


def add_kiosk(db: Database, kiosk_id: str, site: str, name: str | None = None, *,
              channel: str | None = None) -> None:
    _check_slug("kiosk", kiosk_id)
    if get_site(db, site) is None:
        raise RegistryError(f"site {site!r} does not exist; add it first")
    if channel is not None and channel not in SOURCE_CHANNELS:
        raise RegistryError(f"a source's channel must be one of {', '.join(SOURCE_CHANNELS)}")
    current = get_producer(db, kiosk_id)
    if current and current.site != site:
        raise RegistryError(f"{kiosk_id!r} is at site {current.site!r}; use `kiosk move` to move it")
    row = {"id": kiosk_id, "site": site, "name": name or kiosk_id, "channel": channel, "retired": None}
    if current is None:
        row["created"] = format_ts(utc_now())
    db["kiosks"].upsert(row, pk="id")


def get_producer(db: Database, producer_id: str) -> Producer | None:
    row = _one(db, "SELECT id, site, channel, retired FROM kiosks WHERE id = ?", [producer_id])
    if row is None:
        return None
    return Producer(row["id"], row["site"], row["channel"], row["retired"] is not None)


def list_kiosks(db: Database, site: str | None = None) -> list[dict[str, Any]]:
    where, params = ("WHERE site = ?", [site]) if site else ("", [])
    return list(db.query(
        f"SELECT id, site, name, channel, created, retired FROM kiosks {where} ORDER BY site, id", params))


def kiosk_site(db: Database, kiosk_id: str) -> str | None:
    """The registered site of an active producer, or None if unknown or retired."""
    producer = get_producer(db, kiosk_id)
    return producer.site if producer and not producer.retired else None


def ensure_unassigned(db: Database, kiosk_id: str) -> None:
    """Register an unknown kiosk at the `unassigned` site, for an admin to move later."""
    if get_site(db, UNASSIGNED) is None:
        add_site(db, UNASSIGNED, "Bornes non affectées / Unassigned kiosks", org=UNASSIGNED)
    if get_producer(db, kiosk_id) is None:
        add_kiosk(db, kiosk_id, UNASSIGNED)


def move_kiosk(db: Database, kiosk_id: str, site: str) -> int:
    """Move a kiosk to another site from now on; return how many past events moved with it.

    Past events stay where they were counted, except those of a kiosk that
    was `unassigned`: those are given to its real site, and both sites'
    rollups are rebuilt.
    """
    from collector.rollups import rebuild_rollups  # rollups import the registry

    producer = get_producer(db, kiosk_id)
    if producer is None:
        raise RegistryError(f"no kiosk {kiosk_id!r}")
    if get_site(db, site) is None:
        raise RegistryError(f"site {site!r} does not exist; add it first")
    db.conn.execute("BEGIN IMMEDIATE")
    try:
        db.conn.execute("UPDATE kiosks SET site = ?, retired = NULL WHERE id = ?", (site, kiosk_id))
        moved = 0
        if producer.site == UNASSIGNED:
            hours = [r[0] for r in db.conn.execute(
                "SELECT DISTINCT hour FROM events WHERE kiosk = ? AND site = ?", (kiosk_id, UNASSIGNED))]
            moved = db.conn.execute("UPDATE events SET site = ? WHERE kiosk = ? AND site = ?",
                                    (site, kiosk_id, UNASSIGNED)).rowcount
            if moved:
                rebuild_rollups(db, sites=[UNASSIGNED, site], hours=hours, in_transaction=True)
        db.conn.execute("COMMIT")
    except BaseException:
        db.conn.execute("ROLLBACK")
        raise
    return moved


def retire_kiosk(db: Database, kiosk_id: str) -> None:
    """A retired kiosk's further batches are rejected; its past figures stay."""
    if get_producer(db, kiosk_id) is None:
        raise RegistryError(f"no kiosk {kiosk_id!r}")
    db.conn.execute("UPDATE kiosks SET retired = ? WHERE id = ?", (format_ts(utc_now()), kiosk_id))

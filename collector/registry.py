"""Organisations, sites and kiosks: who a kiosk belongs to and where its site is in time."""

from __future__ import annotations

from dataclasses import dataclass
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlite_utils import Database

from ressenti.errors import RessentiError
from ressenti.protocol import SCALES, format_ts, is_slug, utc_now


class RegistryError(RessentiError, ValueError):
    """A registry change was refused; the message says why."""


@dataclass(frozen=True)
class Site:
    id: str
    org: str
    name: str
    tz: str
    scale: int

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.tz)


def _check_slug(kind: str, value: str) -> None:
    if not is_slug(value):
        raise RegistryError(f"{kind} id {value!r} must be lower-case letters, digits and '-'")


def add_org(db: Database, org_id: str, name: str) -> None:
    _check_slug("organisation", org_id)
    db["orgs"].upsert({"id": org_id, "name": name}, pk="id")


def add_site(db: Database, site_id: str, name: str, *, org: str = "default",
             tz: str = "Europe/Paris", scale: int = 4) -> Site:
    _check_slug("site", site_id)
    if scale not in SCALES:
        raise RegistryError(f"scale {scale} must be 3, 4 or 5")
    try:
        ZoneInfo(tz)
    except (ZoneInfoNotFoundError, ValueError):
        raise RegistryError(f"time zone {tz!r} is unknown (e.g. Europe/Paris)") from None
    if not db["orgs"].count_where("id = ?", [org]):
        add_org(db, org, org)
    db["sites"].upsert({"id": site_id, "org": org, "name": name, "tz": tz, "scale": scale,
                        "created": format_ts(utc_now())}, pk="id")
    return Site(site_id, org, name, tz, scale)


def add_kiosk(db: Database, kiosk_id: str, site: str, name: str | None = None) -> None:
    _check_slug("kiosk", kiosk_id)
    if get_site(db, site) is None:
        raise RegistryError(f"site {site!r} does not exist; add it first")
    db["kiosks"].upsert({"id": kiosk_id, "site": site, "name": name or kiosk_id,
                         "created": format_ts(utc_now()), "retired": None}, pk="id")


def get_site(db: Database, site_id: str) -> Site | None:
    rows = list(db.query("SELECT id, org, name, tz, scale FROM sites WHERE id = ?", [site_id]))
    return Site(**rows[0]) if rows else None


def list_sites(db: Database) -> list[Site]:
    return [Site(**row) for row in db.query("SELECT id, org, name, tz, scale FROM sites ORDER BY org, name")]


def kiosk_site(db: Database, kiosk_id: str) -> str | None:
    """The registered site of an active kiosk, or None if unknown or retired."""
    rows = list(db.query("SELECT site FROM kiosks WHERE id = ? AND retired IS NULL", [kiosk_id]))
    return rows[0]["site"] if rows else None

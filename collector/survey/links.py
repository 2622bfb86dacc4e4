"""Survey links: a public short slug per site (and desk) and channel, each its own producer.

A link's slug is random and unguessable (10 characters of a 31-letter alphabet: 49 bits),
lower-case and URL-safe, so it can sit in an e-mail, a letter, an SMS or a QR code; unlike a
source token it is not a secret that grants anything but answering the survey. Each link is
registered as a producer (`survey-<slug>`, channel web or phone) of its site: submissions
go through `store_batch` like a kiosk's batches and count once. Revoking a link retires its
producer: the survey page then says the link is no longer in use, and past answers stay.
"""

from __future__ import annotations

import secrets
from dataclasses import asdict, dataclass
from typing import Any

from sqlite_utils import Database

from collector.registry import SOURCE_CHANNELS, RegistryError, add_kiosk, get_site, retire_kiosk
from ressenti.protocol import format_ts, utc_now

SLUG_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"  # no i, l, o, 0, 1: read aloud or copied from a letter
SLUG_CHARS = 10
PRODUCER_PREFIX = "survey-"
MAX_DESK_CHARS = 60
MAX_LABEL_CHARS = 120


class LinkError(RegistryError):
    """A survey link could not be made or changed; the message says why."""


@dataclass(frozen=True)
class Link:
    id: int
    slug: str
    site: str
    channel: str  # web | phone
    desk: str | None  # a reception point's label ("Accueil état civil"), never a person
    label: str
    created: str
    created_by: str | None
    revoked: str | None

    @property
    def producer(self) -> str:
        """The registry producer (kiosks table) this link's ratings are stored under."""
        return producer_id(self.slug)

    @property
    def path(self) -> str:
        """The short link's path on the collector: /s/<slug>."""
        return f"/s/{self.slug}"

    @property
    def active(self) -> bool:
        return self.revoked is None

    def to_json(self) -> dict[str, Any]:
        return {**asdict(self), "path": self.path, "producer": self.producer, "active": self.active}


def producer_id(slug: str) -> str:
    return f"{PRODUCER_PREFIX}{slug}"


def new_slug() -> str:
    return "".join(secrets.choice(SLUG_ALPHABET) for _ in range(SLUG_CHARS))


def is_link_slug(value: object) -> bool:
    """Could this be a slug `new_slug` made (checked before any database look-up)?"""
    return isinstance(value, str) and len(value) == SLUG_CHARS and all(c in SLUG_ALPHABET for c in value)


def _text(value: object, what: str, limit: int, *, optional: bool) -> str | None:
    if value is None or (isinstance(value, str) and not value.strip() and optional):
        return None
    if not isinstance(value, str) or not value.strip() or len(value) > limit or "\x00" in value:
        raise LinkError(f"a link's {what} is a text of 1 to {limit} characters")
    return " ".join(value.split())


def _from_row(row: dict[str, Any]) -> Link:
    return Link(row["id"], row["slug"], row["site"], row["channel"], row["desk"], row["label"] or "",
                row["created"], row["created_by"], row["revoked"])


def create_link(db: Database, site: str, channel: str, desk: str | None = None, label: str = "",
                by: str | None = None) -> Link:
    """A new link of `site` for `channel` (web, phone), optionally for one desk; its producer too."""
    if not isinstance(site, str) or get_site(db, site) is None:
        raise LinkError(f"site {str(site)[:60]!r} does not exist")
    if channel not in SOURCE_CHANNELS:
        raise LinkError(f"a link's channel is one of {', '.join(SOURCE_CHANNELS)}")
    desk = _text(desk, "desk", MAX_DESK_CHARS, optional=True)
    label = _text(label, "label", MAX_LABEL_CHARS, optional=True) or ""
    if by is not None and not isinstance(by, str):
        raise LinkError("created_by is a login")
    for _ in range(5):  # 49 bits: a collision is all but impossible, but cheap to retry
        slug = new_slug()
        if not db.conn.execute("SELECT 1 FROM survey_links WHERE slug = ?", (slug,)).fetchone():
            break
    else:  # pragma: no cover - 5 collisions in a row
        raise LinkError("could not draw a free slug; try again")
    add_kiosk(db, producer_id(slug), site, label or desk or f"survey {channel}", channel=channel)
    cursor = db.conn.execute(
        "INSERT INTO survey_links (slug, site, channel, desk, label, created, created_by) VALUES (?, ?, ?, ?, ?, ?, ?)",
        (slug, site, channel, desk, label, format_ts(utc_now()), by))
    link = get_link(db, int(cursor.lastrowid or 0))
    assert link is not None
    return link


def get_link(db: Database, link_id: int) -> Link | None:
    cursor = db.conn.execute("SELECT * FROM survey_links WHERE id = ?", (link_id,))
    row = cursor.fetchone()
    return _from_row(dict(zip([c[0] for c in cursor.description], row, strict=True))) if row else None


def get_link_by_slug(db: Database, slug: str) -> Link | None:
    """The link of this slug, revoked or not (the page tells the two apart); None if none."""
    if not is_link_slug(slug):
        return None
    cursor = db.conn.execute("SELECT * FROM survey_links WHERE slug = ?", (slug,))
    row = cursor.fetchone()
    return _from_row(dict(zip([c[0] for c in cursor.description], row, strict=True))) if row else None


def list_links(db: Database, site: str | None = None) -> list[Link]:
    where, params = ("WHERE site = ?", [site]) if site else ("", [])
    return [_from_row(r) for r in db.query(f"SELECT * FROM survey_links {where} ORDER BY site, id", params)]


def revoke_link(db: Database, link_id: int) -> Link:
    """Stop a link: its page says so and its submissions are refused; its producer is retired."""
    link = get_link(db, link_id)
    if link is None:
        raise LinkError(f"no survey link {link_id}")
    if link.revoked is None:
        db.conn.execute("UPDATE survey_links SET revoked = ? WHERE id = ?", (format_ts(utc_now()), link_id))
        retire_kiosk(db, link.producer)
    revoked = get_link(db, link_id)
    assert revoked is not None
    return revoked

"""Anti-stuffing without personal data: signed one-time forms, a hashed client key, limits and flags.

- Each survey page carries a one-time form: a random UUID (the rating's event id once
  submitted) signed with the collector's secret, with the time it was issued. A submission
  without a valid signature, or older than FORM_LIFETIME, is refused with its reason.
- The client's address is never stored: `client_key` is an HMAC of it under a random salt
  drawn per UTC day (`survey_salts`, yesterday's deleted), cut to 16 hex digits. Keys of two
  days cannot be linked, and nobody can turn a key back into an address once the salt is gone.
- `survey_hits` counts submissions per (link, client key, minute) for the last minutes only.
  A client's third submission and later on one link within 10 minutes, or any submission
  on a link already past LINK_FLAG_PER_MINUTE in this minute, is stored flagged `burst`
  (kept, counted in the raw figures, left out of the filtered ones, as the kiosks' filter
  does). Past CLIENT_LIMIT in 10 minutes, or LINK_LIMIT_PER_MINUTE on one link, the
  submission is refused (429, logged in `rejected`): other clients and links are not affected.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlite_utils import Database

from collector.db import write_transaction

FORM_LIFETIME = timedelta(days=7)  # a page left open in a tab, a letter read later that week
WINDOW = timedelta(minutes=10)
HITS_KEPT = timedelta(minutes=15)


@dataclass(frozen=True)
class Limits:
    flag_after: int = 2  # a client's submissions on a link within WINDOW before the next ones are flagged
    client_limit: int = 20  # ... before the next ones are refused
    link_flag_per_minute: int = 60  # one link's submissions in a minute before the next ones are flagged
    link_limit_per_minute: int = 600  # ... before the next ones are refused

    @classmethod
    def from_config(cls, config: Any) -> Limits:
        values = config.get("SURVEY_LIMITS") or {}
        return cls(**{k: int(v) for k, v in dict(values).items()})


# -- one-time forms ---------------------------------------------------------


def _signature(secret: str, slug: str, nonce: str, issued: int) -> str:
    message = f"survey|{slug}|{nonce}|{issued}".encode()
    return hmac.new(str(secret).encode(), message, hashlib.sha256).hexdigest()[:32]


def new_form(secret: str, slug: str, now: datetime) -> dict[str, str]:
    """The hidden fields of a fresh one-time form: n (the future event id), i (issued), s (signature)."""
    nonce, issued = str(uuid.uuid4()), int(now.timestamp())
    return {"n": nonce, "i": str(issued), "s": _signature(secret, slug, nonce, issued)}


def check_form(secret: str, slug: str, fields: dict[str, Any], now: datetime) -> tuple[str | None, str | None]:
    """(the form's nonce, None) if it is one of ours and fresh, else (None, why not)."""
    nonce, issued, signature = fields.get("n"), fields.get("i"), fields.get("s")
    if not all(isinstance(v, str) and 0 < len(v) <= 64 for v in (nonce, issued, signature)):
        return None, "the form's one-time fields are missing"
    assert isinstance(nonce, str) and isinstance(issued, str) and isinstance(signature, str)
    try:
        canonical, stamp = str(uuid.UUID(nonce)), int(issued)
    except ValueError:
        return None, "the form's one-time fields are not ours"
    if canonical != nonce or not hmac.compare_digest(_signature(secret, slug, nonce, stamp), signature):
        return None, "the form's signature does not match: not a form of this link"
    age = now.timestamp() - stamp
    if age > FORM_LIFETIME.total_seconds() or age < -300:
        return None, "the form has expired: reload the page"
    return nonce, None


# -- the client key -----------------------------------------------------------

_salts: dict[str, bytes] = {}  # this process's salt of the day (all processes share the stored one)


def _salt(db: Database, day: str) -> bytes:
    salt = _salts.get(day)
    if salt is None:
        with write_transaction(db):
            db.conn.execute("INSERT INTO survey_salts (day, salt) VALUES (?, ?) ON CONFLICT (day) DO NOTHING",
                            (day, secrets.token_bytes(32)))
            db.conn.execute("DELETE FROM survey_salts WHERE day < ?", (day,))
            salt = bytes(db.conn.execute("SELECT salt FROM survey_salts WHERE day = ?", (day,)).fetchone()[0])
        _salts.clear()
        _salts[day] = salt
    return salt


def client_key(db: Database, address: str | None, now: datetime) -> str:
    """A key for the client's address that is only valid today; the address itself is never stored."""
    salt = _salt(db, now.strftime("%Y-%m-%d"))
    return hmac.new(salt, (address or "-").encode(), hashlib.sha256).hexdigest()[:16]


# -- limits and flags (in the submission's transaction) -----------------------


def _minute(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M")


_purged: dict[str, str] = {}


def verdict(db: Database, link_id: int, client: str, now: datetime, limits: Limits) -> tuple[str | None, bool]:
    """(why the submission is refused or None, whether it is flagged), read under the write lock."""
    minute = _minute(now)
    if _purged.get("minute") != minute:
        db.conn.execute("DELETE FROM survey_hits WHERE minute < ?", (_minute(now - HITS_KEPT),))
        _purged["minute"] = minute
    mine = db.conn.execute("SELECT IFNULL(SUM(n), 0) FROM survey_hits WHERE link_id = ? AND client = ?"
                           " AND minute >= ?", (link_id, client, _minute(now - WINDOW))).fetchone()[0]
    on_link = db.conn.execute("SELECT IFNULL(SUM(n), 0) FROM survey_hits WHERE link_id = ? AND minute = ?",
                              (link_id, minute)).fetchone()[0]
    if mine >= limits.client_limit:
        return (f"rate limited: {mine} submissions from one client on this link in"
                f" {int(WINDOW.total_seconds() // 60)} minutes"), True
    if on_link >= limits.link_limit_per_minute:
        return f"rate limited: {on_link} submissions on this link this minute", True
    return None, mine >= limits.flag_after or on_link >= limits.link_flag_per_minute


def count_hit(db: Database, link_id: int, client: str, now: datetime) -> None:
    db.conn.execute("INSERT INTO survey_hits (link_id, minute, client, n) VALUES (?, ?, ?, 1)"
                    " ON CONFLICT (link_id, minute, client) DO UPDATE SET n = n + 1",
                    (link_id, _minute(now), client))

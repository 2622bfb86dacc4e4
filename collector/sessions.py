"""Server-side records of dashboard sessions: the signed cookie names one; logout or an admin ends it.

Flask's session is a signed cookie: on its own, a copy of it stays valid
after logout. The cookie therefore carries a random session id, and a request
is logged in only while the `web_sessions` row of that id is there, not
revoked and not idle for longer than the session lifetime (issue 17). Only a
SHA-256 of the id is stored: a copy of the database opens no session. No
address or browser is kept (no personal data by default).
"""

from __future__ import annotations

import hashlib
import logging
import secrets
from datetime import datetime, timedelta

from sqlite_utils import Database

from collector.engine import OperationalError
from ressenti.protocol import format_ts, utc_now

log = logging.getLogger(__name__)

# The default PERMANENT_SESSION_LIFETIME of the web app: a session idle this long is over.
SESSION_LIFETIME = timedelta(hours=12)
# last_seen is written at most this often per session: a page load with its
# stylesheet and stream is then one write, not several.
TOUCH_EVERY = timedelta(minutes=1)


def _digest(session_id: str) -> str:
    return hashlib.sha256(session_id.encode()).hexdigest()


def open_session(db: Database, user_id: int, now: datetime | None = None) -> str:
    """A new session for this user; returns its id (for the cookie, never stored as is)."""
    session_id = secrets.token_urlsafe(32)
    stamp = format_ts(now or utc_now())
    db.conn.execute("INSERT INTO web_sessions (id, user_id, created, last_seen, revoked) VALUES (?, ?, ?, ?, NULL)",
                    (_digest(session_id), user_id, stamp, stamp))
    return session_id


def session_user(db: Database, session_id: str, idle_limit: timedelta, now: datetime | None = None) -> int | None:
    """The user id of a live session, or None if it was ended, revoked or left idle too long."""
    now = now or utc_now()
    row = db.conn.execute("SELECT user_id, last_seen, revoked FROM web_sessions WHERE id = ?",
                          (_digest(session_id),)).fetchone()
    if row is None or row[2] is not None or row[1] < format_ts(now - idle_limit):
        return None
    if row[1] < format_ts(now - TOUCH_EVERY):
        try:
            db.conn.execute("UPDATE web_sessions SET last_seen = ? WHERE id = ?",
                            (format_ts(now), _digest(session_id)))
        except OperationalError as exc:  # busy for 30 s: the page matters more than last_seen
            log.warning("session last_seen not updated: %s", exc)
    return int(row[0])


def close_session(db: Database, session_id: str) -> None:
    """Logout: the row goes, so a copy of the cookie opens nothing."""
    db.conn.execute("DELETE FROM web_sessions WHERE id = ?", (_digest(session_id),))


def end_user_sessions(db: Database, user_id: int, now: datetime | None = None) -> int:
    """End every open session of a user (account disabled, new password); returns how many."""
    return db.conn.execute("UPDATE web_sessions SET revoked = ? WHERE user_id = ? AND revoked IS NULL",
                           (format_ts(now or utc_now()), user_id)).rowcount


def open_sessions(db: Database, idle_limit: timedelta, now: datetime | None = None) -> list[dict]:
    """Sessions still usable, newest first: login, created, last seen (no session ids)."""
    since = format_ts((now or utc_now()) - idle_limit)
    return list(db.query(
        "SELECT u.login, s.created, s.last_seen FROM web_sessions s JOIN users u ON u.id = s.user_id"
        " WHERE s.revoked IS NULL AND s.last_seen >= ? ORDER BY s.last_seen DESC", [since]))


def purge_sessions(db: Database, idle_limit: timedelta, now: datetime | None = None) -> int:
    """Retention: delete the rows of ended sessions (revoked, or idle past the lifetime); returns how many."""
    since = format_ts((now or utc_now()) - idle_limit)
    return db.conn.execute("DELETE FROM web_sessions WHERE revoked IS NOT NULL OR last_seen < ?",
                           (since,)).rowcount

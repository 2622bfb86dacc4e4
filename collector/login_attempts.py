"""Login rate limiting: failures per login and per client address in a sliding window, kept in the database.

An attempt is reserved before its password is checked: one `BEGIN IMMEDIATE`
transaction counts the failures and the attempts still being checked, and
inserts a pending row only if the limit leaves room. Concurrent requests, in
one process or in several gunicorn workers, therefore never check more
passwords than the limit allows (issue 17; before, 50 concurrent wrong
passwords were all checked).
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlite_utils import Database

from collector.db import write_transaction
from ressenti.protocol import format_ts, utc_now

# Issue 6: the per-address limit is higher, a town hall's agents share one NAT address.
ATTEMPT_WINDOW = timedelta(minutes=15)
MAX_FAILURES_PER_LOGIN = 5
MAX_FAILURES_PER_IP = 20
# A pending attempt (ok IS NULL) counts as a failure: it may become one. One left
# pending by a worker that died counts until it leaves the window.
_FAILED_OR_PENDING = "(ok IS NULL OR ok = 0) AND at >= ?"


def reserve_attempt(db: Database, login: str, ip: str, now: datetime | None = None) -> int | None:
    """The id of a pending attempt, or None when this login or address has used up its failures."""
    now = now or utc_now()
    since = format_ts(now - ATTEMPT_WINDOW)
    login = login[:64]
    with write_transaction(db):
        by_login = db.execute(f"SELECT COUNT(*) FROM login_attempts WHERE login = ? AND {_FAILED_OR_PENDING}",
                              [login, since]).fetchone()[0]
        by_ip = db.execute(f"SELECT COUNT(*) FROM login_attempts WHERE ip = ? AND {_FAILED_OR_PENDING}",
                           [ip, since]).fetchone()[0]
        if by_login >= MAX_FAILURES_PER_LOGIN or by_ip >= MAX_FAILURES_PER_IP:
            return None
        # Old attempts are of no use; keep the table small.
        db.conn.execute("DELETE FROM login_attempts WHERE at < ?", (format_ts(now - 4 * ATTEMPT_WINDOW),))
        cursor = db.conn.execute("INSERT INTO login_attempts (login, ip, at, ok) VALUES (?, ?, ?, NULL)",
                                 (login, ip, format_ts(now)))
        return int(cursor.lastrowid or 0)


def finish_attempt(db: Database, attempt_id: int, ok: bool) -> None:
    """Say how a reserved attempt ended; a success forgets that login's failures from that address."""
    with write_transaction(db):
        if ok:
            db.conn.execute(
                "DELETE FROM login_attempts WHERE ok = 0 AND (login, ip) ="
                " (SELECT login, ip FROM login_attempts WHERE id = ?)", (attempt_id,))
        db.conn.execute("UPDATE login_attempts SET ok = ? WHERE id = ?", (int(ok), attempt_id))

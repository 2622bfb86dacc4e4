"""The "Vous nous avez dit… / Nous avons fait…" notes (Services Publics+ engagement 7, issue 13).

A manager writes them per site or organisation and per period (a month, or an
ISO week); the public results page shows them, and the poster and reports
will. Plain text, length-limited: templates escape it, so HTML shows as typed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlite_utils import Database

from ressenti.errors import RessentiError
from ressenti.protocol import format_ts, is_slug, utc_now

MAX_CHARS = 600  # a poster's block; more is a report, not a note
_MONTH_RE = re.compile(r"^(\d{4})-(\d{2})$")
_WEEK_RE = re.compile(r"^(\d{4})-W(\d{2})$")
SCOPE_KINDS = ("site", "org")


class NoteError(RessentiError, ValueError):
    """A note was refused; the message says why."""


@dataclass(frozen=True)
class Note:
    scope: str  # site:<id> or org:<id>
    period: str  # YYYY-MM or YYYY-Www
    said_fr: str
    done_fr: str
    said_en: str | None
    done_en: str | None
    author: str | None
    updated: str

    def said(self, lang: str) -> str:
        return (self.said_en or self.said_fr) if lang == "en" else self.said_fr

    def done(self, lang: str) -> str:
        return (self.done_en or self.done_fr) if lang == "en" else self.done_fr

    @property
    def first_day(self) -> date:
        return period_days(self.period)[0]


def period_days(period: str) -> tuple[date, date]:
    """First and last day of a month `2026-11` or an ISO week `2026-W47`; NoteError otherwise."""
    month, week = _MONTH_RE.match(period), _WEEK_RE.match(period)
    try:
        if month:
            first = date(int(month[1]), int(month[2]), 1)
            last = (first.replace(day=28) + timedelta(days=4)).replace(day=1) - timedelta(days=1)
            return first, last
        if week:
            first = datetime.strptime(f"{week[1]}-W{week[2]}-1", "%G-W%V-%u").date()
            if first.isocalendar()[:2] != (int(week[1]), int(week[2])):
                raise ValueError
            return first, first + timedelta(days=6)
    except ValueError:
        pass
    raise NoteError(f"period {period!r} must be a month (2026-11) or an ISO week (2026-W47)")


def check_period(period: str, today: date) -> None:
    first, _ = period_days(period)
    if first > today:
        raise NoteError(f"period {period} has not started yet: a note says what was done")
    if first.year < 2000:
        raise NoteError(f"period {period} is too far back")


def check_scope(scope: str) -> tuple[str, str]:
    kind, _, ident = scope.partition(":")
    if kind not in SCOPE_KINDS or not is_slug(ident):
        raise NoteError(f"scope {scope!r} must be site:<id> or org:<id>")
    return kind, ident


def _text(name: str, value: str | None, required: bool) -> str | None:
    text = (value or "").replace("\r\n", "\n").strip()
    if not text:
        if required:
            raise NoteError(f"{name} is empty: write a sentence or two")
        return None
    if len(text) > MAX_CHARS:
        raise NoteError(f"{name} has {len(text)} characters; at most {MAX_CHARS}")
    if any(ord(c) < 32 and c not in "\n\t" for c in text):
        raise NoteError(f"{name} holds control characters")
    return text


def save_note(db: Database, scope: str, period: str, *, said_fr: str, done_fr: str, said_en: str | None = None,
              done_en: str | None = None, author: str | None = None, today: date) -> Note:
    """Write (or replace) the note of a scope and period."""
    check_scope(scope)
    check_period(period, today)
    row = {"scope": scope, "period": period, "said_fr": _text("said_fr", said_fr, True),
           "done_fr": _text("done_fr", done_fr, True), "said_en": _text("said_en", said_en, False),
           "done_en": _text("done_en", done_en, False), "author": author, "updated": format_ts(utc_now())}
    db.conn.execute(
        "INSERT INTO published_notes (scope, period, said_fr, done_fr, said_en, done_en, author, updated)"
        " VALUES (:scope, :period, :said_fr, :done_fr, :said_en, :done_en, :author, :updated)"
        " ON CONFLICT (scope, period) DO UPDATE SET said_fr = excluded.said_fr, done_fr = excluded.done_fr,"
        " said_en = excluded.said_en, done_en = excluded.done_en, author = excluded.author,"
        " updated = excluded.updated", row)
    note = get_note(db, scope, period)
    assert note is not None
    return note


def _note(row: dict) -> Note:
    return Note(row["scope"], row["period"], row["said_fr"], row["done_fr"], row["said_en"], row["done_en"],
                row["author"], row["updated"])


def get_note(db: Database, scope: str, period: str) -> Note | None:
    rows = list(db.query("SELECT * FROM published_notes WHERE scope = ? AND period = ?", [scope, period]))
    return _note(rows[0]) if rows else None


def delete_note(db: Database, scope: str, period: str) -> bool:
    return db.conn.execute("DELETE FROM published_notes WHERE scope = ? AND period = ?",
                           (scope, period)).rowcount > 0


def notes_for(db: Database, scopes: list[str], first: date, last: date, limit: int = 50) -> list[Note]:
    """Notes of these scopes whose period starts first..last, newest period first."""
    if not scopes:
        return []
    marks = ",".join("?" * len(scopes))
    notes = [_note(r) for r in db.query(f"SELECT * FROM published_notes WHERE scope IN ({marks})", scopes)]
    notes = [n for n in notes if first <= n.first_day <= last]
    return sorted(notes, key=lambda n: (n.first_day, n.scope), reverse=True)[:limit]

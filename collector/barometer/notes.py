"""The "what we changed" note of a team and period (a week or a month), written by a manager for the team."""

from __future__ import annotations

from sqlite_utils import Database

from collector.barometer import BarometerError
from collector.barometer.weeks import period_weeks
from ressenti.protocol import format_ts, utc_now

MAX_CHARS = 600


def save_note(db: Database, team_id: str, unit: str, period: str, text_fr: str, text_en: str | None = None,
              author: str | None = None) -> None:
    period_weeks(unit, period)
    text = (text_fr or "").strip()
    if not text or len(text) > MAX_CHARS or len((text_en or "").strip()) > MAX_CHARS:
        raise BarometerError(f"a note is 1 to {MAX_CHARS} characters", f"une note compte de 1 à {MAX_CHARS} caractères")
    db.conn.execute("INSERT INTO barometer_notes (team, period, text_fr, text_en, author, updated)"
                    " VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (team, period) DO UPDATE SET text_fr = excluded.text_fr,"
                    " text_en = excluded.text_en, author = excluded.author, updated = excluded.updated",
                    (team_id, period, text, (text_en or "").strip() or None, author, format_ts(utc_now())))


def team_notes(db: Database, team_id: str, limit: int = 6) -> list[dict[str, str]]:
    return [{"period": p, "fr": fr, "en": en or fr} for p, fr, en in db.conn.execute(
        "SELECT period, text_fr, text_en FROM barometer_notes WHERE team = ? ORDER BY period DESC LIMIT ?",
        (team_id, limit))]

"""Retention of the barometer: codes go soon after their week, counters after a couple of years.

A code is useless once its week is closed (weeks.py: answers are taken until the Wednesday after
it), so codes of weeks older than `keep_weeks` (at least 1, default 2) are deleted; a week whose
answers are still open is always at most one week old and so never touched. The per-week counters
(`barometer_counts`, `barometer_responses`) are the figures: they hold no personal data and are
kept `keep_weeks` (default 104, two years of trend) before they go too. Notes ("what we changed")
are left alone. Called by `ressenti collector purge` (cli/maintenance.py); docs/privacy.md.

ISO week keys (`2026-W49`) sort as text in time order, so a plain `week < ?` is portable SQL.
"""

from __future__ import annotations

from datetime import date, timedelta

from sqlite_utils import Database

from collector.barometer.weeks import week_of
from collector.db import write_transaction

CODE_WEEKS = 2
COUNTER_WEEKS = 104


def cutoff_week(today: date, keep_weeks: int) -> str:
    """The oldest week kept: weeks strictly before it are purged."""
    if not isinstance(keep_weeks, int) or keep_weeks < 1:
        raise ValueError("keep the barometer at least one week")
    return week_of(today - timedelta(weeks=keep_weeks))


def purge_codes(db: Database, today: date, keep_weeks: int = CODE_WEEKS) -> int:
    """Delete codes (used or not) of weeks older than `keep_weeks`; return how many."""
    cutoff = cutoff_week(today, keep_weeks)
    with write_transaction(db):
        return db.conn.execute("DELETE FROM barometer_codes WHERE week < ?", (cutoff,)).rowcount


def purge_counters(db: Database, today: date, keep_weeks: int = COUNTER_WEEKS) -> int:
    """Delete the weeks older than `keep_weeks` from both counter tables; return how many team-weeks."""
    cutoff = cutoff_week(today, keep_weeks)
    with write_transaction(db):
        db.conn.execute("DELETE FROM barometer_counts WHERE week < ?", (cutoff,))
        return db.conn.execute("DELETE FROM barometer_responses WHERE week < ?", (cutoff,)).rowcount

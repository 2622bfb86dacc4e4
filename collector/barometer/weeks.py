"""ISO weeks, the finest unit the barometer knows, and the months they add up to.

An answer is stored with its ISO week only (`2026-W49`). A week belongs to the month of its
Thursday (the ISO rule: the week 2026-W49, 30 November to 6 December, is December's), so a month
is a whole number of weeks and never needs a day. Answers with a week's code are taken from its
Monday to the Wednesday after it (GRACE_DAYS), and its figures are shown only once that is over:
a figure that still changes would give, day after day, the difference of one person's answer.
"""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta

from collector.barometer import BarometerError

GRACE_DAYS = 3  # a week's codes still work until the Wednesday after it
UNITS = ("week", "month")
_WEEK_RE = re.compile(r"^(\d{4})-W(\d{2})$")
_MONTH_RE = re.compile(r"^(\d{4})-(\d{2})$")


def week_of(day: date) -> str:
    year, week, _ = day.isocalendar()
    return f"{year}-W{week:02d}"


def week_monday(key: str) -> date:
    match = _WEEK_RE.match(str(key))
    if match:
        try:
            monday = datetime.strptime(f"{match[1]}-W{match[2]}-1", "%G-W%V-%u").date()
            if week_of(monday) == key and monday.year >= 2000:
                return monday
        except ValueError:
            pass
    raise BarometerError(f"week {str(key)[:20]!r} must be an ISO week such as 2026-W49",
                         f"la semaine {str(key)[:20]!r} doit être une semaine ISO, par exemple 2026-W49")


def month_of_week(key: str) -> str:
    return (week_monday(key) + timedelta(days=3)).strftime("%Y-%m")


def month_weeks(month: str) -> list[str]:
    match = _MONTH_RE.match(str(month))
    if not match or not 1 <= int(match[2]) <= 12 or int(match[1]) < 2000:
        shown = str(month)[:20]
        raise BarometerError(f"month {shown!r} must read 2026-12", f"le mois {shown!r} doit s'écrire 2026-12")
    first = date(int(match[1]), int(match[2]), 1)
    thursday = first + timedelta(days=(3 - first.weekday()) % 7)
    weeks = []
    while thursday.month == first.month:
        weeks.append(week_of(thursday))
        thursday += timedelta(days=7)
    return weeks


def period_weeks(unit: str, key: str) -> list[str]:
    if unit == "week":
        week_monday(key)
        return [key]
    if unit == "month":
        return month_weeks(key)
    raise BarometerError(f"unit {str(unit)[:20]!r} must be week or month", "l'unité doit être week ou month")


def period_days(unit: str, key: str) -> tuple[date, date]:
    """First and last day of the period's weeks (for the users' satisfaction of the same days)."""
    weeks = period_weeks(unit, key)
    return week_monday(weeks[0]), week_monday(weeks[-1]) + timedelta(days=6)


def accepts_answers(key: str, today: date) -> bool:
    monday = week_monday(key)
    return monday <= today <= monday + timedelta(days=6 + GRACE_DAYS)


def closed(unit: str, key: str, today: date) -> bool:
    """No answer can be added any more: its figures no longer move."""
    last = period_weeks(unit, key)[-1]
    return today > week_monday(last) + timedelta(days=6 + GRACE_DAYS)


def recent_periods(unit: str, today: date, count: int) -> list[str]:
    """The `count` latest closed periods, oldest first."""
    out: list[str] = []
    if unit == "week":
        day = today - timedelta(days=7 + GRACE_DAYS)
        while len(out) < count:
            key = week_of(day)
            if closed("week", key, today) and key not in out:
                out.append(key)
            day -= timedelta(days=7)
    else:
        year, month = today.year, today.month
        while len(out) < count:
            key = f"{year:04d}-{month:02d}"
            if closed("month", key, today):
                out.append(key)
            year, month = (year, month - 1) if month > 1 else (year - 1, 12)
    return sorted(out)

"""The period of a report: an ISO week, a month or a year, complete or "to date", never in the future."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from enum import StrEnum

from ressenti.errors import RessentiError

MONTHS_FR = ("janvier", "février", "mars", "avril", "mai", "juin", "juillet", "août", "septembre", "octobre",
             "novembre", "décembre")
MONTHS_EN = ("January", "February", "March", "April", "May", "June", "July", "August", "September", "October",
             "November", "December")


class ReportError(RessentiError, ValueError):
    """A report cannot be made as asked; the message says why."""


class PeriodKind(StrEnum):
    WEEK = "week"
    MONTH = "month"
    YEAR = "year"


def parse_day(text: str) -> date:
    """A YYYY-MM-DD date, or a ReportError that says so."""
    try:
        return date.fromisoformat(text)
    except (TypeError, ValueError):
        raise ReportError(f"date {text!r} is not a date (YYYY-MM-DD)") from None


def _bounds(kind: PeriodKind, day: date) -> tuple[date, date]:
    if kind is PeriodKind.WEEK:
        first = day - timedelta(days=day.weekday())
        return first, first + timedelta(days=6)
    if kind is PeriodKind.MONTH:
        first = day.replace(day=1)
        return first, (first.replace(day=28) + timedelta(days=4)).replace(day=1) - timedelta(days=1)
    return day.replace(month=1, day=1), day.replace(month=12, day=31)


@dataclass(frozen=True)
class Period:
    kind: PeriodKind
    start: date
    end: date  # the last day counted: today for a period "to date"
    full_end: date  # the period's own last day

    @property
    def to_date(self) -> bool:
        return self.end < self.full_end

    @property
    def key(self) -> str:
        """2026-W47, 2026-11 or 2026: what a sent report is remembered by (report_runs)."""
        if self.kind is PeriodKind.WEEK:
            year, week, _ = self.start.isocalendar()
            return f"{year}-W{week:02d}"
        if self.kind is PeriodKind.MONTH:
            return f"{self.start:%Y-%m}"
        return f"{self.start.year}"

    def previous(self) -> Period:
        """The whole period before this one (a month to date is compared with the whole month before)."""
        first, last = _bounds(self.kind, self.start - timedelta(days=1))
        return Period(self.kind, first, last, last)

    def label(self, lang: str) -> str:
        if self.kind is PeriodKind.WEEK:
            week = self.start.isocalendar()[1]
            text = (f"week {week} ({self.start:%d/%m/%Y} – {self.full_end:%d/%m/%Y})" if lang == "en"
                    else f"semaine {week} (du {self.start:%d/%m/%Y} au {self.full_end:%d/%m/%Y})")
        elif self.kind is PeriodKind.MONTH:
            text = f"{(MONTHS_EN if lang == 'en' else MONTHS_FR)[self.start.month - 1]} {self.start.year}"
        else:
            text = str(self.start.year)
        if self.to_date:
            text += (f", to {self.end:%d/%m/%Y}" if lang == "en" else f", au {self.end:%d/%m/%Y}")
        return text


def period_of(kind: str | PeriodKind, day: date, today: date) -> Period:
    """The period of `kind` that holds `day`: complete if it has ended, else up to today; never future."""
    try:
        kind = PeriodKind(kind)
    except ValueError:
        raise ReportError(f"period {kind!r} must be week, month or year") from None
    first, last = _bounds(kind, day)
    if first > today:
        raise ReportError(f"the {kind.value} of {day.isoformat()} has not started yet (today is {today.isoformat()})")
    return Period(kind, first, min(last, today), last)


def last_complete(kind: PeriodKind, today: date) -> Period:
    """The latest period of `kind` that has ended before today (what a scheduled report covers)."""
    return period_of(kind, today, today).previous()

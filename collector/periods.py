"""Local calendar spans (day, week, month, year), and how a period is read from the fewest of them.

Pure date arithmetic for the rollups by local span (`collector/local_rollups.py`):
a period of local days is covered exactly by whole spans, and where a span
sticks out of the period it can be cheaper to take the whole span and subtract
what sticks out (`cover`). Signs make this exact: the figures are sums.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, timedelta
from enum import StrEnum

DAY_STEP = timedelta(days=1)


class Span(StrEnum):
    DAY = "day"
    WEEK = "week"  # ISO weeks, from Monday
    MONTH = "month"
    YEAR = "year"


Piece = tuple[int, Span, date]  # +1 or -1, the span, its first day


def span_start(span: Span, day: date) -> date:
    """The first day of the span that holds `day`."""
    if span is Span.DAY:
        return day
    if span is Span.WEEK:
        return day - timedelta(days=day.weekday())
    if span is Span.MONTH:
        return day.replace(day=1)
    return day.replace(month=1, day=1)


def span_end(span: Span, start: date) -> date:
    """The last day of the span that starts on `start`."""
    if span is Span.DAY:
        return start
    if span is Span.WEEK:
        return start + timedelta(days=6)
    if span is Span.MONTH:
        return (start.replace(day=28) + timedelta(days=4)).replace(day=1) - DAY_STEP
    return start.replace(month=12, day=31)


def starts(span: Span, first: date, last: date) -> list[date]:
    """First days of the spans that overlap first..last."""
    out, start = [], span_start(span, first)
    while start <= last:
        out.append(start)
        start = span_end(span, start) + DAY_STEP
    return out


def cover(first: date, last: date, spans: Sequence[Span], *, day_cost: float = 1.0,
          empty_after: date | None = None) -> list[Piece]:
    """Signed pieces whose sum is exactly the days first..last.

    `spans` go from coarse to fine and must nest (year, month; or one span
    alone); days are the finest level, always available. Where a span sticks
    out of the period, the cheaper of the days inside (from finer spans) and
    the whole span minus the days outside is taken. A coarse piece costs 1, a
    day `day_cost`, anything after `empty_after` (the future: no data yet) 0.
    """

    def cost(pieces: list[Piece]) -> float:
        return sum(0.0 if empty_after is not None and start > empty_after
                   else day_cost if span is Span.DAY else 1.0 for _, span, start in pieces)

    def negate(pieces: list[Piece]) -> list[Piece]:
        return [(-sign, span, start) for sign, span, start in pieces]

    def level(lo: date, hi: date, depth: int) -> list[Piece]:
        if lo > hi:
            return []
        if depth == len(spans):
            return [(1, Span.DAY, lo + timedelta(days=i)) for i in range((hi - lo).days + 1)]
        span, out = spans[depth], []
        for start in starts(span, lo, hi):
            end = span_end(span, start)
            inside_lo, inside_hi = max(lo, start), min(hi, end)
            if (inside_lo, inside_hi) == (start, end):
                out.append((1, span, start))
                continue
            inside = level(inside_lo, inside_hi, depth + 1)
            around = [(1, span, start), *negate(level(start, inside_lo - DAY_STEP, depth + 1)),
                      *negate(level(inside_hi + DAY_STEP, end, depth + 1))]
            out += inside if cost(inside) <= cost(around) else around
        return out

    return level(first, last, 0)


def bucket_unit(first: date, last: date) -> Span:
    """The dashboard's chart bars: days up to two months, then ISO weeks up to a year, then months."""
    days = (last - first).days + 1
    return Span.DAY if days <= 62 else Span.WEEK if days <= 366 else Span.MONTH


def bucket_pieces(first: date, last: date, unit: Span, *, empty_after: date | None = None) -> list[tuple[date, Piece]]:
    """(bucket, piece) pairs: each bucket of `unit` over first..last, read from its span where it is whole."""
    out = []
    for bucket in starts(unit, first, last):
        lo, hi = max(first, bucket), min(last, span_end(unit, bucket))
        spans = () if unit is Span.DAY else (unit,)
        out += [(bucket, piece) for piece in cover(lo, hi, spans, empty_after=empty_after)]
    return out

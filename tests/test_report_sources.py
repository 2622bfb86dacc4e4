"""Reports from the rollups per local span give exactly the figures of the hourly rollups (issue 5).

Random presses over fourteen months, in sites of several time zones (Paris
with its daylight-saving changes, Cayenne, Réunion, and Kolkata whose half-hour
offset keeps it on the hourly path), then random periods read both ways.
"""

from __future__ import annotations

import random
from datetime import UTC, date, datetime, timedelta

import pytest
from web_support import Press, store_presses

from collector import report_cells
from collector.db import connect
from collector.periods import Span, bucket_pieces, bucket_unit, cover, span_end, span_start, starts
from collector.registry import add_kiosk, add_site, get_site, update_site
from collector.reports import build_report, followup_answers, previous_satisfaction
from collector.retention import purge_raw_events
from collector.rollups import rebuild_rollups, rollup_rows

OFFICE = {d: "08:30-12:00,13:30-17:30" for d in ("mon", "tue", "wed", "thu", "fri")}
SITES = [("paris", "Europe/Paris", 4), ("paris-2", "Europe/Paris", 5), ("cayenne", "America/Cayenne", 4),
         ("reunion", "Indian/Reunion", 3), ("kolkata", "Asia/Kolkata", 4)]
FIRST, LAST = date(2025, 9, 20), date(2026, 11, 20)
DST_DAYS = [date(2025, 10, 26), date(2026, 3, 29), date(2026, 10, 25)]


def expand(pieces) -> dict[date, int]:
    """How many times each day is counted by signed pieces."""
    count: dict[date, int] = {}
    for sign, span, start in pieces:
        day = start
        while day <= span_end(span, start):
            count[day] = count.get(day, 0) + sign
            day += timedelta(days=1)
    return {d: n for d, n in count.items() if n}


@pytest.mark.parametrize("first, last, spans, empty_after, expected", [
    (date(2026, 1, 1), date(2026, 11, 22), (Span.YEAR, Span.MONTH), date(2026, 11, 24),
     [(1, Span.YEAR, date(2026, 1, 1)), *((-1, Span.DAY, date(2026, 11, d)) for d in range(23, 31)),
      (-1, Span.MONTH, date(2026, 12, 1))]),
    (date(2026, 3, 1), date(2026, 4, 30), (Span.YEAR, Span.MONTH), None,
     [(1, Span.MONTH, date(2026, 3, 1)), (1, Span.MONTH, date(2026, 4, 1))]),
    (date(2026, 3, 30), date(2026, 4, 2), (Span.YEAR, Span.MONTH), None,
     [(1, Span.DAY, date(2026, 3, 30)), (1, Span.DAY, date(2026, 3, 31)), (1, Span.DAY, date(2026, 4, 1)),
      (1, Span.DAY, date(2026, 4, 2))]),
    (date(2026, 3, 3), date(2026, 3, 31), (Span.MONTH,), None,
     [(1, Span.MONTH, date(2026, 3, 1)), (-1, Span.DAY, date(2026, 3, 1)), (-1, Span.DAY, date(2026, 3, 2))]),
])
def test_cover_takes_the_cheapest_exact_pieces(first, last, spans, empty_after, expected):
    assert cover(first, last, spans, empty_after=empty_after) == expected


def test_cover_and_buckets_count_every_day_of_the_period_once():
    rng = random.Random(5)
    for _ in range(150):
        first = date(2024, 1, 1) + timedelta(days=rng.randrange(1200))
        last = first + timedelta(days=rng.choice([0, 1, 6, 30, 61, 62, 70, 200, 366, 367, 800]))
        days = {first + timedelta(days=i): 1 for i in range((last - first).days + 1)}
        empty_after = rng.choice([None, last, last - timedelta(days=20)])
        for spans in ((Span.YEAR, Span.MONTH), (Span.MONTH,), (Span.WEEK,), ()):
            assert expand(cover(first, last, spans, day_cost=rng.choice([1, 1 / 7]), empty_after=empty_after)) == days
        unit = bucket_unit(first, last)
        pairs = bucket_pieces(first, last, unit, empty_after=empty_after)
        assert expand(p for _, p in pairs) == days
        assert {b for b, _ in pairs} == set(starts(unit, first, last))
        assert all(span_start(unit, s) == b for b, (_, _, s) in pairs)


def random_presses(rng: random.Random, zone, n: int) -> list[Press]:
    presses = []
    special = [datetime.combine(d, datetime.min.time(), zone) for d in DST_DAYS + [FIRST, LAST]]
    for _ in range(n):
        if rng.random() < 0.3:  # around midnight and the clock changes, where days are cut
            when = rng.choice(special) + timedelta(minutes=rng.randrange(-26 * 60, 26 * 60))
        else:
            when = datetime.combine(FIRST, datetime.min.time(), zone) + timedelta(
                minutes=rng.randrange(int((LAST - FIRST).days * 24 * 60)))
        followup = {"question": "why", "choice": rng.choice(["wait", "place", "staff"])} if rng.random() < 0.3 else None
        presses.append(Press(when.astimezone(UTC), rng.randint(1, 3), rng.choice(["button", "touch"]),
                             rng.random() < 0.15, followup))
    return sorted(presses, key=lambda p: p.when)


@pytest.fixture(scope="module")
def db():
    database = connect(":memory:")
    rng = random.Random(22)
    for site_id, tz, scale in SITES:
        add_site(database, site_id, site_id, org="org-a" if site_id != "kolkata" else "org-b", tz=tz,
                 scale=scale, opening_hours=OFFICE)
        add_kiosk(database, f"{site_id}-k", site_id)
        add_kiosk(database, f"{site_id}-old", site_id)
        zone = get_site(database, site_id).zone
        store_presses(database, f"{site_id}-k", site_id, random_presses(rng, zone, 700))
        # An older kiosk model on another scale, for the groups of mixed scales.
        store_presses(database, f"{site_id}-old", site_id, random_presses(rng, zone, 60), scale=5 if scale != 5 else 3)
    yield database
    database.close()


def random_periods(rng: random.Random) -> list[tuple[date, date]]:
    periods = [(date(2026, 1, 1), date(2026, 11, 22)), (LAST - timedelta(days=364), LAST),
               (date(2025, 9, 1), date(2026, 12, 31)), (DST_DAYS[1], DST_DAYS[1]), (DST_DAYS[2], DST_DAYS[2])]
    for _ in range(14):
        first = FIRST - timedelta(days=10) + timedelta(days=rng.randrange(430))
        periods.append((first, first + timedelta(days=rng.choice([0, 1, 6, 29, 45, 62, 63, 120, 366, 380]))))
    return periods


@pytest.mark.parametrize("share", [0, report_cells.MANY_SITES_SHARE], ids=["by-site", "by-cell"])
def test_local_spans_give_the_hourly_figures(db, share, monkeypatch):
    """Both ways of reading the spans: each site's rows sorted, or every site's in cell order."""
    monkeypatch.setattr(report_cells, "MANY_SITES_SHARE", share)
    rng = random.Random(7)
    sites = [get_site(db, s) for s, _, _ in SITES]
    for first, last in random_periods(rng):
        scope = rng.sample(sites, rng.randint(1, len(sites)))
        for hours in ("all", "open"):
            counts = rng.choice(["filtered", "raw"])
            fast = build_report(db, scope, first, last, hours=hours, counts=counts, site_days=True)
            slow = build_report(db, scope, first, last, hours=hours, counts=counts, site_days=True, hourly=True)
            assert fast == slow, (first, last, hours, counts, [s.id for s in scope])
            assert followup_answers(db, scope, first, last, hours=hours, counts=counts) == followup_answers(
                db, scope, first, last, hours=hours, counts=counts, hourly=True)
            assert previous_satisfaction(db, scope, first, last, hours=hours, counts=counts) == \
                previous_satisfaction(db, scope, first, last, hours=hours, counts=counts, hourly=True)


def test_the_comparison_sees_every_kind_of_cell(db):
    """Guard against a vacuous comparison: the random data fill what the reports show."""
    sites = [get_site(db, s) for s, _, _ in SITES]
    report = build_report(db, sites, FIRST, LAST, site_days=True)
    assert report.unit is Span.MONTH and len(report.buckets) == 15 and len(report.heat) > 100
    assert report.outside_hours > 0 and report.flagged > 0 and report.scale is None
    assert set(report.by_channel) == {"button", "touch"} and all(t.total for t in report.by_site.values())
    assert len(followup_answers(db, sites, FIRST, LAST)) == 3
    dst = build_report(db, sites[:1], DST_DAYS[2], DST_DAYS[2])
    assert dst.raw.total > 0, "presses on the day with 25 hours"


def test_a_time_zone_change_places_the_spans_again(db):
    site = get_site(db, "cayenne")
    before = build_report(db, [site], FIRST, LAST, hourly=True)
    moved = update_site(db, "cayenne", tz="Europe/Paris")
    try:
        assert build_report(db, [moved], FIRST, LAST) == build_report(db, [moved], FIRST, LAST, hourly=True)
        assert build_report(db, [moved], FIRST, LAST) != before, "its days are now cut in Paris"
    finally:
        update_site(db, "cayenne", tz="America/Cayenne")
    assert build_report(db, [site], FIRST, LAST) == before


def test_retention_then_rebuild_keep_the_local_spans(tmp_path):
    db = connect(tmp_path / "r.db")
    add_site(db, "paris", "Paris", tz="Europe/Paris", opening_hours=OFFICE)
    add_kiosk(db, "k", "paris")
    store_presses(db, "k", "paris", random_presses(random.Random(3), get_site(db, "paris").zone, 400))
    site = get_site(db, "paris")
    report = build_report(db, [site], FIRST, LAST, site_days=True)
    live = rollup_rows(db)
    purge_raw_events(db, 60)
    rebuild_rollups(db)
    assert rollup_rows(db) == live
    assert build_report(db, [site], FIRST, LAST, site_days=True) == report


def test_reasons_over_time_from_local_spans_give_the_hourly_figures(db):
    from collector.followups import reasons_over_time
    rng = random.Random(18)
    sites = [get_site(db, s) for s, _, _ in SITES]
    compared = 0
    for first, last in random_periods(rng):
        scope = rng.sample(sites, rng.randint(1, len(sites)))
        for unit in (Span.DAY, Span.WEEK, Span.MONTH):
            hours, counts = rng.choice(["all", "open"]), rng.choice(["filtered", "raw"])
            fast = reasons_over_time(db, scope, first, last, unit, hours=hours, counts=counts)
            slow = reasons_over_time(db, scope, first, last, unit, hours=hours, counts=counts, hourly=True)
            assert fast == slow, (first, last, unit, hours, counts, [s.id for s in scope])
            compared += len(fast)
            totals: dict = {}
            for (_, reason), n in fast.items():
                totals[reason] = totals.get(reason, 0) + n
            assert totals == followup_answers(db, scope, first, last, hours=hours, counts=counts)
    assert compared > 1000, "the comparison saw many cells"

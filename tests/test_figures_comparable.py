"""Sites on 3, 4 and 5 faces are compared by a measure that means the same on each (issue 18, docs/figures.md).

The satisfied share of a 4-face site (no neutral face: the undecided must pick
a side) is not the satisfied share of a 3-face one, so a 3-face site always
ranked last. Net satisfaction (satisfied minus dissatisfied share) is the same
whether the undecided press a neutral face or split between the two middle ones.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from web_support import Press, login, quick_user, store_presses

from collector.bands import Band, band_of, shares_comparable
from collector.db import connect
from collector.registry import add_kiosk, add_site, get_site, update_site
from collector.reports import build_report, trend_reference
from collector.web.dashboard import ranking

PARIS = ZoneInfo("Europe/Paris")
DAY = date(2026, 10, 6)


@pytest.mark.parametrize("scale, bands", [
    (3, "DNS"), (4, "DDSS"), (5, "DDNSS"),
])
def test_each_face_has_its_band(scale, bands):
    names = {"D": Band.DISSATISFIED, "N": Band.NEUTRAL, "S": Band.SATISFIED}
    assert [band_of(scale, r) for r in range(1, scale + 1)] == [names[b] for b in bands]


@pytest.mark.parametrize("scales, comparable", [
    ([[3], [5]], True), ([[4], [4]], True), ([[3], [4]], False), ([[4, 5]], False), ([[3, 5], [3]], True),
])
def test_satisfied_shares_compare_only_between_scales_of_one_kind(scales, comparable):
    assert shares_comparable(*scales) is comparable


def at(day: date, minute: int) -> datetime:
    return datetime(day.year, day.month, day.day, 9, 0, tzinfo=PARIS) + timedelta(minutes=minute)


def presses(ratings: dict[int, int], day: date = DAY) -> list[Press]:
    out = [r for r, n in sorted(ratings.items()) for _ in range(n)]
    return [Press(at(day, i), r) for i, r in enumerate(out)]


@pytest.fixture
def two_scales(app):
    """60 visitors each. CCAS (3 faces): 38 satisfied, 10 neutral, 12 dissatisfied (net +43 %, 63 % satisfied).
    Mairie (4 faces): 36 satisfied, 12 undecided split 6 / 6 on the middle faces, 12 dissatisfied
    (net +40 %, 70 % satisfied)."""
    db = connect(app.config["DATABASE"])
    add_site(db, "ccas", "CCAS", org="ville", scale=3)
    add_site(db, "mairie", "Mairie", org="ville", scale=4)
    add_kiosk(db, "borne-1", "ccas")
    add_kiosk(db, "borne-2", "mairie")
    store_presses(db, "borne-1", "ccas", presses({3: 38, 2: 10, 1: 12}))
    store_presses(db, "borne-2", "mairie", presses({4: 18, 3: 18 + 6, 2: 6 + 6, 1: 6}))
    quick_user(db, "alice", "admin")
    yield db
    db.close()


def test_ranking_is_by_net_satisfaction_not_by_satisfied_share(app, two_scales):
    sites = [get_site(two_scales, "ccas"), get_site(two_scales, "mairie")]
    report = build_report(two_scales, sites, DAY, DAY)  # type: ignore[arg-type]
    with app.test_request_context():
        rows = ranking(report, {})
    assert [r.key for r in rows] == ["ccas", "mairie"], "the 3-face site no longer ranks last by construction"
    ccas, mairie = (r.tally for r in rows)
    assert ccas.satisfaction < mairie.satisfaction and ccas.net == pytest.approx(26 / 60)  # type: ignore[union-attr]
    assert mairie.net == pytest.approx(24 / 60)  # type: ignore[union-attr]


def test_the_page_ranks_by_net_and_marks_shares_as_not_comparable(app, two_scales):
    client = app.test_client()
    login(client, "alice")
    page = client.get(f"/dashboard?scope=org:ville&from={DAY.isoformat()}&to={DAY.isoformat()}").get_data(as_text=True)
    table = page.split('data-testid="ranking"')[1].split("</table>")[0]
    assert table.index("CCAS") < table.index("Mairie")
    assert "Satisfaction nette" in table and "+43\u202f%" in table and "+40\u202f%" in table
    assert 'data-testid="shares-not-comparable"' in page


def test_one_kind_of_scale_needs_no_mark(app, two_scales):
    update_site(two_scales, "ccas", scale=5)
    add_site(two_scales, "annexe", "Annexe", org="ville", scale=5)
    client = app.test_client()
    login(client, "alice")
    later = DAY + timedelta(days=1)
    store_presses(two_scales, "borne-1", "ccas", presses({5: 12}, later), first_seq=100)
    page = client.get(f"/dashboard?scope=org:ville&from={later.isoformat()}&to={later.isoformat()}").get_data(
        as_text=True)
    assert 'data-testid="shares-not-comparable"' not in page


def test_the_trend_is_not_a_satisfied_share_across_a_change_to_an_odd_scale(app, two_scales):
    later = DAY + timedelta(days=1)
    update_site(two_scales, "mairie", scale=5)
    store_presses(two_scales, "borne-2", "mairie", presses({5: 20, 3: 20}, later), first_seq=100)
    client = app.test_client()
    login(client, "alice")
    page = client.get(f"/dashboard?scope=site:mairie&from={later.isoformat()}&to={later.isoformat()}").get_data(
        as_text=True)
    assert "pas de période précédente comparable" in page, "70 % on 4 faces against 50 % on 5 is no change"


def test_the_walls_trend_leaves_out_days_on_a_scale_that_does_not_compare(app, two_scales):
    """Two Tuesdays on 4 faces (all satisfied), the site goes to 5 faces, two Tuesdays half neutral."""
    now = datetime(2026, 11, 3, 10, 30, tzinfo=PARIS)  # a Tuesday
    seq = store_presses(two_scales, "borne-2", "mairie",
                        [Press(now - timedelta(weeks=w, minutes=20), 4) for w in (4, 3)], first_seq=100)
    update_site(two_scales, "mairie", scale=5)
    store_presses(two_scales, "borne-2", "mairie",
                  [Press(now - timedelta(weeks=w, minutes=20 - m), r) for w in (2, 1) for m, r in enumerate((5, 3))],
                  first_seq=seq)
    reference = trend_reference(two_scales, get_site(two_scales, "mairie"), now)  # type: ignore[arg-type]
    assert reference["weeks"] == 2 and reference["reference"] == pytest.approx(0.5)

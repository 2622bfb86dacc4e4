"""Survey submissions (issue 14): once per form, through the kiosks' store path, limits and flags."""

from __future__ import annotations

import pytest

from collector.db import connect
from collector.registry import add_site, get_site
from collector.survey.comments import EMAIL_MASK, PHONE_MASK, CommentError, clean_comment
from collector.survey.form import survey_form
from collector.survey.guard import check_form, client_key, new_form
from collector.survey.links import create_link, revoke_link
from collector.survey.submit import Outcome, submit
from ressenti.protocol import utc_now


@pytest.fixture
def world():
    db = connect(":memory:")
    add_site(db, "mairie", "Mairie")
    link = create_link(db, "mairie", "phone")
    yield db, link, survey_form(db, get_site(db, "mairie"))
    db.close()


def test_a_form_counts_once_with_the_links_channel(world):
    db, link, form = world
    now = utc_now()
    fields = new_form("secret", link.slug, now)
    nonce, why = check_form("secret", link.slug, fields, now)
    assert why is None and nonce == fields["n"]
    first = submit(db, link, form, nonce=nonce, rating=3, client="c1", now=now)
    again = submit(db, link, form, nonce=nonce, rating=1, client="c1", now=now)
    assert (first.outcome, again.outcome) == (Outcome.STORED, Outcome.DUPLICATE)
    assert list(db.query("SELECT rating, channel, kiosk FROM events")) == [
        {"rating": 3, "channel": "phone", "kiosk": link.producer}]
    assert db.execute("SELECT SUM(n_raw) FROM rollup_hourly WHERE channel = 'phone'").fetchone()[0] == 1


def test_forged_or_old_forms_are_refused_with_a_reason(world):
    _, link, _ = world
    now = utc_now()
    fields = new_form("secret", link.slug, now)
    assert check_form("other", link.slug, fields, now)[1]
    assert check_form("secret", "zzzzzzzzzz", fields, now)[1]
    assert check_form("secret", link.slug, {**fields, "n": "x"}, now)[1]
    assert check_form("secret", link.slug, {}, now)[1]
    later = now.replace(year=now.year + 1)
    assert "expired" in check_form("secret", link.slug, fields, later)[1]


def test_bursts_are_flagged_then_limited_and_other_clients_pass(world):
    db, link, form = world
    now = utc_now()
    outcomes = [submit(db, link, form, nonce=new_form("s", link.slug, now)["n"], rating=2, client="flood",
                       now=now) for _ in range(1000)]
    stored = [r for r in outcomes if r.outcome is Outcome.STORED]
    assert len(stored) == 20 and [r.flags for r in stored[:3]] == [[], [], ["burst"]]
    assert all(r.outcome is Outcome.LIMITED and "rate limited" in r.reason for r in outcomes[20:])
    assert db.execute("SELECT count FROM rejected WHERE reason_class = 'rate_limited'").fetchone()[0] == 980
    other = submit(db, link, form, nonce=new_form("s", link.slug, now)["n"], rating=4, client="someone", now=now)
    assert other.outcome is Outcome.STORED and other.flags == []


def test_out_of_scale_and_revoked_are_refused_and_logged(world):
    db, link, form = world
    now = utc_now()
    bad = submit(db, link, form, nonce=new_form("s", link.slug, now)["n"], rating=9, client="c", now=now)
    assert bad.outcome is Outcome.REFUSED and "outside scale" in bad.reason
    revoke_link(db, link.id)
    gone = submit(db, link, form, nonce=new_form("s", link.slug, now)["n"], rating=2, client="c", now=now)
    assert gone.outcome is Outcome.REFUSED and "retired" in gone.reason
    assert db.execute("SELECT COUNT(*) FROM events").fetchone()[0] == 0
    assert db.execute("SELECT COUNT(*) FROM rejected").fetchone()[0] == 2


def test_client_keys_hide_the_address_and_change_each_day(world):
    db = world[0]
    now = utc_now()
    key = client_key(db, "203.0.113.7", now)
    assert key == client_key(db, "203.0.113.7", now) != client_key(db, "203.0.113.8", now)
    assert "203.0.113.7" not in key and len(key) == 16


def test_comments_are_masked_and_limited():
    text = clean_comment("Appelez-moi au 06 12 34 56 78 ou jean.dupont@example.fr, merci")
    assert PHONE_MASK in text and EMAIL_MASK in text and "06 12" not in text and "dupont" not in text
    assert clean_comment("   ") is None
    with pytest.raises(CommentError):
        clean_comment("x" * 1001)


def test_old_comments_are_purged_and_recent_ones_kept(world):
    from collector.survey.comments import purge_comments, store_comment
    db, link, _ = world
    store_comment(db, site="mairie", link_id=link.id, event_id="old", text="a", lang="fr")
    store_comment(db, site="mairie", link_id=link.id, event_id="new", text="b", lang="fr")
    db.conn.execute("UPDATE survey_comments SET created = '2020-01-01T00:00:00.000Z' WHERE event_id = 'old'")
    assert purge_comments(db, 90) == 1
    assert [r[0] for r in db.conn.execute("SELECT event_id FROM survey_comments")] == ["new"]

"""The survey page and links API over HTTP (issue 14): once per form, follow-up, bad input, no cookie."""

from __future__ import annotations

import re

import pytest
from web_support import login, quick_user

from collector.config_push import DEFAULT_FOLLOWUP
from collector.db import connect
from collector.registry import add_kiosk, add_site
from collector.survey.form import set_comments
from collector.survey.links import create_link, revoke_link


@pytest.fixture
def world(app):
    db = connect(app.config["DATABASE"])
    add_site(db, "mairie", "Mairie")
    add_site(db, "autre", "Autre")
    add_kiosk(db, "borne-1", "mairie")
    db.conn.execute("INSERT INTO kiosk_config (kiosk, site, rev, settings, pushed_at, pushed_by) VALUES"
                    " ('borne-1', 'mairie', 1, ?, '2026-01-01T00:00:00.000Z', 't')",
                    ('{"v":1,"rev":1,"scale":4,"question_id":"overall","question":{"fr":"Comment était'
                     ' votre accueil ?","en":"How was your welcome?"},"followup":' + __import__("json").dumps(
                         DEFAULT_FOLLOWUP) + '}',))
    link = create_link(db, "mairie", "web")
    yield db, link
    db.close()


def fields(html: str) -> dict[str, str]:
    return dict(re.findall(r'<input type="hidden" name="(\w+)" value="([^"]*)"', html))


def count(db) -> int:
    return db.execute("SELECT COUNT(*) FROM events").fetchone()[0]


def test_a_rating_is_stored_once_even_when_submitted_twice(world, client):
    db, link = world
    page = client.get(f"/s/{link.slug}")
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and "Comment était votre accueil ?" in html and "Pas bien du tout" in html
    form = fields(html)
    first = client.post(f"/s/{link.slug}", data={**form, "rating": "4"})
    again = client.post(f"/s/{link.slug}", data={**form, "rating": "4"})
    assert first.status_code == again.status_code == 303 and "/merci" in first.headers["Location"]
    assert count(db) == 1
    assert "Merci" in client.get(first.headers["Location"]).get_data(as_text=True)
    assert "Set-Cookie" not in page.headers and "Set-Cookie" not in first.headers
    assert client.get(f"/s/{link.slug}?lang=en").headers.get("Set-Cookie") is None


def test_a_low_rating_asks_the_followup_first(world, client):
    db, link = world
    form = fields(client.get(f"/s/{link.slug}").get_data(as_text=True))
    step = client.post(f"/s/{link.slug}", data={**form, "rating": "1"})
    html = step.get_data(as_text=True)
    assert step.status_code == 200 and "Qu&#39;est-ce qui n&#39;a pas été ?" in html and count(db) == 0
    done = client.post(f"/s/{link.slug}", data={**fields(html), "followup": "wait"})
    assert done.status_code == 303
    assert db.execute("SELECT rating, followup, channel FROM events").fetchone() == (
        1, '{"question": "why", "choice": "wait"}', "web")


def test_bad_input_gets_a_clear_answer_and_is_logged(world, client):
    db, link = world
    form = fields(client.get(f"/s/{link.slug}").get_data(as_text=True))
    assert client.get("/s/zzzzzzzzzz").status_code == 404
    assert client.post("/s/zzzzzzzzzz", data={**form, "rating": "3"}).status_code == 404
    outside = client.post(f"/s/{link.slug}", data={**form, "rating": "9"})
    assert outside.status_code == 400 and "Choisissez un des visages" in outside.get_data(as_text=True)
    forged = client.post(f"/s/{link.slug}", data={**form, "s": "0" * 32, "rating": "3"})
    assert forged.status_code == 400
    set_comments(db, "mairie", True)
    long = client.post(f"/s/{link.slug}", data={**form, "rating": "3", "comment": "x" * 1500})
    assert long.status_code == 400 and "1000 au plus" in long.get_data(as_text=True)
    assert count(db) == 0 and db.execute("SELECT SUM(count) FROM rejected").fetchone()[0] == 3
    ok = client.post(f"/s/{link.slug}", data={**form, "rating": "3", "comment": "Tél 06 12 34 56 78"})
    assert ok.status_code == 303
    assert db.execute("SELECT text FROM survey_comments").fetchone()[0] == "Tél [téléphone masqué]"
    revoke_link(db, link.id)
    assert client.get(f"/s/{link.slug}").status_code == 410
    assert client.post(f"/s/{link.slug}", data={**form, "rating": "3"}).status_code == 410


def test_a_thousand_submissions_from_one_client_are_limited_and_others_pass(world, app):
    db, link = world
    flood = app.test_client()
    statuses = []
    for _ in range(1000):
        form = fields(flood.get(f"/s/{link.slug}").get_data(as_text=True))
        statuses.append(flood.post(f"/s/{link.slug}", data={**form, "rating": "4"}).status_code)
    assert statuses.count(303) == 20 and statuses.count(429) == 980
    other = app.test_client()
    form = fields(other.get(f"/s/{link.slug}").get_data(as_text=True))
    assert other.post(f"/s/{link.slug}", data={**form, "rating": "4"},
                      environ_base={"REMOTE_ADDR": "192.0.2.9"}).status_code == 303
    assert count(db) == 21


def test_links_api_for_admins_and_the_sites_managers(world, app, client, admin_headers):
    db, link = world
    made = client.post("/api/v1/survey-links", json={"site": "mairie", "channel": "phone", "desk": "Accueil"},
                       headers=admin_headers)
    assert made.status_code == 201 and made.json["url"].endswith(made.json["path"])
    assert {x["id"] for x in client.get("/api/v1/survey-links", headers=admin_headers).json} == {
        link.id, made.json["id"]}
    assert client.post("/api/v1/survey-links", json={"site": "mairie", "channel": "sms"},
                       headers=admin_headers).status_code == 400
    assert client.get("/api/v1/survey-links").status_code == 401
    quick_user(db, "manon", "manager", ("site:mairie",))
    manager = app.test_client()
    login(manager, "manon")
    assert manager.post("/api/v1/survey-links", json={"site": "autre"}).status_code == 403
    assert manager.post("/api/v1/survey-links", data={"site": "mairie"}).status_code == 415
    assert manager.post("/api/v1/survey-links", json={"site": "mairie"}).status_code == 201
    assert manager.delete(f"/api/v1/survey-links/{made.json['id']}").json["active"] is False
    assert "/s/" in manager.get("/admin/survey?site=mairie").get_data(as_text=True)

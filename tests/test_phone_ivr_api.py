"""POST /api/v1/ivr, the telephone line's hook: one event per call, refusals with their reason (docs/phone.md)."""

from __future__ import annotations

import json

import pytest

from collector.db import connect
from collector.ivr import call_event_id
from collector.registry import add_kiosk, add_site, retire_kiosk
from collector.tokens import TokenKind, create_token


@pytest.fixture
def phone(app):
    db = connect(app.config["DATABASE"])
    add_site(db, "mairie", "Mairie", scale=4)
    add_kiosk(db, "mairie-tel", "mairie", channel="phone")
    add_kiosk(db, "mairie-web", "mairie", channel="web")
    _, token = create_token(db, TokenKind.SOURCE, "mairie-tel")
    _, web = create_token(db, TokenKind.SOURCE, "mairie-web")
    db.close()
    return {"app": app, "client": app.test_client(), "auth": {"Authorization": f"Bearer {token}"},
            "web": {"Authorization": f"Bearer {web}"}}


def rows(app, sql: str) -> list[dict]:
    db = connect(app.config["DATABASE"])
    try:
        return list(db.query(sql))
    finally:
        db.close()


def test_a_form_post_is_one_phone_event_and_a_repost_is_a_duplicate(phone):
    client, auth = phone["client"], phone["auth"]
    first = client.post("/api/v1/ivr", data={"rating": "2", "call_id": "1733.5"}, headers=auth)
    assert first.status_code == 201, first.get_json()
    assert first.get_json()["event"] == call_event_id("mairie-tel", "1733.5")
    again = client.post("/api/v1/ivr", json={"rating": 4, "call_id": "1733.5"}, headers=auth)
    assert again.status_code == 200 and again.get_json()["duplicate"] is True
    assert rows(phone["app"], "SELECT rating, channel, scale, question, site FROM events") == [
        {"rating": 2, "channel": "phone", "scale": 4, "question": "overall", "site": "mairie"}]
    summary = rows(phone["app"], "SELECT SUM(n) AS n FROM rollups_raw") if rows(
        phone["app"], "SELECT name FROM sqlite_master WHERE name = 'rollups_raw'") else None
    if summary is not None:
        assert summary[0]["n"] == 1


@pytest.mark.parametrize(("body", "reason"), [
    ({"rating": "5", "call_id": "c1"}, "key '5' is not a rating from 1 to 4"),
    ({"rating": "*", "call_id": "c1"}, "key '*' is not a rating from 1 to 4"),
    ({"rating": "0", "call_id": "c1"}, "is not a rating from 1 to 4"),
    ({"rating": "12", "call_id": "c1"}, "is not a rating from 1 to 4"),
    ({"call_id": "c1"}, "rating is missing"),
    ({"rating": "3"}, "call_id is missing"),
    ({"rating": "3", "call_id": "a b"}, "is not 1 to 128"),
    ({"rating": "3", "call_id": "c1", "caller": "0612"}, "unknown field 'caller'"),
    ({"rating": "3", "call_id": "c1", "ts": "yesterday"}, "ts 'yesterday'"),
    ({"rating": "3", "call_id": "c1", "question": "Q?"}, "is not a slug"),
    ({"rating": "3", "call_id": "c1", "scale": "7"}, "is not 3, 4 or 5"),
])
def test_bad_answers_are_refused_with_their_reason_and_kept_in_rejected(phone, body, reason):
    response = phone["client"].post("/api/v1/ivr", data=body, headers=phone["auth"])
    assert response.status_code == 400
    assert reason in response.get_json()["error"]
    kept = rows(phone["app"], "SELECT kiosk, reason, topic FROM rejected")
    assert [(r["kiosk"], r["topic"]) for r in kept] == [("mairie-tel", "POST /api/v1/ivr")]
    assert reason in kept[0]["reason"]
    assert rows(phone["app"], "SELECT id FROM events") == []


def test_an_answer_dated_too_far_back_is_refused_every_time(phone):
    from datetime import timedelta

    from ressenti.protocol import format_ts, utc_now
    body = {"rating": "3", "call_id": "old", "ts": format_ts(utc_now() - timedelta(days=200))}
    for _ in range(2):
        response = phone["client"].post("/api/v1/ivr", data=body, headers=phone["auth"])
        assert response.status_code == 422 and "92 days" in response.get_json()["error"]
    assert rows(phone["app"], "SELECT id FROM events") == []


def test_a_web_source_a_retired_source_and_no_token_are_refused(phone, app):
    client = phone["client"]
    web = client.post("/api/v1/ivr", data={"rating": "3", "call_id": "c"}, headers=phone["web"])
    assert web.status_code == 403 and "phone" in web.get_json()["error"]
    assert client.post("/api/v1/ivr", data={"rating": "3", "call_id": "c"}).status_code == 401
    db = connect(app.config["DATABASE"])
    retire_kiosk(db, "mairie-tel")
    db.close()
    retired = client.post("/api/v1/ivr", data={"rating": "3", "call_id": "c"}, headers=phone["auth"])
    assert retired.status_code == 422 and "retired" in retired.get_json()["error"]


@pytest.mark.parametrize("raw", [b"", b"{", b"[]", b"null", b'"x"', b"[" * 3000, b'{"rating": NaN}',
                                 json.dumps({"rating": 10**400, "call_id": "c"}).encode(),
                                 json.dumps({"rating": [1], "call_id": {"a": 1}}).encode(),
                                 json.dumps({"rating": True, "call_id": "c"}).encode(), b"x" * 5000])
def test_unusable_json_never_gives_a_5xx(phone, raw):
    response = phone["client"].post("/api/v1/ivr", data=raw,
                                    headers={**phone["auth"], "Content-Type": "application/json"})
    assert 400 <= response.status_code < 500
    assert response.get_json()["error"]

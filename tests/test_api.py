"""The JSON API: public figures, admin registry routes, and HTTP sources posting events."""

from __future__ import annotations

import json
import uuid

import pytest

from collector.db import connect
from collector.queries import today
from collector.registry import get_site
from collector.series import site_series
from ressenti.protocol import format_ts, utc_now


def events_body(source: str, site: str, seqs, rating: int = 4, **changes) -> dict:
    epoch = "5d1f3a2b-9c8e-4f7d-a6b5-c4d3e2f1a0b9"
    return {"v": 1, "kiosk": source, "site": site, "epoch": epoch, "boot": "web", "up_ms": 5, "events": [
        {"id": str(uuid.uuid5(uuid.NAMESPACE_DNS, f"{source}-{s}")), "seq": s, "ts": format_ts(utc_now()),
         "clock": "ntp", "boot": "web", "up_ms": 1, "question": "overall", "scale": 4, "rating": rating,
         "input": "button", "flags": [], "followup": None, "lang": "fr", **changes} for s in seqs]}


@pytest.fixture
def site(client, admin_headers):
    response = client.post("/api/v1/sites", headers=admin_headers, json={
        "id": "mairie", "name": "Mairie", "scale": 4, "opening_hours": {"mon": "08:30-17:00"}})
    assert response.status_code == 201, response.get_json()
    return "mairie"


@pytest.mark.parametrize("method, path", [
    ("post", "/api/v1/sites"), ("patch", "/api/v1/sites/x"), ("get", "/api/v1/kiosks"),
    ("post", "/api/v1/kiosks"), ("get", "/api/v1/kiosks/k/gaps"), ("get", "/api/v1/rejected"),
    ("post", "/api/v1/sources"), ("get", "/api/v1/tokens"), ("delete", "/api/v1/tokens/1"),
])
def test_admin_routes_need_an_admin_token(client, method, path):
    response = getattr(client, method)(path, json={})
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"] == "Bearer"
    wrong = getattr(client, method)(path, json={}, headers={"Authorization": "Bearer rst_admin_forged"})
    assert wrong.status_code == 401


def test_registry_round_trip(client, admin_headers, site):
    assert client.get("/api/v1/sites").get_json()[0]["id"] == "mairie"
    assert client.patch("/api/v1/sites/mairie", headers=admin_headers,
                        json={"name": "Mairie annexe"}).get_json()["name"] == "Mairie annexe"
    assert client.post("/api/v1/kiosks", headers=admin_headers,
                       json={"id": "borne-1", "site": "mairie"}).status_code == 201
    assert client.get("/api/v1/kiosks", headers=admin_headers).get_json()[0]["id"] == "borne-1"
    bad = client.post("/api/v1/kiosks", headers=admin_headers, json={"id": "Borne 1", "site": "mairie"})
    assert bad.status_code == 400 and "lower-case" in bad.get_json()["error"]
    retired = client.post("/api/v1/kiosks/borne-1/retire", headers=admin_headers).get_json()
    assert retired["retired"] is True
    assert client.get("/api/v1/kiosks/borne-1/gaps", headers=admin_headers).get_json()["gaps"] == []


def test_source_posts_events_and_its_channel_wins(client, admin_headers, site):
    made = client.post("/api/v1/sources", headers=admin_headers,
                       json={"id": "formulaire-web", "site": "mairie", "channel": "web"}).get_json()
    token = {"Authorization": f"Bearer {made['token']}"}
    ack = client.post("/api/v1/events", headers=token, json=events_body("formulaire-web", "mairie", [1, 2, 3]))
    assert ack.status_code == 200, ack.get_json()
    assert ack.get_json()["through"] == 3
    replay = client.post("/api/v1/events", headers=token, json=events_body("formulaire-web", "mairie", [1, 2, 3]))
    assert replay.get_json()["through"] == 3
    summary = client.get("/api/v1/sites/mairie/summary", headers=admin_headers).get_json()
    assert summary["total"] == 3, "the replay counted nothing twice"
    db = connect(client.application.config["DATABASE"])
    assert {r["channel"] for r in db.query("SELECT channel FROM events")} == {"web"}, \
        "the body said button; the source is web"


def test_source_token_is_only_for_its_own_source(client, admin_headers, site):
    made = client.post("/api/v1/sources", headers=admin_headers,
                       json={"id": "ligne-tel", "site": "mairie", "channel": "phone"}).get_json()
    token = {"Authorization": f"Bearer {made['token']}"}
    other = client.post("/api/v1/events", headers=token, json=events_body("formulaire-web", "mairie", [1]))
    assert other.status_code == 403
    assert client.post("/api/v1/events", json=events_body("ligne-tel", "mairie", [1])).status_code == 401
    assert client.post("/api/v1/events", headers=admin_headers,
                       json=events_body("ligne-tel", "mairie", [1])).status_code == 401


@pytest.mark.parametrize("body, status, message", [
    (b"{nope", 400, "not JSON"),
    (json.dumps({"v": 1}).encode(), 400, "missing"),
    (b"x" * 300_000, 413, "at most"),
])
def test_bad_http_batches(client, admin_headers, site, body, status, message):
    made = client.post("/api/v1/sources", headers=admin_headers,
                       json={"id": "formulaire-web", "site": "mairie", "channel": "web"}).get_json()
    response = client.post("/api/v1/events", data=body, content_type="application/json",
                           headers={"Authorization": f"Bearer {made['token']}"})
    assert response.status_code == status
    assert message in response.get_json()["error"]
    rejected = client.get("/api/v1/rejected", headers=admin_headers).get_json()
    assert rejected and rejected[0]["kiosk"] == "formulaire-web"


def test_event_rejections_come_back_in_the_ack(client, admin_headers, site):
    made = client.post("/api/v1/sources", headers=admin_headers,
                       json={"id": "formulaire-web", "site": "mairie", "channel": "web"}).get_json()
    body = events_body("formulaire-web", "mairie", [1, 2])
    body["events"][1]["rating"] = 9
    ack = client.post("/api/v1/events", json=body, headers={"Authorization": f"Bearer {made['token']}"}).get_json()
    assert ack["through"] == 2
    assert ack["rejected"] == [{"seq": 2, "reason": "rating 9 outside scale 4"}]


@pytest.mark.parametrize("query, status", [
    ("?from=2026-13-01", 400), ("?from=2026-11-10&to=2026-11-01", 400), ("?hours=night", 400),
    ("?from=2026-11-01&to=2026-11-30&hours=open", 200),
])
def test_summary_arguments(client, site, query, status):
    assert client.get(f"/api/v1/sites/mairie/summary{query}").status_code == status


def test_unknown_site_is_404(client):
    response = client.get("/api/v1/sites/nowhere/summary")
    assert response.status_code == 404 and "nowhere" in response.get_json()["error"]


def test_series(client, admin_headers, site):
    made = client.post("/api/v1/sources", headers=admin_headers,
                       json={"id": "formulaire-web", "site": "mairie", "channel": "web"}).get_json()
    client.post("/api/v1/events", json=events_body("formulaire-web", "mairie", [1, 2], rating=2),
                headers={"Authorization": f"Bearer {made['token']}"})
    for unit in ("day", "hour"):
        series = client.get(f"/api/v1/sites/mairie/series?unit={unit}", headers=admin_headers).get_json()["series"]
        assert len(series) == 1 and series[0]["total"] is None, "2 answers: withheld even for an admin"
    db = connect(client.application.config["DATABASE"])
    assert site_series(db, get_site(db, "mairie"), *([today(get_site(db, "mairie"))] * 2), unit="hour",
                       min_cell=1)[0]["counts"]["2"] == 2


def test_revoked_token_stops_working(client, admin_headers):
    made = client.post("/api/v1/tokens", headers=admin_headers, json={"kind": "admin"}).get_json()
    other = {"Authorization": f"Bearer {made['token']}"}
    assert client.get("/api/v1/tokens", headers=other).status_code == 200
    assert client.delete(f"/api/v1/tokens/{made['id']}", headers=admin_headers).status_code == 200
    assert client.get("/api/v1/tokens", headers=other).status_code == 401

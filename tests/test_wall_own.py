"""`/wall` without a token: a logged-in user's own wall, the demo's public wall, else the login page."""

from __future__ import annotations

import json

import pytest

from collector.db import connect
from collector.registry import add_site


def first_snapshot(client) -> bytes:
    """Read /wall/stream until its first snapshot event is complete."""
    response = client.get("/wall/stream", buffered=False)
    text = b""
    for chunk in response.response:
        text += chunk if isinstance(chunk, bytes) else chunk.encode()
        if b"event: snapshot" in text and b"\n\n" in text.split(b"event: snapshot", 1)[1]:
            break
    response.close()
    return text


@pytest.fixture
def sites(app):
    db = connect(app.config["DATABASE"])
    add_site(db, "mairie", "Mairie")
    db.close()


def test_anonymous_goes_to_login(client, sites):
    response = client.get("/wall")
    assert response.status_code == 302 and "/login" in response.headers["Location"]
    assert client.get("/wall/check").status_code == 410
    assert client.get("/wall/stream").status_code == 410


def test_public_wall_in_the_demo(app, client, sites):
    app.config["PUBLIC_WALL"] = True
    assert client.get("/wall").status_code == 200
    assert client.get("/wall/check").status_code == 204
    assert b'"site":"mairie"' in first_snapshot(client)


def test_logged_in_user_gets_the_wall_of_their_sites(app, client, sites):
    from web_support import login, quick_user

    db = connect(app.config["DATABASE"])
    add_site(db, "ccas", "CCAS")
    quick_user(db, "camille", "manager", scope=("site:mairie",))
    db.close()
    login(client, "camille")
    assert client.get("/wall").status_code == 200
    assert client.get("/wall/check").status_code == 204
    text = first_snapshot(client)
    assert b'"site":"mairie"' in text
    assert b'"site":"ccas"' not in text, "a manager's wall shows only their own sites"


def test_the_stream_names_kiosks_by_label_or_place_never_by_id(app, client, sites):
    from collector.registry import add_kiosk
    app.config["PUBLIC_WALL"] = True
    db = connect(app.config["DATABASE"])
    add_kiosk(db, "mairie-k1", "mairie", "Hall d'entrée")
    add_kiosk(db, "mairie-k2", "mairie")  # no label: its id is its name in the registry
    db.close()
    text = first_snapshot(client).decode()
    snapshot = json.loads(text.split("event: snapshot\ndata: ", 1)[1].split("\n", 1)[0])
    assert snapshot["sites"][0]["kiosks"] == [{"n": 1, "label": "Hall d'entrée", "online": False},
                                              {"n": 2, "label": None, "online": False}]
    assert "mairie-k1" not in text and "mairie-k2" not in text

"""Issue 17, web authentication: each test is named after the attack it stops."""

from __future__ import annotations

from urllib.parse import urljoin, urlsplit

import pytest
from web_support import PASSWORD, csrf, login, quick_user

from collector.db import connect
from collector.registry import add_site


@pytest.fixture
def db(app):
    database = connect(app.config["DATABASE"])
    add_site(database, "mairie", "Mairie", org="ville")
    add_site(database, "autre", "Autre commune", org="ailleurs")
    quick_user(database, "alice", "admin")
    quick_user(database, "victor", "viewer", ("org:ville",))
    yield database
    database.close()


# -- open redirect after login -------------------------------------------------------------

# What an attacker may put in `?next=` (decoded values). Browsers strip tabs and newlines from a
# URL and read a backslash as a slash, so several of these reach another host once "cleaned".
HOSTILE_NEXT = [
    "/\t/evil.example/", "/\n/evil.example/", "/\r/evil.example/", "\t//evil.example/", "/\r\n/evil.example",
    "//evil.example/", "///evil.example/", "////evil.example", "https://evil.example/", "http:evil.example",
    "HTTPS://evil.example", "javascript:alert(1)", "data:text/html,<script>alert(1)</script>",
    "/\\evil.example", "\\\\evil.example", "\\/evil.example", " //evil.example", "/ /evil.example",
    "evil.example", "./evil", "?next=//evil.example", "#//evil.example", "/\x00/evil.example",
    "/\x0b/evil.example", "/\x0c/evil.example", "/\x7f/evil.example", "/\u3000/evil.example",
    "/\u2028/evil.example", "/\u00a0/evil.example", "/\ufeff/evil.example", "/dashboard\n", "/" + "a" * 5000,
]
SAFE_NEXT = ["/fleet", "/dashboard?scope=site:mairie&period=7d", "/admin/users", "/dashboard/export.csv?table=days",
             "/%2F/evil.example"]  # an encoded slash is a path segment, not a host


def _same_site(location: str) -> bool:
    return urlsplit(urljoin("http://localhost/login", location.replace("\\", "/"))).netloc == "localhost"


def test_logged_in_next_cannot_redirect_to_another_host(client, db):
    login(client, "alice")
    raw = client.get("/login?next=/%09/evil.example/")  # the value the review found
    assert raw.status_code == 302 and raw.headers["Location"] == "/dashboard"
    for target in HOSTILE_NEXT:
        response = client.get("/login", query_string={"next": target})
        assert response.status_code == 302, repr(target)
        assert response.headers["Location"] == "/dashboard", repr(target)
    for target in SAFE_NEXT:
        response = client.get("/login", query_string={"next": target})
        assert response.headers["Location"] == target and _same_site(target)


@pytest.mark.parametrize("encoded", ["%0a", "%0d", "%0d%0aSet-Cookie:%20x=1", "%00"])
def test_control_characters_in_next_cannot_break_the_response(client, db, encoded):
    assert client.get(f"/login?next=/{encoded}/x").status_code == 200, "anonymous: the form, not a 500"
    login(client, "alice")
    response = client.get(f"/login?next=/{encoded}/x")
    assert response.status_code == 302 and response.headers["Location"] == "/dashboard"
    assert "x=1" not in response.headers.get("Set-Cookie", "")


def test_login_form_does_not_carry_a_hostile_next(client, db):
    for target in HOSTILE_NEXT:
        page = client.get("/login", query_string={"next": target}).get_data(as_text=True)
        assert 'name="next" value="/dashboard"' in page, repr(target)


def test_posted_next_cannot_redirect_to_another_host(client, db):
    for target in [*HOSTILE_NEXT, *SAFE_NEXT]:
        with client.application.test_client() as fresh:
            token = csrf(fresh.get("/login").get_data(as_text=True))
            response = fresh.post("/login", data={"login": "alice", "password": PASSWORD, "next": target,
                                                  "csrf_token": token})
            assert response.status_code == 302, repr(target)
            expected = target if target in SAFE_NEXT else "/dashboard"
            assert response.headers["Location"] == expected, repr(target)

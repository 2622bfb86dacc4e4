"""Bad input thrown at every form, every dashboard filter and every admin API route: never a 5xx.

The forms are read from the pages themselves (every <form> with its fields), so a
form added later is covered without touching this file; the admin API routes are
listed by the app's URL map and each must appear in API_FIELDS.
"""

from __future__ import annotations

import json
import re
from html.parser import HTMLParser

import pytest
from web_support import login, quick_user, seed_history

from collector.db import connect

BAD_TEXT = ["", " ", "0001-01-01", "9999-12-31", "2099-01-01", "-1", "0", str(10**30), "1e309", "NaN", "abc",
            "x" * 5000, "\x00", "../../etc/passwd", "<script>alert(1)</script>", "25:00-26:00", "8h30-12h",
            "site:nowhere", "org:", "é" * 300]
BAD_JSON = [None, "4", 10**30, -(10**30), -1, 0, 1.5, True, [], {}, "x" * 5000, "\u0000", {"mon": 5},
            {"mon": "8h-25h"}, ["a", 1], "../../etc"]

PAGES = ["/dashboard", "/fleet", "/admin/sites", "/admin/sites?edit=mairie-centre", "/admin/kiosks",
         "/admin/walls", "/admin/config", "/admin/users", "/admin/sources",
         "/admin/survey"]
QUERY_ARGS = ["scope", "from", "to", "period", "hours", "counts", "lang", "edit", "site", "table", "question"]


class Forms(HTMLParser):
    """Each form's method, action and field names, as a browser would submit them."""

    def __init__(self) -> None:
        super().__init__()
        self.forms: list[dict] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if tag == "form":
            self.forms.append({"method": (a.get("method") or "get").lower(), "action": a.get("action") or "",
                               "fields": {}})
        elif tag in ("input", "select", "textarea") and self.forms and a.get("name"):
            self.forms[-1]["fields"][a["name"]] = a.get("value") or ""


@pytest.fixture
def seeded(app):
    db = connect(app.config["DATABASE"])
    seed_history(db, days=3)
    quick_user(db, "alice", "admin")
    db.close()
    return app


def forms_of(client, page: str) -> list[dict]:
    parser = Forms()
    parser.feed(client.get(page).get_data(as_text=True))
    return parser.forms


def assert_no_5xx(response, what: str) -> None:
    assert response.status_code < 500, f"{what} answered {response.status_code}"


def test_every_form_field_takes_bad_values_without_a_5xx(seeded):
    client = seeded.test_client()
    login(client, "alice")
    checked = 0
    for page in PAGES:
        for form in forms_of(client, page):
            if form["action"].endswith("/logout"):
                continue
            for name in form["fields"]:
                if name == "csrf_token":
                    continue
                for value in BAD_TEXT:
                    data = {**form["fields"], name: value}
                    if form["method"] == "post":
                        # a fresh token each time: the form's own, as the browser sends it
                        data["csrf_token"] = forms_of(client, page)[0]["fields"].get("csrf_token", "")
                        response = client.post(form["action"], data=data)
                    else:
                        response = client.get(form["action"] or page, query_string=data)
                    assert_no_5xx(response, f"{form['method'].upper()} {form['action']} {name}={value[:40]!r}")
                    checked += 1
    assert checked > 500, "the pages' forms were not found"


@pytest.mark.parametrize("value", BAD_TEXT)
def test_dashboard_and_export_arguments_never_give_a_5xx(seeded, value):
    client = seeded.test_client()
    login(client, "alice")
    for path in ("/dashboard", "/dashboard/export.csv", "/dashboard/export.xlsx", "/fleet", "/admin/sites",
                 "/admin/config"):
        for name in QUERY_ARGS:
            assert_no_5xx(client.get(path, query_string={name: value}), f"GET {path}?{name}={value[:40]!r}")
    for first, last in (("0001-01-01", "0001-01-31"), ("9999-12-01", "9999-12-31"), ("0001-01-01", "9999-12-31"),
                        ("2026-01-31", "2026-01-01")):
        assert_no_5xx(client.get("/dashboard", query_string={"from": first, "to": last}), f"{first}..{last}")


# Every admin API route with a body, and the fields it reads.
API_FIELDS = {
    ("POST", "/api/v1/sites"): ["id", "name", "org", "tz", "scale", "opening_hours"],
    ("PATCH", "/api/v1/sites/<site_id>"): ["name", "org", "tz", "scale", "opening_hours", "published"],
    ("PATCH", "/api/v1/orgs/<org_id>"): ["published"],
    ("POST", "/api/v1/kiosks"): ["id", "site", "name"],
    ("PATCH", "/api/v1/kiosks/<kiosk_id>"): ["site", "name"],
    ("POST", "/api/v1/kiosks/<kiosk_id>/retire"): [],
    ("POST", "/api/v1/sources"): ["id", "site", "name", "channel"],
    ("POST", "/api/v1/tokens"): ["kind", "subject", "label"],
    ("DELETE", "/api/v1/tokens/<int:token_id>"): [],
    ("POST", "/api/v1/survey-links"): ["site", "channel", "desk", "label"],
    ("DELETE", "/api/v1/survey-links/<int:link_id>"): [],
}
GOOD = {"id": "neuf", "name": "Neuf", "org": "ville", "tz": "Europe/Paris", "scale": 4, "opening_hours": None,
        "site": "mairie-centre", "channel": "web", "kind": "wall", "subject": "demo-ville", "label": "x",
        "published": True, "desk": "Accueil"}
ARGS = {"<site_id>": "mairie-centre", "<org_id>": "demo-ville", "<kiosk_id>": "mairie-centre-borne-1",
        "<int:token_id>": "1", "<int:link_id>": "1"}


def test_every_admin_api_route_is_in_the_table(seeded):
    routes = {(method, rule.rule) for rule in seeded.url_map.iter_rules()
              if rule.endpoint.startswith(("api_admin.", "api_survey."))
              for method in rule.methods - {"HEAD", "OPTIONS", "GET"}}
    assert routes == set(API_FIELDS)


@pytest.mark.parametrize(("method", "rule"), list(API_FIELDS))
def test_admin_api_takes_wrong_types_without_a_5xx(seeded, admin_headers, method, rule):
    client = seeded.test_client()
    path = rule
    for arg, value in ARGS.items():
        path = path.replace(arg, value)
    for raw in (b"", b"{", b"[]", b"null", b'"x"', b"1" * 400, b"[" * 100_000, b'{"scale": NaN}',
                b'{"scale": Infinity}', b'{"scale": 1e999}', json.dumps({"scale": 10**400}).encode()):
        response = client.open(path, method=method, data=raw, headers={**admin_headers,
                                                                       "Content-Type": "application/json"})
        assert_no_5xx(response, f"{method} {path} {raw[:30]!r}")
    for name in API_FIELDS[(method, rule)]:
        for value in BAD_JSON:
            body = {**{k: GOOD[k] for k in API_FIELDS[(method, rule)]}, name: value}
            response = client.open(path, method=method, json=body, headers=admin_headers)
            assert_no_5xx(response, f"{method} {path} {name}={json.dumps(value)[:40]}")
            if response.status_code == 400:
                assert re.search(r"\w", response.get_json(silent=True).get("error", "")), "a reason is given"

"""Issue 17: who may call what. Every route of the app × every kind of caller → the expected status.

A route the app serves but this table does not list fails `test_every_route_has_a_rule`, so a new
route cannot ship without someone deciding who may call it. Requests carry a valid CSRF token (the
form's own), so what is tested is the authorization, not the CSRF check. Requests that are allowed
are made harmless (unknown ids, empty forms): the rule is judged by the status, 401/403/login
meaning refused before the view did anything.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pytest
from web_support import csrf, login, quick_user

from collector.alerts.rules import Kind
from collector.alerts.store import Finding, raise_alert
from collector.db import connect, write_transaction
from collector.registry import add_kiosk, add_site
from collector.survey.links import create_link
from collector.tokens import TokenKind, create_token, revoke_token
from collector.users import set_disabled
from collector.walls import create_wall
from collector.web import create_app

SESSIONS = ("admin", "manager", "viewer", "outsider", "no_scope")
TOKENS = ("admin_token", "source_token", "wall_token", "revoked_token")
# A user who logged in and whose account was then disabled: the session has ended, so the
# caller is anonymous in every case (`expected["anonymous"]`).
ENDED = "disabled_after_login"
CALLERS = ("anonymous", *SESSIONS, *TOKENS, ENDED)
LOGINS = {"admin": "alice", "manager": "manon", "viewer": "victor", "outsider": "olga", "no_scope": "nina",
          ENDED: "dora"}
LOGIN = "to the login page"  # 302 to /login?next=...
RANK = {"viewer": 0, "no_scope": 0, "manager": 1, "outsider": 1, "admin": 2}
NEEDS = {"viewer": 0, "manager": 1, "admin": 2}


def _with_ended(expected: dict[str, Any]) -> dict[str, Any]:
    return {**expected, ENDED: expected["anonymous"]}


def session_rule(least: str, ok: int, *, scoped: bool = False, **overrides: Any) -> dict[str, Any]:
    """A cookie page: the login page without a session (tokens are no session), 403 below `least`.

    `scoped`: the request is about the site `mairie`, which `outsider` (a manager of another
    organisation) and `no_scope` (a viewer with an empty scope) may not see.
    """
    expected: dict[str, Any] = {caller: LOGIN for caller in ("anonymous", *TOKENS)}
    for caller in SESSIONS:
        if RANK[caller] < NEEDS[least]:
            expected[caller] = 403
        elif scoped and caller in ("outsider", "no_scope"):
            expected[caller] = 403
        else:
            expected[caller] = ok
    expected.update(overrides)
    return _with_ended(expected)


def token_rule(kind: str, ok: int) -> dict[str, Any]:
    """A bearer-token API route: 401 for everyone else, a logged-in admin's cookie included."""
    return {caller: ok if caller == kind else 401 for caller in CALLERS}


def public(ok: int, **exceptions: Any) -> dict[str, Any]:
    return _with_ended({caller: exceptions.get(caller, ok) for caller in CALLERS})


def sessions_only(ok: int, refused: Any) -> dict[str, Any]:
    return {caller: ok if caller in SESSIONS else refused for caller in CALLERS}


# Public figures; a bearer token other than an admin's is a wrong credential, not anonymity
# (collector/web/api.py: an admin token unmasks the per-hour detail).
FIGURES = public(200, source_token=401, wall_token=401, revoked_token=401)


@dataclass(frozen=True)
class Case:
    rule: str
    method: str
    url: str  # {wall}, {revoked_wall} are filled with real wall links, {alert} with an alert of mairie
    expected: dict[str, Any]
    data: dict[str, Any] | Callable[[str], dict[str, Any]] | None = None  # a form; a dict is sent as JSON to /api
    fresh: bool = False  # the request ends the session: a new login for it
    name: str = field(default="")


ADMIN_PAGE = session_rule("admin", 200)
ADMIN_POST = session_rule("admin", 302)
# A refused admin form (the matrix posts empty fields) comes back with its errors next to the fields.
ADMIN_POST_REFUSED = session_rule("admin", 400)

CASES = [
    Case("/", "GET", "/", session_rule("viewer", 302)),
    Case("/login", "GET", "/login", public(200, **{caller: 302 for caller in SESSIONS})),
    Case("/login", "POST", "/login", public(401),
         data=lambda caller: {"login": f"stranger-{caller}", "password": "not a password"}),
    Case("/logout", "POST", "/logout", public(302), data={}, fresh=True),
    Case("/static/<path:filename>", "GET", "/static/app/app.css", public(200)),
    # Dashboard, exports, fleet: cookie sessions, within their scope.
    Case("/dashboard", "GET", "/dashboard", session_rule("viewer", 200, no_scope=403)),
    Case("/dashboard", "GET", "/dashboard?scope=site:mairie", session_rule("viewer", 200, scoped=True)),
    Case("/dashboard", "GET", "/dashboard?scope=org:ville", session_rule("viewer", 200, scoped=True, manager=403)),
    Case("/dashboard/export.csv", "GET", "/dashboard/export.csv?scope=site:mairie",
         session_rule("viewer", 200, scoped=True)),
    Case("/dashboard/export.csv", "GET", "/dashboard/export.csv?scope=site:mairie&table=hours",
         session_rule("admin", 200)),
    Case("/dashboard/export.xlsx", "GET", "/dashboard/export.xlsx?scope=site:mairie",
         session_rule("viewer", 200, scoped=True)),
    # Printable PDFs (issue 13): scoped like the dashboard.
    Case("/dashboard/report.pdf", "GET", "/dashboard/report.pdf?scope=site:mairie",
         session_rule("viewer", 200, scoped=True)),
    Case("/dashboard/report.pdf", "GET", "/dashboard/report.pdf?scope=org:ville",
         session_rule("viewer", 200, scoped=True, manager=403)),
    Case("/dashboard/poster.pdf", "GET", "/dashboard/poster.pdf?scope=site:mairie&size=a3",
         session_rule("viewer", 200, scoped=True)),
    Case("/fleet", "GET", "/fleet", session_rule("manager", 200)),
    # "Vous nous avez dit / Nous avons fait" notes (issue 13): managers, within their scope.
    Case("/notes", "GET", "/notes", session_rule("manager", 200)),
    Case("/notes", "GET", "/notes?scope=site:mairie", session_rule("manager", 200, scoped=True)),
    Case("/notes", "POST", "/notes", session_rule("manager", 400, scoped=True),
         data={"scope": "site:mairie", "period": "not-a-period", "said_fr": "a", "done_fr": "b"}),
    # Alerts (issue 12): everyone reads those of their scope; managers acknowledge and comment. An alert
    # of a site out of scope is a 404, as if it did not exist.
    Case("/alerts", "GET", "/alerts", session_rule("viewer", 200)),
    Case("/alerts/<int:alert_id>/ack", "POST", "/alerts/{alert}/ack",
         session_rule("manager", 302, scoped=True, outsider=404), data={}),
    Case("/alerts/<int:alert_id>/ack", "POST", "/alerts/99999/ack", session_rule("manager", 404), data={}),
    Case("/alerts/<int:alert_id>/comments", "POST", "/alerts/{alert}/comments",
         session_rule("manager", 302, scoped=True, outsider=404), data={"text": ""}),
    # Each user's own alert settings (issue 12): every logged-in user, about themselves only.
    Case("/alerts/settings", "GET", "/alerts/settings", session_rule("viewer", 200)),
    Case("/alerts/settings", "POST", "/alerts/settings", session_rule("viewer", 302), data={"email": "not an address"}),
    # Admin pages: cookie sessions of admins.
    Case("/admin/config", "GET", "/admin/config?site=mairie", ADMIN_PAGE),
    Case("/admin/config", "POST", "/admin/config", session_rule("admin", 404), data={"site": "nope"}),
    Case("/admin/kiosks", "GET", "/admin/kiosks", ADMIN_PAGE),
    Case("/admin/kiosks", "POST", "/admin/kiosks", ADMIN_POST_REFUSED, data={"id": "", "site": ""}),
    Case("/admin/kiosks/<kiosk_id>/move", "POST", "/admin/kiosks/nope/move", ADMIN_POST, data={"site": "mairie"}),
    Case("/admin/kiosks/<kiosk_id>/retire", "POST", "/admin/kiosks/nope/retire", ADMIN_POST, data={}),
    Case("/admin/sites", "GET", "/admin/sites", ADMIN_PAGE),
    Case("/admin/sites", "POST", "/admin/sites", ADMIN_POST_REFUSED, data={"id": ""}),
    Case("/admin/<any(sites, orgs):kind>/<ident>/published", "POST", "/admin/sites/nope/published", ADMIN_POST,
         data={"published": "1"}),
    Case("/admin/users", "GET", "/admin/users", ADMIN_PAGE),
    Case("/admin/users", "POST", "/admin/users", ADMIN_POST_REFUSED, data={"login": "", "role": "admin"}),
    Case("/admin/users/<int:user_id>/disabled", "POST", "/admin/users/99999/disabled", session_rule("admin", 404),
         data={}),
    Case("/admin/alerts", "GET", "/admin/alerts", ADMIN_PAGE),
    Case("/admin/alerts", "POST", "/admin/alerts", session_rule("admin", 400), data={"kind": ""}),
    Case("/admin/alerts/<int:rule_id>/enabled", "POST", "/admin/alerts/99999/enabled", session_rule("admin", 404),
         data={}),
    Case("/admin/alerts/<int:rule_id>/delete", "POST", "/admin/alerts/99999/delete", session_rule("admin", 404),
         data={}),
    Case("/admin/alert-webhooks", "GET", "/admin/alert-webhooks", ADMIN_PAGE),
    Case("/admin/alert-webhooks", "POST", "/admin/alert-webhooks", ADMIN_POST, data={"url": "", "scope": ""}),
    Case("/admin/alert-webhooks/<int:webhook_id>/enabled", "POST", "/admin/alert-webhooks/99999/enabled",
         session_rule("admin", 404), data={}),
    # HTTP sources (web form, telephone line): the token is shown once, in the answer to the POST.
    Case("/admin/sources", "GET", "/admin/sources", ADMIN_PAGE),
    Case("/admin/sources", "POST", "/admin/sources", ADMIN_POST_REFUSED, data={"id": "", "site": ""}),
    Case("/admin/sources/<source_id>/tokens", "POST", "/admin/sources/nope/tokens", session_rule("admin", 404),
         data={}),
    Case("/admin/sources/tokens/<int:token_id>/revoke", "POST", "/admin/sources/tokens/99999/revoke",
         session_rule("admin", 404), data={}),
    # The old survey links page (issue 14) is now /admin/survey: its address redirects, for bookmarks.
    Case("/admin/survey-links", "GET", "/admin/survey-links", session_rule("manager", 301)),
    Case("/admin/walls", "GET", "/admin/walls", ADMIN_PAGE),
    Case("/admin/walls", "POST", "/admin/walls", ADMIN_POST, data={}),
    Case("/admin/walls/<int:token_id>/revoke", "POST", "/admin/walls/99999/revoke", session_rule("admin", 404),
         data={}),
    # The JSON API: public figures, and bearer tokens of one kind (never a cookie).
    Case("/api/v1/sites", "GET", "/api/v1/sites", public(200)),
    Case("/api/v1/sites/<site_id>/summary", "GET", "/api/v1/sites/mairie/summary", FIGURES),
    Case("/api/v1/sites/<site_id>/series", "GET", "/api/v1/sites/mairie/series", FIGURES),
    Case("/api/v1/sites", "POST", "/api/v1/sites", token_rule("admin_token", 400), data={}),
    Case("/api/v1/sites/<site_id>", "PATCH", "/api/v1/sites/nope", token_rule("admin_token", 400), data={}),
    Case("/api/v1/orgs/<org_id>", "PATCH", "/api/v1/orgs/nope", token_rule("admin_token", 400), data={}),
    Case("/api/v1/kiosks", "GET", "/api/v1/kiosks", token_rule("admin_token", 200)),
    Case("/api/v1/kiosks", "POST", "/api/v1/kiosks", token_rule("admin_token", 400), data={}),
    Case("/api/v1/kiosks/<kiosk_id>", "PATCH", "/api/v1/kiosks/nope", token_rule("admin_token", 404), data={}),
    Case("/api/v1/kiosks/<kiosk_id>/gaps", "GET", "/api/v1/kiosks/nope/gaps", token_rule("admin_token", 404)),
    Case("/api/v1/kiosks/<kiosk_id>/retire", "POST", "/api/v1/kiosks/nope/retire", token_rule("admin_token", 400),
         data={}),
    Case("/api/v1/rejected", "GET", "/api/v1/rejected", token_rule("admin_token", 200)),
    Case("/api/v1/late", "GET", "/api/v1/late", token_rule("admin_token", 200)),
    Case("/api/v1/sources", "POST", "/api/v1/sources", token_rule("admin_token", 400), data={}),
    Case("/api/v1/tokens", "GET", "/api/v1/tokens", token_rule("admin_token", 200)),
    Case("/api/v1/tokens", "POST", "/api/v1/tokens", token_rule("admin_token", 400), data={}),
    Case("/api/v1/tokens/<int:token_id>", "DELETE", "/api/v1/tokens/99999", token_rule("admin_token", 404)),
    Case("/api/v1/events", "POST", "/api/v1/events", token_rule("source_token", 400), data={}),
    # The telephone line's hook (docs/phone.md): phone sources only; the matrix's source is a web one.
    Case("/api/v1/ivr", "POST", "/api/v1/ivr", token_rule("source_token", 403), data={}),
    # Public results and open data (issue 13): anyone, whatever credential comes along.
    Case("/resultats/<site_id>", "GET", "/resultats/mairie", public(200)),
    Case("/resultats/<site_id>/embed", "GET", "/resultats/mairie/embed", public(200)),
    Case("/resultats/<site_id>/badge.svg", "GET", "/resultats/mairie/badge.svg", public(200)),
    Case("/resultats/org/<org_id>", "GET", "/resultats/org/ville", public(200)),
    Case("/resultats/org/<org_id>/embed", "GET", "/resultats/org/ville/embed", public(200)),
    Case("/opendata/resultats.csv", "GET", "/opendata/resultats.csv", public(200)),
    Case("/opendata/resultats.json", "GET", "/opendata/resultats.json", public(200)),
    Case("/opendata/schema.json", "GET", "/opendata/schema.json", public(200)),
    Case("/opendata/datapackage.json", "GET", "/opendata/datapackage.json", public(200)),
    Case("/api/v1/alert-rules", "GET", "/api/v1/alert-rules", token_rule("admin_token", 200)),
    Case("/api/v1/alert-rules", "POST", "/api/v1/alert-rules", token_rule("admin_token", 400), data={}),
    Case("/api/v1/alert-rules/<int:rule_id>", "GET", "/api/v1/alert-rules/99999", token_rule("admin_token", 404)),
    Case("/api/v1/alert-rules/<int:rule_id>", "PATCH", "/api/v1/alert-rules/99999", token_rule("admin_token", 404),
         data={}),
    Case("/api/v1/alert-rules/<int:rule_id>", "DELETE", "/api/v1/alert-rules/99999",
         token_rule("admin_token", 404)),
    # Team barometer (issue 15): the staff page needs no login (a slip's single-use code makes an answer
    # count); an unknown or not enabled team is a 404. The managers' view is the dashboard's, managers up.
    Case("/equipe/<team_id>", "GET", "/equipe/nope", public(404)),
    Case("/equipe/<team_id>", "POST", "/equipe/nope", public(404), data={"code": "x"}),
    Case("/dashboard/barometer", "GET", "/dashboard/barometer", session_rule("manager", 200)),
    Case("/dashboard/barometer/notes", "POST", "/dashboard/barometer/notes", session_rule("manager", 403),
         data={"team": "nope", "period": "2026-W01", "text_fr": "x"}),
    Case("/admin/barometer", "GET", "/admin/barometer", ADMIN_PAGE),
    Case("/admin/barometer/settings", "POST", "/admin/barometer/settings", session_rule("admin", 303),
         data={"org": "nope"}),
    Case("/admin/barometer/teams", "POST", "/admin/barometer/teams", session_rule("admin", 303), data={"id": ""}),
    Case("/admin/barometer/codes", "POST", "/admin/barometer/codes", session_rule("admin", 404), data={"team": "nope"}),
    # Wall displays: the wall link is the credential; `/wall` alone is the logged-in user's own wall.
    Case("/wall/<token>", "GET", "/wall/{wall}", public(200)),
    Case("/wall/<token>", "GET", "/wall/{revoked_wall}", public(410)),
    Case("/wall/<token>", "GET", "/wall/{admin_secret}", public(410)),
    Case("/wall/<token>/check", "GET", "/wall/{wall}/check", public(204)),
    Case("/wall/<token>/check", "GET", "/wall/{revoked_wall}/check", public(410)),
    Case("/wall/<token>/stream", "GET", "/wall/{wall}/stream", public(200)),
    Case("/wall/<token>/stream", "GET", "/wall/{revoked_wall}/stream", public(410)),
    Case("/wall", "GET", "/wall", sessions_only(200, LOGIN)),
    Case("/wall/check", "GET", "/wall/check", sessions_only(204, 410)),
    Case("/wall/stream", "GET", "/wall/stream", sessions_only(200, 410)),
    # The citizens' survey (issue 14): the link is public, anyone may answer; an unknown slug is a 404.
    Case("/s/<slug>", "GET", "/s/{survey}", public(200)),
    Case("/s/<slug>", "GET", "/s/zzzzzzzzzz", public(404)),
    Case("/s/<slug>", "POST", "/s/{survey}", public(400), data={"rating": "3"}),
    Case("/s/<slug>/merci", "GET", "/s/{survey}/merci", public(200)),
    # Survey links: an admin token, or a manager's session within its scope (JSON body), never a viewer.
    Case("/api/v1/survey-links", "GET", "/api/v1/survey-links",
         {**token_rule("admin_token", 200), "admin": 200, "manager": 200, "outsider": 200, "viewer": 403,
          "no_scope": 403}),
    Case("/api/v1/survey-links", "POST", "/api/v1/survey-links",
         {**token_rule("admin_token", 201), "admin": 201, "manager": 201, "outsider": 403, "viewer": 403,
          "no_scope": 403}, data={"site": "mairie"}),
    Case("/api/v1/survey-links/<int:link_id>", "DELETE", "/api/v1/survey-links/99999",
         {**token_rule("admin_token", 404), "admin": 404, "manager": 404, "outsider": 404, "viewer": 403,
          "no_scope": 403}),
    Case("/admin/survey", "GET", "/admin/survey?site=mairie", session_rule("manager", 200, scoped=True,
                                                                           outsider=404)),
    Case("/admin/survey/links", "POST", "/admin/survey/links", session_rule("manager", 302, scoped=True,
                                                                            outsider=404),
         data={"site": "mairie", "channel": "web"}),
    Case("/admin/survey/links/<int:link_id>/revoke", "POST", "/admin/survey/links/99999/revoke",
         session_rule("manager", 404), data={}),
    # A link's QR cards: a manager of another organisation's site is told the link does not exist.
    Case("/admin/survey/links/<int:link_id>/card.pdf", "GET", "/admin/survey/links/{survey_id}/card.pdf?size=a6",
         session_rule("manager", 200, scoped=True, outsider=404)),
    Case("/admin/survey/links/<int:link_id>/card.pdf", "GET", "/admin/survey/links/99999/card.pdf",
         session_rule("manager", 404)),
    Case("/admin/survey/links/<int:link_id>/qr.svg", "GET", "/admin/survey/links/{survey_id}/qr.svg",
         session_rule("manager", 200, scoped=True, outsider=404)),
    Case("/admin/survey/comments", "POST", "/admin/survey/comments",
         session_rule("manager", 302, scoped=True, outsider=404), data={"site": "mairie", "enabled": "0"}),
]


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    """One app and database for the whole table; a logged-in client per user, a header per token."""
    path = tmp_path_factory.mktemp("matrix") / "web.db"
    app = create_app({"TESTING": True, "DATABASE": str(path), "SECRET_KEY": "matrix", "START_LIVE": False,
                      "BASE_URL": "https://ressenti.example.fr"})
    db = connect(path)
    add_site(db, "mairie", "Mairie", org="ville")
    add_site(db, "autre", "Autre commune", org="ailleurs")
    add_kiosk(db, "mairie-borne-1", "mairie")
    add_kiosk(db, "mairie-web", "mairie", channel="web")
    quick_user(db, "alice", "admin")
    quick_user(db, "manon", "manager", ("site:mairie",))
    quick_user(db, "victor", "viewer", ("org:ville",))
    quick_user(db, "olga", "manager", ("org:ailleurs",))
    quick_user(db, "nina", "viewer", ())
    quick_user(db, "dora", "viewer", ("org:ville",))
    _, admin_secret = create_token(db, TokenKind.ADMIN, label="matrix")
    _, source_secret = create_token(db, TokenKind.SOURCE, "mairie-web", "matrix")
    _, wall_secret = create_wall(db, "ville", "matrix")
    revoked, revoked_secret = create_token(db, TokenKind.ADMIN, label="revoked")
    revoke_token(db, revoked.id)
    revoked_wall, revoked_wall_secret = create_wall(db, "ville", "revoked")
    revoke_token(db, revoked_wall.id)
    with write_transaction(db):
        alert = raise_alert(db, Finding(Kind.KIOSK_OFFLINE, "mairie", "ville", "mairie-borne-1", None, {},
                                        "hors ligne", "offline", "/fleet"), "2026-12-01T09:00:00.000Z")
    bearers = {"admin_token": admin_secret, "source_token": source_secret, "wall_token": wall_secret,
               "revoked_token": revoked_secret}
    survey = create_link(db, "mairie", "web")
    yield {"app": app, "db": db, "bearers": bearers, "clients": {},
           "links": {"survey": survey.slug, "survey_id": survey.id, "wall": wall_secret,
                     "revoked_wall": revoked_wall_secret, "admin_secret": admin_secret, "alert": alert}}
    db.close()
    app.extensions["ressenti_live"].stop()


def _client(world: dict[str, Any], caller: str, *, fresh: bool) -> tuple[Any, dict[str, str], str]:
    """The caller's client, its headers and a CSRF token of its own session."""
    if not fresh and caller in world["clients"]:
        return world["clients"][caller]
    client = world["app"].test_client()
    headers = {"Authorization": f"Bearer {world['bearers'][caller]}"} if caller in TOKENS else {}
    if caller == ENDED:
        dora = world["db"].execute("SELECT id FROM users WHERE login = 'dora'").fetchone()[0]
        set_disabled(world["db"], dora, False)
        assert login(client, LOGINS[caller]).status_code == 302
        set_disabled(world["db"], dora, True)
        token = csrf(client.get("/login").get_data(as_text=True))
    elif caller in SESSIONS:
        assert login(client, LOGINS[caller]).status_code == 302
        token = csrf(client.get("/dashboard").get_data(as_text=True))  # the logout form of every page
    else:
        token = csrf(client.get("/login").get_data(as_text=True))
    if not fresh:
        world["clients"][caller] = (client, headers, token)
    return client, headers, token


def _call(world: dict[str, Any], case: Case, caller: str) -> Any:
    client, headers, token = _client(world, caller, fresh=case.fresh)
    url = case.url.format(**world["links"])
    data = case.data(caller) if callable(case.data) else case.data
    kwargs: dict[str, Any] = {"headers": headers}
    if case.url.startswith("/api/"):
        if data is not None:
            kwargs["json"] = data
    elif case.method != "GET":
        kwargs["data"] = {**(data or {}), "csrf_token": token}
    response = client.open(url, method=case.method, **kwargs)
    response.close()  # an SSE stream is not read: closing it ends it
    return response


def _outcome(response: Any) -> Any:
    location = response.headers.get("Location", "")
    if response.status_code == 302 and location.startswith("/login?next="):
        return LOGIN
    return response.status_code


@pytest.mark.parametrize("case", CASES, ids=[f"{c.method} {c.url}" for c in CASES])
def test_each_caller_gets_the_expected_answer(world, case):
    assert set(case.expected) == set(CALLERS), "a case names every caller"
    got = {caller: _outcome(_call(world, case, caller)) for caller in CALLERS}
    wrong = {caller: f"got {got[caller]!r}, expected {case.expected[caller]!r}"
             for caller in CALLERS if got[caller] != case.expected[caller]}
    assert not wrong, wrong


def _unlisted(app: Any) -> tuple[set[tuple[str, str]], set[tuple[str, str]]]:
    """(routes served but not in CASES, rules in CASES the app does not serve)."""
    served = {(rule.rule, method) for rule in app.url_map.iter_rules()
              for method in (rule.methods or set()) - {"HEAD", "OPTIONS"}}
    listed = {(case.rule, case.method) for case in CASES}
    return served - listed, listed - served


def test_every_route_has_a_rule(world):
    without_rule, gone = _unlisted(world["app"])
    assert without_rule == set(), "routes without an authorization rule in CASES"
    assert gone == set(), "rules in CASES for routes the app no longer serves"


def test_a_new_route_without_a_rule_fails_the_build(tmp_path):
    app = create_app({"TESTING": True, "DATABASE": str(tmp_path / "new.db"), "SECRET_KEY": "t", "START_LIVE": False})
    app.add_url_rule("/admin/export-everything", "leak", lambda: "everything", methods=["GET", "POST"])
    assert _unlisted(app)[0] == {("/admin/export-everything", "GET"), ("/admin/export-everything", "POST")}
    app.extensions["ressenti_live"].stop()


def test_out_of_scope_callers_get_pages_without_the_site(world):
    """Where an out-of-scope caller is let in (its own fleet, wall, exports), the other site is not there."""
    outsider, _, _ = _client(world, "outsider", fresh=False)
    manager, _, _ = _client(world, "manager", fresh=False)
    assert "mairie-borne-1" in manager.get("/fleet").get_data(as_text=True)
    assert "mairie-borne-1" not in outsider.get("/fleet").get_data(as_text=True)
    export = outsider.get("/dashboard/export.csv?table=sites").get_data(as_text=True)
    assert "Autre commune" in export and "Mairie" not in export

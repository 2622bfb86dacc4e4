"""Who may open what: the login wall, roles and scopes, CSRF, rate limiting, session cookies, the user CLI."""

from __future__ import annotations

import pytest
from click.testing import CliRunner
from web_support import PASSWORD, csrf, login, post_form, quick_user

from cli import main
from collector.db import connect
from collector.registry import add_site
from collector.users import set_disabled, set_password
from collector.walls import create_wall
from collector.web import create_app
from ressenti.errors import BadConfig

HTML_PAGES = ["/", "/dashboard", "/dashboard?scope=site:mairie", "/dashboard/export.csv", "/dashboard/export.xlsx",
              "/fleet", "/admin/sites", "/admin/kiosks", "/admin/walls", "/admin/config", "/admin/users"]
ADMIN_PAGES = ["/admin/sites", "/admin/kiosks", "/admin/walls", "/admin/config", "/admin/users"]


@pytest.fixture
def db(app):
    database = connect(app.config["DATABASE"])
    add_site(database, "mairie", "Mairie", org="ville")
    add_site(database, "ccas", "CCAS", org="ville")
    add_site(database, "autre", "Autre commune", org="ailleurs")
    quick_user(database, "alice", "admin")
    quick_user(database, "manon", "manager", ("site:mairie",))
    quick_user(database, "victor", "viewer", ("org:ville",))
    yield database
    database.close()


@pytest.mark.parametrize("path", HTML_PAGES)
def test_anonymous_is_sent_to_the_login_page(client, db, path):
    response = client.get(path)
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/login?next=")


def test_anonymous_reaches_login_token_walls_and_public_figures(client, db):
    assert client.get("/login").status_code == 200
    _, secret = create_wall(db, "ville", "accueil")
    wall = client.get(f"/wall/{secret}")
    assert wall.status_code == 200 and wall.headers["Referrer-Policy"] == "no-referrer"
    assert client.get("/wall/rst_wall_forged").status_code == 410
    assert client.get("/api/v1/sites").status_code == 200
    assert client.get("/api/v1/sites/mairie/summary").status_code == 200
    own_wall = client.get("/wall")  # a user's own wall: anonymous visitors log in first
    assert own_wall.status_code == 302 and "/login" in own_wall.headers["Location"]
    assert client.get("/wall/stream").status_code == 410


def test_login_then_logout(client, db):
    assert login(client, "alice", "wrong password").status_code == 401
    response = login(client, "alice")
    assert response.status_code == 302 and response.headers["Location"] == "/dashboard"
    page = client.get("/dashboard")
    assert page.status_code == 200 and "alice" in page.get_data(as_text=True)
    assert page.headers["Cache-Control"] == "no-store"
    assert client.post("/logout").status_code == 400, "logging out needs the CSRF token too"
    assert post_form(client, "/dashboard", "/logout", {}).status_code == 302
    assert client.get("/dashboard").status_code == 302


def test_session_cookie_flags(tmp_path):
    app = create_app({"DATABASE": str(tmp_path / "c.db"), "SECRET_KEY": "s" * 32, "START_LIVE": False})
    assert app.config["SESSION_COOKIE_SECURE"] is True, "secure cookies by default in production"
    db = connect(tmp_path / "c.db")
    quick_user(db, "alice", "admin")
    client = app.test_client()
    cookie = login(client, "alice").headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Secure" in cookie
    app.extensions["ressenti_live"].stop()


def test_missing_secret_key_is_an_error_in_production(tmp_path, monkeypatch):
    monkeypatch.delenv("RESSENTI_SECRET_KEY", raising=False)
    with pytest.raises(BadConfig, match="SECRET_KEY"):
        create_app({"DATABASE": str(tmp_path / "c.db"), "START_LIVE": False})


def test_login_form_needs_its_csrf_token(client, db):
    response = client.post("/login", data={"login": "alice", "password": PASSWORD})
    assert response.status_code == 400
    assert "Formulaire expiré" in response.get_data(as_text=True)


@pytest.mark.parametrize("target", ["//evil.example/x", "https://evil.example/", "/\\evil.example"])
def test_no_open_redirect_after_login(client, db, target):
    token = csrf(client.get("/login").get_data(as_text=True))
    response = client.post("/login", data={"login": "alice", "password": PASSWORD, "next": target,
                                           "csrf_token": token})
    assert response.headers["Location"] == "/dashboard"


def test_rate_limit_per_login_is_kept_in_the_database(app, client, db):
    for _ in range(5):
        assert login(client, "alice", "not it").status_code == 401
    blocked = login(client, "alice")  # even the right password, for now
    assert blocked.status_code == 429
    assert "Trop d&#39;essais" in blocked.get_data(as_text=True) and blocked.headers["Retry-After"]
    assert login(client, "victor").status_code == 302, "another login from the same address still works"
    # A second worker process on the same database agrees.
    other = create_app({"TESTING": True, "DATABASE": app.config["DATABASE"], "SECRET_KEY": "test",
                        "START_LIVE": False})
    assert login(other.test_client(), "alice").status_code == 429
    other.extensions["ressenti_live"].stop()


def test_rate_limit_per_address(client, db, monkeypatch):
    monkeypatch.setattr("collector.login_attempts.MAX_FAILURES_PER_IP", 6)  # 20 in production; fewer slow hashes here
    for n in range(6):
        login(client, f"nobody{n}", "guess")
    assert login(client, "victor").status_code == 429, "failures from one address block it"
    other_address = client.application.test_client()
    token = csrf(other_address.get("/login").get_data(as_text=True))
    ok = other_address.post("/login", data={"login": "victor", "password": PASSWORD, "csrf_token": token},
                            environ_base={"REMOTE_ADDR": "10.0.0.9"})
    assert ok.status_code == 302


@pytest.mark.parametrize("path", ADMIN_PAGES + ["/fleet", "/dashboard/export.csv?table=hours"])
def test_a_viewer_cannot_reach_admin_pages_or_the_fleet(client, db, path):
    login(client, "victor")
    assert client.get(path).status_code == 403


@pytest.mark.parametrize("path", ADMIN_PAGES)
def test_a_manager_reaches_the_fleet_but_not_admin(client, db, path):
    login(client, "manon")
    assert client.get("/fleet").status_code == 200
    assert client.get(path).status_code == 403


def test_admin_forms_need_csrf_tokens(client, db):
    login(client, "alice")
    assert client.post("/admin/sites", data={"id": "x", "name": "X"}).status_code == 400
    assert client.post("/admin/walls", data={"org": "ville"}).status_code == 400
    assert client.post("/admin/users", data={"login": "eve", "password": PASSWORD, "role": "admin"}).status_code == 400


def test_scopes_limit_what_a_user_sees(client, db):
    login(client, "manon")
    page = client.get("/dashboard").get_data(as_text=True)
    assert "Mairie" in page and "CCAS" not in page and "Autre commune" not in page
    assert client.get("/dashboard?scope=site:ccas").status_code == 403
    assert client.get("/dashboard?scope=org:ville").status_code == 403
    assert client.get("/dashboard/export.csv?scope=site:autre").status_code == 403
    client.get("/logout")
    post_form(client, "/dashboard", "/logout", {})
    login(client, "victor")
    assert client.get("/dashboard?scope=org:ville").status_code == 200
    assert client.get("/dashboard?scope=site:autre").status_code == 403


def test_disabling_or_a_new_password_ends_sessions(client, db):
    login(client, "victor")
    assert client.get("/dashboard").status_code == 200
    victor = next(u for u in db.query("SELECT id FROM users WHERE login = 'victor'"))["id"]
    set_password(db, victor, "another long password")
    assert client.get("/dashboard").status_code == 302
    login(client, "victor", "another long password")
    set_disabled(db, victor, True)
    assert client.get("/dashboard").status_code == 302
    assert login(client, "victor", "another long password").status_code == 401


def test_language_choice_is_remembered(client, db):
    login(client, "alice")
    assert "Tableau de bord" in client.get("/dashboard").get_data(as_text=True)
    assert "Dashboard" in client.get("/dashboard?lang=en").get_data(as_text=True)
    assert '<html lang="en">' in client.get("/fleet").get_data(as_text=True)


def test_cli_adds_the_first_admin_who_can_log_in(tmp_path):
    db_path = str(tmp_path / "c.db")
    runner = CliRunner()
    result = runner.invoke(main, ["collector", "user", "add", "--db", db_path, "chef", "--role", "admin",
                                  "--password-stdin"], input=f"{PASSWORD}\n")
    assert result.exit_code == 0, result.output
    prompted = runner.invoke(main, ["collector", "user", "add", "--db", db_path, "second", "--role", "viewer",
                                    "--scope", "all"],
                             input=f"{PASSWORD}\n{PASSWORD}\n")
    assert prompted.exit_code == 0 and "Repeat for confirmation" in prompted.output
    short = runner.invoke(main, ["collector", "user", "add", "--db", db_path, "third", "--role", "viewer",
                                 "--scope", "all", "--password-stdin"], input="short\n")
    assert short.exit_code == 1 and "at least 10 characters" in short.output
    unscoped = runner.invoke(main, ["collector", "user", "add", "--db", db_path, "boss", "--role", "manager",
                                    "--password-stdin"], input=f"{PASSWORD}\n")
    assert unscoped.exit_code == 1 and "a manager needs a scope" in unscoped.output
    listing = runner.invoke(main, ["collector", "user", "list", "--db", db_path])
    assert "chef\tadmin" in listing.output
    app = create_app({"TESTING": True, "DATABASE": db_path, "SECRET_KEY": "t", "START_LIVE": False})
    assert login(app.test_client(), "chef").status_code == 302
    app.extensions["ressenti_live"].stop()
    stored = connect(db_path).execute("SELECT password_hash FROM users WHERE login = 'chef'").fetchone()[0]
    assert stored.startswith("scrypt:") and PASSWORD not in stored

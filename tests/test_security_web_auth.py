"""Issue 17, web authentication: each test is named after the attack it stops."""

from __future__ import annotations

import http.client
import os
import socket
import subprocess
import sys
import threading
from collections import Counter
from pathlib import Path
from urllib.parse import urlencode, urljoin, urlsplit

import pytest
from web_support import PASSWORD, csrf, login, quick_user

from collector.db import connect
from collector.login_attempts import MAX_FAILURES_PER_IP, MAX_FAILURES_PER_LOGIN
from collector.registry import add_site
from collector.service import WebServer
from collector.web import create_app

ROOT = Path(__file__).resolve().parent.parent


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


# -- login rate limit under concurrency ----------------------------------------------------


def _login_form(port: int) -> tuple[str, str]:
    """A session cookie and the CSRF token of its login form, as a browser would hold them."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    conn.request("GET", "/login")
    response = conn.getresponse()
    body = response.read().decode()
    cookie = response.getheader("Set-Cookie", "").split(";")[0]
    conn.close()
    return cookie, csrf(body)


def _concurrent_logins(port: int, logins: list[str], password: str) -> Counter[int]:
    """POST every login at once (one thread and connection each); the count of each status."""
    cookie, token = _login_form(port)
    start = threading.Barrier(len(logins))
    statuses: Counter[int] = Counter()
    lock = threading.Lock()

    def attempt(name: str) -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        body = urlencode({"login": name, "password": password, "csrf_token": token})
        start.wait()
        conn.request("POST", "/login", body, {"Content-Type": "application/x-www-form-urlencoded",
                                                "Cookie": cookie})
        status = conn.getresponse().status
        conn.close()
        with lock:
            statuses[status] += 1

    threads = [threading.Thread(target=attempt, args=(name,)) for name in logins]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    assert sum(statuses.values()) == len(logins), statuses
    return statuses


@pytest.fixture
def threaded_server(tmp_path, monkeypatch):
    """The app on werkzeug's threaded server, counting the password hashes it checks."""
    import collector.users

    checks = Counter[str]()
    real_check = collector.users.check_password_hash
    lock = threading.Lock()

    def counting_check(stored: str, password: str) -> bool:
        with lock:
            checks["checked"] += 1
        return real_check(stored, password)

    monkeypatch.setattr(collector.users, "check_password_hash", counting_check)
    app = create_app({"TESTING": True, "DATABASE": str(tmp_path / "web.db"), "SECRET_KEY": "test",
                      "START_LIVE": False})
    database = connect(tmp_path / "web.db")
    quick_user(database, "alice", "admin")
    database.close()
    server = WebServer(app, "127.0.0.1", 0)
    server.start()
    yield server, checks
    server.stop()


def test_concurrent_wrong_passwords_cannot_exceed_the_limit_per_login(threaded_server):
    server, checks = threaded_server
    statuses = _concurrent_logins(server.port, ["alice"] * 50, "not the password")
    assert checks["checked"] == MAX_FAILURES_PER_LOGIN, "each password check is reserved before it runs"
    assert statuses == {401: MAX_FAILURES_PER_LOGIN, 429: 50 - MAX_FAILURES_PER_LOGIN}


def test_concurrent_guesses_on_many_logins_cannot_exceed_the_limit_per_address(threaded_server):
    server, checks = threaded_server
    statuses = _concurrent_logins(server.port, [f"agent{n}" for n in range(60)], "not the password")
    assert checks["checked"] == MAX_FAILURES_PER_IP
    assert statuses == {401: MAX_FAILURES_PER_IP, 429: 60 - MAX_FAILURES_PER_IP}


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_concurrent_wrong_passwords_across_gunicorn_workers_cannot_exceed_the_limit(tmp_path, wait):
    db_path = tmp_path / "web.db"
    database = connect(db_path)
    quick_user(database, "alice", "admin")
    database.close()
    port = _free_port()
    env = {**os.environ, "PYTHONPATH": str(ROOT), "RESSENTI_DATABASE": str(db_path),
           "RESSENTI_SECRET_KEY": "s" * 32, "RESSENTI_START_LIVE": "false"}
    log = (tmp_path / "gunicorn.log").open("w")
    server = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "--workers", "2", "-k", "gthread", "--threads", "16",
         "--bind", f"127.0.0.1:{port}", "collector.web.wsgi:app"],
        cwd=ROOT, env=env, stdout=log, stderr=log)
    try:
        def answers() -> bool:
            try:
                _login_form(port)
            except OSError:
                return False
            return True
        wait(answers, 30, "gunicorn to answer")
        statuses = _concurrent_logins(port, ["alice"] * 200, "not the password")
    finally:
        server.terminate()
        server.wait(10)
        log.close()
    assert statuses == {401: MAX_FAILURES_PER_LOGIN, 429: 200 - MAX_FAILURES_PER_LOGIN}
    checked = connect(db_path).execute("SELECT COUNT(*) FROM login_attempts WHERE ok = 0").fetchone()[0]
    assert checked == MAX_FAILURES_PER_LOGIN


# -- sessions end server-side --------------------------------------------------------------

COOKIE = "ressenti_session"


def _replay(app, cookie: str):  # type: ignore[no-untyped-def]
    """A client that holds nothing but a copied session cookie."""
    thief = app.test_client()
    thief.set_cookie(COOKIE, cookie)
    return thief


def _user_id(db, login_name: str) -> int:
    return int(db.execute("SELECT id FROM users WHERE login = ?", [login_name]).fetchone()[0])


def test_a_cookie_replayed_after_logout_is_refused(app, client, db):
    login(client, "victor")
    stolen = client.get_cookie(COOKIE).value
    assert _replay(app, stolen).get("/dashboard").status_code == 200, "the copy works while the session lives"
    token = csrf(client.get("/dashboard").get_data(as_text=True))
    assert client.post("/logout", data={"csrf_token": token}).status_code == 302
    replayed = _replay(app, stolen).get("/dashboard")
    assert replayed.status_code == 302 and replayed.headers["Location"].startswith("/login")
    assert db["web_sessions"].count == 0, "logout deletes the record"


def test_a_cookie_replayed_after_an_admin_disabled_the_account_is_refused(app, client, db):
    login(client, "victor")
    stolen = client.get_cookie(COOKIE).value
    admin = app.test_client()
    login(admin, "alice")
    victor = _user_id(db, "victor")
    for _ in range(2):  # disable, then enable again: the old session stays ended
        token = csrf(admin.get("/admin/users").get_data(as_text=True))
        assert admin.post(f"/admin/users/{victor}/disabled", data={"csrf_token": token}).status_code == 302
        assert _replay(app, stolen).get("/dashboard").status_code == 302
    assert client.get("/dashboard").status_code == 302, "nor does the victim's own browser stay logged in"
    assert login(client, "victor").status_code == 302, "enabled again, the user logs in afresh"
    assert client.get("/dashboard").status_code == 200


def test_a_cookie_replayed_after_a_password_change_is_refused(app, client, db):
    from collector.users import set_password
    login(client, "victor")
    stolen = client.get_cookie(COOKIE).value
    set_password(db, _user_id(db, "victor"), "another long password")
    assert _replay(app, stolen).get("/dashboard").status_code == 302
    assert db.execute("SELECT COUNT(*) FROM web_sessions WHERE revoked IS NULL").fetchone()[0] == 0


def test_a_forged_or_unknown_session_id_logs_nobody_in(app, client, db):
    with client.session_transaction() as forged:  # signed with the right key, but no such record
        forged["sid"] = "guessed-session-id"
        forged["uid"] = _user_id(db, "alice")  # what the old cookie trusted
    assert client.get("/dashboard").status_code == 302


def test_an_idle_session_expires_server_side_and_old_rows_are_purged(db):
    from datetime import timedelta

    from collector.sessions import end_user_sessions, open_session, open_sessions, purge_sessions, session_user
    from ressenti.protocol import utc_now
    lifetime = timedelta(hours=12)
    victor, alice = _user_id(db, "victor"), _user_id(db, "alice")
    then = utc_now() - timedelta(hours=13)
    idle = open_session(db, victor, now=then)
    live = open_session(db, alice)
    ended = open_session(db, alice)
    end_user_sessions(db, victor)  # ends `idle` (already stale) but not alice's
    assert session_user(db, idle, lifetime) is None
    assert session_user(db, live, lifetime) == alice and session_user(db, ended, lifetime) == alice
    assert session_user(db, live, lifetime, now=utc_now() + timedelta(hours=13)) is None, "idle too long"
    assert [s["login"] for s in open_sessions(db, lifetime)] == ["alice", "alice"]
    assert purge_sessions(db, lifetime) == 1
    assert db["web_sessions"].count == 2
    assert all(len(row["id"]) == 64 and row["id"] not in (live, ended) for row in db["web_sessions"].rows), \
        "only a digest of the id is stored"


def test_cli_lists_open_sessions_and_purges_ended_ones(app, client, db):
    from click.testing import CliRunner

    from cli import main
    login(client, "victor")
    login(app.test_client(), "alice")
    runner = CliRunner()
    listing = runner.invoke(main, ["collector", "user", "sessions", "--db", app.config["DATABASE"]])
    assert listing.exit_code == 0 and sorted(line.split("\t")[0] for line in listing.output.splitlines()) == [
        "alice", "victor"]
    token = csrf(client.get("/dashboard").get_data(as_text=True))
    client.post("/logout", data={"csrf_token": token})
    db.execute("UPDATE web_sessions SET revoked = '2026-01-01T00:00:00.000Z'")
    purged = runner.invoke(main, ["collector", "user", "sessions", "--purge", "--db", app.config["DATABASE"]])
    assert purged.output.strip() == "1 ended sessions deleted" and db["web_sessions"].count == 0


# -- an empty scope sees nothing; "all" is said explicitly ---------------------------------


def test_a_viewer_with_an_empty_scope_sees_no_site(client, db):
    quick_user(db, "vide", "viewer", ())
    login(client, "vide")
    for path in ["/dashboard", "/dashboard?scope=all", "/dashboard?scope=site:mairie", "/dashboard/export.csv",
                 "/dashboard/export.xlsx"]:
        assert client.get(path).status_code == 403, path


def test_the_scope_all_is_explicit_and_sees_every_site(app, client, db):
    from collector.users import find_user, parse_scope
    quick_user(db, "tous", "viewer", ("all",))
    login(client, "tous")
    page = client.get("/dashboard?scope=all").get_data(as_text=True)
    assert "Mairie" in page and "Autre commune" in page
    assert client.get("/dashboard?scope=site:autre").status_code == 200
    assert parse_scope(db, ["all", "site:mairie"], "viewer") == ("all",), "all covers the rest"
    from click.testing import CliRunner

    from cli import main
    runner = CliRunner()
    made = runner.invoke(main, ["collector", "user", "add", "--db", app.config["DATABASE"], "lea", "--role",
                                "viewer", "--scope", "all", "--password-stdin"], input=f"{PASSWORD}\n")
    assert made.exit_code == 0, made.output
    assert find_user(db, "lea").scope == ("all",)
    unscoped = runner.invoke(main, ["collector", "user", "add", "--db", app.config["DATABASE"], "leo", "--role",
                                    "viewer", "--password-stdin"], input=f"{PASSWORD}\n")
    assert unscoped.exit_code == 1 and "needs a scope" in unscoped.output, "no silent 'everything' any more"
    listing = runner.invoke(main, ["collector", "user", "list", "--db", app.config["DATABASE"]]).output
    assert "lea\tviewer\tall\t" in listing


def test_the_admin_users_page_sets_the_scope_all(client, db):
    from web_support import post_form

    from collector.users import find_user
    login(client, "alice")
    page = client.get("/admin/users").get_data(as_text=True)
    assert 'name="scope" value="all"' in page
    post_form(client, "/admin/users", "/admin/users",
              {"login": "tina", "password": PASSWORD, "role": "viewer", "scope": ["all"]})
    assert find_user(db, "tina").scope == ("all",)
    refused = post_form(client, "/admin/users", "/admin/users",
                        {"login": "tom", "password": PASSWORD, "role": "viewer"})
    assert refused.status_code == 400 and find_user(db, "tom") is None
    assert "Choisissez un périmètre" in refused.get_data(as_text=True)


def test_the_migration_keeps_existing_empty_viewer_scopes_seeing_everything(tmp_path):
    from sqlite_utils import Database

    import collector.db as schema
    step = next(m for m in schema.MIGRATIONS if m.__name__.startswith("_m") and "explicit_all_scope" in m.__name__)
    before = schema.MIGRATIONS.index(step)
    db = Database(tmp_path / "old.db")
    for number, migration in enumerate(schema.MIGRATIONS[:before], start=1):
        migration(db)
        db.execute(f"PRAGMA user_version = {number}")
    for login_name, role, scope in [("ancien", "viewer", "[]"), ("nul", "viewer", None), ("chef", "admin", "[]"),
                                    ("org", "viewer", '["org:ville"]'), ("resp", "manager", '["site:x"]')]:
        db["users"].insert({"login": login_name, "password_hash": "x", "role": role, "scope": scope})
    db.conn.commit()
    db.close()
    migrated = connect(tmp_path / "old.db")
    assert migrated.execute("PRAGMA user_version").fetchone()[0] == len(schema.MIGRATIONS)
    scopes = {r["login"]: r["scope"] for r in migrated.query("SELECT login, scope FROM users")}
    assert scopes == {"ancien": '["all"]', "nul": '["all"]', "chef": "[]", "org": '["org:ville"]',
                      "resp": '["site:x"]'}
    schema.migrate(migrated)  # idempotent step: running the list again changes nothing
    step(migrated)
    assert {r["login"]: r["scope"] for r in migrated.query("SELECT login, scope FROM users")} == scopes


def test_a_long_response_that_asks_again_sees_the_session_end(app, db):
    """What a stream does: current_user(fresh=True) notices a session ended since the request began."""
    from flask import session

    from collector.sessions import end_user_sessions, open_session
    from collector.web.access import current_user
    victor = _user_id(db, "victor")
    with app.test_request_context("/wall/stream"):
        session["sid"] = open_session(db, victor)
        assert current_user() is not None
        end_user_sessions(db, victor)
        assert current_user() is not None, "read once per request"
        assert current_user(fresh=True) is None

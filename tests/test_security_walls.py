"""Issue 17 (security review): the live streams and the wall tokens. Each test is named after the attack it stops."""

from __future__ import annotations

import socket
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from gunicorn_support import RawStream, start_gunicorn
from web_support import login, quick_user

from collector.db import connect
from collector.registry import add_site
from collector.tokens import TokenKind, create_token
from collector.users import set_disabled, set_password
from collector.web import wall
from collector.web.stream_limits import DEFAULT_PER_TOKEN


@pytest.fixture
def walls_db(tmp_path: Path) -> Path:
    path = tmp_path / "collector.db"
    db = connect(path)
    add_site(db, "mairie", "Mairie")
    db.close()
    return path


def wall_secret(db_path: Path, subject: str = "site:mairie") -> str:
    db = connect(db_path)
    _, secret = create_token(db, TokenKind.WALL, subject, "test")
    db.close()
    return secret


def timed_get(url: str, timeout: float = 20) -> tuple[int, float]:
    started = time.monotonic()
    with urllib.request.urlopen(url, timeout=timeout) as response:
        response.read()
        return response.status, time.monotonic() - started


# -- 1. streams cannot exhaust the web threads -------------------------------------------------


def test_one_wall_link_cannot_hold_more_streams_than_its_limit(walls_db, tmp_path):
    secret = wall_secret(walls_db)
    server = start_gunicorn(walls_db, tmp_path / "web.log", threads=32)
    streams = []
    try:
        for _ in range(DEFAULT_PER_TOKEN + 3):
            streams.append(RawStream(server.port, f"/wall/{secret}/stream"))
        statuses = [s.status for s in streams]
        assert statuses == [200] * DEFAULT_PER_TOKEN + [429] * 3, statuses
        assert all(b"event: snapshot" in s.read_until(b"event: snapshot") for s in streams[:DEFAULT_PER_TOKEN])
        refused = streams[-1]
        assert int(refused.headers["retry-after"]) > 0
        assert b"token limit" in refused.read_until(b"}")
        # The link's display asks before it reconnects: it is told to wait too.
        check = RawStream(server.port, f"/wall/{secret}/check")
        assert check.status == 429 and "retry-after" in check.headers
        check.close()
        # A stream that ends gives its place back.
        streams[0].close()
        deadline = time.monotonic() + 10
        while (again := RawStream(server.port, f"/wall/{secret}/stream")).status != 200:
            again.close()
            assert time.monotonic() < deadline, "a closed stream's place was never given back"
            time.sleep(0.3)
        again.close()
    finally:
        for s in streams:
            s.close()
        server.stop()


def test_many_open_walls_cannot_starve_the_login_page(walls_db, tmp_path):
    """12 threads: streams may take 4 (12 - 8 kept for pages); 30 displays try, /login still answers."""
    secrets_ = [wall_secret(walls_db) for _ in range(30)]
    server = start_gunicorn(walls_db, tmp_path / "web.log", threads=12,
                            env={"RESSENTI_STREAMS_PER_ADDRESS": "100"})
    streams = []
    try:
        for secret in secrets_:
            streams.append(RawStream(server.port, f"/wall/{secret}/stream", timeout=5))
        statuses = [s.status for s in streams]
        assert statuses.count(200) == 4 and statuses.count(429) == 26, statuses
        assert b"process limit" in streams[-1].read_until(b"}")
        for _ in range(5):
            status, seconds = timed_get(f"{server.url}/login", timeout=10)
            assert status == 200 and seconds < 2.0, f"/login took {seconds:.1f} s with every stream slot taken"
    finally:
        for s in streams:
            s.close()
        server.stop()


def test_one_account_cannot_hold_more_streams_than_its_limit(app, client):
    db = connect(app.config["DATABASE"])
    add_site(db, "mairie", "Mairie")
    quick_user(db, "camille", "manager", scope=("site:mairie",))
    db.close()
    login(client, "camille")
    responses = [client.get("/wall/stream", buffered=False) for _ in range(DEFAULT_PER_TOKEN + 1)]
    try:
        assert [r.status_code for r in responses] == [200] * DEFAULT_PER_TOKEN + [429]
        assert responses[-1].get_json()["limit"] == "user"
        assert client.get("/wall/check").status_code == 429
    finally:
        for r in reversed(responses):  # test-client streams hold nested request contexts
            r.close()
    assert client.get("/wall/check").status_code == 204, "closed streams give their places back"


def test_one_address_cannot_hold_more_streams_than_its_limit(app, client):
    app.extensions["ressenti_streams"].limits = type(app.extensions["ressenti_streams"].limits)(per_address=3)
    db = connect(app.config["DATABASE"])
    add_site(db, "mairie", "Mairie")
    db.close()
    secrets_ = [wall_secret(Path(app.config["DATABASE"])) for _ in range(4)]
    responses = [client.get(f"/wall/{s}/stream", buffered=False) for s in secrets_]
    try:
        assert [r.status_code for r in responses] == [200, 200, 200, 429]
        assert responses[-1].get_json()["limit"] == "address"
        other = client.get(f"/wall/{secrets_[-1]}/stream", buffered=False, environ_base={"REMOTE_ADDR": "10.0.0.9"})
        assert other.status_code == 200, "another address is not refused"
        other.close()
    finally:
        for r in reversed(responses):  # test-client streams hold nested request contexts
            r.close()


def test_a_refused_display_backs_off_for_the_retry_after(walls_db, tmp_path, browser):
    from web_support import open_page

    secret = wall_secret(walls_db)
    server = start_gunicorn(walls_db, tmp_path / "web.log", threads=16,
                            env={"RESSENTI_STREAMS_PER_TOKEN": "1", "RESSENTI_STREAM_RETRY_AFTER_S": "40"})
    holder = RawStream(server.port, f"/wall/{secret}/stream")
    page = open_page(browser, 1280, 720)
    try:
        assert holder.status == 200
        page.goto(f"{server.url}/wall/{secret}")
        page.wait_for_function("() => (window.__wallStatus.tooMany || 0) >= 1", timeout=15000)
        status = page.evaluate("() => window.__wallStatus")
        assert status["retryInS"] >= 40 * 0.75, status
        checks = status["checks"]
        page.wait_for_timeout(3000)
        assert page.evaluate("() => window.__wallStatus.checks") == checks, "it asked again before Retry-After"
        assert not page.evaluate("() => window.__wallStatus.invalid"), "a busy link is not an invalid one"
    finally:
        page.context.close()
        holder.close()
        server.stop()


# -- 2. a viewer's stream ends when they may no longer see it ----------------------------------


@pytest.fixture
def viewer(app, client, monkeypatch):
    """camille, manager of mairie, logged in through the login form; her streams re-check every half second
    and are served by a real (threaded) server on a real socket."""
    from collector.service import WebServer

    monkeypatch.setattr(wall, "CHECK_S", 0.1)
    monkeypatch.setattr(wall, "VIEWER_CHECK_S", 0.5, raising=False)
    db = connect(app.config["DATABASE"])
    add_site(db, "mairie", "Mairie")
    user_id = quick_user(db, "camille", "manager", scope=("site:mairie",))
    db.close()
    login(client, "camille")
    server = WebServer(app, "127.0.0.1", 0)
    server.start()
    yield user_id, server.port
    server.server.shutdown()


def open_own_stream(client, port: int) -> RawStream:  # type: ignore[no-untyped-def]
    cookie = client.get_cookie("ressenti_session")
    stream = RawStream(port, "/wall/stream", headers={"Cookie": f"ressenti_session={cookie.value}"})
    assert stream.status == 200
    assert b"event: snapshot" in stream.read_until(b"event: snapshot")
    stream.buffer = b""
    return stream


def test_a_disabled_account_keeps_no_live_stream(app, client, viewer):
    stream = open_own_stream(client, viewer[1])
    db = connect(app.config["DATABASE"])
    set_disabled(db, viewer[0], True)
    db.close()
    assert b"event: revoked" in stream.read_until(b"event: revoked", timeout=5)


def test_a_password_change_ends_the_old_sessions_stream(app, client, viewer):
    stream = open_own_stream(client, viewer[1])
    db = connect(app.config["DATABASE"])
    set_password(db, viewer[0], "another long passphrase entirely")
    db.close()
    assert b"event: revoked" in stream.read_until(b"event: revoked", timeout=5)


def test_a_disabled_account_gets_no_update_even_before_the_periodic_check(app, client, viewer, monkeypatch):
    monkeypatch.setattr(wall, "VIEWER_CHECK_S", 3600.0, raising=False)  # only the check before a delivery remains
    stream = open_own_stream(client, viewer[1])
    db = connect(app.config["DATABASE"])
    set_disabled(db, viewer[0], True)
    db.close()
    app.extensions["ressenti_live"].site_changed("mairie", [4])
    rest = stream.read_until(b"event: revoked", timeout=5)
    assert b"event: update" not in rest and b"event: revoked" in rest


def test_a_narrowed_scope_stops_showing_the_removed_site(app, client, viewer):
    import json
    stream = open_own_stream(client, viewer[1])
    db = connect(app.config["DATABASE"])
    add_site(db, "ccas", "CCAS")
    db.conn.execute("UPDATE users SET scope = ? WHERE id = ?", (json.dumps(["site:ccas"]), viewer[0]))
    db.close()
    text = stream.read_until(b'"site":"ccas"', timeout=5)
    assert b"event: snapshot" in text and b'"site":"mairie"' not in text.rsplit(b"event: snapshot", 1)[1]


def test_a_logged_out_session_keeps_no_live_stream(app, client, viewer):
    from web_support import post_form
    stream = open_own_stream(client, viewer[1])
    post_form(client, "/dashboard", "/logout", {})
    assert b"event: revoked" in stream.read_until(b"event: revoked", timeout=5)


# -- 4. wall tokens stay out of the logs -------------------------------------------------------


def visit_wall_urls(url: str, secret: str) -> None:
    for path in (f"/wall/{secret}", f"/wall/{secret}/check", f"/wall/{secret}?lang=en", f"/wall/{secret}/nope"):
        try:
            urllib.request.urlopen(url + path, timeout=10).read()
        except urllib.error.HTTPError:
            pass
    stream = RawStream(int(url.rsplit(":", 1)[1]), f"/wall/{secret}/stream")
    stream.read_until(b"event: snapshot")
    stream.close()


def test_a_wall_token_cannot_be_read_from_gunicorns_logs(walls_db, tmp_path):
    from collector.web.log_redaction import fingerprint

    secret = wall_secret(walls_db)
    # The access log in its most talkative form: the request line, path, query, referer and raw URI.
    server = start_gunicorn(walls_db, tmp_path / "web.log", threads=8, args=(
        "--access-logformat", '%(h)s "%(r)s" %(s)s %(U)s %(q)s "%(f)s" %({raw_uri}e)s', "--log-level", "debug"))
    try:
        visit_wall_urls(server.url, secret)
        deadline = time.monotonic() + 10
        while server.log().count(fingerprint(secret)) < 4 and time.monotonic() < deadline:
            time.sleep(0.2)
    finally:
        server.stop()
    log = server.log()
    assert secret not in log and secret.split("_")[-1][:12] not in log
    assert f"/wall/{fingerprint(secret)}/check" in log, "the line is kept, with a fingerprint instead of the token"


def test_a_wall_token_cannot_be_read_from_the_development_servers_log(walls_db, caplog):
    from collector.service import WebServer
    from collector.web import create_app

    secret = wall_secret(walls_db)
    app = create_app({"TESTING": True, "DATABASE": str(walls_db), "SECRET_KEY": "test", "BROKER_URL": None})
    server = WebServer(app, "127.0.0.1", 0)
    server.start()
    try:
        with caplog.at_level("INFO"):
            visit_wall_urls(server.url, secret)
    finally:
        server.stop()
    assert "/wall/" in caplog.text and secret not in caplog.text


# -- 5. slow clients against a gunicorn without nginx --------------------------------------------


class Slowloris(threading.Thread):
    """Starts a request and sends its headers one byte every 0.3 s, for as long as the server listens."""

    def __init__(self, port: int, seconds: float) -> None:
        super().__init__(daemon=True)
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=5)
        self.sock.sendall(b"GET /login HTTP/1.1\r\nHost: 127.0.0.1\r\n")
        self.seconds = seconds
        self.cut_off = threading.Event()
        self.start()

    def run(self) -> None:
        deadline = time.monotonic() + self.seconds
        try:
            while time.monotonic() < deadline:
                self.sock.sendall(b"X")
                time.sleep(0.3)
        except OSError:
            self.cut_off.set()
        finally:
            self.sock.close()


def still_open(sock: socket.socket) -> bool:
    sock.setblocking(False)
    try:
        while sock.recv(65536):
            pass  # what the stream sent meanwhile
        return False
    except BlockingIOError:
        return True


def test_slowloris_cannot_hold_the_threads_of_a_gunicorn_without_nginx(walls_db, tmp_path):
    secret = wall_secret(walls_db)
    server = start_gunicorn(walls_db, tmp_path / "web.log", threads=3, env={
        "RESSENTI_WEB_HEAD_TIMEOUT_S": "2", "RESSENTI_WEB_IDLE_TIMEOUT_S": "1", "RESSENTI_STREAM_PAGE_THREADS": "2"})
    stream = RawStream(server.port, f"/wall/{secret}/stream")  # one thread is a live display's
    attackers = []
    try:
        assert stream.status == 200 and b"event: snapshot" in stream.read_until(b"event: snapshot")
        attackers = [Slowloris(server.port, seconds=20) for _ in range(4)]
        time.sleep(0.5)
        status, seconds = timed_get(f"{server.url}/login", timeout=15)
        assert status == 200 and seconds < 8, f"/login took {seconds:.1f} s"
        assert all(a.cut_off.wait(5) for a in attackers), "a slow request head was never cut off"
        # The display's stream outlived the idle timeout (1 s) many times over: it is waiting, not stalled.
        assert still_open(stream.sock), "the server closed a live stream"
    finally:
        stream.close()
        server.stop()


# -- 3. a wall's subject is typed: org:<id> or site:<id> -------------------------------------------


def test_creating_an_organisation_cannot_switch_a_site_wall_to_it(app, client):
    from collector.walls import create_wall, wall_sites

    db = connect(app.config["DATABASE"])
    add_site(db, "ccas", "CCAS")  # of the organisation "default"
    token, secret = create_wall(db, "ccas", "hall")  # a bare id: only a site has it today
    add_site(db, "annexe", "Annexe du CCAS", org="ccas")  # an organisation "ccas" appears
    assert token.subject == "site:ccas"
    assert [s.id for s in wall_sites(db, token.subject)] == ["ccas"]
    db.close()
    text = RawSnapshot.of(client, f"/wall/{secret}/stream")
    assert '"site":"ccas"' in text and '"site":"annexe"' not in text


class RawSnapshot:
    @staticmethod
    def of(client, path: str) -> str:  # type: ignore[no-untyped-def]
        response = client.get(path, buffered=False)
        text = ""
        for chunk in response.response:
            text += chunk.decode() if isinstance(chunk, bytes) else chunk
            if "event: snapshot" in text and text.endswith("\n\n"):
                break
        response.close()
        return text


def database_before_typed_subjects(path: Path):  # type: ignore[no-untyped-def]
    """A database at the schema just before migration 9, as an older collector left it."""
    import sqlite3

    from sqlite_utils import Database

    from collector.db import MIGRATIONS, _m10_typed_wall_subjects
    db = Database(sqlite3.connect(str(path), isolation_level=None))
    before = MIGRATIONS.index(_m10_typed_wall_subjects)
    for step in MIGRATIONS[:before]:
        step(db)
    db.conn.execute(f"PRAGMA user_version = {before}")
    return db


def test_the_migration_types_old_subjects_as_they_resolved(tmp_path):
    from collector.db import MIGRATIONS, _m10_typed_wall_subjects, migrate
    from collector.walls import wall_sites

    db = database_before_typed_subjects(tmp_path / "old.db")
    for org in ("ville", "both"):
        db["orgs"].insert({"id": org, "name": org})
    for site, org in (("mairie", "ville"), ("ccas", "ville"), ("both", "ville"), ("gare", "both")):
        db["sites"].insert({"id": site, "org": org, "name": site, "tz": "Europe/Paris", "scale": 4})
    old = {"ville": "org:ville", "mairie": "site:mairie", "ccas, mairie": "site:ccas,site:mairie",
           "both": "org:both", "both,ccas": "site:both,site:ccas", "": "", "org:ville": "org:ville"}
    ids = {}
    for subject in old:
        ids[subject] = db["tokens"].insert({"kind": "wall", "subject": subject, "label": "", "hash": subject or "-",
                                            "created": "2026-01-01T00:00:00Z", "revoked": None}).last_pk
    db["tokens"].insert({"kind": "source", "subject": "mairie", "label": "", "hash": "src",
                         "created": "2026-01-01T00:00:00Z", "revoked": None})
    assert migrate(db) == len(MIGRATIONS)
    subjects = {s: db.conn.execute("SELECT subject FROM tokens WHERE id = ?", (i,)).fetchone()[0]
                for s, i in ids.items()}
    assert subjects == old
    assert db.conn.execute("SELECT subject FROM tokens WHERE kind = 'source'").fetchone()[0] == "mairie"
    assert sorted(s.id for s in wall_sites(db, subjects["ville"])) == ["both", "ccas", "mairie"]
    assert [s.id for s in wall_sites(db, subjects["both"])] == ["gare"], "as before: the organisation won"
    _m10_typed_wall_subjects(db)  # a second run changes nothing
    assert {s: db.conn.execute("SELECT subject FROM tokens WHERE id = ?", (i,)).fetchone()[0]
            for s, i in ids.items()} == old


@pytest.fixture
def org_and_site_of_one_id(tmp_path: Path) -> str:
    path = tmp_path / "cli.db"
    db = connect(path)
    add_site(db, "mairie", "Mairie", org="ville")
    add_site(db, "ville", "Accueil de la ville", org="ville")  # a site with its organisation's id
    db.close()
    return str(path)


@pytest.mark.parametrize(("subject", "error"), [
    ("ville", "both an organisation and a site: write org:ville or site:ville"),
    ("site:nowhere", "there is no site 'nowhere'"),
    ("org:nobody", "there is no organisation 'nobody'"),
    ("nothing", "is no organisation or site here"),
    ("place:mairie", "write org:<id> or site:<id>"),
    ("", "an organisation or at least one site"),
])
def test_the_cli_refuses_an_ambiguous_or_unknown_wall_subject(org_and_site_of_one_id, subject, error):
    from click.testing import CliRunner

    from cli import main
    result = CliRunner().invoke(main, ["collector", "token", "--db", org_and_site_of_one_id, "--kind", "wall",
                                       "--subject", subject])
    assert result.exit_code == 2 and error in result.output, result.output
    db = connect(org_and_site_of_one_id)
    assert db["tokens"].count == 0
    db.close()


def test_the_cli_makes_typed_wall_subjects(org_and_site_of_one_id):
    from click.testing import CliRunner

    from cli import main
    runner = CliRunner()
    for subject in ("org:ville", "site:ville", "mairie", "site:mairie,site:ville"):
        result = runner.invoke(main, ["collector", "token", "--db", org_and_site_of_one_id, "--kind", "wall",
                                      "--subject", subject])
        assert result.exit_code == 0, result.output
    db = connect(org_and_site_of_one_id)
    assert [r["subject"] for r in db.query("SELECT subject FROM tokens ORDER BY id")] == [
        "org:ville", "site:ville", "site:mairie", "site:mairie,site:ville"]
    db.close()


def test_the_api_refuses_an_ambiguous_wall_subject(app, client, admin_headers):
    db = connect(app.config["DATABASE"])
    add_site(db, "ville", "Accueil", org="ville")
    db.close()
    refused = client.post("/api/v1/tokens", json={"kind": "wall", "subject": "ville"}, headers=admin_headers)
    assert refused.status_code == 400 and "org:ville or site:ville" in refused.get_json()["error"]
    made = client.post("/api/v1/tokens", json={"kind": "wall", "subject": "site:ville"}, headers=admin_headers)
    assert made.status_code == 201 and made.get_json()["subject"] == "site:ville"
    unknown = client.post("/api/v1/tokens", json={"kind": "wall", "subject": "org:x"}, headers=admin_headers)
    assert unknown.status_code == 400


def test_the_admin_page_makes_typed_walls_and_refuses_a_forged_organisation(app, client):
    from web_support import post_form

    db = connect(app.config["DATABASE"])
    add_site(db, "ville", "Accueil", org="ville")
    quick_user(db, "alex", "admin")
    db.close()
    login(client, "alex")
    made = post_form(client, "/admin/walls", "/admin/walls", {"label": "Hall", "org": "ville"})
    assert made.status_code == 201 and "(Organisation ville)" in made.get_data(as_text=True)
    forged = post_form(client, "/admin/walls", "/admin/walls", {"label": "Hall", "org": "nobody"})
    assert forged.status_code == 302
    db = connect(app.config["DATABASE"])
    assert [r["subject"] for r in db.query("SELECT subject FROM tokens")] == ["org:ville"]
    db.close()

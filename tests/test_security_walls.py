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


@pytest.mark.xfail(strict=True, reason="needs server-side sessions (logout ends the session in the sessions "
                                       "table current_user() reads): another engineer's change of issue 17")
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

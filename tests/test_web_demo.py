"""`ressenti demo` gives a working wall link and a dashboard login (issue 6)."""

from __future__ import annotations

import urllib.request

import pytest
from click.testing import CliRunner
from web_support import login

from cli import main
from collector.db import connect
from demo.run import Demo, is_loopback


def test_demo_prints_a_wall_link_and_a_login_that_work(tmp_path):
    demo = Demo(port=0, kiosks=3, data_dir=tmp_path / "demo", history_days=3, seed=1)
    access = demo.start()
    try:
        with urllib.request.urlopen(access.wall_url, timeout=5) as response:
            assert response.status == 200
        app = demo.collector.web.app
        assert app.config["SESSION_COOKIE_SECURE"] is False
        assert login(app.test_client(), access.login, access.password).status_code == 302
        db = connect(tmp_path / "demo" / "collector.db")
        assert db["events"].count > 0, "past days were stored for the dashboard and the trend"
    finally:
        demo.stop()


@pytest.mark.parametrize("host, local", [
    ("127.0.0.1", True), ("localhost", True), ("::1", True), ("[::1]", True), ("127.0.0.2", True),
    ("0.0.0.0", False), ("::", False), ("192.168.1.20", False), ("demo.example.fr", False),
])
def test_loopback_hosts(host, local):
    assert is_loopback(host) is local


def test_the_open_wall_and_plain_cookies_stay_on_loopback(tmp_path):
    demo = Demo(port=0, kiosks=1, data_dir=tmp_path / "demo", history_days=0, host="localhost")
    demo.start()
    try:
        app = demo.collector.web.app
        assert app.config["PUBLIC_WALL"] is True and app.config["SESSION_COOKIE_SECURE"] is False
        with urllib.request.urlopen(f"http://127.0.0.1:{demo.collector.web.port}/wall", timeout=5) as response:
            assert response.status == 200 and response.url.endswith("/wall"), "open on loopback"
    finally:
        demo.stop()


def test_a_demo_beyond_loopback_is_refused_without_the_flag(tmp_path):
    result = CliRunner().invoke(main, ["demo", "--host", "0.0.0.0", "--port", "0", "--data", str(tmp_path / "d")])
    assert result.exit_code == 1
    assert "--host 0.0.0.0 is not a loopback address" in result.output and "--allow-network" in result.output
    assert not (tmp_path / "d").exists(), "refused before anything started"


def test_with_the_flag_walls_need_their_token_and_cookies_stay_secure(tmp_path):
    demo = Demo(port=0, kiosks=1, data_dir=tmp_path / "demo", history_days=0, host="0.0.0.0",
                allow_network=True)
    access = demo.start()
    try:
        app = demo.collector.web.app
        assert not app.config.get("PUBLIC_WALL") and app.config["SESSION_COOKIE_SECURE"] is True
        base = f"http://127.0.0.1:{demo.collector.web.port}"
        with urllib.request.urlopen(f"{base}/wall", timeout=5) as response:
            assert "/login" in response.url, "without its token the wall asks for a login"
        token_path = access.wall_url[access.wall_url.index("/wall/"):]
        with urllib.request.urlopen(base + token_path, timeout=5) as response:
            assert response.status == 200, "the token link works"
    finally:
        demo.stop()

"""`ressenti demo` gives a working wall link and a dashboard login (issue 6)."""

from __future__ import annotations

import urllib.request

from web_support import login

from collector.db import connect
from ressenti.demo import Demo


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

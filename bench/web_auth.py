"""What issue 17's login and session checks cost: per request, per login, and against a real HTTP server.

    .venv/bin/python bench/web_auth.py [--sessions 20000] [--repeat 2000]

Every request with a session cookie now reads its `web_sessions` row (and
writes last_seen at most once a minute); every login reserves its attempt in a
`BEGIN IMMEDIATE` transaction before the password is checked and marks it
after. The baselines, measured in the same run on the same file database: the
two reads the old `current_user` made (the user row and its password hash,
the cookie's stamp) and one scrypt check (what a login costs anyway). Last,
GET /fleet through werkzeug's threaded server with a session (sequential
requests; the fleet is empty, so the page is mostly the session and user checks).
"""

from __future__ import annotations

import argparse
import http.client
import logging
import secrets
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from common import percentile, table
from web_support import PASSWORD, csrf, quick_user
from werkzeug.security import check_password_hash

from collector.db import connect
from collector.login_attempts import finish_attempt, reserve_attempt
from collector.registry import add_site
from collector.service import WebServer
from collector.sessions import SESSION_LIFETIME, open_session, session_user
from collector.users import get_user
from collector.web import create_app
from ressenti.protocol import utc_now


def timed(fn, repeat: int) -> list[float]:  # type: ignore[no-untyped-def]
    out = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        out.append((time.perf_counter() - start) * 1e6)
    return out


def row(name: str, samples: list[float]) -> tuple:
    return (name, len(samples), f"{sum(samples) / len(samples):.1f}", f"{percentile(samples, 50):.1f}",
            f"{percentile(samples, 95):.1f}")


def http_get(port: int, path: str, cookie: str, repeat: int) -> list[float]:
    conn = http.client.HTTPConnection("127.0.0.1", port)
    out = []
    for _ in range(repeat):
        start = time.perf_counter()
        conn.request("GET", path, headers={"Cookie": cookie})
        response = conn.getresponse()
        response.read()
        assert response.status == 200, response.status
        out.append((time.perf_counter() - start) * 1e6)
    conn.close()
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sessions", type=int, default=20_000, help="session rows in the table")
    parser.add_argument("--repeat", type=int, default=2000)
    args = parser.parse_args()
    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # no access log line per request
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "bench.db"
        db = connect(path)
        add_site(db, "mairie", "Mairie", org="ville")
        uid = quick_user(db, "alice", "admin")
        others = [quick_user(db, f"agent{n}", "viewer", ("all",)) for n in range(50)]
        db.conn.execute("BEGIN")
        for n in range(args.sessions):
            open_session(db, others[n % len(others)], now=utc_now() - timedelta(minutes=n % 600))
        db.conn.execute("COMMIT")
        sid = open_session(db, uid)
        stored_hash = db.execute("SELECT password_hash FROM users WHERE id = ?", [uid]).fetchone()[0]

        def old_check() -> None:  # what current_user did before: the user, then its password stamp
            get_user(db, uid)
            db.conn.execute("SELECT password_hash FROM users WHERE id = ?", (uid,)).fetchone()

        def new_check() -> None:
            get_user(db, session_user(db, sid, SESSION_LIFETIME) or 0)

        def reservation() -> None:
            attempt = reserve_attempt(db, "alice", f"10.0.{secrets.randbelow(250)}.{secrets.randbelow(250)}")
            assert attempt is not None
            finish_attempt(db, attempt, ok=True)

        rows = [row("old current_user: user + password stamp (baseline)", timed(old_check, args.repeat)),
                row("new current_user: session row + user", timed(new_check, args.repeat)),
                row("login: reserve + finish the attempt", timed(reservation, args.repeat // 4)),
                row("login: one scrypt check (baseline)", timed(lambda: check_password_hash(stored_hash, PASSWORD),
                                                              20))]
        app = create_app({"TESTING": True, "DATABASE": str(path), "SECRET_KEY": "bench", "START_LIVE": False})
        server = WebServer(app, "127.0.0.1", 0)
        server.start()
        try:
            conn = http.client.HTTPConnection("127.0.0.1", server.port)
            conn.request("GET", "/login")
            response = conn.getresponse()
            cookie = response.getheader("Set-Cookie", "").split(";")[0]
            token = csrf(response.read().decode())
            conn.request("POST", "/login", f"login=alice&password={PASSWORD.replace(' ', '+')}&csrf_token={token}",
                         {"Content-Type": "application/x-www-form-urlencoded", "Cookie": cookie})
            response = conn.getresponse()
            response.read()
            cookie = response.getheader("Set-Cookie", "").split(";")[0]
            conn.close()
            rows.append(row("GET /fleet over HTTP, logged in", http_get(server.port, "/fleet", cookie,
                                                                         args.repeat // 4)))
            rows.append(row("GET /api/v1/sites over HTTP, no session (baseline)",
                            http_get(server.port, "/api/v1/sites", "", args.repeat // 4)))
        finally:
            server.stop()
        print(f"{args.sessions} session rows, {args.repeat} repeats (µs)")
        print(table(rows, ("operation", "n", "mean", "p50", "p95")))


if __name__ == "__main__":
    main()

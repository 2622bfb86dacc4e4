"""/login latency while wall streams are held open (issue 17): can the web tier still answer pages?

    .venv/bin/python bench/wall_login_latency.py [--streams 0,50,200,500] [--requests 40] [--threads 32]
        [--code DIR] [--plain-gthread]

One gunicorn worker (production's `-k gthread --threads 32`) on a fresh database with one site. For each
count N, N raw HTTP clients open `/wall/<token>/stream` and keep their sockets open, as leaked or hostile
displays would, in two ways: all with one wall token, and each with its own token (many displays behind a
proxy: the per-address limit is lifted, so the per-process cap is what answers). Then `--requests`
sequential GET /login are timed (a request unanswered after 3 s counts as 3 s and as a timeout).

`--code DIR` serves another checkout of the project (e.g. `git archive <commit> | tar -x -C DIR`) to
measure the code before a change in the same run; `--plain-gthread` starts gunicorn with `-k gthread`
and no settings file (what the code before issue 17 shipped, which has no gunicorn_conf.py).
"""

from __future__ import annotations

import argparse
import os
import secrets
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import table
from wall_common import machine, summary

ROOT = Path(__file__).resolve().parent.parent
VENV_BIN = Path(sys.executable).parent
TIMEOUT_S = 3.0
HEADERS = ("streams", "open", "admitted", "/login p50 ms", "p99 ms", f"timeouts ({TIMEOUT_S:.0f} s)")


def prepare(code: Path, db_path: Path, tokens: int) -> list[str]:
    """The database made by `code`'s own migrations, one site and `tokens` wall tokens (inserted as
    rows, so that old and new code read the same thing)."""
    subprocess.run([sys.executable, "-c", "import sys; from collector.db import connect;"
                    " from collector.registry import add_site;"
                    " db = connect(sys.argv[1]); add_site(db, 'mairie', 'Mairie', org='ville')", str(db_path)],
                   env={**os.environ, "PYTHONPATH": str(code)}, check=True, cwd=code)
    import hashlib
    conn = sqlite3.connect(db_path)
    out = []
    typed = "typed_wall_subjects" in (code / "collector" / "db.py").read_text()  # org:/site: subjects
    for _ in range(tokens):
        secret = f"rst_wall_{secrets.token_urlsafe(32)}"
        conn.execute("INSERT INTO tokens (kind, subject, label, hash, created) VALUES ('wall', ?, 'bench', ?,"
                     " '2026-01-01T00:00:00Z')", ("site:mairie" if typed else "mairie",
                                                   hashlib.sha256(secret.encode()).hexdigest()))
        out.append(secret)
    conn.commit()
    conn.close()
    return out


def start(code: Path, db_path: Path, port: int, threads: int, plain: bool, log: Path) -> subprocess.Popen:
    env = {**os.environ, "RESSENTI_DATABASE": str(db_path), "RESSENTI_SECRET_KEY": secrets.token_hex(16),
           "PYTHONPATH": str(code), "RESSENTI_WEB_BIND": f"127.0.0.1:{port}", "RESSENTI_WEB_WORKERS": "1",
           "RESSENTI_WEB_THREADS": str(threads), "RESSENTI_STREAMS_PER_ADDRESS": "100000"}
    if plain:
        args = ["-k", "gthread", "--threads", str(threads), "-w", "1", "-b", f"127.0.0.1:{port}"]
    else:
        args = ["--config", "python:collector.web.gunicorn_conf"]
    with log.open("ab") as out:
        process = subprocess.Popen([str(VENV_BIN / "gunicorn"), *args, "--log-level", "warning",
                                    "--access-logfile", "/dev/null", "collector.web.wsgi:app"],
                                   env=env, stdout=out, stderr=subprocess.STDOUT, cwd=code)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            if login_ms(port) < TIMEOUT_S * 1000:
                return process
        except OSError:
            time.sleep(0.2)
    raise SystemExit(f"gunicorn did not start; see {log}")


def open_streams(port: int, secrets_: list[str]) -> list[socket.socket]:
    out = []
    for secret in secrets_:
        sock = socket.create_connection(("127.0.0.1", port), timeout=5)
        sock.sendall(f"GET /wall/{secret}/stream HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n".encode())
        out.append(sock)
    return out


def admitted(streams: list[socket.socket]) -> int:
    """How many streams got `200` (a refused one got 429; an unserved one nothing yet)."""
    count = 0
    for sock in streams:
        sock.settimeout(0.05)
        try:
            count += sock.recv(16).startswith(b"HTTP/1.1 200")
        except OSError:
            pass
    return count


def login_ms(port: int) -> float:
    started = time.monotonic()
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT_S) as sock:
            sock.sendall(b"GET /login HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
            while sock.recv(65536):
                if time.monotonic() - started > TIMEOUT_S:
                    break
    except OSError:
        return TIMEOUT_S * 1000
    return min(TIMEOUT_S, time.monotonic() - started) * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--streams", default="0,50,200,500")
    parser.add_argument("--requests", type=int, default=40)
    parser.add_argument("--threads", type=int, default=32)
    parser.add_argument("--code", type=Path, default=ROOT, help="the checkout to serve")
    parser.add_argument("--plain-gthread", action="store_true", help="gunicorn -k gthread, no settings file")
    args = parser.parse_args()
    counts = [int(n) for n in args.streams.split(",")]
    print(machine())
    print(f"code: {args.code}; gunicorn: {'-k gthread' if args.plain_gthread else 'collector.web.gunicorn_conf'},"
          f" 1 worker, {args.threads} threads")
    rows: list[tuple] = []
    with tempfile.TemporaryDirectory(prefix="ressenti-login-") as tmp:
        directory = Path(tmp)
        db_path = directory / "collector.db"
        tokens = prepare(args.code.resolve(), db_path, max(counts))
        from ressenti.mosquitto_runner import free_port
        for mode in ("one token", "a token each"):
            for n in counts:
                port = free_port()
                web = start(args.code.resolve(), db_path, port, args.threads, args.plain_gthread,
                            directory / "web.log")
                try:
                    streams = open_streams(port, [tokens[0]] * n if mode == "one token" else tokens[:n])
                    time.sleep(1.0)
                    served = admitted(streams)
                    times = [login_ms(port) for _ in range(args.requests)]
                    stats = summary(times)
                    rows.append((mode, n, served, f"{stats['p50']:.1f}", f"{stats['p99']:.1f}",
                                 sum(t >= TIMEOUT_S * 1000 for t in times)))
                    for sock in streams:
                        sock.close()
                finally:
                    web.terminate()
                    try:
                        web.wait(20)
                    except subprocess.TimeoutExpired:
                        web.kill()
                print(rows[-1], flush=True)
    print()
    print(table(rows, HEADERS))


if __name__ == "__main__":
    main()

"""A real gunicorn (the project's settings, collector/web/gunicorn_conf.py) on a free port, for tests that
need production's threads, sockets and logs; and a raw HTTP client that keeps streams open."""

from __future__ import annotations

import os
import secrets
import socket
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from ressenti.mosquitto_runner import free_port

ROOT = Path(__file__).resolve().parent.parent
GUNICORN = Path(sys.executable).parent / "gunicorn"


@dataclass
class Gunicorn:
    process: subprocess.Popen
    port: int
    log_path: Path

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(15)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(5)


def start_gunicorn(db_path: Path, log_path: Path, *, threads: int, env: dict[str, str] | None = None,
                   args: tuple[str, ...] = ()) -> Gunicorn:
    """One worker of `threads` threads on `db_path` (no broker), its output (access log too) in `log_path`."""
    port = free_port()
    environment = {**os.environ, "RESSENTI_DATABASE": str(db_path), "RESSENTI_SECRET_KEY": secrets.token_hex(16),
                   "RESSENTI_SESSION_COOKIE_SECURE": "false", "PYTHONPATH": str(ROOT),
                   "RESSENTI_WEB_BIND": f"127.0.0.1:{port}", "RESSENTI_WEB_WORKERS": "1",
                   "RESSENTI_WEB_THREADS": str(threads), **(env or {})}
    out = log_path.open("ab")
    process = subprocess.Popen([str(GUNICORN), "--config", "python:collector.web.gunicorn_conf", *args,
                                "collector.web.wsgi:app"], env=environment, stdout=out, stderr=subprocess.STDOUT,
                               cwd=ROOT)
    out.close()
    server = Gunicorn(process, port, log_path)
    deadline = time.monotonic() + 30
    while True:
        try:
            with urllib.request.urlopen(f"{server.url}/login", timeout=2):
                return server
        except OSError:
            if time.monotonic() > deadline or process.poll() is not None:
                server.stop()
                raise AssertionError(f"gunicorn did not start:\n{server.log()}") from None
            time.sleep(0.2)


class RawStream:
    """A GET on a plain socket: reads the status and headers, then keeps the stream open."""

    def __init__(self, port: int, path: str, headers: dict[str, str] | None = None, timeout: float = 10) -> None:
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
        extra = "".join(f"{k}: {v}\r\n" for k, v in (headers or {}).items())
        self.sock.sendall(f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n{extra}\r\n".encode())
        self.buffer = b""
        while b"\r\n\r\n" not in self.buffer:
            chunk = self.sock.recv(65536)
            if not chunk:
                break
            self.buffer += chunk
        head, _, self.buffer = self.buffer.partition(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        self.status = int(lines[0].split()[1]) if lines and len(lines[0].split()) > 1 else 0
        self.headers = {k.strip().lower(): v.strip() for k, _, v in (line.partition(":") for line in lines[1:])}

    def read_until(self, marker: bytes, timeout: float = 10) -> bytes:
        deadline = time.monotonic() + timeout
        while marker not in self.buffer and time.monotonic() < deadline:
            self.sock.settimeout(max(0.05, deadline - time.monotonic()))
            try:
                chunk = self.sock.recv(65536)
            except TimeoutError:
                break
            if not chunk:
                break
            self.buffer += chunk
        return self.buffer

    def close(self) -> None:
        self.sock.close()

"""A real PostgreSQL for the tests: Debian's server, initdb + pg_ctl in a temp directory, a free port.

`pg_server()` starts one per test session (torn down at its end); `fresh_database`
makes an empty database per test with `CREATE DATABASE`. The superuser's password
is in a file, given to the collector through RESSENTI_DB_PASSWORD_FILE.
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import uuid
from dataclasses import dataclass
from pathlib import Path

import psycopg

PASSWORD = "ressenti-test-" + uuid.uuid4().hex[:8]


def _bin(name: str) -> str:
    found = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"))
    if not found:
        raise RuntimeError("PostgreSQL is not installed (apt-get install -y postgresql; ./dev and .ci/run do)")
    return found[-1]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class PgServer:
    directory: Path
    port: int
    password_file: Path
    run_as: list[str]

    def url(self, dbname: str = "postgres") -> str:
        return f"postgresql://ressenti@127.0.0.1:{self.port}/{dbname}"

    def admin(self) -> psycopg.Connection:
        return psycopg.connect(host="127.0.0.1", port=self.port, user="ressenti", password=PASSWORD,
                               dbname="postgres", autocommit=True)

    def pg_ctl(self, *args: str) -> None:
        subprocess.run([*self.run_as, _bin("pg_ctl"), "-D", str(self.directory / "data"), "-w", "-t", "60",
                        "-l", str(self.directory / "server.log"), *args], check=True, capture_output=True)

    def start(self) -> None:
        self.pg_ctl("-o", f"-p {self.port} -k {self.directory} -c listen_addresses=127.0.0.1 -c fsync=off"
                    " -c max_connections=200", "start")

    def stop(self) -> None:
        self.pg_ctl("-m", "fast", "stop")

    def restart(self) -> None:
        self.pg_ctl("-m", "fast", "-o", f"-p {self.port} -k {self.directory} -c listen_addresses=127.0.0.1"
                    " -c fsync=off -c max_connections=200", "restart")


def start_pg_server() -> PgServer:
    directory = Path(tempfile.mkdtemp(prefix="ressenti-pg-"))
    run_as: list[str] = []
    if os.geteuid() == 0:  # initdb refuses root
        user = pwd.getpwnam("postgres")
        os.chown(directory, user.pw_uid, user.pw_gid)
        run_as = ["runuser", "-u", "postgres", "--"]
    password_file = directory / "password"
    password_file.write_text(PASSWORD + "\n")
    pwfile = directory / "pwfile"
    pwfile.write_text(PASSWORD + "\n")
    if run_as:
        os.chown(pwfile, user.pw_uid, user.pw_gid)
    subprocess.run([*run_as, _bin("initdb"), "-D", str(directory / "data"), "-U", "ressenti", "-A", "scram-sha-256",
                    f"--pwfile={pwfile}", "-E", "UTF8", "--locale=C.UTF-8"], check=True, capture_output=True)
    server = PgServer(directory, _free_port(), password_file, run_as)
    server.start()
    return server


def remove_pg_server(server: PgServer) -> None:
    try:
        server.stop()
    finally:
        shutil.rmtree(server.directory, ignore_errors=True)


def fresh_database(server: PgServer) -> str:
    """A new empty database; its URL."""
    name = "t_" + uuid.uuid4().hex[:12]
    with server.admin() as conn:
        conn.execute(f"CREATE DATABASE {name}")
    return server.url(name)

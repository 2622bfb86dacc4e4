"""The collector's deploy defaults, attacked: the collector role's files rendered by Ansible with
its defaults, then run by this machine's nginx and gunicorn, and probed over real sockets.

Threats: a network eavesdropper between the back office (or a wall display) and the
collector; whoever reads the collector's logs. Each test is named after what it stops.
(The same files installed by the playbooks into a chroot: tests/test_deploy_chroot.py.)
"""

from __future__ import annotations

import http.client
import http.server
import shutil
import ssl
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from deploy_support import render
from deploy_support.ansible import VENV_BIN
from deploy_support.processes import wait_for_port

from collector.db import connect
from collector.registry import add_site
from ressenti.mosquitto_runner import free_port

SITES = [{"id": "mairie", "name": "Mairie"}]
KIOSKS = {"box-1": {"ressenti_kiosk_id": "mairie-1", "ressenti_kiosk_site": "mairie",
                    "ressenti_kiosk_frontend": "buttons"}}
TOKEN = "wALLt0ken-5ecret-abcdefghijklmnop"


@pytest.fixture(scope="module")
def deployment(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A test inventory and its secrets (deploy/secrets.yml, run for real): (base folder, inventory)."""
    base = tmp_path_factory.mktemp("deploy-defaults")
    inventory = render.inventory(base, {k: dict(v) for k, v in KIOSKS.items()},
                                 {"ressenti_broker_hostname": "localhost", "ressenti_sites": SITES})
    render.make_secrets(base, inventory)
    return base, inventory


class Upstream:
    """Stands in for gunicorn: answers 200 to everything and remembers the paths it was asked for."""

    def __init__(self, port: int) -> None:
        paths = self.paths = []

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 (http.server's name)
                paths.append(self.path)
                body = b"ok"
                self.send_response(200)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: object) -> None:
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(5)


@pytest.fixture
def nginx(deployment: tuple[Path, Path], tmp_path: Path) -> Iterator[dict]:
    """This machine's nginx with the site the role renders by default (only ports and paths moved)."""
    binary = shutil.which("nginx") or "/usr/sbin/nginx"
    if not Path(binary).exists():
        pytest.fail("nginx is missing: apt-get install -y nginx-light (see ./dev and .ci/run)")
    base, inventory = deployment
    ports = {"http": free_port(), "https": free_port(), "web": free_port()}
    files = render.render_collector(base, inventory, {
        "ressenti_collector_web_bind": f"127.0.0.1:{ports['web']}",
        "ressenti_collector_nginx_port": ports["http"], "ressenti_collector_nginx_tls_port": ports["https"],
        "ressenti_collector_nginx_listen_address": "127.0.0.1",
        "ressenti_collector_nginx_access_log": str(tmp_path / "access.log")}, name=f"nginx-{tmp_path.name}")
    for folder in ("body", "proxy", "fastcgi", "uwsgi", "scgi"):
        (tmp_path / folder).mkdir()
    conf = tmp_path / "nginx.conf"
    conf.write_text(f"""
daemon off;
user root;
worker_processes 1;
pid {tmp_path}/nginx.pid;
error_log {tmp_path}/error.log;
events {{ worker_connections 64; }}
http {{
    client_body_temp_path {tmp_path}/body; proxy_temp_path {tmp_path}/proxy;
    fastcgi_temp_path {tmp_path}/fastcgi; uwsgi_temp_path {tmp_path}/uwsgi; scgi_temp_path {tmp_path}/scgi;
    include {files.out}/nginx-site.conf;
}}
""")
    upstream = Upstream(ports["web"])
    process = subprocess.Popen([binary, "-e", str(tmp_path / "error.log"), "-p", str(tmp_path), "-c", str(conf)],
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        wait_for_port(ports["https"], process, "nginx")
        yield {"ports": ports, "files": files, "upstream": upstream, "log": tmp_path / "access.log",
               "ca": str(files.secrets / "pki/ca.crt")}
    finally:
        process.terminate()
        process.wait(10)
        upstream.close()


def https(port: int, ca: str, path: str, headers: dict[str, str] | None = None) -> http.client.HTTPResponse:
    context = ssl.create_default_context(cafile=ca)
    conn = http.client.HTTPSConnection("localhost", port, context=context, timeout=10)
    conn.request("GET", path, headers=headers or {})
    response = conn.getresponse()
    response.read()
    conn.close()
    return response


def test_eavesdropper_on_plain_http_sees_only_a_redirect(nginx: dict) -> None:
    ports, upstream = nginx["ports"], nginx["upstream"]
    conn = http.client.HTTPConnection("127.0.0.1", ports["http"], timeout=10)
    conn.request("GET", f"/wall/{TOKEN}")
    response = conn.getresponse()
    assert response.status == 301
    assert response.getheader("Location") == f"https://127.0.0.1:{ports['https']}/wall/{TOKEN}"
    conn.close()
    assert upstream.paths == [], "nothing is served over plain HTTP"
    # Over HTTPS, with the certificate the secrets role signed with the deployment's CA.
    secure = https(ports["https"], nginx["ca"], "/login")
    assert secure.status == 200 and upstream.paths == ["/login"]
    assert secure.getheader("Strict-Transport-Security") == "max-age=31536000"


def test_eavesdropper_cannot_read_the_session_cookie_by_default(deployment: tuple[Path, Path]) -> None:
    base, inventory = deployment
    files = render.render_collector(base, inventory, name="cookie")
    env = render.env_file(files.out / "collector.env")
    assert env["RESSENTI_SESSION_COOKIE_SECURE"] == "true"
    assert env["RESSENTI_PROXY_HOPS"] == "1"


@pytest.mark.parametrize(("settings", "refused"), [
    ({"ressenti_collector_tls_cert_file": ""}, "ressenti_collector_allow_plain_http"),
    ({"ressenti_collector_nginx_tls_cert_file": ""}, "old names"),  # an inventory of an earlier version
    ({"ressenti_collector_tls_cert_file": "", "ressenti_collector_allow_plain_http": True}, None),
    ({}, None),
], ids=["no certificate", "old variable", "plain HTTP allowed", "defaults"])
def test_deploying_plain_http_by_mistake_is_refused(deployment: tuple[Path, Path], settings: dict,
                                                    refused: str | None) -> None:
    base, inventory = deployment
    result = render.run_collector_checks(base, inventory, settings)
    if refused is None:
        assert result.returncode == 0, result.stdout[-3000:]
    else:
        assert result.returncode != 0 and refused in result.stdout, result.stdout[-3000:]


def test_wall_tokens_do_not_reach_the_access_log(nginx: dict) -> None:
    ports, ca = nginx["ports"], nginx["ca"]
    referer = f"https://localhost:{ports['https']}/wall/{TOKEN}"
    for path in (f"/wall/{TOKEN}", f"/wall/{TOKEN}/check", f"//wall/{TOKEN}?x=1", "/wall/check", "/dashboard"):
        assert https(ports["https"], ca, path, {"Referer": referer}).status == 200
    plain = http.client.HTTPConnection("127.0.0.1", ports["http"], timeout=10)
    plain.request("GET", f"/wall/{TOKEN}/stream")
    assert plain.getresponse().status == 301
    plain.close()
    deadline = time.monotonic() + 5
    while len(nginx["log"].read_text().splitlines()) < 6:
        assert time.monotonic() < deadline, nginx["log"].read_text()
        threading.Event().wait(0.05)
    log = nginx["log"].read_text()
    assert TOKEN not in log, log
    assert f"/wall/{TOKEN}" in str(nginx["upstream"].paths), "the app still gets the token"
    for expected in ('"GET /wall/<redacted> HTTP/', '"GET /wall/<redacted>/check HTTP/', '/wall/<redacted>?x=1',
                     '"GET /wall/check HTTP/', '"GET /dashboard HTTP/', '"GET /wall/<redacted>/stream HTTP/',
                     f'"https://localhost:{ports["https"]}/wall/<redacted>"'):
        assert expected in log, f"{expected} not in:\n{log}"


def test_gunicorn_without_nginx_serves_only_https(deployment: tuple[Path, Path], tmp_path: Path) -> None:
    """ressenti_collector_nginx: false: gunicorn faces the network with the certificate, its
    timeouts and limits, no trusted proxy and no access log (it would print wall tokens)."""
    base, inventory = deployment
    port = free_port()
    files = render.render_collector(base, inventory, {"ressenti_collector_nginx": False,
                                                      "ressenti_collector_web_bind": f"127.0.0.1:{port}"},
                                    name="gunicorn")
    settings = files.read("gunicorn.conf.py")
    for line in ('certfile = "', 'keyfile = "', 'forwarded_allow_ips = ""', "accesslog = None", "timeout = 60",
                 "keepalive = 5", "limit_request_line = 4094"):
        assert line in settings, settings
    env = {**render.env_file(files.out / "collector.env"), **render.env_file(files.out / "web-broker.env")}
    assert (env["RESSENTI_PROXY_HOPS"], env["RESSENTI_SESSION_COOKIE_SECURE"]) == ("0", "true")
    db_path = tmp_path / "collector.db"
    db = connect(db_path)
    add_site(db, "mairie", "Mairie")
    db.close()
    env["RESSENTI_DATABASE"] = str(db_path)
    process = subprocess.Popen([str(VENV_BIN / "gunicorn"), "--config", str(files.out / "gunicorn.conf.py"),
                                "collector.web.wsgi:app"], cwd=Path(__file__).resolve().parents[1],
                               env={"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), **env},
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        wait_for_port(port, process, "gunicorn", timeout=60)
        deadline = time.monotonic() + 30
        while True:
            try:
                response = https(port, str(files.secrets / "pki/ca.crt"), f"/wall/{TOKEN}")
                break
            except (ConnectionError, ssl.SSLError):
                assert time.monotonic() < deadline
                threading.Event().wait(0.2)
        assert response.status in (200, 404, 410)
        assert https(port, str(files.secrets / "pki/ca.crt"), "/login").status == 200
        plain = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
        with pytest.raises((ConnectionError, http.client.HTTPException, OSError)):
            plain.request("GET", "/login")
            assert plain.getresponse().status != 200
    finally:
        process.terminate()
        out, errors = process.communicate(timeout=30)
    assert TOKEN not in out + errors, "gunicorn logged a wall token"

"""Real parts for the alert delivery tests: an aiosmtpd server (plain, STARTTLS or TLS), a webhook receiver."""

from __future__ import annotations

import asyncio
import datetime as dt
import email
import email.policy
import hashlib
import hmac
import ipaddress
import json
import socket
import threading
from dataclasses import dataclass, field
from email.message import EmailMessage as Message
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult
from sqlite_utils import Database

from ressenti.protocol import format_ts


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def throwaway_cert(directory: Path) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1 (the tests' CA file too), made with `cryptography`."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = dt.datetime.now(dt.UTC)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - dt.timedelta(minutes=5))
            .not_valid_after(now + dt.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), False)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), True)
            .sign(key, hashes.SHA256()))
    cert_path, key_path = directory / "smtp-cert.pem", directory / "smtp-key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return cert_path, key_path


@dataclass
class Accepted:
    rcpt: list[str]
    message: Message
    tls: bool


@dataclass
class Mailbox:
    """What the SMTP server accepted (answered 250 to), in order. `hang`: DATA never answered."""

    accepted: list[Accepted] = field(default_factory=list)
    hang: bool = False
    refuse: set[str] = field(default_factory=set)
    got_data: threading.Event = field(default_factory=threading.Event)

    async def handle_RCPT(self, server: Any, session: Any, envelope: Any, address: str,  # noqa: N802
                          rcpt_options: list[str]) -> str:
        if address in self.refuse:
            return "550 5.1.1 no such mailbox"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802 (aiosmtpd's name)
        self.got_data.set()
        if self.hang:
            await asyncio.sleep(3600)
        self.accepted.append(Accepted(list(envelope.rcpt_tos),
                                      email.message_from_bytes(envelope.content, policy=email.policy.default),
                                      session.ssl is not None
                                      or server.transport.get_extra_info("ssl_object") is not None))
        return "250 OK"

    def to(self, address: str) -> list[Message]:
        return [a.message for a in self.accepted if address in a.rcpt]


class SmtpServer:
    """aiosmtpd on 127.0.0.1 and a free port; `security`: none, starttls (required) or tls (implicit)."""

    def __init__(self, tmp: Path, security: str = "none", *, users: dict[str, str] | None = None,
                 port: int | None = None) -> None:
        self.mailbox = Mailbox()
        self.port = port or free_port()
        self.security = security
        self.ca_file: Path | None = None
        kwargs: dict[str, Any] = {}
        if security != "none":
            import ssl
            cert, key = throwaway_cert(tmp)
            self.ca_file = cert
            context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
            context.load_cert_chain(cert, key)
            if security == "starttls":
                kwargs.update(tls_context=context, require_starttls=True)
            else:
                # aiosmtpd only counts STARTTLS as TLS for AUTH; this connection is TLS from the start.
                kwargs.update(ssl_context=context, server_hostname="127.0.0.1", auth_require_tls=False)
        if users:
            def authenticator(server: Any, session: Any, envelope: Any, mechanism: str, auth_data: Any) -> AuthResult:
                ok = users.get(auth_data.login.decode()) == auth_data.password.decode()
                return AuthResult(success=ok, handled=False)
            kwargs.update(authenticator=authenticator, auth_required=True)
        self.controller = Controller(self.mailbox, hostname="127.0.0.1", port=self.port, **kwargs)

    def start(self) -> SmtpServer:
        self.controller.start()
        return self

    def stop(self) -> None:
        self.controller.stop()

    def env(self, **extra: str) -> dict[str, str]:
        """The RESSENTI_* settings that point delivery at this server."""
        out = {"RESSENTI_SMTP_HOST": "127.0.0.1", "RESSENTI_SMTP_PORT": str(self.port),
               "RESSENTI_SMTP_SECURITY": self.security, "RESSENTI_SMTP_FROM": "alertes@ville.example.fr",
               "RESSENTI_BASE_URL": "https://ressenti.ville.example.fr"}
        if self.ca_file:
            out["RESSENTI_SMTP_CA_FILE"] = str(self.ca_file)
        out.update(extra)
        return out


@dataclass
class Hit:
    headers: dict[str, str]
    body: bytes
    signature_ok: bool
    status: int


class WebhookReceiver:
    """http.server in a thread; answers `statuses` in turn (then 200), checks each signature with `secret`."""

    def __init__(self, secret: str, statuses: list[int] | None = None) -> None:
        self.secret = secret
        self.statuses = list(statuses or [])
        self.hits: list[Hit] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 (http.server's name)
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                stamp = self.headers.get("X-Ressenti-Timestamp", "")
                expected = "sha256=" + hmac.new(receiver.secret.encode(), stamp.encode() + b"." + body,
                                                hashlib.sha256).hexdigest()
                ok = hmac.compare_digest(expected, self.headers.get("X-Ressenti-Signature", ""))
                status = receiver.statuses.pop(0) if receiver.statuses else 200
                receiver.hits.append(Hit(dict(self.headers), body, ok, status))
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def start(self) -> WebhookReceiver:
        self.thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(5)

    def accepted(self) -> list[dict[str, Any]]:
        """The bodies of the POSTs answered 2xx with a good signature."""
        return [json.loads(h.body) for h in self.hits if h.signature_ok and 200 <= h.status < 300]


def add_change(db: Database, *, alert_id: int, change: str, at: Any, site: str | None = "mairie",
               org: str | None = "ville", kind: str = "unhappy_share", summary: str = "62 % de visages du bas") -> int:
    """One row as the evaluator writes it (the hand-over contract of docs/alerts-delivery.md).

    The evaluator's tables want the alert the change is about, and a site and an organisation
    (empty for a change about no site, which the evaluator does not make but delivery must bear)."""
    site, org = site or "", org or ""
    stamp = at if isinstance(at, str) else format_ts(at)
    # Resolved, so that several of one kind and site may stand (one open alert per kind and site).
    db.conn.execute("INSERT OR IGNORE INTO alerts (id, kind, site, org, opened_at, updated_at, state)"
                    " VALUES (?, ?, ?, ?, ?, ?, 'resolved')", (alert_id, kind, site, org, stamp, stamp))
    cursor = db.conn.execute(
        "INSERT INTO alert_changes (alert_id, change, at, site, org, kind, summary_fr, summary_en, figures, link)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (alert_id, change, stamp, site, org, kind, summary,
         summary.replace("de visages du bas", "bottom faces"), json.dumps({"share_pct": 62, "answers": 13}),
         f"/dashboard?scope=site:{site}" if site else "/alerts"))
    return int(cursor.lastrowid or 0)

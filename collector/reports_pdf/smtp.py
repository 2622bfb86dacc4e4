"""An SMTP sender for the scheduled reports, from the RESSENTI_SMTP_* settings the alert mailer reads too.

Hand-written on stdlib smtplib because the alerts' mailer (collector/alerts/mailer.py,
issue 12) is not part of this collector yet; once it is, `reports-send` can take its
transport instead: both are a `send(message)` callable. STARTTLS is required unless
RESSENTI_SMTP_SECURITY says otherwise, never a silent fall-back to clear text.
"""

from __future__ import annotations

import smtplib
import ssl
from collections.abc import Callable, Mapping
from email.message import EmailMessage
from pathlib import Path

from ressenti.errors import BadConfig

PORTS = {"starttls": 587, "tls": 465, "none": 25}


def smtp_settings(env: Mapping[str, str]) -> dict[str, object]:
    host = env.get("RESSENTI_SMTP_HOST", "").strip()
    sender = env.get("RESSENTI_SMTP_FROM", "").strip()
    if not host or not sender or "@" not in sender:
        raise BadConfig("set RESSENTI_SMTP_HOST (e.g. smtp.ville.fr) and RESSENTI_SMTP_FROM (an e-mail address)")
    security = env.get("RESSENTI_SMTP_SECURITY", "starttls").strip().lower()
    if security not in PORTS:
        raise BadConfig(f"RESSENTI_SMTP_SECURITY={security!r} must be starttls, tls or none")
    try:
        port = int(env.get("RESSENTI_SMTP_PORT") or PORTS[security])
    except ValueError:
        raise BadConfig("RESSENTI_SMTP_PORT must be a port number") from None
    user = env.get("RESSENTI_SMTP_USER", "").strip() or None
    password = None
    if env.get("RESSENTI_SMTP_PASSWORD_FILE"):
        try:
            password = Path(env["RESSENTI_SMTP_PASSWORD_FILE"]).read_text().strip()
        except OSError as exc:
            raise BadConfig(f"RESSENTI_SMTP_PASSWORD_FILE cannot be read: {exc.strerror}") from None
    if user and security == "none":
        raise BadConfig("RESSENTI_SMTP_SECURITY=none would send the password in clear: use starttls or tls")
    return {"host": host, "port": port, "security": security, "user": user, "password": password, "from": sender}


def smtp_sender(settings: Mapping[str, object], timeout: float = 30) -> Callable[[EmailMessage], None]:
    """A `send(message)` that opens one connection per message (a few reports a week)."""

    def send(msg: EmailMessage) -> None:
        host, port = str(settings["host"]), int(settings["port"])  # type: ignore[call-overload]
        context = ssl.create_default_context()
        smtp = (smtplib.SMTP_SSL(host, port, timeout=timeout, context=context) if settings["security"] == "tls"
                else smtplib.SMTP(host, port, timeout=timeout))
        with smtp:
            smtp.ehlo()
            if settings["security"] == "starttls":
                smtp.starttls(context=context)
                smtp.ehlo()
            if settings["user"]:
                smtp.login(str(settings["user"]), str(settings["password"] or ""))
            smtp.send_message(msg)

    return send

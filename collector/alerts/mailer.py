"""Alert e-mails: compose one message (plain text and HTML, French then English) and send it over SMTP.

smtplib and email.message.EmailMessage (stdlib) do the protocol and MIME work;
Jinja2 (already the web app's) escapes the HTML part. STARTTLS is required when
asked for: a server that does not offer it is an error, never a fall-back to clear.
"""

from __future__ import annotations

import json
import smtplib
import ssl
from datetime import datetime
from email.message import EmailMessage
from email.utils import format_datetime
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, select_autoescape

from collector.alerts.delivery_settings import DeliverySettings, Security, SmtpSettings
from collector.alerts.subscriptions import KINDS
from ressenti.protocol import parse_ts

TEMPLATES = Path(__file__).resolve().parent.parent / "templates" / "alerts"
_env = Environment(loader=FileSystemLoader(str(TEMPLATES)), autoescape=select_autoescape(["html"]),
                   trim_blocks=True, lstrip_blocks=True)
CHANGES = {"raised": ("Alerte levée", "Alert raised"), "updated": ("Alerte mise à jour", "Alert updated"),
           "resolved": ("Alerte close", "Alert resolved"),
           "raised+resolved": ("Alerte levée puis close", "Alert raised then resolved")}
MAX_SUBJECT_CHARS = 150


def merged_changes(changes: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The changes of one message, one entry per alert: a raise and its resolve in the same message say both."""
    by_alert: dict[Any, dict[str, Any]] = {}
    for change in sorted(changes, key=lambda c: c["id"]):
        key = change["alert_id"] if change["alert_id"] is not None else f"change-{change['id']}"
        first = by_alert.get(key)
        if first is None:
            by_alert[key] = {**change, "first_at": change["at"], "what": change["change"]}
            continue
        what = "raised+resolved" if first["what"] == "raised" and change["change"] == "resolved" else (
            "raised" if first["what"] == "raised" else change["change"])
        by_alert[key] = {**change, "first_at": first["first_at"], "what": what}
    return list(by_alert.values())


def _figures(raw: str | None) -> list[tuple[str, Any]]:
    try:
        figures = json.loads(raw or "{}")
    except ValueError:
        return []
    return sorted(figures.items()) if isinstance(figures, dict) else []


def view(changes: list[dict[str, Any]], settings: DeliverySettings, *, notice: bool = False,
         names: dict[str, str] | None = None) -> dict[str, Any]:
    """What both parts of the message (and the webhook payload's texts) show; `names`: site and org names."""
    names = names or {}
    zone = settings.zone
    items = []
    for c in merged_changes(changes):
        fr, en = CHANGES.get(c["what"], CHANGES["updated"])
        local = parse_ts(c["at"]).astimezone(zone)
        items.append({"fr": fr, "en": en, "kind": KINDS.get(c["kind"], (c["kind"], c["kind"])),
                      "when": local.strftime("%d/%m/%Y %H:%M"), "when_en": local.strftime("%Y-%m-%d %H:%M"),
                      "summary_fr": c["summary_fr"] or "", "summary_en": c["summary_en"] or "",
                      "figures": _figures(c["figures"]), "url": settings.absolute(c["link"]),
                      "place": names.get(c["site"] or c["org"] or "", c["site"] or c["org"] or "")})
    return {"items": items, "notice": notice, "cap": settings.daily_cap,
            "alerts_url": settings.absolute("/alerts"), "settings_url": settings.absolute("/alerts/settings")}


def subject(context: dict[str, Any]) -> str:
    if context["notice"]:
        return "[ressenti] Plus d'alertes sur le tableau de bord / More alerts on the dashboard"
    items = context["items"]
    places = ", ".join(dict.fromkeys(i["place"] for i in items if i["place"]))
    if len(items) == 1:
        item = items[0]
        text = f"[ressenti] {item['fr']} / {item['en']} — {places}: {item['summary_fr']}"
    else:
        text = f"[ressenti] {len(items)} alertes / {len(items)} alerts — {places}"
    return text if len(text) <= MAX_SUBJECT_CHARS else text[:MAX_SUBJECT_CHARS - 1] + "…"


def compose(context: dict[str, Any], settings: DeliverySettings, to: str, message_id: str,
            now: datetime) -> EmailMessage:
    msg = EmailMessage()
    msg["Subject"] = subject(context)
    msg["From"] = settings.smtp_from
    msg["To"] = to
    msg["Date"] = format_datetime(now)
    # Stable per message: a retry after a crash between "accepted" and "marked sent" is the
    # same message, which mail clients and servers that deduplicate show once.
    msg["Message-ID"] = message_id
    msg["Content-Language"] = "fr, en"
    msg["Auto-Submitted"] = "auto-generated"  # RFC 3834: no vacation replies
    msg.set_content(_env.get_template("email.txt").render(**context))
    msg.add_alternative(_env.get_template("email.html").render(**context), subtype="html")
    return msg


class SmtpTransport:
    """One SMTP session for the messages of a delivery run (or of a reports run), opened at the first message."""

    def __init__(self, settings: SmtpSettings) -> None:
        self.settings = settings
        self._smtp: smtplib.SMTP | None = None

    def _open(self) -> smtplib.SMTP:
        s = self.settings
        context = ssl.create_default_context(cafile=s.smtp_ca_file)
        smtp: smtplib.SMTP
        if s.smtp_security is Security.TLS:
            smtp = smtplib.SMTP_SSL(s.smtp_host, s.smtp_port, timeout=s.timeout_s, context=context)
        else:
            smtp = smtplib.SMTP(s.smtp_host, s.smtp_port, timeout=s.timeout_s)
        try:
            smtp.ehlo()
            if s.smtp_security is Security.STARTTLS:
                smtp.starttls(context=context)  # SMTPNotSupportedError if not offered: no clear-text fall-back
                smtp.ehlo()
            if s.smtp_user:
                smtp.login(s.smtp_user, s.smtp_password or "")
        except BaseException:
            smtp.close()
            raise
        return smtp

    def send(self, msg: EmailMessage) -> None:
        """Returns once the server accepted the message (250 after DATA); raises otherwise."""
        if self._smtp is None:
            self._smtp = self._open()
        try:
            self._smtp.send_message(msg)
        except (smtplib.SMTPServerDisconnected, OSError):
            self.close()
            raise

    def close(self) -> None:
        if self._smtp is not None:
            try:
                self._smtp.quit()
            except (smtplib.SMTPException, OSError):
                self._smtp.close()
            self._smtp = None

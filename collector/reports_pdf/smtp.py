"""The scheduled reports' `send(message)`: the alerts' SMTP transport (collector/alerts/mailer.py), same settings.

One mailer for the collector: RESSENTI_SMTP_* are parsed by
`collector.alerts.delivery_settings.smtp_from_env` (one set of error messages) and
sent by `collector.alerts.mailer.SmtpTransport` (STARTTLS required unless
RESSENTI_SMTP_SECURITY says otherwise, the private CA of RESSENTI_SMTP_CA_FILE).
"""

from __future__ import annotations

from collections.abc import Callable
from email.message import EmailMessage

from collector.alerts.delivery_settings import SmtpSettings
from collector.alerts.mailer import SmtpTransport


def smtp_sender(settings: SmtpSettings) -> Callable[[EmailMessage], None]:
    """A `send(message)` that opens one SMTP session per message (a few reports a week)."""

    def send(msg: EmailMessage) -> None:
        transport = SmtpTransport(settings)
        try:
            transport.send(msg)
        finally:
            transport.close()

    return send

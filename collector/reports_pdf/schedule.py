"""Scheduled reports: subscribers, the reports due (weekly on Monday, monthly on the 1st), sent once each.

`reports-send` runs from a timer. For each subscription, the report due is
the last complete week or month of its scope, from the set local time of the
day after it ends. It is rendered, handed to `send(message)` and remembered
in `report_runs` once the server accepted it: a restart sends nothing twice,
and a run missed (machine off on Monday) sends that report at the next run.
A crash between the server's acceptance and the row being written sends the
message again at the next run, with the same Message-ID (mail clients show it once).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from email.message import EmailMessage
from email.utils import format_datetime
from typing import Any

from sqlite_utils import Database

from collector.db import write_transaction
from collector.publication import DEFAULT_MIN_CELL
from collector.reports_pdf.content import Scope, build_content, resolve_scope, today_of
from collector.reports_pdf.notes import poster_notes
from collector.reports_pdf.period import Period, PeriodKind, ReportError, last_complete
from collector.reports_pdf.render import csv_files, poster_pdf, rendering, report_pdf, results_url
from ressenti.protocol import format_ts, utc_now

log = logging.getLogger(__name__)
EVERY = (PeriodKind.WEEK.value, PeriodKind.MONTH.value)
DEFAULT_SEND_AT = time(7, 0)
Send = Callable[[EmailMessage], None]


@dataclass(frozen=True)
class Subscription:
    id: int
    email: str
    scope: str  # site:<id> or org:<id>
    every: str  # week or month
    lang: str


def _check_email(email: str) -> str:
    email = email.strip()
    local, _, domain = email.partition("@")
    if not local or "." not in domain or any(c in email for c in " \r\n<>,;") or len(email) > 254:
        raise ReportError(f"{email!r} is not an e-mail address")
    return email


def subscribe(db: Database, email: str, scope: Scope, every: str, lang: str = "fr") -> int:
    if every not in EVERY:
        raise ReportError(f"--every {every!r} must be week or month")
    if lang not in ("fr", "en"):
        raise ReportError(f"language {lang!r} must be fr or en")
    email = _check_email(email)
    with write_transaction(db):
        db.conn.execute(
            "INSERT INTO report_subscriptions (email, scope, every, lang, created) VALUES (?, ?, ?, ?, ?)"
            " ON CONFLICT (email, scope, every) DO UPDATE SET lang = excluded.lang",
            (email, scope.value, every, lang, format_ts(utc_now())))
    row = db.execute("SELECT id FROM report_subscriptions WHERE email = ? AND scope = ? AND every = ?",
                     [email, scope.value, every]).fetchone()
    return int(row[0])


def unsubscribe(db: Database, email: str, scope: str, every: str) -> bool:
    with write_transaction(db):
        cur = db.conn.execute("DELETE FROM report_subscriptions WHERE email = ? AND scope = ? AND every = ?",
                              (email.strip(), scope, every))
    return cur.rowcount > 0


def subscriptions(db: Database) -> list[Subscription]:
    return [Subscription(*row) for row in db.execute(
        "SELECT id, email, scope, every, lang FROM report_subscriptions ORDER BY id")]


def due_period(scope: Scope, every: str, now: datetime, send_at: time) -> Period | None:
    """The period whose report is due now, or None before the set local time of the day after it ends."""
    period = last_complete(PeriodKind(every), today_of(scope, now))
    due_at = datetime.combine(period.full_end + timedelta(days=1), send_at, scope.sites[0].zone)
    return period if now >= due_at else None


def _sent(db: Database, subscription_id: int, period: Period) -> bool:
    return db.execute("SELECT 1 FROM report_runs WHERE subscription_id = ? AND period = ?",
                      [subscription_id, period.key]).fetchone() is not None


@dataclass
class Rendered:
    subject: str
    body: str
    files: list[tuple[str, bytes, str]]  # name, content, MIME subtype under application/ or text/


def render_for(db: Database, scope: Scope, period: Period, lang: str, *, min_cell: int,
               base_url: str | None) -> Rendered:
    with rendering(lang):
        content = build_content(db, scope, period, lang=lang, min_cell=min_cell)
        stem = f"ressenti-{scope.id}-{period.key}"
        files = [(f"{stem}.pdf", report_pdf(db, content), "pdf")]
        files += [(name, text.encode(), "csv") for name, text in csv_files(db, content)]
        if scope.kind == "site" and period.kind is PeriodKind.MONTH and base_url:
            # The month's results poster, printed for the reception area (engagement 6).
            site = scope.sites[0]
            notes = poster_notes(db, site.id, site.org, period, lang)
            files.append((f"{stem}-affiche-a4.pdf", poster_pdf(content, "a4", results_url(base_url, site.id), notes),
                          "pdf"))
    label = period.label(lang)
    if lang == "en":
        subject = f"[ressenti] Report — {scope.name} — {label}"
        body = (f"The satisfaction report of {scope.name} for {label} is attached (PDF), with its figures as CSV.\n"
                "Cells with too few answers are withheld, as on the dashboard.\n")
    else:
        subject = f"[ressenti] Rapport — {scope.name} — {label}"
        body = (f"Vous trouverez ci-joint le rapport de satisfaction de {scope.name} pour {label} (PDF),"
                " et ses chiffres en CSV.\nLes cases de trop peu de réponses ne sont pas chiffrées, comme sur"
                " le tableau de bord.\n")
    return Rendered(subject, body, files)


def compose(rendered: Rendered, sender: str, to: str, message_id: str, now: datetime) -> EmailMessage:
    msg = EmailMessage()
    msg["Subject"] = rendered.subject
    msg["From"] = sender
    msg["To"] = to
    msg["Date"] = format_datetime(now)
    msg["Message-ID"] = message_id
    msg["Auto-Submitted"] = "auto-generated"  # RFC 3834: no vacation replies
    msg.set_content(rendered.body)
    for name, data, subtype in rendered.files:
        maintype = "application" if subtype == "pdf" else "text"
        msg.add_attachment(data, maintype=maintype, subtype=subtype, filename=name)
    return msg


def send_due(db: Database, send: Send, *, sender: str, now: datetime | None = None,
             send_at: time = DEFAULT_SEND_AT, min_cell: int = DEFAULT_MIN_CELL,
             base_url: str | None = None) -> dict[str, Any]:
    """Send every report due and not sent yet; a failure is logged and retried at the next run."""
    now = now or utc_now()
    domain = sender.rpartition("@")[2] or "ressenti"
    cache: dict[tuple[str, str, str], Rendered] = {}
    sent, failed = [], []
    for sub in subscriptions(db):
        kind, _, ident = sub.scope.partition(":")
        try:
            scope = resolve_scope(db, **{kind: ident}) if kind in ("site", "org") else None
            if scope is None:
                raise ReportError(f"scope {sub.scope!r} must be site:<id> or org:<id>")
        except ReportError as exc:
            log.warning("report subscription %s (%s) skipped: %s", sub.id, sub.scope, exc)
            failed.append((sub.id, str(exc)))
            continue
        period = due_period(scope, sub.every, now, send_at)
        if period is None or _sent(db, sub.id, period):
            continue
        key = (sub.scope, period.key, sub.lang)
        if key not in cache:
            cache[key] = render_for(db, scope, period, sub.lang, min_cell=min_cell, base_url=base_url)
        message_id = f"<report-{sub.id}-{period.key}@{domain}>"
        try:
            send(compose(cache[key], sender, sub.email, message_id, now))
        except Exception as exc:  # the server refused or is down: the next run tries again
            log.warning("report %s for subscription %s not sent: %s", period.key, sub.id, exc)
            failed.append((sub.id, str(exc)))
            continue
        with write_transaction(db):
            db.conn.execute("INSERT OR IGNORE INTO report_runs (subscription_id, period, sent_at, message_id)"
                            " VALUES (?, ?, ?, ?)", (sub.id, period.key, format_ts(now), message_id))
        log.info("report %s sent for subscription %s", period.key, sub.id)
        sent.append((sub.id, period.key))
    return {"sent": sent, "failed": failed}

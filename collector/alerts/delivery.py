"""Durable alert delivery: follow `alert_changes`, fan out to an outbox, group, cap, send, retry.

Three steps per run, each its own short transaction (docs/alerts-delivery.md):
1. fan out: the changes past the watermark become one `alert_deliveries` row per
   (change, recipient or webhook), and the watermark moves, in one transaction;
2. plan: a recipient's pending rows of one rule (kind and site) become one
   `alert_messages` row, at most one per debounce window; e-mails past the daily
   cap become one notice;
3. send: each message due is leased (attempts + 1, retried later if we die),
   sent, and marked sent only once the SMTP server accepted it or the webhook
   answered 2xx. A failure is retried with exponential backoff and stays visible
   (`delivery_failures`). At least once: a crash between the server's acceptance
   and the mark sends the same message again, with the same Message-ID.
"""

from __future__ import annotations

import logging
import secrets
import smtplib
import threading
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlite_utils import Database

from collector.alerts import mailer, webhook
from collector.alerts.delivery_settings import DeliverySettings
from collector.alerts.subscriptions import may_see_change, receives, webhook_covers
from collector.db import connect, write_transaction
from collector.registry import list_sites
from collector.users import get_user, list_users
from ressenti.protocol import format_ts, parse_ts, utc_now

log = logging.getLogger(__name__)
FAN_OUT_BATCH = 1000
SEND_BATCH = 500
# A message being sent is retried after this if its sender died. Leased LEASE_CHUNK at a time: the
# lease must outlast sending the chunk (a server that times out is not tried again in the run).
LEASE, LEASE_CHUNK = timedelta(minutes=5), 20
BACKOFF_FIRST_S, BACKOFF_MAX_S = 30, 3600


@dataclass
class RunResult:
    changes: int = 0
    deliveries: int = 0
    messages: int = 0
    sent: int = 0
    failed: int = 0


def backoff(attempts: int) -> timedelta:
    return timedelta(seconds=min(BACKOFF_FIRST_S * 2 ** max(0, attempts - 1), BACKOFF_MAX_S))


def fan_out(db: Database, settings: DeliverySettings, now: datetime) -> tuple[int, int]:
    """Changes past the watermark -> deliveries, and the watermark moved, in one transaction."""
    with write_transaction(db):
        mark = db.conn.execute("SELECT change_id FROM alert_delivery_watermark WHERE id = 1").fetchone()[0]
        changes = list(db.query("SELECT * FROM alert_changes WHERE id > ? ORDER BY id LIMIT ?", [mark, FAN_OUT_BATCH]))
        if not changes:
            return 0, 0
        users = [u for u in list_users(db) if not u.disabled]
        emails = {r[0] for r in db.conn.execute("SELECT id FROM users WHERE email IS NOT NULL AND email != ''")}
        subs: dict[int, dict[str, bool]] = {}
        for row in db.query("SELECT user_id, kind, enabled FROM alert_subscriptions"):
            subs.setdefault(row["user_id"], {})[row["kind"]] = bool(row["enabled"])
        sites = {s.id: s for s in list_sites(db)}
        hooks = list(db.query("SELECT id, scope FROM alert_webhooks WHERE enabled = 1"))
        rows: list[tuple[int, str, int | None, int | None, str, str]] = []
        for change in changes:
            try:
                at = min(parse_ts(change["at"]), now)  # a change dated in 2099 is not held until then
            except ValueError:
                at = now
            due = format_ts(at + timedelta(seconds=settings.hold_s))
            key = f"{change['kind']}|{change['site'] or change['org'] or ''}"
            for user in users:
                if (user.id in emails and receives(user, change["kind"], subs.get(user.id, {}))
                        and may_see_change(user, change, sites)):
                    rows.append((change["id"], "email", user.id, None, key, due))
            rows += [(change["id"], "webhook", None, h["id"], key, due) for h in hooks
                     if webhook_covers(h["scope"], change)]
        before = db.conn.total_changes
        db.conn.executemany("INSERT OR IGNORE INTO alert_deliveries (change_id, channel, user_id, webhook_id,"
                            " group_key, due_at) VALUES (?, ?, ?, ?, ?, ?)", rows)
        made = db.conn.total_changes - before
        db.conn.execute("UPDATE alert_delivery_watermark SET change_id = ? WHERE id = 1", (changes[-1]["id"],))
    return len(changes), made


def _new_message(db: Database, settings: DeliverySettings, group: dict[str, Any], now: datetime, *,
                 notice: bool) -> int:
    at = format_ts(now)
    cursor = db.conn.execute(
        "INSERT INTO alert_messages (channel, user_id, webhook_id, group_key, notice, created_at, message_id,"
        " next_attempt_at) VALUES (?, ?, ?, ?, ?, ?, '', ?)",
        (group["channel"], group["user_id"], group["webhook_id"], group["group_key"], int(notice), at, at))
    message = int(cursor.lastrowid or 0)
    # Stable and unique: kept with the message, so every attempt carries the same one.
    domain = settings.smtp_from.rpartition("@")[2]
    db.conn.execute("UPDATE alert_messages SET message_id = ? WHERE id = ?",
                    (f"<ressenti-alert.{message}.{secrets.token_hex(6)}@{domain}>", message))
    return message


def plan(db: Database, settings: DeliverySettings, now: datetime) -> int:
    """Pending deliveries -> messages: one per rule and recipient per debounce window; e-mails capped per day."""
    at = format_ts(now)
    window_start = format_ts(now - timedelta(seconds=settings.debounce_s))
    local = now.astimezone(settings.zone)
    day_start = format_ts(local.replace(hour=0, minute=0, second=0, microsecond=0))
    made = 0
    with write_transaction(db):
        groups = list(db.query(
            "SELECT channel, user_id, webhook_id, group_key FROM alert_deliveries WHERE state = 'pending'"
            " GROUP BY channel, user_id, webhook_id, group_key HAVING MIN(due_at) <= ?", [at]))
        for group in groups:
            same = ("channel = ? AND user_id IS ? AND webhook_id IS ? AND group_key = ?",
                    [group["channel"], group["user_id"], group["webhook_id"], group["group_key"]])
            last = db.conn.execute(f"SELECT MAX(created_at) FROM alert_messages WHERE notice = 0 AND {same[0]}",
                                   same[1]).fetchone()[0]
            if last is not None and last > window_start:
                continue  # grouped into the next message, once the window has passed
            state, message = "queued", None
            if group["channel"] == "email":
                today = db.conn.execute(
                    "SELECT SUM(notice = 0), MAX(CASE WHEN notice = 1 THEN id END) FROM alert_messages"
                    " WHERE channel = 'email' AND user_id = ? AND created_at >= ?",
                    (group["user_id"], day_start)).fetchone()
                if (today[0] or 0) >= settings.daily_cap:
                    state, message = "capped", today[1]
                    if message is None:
                        message = _new_message(db, settings, {**group, "group_key": "notice"}, now, notice=True)
                        made += 1
            if message is None:
                message = _new_message(db, settings, group, now, notice=False)
                made += 1
            db.conn.execute(f"UPDATE alert_deliveries SET state = ?, message = ? WHERE state = 'pending' AND {same[0]}",
                            [state, message, *same[1]])
    return made


def _changes_of(db: Database, message_id: int) -> list[dict[str, Any]]:
    return list(db.query("SELECT c.* FROM alert_deliveries d JOIN alert_changes c ON c.id = d.change_id"
                         " WHERE d.message = ? AND d.state != 'capped' ORDER BY c.id", [message_id]))


def _lease(db: Database, messages: list[dict[str, Any]], now: datetime) -> set[int]:
    """Lease a chunk of messages in one transaction (one fsync, not one per message); the ids leased."""
    leased = set()
    with write_transaction(db):
        for message in messages:
            if db.conn.execute(
                    "UPDATE alert_messages SET attempts = attempts + 1, next_attempt_at = ? WHERE id = ?"
                    " AND state = 'sending' AND next_attempt_at <= ?",
                    (format_ts(now + LEASE), message["id"], format_ts(now))).rowcount:
                leased.add(message["id"])
    return leased


def _finish(db: Database, message: dict[str, Any], now: datetime, error: str | None, *, dropped: bool = False) -> None:
    with write_transaction(db):
        if error is None:
            db.conn.execute("UPDATE alert_messages SET state = 'sent', sent_at = ?, last_error = NULL WHERE id = ?",
                            (format_ts(now), message["id"]))
            db.conn.execute("UPDATE alert_deliveries SET state = 'sent' WHERE message = ? AND state = 'queued'",
                            (message["id"],))
        elif dropped:
            db.conn.execute("UPDATE alert_messages SET state = 'dropped', last_error = ? WHERE id = ?",
                            (error, message["id"]))
            db.conn.execute("UPDATE alert_deliveries SET state = 'skipped' WHERE message = ?", (message["id"],))
        else:
            db.conn.execute("UPDATE alert_messages SET next_attempt_at = ?, last_error = ? WHERE id = ?",
                            (format_ts(now + backoff(message["attempts"] + 1)), error[:500], message["id"]))


def send_due(db: Database, settings: DeliverySettings, now: datetime) -> tuple[int, int]:
    """Send the messages due; (sent, failed). One SMTP session for the run; a target that failed is not retried
    in the same run (a server down costs one timeout, not one per message)."""
    due = list(db.query("SELECT * FROM alert_messages WHERE state = 'sending' AND next_attempt_at <= ?"
                        " ORDER BY id LIMIT ?", [format_ts(now), SEND_BATCH]))
    smtp = mailer.SmtpTransport(settings)
    broken: dict[tuple[str, int], str] = {}
    sites = {site.id: site for site in list_sites(db)}
    names = {site.id: site.name for site in sites.values()} | {
        r["id"]: r["name"] for r in db.query("SELECT id, name FROM orgs")}
    sent = failed = 0
    leased: set[int] = set()
    try:
        for number, message in enumerate(due):
            if number % LEASE_CHUNK == 0:
                leased = _lease(db, due[number:number + LEASE_CHUNK], now)
            if message["id"] not in leased:
                continue  # another sender has it
            target = ("email", 0) if message["channel"] == "email" else ("webhook", message["webhook_id"])
            if target in broken:
                _finish(db, message, now, broken[target])
                failed += 1
                continue
            changes = _changes_of(db, message["id"])
            try:
                if message["channel"] == "email":
                    user = get_user(db, message["user_id"])
                    address = db.conn.execute("SELECT email FROM users WHERE id = ?",
                                              (message["user_id"],)).fetchone()
                    if user is None or user.disabled or not address or not address[0]:
                        _finish(db, message, now, "the user has no e-mail address any more, or is disabled",
                                dropped=True)
                        continue
                    # Checked again at sending: a scope narrowed since the fan-out is obeyed.
                    changes = [c for c in changes if may_see_change(user, c, sites)]
                    if not changes and not message["notice"]:
                        _finish(db, message, now, "no longer in the user's scope", dropped=True)
                        continue
                    context = mailer.view(changes, settings, notice=bool(message["notice"]), names=names)
                    smtp.send(mailer.compose(context, settings, address[0], message["message_id"], now))
                else:
                    hook = db.conn.execute("SELECT url, secret, enabled FROM alert_webhooks WHERE id = ?",
                                           (message["webhook_id"],)).fetchone()
                    if hook is None or not hook[2]:
                        _finish(db, message, now, "the webhook was deleted or disabled", dropped=True)
                        continue
                    context = mailer.view(changes, settings, notice=bool(message["notice"]), names=names)
                    body = webhook.payload(message["message_id"], context, mailer.merged_changes(changes))
                    webhook.post(hook[0], hook[1], message["message_id"], body, now=now, timeout_s=settings.timeout_s)
            except Exception as exc:  # noqa: BLE001 - any failure is retried; the reason is kept for the page
                error = f"{type(exc).__name__}: {exc}"
                log.warning("alert message %s to %s not delivered (attempt %d): %s", message["id"],
                            message["channel"], message["attempts"] + 1, error)
                if not isinstance(exc, smtplib.SMTPRecipientsRefused | smtplib.SMTPDataError):
                    broken[target] = error  # the server or webhook, not this one message: skip the rest
                _finish(db, message, now, error)
                failed += 1
                continue
            _finish(db, message, now, None)
            sent += 1
    finally:
        smtp.close()
    return sent, failed


def run_delivery_once(db: Database, settings: DeliverySettings, now: datetime | None = None) -> RunResult:
    """One delivery run: what the alerts service calls after each evaluation pass."""
    now = now or utc_now()
    result = RunResult()
    while True:
        changes, deliveries = fan_out(db, settings, now)
        result.changes += changes
        result.deliveries += deliveries
        if changes < FAN_OUT_BATCH:
            break
    result.messages = plan(db, settings, now)
    result.sent, result.failed = send_due(db, settings, now)
    return result


def delivery_failures(db: Database, *, site_ids: set[str] | None = None, limit: int = 100) -> list[dict[str, Any]]:
    """Messages not delivered yet after at least one failure, or given up (no address): for the alerts page.

    `site_ids`: only messages about these sites (the page passes what the user may see); None: all.
    """
    rows = list(db.query(
        "SELECT m.id, m.channel, m.state, m.attempts, m.last_error, m.next_attempt_at, m.created_at, m.notice,"
        " u.login, w.url AS webhook_url, w.label AS webhook_label,"
        " (SELECT GROUP_CONCAT(DISTINCT c.site) FROM alert_deliveries d JOIN alert_changes c ON c.id = d.change_id"
        "  WHERE d.message = m.id) AS sites,"
        " (SELECT GROUP_CONCAT(DISTINCT c.kind) FROM alert_deliveries d JOIN alert_changes c ON c.id = d.change_id"
        "  WHERE d.message = m.id) AS kinds"
        " FROM alert_messages m LEFT JOIN users u ON u.id = m.user_id LEFT JOIN alert_webhooks w ON w.id = m.webhook_id"
        " WHERE m.last_error IS NOT NULL AND m.state IN ('sending', 'dropped') ORDER BY m.id DESC LIMIT ?", [limit]))
    out = []
    for row in rows:
        sites = set((row.pop("sites") or "").split(",")) - {""}
        if site_ids is not None and not sites & site_ids:
            continue
        out.append({**row, "sites": sorted(sites), "kinds": sorted(set((row.pop("kinds") or "").split(",")) - {""}),
                    "recipient": row["login"] if row["channel"] == "email" else (row["webhook_label"]
                                                                                or row["webhook_url"])})
    return out


class DeliveryLoop:
    """`run_delivery_once` every `poll_s` seconds on its own connection, until `stop()`."""

    def __init__(self, db_path: str, settings: DeliverySettings) -> None:
        self.db_path = db_path
        self.settings = settings
        self._stop = threading.Event()

    def run(self, on_run: Any = None) -> None:
        db = connect(self.db_path)
        try:
            while not self._stop.is_set():
                try:
                    result = run_delivery_once(db, self.settings)
                    if result.sent or result.failed:
                        log.info("alerts delivery: %d sent, %d failed", result.sent, result.failed)
                    if on_run is not None:
                        on_run(result)
                except Exception:  # a locked or broken database: log and try again next tick
                    log.exception("alerts delivery run failed")
                self._stop.wait(self.settings.poll_s)
        finally:
            db.close()

    def stop(self) -> None:
        self._stop.set()

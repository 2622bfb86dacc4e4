"""Alert webhooks: their table (url, secret, scope, enabled), the signed JSON payload, the POST.

The signature is HMAC-SHA256 over `<timestamp>.<raw body>` with the webhook's
secret, sent as `X-Ressenti-Signature: sha256=<hex>` next to
`X-Ressenti-Timestamp`: a receiver that refuses old timestamps refuses replays
(docs/alerts-delivery.md has the verification snippet). Redirects are not
followed: a 3xx is a failure, so a webhook cannot be bounced to another address.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
import urllib.error
import urllib.request
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

from sqlite_utils import Database

from collector.registry import get_site
from ressenti.errors import RessentiError
from ressenti.protocol import format_ts, is_slug

SIGNATURE_HEADER = "X-Ressenti-Signature"
TIMESTAMP_HEADER = "X-Ressenti-Timestamp"
DELIVERY_HEADER = "X-Ressenti-Delivery"
MIN_SECRET_CHARS = 16
MAX_URL_CHARS = 2000


class WebhookError(RessentiError, ValueError):
    """A webhook could not be added or changed; the message says why."""


def check_scope(db: Database, scope: str) -> str:
    scope = scope.strip()
    if scope == "all":
        return scope
    kind, _, ident = scope.partition(":")
    if kind not in ("org", "site") or not is_slug(ident):
        raise WebhookError(f"scope {scope!r} must be all, org:<id> or site:<id>")
    exists = db["orgs"].count_where("id = ?", [ident]) if kind == "org" else get_site(db, ident) is not None
    if not exists:
        raise WebhookError(f"scope {scope!r}: no such {'organisation' if kind == 'org' else 'site'}")
    return scope


def check_url(url: str) -> str:
    url = url.strip()
    parts = urlsplit(url)
    if len(url) > MAX_URL_CHARS or parts.scheme not in ("http", "https") or not parts.hostname:
        raise WebhookError(f"webhook URL {url[:80]!r} must be an http(s) address")
    if parts.username or parts.password:
        raise WebhookError("the webhook URL must not carry a user or password: the signature authenticates")
    return url


def add_webhook(db: Database, url: str, scope: str, *, secret: str | None = None, label: str = "",
                now: datetime) -> tuple[int, str]:
    """A webhook and its secret (generated unless given): the secret is shown once, to configure the receiver."""
    url, scope = check_url(url), check_scope(db, scope)
    secret = secret if secret is not None else secrets.token_urlsafe(32)
    if len(secret) < MIN_SECRET_CHARS:
        raise WebhookError(f"the secret needs at least {MIN_SECRET_CHARS} characters")
    row_id = db.conn.execute(
        "INSERT INTO alert_webhooks (url, secret, scope, enabled, label, created_at) VALUES (?, ?, ?, 1, ?, ?)",
        (url, secret, scope, label[:200], format_ts(now))).lastrowid
    return int(row_id or 0), secret


def list_webhooks(db: Database) -> list[dict[str, Any]]:
    """Every webhook, without its secret."""
    return list(db.query("SELECT id, url, scope, enabled, label, created_at FROM alert_webhooks ORDER BY id"))


def set_webhook_enabled(db: Database, webhook_id: int, enabled: bool) -> bool:
    return db.conn.execute("UPDATE alert_webhooks SET enabled = ? WHERE id = ?",
                           (int(enabled), webhook_id)).rowcount > 0


def sign(secret: str, timestamp: str, body: bytes) -> str:
    return "sha256=" + hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()


def payload(message_id: str, context: dict[str, Any], changes: list[dict[str, Any]]) -> bytes:
    """The JSON body: the same bytes at every attempt (the timestamp header changes, and is signed)."""
    items = []
    for change, item in zip(changes, context["items"], strict=True):
        items.append({
            "change_id": change["id"], "alert_id": change["alert_id"], "change": change["what"],
            "first_at": change["first_at"], "at": change["at"], "site": change["site"], "org": change["org"],
            "kind": change["kind"], "summary": {"fr": change["summary_fr"], "en": change["summary_en"]},
            "figures": dict(item["figures"]), "url": item["url"]})
    body = {"type": "ressenti.alerts", "version": 1, "delivery": message_id, "notice": context["notice"],
            "changes": items}
    return json.dumps(body, ensure_ascii=False, sort_keys=True, separators=(",", ":")).encode()


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None  # urllib then raises HTTPError with the 3xx status


_opener = urllib.request.build_opener(_NoRedirect)


def post(url: str, secret: str, message_id: str, body: bytes, *, now: datetime, timeout_s: float) -> int:
    """POST the signed body; the status if 2xx, else WebhookDeliveryFailed."""
    timestamp = str(int(now.timestamp()))
    request = urllib.request.Request(url, data=body, method="POST", headers={
        "Content-Type": "application/json; charset=utf-8", "User-Agent": "ressenti-alerts/1",
        TIMESTAMP_HEADER: timestamp, SIGNATURE_HEADER: sign(secret, timestamp, body), DELIVERY_HEADER: message_id})
    try:
        with _opener.open(request, timeout=timeout_s) as response:
            response.read(64 * 1024)
            status = int(response.status)
    except urllib.error.HTTPError as exc:
        raise WebhookDeliveryFailed(f"webhook answered HTTP {exc.code}") from None
    except (urllib.error.URLError, OSError, ValueError) as exc:
        reason = getattr(exc, "reason", exc)
        raise WebhookDeliveryFailed(f"webhook unreachable: {reason}") from None
    if not 200 <= status < 300:
        raise WebhookDeliveryFailed(f"webhook answered HTTP {status}")
    return status


class WebhookDeliveryFailed(RessentiError, ConnectionError):
    """The webhook did not answer 2xx (or not at all); the delivery is retried."""

"""Who receives which alerts: each user's e-mail address and subscriptions per kind, within their scope.

No row means the role's default: managers and admins receive every kind of their
scope, viewers nothing until they subscribe. The row of kind `*` is the user's
switch for everything. Whatever the subscription, a user only ever receives the
changes of sites their scope shows (`User.may_see`).
"""

from __future__ import annotations

from email.errors import HeaderParseError
from email.headerregistry import Address
from typing import Any

from sqlite_utils import Database

from collector.alerts.rules import KIND_LABELS
from collector.db import write_transaction
from collector.registry import Site
from collector.users import Role, User
from ressenti.errors import RessentiError

EVERYTHING = "*"
MAX_EMAIL_CHARS = 254  # RFC 5321's limit for a path
# Each kind's name on the settings page and in e-mails: the same as on the alerts pages.
KINDS: dict[str, tuple[str, str]] = {kind.value: names for kind, names in KIND_LABELS.items()}


class SubscriptionError(RessentiError, ValueError):
    """An e-mail address or a subscription was refused; the message says why (French, then English)."""

    def __init__(self, fr: str, en: str) -> None:
        super().__init__(en)
        self.fr = fr
        self.en = en


def default_on(user: User) -> bool:
    return user.at_least(Role.MANAGER)


def subscriptions(db: Database, user: User) -> tuple[bool, dict[str, bool]]:
    """(everything on?, kind -> on) for the user, defaults filled in."""
    rows = {r["kind"]: bool(r["enabled"])
            for r in db.query("SELECT kind, enabled FROM alert_subscriptions WHERE user_id = ?", [user.id])}
    everything = rows.get(EVERYTHING, True)
    return everything, {kind: rows.get(kind, default_on(user)) for kind in KINDS}


def receives(user: User, kind: str, rows: dict[str, bool]) -> bool:
    """Would this user receive a change of `kind` (its scope aside)? `rows`: their subscription rows."""
    if user.disabled or not rows.get(EVERYTHING, True):
        return False
    return rows.get(kind, default_on(user))


def set_subscriptions(db: Database, user: User, everything: bool, kinds: set[str]) -> None:
    """Store the whole form: the switch and one row per known kind (explicit, so a role change keeps them)."""
    unknown = kinds - set(KINDS)
    if unknown:
        name = sorted(unknown)[0]
        raise SubscriptionError(f"type d'alerte inconnu : {name}", f"unknown alert kind: {name}")
    with write_transaction(db):
        db.conn.execute("DELETE FROM alert_subscriptions WHERE user_id = ?", (user.id,))
        db.conn.executemany("INSERT INTO alert_subscriptions (user_id, kind, enabled) VALUES (?, ?, ?)",
                            [(user.id, EVERYTHING, int(everything))]
                            + [(user.id, kind, int(kind in kinds)) for kind in KINDS])


def check_email(value: str) -> str | None:
    """The address, checked and trimmed; None for an empty one (no e-mail)."""
    value = value.strip()
    if not value:
        return None
    if len(value) > MAX_EMAIL_CHARS or any(c in value for c in "\r\n<>,;\"' \t"):
        raise SubscriptionError(f"adresse e-mail invalide : {value[:60]!r}", f"invalid e-mail address: {value[:60]!r}")
    try:
        address = Address(addr_spec=value)
    except (HeaderParseError, ValueError, IndexError):
        address = None
    if address is None or not address.username or "." not in address.domain:
        raise SubscriptionError(f"adresse e-mail invalide : {value[:60]!r}", f"invalid e-mail address: {value[:60]!r}")
    return value


def set_email(db: Database, user_id: int, value: str) -> str | None:
    email = check_email(value)
    db.conn.execute("UPDATE users SET email = ? WHERE id = ?", (email, user_id))
    return email


def get_email(db: Database, user_id: int) -> str | None:
    row = db.conn.execute("SELECT email FROM users WHERE id = ?", (user_id,)).fetchone()
    return row[0] if row else None


def may_see_change(user: User, change: dict[str, Any], sites: dict[str, Site]) -> bool:
    """Does the user's scope show this change's site (or, for a change of no site, its organisation)?"""
    if user.sees_everything():
        return True
    site = sites.get(change["site"] or "")
    if site is not None:
        return user.may_see(site)
    if change["site"]:
        return False  # a site no longer in the registry: only those who see everything
    return bool(change["org"]) and f"org:{change['org']}" in user.scope


def webhook_covers(scope: str, change: dict[str, Any]) -> bool:
    if scope == "all":
        return True
    kind, _, ident = scope.partition(":")
    return (kind == "org" and ident == change["org"]) or (kind == "site" and ident == change["site"])

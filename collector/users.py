"""Dashboard users: roles, scopes and hashed passwords (login rate limiting: collector/login_attempts.py).

Roles nest: an admin may do everything, a manager reads the dashboard, the
exports and the fleet of its scope, a viewer the dashboard and exports of its
scope. A scope is a list of `org:<id>` and `site:<id>` entries, or the single
entry `all` (every site, said explicitly: issue 17). An admin's is ignored
(everything); an empty one sees nothing, and no new user is made with one.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from enum import StrEnum

from sqlite_utils import Database
from werkzeug.security import check_password_hash, generate_password_hash

from collector.db import write_transaction
from collector.registry import Site, get_site
from collector.sessions import end_user_sessions
from ressenti.errors import RessentiError
from ressenti.protocol import format_ts, is_slug, utc_now

MIN_PASSWORD_CHARS = 10
ALL_SITES = "all"  # the scope entry that means every site, including sites added later
LOGIN_RE = re.compile(r"^[A-Za-z0-9._@-]{2,64}$")
# Checking a password for an unknown login costs the same as for a known one.
_DUMMY_HASH = generate_password_hash("not-a-real-password", method="scrypt")


class Role(StrEnum):
    ADMIN = "admin"
    MANAGER = "manager"
    VIEWER = "viewer"


_RANK = {Role.VIEWER: 0, Role.MANAGER: 1, Role.ADMIN: 2}


class UserError(RessentiError, ValueError):
    """A user could not be added or changed; the message says why."""


@dataclass(frozen=True)
class User:
    id: int
    login: str
    role: Role
    scope: tuple[str, ...]
    lang: str | None = None
    disabled: bool = False

    def at_least(self, role: Role) -> bool:
        return _RANK[self.role] >= _RANK[Role(role)]

    def sees_everything(self) -> bool:
        """An admin, or a scope of `all`; an empty scope sees nothing (before issue 17 it saw everything)."""
        return self.role is Role.ADMIN or ALL_SITES in self.scope

    def may_see(self, site: Site) -> bool:
        return self.sees_everything() or f"site:{site.id}" in self.scope or f"org:{site.org}" in self.scope


def parse_scope(db: Database, entries: list[str] | tuple[str, ...], role: Role) -> tuple[str, ...]:
    """Check `all` / `org:<id>` / `site:<id>` entries against the registry; all but admins need one."""
    scope = []
    for entry in (e.strip() for item in entries for e in item.split(",")):
        if not entry:
            continue
        if entry == ALL_SITES:
            scope.append(entry)
            continue
        kind, _, ident = entry.partition(":")
        if kind not in ("org", "site") or not is_slug(ident):
            raise UserError(f"scope entry {entry!r} must be all, org:<id> or site:<id>")
        exists = (db["orgs"].count_where("id = ?", [ident]) if kind == "org"
                  else get_site(db, ident) is not None)
        if not exists:
            raise UserError(f"scope entry {entry!r}: no such {'organisation' if kind == 'org' else 'site'}")
        scope.append(entry)
    if Role(role) is not Role.ADMIN and not scope:
        raise UserError(f"a {Role(role).value} needs a scope: --scope all, --scope org:<id> or --scope site:<id>")
    if ALL_SITES in scope:
        return (ALL_SITES,)  # every site already: the other entries add nothing
    return tuple(dict.fromkeys(scope))


def _from_row(row: dict) -> User:
    return User(row["id"], row["login"], Role(row["role"]), tuple(json.loads(row["scope"] or "[]")),
                row["lang"], bool(row["disabled"]))


def add_user(db: Database, login: str, password: str, role: Role, scope: tuple[str, ...] = ()) -> User:
    if not LOGIN_RE.match(login):
        raise UserError(f"login {login!r}: 2 to 64 letters, digits or . _ @ -")
    if len(password) < MIN_PASSWORD_CHARS:
        raise UserError(f"the password needs at least {MIN_PASSWORD_CHARS} characters")
    if find_user(db, login) is not None:
        raise UserError(f"a user {login!r} already exists")
    row_id = db.table("users").insert({
        "login": login, "password_hash": generate_password_hash(password, method="scrypt"),
        "role": Role(role).value, "scope": json.dumps(list(scope)), "lang": None,
        "created": format_ts(utc_now()), "disabled": None,
    }).last_pk
    user = get_user(db, int(row_id or 0))
    assert user is not None
    return user


def get_user(db: Database, user_id: int) -> User | None:
    rows = list(db.query("SELECT * FROM users WHERE id = ?", [user_id]))
    return _from_row(rows[0]) if rows else None


def find_user(db: Database, login: str) -> User | None:
    rows = list(db.query("SELECT * FROM users WHERE login = ?", [login]))
    return _from_row(rows[0]) if rows else None


def list_users(db: Database) -> list[User]:
    return [_from_row(r) for r in db.query("SELECT * FROM users ORDER BY login")]


def authenticate(db: Database, login: str, password: str) -> User | None:
    """The user if the password matches and the account is active; None otherwise."""
    rows = list(db.query("SELECT * FROM users WHERE login = ?", [login]))
    stored = rows[0]["password_hash"] if rows else _DUMMY_HASH
    ok = check_password_hash(stored, password)
    if not rows or not ok or rows[0]["disabled"]:
        return None
    return _from_row(rows[0])


def set_disabled(db: Database, user_id: int, disabled: bool) -> None:
    """Disabling ends the user's sessions: enabling the account again does not revive them."""
    with write_transaction(db):
        db.conn.execute("UPDATE users SET disabled = ? WHERE id = ?",
                        (format_ts(utc_now()) if disabled else None, user_id))
        if disabled:
            end_user_sessions(db, user_id)


def set_password(db: Database, user_id: int, password: str) -> None:
    if len(password) < MIN_PASSWORD_CHARS:
        raise UserError(f"the password needs at least {MIN_PASSWORD_CHARS} characters")
    password_hash = generate_password_hash(password, method="scrypt")
    with write_transaction(db):
        db.conn.execute("UPDATE users SET password_hash = ? WHERE id = ?", (password_hash, user_id))
        end_user_sessions(db, user_id)  # whoever knew the old password is logged out


def set_lang(db: Database, user_id: int, lang: str) -> None:
    db.conn.execute("UPDATE users SET lang = ? WHERE id = ?", (lang, user_id))

"""Bearer tokens: admin (API writes), source (HTTP producers), wall (read-only displays).

Only a SHA-256 of each token is stored; the token itself is shown once, when
it is made. Tokens are 32 random bytes, so a fast hash is enough.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from enum import StrEnum

from sqlite_utils import Database

from ressenti.errors import RessentiError
from ressenti.protocol import format_ts, utc_now


class TokenKind(StrEnum):
    ADMIN = "admin"
    SOURCE = "source"  # subject: the source's producer id
    WALL = "wall"  # subject: org:<id> and site:<id> items, comma-separated (collector/walls.py)


class TokenError(RessentiError, PermissionError):
    """A token is missing, unknown, revoked, or of the wrong kind."""


@dataclass(frozen=True)
class Token:
    id: int
    kind: TokenKind
    subject: str
    label: str


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def create_token(db: Database, kind: TokenKind, subject: str = "", label: str = "") -> tuple[Token, str]:
    """Make a token; return its record and the secret (shown once, never stored)."""
    secret = f"rst_{kind.value}_{secrets.token_urlsafe(32)}"
    row_id = db["tokens"].insert({
        "kind": TokenKind(kind).value, "subject": subject, "label": label, "hash": _digest(secret),
        "created": format_ts(utc_now()), "revoked": None,
    }).last_pk
    return Token(row_id, TokenKind(kind), subject, label), secret


def verify_token(db: Database, secret: str | None, kind: TokenKind) -> Token:
    if not secret:
        raise TokenError("a bearer token is required")
    rows = list(db.query("SELECT id, kind, subject, label, revoked FROM tokens WHERE hash = ?",
                         [_digest(secret)]))
    if not rows or rows[0]["revoked"] or rows[0]["kind"] != kind.value:
        raise TokenError(f"not a valid {kind.value} token")
    row = rows[0]
    return Token(row["id"], TokenKind(row["kind"]), row["subject"], row["label"])


def revoke_token(db: Database, token_id: int) -> bool:
    return db.conn.execute("UPDATE tokens SET revoked = ? WHERE id = ? AND revoked IS NULL",
                           (format_ts(utc_now()), token_id)).rowcount == 1


def list_tokens(db: Database) -> list[dict]:
    return list(db.query("SELECT id, kind, subject, label, created, revoked FROM tokens ORDER BY id"))

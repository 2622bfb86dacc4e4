"""HTTP sources (a web form, a telephone line): a producer with a channel and its bearer tokens.

A source is a row of `kiosks` with a channel (collector/registry.py); each of
its tokens is a `source` token whose subject is the source's id
(collector/tokens.py). Revoking a token stops that credential at once; the
source and its figures stay, and a new token can be made for it.
"""

from __future__ import annotations

from typing import Any

from sqlite_utils import Database

from collector.registry import RegistryError, add_kiosk, get_producer
from collector.tokens import TokenKind, create_token, revoke_token


def add_source(db: Database, source_id: str, site: str, channel: str, name: str | None = None) -> str:
    """Register the source and make its first token; return the token (shown once, never stored)."""
    current = get_producer(db, source_id)
    if current is not None and current.channel is None:
        raise RegistryError(f"{source_id!r} is a kiosk, not an HTTP source")
    add_kiosk(db, source_id, site, name, channel=channel)
    return new_source_token(db, source_id)


def new_source_token(db: Database, source_id: str) -> str:
    producer = get_producer(db, source_id)
    if producer is None or producer.channel is None:
        raise RegistryError(f"no HTTP source {source_id!r}")
    _, secret = create_token(db, TokenKind.SOURCE, source_id, f"source {source_id}")
    return secret


def list_sources(db: Database) -> list[dict[str, Any]]:
    """Each source with its tokens (id, created, revoked), newest token first."""
    sources = list(db.query("SELECT id, site, name, channel, created, retired FROM kiosks"
                            " WHERE channel IS NOT NULL ORDER BY site, id"))
    tokens: dict[str, list[dict[str, Any]]] = {}
    for row in db.query("SELECT id, subject, created, revoked FROM tokens WHERE kind = ? ORDER BY id DESC",
                        [TokenKind.SOURCE.value]):
        tokens.setdefault(row["subject"], []).append(row)
    return [{**s, "tokens": tokens.get(s["id"], [])} for s in sources]


def revoke_source_token(db: Database, token_id: int) -> str | None:
    """Revoke an active source token; return its source's id, or None if there is no such active token."""
    row = db.conn.execute("SELECT subject FROM tokens WHERE id = ? AND kind = ? AND revoked IS NULL",
                          [token_id, TokenKind.SOURCE.value]).fetchone()
    if row is None or not revoke_token(db, token_id):
        return None
    return str(row[0])

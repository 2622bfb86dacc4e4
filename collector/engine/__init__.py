"""The two storage engines behind one `Database` API: the only place the collector tells them apart.

The database setting (`--db`, RESSENTI_DB) is a file path (SQLite, through
sqlite-utils) or a `postgresql://user@host:port/dbname` URL (PostgreSQL,
through psycopg: collector/engine/postgres.py, with the SQL rewritten by
collector/engine/translate.py). Everything the collector does goes through the
same functions; what differs between the engines is here:

- `is_postgres(db)`: which engine a connection is on;
- `data_version(db)`: a value that changes when another connection commits
  (SQLite's `PRAGMA data_version`); on PostgreSQL a fresh value every time, so
  nothing read in an earlier transaction is trusted (other hosts write too);
- `lock_streams(db, keys)`: the exactly-once lock. SQLite's `BEGIN IMMEDIATE`
  already holds the whole database; on PostgreSQL each (kiosk, epoch)
  watermark row is created if missing and locked `FOR UPDATE`, in sorted
  order (so two ingest processes never deadlock on them), until the commit;
- `IntegrityError` / `OperationalError`: the exceptions of both drivers.
"""

from __future__ import annotations

import itertools
import sqlite3
from collections.abc import Iterable
from typing import Any

import psycopg

from collector.engine.postgres import DatabaseUrlError, PgDatabase, is_postgres_url, open_database

__all__ = ["DatabaseUrlError", "IntegrityError", "OperationalError", "PgDatabase", "data_version",
           "describe", "is_postgres", "is_postgres_url", "lock_streams", "open_database"]

IntegrityError = (sqlite3.IntegrityError, psycopg.errors.IntegrityError)
OperationalError = (sqlite3.OperationalError, psycopg.OperationalError)

_fresh = itertools.count()


def is_postgres(db: Any) -> bool:
    return isinstance(db, PgDatabase)


def data_version(db: Any) -> object:
    if is_postgres(db):
        return ("pg", next(_fresh))
    return db.conn.execute("PRAGMA data_version").fetchone()[0]


def lock_streams(db: Any, keys: Iterable[tuple[str, str]]) -> None:
    """Hold the watermark rows of these (kiosk, epoch) streams until the commit (PostgreSQL only)."""
    if not is_postgres(db):
        return
    ordered = sorted(set(keys))
    if not ordered:
        return
    db.conn.executemany("INSERT INTO streams (kiosk, epoch) VALUES (?, ?) ON CONFLICT DO NOTHING", ordered)
    for kiosk, epoch in ordered:
        db.conn.execute("SELECT through FROM streams WHERE kiosk = ? AND epoch = ? FOR UPDATE", (kiosk, epoch))


def describe(target: object) -> str:
    """The setting as a log line may show it (a URL never has a password: they are refused)."""
    return str(target)

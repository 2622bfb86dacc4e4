"""The collector on PostgreSQL (psycopg 3): the subset of sqlite-utils' `Database` the collector uses.

`PgDatabase` answers `db.conn.execute`, `db.execute`, `db.query`, `db["t"]`
(insert, upsert, count, count_where, columns_dict, exists, create,
create_index, add_column, transform) with the same results as SQLite does:
tuples from cursors, dicts from `query`, integers (not `Decimal`) from SUMs.
Queries stay in SQLite's dialect and are rewritten by `collector.engine.translate`.

The connection is in autocommit mode, like the SQLite one: the collector's
`BEGIN` ... `COMMIT` (collector/db.py `write_transaction`) make the
transactions.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator, Sequence
from decimal import Decimal
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

import psycopg
from psycopg.adapt import Loader
from psycopg.pq import TransactionStatus

from collector.engine.translate import to_postgres

PASSWORD_FILE_ENV = "RESSENTI_DB_PASSWORD_FILE"

_TYPES = {str: "TEXT", int: "BIGINT", float: "DOUBLE PRECISION", bytes: "BYTEA", bool: "BIGINT"}


class DatabaseUrlError(ValueError):
    """A `postgresql://` setting the collector refuses, with what to do instead."""


def is_postgres_url(target: object) -> bool:
    return isinstance(target, str) and target.startswith(("postgresql://", "postgres://"))


def connection_kwargs(url: str) -> dict[str, Any]:
    """psycopg's connection arguments for a URL; the password only from a file or libpq's environment.

    A password in the URL would be on the command line (`--db`) and in `ps`:
    refused. `RESSENTI_DB_PASSWORD_FILE` names a file holding it; otherwise libpq
    reads PGPASSWORD or ~/.pgpass itself.
    """
    parts = urlsplit(url)
    if parts.password is not None:
        raise DatabaseUrlError(
            "the database URL carries a password: remove it from the URL and put it in a file named by "
            f"{PASSWORD_FILE_ENV} (or in PGPASSWORD / ~/.pgpass)")
    kwargs: dict[str, Any] = {"dbname": unquote(parts.path.lstrip("/")) or None}
    if parts.username:
        kwargs["user"] = unquote(parts.username)
    if parts.hostname:
        kwargs["host"] = parts.hostname
    if parts.port:
        kwargs["port"] = parts.port
    for key, value in parse_qsl(parts.query):
        if key == "password":
            raise DatabaseUrlError(f"the database URL carries a password: use {PASSWORD_FILE_ENV} instead")
        kwargs[key] = value
    password_file = os.environ.get(PASSWORD_FILE_ENV)
    if password_file:
        try:
            kwargs["password"] = Path(password_file).read_text().strip()
        except OSError as exc:
            raise DatabaseUrlError(f"{PASSWORD_FILE_ENV}={password_file}: {exc.strerror}") from exc
    return {k: v for k, v in kwargs.items() if v is not None}


class _NumericLoader(Loader):
    """NUMERIC (what PostgreSQL's SUM and AVG of integers return) as int when whole, else float, like SQLite."""

    def load(self, data: Any) -> int | float:
        value = Decimal(bytes(data).decode())
        return int(value) if value == value.to_integral_value() else float(value)


def _params(params: Any) -> Any:
    """Booleans as 0/1 (SQLite stores them so; the columns are integers)."""
    if params is None:
        return None
    if isinstance(params, dict):
        return {k: int(v) if isinstance(v, bool) else v for k, v in params.items()}
    return [int(v) if isinstance(v, bool) else v for v in params]


class PgCursor:
    """A psycopg cursor with sqlite3's `lastrowid`, `rowcount` and iteration."""

    def __init__(self, conn: PgConnection, cursor: psycopg.Cursor) -> None:
        self._conn, self._cursor = conn, cursor

    @property
    def rowcount(self) -> int:
        return self._cursor.rowcount

    @property
    def lastrowid(self) -> int | None:
        """The id the last INSERT generated (`lastval()`: the session's last identity or serial value)."""
        try:
            with self._conn.raw.cursor() as cur:
                cur.execute("SELECT lastval()")
                row = cur.fetchone()
        except psycopg.errors.ObjectNotInPrerequisiteState:
            return None
        return int(row[0]) if row else None

    @property
    def description(self) -> Any:
        return self._cursor.description

    def fetchone(self) -> tuple | None:
        return self._cursor.fetchone() if self._cursor.description else None

    def fetchall(self) -> list[tuple]:
        return self._cursor.fetchall() if self._cursor.description else []

    def fetchmany(self, size: int = 1) -> list[tuple]:
        return self._cursor.fetchmany(size) if self._cursor.description else []

    def __iter__(self) -> Iterator[tuple]:
        return iter(self.fetchall())

    def close(self) -> None:
        self._cursor.close()


class PgConnection:
    """`db.conn`: sqlite3.Connection's `execute`, `executemany`, `in_transaction`, `total_changes`, `close`."""

    def __init__(self, raw: psycopg.Connection) -> None:
        self.raw = raw
        self.total_changes = 0

    @property
    def in_transaction(self) -> bool:
        return self.raw.info.transaction_status in (TransactionStatus.INTRANS, TransactionStatus.INERROR)

    def execute(self, sql: str, params: Sequence[Any] | dict | None = None) -> PgCursor:
        words = sql.split(None, 2)
        if words and words[0].upper() == "BEGIN":  # BEGIN IMMEDIATE, BEGIN DEFERRED: PostgreSQL locks rows instead
            sql = "BEGIN"
        query = to_postgres(sql, params is not None and len(params) > 0)
        cursor = self.raw.cursor()
        cursor.execute(query, _params(params) if params else None)
        if cursor.rowcount > 0 and not cursor.description:
            self.total_changes += cursor.rowcount
        return PgCursor(self, cursor)

    def executemany(self, sql: str, rows: Iterable[Sequence[Any]]) -> PgCursor:
        rows = [_params(r) for r in rows]
        cursor = self.raw.cursor()
        if rows:
            cursor.executemany(to_postgres(sql, True), rows)
            self.total_changes += max(cursor.rowcount, 0)
        return PgCursor(self, cursor)

    def close(self) -> None:
        self.raw.close()


class PgTable:
    """`db["name"]`: the table methods of sqlite-utils the collector and its tests use."""

    def __init__(self, db: PgDatabase, name: str) -> None:
        self.db, self.name = db, name
        self.last_pk: Any = None

    @property
    def count(self) -> int:
        return self.db.conn.execute(f'SELECT COUNT(*) FROM "{self.name}"').fetchone()[0]

    def count_where(self, where: str, params: Sequence[Any] = ()) -> int:
        return self.db.conn.execute(f'SELECT COUNT(*) FROM "{self.name}" WHERE {where}', list(params)).fetchone()[0]

    @property
    def rows(self) -> Iterator[dict[str, Any]]:
        return self.db.query(f'SELECT * FROM "{self.name}"')

    def rows_where(self, where: str, params: Sequence[Any] = ()) -> Iterator[dict[str, Any]]:
        return self.db.query(f'SELECT * FROM "{self.name}" WHERE {where}', list(params))

    def exists(self) -> bool:
        return self.name in self.db.table_names()

    @property
    def columns_dict(self) -> dict[str, type]:
        kinds = {"text": str, "bigint": int, "integer": int, "double precision": float, "bytea": bytes}
        return {name: kinds.get(kind, str) for name, kind in self.db.conn.execute(
            "SELECT column_name, data_type FROM information_schema.columns"
            " WHERE table_schema = current_schema() AND table_name = ? ORDER BY ordinal_position",
            [self.name])}

    def _pk_columns(self) -> list[str]:
        return [r[0] for r in self.db.conn.execute(
            "SELECT a.attname FROM pg_index i JOIN pg_attribute a ON a.attrelid = i.indrelid"
            " AND a.attnum = ANY(i.indkey) WHERE i.indrelid = CAST(? AS regclass) AND i.indisprimary",
            [self.name])]

    def insert(self, row: dict[str, Any], pk: str | None = None, **_: Any) -> PgTable:
        columns = ", ".join(f'"{c}"' for c in row)
        keys = self._pk_columns()
        returning = f' RETURNING "{keys[0]}"' if len(keys) == 1 else ""
        cursor = self.db.conn.execute(
            f'INSERT INTO "{self.name}" ({columns}) VALUES ({", ".join("?" * len(row))}){returning}',
            list(row.values()))
        self.last_pk = cursor.fetchone()[0] if returning else None
        return self

    def upsert(self, row: dict[str, Any], pk: str | Sequence[str] | None = None, alter: bool = False,
               **_: Any) -> PgTable:
        keys = [pk] if isinstance(pk, str) else list(pk or self._pk_columns())
        columns = ", ".join(f'"{c}"' for c in row)
        updates = ", ".join(f'"{c}" = excluded."{c}"' for c in row if c not in keys)
        action = f"DO UPDATE SET {updates}" if updates else "DO NOTHING"
        self.db.conn.execute(
            f'INSERT INTO "{self.name}" ({columns}) VALUES ({", ".join("?" * len(row))})'
            f' ON CONFLICT ({", ".join(keys)}) {action}', list(row.values()))
        self.last_pk = row[keys[0]] if len(keys) == 1 else tuple(row[k] for k in keys)
        return self

    def get(self, pk: Any) -> dict[str, Any]:
        keys = self._pk_columns()
        values = list(pk) if isinstance(pk, (tuple, list)) else [pk]
        where = " AND ".join(f'"{k}" = ?' for k in keys)
        row = next(self.db.query(f'SELECT * FROM "{self.name}" WHERE {where}', values), None)
        if row is None:
            raise KeyError(pk)
        return row

    # -- schema (migrations) ---------------------------------------------------------------

    def create(self, columns: dict[str, type], pk: str | Sequence[str] | None = None,
               foreign_keys: Sequence[tuple[str, str, str]] = (), defaults: dict[str, Any] | None = None,
               not_null: Iterable[str] = (), if_not_exists: bool = False) -> PgTable:
        defaults, not_null = defaults or {}, set(not_null)
        keys = [pk] if isinstance(pk, str) else list(pk or [])
        parts = []
        for name, kind in columns.items():
            if keys == [name] and kind is int:
                parts.append(f'"{name}" BIGINT GENERATED BY DEFAULT AS IDENTITY')
                continue
            column = f'"{name}" {_TYPES[kind]}'
            if name in not_null:
                column += " NOT NULL"
            if name in defaults:
                column += f" DEFAULT {_literal(defaults[name])}"
            parts.append(column)
        if keys:
            parts.append(f"PRIMARY KEY ({', '.join(keys)})")
        for column, table, other in foreign_keys:
            parts.append(f'FOREIGN KEY ("{column}") REFERENCES "{table}" ("{other}")')
        exists = " IF NOT EXISTS" if if_not_exists else ""
        self.db.conn.raw.execute(f'CREATE TABLE{exists} "{self.name}" ({", ".join(parts)})')
        return self

    def create_index(self, columns: Sequence[str], unique: bool = False, if_not_exists: bool = False,
                     index_name: str | None = None) -> PgTable:
        name = index_name or f"idx_{self.name}_{'_'.join(columns)}"
        self.db.conn.raw.execute(
            f'CREATE {"UNIQUE " if unique else ""}INDEX{" IF NOT EXISTS" if if_not_exists else ""} "{name}"'
            f' ON "{self.name}" ({", ".join(columns)})')
        return self

    def add_column(self, name: str, kind: type, not_null_default: Any = None) -> PgTable:
        column = f'"{name}" {_TYPES[kind]}'
        if not_null_default is not None:
            column += f" NOT NULL DEFAULT {_literal(not_null_default)}"
        self.db.conn.raw.execute(f'ALTER TABLE "{self.name}" ADD COLUMN IF NOT EXISTS {column}')
        return self

    def transform(self, pk: Sequence[str]) -> PgTable:
        """Only what the migrations use: a new primary key."""
        constraint = self.db.conn.execute(
            "SELECT conname FROM pg_constraint WHERE conrelid = CAST(? AS regclass) AND contype = 'p'",
            [self.name]).fetchone()
        if constraint:
            self.db.conn.raw.execute(f'ALTER TABLE "{self.name}" DROP CONSTRAINT "{constraint[0]}"')
        self.db.conn.raw.execute(f'ALTER TABLE "{self.name}" ADD PRIMARY KEY ({", ".join(pk)})')
        return self


def _literal(value: Any) -> str:
    if isinstance(value, str):
        return "'" + value.replace("'", "''") + "'"
    return str(int(value) if isinstance(value, bool) else value)


class PgDatabase:
    """What the collector asks of a sqlite-utils `Database`, on a PostgreSQL connection."""

    engine = "postgresql"

    def __init__(self, raw: psycopg.Connection, url: str) -> None:
        raw.adapters.register_loader("numeric", _NumericLoader)
        self.conn = PgConnection(raw)
        self.url = url

    def execute(self, sql: str, params: Sequence[Any] | dict | None = None) -> PgCursor:
        return self.conn.execute(sql, params)

    def query(self, sql: str, params: Sequence[Any] | dict | None = None) -> Iterator[dict[str, Any]]:
        cursor = self.conn.execute(sql, params)
        names = [c.name for c in cursor.description or []]
        for row in cursor.fetchall():
            yield dict(zip(names, row, strict=True))

    def __getitem__(self, name: str) -> PgTable:
        return PgTable(self, name)

    def table(self, name: str) -> PgTable:
        return PgTable(self, name)

    def table_names(self) -> list[str]:
        return [r[0] for r in self.conn.execute(
            "SELECT tablename FROM pg_tables WHERE schemaname = current_schema() ORDER BY tablename")]

    def close(self) -> None:
        self.conn.close()


def open_database(url: str) -> PgDatabase:
    """A connection in autocommit mode (the collector opens its transactions itself)."""
    try:
        raw = psycopg.connect(**connection_kwargs(url), autocommit=True)
    except psycopg.OperationalError as exc:
        raise DatabaseUrlError(f"cannot reach PostgreSQL at {url}: {str(exc).strip()}") from exc
    return PgDatabase(raw, url)

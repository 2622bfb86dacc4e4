"""The engine layer (issue 16): the database setting's rules and what the SQL rewriter covers."""

from __future__ import annotations

import pytest

from collector.db import MIGRATIONS, connect
from collector.engine import DatabaseUrlError, is_postgres
from collector.engine.translate import UnsupportedSql, to_postgres


def test_a_password_in_the_url_is_refused_with_what_to_do():
    with pytest.raises(DatabaseUrlError, match="RESSENTI_DB_PASSWORD_FILE"):
        connect("postgresql://ressenti:secret@127.0.0.1:5432/ressenti")


@pytest.mark.parametrize(("sqlite", "postgres"), [
    ("SELECT a FROM t WHERE b = ? AND c LIKE '50%'", "SELECT a FROM t WHERE b = %s AND c LIKE '50%%'"),
    ("UPDATE r SET s = max(r.s, ?) WHERE k = ?", "UPDATE r SET s = GREATEST(r.s, %s) WHERE k = %s"),
    ("SELECT MAX(id) FROM t WHERE x IN ()", "SELECT MAX(id) FROM t WHERE x IN (SELECT NULL WHERE FALSE)"),
    ("INSERT OR IGNORE INTO t (a) VALUES (?)", "INSERT INTO t (a) VALUES (%s) ON CONFLICT DO NOTHING"),
    ("SELECT IFNULL(a, 0) FROM temp.s", "SELECT COALESCE(a, 0) FROM pg_temp.s"),
])
def test_sqlite_dialect_is_rewritten(sqlite, postgres):
    assert to_postgres(sqlite, "?" in sqlite) == postgres


def test_what_is_not_covered_fails_loudly():
    with pytest.raises(UnsupportedSql):
        to_postgres("PRAGMA user_version", False)
    with pytest.raises(UnsupportedSql):
        to_postgres("INSERT OR REPLACE INTO t VALUES (?)", True)


def test_both_engines_run_every_migration(db_target):
    db = connect(db_target)
    try:
        version = (db.execute("SELECT version FROM schema_version").fetchone()[0] if is_postgres(db)
                   else db.execute("PRAGMA user_version").fetchone()[0])
        assert version == len(MIGRATIONS)
        assert {"events", "streams", "rollup_hourly", "users", "tokens", "rejected"} <= set(db.table_names())
    finally:
        db.close()

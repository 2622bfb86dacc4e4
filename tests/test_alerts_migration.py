"""The delivery migration: idempotent, and after the evaluator's own tables it starts at the newest change."""

from __future__ import annotations

import sqlite3

from sqlite_utils import Database

from collector.db import MIGRATIONS, _m14_alert_delivery, migrate


def test_after_an_existing_alert_changes_table_delivery_starts_at_its_newest_row():
    db = Database(sqlite3.connect(":memory:", isolation_level=None))
    position = MIGRATIONS.index(_m14_alert_delivery)
    for step in MIGRATIONS[:position]:
        step(db)
    # The alerts branch's migration may have run first and the evaluator written history.
    db.conn.execute("CREATE TABLE IF NOT EXISTS alert_changes (id INTEGER PRIMARY KEY AUTOINCREMENT,"
                    " alert_id INTEGER NOT NULL, change TEXT NOT NULL, at TEXT NOT NULL, site TEXT NOT NULL,"
                    " org TEXT NOT NULL, kind TEXT NOT NULL, summary_fr TEXT NOT NULL, summary_en TEXT NOT NULL,"
                    " figures TEXT NOT NULL, link TEXT NOT NULL)")
    for n in range(3):
        db.conn.execute("INSERT INTO alert_changes (alert_id, change, at, site, org, kind, summary_fr, summary_en,"
                        " figures, link) VALUES (?, 'raised', '2026-12-01T08:00:00.000Z', 'mairie', 'ville',"
                        " 'silence', 'x', 'x', '{}', '/alerts')", (n,))
    db.conn.execute(f"PRAGMA user_version = {position}")
    assert migrate(db) == len(MIGRATIONS)
    assert db.execute("SELECT change_id FROM alert_delivery_watermark").fetchone()[0] == 3
    _m14_alert_delivery(db)  # again: nothing breaks, nothing moves
    assert db.execute("SELECT change_id FROM alert_delivery_watermark").fetchone()[0] == 3
    assert "email" in db["users"].columns_dict

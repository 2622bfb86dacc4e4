"""The collector's SQLite database (sqlite-utils): connection settings and migrations.

Schema changes are appended to MIGRATIONS, never edited; `PRAGMA user_version`
says how many have run.
"""

from __future__ import annotations

import itertools
import sqlite3
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlite_utils import Database

from collector.engine import is_postgres, is_postgres_url, open_database


def connect(path: str | Path) -> Database:
    """Open the database: WAL, synchronous=FULL (an ack means on disk), autocommit mode.

    Autocommit mode lets writers take `BEGIN IMMEDIATE` themselves, which
    serialises the check-then-insert of several ingest processes.
    A `postgresql://` URL opens PostgreSQL instead (collector/engine/).
    """
    if is_postgres_url(path):
        pg = open_database(str(path))
        migrate(pg)  # type: ignore[arg-type]
        return pg  # type: ignore[return-value]
    if str(path) != ":memory:":
        Path(path).parent.mkdir(parents=True, exist_ok=True)
    conn = sqlite3.connect(str(path), isolation_level=None, check_same_thread=False, timeout=30)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=FULL")
    conn.execute("PRAGMA foreign_keys=ON")
    db = Database(conn)
    migrate(db)
    return db


# Pages the ingest connection lets the WAL grow to before it copies them back
# (SQLite's default is 1,000). Rollup, watermark and index pages rewritten by
# every commit are then copied once per 40 MB, not once per 4 MB: batches of
# 10 events store 14-25 % faster (bench/ingest_worker.py, docs/benchmarks.md).
INGEST_WAL_AUTOCHECKPOINT = 10_000


def connect_for_ingest(path: str | Path) -> Database:
    """`connect`, tuned for the one connection that writes every batch."""
    db = connect(path)
    if is_postgres(db):  # this month's partitions and the next ones, whenever an ingest process starts
        from datetime import UTC, datetime

        from collector.engine.partitions import ensure_months

        ensure_months(db, around=datetime.now(UTC).date())
        return db
    db.conn.execute(f"PRAGMA wal_autocheckpoint={INGEST_WAL_AUTOCHECKPOINT}")
    return db


_savepoints = itertools.count()


@contextmanager
def write_transaction(db: Database) -> Iterator[Database]:
    """`BEGIN IMMEDIATE` ... `COMMIT`; inside an open transaction, a savepoint.

    The immediate lock makes the check-then-insert of exactly-once safe across
    processes. Nested, it lets the ingest worker store several messages in one
    transaction (one fsync) while a message that fails rolls back alone.
    """
    conn = db.conn
    if conn.in_transaction:
        name = f"ressenti_{next(_savepoints)}"
        conn.execute(f"SAVEPOINT {name}")
        try:
            yield db
        except BaseException:
            if conn.in_transaction:
                conn.execute(f"ROLLBACK TO {name}")
                conn.execute(f"RELEASE {name}")
            raise
        conn.execute(f"RELEASE {name}")
        return
    conn.execute("BEGIN IMMEDIATE")
    try:
        yield db
        conn.execute("COMMIT")
    except BaseException:
        if conn.in_transaction:  # also when the commit itself failed (disk full, I/O error)
            conn.execute("ROLLBACK")
        raise


def _m1_initial(db: Database) -> None:
    if is_postgres(db):
        from collector.engine.partitions import create_events_table

        create_events_table(db)
    db["orgs"].create({"id": str, "name": str}, pk="id")
    db["sites"].create({
        "id": str, "org": str, "name": str, "tz": str, "scale": int,
        "opening_hours": str, "created": str,
    }, pk="id", foreign_keys=[("org", "orgs", "id")], defaults={"scale": 4, "tz": "Europe/Paris"})
    db["kiosks"].create({
        "id": str, "site": str, "name": str, "created": str, "retired": str,
    }, pk="id", foreign_keys=[("site", "sites", "id")])
    if not is_postgres(db):
        db["events"].create({
          "id": str, "kiosk": str, "epoch": str, "seq": int, "site": str,
          "question": str, "scale": int, "rating": int, "channel": str,
          "flags": str, "followup": str, "lang": str,
          "ts": str, "time_source": str, "ts_kiosk": str, "clock": str, "boot": str, "up_ms": int,
          "received_at": str, "hour": str,
        }, pk="id", not_null={"kiosk", "epoch", "seq", "site", "rating", "ts"})
        db["events"].create_index(["kiosk", "epoch", "seq"], unique=True)
        db["events"].create_index(["site", "ts"])
    db["streams"].create({
        "kiosk": str, "epoch": str, "through": int, "max_seq": int, "dropped_through": int,
        "first_seen": str, "last_seen": str,
    }, pk=("kiosk", "epoch"), defaults={"through": 0, "max_seq": 0, "dropped_through": 0})
    db["rejected"].create({
        "id": int, "received_at": str, "kiosk": str, "epoch": str, "seq": int,
        "topic": str, "reason": str, "raw": bytes,
    }, pk="id")
    db["rejected"].create_index(["kiosk", "epoch", "seq"])
    db["rejected"].create_index(["received_at"])
    db["rollup_hourly"].create({
        "site": str, "hour": str, "question": str, "channel": str, "scale": int, "rating": int,
        "n_raw": int, "n_filtered": int,
    }, pk=("site", "hour", "question", "channel", "scale", "rating"))


def _m2_hours_sources_tokens(db: Database) -> None:
    """Opening hours in rollups (issue 5), HTTP sources as producers, API tokens."""
    db["events"].add_column("in_hours", int, not_null_default=1)
    db["rollup_hourly"].add_column("in_hours", int, not_null_default=1)
    db["rollup_hourly"].transform(pk=("site", "hour", "question", "channel", "scale", "rating", "in_hours"))
    # A producer is a kiosk (channel from each event) or an HTTP source whose
    # channel (web, phone) is imposed on its events.
    db["kiosks"].add_column("channel", str)
    db["tokens"].create({
        "id": int, "kind": str, "subject": str, "label": str, "hash": str,
        "created": str, "revoked": str,
    }, pk="id")
    db["tokens"].create_index(["hash"], unique=True)


def _m3_kiosk_status(db: Database) -> None:
    """The last status heartbeat (or Last Will) of each kiosk, for the fleet page and walls."""
    db["kiosk_status"].create({
        "kiosk": str, "site": str, "state": str, "received_at": str, "ts": str, "version": str,
        "config_rev": int, "clock": str, "uptime_s": int, "pending": int, "oldest_pending": str,
        "dropped": int, "temp_c": float, "disk_free_mb": int, "body": str,
    }, pk="kiosk")


def _m4_users(db: Database) -> None:
    """Dashboard users (issue 6) and the login attempts that rate-limit them.

    Attempts live in the database, not in memory, so every gunicorn worker
    counts the same failures.
    """
    db["users"].create({
        "id": int, "login": str, "password_hash": str, "role": str, "scope": str, "lang": str,
        "created": str, "disabled": str,
    }, pk="id", not_null={"login", "password_hash", "role"}, defaults={"scope": "[]"})
    db["users"].create_index(["login"], unique=True)
    db["login_attempts"].create({"id": int, "login": str, "ip": str, "at": str, "ok": int}, pk="id")
    db["login_attempts"].create_index(["login", "at"])
    db["login_attempts"].create_index(["ip", "at"])


def _m5_kiosk_config(db: Database) -> None:
    """The settings last pushed to each kiosk (retained config message) and their rev (issue 6)."""
    db["kiosk_config"].create({
        "kiosk": str, "site": str, "rev": int, "settings": str, "pushed_at": str, "pushed_by": str,
    }, pk="kiosk")


def _m6_followup_rollups(db: Database) -> None:
    """Follow-up answers in hourly rollups, filled from the events still kept (issue 5).

    The dashboard's reasons then survive retention like every other figure.
    """
    db.table("rollup_followup").create({
        "site": str, "hour": str, "question": str, "channel": str, "followup_question": str, "choice": str,
        "in_hours": int, "n_raw": int, "n_filtered": int,
    }, pk=("site", "hour", "question", "channel", "followup_question", "choice", "in_hours"))
    db.conn.execute(
        "INSERT INTO rollup_followup (site, hour, question, channel, followup_question, choice, in_hours,"
        " n_raw, n_filtered)"
        " SELECT site, hour, question, channel, json_extract(followup, '$.question') AS followup_question,"
        " json_extract(followup, '$.choice') AS choice, in_hours, COUNT(*),"
        " SUM(CASE WHEN flags = '[]' THEN 1 ELSE 0 END)"
        " FROM events WHERE followup IS NOT NULL"
        " GROUP BY site, hour, question, channel, followup_question, choice, in_hours")


def _m7_local_rollups(db: Database) -> None:
    """Rollups per local day, week, month and year, summed from the hourly ones (year views, issue 5).

    WITHOUT ROWID: rows are stored in key order, so a site's span is one
    contiguous read. See collector/local_rollups.py.
    """
    counts = "n_raw INTEGER NOT NULL, n_filtered INTEGER NOT NULL"
    span = "site TEXT NOT NULL, span TEXT NOT NULL, start TEXT NOT NULL"
    db.conn.execute(
        f"CREATE TABLE rollup_local ({span}, question TEXT, channel TEXT, scale INTEGER, rating INTEGER,"
        f" in_hours INTEGER, {counts},"
        " PRIMARY KEY (site, span, start, question, channel, scale, rating, in_hours)) WITHOUT ROWID")
    db.conn.execute(
        f"CREATE TABLE rollup_heat ({span}, weekday INTEGER, local_hour INTEGER, scale INTEGER,"
        f" rating INTEGER, in_hours INTEGER, {counts},"
        " PRIMARY KEY (site, span, start, weekday, local_hour, scale, rating, in_hours)) WITHOUT ROWID")
    db.conn.execute(
        f"CREATE TABLE rollup_followup_local ({span}, question TEXT, channel TEXT, followup_question TEXT,"
        f" choice TEXT, in_hours INTEGER, {counts},"
        " PRIMARY KEY (site, span, start, question, channel, followup_question, choice, in_hours)) WITHOUT ROWID")
    # It needs the sites' time zones: Python, not SQL. The heat map is summed by _m8, which always follows.
    from collector.local_rollups import FOLLOWUPS, RATINGS, rebuild_local

    rebuild_local(db, families=[RATINGS, FOLLOWUPS])


def _m8_heat_days_and_cell_indexes(db: Database) -> None:
    """The heat map per local day too, and indexes that sum many sites' spans without sorting (issue 5).

    A report over most of the database's sites reads one span of every site in
    cell order (scale, rating, ...) through these, instead of sorting them.
    """
    from collector.local_rollups import HEAT, rebuild_local

    rebuild_local(db, families=[HEAT])
    db.conn.execute("CREATE INDEX rollup_local_by_cell ON rollup_local"
                    " (span, start, scale, rating, in_hours, site, question, channel, n_raw, n_filtered)")
    db.conn.execute("CREATE INDEX rollup_heat_by_cell ON rollup_heat"
                    " (span, start, weekday, local_hour, scale, rating, in_hours, site, n_raw, n_filtered)")


def _m9_web_sessions_and_explicit_all_scopes(db: Database) -> None:
    """Issue 17: server-side dashboard sessions, and `all` said explicitly in viewers' scopes.

    `web_sessions` (collector/sessions.py): logout, a disabled account or a new
    password end a session. An empty viewer scope used to mean every site and
    now means none, so the existing empty ones become `["all"]`: nobody loses
    access. Idempotent, so it may run after other engineers' steps in any order.
    """
    db.table("web_sessions").create({
        "id": str, "user_id": int, "created": str, "last_seen": str, "revoked": str,
    }, pk="id", foreign_keys=[("user_id", "users", "id")], not_null={"user_id", "created", "last_seen"},
        if_not_exists=True)
    db.table("web_sessions").create_index(["user_id"], if_not_exists=True)
    db.table("web_sessions").create_index(["last_seen"], if_not_exists=True)
    db.conn.execute("UPDATE users SET scope = '[\"all\"]'"
                    " WHERE role = 'viewer' AND (scope IS NULL OR TRIM(scope) IN ('', '[]'))")


def _m10_typed_wall_subjects(db: Database) -> None:
    """Wall token subjects typed, `org:<id>` / `site:<id>` (issue 17), resolved as they were until now.

    An untyped subject without a comma named an organisation if one had that id, else a site; with
    commas, sites. A wall thus switched from a site to an organisation when one of that id was made.
    Subjects already typed are left alone (the step can run twice).
    """
    orgs = {row[0] for row in db.conn.execute("SELECT id FROM orgs")}
    walls = db.conn.execute("SELECT id, subject FROM tokens WHERE kind = 'wall'").fetchall()
    for token_id, subject in walls:
        items = [part.strip() for part in (subject or "").split(",") if part.strip()]
        if not items or all(item.startswith(("org:", "site:")) for item in items):
            continue  # nothing shown before, nothing shown now; or typed already
        if "," not in subject and subject.strip() in orgs:
            typed = f"org:{subject.strip()}"
        else:
            typed = ",".join(f"site:{item}" for item in sorted(set(items)))
        db.conn.execute("UPDATE tokens SET subject = ? WHERE id = ?", (typed, token_id))


def _m11_rejected_counts_and_late_arrivals(db: Database) -> None:
    """Bounded `rejected` rows, and late arrivals flagged and counted (issue 17).

    `rejected` keeps a raw prefix with the full length and SHA-256, and counts
    repeats of a whole-message refusal in one row per (producer, class of
    reason, bucket) through `dedupe_key` (collector/rejections.py). Events
    get `late` (arrived days after their local day) and `late_arrivals`
    counts them per site, kiosk and local day, kept past retention.
    """
    import hashlib

    from collector.rejections import RAW_PREFIX_BYTES

    have = set(db["rejected"].columns_dict)
    for name, kind in [("last_seen", str), ("reason_class", str), ("raw_len", int), ("raw_sha256", str),
                       ("count", int), ("dedupe_key", str)]:
        if name not in have:
            db["rejected"].add_column(name, kind)
    rows = db.conn.execute("SELECT id, raw FROM rejected WHERE raw_len IS NULL").fetchall()
    db.conn.executemany(
        "UPDATE rejected SET raw = ?, raw_len = ?, raw_sha256 = ?, count = 1, last_seen = received_at WHERE id = ?",
        [((raw or b"")[:RAW_PREFIX_BYTES], len(raw or b""), hashlib.sha256(raw or b"").hexdigest(), row_id)
         for row_id, raw in rows])
    db.conn.execute("CREATE UNIQUE INDEX IF NOT EXISTS rejected_dedupe ON rejected (dedupe_key)")
    db.conn.execute("CREATE INDEX IF NOT EXISTS rejected_last_seen ON rejected (last_seen)")
    if "late" not in db["events"].columns_dict:
        db["events"].add_column("late", int, not_null_default=0)
    db.conn.execute(
        "CREATE TABLE IF NOT EXISTS late_arrivals (site TEXT NOT NULL, kiosk TEXT NOT NULL, day TEXT NOT NULL,"
        " n INTEGER NOT NULL, first_arrival TEXT, last_arrival TEXT, PRIMARY KEY (site, kiosk, day)) WITHOUT ROWID")


def _m12_publication(db: Database) -> None:
    """Issue 13: public results. A `published` flag per site and organisation (1: published, the
    default Services Publics+ asks for; 0: opted out), and the "Vous nous avez dit / Nous avons fait"
    notes a manager writes per site or organisation and period (collector/notes.py).
    Idempotent: it may run after other engineers' steps in any order.
    """
    for table in ("sites", "orgs"):
        if "published" not in db.table(table).columns_dict:
            db.table(table).add_column("published", int, not_null_default=1)
    db.table("published_notes").create({
        "id": int, "scope": str, "period": str, "said_fr": str, "done_fr": str, "said_en": str, "done_en": str,
        "author": str, "updated": str,
    }, pk="id", not_null={"scope", "period", "said_fr", "done_fr", "updated"}, if_not_exists=True)
    db.table("published_notes").create_index(["scope", "period"], unique=True, if_not_exists=True)


def _m13_alerts(db: Database) -> None:
    """Issue 12: alert rules, alerts, their comments, the evaluator's watch list and `alert_changes`.

    `alert_changes` is the hand-over to delivery: one row per raised, updated or
    resolved alert, written in the same transaction (docs/alerts.md). Rules are
    optional: every site has each kind's defaults unless a rule overrides them.
    Idempotent (IF NOT EXISTS), so it may run after other engineers' steps.
    """
    for sql in (
        "CREATE TABLE IF NOT EXISTS alert_rules (id INTEGER PRIMARY KEY, kind TEXT NOT NULL,"
        " scope TEXT NOT NULL, params TEXT NOT NULL DEFAULT '{}', enabled INTEGER NOT NULL DEFAULT 1,"
        " created_by TEXT, created_at TEXT, UNIQUE (kind, scope))",
        "CREATE TABLE IF NOT EXISTS alerts (id INTEGER PRIMARY KEY, rule_id INTEGER, kind TEXT NOT NULL,"
        " site TEXT NOT NULL, org TEXT NOT NULL, kiosk TEXT, opened_at TEXT NOT NULL, updated_at TEXT NOT NULL,"
        " resolved_at TEXT, state TEXT NOT NULL DEFAULT 'open', figures TEXT NOT NULL DEFAULT '{}',"
        " summary_fr TEXT, summary_en TEXT, link TEXT, acked_by TEXT, acked_at TEXT, clear_since TEXT)",
        # One open alert per kind, site and kiosk, even with two evaluators racing.
        "CREATE UNIQUE INDEX IF NOT EXISTS alerts_one_open ON alerts (kind, site, IFNULL(kiosk, ''))"
        " WHERE state = 'open'",
        "CREATE INDEX IF NOT EXISTS alerts_by_site ON alerts (site, opened_at)",
        "CREATE TABLE IF NOT EXISTS alert_comments (id INTEGER PRIMARY KEY,"
        " alert_id INTEGER NOT NULL REFERENCES alerts(id), user_id INTEGER, at TEXT NOT NULL, text TEXT NOT NULL)",
        "CREATE INDEX IF NOT EXISTS alert_comments_by_alert ON alert_comments (alert_id, at)",
        "CREATE TABLE IF NOT EXISTS alert_changes (id INTEGER PRIMARY KEY AUTOINCREMENT,"
        " alert_id INTEGER NOT NULL REFERENCES alerts(id), change TEXT NOT NULL, at TEXT NOT NULL,"
        " site TEXT NOT NULL, org TEXT NOT NULL, kind TEXT NOT NULL, summary_fr TEXT NOT NULL,"
        " summary_en TEXT NOT NULL, figures TEXT NOT NULL, link TEXT NOT NULL)",
        # A condition seen but not yet held long enough to raise an alert (evaluator state only).
        "CREATE TABLE IF NOT EXISTS alert_watch (kind TEXT NOT NULL, site TEXT NOT NULL, kiosk TEXT NOT NULL,"
        " since TEXT NOT NULL, PRIMARY KEY (kind, site, kiosk)) WITHOUT ROWID",
    ):
        db.conn.execute(sql)


def _m14_alert_delivery(db: Database) -> None:
    """Issue 12, delivery: users' e-mail, subscriptions, webhooks and the delivery outbox (docs/alerts-delivery.md).

    `alert_changes` is the evaluator's hand-over table (the alerts branch creates it
    too: IF NOT EXISTS, whichever runs first). Deliveries are claimed from it by id
    past `alert_delivery_watermark`; each message groups deliveries and keeps its
    Message-ID, so a retry after a restart is the same message. Idempotent.
    """
    if "email" not in db.table("users").columns_dict:
        db.conn.execute("ALTER TABLE users ADD COLUMN email TEXT")  # the only personal datum (docs/alerts-delivery.md)
    for sql in (
        "CREATE TABLE IF NOT EXISTS alert_changes (id INTEGER PRIMARY KEY AUTOINCREMENT, alert_id INTEGER,"
        " change TEXT NOT NULL, at TEXT NOT NULL, site TEXT, org TEXT, kind TEXT NOT NULL, summary_fr TEXT,"
        " summary_en TEXT, figures TEXT, link TEXT)",
        # kind '*' is the user's switch for everything; no row: the role's default.
        "CREATE TABLE IF NOT EXISTS alert_subscriptions (user_id INTEGER NOT NULL REFERENCES users(id),"
        " kind TEXT NOT NULL, enabled INTEGER NOT NULL, PRIMARY KEY (user_id, kind)) WITHOUT ROWID",
        "CREATE TABLE IF NOT EXISTS alert_webhooks (id INTEGER PRIMARY KEY, url TEXT NOT NULL, secret TEXT NOT NULL,"
        " scope TEXT NOT NULL, enabled INTEGER NOT NULL DEFAULT 1, label TEXT, created_at TEXT NOT NULL)",
        "CREATE TABLE IF NOT EXISTS alert_delivery_watermark (id INTEGER PRIMARY KEY CHECK (id = 1),"
        " change_id INTEGER NOT NULL)",
        # Delivery starts with the changes made after it is installed, not with the history.
        "INSERT OR IGNORE INTO alert_delivery_watermark (id, change_id)"
        " SELECT 1, IFNULL(MAX(id), 0) FROM alert_changes",
        # One message: what was sent (or is being sent) to one user or webhook, with its own Message-ID.
        "CREATE TABLE IF NOT EXISTS alert_messages (id INTEGER PRIMARY KEY AUTOINCREMENT, channel TEXT NOT NULL,"
        " user_id INTEGER, webhook_id INTEGER, group_key TEXT NOT NULL, notice INTEGER NOT NULL DEFAULT 0,"
        " created_at TEXT NOT NULL, message_id TEXT NOT NULL UNIQUE, state TEXT NOT NULL DEFAULT 'sending',"
        " attempts INTEGER NOT NULL DEFAULT 0, next_attempt_at TEXT NOT NULL, last_error TEXT, sent_at TEXT)",
        "CREATE INDEX IF NOT EXISTS alert_messages_to_send ON alert_messages (state, next_attempt_at)",
        "CREATE INDEX IF NOT EXISTS alert_messages_by_group ON alert_messages (channel, user_id, webhook_id,"
        " group_key, created_at)",
        # One row per (change, recipient): the outbox. state: pending -> queued (in a message) -> sent,
        # or capped (over the daily cap: the notice says so) or skipped (no address any more).
        "CREATE TABLE IF NOT EXISTS alert_deliveries (id INTEGER PRIMARY KEY AUTOINCREMENT,"
        " change_id INTEGER NOT NULL, channel TEXT NOT NULL, user_id INTEGER, webhook_id INTEGER,"
        " group_key TEXT NOT NULL, due_at TEXT NOT NULL, state TEXT NOT NULL DEFAULT 'pending',"
        " message INTEGER REFERENCES alert_messages(id))",
        "CREATE UNIQUE INDEX IF NOT EXISTS alert_deliveries_once ON alert_deliveries"
        " (change_id, channel, IFNULL(user_id, 0), IFNULL(webhook_id, 0))",
        "CREATE INDEX IF NOT EXISTS alert_deliveries_pending ON alert_deliveries (state, due_at)",
        "CREATE INDEX IF NOT EXISTS alert_deliveries_by_message ON alert_deliveries (message)",
    ):
        db.conn.execute(sql)


def _m15_reports_schedule_and_kiosk_uptime(db: Database) -> None:
    """Issue 13: who receives which scheduled report, which period's report went to whom, kiosk uptime.

    A `report_runs` row is written once the SMTP server has accepted the message, so a
    period's report is sent once even across restarts (collector/reports_pdf/schedule.py).
    `kiosk_uptime` starts empty: availability is known from the upgrade on.
    Idempotent (IF NOT EXISTS), so it may run after other engineers' steps in any order.
    """
    db.conn.execute(
        "CREATE TABLE IF NOT EXISTS report_subscriptions (id INTEGER PRIMARY KEY, email TEXT NOT NULL,"
        " scope TEXT NOT NULL, every TEXT NOT NULL, lang TEXT NOT NULL DEFAULT 'fr', created TEXT NOT NULL,"
        " UNIQUE (email, scope, every))")
    db.conn.execute(
        "CREATE TABLE IF NOT EXISTS report_runs (subscription_id INTEGER NOT NULL"
        " REFERENCES report_subscriptions(id) ON DELETE CASCADE, period TEXT NOT NULL, sent_at TEXT NOT NULL,"
        " message_id TEXT NOT NULL, PRIMARY KEY (subscription_id, period))")
    # One row per continuous online stretch of a kiosk (collector/uptime.py), for the reports' availability.
    db.conn.execute("CREATE TABLE IF NOT EXISTS kiosk_uptime (id INTEGER PRIMARY KEY, kiosk TEXT NOT NULL,"
                    " site TEXT NOT NULL, since TEXT NOT NULL, last_seen TEXT NOT NULL)")
    db.conn.execute("CREATE INDEX IF NOT EXISTS kiosk_uptime_by_kiosk ON kiosk_uptime (kiosk, since)")


def _m16_alert_counters(db: Database) -> None:
    """The last value the alert evaluator saw of a kiosk's cumulative counter (its outbox's `queue.dropped`),
    and when it last grew: the `outbox_drops` kind raises on growth since the last pass (docs/alerts.md)."""
    db.conn.execute("CREATE TABLE IF NOT EXISTS alert_counters (kind TEXT NOT NULL, kiosk TEXT NOT NULL,"
                    " value INTEGER NOT NULL, grew_at TEXT, PRIMARY KEY (kind, kiosk)) WITHOUT ROWID")


def _m17_survey_links(db: Database) -> None:
    """Issue 14: the citizens' survey links (collector/survey/links.py), one producer each. Idempotent."""
    db.conn.execute(
        "CREATE TABLE IF NOT EXISTS survey_links (id INTEGER PRIMARY KEY, slug TEXT NOT NULL UNIQUE,"
        " site TEXT NOT NULL REFERENCES sites(id), channel TEXT NOT NULL, desk TEXT, label TEXT,"
        " created TEXT NOT NULL, created_by TEXT, revoked TEXT)")
    db.conn.execute("CREATE INDEX IF NOT EXISTS survey_links_by_site ON survey_links (site)")


def _m18_survey_submissions(db: Database) -> None:
    """Issue 14: what the web survey keeps besides its events (collector/survey/, docs/survey.md).

    Per-site survey settings (comments off by default), the optional comments (masked, kept
    90 days), the per-minute submission counts of hashed client keys (kept 15 minutes) and the
    salt of the day those keys are made with (yesterday's deleted). Idempotent.
    """
    for sql in (
        "CREATE TABLE IF NOT EXISTS survey_settings (site TEXT PRIMARY KEY REFERENCES sites(id),"
        " comments INTEGER NOT NULL DEFAULT 0)",
        "CREATE TABLE IF NOT EXISTS survey_comments (id INTEGER PRIMARY KEY, site TEXT NOT NULL, link_id INTEGER,"
        " event_id TEXT NOT NULL UNIQUE, created TEXT NOT NULL, text TEXT NOT NULL, lang TEXT)",
        "CREATE INDEX IF NOT EXISTS survey_comments_by_site ON survey_comments (site, created)",
        "CREATE INDEX IF NOT EXISTS survey_comments_by_created ON survey_comments (created)",
        "CREATE TABLE IF NOT EXISTS survey_hits (link_id INTEGER NOT NULL, minute TEXT NOT NULL,"
        " client TEXT NOT NULL, n INTEGER NOT NULL, PRIMARY KEY (link_id, minute, client))",
        "CREATE INDEX IF NOT EXISTS survey_hits_by_minute ON survey_hits (minute)",
        "CREATE TABLE IF NOT EXISTS survey_salts (day TEXT PRIMARY KEY, salt BLOB NOT NULL)",
    ):
        db.conn.execute(sql)


def _m19_barometer(db: Database) -> None:
    """Issue 15: the agents' anonymous team barometer (collector/barometer/, docs/privacy.md).

    Stored apart from citizen events. Codes keep their hash, team, ISO week and a used flag, no
    time; answers are only per-week counters (created at 0 before any answer), with no link to a
    code. No column holds a day, an hour or a person. Idempotent (IF NOT EXISTS).
    """
    for sql in (
        "CREATE TABLE IF NOT EXISTS barometer_settings (org TEXT PRIMARY KEY, enabled INTEGER NOT NULL DEFAULT 0,"
        " min_group INTEGER NOT NULL DEFAULT 5, form TEXT NOT NULL, updated TEXT)",
        "CREATE TABLE IF NOT EXISTS barometer_teams (id TEXT PRIMARY KEY, org TEXT NOT NULL, name TEXT NOT NULL,"
        " sites TEXT NOT NULL, created TEXT)",
        "CREATE TABLE IF NOT EXISTS barometer_codes (hash TEXT PRIMARY KEY, team TEXT NOT NULL, week TEXT NOT NULL,"
        " used INTEGER NOT NULL DEFAULT 0)",
        "CREATE TABLE IF NOT EXISTS barometer_counts (team TEXT NOT NULL, week TEXT NOT NULL, question TEXT NOT NULL,"
        " scale INTEGER NOT NULL, rating INTEGER NOT NULL, n INTEGER NOT NULL,"
        " PRIMARY KEY (team, week, question, scale, rating))",
        "CREATE TABLE IF NOT EXISTS barometer_responses (team TEXT NOT NULL, week TEXT NOT NULL, n INTEGER NOT NULL,"
        " PRIMARY KEY (team, week))",
        "CREATE TABLE IF NOT EXISTS barometer_notes (team TEXT NOT NULL, period TEXT NOT NULL, text_fr TEXT NOT NULL,"
        " text_en TEXT, author TEXT, updated TEXT NOT NULL, PRIMARY KEY (team, period))",
    ):
        db.conn.execute(sql)


MIGRATIONS: list[Callable[[Database], None]] = [_m1_initial, _m2_hours_sources_tokens, _m3_kiosk_status,
                                                _m4_users, _m5_kiosk_config, _m6_followup_rollups,
                                                _m7_local_rollups, _m8_heat_days_and_cell_indexes,
                                                _m9_web_sessions_and_explicit_all_scopes, _m10_typed_wall_subjects,
                                                _m11_rejected_counts_and_late_arrivals, _m12_publication, _m13_alerts,
                                                _m14_alert_delivery, _m15_reports_schedule_and_kiosk_uptime,
                                                _m16_alert_counters, _m17_survey_links,
                                                _m18_survey_submissions, _m19_barometer]


def migrate(db: Database) -> int:
    """Run the migrations not yet applied; return the schema version."""
    if is_postgres(db):
        return _migrate_postgres(db)
    version = db.execute("PRAGMA user_version").fetchone()[0]
    for number, step in enumerate(MIGRATIONS[version:], start=version + 1):
        db.conn.execute("BEGIN IMMEDIATE")
        try:
            # Another process may have migrated while we waited for the lock.
            if db.execute("PRAGMA user_version").fetchone()[0] >= number:
                db.conn.execute("ROLLBACK")
                continue
            step(db)
            db.conn.execute(f"PRAGMA user_version = {number}")
            db.conn.execute("COMMIT")
        except BaseException:
            db.conn.execute("ROLLBACK")
            raise
    return len(MIGRATIONS)


def _migrate_postgres(db: Database) -> int:
    """The same steps on PostgreSQL; `schema_version` says how many ran, an advisory lock serialises migrators."""
    conn = db.conn
    conn.execute("CREATE TABLE IF NOT EXISTS schema_version (version BIGINT NOT NULL)")
    row = conn.execute("SELECT MAX(version) FROM schema_version").fetchone()
    if row[0] is not None and row[0] >= len(MIGRATIONS):
        return len(MIGRATIONS)
    for number, step in enumerate(MIGRATIONS, start=1):
        conn.execute("BEGIN")
        try:
            conn.execute("SELECT pg_advisory_xact_lock(7251001)")  # one migrator at a time, across hosts
            if (conn.execute("SELECT MAX(version) FROM schema_version").fetchone()[0] or 0) >= number:
                conn.execute("ROLLBACK")
                continue
            step(db)
            conn.execute("DELETE FROM schema_version")
            conn.execute("INSERT INTO schema_version (version) VALUES (?)", (number,))
            conn.execute("COMMIT")
        except BaseException:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise
    return len(MIGRATIONS)

"""The kiosk's durable queue of ratings: SQLite, WAL, synchronous=FULL.

A press is committed here before the kiosk shows any confirmation, and leaves
only when the collector acks it (docs/protocol.md, "Nothing lost"). The queue
is bounded: past `max_events` (or `max_age_days`) the oldest are dropped and
counted, and the count is reported in the status heartbeat.
"""

from __future__ import annotations

import json
import logging
import sqlite3
import threading
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ressenti.errors import RessentiError

log = logging.getLogger(__name__)

SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS outbox (
    seq INTEGER PRIMARY KEY,
    body TEXT NOT NULL,
    created REAL NOT NULL
);
"""


class OutboxError(RessentiError, OSError):
    """The outbox could not open or commit (disk full, read-only, I/O error)."""


class _Corrupt(sqlite3.DatabaseError):
    """PRAGMA quick_check found damage."""


def _is_corruption(exc: sqlite3.DatabaseError) -> bool:
    """Only a damaged file is moved aside; "disk full" or "locked" must keep the queue."""
    if isinstance(exc, _Corrupt):
        return True
    name = getattr(exc, "sqlite_errorname", "") or ""
    return name.startswith(("SQLITE_CORRUPT", "SQLITE_NOTADB"))


@dataclass(frozen=True)
class QueueState:
    pending: int
    oldest_created: float | None
    dropped: int
    last_seq: int


class Outbox:
    """Append presses, read batches in seq order, delete what the collector acked."""

    def __init__(self, path: str | Path, *, max_events: int = 1_000_000, max_age_days: float = 90) -> None:
        self.path = Path(path)
        self.max_events = max_events
        self.max_age_s = max_age_days * 86400
        self._lock = threading.Lock()
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._conn = self._open()
            self.epoch = self._meta("epoch") or self._new_epoch()
            self._last_seq = int(self._meta("last_seq") or 0)
            self._dropped = int(self._meta("dropped") or 0)
            self._dropped_through = int(self._meta("dropped_through") or 0)
            row = self._conn.execute("SELECT MIN(seq) FROM outbox").fetchone()
        except (OSError, sqlite3.Error) as exc:
            # Disk full, read-only or missing folder, I/O error: not a reason to
            # throw the queue away. The runner shows the fault and retries.
            raise OutboxError(f"cannot open the outbox {self.path}: {exc}") from exc
        self._first_seq = row[0] if row[0] is not None else self._last_seq + 1

    def _open(self) -> sqlite3.Connection:
        try:
            conn = self._connect()
            if conn.execute("PRAGMA quick_check").fetchone()[0] != "ok":
                conn.close()
                raise _Corrupt("quick_check failed")
            return conn
        except sqlite3.DatabaseError as exc:
            if not _is_corruption(exc):
                raise
            # A corrupt file is kept for inspection and a new epoch starts:
            # the collector then sees the old epoch's missing seqs as a gap.
            aside = self.path.with_name(f"{self.path.name}.corrupt-{int(time.time())}")
            log.error("outbox %s is corrupt (%s); moved aside to %s, starting a new epoch",
                      self.path, exc, aside)
            self.path.rename(aside)
            for suffix in ("-wal", "-shm"):
                Path(f"{self.path}{suffix}").unlink(missing_ok=True)
            return self._connect()

    def _connect(self) -> sqlite3.Connection:
        conn = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=FULL")
        conn.executescript(SCHEMA)
        return conn

    def _meta(self, key: str) -> str | None:
        row = self._conn.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return row[0] if row else None

    def _set_meta(self, **values: Any) -> None:
        self._conn.executemany(
            "INSERT INTO meta(key, value) VALUES (?, ?) "
            "ON CONFLICT(key) DO UPDATE SET value = excluded.value",
            [(k, str(v)) for k, v in values.items()],
        )

    def _new_epoch(self) -> str:
        epoch = str(uuid.uuid4())
        self._conn.execute("BEGIN IMMEDIATE")
        self._set_meta(epoch=epoch, last_seq=0, dropped=0, dropped_through=0)
        self._conn.execute("COMMIT")
        log.info("outbox %s: new epoch %s", self.path, epoch)
        return epoch

    # -- writing ------------------------------------------------------------

    def append(self, fields: dict[str, Any]) -> dict[str, Any]:
        """Give the event its id and seq and commit it; return it once it is on disk."""
        with self._lock:
            seq = self._last_seq + 1
            event = {"id": str(uuid.uuid4()), "seq": seq, **fields}
            counters = self._counters()
            try:
                self._conn.execute("BEGIN IMMEDIATE")
                self._conn.execute(
                    "INSERT INTO outbox(seq, body, created) VALUES (?, ?, ?)",
                    (seq, json.dumps(event, separators=(",", ":")), time.time()),
                )
                self._set_meta(last_seq=seq)
                overflow = (seq - self._first_seq + 1) - self.max_events
                if overflow > 0:
                    self._drop_oldest_locked(self._first_seq + overflow - 1)
                self._conn.execute("COMMIT")
            except sqlite3.Error as exc:
                self._rollback_locked(counters)
                raise OutboxError(f"could not commit press to {self.path}: {exc}") from exc
            self._last_seq = seq
            return event

    def _drop_oldest_locked(self, through: int) -> None:
        """Delete pending events up to `through` (outbox full or too old) and count them."""
        deleted = self._conn.execute("DELETE FROM outbox WHERE seq <= ?", (through,)).rowcount
        if deleted:
            self._dropped += deleted
            self._dropped_through = max(self._dropped_through, through)
            self._first_seq = through + 1
            self._set_meta(dropped=self._dropped, dropped_through=self._dropped_through)
            log.warning("outbox full: dropped %d oldest events (through seq %d)", deleted, through)

    def expire(self, now: float | None = None) -> int:
        """Drop pending events older than max_age_days; return how many."""
        cutoff = (now or time.time()) - self.max_age_s
        with self._lock:
            # The first pending event is the oldest: when it is young enough
            # (nearly always), no scan of the table under the lock.
            first = self._conn.execute("SELECT created FROM outbox ORDER BY seq LIMIT 1").fetchone()
            if first is None or first[0] >= cutoff:
                return 0
            row = self._conn.execute(
                "SELECT MAX(seq) FROM outbox WHERE created < ?", (cutoff,)).fetchone()
            if row[0] is None:
                return 0
            before, counters = self._dropped, self._counters()
            try:
                self._conn.execute("BEGIN IMMEDIATE")
                self._drop_oldest_locked(row[0])
                self._conn.execute("COMMIT")
            except sqlite3.Error as exc:
                self._rollback_locked(counters)
                raise OutboxError(f"could not expire old events in {self.path}: {exc}") from exc
            return self._dropped - before

    def _counters(self) -> tuple[int, int, int]:
        return self._dropped, self._dropped_through, self._first_seq

    def _rollback_locked(self, counters: tuple[int, int, int]) -> None:
        """Undo a failed transaction, and the in-memory counters it had moved."""
        self._dropped, self._dropped_through, self._first_seq = counters
        try:
            self._conn.execute("ROLLBACK")
        except sqlite3.Error:
            pass

    # -- reading and acking -------------------------------------------------

    def batch(self, limit: int = 500, max_bytes: int | None = None) -> list[dict[str, Any]]:
        """The oldest pending events, in seq order."""
        with self._lock:
            rows = self._conn.execute(
                "SELECT body FROM outbox ORDER BY seq LIMIT ?", (limit,)).fetchall()
        events: list[dict[str, Any]] = []
        size = 0
        for (body,) in rows:
            size += len(body) + 1
            if max_bytes is not None and size > max_bytes and events:
                break
            events.append(json.loads(body))
        return events

    def ack(self, epoch: str, through: int) -> int:
        """Delete every event with seq <= through; the collector holds them now."""
        if epoch != self.epoch:
            return 0
        with self._lock:
            try:
                deleted = self._conn.execute("DELETE FROM outbox WHERE seq <= ?", (through,)).rowcount
            except sqlite3.Error as exc:
                raise OutboxError(f"could not delete acked events from {self.path}: {exc}") from exc
            self._first_seq = max(self._first_seq, through + 1)
            return deleted

    @property
    def dropped_through(self) -> int:
        return self._dropped_through

    @property
    def pending(self) -> int:
        """Events not yet acked, from the counters: no query (the status LED asks twice a second)."""
        with self._lock:
            return max(0, self._last_seq - self._first_seq + 1)

    def state(self) -> QueueState:
        with self._lock:
            # The first pending seq's row, found by primary key: MIN(created)
            # would scan the whole table under the lock, blocking presses.
            row = self._conn.execute("SELECT created FROM outbox ORDER BY seq LIMIT 1").fetchone()
            pending = max(0, self._last_seq - self._first_seq + 1)
            return QueueState(pending, row[0] if row else None, self._dropped, self._last_seq)

    # -- settings persisted beside the queue -----------------------------------

    def load_json(self, key: str) -> Any:
        value = self._meta(f"json:{key}")
        return json.loads(value) if value else None

    def save_json(self, key: str, value: Any) -> None:
        with self._lock:
            try:
                self._set_meta(**{f"json:{key}": json.dumps(value)})
            except sqlite3.Error as exc:
                raise OutboxError(f"could not save {key} to {self.path}: {exc}") from exc

    def close(self) -> None:
        with self._lock:
            self._conn.close()


@dataclass(frozen=True)
class OutboxSnapshot:
    """What `ressenti kiosk status` shows, read without writing anything."""

    epoch: str | None
    queue: QueueState
    settings: dict[str, Any] | None


def peek(path: str | Path) -> OutboxSnapshot | None:
    """Read an outbox read-only (a running kiosk may hold it); None if there is none yet."""
    path = Path(path)
    if not path.exists():
        return None
    conn = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)
    try:
        meta = dict(conn.execute("SELECT key, value FROM meta").fetchall())
        pending = conn.execute("SELECT COUNT(*) FROM outbox").fetchone()[0]
        row = conn.execute("SELECT created FROM outbox ORDER BY seq LIMIT 1").fetchone()
        oldest = row[0] if row else None
    finally:
        conn.close()
    settings = json.loads(meta["json:settings"]) if meta.get("json:settings") else None
    queue = QueueState(pending, oldest, int(meta.get("dropped", 0)), int(meta.get("last_seq", 0)))
    return OutboxSnapshot(meta.get("epoch"), queue, settings)

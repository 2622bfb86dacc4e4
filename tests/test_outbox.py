"""The kiosk outbox: seq, durability across reopen, acks, bounds, corruption."""

from __future__ import annotations

import sqlite3

import pytest

from kiosk.outbox import Outbox, OutboxError


def fields(rating: int = 3) -> dict:
    return {"rating": rating}


def test_append_assigns_increasing_seq_and_ids(tmp_path):
    box = Outbox(tmp_path / "o.db")
    first, second = box.append(fields()), box.append(fields())
    assert (first["seq"], second["seq"]) == (1, 2)
    assert first["id"] != second["id"]
    assert [e["seq"] for e in box.batch()] == [1, 2]


def test_wal_and_full_sync(tmp_path):
    box = Outbox(tmp_path / "o.db")
    assert box._conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert box._conn.execute("PRAGMA synchronous").fetchone()[0] == 2  # FULL


def test_reopen_keeps_epoch_seq_and_pending(tmp_path):
    box = Outbox(tmp_path / "o.db")
    for _ in range(3):
        box.append(fields())
    box.ack(box.epoch, 1)
    epoch = box.epoch
    box.close()
    again = Outbox(tmp_path / "o.db")
    assert again.epoch == epoch
    assert again.state().pending == 2
    assert again.append(fields())["seq"] == 4, "seq never restarts within an epoch"


def test_ack_deletes_only_through_and_only_own_epoch(tmp_path):
    box = Outbox(tmp_path / "o.db")
    for _ in range(5):
        box.append(fields())
    assert box.ack("another-epoch-0000", 5) == 0
    assert box.ack(box.epoch, 3) == 3
    assert [e["seq"] for e in box.batch()] == [4, 5]
    assert box.state().pending == 2


def test_batch_limits(tmp_path):
    box = Outbox(tmp_path / "o.db")
    for _ in range(20):
        box.append(fields())
    assert len(box.batch(limit=7)) == 7
    one_size = len(str(box.batch(limit=1)[0]))
    assert 1 <= len(box.batch(limit=20, max_bytes=one_size * 3)) <= 4


def test_full_outbox_drops_oldest_and_counts(tmp_path):
    box = Outbox(tmp_path / "o.db", max_events=10)
    for _ in range(15):
        box.append(fields())
    state = box.state()
    assert (state.pending, state.dropped, box.dropped_through) == (10, 5, 5)
    assert box.batch(limit=1)[0]["seq"] == 6
    box.close()
    again = Outbox(tmp_path / "o.db", max_events=10)
    assert again.state().dropped == 5 and again.dropped_through == 5


def test_expire_drops_old_events(tmp_path):
    box = Outbox(tmp_path / "o.db", max_age_days=1)
    for _ in range(3):
        box.append(fields())
    assert box.expire(now=0) == 0
    import time
    assert box.expire(now=time.time() + 2 * 86400) == 3
    assert box.state().dropped == 3


def test_corrupt_file_is_moved_aside_and_a_new_epoch_starts(tmp_path, caplog):
    path = tmp_path / "o.db"
    box = Outbox(path)
    box.append(fields())
    old_epoch = box.epoch
    box.close()
    for suffix in ("-wal", "-shm"):
        (tmp_path / f"o.db{suffix}").unlink(missing_ok=True)
    path.write_bytes(b"SQLite format 3\x00" + b"\x13" * 4096)
    fresh = Outbox(path)
    assert fresh.epoch != old_epoch
    assert fresh.append(fields())["seq"] == 1
    assert list(tmp_path.glob("o.db.corrupt-*")), "the corrupt file is kept for inspection"
    assert "corrupt" in caplog.text


def test_commit_failure_raises_outbox_error(tmp_path):
    box = Outbox(tmp_path / "o.db")
    box._conn.execute("PRAGMA query_only = ON")  # any write now fails like a read-only disk
    with pytest.raises(OutboxError):
        box.append(fields())
    box._conn.execute("PRAGMA query_only = OFF")
    assert box.append(fields())["seq"] == 1, "a failed press does not burn a seq"


def test_sqlite_error_type_is_wrapped(tmp_path):
    assert issubclass(OutboxError, OSError)
    assert not issubclass(OutboxError, sqlite3.Error)

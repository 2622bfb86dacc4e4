"""Loss made visible: per kiosk and epoch, the seq ranges the collector never received."""

from __future__ import annotations

from typing import Any

from sqlite_utils import Database


def seq_gaps(db: Database, kiosk: str) -> list[dict[str, Any]]:
    """Missing seq ranges per epoch, up to the highest seq seen.

    A range at or below the kiosk's `dropped_through` was dropped by the
    kiosk's full outbox (`dropped_by_kiosk`); any range above the ack
    watermark is still `missing` (in flight, or lost: the kiosk resends what it
    still holds). Holes at or below the watermark that the kiosk did not
    declare dropped are raw events removed by retention, not losses.
    """
    gaps = []
    for stream in db.query(
        "SELECT epoch, through, max_seq, dropped_through, last_seen FROM streams WHERE kiosk = ?"
        " ORDER BY first_seen", [kiosk],
    ):
        present = db.conn.execute(
            "SELECT seq FROM events WHERE kiosk = ? AND epoch = ?"
            " UNION SELECT seq FROM rejected WHERE kiosk = ? AND epoch = ? AND seq IS NOT NULL ORDER BY 1",
            (kiosk, stream["epoch"], kiosk, stream["epoch"]))
        expected = 1
        for (seq,) in present:
            if seq > expected:
                gaps.extend(_split(stream, expected, seq - 1))
            expected = max(expected, seq + 1)
        if stream["max_seq"] >= expected:
            gaps.extend(_split(stream, expected, stream["max_seq"]))
    return gaps


def _split(stream: dict[str, Any], first: int, last: int) -> list[dict[str, Any]]:
    """One gap, cut in two where it crosses the kiosk's dropped_through."""
    dropped, through = stream["dropped_through"], stream["through"]
    parts = []
    if first <= dropped:
        parts.append((first, min(last, dropped), "dropped_by_kiosk"))
    if last > through:
        parts.append((max(first, through + 1), last, "missing"))
    return [{"epoch": stream["epoch"], "from": a, "to": b, "count": b - a + 1, "reason": reason}
            for a, b, reason in parts]

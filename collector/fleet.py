"""Kiosk health as the kiosks report it: status heartbeats and Last Wills, kept per kiosk."""

from __future__ import annotations

import json
import logging
from datetime import datetime
from typing import Any, cast

from sqlite_utils import Database

from collector.audit import seq_gaps
from collector.registry import get_producer
from collector.uptime import STALE_AFTER, note_online
from ressenti.protocol import format_ts, parse_json, utc_now

log = logging.getLogger(__name__)

FAULTS_SHOWN = 5  # a status says at most this many faults on the fleet page
FAULT_CHARS = 300

# A kiosk heartbeats every 60 s; silent for longer than STALE_AFTER (3 min, kept in
# collector/uptime.py with the online history) counts as offline even if its Last
# Will has not (yet) been published by the broker.


# Status numbers past this are kept as unknown: SQLite cannot store integers past 2^63.
_STATUS_NUMBER_BOUND = 2**53


def _num(body: dict[str, Any], key: str, kind: type) -> Any:
    value = body.get(key)
    if not isinstance(value, kind) or isinstance(value, bool):
        return None
    number = cast(float, value)
    return number if -_STATUS_NUMBER_BOUND <= number <= _STATUS_NUMBER_BOUND else None


def record_status(db: Database, kiosk: str, site: str, payload: bytes, received_at: datetime) -> bool:
    """Keep a kiosk's latest status; False (logged) if it is not usable or the kiosk is unknown."""
    try:
        body = parse_json(payload)
        if not isinstance(body, dict) or body.get("v") != 1 or body.get("state") not in ("online", "offline"):
            raise ValueError("not a v1 status with state online or offline")
    except ValueError as exc:
        log.warning("ignoring status of %s: %s", kiosk, exc)
        return False
    producer = get_producer(db, kiosk)
    if producer is None:
        log.info("status from unregistered kiosk %s ignored", kiosk)
        return False
    queue = body.get("queue") if isinstance(body.get("queue"), dict) else {}
    row = {
        "kiosk": kiosk, "site": site, "state": body["state"], "received_at": format_ts(received_at),
        "body": json.dumps(body)[:4096],
    }
    if body["state"] == "online":
        row |= {
            "ts": body.get("ts") if isinstance(body.get("ts"), str) else None,
            "version": str(body.get("version"))[:32] if body.get("version") is not None else None,
            "config_rev": _num(body, "config_rev", int), "clock": body.get("clock") if isinstance(
                body.get("clock"), str) else None,
            "uptime_s": _num(body, "uptime_s", int), "pending": _num(queue, "pending", int),
            "oldest_pending": queue.get("oldest_ts") if isinstance(queue.get("oldest_ts"), str) else None,
            "dropped": _num(queue, "dropped", int), "temp_c": _num(body, "temp_c", (int, float)),
            "disk_free_mb": _num(body, "disk_free_mb", int),
        }
    db["kiosk_status"].upsert(row, pk="kiosk", alter=False)
    if body["state"] == "online":
        note_online(db, kiosk, site, received_at)  # the history behind the reports' availability
    return True


def faults_of(body: str | None) -> list[dict[str, str]]:
    """The faults a kiosk's last status lists (`kiosk.link`: kind and message), as far as they make sense."""
    try:
        faults = parse_json(body).get("faults") if body else None
    except (ValueError, AttributeError):
        return []  # a status kept before faults were reported, or cut at 4 KiB
    if not isinstance(faults, list):
        return []
    return [{"kind": str(f.get("kind", "?"))[:32], "message": str(f.get("message", ""))[:FAULT_CHARS]}
            for f in faults[:FAULTS_SHOWN] if isinstance(f, dict)]


def fleet(db: Database, site: str | None = None, *, with_gaps: bool = True) -> list[dict[str, Any]]:
    """Every registered kiosk with its last status, whether it is online now, and its seq gaps."""
    now = utc_now()
    where, params = ("WHERE k.site = ?", [site]) if site else ("", [])
    rows = db.query(
        "SELECT k.id AS kiosk, k.site, k.name, k.channel, k.retired, s.state, s.received_at, s.version,"
        " s.config_rev, s.clock, s.uptime_s, s.pending, s.oldest_pending, s.dropped, s.temp_c, s.disk_free_mb,"
        " s.body"
        f" FROM kiosks k LEFT JOIN kiosk_status s ON s.kiosk = k.id {where} ORDER BY k.site, k.id", params)
    out = []
    for row in rows:
        if row["channel"]:
            continue  # HTTP sources have no status
        seen = datetime.fromisoformat(row["received_at"]) if row["received_at"] else None
        row["online"] = bool(row["state"] == "online" and seen and now - seen <= STALE_AFTER)
        row["last_seen"] = row.pop("received_at")
        row["faults"] = faults_of(row.pop("body")) if row["state"] == "online" else []
        if with_gaps:
            row["gaps"] = seq_gaps(db, row["kiosk"])
        out.append(row)
    return out

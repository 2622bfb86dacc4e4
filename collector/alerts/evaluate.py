"""One evaluation pass: check every kind, then open, update or resolve alerts in one short transaction.

Idempotent: a second pass over the same data and clock writes nothing. The
checks read first, outside any transaction; the decisions (open alerts, watch
list) are then made in one transaction that takes the write lock only if
something changes, so an idle pass never holds up an ingest batch.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import lru_cache

from sqlite_utils import Database

from collector.alerts.checks import CHECKS, HELD, Context
from collector.alerts.rules import Kind
from collector.alerts.store import (
    Finding,
    effective_rules,
    open_alerts,
    raise_alert,
    resolve_alert,
    set_clear_since,
    update_alert,
)
from collector.db import write_transaction
from collector.engine import OperationalError
from collector.registry import OpeningHours, Site, parse_opening_hours
from ressenti.protocol import format_ts, utc_now

log = logging.getLogger(__name__)
Key = tuple[str, str, str]


@dataclass
class PassResult:
    raised: int = 0
    updated: int = 0
    resolved: int = 0
    findings: int = 0
    errors: list[str] = field(default_factory=list)

    @property
    def changes(self) -> int:
        return self.raised + self.updated + self.resolved


@lru_cache(maxsize=1024)
def _hours(spec: str | None) -> OpeningHours | None:
    """Opening hours parsed once per distinct text: most sites of a town share theirs."""
    return parse_opening_hours(json.loads(spec)) if spec else None


def _sites(db: Database) -> dict[str, Site]:
    rows = db.conn.execute("SELECT id, org, name, tz, scale, opening_hours FROM sites")
    return {r[0]: Site(r[0], r[1], r[2], r[3], r[4], _hours(r[5])) for r in rows}


Counters = dict[tuple[str, str], tuple[int, str | None]]


def _findings(db: Database, now: datetime) -> tuple[dict[Key, Finding], set[Key], Counters, dict[Kind, dict]]:
    sites = _sites(db)
    rules = effective_rules(db, list(sites.values()))
    ctx = Context(db, now, sites, open_alerts(db))
    found: dict[Key, Finding] = {}
    for kind, check in CHECKS.items():
        if not rules[kind]:
            continue
        for finding in check(ctx, rules[kind]):
            found[finding.key] = finding
    return found, ctx.unknown, ctx.counters, rules


def _held_enough(db: Database, finding: Finding, params: dict[str, int], now: datetime, at: str) -> bool:
    """For kinds raised only after their condition held `after_min`: note when it was first seen."""
    row = db.conn.execute("SELECT since FROM alert_watch WHERE kind = ? AND site = ? AND kiosk = ?",
                          finding.key).fetchone()
    if row is None:
        db.conn.execute("INSERT INTO alert_watch (kind, site, kiosk, since) VALUES (?, ?, ?, ?)", (*finding.key, at))
        return params["after_min"] == 0
    return now - datetime.fromisoformat(row[0]) >= timedelta(minutes=params["after_min"])


def _apply(db: Database, found: dict[Key, Finding], unknown: set[Key], counters: Counters,
           rules: dict[Kind, dict], now: datetime) -> PassResult:
    at = format_ts(now)
    result = PassResult(findings=len(found))
    current = open_alerts(db)
    for key, finding in found.items():
        alert = current.get(key)
        if alert is not None:
            if alert["figures"] != json.dumps(finding.figures, sort_keys=True):
                update_alert(db, alert["id"], finding, at)
                result.updated += 1
            elif alert["clear_since"] is not None:
                set_clear_since(db, alert["id"], None)  # the condition is back before the alert resolved
            continue
        if finding.kind in HELD:
            params = rules[finding.kind][finding.site].params
            if not _held_enough(db, finding, params, now, at):
                continue
            db.conn.execute("DELETE FROM alert_watch WHERE kind = ? AND site = ? AND kiosk = ?", key)
        raise_alert(db, finding, at)
        result.raised += 1
    for key, alert in current.items():
        if key in found or key in unknown:
            continue
        kind = Kind(alert["kind"])
        rule = rules[kind].get(alert["site"])
        hold = timedelta(minutes=rule.params.get("back_for_min", 0)) if rule else timedelta(0)
        if hold:
            if alert["clear_since"] is None:
                set_clear_since(db, alert["id"], at)
                continue
            if now - datetime.fromisoformat(alert["clear_since"]) < hold:
                continue
        if rule is None:
            fr, en = "Règle désactivée pour ce site : alerte close.", "Rule turned off for this site: alert closed."
        else:
            fr, en = "Retour à la normale.", "Back to normal."
        resolve_alert(db, alert, at, f"{fr} {alert['summary_fr']}", f"{en} {alert['summary_en']}")
        result.resolved += 1
    # Watched conditions that cleared before being raised are forgotten.
    for key in db.conn.execute("SELECT kind, site, kiosk FROM alert_watch").fetchall():
        if tuple(key) not in found and tuple(key) not in unknown:
            db.conn.execute("DELETE FROM alert_watch WHERE kind = ? AND site = ? AND kiosk = ?", tuple(key))
    # Only counters that moved: an idle pass writes nothing.
    db.conn.executemany("INSERT INTO alert_counters (kind, kiosk, value, grew_at) VALUES (?, ?, ?, ?)"
                        " ON CONFLICT (kind, kiosk) DO UPDATE SET value = excluded.value, grew_at = excluded.grew_at",
                        [(*key, value, grew_at) for key, (value, grew_at) in counters.items()])
    return result


def evaluate(db: Database, now: datetime | None = None) -> PassResult:
    """One pass at `now` (default: the current time)."""
    now = now or utc_now()
    found, unknown, counters, rules = _findings(db, now)
    conn = db.conn
    before = conn.total_changes
    # Deferred: a pass that changes nothing (most of them) never takes the write lock, so ingest never
    # waits for it. One that writes takes the lock at its first write; if another writer committed
    # since this read began, SQLite refuses the upgrade and the pass is decided again under the lock.
    conn.execute("BEGIN")
    try:
        result = _apply(db, found, unknown, counters, rules, now)
        conn.execute("COMMIT")
    except OperationalError as exc:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        if "locked" not in str(exc) and "busy" not in str(exc):
            raise
        with write_transaction(db):
            result = _apply(db, found, unknown, counters, rules, now)
    except BaseException:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        raise
    if result.changes:
        log.info("alerts: %d raised, %d updated, %d resolved (%d conditions seen, %d row writes)",
                 result.raised, result.updated, result.resolved, result.findings, conn.total_changes - before)
    return result

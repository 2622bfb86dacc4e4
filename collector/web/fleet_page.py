"""The fleet page: each kiosk's state, last heartbeat, queue, clock, version, config rev and seq gaps."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, render_template

from collector.alerts.rules import FLEET_KINDS
from collector.alerts.store import alerts_of_sites
from collector.config_push import pushed
from collector.fleet import STALE_AFTER
from collector.fleet import fleet as fleet_state
from collector.users import Role
from collector.web import get_db
from collector.web.access import current_user, require_role
from collector.web.scope import visible_sites

bp = Blueprint("fleet_page", __name__)
# A Raspberry Pi throttles from 80 °C; warn a little before. Below 500 MB the outbox and logs get tight.
TEMP_WARN_C = 70
DISK_WARN_MB = 500
FAULT_NAMES = {"storage": ("Stockage : un appui n'a pas pu être enregistré", "Storage: a press could not be saved"),
               "config": ("Réglages reçus refusés (la borne garde les précédents)",
                          "Settings received were refused (the kiosk keeps the previous ones)")}
bp.before_request(require_role(Role.MANAGER))


def fleet_rows(db: Any, site_ids: set[str]) -> list[dict[str, Any]]:
    revs = pushed(db)
    rows = []
    for row in fleet_state(db):
        if row["site"] not in site_ids:
            continue
        gaps = row.pop("gaps", [])
        row["missing"] = sum(g["count"] for g in gaps if g["reason"] == "missing")
        row["dropped_gap"] = sum(g["count"] for g in gaps if g["reason"] == "dropped_by_kiosk")
        push = revs.get(row["kiosk"])
        row["pushed_rev"] = push["rev"] if push else None
        row["config_applied"] = push is None or (row["config_rev"] or 0) >= push["rev"]
        rows.append(row)
    return rows


@bp.get("/fleet")
def fleet():  # type: ignore[no-untyped-def]
    db = get_db()
    user = current_user()
    assert user is not None
    sites = {s.id: s for s in visible_sites(db, user)}
    rows = fleet_rows(db, set(sites))
    online = sum(1 for r in rows if r["online"] and not r["retired"])
    active = sum(1 for r in rows if not r["retired"])
    fleet_alerts = [a for a in alerts_of_sites(db, set(sites), state="open") if a["kind"] in FLEET_KINDS]
    return render_template("fleet/fleet.html", rows=rows, sites=sites, online=online, active=active,
                           stale_minutes=int(STALE_AFTER.total_seconds() // 60), temp_warn=TEMP_WARN_C,
                           disk_warn=DISK_WARN_MB, fault_names=FAULT_NAMES,
                           fleet_alerts=fleet_alerts)

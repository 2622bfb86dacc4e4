"""The alert tables: rules (CRUD), alerts and their changes, acknowledgements and comments.

Every state change of an alert (raised, updated, resolved) appends one row to
`alert_changes` in the same transaction as the change: delivery follows that
table by id (docs/alerts.md), so an alert is never lost nor doubled.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date, timedelta
from enum import StrEnum
from typing import Any

from sqlite_utils import Database

from collector.alerts.rules import ALL, AlertRuleError, Kind, check_params, check_scope, defaults, parse_kind
from collector.db import write_transaction
from collector.engine import IntegrityError
from collector.registry import Site
from ressenti.protocol import format_ts, utc_now

MAX_COMMENT_CHARS = 2000
MAX_ID = 2 ** 63 - 1  # SQLite's largest integer: a bigger id from a URL is simply unknown


def _known_id(value: int) -> bool:
    return 0 < value <= MAX_ID


class Change(StrEnum):
    RAISED = "raised"
    UPDATED = "updated"
    RESOLVED = "resolved"


# -- rules -------------------------------------------------------------------------


def rule_json(row: dict[str, Any]) -> dict[str, Any]:
    return {"id": row["id"], "kind": row["kind"], "scope": row["scope"], "params": json.loads(row["params"]),
            "enabled": bool(row["enabled"]), "created_by": row["created_by"], "created_at": row["created_at"]}


def list_rules(db: Database) -> list[dict[str, Any]]:
    return [rule_json(r) for r in db.query("SELECT * FROM alert_rules ORDER BY kind, scope")]


def get_rule(db: Database, rule_id: int) -> dict[str, Any] | None:
    if not _known_id(rule_id):
        return None
    row = next(db.query("SELECT * FROM alert_rules WHERE id = ?", [rule_id]), None)
    return rule_json(row) if row else None


def _enabled(value: Any) -> int:
    if not isinstance(value, bool):
        raise AlertRuleError("enabled", "« activée » doit valoir vrai ou faux", "enabled must be true or false")
    return int(value)


def create_rule(db: Database, kind: Any, scope: Any, params: Any = None, *, enabled: Any = True,
                created_by: str | None = None) -> dict[str, Any]:
    """A rule of `kind` for `scope`, its parameters checked; one rule per kind and scope."""
    checked_kind = parse_kind(kind)
    checked_scope = check_scope(db, scope)
    checked = check_params(checked_kind, params)
    try:
        rule_id = db.conn.execute(
            "INSERT INTO alert_rules (kind, scope, params, enabled, created_by, created_at) VALUES (?, ?, ?, ?, ?, ?)",
            (checked_kind.value, checked_scope, json.dumps(checked), _enabled(enabled), created_by,
             format_ts(utc_now()))).lastrowid
    except IntegrityError:
        raise AlertRuleError("scope", "une règle de ce type existe déjà pour cette portée : modifiez-la",
                             "a rule of this kind already exists for this scope: change it instead") from None
    return get_rule(db, int(rule_id or 0))  # type: ignore[return-value]


def update_rule(db: Database, rule_id: int, changes: dict[str, Any]) -> dict[str, Any] | None:
    """Change a rule's params (merged into the current ones) or enabled; None if there is no such rule."""
    rule = get_rule(db, rule_id)
    if rule is None:
        return None
    unknown = set(changes) - {"params", "enabled"}
    if unknown:
        field = sorted(unknown)[0]
        raise AlertRuleError(field, f"« {field} » ne peut pas être modifié (supprimez et recréez la règle)",
                             f"{field} cannot be changed (delete the rule and create another)")
    params = rule["params"]
    if "params" in changes:
        if not isinstance(changes["params"], dict):
            raise AlertRuleError("params", "les paramètres doivent être un objet", "params must be an object")
        params = check_params(Kind(rule["kind"]), {**params, **changes["params"]})
    enabled = _enabled(changes["enabled"]) if "enabled" in changes else int(rule["enabled"])
    db.conn.execute("UPDATE alert_rules SET params = ?, enabled = ? WHERE id = ?",
                    (json.dumps(params), enabled, rule_id))
    return get_rule(db, rule_id)


def delete_rule(db: Database, rule_id: int) -> bool:
    """Delete a rule: its scope falls back to the next broader rule, or the defaults."""
    if not _known_id(rule_id):
        return False
    return db.conn.execute("DELETE FROM alert_rules WHERE id = ?", (rule_id,)).rowcount > 0


@dataclass(frozen=True)
class Effective:
    """What applies to one site for one kind: the rule that decided (None: the defaults) and its params."""

    rule_id: int | None
    params: dict[str, int]


def effective_rules(db: Database, sites: list[Site]) -> dict[Kind, dict[str, Effective]]:
    """Kind -> site id -> what applies; a site where the kind is turned off is left out."""
    by_scope: dict[tuple[str, str], dict[str, Any]] = {
        (r["kind"], r["scope"]): r for r in db.query("SELECT * FROM alert_rules")}
    out: dict[Kind, dict[str, Effective]] = {}
    for kind in Kind:
        out[kind] = {}
        default = Effective(None, defaults(kind))
        for site in sites:
            row = (by_scope.get((kind.value, f"site:{site.id}")) or by_scope.get((kind.value, f"org:{site.org}"))
                   or by_scope.get((kind.value, ALL)))
            if row is None:
                out[kind][site.id] = default
            elif row["enabled"]:
                out[kind][site.id] = Effective(row["id"], {**defaults(kind), **json.loads(row["params"])})
    return out


# -- alerts ------------------------------------------------------------------------


@dataclass(frozen=True)
class Finding:
    """A condition the evaluator saw: what an open alert says while it lasts."""

    kind: Kind
    site: str
    org: str
    kiosk: str | None
    rule_id: int | None
    figures: dict[str, Any]
    summary_fr: str
    summary_en: str
    link: str

    @property
    def key(self) -> tuple[str, str, str]:
        return (self.kind.value, self.site, self.kiosk or "")


def open_alerts(db: Database) -> dict[tuple[str, str, str], dict[str, Any]]:
    """Open alerts by (kind, site, kiosk or '')."""
    return {(r["kind"], r["site"], r["kiosk"] or ""): r for r in db.query("SELECT * FROM alerts WHERE state = 'open'")}


def _change(db: Database, alert_id: int, change: Change, at: str, finding: Finding | dict[str, Any]) -> None:
    f = finding if isinstance(finding, dict) else {
        "site": finding.site, "org": finding.org, "kind": finding.kind.value, "summary_fr": finding.summary_fr,
        "summary_en": finding.summary_en, "figures": json.dumps(finding.figures, sort_keys=True),
        "link": finding.link}
    db.conn.execute(
        "INSERT INTO alert_changes (alert_id, change, at, site, org, kind, summary_fr, summary_en, figures, link)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (alert_id, change.value, at, f["site"], f["org"], f["kind"], f["summary_fr"], f["summary_en"],
         f["figures"], f["link"]))


def raise_alert(db: Database, finding: Finding, at: str) -> int:
    """Open an alert and append its `raised` change (inside the caller's transaction)."""
    alert_id = int(db.conn.execute(
        "INSERT INTO alerts (rule_id, kind, site, org, kiosk, opened_at, updated_at, state, figures, summary_fr,"
        " summary_en, link) VALUES (?, ?, ?, ?, ?, ?, ?, 'open', ?, ?, ?, ?)",
        (finding.rule_id, finding.kind.value, finding.site, finding.org, finding.kiosk, at, at,
         json.dumps(finding.figures, sort_keys=True), finding.summary_fr, finding.summary_en,
         finding.link)).lastrowid or 0)
    _change(db, alert_id, Change.RAISED, at, finding)
    return alert_id


def update_alert(db: Database, alert_id: int, finding: Finding, at: str) -> None:
    db.conn.execute(
        "UPDATE alerts SET updated_at = ?, figures = ?, summary_fr = ?, summary_en = ?, link = ?, clear_since = NULL"
        " WHERE id = ?", (at, json.dumps(finding.figures, sort_keys=True), finding.summary_fr, finding.summary_en,
                          finding.link, alert_id))
    _change(db, alert_id, Change.UPDATED, at, finding)


def resolve_alert(db: Database, alert: dict[str, Any], at: str, summary_fr: str, summary_en: str) -> None:
    db.conn.execute("UPDATE alerts SET state = 'resolved', resolved_at = ?, updated_at = ?, clear_since = NULL"
                    " WHERE id = ? AND state = 'open'", (at, at, alert["id"]))
    _change(db, alert["id"], Change.RESOLVED, at, {**alert, "summary_fr": summary_fr, "summary_en": summary_en})


def set_clear_since(db: Database, alert_id: int, at: str | None) -> None:
    db.conn.execute("UPDATE alerts SET clear_since = ? WHERE id = ?", (at, alert_id))


# -- the alerts page ---------------------------------------------------------------


def alerts_of_sites(db: Database, site_ids: set[str], *, state: str, limit: int = 200) -> list[dict[str, Any]]:
    """Alerts of these sites (open, or resolved: newest first), figures decoded."""
    if not site_ids:
        return []
    ids = sorted(site_ids)
    order = "opened_at DESC" if state == "open" else "resolved_at DESC"
    rows = db.query(f"SELECT * FROM alerts WHERE state = ? AND site IN ({','.join('?' * len(ids))})"
                    f" ORDER BY {order} LIMIT ?", [state, *ids, limit])
    return [{**r, "figures": json.loads(r["figures"])} for r in rows]


def alerts_in_period(db: Database, site_ids: list[str], first: date, last: date) -> list[dict[str, Any]]:
    """Alerts of these sites open at some time between two local days, oldest first, each with its
    comments (`at`, `text`: no author, so no page ranks the agents who wrote them)."""
    if not site_ids:
        return []
    after = (last + timedelta(days=1)).isoformat()
    rows = list(db.query(
        f"SELECT id, kind, site, opened_at, resolved_at, summary_fr, summary_en FROM alerts"
        f" WHERE site IN ({','.join('?' * len(site_ids))}) AND opened_at < ?"
        " AND (resolved_at IS NULL OR resolved_at >= ?) ORDER BY opened_at, id",
        [*site_ids, after, first.isoformat()]))
    notes = comments(db, [r["id"] for r in rows])
    return [{**r, "comments": [{"at": c["at"], "text": c["text"]} for c in notes[r["id"]]]} for r in rows]


def get_alert(db: Database, alert_id: int) -> dict[str, Any] | None:
    if not _known_id(alert_id):
        return None
    row = next(db.query("SELECT * FROM alerts WHERE id = ?", [alert_id]), None)
    return {**row, "figures": json.loads(row["figures"])} if row else None


def acknowledge(db: Database, alert_id: int, login: str) -> bool:
    """Note who saw the alert first; False if it was already acknowledged."""
    return db.conn.execute("UPDATE alerts SET acked_by = ?, acked_at = ? WHERE id = ? AND acked_by IS NULL",
                           (login, format_ts(utc_now()), alert_id)).rowcount > 0


def add_comment(db: Database, alert_id: int, user_id: int, text: str) -> None:
    text = text.strip()
    if not text:
        raise AlertRuleError("text", "le commentaire est vide", "the comment is empty")
    if len(text) > MAX_COMMENT_CHARS:
        raise AlertRuleError("text", f"le commentaire dépasse {MAX_COMMENT_CHARS} caractères",
                             f"the comment is longer than {MAX_COMMENT_CHARS} characters")
    with write_transaction(db):
        db.conn.execute("INSERT INTO alert_comments (alert_id, user_id, at, text) VALUES (?, ?, ?, ?)",
                        (alert_id, user_id, format_ts(utc_now()), text))


def comments(db: Database, alert_ids: list[int]) -> dict[int, list[dict[str, Any]]]:
    out: dict[int, list[dict[str, Any]]] = {i: [] for i in alert_ids}
    if not alert_ids:
        return out
    for row in db.query(
            "SELECT c.alert_id, c.at, c.text, u.login FROM alert_comments c LEFT JOIN users u ON u.id = c.user_id"
            f" WHERE c.alert_id IN ({','.join('?' * len(alert_ids))}) ORDER BY c.at, c.id", alert_ids):
        out[row["alert_id"]].append(row)
    return out

"""Alert checks on the fleet: a kiosk offline, seqs missing from its stream, its clock unsynchronised."""

from __future__ import annotations

import json
from collections import defaultdict
from datetime import datetime, timedelta

from collector.alerts.context import Context, local_time, status_rows
from collector.alerts.rules import Kind
from collector.alerts.store import Effective, Finding
from ressenti.protocol import format_ts


def kiosk_offline(ctx: Context, rules: dict[str, Effective]) -> list[Finding]:
    """Raised after `after_min` offline while the site is open; once open, it lasts while the kiosk is
    offline at all, and the evaluator resolves it only after `back_for_min` back online (flapping)."""
    out = []
    for row in ctx.not_fresh(set(rules)):
        rule, site = rules[row["site"]], ctx.sites[row["site"]]
        seen = datetime.fromisoformat(row["received_at"])
        key = (Kind.KIOSK_OFFLINE.value, site.id, row["kiosk"])
        current = ctx.open.get(key)
        if current is None and (ctx.now - seen < timedelta(minutes=rule.params["after_min"])
                                or not site.is_open(ctx.now)):
            continue
        figures = json.loads(current["figures"]) if current else {"offline_since": format_ts(seen)}
        since = datetime.fromisoformat(figures["offline_since"])
        day, at = since.astimezone(site.zone).strftime("%d/%m"), local_time(site, since)
        name = row["name"] or row["kiosk"]
        out.append(ctx.finding(
            Kind.KIOSK_OFFLINE, site, rule, figures,
            f"{site.name} : la borne « {name} » ne donne plus de nouvelles depuis le {day} à {at}.",
            f"{site.name}: kiosk “{name}” has not been heard from since {day} at {at}.",
            "/fleet", kiosk=row["kiosk"]))
    return out


def seq_gaps(ctx: Context, rules: dict[str, Effective]) -> list[Finding]:
    """Seqs above a kiosk's ack watermark never received nor declared dropped (held `after_min` by the evaluator)."""
    out = []
    streams = ctx.db.conn.execute(
        "SELECT s.kiosk, s.epoch, MAX(s.through, s.dropped_through), s.max_seq, k.site, k.name FROM streams s"
        " JOIN kiosks k ON k.id = s.kiosk WHERE s.max_seq > MAX(s.through, s.dropped_through)"
        " AND k.retired IS NULL").fetchall()
    missing: dict[tuple[str, str, str], int] = defaultdict(int)
    for kiosk, epoch, low, max_seq, site_id, name in streams:
        if site_id not in rules:
            continue
        present = ctx.db.conn.execute(
            "SELECT COUNT(*) FROM (SELECT seq FROM events WHERE kiosk = ? AND epoch = ? AND seq > ? AND seq <= ?"
            " UNION SELECT seq FROM rejected WHERE kiosk = ? AND epoch = ? AND seq > ? AND seq <= ?)",
            (kiosk, epoch, low, max_seq, kiosk, epoch, low, max_seq)).fetchone()[0]
        if max_seq - low - present > 0:
            missing[(site_id, kiosk, name or kiosk)] += max_seq - low - present
    for (site_id, kiosk, name), count in missing.items():
        rule, site = rules[site_id], ctx.sites[site_id]
        out.append(ctx.finding(
            Kind.SEQ_GAPS, site, rule, {"missing": count},
            f"{site.name} : {count} réponses de la borne « {name} » manquent (numéros jamais reçus).",
            f"{site.name}: {count} answers of kiosk “{name}” are missing (numbers never received).",
            "/fleet", kiosk=kiosk))
    return out


def clock_unsynced(ctx: Context, rules: dict[str, Effective]) -> list[Finding]:
    """The kiosk's status says its clock is not synchronised (held `after_min` by the evaluator)."""
    out = []
    for row in ctx.not_fresh(set(rules)):  # no news: an open alert stays as it is
        ctx.unknown.add((Kind.CLOCK_UNSYNCED.value, row["site"], row["kiosk"]))
    for row in status_rows(ctx, set(rules), fresh=True, unsynced=True):
        rule, site = rules[row["site"]], ctx.sites[row["site"]]
        name = row["name"] or row["kiosk"]
        out.append(ctx.finding(
            Kind.CLOCK_UNSYNCED, site, rule, {"clock": row["clock"]},
            f"{site.name} : l'horloge de la borne « {name} » n'est pas synchronisée ; l'heure de ses réponses"
            " est estimée.",
            f"{site.name}: the clock of kiosk “{name}” is not synchronised; its answers' times are estimated.",
            "/fleet", kiosk=row["kiosk"]))
    return out

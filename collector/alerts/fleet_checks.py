"""Alert checks on the fleet: a kiosk offline, seqs missing from its stream, its clock unsynchronised, outbox drops."""

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


def outbox_drops(ctx: Context, rules: dict[str, Effective]) -> list[Finding]:
    """The kiosk's outbox counter `queue.dropped` (cumulative per epoch) grew since the last pass.

    The first value seen of a kiosk is its baseline (drops from before cannot be dated). A smaller value
    is a new epoch counting from 0. The condition lasts `quiet_min` after the last growth seen, so the
    alert resolves after a quiet hold; its figures add up the drops since it opened.
    """
    out = []
    seen = {kiosk: (value, grew_at) for kiosk, value, grew_at in ctx.db.conn.execute(
        "SELECT kiosk, value, grew_at FROM alert_counters WHERE kind = ?", (Kind.OUTBOX_DROPS.value,))}
    rows = ctx.db.conn.execute(
        "SELECT k.id, k.site, k.name, s.dropped FROM kiosks k JOIN kiosk_status s ON s.kiosk = k.id"
        " WHERE k.channel IS NULL AND k.retired IS NULL AND s.dropped IS NOT NULL AND s.dropped >= 0").fetchall()
    at = format_ts(ctx.now)
    for kiosk, site_id, name, dropped in rows:
        if site_id not in rules:
            continue
        counter = (Kind.OUTBOX_DROPS.value, kiosk)
        if kiosk not in seen:
            ctx.counters[counter] = (dropped, None)
            continue
        value, grew_at = seen[kiosk]
        new = dropped - value if dropped >= value else dropped
        if new > 0:
            grew_at = at
        if dropped != value:
            ctx.counters[counter] = (dropped, grew_at)
        rule, site = rules[site_id], ctx.sites[site_id]
        if grew_at is None or ctx.now - datetime.fromisoformat(grew_at) >= timedelta(minutes=rule.params["quiet_min"]):
            continue
        current = ctx.open.get((Kind.OUTBOX_DROPS.value, site_id, kiosk))
        if current is None and new == 0:
            continue  # its growth was already reported by an alert since resolved
        before = json.loads(current["figures"]) if current else {"new_drops": 0, "since": at}
        figures = {"new_drops": before["new_drops"] + new, "dropped": dropped, "since": before["since"],
                   "last_drop_at": grew_at}
        since = datetime.fromisoformat(figures["since"])
        day, hour = since.astimezone(site.zone).strftime("%d/%m"), local_time(site, since)
        name, count = name or kiosk, figures["new_drops"]
        out.append(ctx.finding(
            Kind.OUTBOX_DROPS, site, rule, figures,
            f"{site.name} : la borne « {name} » a effacé {count} réponse(s) faute de place dans sa mémoire"
            f" depuis le {day} à {hour} (elle ne peut plus les envoyer).",
            f"{site.name}: kiosk “{name}” has dropped {count} answer(s) from its full outbox since {day} at {hour}"
            " (it cannot send them any more).",
            "/fleet", kiosk=kiosk))
    return out

"""Alert checks on the answers: unhappy share, silence, unusual volume (and late answers).

Satisfaction drops (day and week) are in drop_checks.py.
"""

from __future__ import annotations

import json
from collections import defaultdict
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from collector.alerts.context import Context, by_param, dashboard_link, local_time, pct, window_counts
from collector.alerts.rules import Kind
from collector.alerts.store import Effective, Finding
from collector.registry import WEEKDAYS, Site
from collector.store import hour_bucket
from ressenti.protocol import format_ts


def unhappy_share(ctx: Context, rules: dict[str, Effective]) -> list[Finding]:
    """Share of the bottom faces (below the middle of the scale: 1 of 3, 1-2 of 4, 1-2 of 5) in the window."""
    out = []
    for window, site_ids in by_param(rules, "window_min").items():
        counts = window_counts(ctx.db, site_ids, ctx.now - timedelta(minutes=window), ctx.now, filtered=True)
        for site_id, cells in counts.items():
            rule, site = rules[site_id], ctx.sites[site_id]
            total = sum(n for _, _, n in cells)
            bottom = sum(n for scale, rating, n in cells if 2 * rating < scale + 1)
            if total < rule.params["min_count"] or 100 * bottom < rule.params["share_pct"] * total:
                continue
            figures = {"window_min": window, "answers": total, "bottom": bottom, "share_pct": pct(bottom / total),
                       "threshold_pct": rule.params["share_pct"], "min_count": rule.params["min_count"]}
            out.append(ctx.finding(
                Kind.UNHAPPY_SHARE, site, rule, figures,
                f"{site.name} : {bottom} réponses sur {total} ({figures['share_pct']} %) sont des visages du bas"
                f" ces {window} dernières minutes (seuil : {figures['threshold_pct']} %,"
                f" au moins {figures['min_count']} réponses).",
                f"{site.name}: {bottom} of {total} answers ({figures['share_pct']}%) are bottom faces"
                f" over the last {window} minutes (threshold: {figures['threshold_pct']}%,"
                f" at least {figures['min_count']} answers).",
                dashboard_link(site, ctx.now)))
    return out


def _open_since(site: Site, now: datetime) -> datetime | None:
    """Start of the opening range the site is in now; None if closed. Always open: local midnight."""
    local = now.astimezone(site.zone)
    if site.opening_hours is None:
        return local.replace(hour=0, minute=0, second=0, microsecond=0)
    for start, end in site.opening_hours.get(WEEKDAYS[local.weekday()], []):
        if start <= local.time() < end:
            return local.replace(hour=start.hour, minute=start.minute, second=0, microsecond=0)
    return None


def _usual_per_hour(ctx: Context, site_ids: list[str], tz: str, weeks: int) -> dict[str, float]:
    """Site -> mean answers in this local hour on this weekday over the previous `weeks` weeks (rollup_heat)."""
    local = ctx.now.astimezone(ZoneInfo(tz))
    days = [(local.date() - timedelta(weeks=w)).isoformat() for w in range(1, weeks + 1)]
    rows = ctx.db.conn.execute(
        "SELECT site, SUM(n_raw) FROM rollup_heat WHERE span = 'day' AND start IN (SELECT value FROM json_each(?))"
        " AND weekday = ? AND local_hour = ? AND site IN (SELECT value FROM json_each(?)) GROUP BY site",
        (json.dumps(days), local.weekday(), local.hour, json.dumps(site_ids)))
    return {site: total / weeks for site, total in rows}


def _last_answers(ctx: Context, site_ids: list[str]) -> dict[str, str | None]:
    """Site -> the time of its last answer up to now: one statement, one index lookup per site."""
    return dict(ctx.db.conn.execute(
        "SELECT value, (SELECT MAX(ts) FROM events WHERE site = value AND ts <= ?) FROM json_each(?)",
        (format_ts(ctx.now), json.dumps(site_ids))))


def silence(ctx: Context, rules: dict[str, Effective]) -> list[Finding]:
    """No answer during opening hours for `factor` times the usual interval at that site, weekday and hour."""
    out = []
    opened = {site_id: since for site_id in rules
              if (since := _open_since(ctx.sites[site_id], ctx.now)) is not None}  # never a silence when closed
    open_now = list(opened)
    candidates: dict[tuple[str, int], list[str]] = defaultdict(list)
    silent: dict[str, tuple[datetime, str | None]] = {}
    for site_id, last in _last_answers(ctx, open_now).items():
        rule, site = rules[site_id], ctx.sites[site_id]
        since = max(opened[site_id], datetime.fromisoformat(last)) if last else opened[site_id]
        minutes = (ctx.now - since).total_seconds() / 60
        if minutes < rule.params["min_minutes"]:
            continue
        current = ctx.open.get((Kind.SILENCE.value, site_id, ""))
        if current is not None and json.loads(current["figures"])["silent_since"] == format_ts(since):
            out.append(Finding(Kind.SILENCE, site.id, site.org, None, rule.rule_id, json.loads(current["figures"]),
                               current["summary_fr"], current["summary_en"], current["link"]))
            continue  # still the same silence: nothing new to read or say
        silent[site_id] = (since, last)
        candidates[(site.tz, rule.params["weeks"])].append(site_id)
    for (tz, weeks), site_ids in candidates.items():
        usual_rates = _usual_per_hour(ctx, site_ids, tz, weeks)
        for site_id in site_ids:
            rule, site = rules[site_id], ctx.sites[site_id]
            since, last = silent[site_id]
            usual = usual_rates.get(site_id, 0.0)
            minutes = (ctx.now - since).total_seconds() / 60
            if usual < rule.params["min_per_hour"] or minutes < rule.params["factor"] * 60 / usual:
                continue
            figures = {"silent_since": format_ts(since), "last_answer": last, "usual_per_hour": round(usual, 1)}
            out.append(ctx.finding(
                Kind.SILENCE, site, rule, figures,
                f"{site.name} : aucune réponse depuis {local_time(site, since)} alors que le site est ouvert ;"
                f" d'habitude, {figures['usual_per_hour']:g} réponses par heure à cette heure-ci ce jour de la"
                " semaine.",
                f"{site.name}: no answer since {local_time(site, since)} while the site is open; usually"
                f" {figures['usual_per_hour']:g} answers an hour at this time on this weekday.",
                dashboard_link(site, ctx.now)))
    return out


def _busiest_hour(ctx: Context, site_id: str, weeks: int, before: datetime) -> int:
    """Most presses in one hour at the site over the `weeks` weeks before `before` (rollup_hourly)."""
    row = ctx.db.conn.execute(
        "SELECT MAX(n) FROM (SELECT SUM(n_raw) AS n FROM rollup_hourly WHERE site = ? AND hour >= ? AND hour < ?"
        " GROUP BY hour)", (site_id, hour_bucket(before - timedelta(weeks=weeks)), hour_bucket(before))).fetchone()
    return int(row[0] or 0)


def unusual_volume(ctx: Context, rules: dict[str, Effective]) -> list[Finding]:
    """Far more presses (flagged ones included) in the window than the site's busiest hour of recent weeks;
    and, per kiosk, answers arriving long after the time they are dated (`late_arrivals`)."""
    out = late_arrivals(ctx, rules)
    for window, site_ids in by_param(rules, "window_min").items():
        since = ctx.now - timedelta(minutes=window)
        counts = window_counts(ctx.db, site_ids, since, ctx.now, filtered=False)
        for site_id, cells in counts.items():
            rule, site = rules[site_id], ctx.sites[site_id]
            presses = sum(n for _, _, n in cells)
            if presses < rule.params["min_count"]:
                continue  # most sites stop here: the baseline is read only for the few left
            busiest = _busiest_hour(ctx, site_id, rule.params["weeks"], since)
            if presses < rule.params["factor"] * busiest:
                continue
            figures = {"presses": presses, "window_min": window, "busiest_hour": busiest,
                       "weeks": rule.params["weeks"]}
            out.append(ctx.finding(
                Kind.UNUSUAL_VOLUME, site, rule, figures,
                f"{site.name} : {presses} appuis ces {window} dernières minutes, contre {busiest} au plus en une heure"
                f" ces {rule.params['weeks']} dernières semaines (bouton bloqué ou appuis en série ?).",
                f"{site.name}: {presses} presses over the last {window} minutes, against at most {busiest} in one"
                f" hour over the last {rule.params['weeks']} weeks (a stuck button or repeated presses?).",
                dashboard_link(site, ctx.now)))
    return out


def _first_received_since(ctx: Context, since: datetime) -> int | None:
    """Rowid of the first event received at or after `since`, by bisection over rowids.

    Events are inserted in the order they are received, so their rowids follow
    received_at: about 25 lookups by rowid for 10 million events, where an index
    on received_at would cost every ingest insert.
    """
    conn, stamp = ctx.db.conn, format_ts(since)
    # Two subqueries: SQLite answers a lone MIN or MAX from the end of the b-tree, both at once by a full scan.
    lo, hi = conn.execute("SELECT (SELECT MIN(rowid) FROM events), (SELECT MAX(rowid) FROM events)").fetchone()
    if hi is None or conn.execute("SELECT received_at FROM events WHERE rowid = ?", (hi,)).fetchone()[0] < stamp:
        return None
    while lo < hi:
        mid = (lo + hi) // 2
        row = conn.execute("SELECT rowid, received_at FROM events WHERE rowid >= ? ORDER BY rowid LIMIT 1",
                           (mid,)).fetchone()
        if row[1] >= stamp:
            hi = mid
        else:
            lo = row[0] + 1
    return int(lo)


def _late_counts(ctx: Context, first: int, since: datetime, late_hours: int,
                 site: str | None = None) -> list[tuple[str, str, int, str]]:
    """(site, kiosk, answers, oldest ts) received in [since, now] and dated `late_hours` or more before.

    NOT INDEXED: only the rowid range from `first` is read. Left free, the planner walks the (site, ts)
    index over every event older than `late_hours` (a year of them: seconds, docs/benchmarks.md).
    """
    only = " AND site = ?" if site else ""
    return ctx.db.conn.execute(
        "SELECT site, kiosk, COUNT(*), MIN(ts) FROM events NOT INDEXED WHERE rowid >= ? AND received_at >= ?"
        " AND received_at <= ?"
        f" AND ts < ? AND (julianday(received_at) - julianday(ts)) * 24 >= ?{only} GROUP BY site, kiosk",
        (first, format_ts(since), format_ts(ctx.now), format_ts(ctx.now - timedelta(hours=late_hours)), late_hours,
         *([site] if site else []))).fetchall()


def late_arrivals(ctx: Context, rules: dict[str, Effective]) -> list[Finding]:
    """Answers received in the window but dated more than `late_hours` before: figures already reported change."""
    out: list[Finding] = []
    window = max(rule.params["window_min"] for rule in rules.values())
    late_hours = min(rule.params["late_hours"] for rule in rules.values())
    since = ctx.now - timedelta(minutes=window)
    first = _first_received_since(ctx, since)
    if first is None:
        return out
    for site_id, kiosk, count, oldest_ts in _late_counts(ctx, first, since, late_hours):
        rule = rules.get(site_id)
        if rule is None:
            continue
        if (rule.params["window_min"], rule.params["late_hours"]) != (window, late_hours):
            # This site's rule is narrower than the widest read above: count again with its own.
            again = _late_counts(ctx, first, ctx.now - timedelta(minutes=rule.params["window_min"]),
                                 rule.params["late_hours"], site_id)
            count, oldest_ts = next(((n, ts) for _, k, n, ts in again if k == kiosk), (0, oldest_ts))
        if count < rule.params["late_count"]:
            continue
        site = ctx.sites[site_id]
        oldest = datetime.fromisoformat(oldest_ts)
        day = oldest.astimezone(site.zone).strftime("%d/%m")
        figures = {"late": count, "oldest": oldest_ts, "window_min": rule.params["window_min"],
                   "late_hours": rule.params["late_hours"]}
        out.append(ctx.finding(
            Kind.UNUSUAL_VOLUME, site, rule, figures,
            f"{site.name} : {count} réponses de la borne « {kiosk} » arrivées ces {figures['window_min']}"
            f" dernières minutes sont datées de plus de {figures['late_hours']} h (la plus ancienne : le {day}) ;"
            " les chiffres de ces périodes ont changé.",
            f"{site.name}: {count} answers of kiosk “{kiosk}” received over the last {figures['window_min']}"
            f" minutes are dated more than {figures['late_hours']} h back (the oldest: {day}); the figures of those"
            " periods have changed.",
            dashboard_link(site, oldest), kiosk=kiosk))
    return out

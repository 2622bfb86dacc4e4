"""Alert checks on satisfaction against the site's own baseline: a day, or a week, well below it.

Both read `rollup_local` (one read for all the sites of a time zone and
baseline length), and read the baseline only for the sites that already have
enough answers in the current day or week: most of the time, nothing more.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Callable
from datetime import date, timedelta
from zoneinfo import ZoneInfo

from collector.alerts.context import Context, dashboard_link, pct
from collector.alerts.rules import Kind
from collector.alerts.store import Effective, Finding
from collector.registry import Site

Cells = dict[str, list[tuple[int, int, int]]]


def _span_cells(ctx: Context, span: str, site_ids: list[str], starts: list[str]) -> Cells:
    """Site -> [(scale, rating, filtered answers)] over these local spans (rollup_local, one read for all)."""
    out: Cells = defaultdict(list)
    for site, scale, rating, n in ctx.db.conn.execute(
            "SELECT site, scale, rating, SUM(n_filtered) FROM rollup_local WHERE span = ?"
            " AND start IN (SELECT value FROM json_each(?)) AND site IN (SELECT value FROM json_each(?))"
            " GROUP BY site, scale, rating", (span, json.dumps(starts), json.dumps(site_ids))):
        out[site].append((scale, rating, n))
    return out


def _satisfaction(cells: list[tuple[int, int, int]]) -> tuple[int, int]:
    """(answers above the middle of their scale, answers): `queries.shares`' satisfaction."""
    return sum(n for scale, rating, n in cells if 2 * rating > scale + 1), sum(n for _, _, n in cells)


Words = Callable[[Site, dict[str, int | str]], tuple[str, str]]


def _drops(ctx: Context, rules: dict[str, Effective], kind: Kind, span: str,
           current: Callable[[date], date], words: Words) -> list[Finding]:
    """Sites whose current span (`current(today)`'s start) is `drop_pts` below the previous `weeks` ones."""
    out = []
    groups: dict[tuple[str, int], list[str]] = defaultdict(list)
    for site_id, rule in rules.items():
        groups[(ctx.sites[site_id].tz, rule.params["weeks"])].append(site_id)
    for (tz, weeks), site_ids in groups.items():
        start = current(ctx.now.astimezone(ZoneInfo(tz)).date())
        now_cells = _span_cells(ctx, span, site_ids, [start.isoformat()])
        enough = [s for s in site_ids if sum(n for *_, n in now_cells.get(s, [])) >= rules[s].params["min_count"]]
        if not enough:
            continue  # most of the time at most sites: the baseline is not even read
        before = _span_cells(ctx, span, enough, [(start - timedelta(weeks=w)).isoformat()
                                                 for w in range(1, weeks + 1)])
        for site_id in enough:
            rule, site = rules[site_id], ctx.sites[site_id]
            top, total = _satisfaction(now_cells[site_id])
            base_top, base_total = _satisfaction(before.get(site_id, []))
            if base_total < 2 * rule.params["min_count"]:
                continue  # no baseline worth the name
            now_pct, base_pct = pct(top / total), pct(base_top / base_total)
            if base_pct - now_pct < rule.params["drop_pts"]:
                continue
            figures: dict[str, int | str] = {span: start.isoformat(), "answers": total, "satisfaction_pct": now_pct,
                                             "baseline_pct": base_pct, "baseline_answers": base_total, "weeks": weeks}
            fr, en = words(site, figures)
            out.append(ctx.finding(kind, site, rule, figures, fr, en, dashboard_link(site, ctx.now, start)))
    return out


def satisfaction_drop(ctx: Context, rules: dict[str, Effective]) -> list[Finding]:
    """Today's satisfaction so far, `drop_pts` below the same weekday's over the previous `weeks` weeks."""
    def words(site: Site, f: dict[str, int | str]) -> tuple[str, str]:
        return (f"{site.name} : {f['satisfaction_pct']} % de satisfaits aujourd'hui ({f['answers']} réponses), contre"
                f" {f['baseline_pct']} % le même jour de la semaine ces {f['weeks']} dernières semaines"
                f" ({f['baseline_answers']} réponses).",
                f"{site.name}: {f['satisfaction_pct']}% satisfied today ({f['answers']} answers), against"
                f" {f['baseline_pct']}% on the same weekday over the last {f['weeks']} weeks"
                f" ({f['baseline_answers']} answers).")
    return _drops(ctx, rules, Kind.SATISFACTION_DROP, "day", lambda today: today, words)


def satisfaction_drop_week(ctx: Context, rules: dict[str, Effective]) -> list[Finding]:
    """This week's satisfaction so far (from Monday), `drop_pts` below the previous `weeks` whole weeks'."""
    def words(site: Site, f: dict[str, int | str]) -> tuple[str, str]:
        return (f"{site.name} : {f['satisfaction_pct']} % de satisfaits cette semaine ({f['answers']} réponses),"
                f" contre {f['baseline_pct']} % sur les {f['weeks']} semaines précédentes"
                f" ({f['baseline_answers']} réponses).",
                f"{site.name}: {f['satisfaction_pct']}% satisfied this week ({f['answers']} answers), against"
                f" {f['baseline_pct']}% over the previous {f['weeks']} weeks ({f['baseline_answers']} answers).")
    return _drops(ctx, rules, Kind.SATISFACTION_DROP_WEEK, "week",
                  lambda today: today - timedelta(days=today.weekday()), words)

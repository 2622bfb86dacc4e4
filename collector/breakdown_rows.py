"""Rows of the figures' breakdowns: sites ranked, channels, follow-up reasons.

Shared by the dashboard (collector/web/dashboard.py) and the printed reports
(collector/reports_pdf/content.py); the web-only breakdowns (reasons per face,
over time, question choices) stay in collector/web/breakdowns.py. The
language is a parameter: this module knows no request.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from collector.bands import shares_comparable
from collector.config_push import followup_labels
from collector.reports import Report, Tally, followup_answers

# Channel names (French, English), also the templates' CHANNELS.
CHANNELS = {"button": ("Boutons", "Buttons"), "touch": ("Écran tactile", "Touchscreen"),
            "web": ("Web", "Web"), "phone": ("Téléphone", "Phone")}


@dataclass
class Row:
    """One line of a breakdown; `tally` is None when there are too few answers to show it."""

    key: str
    label: str
    tally: Tally | None
    share: float | None = None
    extra: Any = None


def ranking(report: Report, previous: dict[str, Tally]) -> list[Row]:
    """Sites by net satisfaction, the measure that means the same on 3, 4 and 5 faces (docs/figures.md).

    `extra` is the change of net satisfaction against the previous period.
    """
    rows = []
    for site in report.sites:
        tally = report.by_site.get(site.id, Tally())
        before = previous.get(site.id)
        delta = None
        if report.enough(tally) and before is not None and report.enough(before):
            delta = (tally.net or 0) - (before.net or 0)
        rows.append(Row(site.id, site.name, tally if report.enough(tally) else None, extra=delta))
    shown = sorted((r for r in rows if r.tally), key=lambda r: (-(r.tally.net or 0), r.label))  # type: ignore[union-attr]
    return shown + sorted((r for r in rows if not r.tally), key=lambda r: r.label)


def ranking_shares_comparable(rows: list[Row]) -> bool:
    """Are the ranked sites' satisfied shares comparable (no mix of 4 faces with 3 or 5)?"""
    return shares_comparable(*(row.tally.scales for row in rows if row.tally))


def channels(report: Report, lang: str) -> list[Row]:
    """Answers per channel, the biggest first, labelled in `lang` ("fr" or "en")."""
    total = report.main.total
    rows = []
    for channel, tally in sorted(report.by_channel.items(), key=lambda kv: -kv[1].total):
        names = CHANNELS.get(channel, (channel, channel))
        ok = report.enough(tally)
        rows.append(Row(channel, names[1] if lang == "en" else names[0], tally if ok else None,
                        tally.total / total if ok and total else None))
    return rows


def followups(db: Any, report: Report, lang: str, question: str | None = None) -> list[Row]:
    """Follow-up reasons, the most given first, labelled in `lang` ("fr" or "en")."""
    answers = followup_answers(db, report.sites, report.start, report.end, hours=report.hours,
                               counts=report.counts, question=question)
    total = sum(answers.values())
    labels = followup_labels(db, (s.id for s in report.sites))
    rows = []
    for (question, choice), n in sorted(answers.items(), key=lambda kv: -kv[1]):
        fr, en = labels.get((question, choice), (choice, choice))
        ok = report.enough(n)
        tally = Tally.of_count(n) if ok else None
        rows.append(Row(f"{question}:{choice}", en if lang == "en" else fr, tally,
                        n / total if ok and total else None))
    return rows

"""Server-drawn SVG charts for the dashboard: no JavaScript, no CDN, readable at a glance.

Colours follow a blue (good) to red (bad) scale that colour-blind readers can
tell apart, and never carry meaning alone: every series has a face and a
label in the legend, every mark a tooltip, every chart a data table beside it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from markupsafe import Markup, escape

from collector.bands import has_neutral
from collector.reports import GROUPS, Report, Tally
from collector.web.i18n import day_label, lang, number, pct, t
from ressenti.faces import label as face_label
from ressenti.faces import mouth_curve

GROUP_COLOURS = {"top": "#2166ac", "middle": "#8c8c8c", "bottom": "#b2182b"}
SMALL_COLOUR = "#d9d9d9"


def face_colour(scale: int, rating: int) -> str:
    curve = mouth_curve(scale, rating)
    if curve > 0.6:
        return "#2166ac"
    if curve > 0.1:
        return "#67a9cf"
    if curve > -0.1:
        return "#8c8c8c"
    if curve > -0.6:
        return "#ef8a62"
    return "#b2182b"


def group_label(group: str) -> str:
    return {"top": t("Satisfaits", "Satisfied"), "middle": t("Neutres", "Neutral"),
            "bottom": t("Insatisfaits", "Dissatisfied")}[group]


def face_icon(scale: int, rating: int, size: int = 28) -> Markup:
    """The same face as the kiosks and the wall: the mouth says it, not the colour."""
    curve = mouth_curve(scale, rating)
    depth = 14 * curve
    eye = 3 if curve < -0.5 else 6
    return Markup(
        f'<svg class="face-icon" width="{size}" height="{size}" viewBox="0 0 100 100" aria-hidden="true">'
        f'<circle cx="50" cy="50" r="46" fill="{face_colour(scale, rating)}" stroke="#1a1a1a" stroke-width="4"/>'
        f'<ellipse cx="35" cy="38" rx="6" ry="{eye}" fill="#111"/><ellipse cx="65" cy="38" rx="6" ry="{eye}"'
        f' fill="#111"/><path d="M28 {64 - depth / 2:.1f} Q50 {64 + depth * 1.5:.1f} 72 {64 - depth / 2:.1f}"'
        ' stroke="#111" stroke-width="7" fill="none" stroke-linecap="round"/></svg>')


@dataclass
class Bucket:
    """One bar: a day, a week or a month."""

    label: str
    long_label: str
    tally: Tally
    raw_total: int


@dataclass
class Series:
    """What the bar chart stacks: faces (one scale) or the three groups (mixed scales)."""

    keys: list[tuple[str, str, str]]  # (key, label, colour), bottom of the bar first

    @classmethod
    def of(cls, report: Report) -> Series:
        if report.scale is not None:
            scale = report.scale
            return cls([(str(r), face_label(scale, r, lang()), face_colour(scale, r))
                        for r in range(scale, 0, -1)])
        return cls([(g, group_label(g), GROUP_COLOURS[g]) for g in GROUPS])

    @staticmethod
    def value(tally: Tally, key: str) -> int:
        return tally.faces.get(int(key), 0) if key.isdigit() else int(getattr(tally, key))


def buckets(report: Report) -> tuple[str, list[Bucket]]:
    """The report's bars (days up to two months, then ISO weeks up to a year, then months), empty ones too."""
    unit = report.unit.value
    grouped = {start: (report.buckets.get(start, Tally()), report.buckets_raw_total.get(start, 0))
               for start in report.all_buckets()}
    out = []
    for start, (tally, raw) in grouped.items():
        if unit == "day":
            short, long = day_label(start), day_label(start, year=True)
        elif unit == "week":
            short = t("sem. ", "wk ") + str(start.isocalendar()[1])
            long = t("semaine du ", "week of ") + day_label(start, year=True)
        else:
            short = day_label(start).split(" ", 1)[1] + f" {start.year % 100:02d}"
            long = day_label(start, year=True).split(" ", 1)[1]
        out.append(Bucket(short, long, tally, raw))
    return unit, out


def _nice_max(value: float) -> tuple[float, float]:
    """A round top for the y axis and its tick step."""
    if value <= 0:
        return 10, 5
    magnitude = 10 ** math.floor(math.log10(value))
    for step in (0.2, 0.25, 0.5, 1, 2, 2.5, 5, 10):
        tick = step * magnitude
        if value / tick <= 5:
            return math.ceil(value / tick) * tick, tick
    return value, value


W, H, LEFT, RIGHT, TOP, BOTTOM = 960, 340, 78, 16, 16, 56


def _svg_open(title: str, desc: str) -> str:
    return (f'<svg class="chart-svg" viewBox="0 0 {W} {H}" role="img" aria-label="{escape(title)}">'
            f"<title>{escape(title)}</title><desc>{escape(desc)}</desc>")


def _x_labels(items: list[Bucket], step_w: float) -> str:
    every = max(1, math.ceil(len(items) / 8))
    out = []
    for i, b in enumerate(items):
        if i % every == 0:
            x = LEFT + step_w * (i + 0.5)
            out.append(f'<text x="{x:.1f}" y="{H - BOTTOM + 34}" class="axis" text-anchor="middle">'
                       f"{escape(b.label)}</text>")
    return "".join(out)


PREVIOUS_NOTE = ("période précédente", "previous period")


def _previous_at(previous: list[Bucket] | None, i: int, report: Report) -> Bucket | None:
    """The previous period's bucket drawn behind bucket i, when it has enough answers to be shown."""
    if previous is None or i >= len(previous) or not report.enough(previous[i].tally):
        return None
    return previous[i]


def stacked_bars(report: Report, items: list[Bucket], series: Series, title: str,
                 previous: list[Bucket] | None = None) -> Markup:
    """Bars stacked by face; `previous` (the period before, bucket by bucket) as faint outlines behind them."""
    show_flagged = report.counts == "filtered"
    top_value = max([(b.raw_total if show_flagged else b.tally.total) for b in items if report.enough(b.tally)]
                    + [b.tally.total for b in previous or [] if report.enough(b.tally)] + [0])
    y_max, tick = _nice_max(top_value)
    plot_w, plot_h = W - LEFT - RIGHT, H - TOP - BOTTOM
    step_w = plot_w / max(1, len(items))
    bar_w = max(2.0, step_w * 0.72)
    parts = [_svg_open(title, t("Réponses par période, empilées par visage.", "Answers per period, stacked by face.")),
             '<defs><pattern id="hatch" width="6" height="6" patternUnits="userSpaceOnUse"'
             ' patternTransform="rotate(45)"><rect width="6" height="6" fill="#fff"/>'
             '<line x1="0" y1="0" x2="0" y2="6" stroke="#555" stroke-width="2"/></pattern></defs>']
    value = 0.0
    while value <= y_max + 1e-9:
        y = TOP + plot_h * (1 - value / y_max)
        parts.append(f'<line x1="{LEFT}" x2="{W - RIGHT}" y1="{y:.1f}" y2="{y:.1f}" class="grid"/>'
                     f'<text x="{LEFT - 8}" y="{y + 5:.1f}" class="axis" text-anchor="end">{number(value)}</text>')
        value += tick
    for i, b in enumerate(items):
        x = LEFT + step_w * i + (step_w - bar_w) / 2
        y = TOP + plot_h
        before = _previous_at(previous, i, report)
        if before is not None:
            h = plot_h * before.tally.total / y_max
            parts.append(f'<rect x="{x - 3:.1f}" y="{y - h:.1f}" width="{bar_w + 6:.1f}" height="{h:.1f}"'
                         f' class="previous-bar"><title>{t(*PREVIOUS_NOTE)}, {escape(before.long_label)} : '
                         f"{before.tally.total}</title></rect>")
        masked = b.raw_total > 0 and not report.enough(b.tally)
        if masked:
            h = 10.0  # a marker, not a quantity: a small cell's count is not shown
            y -= h
            note = t("pas assez de réponses", "not enough responses")
            parts.append(f'<rect x="{x:.1f}" y="{y:.1f}" width="{bar_w:.1f}" height="{h:.1f}" fill="{SMALL_COLOUR}">'
                         f"<title>{escape(b.long_label)} — {note}</title></rect>")
        else:
            for key, name, colour in series.keys:
                n = series.value(b.tally, key)
                if not n:
                    continue
                h = plot_h * n / y_max
                y -= h
                parts.append(f'<rect x="{x:.1f}" y="{y:.1f}" width="{bar_w:.1f}" height="{h:.1f}" fill="{colour}">'
                             f"<title>{escape(b.long_label)} — {escape(name)} : {n}</title></rect>")
        flagged = b.raw_total - b.tally.total if show_flagged and not masked else 0
        if flagged > 0:
            h = plot_h * flagged / y_max
            y -= h
            parts.append(f'<rect x="{x:.1f}" y="{y:.1f}" width="{bar_w:.1f}" height="{h:.1f}" fill="url(#hatch)"'
                         f' stroke="#555"><title>{escape(b.long_label)} — '
                         f"{t('appuis écartés (trop rapprochés)', 'presses set aside (too close together)')}"
                         f" : {flagged}</title></rect>")
    parts.append(f'<line x1="{LEFT}" x2="{W - RIGHT}" y1="{TOP + plot_h}" y2="{TOP + plot_h}" class="baseline"/>')
    parts.append(_x_labels(items, step_w))
    parts.append("</svg>")
    return Markup("".join(parts))


def satisfaction_line(report: Report, items: list[Bucket], title: str,
                      previous: list[Bucket] | None = None) -> Markup:
    """The rate per bucket, with the period's mean; `previous` as a faint dashed line behind it."""
    plot_w, plot_h = W - LEFT - RIGHT, H - TOP - BOTTOM
    step_w = plot_w / max(1, len(items))
    parts = [_svg_open(title, t("Taux de satisfaction par période, de 0 à 100 %.",
                                "Satisfaction rate per period, 0 to 100%."))]
    for value in (0, 0.25, 0.5, 0.75, 1):
        y = TOP + plot_h * (1 - value)
        parts.append(f'<line x1="{LEFT}" x2="{W - RIGHT}" y1="{y:.1f}" y2="{y:.1f}" class="grid"/>'
                     f'<text x="{LEFT - 8}" y="{y + 5:.1f}" class="axis" text-anchor="end">{pct(value)}</text>')
    # The period's average is a figure like any other: withheld under the minimum count.
    overall = report.main.satisfaction if report.enough(report.main) else None
    if overall is not None:
        y = TOP + plot_h * (1 - overall)
        parts.append(f'<line x1="{LEFT}" x2="{W - RIGHT}" y1="{y:.1f}" y2="{y:.1f}" class="mean"/>'
                     f'<text x="{W - RIGHT - 4}" y="{y - 6:.1f}" class="axis mean-label" text-anchor="end">'
                     f"{t('moyenne de la période', 'period average')} {pct(overall)}</text>")
    if previous is not None:
        faint: list[str] = []
        for i in range(len(items)):
            before = _previous_at(previous, i, report)
            if before is None:
                faint.append("")
                continue
            rate = before.tally.satisfaction or 0.0
            faint.append(f"{LEFT + step_w * (i + 0.5):.1f},{TOP + plot_h * (1 - rate):.1f}")
            parts.append(f'<circle cx="{LEFT + step_w * (i + 0.5):.1f}" cy="{TOP + plot_h * (1 - rate):.1f}" r="3"'
                         f' class="previous-point"><title>{t(*PREVIOUS_NOTE)}, {escape(before.long_label)} — '
                         f"{pct(rate)}</title></circle>")
        for run in " ".join(faint).split("  "):
            if len(run.split()) > 1:
                parts.append(f'<polyline points="{run.strip()}" class="previous-line"/>')
    path: list[str] = []
    points = []
    drawn_kind: frozenset[bool] | None = None
    for i, b in enumerate(items):
        if not report.enough(b.tally):
            path.append("")  # a gap: too few answers to draw a rate
            continue
        # A satisfied share on 4 faces does not compare with one on 3 or 5 (docs/figures.md):
        # the line does not join them across a change of scale.
        kind = frozenset(has_neutral(scale) for scale in b.tally.scales)
        if drawn_kind is not None and kind != drawn_kind:
            path.append("")
        drawn_kind = kind
        rate = b.tally.satisfaction or 0.0
        x, y = LEFT + step_w * (i + 0.5), TOP + plot_h * (1 - rate)
        path.append(f"{x:.1f},{y:.1f}")
        points.append(f'<circle cx="{x:.1f}" cy="{y:.1f}" r="5" class="point">'
                      f"<title>{escape(b.long_label)} — {pct(rate)} ({b.tally.total} "
                      f"{t('réponses', 'answers')})</title></circle>")
    for run in " ".join(path).split("  "):
        coords = run.split()
        if len(coords) > 1:
            parts.append(f'<polyline points="{" ".join(coords)}" class="line"/>')
    parts += points
    parts.append(_x_labels(items, step_w))
    parts.append("</svg>")
    return Markup("".join(parts))


def share_bar(tally: Tally, label: str) -> Markup:
    """A 100 % bar of satisfied / neutral / dissatisfied shares, for the ranking."""
    parts = [f'<svg class="share-bar" viewBox="0 0 200 18" role="img" aria-label="{escape(label)}"'
             ' preserveAspectRatio="none">']
    x = 0.0
    for group in GROUPS:
        share = tally.share(getattr(tally, group)) or 0.0
        if share:
            parts.append(f'<rect x="{x:.2f}" y="0" width="{share * 200:.2f}" height="18"'
                         f' fill="{GROUP_COLOURS[group]}"><title>{group_label(group)} : {pct(share)}</title></rect>')
            x += share * 200
    parts.append("</svg>")
    return Markup("".join(parts))


def heat_class(tally: Tally) -> str:
    """A colour step for a heat map cell from its satisfaction; the text says the figure too."""
    rate = tally.satisfaction or 0.0
    step = min(9, int(rate * 10))
    return f"heat heat-{step}"

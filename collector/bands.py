"""Satisfied, neutral, dissatisfied: the band each face of a 3-, 4- or 5-face scale falls in.

Faces mean different things on different scales (the top face of three is
"satisfied", the third of five is "neutral"), so figures are added across
scales only through these bands, and sites are compared by net satisfaction,
which means the same on every scale. Why: docs/figures.md.
"""

from __future__ import annotations

from collections.abc import Iterable
from enum import StrEnum
from typing import Any


class Band(StrEnum):
    SATISFIED = "satisfied"
    NEUTRAL = "neutral"
    DISSATISFIED = "dissatisfied"


def band_of(scale: int, rating: int) -> Band:
    """Above the middle of the scale, its middle face (odd scales only), or below."""
    middle = (scale + 1) / 2
    return Band.SATISFIED if rating > middle else Band.DISSATISFIED if rating < middle else Band.NEUTRAL


def band_counts(cells: Iterable[tuple[int, int, int]]) -> dict[Band, int]:
    """(scale, rating, n) cells -> answers per band, every band present."""
    out = dict.fromkeys(Band, 0)
    for scale, rating, n in cells:
        out[band_of(scale, rating)] += n
    return out


def band_figures(bands: dict[Band, int]) -> dict[str, Any]:
    """Total, satisfaction (satisfied share) and net satisfaction (satisfied minus dissatisfied share)."""
    total = sum(bands.values())
    satisfied, dissatisfied = bands[Band.SATISFIED], bands[Band.DISSATISFIED]
    return {
        "total": total,
        "bands": {band.value: n for band, n in bands.items()},
        "satisfaction": round(satisfied / total, 4) if total else None,
        "net_satisfaction": round((satisfied - dissatisfied) / total, 4) if total else None,
    }


def has_neutral(scale: int) -> bool:
    """Odd scales have a middle face; 4 faces make every answer take a side."""
    return scale % 2 == 1


def shares_comparable(*scale_lists: Iterable[int]) -> bool:
    """Can satisfied shares on these scales be compared? Only if all have a neutral face, or none has.

    Net satisfaction always can (docs/figures.md): someone who would press a
    neutral face adds to neither side of it.
    """
    kinds = {has_neutral(scale) for scales in scale_lists for scale in scales}
    return len(kinds) <= 1


def trend_comparable(now: Iterable[int], before: Iterable[int]) -> bool:
    """Can a satisfied share be set against the same scope's earlier one? Yes when both periods were
    answered on the same scales (the same mix, as an organisation of 3- and 4-face sites), or when
    all their shares compare; not across a site's change from 4 faces to 3 or 5 (docs/figures.md)."""
    now, before = set(now), set(before)
    return now == before or shares_comparable(now, before)

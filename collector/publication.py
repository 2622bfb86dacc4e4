"""Publication rules: what a figure needs before it is shown, in one place (docs/dashboard.md#publication).

- A breakdown cell (a day, an hour, a site, a channel, a reason...) with
  fewer than `MIN_CELL` answers is withheld, never shown as a number and never
  as 0: the dashboard says "pas assez de réponses", the exports and the API
  `not_enough_responses` (staff privacy: a handful of answers in one hour
  points at whoever was at the desk).
- In public (the JSON read API without a login or an admin token), figures
  are never finer than a local day, and a period's summary follows the same
  minimum. Per-hour series are for logged-in users of the site's scope and
  admin tokens, and their hours are withheld under the minimum too.
- Public results (the results page, its embed and the open data, issue 13;
  collector/public_results.py, docs/public.md): filtered counts per whole
  local month, each figure withheld under `PUBLIC_MIN_COUNT` answers (the
  state's survey observatory publishes from 100 answers over 12 rolling
  months; RESSENTI_PUBLIC_MIN_COUNT changes it), and only sites that publish:
  a site, or its organisation, may opt out, and is then absent from every
  public route (a 404 that says so).
"""

from __future__ import annotations

from typing import Any

DEFAULT_MIN_CELL = 10  # RESSENTI_MIN_CELL changes it (collector/web/__init__.py)
PUBLIC_MIN_COUNT = 100  # the public results' minimum per figure; RESSENTI_PUBLIC_MIN_COUNT changes it
PUBLIC_MONTHS = 12  # the public results' long period, in whole months
NOT_ENOUGH = "not_enough_responses"
PUBLIC_UNITS = ("day",)  # the finest series anyone may read without a login
UNITS = ("day", "hour")

# The keys of a summary (collector/queries.py) that carry figures; the others say what it is about.
FIGURE_KEYS = ("counts", "total", "bands", "satisfaction", "net_satisfaction", "by_scale", "filtered",
               "flagged", "outside_hours")


def enough(total: int | None, min_cell: int) -> bool:
    return (total or 0) >= min_cell


def withheld(min_cell: int) -> dict[str, Any]:
    """What stands in place of a withheld figure: the reason, and the rule."""
    return {"reason": NOT_ENOUGH, "min_count": min_cell}


def publish_summary(summary: dict[str, Any], min_cell: int) -> dict[str, Any]:
    """A summary as the public may read it: every figure withheld under the minimum count."""
    if not enough(summary["total"], min_cell):
        return {**summary, **dict.fromkeys(FIGURE_KEYS), "withheld": withheld(min_cell)}
    out = dict(summary)
    out["by_scale"] = {scale: part if enough(part["total"], min_cell) else {"total": None,
                                                                            "withheld": withheld(min_cell)}
                       for scale, part in summary["by_scale"].items()}
    if not enough(summary["filtered"]["total"], min_cell):
        out["filtered"] = {"total": None, "withheld": withheld(min_cell)}
    return out


def publish_point(point: dict[str, Any], figures: dict[str, Any], min_cell: int) -> dict[str, Any]:
    """A series point (its key, then its figures), or its key and the reason it is withheld."""
    if enough(figures["total"], min_cell):
        return {**point, **figures}
    return {**point, "total": None, "withheld": withheld(min_cell)}

"""The poster's "Vous nous avez dit… / Nous avons fait…" notes, read from collector/notes.py when it is there.

The notes are written in the dashboard (the public results work of issue 13,
`published_notes`); until that module is part of this collector, a poster has
no notes block. The poster renderer itself takes the notes as arguments.
"""

from __future__ import annotations

import importlib
import importlib.util

from sqlite_utils import Database

from collector.reports_pdf.period import Period
from collector.reports_pdf.render import PosterNote


def notes_available(db: Database) -> bool:
    """collector/notes.py and its table (`published_notes`, its migration) are both there."""
    return importlib.util.find_spec("collector.notes") is not None and db["published_notes"].exists()


def poster_notes(db: Database, site_id: str, site_org: str, period: Period, lang: str) -> list[PosterNote]:
    """The notes written for the site (or its organisation) over the period, in `lang`; [] without them."""
    if not notes_available(db):
        return []
    notes = importlib.import_module("collector.notes")
    found = notes.notes_for(db, [f"site:{site_id}", f"org:{site_org}"], period.start, period.full_end)
    return [PosterNote(note.said(lang), note.done(lang)) for note in found]

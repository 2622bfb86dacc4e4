"""Optional free-text comments of the web survey: limited, masked before storage, kept 90 days.

Never shown on walls or public pages; read by the managers of the site (and admins) only.
"""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

from sqlite_utils import Database

from collector.survey.form import COMMENT_RETENTION_DAYS
from ressenti.protocol import format_ts, utc_now

MAX_COMMENT_CHARS = 1000
EMAIL_MASK, PHONE_MASK = "[courriel masqué]", "[téléphone masqué]"
_EMAIL_RE = re.compile(r"[\w.+-]+\s*(?:@|\(at\)|\[at\])\s*[\w-]+(?:\s*\.\s*[\w-]+)+", re.IGNORECASE)
# Eight digits or more with the separators people type: 06 12 34 56 78, +33 6 12-34-56-78, 0033.612.345.678.
_PHONE_RE = re.compile(r"(?:\+|\b00)?\d(?:[\s.\-/()]{0,3}\d){7,}")
_CONTROL_RE = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


class CommentError(ValueError):
    """A comment was refused; the message says why (French, English)."""

    def __init__(self, fr: str, en: str) -> None:
        super().__init__(en)
        self.fr, self.en = fr, en


def clean_comment(text: object) -> str | None:
    """The comment as stored: trimmed, control characters out, e-mail addresses and phone numbers masked.

    None when empty; CommentError when not text or longer than MAX_COMMENT_CHARS.
    """
    if text is None:
        return None
    if not isinstance(text, str):
        raise CommentError("Le commentaire doit être un texte.", "The comment must be text.")
    text = _CONTROL_RE.sub("", text.replace("\r\n", "\n")).strip()
    if len(text) > MAX_COMMENT_CHARS:
        raise CommentError(f"Le commentaire fait {len(text)} caractères : {MAX_COMMENT_CHARS} au plus.",
                           f"The comment is {len(text)} characters long: {MAX_COMMENT_CHARS} at most.")
    if not text:
        return None
    return mask_personal_data(text)


def mask_personal_data(text: str) -> str:
    return _PHONE_RE.sub(PHONE_MASK, _EMAIL_RE.sub(EMAIL_MASK, text))


def store_comment(db: Database, *, site: str, link_id: int, event_id: str, text: str, lang: str) -> None:
    """In the caller's transaction, with the rating it came with (once: the event id is unique)."""
    db.conn.execute("INSERT INTO survey_comments (site, link_id, event_id, created, text, lang)"
                    " VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (event_id) DO NOTHING",
                    (site, link_id, event_id, format_ts(utc_now()), text, lang))


def comments_for(db: Database, sites: list[str], limit: int = 200) -> list[dict[str, Any]]:
    """The latest comments of these sites, with the rating they came with (still kept)."""
    if not sites:
        return []
    marks = ",".join("?" * len(sites))
    return list(db.query(
        "SELECT c.id, c.site, c.created, c.text, c.lang, e.rating, e.scale, e.channel, l.desk, l.label"
        " FROM survey_comments c LEFT JOIN events e ON e.id = c.event_id"
        " LEFT JOIN survey_links l ON l.id = c.link_id"
        f" WHERE c.site IN ({marks}) ORDER BY c.created DESC, c.id DESC LIMIT ?", [*sites, limit]))


def purge_comments(db: Database, older_than_days: int = COMMENT_RETENTION_DAYS) -> int:
    """Delete comments older than `older_than_days`; return how many."""
    if older_than_days < 1:
        raise ValueError("keep comments at least one day")
    cutoff = format_ts(utc_now() - timedelta(days=older_than_days))
    return db.conn.execute("DELETE FROM survey_comments WHERE created < ?", (cutoff,)).rowcount

"""What a site's survey page asks: the kiosks' question, scale and follow-up, and whether comments are on.

The page asks the same as the site's touch kiosks: the settings last pushed to one of its
kiosks (collector/config_push.py), else the kiosks' defaults; the scale is the site's.
Comments are off unless a manager turns them on for the site (`survey_settings`).
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from sqlite_utils import Database

from collector.registry import Site
from ressenti.errors import BadFollowup
from ressenti.i18n import WORDINGS, question_text
from ressenti.protocol import Followup, KioskSettings, parse_followup

COMMENT_RETENTION_DAYS = 90  # comments are kept shorter than ratings (400 days): docs/survey.md


@dataclass(frozen=True)
class SurveyForm:
    site: Site
    scale: int
    question_id: str
    question: dict[str, str]
    followup: Followup | None
    comments: bool
    wording: str = "standard"

    def question_text(self, lang: str) -> str:
        """The site's question, or the catalogues' default in the site's wording (ressenti/i18n.py)."""
        return question_text(self.question, lang, self.wording)


def survey_form(db: Database, site: Site) -> SurveyForm:
    row = db.conn.execute(
        "SELECT c.settings FROM kiosk_config c JOIN kiosks k ON k.id = c.kiosk"
        " WHERE c.site = ? AND k.channel IS NULL ORDER BY c.pushed_at DESC LIMIT 1", (site.id,)).fetchone()
    defaults = KioskSettings()
    settings = json.loads(row[0]) if row else {}
    question = settings.get("question") if isinstance(settings.get("question"), dict) else defaults.question
    try:
        followup = parse_followup(settings.get("followup"), site.scale)
    except BadFollowup:  # pushed for another scale than the site's now: not asked
        followup = None
    return SurveyForm(site, site.scale, settings.get("question_id") or defaults.question_id, dict(question),
                      followup, comments_enabled(db, site.id),
                      settings.get("wording") if settings.get("wording") in WORDINGS else "standard")


def comments_enabled(db: Database, site: str) -> bool:
    row = db.conn.execute("SELECT comments FROM survey_settings WHERE site = ?", (site,)).fetchone()
    return bool(row and row[0])


def set_comments(db: Database, site: str, enabled: bool) -> None:
    """Turn the optional free-text comment of a site's survey on or off (off by default)."""
    db.conn.execute("INSERT INTO survey_settings (site, comments) VALUES (?, ?)"
                    " ON CONFLICT (site) DO UPDATE SET comments = excluded.comments", (site, int(bool(enabled))))

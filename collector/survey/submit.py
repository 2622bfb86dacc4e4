"""A survey submission stored once, through the kiosks' path: contract checks, store_batch, rollups.

The submission becomes a one-event batch of the link's producer (`survey-<slug>`), epoch
`d-YYYYMMDD` (one stream per link and UTC day), seq allocated here under the write lock, the
form's nonce as event id. All in one transaction: the duplicate check, the limits, the event
(and its rollups), the client's count and the comment. A second submit or a reload of the
same form finds its event id stored and is acknowledged without a second row.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

from sqlite_utils import Database

from collector.db import write_transaction
from collector.intake import accept_batch
from collector.rejections import RejectionClass, record_rejection
from collector.store import BatchWriter, Stored
from collector.survey.comments import store_comment
from collector.survey.form import SurveyForm
from collector.survey.guard import Limits, count_hit, verdict
from collector.survey.links import Link
from ressenti.protocol import Flag, decode_batch, encode_batch, format_ts


class Outcome(StrEnum):
    STORED = "stored"
    DUPLICATE = "duplicate"  # this form was submitted already: acknowledged, nothing added
    LIMITED = "limited"  # over a rate limit: refused, logged
    REFUSED = "refused"  # the contract or the registry refused it (a revoked link): logged


@dataclass
class Result:
    outcome: Outcome
    reason: str = ""
    flags: list[str] = field(default_factory=list)
    stored: Stored | None = None


def topic_of(link: Link) -> str:
    return f"POST /s/{link.slug}"


def epoch_of(moment: datetime) -> str:
    return moment.strftime("d-%Y%m%d")


def submit(db: Database, link: Link, form: SurveyForm, *, nonce: str, rating: int, client: str, now: datetime,
           followup: dict[str, str] | None = None, comment: str | None = None, lang: str = "fr",
           limits: Limits | None = None) -> Result:
    """Store one rating of `link` (checked by the caller against `form`) exactly once."""
    limits = limits or Limits()
    producer, epoch, topic = link.producer, epoch_of(now), topic_of(link)
    with write_transaction(db):
        if db.conn.execute("SELECT 1 FROM events WHERE id = ?", (nonce,)).fetchone():
            return Result(Outcome.DUPLICATE)
        refused, flagged = verdict(db, link.id, client, now, limits)
        if refused:
            record_rejection(db, reason=refused, raw=b"", topic=topic, received_at=now, kiosk=producer,
                             reason_class=RejectionClass.RATE_LIMITED)
            return Result(Outcome.LIMITED, refused)
        row = db.conn.execute("SELECT max_seq FROM streams WHERE kiosk = ? AND epoch = ?", (producer, epoch)).fetchone()
        seq = (row[0] if row else 0) + 1
        flags = [Flag.BURST.value] if flagged else []
        event = {"id": nonce, "seq": seq, "ts": format_ts(now), "clock": "ntp", "boot": "web", "up_ms": 0,
                 "question": form.question_id, "scale": form.scale, "rating": rating, "input": link.channel,
                 "flags": flags, "followup": followup, "lang": lang}
        raw = encode_batch(kiosk=producer, site=link.site, epoch=epoch, boot="web", up_ms=0, events=[event])
        batch = decode_batch(raw)  # the contract's own checks, as for a kiosk's batch
        writer = BatchWriter()
        stored = accept_batch(db, batch, topic_name=topic, raw=raw, received_at=now, channel_of_source=link.channel,
                              writer=writer)
        writer.flush(db)
        if stored is None:  # refused whole (a link revoked meanwhile): filed in `rejected` by accept_batch
            reason = db.conn.execute("SELECT reason FROM rejected WHERE kiosk = ? ORDER BY last_seen DESC, id DESC"
                                     " LIMIT 1", (producer,)).fetchone()
            return Result(Outcome.REFUSED, reason[0] if reason else "refused")
        if not stored.new_ratings:  # rejected by the contract: filed with its seq and reason
            reason = stored.ack.rejected[0][1] if stored.ack.rejected else "not stored"
            return Result(Outcome.REFUSED, reason)
        count_hit(db, link.id, client, now)
        if comment:
            store_comment(db, site=link.site, link_id=link.id, event_id=nonce, text=comment, lang=lang)
    return Result(Outcome.STORED, flags=flags, stored=stored)


def stored_rating(db: Database, nonce: str) -> dict[str, object] | None:
    """The event a form became (for the thank-you page after a duplicate)."""
    row = db.conn.execute("SELECT rating, scale, followup FROM events WHERE id = ?", (nonce,)).fetchone()
    if row is None:
        return None
    return {"rating": row[0], "scale": row[1], "followup": json.loads(row[2]) if row[2] else None}

"""The telephone line: one answer of a post-call IVR ("tapez 1 à 4") as one contract event, stored once.

An IPBX (deploy/examples/asterisk/) posts the key the caller pressed and its
own id of the call. The answer becomes an ordinary v1 batch of one event, so
it goes through the same decoding, registry checks, arrival policy and store
as a kiosk's batch (collector/intake.py):

- the event id is a UUID derived from the source and the call id, and the
  batch's epoch is that same id with seq 1: the same call posted twice (an
  IPBX that retries, a spooled answer sent again) is stored once;
- the caller's number is never asked for nor kept; the call id lives only
  inside that hash.

Docs: docs/phone.md.
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

from ressenti.protocol import SCALES, encode_batch, format_ts, is_slug, parse_ts

# Asterisk's UNIQUEID is "1701234567.42"; FreeSWITCH and others use UUIDs. Room for both, no spaces.
CALL_ID_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:@-]{0,127}$")
_LANG_RE = re.compile(r"^[a-z]{2,3}$")
# Fixed forever: changing it would let an answer already stored be counted again.
_CALL_NAMESPACE = uuid.UUID("6f1c2d8e-4b0a-5e9f-9d3c-2a7b1e0c5f41")
FIELDS = ("rating", "call_id", "question", "scale", "lang", "ts")
BOOT = "ivr"
MAX_BODY_BYTES = 4096


class BadAnswer(ValueError):
    """An IVR answer that cannot be counted; the message says why (it goes back to the IPBX and to `rejected`)."""


@dataclass(frozen=True)
class PhoneAnswer:
    call_id: str
    rating: int
    scale: int
    question: str
    lang: str
    ts: datetime | None  # when the call ended, if the IPBX says so; else when the collector receives it


def _text(fields: Mapping[str, object], name: str) -> str | None:
    value = fields.get(name)
    if value is None or value == "":
        return None
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise BadAnswer(f"{name} must be a text or a number")
    return str(value).strip()


def read_answer(fields: Mapping[str, object], *, site_scale: int) -> PhoneAnswer:
    """Check an answer's fields (from a form or a JSON object); BadAnswer with the reason."""
    unknown = sorted(str(k)[:30] for k in fields if k not in FIELDS)
    if unknown:
        raise BadAnswer(f"unknown field {unknown[0]!r}: the IVR hook takes {', '.join(FIELDS)}")
    call_id = _text(fields, "call_id")
    if call_id is None:
        raise BadAnswer("call_id is missing: send the IPBX's id of the call (Asterisk: ${UNIQUEID})")
    if not CALL_ID_RE.match(call_id):
        raise BadAnswer(f"call_id {call_id[:40]!r} is not 1 to 128 letters, digits and . _ : @ -")
    scale_text = _text(fields, "scale")
    if scale_text is None:
        scale = site_scale
    elif not scale_text.isdigit() or int(scale_text) not in SCALES:
        raise BadAnswer(f"scale {scale_text[:20]!r} is not 3, 4 or 5")
    else:
        scale = int(scale_text)
    rating_text = _text(fields, "rating")
    if rating_text is None:
        raise BadAnswer("rating is missing: send the key the caller pressed")
    if not (len(rating_text) == 1 and rating_text.isdigit() and 1 <= int(rating_text) <= scale):
        raise BadAnswer(f"key {rating_text[:20]!r} is not a rating from 1 to {scale}")
    question = _text(fields, "question") or "overall"
    if not is_slug(question):
        raise BadAnswer(f"question {question[:40]!r} is not a slug (lower-case letters, digits and '-')")
    lang = _text(fields, "lang") or "fr"
    if not _LANG_RE.match(lang):
        raise BadAnswer(f"lang {lang[:20]!r} is not a language code such as fr or en")
    ts_text = _text(fields, "ts")
    ts = None
    if ts_text is not None:
        try:
            ts = parse_ts(ts_text)
        except ValueError as exc:
            raise BadAnswer(f"ts {ts_text[:40]!r}: {exc} (e.g. 2026-12-04T09:14:03Z)") from None
    return PhoneAnswer(call_id, int(rating_text), scale, question, lang, ts)


def call_event_id(source_id: str, call_id: str) -> str:
    """The event id of a call's answer: the same for every post of the same call by the same source."""
    return str(uuid.uuid5(_CALL_NAMESPACE, f"{source_id}\n{call_id}"))


def answer_batch(source_id: str, site_id: str, answer: PhoneAnswer, received_at: datetime) -> bytes:
    """The v1 batch of one event that stands for this answer (decode it with `decode_batch`)."""
    event_id = call_event_id(source_id, answer.call_id)
    event = {"id": event_id, "seq": 1, "ts": format_ts(answer.ts or received_at), "clock": "ntp", "boot": BOOT,
             "up_ms": 0, "question": answer.question, "scale": answer.scale, "rating": answer.rating,
             "input": "phone", "flags": [], "followup": None, "lang": answer.lang}
    return encode_batch(kiosk=source_id, site=site_id, epoch=event_id, boot=BOOT, up_ms=0, events=[event])


def raw_of(fields: Mapping[str, object]) -> bytes:
    """What is kept in `rejected` for a refused answer: its fields as JSON."""
    return json.dumps({str(k)[:40]: str(v)[:200] for k, v in list(fields.items())[:20]},
                      ensure_ascii=False).encode()

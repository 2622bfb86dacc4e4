"""POST /api/v1/ivr: the telephone line's hook, one caller's key press per call (docs/phone.md).

A phone source's bearer token; the body is a form or a JSON object with
`rating` (the key) and `call_id` (the IPBX's id of the call), optionally
`question`, `scale`, `lang`, `ts`. The answer is turned into a v1 batch of
one event (collector/ivr.py) and stored like any HTTP source's batch; a call
posted again is stored once. Refusals answer 4xx with the reason and are kept
in `rejected` like every other refusal.
"""

from __future__ import annotations

from flask import Blueprint, current_app, g, jsonify, request

from collector.arrivals import arrival_policy_from
from collector.intake import accept_batch
from collector.ivr import MAX_BODY_BYTES, BadAnswer, answer_batch, call_event_id, raw_of, read_answer
from collector.registry import get_producer, get_site
from collector.rejections import RejectionClass, record_rejection
from collector.tokens import TokenKind
from collector.web import get_db, live_hub
from collector.web.api_events import _limiter
from collector.web.auth import require_token
from ressenti.protocol import Input, decode_batch, parse_json, utc_now

bp = Blueprint("api_ivr", __name__, url_prefix="/api/v1")

IVR_TOPIC = "POST /api/v1/ivr"


def _fields() -> dict[str, object]:
    """The answer's fields, from a JSON object or a form; BadAnswer if the body is neither."""
    if request.is_json:
        try:
            body = parse_json(request.get_data())
        except ValueError as exc:
            raise BadAnswer(f"not JSON: {exc}") from None
        if not isinstance(body, dict):
            raise BadAnswer("the body is not a JSON object")
        return body
    return request.form.to_dict(flat=True)


@bp.post("/ivr")
@require_token(TokenKind.SOURCE)
def post_ivr():  # type: ignore[no-untyped-def]
    db = get_db()
    received_at = utc_now()
    source_id = g.token.subject
    limiter = _limiter()

    def refuse(reason: str, reason_class: RejectionClass, raw: bytes, status: int):  # type: ignore[no-untyped-def]
        record_rejection(db, reason=reason, raw=raw, topic=IVR_TOPIC, received_at=received_at, kiosk=source_id,
                         reason_class=reason_class)
        limiter.refused(source_id)
        return jsonify({"error": reason}), status

    if limiter.limited(source_id):
        return refuse("rate limited: too many refused answers from this source; retry later",
                      RejectionClass.RATE_LIMITED, b"", 429)
    if (request.content_length or 0) > MAX_BODY_BYTES:
        return refuse(f"body of {request.content_length} bytes: an IVR answer is at most {MAX_BODY_BYTES} bytes",
                      RejectionClass.TOO_LARGE, request.stream.read(256), 413)
    producer = get_producer(db, source_id)
    if producer is None:
        return refuse(f"unknown source {source_id!r}", RejectionClass.UNKNOWN_PRODUCER, b"", 422)
    if producer.retired:
        return refuse(f"source {source_id!r} is retired", RejectionClass.RETIRED, b"", 422)
    if producer.channel != Input.PHONE.value:
        return refuse(f"source {source_id!r} is a {producer.channel or 'kiosk'} source: the IVR hook takes phone"
                      " sources (create one with channel phone)", RejectionClass.WRONG_PATH, b"", 403)
    site = get_site(db, producer.site)
    assert site is not None  # producers reference sites
    try:
        fields = _fields()
    except BadAnswer as exc:
        return refuse(f"unusable answer: {exc}", RejectionClass.NOT_JSON, request.get_data()[:256], 400)
    try:
        answer = read_answer(fields, site_scale=site.scale)
    except BadAnswer as exc:
        return refuse(f"unusable answer: {exc}", RejectionClass.CONTRACT, raw_of(fields), 400)
    raw = answer_batch(source_id, site.id, answer, received_at)
    batch = decode_batch(raw)
    if batch.rejected:  # read_answer checks what decode_event does: this is a bug if it ever happens
        return refuse(f"unusable answer: {batch.rejected[0].reason}", RejectionClass.CONTRACT, raw, 400)
    stored = accept_batch(db, batch, topic_name=IVR_TOPIC, raw=raw, received_at=received_at,
                          channel_of_source=producer.channel, policy=arrival_policy_from(current_app.config))
    if stored is None:
        limiter.refused(source_id)
        reason = next(db.query("SELECT reason FROM rejected WHERE kiosk = ? ORDER BY last_seen DESC, id DESC LIMIT 1",
                               [source_id]), {"reason": "rejected"})["reason"]
        return jsonify({"error": reason}), 422
    event_id = call_event_id(source_id, answer.call_id)
    if stored.ack.rejected:  # dated further back than the arrival policy allows
        return jsonify({"error": stored.ack.rejected[0][1], "event": event_id}), 422
    if stored.new_ratings:
        live_hub().announce(stored.site, stored.new_ratings)
        return jsonify({"stored": True, "duplicate": False, "event": event_id, "rating": answer.rating}), 201
    if db.conn.execute("SELECT 1 FROM events WHERE id = ?", [event_id]).fetchone() is None:
        # Posted before and refused then (too old): the same answer again is refused again.
        earlier = db.conn.execute("SELECT reason FROM rejected WHERE kiosk = ? AND epoch = ? AND seq = 1",
                                  [source_id, event_id]).fetchone()
        return jsonify({"error": earlier[0] if earlier else "refused earlier", "event": event_id}), 422
    return jsonify({"stored": False, "duplicate": True, "event": event_id}), 200

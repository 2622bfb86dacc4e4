"""POST /api/v1/events: the same batch and ack as MQTT, for HTTP sources (web, phone)."""

from __future__ import annotations

from flask import Blueprint, current_app, g, jsonify, request

from collector.arrivals import arrival_policy_from
from collector.intake import accept_batch, refusal_class
from collector.registry import get_producer
from collector.rejections import RefusalLimiter, RejectionClass, record_rejection
from collector.tokens import TokenKind
from collector.web import get_db, live_hub
from collector.web.auth import require_token
from ressenti.errors import BadBatch
from ressenti.protocol import MAX_BATCH_BYTES, decode_batch, utc_now

bp = Blueprint("api_events", __name__, url_prefix="/api/v1")

HTTP_TOPIC = "POST /api/v1/events"


def _limiter() -> RefusalLimiter:
    """This web process's refusal budget per source (a leaked token flooding costs bounded work)."""
    limiter: RefusalLimiter = current_app.extensions.setdefault("ressenti_refusals", RefusalLimiter())
    return limiter


@bp.post("/events")
@require_token(TokenKind.SOURCE)
def post_events():  # type: ignore[no-untyped-def]
    db = get_db()
    received_at = utc_now()
    source_id = g.token.subject
    limiter = _limiter()

    def refuse(reason: str, reason_class: RejectionClass, raw: bytes, status: int):  # type: ignore[no-untyped-def]
        record_rejection(db, reason=reason, raw=raw, topic=HTTP_TOPIC, received_at=received_at, kiosk=source_id,
                         reason_class=reason_class)
        limiter.refused(source_id)
        return jsonify({"error": reason}), status

    if limiter.limited(source_id):
        return refuse("rate limited: too many refused batches from this source; retry later",
                      RejectionClass.RATE_LIMITED, b"", 429)
    if (request.content_length or 0) > MAX_BATCH_BYTES:
        return refuse(f"batch of {request.content_length} bytes: a batch is at most {MAX_BATCH_BYTES} bytes",
                      RejectionClass.TOO_LARGE, request.stream.read(4096), 413)
    raw = request.get_data(cache=False)
    if len(raw) > MAX_BATCH_BYTES:
        return refuse(f"batch of {len(raw)} bytes: a batch is at most {MAX_BATCH_BYTES} bytes",
                      RejectionClass.TOO_LARGE, raw, 413)
    try:
        batch = decode_batch(raw)
    except BadBatch as exc:
        return refuse(f"unusable batch: {exc}", refusal_class(exc), raw, 400)
    if batch.kiosk != source_id:
        return refuse(f"this token is for source {source_id!r}, not {batch.kiosk!r}", RejectionClass.WRONG_SOURCE,
                      raw, 403)
    producer = get_producer(db, source_id)
    stored = accept_batch(db, batch, topic_name=HTTP_TOPIC, raw=raw, received_at=received_at,
                          channel_of_source=producer.channel if producer else None,
                          policy=arrival_policy_from(current_app.config))
    if stored is None:
        limiter.refused(source_id)
        reason = next(db.query("SELECT reason FROM rejected WHERE kiosk = ? ORDER BY last_seen DESC, id DESC LIMIT 1",
                               [source_id]), {"reason": "rejected"})["reason"]
        return jsonify({"error": reason}), 422
    if stored.new_ratings:
        live_hub().announce(stored.site, stored.new_ratings)
    return jsonify({"v": 1, "epoch": stored.ack.epoch, "through": stored.ack.through,
                    "rejected": [{"seq": s, "reason": r} for s, r in stored.ack.rejected]})

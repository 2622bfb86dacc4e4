"""POST /api/v1/events: the same batch and ack as MQTT, for HTTP sources (web, phone)."""

from __future__ import annotations

from flask import Blueprint, g, jsonify, request

from collector.intake import accept_batch
from collector.registry import get_producer
from collector.store import record_rejection
from collector.tokens import TokenKind
from collector.web import get_db, live_hub
from collector.web.auth import require_token
from ressenti.errors import BadBatch
from ressenti.protocol import MAX_BATCH_BYTES, decode_batch, utc_now

bp = Blueprint("api_events", __name__, url_prefix="/api/v1")

HTTP_TOPIC = "POST /api/v1/events"


@bp.post("/events")
@require_token(TokenKind.SOURCE)
def post_events():  # type: ignore[no-untyped-def]
    db = get_db()
    raw = request.get_data(cache=False)
    received_at = utc_now()
    source_id = g.token.subject
    if len(raw) > MAX_BATCH_BYTES:
        record_rejection(db, reason=f"batch of {len(raw)} bytes over {MAX_BATCH_BYTES}", raw=raw[:4096],
                         topic=HTTP_TOPIC, received_at=received_at, kiosk=source_id)
        return jsonify({"error": f"a batch is at most {MAX_BATCH_BYTES} bytes"}), 413
    try:
        batch = decode_batch(raw)
    except BadBatch as exc:
        record_rejection(db, reason=f"unusable batch: {exc}", raw=raw, topic=HTTP_TOPIC,
                         received_at=received_at, kiosk=source_id)
        return jsonify({"error": f"unusable batch: {exc}"}), 400
    if batch.kiosk != source_id:
        return jsonify({"error": f"this token is for source {source_id!r}, not {batch.kiosk!r}"}), 403
    producer = get_producer(db, source_id)
    stored = accept_batch(db, batch, topic_name=HTTP_TOPIC, raw=raw, received_at=received_at,
                          channel_of_source=producer.channel if producer else None)
    if stored is None:
        reason = next(db.query("SELECT reason FROM rejected WHERE kiosk = ? ORDER BY id DESC LIMIT 1",
                               [source_id]), {"reason": "rejected"})["reason"]
        return jsonify({"error": reason}), 422
    if stored.new_ratings:
        live_hub().announce(stored.site, stored.new_ratings)
    return jsonify({"v": 1, "epoch": stored.ack.epoch, "through": stored.ack.through,
                    "rejected": [{"seq": s, "reason": r} for s, r in stored.ack.rejected]})

"""The live wall display: `/wall/<token>`, a page, and its Server-Sent Events stream (snapshot, then updates).

The token is a read-only wall token (an organisation or a list of sites). A
revoked token ends its streams within seconds, and the display then says
"this link is no longer valid" instead of trying again forever.
"""

from __future__ import annotations

import queue
import time
from collections.abc import Iterator

from flask import Blueprint, Response, g, jsonify, render_template, request, stream_with_context

from collector.tokens import Token, TokenError, TokenKind, verify_token
from collector.web import get_db, live_hub
from collector.web.live import REVOKED, sse
from ressenti.faces import FACE_LABELS

bp = Blueprint("wall", __name__, url_prefix="/wall")

CHECK_S = 2.0  # how often an idle stream re-checks its token
KEEPALIVE_S = 15.0  # the display reconnects if it hears nothing for 45 s
# A fresh snapshot now and then turns the display over at midnight, and
# shows kiosks that went silent without a Last Will as offline.
RESNAPSHOT_S = 60.0
ROTATE_S = 15
WALL_HEADERS = {"Referrer-Policy": "no-referrer", "X-Robots-Tag": "noindex", "Cache-Control": "no-store"}


def _token(secret: str) -> Token | None:
    try:
        return verify_token(get_db(), secret, TokenKind.WALL)
    except TokenError:
        return None


def _lang() -> str:
    return "en" if request.args.get("lang") == "en" else "fr"


def _gone(as_json: bool):  # type: ignore[no-untyped-def]
    if as_json:
        return jsonify({"error": "this wall link is no longer valid"}), 410, WALL_HEADERS
    return render_template("wall/invalid.html", lang=_lang()), 410, WALL_HEADERS


@bp.get("/<token>")
def page(token: str):  # type: ignore[no-untyped-def]
    wall = _token(token)
    if wall is None:
        return _gone(False)
    labels = {scale: {r: list(names) for r, names in faces.items()} for scale, faces in FACE_LABELS.items()}
    # Seconds each page of sites stays up when they do not fit on one screen (?rotate=20).
    rotate_s = min(max(request.args.get("rotate", ROTATE_S, type=int), 3), 300)
    return render_template("wall/wall.html", lang=_lang(), labels=labels, rotate_s=rotate_s), 200, WALL_HEADERS


@bp.get("/<token>/check")
def check(token: str):  # type: ignore[no-untyped-def]
    """Asked by a display before it reconnects: 204 if its link still works, 410 if not."""
    return ("", 204, WALL_HEADERS) if _token(token) else _gone(True)


MAX_BATCH = 64
_GOING = ""  # `_next_messages` found no end marker


def _next_messages(inbox: queue.Queue[str | None]) -> tuple[list[str], str | None]:
    """Wait up to CHECK_S for a message, then take whatever else is already waiting.

    Returns the messages and what ended the batch: `_GOING` (nothing special), None (the hub
    ended the stream) or REVOKED.
    """
    messages: list[str] = []
    try:
        item = inbox.get(timeout=CHECK_S)
        while True:
            if item is None or item == REVOKED:
                return messages, item
            messages.append(item)
            if len(messages) >= MAX_BATCH:
                break
            item = inbox.get_nowait()
    except queue.Empty:
        pass
    return messages, _GOING


@bp.get("/<token>/stream")
def stream(token: str):  # type: ignore[no-untyped-def]
    wall = _token(token)
    if wall is None:
        return _gone(True)
    hub = live_hub()
    site_ids = {s.id for s in hub.wall_sites(wall.subject)}
    db = g.pop("db", None)
    if db is not None:
        db.close()  # a stream lasts hours; it needs no connection of its own (the hub reads for it)

    def events() -> Iterator[str]:
        sub = hub.subscribe(site_ids, token_id=wall.id)  # before the snapshot, so nothing falls between
        try:
            yield "retry: 5000\n\n"
            yield sse("snapshot", hub.snapshot(sub.sites))
            last_sent = last_snapshot = time.monotonic()
            while not sub.closed.is_set():
                messages, end = _next_messages(sub.queue)
                if end == REVOKED or not hub.token_active(wall.id):
                    yield "".join(messages) + sse("revoked", {})
                    return
                now = time.monotonic()
                if messages:
                    yield "".join(messages)  # one write for all that waited: a busy wall costs less
                    last_sent = now
                if end is None:
                    return  # the hub stopped or cut this display off: it reconnects
                if now - last_snapshot >= RESNAPSHOT_S:
                    sub.sites = {s.id for s in hub.wall_sites(wall.subject)}  # an organisation may grow
                    yield sse("snapshot", hub.snapshot(sub.sites))
                    last_sent = last_snapshot = now
                elif now - last_sent >= KEEPALIVE_S:
                    yield sse("ping", {})
                    last_sent = now
        finally:
            hub.unsubscribe(sub)

    return Response(stream_with_context(events()), mimetype="text/event-stream", headers={
        **WALL_HEADERS, "X-Accel-Buffering": "no",
    })

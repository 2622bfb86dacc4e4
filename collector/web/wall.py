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
# The thank-you moment: a day whose filtered answers are this satisfied, and at least MIN_CELL of them
# (fewer would make a lucky morning a "good day").
THANKS_SHARE = 0.8
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


def _page():  # type: ignore[no-untyped-def]
    labels = {scale: {r: list(names) for r, names in faces.items()} for scale, faces in FACE_LABELS.items()}
    # Seconds each page of sites stays up when they do not fit on one screen (?rotate=20).
    rotate_s = min(max(request.args.get("rotate", ROTATE_S, type=int), 3), 300)
    from flask import current_app
    config = {"lang": _lang(), "labels": labels, "rotate_s": rotate_s,
              "thanks": {"share": THANKS_SHARE, "min_answers": current_app.config["MIN_CELL"]}}
    return render_template("wall/wall.html", lang=_lang(), config=config), 200, WALL_HEADERS


@bp.get("/<token>")
def page(token: str):  # type: ignore[no-untyped-def]
    return _page() if _token(token) else _gone(False)


# `/wall` without a token: the wall of the logged-in user's sites (a manager's
# own screen), or of every site where PUBLIC_WALL is set (the demo on
# 127.0.0.1). Anyone else is sent to the login page.

def _own_sites() -> set[str] | None:
    """The sites of `/wall` for this request; None if it may not see any."""
    from flask import current_app

    from collector.web.access import current_user
    from collector.web.scope import visible_sites

    if current_app.config.get("PUBLIC_WALL"):
        from collector.registry import list_sites
        return {s.id for s in list_sites(get_db())}
    user = current_user()
    return {s.id for s in visible_sites(get_db(), user)} if user else None


@bp.get("")
def own_page():  # type: ignore[no-untyped-def]
    from flask import redirect, url_for
    if _own_sites() is None:
        return redirect(url_for("login.login", next=request.path))
    return _page()


@bp.get("/check")
def own_check():  # type: ignore[no-untyped-def]
    return ("", 204, WALL_HEADERS) if _own_sites() is not None else _gone(True)


@bp.get("/stream")
def own_stream():  # type: ignore[no-untyped-def]
    sites = _own_sites()
    if sites is None:
        return _gone(True)
    return _stream(sites, token_id=None, subject=None)


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
    return _stream({s.id for s in live_hub().wall_sites(wall.subject)}, token_id=wall.id, subject=wall.subject)


def _stream(site_ids: set[str], *, token_id: int | None, subject: str | None):  # type: ignore[no-untyped-def]
    """The SSE response: snapshot, then updates; ends when its wall token is revoked."""
    hub = live_hub()
    db = g.pop("db", None)
    if db is not None:
        db.close()  # a stream lasts hours; it needs no connection of its own (the hub reads for it)

    def events() -> Iterator[str]:
        sub = hub.subscribe(site_ids, token_id=token_id)  # before the snapshot, so nothing falls between
        try:
            yield "retry: 5000\n\n"
            yield sse("snapshot", hub.snapshot(sub.sites))
            last_sent = last_snapshot = time.monotonic()
            while not sub.closed.is_set():
                messages, end = _next_messages(sub.queue)
                if end == REVOKED or (token_id is not None and not hub.token_active(token_id)):
                    yield "".join(messages) + sse("revoked", {})
                    return
                now = time.monotonic()
                if messages:
                    yield "".join(messages)  # one write for all that waited: a busy wall costs less
                    last_sent = now
                if end is None:
                    return  # the hub stopped or cut this display off: it reconnects
                if now - last_snapshot >= RESNAPSHOT_S:
                    if subject is not None:  # an organisation may grow
                        sub.sites = {s.id for s in hub.wall_sites(subject)}
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

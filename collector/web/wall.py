"""The live wall display: `/wall/<token>`, a page, and its Server-Sent Events stream (snapshot, then updates).

The token is a read-only wall token (an organisation or a list of sites). A
revoked token ends its streams within seconds, and the display then says
"this link is no longer valid" instead of trying again forever.
"""

from __future__ import annotations

import queue
import select
import socket
import time
from collections.abc import Callable, Iterator

from flask import Blueprint, Response, g, jsonify, render_template, request, stream_with_context

from collector.tokens import Token, TokenError, TokenKind, verify_token
from collector.web import get_db, live_hub, streams_gate
from collector.web.live import REVOKED, sse
from collector.web.stream_limits import Key, Scope, Ticket, address_key, token_key, user_key
from ressenti.faces import FACE_LABELS

bp = Blueprint("wall", __name__, url_prefix="/wall")

CHECK_S = 2.0  # how often an idle stream re-checks its token
VIEWER_CHECK_S = 5.0  # how often a logged-in viewer's stream re-reads their account (and on each delivery)
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


def _viewer_keys() -> list[Key]:
    """What a stream of `/wall` counts against: the logged-in user (none on the public demo wall)."""
    from collector.web.access import current_user
    user = current_user()
    return [user_key(user.id)] if user is not None else []


@bp.get("/check")
def own_check():  # type: ignore[no-untyped-def]
    return _checked([address_key(request.remote_addr), *_viewer_keys()]) if _own_sites() is not None \
        else _gone(True)


@bp.get("/stream")
def own_stream():  # type: ignore[no-untyped-def]
    sites = _own_sites()
    if sites is None:
        return _gone(True)
    keys = _viewer_keys()
    return _stream(sites, [address_key(request.remote_addr), *keys], token_id=None, subject=None,
                   viewer_sites=_own_sites_again if keys else None)


@bp.get("/<token>/check")
def check(token: str):  # type: ignore[no-untyped-def]
    """Asked by a display before it reconnects: 204 if its link still works, 410 if not, 429 (with
    Retry-After) while it has as many streams open as it may."""
    wall = _token(token)
    return _checked([address_key(request.remote_addr), token_key(wall.id)]) if wall else _gone(True)


def _checked(keys: list[Key]):  # type: ignore[no-untyped-def]
    full = streams_gate().refusal(keys)
    return ("", 204, WALL_HEADERS) if full is None else _too_many(full)


def _too_many(full: Scope):  # type: ignore[no-untyped-def]
    retry = streams_gate().limits.retry_after_s
    return jsonify({"error": f"too many live streams open ({full} limit); try again in {retry} s",
                    "limit": str(full)}), 429, {**WALL_HEADERS, "Retry-After": str(retry)}


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
    return _stream({s.id for s in live_hub().wall_sites(wall.subject)},
                   [address_key(request.remote_addr), token_key(wall.id)], token_id=wall.id, subject=wall.subject)


def _client_gone(sock: socket.socket | None) -> bool:
    """Has the display closed its connection? An idle stream writes only every KEEPALIVE_S, so without
    asking the socket, a display that left would hold its place (and a thread) that long."""
    if sock is None:
        return False  # not under gunicorn: the next write tells
    try:
        poller = select.poll()
        poller.register(sock, select.POLLIN | select.POLLHUP | select.POLLERR)
        if not poller.poll(0):
            return False
        return sock.recv(1, socket.MSG_PEEK | socket.MSG_DONTWAIT) == b""
    except BlockingIOError:
        return False
    except ValueError:
        return False  # a TLS socket cannot peek: the next write tells
    except OSError:
        return True  # reset by the display


def _own_sites_again() -> set[str] | None:
    """`_own_sites` read afresh (through the hub's connection: the stream keeps none of its own)."""
    g.pop("user", None)  # current_user() caches its answer for the request; a stream lasts hours
    with live_hub().database() as db:
        g.db = db
        try:
            return _own_sites()
        finally:
            g.pop("db", None)
            g.pop("user", None)


def _stream(site_ids: set[str], keys: list[Key], *, token_id: int | None, subject: str | None,  # type: ignore[no-untyped-def]
            viewer_sites: Callable[[], set[str] | None] | None = None):
    """The SSE response: snapshot, then updates; ends when its wall token is revoked or, for a
    logged-in viewer (`viewer_sites`), when they may no longer see a wall (checked every
    VIEWER_CHECK_S and before each delivery)."""
    ticket = streams_gate().admit(keys)
    if not isinstance(ticket, Ticket):
        return _too_many(ticket)
    hub = live_hub()
    client = request.environ.get("gunicorn.socket")
    db = g.pop("db", None)
    if db is not None:
        db.close()  # a stream lasts hours; it needs no connection of its own (the hub reads for it)

    def events() -> Iterator[str]:
        sub = hub.subscribe(site_ids, token_id=token_id)  # before the snapshot, so nothing falls between
        try:
            yield "retry: 5000\n\n"
            yield sse("snapshot", hub.snapshot(sub.sites))
            last_sent = last_snapshot = last_viewer_check = time.monotonic()
            while not sub.closed.is_set():
                messages, end = _next_messages(sub.queue)
                now = time.monotonic()
                if viewer_sites is not None and (messages or now - last_viewer_check >= VIEWER_CHECK_S):
                    sites = viewer_sites()
                    last_viewer_check = now
                    if sites is None:
                        yield sse("revoked", {})  # logged out, disabled, password changed: nothing more
                        return
                    if sites != sub.sites:  # their scope changed: what waited may be of a site now hidden
                        sub.sites, messages, last_snapshot = sites, [], now - RESNAPSHOT_S
                if end == REVOKED or (token_id is not None and not hub.token_active(token_id)):
                    yield "".join(messages) + sse("revoked", {})
                    return
                if messages:
                    yield "".join(messages)  # one write for all that waited: a busy wall costs less
                    last_sent = now
                if end is None or (not messages and _client_gone(client)):
                    return  # the hub stopped or cut this display off (it reconnects), or it left
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

    response = Response(stream_with_context(events()), mimetype="text/event-stream", headers={
        **WALL_HEADERS, "X-Accel-Buffering": "no",
    })
    # Called by the server when the stream ends, even one that never started (a client gone at once).
    response.call_on_close(ticket.release)
    return response


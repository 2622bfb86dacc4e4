"""The live wall display: a page, and a Server-Sent Events stream (snapshot, then updates)."""

from __future__ import annotations

import queue
from collections.abc import Iterator

from flask import Blueprint, Response, render_template, request, stream_with_context

from collector.web import live_hub
from collector.web.live import sse
from ressenti.faces import FACE_LABELS

bp = Blueprint("wall", __name__, url_prefix="/wall")

KEEPALIVE_S = 15
# A fresh snapshot now and then also turns the display over at midnight.
RESNAPSHOT_S = 60


@bp.get("")
def page():  # type: ignore[no-untyped-def]
    lang = "en" if request.args.get("lang") == "en" else "fr"
    labels = {scale: {r: list(names) for r, names in faces.items()} for scale, faces in FACE_LABELS.items()}
    return render_template("wall/wall.html", lang=lang, labels=labels,
                           sites=request.args.get("sites", ""))


def _sites_arg() -> set[str] | None:
    raw = request.args.get("sites", "")
    return {s for s in raw.split(",") if s} or None


@bp.get("/stream")
def stream():  # type: ignore[no-untyped-def]
    hub = live_hub()
    sites = _sites_arg()

    def events() -> Iterator[str]:
        sub = hub.subscribe(sites)  # before the snapshot, so nothing falls between
        try:
            yield "retry: 2000\n\n"
            yield sse("snapshot", hub.snapshot(sites))
            idle = 0.0
            while True:
                try:
                    message = sub.queue.get(timeout=KEEPALIVE_S)
                except queue.Empty:
                    idle += KEEPALIVE_S
                    if idle >= RESNAPSHOT_S:
                        idle = 0.0
                        yield sse("snapshot", hub.snapshot(sites))
                    else:
                        yield ": keepalive\n\n"
                    continue
                if message is None:
                    return
                yield message
        finally:
            hub.unsubscribe(sub)

    return Response(stream_with_context(events()), mimetype="text/event-stream", headers={
        "Cache-Control": "no-cache", "X-Accel-Buffering": "no",
    })

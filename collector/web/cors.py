"""CORS for the public read routes only: any origin may GET them from a browser, never with credentials."""

from __future__ import annotations

from flask import Response, request


def allow_any_origin(response: Response) -> Response:
    """`Access-Control-Allow-Origin: *` on GET answers. With `*`, browsers send no cookie and let no
    page read an answer made with one; routes that take credentials never call this."""
    if request.method in ("GET", "HEAD"):
        response.headers["Access-Control-Allow-Origin"] = "*"
        response.vary.add("Origin")
    return response

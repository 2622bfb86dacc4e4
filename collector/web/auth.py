"""Bearer-token checks for API routes."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from flask import g, jsonify, request

from collector.tokens import TokenError, TokenKind, verify_token
from collector.web import get_db


def bearer() -> str | None:
    header = request.headers.get("Authorization", "")
    return header[7:].strip() if header.startswith("Bearer ") else None


def require_token(kind: TokenKind) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Route decorator: 401 without a valid token of this kind; the token is in g.token."""
    def decorator(view: Callable[..., Any]) -> Callable[..., Any]:
        @wraps(view)
        def wrapped(*args: Any, **kwargs: Any) -> Any:
            try:
                g.token = verify_token(get_db(), bearer(), kind)
            except TokenError as exc:
                response = jsonify({"error": str(exc)})
                response.headers["WWW-Authenticate"] = "Bearer"
                return response, 401
            return view(*args, **kwargs)
        return wrapped
    return decorator

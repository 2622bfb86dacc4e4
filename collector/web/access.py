"""Who is asking: the logged-in user (session cookie), role checks, and the pages that need neither.

Every page needs a logged-in user unless its blueprint is public (login, token
walls, JSON API): the rule is applied once here, before any view, so a new page
cannot forget it.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from flask import Flask, abort, current_app, g, redirect, render_template, request, session, url_for
from flask_wtf.csrf import CSRFError

from collector.sessions import close_session, open_session, purge_sessions, session_user
from collector.users import Role, User, get_user


def login_user(user: User) -> None:
    """A fresh session, server-side record and cookie: nothing from before survives (fixation)."""
    from collector.web import get_db
    db = get_db()
    purge_sessions(db, current_app.permanent_session_lifetime)  # retention: ended rows go at each login
    keep_lang = session.get("lang")
    session.clear()
    session.permanent = True
    session["sid"] = open_session(db, user.id)
    if keep_lang:
        session["lang"] = keep_lang


def logout_user() -> None:
    """Ends the session server-side too: a copy of the cookie no longer logs anyone in (issue 17)."""
    sid = session.get("sid")
    if isinstance(sid, str):
        from collector.web import get_db
        close_session(get_db(), sid)
    keep_lang = session.get("lang")
    session.clear()
    if keep_lang:
        session["lang"] = keep_lang


def current_user(*, fresh: bool = False) -> User | None:
    """The user of this request's session while its record lives (collector/sessions.py), else None.

    Read once per request; `fresh=True` reads again, for a response that lasts (a stream) and
    must notice a logout or a disabled account.
    """
    if fresh:
        g.pop("user", None)
    if "user" not in g:
        g.user = None
        sid = session.get("sid")
        if isinstance(sid, str):
            from collector.web import get_db
            db = get_db()
            uid = session_user(db, sid, current_app.permanent_session_lifetime)
            user = get_user(db, uid) if uid is not None else None
            if user is not None and not user.disabled:
                g.user = user
    return g.user  # type: ignore[no-any-return]


def require_role(role: Role) -> Callable[[], None]:
    """A blueprint's before_request: 403 below this role."""
    def check() -> None:
        user = current_user()
        if user is None or not user.at_least(role):
            abort(403)
    return check


def role_required(role: Role) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    def decorator(view: Callable[..., Any]) -> Callable[..., Any]:
        @wraps(view)
        def wrapped(*args: Any, **kwargs: Any) -> Any:
            require_role(role)()
            return view(*args, **kwargs)
        return wrapped
    return decorator


def _is_html_page() -> bool:
    return request.blueprint not in ("api", "api_admin", "api_alerts", "api_events", "api_survey")


def install(app: Flask, public_blueprints: frozenset[str]) -> None:
    @app.before_request
    def login_wall() -> Any:
        if request.endpoint is None or request.endpoint == "static":
            return None
        if request.blueprint in public_blueprints:
            return None
        if current_user() is None:
            target = request.full_path if request.query_string else request.path
            return redirect(url_for("login.login", next=target))
        return None

    @app.context_processor
    def user_in_templates() -> dict[str, Any]:
        return {"current_user": current_user(), "Role": Role}

    @app.after_request
    def security_headers(response):  # type: ignore[no-untyped-def]
        # Only the public results' embed variant may be framed, by any site (issue 13).
        embeddable = bool(g.get("embeddable")) and response.status_code == 200
        ancestors = "*" if embeddable else "'none'"
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        if not embeddable:
            response.headers.setdefault("X-Frame-Options", "DENY")
        response.headers.setdefault("Referrer-Policy", "same-origin")
        if response.mimetype == "text/html":
            response.headers.setdefault(
                "Content-Security-Policy",
                "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self';"
                f" frame-ancestors {ancestors}; form-action 'self';"
                " base-uri 'none'")
        if current_user() is not None and _is_html_page():
            response.headers.setdefault("Cache-Control", "no-store")
        return response

    def error_page(code: int, title: tuple[str, str], text: tuple[str, str]):  # type: ignore[no-untyped-def]
        def handler(error: Exception):  # type: ignore[no-untyped-def]
            if not _is_html_page():
                return error  # the API blueprints answer JSON themselves
            return render_template("errors/error.html", code=code, title=title, text=text), code
        return handler

    app.register_error_handler(403, error_page(
        403, ("Accès refusé", "Access denied"),
        ("Votre compte ne donne pas accès à cette page.", "Your account cannot open this page.")))
    app.register_error_handler(404, error_page(
        404, ("Page introuvable", "Page not found"),
        ("Cette adresse ne correspond à aucune page.", "There is no page at this address.")))
    app.register_error_handler(CSRFError, error_page(
        400, ("Formulaire expiré", "Form expired"),
        ("Le formulaire n'était plus valide. Rechargez la page et recommencez.",
         "The form was no longer valid. Reload the page and try again.")))

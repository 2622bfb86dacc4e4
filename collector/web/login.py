"""Login and logout: hashed passwords, a fresh session, and rate limiting per login and address."""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import Blueprint, redirect, render_template, request, url_for

from collector.login_attempts import ATTEMPT_WINDOW, finish_attempt, reserve_attempt
from collector.users import authenticate
from collector.web import get_db
from collector.web.access import current_user, login_user, logout_user
from collector.web.i18n import t

bp = Blueprint("login", __name__)

MAX_NEXT_CHARS = 2048


def safe_next(target: str | None) -> str:
    """`target` if it is a path on this site, else the dashboard: never an open redirect (issue 17).

    Browsers strip tabs and newlines from a URL and read `\\` as `/`, so `/<tab>/evil.example`
    becomes `//evil.example`, another host. Rather than guess every browser's cleaning, only
    printable ASCII without spaces or backslashes is accepted, and it must parse as a bare path.
    """
    if (not target or len(target) > MAX_NEXT_CHARS or not target.isascii() or not target.isprintable()
            or " " in target or "\\" in target):
        return url_for("dashboard.overview")
    parts = urlsplit(target)  # `///x` parses as the path `/x`: the raw value is checked too
    if not target.startswith("/") or target.startswith("//") or parts.scheme or parts.netloc:
        return url_for("dashboard.overview")
    return target


@bp.route("/login", methods=["GET", "POST"])
def login():  # type: ignore[no-untyped-def]
    next_url = safe_next(request.values.get("next"))
    if request.method == "GET":
        if current_user() is not None:
            return redirect(next_url)
        first_run = get_db()["users"].count == 0
        return render_template("login/login.html", next=next_url, error=None, login="", first_run=first_run)
    db = get_db()
    login_name = request.form.get("login", "").strip()[:64]
    password = request.form.get("password", "")
    address = request.remote_addr or "unknown"
    attempt = reserve_attempt(db, login_name, address)  # before the hash is checked: the limit holds
    if attempt is None:
        minutes = int(ATTEMPT_WINDOW.total_seconds() // 60)
        error = t(f"Trop d'essais infructueux. Réessayez dans {minutes} minutes.",
                  f"Too many failed attempts. Try again in {minutes} minutes.")
        response = render_template("login/login.html", next=next_url, error=error, login=login_name)
        return response, 429, {"Retry-After": str(int(ATTEMPT_WINDOW.total_seconds()))}
    user = authenticate(db, login_name, password)
    finish_attempt(db, attempt, ok=user is not None)
    if user is None:
        error = t("Identifiant ou mot de passe incorrect.", "Wrong login or password.")
        return render_template("login/login.html", next=next_url, error=error, login=login_name), 401
    login_user(user)
    return redirect(next_url)


@bp.post("/logout")
def logout():  # type: ignore[no-untyped-def]
    logout_user()
    return redirect(url_for("login.login"))

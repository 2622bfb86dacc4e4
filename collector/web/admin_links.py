"""The old address of the survey links page, /admin/survey-links, kept for bookmarks.

Links, their QR cards and the website button now live on one page, /admin/survey
(collector/web/survey_admin.py), which checks each link against the caller's scope.
"""

from __future__ import annotations

from flask import Blueprint, redirect, request, url_for

from collector.users import Role
from collector.web.access import require_role

bp = Blueprint("admin_links", __name__, url_prefix="/admin/survey-links")
bp.before_request(require_role(Role.MANAGER))


@bp.get("")
def links():  # type: ignore[no-untyped-def]
    site = request.args.get("site")
    return redirect(url_for("survey_admin.page", **({"site": site} if site else {})), 301)

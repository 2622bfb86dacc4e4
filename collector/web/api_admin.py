"""JSON API v1, admin side (admin bearer token): registry, sources, gaps, rejections, tokens."""

from __future__ import annotations

import base64
from typing import Any

from flask import Blueprint, abort, g, jsonify, request

from collector.audit import seq_gaps
from collector.public_results import org_row, set_published, site_flags
from collector.registry import (
    RegistryError,
    add_kiosk,
    add_site,
    get_producer,
    get_site,
    list_kiosks,
    move_kiosk,
    retire_kiosk,
    update_site,
)
from collector.tokens import TokenKind, create_token, list_tokens, revoke_token
from collector.walls import WallSubjectError, create_wall
from collector.web import get_db, live_hub
from collector.web.api import site_json
from collector.web.auth import require_token
from ressenti.protocol import parse_json

bp = Blueprint("api_admin", __name__, url_prefix="/api/v1")


@bp.before_request
@require_token(TokenKind.ADMIN)
def admin_only() -> None:
    """Every route here needs an admin token."""


@bp.errorhandler(RegistryError)
@bp.errorhandler(WallSubjectError)
def registry_error(exc: RegistryError | WallSubjectError):  # type: ignore[no-untyped-def]
    return jsonify({"error": str(exc)}), 400


@bp.errorhandler(400)
@bp.errorhandler(404)
@bp.errorhandler(405)
@bp.errorhandler(413)
def json_error(error):  # type: ignore[no-untyped-def]
    return jsonify({"error": error.description}), error.code


def _body() -> dict[str, Any]:
    try:
        body = parse_json(request.get_data(cache=True))
    except ValueError:  # not JSON, or nested too deeply (RecursionError, via parse_json)
        body = None
    if not isinstance(body, dict):
        abort(400, "the body must be a JSON object")
    return body


def _field(body: dict[str, Any], key: str, kind: type, default: Any = ...) -> Any:
    if key not in body:
        if default is ...:
            abort(400, f"missing {key!r}")
        return default
    if not isinstance(body[key], kind) or isinstance(body[key], bool) and kind is not bool:
        abort(400, f"{key} must be a {kind.__name__}")
    return body[key]


@bp.post("/sites")
def create_site():  # type: ignore[no-untyped-def]
    body = _body()
    site = add_site(get_db(), _field(body, "id", str), _field(body, "name", str),
                    org=_field(body, "org", str, "default"), tz=_field(body, "tz", str, "Europe/Paris"),
                    scale=_field(body, "scale", int, 4), opening_hours=_field(body, "opening_hours", dict, None))
    return jsonify(site_json(site)), 201


def _admin_site_json(site_id: str) -> dict[str, Any]:
    site = get_site(get_db(), site_id)
    if site is None:
        abort(404, f"no site {site_id!r}")
    return {**site_json(site), "published": site_flags(get_db())[site_id]}


@bp.patch("/sites/<site_id>")
def change_site(site_id: str):  # type: ignore[no-untyped-def]
    """Registry fields, and `published` (false: the site opts out of the public results, issue 13)."""
    body = _body()
    published = _field(body, "published", bool, None)
    changes = {k: v for k, v in body.items() if k != "published"}
    if get_site(get_db(), site_id) is None:
        raise RegistryError(f"no site {site_id!r}")
    if changes:
        update_site(get_db(), site_id, **changes)
    if published is not None:
        set_published(get_db(), "site", site_id, published)
    return jsonify(_admin_site_json(site_id))


@bp.patch("/orgs/<org_id>")
def change_org(org_id: str):  # type: ignore[no-untyped-def]
    """`published`: false takes every site of the organisation out of the public results."""
    published = _field(_body(), "published", bool)
    if not set_published(get_db(), "org", org_id, published):
        abort(404, f"no organisation {org_id!r}")
    org = org_row(get_db(), org_id)
    assert org is not None
    return jsonify({"id": org["id"], "name": org["name"], "published": bool(org["published"])})


@bp.get("/kiosks")
def kiosks():  # type: ignore[no-untyped-def]
    return jsonify(list_kiosks(get_db(), request.args.get("site")))


@bp.post("/kiosks")
def create_kiosk():  # type: ignore[no-untyped-def]
    body = _body()
    add_kiosk(get_db(), _field(body, "id", str), _field(body, "site", str), _field(body, "name", str, None))
    return jsonify(get_producer(get_db(), body["id"]).__dict__), 201


@bp.patch("/kiosks/<kiosk_id>")
def change_kiosk(kiosk_id: str):  # type: ignore[no-untyped-def]
    body = _body()
    db = get_db()
    moved = 0
    if "site" in body:
        moved = move_kiosk(db, kiosk_id, _field(body, "site", str))
    if "name" in body:
        db.conn.execute("UPDATE kiosks SET name = ? WHERE id = ?", (_field(body, "name", str), kiosk_id))
    producer = get_producer(db, kiosk_id)
    if producer is None:
        abort(404, f"no kiosk {kiosk_id!r}")
    return jsonify({**producer.__dict__, "events_moved": moved})


@bp.post("/kiosks/<kiosk_id>/retire")
def retire(kiosk_id: str):  # type: ignore[no-untyped-def]
    retire_kiosk(get_db(), kiosk_id)
    return jsonify(get_producer(get_db(), kiosk_id).__dict__)


@bp.get("/kiosks/<kiosk_id>/gaps")
def gaps(kiosk_id: str):  # type: ignore[no-untyped-def]
    if get_producer(get_db(), kiosk_id) is None:
        abort(404, f"no kiosk {kiosk_id!r}")
    return jsonify({"kiosk": kiosk_id, "gaps": seq_gaps(get_db(), kiosk_id)})


@bp.get("/rejected")
def rejected():  # type: ignore[no-untyped-def]
    limit = min(request.args.get("limit", 100, type=int), 1000)
    rows = get_db().query("SELECT id, received_at AS first_seen, last_seen, count, kiosk, epoch, seq, topic,"
                          " reason_class, reason, raw, raw_len, raw_sha256 FROM rejected"
                          " ORDER BY last_seen DESC, id DESC LIMIT ?", [limit])
    # `raw` is a prefix (base64) of `raw_len` bytes whose SHA-256 is `raw_sha256`.
    return jsonify([{**r, "received_at": r["first_seen"], "raw": base64.b64encode(r["raw"] or b"").decode()}
                    for r in rows])


@bp.get("/late")
def late_arrivals():  # type: ignore[no-untyped-def]
    """Events that arrived days after their local day (flagged `late`), per site, kiosk and day."""
    limit = min(request.args.get("limit", 100, type=int), 1000)
    return jsonify(list(get_db().query(
        "SELECT site, kiosk, day, n, first_arrival, last_arrival FROM late_arrivals"
        " ORDER BY last_arrival DESC LIMIT ?", [limit])))


@bp.post("/sources")
def create_source():  # type: ignore[no-untyped-def]
    """An HTTP producer (web form, phone line) at a site; returns its token once."""
    body = _body()
    db = get_db()
    source_id, site = _field(body, "id", str), _field(body, "site", str)
    add_kiosk(db, source_id, site, _field(body, "name", str, None), channel=_field(body, "channel", str))
    _, secret = create_token(db, TokenKind.SOURCE, source_id, f"source {source_id}")
    return jsonify({"id": source_id, "site": site, "channel": body["channel"], "token": secret}), 201


@bp.get("/tokens")
def tokens():  # type: ignore[no-untyped-def]
    return jsonify(list_tokens(get_db()))


@bp.post("/tokens")
def new_token():  # type: ignore[no-untyped-def]
    body = _body()
    kind = _field(body, "kind", str)
    if kind not in (TokenKind.ADMIN, TokenKind.WALL):
        abort(400, "kind must be admin or wall (source tokens come with POST /sources)")
    subject, label = _field(body, "subject", str, ""), _field(body, "label", str, f"made by token {g.token.id}")
    if kind == TokenKind.WALL:  # org:<id> / site:<id>, or a bare id that names only one of them (else 400)
        token, secret = create_wall(get_db(), subject, label)
    else:
        token, secret = create_token(get_db(), TokenKind(kind), subject, label)
    return jsonify({"id": token.id, "kind": kind, "subject": token.subject, "token": secret}), 201


@bp.delete("/tokens/<int:token_id>")
def delete_token(token_id: int):  # type: ignore[no-untyped-def]
    if not revoke_token(get_db(), token_id):
        abort(404, f"no active token {token_id}")
    live_hub().token_revoked(token_id)  # a wall token's open streams end now
    return jsonify({"id": token_id, "revoked": True})

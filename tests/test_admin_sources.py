"""The admin page for HTTP sources: a phone line created from the web, its token shown once, used, revoked."""

from __future__ import annotations

import re

import pytest
from web_support import login, post_form, quick_user

from collector.db import connect
from collector.registry import add_kiosk, add_site


@pytest.fixture
def admin(client, app):
    db = connect(app.config["DATABASE"])
    quick_user(db, "alice", "admin")
    add_site(db, "mairie", "Mairie", scale=4)
    add_kiosk(db, "mairie-borne-1", "mairie")
    db.close()
    login(client, "alice")
    return client


def test_a_phone_source_is_created_its_token_works_once_shown_and_revoking_stops_it(admin, app):
    made = post_form(admin, "/admin/sources", "/admin/sources",
                     {"id": "mairie-tel", "name": "Ligne accueil", "site": "mairie", "channel": "phone"})
    assert made.status_code == 201
    token = re.search(r'value="(rst_source_[^"]+)" data-testid="new-source-token"', made.get_data(as_text=True))
    assert token, "the token is shown in the answer"
    secret = token.group(1)
    ivr = app.test_client()
    auth = {"Authorization": f"Bearer {secret}"}
    assert ivr.post("/api/v1/ivr", data={"rating": "4", "call_id": "c-1"}, headers=auth).status_code == 201
    listing = admin.get("/admin/sources").get_data(as_text=True)
    assert "Ligne accueil" in listing and "Téléphone" in listing
    assert secret not in listing, "the secret is never shown again"
    token_id = re.search(r'action="/admin/sources/tokens/(\d+)/revoke"', listing).group(1)
    revoked = post_form(admin, "/admin/sources", f"/admin/sources/tokens/{token_id}/revoke", {})
    assert revoked.status_code == 302
    assert ivr.post("/api/v1/ivr", data={"rating": "4", "call_id": "c-2"}, headers=auth).status_code == 401
    assert "révoqué" in admin.get("/admin/sources").get_data(as_text=True)
    # A new token for the same source: its figures stay, the line works again.
    renewed = post_form(admin, "/admin/sources", "/admin/sources/mairie-tel/tokens", {})
    fresh = re.search(r'value="(rst_source_[^"]+)"', renewed.get_data(as_text=True)).group(1)
    assert fresh != secret
    assert ivr.post("/api/v1/ivr", data={"rating": "2", "call_id": "c-3"},
                    headers={"Authorization": f"Bearer {fresh}"}).status_code == 201
    db = connect(app.config["DATABASE"])
    assert [r["rating"] for r in db.query("SELECT rating FROM events ORDER BY received_at")] == [4, 2]
    db.close()


@pytest.mark.parametrize(("form", "field", "says"), [
    ({"id": "Mairie Tel", "site": "mairie", "channel": "phone"}, "id", "minuscules"),
    ({"id": "mairie-borne-1", "site": "mairie", "channel": "phone"}, "id", "déjà pris"),
    ({"id": "mairie-tel", "site": "nowhere", "channel": "phone"}, "site", "Choisissez un site"),
    ({"id": "mairie-tel", "site": "mairie", "channel": "fax"}, "channel", "web ou téléphone"),
])
def test_a_refused_source_says_why_next_to_the_field(admin, app, form, field, says):
    refused = post_form(admin, "/admin/sources", "/admin/sources", form)
    assert refused.status_code == 400
    error = re.search(rf'<p class="field-error" id="err-{field}">([^<]+)</p>', refused.get_data(as_text=True))
    assert error and says in error.group(1)
    db = connect(app.config["DATABASE"])
    assert db.execute("SELECT COUNT(*) FROM tokens WHERE kind = 'source'").fetchone()[0] == 0
    db.close()


def test_a_kiosk_gets_no_source_token_and_an_admin_token_cannot_be_revoked_here(admin, app):
    assert post_form(admin, "/admin/sources", "/admin/sources/mairie-borne-1/tokens", {}).status_code == 404
    from collector.tokens import TokenKind, create_token
    db = connect(app.config["DATABASE"])
    admin_token, _ = create_token(db, TokenKind.ADMIN, label="x")
    db.close()
    assert post_form(admin, "/admin/sources", f"/admin/sources/tokens/{admin_token.id}/revoke", {}).status_code == 404

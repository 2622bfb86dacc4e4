"""Alert webhooks against a real local HTTP receiver that checks the HMAC signature; settings refused clearly."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from alerts_support import SmtpServer, WebhookReceiver, add_change

from collector.alerts.delivery import delivery_failures, run_delivery_once
from collector.alerts.delivery_settings import from_env
from collector.alerts.webhook import WebhookError, add_webhook, check_url, set_webhook_enabled, sign
from collector.db import connect
from collector.registry import add_site
from ressenti.errors import BadConfig

T0 = datetime(2026, 12, 3, 9, 0, tzinfo=UTC)
SECRET = "a-webhook-secret-of-some-length"


@pytest.fixture
def db(tmp_path):
    db = connect(tmp_path / "hooks.db")
    add_site(db, "mairie", "Mairie", org="ville")
    add_site(db, "autre", "Autre commune", org="ailleurs")
    yield db
    db.close()


@pytest.fixture
def settings(tmp_path):
    return from_env(SmtpServer(tmp_path).env(RESSENTI_ALERTS_HOLD_S="0"))  # no users with e-mail: SMTP unused


@pytest.fixture
def receiver():
    r = WebhookReceiver(SECRET, statuses=[500]).start()
    yield r
    r.stop()


def test_webhook_500_then_200_is_retried_with_the_same_signed_body(db, settings, receiver):
    add_webhook(db, receiver.url, "org:ville", secret=SECRET, label="Salon Tchap", now=T0)
    other = WebhookReceiver(SECRET).start()
    try:
        add_webhook(db, other.url, "org:ailleurs", secret=SECRET, now=T0)
        add_change(db, alert_id=7, change="raised", at=T0)
        assert run_delivery_once(db, settings, T0).failed == 1
        (failure,) = delivery_failures(db)
        assert failure["recipient"] == "Salon Tchap" and "HTTP 500" in failure["last_error"]
        assert run_delivery_once(db, settings, T0 + timedelta(seconds=31)).sent == 1
        assert run_delivery_once(db, settings, T0 + timedelta(hours=1)).sent == 0
        assert other.hits == []  # the other organisation's webhook sees nothing of ville
    finally:
        other.stop()
    first, second = receiver.hits
    assert (first.status, second.status) == (500, 200)
    assert first.signature_ok and second.signature_ok
    assert first.body == second.body
    assert first.headers["X-Ressenti-Delivery"] == second.headers["X-Ressenti-Delivery"]
    assert first.headers["X-Ressenti-Timestamp"] != second.headers["X-Ressenti-Timestamp"]  # signed per attempt
    (body,) = receiver.accepted()
    assert body["type"] == "ressenti.alerts" and body["delivery"] == second.headers["X-Ressenti-Delivery"]
    (change,) = body["changes"]
    assert change["change"] == "raised" and change["site"] == "mairie" and change["kind"] == "unhappy_share"
    assert change["summary"] == {"fr": "62 % de visages du bas", "en": "62 % bottom faces"}
    assert change["figures"] == {"answers": 13, "share_pct": 62}
    assert change["url"] == "https://ressenti.ville.example.fr/dashboard?scope=site:mairie"
    assert delivery_failures(db) == []


def test_the_signature_covers_the_timestamp_so_a_replay_with_a_new_one_fails():
    body = b'{"changes":[]}'
    assert sign(SECRET, "1764752400", body) != sign(SECRET, "1764752999", body)
    assert sign(SECRET, "1764752400", body) != sign("another-secret-entirely", "1764752400", body)


def test_a_webhook_that_redirects_or_never_listens_is_a_failure(db, settings):
    redirecting = WebhookReceiver(SECRET, statuses=[302, 302]).start()
    try:
        add_webhook(db, redirecting.url, "all", secret=SECRET, now=T0)
        add_webhook(db, "http://127.0.0.1:9/nobody", "site:mairie", secret=SECRET, now=T0)
        add_change(db, alert_id=1, change="raised", at=T0)
        result = run_delivery_once(db, settings, T0)
    finally:
        redirecting.stop()
    assert (result.sent, result.failed) == (0, 2)
    errors = sorted(f["last_error"] for f in delivery_failures(db))
    assert "HTTP 302" in errors[0] and "unreachable" in errors[1]


def test_a_disabled_webhook_gets_nothing_more(db, settings, receiver):
    hook, _ = add_webhook(db, receiver.url, "all", secret=SECRET, now=T0)
    add_change(db, alert_id=1, change="raised", at=T0)
    run_delivery_once(db, settings, T0)  # 500: to be retried
    set_webhook_enabled(db, hook, False)
    add_change(db, alert_id=2, change="raised", at=T0, kind="silence")
    run_delivery_once(db, settings, T0 + timedelta(minutes=10))
    assert len(receiver.hits) == 1
    assert delivery_failures(db)[0]["state"] == "dropped"


@pytest.mark.parametrize(("url", "scope", "why"), [
    ("ftp://example.org/hook", "all", r"must be an http\(s\) address"),
    ("https://user:pw@example.org/hook", "all", "user or password"),
    ("https://example.org/hook", "org:nowhere", "no such organisation"),
    ("https://example.org/hook", "site:Bad Id", "must be all"),
])
def test_bad_webhooks_are_refused(db, url, scope, why):
    with pytest.raises(WebhookError, match=why):
        add_webhook(db, url, scope, now=T0)
    with pytest.raises(WebhookError, match="at least 16"):
        add_webhook(db, "https://example.org/hook", "all", secret="short", now=T0)
    assert check_url(" https://example.org/hook ") == "https://example.org/hook"


GOOD = {"RESSENTI_SMTP_HOST": "smtp.ville.fr", "RESSENTI_SMTP_FROM": "alertes@ville.fr",
        "RESSENTI_BASE_URL": "https://ressenti.ville.fr"}


@pytest.mark.parametrize(("change", "message"), [
    ({"RESSENTI_SMTP_HOST": ""}, "RESSENTI_SMTP_HOST is not set"),
    ({"RESSENTI_SMTP_FROM": ""}, "RESSENTI_SMTP_FROM is not set"),
    ({"RESSENTI_SMTP_FROM": "not an address"}, "is not an e-mail address"),
    ({"RESSENTI_BASE_URL": ""}, "RESSENTI_BASE_URL is not set"),
    ({"RESSENTI_BASE_URL": "ressenti.ville.fr"}, "must be an http(s) address"),
    ({"RESSENTI_SMTP_PORT": "99999"}, "must be from 1 to 65535"),
    ({"RESSENTI_SMTP_PORT": "twenty-five"}, "must be a whole number"),
    ({"RESSENTI_SMTP_PORT": "123456789012345678901234567890"}, "must be from 1 to 65535"),
    ({"RESSENTI_SMTP_SECURITY": "ssl3"}, "must be starttls, tls or none"),
    ({"RESSENTI_SMTP_USER": "ressenti"}, "no password"),
    ({"RESSENTI_SMTP_PASSWORD": "secret"}, "no RESSENTI_SMTP_USER"),
    ({"RESSENTI_SMTP_USER": "r", "RESSENTI_SMTP_PASSWORD": "p", "RESSENTI_SMTP_SECURITY": "none"}, "in clear"),
    ({"RESSENTI_SMTP_USER": "r", "RESSENTI_SMTP_PASSWORD_FILE": "/nonexistent/pw"}, "cannot be read"),
    ({"RESSENTI_SMTP_CA_FILE": "/nonexistent/ca.pem"}, "is not a file"),
    ({"RESSENTI_ALERTS_DAILY_CAP": "0"}, "must be from 1"),
    ({"RESSENTI_TIME_ZONE": "Mars/Olympus"}, "is not a time zone"),
])
def test_bad_settings_are_refused_with_a_clear_message(change, message):
    with pytest.raises(BadConfig, match=message.replace("(", r"\(").replace(")", r"\)")):
        from_env({**GOOD, **change})


def test_good_settings_and_their_defaults():
    settings = from_env(GOOD)
    assert (settings.smtp_port, settings.smtp_security.value, settings.debounce_s, settings.daily_cap) == (
        587, "starttls", 300, 20)
    assert settings.absolute("/dashboard?scope=site:x") == "https://ressenti.ville.fr/dashboard?scope=site:x"
    assert settings.absolute("//evil.example/") == "https://ressenti.ville.fr/alerts"
    assert json.dumps(from_env({**GOOD, "RESSENTI_SMTP_SECURITY": "tls"}).smtp_port) == "465"

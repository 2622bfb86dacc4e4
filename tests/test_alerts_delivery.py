"""Alert delivery by e-mail against a real aiosmtpd server: who receives, debounce, daily cap, retries, TLS."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from alerts_support import SmtpServer, add_change, free_port
from web_support import quick_user

from collector.alerts.delivery import delivery_failures, fan_out, run_delivery_once
from collector.alerts.delivery_settings import from_env
from collector.alerts.subscriptions import KINDS, set_email, set_subscriptions
from collector.db import connect
from collector.registry import add_site
from collector.users import get_user

T0 = datetime(2026, 12, 3, 9, 0, tzinfo=UTC)  # 10:00 in Paris


@pytest.fixture
def db(tmp_path):
    db = connect(tmp_path / "alerts.db")
    add_site(db, "mairie", "Mairie", org="ville")
    add_site(db, "annexe", "Annexe", org="ville")
    add_site(db, "autre", "Autre commune", org="ailleurs")
    people = {"alice": ("admin", ()), "manon": ("manager", ("site:mairie",)), "victor": ("viewer", ("org:ville",)),
              "olga": ("manager", ("org:ailleurs",))}
    for login, (role, scope) in people.items():
        set_email(db, quick_user(db, login, role, scope), f"{login}@ville.example.fr")
    yield db
    db.close()


@pytest.fixture
def smtp(tmp_path):
    server = SmtpServer(tmp_path).start()
    yield server
    server.stop()


def settings_for(server: SmtpServer, **extra: str):
    return from_env(server.env(**{"RESSENTI_ALERTS_HOLD_S": "0", **extra}))


def uid(db, login: str) -> int:
    return int(db.execute("SELECT id FROM users WHERE login = ?", [login]).fetchone()[0])


def test_one_message_per_change_per_recipient_in_french_then_english(db, smtp):
    add_change(db, alert_id=1, change="raised", at=T0)
    result = run_delivery_once(db, settings_for(smtp), T0)
    assert (result.changes, result.sent, result.failed) == (1, 2, 0)
    # The admin and the manager of the site; the viewer has not subscribed, olga's scope does not show it.
    assert sorted(r for a in smtp.mailbox.accepted for r in a.rcpt) == ["alice@ville.example.fr",
                                                                         "manon@ville.example.fr"]
    message = smtp.mailbox.to("manon@ville.example.fr")[0]
    assert message["Subject"].startswith("[ressenti] Alerte levée / Alert raised — Mairie: 62 % de visages du bas")
    assert message["Message-ID"].endswith("@ville.example.fr>")
    parts = {p.get_content_type(): p.get_payload(decode=True).decode() for p in message.walk()
             if not p.is_multipart()}
    assert set(parts) == {"text/plain", "text/html"}
    for text in parts.values():
        assert text.index("Alerte levée") < text.index("Alert raised")
        assert "https://ressenti.ville.example.fr/dashboard?scope=site:mairie" in text
        assert "62 % de visages du bas" in text and "62 % bottom faces" in text
    # Nothing new: nothing sent again, even after the debounce window.
    assert run_delivery_once(db, settings_for(smtp), T0 + timedelta(hours=1)).sent == 0
    assert len(smtp.mailbox.accepted) == 2


def test_a_viewer_receives_only_what_their_scope_shows(db, smtp):
    victor = get_user(db, uid(db, "victor"))
    assert victor is not None
    set_subscriptions(db, victor, True, set(KINDS))
    add_change(db, alert_id=1, change="raised", at=T0, site="autre", org="ailleurs")
    add_change(db, alert_id=2, change="raised", at=T0, site="annexe", org="ville")
    add_change(db, alert_id=3, change="raised", at=T0, site=None, org="ailleurs", kind="unusual_volume")
    run_delivery_once(db, settings_for(smtp), T0)
    got = {login: [m["Subject"] for m in smtp.mailbox.to(f"{login}@ville.example.fr")]
           for login in ("alice", "manon", "victor", "olga")}
    assert len(got["alice"]) == 3
    assert got["manon"] == []  # her scope is the site mairie only
    assert len(got["victor"]) == 1 and "Annexe" in got["victor"][0]
    assert len(got["olga"]) == 2 and all("Mairie" not in s and "Annexe" not in s for s in got["olga"])


def test_turned_off_or_unsubscribed_kinds_are_not_sent(db, smtp):
    alice, manon = get_user(db, uid(db, "alice")), get_user(db, uid(db, "manon"))
    assert alice is not None and manon is not None
    set_subscriptions(db, alice, False, set(KINDS))  # everything off
    set_subscriptions(db, manon, True, set(KINDS) - {"unhappy_share"})
    add_change(db, alert_id=1, change="raised", at=T0)
    add_change(db, alert_id=2, change="raised", at=T0, kind="kiosk_offline", summary="borne hors ligne")
    run_delivery_once(db, settings_for(smtp), T0)
    assert [a.rcpt for a in smtp.mailbox.accepted] == [["manon@ville.example.fr"]]
    assert "borne hors ligne" in smtp.mailbox.accepted[0].message["Subject"]


def test_changes_inside_the_debounce_window_are_grouped_into_the_next_message(db, smtp):
    settings = settings_for(smtp)
    alice = uid(db, "alice")
    db.execute("UPDATE users SET email = NULL WHERE id != ?", [alice])  # one recipient is enough
    add_change(db, alert_id=1, change="raised", at=T0)
    run_delivery_once(db, settings, T0)
    # A kiosk flapping: fifty changes in four minutes.
    for i in range(50):
        add_change(db, alert_id=10 + i // 2, change="raised" if i % 2 == 0 else "resolved",
                   at=T0 + timedelta(seconds=5 + i * 4), kind="unhappy_share")
        run_delivery_once(db, settings, T0 + timedelta(seconds=5 + i * 4))
    assert len(smtp.mailbox.accepted) == 1
    run_delivery_once(db, settings, T0 + timedelta(seconds=301))
    assert len(smtp.mailbox.accepted) == 2
    grouped = smtp.mailbox.accepted[1].message
    assert grouped["Subject"].startswith("[ressenti] 25 alertes / 25 alerts")
    assert grouped.get_body(("plain",)).get_content().count("Alerte levée puis close") == 25
    # Another rule (kind) of the same site is not held by this one's window.
    add_change(db, alert_id=99, change="raised", at=T0 + timedelta(seconds=302), kind="silence")
    run_delivery_once(db, settings, T0 + timedelta(seconds=302))
    assert len(smtp.mailbox.accepted) == 3


def test_raised_then_resolved_within_the_hold_is_one_message_saying_both(db, smtp):
    settings = settings_for(smtp, RESSENTI_ALERTS_HOLD_S="20")
    add_change(db, alert_id=1, change="raised", at=T0)
    assert run_delivery_once(db, settings, T0 + timedelta(seconds=5)).sent == 0  # held for its companions
    add_change(db, alert_id=1, change="resolved", at=T0 + timedelta(seconds=12), summary="retour à la normale")
    assert run_delivery_once(db, settings, T0 + timedelta(seconds=21)).sent == 2
    for login in ("alice", "manon"):
        (message,) = smtp.mailbox.to(f"{login}@ville.example.fr")
        assert "Alerte levée puis close / Alert raised then resolved" in message["Subject"]


def test_the_daily_cap_sends_one_notice_then_nothing_until_the_next_day(db, smtp):
    settings = settings_for(smtp, RESSENTI_ALERTS_DAILY_CAP="3")
    db.execute("UPDATE users SET email = NULL WHERE login != 'alice'")
    kinds = list(KINDS)
    for i in range(7):  # seven rules: the debounce does not group them
        add_change(db, alert_id=i, change="raised", at=T0, kind=kinds[i])
    run_delivery_once(db, settings, T0)
    subjects = [a.message["Subject"] for a in smtp.mailbox.accepted]
    assert len(subjects) == 4
    assert subjects[-1] == "[ressenti] Plus d'alertes sur le tableau de bord / More alerts on the dashboard"
    add_change(db, alert_id=50, change="raised", at=T0 + timedelta(hours=2), site="annexe")
    run_delivery_once(db, settings, T0 + timedelta(hours=2))
    assert len(smtp.mailbox.accepted) == 4  # capped, and the notice is not sent twice
    next_day = T0 + timedelta(days=1)
    add_change(db, alert_id=51, change="raised", at=next_day, site="annexe")
    run_delivery_once(db, settings, next_day)
    assert len(smtp.mailbox.accepted) == 5
    capped = db.execute("SELECT COUNT(*) FROM alert_deliveries WHERE state = 'capped'").fetchone()[0]
    assert capped == 5  # kept (the dashboard shows them), not lost


def test_smtp_down_then_up_is_retried_with_backoff_then_delivered_once(db, tmp_path):
    port = free_port()
    down = SmtpServer(tmp_path, port=port)
    settings = from_env(down.env(RESSENTI_ALERTS_HOLD_S="0"))
    add_change(db, alert_id=1, change="raised", at=T0)
    assert run_delivery_once(db, settings, T0).failed == 2
    failures = delivery_failures(db)
    assert {f["recipient"] for f in failures} == {"alice", "manon"}
    assert all("Connection refused" in f["last_error"] or "ConnectionRefused" in f["last_error"] for f in failures)
    assert delivery_failures(db, site_ids={"autre"}) == []
    assert run_delivery_once(db, settings, T0 + timedelta(seconds=10)).failed == 0  # backing off: not tried
    down.start()
    try:
        result = run_delivery_once(db, settings, T0 + timedelta(seconds=31))
        assert (result.sent, result.failed) == (2, 0)
        assert run_delivery_once(db, settings, T0 + timedelta(hours=3)).sent == 0
        assert len(down.mailbox.accepted) == 2
        assert delivery_failures(db) == []
    finally:
        down.stop()


def test_backoff_doubles_between_failures(db, tmp_path):
    settings = from_env(SmtpServer(tmp_path, port=free_port()).env(RESSENTI_ALERTS_HOLD_S="0"))
    db.execute("UPDATE users SET email = NULL WHERE login != 'alice'")
    add_change(db, alert_id=1, change="raised", at=T0)
    now, waits = T0, []
    for _ in range(5):
        run_delivery_once(db, settings, now)
        (row,) = db.execute("SELECT next_attempt_at FROM alert_messages").fetchall()
        nxt = datetime.fromisoformat(row[0])
        waits.append((nxt - now).total_seconds())
        now = nxt
    assert waits == [30, 60, 120, 240, 480]


@pytest.mark.parametrize("security", ["starttls", "tls"])
def test_tls_and_login_with_the_password_from_a_file(db, tmp_path, security):
    server = SmtpServer(tmp_path, security, users={"ressenti": "a long smtp password"}).start()
    try:
        secret = tmp_path / "smtp-password"
        secret.write_text("a long smtp password\n")
        settings = from_env(server.env(RESSENTI_ALERTS_HOLD_S="0", RESSENTI_SMTP_USER="ressenti",
                                       RESSENTI_SMTP_PASSWORD_FILE=str(secret)))
        add_change(db, alert_id=1, change="raised", at=T0)
        assert run_delivery_once(db, settings, T0).sent == 2
        assert all(a.tls for a in server.mailbox.accepted)
        secret.write_text("the wrong one\n")
        wrong = from_env(server.env(RESSENTI_ALERTS_HOLD_S="0", RESSENTI_SMTP_USER="ressenti",
                                    RESSENTI_SMTP_PASSWORD_FILE=str(secret)))
        add_change(db, alert_id=2, change="raised", at=T0, kind="silence")
        assert run_delivery_once(db, wrong, T0).failed == 2
        assert any("Authentication" in f["last_error"] or "535" in f["last_error"] for f in delivery_failures(db))
    finally:
        server.stop()


def test_starttls_refused_by_the_server_is_an_error_not_clear_text(db, tmp_path):
    plain = SmtpServer(tmp_path).start()  # offers no STARTTLS
    try:
        settings = from_env(plain.env(RESSENTI_ALERTS_HOLD_S="0", RESSENTI_SMTP_SECURITY="starttls"))
        add_change(db, alert_id=1, change="raised", at=T0)
        assert run_delivery_once(db, settings, T0).failed == 2
        assert plain.mailbox.accepted == []
        assert "STARTTLS" in delivery_failures(db)[0]["last_error"]
    finally:
        plain.stop()


def test_odd_changes_are_delivered_without_blocking_the_others(db, smtp):
    """A change dated in 2099, of an unknown kind, with broken figures or no site: delivered, nothing stuck."""
    db.execute("UPDATE users SET email = NULL WHERE login != 'alice'")
    add_change(db, alert_id=1, change="raised", at="2099-01-01T00:00:00.000Z")
    add_change(db, alert_id=2, change="raised", at=T0, kind="a_kind_from_the_future")
    cid = add_change(db, alert_id=3, change="raised", at=T0, kind="silence")
    db.execute("UPDATE alert_changes SET figures = '{not json', link = 'https://evil.example/' WHERE id = ?", [cid])
    add_change(db, alert_id=4, change="raised", at=T0, kind="seq_gaps", site=None, org=None)
    assert run_delivery_once(db, settings_for(smtp), T0).sent == 4
    bodies = [a.message.get_body(("plain",)).get_content() for a in smtp.mailbox.accepted]
    assert not any("evil.example" in b for b in bodies)  # only dashboard paths become links


def test_a_refused_address_does_not_hold_back_the_others(db, smtp):
    smtp.mailbox.refuse.add("alice@ville.example.fr")
    add_change(db, alert_id=1, change="raised", at=T0)
    result = run_delivery_once(db, settings_for(smtp), T0)
    assert (result.sent, result.failed) == (1, 1)
    assert [a.rcpt for a in smtp.mailbox.accepted] == [["manon@ville.example.fr"]]
    (failure,) = delivery_failures(db)
    assert failure["recipient"] == "alice" and "no such mailbox" in failure["last_error"]


def test_a_scope_narrowed_before_sending_is_obeyed(db, smtp):
    add_change(db, alert_id=1, change="raised", at=T0)
    settings = settings_for(smtp)
    fan_out(db, settings, T0)
    db.execute("UPDATE users SET scope = '[\"site:annexe\"]' WHERE login = 'manon'")
    run_delivery_once(db, settings, T0)
    assert [a.rcpt for a in smtp.mailbox.accepted] == [["alice@ville.example.fr"]]
    assert [f["last_error"] for f in delivery_failures(db)] == ["no longer in the user's scope"]

"""A kiosk flapping online/offline, end to end: real statuses -> evaluator -> delivery -> a real aiosmtpd server.

Fifty flaps send one message per recipient (the raise), then one more when the
kiosk has stayed back (the resolve), never two messages to one recipient
inside a debounce window.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from alerts_support import SmtpServer
from web_support import quick_user

from collector.alerts.delivery import run_delivery_once
from collector.alerts.delivery_settings import from_env
from collector.alerts.evaluate import evaluate
from collector.alerts.subscriptions import set_email
from collector.db import connect
from collector.fleet import record_status
from collector.registry import add_kiosk, add_site
from ressenti.protocol import format_ts

PARIS = ZoneInfo("Europe/Paris")
START = datetime(2026, 12, 1, 8, 45, tzinfo=PARIS).astimezone(UTC)  # a Tuesday, the site open all day
HOURS = {day: "08:30-20:00" for day in ("mon", "tue", "wed", "thu", "fri")}
DEBOUNCE_S = 300


@pytest.fixture
def db(tmp_path):
    db = connect(tmp_path / "alerts.db")
    add_site(db, "mairie", "Mairie", org="ville", opening_hours=HOURS)
    add_kiosk(db, "mairie-borne-1", "mairie")
    for login, role, scope in (("alice", "admin", ()), ("manon", "manager", ("site:mairie",))):
        set_email(db, quick_user(db, login, role, scope), f"{login}@ville.example.fr")
    yield db
    db.close()


@pytest.fixture
def smtp(tmp_path):
    server = SmtpServer(tmp_path).start()
    yield server
    server.stop()


def status(db, when: datetime, state: str) -> None:
    body = {"v": 1, "state": state, "ts": format_ts(when), "clock": "ntp", "queue": {"pending": 0, "dropped": 0}}
    assert record_status(db, "mairie-borne-1", "mairie", json.dumps(body).encode(), when)


def test_a_kiosk_flapping_fifty_times_sends_one_message_per_recipient_per_window(db, smtp):
    settings = from_env(smtp.env(RESSENTI_ALERTS_HOLD_S="0", RESSENTI_ALERTS_DEBOUNCE_S=str(DEBOUNCE_S)))
    sent_at: dict[str, list[datetime]] = {"alice@ville.example.fr": [], "manon@ville.example.fr": []}

    def service_pass(at: datetime) -> None:  # what `ressenti collector alerts` does each period
        evaluate(db, at)
        before = len(smtp.mailbox.accepted)
        run_delivery_once(db, settings, at)
        for accepted in smtp.mailbox.accepted[before:]:
            for rcpt in accepted.rcpt:
                sent_at[rcpt].append(at)

    # Online, then silent for 20 minutes: raised (15 minutes offline, site open).
    t = START
    status(db, t, "online")
    for _ in range(40):
        t += timedelta(seconds=30)
        service_pass(t)
    assert [len(v) for v in sent_at.values()] == [1, 1]
    # Fifty flaps: back online for a minute (heartbeats), then the Last Will, gone a minute.
    for _ in range(50):
        for state in ("online", "online", "offline", "offline"):
            status(db, t, state)
            t += timedelta(seconds=30)
            service_pass(t)
    flapping = {rcpt: len(times) for rcpt, times in sent_at.items()}
    assert flapping == {"alice@ville.example.fr": 1, "manon@ville.example.fr": 1}, "fifty flaps, no new message"
    # Back for good: heartbeats each minute; resolved after back_for_min (10), e-mailed once.
    for _ in range(30):
        status(db, t, "online")
        for _ in range(2):
            t += timedelta(seconds=30)
            service_pass(t)
    changes = [r[0] for r in db.conn.execute("SELECT change FROM alert_changes ORDER BY id")]
    assert changes == ["raised", "resolved"]
    for rcpt, times in sent_at.items():
        assert len(times) == 2, rcpt
        assert (times[1] - times[0]).total_seconds() >= DEBOUNCE_S
    raised, resolved = smtp.mailbox.to("manon@ville.example.fr")
    assert "Alerte levée" in raised["Subject"]
    assert "Retour à la normale" in resolved.get_body(("plain",)).get_content()

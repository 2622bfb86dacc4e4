"""Delivery survives restarts: a process killed while sending loses nothing and sends nothing twice."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest
from alerts_support import SmtpServer, add_change
from web_support import quick_user

from collector.alerts import delivery
from collector.alerts.delivery import fan_out, run_delivery_once
from collector.alerts.delivery_settings import from_env
from collector.alerts.subscriptions import set_email
from collector.db import connect
from collector.registry import add_site
from ressenti.protocol import utc_now

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def db_path(tmp_path):
    path = tmp_path / "restart.db"
    db = connect(path)
    add_site(db, "mairie", "Mairie", org="ville")
    for login, role in (("alice", "admin"), ("manon", "manager")):
        set_email(db, quick_user(db, login, role, ("site:mairie",)), f"{login}@ville.example.fr")
    db.close()
    return path


def test_killed_between_claiming_and_sending_no_loss_no_duplicate(db_path, tmp_path, wait):
    server = SmtpServer(tmp_path).start()
    server.mailbox.hang = True  # DATA is never answered: the sender is stuck between claim and acceptance
    env = {**os.environ, **server.env(RESSENTI_ALERTS_HOLD_S="0"), "PYTHONPATH": str(ROOT)}
    db = connect(db_path)
    add_change(db, alert_id=1, change="raised", at=utc_now())
    child = subprocess.Popen([sys.executable, "-m", "cli", "collector", "alerts-deliver", "--db",
                              str(db_path)], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        wait(server.mailbox.got_data.is_set, 30, "the child to send DATA")
        os.kill(child.pid, signal.SIGKILL)
        child.wait(10)
        claimed = db.execute("SELECT state, attempts FROM alert_messages ORDER BY id").fetchall()
        assert claimed == [("sending", 1), ("sending", 1)], claimed  # leased, not marked
        assert server.mailbox.accepted == []
        server.mailbox.hang = False
        settings = from_env(server.env(RESSENTI_ALERTS_HOLD_S="0"))
        # Restarted at once: the dead sender's lease still holds (never two senders on one message)...
        assert run_delivery_once(db, settings, utc_now()).sent == 0
        # ...and once it has run out, both messages go, once.
        assert run_delivery_once(db, settings, utc_now() + timedelta(minutes=6)).sent == 2
        run_delivery_once(db, settings, utc_now() + timedelta(hours=2))
        assert sorted(r for a in server.mailbox.accepted for r in a.rcpt) == ["alice@ville.example.fr",
                                                                               "manon@ville.example.fr"]
        assert db.execute("SELECT COUNT(*) FROM alert_deliveries WHERE state != 'sent'").fetchone()[0] == 0
    finally:
        if child.poll() is None:
            child.kill()
            child.wait(10)
        server.stop()
        db.close()


def test_fanning_out_twice_after_a_crash_makes_no_second_delivery(db_path, tmp_path):
    server = SmtpServer(tmp_path).start()
    try:
        settings = from_env(server.env(RESSENTI_ALERTS_HOLD_S="0"))
        db = connect(db_path)
        now = utc_now()
        add_change(db, alert_id=1, change="raised", at=now)
        assert fan_out(db, settings, now) == (1, 2)
        # The watermark moved with the rows: a restart does not fan the change out again...
        assert fan_out(db, settings, now) == (0, 0)
        # ...and even a watermark put back (a restored backup) adds no second delivery.
        db.execute("UPDATE alert_delivery_watermark SET change_id = 0")
        assert fan_out(db, settings, now) == (1, 0)
        assert run_delivery_once(db, settings, now).sent == 2
        assert len(server.mailbox.accepted) == 2
    finally:
        server.stop()


def test_a_crash_after_the_server_accepted_resends_the_same_message_id(db_path, tmp_path, monkeypatch):
    """The at-least-once edge (docs/alerts-delivery.md): accepted, then killed before the mark."""
    server = SmtpServer(tmp_path).start()
    try:
        settings = from_env(server.env(RESSENTI_ALERTS_HOLD_S="0"))
        db = connect(db_path)
        db.execute("UPDATE users SET email = NULL WHERE login = 'manon'")
        now = utc_now()
        add_change(db, alert_id=1, change="raised", at=now)
        real_finish = delivery._finish

        def die_after_acceptance(db_, message, now_, error, **kwargs):
            if error is None:
                raise KeyboardInterrupt("killed after the server accepted")
            return real_finish(db_, message, now_, error, **kwargs)

        monkeypatch.setattr(delivery, "_finish", die_after_acceptance)
        with pytest.raises(KeyboardInterrupt):
            run_delivery_once(db, settings, now)
        monkeypatch.setattr(delivery, "_finish", real_finish)
        run_delivery_once(db, settings, now + timedelta(minutes=6))
        first, second = server.mailbox.accepted
        assert first.message["Message-ID"] == second.message["Message-ID"]
        assert run_delivery_once(db, settings, now + timedelta(hours=1)).sent == 0
    finally:
        server.stop()


def test_the_service_loop_delivers_and_stops_cleanly_on_sigterm(db_path, tmp_path, wait):
    server = SmtpServer(tmp_path).start()
    env = {**os.environ, **server.env(), "PYTHONPATH": str(ROOT)}
    child = subprocess.Popen([sys.executable, "-m", "cli", "collector", "alerts-deliver", "--db",
                              str(db_path)], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    db = connect(db_path)
    try:
        add_change(db, alert_id=1, change="raised", at=utc_now())
        wait(lambda: len(server.mailbox.accepted) == 2, 60, "the loop to deliver both messages")
        child.send_signal(signal.SIGTERM)
        assert child.wait(30) == 0
    finally:
        if child.poll() is None:
            child.kill()
            child.wait(10)
        server.stop()
        db.close()

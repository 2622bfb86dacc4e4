"""Issue 12: `ressenti collector alerts` (one pass, or the loop) and its systemd unit."""

from __future__ import annotations

import shutil
import subprocess
import threading
from datetime import timedelta
from pathlib import Path

import pytest
from alerts_support import SmtpServer
from click.testing import CliRunner
from web_support import Press, quick_user, store_presses

from cli import main as cli
from collector.alerts.service import AlertService
from collector.alerts.subscriptions import set_email
from collector.db import connect
from collector.registry import add_kiosk, add_site
from ressenti.protocol import utc_now

REPO = Path(__file__).resolve().parent.parent
UNIT = REPO / "systemd" / "ressenti-collector-alerts.service"


@pytest.fixture
def db_path(tmp_path):
    path = tmp_path / "collector.db"
    db = connect(path)
    add_site(db, "mairie", "Mairie", org="ville")
    add_kiosk(db, "mairie-borne-1", "mairie")
    now = utc_now()
    store_presses(db, "mairie-borne-1", "mairie", [Press(now - timedelta(minutes=m), 1) for m in (8, 6, 4, 2)])
    db.close()
    return path


def test_once_runs_one_pass_and_a_second_changes_nothing(db_path, monkeypatch):
    monkeypatch.delenv("RESSENTI_SMTP_HOST", raising=False)
    runner = CliRunner()
    first = runner.invoke(cli, ["collector", "alerts", "--db", str(db_path), "--once"])
    assert first.exit_code == 0, first.output
    assert "1 raised, 0 updated, 0 resolved" in first.output
    assert "delivery off: RESSENTI_SMTP_HOST is not set" in first.output
    second = runner.invoke(cli, ["collector", "alerts", "--db", str(db_path), "--once"])
    assert "0 raised, 0 updated, 0 resolved" in second.output
    db = connect(db_path)
    assert [r["change"] for r in db.query("SELECT change FROM alert_changes")] == ["raised"]


def test_the_loop_keeps_running_after_a_failing_pass(db_path, monkeypatch):
    passes: list[object] = []
    done = threading.Event()

    def on_pass(result: object) -> None:
        passes.append(result)
        if len(passes) == 2:
            done.set()

    service = AlertService(db_path, every_s=0.05, on_pass=on_pass)
    real = service.run_once
    calls = {"n": 0}

    def flaky():  # type: ignore[no-untyped-def]
        calls["n"] += 1
        if calls["n"] == 1:
            raise RuntimeError("database is locked")
        return real()

    monkeypatch.setattr(service, "run_once", flaky)
    thread = threading.Thread(target=service.run, daemon=True)
    thread.start()
    assert done.wait(10), "the loop stopped after a failing pass"
    service.stop()
    thread.join(5)
    assert not thread.is_alive()
    assert calls["n"] >= 3


def test_the_unit_passes_systemd_analyze_verify(tmp_path):
    if shutil.which("systemd-analyze") is None:
        pytest.fail("systemd-analyze is missing (apt-get install systemd)")
    # The unit as installed, with ExecStart pointing at this checkout's entry point.
    unit = tmp_path / UNIT.name
    unit.write_text(UNIT.read_text().replace("/opt/ressenti/venv/bin/ressenti", str(REPO / ".venv/bin/ressenti")))
    result = subprocess.run(["systemd-analyze", "verify", str(unit)], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0 and UNIT.name not in result.stderr, result.stderr


def test_one_service_from_press_to_e_mail(db_path, tmp_path, monkeypatch):
    """`ressenti collector alerts` evaluates, then delivers in the same pass: no second service to run."""
    db = connect(db_path)
    set_email(db, quick_user(db, "manon", "manager", ("site:mairie",)), "manon@ville.example.fr")
    db.close()
    smtp = SmtpServer(tmp_path).start()
    try:
        for name, value in smtp.env(RESSENTI_ALERTS_HOLD_S="0").items():
            monkeypatch.setenv(name, value)
        result = CliRunner().invoke(cli, ["collector", "alerts", "--db", str(db_path), "--once"])
        assert result.exit_code == 0, result.output
        assert "1 raised, 0 updated, 0 resolved" in result.output and "1 messages sent, 0 failed" in result.output
        (message,) = smtp.mailbox.to("manon@ville.example.fr")
        assert message["Subject"].startswith("[ressenti] Alerte levée / Alert raised — Mairie")
    finally:
        smtp.stop()


def test_the_loop_delivers_what_each_pass_raised(db_path, tmp_path):
    from collector.alerts.delivery_settings import from_env

    db = connect(db_path)
    set_email(db, quick_user(db, "manon", "manager", ("site:mairie",)), "manon@ville.example.fr")
    db.close()
    smtp = SmtpServer(tmp_path).start()
    delivered = threading.Event()
    service = AlertService(db_path, every_s=0.05, delivery=from_env(smtp.env(RESSENTI_ALERTS_HOLD_S="0")),
                           on_pass=lambda _r: smtp.mailbox.accepted and delivered.set())
    thread = threading.Thread(target=service.run, daemon=True)
    thread.start()
    try:
        assert delivered.wait(20), "the service's loop raised the alert but did not deliver it"
    finally:
        service.stop()
        thread.join(5)
        smtp.stop()
    assert [m["To"] for m in smtp.mailbox.to("manon@ville.example.fr")] == ["manon@ville.example.fr"]


def test_a_wrong_smtp_setting_stops_the_service_before_any_pass(db_path, monkeypatch):
    monkeypatch.setenv("RESSENTI_SMTP_HOST", "smtp.ville.fr")
    monkeypatch.delenv("RESSENTI_SMTP_FROM", raising=False)
    result = CliRunner().invoke(cli, ["collector", "alerts", "--db", str(db_path), "--once"])
    assert result.exit_code == 1 and "RESSENTI_SMTP_FROM is not set" in result.output
    assert list(connect(db_path).query("SELECT id FROM alert_changes")) == []


def test_the_unit_lets_delivery_reach_the_smtp_server_with_its_settings():
    unit = UNIT.read_text()
    assert "PrivateNetwork=yes" not in unit
    assert "RestrictAddressFamilies=AF_UNIX AF_INET AF_INET6" in unit
    assert "EnvironmentFile=-/etc/ressenti/mail.env" in unit
    assert "LoadCredential=smtp-password:/etc/ressenti/smtp-password" in unit
    assert "Environment=RESSENTI_SMTP_PASSWORD_FILE=%d/smtp-password" in unit

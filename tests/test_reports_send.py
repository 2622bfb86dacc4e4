"""Scheduled reports (issue 13): due on Monday / the 1st at a set local time, e-mailed to a real SMTP server, once."""

from __future__ import annotations

import email
import email.policy
import socket
import threading
from datetime import UTC, datetime, time
from email.message import EmailMessage

import pytest
from aiosmtpd.controller import Controller
from click.testing import CliRunner
from reports_support import seed_known

from cli import main
from collector.alerts.delivery_settings import smtp_from_env
from collector.db import MIGRATIONS, connect
from collector.reports_pdf.content import resolve_scope
from collector.reports_pdf.period import ReportError
from collector.reports_pdf.schedule import due_period, send_due, subscribe
from collector.reports_pdf.smtp import smtp_sender

SENDER = "rapports@ville-de-pont.fr"
# Sunday 1 November 2026 is the first day after October: the monthly report is due from 07:00 Paris (06:00 UTC).
BEFORE_SEVEN = datetime(2026, 11, 1, 5, 30, tzinfo=UTC)
AFTER_SEVEN = datetime(2026, 11, 1, 6, 5, tzinfo=UTC)


class Inbox:
    def __init__(self) -> None:
        self.messages: list[email.message.Message] = []
        self.arrived = threading.Event()

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 (aiosmtpd's name)
        self.messages.append(email.message_from_bytes(envelope.content, policy=email.policy.default))
        self.arrived.set()
        return "250 OK"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def smtp():
    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=_free_port())
    controller.start()
    inbox.env = {"RESSENTI_SMTP_HOST": "127.0.0.1", "RESSENTI_SMTP_PORT": str(controller.port),  # type: ignore
                 "RESSENTI_SMTP_SECURITY": "none", "RESSENTI_SMTP_FROM": SENDER}
    yield inbox
    controller.stop()


@pytest.fixture
def db_path(tmp_path):
    path = tmp_path / "r.db"
    db = connect(path)
    seed_known(db)
    subscribe(db, "direction@ville-de-pont.fr", resolve_scope(db, site="mairie"), "month")
    subscribe(db, "dgs@ville-de-pont.fr", resolve_scope(db, org="ville"), "month", "en")
    db.close()
    return path


def _attachments(msg: email.message.Message) -> dict[str, bytes]:
    return {part.get_filename(): part.get_payload(decode=True) for part in msg.walk() if part.get_filename()}


def test_the_month_report_is_sent_once_from_the_set_time_even_across_restarts(db_path, smtp):
    send = smtp_sender(smtp_from_env(smtp.env))
    db = connect(db_path)
    assert send_due(db, send, sender=SENDER, now=BEFORE_SEVEN) == {"sent": [], "failed": []}
    result = send_due(db, send, sender=SENDER, now=AFTER_SEVEN, base_url="https://ressenti.ville-de-pont.fr")
    assert sorted(result["sent"]) == [(1, "2026-10"), (2, "2026-10")] and not result["failed"]
    assert len(smtp.messages) == 2
    by_to = {m["To"]: m for m in smtp.messages}
    site = by_to["direction@ville-de-pont.fr"]
    assert site["Subject"] == "[ressenti] Rapport — Mairie centrale — octobre 2026"
    assert site["Message-ID"] == "<report-1-2026-10@ville-de-pont.fr>"
    files = _attachments(site)
    assert files["ressenti-mairie-2026-10.pdf"].startswith(b"%PDF")
    assert "answers_raw" in files["ressenti-mairie-2026-10-days.csv"].decode()
    assert files["ressenti-mairie-2026-10-affiche-a4.pdf"].startswith(b"%PDF")  # the month's poster
    org = by_to["dgs@ville-de-pont.fr"]
    assert org["Subject"] == "[ressenti] Report — Ville de Pont — October 2026"
    assert "ressenti-ville-2026-10.pdf" in _attachments(org)
    db.close()
    db = connect(db_path)  # a restart: the runs are in the database
    assert send_due(db, send, sender=SENDER, now=datetime(2026, 11, 2, 9, 0, tzinfo=UTC))["sent"] == []
    assert len(smtp.messages) == 2
    assert db.execute("SELECT COUNT(*) FROM report_runs").fetchone()[0] == 2


def test_weekly_reports_are_due_on_monday():
    from collector.registry import Site
    from collector.reports_pdf.content import Scope
    scope = Scope("site", "mairie", "Mairie", [Site("mairie", "ville", "Mairie", "Europe/Paris", 4)])
    monday = datetime(2026, 10, 19, 6, 0, tzinfo=UTC)  # 08:00 in Paris
    assert due_period(scope, "week", monday, time(7, 0)).key == "2026-W42"
    assert due_period(scope, "week", monday, time(9, 0)) is None
    assert due_period(scope, "week", datetime(2026, 10, 21, 6, 0, tzinfo=UTC), time(9, 0)).key == "2026-W42"


def test_a_refusing_server_is_retried_at_the_next_run(db_path, smtp):
    db = connect(db_path)
    refusals = []

    def down(msg: EmailMessage) -> None:
        refusals.append(msg["To"])
        raise ConnectionRefusedError("SMTP server down")

    result = send_due(db, down, sender=SENDER, now=AFTER_SEVEN)
    assert result["sent"] == [] and len(result["failed"]) == 2 and len(refusals) == 2
    assert db.execute("SELECT COUNT(*) FROM report_runs").fetchone()[0] == 0
    assert len(send_due(db, smtp_sender(smtp_from_env(smtp.env)), sender=SENDER, now=AFTER_SEVEN)["sent"]) == 2
    assert len(smtp.messages) == 2


def test_cli_report_subscribe_and_reports_send(db_path, smtp, tmp_path, monkeypatch):
    runner = CliRunner()
    db = str(db_path)
    bad = runner.invoke(main, ["collector", "report-subscribe", "--db", db, "not an address", "--site", "mairie",
                               "--every", "week"])
    assert bad.exit_code == 1 and "is not an e-mail address" in bad.output
    unknown = runner.invoke(main, ["collector", "report-subscribe", "--db", db, "a@b.fr", "--site", "nope",
                                   "--every", "week"])
    assert unknown.exit_code == 1 and "site 'nope' is unknown" in unknown.output
    ok = runner.invoke(main, ["collector", "report-subscribe", "--db", db, "accueil@ville-de-pont.fr",
                              "--site", "mairie", "--every", "week"])
    assert ok.exit_code == 0, ok.output
    listed = runner.invoke(main, ["collector", "report-subscriptions", "--db", db])
    assert "accueil@ville-de-pont.fr\tsite:mairie\tweek\tfr\t-" in listed.output
    for name, value in smtp.env.items():
        monkeypatch.setenv(name, value)
    # --at 00:00: the last week's and month's reports are due whatever the time today
    sent = runner.invoke(main, ["collector", "reports-send", "--db", db, "--at", "00:00"])
    assert sent.exit_code == 0, sent.output
    assert "3 reports sent, 0 failed" in sent.output
    assert {m["To"] for m in smtp.messages} == {"accueil@ville-de-pont.fr", "direction@ville-de-pont.fr",
                                                "dgs@ville-de-pont.fr"}
    again = runner.invoke(main, ["collector", "reports-send", "--db", db, "--at", "00:00"])
    assert "0 reports sent, 0 failed" in again.output
    monkeypatch.delenv("RESSENTI_SMTP_HOST")
    unset = runner.invoke(main, ["collector", "reports-send", "--db", db])
    assert unset.exit_code == 1 and "RESSENTI_SMTP_HOST" in unset.output


def test_cli_report_on_demand(db_path, tmp_path):
    runner = CliRunner()
    out = tmp_path / "r.pdf"
    args = ["collector", "report", "--db", str(db_path), "--out", str(out)]
    ok = runner.invoke(main, [*args, "--org", "ville", "--period", "month", "--date", "2026-10-12", "--lang", "en"])
    assert ok.exit_code == 0, ok.output
    assert out.read_bytes().startswith(b"%PDF") and "October 2026" in ok.output
    for extra, message in ((["--site", "mairie", "--date", "2099-01-01"], "has not started yet"),
                           (["--site", "mairie", "--date", "12/10/2026"], "is not a date"),
                           (["--site", "nope"], "site 'nope' is unknown"),
                           (["--org", "ville", "--poster", "a4", "--base-url", "https://x.fr"],
                            "a poster is for one site"),
                           (["--site", "mairie", "--poster", "a3"], "RESSENTI_BASE_URL")):
        result = runner.invoke(main, [*args, *extra], env={"RESSENTI_BASE_URL": ""})
        assert result.exit_code == 1 and message in result.output, (extra, result.output)
    poster = runner.invoke(main, [*args, "--site", "mairie", "--poster", "a3", "--date", "2026-10-12"],
                           env={"RESSENTI_BASE_URL": "https://ressenti.ville-de-pont.fr"})
    assert poster.exit_code == 0, poster.output


def test_the_migration_is_the_last_one_and_idempotent(tmp_path):
    db = connect(tmp_path / "m.db")
    assert db.execute("PRAGMA user_version").fetchone()[0] == len(MIGRATIONS)
    MIGRATIONS[-1](db)  # again: IF NOT EXISTS
    assert db["report_runs"].exists() and db["report_subscriptions"].exists()


def test_unknown_subscription_scope_is_logged_and_skipped(db_path, smtp, caplog):
    db = connect(db_path)
    db.conn.execute("INSERT INTO report_subscriptions (email, scope, every, lang, created)"
                    " VALUES ('x@ville-de-pont.fr', 'site:gone', 'month', 'fr', '2026-01-01T00:00:00Z')")
    result = send_due(db, smtp_sender(smtp_from_env(smtp.env)), sender=SENDER, now=AFTER_SEVEN)
    assert len(result["sent"]) == 2 and result["failed"] == [(3, "site 'gone' is unknown")]
    assert "site 'gone' is unknown" in caplog.text
    with pytest.raises(ReportError):
        subscribe(db, "x@y.fr", resolve_scope(db, site="mairie"), "year")


def test_reports_send_without_subscribers_needs_no_smtp_settings(tmp_path, monkeypatch):
    for name in ("RESSENTI_SMTP_HOST", "RESSENTI_SMTP_FROM"):
        monkeypatch.delenv(name, raising=False)
    connect(tmp_path / "empty.db").close()
    result = CliRunner().invoke(main, ["collector", "reports-send", "--db", str(tmp_path / "empty.db")])
    assert result.exit_code == 0 and "no report subscribers" in result.output


def test_the_timer_and_service_verify(tmp_path):
    """systemd-analyze verify, with ExecStart pointed at this checkout's ressenti (the deploy path is not here)."""
    import shutil
    import subprocess
    import sys
    from pathlib import Path

    if not shutil.which("systemd-analyze"):
        pytest.skip("systemd-analyze is not installed")
    units = Path(__file__).resolve().parent.parent / "systemd"
    ressenti = Path(sys.executable).with_name("ressenti")
    service = (units / "ressenti-collector-reports.service").read_text()
    assert "ExecStart=/opt/ressenti/venv/bin/ressenti collector reports-send" in service
    (tmp_path / "ressenti-collector-reports.service").write_text(
        service.replace("/opt/ressenti/venv/bin/ressenti", str(ressenti)))
    shutil.copy(units / "ressenti-collector-reports.timer", tmp_path)
    result = subprocess.run(["systemd-analyze", "verify", str(tmp_path / "ressenti-collector-reports.service"),
                             str(tmp_path / "ressenti-collector-reports.timer")], capture_output=True, text=True)
    assert result.returncode == 0 and "ressenti" not in result.stdout + result.stderr, result.stderr


@pytest.mark.parametrize("env, message", [
    ({}, "RESSENTI_SMTP_HOST is not set"),
    ({"RESSENTI_SMTP_HOST": "smtp.ville.fr", "RESSENTI_SMTP_FROM": "not-an-address"},
     "RESSENTI_SMTP_FROM='not-an-address' is not an e-mail address"),
    ({"RESSENTI_SMTP_HOST": "smtp.ville.fr", "RESSENTI_SMTP_FROM": SENDER, "RESSENTI_SMTP_SECURITY": "ssl3"},
     "must be starttls, tls or none"),
    ({"RESSENTI_SMTP_HOST": "smtp.ville.fr", "RESSENTI_SMTP_FROM": SENDER, "RESSENTI_SMTP_PORT": "smtp"},
     "RESSENTI_SMTP_PORT='smtp' must be a whole number from 1 to 65535"),
    ({"RESSENTI_SMTP_HOST": "smtp.ville.fr", "RESSENTI_SMTP_FROM": SENDER, "RESSENTI_SMTP_SECURITY": "none",
      "RESSENTI_SMTP_USER": "rapports"}, "would send the password to smtp.ville.fr in clear"),
    ({"RESSENTI_SMTP_HOST": "smtp.ville.fr", "RESSENTI_SMTP_FROM": SENDER, "RESSENTI_SMTP_USER": "rapports",
      "RESSENTI_SMTP_PASSWORD_FILE": "/nonexistent/smtp-password"}, "cannot be read"),
])
def test_smtp_settings_refuse_what_would_not_work_or_leak(env, message):
    from ressenti.errors import BadConfig
    with pytest.raises(BadConfig, match=message):
        smtp_from_env(env)
    assert smtp_from_env({"RESSENTI_SMTP_HOST": "smtp.ville.fr", "RESSENTI_SMTP_FROM": SENDER}).smtp_security == \
        "starttls"  # the default: never clear text unless asked


@pytest.mark.parametrize("bad", [{"RESSENTI_SMTP_PORT": "smtp"}, {"RESSENTI_SMTP_SECURITY": "ssl3"},
                                 {"RESSENTI_SMTP_FROM": "not-an-address"}])
def test_reports_and_alerts_refuse_the_same_smtp_setting_with_the_same_words(db_path, monkeypatch, bad):
    """One mailer: reports-send and alerts-deliver read RESSENTI_SMTP_* through one parser."""
    env = {"RESSENTI_SMTP_HOST": "smtp.ville.fr", "RESSENTI_SMTP_FROM": SENDER,
           "RESSENTI_BASE_URL": "https://ressenti.ville-de-pont.fr", **bad}
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    runner = CliRunner()
    reports = runner.invoke(main, ["collector", "reports-send", "--db", str(db_path)])
    alerts = runner.invoke(main, ["collector", "alerts-deliver", "--db", str(db_path), "--once"])
    assert reports.exit_code == alerts.exit_code == 1
    assert reports.output.strip().startswith("Error: RESSENTI_SMTP_")
    assert reports.output == alerts.output

"""`ressenti collector alerts-deliver / alerts-failures / alert-webhook`: start-up checks, listings, one run."""

from __future__ import annotations

from alerts_support import SmtpServer, add_change, free_port
from click.testing import CliRunner
from web_support import quick_user

from cli import main
from collector.alerts.subscriptions import set_email
from collector.db import connect
from collector.registry import add_site
from ressenti.protocol import utc_now


def _db(tmp_path):
    path = tmp_path / "cli.db"
    db = connect(path)
    add_site(db, "mairie", "Mairie", org="ville")
    set_email(db, quick_user(db, "alice", "admin"), "alice@ville.example.fr")
    return path, db


def test_a_missing_setting_stops_the_start_with_what_to_set(tmp_path, monkeypatch):
    path, _ = _db(tmp_path)
    for name in ("RESSENTI_SMTP_HOST", "RESSENTI_SMTP_FROM", "RESSENTI_BASE_URL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("RESSENTI_SMTP_HOST", "smtp.ville.fr")
    result = CliRunner().invoke(main, ["collector", "alerts-deliver", "--db", str(path)])
    assert result.exit_code == 1
    assert result.output.strip() == "Error: RESSENTI_SMTP_FROM is not set: the From address, e.g." \
                                    " alertes-ressenti@ville.fr"


def test_once_delivers_and_failures_are_listed(tmp_path, monkeypatch):
    path, db = _db(tmp_path)
    down = SmtpServer(tmp_path, port=free_port())
    for name, value in down.env(RESSENTI_ALERTS_HOLD_S="0").items():
        monkeypatch.setenv(name, value)
    add_change(db, alert_id=1, change="raised", at=utc_now())
    runner = CliRunner()
    once = runner.invoke(main, ["collector", "alerts-deliver", "--db", str(path), "--once"])
    assert once.exit_code == 0 and "1 changes, 1 deliveries, 1 messages, 0 sent, 1 failed" in once.output
    listing = runner.invoke(main, ["collector", "alerts-failures", "--db", str(path)])
    assert "\temail\talice\tsending\tattempts 1\t" in listing.output and "mairie" in listing.output


def test_webhooks_are_added_listed_and_disabled_without_showing_secrets_again(tmp_path):
    path, _ = _db(tmp_path)
    runner = CliRunner()
    added = runner.invoke(main, ["collector", "alert-webhook", "add", "--db", str(path), "https://hooks.example/x",
                                 "--scope", "org:ville", "--label", "Tchap"])
    assert added.exit_code == 0, added.output
    secret = added.output.strip().rsplit(" ", 1)[1]
    assert len(secret) >= 32
    listed = runner.invoke(main, ["collector", "alert-webhook", "list", "--db", str(path)])
    assert "https://hooks.example/x\torg:ville\tenabled\tTchap" in listed.output and secret not in listed.output
    assert runner.invoke(main, ["collector", "alert-webhook", "disable", "--db", str(path), "1"]).exit_code == 0
    missing = runner.invoke(main, ["collector", "alert-webhook", "disable", "--db", str(path), "42"])
    assert missing.exit_code == 1 and "no webhook 42" in missing.output
    bad = runner.invoke(main, ["collector", "alert-webhook", "add", "--db", str(path), "https://h.example/",
                               "--scope", "org:nowhere"])
    assert bad.exit_code == 1 and "no such organisation" in bad.output

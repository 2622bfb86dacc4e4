"""Every command has help text; registry commands work on a real database file."""

from __future__ import annotations

import click
import pytest
from click.testing import CliRunner

from cli import main


def all_commands(group: click.Group, prefix: tuple[str, ...] = ()):
    for name, command in group.commands.items():
        yield prefix + (name,), command
        if isinstance(command, click.Group):
            yield from all_commands(command, prefix + (name,))


@pytest.mark.parametrize("path, command", list(all_commands(main)),
                         ids=lambda v: " ".join(v) if isinstance(v, tuple) else "")
def test_every_command_has_help(path, command):
    assert command.help, f"`ressenti {' '.join(path)}` has no help text"
    result = CliRunner().invoke(main, [*path, "-h"])
    assert result.exit_code == 0, result.output
    assert "Usage:" in result.output


def test_site_and_kiosk_registration(tmp_path):
    db = str(tmp_path / "c.db")
    runner = CliRunner()
    added = runner.invoke(main, ["collector", "site", "add", "--db", db, "mairie", "Mairie", "--scale", "3"])
    assert added.exit_code == 0
    result = runner.invoke(main, ["collector", "kiosk", "add", "--db", db, "borne-1", "--site", "mairie"])
    assert result.exit_code == 0 and "registered" in result.output
    listing = runner.invoke(main, ["collector", "site", "list", "--db", db])
    assert "mairie" in listing.output and "3 faces" in listing.output


def test_kiosk_on_unknown_site_is_a_clear_error(tmp_path):
    db = str(tmp_path / "c.db")
    result = CliRunner().invoke(main, ["collector", "kiosk", "add", "--db", db, "borne-1", "--site", "nowhere"])
    assert result.exit_code == 1
    assert "Error: site 'nowhere' does not exist" in result.output


def test_collector_run_refuses_without_secret_key(tmp_path, monkeypatch):
    monkeypatch.delenv("RESSENTI_SECRET_KEY", raising=False)
    result = CliRunner().invoke(main, ["collector", "run", "--db", str(tmp_path / "c.db"),
                                       "--broker", "mqtt://127.0.0.1:1"])
    assert result.exit_code != 0 and "RESSENTI_SECRET_KEY" in result.output


def test_site_add_on_an_existing_site_changes_only_what_it_is_given(tmp_path):
    from collector.db import connect
    from collector.registry import get_site

    db = str(tmp_path / "c.db")
    runner = CliRunner()
    assert runner.invoke(main, ["collector", "site", "add", "--db", db, "mairie", "Mairie", "--org", "ville",
                                "--tz", "Europe/Brussels", "--scale", "3"]).exit_code == 0
    hours = '{"mon": "08:30-12:00,13:30-17:00"}'
    assert runner.invoke(main, ["collector", "site", "update", "--db", db, "mairie", "--hours", hours]).exit_code == 0
    again = runner.invoke(main, ["collector", "site", "add", "--db", db, "mairie", "Mairie centrale",
                                 "--scale", "5"])
    assert again.exit_code == 0, again.output
    assert "updated (name, scale)" in again.output
    site = get_site(connect(db), "mairie")
    assert (site.name, site.org, site.tz, site.scale) == ("Mairie centrale", "ville", "Europe/Brussels", 5)
    assert site.opening_hours and site.opening_hours["mon"], "the opening hours are kept"


def test_tokens_are_created_listed_and_revoked_from_the_cli(tmp_path):
    from collector.db import connect
    from collector.tokens import TokenError, TokenKind, verify_token

    db = str(tmp_path / "c.db")
    runner = CliRunner()
    runner.invoke(main, ["collector", "site", "add", "--db", db, "mairie", "Mairie"])
    old_form = runner.invoke(main, ["collector", "token", "--db", db, "--kind", "wall", "--subject", "mairie",
                                    "--label", "hall"])
    assert old_form.exit_code == 0, old_form.output
    wall = old_form.output.strip()
    admin = runner.invoke(main, ["collector", "token", "create", "--db", db, "--kind", "admin"]).output.strip()
    assert verify_token(connect(db), wall, TokenKind.WALL).subject == "site:mairie"

    listing = runner.invoke(main, ["collector", "token", "list", "--db", db])
    rows = [line.split("\t") for line in listing.output.splitlines()]
    assert [(r[0], r[1], r[2], r[3], r[5]) for r in rows] == [("1", "wall", "site:mairie", "hall", "active"),
                                                               ("2", "admin", "-", "-", "active")]
    assert wall not in listing.output and admin not in listing.output, "secrets are never shown again"

    assert runner.invoke(main, ["collector", "token", "revoke", "--db", db, "1"]).output == "token 1 revoked\n"
    with pytest.raises(TokenError):
        verify_token(connect(db), wall, TokenKind.WALL)
    assert "1\twall" not in runner.invoke(main, ["collector", "token", "list", "--db", db]).output
    assert "revoked" in runner.invoke(main, ["collector", "token", "list", "--db", db, "--all"]).output
    again = runner.invoke(main, ["collector", "token", "revoke", "--db", db, "1"])
    assert again.exit_code == 1 and "already revoked" in again.output
    unknown = runner.invoke(main, ["collector", "token", "revoke", "--db", db, "99"])
    assert unknown.exit_code == 1 and "no token 99" in unknown.output


@pytest.mark.parametrize("subject, message", [
    ("nowhere", "'nowhere' is no organisation or site here (organisations: ville; sites: mairie)"),
    ("", "a wall shows an organisation or at least one site"),
])
def test_a_wall_token_for_an_unknown_subject_is_refused_with_what_exists(tmp_path, subject, message):
    from collector.db import connect

    db = str(tmp_path / "c.db")
    runner = CliRunner()
    runner.invoke(main, ["collector", "site", "add", "--db", db, "mairie", "Mairie", "--org", "ville"])
    result = runner.invoke(main, ["collector", "token", "--db", db, "--kind", "wall", "--subject", subject])
    assert result.exit_code == 2 and message in result.output, result.output
    assert connect(db)["tokens"].count == 0
    org_wall = runner.invoke(main, ["collector", "token", "--db", db, "--kind", "wall", "--subject", "ville"])
    assert org_wall.exit_code == 0

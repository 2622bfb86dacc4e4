"""Every command has help text; registry commands work on a real database file."""

from __future__ import annotations

import click
import pytest
from click.testing import CliRunner

from ressenti.cli import main


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

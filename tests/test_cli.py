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

"""Issue 15: `ressenti collector barometer ...` end to end on a real database."""

from __future__ import annotations

from click.testing import CliRunner

from cli import main
from collector.db import connect
from collector.registry import add_site


def test_enable_team_codes_and_show(tmp_path):
    path = str(tmp_path / "c.db")
    db = connect(path)
    add_site(db, "mairie", "Mairie", org="ville")
    db.close()
    run = CliRunner().invoke
    assert "minimum 5" in run(main, ["collector", "barometer", "enable", "ville", "--db", path]).output
    refused = run(main, ["collector", "barometer", "enable", "ville", "--min-group", "3", "--db", path])
    assert refused.exit_code != 0 and "can only be raised" in refused.output
    assert "/equipe/accueil" in run(main, ["collector", "barometer", "team", "accueil", "--name", "Accueil",
                                           "--site", "mairie", "--db", path]).output
    out = run(main, ["collector", "barometer", "codes", "accueil", "--week", "2026-W49", "--count", "3", "--db", path])
    assert out.exit_code == 0 and len(out.output.split()) == 3
    shown = run(main, ["collector", "barometer", "show", "accueil", "--db", path])
    assert shown.exit_code == 0 and "withheld" in shown.output
    missing = run(main, ["collector", "barometer", "codes", "nope", "--count", "3", "--db", path])
    assert missing.exit_code != 0 and "no team 'nope'" in missing.output

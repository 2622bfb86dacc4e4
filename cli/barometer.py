"""`ressenti collector barometer ...`: the agents' anonymous team barometer (issue 15, docs/barometer.md)."""

from __future__ import annotations

from datetime import date
from zoneinfo import ZoneInfo

import click

from cli.common import CONTEXT, db_option


@click.group("barometer", context_settings=CONTEXT)
def barometer_group() -> None:
    """Team barometer: enable per organisation, teams, single-use codes, figures."""


def _today() -> date:
    from datetime import datetime
    return datetime.now(ZoneInfo("Europe/Paris")).date()


@barometer_group.command("enable")
@db_option
@click.argument("org")
@click.option("--min-group", type=int, default=None, help="Answers a figure needs (5 at least).")
def enable(db_path: str, org: str, min_group: int | None) -> None:
    """Turn the barometer on for an organisation (it is off until then)."""
    from collector.barometer.settings import save_settings
    from collector.db import connect
    s = save_settings(connect(db_path), org, enabled=True, min_group=min_group)
    click.echo(f"barometer enabled for {org} (minimum {s.min_group} answers per team and period)")


@barometer_group.command("disable")
@db_option
@click.argument("org")
def disable(db_path: str, org: str) -> None:
    """Turn it off: staff pages answer 404, managers see nothing; stored counters stay until purged."""
    from collector.barometer.settings import save_settings
    from collector.db import connect
    save_settings(connect(db_path), org, enabled=False)
    click.echo(f"barometer disabled for {org}")


@barometer_group.command("team")
@db_option
@click.argument("team_id")
@click.option("--name", required=True)
@click.option("--site", "sites", multiple=True, required=True, help="A site of the team (repeatable).")
def team(db_path: str, team_id: str, name: str, sites: tuple[str, ...]) -> None:
    """Create or change a team (a reception point or a group of sites of one organisation)."""
    from collector.barometer.teams import save_team
    from collector.db import connect
    t = save_team(connect(db_path), team_id, name, list(sites))
    click.echo(f"team {t.id} ({t.org}): {', '.join(t.site_ids)}; staff page /equipe/{t.id}")


@barometer_group.command("codes")
@db_option
@click.argument("team_id")
@click.option("--week", help="ISO week, e.g. 2026-W49 (default: this week).")
@click.option("--count", type=int, required=True, help="One per team member.")
def codes(db_path: str, team_id: str, week: str | None, count: int) -> None:
    """Print fresh single-use codes of a team for one week, one a line (cut them apart, shuffle them)."""
    from collector.barometer import BarometerError
    from collector.barometer.codes import new_codes
    from collector.barometer.teams import get_team
    from collector.barometer.weeks import week_of
    from collector.db import connect
    db = connect(db_path)
    t = get_team(db, team_id)
    if t is None:
        raise BarometerError(f"no team {team_id!r}")
    for code in new_codes(db, t, week or week_of(_today()), count):
        click.echo(code)


@barometer_group.command("show")
@db_option
@click.argument("team_id")
@click.option("--unit", type=click.Choice(["week", "month"]), default="week")
def show(db_path: str, team_id: str, unit: str) -> None:
    """The team's figures as managers see them (withheld under the minimum)."""
    from collector.barometer import BarometerError
    from collector.barometer.figures import team_figures
    from collector.barometer.teams import get_team
    from collector.db import connect
    db = connect(db_path)
    t = get_team(db, team_id)
    if t is None:
        raise BarometerError(f"no team {team_id!r}")
    figures = team_figures(db, t, unit, _today())
    click.echo("period\tagents_favourable\tusers_net_satisfaction")
    for p in figures["periods"]:
        index = f"{p['index']:.0%}" if p["shown"] and p["index"] is not None else "withheld"
        net = f"{p['net_satisfaction']:+.0%}" if p["net_satisfaction"] is not None else "withheld"
        click.echo(f"{p['period']}\t{index}\t{net}")
    click.echo(figures["reading"]["en"])

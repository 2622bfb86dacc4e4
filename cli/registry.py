"""`ressenti collector site|kiosk|source|token ...`: the registry of sites, kiosks, HTTP sources and tokens."""

from __future__ import annotations

import json

import click

from cli.common import CONTEXT, db_option


@click.group("site", context_settings=CONTEXT)
def site_group() -> None:
    """Sites (reception points)."""


@site_group.command("add")
@db_option
@click.argument("site_id")
@click.argument("name")
@click.option("--org", default="default", show_default=True, help="Organisation id.")
@click.option("--tz", default="Europe/Paris", show_default=True, help="Time zone of the site.")
@click.option("--scale", type=click.IntRange(3, 5), default=4, show_default=True, help="Number of faces.")
@click.pass_context
def site_add(ctx: click.Context, db_path: str, site_id: str, name: str, org: str, tz: str, scale: int) -> None:
    """Add a site; on an existing one, change only the name and the options given (hours stay)."""
    from collector.db import connect
    from collector.registry import add_site, get_site, update_site

    db = connect(db_path)
    if get_site(db, site_id) is None:
        add_site(db, site_id, name, org=org, tz=tz, scale=scale)
        click.echo(f"site {site_id} added")
        return
    # Re-running the same command (a script, a playbook) must not reset what it does not name:
    # the defaults of --org, --tz and --scale, and the opening hours, which it cannot name.
    given = {key: value for key, value in {"org": org, "tz": tz, "scale": scale}.items()
             if ctx.get_parameter_source(key) is not click.core.ParameterSource.DEFAULT}
    update_site(db, site_id, name=name, **given)
    click.echo(f"site {site_id} updated ({', '.join(['name', *given])}); other fields kept")


@site_group.command("list")
@db_option
def site_list(db_path: str) -> None:
    """List sites."""
    from collector.db import connect
    from collector.registry import list_sites

    for s in list_sites(connect(db_path)):
        click.echo(f"{s.id}\t{s.org}\t{s.scale} faces\t{s.tz}\t{s.name}")


@click.group("kiosk", context_settings=CONTEXT)
def kiosk_group() -> None:
    """Kiosks known to the collector."""


@kiosk_group.command("add")
@db_option
@click.argument("kiosk_id")
@click.option("--site", required=True, help="Site the kiosk stands at.")
@click.option("--name", default=None, help="Human name.")
def kiosk_add(db_path: str, kiosk_id: str, site: str, name: str | None) -> None:
    """Register a kiosk at a site."""
    from collector.db import connect
    from collector.registry import add_kiosk

    add_kiosk(connect(db_path), kiosk_id, site, name)
    click.echo(f"kiosk {kiosk_id} registered at {site}")


@site_group.command("update")
@db_option
@click.argument("site_id")
@click.option("--name", default=None, help="New name.")
@click.option("--org", default=None, help="Move to another organisation.")
@click.option("--tz", default=None, help="Time zone.")
@click.option("--scale", type=click.IntRange(3, 5), default=None, help="Number of faces.")
@click.option("--hours", "hours_json", default=None,
              help='Opening hours as JSON, e.g. \'{"mon": "08:30-12:00,13:30-17:00"}\'; "null" clears.')
def site_update(db_path: str, site_id: str, name: str | None, org: str | None, tz: str | None,
                scale: int | None, hours_json: str | None) -> None:
    """Rename a site, or change its organisation, time zone, scale or opening hours."""
    from collector.db import connect
    from collector.registry import update_site

    changes = {k: v for k, v in {"name": name, "org": org, "tz": tz, "scale": scale}.items() if v is not None}
    if hours_json is not None:
        try:
            changes["opening_hours"] = json.loads(hours_json)
        except json.JSONDecodeError as exc:
            raise click.BadParameter(f"not JSON: {exc}", param_hint="--hours") from None
    site = update_site(connect(db_path), site_id, **changes)
    click.echo(f"site {site.id} saved")


@kiosk_group.command("list")
@db_option
@click.option("--site", default=None, help="Only this site.")
def kiosk_list(db_path: str, site: str | None) -> None:
    """List kiosks and HTTP sources."""
    from collector.db import connect
    from collector.registry import list_kiosks

    for k in list_kiosks(connect(db_path), site):
        state = f"retired {k['retired']}" if k["retired"] else "active"
        click.echo(f"{k['id']}\t{k['site']}\t{k['channel'] or 'kiosk'}\t{state}")


@kiosk_group.command("move")
@db_option
@click.argument("kiosk_id")
@click.option("--site", required=True, help="The kiosk's new site.")
def kiosk_move(db_path: str, kiosk_id: str, site: str) -> None:
    """Move a kiosk to another site (an unassigned kiosk takes its past events along)."""
    from collector.db import connect
    from collector.registry import move_kiosk

    moved = move_kiosk(connect(db_path), kiosk_id, site)
    click.echo(f"kiosk {kiosk_id} now at {site}" + (f"; {moved} past events moved with it" if moved else ""))


@kiosk_group.command("retire")
@db_option
@click.argument("kiosk_id")
def kiosk_retire(db_path: str, kiosk_id: str) -> None:
    """Retire a kiosk: its further batches are rejected, its past figures stay."""
    from collector.db import connect
    from collector.registry import retire_kiosk

    retire_kiosk(connect(db_path), kiosk_id)
    click.echo(f"kiosk {kiosk_id} retired")


@kiosk_group.command("gaps")
@db_option
@click.argument("kiosk_id")
def kiosk_gaps(db_path: str, kiosk_id: str) -> None:
    """Seq ranges never received from a kiosk (per epoch)."""
    from collector.audit import seq_gaps
    from collector.db import connect

    gaps = seq_gaps(connect(db_path), kiosk_id)
    for gap in gaps:
        click.echo(f"epoch {gap['epoch']}: seq {gap['from']}-{gap['to']} ({gap['count']}) {gap['reason']}")
    if not gaps:
        click.echo("no gaps")


@click.command("source")
@db_option
@click.argument("source_id")
@click.option("--site", required=True, help="Site the source's ratings count for.")
@click.option("--channel", type=click.Choice(["web", "phone"]), required=True, help="Channel of its ratings.")
def source_add(db_path: str, source_id: str, site: str, channel: str) -> None:
    """Add an HTTP source (web form, phone line) and print its bearer token once."""
    from collector.db import connect
    from collector.registry import add_kiosk
    from collector.tokens import TokenKind, create_token

    db = connect(db_path)
    add_kiosk(db, source_id, site, channel=channel)
    _, secret = create_token(db, TokenKind.SOURCE, source_id, f"source {source_id}")
    click.echo(secret)


class _TokenGroup(click.Group):
    """`token --kind ...` (the first form, in scripts and docs) still creates: options first mean `create`."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        if args and args[0].startswith("-") and args[0] not in ctx.help_option_names:
            args = ["create", *args]
        return super().parse_args(ctx, args)


@click.group("token", cls=_TokenGroup, context_settings=CONTEXT)
def token_group() -> None:
    """API and wall tokens: create (also `token --kind ...`), list, revoke."""


@token_group.command("create")
@db_option
@click.option("--kind", type=click.Choice(["admin", "wall"]), required=True, help="What the token may do.")
@click.option("--subject", default="",
              help="For a wall: org:<id> (an organisation's sites) or site:<id>, several separated by commas;"
                   " a bare id only if no organisation and site share it.")
@click.option("--label", default="", help="A note to recognise the token by.")
def token_create(db_path: str, kind: str, subject: str, label: str) -> None:
    """Make an API token and print it once (only its hash is kept)."""
    from collector.db import connect
    from collector.tokens import TokenKind, create_token
    from collector.walls import WallSubjectError, create_wall

    db = connect(db_path)
    if kind == TokenKind.WALL:
        try:
            _, secret = create_wall(db, subject, label)
        except WallSubjectError as exc:
            raise click.BadParameter(str(exc), param_hint="--subject") from None
    else:
        _, secret = create_token(db, TokenKind(kind), subject, label)
    click.echo(secret)


@token_group.command("list")
@db_option
@click.option("--all", "show_all", is_flag=True, help="Also the revoked tokens.")
def token_list(db_path: str, show_all: bool) -> None:
    """List tokens: id, kind, subject, label, created, state (never the secret: only its hash is kept)."""
    from collector.db import connect
    from collector.tokens import list_tokens

    for t in list_tokens(connect(db_path)):
        if t["revoked"] and not show_all:
            continue
        state = f"revoked {t['revoked']}" if t["revoked"] else "active"
        click.echo(f"{t['id']}\t{t['kind']}\t{t['subject'] or '-'}\t{t['label'] or '-'}\t{t['created']}\t{state}")


@token_group.command("revoke")
@db_option
@click.argument("token_id", type=click.IntRange(1))
def token_revoke(db_path: str, token_id: int) -> None:
    """Revoke a token by its id (from `token list`): it stops working at once."""
    from collector.db import connect
    from collector.tokens import list_tokens, revoke_token

    db = connect(db_path)
    if revoke_token(db, token_id):
        click.echo(f"token {token_id} revoked")
        return
    known = {t["id"]: t for t in list_tokens(db)}
    if token_id in known:
        raise click.ClickException(f"token {token_id} was already revoked ({known[token_id]['revoked']})")
    raise click.ClickException(f"no token {token_id}; `collector token list` shows the ids")

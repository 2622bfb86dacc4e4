"""`ressenti collector ...`: run and administer the collector."""

from __future__ import annotations

import json
import logging
import os
import signal
import time

import click

from ressenti.cli.common import (
    CONTEXT,
    BrokerWatch,
    broker_option,
    check_port_free,
    db_option,
    logging_setup,
    signal_stop,
    verbose_option,
)


@click.group(context_settings=CONTEXT)
def collector() -> None:
    """Run and administer the collector."""


MIN_SECRET_KEY_CHARS = 32


@collector.command("run")
@db_option
@broker_option
@click.option("--port", default=8080, show_default=True, help="Web port.")
@click.option("--host", default="127.0.0.1", show_default=True, help="Address the web server binds.")
@verbose_option
def collector_run(db_path: str, broker_url: str, port: int, host: str, verbose: bool) -> None:
    """Ingest and web in one process (small setups; production runs them apart).

    \b
    Needs RESSENTI_SECRET_KEY in the environment: at least 32 random
    characters that sign the dashboard's session cookies, the same at every
    start, e.g. RESSENTI_SECRET_KEY=$(openssl rand -hex 32).
    """
    logging_setup(verbose)
    from collector.service import Collector
    from ressenti.mqtt import parse_broker_url

    secret = os.environ.get("RESSENTI_SECRET_KEY", "")
    if len(secret) < MIN_SECRET_KEY_CHARS:
        what = "is not set" if not secret else f"has {len(secret)} characters"
        raise click.UsageError(f"RESSENTI_SECRET_KEY {what}; it needs at least {MIN_SECRET_KEY_CHARS} random "
                               "characters, e.g. export RESSENTI_SECRET_KEY=$(openssl rand -hex 32)")
    broker = parse_broker_url(broker_url)
    check_port_free(host, port)
    service = Collector(db_path, broker, host=host, port=port, secret_key=secret)
    service.start()
    click.echo(f"collector: web on {service.web.url}, ingest from {broker.url}")
    try:
        BrokerWatch(service.ingest.ready, broker.url).wait(signal_stop())
    finally:
        service.stop()


@collector.command("ingest")
@db_option
@broker_option
@click.option("--shared", is_flag=True, help="Join the $share ingest group (several processes).")
@click.option("--instance", default="1", show_default=True, help="Instance name (unique per process).")
@click.option("--unknown-kiosks", type=click.Choice(["reject", "unassigned"]), default="reject",
              show_default=True, envvar="RESSENTI_UNKNOWN_KIOSKS",
              help="Reject batches of unregistered kiosks, or accept them at the 'unassigned' site.")
@click.option("--max-past-days", type=click.IntRange(1, 3660), default=92, show_default=True,
              envvar="RESSENTI_MAX_PAST_DAYS",
              help="Reject events counted more than this many days before they arrive (a kiosk outbox keeps 90).")
@click.option("--late-after-days", type=click.IntRange(0, 3660), default=3, show_default=True,
              envvar="RESSENTI_LATE_AFTER_DAYS",
              help="Flag as late the events whose local day is more than this many days before their arrival.")
@verbose_option
def collector_ingest(db_path: str, broker_url: str, shared: bool, instance: str, unknown_kiosks: str,
                     max_past_days: int, late_after_days: int, verbose: bool) -> None:
    """Only the ingest loop (MQTT -> database -> acks)."""
    logging_setup(verbose)
    from collector.arrivals import ArrivalPolicy
    from collector.ingest import IngestService
    from collector.intake import UnknownKiosks
    from ressenti.mqtt import parse_broker_url
    from ressenti.systemd import sd_notify, watchdog_interval_s

    service = IngestService(db_path, parse_broker_url(broker_url), instance=instance, shared=shared,
                            unknown_kiosks=UnknownKiosks(unknown_kiosks),
                            policy=ArrivalPolicy(max_past_days, late_after_days))
    service.start()
    stop = signal_stop()
    watch = BrokerWatch(service.ready, parse_broker_url(broker_url).url)
    # Ready once subscribed; a broker still down at boot must not fail the start
    # (paho keeps retrying), so after a minute say ready anyway, and why; the log says it meanwhile.
    deadline = time.monotonic() + 60
    while not service.ready.wait(1) and time.monotonic() < deadline and not stop.is_set():
        watch.check()
    if service.ready.is_set():
        sd_notify("READY=1\nSTATUS=subscribed")
    else:
        sd_notify(f"READY=1\nSTATUS=waiting for the broker {broker_url.split('@')[-1]}")
    interval = min(watchdog_interval_s() or 5.0, 5.0)
    try:
        while not stop.wait(interval):
            watch.check()
            if service.alive():  # a stuck store loop stops the pings, and systemd restarts us
                sd_notify("WATCHDOG=1")
    finally:
        service.stop()


@collector.command("alerts")
@db_option
@click.option("--every", "every_s", default=60, show_default=True, type=click.IntRange(1, 3600),
              help="Seconds between two evaluation passes.")
@click.option("--once", is_flag=True, help="One evaluation pass and its delivery, print what changed, exit.")
@verbose_option
def collector_alerts(db_path: str, every_s: int, once: bool, verbose: bool) -> None:
    """Evaluate the alert rules, then deliver the changes by e-mail and webhook (docs/alerts.md)."""
    logging_setup(verbose)
    from collector.alerts.delivery_settings import from_env
    from collector.alerts.service import AlertService
    from ressenti.errors import BadConfig
    from ressenti.systemd import sd_notify

    # Delivery is on once RESSENTI_SMTP_HOST is set; then every setting is checked here, before any pass.
    delivery = None
    off = "delivery off: RESSENTI_SMTP_HOST is not set (docs/alerts-delivery.md)"
    if os.environ.get("RESSENTI_SMTP_HOST", "").strip():
        try:
            delivery = from_env()
        except BadConfig as exc:
            raise click.ClickException(str(exc)) from None
    else:
        logging.getLogger(__name__).warning("alerts: %s", off)
    if once:
        service = AlertService(db_path, delivery=delivery)
        result = service.run_once()
        click.echo(f"{result.raised} raised, {result.updated} updated, {result.resolved} resolved")
        sent = service.last_delivery
        click.echo(f"{sent.sent} messages sent, {sent.failed} failed" if sent else off)
        return
    def ping(_result: object) -> None:
        """WATCHDOG=1 after each pass that completed: passes failing in a row get the service restarted."""
        sd_notify("WATCHDOG=1")

    service = AlertService(db_path, every_s, on_pass=ping, delivery=delivery)
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: service.stop())
    sd_notify("READY=1" if delivery else f"READY=1\nSTATUS={off}")
    service.run()


@collector.group("site", context_settings=CONTEXT)
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


@collector.group("kiosk", context_settings=CONTEXT)
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


@collector.command("source")
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


@collector.group("token", cls=_TokenGroup, context_settings=CONTEXT)
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


@collector.command("rebuild-rollups")
@db_option
def rebuild(db_path: str) -> None:
    """Recompute the rollups (ratings, follow-up answers, local spans) from raw events."""
    from collector.db import connect
    from collector.rollups import rebuild_rollups

    click.echo(f"{rebuild_rollups(connect(db_path))} rollup rows written")


@collector.command("purge")
@db_option
@click.option("--keep-days", type=click.IntRange(1), default=400, show_default=True,
              help="Keep raw events this many days; figures (rollups) are kept forever.")
@click.option("--keep-rejected-days", type=click.IntRange(1), default=30, show_default=True,
              help="Keep rejected input this many days after it was last seen.")
def purge(db_path: str, keep_days: int, keep_rejected_days: int) -> None:
    """Delete old raw events and old rejected input (retention); rollups stay."""
    from collector.db import connect
    from collector.retention import purge_raw_events, purge_rejected

    db = connect(db_path)
    click.echo(f"{purge_raw_events(db, keep_days)} raw events deleted")
    click.echo(f"{purge_rejected(db, keep_rejected_days)} rejected rows deleted")


@collector.command("rejected")
@db_option
@click.option("--limit", default=20, show_default=True, help="How many, newest first.")
def rejected(db_path: str, limit: int) -> None:
    """Show rejected input with its reason: how many times, first and last seen, a raw prefix."""
    from collector.db import connect

    click.echo("first seen\tlast seen\tcount\tkiosk\tseq\tclass\treason\traw (bytes: prefix)")
    for row in connect(db_path).query(
            "SELECT received_at, last_seen, count, kiosk, seq, reason_class, reason, raw, raw_len FROM rejected"
            " ORDER BY last_seen DESC, id DESC LIMIT ?", [limit]):
        prefix = (row["raw"] or b"")[:60].decode("utf-8", "backslashreplace")
        click.echo(f"{row['received_at']}\t{row['last_seen']}\t{row['count']}\t{row['kiosk'] or '-'}"
                   f"\tseq {row['seq'] or '-'}\t{row['reason_class'] or '-'}\t{row['reason']}"
                   f"\t{row['raw_len']}: {prefix!r}")


@collector.command("late")
@db_option
@click.option("--limit", default=50, show_default=True, help="How many, latest arrival first.")
def late(db_path: str, limit: int) -> None:
    """Show late arrivals: events that came days after their local day, per site, kiosk and day."""
    from collector.db import connect

    click.echo("site\tkiosk\tday\tlate events\tfirst arrival\tlast arrival")
    for row in connect(db_path).query(
            "SELECT site, kiosk, day, n, first_arrival, last_arrival FROM late_arrivals"
            " ORDER BY last_arrival DESC LIMIT ?", [limit]):
        click.echo(f"{row['site']}\t{row['kiosk']}\t{row['day']}\t{row['n']}\t{row['first_arrival']}"
                   f"\t{row['last_arrival']}")


@collector.group("user", context_settings=CONTEXT)
def user_group() -> None:
    """Dashboard users: admin, manager (scoped), viewer."""


def _read_password(password_stdin: bool) -> str:
    if password_stdin:
        import sys
        return sys.stdin.readline().rstrip("\r\n")
    from collector.users import MIN_PASSWORD_CHARS

    def long_enough(value: str) -> str:
        if len(value) < MIN_PASSWORD_CHARS:  # said before the second typing, not after
            raise click.UsageError(f"{len(value)} characters: the password needs at least {MIN_PASSWORD_CHARS}")
        return value

    return str(click.prompt(f"Password (at least {MIN_PASSWORD_CHARS} characters)", hide_input=True,
                            confirmation_prompt=True, value_proc=long_enough))


@user_group.command("add")
@db_option
@click.argument("login")
@click.option("--role", type=click.Choice(["admin", "manager", "viewer"]), required=True, help="What the user may do.")
@click.option("--scope", multiple=True,
              help="all, org:<id> or site:<id>, repeatable (managers and viewers need one; all = every site).")
@click.option("--password-stdin", is_flag=True, help="Read the password from the first line of stdin.")
def user_add(db_path: str, login: str, role: str, scope: tuple[str, ...], password_stdin: bool) -> None:
    """Add a dashboard user (the first admin, for instance); asks for the password."""
    from collector.db import connect
    from collector.users import Role, add_user, parse_scope

    db = connect(db_path)
    checked = parse_scope(db, scope, Role(role))
    user = add_user(db, login, _read_password(password_stdin), Role(role), checked)
    click.echo(f"user {user.login} added ({user.role.value}{': ' + ', '.join(user.scope) if user.scope else ''})")


@user_group.command("list")
@db_option
def user_list(db_path: str) -> None:
    """List dashboard users."""
    from collector.db import connect
    from collector.users import Role, list_users

    for u in list_users(connect(db_path)):
        scope = "all" if u.role is Role.ADMIN else ",".join(u.scope) or "none"
        click.echo(f"{u.login}\t{u.role.value}\t{scope}\t{'disabled' if u.disabled else 'active'}")


def _existing_user(db_path: str, login: str):  # type: ignore[no-untyped-def]
    """The database and the user with this login, or a clear error."""
    from collector.db import connect
    from collector.users import UserError, find_user

    db = connect(db_path)
    user = find_user(db, login)
    if user is None:
        raise UserError(f"no user {login!r}")
    return db, user


@user_group.command("password")
@db_option
@click.argument("login")
@click.option("--password-stdin", is_flag=True, help="Read the password from the first line of stdin.")
def user_password(db_path: str, login: str, password_stdin: bool) -> None:
    """Set a user's password (their open sessions end)."""
    from collector.users import set_password

    db, user = _existing_user(db_path, login)
    set_password(db, user.id, _read_password(password_stdin))
    click.echo(f"password of {login} changed")


@user_group.command("sessions")
@db_option
@click.option("--purge", is_flag=True, help="Delete the records of ended sessions (retention) instead.")
@click.option("--lifetime-hours", type=click.IntRange(1), default=12, show_default=True,
              help="The web app's PERMANENT_SESSION_LIFETIME: a session idle this long has ended.")
def user_sessions(db_path: str, purge: bool, lifetime_hours: int) -> None:
    """List open dashboard sessions (login, started, last seen), or purge ended ones."""
    from datetime import timedelta

    from collector.db import connect
    from collector.sessions import open_sessions, purge_sessions

    db, lifetime = connect(db_path), timedelta(hours=lifetime_hours)
    if purge:
        click.echo(f"{purge_sessions(db, lifetime)} ended sessions deleted")
        return
    for row in open_sessions(db, lifetime):
        click.echo(f"{row['login']}\t{row['created']}\t{row['last_seen']}")


@user_group.command("disable")
@db_option
@click.argument("login")
@click.option("--enable", is_flag=True, help="Enable the account again instead.")
def user_disable(db_path: str, login: str, enable: bool) -> None:
    """Disable a user (their sessions end at once), or enable them again."""
    from collector.users import set_disabled

    db, user = _existing_user(db_path, login)
    set_disabled(db, user.id, not enable)
    click.echo(f"user {login} {'enabled' if enable else 'disabled'}")


from ressenti.cli import reports as _reports  # noqa: E402  (after the group, which it extends)

for _command in _reports.COMMANDS:
    collector.add_command(_command)

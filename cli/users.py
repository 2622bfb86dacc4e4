"""`ressenti collector user ...`: dashboard accounts and their sessions."""

from __future__ import annotations

import click

from cli.common import CONTEXT, db_option


@click.group("user", context_settings=CONTEXT)
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

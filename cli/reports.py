"""`ressenti collector report ...`: printed reports and posters on demand, scheduled reports and their subscribers."""

from __future__ import annotations

import os
from datetime import time
from pathlib import Path

import click

from cli.common import CONTEXT, db_option, logging_setup, verbose_option

scope_options = [
    click.option("--site", default=None, help="A site id."),
    click.option("--org", default=None, help="An organisation id (all its sites)."),
]
min_cell_option = click.option("--min-cell", type=click.IntRange(1), default=None, envvar="RESSENTI_MIN_CELL",
                               help="Smallest cell shown (default: the dashboard's, 10).")
base_url_option = click.option("--base-url", default=None, envvar="RESSENTI_BASE_URL",
                               help="The collector's public address, for the poster's QR code.")


def _scope_options(f):  # type: ignore[no-untyped-def]
    for option in reversed(scope_options):
        f = option(f)
    return f


def _fail(exc: Exception) -> click.ClickException:
    return click.ClickException(str(exc))


@click.command("report", context_settings=CONTEXT)
@db_option
@_scope_options
@click.option("--period", type=click.Choice(["week", "month", "year"]), default="month", show_default=True)
@click.option("--date", "day", default=None, help="A day of the period, YYYY-MM-DD (default: today, to date).")
@click.option("--lang", type=click.Choice(["fr", "en"]), default="fr", show_default=True)
@click.option("--poster", type=click.Choice(["a4", "a3"]), default=None, help="The results poster instead.")
@click.option("--out", type=click.Path(dir_okay=False, writable=True), required=True, help="The PDF to write.")
@min_cell_option
@base_url_option
def report(db_path: str, site: str | None, org: str | None, period: str, day: str | None, lang: str,
           poster: str | None, out: str, min_cell: int | None, base_url: str | None) -> None:
    """Write the PDF report (or results poster) of a site or organisation for a week, month or year."""
    from collector.db import connect
    from collector.publication import DEFAULT_MIN_CELL
    from collector.reports_pdf.content import content_for, resolve_scope
    from collector.reports_pdf.notes import poster_notes
    from collector.reports_pdf.period import ReportError, parse_day
    from collector.reports_pdf.render import poster_pdf, rendering, report_pdf, results_url
    from ressenti.protocol import utc_now

    if not Path(db_path).exists():
        raise click.ClickException(f"no database at {db_path}")
    db = connect(db_path)
    now = utc_now()
    try:
        scope = resolve_scope(db, site=site, org=org)
        when = parse_day(day) if day else None
        with rendering(lang):
            content = content_for(db, scope, period, when or now.astimezone(scope.sites[0].zone).date(), now,
                                  lang=lang, min_cell=min_cell or DEFAULT_MIN_CELL)
            if poster:
                if scope.kind != "site":
                    raise ReportError("a poster is for one site: give --site")
                s = scope.sites[0]
                pdf = poster_pdf(content, poster, results_url(base_url, s.id),
                                 poster_notes(db, s.id, s.org, content.period, lang))
            else:
                pdf = report_pdf(db, content)
    except ReportError as exc:
        raise _fail(exc) from None
    Path(out).write_bytes(pdf)
    click.echo(f"{out}: {content.scope.name}, {content.period.label(lang)}")


@click.command("reports-send", context_settings=CONTEXT)
@db_option
@click.option("--at", "send_at", default="07:00", show_default=True, envvar="RESSENTI_REPORTS_SEND_AT",
              help="Local time from which a report is due (weekly on Monday, monthly on the 1st).")
@min_cell_option
@base_url_option
@verbose_option
def reports_send(db_path: str, send_at: str, min_cell: int | None, base_url: str | None, verbose: bool) -> None:
    """Render and e-mail the reports due to their subscribers, each period's once (SMTP: RESSENTI_SMTP_*)."""
    from collector.alerts.delivery_settings import smtp_from_env
    from collector.db import connect
    from collector.publication import DEFAULT_MIN_CELL
    from collector.reports_pdf.schedule import send_due, subscriptions
    from collector.reports_pdf.smtp import smtp_sender
    from ressenti.errors import BadConfig

    logging_setup(verbose)
    try:
        at = time.fromisoformat(send_at)
    except ValueError:
        raise click.BadParameter(f"{send_at!r} is not a time like 07:00", param_hint="--at") from None
    if not Path(db_path).exists():
        raise click.ClickException(f"no database at {db_path}")
    db = connect(db_path)
    if not subscriptions(db):
        click.echo("no report subscribers (ressenti collector report-subscribe)")
        return  # an enabled timer without SMTP settings yet is not a failure
    try:
        settings = smtp_from_env(os.environ)
    except BadConfig as exc:
        raise _fail(exc) from None
    result = send_due(db, smtp_sender(settings), sender=settings.smtp_from, send_at=at,
                      min_cell=min_cell or DEFAULT_MIN_CELL, base_url=base_url)
    click.echo(f"{len(result['sent'])} reports sent, {len(result['failed'])} failed")
    if result["failed"]:
        raise SystemExit(1)


@click.command("report-subscribe", context_settings=CONTEXT)
@db_option
@click.argument("email")
@_scope_options
@click.option("--every", type=click.Choice(["week", "month"]), required=True, help="Weekly or monthly report.")
@click.option("--lang", type=click.Choice(["fr", "en"]), default="fr", show_default=True)
@click.option("--remove", is_flag=True, help="Unsubscribe instead.")
def report_subscribe(db_path: str, email: str, site: str | None, org: str | None, every: str, lang: str,
                     remove: bool) -> None:
    """Send (or stop sending, --remove) the weekly or monthly report of a site or organisation to EMAIL."""
    from collector.db import connect
    from collector.reports_pdf.content import resolve_scope
    from collector.reports_pdf.period import ReportError
    from collector.reports_pdf.schedule import subscribe, unsubscribe

    db = connect(db_path)
    try:
        scope = resolve_scope(db, site=site, org=org)
        if remove:
            done = unsubscribe(db, email, scope.value, every)
            click.echo(f"{email}: {'unsubscribed' if done else 'was not subscribed'} ({scope.value}, {every})")
            return
        subscribe(db, email, scope, every, lang)
    except ReportError as exc:
        raise _fail(exc) from None
    click.echo(f"{email}: {every} report of {scope.value} ({lang})")


@click.command("report-subscriptions", context_settings=CONTEXT)
@db_option
def report_subscriptions(db_path: str) -> None:
    """List report subscribers: e-mail, scope, every, language, last period sent."""
    from collector.db import connect

    db = connect(db_path)
    for row in db.execute(
            "SELECT s.email, s.scope, s.every, s.lang, MAX(r.period) FROM report_subscriptions s"
            " LEFT JOIN report_runs r ON r.subscription_id = s.id GROUP BY s.id ORDER BY s.id"):
        click.echo("\t".join(str(v) if v is not None else "-" for v in row))


COMMANDS = [report, reports_send, report_subscribe, report_subscriptions]

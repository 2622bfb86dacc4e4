"""`ressenti collector rebuild-rollups|purge|rejected|late`: maintenance and what the ingest refused or flagged."""

from __future__ import annotations

import click

from cli.common import db_option


@click.command("rebuild-rollups")
@db_option
def rebuild(db_path: str) -> None:
    """Recompute the rollups (ratings, follow-up answers, local spans) from raw events."""
    from collector.db import connect
    from collector.rollups import rebuild_rollups

    click.echo(f"{rebuild_rollups(connect(db_path))} rollup rows written")


@click.command("purge")
@db_option
@click.option("--keep-days", type=click.IntRange(1), default=400, show_default=True,
              help="Keep raw events this many days; figures (rollups) are kept forever.")
@click.option("--keep-rejected-days", type=click.IntRange(1), default=30, show_default=True,
              help="Keep rejected input this many days after it was last seen.")
@click.option("--keep-comment-days", type=click.IntRange(1), default=90, show_default=True,
              help="Keep the web survey's free-text comments this many days (docs/survey.md).")
@click.option("--keep-barometer-weeks", type=click.IntRange(1), default=2, show_default=True,
              help="Keep the barometer's single-use codes this many weeks after their week.")
@click.option("--keep-barometer-counter-weeks", type=click.IntRange(1), default=104, show_default=True,
              help="Keep the barometer's per-week counters (its figures) this many weeks.")
def purge(db_path: str, keep_days: int, keep_rejected_days: int, keep_comment_days: int,
          keep_barometer_weeks: int, keep_barometer_counter_weeks: int) -> None:
    """Delete old raw events, rejected input, survey comments and barometer codes/counters (retention)."""
    from datetime import date

    from collector.barometer.retention import purge_codes, purge_counters
    from collector.db import connect
    from collector.retention import purge_raw_events, purge_rejected
    from collector.survey.comments import purge_comments

    db = connect(db_path)
    today = date.today()
    click.echo(f"{purge_raw_events(db, keep_days)} raw events deleted")
    click.echo(f"{purge_rejected(db, keep_rejected_days)} rejected rows deleted")
    click.echo(f"{purge_comments(db, keep_comment_days)} survey comments deleted")
    click.echo(f"{purge_codes(db, today, keep_barometer_weeks)} barometer codes deleted")
    click.echo(f"{purge_counters(db, today, keep_barometer_counter_weeks)} barometer team-weeks of counters deleted")


@click.command("rejected")
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


@click.command("late")
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

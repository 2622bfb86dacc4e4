"""`ressenti collector alerts-deliver`, `alerts-failures` and `alert-webhook ...`: alert delivery (issue 12)."""

from __future__ import annotations

import signal

import click

from cli.common import CONTEXT, db_option, logging_setup, verbose_option


@click.command("alerts-deliver", context_settings=CONTEXT)
@db_option
@click.option("--once", is_flag=True, help="One delivery run, print what it did, exit.")
@verbose_option
def alerts_deliver(db_path: str, once: bool, verbose: bool) -> None:
    """Send alert e-mails and webhooks from the alert changes (settings: RESSENTI_SMTP_*, RESSENTI_BASE_URL)."""
    logging_setup(verbose)
    from collector.alerts.delivery import DeliveryLoop, run_delivery_once
    from collector.alerts.delivery_settings import from_env
    from collector.db import connect
    from ressenti.systemd import sd_notify

    settings = from_env()  # a missing setting stops here, before any alert (BadConfig -> one clear line)
    if once:
        result = run_delivery_once(connect(db_path), settings)
        click.echo(f"{result.changes} changes, {result.deliveries} deliveries, {result.messages} messages,"
                   f" {result.sent} sent, {result.failed} failed")
        return
    loop = DeliveryLoop(db_path, settings)
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: loop.stop())
    sd_notify("READY=1")
    loop.run(on_run=lambda _result: sd_notify("WATCHDOG=1"))


@click.command("alerts-failures", context_settings=CONTEXT)
@db_option
@click.option("--limit", type=click.IntRange(1, 10000), default=100, show_default=True, help="Rows at most.")
def alerts_failures(db_path: str, limit: int) -> None:
    """List alert messages not delivered yet after a failure (or given up), newest first."""
    from collector.alerts.delivery import delivery_failures
    from collector.db import connect

    rows = delivery_failures(connect(db_path), limit=limit)
    for r in rows:
        click.echo(f"{r['created_at']}\t{r['channel']}\t{r['recipient'] or '-'}\t{r['state']}\tattempts {r['attempts']}"
                   f"\tnext {r['next_attempt_at'] if r['state'] == 'sending' else '-'}\t{','.join(r['sites'])}"
                   f"\t{r['last_error']}")
    if not rows:
        click.echo("no delivery failures")


@click.group("alert-webhook", context_settings=CONTEXT)
def alert_webhook() -> None:
    """Webhooks that receive alerts as signed JSON (docs/alerts-delivery.md)."""


@alert_webhook.command("add")
@db_option
@click.argument("url")
@click.option("--scope", required=True, help="all, org:<id> or site:<id>: the alerts it receives.")
@click.option("--label", default="", help="A name for the admins (a Tchap room, a ticket queue).")
@click.option("--secret-stdin", is_flag=True, help="Read the signing secret from stdin (default: a new random one).")
def webhook_add(db_path: str, url: str, scope: str, label: str, secret_stdin: bool) -> None:
    """Add a webhook; prints its signing secret once."""
    import sys

    from collector.alerts.webhook import add_webhook
    from collector.db import connect
    from ressenti.protocol import utc_now

    secret = sys.stdin.readline().strip() if secret_stdin else None
    webhook_id, secret = add_webhook(connect(db_path), url, scope, secret=secret, label=label, now=utc_now())
    click.echo(f"webhook {webhook_id} added; signing secret (shown once): {secret}")


@alert_webhook.command("list")
@db_option
def webhook_list(db_path: str) -> None:
    """List webhooks (never their secrets)."""
    from collector.alerts.webhook import list_webhooks
    from collector.db import connect

    for w in list_webhooks(connect(db_path)):
        click.echo(f"{w['id']}\t{w['url']}\t{w['scope']}\t{'enabled' if w['enabled'] else 'disabled'}\t{w['label']}")


@alert_webhook.command("disable")
@db_option
@click.argument("webhook_id", type=int)
@click.option("--enable", is_flag=True, help="Enable it again instead.")
def webhook_disable(db_path: str, webhook_id: int, enable: bool) -> None:
    """Stop sending to a webhook (its pending messages are dropped), or enable it again."""
    from collector.alerts.webhook import WebhookError, set_webhook_enabled
    from collector.db import connect

    if not set_webhook_enabled(connect(db_path), webhook_id, enable):
        raise WebhookError(f"no webhook {webhook_id}")
    click.echo(f"webhook {webhook_id} {'enabled' if enable else 'disabled'}")

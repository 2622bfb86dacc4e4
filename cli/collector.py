"""`ressenti collector ...`: run and administer the collector."""

from __future__ import annotations

import logging
import os
import signal
import time

import click

from cli.common import (
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
@click.option("--every", "every_s", default=30, show_default=True, type=click.IntRange(1, 3600),
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

"""`ressenti demo`: everything in one process, on the embedded broker by default."""

from __future__ import annotations

import logging
from pathlib import Path

import click

from cli.common import CONTEXT, check_port_free, logging_setup, program_name, verbose_option, wait_for_signal


@click.command(context_settings=CONTEXT)
@click.option("--port", default=8080, show_default=True, help="Web port of the wall display.")
@click.option("--host", default="127.0.0.1", show_default=True, help="Address the web server binds.")
@click.option("--kiosks", default=6, show_default=True, type=click.IntRange(1, 300),
              help="Simulated kiosks, spread over 3 sites; the first is a touch screen.")
@click.option("--broker", "broker_url", default=None,
              help="Use this broker (mqtt://host:port) instead of the embedded one.")
@click.option("--data", "data_dir", default="demo-data", show_default=True, type=click.Path(file_okay=False),
              help="Where the demo keeps its databases.")
@click.option("--mean-gap", default=4.0, show_default=True,
              help="Mean extra seconds between visitors per kiosk (after a 4.5 s minimum).")
@click.option("--history-days", default=28, show_default=True, type=click.IntRange(0, 400),
              help="Simulated past days stored on first start (dashboard, trends); 0 for none.")
@click.option("--allow-network", is_flag=True,
              help="Let a --host other than loopback serve the demo: walls then need their token link, "
                   "and session cookies are Secure (the dashboard login needs HTTPS in front).")
@verbose_option
def demo(port: int, host: str, kiosks: int, broker_url: str | None, data_dir: str,
         mean_gap: float, history_days: int, allow_network: bool, verbose: bool) -> None:
    """Run broker, collector and simulated kiosks; print the wall display link and a dashboard login."""
    logging_setup(verbose)
    if not verbose:
        for name in ("kiosk", "collector", "amqtt", "transitions", "werkzeug"):
            logging.getLogger(name).setLevel(logging.WARNING)
    from demo.run import Demo

    app = Demo(port=port, host=host, kiosks=kiosks, broker_url=broker_url, allow_network=allow_network,
               data_dir=Path(data_dir), mean_gap_s=mean_gap, history_days=history_days)
    check_port_free(host, port)
    if not app.local:
        click.secho(f"WARNING: the demo listens on {host}, beyond this machine. Its walls need their token "
                    "link; its dashboard login needs HTTPS in front (plain http here, so Secure cookies are "
                    "not sent back). Do not use it with real data.", fg="red", bold=True, err=True)
    access = app.start()
    boxes = f", {kiosks - 1} button box{'es' if kiosks > 2 else ''}" if kiosks > 1 else ""
    web = ", a web form" if app.web_form else ""
    click.echo(f"ressenti demo: a touch screen with a follow-up question{boxes}{web}; broker {app.broker_url}")
    click.echo(f"Wall display / mur d'affichage: {access.wall_url}")
    click.echo(f"Dashboard / tableau de bord:    {access.dashboard_url}")
    click.echo(f"  login / identifiant: {access.login}   password / mot de passe: {access.password}")
    click.echo(f"  (a new password at each start; more users: {program_name()} collector user add --db "
               f"{Path(data_dir) / 'collector.db'} LOGIN --role viewer)")
    click.echo(f"Alert e-mails / e-mails d'alerte: {access.mailbox}/  (one file per message, from a local SMTP "
               "server)")
    click.echo(f"  the Mairie's visitors have a bad morning: an alert within minutes, on "
               f"{access.dashboard_url.removesuffix('/dashboard')}/alerts")
    click.echo("Ctrl-C to stop.")
    try:
        wait_for_signal()
    finally:
        app.stop()

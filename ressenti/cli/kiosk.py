"""`ressenti kiosk ...`: run and inspect a kiosk."""

from __future__ import annotations

import json

import click

from ressenti.cli.common import CONTEXT, logging_setup, verbose_option


@click.group(context_settings=CONTEXT)
def kiosk() -> None:
    """Run a kiosk."""


@kiosk.command("run")
@click.option("--config", "config_path", default="/etc/ressenti/kiosk.toml", show_default=True,
              type=click.Path(dir_okay=False), help="Kiosk config file.")
@verbose_option
def kiosk_run(config_path: str, verbose: bool) -> None:
    """Run the kiosk firmware (front-ends, outbox, link) until stopped."""
    logging_setup(verbose)
    from kiosk.config import load_config
    from kiosk.runner import KioskProcess

    KioskProcess(load_config(config_path)).run_forever()


@kiosk.command("status")
@click.option("--config", "config_path", default="/etc/ressenti/kiosk.toml", show_default=True,
              type=click.Path(dir_okay=False), help="Kiosk config file.")
def kiosk_status(config_path: str) -> None:
    """Queue depth, dropped count and config revision, read from the outbox."""
    from kiosk.config import load_config
    from kiosk.outbox import Outbox

    config = load_config(config_path)
    outbox = Outbox(config.outbox_path)
    state = outbox.state()
    settings = outbox.load_json("settings") or {}
    click.echo(json.dumps({
        "kiosk": config.kiosk, "site": config.site, "epoch": outbox.epoch,
        "pending": state.pending, "last_seq": state.last_seq, "dropped": state.dropped,
        "config_rev": settings.get("rev", config.settings.rev),
    }, indent=2))

"""The `ressenti` command: demo, collector and kiosk subcommands (one module each)."""

from __future__ import annotations

import click

from ressenti import __version__
from ressenti.cli.common import CONTEXT, Group


@click.group(cls=Group, context_settings=CONTEXT)
@click.version_option(__version__)
def main() -> None:
    """ressenti: smiley feedback kiosks and their collector."""


from ressenti.cli import alerts_delivery, collector, demo, kiosk  # noqa: E402  (after main, which they extend)

main.add_command(demo.demo)
main.add_command(collector.collector)
for command in (alerts_delivery.alerts_deliver, alerts_delivery.alerts_failures, alerts_delivery.alert_webhook):
    collector.collector.add_command(command)
main.add_command(kiosk.kiosk)

__all__ = ["main"]

"""The `ressenti` command: demo, collector and kiosk subcommands.

This package sits above kiosk/ and collector/ (it imports both; they never import it).
`ressenti collector` is assembled here from one module per role: collector (the
services), registry, users, maintenance, reports, alerts_delivery.
"""

from __future__ import annotations

import click

from cli import alerts_delivery, barometer, collector, demo, kiosk, maintenance, registry, reports, users
from cli.common import CONTEXT, Group
from ressenti import __version__


@click.group(cls=Group, context_settings=CONTEXT)
@click.version_option(__version__)
def main() -> None:
    """ressenti: smiley feedback kiosks and their collector."""


COLLECTOR_COMMANDS = (
    registry.site_group, registry.kiosk_group, registry.source_add, registry.token_group,
    maintenance.rebuild, maintenance.purge, maintenance.rejected, maintenance.late,
    users.user_group,
    *reports.COMMANDS,
    alerts_delivery.alerts_deliver, alerts_delivery.alerts_failures, alerts_delivery.alert_webhook,
    barometer.barometer_group,
)

main.add_command(demo.demo)
main.add_command(collector.collector)
for command in COLLECTOR_COMMANDS:
    collector.collector.add_command(command)
main.add_command(kiosk.kiosk)

__all__ = ["main"]

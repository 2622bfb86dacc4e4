"""What every subcommand module shares: context settings, options, logging, signal waiting."""

from __future__ import annotations

import logging
import signal
import threading

import click

from ressenti.errors import RessentiError

CONTEXT = {"help_option_names": ["-h", "--help"]}


def logging_setup(verbose: bool) -> None:
    logging.basicConfig(level=logging.DEBUG if verbose else logging.INFO,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")


def wait_for_signal() -> None:
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    stop.wait()


db_option = click.option("--db", "db_path", type=click.Path(dir_okay=False), required=True,
                         envvar="RESSENTI_DATABASE", help="Collector database file.")
broker_option = click.option("--broker", "broker_url", required=True, envvar="RESSENTI_BROKER_URL",
                             help="Broker URL, e.g. mqtt://localhost:1883.")
verbose_option = click.option("-v", "--verbose", is_flag=True, help="Debug logging.")


class Group(click.Group):
    """Shows the project's own errors as one clear line, not a traceback."""

    def invoke(self, ctx: click.Context):  # type: ignore[no-untyped-def]
        try:
            return super().invoke(ctx)
        except RessentiError as exc:
            raise click.ClickException(str(exc)) from exc

"""`ressenti kiosk ...`: run, check and inspect a kiosk."""

from __future__ import annotations

import json
import threading
import time

import click

from cli.common import CONTEXT, logging_setup, verbose_option

config_option = click.option(
    "--config", "config_path", default="/etc/ressenti/kiosk.toml", show_default=True,
    type=click.Path(dir_okay=False), help="Kiosk config file.")


@click.group(context_settings=CONTEXT)
def kiosk() -> None:
    """Run a kiosk."""


@kiosk.command("run")
@config_option
@verbose_option
def kiosk_run(config_path: str, verbose: bool) -> None:
    """Run the kiosk firmware (front-ends, outbox, link) until stopped.

    A config file that does not validate, or an outbox that cannot be opened,
    does not stop the process: it logs why, blinks the status LED fast and
    retries every 10 s.
    """
    logging_setup(verbose)
    from kiosk.startup import run_kiosk

    run_kiosk(config_path)


@kiosk.command("selftest")
@config_option
@click.option("--timeout", "timeout_s", default=15.0, show_default=True, type=float,
              help="Seconds to wait for each button.")
def kiosk_selftest(config_path: str, timeout_s: float) -> None:
    """Light each LED and wait for its button, check the broker, the clock and the outbox.

    Stop the kiosk service first (it holds the GPIO pins). Nothing is recorded.
    Exit code 0 when no check failed, 1 otherwise.
    """
    from kiosk.config import load_config
    from kiosk.gpio import pin_factory_for
    from kiosk.selftest import run_selftest

    config = load_config(config_path)
    # Mock pins have no hand to press them: the self-test presses each lit button itself.
    ok = run_selftest(config, pin_factory=pin_factory_for(config.mock_pins, config_path),
                      button_timeout_s=timeout_s, say=lambda line: click.echo(line),
                      press_lit_buttons=config.mock_pins)
    raise SystemExit(0 if ok else 1)


@kiosk.command("press")
@config_option
@click.argument("rating", type=click.IntRange(1, 5))
@click.option("--count", default=1, show_default=True, type=click.IntRange(1, 10_000), help="How many presses.")
@click.option("--interval", "interval_s", default=0.5, show_default=True, type=click.FloatRange(0, 3600),
              help="Seconds between presses (under the kiosk's response interval, they are flagged as repeats).")
def kiosk_press(config_path: str, rating: int, count: int, interval_s: float) -> None:
    """Press the button of RATING on the running kiosk, as a hand would (no hardware needed).

    The running `kiosk run` of this config presses it through the same path
    as a GPIO press: filter, outbox, LED, then the collector. RATING 1 is
    the worst face, the scale's size the best. Only root and the kiosk's
    user may press (the socket is data_dir/press.sock, mode 0600). The
    presses are counted like real ones: use a test site, or self-test mode.
    """
    from kiosk.config import load_config
    from kiosk.press_socket import send_press, socket_path

    config = load_config(config_path)
    path = socket_path(config.data_dir)
    failed = 0
    pause = threading.Event()
    for n in range(count):
        if n:
            pause.wait(interval_s)
        try:
            answer = send_press(path, rating)
        except FileNotFoundError:
            raise click.ClickException(f"no kiosk is listening on {path}: start it first "
                                       f"(ressenti kiosk run --config {config_path})") from None
        except PermissionError:
            raise click.ClickException(f"{path} is the kiosk user's: run this as root or as that user") from None
        except (ConnectionError, OSError) as exc:
            raise click.ClickException(f"the kiosk on {path} did not answer ({exc}); is it running?") from None
        if answer.get("ok"):
            flags = f", flagged {', '.join(answer['flags'])}" if answer.get("flags") else ""
            click.echo(f"rating {rating} recorded as seq {answer['seq']}{flags}; its LED lit")
        else:
            failed += 1
            click.echo(f"rating {rating} not recorded: {answer.get('error')}", err=True)
    raise SystemExit(1 if failed else 0)


@kiosk.command("status")
@config_option
def kiosk_status(config_path: str) -> None:
    """Queue depth, dropped count, config revision, link state and last ack (read-only)."""
    from kiosk.config import load_config
    from kiosk.linkstate import FILE_NAME, read_link_state
    from kiosk.outbox import peek

    config = load_config(config_path)
    snapshot = peek(config.outbox_path)
    report: dict[str, object] = {"kiosk": config.kiosk, "site": config.site}
    if snapshot is None:
        report["outbox"] = f"none yet at {config.outbox_path} (created when the kiosk first runs)"
    else:
        saved_rev = (snapshot.settings or {}).get("rev", -1)
        report |= {
            "epoch": snapshot.epoch, "pending": snapshot.queue.pending,
            "oldest_pending": (time.strftime("%Y-%m-%dT%H:%M:%S%z", time.localtime(snapshot.queue.oldest_created))
                               if snapshot.queue.oldest_created else None),
            "last_seq": snapshot.queue.last_seq, "dropped": snapshot.queue.dropped,
            "config_rev": max(saved_rev, config.settings.rev),
        }
    link = read_link_state(config.data_dir / FILE_NAME)
    if link is None:
        report["link"] = "unknown: no link state file (the kiosk has not run yet)"
    else:
        # The running kiosk rewrites the file at least every refresh_s seconds.
        stale_after = 3 * float(link.get("refresh_s") or 60) + 5
        if link.get("written_age_s", 0) > stale_after and link.get("state") != "stopped":
            link["stale"] = "the kiosk has not updated this for a while: is it running?"
        report["link"] = link
    click.echo(json.dumps(report, indent=2, ensure_ascii=False))

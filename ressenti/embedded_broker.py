"""An in-process MQTT broker (amqtt) for the demo and for users without Mosquitto.

Not the proof of anything: reliability tests run against a real Mosquitto.
"""

from __future__ import annotations

import asyncio
import logging
import threading

from ressenti.mosquitto_runner import free_port

log = logging.getLogger(__name__)


def _own_retained_only(broker_class: type) -> type:
    """amqtt's Broker, sending a client only the retained messages of its own subscriptions.

    amqtt 0.12 sends, at every CONNECT, the retained messages matching every
    topic filter any client of the broker has subscribed (it loops over all
    subscriptions, not the session's), so a demo kiosk got other kiosks'
    retained configs (issue 18). Mosquitto sends retained messages on
    SUBSCRIBE, for that subscription only.
    """

    class OwnRetainedOnly(broker_class):  # type: ignore[misc, valid-type]
        async def _publish_retained_messages_for_subscription(self, subscription, session):  # type: ignore[no-untyped-def]
            holders = self._subscriptions.get(subscription[0], [])
            if not any(holder.client_id == session.client_id for holder, _ in holders):
                return
            await super()._publish_retained_messages_for_subscription(subscription, session)

    return OwnRetainedOnly


class EmbeddedBroker:
    def __init__(self, host: str = "127.0.0.1", port: int | None = None) -> None:
        self.host = host
        self.port = port or free_port(host)
        self._loop = asyncio.new_event_loop()
        self._broker = None
        self._ready = threading.Event()
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name="embedded-broker", daemon=True)

    @property
    def url(self) -> str:
        return f"mqtt://{self.host}:{self.port}"

    def start(self, timeout: float = 10) -> None:
        self._thread.start()
        if not self._ready.wait(timeout) or self._error:
            raise RuntimeError(f"embedded broker did not start on {self.url}: {self._error}")

    def _run(self) -> None:
        from amqtt.broker import Broker

        asyncio.set_event_loop(self._loop)
        for name in ("amqtt", "transitions"):
            logging.getLogger(name).setLevel(logging.WARNING)
        config = {
            "listeners": {"default": {"type": "tcp", "bind": f"{self.host}:{self.port}",
                                      "max_connections": 1000}},
            "plugins": {"amqtt.plugins.authentication.AnonymousAuthPlugin": {"allow_anonymous": True}},
        }
        try:
            broker = _own_retained_only(Broker)(config, loop=self._loop)
            self._broker = broker
            self._loop.run_until_complete(broker.start())
        except BaseException as exc:  # reported to start()
            self._error = exc
            self._ready.set()
            return
        self._ready.set()
        self._loop.run_forever()

    def stop(self) -> None:
        if self._broker is not None and self._loop.is_running():
            future = asyncio.run_coroutine_threadsafe(self._broker.shutdown(), self._loop)
            try:
                future.result(10)
            except Exception as exc:
                log.warning("embedded broker shutdown: %s", exc)
            self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)

"""A kiosk applies only the config on its own topic; the demo broker sends a client only its own retained messages."""

from __future__ import annotations

import logging
import threading

import paho.mqtt.client as mqtt
import pytest

from ressenti.embedded_broker import EmbeddedBroker
from ressenti.mqtt import BrokerAddress
from ressenti.protocol import Kind, KioskSettings, encode_settings, subscription, topic


def publish_retained(broker: BrokerAddress, name: str, payload: bytes) -> None:
    client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2)
    client.connect(broker.host, broker.port)
    client.loop_start()
    client.publish(name, payload, qos=1, retain=True).wait_for_publish(5)
    client.disconnect()
    client.loop_stop()


@pytest.mark.mosquitto
def test_a_retained_config_on_another_kiosks_topic_is_ignored_with_a_log_line(mosquitto, kiosk_factory, wait,
                                                                             caplog):
    caplog.set_level(logging.INFO, logger="kiosk.link")
    other = topic("ccas", "ccas-borne-1", Kind.CONFIG)
    publish_retained(mosquitto.address, other, encode_settings(KioskSettings(rev=7, scale=3)))
    k = kiosk_factory("mairie-borne-1", mosquitto.address, scale=4)
    wait(k.link.connected.is_set, what="the kiosk to connect")
    # A wildcard subscription on the kiosk's own connection: the broker now delivers the retained
    # config of another kiosk to this kiosk's message handler.
    k.link.client.subscribe(subscription(Kind.CONFIG), qos=1)
    wait(lambda: f"ignoring a config message on {other}" in caplog.text, what="the log line")
    assert f"this kiosk's is {topic('mairie', 'mairie-borne-1', Kind.CONFIG)}" in caplog.text
    assert (k.kiosk.settings.rev, k.kiosk.settings.scale, len(k.box.buttons)) == (0, 4, 4)

    publish_retained(mosquitto.address, topic("mairie", "mairie-borne-1", Kind.CONFIG),
                     encode_settings(KioskSettings(rev=2, scale=5)))
    wait(lambda: k.kiosk.settings.rev == 2 and len(k.box.buttons) == 5, what="its own config applied")


def test_the_embedded_broker_sends_a_new_client_only_its_own_retained_messages():
    broker = EmbeddedBroker()
    broker.start()
    address = BrokerAddress(broker.host, broker.port)
    clients: list[mqtt.Client] = []
    try:
        mine, theirs = topic("mairie", "borne-a", Kind.CONFIG), topic("ccas", "borne-b", Kind.CONFIG)
        publish_retained(address, theirs, b'{"v": 1, "rev": 4, "scale": 3}')

        def kiosk_client(name: str, own: str) -> tuple[list[str], threading.Event]:
            received: list[str] = []
            subscribed = threading.Event()
            client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=name, protocol=mqtt.MQTTv311)
            client.on_connect = lambda c, *_: c.subscribe(own, qos=1)
            client.on_subscribe = lambda *_: subscribed.set()
            client.on_message = lambda c, u, m: received.append(m.topic)
            client.connect(address.host, address.port)
            client.loop_start()
            clients.append(client)
            assert subscribed.wait(5)
            return received, subscribed

        kiosk_client("borne-b", theirs)  # the other kiosk is subscribed to its config topic
        received, _ = kiosk_client("borne-a", mine)
        publish_retained(address, mine, b'{"v": 1, "rev": 1, "scale": 4}')
        done = threading.Event()
        for _ in range(100):
            if mine in received:
                break
            done.wait(0.05)
        assert received == [mine], f"got {received}: another kiosk's retained config leaked"
    finally:
        for client in clients:
            client.disconnect()
            client.loop_stop()
        broker.stop()

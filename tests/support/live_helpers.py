"""Shared by the live community's tests: a community set up on a node of the test's own, a reader of
the broker's readings, the virtual meters run in a thread, and the chain's clock moved by hand."""

from __future__ import annotations

import queue
import secrets
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from paho.mqtt.client import Client, MQTTMessage
from paho.mqtt.enums import CallbackAPIVersion, MQTTProtocolVersion

from energy_grid.chain.anvil import AnvilNode
from energy_grid.contracts.client import GridClient
from energy_grid.domain.units import INTERVAL_SECONDS
from energy_grid.live.community import LiveCommunity, SetUpResult, set_up_community
from energy_grid.live.virtual_meters import VirtualMeters, answers_subscriptions
from energy_grid.services.gateway.messages import parse_reading
from energy_grid.services.mqtt import BrokerSettings, MqttLink
from energy_grid.signing.readings import SignedReading

from support.mosquitto import MQTT_CHAIN_ID, MQTT_FLEET_USER, MQTT_GATEWAY_USER, Broker
from support.simulation_helpers import client_of, node_from

# Every message the tests wait for comes from a broker and a node on the same machine.
MESSAGE_TIMEOUT_S = 60.0
LIVE_HOUSEHOLDS = 3
LIVE_SEED = 4


@dataclass
class SetUpNode:
    """A node started from the deployed state, with the community set up on it."""

    node: AnvilNode
    manifest: Path
    run_file: Path
    result: SetUpResult

    def client(self) -> GridClient:
        return client_of(self.node, self.manifest)


def set_up_node(state: Path, manifest: Path, directory: Path, name: str) -> SetUpNode:
    node = node_from(state, directory, name)
    run_file = directory / f"{name}.live.json"
    result = set_up_community(client_of(node, manifest), LIVE_HOUSEHOLDS, LIVE_SEED, run_file)
    return SetUpNode(node, manifest, run_file, result)


def mine_at(client: GridClient, timestamp_s: int) -> None:
    """A block at `timestamp_s`: the chain's clock moved as a paced chain moves it."""
    client.w3.provider.make_request("evm_mine", [timestamp_s])  # type: ignore[arg-type]


def interval_end_s(community: LiveCommunity, interval: int) -> int:
    return community.day_start_s + (interval + 1) * INTERVAL_SECONDS


@dataclass
class ReadingsReader:
    """The gateway's view of the broker: every meter's readings, in the order they arrive."""

    client: Client
    messages: queue.Queue[MQTTMessage] = field(default_factory=queue.Queue)
    subscribed: threading.Event = field(default_factory=threading.Event)

    def take(self, count: int) -> list[tuple[str, bytes, SignedReading]]:
        """The next `count` messages as (topic, payload, the parsed signed reading)."""
        taken = []
        for _ in range(count):
            message = self.messages.get(timeout=MESSAGE_TIMEOUT_S)
            payload = bytes(message.payload)
            taken.append((message.topic, payload, parse_reading(message.topic, payload, MQTT_CHAIN_ID)))
        return taken

    def answer(self, topic: str, payload: bytes) -> None:
        """Publishes an answer as the gateway does."""
        self.client.publish(topic, payload, qos=1).wait_for_publish(MESSAGE_TIMEOUT_S)


@contextmanager
def readings_reader(broker: Broker) -> Iterator[ReadingsReader]:
    client = Client(CallbackAPIVersion.VERSION2, client_id=f"reader-{secrets.token_hex(4)}", protocol=MQTTProtocolVersion.MQTTv5)
    reader = ReadingsReader(client)
    client.username_pw_set(MQTT_GATEWAY_USER, broker.passwords[MQTT_GATEWAY_USER])
    client.on_message = lambda _client, _userdata, message: reader.messages.put(message)
    client.on_subscribe = lambda *_args: reader.subscribed.set()
    client.on_connect = lambda c, *_args: c.subscribe(f"energy-grid/{MQTT_CHAIN_ID}/meters/+/readings", qos=1)
    client.connect(broker.host, broker.port)
    client.loop_start()
    try:
        assert reader.subscribed.wait(MESSAGE_TIMEOUT_S), "the reader's subscription was not acknowledged"
        yield reader
    finally:
        client.disconnect()
        client.loop_stop()


def fleet_settings(broker: Broker) -> BrokerSettings:
    return BrokerSettings(broker.host, broker.port, MQTT_FLEET_USER, broker.passwords[MQTT_FLEET_USER])


@contextmanager
def running_meters(client: GridClient, community: LiveCommunity, broker: Broker, **options: Any) -> Iterator[VirtualMeters]:
    """The virtual meters (with `options`) running in a thread, with a client of their own, until the
    block ends; an error in the thread fails the test."""
    meters = VirtualMeters(client, community, **options)
    link = MqttLink(fleet_settings(broker), f"fleet-{secrets.token_hex(4)}", answers_subscriptions(client.chain_id), meters.handle_answer)
    link.connect()
    stop = threading.Event()
    errors: list[BaseException] = []

    def run() -> None:
        try:
            meters.run(link, stop, poll_interval_s=0.05)
        except BaseException as error:  # the test thread re-raises it
            errors.append(error)

    thread = threading.Thread(target=run, name="virtual-meters", daemon=True)
    thread.start()
    try:
        yield meters
    finally:
        stop.set()
        thread.join(timeout=MESSAGE_TIMEOUT_S)
        link.close()
    assert not thread.is_alive(), "the virtual meters did not stop"
    if errors:
        raise errors[0]

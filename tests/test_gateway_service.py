"""The gateway service against a real mosquitto and a real anvil: readings published over MQTT reach
SmartMeter in batches and are answered; bad ones are refused with their reason and never hold up
another meter's; a gateway that dies between its store and the chain sends nothing twice; batches
stay under the gas cap; a stuck transaction is replaced with higher fees.

The test drives the gateway step by step and mines each block itself (automine off), so every
case is deterministic: a block comes exactly when the test says.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Generator, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
import pytest
from eth_account import Account
from eth_utils import keccak
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from energy_grid.chain.accounts import anvil_account
from energy_grid.chain.fees import FeePolicy
from energy_grid.chain.jsonrpc import RequestFailed
from energy_grid.contracts.client import GridClient
from energy_grid.services.gateway import submitter as submitter_module
from energy_grid.services.gateway.chain_view import ChainView
from energy_grid.services.gateway.messages import MAX_MESSAGE_BYTES, readings_topic
from energy_grid.services.gateway.service import Gateway, GatewaySettings
from energy_grid.services.gateway.store import ReadingState
from energy_grid.services.gateway.submitter import MAX_BATCH_SIZE, PER_TRANSACTION_GAS_CAP, Refused, gas_cap, plan_batch
from energy_grid.services.mqtt import BrokerSettings
from energy_grid.services.runtime import BLOCK_STEPS_SEEN
from energy_grid.signing.readings import SignedReading, domain_separator, reading_digest, sign_reading

from support.anvil_node import AnvilNode, deploy_to_node, grid_client, wait_until
from support.mosquitto import mosquitto_broker

INTERVAL_S = 900
STEP_WAIT_S = 0.05
ANSWER_TIMEOUT_S = 60.0
GWEI = 10**9


# ------------------------------------------------------------------------------------ fixtures


@pytest.fixture(scope="module")
def gateway_node(tmp_path_factory: pytest.TempPathFactory) -> Iterator[AnvilNode]:
    node = AnvilNode(tmp_path_factory.mktemp("gateway-node")).start()
    yield node
    node.stop()


@pytest.fixture(scope="module")
def gateway_manifest(gateway_node: AnvilNode, project: Any, networks: Any, accounts: Any) -> Path:
    _, manifest = deploy_to_node(gateway_node, project, networks, accounts[0])
    return manifest


@pytest.fixture(scope="module")
def open_broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """A broker of this module's own that admits anyone: the ACL is tested in test_mqtt_broker.py."""
    with mosquitto_broker(tmp_path_factory.mktemp("gateway-broker"), allow_anonymous=True) as broker:
        yield broker


@dataclass
class Device:
    """A meter's key, publishing its own signed readings."""

    key: Any
    address: str
    nonce: int = 0
    consumption_wh: int = 1_000
    production_wh: int = 0

    def sign(
        self,
        client: GridClient,
        timestamp_s: int,
        *,
        nonce: int | None = None,
        consumption_wh: int | None = None,
        deadline: int | None = None,
    ) -> SignedReading:
        reading = (timestamp_s, self.consumption_wh if consumption_wh is None else consumption_wh, self.production_wh, 50_000, 1_000)
        chain_id = int(client.w3.eth.chain_id)
        nonce = self.nonce if nonce is None else nonce
        deadline = timestamp_s + 7_200 if deadline is None else deadline
        return sign_reading(self.key, chain_id, client["SmartMeter"].address, nonce, deadline, reading)


@dataclass
class Harness:
    """A gateway on the module's chain and broker, stepped by the test, with the answers it sent."""

    client: GridClient
    gateway: Gateway
    publisher: mqtt.Client
    answers: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def publish(self, signed: SignedReading | None = None, *, topic_meter: str | None = None, payload: bytes | None = None) -> None:
        meter = topic_meter or (signed.meter if signed else "")
        body = payload if payload is not None else json.dumps(message_of(signed)).encode()
        info = self.publisher.publish(readings_topic(self.gateway.chain_id, meter), body, qos=1)
        info.wait_for_publish(5)

    def next_reading(self, device: Device, at_s: int, added_wh: int) -> SignedReading:
        """A block at `at_s`, then the device's reading there with `added_wh` more imported, published and taken."""
        self.mine(at_s)
        device.consumption_wh += added_wh
        signed = device.sign(self.client, at_s)
        self.publish(signed)
        self.take(1)
        return signed

    def take(self, count: int) -> None:
        """Steps until the gateway has taken `count` more messages."""
        before = self.received()

        def taken() -> bool:
            self.gateway.step(STEP_WAIT_S)
            return self.received() >= before + count

        wait_until(taken, ANSWER_TIMEOUT_S, f"{count} messages taken")

    def received(self) -> float:
        return self.gateway.metrics.registry.get_sample_value("energy_grid_gateway_readings_received_total") or 0.0

    def mine(self, timestamp_s: int | None = None) -> None:
        """A block (at `timestamp_s`), then a step of the gateway."""
        self.client.w3.provider.make_request("evm_mine", [timestamp_s] if timestamp_s else [])  # type: ignore[arg-type]
        self.gateway.step(STEP_WAIT_S)

    @contextmanager
    def blocks_a_minute_apart(self) -> Iterator[None]:
        """Blocks stamped a minute apart, mined for long enough that the gateway's clock counts on the step."""
        self.client.w3.provider.make_request("anvil_setBlockTimestampInterval", [60])  # type: ignore[arg-type]
        try:
            for _ in range(BLOCK_STEPS_SEEN):
                self.mine()
            yield
        finally:
            self.client.w3.provider.make_request("anvil_removeBlockTimestampInterval", [])  # type: ignore[arg-type]

    def signed_again_lands(self, device: Device, timestamp_s: int) -> None:
        """The device's reading at `timestamp_s`, refused before, signed again with an hour's deadline: it
        lands, and the answer names this signature."""
        with self.lock:
            before = len([a for topic, a in self.answers if topic.endswith(f"{device.address.lower()}/accepted")])
        again = device.sign(self.client, timestamp_s, deadline=chain_now(self.client) + 3_600)
        self.publish(again)
        self.take(1)
        self.mine()
        self.mine()
        answer = self.answers_for(device.address, "accepted", before + 1)[-1]
        assert (answer["nonce"], answer["digest"]) == (again.nonce, digest_of(self.client, again))

    def rejections_for(self, meter: str) -> list[dict[str, Any]]:
        """The `rejected` answers the meter has had so far."""
        with self.lock:
            return [a for topic, a in self.answers if topic.endswith(f"{meter.lower()}/rejected")]

    def answers_for(self, meter: str, kind: str, count: int) -> list[dict[str, Any]]:
        def found() -> list[dict[str, Any]] | None:
            with self.lock:
                mine = [a for topic, a in self.answers if topic.endswith(f"{meter.lower()}/{kind}")]
            return mine if len(mine) >= count else None

        return wait_until(found, ANSWER_TIMEOUT_S, f"{count} {kind} answers for {meter}")


def message_of(signed: SignedReading | None) -> dict[str, Any]:
    """The message in the documented form, but with the meter in lowercase and the deadline as a
    decimal string (energy_grid.services.gateway.messages.reading_message writes the other forms):
    the gateway takes both."""
    assert signed is not None
    timestamp, consumption, production, frequency, voltage = signed.reading
    return {
        "meter": signed.meter.lower(),
        "nonce": signed.nonce,
        "deadline": str(signed.deadline),
        "reading": {
            "timestamp": timestamp,
            "consumption": consumption,
            "production": production,
            "gridFrequency": frequency,
            "voltage": voltage,
        },
        "v": signed.v,
        "r": "0x" + signed.r.hex(),
        "s": "0x" + signed.s.hex(),
    }


def digest_of(client: GridClient, signed: SignedReading) -> str:
    """The EIP-712 digest the meter signed, as the gateway's answers name it."""
    separator = domain_separator(int(client.w3.eth.chain_id), client["SmartMeter"].address)
    return "0x" + reading_digest(separator, signed.meter, signed.nonce, signed.deadline, signed.reading).hex()


def chain_now(client: GridClient) -> int:
    return int(client.w3.eth.get_block("latest")["timestamp"])


def new_device(client: GridClient, tag: str, *, register: bool = True) -> Device:
    account = Account.from_key(keccak(text=f"gateway-service/{tag}"))
    device = Device(account.key, account.address)
    if register:
        client.w3.provider.make_request("evm_setAutomine", [True])  # type: ignore[arg-type]
        client.smart_meter.register_meter(anvil_account(0), device.address, anvil_account(5).address, region_id=1)
        client.w3.provider.make_request("evm_setAutomine", [False])  # type: ignore[arg-type]
    return device


def gateway_settings(broker: Any, tmp_path: Path, client_id: str, **options: Any) -> GatewaySettings:
    """A gateway of the test's own store and client id on the module's broker, sending a batch once its
    oldest reading waited a block."""
    return GatewaySettings(
        store_path=tmp_path / "gateway.sqlite",
        broker=BrokerSettings(broker.host, broker.port),
        client_id=client_id,
        **{"max_wait_blocks": 1, **options},
    )


@pytest.fixture
def gateway_harness(
    gateway_node: AnvilNode, gateway_manifest: Path, open_broker: Any, tmp_path: Path, request: pytest.FixtureRequest
) -> Iterator[Harness]:
    client = grid_client(gateway_node, gateway_manifest)
    client.w3.provider.make_request("evm_setAutomine", [False])  # type: ignore[arg-type]
    gateway = Gateway(client, anvil_account(1), gateway_settings(open_broker, tmp_path, f"gateway-{request.node.name}"))
    yield from _running(client, gateway, open_broker)
    client.w3.provider.make_request("evm_setAutomine", [True])  # type: ignore[arg-type]


def _running(client: GridClient, gateway: Gateway, broker: Any) -> Generator[Harness, None, None]:
    publisher = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, protocol=mqtt.MQTTv5)
    publisher.connect(broker.host, broker.port)
    publisher.loop_start()
    harness = Harness(client, gateway, publisher)

    def on_answer(_c: Any, _u: Any, message: mqtt.MQTTMessage) -> None:
        with harness.lock:
            harness.answers.append((message.topic, json.loads(message.payload)))

    publisher.on_message = on_answer
    publisher.subscribe(f"energy-grid/{gateway.chain_id}/meters/+/accepted", qos=1)
    publisher.subscribe(f"energy-grid/{gateway.chain_id}/meters/+/rejected", qos=1)
    gateway.start()
    try:
        yield harness
    finally:
        gateway.close()
        # Disconnected first, the client's network thread ends at once; stopped first, it would
        # wait out its one-second select before it noticed.
        publisher.disconnect()
        publisher.loop_stop()


def first_readings(harness: Harness, devices: list[Device]) -> int:
    """Each device's first reading (its baseline) on chain; returns the chain time after them."""
    client = harness.client
    harness.mine(chain_now(client) + INTERVAL_S)
    at = chain_now(client)
    for device in devices:
        harness.publish(device.sign(client, at))
    harness.take(len(devices))
    harness.mine()
    harness.mine()
    for device in devices:
        harness.answers_for(device.address, "accepted", 1)
        device.nonce += 1
    return at


# ------------------------------------------------------------------------------------ the rules


def test_readings_of_several_meters_go_on_chain_in_one_batch_and_are_answered(gateway_harness):
    harness = gateway_harness
    client = harness.client
    devices = [new_device(client, f"batch-{i}") for i in range(3)]
    at = first_readings(harness, devices)
    harness.mine(at + INTERVAL_S)
    for device in devices:
        device.consumption_wh += 250
        harness.publish(device.sign(client, at + INTERVAL_S))
    harness.take(3)
    harness.mine()
    harness.mine()
    answers = [harness.answers_for(d.address, "accepted", 2)[-1] for d in devices]
    assert [a["nonce"] for a in answers] == [1, 1, 1]
    assert len({a["txHash"] for a in answers}) == 1  # one transaction carried all three
    receipt = client.w3.eth.get_transaction_receipt(answers[0]["txHash"])
    assert (receipt["status"], receipt["blockNumber"]) == (1, answers[0]["blockNumber"])
    for device in devices:
        assert client["SmartMeter"].functions.nonces(device.address).call() == 2
        assert client.smart_meter.latest_reading(device.address).consumption_wh == device.consumption_wh


def second_reading_sent(harness: Harness, tag: str) -> Device:
    """A new device's baseline on chain, then its second reading taken and sent in a batch not yet mined."""
    (device,) = devices = [new_device(harness.client, tag)]
    at = first_readings(harness, devices)
    harness.next_reading(device, at + INTERVAL_S, 100)
    harness.mine()  # the batch is sent
    return device


def test_a_batch_mined_while_the_gateway_follows_it_is_not_taken_for_a_replaced_one(gateway_harness):
    """The block carrying the batch comes between the gateway's look-up of its receipt (none yet)
    and its reading of the account's nonce: the batch is not taken for one whose nonce another
    transaction took, and its reading is not sent again."""
    harness = gateway_harness
    client = harness.client
    device = second_reading_sent(harness, "mined-while-followed")
    (tx_nonce,) = harness.gateway.submitter.store.in_flight()
    submitter = harness.gateway.submitter
    look_up = submitter._mined

    def mined_just_after_the_look_up(nonce: int, head_number: int) -> Any:
        found = look_up(nonce, head_number)
        client.w3.provider.make_request("evm_mine", [])
        return found

    submitter._mined = mined_just_after_the_look_up
    followed = submitter.follow(harness.gateway.clock.head())
    submitter._mined = look_up
    assert followed.mined == [] and followed.requeued == []
    harness.mine()
    (answer,) = harness.answers_for(device.address, "accepted", 2)[1:]
    assert answer["nonce"] == 1
    assert submitter.store.in_flight() == {} and submitter.store.waiting() == []
    assert client["SmartMeter"].functions.nonces(device.address).call() == 2
    assert harness.rejections_for(device.address) == []
    assert tx_nonce < client.w3.eth.get_transaction_count(anvil_account(1).address)


def test_a_batch_whose_receipt_the_node_does_not_show_yet_for_a_used_nonce_is_not_sent_again(gateway_harness):
    """A node mining a block counts the account's nonce before it answers for the block's receipts:
    for that moment the batch looks as if another transaction took its nonce. It is not put back in
    the queue on one look; at the next block its receipt is there and its reading answered accepted,
    never refused."""
    harness = gateway_harness
    client = harness.client
    device = second_reading_sent(harness, "receipt-late")
    client.w3.provider.make_request("evm_mine", [])  # and mined
    submitter = harness.gateway.submitter
    look_up = submitter._mined
    submitter._mined = lambda _nonce, _head: None  # no receipt shown yet
    followed = submitter.follow(harness.gateway.clock.head())
    submitter._mined = look_up
    assert followed.requeued == [] and submitter.store.waiting() == []
    harness.mine()
    (answer,) = harness.answers_for(device.address, "accepted", 2)[1:]
    assert answer["nonce"] == 1
    assert harness.rejections_for(device.address) == []


def test_the_records_of_meters_new_to_the_gateway_are_read_in_batches_as_one_by_one(gateway_harness):
    """A burst's meters the gateway does not know yet are read in three JSON-RPC batches, to the same
    records as one at a time; a burst naming a meter SmartMeter does not know leaves them all to the
    one-by-one reads, which tell that meter apart."""
    harness = gateway_harness
    client = harness.client
    devices = [new_device(client, f"prefetch-{i}") for i in range(3)]
    first_readings(harness, devices)
    stranger = new_device(client, "prefetch-stranger", register=False)
    batched = ChainView(client, harness.gateway.store)
    batched.prefetch([d.address.lower() for d in devices])
    one_by_one = ChainView(client, harness.gateway.store)
    assert [batched._meters[d.address] for d in devices] == [one_by_one.meter(d.address) for d in devices]
    assert all(view.next_nonce == 1 and view.latest.timestamp > 0 for view in batched._meters.values())

    with_stranger = ChainView(client, harness.gateway.store)
    with_stranger.prefetch([devices[0].address, stranger.address])
    assert with_stranger._meters == {}
    assert with_stranger.meter(stranger.address).registered is False
    assert with_stranger.meter(devices[0].address) == one_by_one.meter(devices[0].address)


def test_bad_messages_are_refused_with_their_reason_and_hold_up_no_good_one(gateway_harness):
    harness = gateway_harness
    client = harness.client
    good, bad = new_device(client, "good"), new_device(client, "bad")
    stranger = new_device(client, "unregistered", register=False)
    at = first_readings(harness, [good, bad])
    harness.mine(at + INTERVAL_S)
    forger = Account.from_key(keccak(text="gateway-service/forger"))
    later = at + INTERVAL_S
    good.consumption_wh += 100
    chain_id, smart_meter = int(client.w3.eth.chain_id), client["SmartMeter"].address
    forged = sign_reading(forger.key, chain_id, smart_meter, 1, later + 7_200, (later, 2_000, 0, 50_000, 1_000), meter=bad.address)
    harness.publish(payload=b"{not json", topic_meter=bad.address)
    harness.publish(forged)
    harness.publish(bad.sign(client, later, nonce=0, consumption_wh=5_000))  # nonce 0 is on chain: a replay
    harness.publish(bad.sign(client, later, nonce=3))  # skips nonce 1 and 2
    harness.publish(bad.sign(client, later, consumption_wh=10))  # below its previous register
    harness.publish(stranger.sign(client, later))
    harness.publish(good.sign(client, later))
    harness.take(7)
    harness.mine()
    harness.mine()
    reasons = sorted(a["reason"] for a in harness.answers_for(bad.address, "rejected", 5))
    assert reasons == ["bad-signature", "malformed", "nonce-ahead", "nonce-used", "register-decreased"]
    assert [a["reason"] for a in harness.answers_for(stranger.address, "rejected", 1)] == ["unknown-meter"]
    assert harness.answers_for(good.address, "accepted", 2)[-1]["nonce"] == 1
    assert client["SmartMeter"].functions.nonces(bad.address).call() == 1
    rejected = harness.gateway.metrics.registry.get_sample_value
    assert rejected("energy_grid_gateway_readings_rejected_total", {"reason": "malformed"}) == 1.0


def test_an_identical_message_again_is_answered_again_and_sent_once(gateway_harness):
    harness = gateway_harness
    client = harness.client
    device = new_device(client, "twice")
    at = first_readings(harness, [device])
    signed = harness.next_reading(device, at + INTERVAL_S, 10)
    harness.mine()
    harness.mine()
    first = harness.answers_for(device.address, "accepted", 2)[-1]
    harness.publish(signed)
    harness.take(1)
    again = harness.answers_for(device.address, "accepted", 3)[-1]
    assert again == first
    assert client["SmartMeter"].functions.nonces(device.address).call() == 2


def test_a_reading_the_chain_refuses_after_acceptance_is_answered_and_the_rest_goes_on(gateway_harness):
    harness = gateway_harness
    client = harness.client
    kept, dropped = new_device(client, "kept"), new_device(client, "dropped")
    at = first_readings(harness, [kept, dropped])
    harness.mine(at + INTERVAL_S)
    for device in (kept, dropped):
        device.consumption_wh += 5
        harness.publish(device.sign(client, at + INTERVAL_S))
    harness.take(2)
    # The operator deactivates one meter after the gateway accepted its reading.
    client.w3.provider.make_request("evm_setAutomine", [True])
    client.transact(anvil_account(0), client["SmartMeter"].functions.deactivateMeter(dropped.address))
    client.w3.provider.make_request("evm_setAutomine", [False])
    harness.mine()
    harness.mine()
    assert [a["reason"] for a in harness.answers_for(dropped.address, "rejected", 1)] == ["inactive-meter"]
    assert harness.answers_for(kept.address, "accepted", 2)[-1]["nonce"] == 1
    assert harness.gateway.store.get(dropped.address, 1).state == ReadingState.REFUSED


# ------------------------------------------------------------------------------------ crashes


def test_a_gateway_that_dies_between_its_store_and_the_chain_sends_nothing_twice(
    gateway_node: AnvilNode, gateway_manifest: Path, open_broker: Any, tmp_path: Path
) -> None:
    client = grid_client(gateway_node, gateway_manifest)
    client.w3.provider.make_request("evm_setAutomine", [False])  # type: ignore[arg-type]
    settings = GatewaySettings(
        store_path=tmp_path / "gateway.sqlite", broker=BrokerSettings(open_broker.host, open_broker.port), client_id="gateway-dies"
    )
    device = new_device(client, "dies")
    first = Gateway(client, anvil_account(1), settings)
    runs = _running(client, first, open_broker)
    harness = next(runs)
    at = first_readings(harness, [device])
    harness.next_reading(device, at + INTERVAL_S, 42)

    # The batch is signed and written to the store; the process dies before it reaches the node.
    def die(_tx: Any) -> None:
        raise SystemExit("killed")

    first.submitter._broadcast = die  # type: ignore[method-assign,assignment]  # The test replaces the method to stop the process here.
    with pytest.raises(SystemExit):
        harness.mine()
    (tx_nonce,) = first.store.in_flight()
    runs.close()

    second = Gateway(client, anvil_account(1), settings)
    runs = _running(client, second, open_broker)
    harness = next(runs)
    try:
        harness.mine()
        harness.mine()
        answer = harness.answers_for(device.address, "accepted", 1)[-1]
        assert answer["txHash"] == second.store.transactions(tx_nonce)[0].tx_hash  # the stored bytes, not new ones
        assert client["SmartMeter"].functions.nonces(device.address).call() == 2
        assert client.w3.eth.get_transaction_count(anvil_account(1).address) == tx_nonce + 1
    finally:
        runs.close()
        client.w3.provider.make_request("evm_setAutomine", [True])  # type: ignore[arg-type]


def test_readings_a_chain_lost_by_going_back_are_sent_again(gateway_harness):
    """A node restarted from a state saved before the readings' block: the gateway sees the chain
    go back, puts the readings it no longer holds back in the queue and sends them again, once."""
    harness = gateway_harness
    client = harness.client
    device = new_device(client, "rollback")
    at = first_readings(harness, [device])
    harness.mine(at + INTERVAL_S)
    snapshot = client.w3.provider.make_request("evm_snapshot", [])["result"]
    device.consumption_wh += 77
    harness.publish(device.sign(client, at + INTERVAL_S))
    harness.take(1)
    harness.mine()
    harness.mine()
    harness.answers_for(device.address, "accepted", 2)
    assert client["SmartMeter"].functions.nonces(device.address).call() == 2
    client.w3.provider.make_request("evm_revert", [snapshot])
    assert client["SmartMeter"].functions.nonces(device.address).call() == 1
    harness.mine()  # the gateway sees a block that is not the one it saw at that height
    harness.mine()
    harness.mine()
    again = harness.answers_for(device.address, "accepted", 3)[-1]
    receipt = client.w3.eth.get_transaction_receipt(again["txHash"])  # on the chain as it is now
    assert (again["nonce"], receipt["status"], receipt["blockNumber"]) == (1, 1, again["blockNumber"])
    assert client["SmartMeter"].functions.nonces(device.address).call() == 2
    assert client.smart_meter.latest_reading(device.address).consumption_wh == device.consumption_wh


# ------------------------------------------------------------------------------------ gas and fees


def test_batch_sizing_keeps_every_batch_under_the_cap() -> None:
    assert gas_cap(30_000_000) == 15_000_000
    assert gas_cap(60_000_000) == PER_TRANSACTION_GAS_CAP
    device_a, device_b = Account.from_key("0x" + "21" * 32), Account.from_key("0x" + "22" * 32)

    def signed(device: Any, nonce: int, timestamp_s: int) -> SignedReading:
        return sign_reading(device.key, 31337, "0x" + "5e" * 20, nonce, 10**10, (timestamp_s, 1, 0, 50_000, 1_000))

    queue = [signed(device_a, 0, 100), signed(device_a, 1, 1_000), signed(device_b, 0, 100), signed(device_b, 1, 5_000)]
    # device_b's second reading is after the chain's clock; device_a is busy with one in flight.
    assert plan_batch(queue, set(), 1_000, MAX_BATCH_SIZE) == queue[:3]
    assert plan_batch(queue, {device_a.address}, 1_000, MAX_BATCH_SIZE) == [queue[2]]
    assert plan_batch(queue, set(), 10_000, 2) == queue[:2]


def test_batches_split_to_fit_a_small_block(gateway_harness):
    harness = gateway_harness
    client = harness.client
    devices = [new_device(client, f"small-block-{i}") for i in range(6)]
    at = first_readings(harness, devices)
    harness.mine(at + INTERVAL_S)
    for device in devices:
        device.consumption_wh += 7
        harness.publish(device.sign(client, at + INTERVAL_S))
    harness.take(len(devices))
    head = harness.gateway.clock.head()
    cap_gas = 150_000  # room for two or three signed readings, not six
    small = replace(head, gas_limit=submitter_module.BLOCK_SHARE * cap_gas)
    waiting = harness.gateway.store.waiting()
    sent = harness.gateway.submitter.send_waiting(small, waiting, send_partial=True, max_in_flight=10, on_refused=lambda r: None)
    assert sent == len(devices)
    flights = harness.gateway.store.in_flight()
    assert len(flights) >= 2
    for tx_nonce in flights:
        assert harness.gateway.store.transactions(tx_nonce)[-1].gas_limit <= gas_cap(small.gas_limit)
    harness.mine()
    harness.mine()
    for device in devices:
        assert client["SmartMeter"].functions.nonces(device.address).call() == 2


def test_a_stuck_transaction_is_replaced_with_higher_fees_until_mined(gateway_harness):
    harness = gateway_harness
    client = harness.client
    device = new_device(client, "stuck")
    at = first_readings(harness, [device])
    harness.next_reading(device, at + INTERVAL_S, 3)
    harness.mine()  # the batch is sent at the current base fee
    (tx_nonce,) = harness.gateway.store.in_flight()
    sent = harness.gateway.store.transactions(tx_nonce)[0]
    # The base fee jumps far above what the transaction offers: it cannot be mined.
    client.w3.provider.make_request("anvil_setNextBlockBaseFeePerGas", [hex(sent.max_fee_per_gas * 50)])
    for _ in range(harness.gateway.settings.stuck_after_blocks):
        harness.mine()
    versions = harness.gateway.store.transactions(tx_nonce)
    assert len(versions) == 2
    assert versions[1].max_fee_per_gas >= versions[0].max_fee_per_gas * 5 // 4
    assert versions[1].max_priority_fee_per_gas > versions[0].max_priority_fee_per_gas
    harness.mine()
    harness.mine()
    answer = harness.answers_for(device.address, "accepted", 2)[-1]
    assert answer["txHash"] == versions[-1].tx_hash
    assert harness.gateway.metrics.registry.get_sample_value("energy_grid_gateway_transactions_total", {"outcome": "replaced"}) >= 1.0


def test_the_fee_policy_raises_both_fees_and_respects_its_ceiling() -> None:
    policy = FeePolicy(bump_percent=25, max_fee_ceiling_per_gas=100 * GWEI)
    fees = policy.initial(base_fee_per_gas=10 * GWEI, suggested_tip_per_gas=GWEI)
    assert (fees.max_fee_per_gas, fees.max_priority_fee_per_gas) == (21 * GWEI, GWEI)
    bumped = policy.bumped(fees, base_fee_per_gas=10 * GWEI, suggested_tip_per_gas=GWEI)
    assert bumped is not None
    assert bumped.max_priority_fee_per_gas == GWEI * 5 // 4
    assert bumped.max_fee_per_gas == 21 * GWEI * 5 // 4
    assert policy.bumped(fees, base_fee_per_gas=60 * GWEI, suggested_tip_per_gas=GWEI) is None  # 121 gwei > ceiling
    with pytest.raises(ValueError, match="below 10 %"):
        FeePolicy(bump_percent=5)



# ------------------------------------------------------------------------------------ input that must stop nothing


def transact_as_admin(client: GridClient, call: Any) -> None:
    client.w3.provider.make_request("evm_setAutomine", [True])  # type: ignore[arg-type]
    client.transact(anvil_account(0), call)
    client.w3.provider.make_request("evm_setAutomine", [False])  # type: ignore[arg-type]


def test_poison_messages_are_refused_as_malformed_and_a_good_reading_after_them_lands(gateway_harness):
    """A JSON array nested 1,000 deep (past Python's parser's recursion) and bytes that are not UTF-8 come
    through the broker; a 40 KB array and a number of 5,000 digits the broker drops, and the gateway refuses
    them itself too. Each is refused on its own with a reason, the loop goes on, and the meter's good
    reading after them lands."""
    harness = gateway_harness
    client = harness.client
    gateway = harness.gateway
    device = new_device(client, "poisoned")
    at = first_readings(harness, [device])
    harness.mine(at + INTERVAL_S)
    topic = readings_topic(gateway.chain_id, device.address)
    for oversized in (b"[" * 20_000 + b"]" * 20_000, b'{"nonce": 1' + b"9" * 5_000 + b"}"):
        message = mqtt.MQTTMessage(topic=topic.encode())
        message.payload = oversized
        assert gateway._check(message, gateway.clock.head(), {}) is None
    poisons = [b"[" * 1_000 + b"]" * 1_000, b"\xff\xfe\x00{"]
    for payload in poisons:
        harness.publish(payload=payload, topic_meter=device.address)
    device.consumption_wh += 11
    harness.publish(device.sign(client, at + INTERVAL_S))
    harness.take(len(poisons) + 1)
    harness.mine()
    harness.mine()
    rejected = harness.answers_for(device.address, "rejected", len(poisons) + 2)
    assert [a["reason"] for a in rejected] == ["malformed"] * (len(poisons) + 2)
    assert "more than the 2,048 a reading may have" in rejected[0]["message"]
    assert harness.answers_for(device.address, "accepted", 2)[-1]["nonce"] == 1
    assert client["SmartMeter"].functions.nonces(device.address).call() == 2


JSON_SCALARS = st.none() | st.booleans() | st.integers(min_value=-(10**80), max_value=10**80) | st.floats() | st.text(max_size=20)
ANY_JSON = st.recursive(
    JSON_SCALARS, lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4), max_leaves=30
)


@st.composite
def hostile_payloads(draw: Any, good: dict[str, Any]) -> bytes:
    """Arbitrary bytes, arbitrary JSON (deep, wide, huge numbers, wrong types), or the good reading with one
    field replaced, removed or added."""
    kind = draw(st.sampled_from(("bytes", "json", "deep", "wide", "huge", "near", "near-reading")))
    if kind == "bytes":
        return draw(st.binary(max_size=300))
    if kind == "huge":  # a number of up to 1,950 digits, within the size limit, in a field the answer may quote
        field = draw(st.sampled_from(sorted(good)))
        return b'{"' + field.encode() + b'":' + b"9" * draw(st.integers(100, 1_950)) + b"}"
    if kind == "json":
        return json.dumps(draw(ANY_JSON)).encode()
    if kind == "deep":
        depth = draw(st.integers(1, 3_000))
        return b"[" * depth + b"]" * depth
    if kind == "wide":
        return json.dumps({str(i): i for i in range(draw(st.integers(1, 400)))}).encode()
    message = json.loads(json.dumps(good))
    target = message if kind == "near" else message["reading"]
    name = draw(st.sampled_from(sorted(target)))
    action = draw(st.sampled_from(("replace", "remove", "add")))
    if action == "replace":
        target[name] = draw(ANY_JSON | st.integers(min_value=2**255, max_value=2**300))
    elif action == "remove":
        del target[name]
    else:
        target[draw(st.text(min_size=1, max_size=6))] = draw(ANY_JSON)
    return json.dumps(message).encode()


def test_the_gateway_handler_answers_any_message_once_and_never_raises(gateway_harness):
    """Whatever a meter publishes on its topic, the handler refuses it with a reason, exactly one answer per
    message, and raises nothing; the meter's good reading then lands."""
    harness = gateway_harness
    client = harness.client
    gateway = harness.gateway
    device = new_device(client, "fuzzed")
    at = first_readings(harness, [device])
    harness.mine(at + INTERVAL_S)
    device.consumption_wh += 13
    good = device.sign(client, at + INTERVAL_S)
    topic = readings_topic(gateway.chain_id, device.address)
    answers: list[tuple[str, bool, bytes]] = []
    sent_answer = gateway._answer
    gateway._answer = lambda meter, accepted, payload: answers.append((meter, accepted, payload))
    head = gateway.clock.head()

    @settings(max_examples=300, deadline=None, derandomize=True, suppress_health_check=list(HealthCheck))
    @given(payload=hostile_payloads(message_of(good)))
    def handled_once(payload: bytes) -> None:
        message = mqtt.MQTTMessage(topic=topic.encode())
        message.payload = payload
        before = len(answers)
        taken = gateway._check(message, head, {})
        if taken is None:
            assert [accepted for _, accepted, _ in answers[before:]] == [False]
            # An answer over the broker's size limit would be dropped: the device would get none.
            assert len(answers[-1][2]) <= MAX_MESSAGE_BYTES
        else:  # a reading that is still the good one (a field added back as it was): answered once mined
            assert taken == good and answers[before:] == []
            gateway.view.forget(device.address)

    try:
        handled_once()
    finally:
        gateway._answer = sent_answer
    harness.publish(good)
    harness.take(1)
    harness.mine()
    harness.mine()
    assert harness.answers_for(device.address, "accepted", 2)[-1]["nonce"] == 1


# ------------------------------------------------------------------------------------ every answer true


def test_a_nonce_the_chain_refused_a_reading_under_takes_the_meters_next_reading(gateway_harness):
    """The chain refuses a reading the gateway had accepted (its meter was deactivated meanwhile); once the
    meter is active again, its reading signed anew under the same nonce is stored, sent and lands, and so
    does the one after it."""
    harness = gateway_harness
    client = harness.client
    device = new_device(client, "refused-nonce")
    at = first_readings(harness, [device])
    refused = harness.next_reading(device, at + INTERVAL_S, 5)
    smart_meter = client["SmartMeter"].functions
    transact_as_admin(client, smart_meter.deactivateMeter(device.address))
    harness.mine()
    harness.mine()
    (rejection,) = harness.answers_for(device.address, "rejected", 1)
    assert (rejection["reason"], rejection["digest"]) == ("inactive-meter", digest_of(client, refused))
    transact_as_admin(client, smart_meter.reactivateMeter(device.address))
    later = at + 2 * INTERVAL_S
    harness.mine(later)
    again = device.sign(client, later)  # nonce 1 again, signed anew
    harness.publish(again)
    harness.take(1)
    harness.mine()
    harness.mine()
    answer = harness.answers_for(device.address, "accepted", 2)[-1]
    assert (answer["nonce"], answer["digest"]) == (1, digest_of(client, again))  # the answer names the reading it is about
    device.nonce += 1
    device.consumption_wh += 5
    harness.mine(later + INTERVAL_S)
    harness.publish(device.sign(client, later + INTERVAL_S))
    harness.take(1)
    harness.mine()
    harness.mine()
    assert harness.answers_for(device.address, "accepted", 3)[-1]["nonce"] == 2
    assert smart_meter.nonces(device.address).call() == 3
    assert not [a for a in harness.answers_for(device.address, "rejected", 1) if a["nonce"] != 1]


def test_a_deadline_a_minute_ahead_of_the_chains_clock_has_not_passed(gateway_harness):
    """The gateway holds readings stamped up to its tolerance after the chain's clock, but a deadline is
    checked against the clock itself: a reading whose deadline is a minute ahead is taken and lands."""
    harness = gateway_harness
    client = harness.client
    device = new_device(client, "deadline-ahead")
    at = first_readings(harness, [device])
    harness.mine(at + INTERVAL_S)
    device.consumption_wh += 9
    harness.publish(device.sign(client, at + INTERVAL_S, deadline=chain_now(client) + 60))
    harness.take(1)
    harness.mine()  # sent
    harness.mine()  # mined
    assert harness.answers_for(device.address, "accepted", 2)[-1]["nonce"] == 1
    assert harness.rejections_for(device.address) == []


def test_batches_go_packed_and_a_deadline_that_does_not_pack_goes_in_the_abis_encoding(gateway_harness):
    """The gateway sends its batches packed (submitPackedSignedReadings); a reading signed with a
    deadline past the packed form's 40 bits (a device's "never expires") lands in the ABI's encoding,
    and each is found on chain by the transaction that holds it."""
    harness = gateway_harness
    client = harness.client
    packed, forever = new_device(client, "deadline-packed"), new_device(client, "deadline-forever")
    at = first_readings(harness, [packed, forever])
    harness.mine(at + INTERVAL_S)
    entries = [packed.sign(client, at + INTERVAL_S), forever.sign(client, at + INTERVAL_S, deadline=2**256 - 1)]
    for device, signed in zip((packed, forever), entries, strict=True):
        device.consumption_wh += 9
        harness.publish(signed)
        harness.take(1)
        harness.mine()  # sent
        harness.mine()  # mined
    functions = []
    for device, signed in zip((packed, forever), entries, strict=True):
        answer = harness.answers_for(device.address, "accepted", 2)[-1]
        assert answer["nonce"] == 1
        transaction = client.w3.eth.get_transaction(answer["txHash"])
        functions.append(client["SmartMeter"].decode_function_input(transaction["input"])[0].fn_name)
        found = harness.gateway.view.reading_on_chain(signed)
        assert found is not None and found.tx_hash == answer["txHash"]
    assert functions == ["submitPackedSignedReadings", "submitSignedReadings"]
    assert harness.rejections_for(packed.address) == harness.rejections_for(forever.address) == []


def test_a_reading_whose_deadline_passes_before_the_next_block_is_refused_expired_and_no_batch_reverts(gateway_harness):
    """On a chain that stamps a block every minute, a deadline half a minute after the latest block has
    not passed there, and a batch's estimate at that block goes through; but the block the batch would
    be in refuses it, and the whole batch with it. Such a reading is refused `expired` when it arrives,
    and when its deadline comes that near while it waits; the rest of its batch lands, and the meter's
    reading signed again under the same nonce does too."""
    harness = gateway_harness
    client = harness.client
    late, waited, kept = (new_device(client, f"deadline-next-block-{tag}") for tag in ("late", "waited", "kept"))
    at = first_readings(harness, [late, waited, kept])
    harness.mine(at + INTERVAL_S)
    with harness.blocks_a_minute_apart():
        head_s = chain_now(client)
        for device in (late, waited, kept):
            device.consumption_wh += 4
        on_arrival = late.sign(client, at + INTERVAL_S, deadline=head_s + 30)
        in_queue = waited.sign(client, at + INTERVAL_S, deadline=head_s + 90)  # after the next block, not the one after
        for signed in (on_arrival, in_queue, kept.sign(client, at + INTERVAL_S)):
            harness.publish(signed)
        harness.take(3)
        (refused,) = harness.answers_for(late.address, "rejected", 1)
        assert (refused["reason"], refused["digest"]) == ("expired", digest_of(client, on_arrival))
        assert harness.rejections_for(waited.address) == []  # taken: its deadline is after the next block
        harness.mine()  # the batch is planned for the block after this one
        harness.mine()
        (expired,) = harness.answers_for(waited.address, "rejected", 1)
        assert (expired["reason"], expired["digest"]) == ("expired", digest_of(client, in_queue))
        assert harness.answers_for(kept.address, "accepted", 2)[-1]["nonce"] == 1
        harness.signed_again_lands(waited, at + INTERVAL_S)
    reverted = harness.gateway.metrics.registry.get_sample_value("energy_grid_gateway_transactions_total", {"outcome": "reverted"})
    assert not reverted
    assert client["SmartMeter"].functions.nonces(late.address).call() == 1


def test_a_meters_readings_behind_one_that_expired_wait_for_it_signed_again_and_land_after_it(gateway_harness):
    """SmartMeter takes a meter's nonces in order. Nonce 1 expires while it waits, with nonce 2 behind it:
    nonce 2 is not sent (it would be refused, the chain expecting 1) nor answered, but held; nonce 3,
    published before the meter signs nonce 1 again, is taken and held too; nonce 1 signed again lands,
    with 2 and 3 after it, and the meter hears one rejection only."""
    harness = gateway_harness
    client = harness.client
    device = new_device(client, "held-behind-expired")
    at = first_readings(harness, [device])
    harness.mine(at + 3 * INTERVAL_S)
    with harness.blocks_a_minute_apart():
        head_s = chain_now(client)
        signed = {}
        for nonce in (1, 2, 3):
            device.consumption_wh += 4
            signed[nonce] = device.sign(client, at + nonce * INTERVAL_S, nonce=nonce, deadline=head_s + 90 if nonce == 1 else None)
        harness.publish(signed[1])
        harness.publish(signed[2])
        harness.take(2)
        harness.mine()  # nonce 1's deadline passes before the next block
        (expired,) = harness.answers_for(device.address, "rejected", 1)
        assert (expired["reason"], expired["nonce"]) == ("expired", 1)
        harness.mine()
        harness.mine()
        assert len(harness.rejections_for(device.address)) == 1
        assert harness.gateway.store.held() == [signed[2]]
        harness.publish(signed[3])
        harness.take(1)
        again = device.sign(client, at + INTERVAL_S, nonce=1, consumption_wh=signed[1].reading[1], deadline=chain_now(client) + 3_600)
        harness.publish(again)
        harness.take(1)
        harness.mine()
        harness.mine()
        answers = harness.answers_for(device.address, "accepted", 4)[1:]
        assert sorted((a["nonce"], a["digest"]) for a in answers) == [
            (1, digest_of(client, again)), (2, digest_of(client, signed[2])), (3, digest_of(client, signed[3]))
        ]
    assert len(harness.rejections_for(device.address)) == 1
    assert client["SmartMeter"].functions.nonces(device.address).call() == 4


@pytest.mark.parametrize("with_other", [True, False], ids=["one-of-two-expires", "its-only-reading-expires"])
def test_a_stuck_batch_is_replaced_without_the_readings_whose_deadline_passed_and_none_reverts(gateway_harness, with_other):
    """A batch stuck for its fees is signed again with higher ones; a reading whose deadline passes before
    the next block would make the replacement revert whole, so it is left out (a replacement left with no
    reading moves nothing to the gateway itself, to fill the account's nonce). The reading left out is
    refused `expired`, the other lands, no transaction reverts, and the meter's reading signed again lands."""
    harness = gateway_harness
    client = harness.client
    expiring = new_device(client, f"stuck-expiring-{with_other}")
    devices = [expiring, new_device(client, f"stuck-kept-{with_other}")] if with_other else [expiring]
    at = first_readings(harness, devices)
    harness.mine(at + INTERVAL_S)
    stuck_blocks = harness.gateway.settings.stuck_after_blocks
    with harness.blocks_a_minute_apart():
        head_s = chain_now(client)
        # Sent in the next block; its deadline passes before the block after the replacement's.
        deadline = head_s + 60 * (stuck_blocks + 1) + 30
        signed = {}
        for device in devices:
            device.consumption_wh += 7
            signed[device.address] = device.sign(client, at + INTERVAL_S, deadline=deadline if device is expiring else None)
            harness.publish(signed[device.address])
        harness.take(len(devices))
        harness.mine()  # sent
        (tx_nonce,) = harness.gateway.store.in_flight()
        sent = harness.gateway.store.transactions(tx_nonce)[0]
        client.w3.provider.make_request("anvil_setNextBlockBaseFeePerGas", [hex(sent.max_fee_per_gas * 50)])
        for _ in range(stuck_blocks):
            harness.mine()
        replacement = harness.gateway.store.transactions(tx_nonce)[-1]
        assert replacement.carries == tuple((d.address, 1) for d in devices if d is not expiring)
        harness.mine()
        (refused,) = harness.answers_for(expiring.address, "rejected", 1)
        assert (refused["reason"], refused["digest"]) == ("expired", digest_of(client, signed[expiring.address]))
        for device in devices[1:]:
            answer = harness.answers_for(device.address, "accepted", 2)[-1]
            assert (answer["nonce"], answer["txHash"]) == (1, replacement.tx_hash)
        assert client.w3.eth.get_transaction_receipt(replacement.tx_hash)["status"] == 1
        harness.signed_again_lands(expiring, at + INTERVAL_S)
    assert not harness.gateway.metrics.registry.get_sample_value("energy_grid_gateway_transactions_total", {"outcome": "reverted"})


def test_a_reading_published_twice_in_one_burst_is_taken_once_and_only_accepted(gateway_harness):
    """A QoS 1 redelivery, or a meter's retry, arriving with the first copy: no `rejected` for it."""
    harness = gateway_harness
    client = harness.client
    device = new_device(client, "burst-twice")
    at = first_readings(harness, [device])
    harness.mine(at + INTERVAL_S)
    device.consumption_wh += 8
    signed = device.sign(client, at + INTERVAL_S)
    harness.publish(signed)
    harness.publish(signed)
    harness.take(2)
    harness.mine()
    harness.mine()
    assert harness.answers_for(device.address, "accepted", 2)[-1]["nonce"] == 1
    with harness.lock:
        assert [a for topic, a in harness.answers if topic.endswith(f"{device.address.lower()}/rejected")] == []
    assert harness.gateway.metrics.registry.get_sample_value("energy_grid_gateway_readings_duplicate_total") >= 1


def test_a_reading_the_chain_holds_under_a_nonce_this_gateway_has_no_record_of_is_answered_accepted(gateway_harness):
    """The reading went on chain through this gateway before its store was lost (or through another one):
    published again byte for byte, it is answered `accepted` with the transaction that holds it."""
    harness = gateway_harness
    client = harness.client
    device = new_device(client, "store-lost")
    at = first_readings(harness, [device])
    signed = harness.next_reading(device, at + INTERVAL_S, 9)
    harness.mine()
    harness.mine()
    first = harness.answers_for(device.address, "accepted", 2)[-1]
    harness.gateway.store._db.execute("DELETE FROM readings WHERE meter = ?", (device.address,))
    harness.gateway.view.forget(device.address)
    harness.publish(signed)
    harness.take(1)
    again = harness.answers_for(device.address, "accepted", 3)[-1]
    assert (again["nonce"], again["txHash"], again["blockNumber"]) == (1, first["txHash"], first["blockNumber"])


@pytest.mark.parametrize("form", ["abi", "packed"])
def test_a_waiting_reading_another_relayer_put_on_chain_is_answered_accepted_not_nonce_used(gateway_harness, form):
    """While the reading waits for the gateway's next batch, someone else submits it (another gateway,
    the meter's own transaction) in either form: the batch's estimate says the nonce is taken, and the
    meter is told `accepted` with the transaction that holds its reading, not `nonce-used`."""
    harness = gateway_harness
    client = harness.client
    device = new_device(client, f"relayed-elsewhere-{form}")
    at = first_readings(harness, [device])
    signed = harness.next_reading(device, at + INTERVAL_S, 6)
    client.w3.provider.make_request("evm_setAutomine", [True])
    functions = client["SmartMeter"].functions
    call = functions.submitSignedReadings([signed.as_tuple()]) if form == "abi" else functions.submitPackedSignedReadings(signed.packed())
    receipt = client.transact(anvil_account(2), call)
    client.w3.provider.make_request("evm_setAutomine", [False])
    harness.mine()
    harness.mine()
    answer = harness.answers_for(device.address, "accepted", 2)[-1]
    assert (answer["nonce"], answer["digest"]) == (1, digest_of(client, signed))
    assert (answer["txHash"], answer["blockNumber"]) == ("0x" + bytes(receipt["transactionHash"]).hex(), receipt["blockNumber"])
    assert harness.rejections_for(device.address) == []


def test_a_nonce_the_chain_finds_ahead_of_the_meters_is_answered_nonce_ahead(gateway_harness):
    """After the chain went back, a reading the gateway took may be ahead of the meter's nonce there: the
    refusal names the nonce the chain expects, and the answer says ahead, not used."""
    harness = gateway_harness
    device = new_device(harness.client, "ahead-on-chain")
    signed = device.sign(harness.client, chain_now(harness.client), nonce=3)
    arguments = {"meter": device.address, "nonce": 3, "expectedNonce": 1}
    harness.gateway._refused(Refused(signed, "InvalidReadingNonce", "SmartMeter refused it", arguments))
    (rejection,) = harness.answers_for(device.address, "rejected", 1)
    assert (rejection["reason"], rejection["nonce"]) == ("nonce-ahead", 3)


def test_a_paused_smart_meter_defers_batches_and_refuses_no_reading(gateway_harness):
    """An estimate that reverts with an error naming no meter (EnforcedPause) blames no reading: the batch
    waits, doubling its wait, and lands once the registry is unpaused."""
    harness = gateway_harness
    client = harness.client
    device = new_device(client, "paused")
    at = first_readings(harness, [device])
    harness.next_reading(device, at + INTERVAL_S, 4)
    smart_meter = client["SmartMeter"].functions
    transact_as_admin(client, smart_meter.pause())
    for _ in range(4):
        harness.mine()
    deferred = harness.gateway.metrics.registry.get_sample_value
    assert deferred("energy_grid_gateway_batches_deferred_total", {"reason": "EnforcedPause"}) >= 2
    assert harness.gateway.store.get(device.address, 1).state == ReadingState.ACCEPTED
    transact_as_admin(client, smart_meter.unpause())
    stored = harness.gateway.store.get
    wait_until(lambda: harness.mine() or stored(device.address, 1).state == ReadingState.ON_CHAIN, ANSWER_TIMEOUT_S, "mined")
    harness.mine()
    assert harness.answers_for(device.address, "accepted", 2)[-1]["nonce"] == 1
    with harness.lock:
        assert [a for topic, a in harness.answers if topic.endswith(f"{device.address.lower()}/rejected")] == []


def test_a_reading_too_large_for_a_batch_of_its_own_is_refused_and_batch_sizes_grow_back(gateway_harness):
    harness = gateway_harness
    client = harness.client
    gateway = harness.gateway
    devices = [new_device(client, f"grow-back-{i}") for i in range(4)]
    at = first_readings(harness, devices)
    harness.mine(at + INTERVAL_S)
    for device in devices:
        device.consumption_wh += 6
        harness.publish(device.sign(client, at + INTERVAL_S))
    harness.take(len(devices))
    head = gateway.clock.head()
    tiny = replace(head, gas_limit=submitter_module.BLOCK_SHARE * 40_000)  # less than one signed reading needs
    sent = gateway.submitter.send_waiting(tiny, gateway.store.waiting(), send_partial=True, max_in_flight=4, on_refused=gateway._refused)
    assert sent == 0 and gateway.submitter.batch_size == 1
    for device in devices:
        assert [a["reason"] for a in harness.answers_for(device.address, "rejected", 1)] == ["too-much-gas"]
    # The meters sign their readings anew; at the block's real size batches grow back while they fit.
    harness.mine(at + INTERVAL_S + 1)
    for device in devices:
        harness.publish(device.sign(client, at + INTERVAL_S + 1))
    harness.take(len(devices))
    waiting = gateway.store.waiting()
    sent = gateway.submitter.send_waiting(gateway.clock.head(), waiting, send_partial=True, max_in_flight=4, on_refused=gateway._refused)
    assert (sent, len(waiting)) == (len(devices), len(devices)), harness.answers
    assert gateway.submitter.batch_size > 1
    harness.mine()
    harness.mine()
    for device in devices:
        assert client["SmartMeter"].functions.nonces(device.address).call() == 2


def test_readings_are_answered_accepted_at_the_confirmation_depth_and_a_reorg_before_it_sends_them_again_once(
    gateway_node: AnvilNode, gateway_manifest: Path, open_broker: Any, tmp_path: Path
) -> None:
    """With two confirmations a batch mined in the latest block is not answered yet; a reorganisation that
    drops that block puts its reading back in the queue, and it is sent again, lands once and is answered
    once, saying how deep its block was."""
    client = grid_client(gateway_node, gateway_manifest)
    client.w3.provider.make_request("evm_setAutomine", [False])  # type: ignore[arg-type]
    settings = gateway_settings(open_broker, tmp_path, "gateway-confirmations", confirmations=2)
    runs = _running(client, Gateway(client, anvil_account(1), settings), open_broker)
    harness = next(runs)
    try:
        device = new_device(client, "deep")
        harness.mine(chain_now(client) + INTERVAL_S)
        at = chain_now(client)
        harness.publish(device.sign(client, at))
        harness.take(1)
        harness.mine()  # sent
        harness.mine()  # mined in the latest block: one confirmation
        stored = harness.gateway.store.get(device.address, 0)
        assert stored is not None
        assert stored.state == ReadingState.SUBMITTED
        harness.mine()
        first = harness.answers_for(device.address, "accepted", 1)[0]
        assert (first["nonce"], first["confirmations"]) == (0, 2)
        device.nonce += 1
        device.consumption_wh += 21
        harness.mine(at + INTERVAL_S)
        harness.publish(device.sign(client, at + INTERVAL_S))
        harness.take(1)
        harness.mine()  # sent
        harness.mine()  # mined, one confirmation
        assert client["SmartMeter"].functions.nonces(device.address).call() == 2
        client.w3.provider.make_request("anvil_reorg", [1, []])  # type: ignore[arg-type]
        assert client["SmartMeter"].functions.nonces(device.address).call() == 1  # the block with the reading is gone
        for _ in range(4):
            harness.mine()
        again = harness.answers_for(device.address, "accepted", 2)
        harness.mine()
        meter_topics = readings_topic(harness.gateway.chain_id, device.address).removesuffix("readings")
        with harness.lock:
            answered = [a["nonce"] for topic, a in harness.answers if topic.startswith(meter_topics)]
        assert answered == [0, 1]  # each reading answered once, none rejected
        assert client["SmartMeter"].functions.nonces(device.address).call() == 2
        assert client.smart_meter.latest_reading(device.address).consumption_wh == device.consumption_wh
        receipt = client.w3.eth.get_transaction_receipt(again[1]["txHash"])
        assert (receipt["status"], receipt["blockNumber"]) == (1, again[1]["blockNumber"])
    finally:
        runs.close()
        client.w3.provider.make_request("evm_setAutomine", [True])  # type: ignore[arg-type]


@pytest.mark.parametrize("restarted", [False, True], ids=["seen", "restarted-after-it"])
@pytest.mark.parametrize("dropped_depth", [1, 2], ids=["confirming", "answered"])
def test_a_reorg_that_drops_a_batch_with_the_next_one_waiting_behind_it_leaves_no_gap_in_the_accounts_nonces(
    gateway_node: AnvilNode, gateway_manifest: Path, open_broker: Any, tmp_path: Path, restarted: bool, dropped_depth: int
) -> None:
    """A batch is mined (one block deep, or answered two deep) while the next batch waits in the node's
    pool behind it; a reorganisation drops the first. The gateway, seeing it or restarted after it,
    sends the dropped batch's signed bytes again at their nonce, so the one behind it can be mined:
    both readings land once, and the account's next nonce follows the two transactions."""
    client = grid_client(gateway_node, gateway_manifest)
    client.w3.provider.make_request("evm_setAutomine", [False])  # type: ignore[arg-type]
    settings = gateway_settings(open_broker, tmp_path, f"gateway-gap-{restarted}-{dropped_depth}", confirmations=2)
    gateway_address = anvil_account(1).address
    runs = _running(client, Gateway(client, anvil_account(1), settings), open_broker)
    harness = next(runs)
    try:
        first, second = new_device(client, f"gap-a-{restarted}-{dropped_depth}"), new_device(client, f"gap-b-{restarted}-{dropped_depth}")
        harness.mine(chain_now(client) + INTERVAL_S)
        at = chain_now(client)
        harness.publish(first.sign(client, at))
        harness.take(1)
        harness.mine()  # the first batch is sent
        tx_nonce = client.w3.eth.get_transaction_count(gateway_address, "latest")
        for _ in range(dropped_depth - 1):
            harness.mine()  # the first batch is mined
        harness.publish(second.sign(client, at))
        harness.take(1)
        harness.mine()  # the first batch is mined (or answered) and the second sent behind it
        assert harness.gateway.store.in_flight().keys() >= {tx_nonce + 1}
        assert client.w3.eth.get_transaction_count(gateway_address, "latest") == tx_nonce + 1
        client.w3.provider.make_request("anvil_reorg", [dropped_depth, []])  # type: ignore[arg-type]
        assert client.w3.eth.get_transaction_count(gateway_address, "latest") == tx_nonce  # the first batch is gone
        if restarted:
            runs.close()
            runs = _running(client, Gateway(client, anvil_account(1), settings), open_broker)
            harness = next(runs)
        # anvil's pool may hold the batch behind the gap without mining it once the first is back; the
        # gateway then replaces it as stuck, a few blocks on.
        for _ in range(3 + harness.gateway.submitter.stuck_after_blocks):
            harness.mine()
            if harness.rejections_for(second.address) or harness.gateway.store.in_flight() == {}:
                break
        harness.answers_for(second.address, "accepted", 1)
        for device in (first, second):
            assert client["SmartMeter"].functions.nonces(device.address).call() == 1
        assert client.w3.eth.get_transaction_count(gateway_address, "latest") == tx_nonce + 2
        assert client.w3.eth.get_transaction_count(gateway_address, "pending") == tx_nonce + 2  # nothing waits behind a gap
        assert harness.gateway.store.in_flight() == {} and harness.gateway.store.waiting() == []
    finally:
        runs.close()
        client.w3.provider.make_request("evm_setAutomine", [True])  # type: ignore[arg-type]


def test_an_estimate_that_fails_without_revert_data_defers_the_batch_and_blames_no_reading(gateway_harness, monkeypatch):
    """The node fails a batch's estimate with no revert data (out of gas inside a market, a node's own
    limit): no reading is refused, the batch waits a block, then two, then four, and goes once estimates
    succeed."""
    harness = gateway_harness
    client = harness.client
    gateway = harness.gateway
    device = new_device(client, "no-revert-data")
    at = first_readings(harness, [device])
    harness.next_reading(device, at + INTERVAL_S, 2)
    sender = gateway.submitter.sender
    outcomes = sender.rpc_batch_outcomes
    failing = [True]

    def estimates(requests: list[Any]) -> list[Any]:
        if failing[0] and requests and requests[0][0] == "eth_estimateGas":
            return [RequestFailed("eth_estimateGas", {"code": -32000, "message": "out of gas"}) for _ in requests]
        return outcomes(requests)

    monkeypatch.setattr(sender, "rpc_batch_outcomes", estimates)
    waits = []
    for _ in range(4):
        harness.mine()
        waits.append(gateway.submitter.retry_at_block - gateway.clock.head().number)
    assert waits == [1, 2, 1, 4]  # deferred for a block, then two (the next block only waits), then four
    deferred = gateway.metrics.registry.get_sample_value
    assert deferred("energy_grid_gateway_batches_deferred_total", {"reason": "no revert data"}) == 3
    assert gateway.store.get(device.address, 1).state == ReadingState.ACCEPTED
    failing[0] = False
    stored = gateway.store.get
    wait_until(lambda: harness.mine() or stored(device.address, 1).state == ReadingState.ON_CHAIN, ANSWER_TIMEOUT_S, "mined")
    assert harness.answers_for(device.address, "accepted", 2)[-1]["nonce"] == 1
    with harness.lock:
        assert [a for topic, a in harness.answers if topic.endswith(f"{device.address.lower()}/rejected")] == []


def test_a_burst_the_node_fails_in_the_middle_of_is_checked_again_whole(gateway_harness, monkeypatch):
    """The node stops answering after the burst's first reading was checked: nothing of the burst is stored
    or acknowledged, and the next step checks it again whole, so both readings land and neither is refused."""
    harness = gateway_harness
    client = harness.client
    gateway = harness.gateway
    devices = [new_device(client, f"half-burst-{i}") for i in range(2)]
    at = first_readings(harness, devices)
    harness.mine(at + INTERVAL_S)
    for device in devices:
        device.consumption_wh += 3
        harness.publish(device.sign(client, at + INTERVAL_S))
    limits_at = gateway.view.limits_at
    calls = []

    def node_gone_once(now_s: int) -> Any:
        calls.append(now_s)
        if len(calls) == 2:
            raise ConnectionError("the node is restarting")
        return limits_at(now_s)

    monkeypatch.setattr(gateway.view, "limits_at", node_gone_once)
    harness.take(2)
    harness.mine()
    harness.mine()
    for device in devices:
        assert harness.answers_for(device.address, "accepted", 2)[-1]["nonce"] == 1
    with harness.lock:
        assert [a for topic, a in harness.answers if topic.endswith("/rejected")] == []
    assert len(calls) >= 3 and gateway.metrics.registry.get_sample_value("energy_grid_gateway_errors_total") >= 1

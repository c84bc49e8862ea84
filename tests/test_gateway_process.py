"""`energy-grid gateway` as operators run it: its own process, a broker with passwords and an ACL,
a chain that mines by itself. A device written from the docs alone (tests/data/outside_meter_device.py:
paho-mqtt and eth-account, nothing of this package) gets its readings on chain and its bad ones
refused; a gateway killed with SIGKILL and started again finds the reading a meter published while
it was down waiting at the broker, and sends it once."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from energy_grid.chain.accounts import anvil_account
from energy_grid.contracts.client import GridClient

from support.anvil_node import AnvilNode, deploy_to_node, grid_client, wait_until
from support.mosquitto import MQTT_CHAIN_ID, MQTT_GATEWAY_USER, MQTT_METERS, Broker

DEVICE_SCRIPT = Path(__file__).parent / "data" / "outside_meter_device.py"
BLOCK_TIMESTAMP_STEP_S = 150  # each block moves the chain clock 150 s: a reading every six blocks, an hour is 24 blocks
ANSWER_TIMEOUT_S = 90


@pytest.fixture(scope="module")
def paced_node(tmp_path_factory):
    node = AnvilNode(tmp_path_factory.mktemp("gateway-process-node")).start()
    yield node
    node.stop()


@pytest.fixture(scope="module")
def paced_client(paced_node: AnvilNode, project: Any, networks: Any, accounts: Any) -> GridClient:
    _, manifest = deploy_to_node(paced_node, project, networks, accounts[0])
    client = grid_client(paced_node, manifest)
    client.smart_meter.register_meter(anvil_account(0), MQTT_METERS[0], anvil_account(5).address, region_id=1)
    client.w3.provider.make_request("anvil_setBlockTimestampInterval", [BLOCK_TIMESTAMP_STEP_S])  # type: ignore[arg-type]
    client.w3.provider.make_request("evm_setIntervalMining", [1])  # type: ignore[arg-type]
    client.manifest_path = manifest  # type: ignore[attr-defined]
    return client


def start_gateway(client: GridClient, broker: Broker, store: Path, log: Path) -> subprocess.Popen[bytes]:
    command = [
        sys.executable, "-m", "energy_grid.cli", "--rpc-url", client.w3.provider.endpoint_uri,  # type: ignore[attr-defined]
        "--manifest", str(client.manifest_path), "--dev-account", "1",  # type: ignore[attr-defined]
        "gateway", "--store", str(store), "--broker", f"{broker.host}:{broker.port}", "--broker-user", MQTT_GATEWAY_USER,
        "--poll-interval", "0.1", "--max-wait-blocks", "0",
    ]
    env = {**os.environ, "ENERGY_GRID_BROKER_PASSWORD": broker.passwords[MQTT_GATEWAY_USER]}
    process = subprocess.Popen(command, env=env, stdout=log.open("ab"), stderr=subprocess.STDOUT)
    wait_until(lambda: "subscribed to" in log.read_text() or process.poll() is not None, 60, "the gateway's subscription")
    assert process.poll() is None, log.read_text()
    return process


def device(
    client: GridClient, broker: Broker, meter_index: int, timestamp_s: int, nonce: int, consumption_wh: int
) -> subprocess.Popen[str]:
    """The outside device, publishing one reading; its answer comes on stdout."""
    meter = MQTT_METERS[meter_index]
    key = anvil_account(3 + meter_index).key.hex()
    env = {**os.environ, "METER_KEY": key, "METER_PASSWORD": broker.passwords[meter]}
    arguments = [broker.host, str(broker.port), meter, str(MQTT_CHAIN_ID), client["SmartMeter"].address]
    arguments += [str(timestamp_s), str(nonce), str(consumption_wh)]
    command = [sys.executable, str(DEVICE_SCRIPT), *arguments]
    return subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def answer(process: subprocess.Popen[str]) -> dict:
    stdout, stderr = process.communicate(timeout=ANSWER_TIMEOUT_S)
    assert process.returncode == 0, stderr
    return json.loads(stdout.strip().splitlines()[-1])


def chain_time_after(client: GridClient, earliest_s: int) -> int:
    return wait_until(
        lambda: (t := int(client.w3.eth.get_block("latest")["timestamp"])) >= earliest_s and t, 60, f"chain time {earliest_s}"
    )


def test_an_outside_device_through_a_gateway_killed_and_restarted(paced_client, mqtt_broker, tmp_path):
    client = paced_client
    store, log = tmp_path / "gateway.sqlite", tmp_path / "gateway.log"
    gateway = start_gateway(client, mqtt_broker, store, log)
    try:
        first_s = chain_time_after(client, 0)
        baseline = answer(device(client, mqtt_broker, 0, first_s, 0, 1_000))
        assert baseline["topic"] == "accepted", baseline

        gateway.send_signal(signal.SIGKILL)
        gateway.wait(timeout=10)
        # Published while no gateway runs: the broker keeps it for the gateway's session.
        second_s = chain_time_after(client, first_s + 900)
        waiting = device(client, mqtt_broker, 0, second_s, 1, 1_250)
        gateway = start_gateway(client, mqtt_broker, store, log)
        on_chain = answer(waiting)
        assert on_chain["topic"] == "accepted", on_chain
        receipt = client.w3.eth.get_transaction_receipt(on_chain["txHash"])
        assert (receipt["status"], receipt["blockNumber"]) == (1, on_chain["blockNumber"])
        assert client["SmartMeter"].functions.nonces(MQTT_METERS[0]).call() == 2
        assert client.smart_meter.latest_reading(MQTT_METERS[0]).consumption_wh == 1_250

        third_s = chain_time_after(client, second_s + 900)
        decreasing = answer(device(client, mqtt_broker, 0, third_s, 2, 1_100))
        assert (decreasing["topic"], decreasing["reason"]) == ("rejected", "register-decreased")
        unknown = answer(device(client, mqtt_broker, 1, third_s, 0, 10))
        assert (unknown["topic"], unknown["reason"]) == ("rejected", "unknown-meter")
        assert client["SmartMeter"].functions.nonces(MQTT_METERS[0]).call() == 2
    finally:
        gateway.send_signal(signal.SIGTERM)
        assert gateway.wait(timeout=30) == 0, log.read_text()

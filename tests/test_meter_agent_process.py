"""`energy-grid meter-agent` as a household runs it, on the real stack: its own process reading a
DSMR 5 P1 port behind a TCP serial bridge (as ser2net serves one), the gateway's process, the
session's mosquitto with its production ACL, and a chain of the test's own that mines by itself with
a clock 300 times the wall's. The agent stamps its readings by the gateway's retained clock, so
they are taken on chain; killed with SIGKILL and started again, it goes on from its outbox's nonce."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any, cast

import pytest
from test_gateway_process import start_gateway

from energy_grid.chain.accounts import anvil_account
from energy_grid.contracts.client import GridClient
from energy_grid.services.gateway.messages import clock_topic, parse_clock
from energy_grid.services.mqtt import BROKER_PASSWORD_ENV

from support.anvil_node import AnvilNode, deploy_to_node, grid_client, wait_until
from support.meter_sources import KEYSTORE_PASSWORD, dsmr5_telegram, p1_bridge, write_agent_config, write_keystore
from support.mosquitto import MQTT_CHAIN_ID, MQTT_METERS, MQTT_MONITOR_USER, Broker, connected

METER = MQTT_METERS[0]  # anvil dev account 3's address
BLOCK_TIMESTAMP_STEP_S = 300  # a block a second, 300 s of the chain's time each: an interval every three blocks
ON_CHAIN_TIMEOUT_S = 90


@pytest.fixture(scope="module")
def agent_node(tmp_path_factory):
    node = AnvilNode(tmp_path_factory.mktemp("meter-agent-node")).start()
    yield node
    node.stop()


@pytest.fixture(scope="module")
def agent_client(agent_node: AnvilNode, project: Any, networks: Any, accounts: Any) -> GridClient:
    _, manifest = deploy_to_node(agent_node, project, networks, accounts[0])
    client = grid_client(agent_node, manifest)
    client.smart_meter.register_meter(anvil_account(0), METER, anvil_account(5).address, region_id=1)
    client.w3.provider.make_request("anvil_setBlockTimestampInterval", [BLOCK_TIMESTAMP_STEP_S])  # type: ignore[arg-type]
    client.w3.provider.make_request("evm_setIntervalMining", [1])  # type: ignore[arg-type]
    client.manifest_path = manifest  # type: ignore[attr-defined]
    return client


def start_agent(client: GridClient, broker: Broker, config: Path, log: Path) -> subprocess.Popen[bytes]:
    """The agent's process; the node is named, so a new outbox starts at SmartMeter's nonce."""
    command = [sys.executable, "-m", "energy_grid.cli", "--rpc-url", client.w3.provider.endpoint_uri,  # type: ignore[attr-defined]
               "meter-agent", "--config", str(config)]  # fmt: skip
    env = {**os.environ, "ENERGY_GRID_KEYSTORE_PASSWORD": KEYSTORE_PASSWORD, BROKER_PASSWORD_ENV: broker.passwords[METER]}
    return subprocess.Popen(command, env=env, stdout=log.open("ab"), stderr=subprocess.STDOUT)


def on_chain(client: GridClient, nonce: int, import_wh: int, log: Path) -> None:
    """Waits until SmartMeter has the meter's readings up to `nonce`, the latest with `import_wh`."""
    smart_meter = client["SmartMeter"].functions

    def taken() -> bool:
        return smart_meter.nonces(METER).call() > nonce and client.smart_meter.latest_reading(METER).consumption_wh == import_wh

    try:
        wait_until(taken, ON_CHAIN_TIMEOUT_S, f"reading {nonce} on chain", poll_s=0.1)
    except AssertionError:
        raise AssertionError(log.read_text()) from None


def test_a_p1_meter_s_readings_reach_the_chain_through_the_agent_and_the_gateway(agent_client, mqtt_broker, tmp_path):
    client = agent_client
    gateway_log, agent_log = tmp_path / "gateway.log", tmp_path / "agent.log"
    write_keystore(tmp_path / "meter-key.json", bytes(anvil_account(3).key))
    with p1_bridge(dsmr5_telegram((2_000_000, 1_000_000), (400_000, 0), "232.3")) as p1:
        config = write_agent_config(
            tmp_path, chain_id=MQTT_CHAIN_ID, smart_meter=client["SmartMeter"].address, meter=METER,
            broker=f"{mqtt_broker.host}:{mqtt_broker.port}", source=f'kind = "dsmr"\nurl = "{p1.url}"\nversion = "5"',
        )  # fmt: skip
        gateway = start_gateway(client, mqtt_broker, tmp_path / "gateway.sqlite", gateway_log)
        agent = start_agent(client, mqtt_broker, config, agent_log)
        try:
            # The gateway's clock, retained, then at each block: blocks of this chain, by number and time.
            with connected(mqtt_broker, MQTT_MONITOR_USER, mqtt_broker.passwords[MQTT_MONITOR_USER]) as monitor:
                assert not monitor.subscribe(clock_topic(MQTT_CHAIN_ID)).is_failure

                def a_block_of_this_chain() -> bool:
                    # The first message may be another module's gateway's, retained on the session's broker.
                    block_number, timestamp_s = parse_clock(cast(bytes, monitor.next_message().payload))
                    latest = client.w3.eth.block_number
                    return block_number <= latest and int(client.w3.eth.get_block(block_number)["timestamp"]) == timestamp_s

                wait_until(a_block_of_this_chain, ON_CHAIN_TIMEOUT_S, "the gateway's clock")

            on_chain(client, 0, 3_000_000, agent_log)
            reading = client.smart_meter.latest_reading(METER)
            assert (reading.production_wh, reading.voltage_per_mille) == (400_000, 1_010)
            assert reading.timestamp % 900 == 899  # the last second of an interval of the chain's clock

            agent.send_signal(signal.SIGKILL)
            agent.wait(timeout=10)
            p1.telegram = dsmr5_telegram((2_000_000, 1_000_750), (400_020, 0), "229.0")
            agent = start_agent(client, mqtt_broker, config, agent_log)
            on_chain(client, 1, 3_000_750, agent_log)
            assert client.smart_meter.latest_reading(METER).production_wh == 400_020
            # Every reading the agent signed, before the kill and after, is on chain once, in nonce order.
            nonces = client["SmartMeter"].functions.nonces
            wait_until(lambda: nonces(METER).call() == agent_log.read_text().count(" signed: "), ON_CHAIN_TIMEOUT_S, "every reading")
        finally:
            agent.send_signal(signal.SIGTERM)
            gateway.send_signal(signal.SIGTERM)
            assert agent.wait(timeout=30) == 0, agent_log.read_text()
            assert gateway.wait(timeout=30) == 0, gateway_log.read_text()

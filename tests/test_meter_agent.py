"""The meter agent between a meter and the broker: a reading at the end of each interval of the
chain's clock, signed by the meter's key under the outbox's next nonce; no reading (one log line)
when the meter answers garbage, nothing or registers that went back, and the next interval's all
the same; the outbox across a restart, published again with the same bytes; the gateway's answers
settling it; and the command's set-up errors in one sentence. The meter is a DSMR 5 P1 port behind
a TCP bridge, the broker the session's mosquitto with its production ACL, the gateway's clock and
answers published by its broker user as the gateway publishes them."""

from __future__ import annotations

import logging
import os
import queue
from pathlib import Path
from typing import Any, cast

import pytest
from click.testing import CliRunner, Result
from eth_keys.datatypes import PrivateKey

from energy_grid.chain.accounts import anvil_account
from energy_grid.cli import cli
from energy_grid.services.gateway.messages import (
    MessageCode,
    Rejected,
    accepted_answer,
    answer_topic,
    clock_message,
    clock_topic,
    parse_reading,
    readings_topic,
    verify_signature,
)
from energy_grid.services.meter_agent.agent import MeterAgent
from energy_grid.services.meter_agent.clock import ChainClockView, ChainTime
from energy_grid.services.meter_agent.config import load_config
from energy_grid.services.meter_agent.outbox import Outbox, OutboxError
from energy_grid.services.meter_agent.sources.dsmr import DsmrSource
from energy_grid.services.mqtt import BROKER_PASSWORD_ENV
from energy_grid.signing.readings import DEADLINE_MARGIN_S, SignedReading

from support.anvil_node import wait_until
from support.meter_sources import KEYSTORE_PASSWORD, SAMPLES, dsmr5_telegram, p1_bridge, write_agent_config, write_keystore
from support.mosquitto import MQTT_CHAIN_ID, MQTT_GATEWAY_USER, MQTT_METERS, MQTT_MONITOR_USER, Broker, connected

METER_KEY = anvil_account(3)  # MQTT_METERS[0]'s key
SMART_METER = anvil_account(9).address  # the EIP-712 domain's contract address: signing needs no chain
INTERVAL_S = 900
DAY_START_S = 1_780_000_200  # a multiple of INTERVAL_S
READ_TIMEOUT_S = 5.0
ANSWER_TIMEOUT_S = 30.0


@pytest.fixture
def p1():
    with p1_bridge(dsmr5_telegram((1_000_000, 2_000_000), (500_000, 0), "230.0")) as bridge:
        yield bridge


@pytest.fixture
def agent_files(tmp_path, p1, mqtt_broker):
    """The meter's configuration (DSMR 5 behind the bridge) and its keystore, as provisioning writes them."""
    write_keystore(tmp_path / "meter-key.json", bytes(METER_KEY.key))
    source = f'kind = "dsmr"\nurl = "{p1.url}"\nversion = "5"'
    broker = f"{mqtt_broker.host}:{mqtt_broker.port}"
    return write_agent_config(tmp_path, chain_id=MQTT_CHAIN_ID, smart_meter=SMART_METER, meter=MQTT_METERS[0], broker=broker, source=source)


def open_agent(config_path: Path, mqtt_broker: Broker, first_nonce: int = 0, **timing: Any) -> MeterAgent:
    config = load_config(config_path, {BROKER_PASSWORD_ENV: mqtt_broker.passwords[MQTT_METERS[0]]})
    outbox = Outbox(config.outbox, config.chain_id, config.smart_meter, config.meter, lambda: first_nonce)
    source = DsmrSource(dict(config.source)["url"], "5")
    return MeterAgent(config, PrivateKey(bytes(METER_KEY.key)), source, outbox, read_timeout_s=READ_TIMEOUT_S, **timing)


def chain_time(interval: int, into_s: int = 60) -> ChainTime:
    """The chain's clock `into_s` after the start of interval `interval` of the test's day."""
    timestamp_s = DAY_START_S + interval * INTERVAL_S + into_s
    return ChainTime(interval, timestamp_s)


def end_of(interval: int) -> int:
    return DAY_START_S + (interval + 1) * INTERVAL_S


def verified(payload: bytes) -> SignedReading:
    """The signed reading of a published message, its signature checked as the gateway checks it."""
    signed = parse_reading(readings_topic(MQTT_CHAIN_ID, MQTT_METERS[0]), payload, MQTT_CHAIN_ID)
    verify_signature(signed, MQTT_CHAIN_ID, SMART_METER)
    return signed


def test_a_reading_at_each_interval_end_of_the_chain_s_clock(agent_files, mqtt_broker, p1):
    agent = open_agent(agent_files, mqtt_broker, first_nonce=7)
    first = agent.take_reading(chain_time(1))
    assert first is not None
    signed = verified(first.payload)
    assert (signed.nonce, signed.deadline) == (7, end_of(0) - 1 + DEADLINE_MARGIN_S)
    # The interval's last second; the tariffs summed; DSMR gives no frequency: the nominal.
    assert signed.reading == (end_of(0) - 1, 3_000_000, 500_000, 50_000, 1_000)
    assert agent.take_reading(chain_time(1, into_s=800)) is None  # one reading an interval
    p1.telegram = dsmr5_telegram((1_000_100, 2_000_000), (500_007, 0), "236.9")
    second = agent.take_reading(chain_time(2))
    assert second is not None and verified(second.payload).nonce == 8
    assert second.reading == (end_of(1) - 1, 3_000_100, 500_007, 50_000, 1_030)
    assert [entry.nonce for entry in agent.outbox.entries()] == [7, 8]


def test_the_first_reading_waits_for_an_interval_end_the_agent_sees_pass(agent_files, mqtt_broker, p1):
    """Registers read after an interval ended are not that interval's end: a meter registered in
    the interval the agent starts in would have its installation stamped after such a reading."""
    agent = open_agent(agent_files, mqtt_broker)
    agent.clock.take(clock_message(3, chain_time(1, into_s=400).timestamp_s))
    agent.step(0)
    assert agent.outbox.entries() == []  # started in interval 1: interval 0's end passed unseen
    agent.clock.take(clock_message(4, chain_time(1, into_s=800).timestamp_s))
    agent.step(0)
    assert agent.outbox.entries() == []
    agent.clock.take(clock_message(5, chain_time(2, into_s=30).timestamp_s))
    agent.step(0)
    assert [entry.reading[0] for entry in agent.outbox.entries()] == [end_of(1) - 1]


def test_bad_meter_data_gives_no_reading_and_the_next_interval_one_all_the_same(agent_files, mqtt_broker, p1, caplog):
    """Registers that went back, a telegram with a bad CRC: each one log line and no reading; the
    meter's next good telegram is the next interval's reading, under the next nonce."""
    caplog.set_level(logging.INFO, logger="energy_grid.meter_agent")
    agent = open_agent(agent_files, mqtt_broker)
    assert agent.take_reading(chain_time(0)) is not None
    p1.telegram = dsmr5_telegram((999_000, 2_000_000), (500_000, 0))
    assert agent.take_reading(chain_time(1)) is None
    p1.telegram = (SAMPLES / "dsmr50_bad_crc.txt").read_bytes()
    assert agent.take_reading(chain_time(2)) is None
    p1.telegram = dsmr5_telegram((1_000_000, 2_000_250), (500_000, 0))
    third = agent.take_reading(chain_time(3))
    assert third is not None and third.nonce == 1 and third.reading[1] == 3_000_250
    refusals = [record.getMessage() for record in caplog.records if "no reading" in record.getMessage()]
    assert len(refusals) == 2
    went_back = "the import register went back from 3,000,000 Wh to 2,999,000 Wh"
    assert refusals[0] == f"interval ending at chain time {end_of(0)}: no reading: {went_back}"
    assert refusals[1].startswith(f"interval ending at chain time {end_of(1)}: no reading: a telegram failed its CRC check")


def test_without_the_chain_s_clock_the_agent_waits(agent_files, mqtt_broker, caplog):
    caplog.set_level(logging.INFO, logger="energy_grid.meter_agent")
    agent = open_agent(agent_files, mqtt_broker)
    for _ in range(3):
        agent.step(0)
    assert agent.outbox.entries() == []
    waiting = [record for record in caplog.records if "waiting for the chain's clock" in record.getMessage()]
    assert len(waiting) == 1  # said once


def test_the_clock_is_the_gateway_s_latest_message_and_a_garbled_one_is_ignored(caplog):
    clock = ChainClockView()
    clock.take(clock_message(12, 1_780_000_000))
    for garbled in (b"12", b'{"blockNumber": 13}', b'{"blockNumber": 13, "timestamp": "soon"}', b"\xff"):
        clock.take(garbled)
    assert clock.now() == ChainTime(12, 1_780_000_000)
    assert sum("ignored a clock message" in record.getMessage() for record in caplog.records) == 4


def test_the_outbox_survives_a_restart_and_its_readings_are_published_again_with_the_same_bytes(agent_files, mqtt_broker, p1):
    """A reading written and never published (the power went before) is published after the restart
    as it was signed, stamped by the gateway's retained clock; unanswered, again after two intervals."""
    before = open_agent(agent_files, mqtt_broker)
    written = before.take_reading(chain_time(0))
    assert written is not None
    before.outbox.close()  # the power goes: nothing was published

    agent = open_agent(agent_files, mqtt_broker)
    assert agent.outbox.entries() == [written] and agent.outbox.next_nonce == 1

    def clock_seen() -> bool:
        agent.step(0.05)
        return agent.clock.now() is not None

    def next_clock_seen() -> bool:
        agent.step(0.05)
        now = agent.clock.now()
        assert now is not None  # the retained clock came before
        return now.block_number == 9

    with connected(mqtt_broker, MQTT_GATEWAY_USER, mqtt_broker.passwords[MQTT_GATEWAY_USER]) as gateway, \
            connected(mqtt_broker, MQTT_MONITOR_USER, mqtt_broker.passwords[MQTT_MONITOR_USER]) as monitor:  # fmt: skip
        assert not monitor.subscribe(readings_topic(MQTT_CHAIN_ID, MQTT_METERS[0])).is_failure
        gateway.client.publish(clock_topic(MQTT_CHAIN_ID), clock_message(5, chain_time(0, into_s=120).timestamp_s), qos=1, retain=True)
        agent.link.connect()
        try:
            wait_until(clock_seen, ANSWER_TIMEOUT_S, "the retained clock")
            agent.step(0)
            assert monitor.next_message().payload == written.payload
            gateway.client.publish(clock_topic(MQTT_CHAIN_ID), clock_message(9, chain_time(2, into_s=120).timestamp_s), qos=1, retain=True)
            wait_until(next_clock_seen, ANSWER_TIMEOUT_S, "the next clock")
            payloads = [cast(bytes, monitor.next_message().payload) for _ in range(2)]
        finally:
            agent.link.close()
            gateway.client.publish(clock_topic(MQTT_CHAIN_ID), b"", qos=1, retain=True)  # the retained clock cleared for other tests
    # At interval 2 the reading of interval 1 is signed and published, and the first one, unanswered
    # for two intervals of the chain's time, is published again as it was.
    republished = agent.outbox.get(1)
    assert republished is not None
    assert sorted(payloads, key=lambda payload: verified(payload).nonce) == [written.payload, republished.payload]
    with pytest.raises(queue.Empty):
        monitor.messages.get_nowait()


def answer(agent: MeterAgent, payload: bytes, accepted: bool) -> None:
    """The gateway's answer, handed to the agent as its MQTT client hands it one, and settled."""
    agent._message(answer_topic(MQTT_CHAIN_ID, MQTT_METERS[0], accepted), payload)
    agent.settle_answers(0)


def test_the_gateway_s_answers_settle_the_outbox(agent_files, mqtt_broker, p1):
    agent = open_agent(agent_files, mqtt_broker)
    agent.clock.take(clock_message(40, chain_time(6).timestamp_s))
    for interval in range(5):
        p1.telegram = dsmr5_telegram((1_000_000 + interval, 2_000_000), (500_000, 0))
        agent.take_reading(chain_time(interval))
    first, second, third, fourth, fifth = agent.outbox.entries()

    answer(agent, accepted_answer(0, "0x" + "ab" * 32, 12, 1, first.digest), accepted=True)
    assert [entry.nonce for entry in agent.outbox.entries()] == [1, 2, 3, 4]

    answer(agent, Rejected(MessageCode.EXPIRED, "the deadline passed", 1, second.digest).answer(), accepted=False)
    resigned = agent.outbox.get(1)
    assert resigned is not None
    assert resigned.reading == second.reading and resigned.digest != second.digest
    assert verified(resigned.payload).deadline == chain_time(6).timestamp_s + DEADLINE_MARGIN_S
    answer(agent, Rejected(MessageCode.EXPIRED, "the deadline passed", 1, second.digest).answer(), accepted=False)
    assert agent.outbox.get(1) == resigned  # an answer about the first signature settles nothing

    answer(agent, Rejected(MessageCode.NONCE_AHEAD, "nonce 3 skips ahead", 3, fourth.digest).answer(), accepted=False)
    assert agent.outbox.get(3) == fourth  # published again later, as it is

    # Refused for good: dropped, and the readings behind it take its nonce, signed again.
    answer(agent, Rejected("register-decreased", "consumption went back", 2, third.digest).answer(), accepted=False)
    moved = agent.outbox.entries()
    assert [(entry.nonce, entry.reading) for entry in moved] == [(1, second.reading), (2, fourth.reading), (3, fifth.reading)]
    assert [verified(entry.payload).nonce for entry in moved[1:]] == [2, 3]
    assert agent.outbox.next_nonce == 4

    # Its nonce taken on chain by another reading: dropped alone.
    answer(agent, Rejected(MessageCode.NONCE_USED, "nonce 3 is taken", 3, moved[2].digest).answer(), accepted=False)
    assert [entry.nonce for entry in agent.outbox.entries()] == [1, 2] and agent.outbox.next_nonce == 4
    answer(agent, b"not an answer", accepted=False)
    assert len(agent.outbox.entries()) == 2


def test_an_outbox_is_one_meter_s(agent_files, mqtt_broker):
    agent = open_agent(agent_files, mqtt_broker)
    agent.outbox.close()
    with pytest.raises(OutboxError, match=f"is meter {MQTT_METERS[0]}'s"):
        Outbox(agent.config.outbox, MQTT_CHAIN_ID, SMART_METER, MQTT_METERS[1], lambda: 0)


# ------------------------------------------------------------------------------------ the command


def run_agent_command(config_path: Path, env: dict[str, str]) -> Result:
    environ = {name: value for name, value in os.environ.items() if not name.startswith("ENERGY_GRID_")}
    return CliRunner().invoke(cli, ["meter-agent", "--config", str(config_path)], env={**environ, **env})


@pytest.mark.parametrize(
    ("change", "env", "error"),
    [
        (None, {}, "needs a password: set ENERGY_GRID_KEYSTORE_PASSWORD"),
        (None, {"ENERGY_GRID_KEYSTORE_PASSWORD": "wrong"}, "wrong password"),
        (("interval_s = 900", "interval_s = 0"), {}, "field interval_s must be a whole number from 1, not 0"),
        (('kind = "dsmr"', 'kind = "modbus"'), {}, "kind 'modbus' is not a source: give one of dsmr, sunspec, json"),
        (('version = "5"', 'version = "6"'), {}, "version '6' is not a DSMR version"),
        (("chain_id = ", "chainid = "), {}, "lacks the field chain_id"),
        (('keystore = "meter-key.json"', 'keystore = "other-key.json"'), {"ENERGY_GRID_KEYSTORE_PASSWORD": KEYSTORE_PASSWORD},
         "No keystore file at"),
    ],
)
def test_a_set_up_error_is_one_sentence_and_exit_code_2(agent_files, change, env, error):
    if change is not None:
        agent_files.write_text(agent_files.read_text().replace(*change))
    result = run_agent_command(agent_files, env)
    assert result.exit_code == 2, result.output
    assert error in result.output and result.output.count("\n") == 1 and "Traceback" not in result.output


def test_a_missing_configuration_and_another_meter_s_key_are_refused(agent_files, tmp_path):
    missing = run_agent_command(tmp_path / "nowhere.toml", {})
    assert missing.exit_code == 2 and "No configuration file at" in missing.output
    write_keystore(tmp_path / "meter-key.json", bytes(anvil_account(4).key))
    other = run_agent_command(agent_files, {"ENERGY_GRID_KEYSTORE_PASSWORD": KEYSTORE_PASSWORD})
    assert other.exit_code == 2 and f"holds the key of {anvil_account(4).address}, not of meter {MQTT_METERS[0]}" in other.output

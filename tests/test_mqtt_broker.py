"""The meters' MQTT broker as production configures it, against a real mosquitto the session starts
(`mqtt_broker`): a meter's signed reading reaches the gateway service and its answer comes back, a
meter cannot speak for another meter, a wrong password is turned away; and the ACL file itself.

The clients speak MQTT v5 (support.mosquitto.connected): a refused publish is answered with a
reason code, so a refusal is seen rather than waited for.
"""

from __future__ import annotations

import secrets
import stat
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace

import pytest
from eth_account import Account
from paho.mqtt.enums import MQTTProtocolVersion

from energy_grid.services.broker import (
    BrokerConfigError,
    acl_text,
    add_broker_user,
    add_meter_to_acl,
    broker_users,
    meter_acl_block,
    meter_topic,
    mosquitto_program,
    reload_broker,
    reload_system_broker,
    write_password_file,
)
from energy_grid.services.gateway.messages import MAX_MESSAGE_BYTES, clock_topic

from support.mosquitto import (
    ACL_FILE_NAME,
    ANSWER_TIMEOUT_SECONDS,
    MQTT_CHAIN_ID,
    MQTT_FLEET_USER,
    MQTT_GATEWAY_USER,
    MQTT_METERS,
    MQTT_MONITOR_USER,
    PASSWORD_FILE_NAME,
    Broker,
    Session,
    access_controlled_broker,
    connected,
    stand_in_systemctl,
)

ALL_READINGS = f"energy-grid/{MQTT_CHAIN_ID}/meters/+/readings"


@contextmanager
def admitted(broker: Broker, user: str) -> Iterator[Session]:
    """A session of `user` with its own password, once the broker has admitted it."""
    with connected(broker, user, broker.passwords[user]) as session:
        assert session.connack.get(timeout=ANSWER_TIMEOUT_SECONDS) == "Success"
        yield session


# ---- Through the broker ----


def test_a_meters_reading_reaches_the_gateway_and_its_answer_the_meter(mqtt_broker):
    meter = MQTT_METERS[0]
    with admitted(mqtt_broker, MQTT_GATEWAY_USER) as gateway, admitted(mqtt_broker, meter) as device:
        assert gateway.subscribe(ALL_READINGS) == "Granted QoS 1"
        assert device.subscribe(meter_topic(MQTT_CHAIN_ID, meter, "#")) == "Granted QoS 1"

        assert device.publish(meter_topic(MQTT_CHAIN_ID, meter, "readings"), b"signed reading 1") == "Success"
        reading = gateway.next_message()
        assert (reading.topic, reading.payload, reading.qos) == (meter_topic(MQTT_CHAIN_ID, meter, "readings"), b"signed reading 1", 1)
        assert device.next_message().topic == reading.topic  # a meter reads its own topics, its readings too

        assert gateway.publish(meter_topic(MQTT_CHAIN_ID, meter, "accepted"), b"reading 1 accepted") == "Success"
        answer = device.next_message()
        assert (answer.topic, answer.payload) == (meter_topic(MQTT_CHAIN_ID, meter, "accepted"), b"reading 1 accepted")


def test_a_meter_cannot_publish_or_read_for_another_meter(mqtt_broker):
    meter, other_meter = MQTT_METERS
    with admitted(mqtt_broker, MQTT_GATEWAY_USER) as gateway, admitted(mqtt_broker, meter) as device:
        assert gateway.subscribe(ALL_READINGS) == "Granted QoS 1"
        assert device.publish(meter_topic(MQTT_CHAIN_ID, other_meter, "readings"), b"forged reading") == "Not authorized"
        assert device.publish(meter_topic(MQTT_CHAIN_ID, meter, "accepted"), b"forged answer") == "Not authorized"
        # The broker handles a client's publishes in order: had the forged reading been passed on,
        # it would have reached the gateway before this one.
        assert device.publish(meter_topic(MQTT_CHAIN_ID, meter, "readings"), b"own reading") == "Success"
        assert gateway.next_message().payload == b"own reading"

        # mosquitto grants any subscription and checks the ACL on each message it would deliver.
        assert device.subscribe(f"energy-grid/{MQTT_CHAIN_ID}/meters/#") == "Granted QoS 1"
        assert gateway.publish(meter_topic(MQTT_CHAIN_ID, other_meter, "accepted"), b"not for this meter") == "Success"
        assert gateway.publish(meter_topic(MQTT_CHAIN_ID, meter, "accepted"), b"for this meter") == "Success"
        assert device.next_message().payload == b"for this meter"
        assert gateway.messages.empty() and device.messages.empty()


def test_the_gateway_cannot_publish_readings(mqtt_broker):
    with admitted(mqtt_broker, MQTT_GATEWAY_USER) as gateway:
        assert gateway.publish(meter_topic(MQTT_CHAIN_ID, MQTT_METERS[0], "readings"), b"forged reading") == "Not authorized"


def test_a_monitor_reads_every_meters_topics_and_publishes_nothing(mqtt_broker):
    meter = MQTT_METERS[0]
    with admitted(mqtt_broker, MQTT_MONITOR_USER) as monitor, admitted(mqtt_broker, meter) as device:
        assert monitor.subscribe(f"energy-grid/{MQTT_CHAIN_ID}/meters/#") == "Granted QoS 1"
        assert monitor.publish(meter_topic(MQTT_CHAIN_ID, meter, "readings"), b"forged reading") == "Not authorized"
        assert monitor.publish(meter_topic(MQTT_CHAIN_ID, meter, "accepted"), b"forged answer") == "Not authorized"
        assert device.publish(meter_topic(MQTT_CHAIN_ID, meter, "readings"), b"signed reading") == "Success"
        seen = monitor.next_message()
        assert (seen.topic, seen.payload) == (meter_topic(MQTT_CHAIN_ID, meter, "readings"), b"signed reading")
        assert monitor.messages.empty()


@pytest.mark.parametrize("user", [MQTT_GATEWAY_USER, MQTT_METERS[0], "stranger"])
def test_a_wrong_password_cannot_connect(mqtt_broker, user):
    with connected(mqtt_broker, user, "wrong password") as session:
        assert session.connack.get(timeout=ANSWER_TIMEOUT_SECONDS) == "Not authorized"


# ---- The access files ----


def test_the_password_file_holds_hashes_its_owner_alone_can_read(tmp_path):
    path = tmp_path / "passwords"
    path.write_text("left from before\n")
    write_password_file(path, {"gateway": "gateway password", MQTT_METERS[0]: "meter password"})
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    lines = path.read_text().splitlines()
    assert [line.split(":")[0] for line in lines] == ["gateway", MQTT_METERS[0]]
    assert "password" not in path.read_text()


def test_a_missing_mosquitto_is_named_with_the_target_that_installs_it(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path))
    monkeypatch.setattr("energy_grid.services.broker.SYSTEM_PROGRAM_DIRS", ())
    with pytest.raises(BrokerConfigError, match=r"^mosquitto is not installed: run `make broker`"):
        mosquitto_program("mosquitto")


def test_acl_text_grants_each_meter_its_own_topics_and_the_gateway_all_readings():
    first, second = "0x90f79bf6eb2c4f870365e785982e1f101e93b906", "0x15d34AAf54267DB7D7c367839AAf71A00a2C6A65"
    assert acl_text(5, [second, first, first], "gateway") == (
        "# The gateway service reads every meter's readings and answers on its accepted or rejected topic.\n"
        "user gateway\n"
        "topic read energy-grid/5/meters/+/readings\n"
        "topic write energy-grid/5/meters/+/accepted\n"
        "topic write energy-grid/5/meters/+/rejected\n"
        "topic write energy-grid/5/clock\n"
        "\n"
        "# A meter publishes its own readings only, and reads only its own topics and the chain's clock.\n"
        "user 0x15d34AAf54267DB7D7c367839AAf71A00a2C6A65\n"
        "topic write energy-grid/5/meters/0x15d34aaf54267db7d7c367839aaf71a00a2c6a65/readings\n"
        "topic read energy-grid/5/meters/0x15d34aaf54267db7d7c367839aaf71a00a2c6a65/#\n"
        "topic read energy-grid/5/clock\n"
        "\n"
        "# A meter publishes its own readings only, and reads only its own topics and the chain's clock.\n"
        "user 0x90F79bf6EB2c4f870365E785982E1f101E93b906\n"
        "topic write energy-grid/5/meters/0x90f79bf6eb2c4f870365e785982e1f101e93b906/readings\n"
        "topic read energy-grid/5/meters/0x90f79bf6eb2c4f870365e785982e1f101e93b906/#\n"
        "topic read energy-grid/5/clock\n"
    )


def test_acl_text_grants_a_fleet_user_every_meters_readings_and_answers():
    text = acl_text(5, [MQTT_METERS[0]], "gateway", fleet_user="fleet")
    fleet_block = text.split("\n\n")[1]
    assert fleet_block.splitlines()[1:] == [
        "user fleet",
        "topic write energy-grid/5/meters/+/readings",
        "topic read energy-grid/5/meters/+/accepted",
        "topic read energy-grid/5/meters/+/rejected",
        "topic read energy-grid/5/clock",
    ]
    with pytest.raises(BrokerConfigError, match="must differ"):
        acl_text(5, [MQTT_METERS[0]], "gateway", fleet_user="gateway")


def test_acl_text_grants_a_monitor_user_every_meters_topics_to_read_only():
    text = acl_text(5, [MQTT_METERS[0]], "gateway", fleet_user="fleet", monitor_user="monitor")
    monitor_block = text.split("\n\n")[2]
    assert monitor_block.splitlines()[1:] == ["user monitor", "topic read energy-grid/5/meters/+/#", "topic read energy-grid/5/clock"]
    with pytest.raises(BrokerConfigError, match="must differ"):
        acl_text(5, [MQTT_METERS[0]], "gateway", monitor_user="gateway")


@pytest.mark.parametrize(
    ("chain_id", "meter", "gateway_user"),
    [
        (5, "0x90f79bf6eb2c4f870365e785982e1f101e93b90", "gateway"),  # an address a digit short
        (5, "0x90F79bf6EB2c4f870365E785982E1f101E93b907", "gateway"),  # a wrong checksum
        (5, MQTT_METERS[0], "gate way"),
        (5, MQTT_METERS[0], "meters/+"),
        (5, MQTT_METERS[0], MQTT_METERS[0]),
        (0, MQTT_METERS[0], "gateway"),
    ],
)
def test_acl_text_refuses_what_would_not_be_one_user_or_one_topic(chain_id, meter, gateway_user):
    with pytest.raises(BrokerConfigError):
        acl_text(chain_id, [meter], gateway_user)


def test_the_broker_forwards_no_message_larger_than_a_reading_may_be(mqtt_broker):
    """A meter's publication past MAX_MESSAGE_BYTES never reaches the gateway (a 3.1.1 meter's QoS flow is
    completed, and the message dropped); the next one, at the limit, does."""
    meter = MQTT_METERS[0]
    topic = meter_topic(MQTT_CHAIN_ID, meter, "readings")
    v311 = MQTTProtocolVersion.MQTTv311
    password = mqtt_broker.passwords[meter]
    with admitted(mqtt_broker, MQTT_GATEWAY_USER) as gateway, connected(mqtt_broker, meter, password, protocol=v311) as device:
        assert device.connack.get(timeout=ANSWER_TIMEOUT_SECONDS) == "Success"
        assert gateway.subscribe(ALL_READINGS) == "Granted QoS 1"
        device.publish(topic, b"x" * (MAX_MESSAGE_BYTES + 1))
        device.publish(topic, b"y" * MAX_MESSAGE_BYTES)
        assert gateway.next_message().payload == b"y" * MAX_MESSAGE_BYTES


# ---- One more meter on a running broker ----


def test_a_meter_added_to_a_running_broker_is_admitted_after_a_reload_and_every_other_user_still_is(tmp_path):
    """The new meter's user and ACL block go into the files a running mosquitto reads; a SIGHUP has it
    read them again without dropping the gateway's connection (its subscription made before the
    reload still delivers); everyone admitted before still is, and the new meter speaks for itself only."""
    meter = Account.create().address
    password = secrets.token_urlsafe(16)
    with access_controlled_broker(tmp_path) as broker:
        password_file, acl_file = tmp_path / PASSWORD_FILE_NAME, tmp_path / ACL_FILE_NAME
        users_before, acl_before = password_file.read_text().splitlines(), acl_file.read_text()
        with admitted(broker, MQTT_GATEWAY_USER) as gateway:
            assert gateway.subscribe(ALL_READINGS) == "Granted QoS 1"
            with connected(broker, meter, password) as early:
                assert early.connack.get(timeout=ANSWER_TIMEOUT_SECONDS) == "Not authorized"

            add_broker_user(password_file, meter, password)
            assert add_meter_to_acl(acl_file, MQTT_CHAIN_ID, meter) is True
            assert password_file.read_text().splitlines()[:-1] == users_before  # every other user's line, in its place
            assert password_file.read_text().splitlines()[-1].startswith(f"{meter}:$")
            assert stat.S_IMODE(password_file.stat().st_mode) == 0o600
            assert acl_file.read_text() == acl_before + "\n" + "\n".join(meter_acl_block(MQTT_CHAIN_ID, meter)) + "\n"
            reloads = broker.reloads()
            assert broker.pid is not None
            reload_broker(broker.pid)
            broker.wait_for_reload(reloads)

            everyone = replace(broker, passwords=broker.passwords | {meter: password})
            for user in (MQTT_FLEET_USER, MQTT_MONITOR_USER, *MQTT_METERS):
                with admitted(everyone, user):
                    pass
            with admitted(everyone, meter) as device:
                assert device.subscribe(clock_topic(MQTT_CHAIN_ID)) == "Granted QoS 1"
                assert gateway.publish(clock_topic(MQTT_CHAIN_ID), b"the chain's clock") == "Success"
                assert device.next_message().payload == b"the chain's clock"
                assert device.publish(meter_topic(MQTT_CHAIN_ID, MQTT_METERS[0], "readings"), b"forged reading") == "Not authorized"
                assert device.publish(meter_topic(MQTT_CHAIN_ID, meter, "readings"), b"own reading") == "Success"
                # Published after the forged one: had that one been passed on, it would have come first.
                reading = gateway.next_message()
                assert (reading.topic, reading.payload) == (meter_topic(MQTT_CHAIN_ID, meter, "readings"), b"own reading")
                assert gateway.messages.empty()


def test_a_users_new_password_replaces_its_line_where_it_stands_and_the_file_keeps_its_mode(tmp_path):
    path = tmp_path / "passwords"
    write_password_file(path, {"gateway": "gateway password", MQTT_METERS[0]: "first password", "monitor": "monitor password"})
    path.chmod(0o640)  # Debian's broker reads the file through its group
    before = path.read_text().splitlines()
    add_broker_user(path, MQTT_METERS[0], "second password")
    after = path.read_text().splitlines()
    assert broker_users(path) == ["gateway", MQTT_METERS[0], "monitor"]
    assert (after[0], after[2]) == (before[0], before[2])
    assert after[1] != before[1] and after[1].startswith(f"{MQTT_METERS[0]}:$")
    assert stat.S_IMODE(path.stat().st_mode) == 0o640
    assert sorted(p.name for p in tmp_path.iterdir()) == ["passwords"]  # no copy left beside it


def test_adding_the_same_meter_twice_leaves_the_acl_as_after_once(tmp_path):
    path = tmp_path / "acl"
    path.write_text(acl_text(MQTT_CHAIN_ID, [MQTT_METERS[0]], "gateway", fleet_user="fleet").rstrip("\n"))  # no final newline
    before = path.read_bytes()
    new_meter = Account.create().address
    assert add_meter_to_acl(path, MQTT_CHAIN_ID, new_meter.lower()) is True
    once = path.read_bytes()
    assert once == before + b"\n\n" + ("\n".join(meter_acl_block(MQTT_CHAIN_ID, new_meter)) + "\n").encode()
    assert add_meter_to_acl(path, MQTT_CHAIN_ID, new_meter) is False
    assert add_meter_to_acl(path, MQTT_CHAIN_ID, MQTT_METERS[0]) is False  # acl_text's own block counts as present
    assert path.read_bytes() == once


def test_a_meter_with_other_grants_in_the_acl_is_refused_and_the_file_left_as_it_was(tmp_path):
    path = tmp_path / "acl"
    path.write_text(acl_text(MQTT_CHAIN_ID + 1, [MQTT_METERS[0]], "gateway"))  # the meter's block of another chain
    before = path.read_bytes()
    with pytest.raises(BrokerConfigError, match=rf"already grants {MQTT_METERS[0]} other topics than its block of chain {MQTT_CHAIN_ID}"):
        add_meter_to_acl(path, MQTT_CHAIN_ID, MQTT_METERS[0])
    assert path.read_bytes() == before


def test_a_missing_access_file_is_named(tmp_path):
    with pytest.raises(BrokerConfigError, match=r"there is no password file at .*passwords: write the broker's access files first"):
        add_broker_user(tmp_path / "passwords", MQTT_METERS[0], "password")
    with pytest.raises(BrokerConfigError, match=r"there is no ACL file at .*acl: write the broker's access files first"):
        add_meter_to_acl(tmp_path / "acl", MQTT_CHAIN_ID, MQTT_METERS[0])
    assert list(tmp_path.iterdir()) == []


def test_reloading_a_broker_that_is_gone_is_refused():
    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    assert gone.wait() == 0
    with pytest.raises(BrokerConfigError, match=rf"^no broker runs as process {gone.pid}$"):
        reload_broker(gone.pid)


def test_the_system_broker_is_reloaded_by_systemctl_and_a_failure_is_named(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(stand_in_systemctl(tmp_path / "works")))
    reload_system_broker()
    assert (tmp_path / "works" / "calls").read_text() == "reload mosquitto\n"

    monkeypatch.setenv("PATH", str(stand_in_systemctl(tmp_path / "fails", 1, "Unit mosquitto.service not loaded.")))
    failed = r"^`systemctl reload mosquitto` failed \(Unit mosquitto.service not loaded.\): reload the broker by hand$"
    with pytest.raises(BrokerConfigError, match=failed):
        reload_system_broker()

    monkeypatch.setenv("PATH", str(tmp_path / "nowhere"))
    with pytest.raises(BrokerConfigError, match=r"^systemctl is not installed here"):
        reload_system_broker()

"""A mosquitto broker the tests own: started on a free port of 127.0.0.1 with a configuration of
their own, and always stopped. `access_controlled_broker` is the broker as production runs it:
no anonymous clients, the password and ACL files energy_grid.services.broker writes.

A broker the tests did not start is never used: the port is picked free just before, and the broker
counts as started only once its own log says it listens (mosquitto logs "running" after it has bound
every listener, and exits when another process holds the port), and the port then answers while
its process still runs.
"""

from __future__ import annotations

import getpass
import queue
import secrets
import socket
import subprocess
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from functools import partial
from pathlib import Path

from paho.mqtt.client import Client, MQTTMessage
from paho.mqtt.enums import CallbackAPIVersion, MQTTProtocolVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties
from paho.mqtt.reasoncodes import ReasonCode

from energy_grid.chain.accounts import anvil_account
from energy_grid.chain.anvil import DEFAULT_CHAIN_ID, LOCAL_HOST, free_port
from energy_grid.services.broker import acl_text, mosquitto_config, mosquitto_program, write_password_file

START_TIMEOUT_SECONDS = 30.0
STOP_TIMEOUT_SECONDS = 5.0
POLL_SECONDS = 0.02
# A port picked free can be taken by another process before mosquitto binds it: so many picks are tried.
FREE_PORT_ATTEMPTS = 3
# What mosquitto logs once it has bound every listener, and when another process holds the port.
RUNNING_LINE = " running"
PORT_TAKEN_LINE = "Address already in use"
# What mosquitto logs on a SIGHUP, before it reads its files again in the same step of its loop.
RELOAD_LINE = "Reloading config."

# Every answer the tests wait for comes from a broker on the same machine in milliseconds when idle;
# the bound is for a loaded one (no test waits it out: each returns at its answer).
ANSWER_TIMEOUT_SECONDS = 30.0
QOS_AT_LEAST_ONCE = 1
PERSISTENT_SESSION_EXPIRY_S = 3600

# The access-controlled broker's chain, meters (anvil dev accounts 3 and 4), gateway user and fleet
# user (the virtual meters, which publish every meter's signed readings).
MQTT_CHAIN_ID = DEFAULT_CHAIN_ID
MQTT_METERS = (anvil_account(3).address, anvil_account(4).address)
MQTT_GATEWAY_USER = "gateway"
MQTT_FLEET_USER = "fleet"
MQTT_MONITOR_USER = "monitor"
# The access-controlled broker's files, in its work folder.
PASSWORD_FILE_NAME = "passwords"
ACL_FILE_NAME = "acl"


@dataclass(frozen=True)
class Broker:
    host: str
    port: int
    log_file: Path
    passwords: dict[str, str] = field(default_factory=dict)  # user name -> password
    pid: int | None = None  # the broker's process, when the tests started it themselves

    def reloads(self) -> int:
        """How many times the broker has read its files again (a SIGHUP each)."""
        return self.log_file.read_text().count(RELOAD_LINE)

    def wait_for_reload(self, reloads_before: int) -> None:
        """Waits until the broker has logged a reload more than `reloads_before`: it handles no client
        before it has read its files again."""
        deadline = time.monotonic() + ANSWER_TIMEOUT_SECONDS
        while self.reloads() <= reloads_before:
            if time.monotonic() > deadline:
                raise BrokerStartError(f"mosquitto did not reload within {ANSWER_TIMEOUT_SECONDS:g} s: see {self.log_file}")
            time.sleep(POLL_SECONDS)


class BrokerStartError(RuntimeError):
    """mosquitto exited, or did not listen in time; the message names its log."""


@contextmanager
def mosquitto_broker(
    work_dir: Path,
    allow_anonymous: bool = False,
    password_file: Path | None = None,
    acl_file: Path | None = None,
) -> Iterator[Broker]:
    """A broker running in `work_dir` (its configuration and log are written there) for the
    duration of the block, keeping nothing on disk. It runs as the user that starts it: started as
    root, mosquitto would switch to the `mosquitto` user and could no longer read the files in the
    test's private folder. Raises BrokerConfigError when mosquitto is not installed."""
    config = partial(
        mosquitto_config, password_file=password_file, acl_file=acl_file, allow_anonymous=allow_anonymous, run_as_user=getpass.getuser()
    )
    process, broker = _start(mosquitto_program("mosquitto"), work_dir, config)
    try:
        yield broker
    finally:
        _stop(process)


@contextmanager
def access_controlled_broker(work_dir: Path) -> Iterator[Broker]:
    """A broker that admits MQTT_GATEWAY_USER, MQTT_FLEET_USER, MQTT_MONITOR_USER and each of
    MQTT_METERS (a meter's user name is its address), each with a random password, under the ACL of
    MQTT_CHAIN_ID."""
    users = (MQTT_GATEWAY_USER, MQTT_FLEET_USER, MQTT_MONITOR_USER, *MQTT_METERS)
    passwords = {user: secrets.token_urlsafe(16) for user in users}
    password_file = work_dir / PASSWORD_FILE_NAME
    write_password_file(password_file, passwords)
    acl_file = work_dir / ACL_FILE_NAME
    acl_file.write_text(acl_text(MQTT_CHAIN_ID, MQTT_METERS, MQTT_GATEWAY_USER, MQTT_FLEET_USER, MQTT_MONITOR_USER))
    with mosquitto_broker(work_dir, password_file=password_file, acl_file=acl_file) as broker:
        yield replace(broker, passwords=passwords)


def _start(program: str, work_dir: Path, config: Callable[[str, int], str]) -> tuple[subprocess.Popen[bytes], Broker]:
    """Starts mosquitto with the configuration `config(host, port)` on a free port (picked again
    when another process took it first)."""
    attempts_left = FREE_PORT_ATTEMPTS
    config_file = work_dir / "mosquitto.conf"
    log_file = work_dir / "mosquitto.log"
    while True:
        port = free_port()
        config_file.write_text(config(LOCAL_HOST, port))
        with log_file.open("wb") as log:
            process = subprocess.Popen([program, "-c", str(config_file)], stdout=log, stderr=subprocess.STDOUT)
        try:
            _wait_until_listening(process, port, log_file)
        except BaseException as error:
            _stop(process)
            attempts_left -= 1
            port_taken = isinstance(error, BrokerStartError) and PORT_TAKEN_LINE in log_file.read_text()
            if not port_taken or attempts_left == 0:
                raise
        else:
            return process, Broker(LOCAL_HOST, port, log_file, pid=process.pid)


def _wait_until_listening(process: subprocess.Popen[bytes], port: int, log_file: Path) -> None:
    deadline = time.monotonic() + START_TIMEOUT_SECONDS
    while True:
        status = process.poll()
        if status is not None:
            raise BrokerStartError(f"mosquitto exited with status {status} before listening on port {port}: see {log_file}")
        if RUNNING_LINE in log_file.read_text() and _accepts_connections(port) and process.poll() is None:
            return
        if time.monotonic() > deadline:
            raise BrokerStartError(f"mosquitto did not listen on port {port} within {START_TIMEOUT_SECONDS:g} s: see {log_file}")
        time.sleep(POLL_SECONDS)


def _accepts_connections(port: int) -> bool:
    try:
        with socket.create_connection((LOCAL_HOST, port), timeout=POLL_SECONDS * 10):
            return True
    except OSError:
        return False


def _stop(process: subprocess.Popen[bytes]) -> None:
    """SIGTERM, then SIGKILL if mosquitto has not exited in time."""
    if process.poll() is not None:
        return
    process.terminate()
    try:
        process.wait(timeout=STOP_TIMEOUT_SECONDS)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def stand_in_systemctl(folder: Path, exit_status: int = 0, answer: str = "") -> Path:
    """A folder holding a `systemctl` that appends its arguments to `calls` beside it, writes `answer`
    on stderr and exits with `exit_status`; put first on PATH, it stands in for systemd, which does
    not run in the tests' container (what a reload asks of it is checked, not the reload itself)."""
    folder.mkdir()
    program = folder / "systemctl"
    program.write_text(f"#!/bin/sh\necho \"$@\" >> '{folder}/calls'\necho '{answer}' >&2\nexit {exit_status}\n")
    program.chmod(0o755)
    return folder


# ------------------------------------------------------------------------------------ a client


@dataclass
class Session:
    """A connected MQTT v5 client whose network loop runs in a thread; the broker's answers and the
    messages it delivers are queued for the test to read. The clients speak MQTT v5, where the
    broker answers a refused publish with a reason code in its PUBACK instead of dropping it
    silently, so a refusal is seen rather than waited for."""

    client: Client
    connack: queue.Queue[ReasonCode] = field(default_factory=queue.Queue)
    pubacks: queue.Queue[tuple[int, ReasonCode]] = field(default_factory=queue.Queue)
    subacks: queue.Queue[list[ReasonCode]] = field(default_factory=queue.Queue)
    messages: queue.Queue[MQTTMessage] = field(default_factory=queue.Queue)

    def publish(self, topic: str, payload: bytes) -> ReasonCode:
        """Publishes at QoS 1 and returns the reason code of the broker's PUBACK."""
        sent = self.client.publish(topic, payload, qos=QOS_AT_LEAST_ONCE)
        mid, reason = self.pubacks.get(timeout=ANSWER_TIMEOUT_SECONDS)
        assert mid == sent.mid
        return reason

    def subscribe(self, topic: str) -> ReasonCode:
        """Subscribes at QoS 1 and returns the reason code of the broker's SUBACK."""
        self.client.subscribe(topic, qos=QOS_AT_LEAST_ONCE)
        (reason,) = self.subacks.get(timeout=ANSWER_TIMEOUT_SECONDS)
        return reason

    def next_message(self) -> MQTTMessage:
        return self.messages.get(timeout=ANSWER_TIMEOUT_SECONDS)


@contextmanager
def connected(
    broker: Broker,
    user: str,
    password: str,
    client_id: str | None = None,
    persistent: bool = False,
    protocol: MQTTProtocolVersion = MQTTProtocolVersion.MQTTv5,
) -> Iterator[Session]:
    """A session of `user` on `broker`; the test reads whether the broker admitted it from
    `session.connack`. A `persistent` session (its subscriptions and the QoS 1 messages queued for
    it) stays with the broker after the client leaves, and a client of the same `client_id` takes
    it up again: in MQTT v5 by a session expiry interval and clean start off, in 3.1.1 by clean
    session off."""
    v5 = protocol == MQTTProtocolVersion.MQTTv5
    client = Client(
        CallbackAPIVersion.VERSION2,
        client_id=client_id or f"{user}-{secrets.token_hex(4)}",
        protocol=protocol,
        clean_session=None if v5 else not persistent,
    )
    session = Session(client)
    client.username_pw_set(user, password)
    client.on_connect = lambda _client, _userdata, _flags, reason, _properties: session.connack.put(reason)
    client.on_publish = lambda _client, _userdata, mid, reason, _properties: session.pubacks.put((mid, reason))
    client.on_subscribe = lambda _client, _userdata, _mid, reasons, _properties: session.subacks.put(reasons)
    client.on_message = lambda _client, _userdata, message: session.messages.put(message)
    if v5:
        properties = Properties(PacketTypes.CONNECT)
        properties.SessionExpiryInterval = PERSISTENT_SESSION_EXPIRY_S if persistent else 0
        client.connect(broker.host, broker.port, clean_start=not persistent, properties=properties)
    else:
        client.connect(broker.host, broker.port)
    client.loop_start()
    try:
        yield session
    finally:
        client.disconnect()
        client.loop_stop()

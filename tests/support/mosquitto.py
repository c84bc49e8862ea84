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
import secrets
import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path

from energy_grid.chain.anvil import DEFAULT_CHAIN_ID, LOCAL_HOST, free_port
from energy_grid.chain.client import anvil_account
from energy_grid.services.broker import acl_text, mosquitto_program, write_password_file

START_TIMEOUT_SECONDS = 10.0
STOP_TIMEOUT_SECONDS = 5.0
POLL_SECONDS = 0.02
# A port picked free can be taken by another process before mosquitto binds it: so many picks are tried.
FREE_PORT_ATTEMPTS = 3
# What mosquitto logs once it has bound every listener, and when another process holds the port.
RUNNING_LINE = " running"
PORT_TAKEN_LINE = "Address already in use"

# The access-controlled broker's chain, meters (anvil dev accounts 3 and 4), gateway user and fleet
# user (the virtual meters, which publish every meter's signed readings).
MQTT_CHAIN_ID = DEFAULT_CHAIN_ID
MQTT_METERS = (anvil_account(3).address, anvil_account(4).address)
MQTT_GATEWAY_USER = "gateway"
MQTT_FLEET_USER = "fleet"


@dataclass(frozen=True)
class Broker:
    host: str
    port: int
    log_file: Path
    passwords: dict[str, str] = field(default_factory=dict)  # user name -> password


class BrokerStartError(RuntimeError):
    """mosquitto exited, or did not listen in time; the message names its log."""


def broker_config(allow_anonymous: bool, password_file: Path | None, acl_file: Path | None) -> str:
    """A mosquitto configuration but for its listener: nothing kept on disk, the log on stderr.
    Started as root, mosquitto would switch to the `mosquitto` user and could no longer read the
    files in the test's private folder, so it keeps the user that starts it."""
    lines = [
        f"allow_anonymous {'true' if allow_anonymous else 'false'}",
        "persistence false",
        "log_dest stderr",
        f"user {getpass.getuser()}",
    ]
    if password_file is not None:
        lines.append(f"password_file {password_file}")
    if acl_file is not None:
        lines.append(f"acl_file {acl_file}")
    return "\n".join(lines) + "\n"


@contextmanager
def mosquitto_broker(
    work_dir: Path,
    allow_anonymous: bool = False,
    password_file: Path | None = None,
    acl_file: Path | None = None,
) -> Iterator[Broker]:
    """A broker running in `work_dir` (its configuration and log are written there) for the
    duration of the block. Raises BrokerConfigError when mosquitto is not installed."""
    config = broker_config(allow_anonymous, password_file, acl_file)
    process, broker = _start(mosquitto_program("mosquitto"), work_dir, config)
    try:
        yield broker
    finally:
        _stop(process)


@contextmanager
def access_controlled_broker(work_dir: Path) -> Iterator[Broker]:
    """A broker that admits MQTT_GATEWAY_USER, MQTT_FLEET_USER and each of MQTT_METERS (a meter's user
    name is its address), each with a random password, under the ACL of MQTT_CHAIN_ID."""
    passwords = {user: secrets.token_urlsafe(16) for user in (MQTT_GATEWAY_USER, MQTT_FLEET_USER, *MQTT_METERS)}
    password_file = work_dir / "passwords"
    write_password_file(password_file, passwords)
    acl_file = work_dir / "acl"
    acl_file.write_text(acl_text(MQTT_CHAIN_ID, MQTT_METERS, MQTT_GATEWAY_USER, MQTT_FLEET_USER))
    with mosquitto_broker(work_dir, password_file=password_file, acl_file=acl_file) as broker:
        yield replace(broker, passwords=passwords)


def _start(program: str, work_dir: Path, config: str) -> tuple[subprocess.Popen[bytes], Broker]:
    """Starts mosquitto with `config` after its listener line, on a free port (picked again when
    another process took it first)."""
    attempts_left = FREE_PORT_ATTEMPTS
    config_file = work_dir / "mosquitto.conf"
    log_file = work_dir / "mosquitto.log"
    while True:
        port = free_port()
        config_file.write_text(f"listener {port} {LOCAL_HOST}\n{config}")
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
            return process, Broker(LOCAL_HOST, port, log_file)


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

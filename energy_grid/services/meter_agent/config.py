"""The meter agent's configuration file, TOML (read with Python's tomllib), as
`energy-grid meters provision` writes it:

    chain_id = 31337
    smart_meter = "0x…"            # SmartMeter's address: the EIP-712 domain the readings are signed for
    meter = "0x…"                  # the meter's registered address = the device key's address
    keystore = "meter-key.json"    # the device key, an encrypted Ethereum keystore
    outbox = "meter-outbox.sqlite" # readings signed and not yet answered, kept across restarts
    interval_s = 900               # one reading at the end of each market interval of the chain's clock

    [broker]
    address = "127.0.0.1:1883"     # HOST:PORT
    user = "0x…"                   # the meter's checksum address (its broker user)

    [source]
    kind = "dsmr"                  # "dsmr", "sunspec" or "json", and that source's fields

Relative paths are relative to the file's folder. No secret sits in the file: the keystore's
password comes from ENERGY_GRID_KEYSTORE_PASSWORD, the broker's from ENERGY_GRID_BROKER_PASSWORD.
Every mistake is a ConfigError of one sentence that names the field. Provisioning writes the file
(`write_agent_config`) with the `[source]` table left for the household to fill (a commented example
of each kind), and keeps what the household wrote there when it writes the file again.
"""

from __future__ import annotations

import os
import re
import tomllib
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from eth_utils import is_address, is_checksum_address, is_checksum_formatted_address, to_checksum_address

from energy_grid.chain.accounts import KEYSTORE_PASSWORD_ENV
from energy_grid.domain.units import INTERVAL_SECONDS
from energy_grid.services.meter_agent.sources.base import MeterSource
from energy_grid.services.meter_agent.sources.dsmr import VERSIONS, DsmrSource
from energy_grid.services.meter_agent.sources.json_topic import DEFAULT_MAX_AGE_S, JsonTopicSource, field_mappings
from energy_grid.services.meter_agent.sources.sunspec import SunSpecSource
from energy_grid.services.mqtt import BROKER_PASSWORD_ENV, BrokerSettings

SOURCE_KINDS = ("dsmr", "sunspec", "json")
MODBUS_TCP_PORT = 502
MAX_PORT = 65_535
MAX_MODBUS_UNIT = 247
# The password of a JSON source's own broker, when it is another than the community's.
SOURCE_BROKER_PASSWORD_ENV = "ENERGY_GRID_SOURCE_BROKER_PASSWORD"


class ConfigError(ValueError):
    """The configuration cannot be used; the message says what to change, in one sentence."""


@dataclass(frozen=True)
class AgentConfig:
    path: Path
    chain_id: int
    smart_meter: str
    meter: str
    keystore: Path
    outbox: Path
    interval_s: int
    broker: BrokerSettings
    source: Mapping[str, Any]  # the [source] table, checked; build_source makes the source of it


def load_config(path: Path, environ: Mapping[str, str]) -> AgentConfig:
    """The configuration in the TOML file `path`; ConfigError when it is missing or a field is wrong."""
    try:
        table = tomllib.loads(path.read_text())
    except FileNotFoundError:
        raise ConfigError(f"No configuration file at {path}: `energy-grid meters provision` writes one.") from None
    except (OSError, UnicodeDecodeError) as err:
        raise ConfigError(f"Cannot read the configuration {path}: {err}.") from None
    except tomllib.TOMLDecodeError as err:
        raise ConfigError(f"The configuration {path} is not TOML: {err}.") from None
    folder = path.resolve().parent
    fields = Fields(table, str(path))
    broker = Fields(fields.table("broker"), f"{path} [broker]")
    source = Fields(fields.table("source"), f"{path} [source]")
    try:
        broker_settings = BrokerSettings.parse(broker.text("address"), broker.text("user", ""), environ.get(BROKER_PASSWORD_ENV))
    except ValueError as err:
        raise ConfigError(f"{path} [broker] address: {err}.") from None
    config = AgentConfig(
        path=path,
        chain_id=fields.whole("chain_id", minimum=1),
        smart_meter=fields.address("smart_meter"),
        meter=fields.address("meter"),
        keystore=folder / fields.text("keystore"),
        outbox=folder / fields.text("outbox"),
        interval_s=fields.whole("interval_s", minimum=1),
        broker=broker_settings,
        source=source.values,
    )
    build_source(config, environ)  # every field of the source checked now, not at its first read
    return config


def build_source(config: AgentConfig, environ: Mapping[str, str]) -> MeterSource:
    """The source the [source] table describes (not yet started)."""
    fields = Fields(config.source, f"{config.path} [source]")
    kind = fields.text("kind")
    if kind == "dsmr":
        url = fields.text("url", "")
        port = fields.text("port", "")
        if bool(url) == bool(port):
            raise ConfigError(f'{fields.where} needs one of port = "/dev/ttyUSB0" (serial) or url = "socket://host:port" (a bridge).')
        version = fields.text("version", "5")
        if version not in VERSIONS:
            raise ConfigError(f"{fields.where} version {version!r} is not a DSMR version: give one of {', '.join(VERSIONS)}.")
        return DsmrSource(url or port, version)
    if kind == "sunspec":
        host = fields.text("host")
        return SunSpecSource(host, fields.whole("port", MODBUS_TCP_PORT, 1, MAX_PORT), fields.whole("unit", 1, 0, MAX_MODBUS_UNIT))
    if kind == "json":
        topic = fields.text("topic")
        if any(wildcard in topic for wildcard in "+#"):
            raise ConfigError(f"{fields.where} topic {topic!r} must name one topic, without the wildcards + and #.")
        try:
            mappings = field_mappings(config.source.get("fields"))
        except ValueError as err:
            raise ConfigError(f"{config.path}: {err}.") from None
        broker = config.broker
        if "broker" in config.source:
            try:
                broker = BrokerSettings.parse(fields.text("broker"), fields.text("user", ""), environ.get(SOURCE_BROKER_PASSWORD_ENV))
            except ValueError as err:
                raise ConfigError(f"{fields.where} broker: {err}.") from None
        max_age_s = fields.whole("max_age_s", int(DEFAULT_MAX_AGE_S), 1)
        return JsonTopicSource(broker, topic, mappings, max_age_s)
    raise ConfigError(f"{fields.where} kind {kind!r} is not a source: give one of {', '.join(SOURCE_KINDS)}.")


class Fields:
    """One table of the file, read field by field, each mistake named."""

    MISSING = object()

    def __init__(self, values: Mapping[str, Any], where: str) -> None:
        self.values = values
        self.where = where

    def _get(self, name: str, default: Any) -> Any:
        value = self.values.get(name, default)
        if value is Fields.MISSING:
            raise ConfigError(f"{self.where} lacks the field {name}.")
        return value

    def table(self, name: str) -> Mapping[str, Any]:
        value = self._get(name, Fields.MISSING)
        if not isinstance(value, dict):
            raise ConfigError(f"{self.where} field {name} must be a table ([{name}]).")
        return value

    def text(self, name: str, default: Any = MISSING) -> str:
        value = self._get(name, default)
        if not isinstance(value, str) or (not value and default is Fields.MISSING):
            raise ConfigError(f'{self.where} field {name} must be text in quotes ("…"), not {value!r}.')
        return value

    def whole(self, name: str, default: Any = MISSING, minimum: int = 0, maximum: int | None = None) -> int:
        value = self._get(name, default)
        if isinstance(value, bool) or not isinstance(value, int) or value < minimum or (maximum is not None and value > maximum):
            upper = "" if maximum is None else f" to {maximum:,}"
            raise ConfigError(f"{self.where} field {name} must be a whole number from {minimum:,}{upper}, not {value!r}.")
        return value

    def address(self, name: str) -> str:
        value = self.text(name)
        if not is_address(value) or (is_checksum_formatted_address(value) and not is_checksum_address(value)):
            raise ConfigError(f"{self.where} field {name} {value!r} is not an address (0x and 40 hex digits, with a right checksum).")
        return str(to_checksum_address(value))


# ------------------------------------------------------------------------------------ writing it

AGENT_KEYSTORE = "meter-key.json"
AGENT_OUTBOX = "meter-outbox.sqlite"
COMMENT_COLUMN = 31  # a value's comment starts here, as in the format's description
SOURCE_TABLE = re.compile(r"^\[source\][ \t]*(#.*)?$", re.MULTILINE)

SOURCE_TEMPLATE = """\
[source]
# Where the meter agent reads the meter: uncomment one kind and set its values.
#
# A DSMR smart meter's P1 port, on a serial port or through a TCP serial bridge such as ser2net:
# kind = "dsmr"
# port = "/dev/ttyUSB0"          # or url = "socket://192.168.1.30:2001"
# version = "5"                  # or "4", "2.2", "5B", "5L", …: dsmr-parser's telegram specifications
#
# An inverter or meter speaking SunSpec over Modbus TCP:
# kind = "sunspec"
# host = "192.168.1.20"
# port = 502
# unit = 1
#
# A device that publishes JSON over MQTT (a smart plug, a Tasmota or Shelly meter): for each
# register, the dotted path in the message and its unit.
# kind = "json"
# topic = "tele/plug/SENSOR"
# [source.fields]
# import = {path = "ENERGY.Total", unit = "kWh"}
# export = {path = "ENERGY.Exported", unit = "kWh"}     # optional
# voltage = {path = "ENERGY.Voltage", unit = "V"}       # optional
"""


@dataclass(frozen=True)
class ProvisionedConfig:
    """What provisioning writes of the configuration: everything but the secrets and the source."""

    chain_id: int
    smart_meter: str  # SmartMeter's checksum address
    meter: str  # the meter's checksum address: its device key's, and its broker user
    keystore: str  # the device key's file, relative to the configuration's folder or absolute
    broker: str  # HOST:PORT
    outbox: str = AGENT_OUTBOX
    interval_s: int = INTERVAL_SECONDS

    def text(self) -> str:
        """The whole file: these settings, then the `[source]` table for the household to fill."""
        return self.settings_text() + "\n" + SOURCE_TEMPLATE

    def settings_text(self) -> str:
        """The file up to its `[source]` table."""
        lines = [
            "# The meter agent's configuration: energy-grid meter-agent --config FILE. Written by `energy-grid meters",
            f"# provision`. Its secrets are not here: the keystore's password comes from {KEYSTORE_PASSWORD_ENV},",
            f"# the broker password from {BROKER_PASSWORD_ENV}. Relative paths are relative to this file's folder.",
            "",
            _line(f"chain_id = {self.chain_id}", "the chain SmartMeter is on"),
            _line(f"smart_meter = {_string(self.smart_meter)}", "SmartMeter's address: the EIP-712 domain the readings are signed for"),
            _line(f"meter = {_string(self.meter)}", "the meter's registered address = the device key's address"),
            _line(f"keystore = {_string(self.keystore)}", "the device key, an encrypted Ethereum keystore (eth-account's format)"),
            _line(f"outbox = {_string(self.outbox)}", "readings signed and not yet answered, kept across restarts"),
            _line(f"interval_s = {self.interval_s}", "one reading at the end of each market interval of the chain's clock"),
            "",
            "[broker]",
            _line(f"address = {_string(self.broker)}", "HOST:PORT"),
            _line(f"user = {_string(self.meter)}", "the meter's checksum address (its broker user)"),
        ]
        return "\n".join(lines) + "\n"


def write_agent_config(path: Path, config: ProvisionedConfig) -> bool:
    """Writes the configuration to `path`; a file there already keeps its `[source]` table and
    everything after it, as the household wrote it. The file is replaced in one step (written
    beside it, on disk, then renamed over it). Returns False, writing nothing, when the file already
    holds exactly this."""
    try:
        current: str | None = path.read_text()
    except FileNotFoundError:
        current = None
    source = SOURCE_TABLE.search(current) if current is not None else None
    text = config.settings_text() + "\n" + (current[source.start() :] if current is not None and source else SOURCE_TEMPLATE)
    if text == current:
        return False
    draft = path.with_name(f".{path.name}.draft")
    with draft.open("w") as file:
        file.write(text)
        file.flush()
        os.fsync(file.fileno())
    if current is not None:
        draft.chmod(path.stat().st_mode & 0o7777)
    draft.replace(path)
    return True


def path_from(folder: Path, target: Path) -> str:
    """`target` as the configuration in `folder` names it: relative to that folder (both resolved)."""
    return os.path.relpath(target.resolve(), folder.resolve())


def _line(assignment: str, comment: str) -> str:
    return f"{assignment:<{COMMENT_COLUMN - 1}} # {comment}"


def _string(value: str) -> str:
    """A TOML basic string: quotes, backslashes and control characters escaped."""
    escaped = []
    for character in value:
        if character in '"\\':
            escaped.append("\\" + character)
        elif unicodedata.category(character) == "Cc":
            escaped.append(f"\\u{ord(character):04x}")
        else:
            escaped.append(character)
    return '"' + "".join(escaped) + '"'

"""The meter agent's configuration file, as `energy-grid meters provision` writes it for a household's meter.

`energy-grid meter-agent --config meter-agent.toml` reads a TOML file of this form (Python's
`tomllib`); relative paths in it are relative to the file's folder:

    chain_id = 31337
    smart_meter = "0x…"            # SmartMeter's address: the EIP-712 domain the readings are signed for
    meter = "0x…"                  # the meter's registered address = the device key's address
    keystore = "meter-key.json"    # the device key, an encrypted Ethereum keystore (eth-account's format)
    outbox = "meter-outbox.sqlite" # readings signed and not yet answered, kept across restarts
    interval_s = 900               # one reading at the end of each market interval of the chain's clock

    [broker]
    address = "127.0.0.1:1883"     # HOST:PORT
    user = "0x…"                   # the meter's checksum address (its broker user)

    [source]
    kind = "dsmr"                  # "dsmr", "sunspec" or "json", and that kind's settings

Secrets never sit in it: the keystore's password comes from ENERGY_GRID_KEYSTORE_PASSWORD, the
broker password from ENERGY_GRID_BROKER_PASSWORD. Provisioning leaves the `[source]` table for the
household to fill (a commented example of each kind), and keeps what the household wrote there
when it writes the file again.
"""

from __future__ import annotations

import os
import re
import unicodedata
from dataclasses import dataclass
from pathlib import Path

from energy_grid.chain.accounts import KEYSTORE_PASSWORD_ENV
from energy_grid.domain.units import INTERVAL_SECONDS
from energy_grid.services.mqtt import BROKER_PASSWORD_ENV

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
class AgentConfig:
    """What the meter agent needs besides its two secrets and its source."""

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


def write_agent_config(path: Path, config: AgentConfig) -> bool:
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

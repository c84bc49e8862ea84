"""A JSON energy topic, as Tasmota, Shelly and Home Assistant publish one over MQTT: the agent
subscribes to it and reads its registers out of the latest message by a mapping of dotted field
paths, each with its unit.

    Tasmota, tele/<device>/SENSOR:
      {"Time": "2025-06-01T12:15:00", "ENERGY": {"Total": 12.345, "Yesterday": 1.2, "Voltage": 231, ...}}
    mapping: import = ENERGY.Total in kWh, voltage = ENERGY.Voltage in V

A path is the keys from the message's top down, joined by dots; a number picks an item of a list
(`ENERGY.Voltage.0`, the first phase of a three-phase Tasmota). Import is required; export, voltage
and frequency are optional (export then stays 0, the others nominal). Energy is in kWh or Wh,
voltage in V, frequency in Hz. A message that is not JSON, lacks a mapped field or holds something
other than a number there gives no reading (one log line); so does a topic silent for longer than
`max_age_s` of the wall's clock (the device is off).
"""

from __future__ import annotations

import json
import secrets
import threading
import time
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from energy_grid.services.meter_agent.sources.base import (
    Registers,
    SourceError,
    decimal_of,
    millihz_of_hz,
    per_mille_of_volts,
    wh_of,
)
from energy_grid.services.mqtt import BrokerSettings, MqttLink

# The registers a mapping may name, and the units each may be given in.
FIELD_UNITS = {"import": ("kWh", "Wh"), "export": ("kWh", "Wh"), "voltage": ("V",), "frequency": ("Hz",)}
REQUIRED_FIELDS = ("import",)
DEFAULT_MAX_AGE_S = 900.0


@dataclass(frozen=True)
class FieldMapping:
    path: str
    unit: str


class JsonTopicSource:
    """The latest message on `topic` of the broker `broker`, read through `fields`."""

    def __init__(self, broker: BrokerSettings, topic: str, fields: dict[str, FieldMapping], max_age_s: float = DEFAULT_MAX_AGE_S) -> None:
        self.topic = topic
        self.fields = fields
        self.max_age_s = max_age_s
        self.broker = broker
        self._lock = threading.Lock()
        self._latest: tuple[bytes, float] | None = None  # the payload and when it came (monotonic)
        self.link = MqttLink(broker, f"energy-grid-meter-source-{secrets.token_hex(4)}", [topic], self.take)

    def describe(self) -> str:
        return f"JSON topic {self.topic} on {self.broker.address}"

    def start(self) -> None:
        """Connects to the broker; ServiceError, one sentence, when it refuses."""
        self.link.connect()

    def take(self, topic: str, payload: bytes) -> None:
        """A message on the topic (on the MQTT client's thread): kept until the next one."""
        with self._lock:
            self._latest = (payload, time.monotonic())

    def read(self, timeout_s: float) -> Registers:
        deadline = time.monotonic() + timeout_s
        while True:
            with self._lock:
                latest = self._latest
            if latest is not None or time.monotonic() >= deadline:
                break
            time.sleep(min(0.05, timeout_s))
        if latest is None:
            raise SourceError(f"no message on {self.topic} yet")
        payload, received_at = latest
        age_s = time.monotonic() - received_at
        if age_s > self.max_age_s:
            raise SourceError(f"the latest message on {self.topic} is {age_s:.0f} s old (at most {self.max_age_s:g} s): is the device on?")
        return registers_of_message(payload, self.fields)

    def close(self) -> None:
        self.link.close()


def registers_of_message(payload: bytes, fields: dict[str, FieldMapping]) -> Registers:
    """The registers `fields` map in one message; SourceError naming the field when one is missing
    or not a number."""
    try:
        message = json.loads(payload)
    except (UnicodeDecodeError, ValueError, RecursionError):
        raise SourceError(f"the message is not JSON: {payload[:80]!r}") from None

    def value(name: str) -> Decimal | None:
        mapping = fields.get(name)
        if mapping is None:
            return None
        return decimal_of(field_at(message, mapping.path), f"field {mapping.path}")

    import_value, export_value = value("import"), value("export")
    voltage, frequency = value("voltage"), value("frequency")
    if import_value is None:
        raise SourceError("the mapping names no import field")
    return Registers(
        import_wh=wh_of(import_value, fields["import"].unit),
        export_wh=0 if export_value is None else wh_of(export_value, fields["export"].unit),
        voltage_per_mille=None if voltage is None else per_mille_of_volts(voltage),
        frequency_millihz=None if frequency is None else millihz_of_hz(frequency),
    )


def field_at(message: Any, path: str) -> Any:
    """The value at the dotted `path` of `message`; SourceError naming the first step that is missing."""
    value = message
    for depth, key in enumerate(path.split(".")):
        if isinstance(value, dict) and key in value:
            value = value[key]
        elif isinstance(value, list) and key.isdigit() and int(key) < len(value):
            value = value[int(key)]
        else:
            raise SourceError(f"the message has no field {'.'.join(path.split('.')[: depth + 1])}")
    return value


def field_mappings(table: Any) -> dict[str, FieldMapping]:
    """The [source.fields] table of the configuration as mappings; ValueError with a sentence when a
    field, a path or a unit is not one the source knows."""
    if not isinstance(table, dict):
        raise ValueError("[source.fields] must be a table naming each register's path and unit")
    mappings = {}
    for name, entry in table.items():
        units = FIELD_UNITS.get(name)
        if units is None:
            raise ValueError(f"[source.fields] names {name!r}: the registers are {', '.join(FIELD_UNITS)}")
        if not isinstance(entry, dict) or not isinstance(entry.get("path"), str) or not entry["path"] or set(entry) - {"path", "unit"}:
            raise ValueError(f'[source.fields] {name} must be {{path = "A.B", unit = "{units[0]}"}}')
        unit = entry.get("unit", units[0])
        if unit not in units:
            raise ValueError(f"[source.fields] {name} is in {unit!r}: give one of {', '.join(units)}")
        mappings[name] = FieldMapping(entry["path"], unit)
    missing = [name for name in REQUIRED_FIELDS if name not in mappings]
    if missing:
        raise ValueError(f"[source.fields] must name {', '.join(missing)}")
    return mappings


__all__ = ["FIELD_UNITS", "FieldMapping", "JsonTopicSource", "field_mappings", "registers_of_message"]

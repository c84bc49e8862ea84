"""A DSMR smart meter's P1 port (the Netherlands, Belgium, Luxembourg, Sweden, …), read with
dsmr-parser: a serial device (a P1 cable, /dev/ttyUSB0) or a TCP serial bridge (ser2net,
`socket://host:port`).

The meter sends a telegram every second (DSMR 5) or ten (DSMR 4): a header line `/XXX5…`, one line
per OBIS register, and `!` with a CRC-16 of everything from `/` to `!`. Each `read` opens the port,
takes the first whole telegram, checks its CRC (dsmr-parser's TelegramParser) and closes the port:
a reading a quarter of an hour holds no port open, and a bridge that dropped its connection is
simply opened again next time. Import is the sum of the two tariff registers delivered to the client
(1-0:1.8.1 + 1-0:1.8.2), export the sum of those delivered by the client (1-0:2.8.1 + 1-0:2.8.2), in
kWh with three decimals, hence whole Wh exactly; the voltage of phase L1 (1-0:32.7.0) where the
telegram has it (DSMR 5). A DSMR telegram carries no grid frequency.
"""

from __future__ import annotations

import logging
import time
from decimal import Decimal
from typing import Any

import serialx
from dsmr_parser import obis_references as obis
from dsmr_parser import telegram_specifications as specs
from dsmr_parser.clients.settings import SERIAL_SETTINGS_V2_2, SERIAL_SETTINGS_V4, SERIAL_SETTINGS_V5
from dsmr_parser.clients.telegram_buffer import TelegramBuffer
from dsmr_parser.exceptions import InvalidChecksumError, ParseError
from dsmr_parser.parsers import TelegramParser

from energy_grid.services.meter_agent.sources.base import Registers, SourceError, decimal_of, per_mille_of_volts, wh_of

# dsmr-parser's telegram specifications and serial settings by the version names its own readers take.
VERSIONS: dict[str, tuple[dict[str, Any], dict[str, Any]]] = {
    "2.2": (specs.V2_2, SERIAL_SETTINGS_V2_2),
    "4": (specs.V4, SERIAL_SETTINGS_V4),
    "4+": (specs.V5, SERIAL_SETTINGS_V4),
    "5": (specs.V5, SERIAL_SETTINGS_V5),
    "5B": (specs.BELGIUM_FLUVIUS, SERIAL_SETTINGS_V5),
    "5L": (specs.LUXEMBOURG_SMARTY, SERIAL_SETTINGS_V5),
    "5S": (specs.SWEDEN, SERIAL_SETTINGS_V5),
    "Q3D": (specs.Q3D, SERIAL_SETTINGS_V5),
}
IMPORT_REGISTERS = (obis.ELECTRICITY_USED_TARIFF_1, obis.ELECTRICITY_USED_TARIFF_2)
EXPORT_REGISTERS = (obis.ELECTRICITY_DELIVERED_TARIFF_1, obis.ELECTRICITY_DELIVERED_TARIFF_2)
CHUNK_BYTES = 1_024
# dsmr-parser logs a line it cannot parse with its traceback before raising: the agent's own line
# says it once, in the household's words.
logging.getLogger("dsmr_parser").setLevel(logging.CRITICAL)
CONNECT_TIMEOUT_S = 5.0


class DsmrSource:
    """The P1 port at `url`: a device path (/dev/ttyUSB0) or `socket://host:port`."""

    def __init__(self, url: str, version: str = "5") -> None:
        if version not in VERSIONS:
            raise ValueError(f"DSMR version {version!r} is not one of {', '.join(VERSIONS)}")
        self.url = url
        self.version = version
        specification, settings = VERSIONS[version]
        self.parser = TelegramParser(specification)
        self.settings = {name: value for name, value in settings.items() if name != "timeout"}
        if url.startswith(("socket://", "tcp://")):
            self.settings["connect_timeout"] = CONNECT_TIMEOUT_S

    def describe(self) -> str:
        return f"DSMR {self.version} P1 port at {self.url}"

    def read(self, timeout_s: float) -> Registers:
        return registers_of_telegram(self.parser, self.telegram(timeout_s))

    def telegram(self, timeout_s: float) -> str:
        """The first whole telegram the port sends within `timeout_s`."""
        deadline = time.monotonic() + timeout_s
        buffer = TelegramBuffer()
        chunk = bytearray(CHUNK_BYTES)
        try:
            with serialx.serial_for_url(self.url, **self.settings) as port:
                while (left_s := deadline - time.monotonic()) > 0:
                    count = port.readinto(chunk, timeout=left_s)
                    # P1 telegrams are ASCII; a byte that is not (line noise) fails the CRC later.
                    buffer.append(bytes(chunk[:count]).decode("ascii", errors="replace"))
                    for telegram in buffer.get_all():
                        return str(telegram)
        except (OSError, serialx.SerialException, ValueError) as err:
            raise SourceError(f"cannot read the P1 port at {self.url}: {err}") from None
        raise SourceError(f"no whole telegram from the P1 port at {self.url} within {timeout_s:g} s")

    def start(self) -> None:
        return None  # the port is opened at each read

    def close(self) -> None:
        return None


def registers_of_telegram(parser: TelegramParser, telegram: str) -> Registers:
    """The registers of one telegram, its CRC checked; SourceError when it fails the check or lacks
    a register."""
    try:
        parsed = parser.parse(telegram, throw_ex=True)
    except InvalidChecksumError as err:
        raise SourceError(f"a telegram failed its CRC check ({err})") from None
    except ParseError as err:
        raise SourceError(f"a telegram could not be read: {err}") from None

    def value(reference: str) -> Decimal:
        register = parsed.get(reference)
        if register is None:
            raise SourceError(f"the telegram has no register {reference_name(reference)}")
        if str(register.unit) != "kWh":
            raise SourceError(f"register {reference_name(reference)} is in {register.unit!r}, not kWh")
        return decimal_of(register.value, reference_name(reference))

    import_wh = sum(wh_of(value(reference), "kWh") for reference in IMPORT_REGISTERS)
    export_wh = sum(wh_of(value(reference), "kWh") for reference in EXPORT_REGISTERS)
    voltage = parsed.get(obis.INSTANTANEOUS_VOLTAGE_L1)
    voltage_per_mille = None if voltage is None else per_mille_of_volts(decimal_of(voltage.value, "the voltage of L1"))
    return Registers(import_wh, export_wh, voltage_per_mille=voltage_per_mille)


def reference_name(reference: str) -> str:
    """An OBIS reference as a meter's display shows it (1-0:1.8.1), from dsmr-parser's pattern."""
    return "1-0:" + reference.removeprefix(r"^\d-\d:").split(".+?")[0].replace("\\", "")


__all__ = ["VERSIONS", "DsmrSource", "registers_of_telegram"]

"""A solar inverter that speaks SunSpec over Modbus TCP (SMA, Fronius, SolarEdge, Huawei's SUN2000
with its SunSpec option, …), read with pymodbus as a client.

SunSpec lays an inverter's holding registers out as a chain of models: the marker "SunS" (0x5375
0x6E53) at the base address (40000 by convention, some devices 0 or 50000), then model after model,
each a header of two registers (model id, length L of its body) and L registers of body, and an end
model 0xFFFF. The agent walks the chain to the common model (id 1) and the first integer inverter
model: 101 (single phase), 102 (split phase) or 103 (three phase). Offsets in the inverter model's
body, from the SunSpec Information Model Reference's "Inverter (Single Phase)", "(Split Phase)" and
"(Three Phase)" models, which share them:

    PhVphA (uint16, V)        offset 8       V_SF (sunssf)   offset 11
    Hz (uint16, Hz)           offset 14      Hz_SF (sunssf)  offset 15
    WH (acc32, Wh, lifetime)  offsets 22-23  WH_SF (sunssf)  offset 24

A value is its register times ten to the power of its scale factor (a signed int16). A register
0xFFFF (uint16) or a scale factor 0x8000 means "not implemented": that figure is then left to the
nominal. An inverter only feeds energy into the grid: its lifetime energy is the export register,
and import stays 0.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from decimal import Decimal

from pymodbus.client import ModbusTcpClient
from pymodbus.exceptions import ModbusException

from energy_grid.services.meter_agent.sources.base import Registers, SourceError, millihz_of_hz, per_mille_of_volts, wh_of

SUNSPEC_MARKER = (0x5375, 0x6E53)  # "SunS"
BASE_ADDRESSES = (40_000, 0, 50_000)
COMMON_MODEL = 1
INVERTER_MODELS = (101, 102, 103)
END_MODEL = 0xFFFF
NOT_IMPLEMENTED_UINT16 = 0xFFFF
NOT_IMPLEMENTED_SCALE = 0x8000
MAX_MODELS = 64  # a chain longer than any device's is a register map that is not SunSpec
MAX_REGISTERS_PER_READ = 125  # Modbus's limit for one read of holding registers
# Offsets in the body of inverter models 101, 102 and 103.
PHVPHA, V_SF = 8, 11
HZ, HZ_SF = 14, 15
WH, WH_SF = 22, 24
INVERTER_BODY_READ = WH_SF + 1

# pymodbus logs every request it got no answer to, with its bytes, as an error: the agent's own line
# says it once, in the household's words.
logging.getLogger("pymodbus").setLevel(logging.CRITICAL)


@dataclass(frozen=True)
class InverterModel:
    model_id: int
    body_address: int  # the first register after the model's header


class SunSpecSource:
    """The SunSpec inverter at `host`:`port`, Modbus unit (device id) `unit`."""

    def __init__(self, host: str, port: int = 502, unit: int = 1) -> None:
        self.host = host
        self.port = port
        self.unit = unit
        self._model: InverterModel | None = None  # found once; looked for again after a failure

    def describe(self) -> str:
        return f"SunSpec inverter at {self.host}:{self.port} (unit {self.unit})"

    def read(self, timeout_s: float) -> Registers:
        client = ModbusTcpClient(self.host, port=self.port, timeout=timeout_s, retries=0, reconnect_delay=0)
        try:
            if not client.connect():
                raise SourceError(f"the inverter at {self.host}:{self.port} does not answer (no Modbus TCP connection)")
            if self._model is None:
                self._model = self._find_inverter_model(client)
            body = self._registers(client, self._model.body_address, INVERTER_BODY_READ)
        except SourceError:
            self._model = None
            raise
        finally:
            client.close()
        return registers_of_inverter(body)

    def start(self) -> None:
        return None  # the connection is made at each read

    def close(self) -> None:
        return None

    def _registers(self, client: ModbusTcpClient, address: int, count: int) -> list[int]:
        try:
            answer = client.read_holding_registers(address, count=count, device_id=self.unit)
        except ModbusException as err:
            raise SourceError(f"the inverter at {self.host}:{self.port} did not answer in time: {err}") from None
        if answer.isError():
            last = address + count - 1
            raise SourceError(f"the inverter at {self.host}:{self.port} refused to read registers {address}-{last}: {answer}")
        return list(answer.registers)

    def _find_inverter_model(self, client: ModbusTcpClient) -> InverterModel:
        """Walks the model chain from the first base address that holds "SunS"."""
        for base in BASE_ADDRESSES:
            try:
                marker = self._registers(client, base, 2)
            except SourceError:
                if not client.connected:
                    raise
                continue  # an address the device does not have: the next base
            if tuple(marker) != SUNSPEC_MARKER:
                continue
            address = base + 2
            for _ in range(MAX_MODELS):
                model_id, length = self._registers(client, address, 2)
                if model_id == END_MODEL:
                    break
                if model_id in INVERTER_MODELS:
                    if length < INVERTER_BODY_READ:
                        raise SourceError(f"inverter model {model_id} at register {address} is {length} registers long, too short")
                    return InverterModel(model_id, address + 2)
                address += 2 + length
            raise SourceError(f"the SunSpec device at {self.host}:{self.port} has no inverter model (101, 102 or 103)")
        raise SourceError(f"no SunSpec marker \"SunS\" at registers {', '.join(map(str, BASE_ADDRESSES))} of {self.host}:{self.port}")


def registers_of_inverter(body: list[int]) -> Registers:
    """The registers of an inverter model's body (its first INVERTER_BODY_READ registers)."""
    lifetime_wh = scaled((body[WH] << 16) | body[WH + 1], body[WH_SF])
    if lifetime_wh is None:
        raise SourceError("the inverter does not give its lifetime energy (WH_SF not implemented)")
    voltage = scaled(body[PHVPHA], body[V_SF], unsigned_16=True)
    frequency = scaled(body[HZ], body[HZ_SF], unsigned_16=True)
    return Registers(
        import_wh=0,
        export_wh=wh_of(lifetime_wh, "Wh"),
        voltage_per_mille=None if voltage is None else per_mille_of_volts(voltage),
        frequency_millihz=None if frequency is None else millihz_of_hz(frequency),
    )


def scaled(value: int, scale_factor: int, unsigned_16: bool = False) -> Decimal | None:
    """`value` × 10^scale factor (a sunssf, int16); None when either is "not implemented"."""
    if scale_factor == NOT_IMPLEMENTED_SCALE or (unsigned_16 and value == NOT_IMPLEMENTED_UINT16):
        return None
    exponent = scale_factor - 0x10000 if scale_factor & 0x8000 else scale_factor
    return Decimal(value).scaleb(exponent)


__all__ = ["BASE_ADDRESSES", "INVERTER_MODELS", "SUNSPEC_MARKER", "SunSpecSource", "registers_of_inverter"]

"""Meters for the meter agent's tests, each speaking its real protocol on 127.0.0.1: a DSMR P1 port
behind a TCP serial bridge (as ser2net serves one), a SunSpec inverter served by pymodbus's own
Modbus TCP server, and the CRC-16 the DSMR standard puts at a telegram's end.

Each server binds port 0, so the system gives it a free port, and is stopped by the test that
started it.
"""

from __future__ import annotations

import asyncio
import json
import socket
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import cast

from pymodbus.datastore import ModbusDeviceContext, ModbusSequentialDataBlock, ModbusServerContext
from pymodbus.server import ModbusTcpServer

from energy_grid.chain.anvil import LOCAL_HOST
from energy_grid.services.meter_agent.config import SOURCE_TEMPLATE, ProvisionedConfig

SAMPLES = Path(__file__).resolve().parent.parent / "data" / "meters"
TELEGRAM_PERIOD_S = 0.1  # a DSMR 5 meter sends a telegram every second; the tests' meters are quicker


def crc16_arc(data: bytes) -> int:
    """CRC-16/ARC (polynomial 0x8005 reflected, initial value 0), which DSMR 4 and 5 put after `!`
    over the telegram from `/` to `!` inclusive."""
    crc = 0
    for byte in data:
        crc ^= byte
        for _ in range(8):
            crc = (crc >> 1) ^ 0xA001 if crc & 1 else crc >> 1
    return crc


def with_crc(lines: list[str]) -> bytes:
    """A telegram of `lines` (the header first), CR LF line ends, `!` and its CRC."""
    body = "\r\n".join(lines) + "\r\n!"
    return (body + f"{crc16_arc(body.encode()):04X}\r\n").encode()


def kwh(register_wh: int) -> str:
    """A register as a P1 line writes it: kWh, ten digits with three decimals."""
    return f"{register_wh // 1000:06d}.{register_wh % 1000:03d}*kWh"


def dsmr5_telegram(import_wh: tuple[int, int], export_wh: tuple[int, int], voltage_v: str = "231.0") -> bytes:
    """A DSMR 5.0 telegram with the two tariffs' registers each way and the voltage of L1."""
    return with_crc([
        "/ISK5\\2M550E-1012", "",
        "1-3:0.2.8(50)",
        "0-0:1.0.0(250601121500S)",
        "0-0:96.1.1(4530303433303036393938313438353139)",
        f"1-0:1.8.1({kwh(import_wh[0])})",
        f"1-0:1.8.2({kwh(import_wh[1])})",
        f"1-0:2.8.1({kwh(export_wh[0])})",
        f"1-0:2.8.2({kwh(export_wh[1])})",
        "0-0:96.14.0(0002)",
        "1-0:1.7.0(00.412*kW)",
        "1-0:2.7.0(00.000*kW)",
        f"1-0:32.7.0({voltage_v}*V)",
        "1-0:31.7.0(002*A)",
    ])  # fmt: skip


@dataclass
class P1Bridge:
    """A TCP serial bridge in front of a P1 port: every client gets the meter's stream, starting in
    the middle of a telegram as a real port's does, then the current telegram every period."""

    port: int
    telegram: bytes
    _stop: threading.Event = field(default_factory=threading.Event)

    @property
    def url(self) -> str:
        return f"socket://{LOCAL_HOST}:{self.port}"

    def serve(self, connection: socket.socket) -> None:
        with connection:
            try:
                connection.sendall(self.telegram[len(self.telegram) // 2 :])
                while not self._stop.wait(TELEGRAM_PERIOD_S):
                    connection.sendall(self.telegram)
            except OSError:
                return  # the reader closed its end


@contextmanager
def p1_bridge(telegram: bytes) -> Iterator[P1Bridge]:
    listener = socket.create_server((LOCAL_HOST, 0))
    bridge = P1Bridge(listener.getsockname()[1], telegram)

    def accept() -> None:
        while not bridge._stop.is_set():
            try:
                connection, _ = listener.accept()
            except OSError:
                return
            threading.Thread(target=bridge.serve, args=(connection,), daemon=True).start()

    threading.Thread(target=accept, daemon=True).start()
    try:
        yield bridge
    finally:
        bridge._stop.set()
        listener.close()


# ------------------------------------------------------------------------------------ SunSpec

SUNSPEC_BASE = 40_000
COMMON_LENGTH = 66  # SunSpec model 1 with its pad register
SKIPPED_MODEL = (12, 98)  # a model the agent passes over by its length (12: IPv4)
INVERTER_LENGTH = 50


def text_registers(text: str, count: int) -> list[int]:
    """A SunSpec string: two ASCII characters a register, padded with NUL."""
    raw = text.encode().ljust(2 * count, b"\0")
    return [int.from_bytes(raw[i : i + 2], "big") for i in range(0, 2 * count, 2)]


def signed16(value: int) -> int:
    return value & 0xFFFF


def sunspec_registers(lifetime_wh_raw: int, wh_sf: int, voltage_raw: int, v_sf: int, hz_raw: int, hz_sf: int) -> list[int]:
    """The holding registers from SUNSPEC_BASE: "SunS", the common model (1), a model the agent
    skips, a three-phase inverter model (103) with these raw registers and scale factors, the end."""
    common = [*text_registers("EnergyGrid", 16), *text_registers("TestInverter", 16), *text_registers("", 8),
              *text_registers("1.0", 8), *text_registers("SN0001", 16), 1, 0]  # fmt: skip
    inverter = [0] * INVERTER_LENGTH
    inverter[8], inverter[11] = voltage_raw, signed16(v_sf)  # PhVphA, V_SF
    inverter[14], inverter[15] = hz_raw, signed16(hz_sf)  # Hz, Hz_SF
    inverter[22], inverter[23], inverter[24] = lifetime_wh_raw >> 16, lifetime_wh_raw & 0xFFFF, signed16(wh_sf)  # WH, WH_SF
    return [
        0x5375, 0x6E53,
        1, COMMON_LENGTH, *common,
        SKIPPED_MODEL[0], SKIPPED_MODEL[1], *([0] * SKIPPED_MODEL[1]),
        103, INVERTER_LENGTH, *inverter,
        0xFFFF, 0,
    ]  # fmt: skip


WRITE_REGISTERS = 16  # Modbus's function code that writes holding registers


@dataclass
class Inverter:
    """A SunSpec inverter on pymodbus's Modbus TCP server; `muted` set, it takes requests and never
    answers (a hung inverter: the client waits out its timeout)."""

    port: int
    muted: threading.Event
    _write: Callable[[list[int]], None]

    def show(self, registers: list[int]) -> None:
        """The registers from the inverter's base address read `registers` from now on, as its own
        figures change them (the lifetime energy counting up in the sun)."""
        self._write(registers)


@contextmanager
def sunspec_inverter(registers: list[int], unit: int = 1, base: int = SUNSPEC_BASE) -> Iterator[Inverter]:
    """The inverter with `registers` from protocol address `base` (pymodbus's data block is given
    the address + 1, and serves it from `base`)."""
    block = ModbusSequentialDataBlock(base + 1, registers)
    context = ModbusServerContext(devices={unit: ModbusDeviceContext(hr=block)}, single=False)
    muted = threading.Event()
    loop = asyncio.new_event_loop()
    started = threading.Event()
    holder: dict[str, ModbusTcpServer] = {}

    def silence(sending: bool, packet: bytes) -> bytes:
        return b"" if muted.is_set() and not sending else packet

    async def serve() -> None:
        server = ModbusTcpServer(context, address=(LOCAL_HOST, 0), trace_packet=silence)
        holder["server"] = server
        await server.listen()
        started.set()
        await server.serving

    thread = threading.Thread(target=loop.run_until_complete, args=(serve(),), daemon=True)
    thread.start()
    if not started.wait(10):
        raise RuntimeError("the Modbus server did not start")
    server = holder["server"]
    # Listening, the server's transport is the asyncio server it created.
    port = cast(asyncio.Server, server.transport).sockets[0].getsockname()[1]

    def write(values: list[int]) -> None:
        # The server's own datastore, changed on its event loop between two requests.
        written = server.context.async_setValues(unit, WRITE_REGISTERS, base, values)
        refused = asyncio.run_coroutine_threadsafe(written, loop).result(10)
        if refused is not None:
            raise RuntimeError(f"the inverter's datastore refused registers {base}-{base + len(values) - 1}: {refused}")

    try:
        yield Inverter(port, muted, write)
    finally:
        asyncio.run_coroutine_threadsafe(server.shutdown(), loop).result(10)
        thread.join(10)
        loop.close()


# ------------------------------------------------------------------------------------ the agent's files

KEYSTORE_PASSWORD = "correct horse battery staple"
KEYSTORE_ITERATIONS = 2  # pbkdf2 rounds: a test's keystore need not resist guessing, only decrypt as a real one does


def write_keystore(path: Path, private_key: bytes) -> Path:
    """An encrypted keystore of `private_key` (eth-account's format), as provisioning writes one."""
    from eth_account import Account  # noqa: PLC0415 - only the agent's tests write keystores

    path.write_text(json.dumps(Account.encrypt(private_key, KEYSTORE_PASSWORD, kdf="pbkdf2", iterations=KEYSTORE_ITERATIONS)))
    return path


def write_agent_config(
    folder: Path, *, chain_id: int, smart_meter: str, meter: str, broker: str, source: str, interval_s: int = 900
) -> Path:
    """The agent's TOML configuration in `folder` as provisioning writes it (its keystore and outbox
    beside it), with `source` the lines of its [source] table in place of the commented template."""
    config = ProvisionedConfig(chain_id, smart_meter, meter, "meter-key.json", broker, interval_s=interval_s)
    path = folder / "meter-agent.toml"
    path.write_text(config.text().replace(SOURCE_TEMPLATE, f"[source]\n{source}\n"))
    return path

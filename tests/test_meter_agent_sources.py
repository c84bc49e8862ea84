"""The meter agent's sources, each against its meter's real protocol: DSMR P1 telegrams (committed
DSMR 4.2 and 5.0 samples with their CRC, and a TCP serial bridge serving them), a SunSpec inverter
on pymodbus's own Modbus TCP server, and a JSON energy topic on a mosquitto of the test's own.
Whatever a meter gets wrong is a SourceError of one sentence, never another exception."""

from __future__ import annotations

import json
import re
import socket
import time
from decimal import Decimal

import pytest
from dsmr_parser.parsers import TelegramParser

from energy_grid.chain.anvil import LOCAL_HOST
from energy_grid.services.meter_agent.sources.base import SourceError, per_mille_of_volts
from energy_grid.services.meter_agent.sources.dsmr import VERSIONS, DsmrSource, registers_of_telegram
from energy_grid.services.meter_agent.sources.json_topic import FieldMapping, JsonTopicSource, field_mappings, registers_of_message
from energy_grid.services.meter_agent.sources.sunspec import SunSpecSource
from energy_grid.services.mqtt import BrokerSettings

from support.anvil_node import wait_until
from support.meter_sources import SAMPLES, crc16_arc, dsmr5_telegram, p1_bridge, sunspec_inverter, sunspec_registers
from support.mosquitto import connected, mosquitto_broker

SAMPLE_VERSIONS = {"dsmr42.txt": "4", "dsmr50.txt": "5"}
OBIS_KWH = re.compile(r"^1-0:([12])\.8\.[12]\((\d+\.\d{3})\*kWh\)\r$", re.MULTILINE)
READ_TIMEOUT_S = 5.0


def sample(name: str) -> str:
    return (SAMPLES / name).read_bytes().decode("ascii")


def registers_in_text(telegram: str) -> tuple[int, int]:
    """Import and export in Wh as the telegram's kWh lines read to a person: the tariffs summed."""
    totals = {"1": Decimal(0), "2": Decimal(0)}
    for direction, value in OBIS_KWH.findall(telegram):
        totals[direction] += Decimal(value)
    return int(totals["1"] * 1000), int(totals["2"] * 1000)


# ------------------------------------------------------------------------------------ DSMR


@pytest.mark.parametrize("name", [*SAMPLE_VERSIONS, "dsmr50_bad_crc.txt"])
def test_the_committed_telegrams_carry_the_crc_the_standard_gives(name):
    """CRC-16/ARC over the telegram from `/` to `!`, four hex digits after it; dsmr-parser computes
    the same. The bad sample's register was changed after its CRC: it fails."""
    telegram = sample(name)
    framed = re.fullmatch(r"(/.*!)([0-9A-F]{4})\r\n", telegram, re.DOTALL)
    assert framed is not None
    body, crc = framed.groups()
    assert crc16_arc(body.encode()) == TelegramParser.crc16(body)
    assert (crc16_arc(body.encode()) == int(crc, 16)) is (name != "dsmr50_bad_crc.txt")
    assert telegram.count("\r\n") == telegram.count("\n")  # CR LF line ends, as a P1 port sends them


@pytest.mark.parametrize("name", SAMPLE_VERSIONS)
def test_a_telegram_s_registers_are_its_tariffs_summed_in_whole_wh(name):
    telegram = sample(name)
    specification, _ = VERSIONS[SAMPLE_VERSIONS[name]]
    registers = registers_of_telegram(TelegramParser(specification), telegram)
    assert (registers.import_wh, registers.export_wh) == registers_in_text(telegram)
    assert registers.import_wh > 0
    voltage = re.search(r"^1-0:32\.7\.0\((\d+\.\d)\*V\)", telegram, re.MULTILINE)
    # DSMR 5 gives the voltage of L1; DSMR 4.2 has none, and the reading carries the nominal.
    assert registers.voltage_per_mille == (None if voltage is None else per_mille_of_volts(Decimal(voltage[1])))
    assert registers.frequency_millihz is None


def test_the_p1_port_behind_a_tcp_bridge_is_read_from_the_middle_of_a_telegram():
    """The bridge's stream starts halfway through a telegram, as a port opened at any moment does:
    the source skips to the next whole one."""
    with p1_bridge(dsmr5_telegram((1_000_001, 2_000_002), (3_000_003, 4_000_004), "226.1")) as bridge:
        registers = DsmrSource(bridge.url, "5").read(READ_TIMEOUT_S)
    assert (registers.import_wh, registers.export_wh) == (3_000_003, 7_000_007)
    assert registers.voltage_per_mille == round(Decimal("226.1") / 230 * 1000)


def test_a_telegram_with_a_bad_crc_gives_no_registers():
    with p1_bridge(sample("dsmr50_bad_crc.txt").encode()) as bridge, pytest.raises(SourceError, match="CRC check"):
        DsmrSource(bridge.url, "5").read(READ_TIMEOUT_S)


def test_a_silent_p1_port_times_out_and_a_closed_one_is_named():
    with socket.create_server((LOCAL_HOST, 0)) as silent:
        url = f"socket://{LOCAL_HOST}:{silent.getsockname()[1]}"
        started = time.monotonic()
        with pytest.raises(SourceError, match=r"no whole telegram .* within 0\.5 s"):
            DsmrSource(url, "5").read(0.5)
        assert time.monotonic() - started < READ_TIMEOUT_S
    with pytest.raises(SourceError, match="cannot read the P1 port"):
        DsmrSource(url, "5").read(0.5)  # nothing listens there any more


# ------------------------------------------------------------------------------------ SunSpec


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        # (WH, WH_SF, PhVphA, V_SF, Hz, Hz_SF) -> (export Wh, voltage per mille, frequency mHz)
        ((1_234_567, 1, 2_334, -1, 5_002, -2), (12_345_670, 1_015, 50_020)),
        ((70_000, 0, 229, 0, 49_985, -3), (70_000, 996, 49_985)),
        ((8_000_123, -3, 0xFFFF, -1, 0xFFFF, -2), (8_000, None, None)),  # PhVphA and Hz not implemented
    ],
)
def test_a_sunspec_inverter_s_energy_voltage_and_frequency_with_their_scale_factors(raw, expected):
    with sunspec_inverter(sunspec_registers(*raw)) as inverter:
        registers = SunSpecSource(LOCAL_HOST, inverter.port, 1).read(READ_TIMEOUT_S)
    assert (registers.export_wh, registers.voltage_per_mille, registers.frequency_millihz) == expected
    assert registers.import_wh == 0  # an inverter only exports


def test_the_sunspec_marker_is_looked_for_at_each_base_address():
    with sunspec_inverter(sunspec_registers(500, 0, 230, 0, 50, 0), base=50_000) as inverter:
        registers = SunSpecSource(LOCAL_HOST, inverter.port, 1).read(READ_TIMEOUT_S)
    assert (registers.export_wh, registers.voltage_per_mille, registers.frequency_millihz) == (500, 1_000, 50_000)


def test_an_inverter_that_stops_answering_times_out_and_is_read_again_once_it_answers():
    with sunspec_inverter(sunspec_registers(42_000, 0, 231, 0, 50, 0)) as inverter:
        source = SunSpecSource(LOCAL_HOST, inverter.port, 1)
        assert source.read(READ_TIMEOUT_S).export_wh == 42_000
        inverter.muted.set()
        started = time.monotonic()
        with pytest.raises(SourceError, match="did not answer in time"):
            source.read(0.5)
        assert time.monotonic() - started < READ_TIMEOUT_S
        inverter.muted.clear()
        assert source.read(READ_TIMEOUT_S).export_wh == 42_000
    with pytest.raises(SourceError, match="does not answer"):
        source.read(0.5)  # the inverter is gone: its port refuses the connection


def test_a_modbus_device_without_sunspec_is_named():
    registers = sunspec_registers(1, 0, 230, 0, 50, 0)
    registers[0] = 0x1234  # not "SunS"
    with sunspec_inverter(registers) as inverter, pytest.raises(SourceError, match='no SunSpec marker "SunS"'):
        SunSpecSource(LOCAL_HOST, inverter.port, 1).read(READ_TIMEOUT_S)


# ------------------------------------------------------------------------------------ JSON topic

TASMOTA_FIELDS = field_mappings({"import": {"path": "ENERGY.Total", "unit": "kWh"}, "voltage": {"path": "ENERGY.Voltage", "unit": "V"}})
SHELLY_FIELDS = field_mappings({
    "import": {"path": "aenergy.total", "unit": "Wh"},
    "export": {"path": "ret_aenergy.total", "unit": "Wh"},
    "voltage": {"path": "voltage", "unit": "V"},
    "frequency": {"path": "freq", "unit": "Hz"},
})  # fmt: skip


def tasmota_message(total_kwh: object, voltage_v: object = 231) -> bytes:
    return json.dumps({"Time": "2025-06-01T12:15:00", "ENERGY": {"TotalStartTime": "2024-01-01T00:00:00", "Total": total_kwh,
                       "Yesterday": 3.1, "Today": 1.2, "Power": 410, "Voltage": voltage_v, "Current": 1.8}}).encode()  # fmt: skip


def test_a_json_message_is_read_through_its_mapping():
    tasmota = registers_of_message(tasmota_message(12.345), TASMOTA_FIELDS)
    assert (tasmota.import_wh, tasmota.export_wh, tasmota.voltage_per_mille, tasmota.frequency_millihz) == (12_345, 0, 1_004, None)
    shelly = json.dumps({"id": 0, "voltage": 229.4, "freq": 49.98, "aenergy": {"total": 5_012.7}, "ret_aenergy": {"total": 88.0}})
    registers = registers_of_message(shelly.encode(), SHELLY_FIELDS)
    assert (registers.import_wh, registers.export_wh, registers.voltage_per_mille, registers.frequency_millihz) == (5_012, 88, 997, 49_980)
    three_phases = field_mappings({"import": {"path": "ENERGY.Total"}, "voltage": {"path": "ENERGY.Voltage.1", "unit": "V"}})
    assert registers_of_message(tasmota_message(1, [230, 232, 229]), three_phases).voltage_per_mille == 1_009


@pytest.mark.parametrize(
    ("payload", "error"),
    [
        (b'{"ENERGY": {"Power": 410}}', "no field ENERGY.Total"),
        (b'{"StatusSNS": {}}', "no field ENERGY"),
        (tasmota_message("12,3"), "field ENERGY.Total is '12,3', not a number"),
        (tasmota_message(None), "field ENERGY.Total is None, not a number"),
        (tasmota_message(True), "field ENERGY.Total is True, not a number"),
        (tasmota_message(-1.5), "not a register value"),
        (tasmota_message(1.0, {"L1": 230}), "field ENERGY.Voltage is"),
        (b"Offline", "not JSON"),
    ],
)
def test_a_json_message_that_does_not_fit_its_mapping_gives_no_registers(payload, error):
    with pytest.raises(SourceError, match=re.escape(error)):
        registers_of_message(payload, TASMOTA_FIELDS)


@pytest.mark.parametrize(
    ("table", "error"),
    [
        ({"export": {"path": "a"}}, "must name import"),
        ({"import": {"path": "a", "unit": "MWh"}}, "is in 'MWh'"),
        ({"import": "ENERGY.Total"}, "must be {path"),
        ({"import": {"path": "a"}, "power": {"path": "b"}}, "names 'power'"),
    ],
)
def test_a_mapping_is_checked_field_by_field(table, error):
    with pytest.raises(ValueError, match=re.escape(error)):
        field_mappings(table)


def test_a_json_topic_is_read_from_the_latest_message_of_a_broker(tmp_path):
    """On a broker of the device's own (anonymous, as a household's Tasmota often uses one): no
    message yet is a SourceError; then the latest message counts."""
    with mosquitto_broker(tmp_path, allow_anonymous=True) as broker:
        settings = BrokerSettings(broker.host, broker.port)
        source = JsonTopicSource(settings, "tele/plug/SENSOR", {"import": FieldMapping("ENERGY.Total", "kWh")})
        source.start()
        try:
            with pytest.raises(SourceError, match="no message on tele/plug/SENSOR yet"):
                source.read(0.2)
            with connected(broker, "plug", "") as plug:
                plug.publish("tele/plug/SENSOR", tasmota_message(0.5))
                plug.publish("tele/plug/SENSOR", tasmota_message(0.75))
            # The latest message counts, once the source has taken both.
            wait_until(lambda: source.read(READ_TIMEOUT_S).import_wh == 750, READ_TIMEOUT_S, "the latest message read")
        finally:
            source.close()

"""The gateway refuses exactly what SmartMeter refuses: each case is checked by the gateway's rules
and then sent to the real contract on anvil (from a snapshot, one case at a time). A reading the
gateway accepts must go on chain, and one it refuses must revert, or a bad reading would revert a
whole batch of other meters' readings."""

from __future__ import annotations

from typing import Any

import ape
import pytest
from ape.exceptions import ContractLogicError
from eth_account import Account

from energy_grid.contracts.structs import MeterReading
from energy_grid.services.gateway.messages import MessageCode, MeterView, Rejected, check_reading, verify_signature
from energy_grid.services.reading_rules import ChainLimits, RefusalCode
from energy_grid.signing.readings import SignedReading, sign_reading

from support.meter_helpers import REGION

FIRST_READING_AFTER_S = 900
NEXT_READING_AFTER_S = 900
FORGER = Account.from_key("0x" + "99" * 32)


@pytest.fixture(scope="module")
def gateway_meter_first_reading_s(smart_meter, admin, owner, meter_device, relayer_for_gateway):
    """meter_device registered with registers 0 and one signed reading on chain (nonce 0)."""
    chain = ape.chain
    smart_meter.registerMeter(meter_device, owner, REGION, 0, 0, sender=admin)
    first_at = chain.pending_timestamp + FIRST_READING_AFTER_S
    reading = (first_at, 100, 50, 50_000, 1_000)
    first = sign_reading(meter_device.private_key, chain.chain_id, smart_meter.address, 0, first_at + 3_600, reading)
    chain.pending_timestamp = first_at
    smart_meter.submitSignedReadings([first.as_tuple()], sender=relayer_for_gateway)
    return first_at


@pytest.fixture(scope="module")
def relayer_for_gateway(accounts):
    """Anyone may relay signed readings: the gateway needs no role."""
    return accounts[7]


def gateway_verdict(signed: SignedReading, smart_meter: Any, meter: str, now_s: int) -> str | None:
    chain_id = ape.chain.chain_id
    info_active = bool(smart_meter.getMeter(meter).active)
    latest = MeterReading(*smart_meter.getLatestReading(meter))
    view = MeterView(registered=True, active=info_active, next_nonce=smart_meter.nonces(meter), latest=latest)
    limits = ChainLimits(
        now_s=now_s,
        min_interval_s=smart_meter.minReadingInterval(),
        max_age_s=smart_meter.maxReadingAge(),
        max_register_wh=smart_meter.MAX_REGISTER_WH(),
        min_frequency_millihz=smart_meter.MIN_FREQUENCY_MILLIHZ(),
        max_frequency_millihz=smart_meter.MAX_FREQUENCY_MILLIHZ(),
        min_voltage_per_mille=smart_meter.MIN_VOLTAGE_PER_MILLE(),
        max_voltage_per_mille=smart_meter.MAX_VOLTAGE_PER_MILLE(),
    )
    try:
        verify_signature(signed, chain_id, smart_meter.address)
        check_reading(signed, view, limits)
    except Rejected as rejected:
        return rejected.code
    return None


def chain_accepts(signed: SignedReading, smart_meter: Any, relayer: Any, now_s: int) -> bool:
    snapshot = ape.chain.snapshot()
    try:
        ape.chain.pending_timestamp = now_s
        smart_meter.submitSignedReadings([signed.as_tuple()], sender=relayer)
        return True
    except ContractLogicError:
        return False
    finally:
        ape.chain.restore(snapshot)


@pytest.mark.parametrize(
    ("case", "expected"),
    [
        ("good", None),
        ("nonce used", MessageCode.NONCE_USED),
        ("nonce ahead", MessageCode.NONCE_AHEAD),
        ("expired", MessageCode.EXPIRED),
        ("forged", MessageCode.BAD_SIGNATURE),
        ("frequency", RefusalCode.FREQUENCY_OUT_OF_BOUNDS),
        ("voltage", RefusalCode.VOLTAGE_OUT_OF_BOUNDS),
        ("not after previous", RefusalCode.NOT_AFTER_PREVIOUS),
        ("import register decreased", RefusalCode.REGISTER_DECREASED),
        ("export register decreased", RefusalCode.REGISTER_DECREASED),
        ("in future", RefusalCode.IN_FUTURE),
    ],
)
def test_the_gateway_refuses_exactly_what_smart_meter_refuses(
    case, expected, smart_meter, meter_device, gateway_meter_first_reading_s, relayer_for_gateway
):
    first_at = gateway_meter_first_reading_s
    now_s = first_at + NEXT_READING_AFTER_S
    timestamp, consumption, production, frequency, voltage = now_s, 200, 80, 50_000, 1_000
    nonce, deadline, key = 1, now_s + 600, meter_device.private_key
    match case:
        case "nonce used":
            nonce = 0
        case "nonce ahead":
            nonce = 2
        case "expired":
            deadline = now_s - 1
        case "forged":
            key = FORGER.key
        case "frequency":
            frequency = 44_999
        case "voltage":
            voltage = 1_501
        case "not after previous":
            timestamp = first_at
        case "import register decreased":
            consumption = 99
        case "export register decreased":
            production = 49
        case "in future":
            timestamp = now_s + 1
    reading = (timestamp, consumption, production, frequency, voltage)
    signed = sign_reading(key, ape.chain.chain_id, smart_meter.address, nonce, deadline, reading, meter=meter_device.address)
    verdict = gateway_verdict(signed, smart_meter, meter_device.address, now_s)
    assert verdict == (None if expected is None else str(expected))
    assert chain_accepts(signed, smart_meter, relayer_for_gateway, now_s) == (verdict is None)

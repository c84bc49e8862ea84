"""SmartMeter: registry, readings and their validation, load profile, daily totals, batches,
minting of exported Wh and redemption of consumed Wh.

Every custom error is asserted with all of its arguments and every event with all of its fields
(see `reverts` and `log` below, which make ape's subset checks exhaustive).
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from eth_account import Account
from eth_account.messages import encode_typed_data
from helpers import DEFAULT_ADMIN_ROLE, ZERO_ADDRESS, assert_logs, deploy_reverts, log, reverts, role

from energy_grid.signed_readings import (
    METER_READING_TYPEHASH,
    SIGNED_READING_TYPEHASH,
    SignedReading,
    sign_reading,
    sign_readings,
    typed_data,
)

from energy_grid.units import (
    DAY_SECONDS,
    FREQUENCY_NOMINAL_MILLIHZ,
    INTERVAL_SECONDS,
    INTERVALS_PER_DAY,
    VOLTAGE_NOMINAL_PER_MILLE,
    day_of,
    interval_of,
)

OPERATOR_ROLE = role("OPERATOR_ROLE")
GATEWAY_ROLE = role("GATEWAY_ROLE")
PAUSER_ROLE = role("PAUSER_ROLE")
METER_ROLE = role("METER_ROLE")

PROFILE_CAPACITY = 35 * INTERVALS_PER_DAY
MAX_BATCH_SIZE = 100
MAX_HISTORY_PAGE = INTERVALS_PER_DAY
MAX_REGISTER_WH = 2**56 - 1
MAX_INTERVAL_ENERGY_WH = 2**40 - 1
DEFAULT_MIN_READING_INTERVAL = 60
DEFAULT_MAX_READING_AGE = 7 * DAY_SECONDS
MAX_READING_AGE_FLOOR = INTERVAL_SECONDS
MAX_READING_AGE_CEILING = PROFILE_CAPACITY * INTERVAL_SECONDS
SECP256K1_ORDER = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141
REGION = 7
EMPTY_READING = (0, 0, 0, 0, 0)


# ----------------------------------------------------------------------------- helpers


def next_interval_start(chain, offset: int = 0) -> int:
    """Moves the next block to `offset` s into the next 900 s interval; returns that timestamp."""
    ts = (interval_of(chain.pending_timestamp) + 1) * INTERVAL_SECONDS + offset
    chain.pending_timestamp = ts
    return ts


def next_day_start(chain, offset: int = 0) -> int:
    """Moves the next block to `offset` s into the next UTC day; returns that timestamp."""
    ts = (day_of(chain.pending_timestamp) + 1) * DAY_SECONDS + offset
    chain.pending_timestamp = ts
    return ts


def accepted(smart_meter, meter, ts, consumed=0, produced=0):
    return log(smart_meter.ReadingAccepted, meter=meter, timestamp=ts, consumptionWh=consumed, productionWh=produced)


def minted(energy_token, to, amount):
    return log(energy_token.Transfer, **{"from": ZERO_ADDRESS, "to": to, "value": amount})


def burned(energy_token, holder, amount):
    return log(energy_token.Transfer, **{"from": holder, "to": ZERO_ADDRESS, "value": amount})


# ----------------------------------------------------------------------------- fixtures


@pytest.fixture(scope="module", autouse=True)
def _accounts_before_isolation(admin, owner, other, stranger, meter_device, meter_device_2, accounts):
    """Resolves the session-scoped account fixtures before ape's per-test isolation (no rebasing)."""


@pytest.fixture
def meter(smart_meter, admin, owner, meter_device):
    """meter_device registered to `owner` without registers: its first reading sets the baseline."""
    smart_meter.registerMeter(meter_device, owner, REGION, sender=admin)
    return meter_device.address


@pytest.fixture
def submit(smart_meter, chain, reading):
    """Submits a reading at exactly `ts` (the next block's time is moved there)."""

    def send(device, ts, consumption, production, **kwargs):
        chain.pending_timestamp = ts
        return smart_meter.submitReading(reading(consumption, production, timestamp=ts, **kwargs), sender=device)

    return send


@pytest.fixture
def baseline(meter, meter_device, submit, chain):
    """`meter` with a baseline reading (1_000 Wh in, 5_000 Wh out) at the start of an interval.
    Returns the baseline timestamp."""
    ts = next_interval_start(chain)
    submit(meter_device, ts, 1_000, 5_000)
    return ts


# ----------------------------------------------------------------------------- constants and getters


def test_constants_and_wiring(smart_meter, energy_token, admin):
    assert smart_meter.OPERATOR_ROLE() == OPERATOR_ROLE
    assert smart_meter.GATEWAY_ROLE() == GATEWAY_ROLE
    assert smart_meter.PAUSER_ROLE() == PAUSER_ROLE
    assert smart_meter.DEFAULT_ADMIN_ROLE() == DEFAULT_ADMIN_ROLE
    assert smart_meter.PROFILE_CAPACITY() == PROFILE_CAPACITY == 3_360
    assert smart_meter.MAX_BATCH_SIZE() == MAX_BATCH_SIZE
    assert smart_meter.MAX_HISTORY_PAGE() == MAX_HISTORY_PAGE == 96
    assert smart_meter.MAX_REGISTER_WH() == MAX_REGISTER_WH
    assert smart_meter.MIN_FREQUENCY_MILLIHZ() == 45_000
    assert smart_meter.MAX_FREQUENCY_MILLIHZ() == 65_000
    assert smart_meter.MIN_VOLTAGE_PER_MILLE() == 500
    assert smart_meter.MAX_VOLTAGE_PER_MILLE() == 1_500
    assert smart_meter.energyToken() == energy_token.address
    assert smart_meter.minReadingInterval() == DEFAULT_MIN_READING_INTERVAL
    assert smart_meter.MAX_READING_AGE_FLOOR_SECONDS() == MAX_READING_AGE_FLOOR == 900
    assert smart_meter.MAX_READING_AGE_CEILING_SECONDS() == MAX_READING_AGE_CEILING == 35 * DAY_SECONDS
    assert smart_meter.DEFAULT_MAX_READING_AGE_SECONDS() == DEFAULT_MAX_READING_AGE
    assert smart_meter.maxReadingAge() == DEFAULT_MAX_READING_AGE
    assert smart_meter.hasRole(DEFAULT_ADMIN_ROLE, admin)
    assert energy_token.hasRole(METER_ROLE, smart_meter)


def test_every_function_error_and_event_is_exercised(smart_meter):
    """Guards this file's completeness: each ABI item of SmartMeter is used here as `.<name>`."""
    source = Path(__file__).read_text()
    items = [item for item in smart_meter.contract_type.abi if item.type in ("function", "error", "event")]
    assert len(items) > 50
    # Unreachable OpenZeppelin items: nothing calls _setRoleAdmin; the EIP-712 domain is immutable, and
    # its name and version are short constants, which ShortStrings' errors never reject.
    unreachable = {"RoleAdminChanged", "EIP712DomainChanged", "InvalidShortString", "StringTooLong"}
    unused = [item for item in items if item.name not in unreachable and not re.search(rf"\.{item.name}\b", source)]
    assert [f"{item.type} {item.name}" for item in unused] == []


def test_access_control_surface(smart_meter, admin, other, stranger):
    assert smart_meter.getRoleAdmin(OPERATOR_ROLE) == DEFAULT_ADMIN_ROLE
    assert smart_meter.supportsInterface("0x7965db0b")  # IAccessControl
    assert smart_meter.supportsInterface("0x01ffc9a7")  # IERC165
    assert not smart_meter.supportsInterface("0xffffffff")

    tx = smart_meter.grantRole(OPERATOR_ROLE, other, sender=admin)
    assert_logs(tx, log(smart_meter.RoleGranted, role=OPERATOR_ROLE, account=other.address, sender=admin.address))
    assert smart_meter.hasRole(OPERATOR_ROLE, other)

    with reverts(smart_meter.AccessControlBadConfirmation):
        smart_meter.renounceRole(OPERATOR_ROLE, stranger, sender=other)
    tx = smart_meter.renounceRole(OPERATOR_ROLE, other, sender=other)
    assert_logs(tx, log(smart_meter.RoleRevoked, role=OPERATOR_ROLE, account=other.address, sender=other.address))
    assert not smart_meter.hasRole(OPERATOR_ROLE, other)

    with reverts(smart_meter.AccessControlUnauthorizedAccount, account=stranger.address, neededRole=DEFAULT_ADMIN_ROLE):
        smart_meter.grantRole(GATEWAY_ROLE, stranger, sender=stranger)
    with reverts(smart_meter.AccessControlUnauthorizedAccount, account=stranger.address, neededRole=DEFAULT_ADMIN_ROLE):
        smart_meter.revokeRole(GATEWAY_ROLE, admin, sender=stranger)
    tx = smart_meter.revokeRole(GATEWAY_ROLE, admin, sender=admin)
    assert_logs(tx, log(smart_meter.RoleRevoked, role=GATEWAY_ROLE, account=admin.address, sender=admin.address))
    assert not smart_meter.hasRole(GATEWAY_ROLE, admin)


@pytest.mark.parametrize(
    ("call", "role"),
    [
        (lambda sm, m: sm.registerMeter(m, m, REGION, sender=m), OPERATOR_ROLE),
        (lambda sm, m: sm.registerMeter(m, m, REGION, 1, 2, sender=m), OPERATOR_ROLE),
        (lambda sm, m: sm.deactivateMeter(m, sender=m), OPERATOR_ROLE),
        (lambda sm, m: sm.reactivateMeter(m, sender=m), OPERATOR_ROLE),
        (lambda sm, m: sm.setMinReadingInterval(0, sender=m), DEFAULT_ADMIN_ROLE),
        (lambda sm, m: sm.setMaxReadingAge(DEFAULT_MAX_READING_AGE, sender=m), DEFAULT_ADMIN_ROLE),
        (lambda sm, m: sm.submitReadings([m], [(1, 0, 0, 50_000, 1_000)], sender=m), GATEWAY_ROLE),
        (lambda sm, m: sm.pause(sender=m), PAUSER_ROLE),
        (lambda sm, m: sm.unpause(sender=m), DEFAULT_ADMIN_ROLE),
    ],
    ids=[
        "registerMeter/3",
        "registerMeter/5",
        "deactivateMeter",
        "reactivateMeter",
        "setMinReadingInterval",
        "setMaxReadingAge",
        "submitReadings",
        "pause",
        "unpause",
    ],
)
def test_role_restricted_functions_reject_stranger(smart_meter, stranger, call, role):
    with reverts(smart_meter.AccessControlUnauthorizedAccount, account=stranger.address, neededRole=role):
        call(smart_meter, stranger)


# ----------------------------------------------------------------------------- registration


def test_register_without_registers(smart_meter, admin, owner, meter_device):
    tx = smart_meter.registerMeter(meter_device, owner, REGION, sender=admin)

    assert_logs(
        tx,
        log(
            smart_meter.MeterRegistered,
            meter=meter_device.address,
            owner=owner.address,
            regionId=REGION,
            consumptionRegisterWh=0,
            productionRegisterWh=0,
        )
    )
    assert smart_meter.getMeter(meter_device) == (owner.address, REGION, True, True, 0)
    assert smart_meter.getLatestReading(meter_device) == EMPTY_READING
    assert smart_meter.getLatestReading(sender=meter_device) == EMPTY_READING
    assert smart_meter.getMeteredEnergy(meter_device) == (0, 0, 0)


def test_first_reading_only_sets_baseline(smart_meter, energy_token, meter, meter_device, owner, submit, chain):
    ts = chain.pending_timestamp
    tx = submit(meter_device, ts, 1_000, 5_000)

    assert_logs(
        tx,
        log(smart_meter.MeterBaselineSet, meter=meter, timestamp=ts, consumptionRegisterWh=1_000, productionRegisterWh=5_000),
        accepted(smart_meter, meter, ts),
    )
    assert energy_token.balanceOf(owner) == 0
    assert energy_token.totalSupply() == 0
    assert smart_meter.getMeter(meter) == (owner.address, REGION, True, False, ts)
    assert smart_meter.getLatestReading(meter) == (ts, 1_000, 5_000, FREQUENCY_NOMINAL_MILLIHZ, VOLTAGE_NOMINAL_PER_MILLE)
    assert smart_meter.getMeteredEnergy(meter) == (0, 0, 0)
    assert smart_meter.getIntervalEnergy(meter, interval_of(ts)) == (0, 0)

    # The next reading counts the increase over the baseline and mints the export.
    tx = submit(meter_device, ts + 60, 1_300, 5_800)
    assert_logs(tx, minted(energy_token, owner.address, 800), accepted(smart_meter, meter, ts + 60, 300, 800))
    assert energy_token.balanceOf(owner) == 800
    assert energy_token.totalSupply() == 800
    assert smart_meter.getMeteredEnergy(meter) == (300, 800, 0)


def test_register_with_registers(smart_meter, energy_token, admin, owner, meter_device, submit, reading):
    tx = smart_meter.registerMeter(meter_device, owner, REGION, 1_000, 5_000, sender=admin)
    registered_at = tx.timestamp

    assert_logs(
        tx,
        log(
            smart_meter.MeterRegistered,
            meter=meter_device.address,
            owner=owner.address,
            regionId=REGION,
            consumptionRegisterWh=1_000,
            productionRegisterWh=5_000,
        )
    )
    assert smart_meter.getMeter(meter_device) == (owner.address, REGION, True, False, registered_at)
    # The registration registers stand as the latest reading (no frequency or voltage was measured).
    assert smart_meter.getLatestReading(meter_device) == (registered_at, 1_000, 5_000, 0, 0)
    assert smart_meter.getMeteredEnergy(meter_device) == (0, 0, 0)
    assert smart_meter.getIntervalHistory(meter_device, interval_of(registered_at), 1) == [
        (interval_of(registered_at), 0, 0, 1_000, 5_000, 0, 0)
    ]

    # The first reading is rate-limited from the registration and counts the increase over it.
    with reverts(smart_meter.ReadingNotAfterPrevious, meter=meter_device.address, timestamp=registered_at, previousTimestamp=registered_at):
        smart_meter.submitReading(reading(1_000, 5_000, timestamp=registered_at), sender=meter_device)
    too_soon = registered_at + 59
    with reverts(smart_meter.ReadingTooFrequent, meter=meter_device.address, timestamp=too_soon, earliestTimestamp=registered_at + 60):
        submit(meter_device, too_soon, 1_200, 5_600)
    tx = submit(meter_device, registered_at + 60, 1_200, 5_600)
    assert_logs(tx, minted(energy_token, owner.address, 600), accepted(smart_meter, meter_device.address, registered_at + 60, 200, 600))
    assert energy_token.balanceOf(owner) == 600
    assert smart_meter.getMeteredEnergy(meter_device) == (200, 600, 0)


def test_register_with_registers_rejects_readings_below_them(smart_meter, admin, owner, meter_device, submit, chain):
    registered_at = smart_meter.registerMeter(meter_device, owner, REGION, 1_000, 5_000, sender=admin).timestamp
    ts = registered_at + 60
    with reverts(smart_meter.ConsumptionRegisterDecreased, meter=meter_device.address, registerWh=999, previousRegisterWh=1_000):
        submit(meter_device, ts, 999, 5_000)
    with reverts(smart_meter.ProductionRegisterDecreased, meter=meter_device.address, registerWh=4_999, previousRegisterWh=5_000):
        submit(meter_device, ts + 1, 1_000, 4_999)


def test_register_with_maximal_registers(smart_meter, admin, owner, meter_device):
    tx = smart_meter.registerMeter(meter_device, owner, REGION, MAX_REGISTER_WH, MAX_REGISTER_WH, sender=admin)
    assert smart_meter.getLatestReading(meter_device) == (tx.timestamp, MAX_REGISTER_WH, MAX_REGISTER_WH, 0, 0)


@pytest.mark.parametrize("which", ["consumption", "production"])
def test_register_with_registers_out_of_range(smart_meter, admin, owner, meter_device, which):
    registers = {"consumption": 0, "production": 0, which: MAX_REGISTER_WH + 1}
    with reverts(smart_meter.RegisterOutOfRange, meter=meter_device.address, registerWh=MAX_REGISTER_WH + 1):
        smart_meter.registerMeter(meter_device, owner, REGION, registers["consumption"], registers["production"], sender=admin)
    with reverts(smart_meter.MeterUnknown, meter=meter_device.address):
        smart_meter.getMeter(meter_device)


@pytest.mark.parametrize("with_registers", [False, True], ids=["3-arg", "5-arg"])
def test_register_rejects_zero_addresses_and_duplicates(smart_meter, admin, owner, other, meter_device, with_registers):
    extra = (10, 20) if with_registers else ()
    with reverts(smart_meter.InvalidMeterAddress):
        smart_meter.registerMeter(ZERO_ADDRESS, owner, REGION, *extra, sender=admin)
    with reverts(smart_meter.InvalidOwnerAddress):
        smart_meter.registerMeter(meter_device, ZERO_ADDRESS, REGION, *extra, sender=admin)

    smart_meter.registerMeter(meter_device, owner, REGION, *extra, sender=admin)
    # Already registered, whichever overload registered it first.
    with reverts(smart_meter.MeterAlreadyRegistered, meter=meter_device.address):
        smart_meter.registerMeter(meter_device, other, REGION + 1, sender=admin)
    with reverts(smart_meter.MeterAlreadyRegistered, meter=meter_device.address):
        smart_meter.registerMeter(meter_device, other, REGION + 1, 10, 20, sender=admin)
    assert smart_meter.getMeter(meter_device).owner == owner.address


def test_unknown_meter_views_revert(smart_meter, stranger):
    unknown = stranger.address
    with reverts(smart_meter.MeterUnknown, meter=unknown):
        smart_meter.getMeter(unknown)
    with reverts(smart_meter.MeterUnknown, meter=unknown):
        smart_meter.getLatestReading(unknown)
    with reverts(smart_meter.MeterUnknown, meter=unknown):
        smart_meter.getLatestReading(sender=stranger)
    with reverts(smart_meter.MeterUnknown, meter=unknown):
        smart_meter.getDailyProduction(sender=stranger)
    with reverts(smart_meter.MeterUnknown, meter=unknown):
        smart_meter.getDailyConsumption(sender=stranger)
    with reverts(smart_meter.MeterUnknown, meter=unknown):
        smart_meter.getDailyProduction(unknown, 1)
    with reverts(smart_meter.MeterUnknown, meter=unknown):
        smart_meter.getDailyConsumption(unknown, 1)
    with reverts(smart_meter.MeterUnknown, meter=unknown):
        smart_meter.getIntervalEnergy(unknown, 1)
    with reverts(smart_meter.MeterUnknown, meter=unknown):
        smart_meter.getIntervalHistory(unknown, 1, 1)
    with reverts(smart_meter.MeterUnknown, meter=unknown):
        smart_meter.getMeteredEnergy(unknown)


# ----------------------------------------------------------------------------- deactivation


def test_deactivate_and_reactivate(smart_meter, admin, owner, meter, meter_device, reading):
    tx = smart_meter.deactivateMeter(meter, sender=admin)
    assert_logs(tx, log(smart_meter.MeterDeactivated, meter=meter))
    assert smart_meter.getMeter(meter) == (owner.address, REGION, False, True, 0)

    with reverts(smart_meter.MeterInactive, meter=meter):
        smart_meter.deactivateMeter(meter, sender=admin)
    with reverts(smart_meter.MeterInactive, meter=meter):
        smart_meter.submitReading(reading(10, 20), sender=meter_device)
    with reverts(smart_meter.MeterInactive, meter=meter):
        smart_meter.submitReadings([meter], [reading(10, 20)], sender=admin)

    tx = smart_meter.reactivateMeter(meter, sender=admin)
    assert_logs(tx, log(smart_meter.MeterReactivated, meter=meter))
    assert smart_meter.getMeter(meter) == (owner.address, REGION, True, True, 0)
    with reverts(smart_meter.MeterAlreadyActive, meter=meter):
        smart_meter.reactivateMeter(meter, sender=admin)
    smart_meter.submitReading(reading(10, 20), sender=meter_device)
    assert smart_meter.getLatestReading(meter).production == 20


def test_deactivate_and_reactivate_unknown_meter(smart_meter, admin, stranger):
    with reverts(smart_meter.MeterUnknown, meter=stranger.address):
        smart_meter.deactivateMeter(stranger, sender=admin)
    with reverts(smart_meter.MeterUnknown, meter=stranger.address):
        smart_meter.reactivateMeter(stranger, sender=admin)


def test_reactivation_rebaselines_so_suspended_energy_is_not_minted(
    smart_meter, energy_token, admin, owner, meter, meter_device, baseline, submit
):
    submit(meter_device, baseline + 900, 1_100, 6_000)
    assert energy_token.balanceOf(owner) == 1_000
    assert smart_meter.getMeteredEnergy(meter) == (100, 1_000, 0)

    smart_meter.deactivateMeter(meter, sender=admin)
    smart_meter.reactivateMeter(meter, sender=admin)
    assert smart_meter.getMeter(meter).awaitingBaseline

    # 400 Wh in and 3_000 Wh out while suspended: booked as uncounted, nothing minted.
    ts = baseline + 5 * 900
    tx = submit(meter_device, ts, 1_500, 9_000)
    assert_logs(
        tx,
        log(smart_meter.MeterBaselineSet, meter=meter, timestamp=ts, consumptionRegisterWh=1_500, productionRegisterWh=9_000),
        accepted(smart_meter, meter, ts),
    )
    assert energy_token.balanceOf(owner) == 1_000
    assert smart_meter.getMeteredEnergy(meter) == (100, 1_000, 0)
    assert smart_meter.getMeter(meter) == (owner.address, REGION, True, False, ts)
    assert smart_meter.getIntervalEnergy(meter, interval_of(ts)) == (0, 0)

    # Counting resumes from the new baseline.
    tx = submit(meter_device, ts + 60, 1_520, 9_050)
    assert_logs(tx, minted(energy_token, owner.address, 50), accepted(smart_meter, meter, ts + 60, 20, 50))
    assert energy_token.balanceOf(owner) == 1_050
    assert smart_meter.getMeteredEnergy(meter) == (120, 1_050, 0)


def test_reactivation_before_first_reading_of_registered_meter(
    smart_meter, energy_token, admin, owner, meter_device, submit
):
    registered_at = smart_meter.registerMeter(meter_device, owner, REGION, 1_000, 5_000, sender=admin).timestamp
    smart_meter.deactivateMeter(meter_device, sender=admin)
    smart_meter.reactivateMeter(meter_device, sender=admin)
    tx = submit(meter_device, registered_at + 120, 1_200, 5_700)
    assert [e.event_name for e in tx.events] == ["MeterBaselineSet", "ReadingAccepted"]
    assert energy_token.totalSupply() == 0
    assert smart_meter.getMeteredEnergy(meter_device) == (0, 0, 0)


# ----------------------------------------------------------------------------- reading validation


def test_reading_from_unknown_meter(smart_meter, stranger, reading):
    with reverts(smart_meter.MeterUnknown, meter=stranger.address):
        smart_meter.submitReading(reading(1, 1), sender=stranger)


def test_reading_in_future(smart_meter, meter, meter_device, reading, chain):
    block_ts = chain.pending_timestamp + 100
    chain.pending_timestamp = block_ts
    with reverts(smart_meter.ReadingInFuture, meter=meter, timestamp=block_ts + 1, blockTimestamp=block_ts):
        smart_meter.submitReading(reading(1, 1, timestamp=block_ts + 1), sender=meter_device)
    assert smart_meter.getLatestReading(meter) == EMPTY_READING


def test_reading_not_after_previous(smart_meter, meter, meter_device, baseline, reading):
    with reverts(smart_meter.ReadingNotAfterPrevious, meter=meter, timestamp=baseline, previousTimestamp=baseline):
        smart_meter.submitReading(reading(1_000, 5_000, timestamp=baseline), sender=meter_device)
    with reverts(smart_meter.ReadingNotAfterPrevious, meter=meter, timestamp=baseline - 1, previousTimestamp=baseline):
        smart_meter.submitReading(reading(1_000, 5_000, timestamp=baseline - 1), sender=meter_device)
    assert smart_meter.getLatestReading(meter).timestamp == baseline


def test_first_reading_at_time_zero(smart_meter, meter, meter_device, reading):
    # A meter without any reading still needs a timestamp after 0.
    with reverts(smart_meter.ReadingNotAfterPrevious, meter=meter, timestamp=0, previousTimestamp=0):
        smart_meter.submitReading(reading(1, 1, timestamp=0), sender=meter_device)


def test_reading_too_frequent(smart_meter, meter, meter_device, baseline, submit):
    earliest = baseline + DEFAULT_MIN_READING_INTERVAL
    with reverts(smart_meter.ReadingTooFrequent, meter=meter, timestamp=earliest - 1, earliestTimestamp=earliest):
        submit(meter_device, earliest - 1, 1_000, 5_000)
    submit(meter_device, earliest, 1_000, 5_001)
    assert smart_meter.getLatestReading(meter).timestamp == earliest


def test_min_reading_interval_setter(smart_meter, admin, meter, meter_device, baseline, submit, reading):
    with reverts(smart_meter.MinReadingIntervalTooLong, secondsRequested=INTERVAL_SECONDS + 1, maxSeconds=INTERVAL_SECONDS):
        smart_meter.setMinReadingInterval(INTERVAL_SECONDS + 1, sender=admin)

    tx = smart_meter.setMinReadingInterval(INTERVAL_SECONDS, sender=admin)
    assert_logs(tx, log(smart_meter.MinReadingIntervalUpdated, previousSeconds=60, newSeconds=INTERVAL_SECONDS))
    assert smart_meter.minReadingInterval() == INTERVAL_SECONDS
    with reverts(smart_meter.ReadingTooFrequent, meter=meter, timestamp=baseline + 899, earliestTimestamp=baseline + 900):
        submit(meter_device, baseline + 899, 1_000, 5_000)

    tx = smart_meter.setMinReadingInterval(0, sender=admin)
    assert_logs(tx, log(smart_meter.MinReadingIntervalUpdated, previousSeconds=INTERVAL_SECONDS, newSeconds=0))
    assert smart_meter.minReadingInterval() == 0
    # Without a rate limit, readings one second apart are accepted; equal timestamps still are not.
    ts = baseline + 1_000
    submit(meter_device, ts, 1_001, 5_001)
    submit(meter_device, ts + 1, 1_002, 5_002)
    assert smart_meter.getLatestReading(meter) == (ts + 1, 1_002, 5_002, 50_000, 1_000)
    with reverts(smart_meter.ReadingNotAfterPrevious, meter=meter, timestamp=ts + 1, previousTimestamp=ts + 1):
        smart_meter.submitReading(reading(1_003, 5_003, timestamp=ts + 1), sender=meter_device)


def test_registers_must_not_decrease(smart_meter, meter, meter_device, baseline, submit):
    ts = baseline + 60
    with reverts(smart_meter.ConsumptionRegisterDecreased, meter=meter, registerWh=999, previousRegisterWh=1_000):
        submit(meter_device, ts, 999, 6_000)
    with reverts(smart_meter.ProductionRegisterDecreased, meter=meter, registerWh=4_999, previousRegisterWh=5_000):
        submit(meter_device, ts + 1, 2_000, 4_999)
    # Unchanged registers are fine.
    tx = submit(meter_device, ts + 2, 1_000, 5_000)
    assert_logs(tx, accepted(smart_meter, meter, ts + 2))


@pytest.mark.parametrize("which", ["consumption", "production"])
def test_reading_register_out_of_range(smart_meter, meter, meter_device, reading, which):
    registers = {"consumption": 0, "production": 0, which: MAX_REGISTER_WH + 1}
    with reverts(smart_meter.RegisterOutOfRange, meter=meter, registerWh=MAX_REGISTER_WH + 1):
        smart_meter.submitReading(reading(registers["consumption"], registers["production"]), sender=meter_device)


def test_reading_register_at_maximum(smart_meter, meter, meter_device, reading):
    tx = smart_meter.submitReading(reading(MAX_REGISTER_WH, MAX_REGISTER_WH), sender=meter_device)
    latest = smart_meter.getLatestReading(meter)
    assert (latest.consumption, latest.production) == (MAX_REGISTER_WH, MAX_REGISTER_WH)
    assert tx.events.filter(smart_meter.MeterBaselineSet)[0].consumptionRegisterWh == MAX_REGISTER_WH


@pytest.mark.parametrize("frequency", [44_999, 65_001])
def test_frequency_out_of_bounds(smart_meter, meter, meter_device, reading, frequency):
    with reverts(smart_meter.FrequencyOutOfBounds, meter=meter, gridFrequencyMilliHz=frequency):
        smart_meter.submitReading(reading(1, 1, frequency_millihz=frequency), sender=meter_device)


@pytest.mark.parametrize("frequency", [45_000, 65_000])
def test_frequency_at_bounds(smart_meter, meter, meter_device, reading, frequency):
    accepted_reading = reading(1, 1, frequency_millihz=frequency)
    ts = accepted_reading[0]
    tx = smart_meter.submitReading(accepted_reading, sender=meter_device)
    assert tx.events.filter(smart_meter.ReadingAccepted) == [accepted(smart_meter, meter, ts)]
    assert smart_meter.getLatestReading(meter).gridFrequency == frequency
    assert smart_meter.getIntervalHistory(meter, interval_of(ts), 1)[0].gridFrequencyMilliHz == frequency


@pytest.mark.parametrize("voltage", [499, 1_501])
def test_voltage_out_of_bounds(smart_meter, meter, meter_device, reading, voltage):
    with reverts(smart_meter.VoltageOutOfBounds, meter=meter, voltagePerMille=voltage):
        smart_meter.submitReading(reading(1, 1, voltage_per_mille=voltage), sender=meter_device)


@pytest.mark.parametrize("voltage", [500, 1_500])
def test_voltage_at_bounds(smart_meter, meter, meter_device, reading, voltage):
    accepted_reading = reading(1, 1, voltage_per_mille=voltage)
    ts = accepted_reading[0]
    tx = smart_meter.submitReading(accepted_reading, sender=meter_device)
    assert tx.events.filter(smart_meter.ReadingAccepted) == [accepted(smart_meter, meter, ts)]
    assert smart_meter.getLatestReading(meter).voltage == voltage
    assert smart_meter.getIntervalHistory(meter, interval_of(ts), 1)[0].voltagePerMille == voltage


def test_interval_energy_at_maximum(smart_meter, energy_token, owner, meter, meter_device, baseline, submit):
    tx = submit(meter_device, baseline + 60, 1_000 + MAX_INTERVAL_ENERGY_WH, 5_000 + MAX_INTERVAL_ENERGY_WH)
    assert tx.events.filter(smart_meter.ReadingAccepted)[0].productionWh == MAX_INTERVAL_ENERGY_WH
    assert energy_token.balanceOf(owner) == MAX_INTERVAL_ENERGY_WH
    assert smart_meter.getIntervalEnergy(meter, interval_of(baseline)) == (MAX_INTERVAL_ENERGY_WH, MAX_INTERVAL_ENERGY_WH)


@pytest.mark.parametrize("which", ["consumption", "production"])
def test_interval_energy_out_of_range_in_one_reading(smart_meter, meter, meter_device, baseline, submit, which):
    increase = {"consumption": 0, "production": 0, which: MAX_INTERVAL_ENERGY_WH + 1}
    ts = baseline + 900  # a fresh interval: the reading alone exceeds it
    with reverts(smart_meter.IntervalEnergyOutOfRange, meter=meter, interval=interval_of(ts)):
        submit(meter_device, ts, 1_000 + increase["consumption"], 5_000 + increase["production"])


def test_interval_energy_out_of_range_accumulated(smart_meter, energy_token, owner, meter, meter_device, baseline, submit):
    half = 2**39
    submit(meter_device, baseline + 60, 1_000, 5_000 + half)
    with reverts(smart_meter.IntervalEnergyOutOfRange, meter=meter, interval=interval_of(baseline)):
        submit(meter_device, baseline + 120, 1_000, 5_000 + 2 * half)
    assert energy_token.balanceOf(owner) == half
    # The same increase in the next interval is accepted.
    submit(meter_device, baseline + 900, 1_000, 5_000 + 2 * half)
    assert energy_token.balanceOf(owner) == 2 * half


# ----------------------------------------------------------------------------- load profile


def test_readings_in_one_interval_accumulate(smart_meter, energy_token, owner, meter, meter_device, baseline, submit):
    interval = interval_of(baseline)
    tx1 = submit(meter_device, baseline + 60, 1_010, 5_100)
    tx2 = submit(meter_device, baseline + 300, 1_030, 5_300)
    tx3 = submit(meter_device, baseline + 899, 1_035, 5_350)

    assert_logs(tx1, minted(energy_token, owner.address, 100), accepted(smart_meter, meter, baseline + 60, 10, 100))
    assert_logs(tx2, minted(energy_token, owner.address, 200), accepted(smart_meter, meter, baseline + 300, 20, 200))
    assert_logs(tx3, minted(energy_token, owner.address, 50), accepted(smart_meter, meter, baseline + 899, 5, 50))
    assert smart_meter.getIntervalEnergy(meter, interval) == (35, 350)
    assert smart_meter.getIntervalEnergy(meter, interval + 1) == (0, 0)
    assert smart_meter.getIntervalHistory(meter, interval, 1) == [(interval, 35, 350, 1_035, 5_350, 50_000, 1_000)]
    assert energy_token.balanceOf(owner) == 350
    assert energy_token.totalSupply() == 350
    assert smart_meter.getMeteredEnergy(meter) == (35, 350, 0)


def test_interval_history_records(smart_meter, meter, meter_device, submit, chain):
    start = next_interval_start(chain, offset=30)
    interval = interval_of(start)
    submit(meter_device, start, 100, 200, frequency_millihz=49_900, voltage_per_mille=990)
    submit(meter_device, start + 900, 110, 230, frequency_millihz=50_100, voltage_per_mille=1_010)
    submit(meter_device, start + 3 * 900, 150, 300)

    assert smart_meter.getIntervalHistory(meter, interval - 1, 6) == [
        (interval - 1, 0, 0, 0, 0, 0, 0),  # before the first reading
        (interval, 0, 0, 100, 200, 49_900, 990),  # the baseline: registers only
        (interval + 1, 10, 30, 110, 230, 50_100, 1_010),
        (interval + 2, 0, 0, 0, 0, 0, 0),  # no reading: an empty record
        (interval + 3, 40, 70, 150, 300, 50_000, 1_000),
        (interval + 4, 0, 0, 0, 0, 0, 0),  # after the latest reading
    ]
    assert smart_meter.getIntervalEnergy(meter, interval + 1) == (10, 30)
    assert smart_meter.getIntervalEnergy(meter, interval + 3) == (40, 70)
    page = smart_meter.getIntervalHistory(meter, interval, MAX_HISTORY_PAGE)
    assert len(page) == MAX_HISTORY_PAGE
    assert [r.interval for r in page] == list(range(interval, interval + MAX_HISTORY_PAGE))
    assert sum(r.productionWh for r in page) == 100


@pytest.mark.parametrize("count", [0, MAX_HISTORY_PAGE + 1])
def test_interval_history_invalid_page(smart_meter, meter, count):
    with reverts(smart_meter.InvalidHistoryPage, count=count, maxCount=MAX_HISTORY_PAGE):
        smart_meter.getIntervalHistory(meter, 1, count)


def test_gap_counts_whole_delta_in_reading_interval(smart_meter, energy_token, owner, meter, meter_device, baseline, submit):
    interval = interval_of(baseline)
    ts = baseline + 10 * INTERVAL_SECONDS + 10
    tx = submit(meter_device, ts, 1_200, 5_500)

    assert_logs(tx, minted(energy_token, owner.address, 500), accepted(smart_meter, meter, ts, 200, 500))
    assert smart_meter.getIntervalEnergy(meter, interval + 10) == (200, 500)
    history = smart_meter.getIntervalHistory(meter, interval + 1, 9)
    assert [(r.consumptionWh, r.productionWh, r.consumptionRegisterWh) for r in history] == [(0, 0, 0)] * 9
    assert energy_token.balanceOf(owner) == 500


def test_daily_totals(smart_meter, meter, meter_device, submit, chain):
    day_start = next_day_start(chain, offset=100)
    day = day_of(day_start)
    submit(meter_device, day_start, 1_000, 2_000)  # baseline
    submit(meter_device, day_start + 900, 1_030, 2_070)
    submit(meter_device, day_start + 5_000, 1_035, 2_080)

    # No-argument forms: the calling meter, today by block time.
    assert smart_meter.getDailyProduction(sender=meter_device) == 80
    assert smart_meter.getDailyConsumption(sender=meter_device) == 35
    assert smart_meter.getDailyProduction(meter, day) == 80
    assert smart_meter.getDailyConsumption(meter, day) == 35
    assert smart_meter.getDailyProduction(meter, day - 1) == 0
    assert smart_meter.getDailyConsumption(meter, day + 1) == 0

    # A new day by block time: today is empty until the meter reads in it.
    chain.pending_timestamp = day_start + DAY_SECONDS
    chain.mine()
    assert smart_meter.getDailyProduction(sender=meter_device) == 0
    assert smart_meter.getDailyConsumption(sender=meter_device) == 0
    submit(meter_device, day_start + DAY_SECONDS + 60, 1_040, 2_100)
    assert smart_meter.getDailyProduction(sender=meter_device) == 20
    assert smart_meter.getDailyConsumption(sender=meter_device) == 5
    assert smart_meter.getDailyProduction(meter, day) == 80
    assert smart_meter.getDailyConsumption(meter, day) == 35
    assert smart_meter.getDailyProduction(meter, day + 1) == 20


def test_no_arg_getters_answer_for_caller(smart_meter, admin, owner, meter, meter_device, meter_device_2, submit, chain):
    smart_meter.registerMeter(meter_device_2, owner, REGION, sender=admin)
    ts = next_interval_start(chain)
    submit(meter_device, ts, 10, 20)
    submit(meter_device_2, ts + 1, 30, 40, frequency_millihz=49_000)
    submit(meter_device, ts + 60, 11, 25)
    submit(meter_device_2, ts + 61, 33, 47)

    assert smart_meter.getLatestReading(sender=meter_device) == (ts + 60, 11, 25, 50_000, 1_000)
    assert smart_meter.getLatestReading(sender=meter_device_2) == (ts + 61, 33, 47, 50_000, 1_000)
    assert smart_meter.getLatestReading(meter_device_2) == (ts + 61, 33, 47, 50_000, 1_000)
    assert smart_meter.getDailyProduction(sender=meter_device) == 5
    assert smart_meter.getDailyProduction(sender=meter_device_2) == 7
    assert smart_meter.getDailyConsumption(sender=meter_device) == 1
    assert smart_meter.getDailyConsumption(sender=meter_device_2) == 3


def test_old_intervals_leave_the_profile(smart_meter, energy_token, owner, meter, meter_device, baseline, submit):
    first = interval_of(baseline)
    submit(meter_device, baseline + 900, 1_010, 5_100)
    # Next reading after PROFILE_CAPACITY intervals: it lands in the ring slot of interval first + 1.
    ts = baseline + (PROFILE_CAPACITY + 1) * INTERVAL_SECONDS
    latest = interval_of(ts)
    assert latest == first + 1 + PROFILE_CAPACITY
    tx = submit(meter_device, ts, 1_060, 5_350)
    assert_logs(tx, minted(energy_token, owner.address, 250), accepted(smart_meter, meter, ts, 50, 250))

    oldest_retained = latest - PROFILE_CAPACITY + 1
    with reverts(smart_meter.IntervalNotRetained, meter=meter, interval=oldest_retained - 1):
        smart_meter.getIntervalEnergy(meter, oldest_retained - 1)
    with reverts(smart_meter.IntervalNotRetained, meter=meter, interval=first):
        smart_meter.getIntervalHistory(meter, first, 2)
    assert smart_meter.getIntervalEnergy(meter, oldest_retained) == (0, 0)
    assert smart_meter.getIntervalEnergy(meter, latest) == (50, 250)
    assert smart_meter.getIntervalHistory(meter, latest, 1) == [(latest, 50, 250, 1_060, 5_350, 50_000, 1_000)]

    old_day = day_of(baseline)
    with reverts(smart_meter.IntervalNotRetained, meter=meter, interval=old_day * INTERVALS_PER_DAY):
        smart_meter.getDailyProduction(meter, old_day)
    with reverts(smart_meter.IntervalNotRetained, meter=meter, interval=old_day * INTERVALS_PER_DAY):
        smart_meter.getDailyConsumption(meter, old_day)
    assert smart_meter.getDailyProduction(meter, day_of(ts)) == 250
    assert smart_meter.getDailyProduction(sender=meter_device) == 250
    assert smart_meter.getMeteredEnergy(meter) == (60, 350, 0)
    assert energy_token.balanceOf(owner) == 350


def test_ring_slots_still_holding_old_intervals_read_as_empty(smart_meter, meter, meter_device, submit, chain):
    """After a long gap the ring still holds entries from PROFILE_CAPACITY intervals ago in slots
    that retained intervals map to: those intervals had no reading and must read as empty."""
    start = next_day_start(chain, offset=10 * INTERVAL_SECONDS)
    first = interval_of(start)
    submit(meter_device, start, 1_000, 5_000)  # baseline
    submit(meter_device, start + INTERVAL_SECONDS, 1_010, 5_100)  # +10 / +100 in interval first + 1
    ts = start + (PROFILE_CAPACITY + 2) * INTERVAL_SECONDS
    latest = interval_of(ts)
    submit(meter_device, ts, 1_060, 5_350)

    stale = first + 1 + PROFILE_CAPACITY  # retained, shares its slot with interval first + 1
    assert smart_meter.getIntervalEnergy(meter, stale) == (0, 0)
    assert smart_meter.getIntervalHistory(meter, stale - 1, 3) == [
        (stale - 1, 0, 0, 0, 0, 0, 0),  # shares its slot with the baseline's interval
        (stale, 0, 0, 0, 0, 0, 0),
        (latest, 50, 250, 1_060, 5_350, 50_000, 1_000),
    ]
    assert day_of(ts) == day_of(stale * INTERVAL_SECONDS)
    assert smart_meter.getDailyProduction(meter, day_of(ts)) == 250
    assert smart_meter.getDailyConsumption(sender=meter_device) == 50
    with reverts(smart_meter.IntervalNotRetained, meter=meter, interval=first + 2):
        smart_meter.getIntervalEnergy(meter, first + 2)
    assert smart_meter.getIntervalEnergy(meter, first + 3) == (0, 0)


def test_times_beyond_the_interval_counter_are_rejected(smart_meter, meter, meter_device, baseline, submit):
    max_interval = smart_meter.MAX_INTERVAL()
    assert max_interval == 2**32 - 1
    assert smart_meter.getIntervalEnergy(meter, max_interval) == (0, 0)  # the future: nothing metered yet
    with reverts(smart_meter.IntervalOutOfRange, interval=max_interval + 1):
        smart_meter.getIntervalEnergy(meter, max_interval + 1)
    with reverts(smart_meter.IntervalOutOfRange, interval=2**256 - 1):
        smart_meter.getIntervalHistory(meter, 2**256 - 1, 1)
    last_day = max_interval // INTERVALS_PER_DAY
    assert smart_meter.getDailyProduction(meter, last_day) == 0
    with reverts(smart_meter.DayOutOfRange, day=last_day + 1):
        smart_meter.getDailyProduction(meter, last_day + 1)
    with reverts(smart_meter.DayOutOfRange, day=2**256 - 1):
        smart_meter.getDailyConsumption(meter, 2**256 - 1)


# ----------------------------------------------------------------------------- batches


@pytest.fixture
def three_meters(smart_meter, admin, owner, other, meter_device, meter_device_2, accounts, chain):
    """Three meters registered with registers (owner, other, owner); returns (addresses, last registration time)."""
    meters = [meter_device.address, meter_device_2.address, accounts[5].address]
    owners = [owner, other, owner]
    for i, (m, o) in enumerate(zip(meters, owners, strict=True)):
        tx = smart_meter.registerMeter(m, o, REGION, 100 * i, 1_000 * i, sender=admin)
    return meters, tx.timestamp


def test_batch_mints_to_each_owner(smart_meter, energy_token, admin, owner, other, three_meters, reading, chain):
    meters, registered_at = three_meters
    ts = registered_at + 60
    chain.pending_timestamp = ts
    readings = [reading(10, 100, timestamp=ts), reading(120, 1_200, timestamp=ts), reading(230, 2_300, timestamp=ts)]
    tx = smart_meter.submitReadings(meters, readings, sender=admin)

    assert tx.events.filter(smart_meter.ReadingAccepted) == [
        accepted(smart_meter, meters[0], ts, 10, 100),
        accepted(smart_meter, meters[1], ts, 20, 200),
        accepted(smart_meter, meters[2], ts, 30, 300),
    ]
    assert tx.events.filter(energy_token.Transfer) == [
        minted(energy_token, owner.address, 100),
        minted(energy_token, other.address, 200),
        minted(energy_token, owner.address, 300),
    ]
    assert energy_token.balanceOf(owner) == 400
    assert energy_token.balanceOf(other) == 200
    assert energy_token.totalSupply() == 600
    assert [smart_meter.getLatestReading(m).timestamp for m in meters] == [ts] * 3


def test_batch_mints_only_for_exports(smart_meter, energy_token, admin, owner, other, three_meters, reading, chain):
    """Readings without an export increase mint nothing; the others are still minted to their owners."""
    meters, registered_at = three_meters
    ts = registered_at + 60
    chain.pending_timestamp = ts
    readings = [reading(10, 100, timestamp=ts), reading(120, 1_000, timestamp=ts), reading(200, 2_300, timestamp=ts)]
    tx = smart_meter.submitReadings(meters, readings, sender=admin)

    assert tx.events.filter(smart_meter.ReadingAccepted) == [
        accepted(smart_meter, meters[0], ts, 10, 100),
        accepted(smart_meter, meters[1], ts, 20, 0),
        accepted(smart_meter, meters[2], ts, 0, 300),
    ]
    assert tx.events.filter(energy_token.Transfer) == [
        minted(energy_token, owner.address, 100),
        minted(energy_token, owner.address, 300),
    ]
    assert energy_token.balanceOf(owner) == 400
    assert energy_token.balanceOf(other) == 0

    # A batch that exports nothing mints nothing.
    chain.pending_timestamp = ts + 60
    readings = [reading(11, 100, timestamp=ts + 60), reading(121, 1_000, timestamp=ts + 60)]
    tx = smart_meter.submitReadings(meters[:2], readings, sender=admin)
    assert tx.events.filter(energy_token.Transfer) == []
    assert len(tx.events.filter(smart_meter.ReadingAccepted)) == 2
    assert energy_token.totalSupply() == 400


def test_minting_needs_meter_role_on_token(smart_meter, energy_token, admin, meter, meter_device, baseline, submit):
    energy_token.revokeRole(METER_ROLE, smart_meter, sender=admin)
    # The token's revert bubbles up; ape decodes it with the called contract's ABI (same error).
    with reverts(smart_meter.AccessControlUnauthorizedAccount, account=smart_meter.address, neededRole=METER_ROLE):
        submit(meter_device, baseline + 60, 1_000, 5_001)
    # A reading that exports nothing does not touch the token.
    submit(meter_device, baseline + 61, 1_001, 5_000)
    assert smart_meter.getLatestReading(meter).timestamp == baseline + 61


def test_batch_bad_item_reverts_whole_batch(smart_meter, energy_token, admin, owner, three_meters, reading, chain):
    meters, registered_at = three_meters
    ts = registered_at + 60
    chain.pending_timestamp = ts
    readings = [
        reading(10, 100, timestamp=ts),
        reading(120, 1_200, timestamp=ts, frequency_millihz=44_999),
        reading(230, 2_300, timestamp=ts),
    ]
    with reverts(smart_meter.FrequencyOutOfBounds, meter=meters[1], gridFrequencyMilliHz=44_999):
        smart_meter.submitReadings(meters, readings, sender=admin)
    assert energy_token.totalSupply() == 0
    latest = [smart_meter.getLatestReading(m) for m in meters]
    assert [(r.consumption, r.production) for r in latest] == [(0, 0), (100, 1_000), (200, 2_000)]


def test_batch_unknown_meter_reverts(smart_meter, admin, stranger, three_meters, reading, chain):
    meters, registered_at = three_meters
    ts = registered_at + 60
    chain.pending_timestamp = ts
    batch = [reading(10, 100, timestamp=ts), reading(10, 100, timestamp=ts)]
    with reverts(smart_meter.MeterUnknown, meter=stranger.address):
        smart_meter.submitReadings([meters[0], stranger.address], batch, sender=admin)


def test_batch_shape_errors(smart_meter, admin, meter, reading):
    with reverts(smart_meter.EmptyBatch):
        smart_meter.submitReadings([], [], sender=admin)
    too_many = MAX_BATCH_SIZE + 1
    with reverts(smart_meter.BatchTooLarge, size=too_many, maxSize=MAX_BATCH_SIZE):
        smart_meter.submitReadings([meter] * too_many, [reading(1, 1)] * too_many, sender=admin)
    with reverts(smart_meter.BatchLengthMismatch, meters=2, readings=1):
        smart_meter.submitReadings([meter, meter], [reading(1, 1)], sender=admin)
    with reverts(smart_meter.BatchLengthMismatch, meters=1, readings=0):
        smart_meter.submitReadings([meter], [], sender=admin)


def test_full_batch_of_one_meters_backlog(smart_meter, energy_token, admin, owner, meter, chain):
    """A gateway replays a meter's backlog: MAX_BATCH_SIZE readings, one second apart, no rate limit."""
    smart_meter.setMinReadingInterval(0, sender=admin)
    end = chain.pending_timestamp + 10
    chain.pending_timestamp = end
    first = end - (MAX_BATCH_SIZE - 1)
    readings = [(first + i, 3 * i, 10 * i, 50_000, 1_000) for i in range(MAX_BATCH_SIZE)]
    tx = smart_meter.submitReadings([meter] * MAX_BATCH_SIZE, readings, sender=admin)

    assert len(tx.events.filter(smart_meter.ReadingAccepted)) == MAX_BATCH_SIZE
    assert len(tx.events.filter(smart_meter.MeterBaselineSet)) == 1
    assert energy_token.balanceOf(owner) == 10 * (MAX_BATCH_SIZE - 1)
    assert smart_meter.getMeteredEnergy(meter) == (3 * (MAX_BATCH_SIZE - 1), 10 * (MAX_BATCH_SIZE - 1), 0)
    assert smart_meter.getLatestReading(meter).timestamp == end


def test_batch_same_meter_twice_is_rate_limited(smart_meter, admin, meter, reading, chain):
    ts = chain.pending_timestamp + 100
    chain.pending_timestamp = ts
    with reverts(smart_meter.ReadingTooFrequent, meter=meter, timestamp=ts, earliestTimestamp=ts - 10 + 60):
        smart_meter.submitReadings([meter, meter], [reading(1, 1, timestamp=ts - 10), reading(2, 2, timestamp=ts)], sender=admin)


# ----------------------------------------------------------------------------- emergency pause


def test_pause_stops_readings_and_loses_no_energy(smart_meter, energy_token, admin, owner, stranger, meter, meter_device, baseline, submit, reading, chain):
    smart_meter.grantRole(PAUSER_ROLE, stranger, sender=admin)  # a guardian
    tx = smart_meter.pause(sender=stranger)
    assert_logs(tx, log(smart_meter.Paused, account=stranger.address))
    assert smart_meter.paused()
    with reverts(smart_meter.EnforcedPause):
        smart_meter.pause(sender=stranger)
    minted = energy_token.balanceOf(owner)
    chain.pending_timestamp = baseline + 900
    with reverts(smart_meter.EnforcedPause):
        submit(meter_device, baseline + 900, 1_200, 5_300)
    with reverts(smart_meter.EnforcedPause):
        smart_meter.submitReadings([meter], [reading(1_200, 5_300, timestamp=baseline + 900)], sender=admin)
    # The guardian cannot restart metering; the admin can.
    with reverts(smart_meter.AccessControlUnauthorizedAccount, account=stranger.address, neededRole=DEFAULT_ADMIN_ROLE):
        smart_meter.unpause(sender=stranger)
    tx = smart_meter.unpause(sender=admin)
    assert_logs(tx, log(smart_meter.Unpaused, account=admin.address))
    with reverts(smart_meter.ExpectedPause):
        smart_meter.unpause(sender=admin)
    # Registers are cumulative: the first reading after the pause counts what was metered during it.
    submit(meter_device, baseline + 1_800, 1_400, 5_900)
    assert energy_token.balanceOf(owner) == minted + 900
    assert smart_meter.getIntervalEnergy(meter, interval_of(baseline + 1_800)) == (400, 900)


# ----------------------------------------------------------------------------- redemption


@pytest.fixture
def metered(meter, meter_device, baseline, submit):
    """`meter` has metered 500 Wh consumption and 800 Wh production (800 Wh minted to owner)."""
    submit(meter_device, baseline + 900, 1_500, 5_800)
    return meter


def test_redeem_consumption(smart_meter, energy_token, owner, metered):
    meter = metered
    tx = smart_meter.redeemConsumption(meter, 200, sender=owner)

    assert_logs(
        tx,
        burned(energy_token, owner.address, 200),
        log(smart_meter.ConsumptionRedeemed, meter=meter, owner=owner.address, amountWh=200),
    )
    assert energy_token.balanceOf(owner) == 600
    assert energy_token.totalSupply() == 600
    assert smart_meter.getMeteredEnergy(meter) == (500, 800, 200)

    with reverts(smart_meter.RedemptionExceedsConsumption, meter=meter, amountWh=301, redeemableWh=300):
        smart_meter.redeemConsumption(meter, 301, sender=owner)
    smart_meter.redeemConsumption(meter, 300, sender=owner)
    assert smart_meter.getMeteredEnergy(meter) == (500, 800, 500)
    assert energy_token.balanceOf(owner) == 300
    with reverts(smart_meter.RedemptionExceedsConsumption, meter=meter, amountWh=1, redeemableWh=0):
        smart_meter.redeemConsumption(meter, 1, sender=owner)


def test_redeem_limited_to_metered_consumption_not_balance(smart_meter, energy_token, owner, metered):
    assert energy_token.balanceOf(owner) == 800
    with reverts(smart_meter.RedemptionExceedsConsumption, meter=metered, amountWh=501, redeemableWh=500):
        smart_meter.redeemConsumption(metered, 501, sender=owner)
    assert energy_token.balanceOf(owner) == 800


def test_redeem_needs_tokens(smart_meter, energy_token, owner, other, metered):
    energy_token.transfer(other, 750, sender=owner)
    with reverts(energy_token.ERC20InsufficientBalance, sender=owner.address, balance=50, needed=200):
        smart_meter.redeemConsumption(metered, 200, sender=owner)
    assert smart_meter.getMeteredEnergy(metered) == (500, 800, 0)


def test_redeem_errors(smart_meter, owner, stranger, metered):
    with reverts(smart_meter.NotMeterOwner, meter=metered, caller=stranger.address):
        smart_meter.redeemConsumption(metered, 1, sender=stranger)
    with reverts(smart_meter.ZeroRedemption):
        smart_meter.redeemConsumption(metered, 0, sender=owner)
    with reverts(smart_meter.MeterUnknown, meter=stranger.address):
        smart_meter.redeemConsumption(stranger, 1, sender=owner)


def test_redeem_excludes_baseline_and_suspension(smart_meter, energy_token, admin, owner, metered, meter_device, baseline, submit):
    """Consumption before the baseline or while suspended is not metered, so it cannot be redeemed."""
    smart_meter.deactivateMeter(metered, sender=admin)
    smart_meter.reactivateMeter(metered, sender=admin)
    submit(meter_device, baseline + 3 * 900, 9_000, 5_800)  # 7_500 Wh while suspended: re-baseline
    assert smart_meter.getMeteredEnergy(metered) == (500, 800, 0)
    with reverts(smart_meter.RedemptionExceedsConsumption, meter=metered, amountWh=501, redeemableWh=500):
        smart_meter.redeemConsumption(metered, 501, sender=owner)
    submit(meter_device, baseline + 4 * 900, 9_100, 5_800)
    assert smart_meter.getMeteredEnergy(metered) == (600, 800, 0)
    smart_meter.redeemConsumption(metered, 600, sender=owner)
    assert smart_meter.getMeteredEnergy(metered) == (600, 800, 600)
    assert energy_token.balanceOf(owner) == 200


# ----------------------------------------------------------------------------- energy in a range


def test_energy_in_range_sums_intervals(smart_meter, meter, meter_device, submit, chain):
    start = next_interval_start(chain, offset=30)
    interval = interval_of(start)
    submit(meter_device, start, 100, 200)  # baseline: counts nothing
    submit(meter_device, start + 900, 110, 230)
    submit(meter_device, start + 3 * 900, 150, 300)  # interval + 2 has no reading: counts 0

    assert smart_meter.getEnergyInRange(meter, interval, 4) == (50, 100)
    assert smart_meter.getEnergyInRange(meter, interval + 1, 1) == (10, 30)
    assert smart_meter.getEnergyInRange(meter, interval + 2, 1) == (0, 0)
    assert smart_meter.getEnergyInRange(meter, interval - 10, 12) == (10, 30)  # before the first reading: 0
    assert smart_meter.getEnergyInRange(meter, interval + 3, MAX_HISTORY_PAGE) == (40, 70)  # beyond the latest: 0
    page = smart_meter.getIntervalHistory(meter, interval, 4)
    assert smart_meter.getEnergyInRange(meter, interval, 4) == (
        sum(r.consumptionWh for r in page),
        sum(r.productionWh for r in page),
    )


@pytest.mark.parametrize("count", [0, MAX_HISTORY_PAGE + 1])
def test_energy_in_range_invalid_page(smart_meter, meter, count):
    with reverts(smart_meter.InvalidHistoryPage, count=count, maxCount=MAX_HISTORY_PAGE):
        smart_meter.getEnergyInRange(meter, 1, count)


def test_energy_in_range_reverts_like_the_other_profile_getters(smart_meter, meter, meter_device, baseline, submit, stranger):
    with reverts(smart_meter.MeterUnknown, meter=stranger.address):
        smart_meter.getEnergyInRange(stranger.address, 1, 1)
    max_interval = smart_meter.MAX_INTERVAL()
    with reverts(smart_meter.IntervalOutOfRange, interval=max_interval + 1):
        smart_meter.getEnergyInRange(meter, max_interval + 1, 1)
    assert smart_meter.getEnergyInRange(meter, max_interval, MAX_HISTORY_PAGE) == (0, 0)
    first = interval_of(baseline)
    ts = baseline + PROFILE_CAPACITY * INTERVAL_SECONDS
    submit(meter_device, ts, 1_010, 5_100)
    with reverts(smart_meter.IntervalNotRetained, meter=meter, interval=first):
        smart_meter.getEnergyInRange(meter, first, 2)
    assert smart_meter.getEnergyInRange(meter, first + 1, MAX_HISTORY_PAGE) == (0, 0)
    assert smart_meter.getEnergyInRange(meter, interval_of(ts), 1) == (10, 100)


# ----------------------------------------------------------------------------- constructor


def test_constructor_rejects_zero_addresses(project, smart_meter, energy_token, admin):
    with deploy_reverts(smart_meter.ZeroAddress):
        project.SmartMeter.deploy(ZERO_ADDRESS, energy_token, sender=admin)
    with deploy_reverts(smart_meter.ZeroAddress):
        project.SmartMeter.deploy(admin, ZERO_ADDRESS, sender=admin)


# ----------------------------------------------------------------------------- back-dated readings


def test_back_dated_readings_are_bounded(smart_meter, energy_token, owner, meter, meter_device, chain):
    """Review finding: the rate limit compares reading times only, so a silent meter could send
    readings back-dated by weeks, back to back, and place its energy in whichever past intervals
    it liked. A reading may now be at most maxReadingAge() old when it arrives."""
    now = next_interval_start(chain) + 10 * DAY_SECONDS
    weeks_ago = now - 30 * DAY_SECONDS
    with reverts(smart_meter.ReadingTooOld, meter=meter, timestamp=weeks_ago, oldestTimestamp=now - DEFAULT_MAX_READING_AGE):
        _submit_at(smart_meter, chain, meter_device, now, weeks_ago, 1_000, 5_000)
    oldest = now - DEFAULT_MAX_READING_AGE
    with reverts(smart_meter.ReadingTooOld, meter=meter, timestamp=oldest - 1, oldestTimestamp=oldest):
        _submit_at(smart_meter, chain, meter_device, now, oldest - 1, 1_000, 5_000)
    assert smart_meter.getLatestReading(meter) == EMPTY_READING

    # Exactly the limit is accepted, and what a gateway buffered through the outage goes in back to back.
    _submit_at(smart_meter, chain, meter_device, now, oldest, 1_000, 5_000)
    for i in range(1, 4):
        _submit_at(smart_meter, chain, meter_device, now + i, oldest + i * INTERVAL_SECONDS, 1_000 + i, 5_000 + 10 * i)
    assert smart_meter.getLatestReading(meter).timestamp == oldest + 3 * INTERVAL_SECONDS
    assert energy_token.balanceOf(owner) == 30
    assert smart_meter.getIntervalEnergy(meter, interval_of(oldest + INTERVAL_SECONDS)) == (1, 10)


def _submit_at(smart_meter, chain, device, block_ts, reading_ts, consumption, production):
    """Submits a reading timed `reading_ts` in a block at `block_ts`."""
    chain.pending_timestamp = block_ts
    reading = (reading_ts, consumption, production, FREQUENCY_NOMINAL_MILLIHZ, VOLTAGE_NOMINAL_PER_MILLE)
    return smart_meter.submitReading(reading, sender=device)


def test_back_dated_gateway_batch_is_bounded(smart_meter, admin, meter, chain):
    """A gateway's buffered backlog goes in while it is young enough; one entry too old reverts the batch."""
    now = next_interval_start(chain) + 10 * DAY_SECONDS
    oldest = now - DEFAULT_MAX_READING_AGE
    backlog = [(oldest + i * INTERVAL_SECONDS, i, 2 * i, FREQUENCY_NOMINAL_MILLIHZ, VOLTAGE_NOMINAL_PER_MILLE) for i in range(MAX_BATCH_SIZE)]
    chain.pending_timestamp = now
    with reverts(smart_meter.ReadingTooOld, meter=meter, timestamp=oldest - 1, oldestTimestamp=oldest):
        smart_meter.submitReadings([meter] * 2, [(oldest - 1, 0, 0, 50_000, 1_000), backlog[1]], sender=admin)
    chain.pending_timestamp = now
    tx = smart_meter.submitReadings([meter] * MAX_BATCH_SIZE, backlog, sender=admin)
    assert len(tx.events.filter(smart_meter.ReadingAccepted)) == MAX_BATCH_SIZE
    assert smart_meter.getMeteredEnergy(meter) == (MAX_BATCH_SIZE - 1, 2 * (MAX_BATCH_SIZE - 1), 0)


def test_max_reading_age_setter(smart_meter, admin, meter, meter_device, chain):
    for out_of_range in (MAX_READING_AGE_FLOOR - 1, MAX_READING_AGE_CEILING + 1, 0):
        with reverts(
            smart_meter.MaxReadingAgeOutOfRange,
            secondsRequested=out_of_range,
            minSeconds=MAX_READING_AGE_FLOOR,
            maxSeconds=MAX_READING_AGE_CEILING,
        ):
            smart_meter.setMaxReadingAge(out_of_range, sender=admin)
    assert smart_meter.maxReadingAge() == DEFAULT_MAX_READING_AGE

    tx = smart_meter.setMaxReadingAge(MAX_READING_AGE_FLOOR, sender=admin)
    assert_logs(tx, log(smart_meter.MaxReadingAgeUpdated, previousSeconds=DEFAULT_MAX_READING_AGE, newSeconds=MAX_READING_AGE_FLOOR))
    assert smart_meter.maxReadingAge() == MAX_READING_AGE_FLOOR
    now = next_interval_start(chain) + 40 * DAY_SECONDS
    with reverts(smart_meter.ReadingTooOld, meter=meter, timestamp=now - 901, oldestTimestamp=now - 900):
        _submit_at(smart_meter, chain, meter_device, now, now - 901, 0, 0)

    tx = smart_meter.setMaxReadingAge(MAX_READING_AGE_CEILING, sender=admin)
    assert_logs(tx, log(smart_meter.MaxReadingAgeUpdated, previousSeconds=MAX_READING_AGE_FLOOR, newSeconds=MAX_READING_AGE_CEILING))
    # The ceiling is the load profile's span: the oldest reading allowed still lands in a retained interval.
    later = tx.timestamp + 1
    _submit_at(smart_meter, chain, meter_device, later, later - MAX_READING_AGE_CEILING, 0, 0)
    assert smart_meter.getIntervalEnergy(meter, interval_of(later - MAX_READING_AGE_CEILING)) == (0, 0)
    assert smart_meter.getLatestReading(meter).timestamp == later - MAX_READING_AGE_CEILING


# ----------------------------------------------------------------------------- meter-signed readings


@pytest.fixture
def chain_id(chain):
    return chain.chain_id


@pytest.fixture
def signed_meters(smart_meter, admin, owner, other, meter_device, meter_device_2, chain):
    """meter_device (owner's) and meter_device_2 (other's), registered in the same second with
    registers 0 so their first reading already counts. Returns the registration time."""
    registered_at = chain.pending_timestamp + 1
    chain.pending_timestamp = registered_at
    smart_meter.registerMeter(meter_device, owner, REGION, 0, 0, sender=admin)
    chain.pending_timestamp = registered_at
    assert smart_meter.registerMeter(meter_device_2, other, REGION, 0, 0, sender=admin).timestamp == registered_at
    return registered_at


@pytest.fixture
def sign(smart_meter, chain_id):
    """Signs a reading as `device` with `nonce` (deadline: an hour after the reading by default)."""

    def build(device, nonce, ts, consumption, production, deadline=None, **kwargs) -> SignedReading:
        reading = (ts, consumption, production, kwargs.pop("frequency", FREQUENCY_NOMINAL_MILLIHZ), VOLTAGE_NOMINAL_PER_MILLE)
        return sign_reading(
            kwargs.pop("key", device.private_key),
            kwargs.pop("chain", chain_id),
            kwargs.pop("contract", smart_meter.address),
            nonce,
            ts + 3_600 if deadline is None else deadline,
            reading,
            meter=kwargs.pop("meter", device.address),
        )

    return build


def relay(smart_meter, relayer, *entries, ts=None, chain=None):
    if ts is not None:
        chain.pending_timestamp = ts
    return smart_meter.submitSignedReadings([e.as_tuple() for e in entries], sender=relayer)


def recovered(entry: SignedReading, chain_id: int, contract: str) -> str:
    """The address `entry`'s signature recovers to over the domain of `chain_id` and `contract`."""
    message = encode_typed_data(full_message=typed_data(chain_id, contract, entry.meter, entry.nonce, entry.deadline, entry.reading))
    return Account.recover_message(message, vrs=(entry.v, entry.r, entry.s))


def test_eip712_domain_and_types(smart_meter, chain_id):
    assert smart_meter.SIGNED_READING_TYPEHASH() == SIGNED_READING_TYPEHASH
    assert smart_meter.METER_READING_TYPEHASH() == METER_READING_TYPEHASH
    domain = smart_meter.eip712Domain()
    assert (domain.name, domain.version, domain.chainId, domain.verifyingContract) == ("SmartMeter", "1", chain_id, smart_meter.address)
    assert domain.fields == b"\x0f"  # name, version, chainId, verifyingContract
    message = typed_data(chain_id, smart_meter.address, ZERO_ADDRESS, 0, 0, EMPTY_READING)
    assert smart_meter.DOMAIN_SEPARATOR() == encode_typed_data(full_message=message).header


def test_signed_readings_relayed_by_anyone(
    smart_meter, energy_token, owner, other, stranger, meter_device, meter_device_2, signed_meters, sign, chain
):
    """A relayer with no role submits readings the meters signed; several of one meter go in nonce order."""
    ts = signed_meters + 60
    entries = [
        sign(meter_device, 0, ts, 100, 1_000),
        sign(meter_device_2, 0, ts, 50, 700),
        sign(meter_device, 1, ts + 900, 150, 1_400),
    ]
    assert not any(smart_meter.hasRole(r, stranger) for r in (GATEWAY_ROLE, OPERATOR_ROLE, DEFAULT_ADMIN_ROLE))
    tx = relay(smart_meter, stranger, *entries, ts=ts + 900, chain=chain)

    assert_logs(
        tx,
        accepted(smart_meter, meter_device.address, ts, 100, 1_000),
        accepted(smart_meter, meter_device_2.address, ts, 50, 700),
        accepted(smart_meter, meter_device.address, ts + 900, 50, 400),
        minted(energy_token, owner.address, 1_000),
        minted(energy_token, other.address, 700),
        minted(energy_token, owner.address, 400),
    )
    assert energy_token.balanceOf(owner) == 1_400
    assert energy_token.balanceOf(other) == 700
    assert smart_meter.nonces(meter_device) == 2
    assert smart_meter.nonces(meter_device_2) == 1
    assert smart_meter.getLatestReading(meter_device) == (ts + 900, 150, 1_400, FREQUENCY_NOMINAL_MILLIHZ, VOLTAGE_NOMINAL_PER_MILLE)
    # The meter's own and the gateway's readings do not use nonces.
    _submit_at(smart_meter, chain, meter_device, ts + 1_800, ts + 1_800, 160, 1_400)
    assert smart_meter.nonces(meter_device) == 2
    assert smart_meter.nonces(stranger) == 0


def test_buffered_signed_readings_after_an_outage(smart_meter, energy_token, owner, stranger, meter_device, signed_meters, chain, chain_id):
    """A device signed its 15-minute readings through an outage; six days later a relayer delivers a full batch."""
    start = signed_meters + 60
    now = start + 6 * DAY_SECONDS
    readings = [(start + i * INTERVAL_SECONDS, 0, 100 * (i + 1), FREQUENCY_NOMINAL_MILLIHZ, VOLTAGE_NOMINAL_PER_MILLE) for i in range(MAX_BATCH_SIZE)]
    entries = sign_readings(meter_device.private_key, chain_id, smart_meter.address, smart_meter.nonces(meter_device), now + 3_600, readings)
    assert [e.nonce for e in entries] == list(range(MAX_BATCH_SIZE))
    tx = relay(smart_meter, stranger, *entries, ts=now, chain=chain)
    assert len(tx.events.filter(smart_meter.ReadingAccepted)) == MAX_BATCH_SIZE
    assert energy_token.balanceOf(owner) == 100 * MAX_BATCH_SIZE
    assert smart_meter.nonces(meter_device) == MAX_BATCH_SIZE
    assert smart_meter.getIntervalEnergy(meter_device, interval_of(start + INTERVAL_SECONDS)) == (0, 100)


def test_signed_reading_deadline(smart_meter, energy_token, stranger, meter_device, signed_meters, sign, chain):
    ts = signed_meters + 60
    expired = sign(meter_device, 0, ts, 0, 10, deadline=ts + 99)
    with reverts(smart_meter.ReadingSignatureExpired, meter=meter_device.address, nonce=0, deadline=ts + 99):
        relay(smart_meter, stranger, expired, ts=ts + 100, chain=chain)
    # Valid up to and including the deadline's second.
    relay(smart_meter, stranger, sign(meter_device, 0, ts, 0, 10, deadline=ts + 100), ts=ts + 100, chain=chain)
    assert energy_token.balanceOf(smart_meter.getMeter(meter_device).owner) == 10


@pytest.mark.parametrize("where", ["another chain id", "another contract"])
def test_signature_for_another_domain_is_rejected(
    smart_meter, energy_token, stranger, meter_device, signed_meters, sign, chain, chain_id, where
):
    ts = signed_meters + 60
    domain = {"chain": chain_id + 1} if where == "another chain id" else {"contract": energy_token.address}
    entry = sign(meter_device, 0, ts, 0, 10, **domain)
    signer = recovered(entry, chain_id, smart_meter.address)
    assert signer != meter_device.address
    with reverts(smart_meter.InvalidReadingSignature, meter=meter_device.address, nonce=0, signer=signer):
        relay(smart_meter, stranger, entry, ts=ts, chain=chain)
    assert smart_meter.nonces(meter_device) == 0
    assert energy_token.totalSupply() == 0


def test_signature_by_another_key_or_none_is_rejected(
    smart_meter, energy_token, stranger, meter_device, meter_device_2, signed_meters, sign, chain
):
    ts = signed_meters + 60
    forged = sign(meter_device, 0, ts, 0, 10, key=meter_device_2.private_key)
    with reverts(smart_meter.InvalidReadingSignature, meter=meter_device.address, nonce=0, signer=meter_device_2.address):
        relay(smart_meter, stranger, forged, ts=ts, chain=chain)
    # Contents changed after signing recover to some other address.
    genuine = sign(meter_device, 0, ts, 0, 10)
    tampered = SignedReading(genuine.meter, 0, genuine.deadline, (ts, 0, 10_000, 50_000, 1_000), genuine.v, genuine.r, genuine.s)
    with reverts(smart_meter.InvalidReadingSignature, meter=meter_device.address, nonce=0, signer=recovered(tampered, chain.chain_id, smart_meter.address)):
        relay(smart_meter, stranger, tampered, ts=ts, chain=chain)
    # No signature at all (v not 27 or 28): recovers to nobody.
    unsigned = SignedReading(genuine.meter, 0, genuine.deadline, genuine.reading, 0, genuine.r, genuine.s)
    with reverts(smart_meter.InvalidReadingSignature, meter=meter_device.address, nonce=0, signer=ZERO_ADDRESS):
        relay(smart_meter, stranger, unsigned, ts=ts, chain=chain)
    # A meter of address 0 cannot pass with a signature that recovers to nobody.
    zero = SignedReading(ZERO_ADDRESS, 0, genuine.deadline, genuine.reading, 0, genuine.r, genuine.s)
    with reverts(smart_meter.InvalidReadingSignature, meter=ZERO_ADDRESS, nonce=0, signer=ZERO_ADDRESS):
        relay(smart_meter, stranger, zero, ts=ts, chain=chain)
    assert energy_token.totalSupply() == 0


def test_replayed_signed_reading_is_rejected(smart_meter, energy_token, owner, stranger, meter_device, signed_meters, sign, chain):
    ts = signed_meters + 60
    entry = sign(meter_device, 0, ts, 0, 10)
    relay(smart_meter, stranger, entry, ts=ts, chain=chain)
    with reverts(smart_meter.InvalidReadingNonce, meter=meter_device.address, nonce=0, expectedNonce=1):
        relay(smart_meter, stranger, entry, ts=ts + 60, chain=chain)
    # Replayed inside one batch, too.
    second = sign(meter_device, 1, ts + 60, 0, 20)
    with reverts(smart_meter.InvalidReadingNonce, meter=meter_device.address, nonce=1, expectedNonce=2):
        relay(smart_meter, stranger, second, second, ts=ts + 120, chain=chain)
    # A nonce ahead of the meter's waits for the ones before it.
    ahead = sign(meter_device, 2, ts + 120, 0, 30)
    with reverts(smart_meter.InvalidReadingNonce, meter=meter_device.address, nonce=2, expectedNonce=1):
        relay(smart_meter, stranger, ahead, ts=ts + 120, chain=chain)
    assert energy_token.balanceOf(owner) == 10
    assert smart_meter.nonces(meter_device) == 1


def test_malleable_signature_is_rejected(smart_meter, energy_token, stranger, meter_device, signed_meters, sign, chain, chain_id):
    """The high-s twin (n - s, the other v) of a genuine signature recovers to the same key; EIP-2 rules it out."""
    ts = signed_meters + 60
    genuine = sign(meter_device, 0, ts, 0, 10)
    high_s = (SECP256K1_ORDER - int.from_bytes(genuine.s, "big")).to_bytes(32, "big")
    twin = SignedReading(genuine.meter, 0, genuine.deadline, genuine.reading, 55 - genuine.v, genuine.r, high_s)
    assert recovered(twin, chain_id, smart_meter.address) == meter_device.address
    with reverts(smart_meter.MalleableReadingSignature, meter=meter_device.address, nonce=0, s=high_s):
        relay(smart_meter, stranger, twin, ts=ts, chain=chain)
    relay(smart_meter, stranger, genuine, ts=ts, chain=chain)
    assert smart_meter.nonces(meter_device) == 1
    assert energy_token.totalSupply() == 10


def test_bad_signed_entry_reverts_the_whole_batch(
    smart_meter, energy_token, stranger, meter_device, meter_device_2, signed_meters, sign, chain
):
    """All or nothing, like submitReadings: the error names the bad entry's meter, the relayer drops it and resends."""
    ts = signed_meters + 60
    good = sign(meter_device, 0, ts, 0, 10)
    bad_data = sign(meter_device_2, 0, ts, 0, 20, frequency=44_999)
    with reverts(smart_meter.FrequencyOutOfBounds, meter=meter_device_2.address, gridFrequencyMilliHz=44_999):
        relay(smart_meter, stranger, good, bad_data, ts=ts, chain=chain)
    assert energy_token.totalSupply() == 0
    assert (smart_meter.nonces(meter_device), smart_meter.nonces(meter_device_2)) == (0, 0)
    assert smart_meter.getLatestReading(meter_device).timestamp == signed_meters
    relay(smart_meter, stranger, good, ts=ts, chain=chain)
    assert energy_token.totalSupply() == 10


def test_signed_readings_pass_the_reading_checks(
    smart_meter, admin, stranger, meter_device, meter_device_2, signed_meters, sign, chain, accounts
):
    ts = signed_meters + 60
    unregistered = accounts[6]
    with reverts(smart_meter.MeterUnknown, meter=unregistered.address):
        relay(smart_meter, stranger, sign(unregistered, 0, ts, 0, 10), ts=ts, chain=chain)
    with reverts(smart_meter.ReadingTooFrequent, meter=meter_device.address, timestamp=signed_meters + 59, earliestTimestamp=ts):
        relay(smart_meter, stranger, sign(meter_device, 0, ts - 1, 0, 10), ts=ts, chain=chain)
    # Later blocks: the readings timed `ts` are in the past by now, which they may be.
    smart_meter.deactivateMeter(meter_device_2, sender=admin)
    with reverts(smart_meter.MeterInactive, meter=meter_device_2.address):
        relay(smart_meter, stranger, sign(meter_device_2, 0, ts, 0, 10))
    smart_meter.grantRole(PAUSER_ROLE, admin, sender=admin)
    smart_meter.pause(sender=admin)
    with reverts(smart_meter.EnforcedPause):
        relay(smart_meter, stranger, sign(meter_device, 0, ts, 0, 10))
    assert smart_meter.nonces(meter_device) == 0


def test_signed_batch_shape(smart_meter, stranger, meter_device, signed_meters, sign):
    with reverts(smart_meter.EmptyBatch):
        smart_meter.submitSignedReadings([], sender=stranger)
    entry = sign(meter_device, 0, signed_meters + 60, 0, 10).as_tuple()
    with reverts(smart_meter.BatchTooLarge, size=MAX_BATCH_SIZE + 1, maxSize=MAX_BATCH_SIZE):
        smart_meter.submitSignedReadings([entry] * (MAX_BATCH_SIZE + 1), sender=stranger)

"""SmartMeter: constants, roles and wiring, the meter registry (registration, deactivation and
reactivation) and the constructor.

Every custom error is asserted with all of its arguments and every event with all of its fields
(`reverts` and `log` from support/helpers.py make ape's subset checks exhaustive); the meters' fixtures
(`meter`, `submit`, `baseline`, `metered`) are in conftest.py, the rest in support/meter_helpers.py.
"""

from __future__ import annotations

import pytest

from energy_grid.domain.units import (
    DAY_SECONDS,
    FREQUENCY_NOMINAL_MILLIHZ,
    INTERVAL_SECONDS,
    VOLTAGE_NOMINAL_PER_MILLE,
    interval_of,
)

from support.helpers import DEFAULT_ADMIN_ROLE, ZERO_ADDRESS, assert_logs, deploy_reverts, log, reverts, unexercised_abi_items
from support.meter_helpers import (
    DEFAULT_MAX_READING_AGE,
    DEFAULT_MIN_READING_INTERVAL,
    EMPTY_READING,
    GATEWAY_ROLE,
    MAX_BATCH_SIZE,
    MAX_HISTORY_PAGE,
    MAX_READING_AGE_CEILING,
    MAX_READING_AGE_FLOOR,
    MAX_REGISTER_WH,
    METER_ROLE,
    OPERATOR_ROLE,
    PAUSER_ROLE,
    PROFILE_CAPACITY,
    REGION,
    accepted,
    minted,
)


@pytest.fixture(scope="module", autouse=True)
def _accounts_before_isolation(admin, owner, other, stranger, meter_device, meter_device_2, accounts):
    """Resolves the session-scoped account fixtures before ape's per-test isolation (no rebasing)."""


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
    assert smart_meter.MAX_READING_AGE_CEILING_SECONDS() == MAX_READING_AGE_CEILING == 35 * DAY_SECONDS - INTERVAL_SECONDS
    assert smart_meter.DEFAULT_MAX_READING_AGE_SECONDS() == DEFAULT_MAX_READING_AGE
    assert smart_meter.maxReadingAge() == DEFAULT_MAX_READING_AGE
    assert smart_meter.hasRole(DEFAULT_ADMIN_ROLE, admin)
    assert energy_token.hasRole(METER_ROLE, smart_meter)


def test_every_function_error_and_event_is_exercised(smart_meter):
    """Guards the modules' completeness: each ABI item of SmartMeter is used in one of them as `.<name>`."""
    items = [item for item in smart_meter.contract_type.abi if item.type in ("function", "error", "event")]
    assert len(items) > 50
    # Unreachable OpenZeppelin items: nothing calls _setRoleAdmin; the EIP-712 domain is immutable, and
    # its name and version are short constants, which ShortStrings' errors never reject.
    unreachable = {"RoleAdminChanged", "EIP712DomainChanged", "InvalidShortString", "StringTooLong"}
    modules = ["test_smart_meter_*.py", "support/meter_helpers.py", "test_nonce_invalidation.py", "test_standing_orders.py"]
    assert unexercised_abi_items("SmartMeter", modules, exempt=unreachable) == []


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
    assert smart_meter.getMeter(meter_device) == (owner.address, REGION, True, True, 0, False)
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
    assert smart_meter.getMeter(meter) == (owner.address, REGION, True, False, ts, False)
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
    assert smart_meter.getMeter(meter_device) == (owner.address, REGION, True, False, registered_at, False)
    # The registration registers stand as the latest reading (no frequency or voltage was measured).
    assert smart_meter.getLatestReading(meter_device) == (registered_at, 1_000, 5_000, 0, 0)
    assert smart_meter.getMeteredEnergy(meter_device) == (0, 0, 0)
    # A baseline given at registration is no reading: the profile holds nothing for its interval.
    assert smart_meter.getIntervalHistory(meter_device, interval_of(registered_at), 1) == [
        (interval_of(registered_at), 0, 0, 0, 0)
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
    with reverts(smart_meter.MeterUnknown, meter=unknown):
        smart_meter.regionMeterIndex(unknown)


def test_each_region_counts_its_meters_in_registration_order(smart_meter, admin, owner, meter_device, meter_device_2, stranger):
    """A region's count only grows (a deactivated meter stays one of its meters), and each meter's index
    is its place in its own region, whichever overload registered it."""
    counts_before = [smart_meter.regionMeterCount(region) for region in (REGION, REGION + 1)]
    smart_meter.registerMeter(meter_device, owner, REGION, sender=admin)
    smart_meter.registerMeter(stranger, owner, REGION + 1, 10, 20, sender=admin)
    smart_meter.registerMeter(meter_device_2, owner, REGION, 10, 20, sender=admin)
    smart_meter.deactivateMeter(meter_device, sender=admin)
    assert [smart_meter.regionMeterCount(region) for region in (REGION, REGION + 1)] == [
        counts_before[0] + 2,
        counts_before[1] + 1,
    ]
    assert [smart_meter.regionMeterIndex(m) for m in (meter_device, meter_device_2, stranger)] == [
        counts_before[0],
        counts_before[0] + 1,
        counts_before[1],
    ]


# ----------------------------------------------------------------------------- deactivation


def test_deactivate_and_reactivate(smart_meter, admin, owner, meter, meter_device, reading):
    tx = smart_meter.deactivateMeter(meter, sender=admin)
    assert_logs(tx, log(smart_meter.MeterDeactivated, meter=meter))
    assert smart_meter.getMeter(meter) == (owner.address, REGION, False, True, 0, False)

    with reverts(smart_meter.MeterInactive, meter=meter):
        smart_meter.deactivateMeter(meter, sender=admin)
    with reverts(smart_meter.MeterInactive, meter=meter):
        smart_meter.submitReading(reading(10, 20), sender=meter_device)
    with reverts(smart_meter.MeterInactive, meter=meter):
        smart_meter.submitReadings([meter], [reading(10, 20)], sender=admin)

    tx = smart_meter.reactivateMeter(meter, sender=admin)
    assert_logs(tx, log(smart_meter.MeterReactivated, meter=meter))
    assert smart_meter.getMeter(meter) == (owner.address, REGION, True, True, 0, False)
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
    assert smart_meter.getMeter(meter) == (owner.address, REGION, True, False, ts, False)
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


# ----------------------------------------------------------------------------- constructor


def test_constructor_rejects_zero_addresses(project, smart_meter, energy_token, admin):
    extension = project.SmartMeterExtension.deploy(sender=admin)
    with deploy_reverts(smart_meter.ZeroAddress):
        project.SmartMeter.deploy(ZERO_ADDRESS, energy_token, extension, sender=admin)
    with deploy_reverts(smart_meter.ZeroAddress):
        project.SmartMeter.deploy(admin, ZERO_ADDRESS, extension, sender=admin)
    with deploy_reverts(smart_meter.ZeroAddress):
        project.SmartMeter.deploy(admin, energy_token, ZERO_ADDRESS, sender=admin)


def test_the_smart_meter_serves_its_extensions_functions_and_the_extension_alone_serves_nothing(
    project, smart_meter, admin, owner, meter_device, chain
):
    """Registration, the reading bounds, the regions' views and the settings of vault delivery and
    standing orders live in SmartMeterExtension, which the SmartMeter runs on its own storage by
    delegatecall: through the SmartMeter they read and write its meters under its roles; called at its
    own address the extension refuses (it has no meters)."""
    extension = project.SmartMeterExtension.deploy(sender=admin)
    for call in (
        lambda: extension.registerMeter(meter_device, owner, REGION, sender=admin),
        lambda: extension.setMaxReadingAge(DEFAULT_MAX_READING_AGE, sender=admin),
        lambda: extension.regionMeterCount(REGION),
        extension.maxReadingAge,
        lambda: extension.setVault(smart_meter.vault(), ZERO_ADDRESS, sender=admin),
        lambda: extension.setStandingOrder(meter_device, 1, 0, 1, 0, sender=owner),
        lambda: extension.getStandingOrder(meter_device),
        extension.readingMarkets,
    ):
        with reverts(extension.NotThroughSmartMeter):
            call()
    served_from = smart_meter.extension()  # its own extension, named through it
    assert len(chain.provider.get_code(served_from)) > 0 and served_from != extension.address
    own = {item.name for item in project.SmartMeter.contract_type.abi if item.type == "function"}
    assert not {"registerMeter", "maxReadingAge", "setStandingOrder", "setVault"} & own  # served, not held
    count = smart_meter.regionMeterCount(REGION)
    tx = smart_meter.registerMeter(meter_device, owner, REGION, sender=admin)
    assert tx.receiver == smart_meter.address and [e.contract_address for e in tx.events] == [smart_meter.address]
    # What the extension wrote is the SmartMeter's own record, which the SmartMeter's own code reads.
    assert smart_meter.getMeter(meter_device).owner == owner.address
    assert smart_meter.regionMeterCount(REGION) == count + 1
    assert smart_meter.regionMeterIndex(meter_device) == count

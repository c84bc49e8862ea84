"""GridManagement: participants, dynamic price, emergency mode, metrics, operators,
reported grid status and emergencies, and the guardian's emergency
shutdown of trading, settlement and metering.

Every custom error is asserted with all of its arguments and every event with all of its fields.
"""

from __future__ import annotations

from typing import Any

import pytest
from eth_utils import keccak

from energy_grid.domain.pricing import dynamic_price
from energy_grid.domain.units import DAY_SECONDS, INTERVAL_SECONDS, day_of, interval_of

from support.helpers import DEFAULT_ADMIN_ROLE, ZERO_ADDRESS, deploy_reverts, log, reverts, role, unexercised_abi_items

NO_PRICE_LIMIT = 2**256 - 1  # consumeEnergy's maxPricePerKWh where the price is not what a test is about
BASE_PRICE = 200_000  # conftest GRID_BASE_PRICE_PER_KWH: 0.20 per kWh in MOCKUSD base units (6 decimals)
GUARDIAN_ROLE = role("GUARDIAN_ROLE")
EMERGENCY_RESPONDER_ROLE = role("EMERGENCY_RESPONDER_ROLE")
PAUSER_ROLE = role("PAUSER_ROLE")
MAX_POWER_W = 25 * 10**9
MAX_ENERGY_WH = 10**12
MAX_BASE_PRICE = 2**96 - 1
SOLAR, WIND, HYDRO, NUCLEAR, GEOTHERMAL, BIOMASS, NATURAL_GAS = range(7)
ALERT, EMERGENCY, CRITICAL = 1, 2, 3
REGION = 1


@pytest.fixture(scope="module")
def grid(grid_management, admin, stablecoin, operator, guardian, consumer):
    """conftest's GridManagement (base price BASE_PRICE) with a verified operator, a guardian and a
    funded consumer who approved it."""
    grid = grid_management
    grid.registerOperator("North Grid Co", REGION, 1_000, sender=operator)
    grid.verifyOperator(operator, sender=admin)
    grid.grantRole(GUARDIAN_ROLE, guardian, sender=admin)
    stablecoin.addConsumerBalance(consumer, 1_000, sender=admin)
    stablecoin.approve(grid, 2**256 - 1, sender=consumer)
    return grid


@pytest.fixture
def add_producer(grid, operator):
    """registerProducer, then the operator's verifyProducer: a producer whose capacity and output count."""

    def add(capacity_w: int, energy_type: int, sender: Any) -> Any:
        tx = grid.registerProducer(capacity_w, energy_type, sender=sender)
        grid.verifyProducer(sender, sender=operator)
        return tx

    return add


@pytest.fixture(scope="module", autouse=True)
def _deployed_first(grid, funded_market, smart_meter, producer, consumer, battery, operator, guardian, stranger, other):
    """Deploy and name the accounts before any test's own state (ape isolation)."""


def next_interval_start(chain: Any, offset: int = 0) -> int:
    ts = (interval_of(chain.pending_timestamp) + 1) * INTERVAL_SECONDS + offset
    chain.pending_timestamp = ts
    return ts


def cost(amount_wh: int, price: int) -> int:
    return -(-amount_wh * price // 1000)


# ----------------------------------------------------------------------------- wiring and access


def test_constants_and_wiring(grid, admin, stablecoin, fee_recipient, guardian):
    assert grid.GUARDIAN_ROLE() == GUARDIAN_ROLE
    assert grid.EMERGENCY_RESPONDER_ROLE() == EMERGENCY_RESPONDER_ROLE
    assert grid.MAX_REPUTATION() == 100
    assert grid.EMERGENCY_PRICE_MULTIPLIER() == 3
    assert grid.MAX_POWER_W() == MAX_POWER_W
    assert grid.MAX_ENERGY_WH() == MAX_ENERGY_WH
    assert grid.MAX_BASE_PRICE_PER_KWH() == MAX_BASE_PRICE
    assert grid.MAX_NAME_BYTES() == 64
    assert grid.MAX_SHUTDOWN_TARGETS() == 8
    assert (grid.MIN_FREQUENCY_MILLIHZ(), grid.MAX_FREQUENCY_MILLIHZ()) == (45_000, 65_000)
    assert (grid.MIN_VOLTAGE_PER_MILLE(), grid.MAX_VOLTAGE_PER_MILLE()) == (500, 1_500)
    assert grid.paymentToken() == stablecoin.address
    assert grid.feeRecipient() == fee_recipient.address
    assert grid.basePrice() == BASE_PRICE
    assert grid.DEFAULT_ADMIN_ROLE() == DEFAULT_ADMIN_ROLE
    assert grid.hasRole(DEFAULT_ADMIN_ROLE, admin)
    assert grid.hasRole(GUARDIAN_ROLE, guardian)
    assert not grid.paused()
    assert grid.getShutdownTargets() == []


def test_every_function_error_and_event_is_exercised(grid):
    exempt = {
        "RoleAdminChanged",  # nothing calls OpenZeppelin's internal _setRoleAdmin
        "SafeERC20FailedOperation",  # only a token that returns false raises it; the stablecoin reverts instead
    }
    modules = [
        "test_grid_management.py",
        "test_price_manipulation_guard.py",
        "test_regional_emergency.py",
        "test_emergency_shutdown_resilience.py",
    ]
    assert unexercised_abi_items("GridManagement", modules, ("function", "error", "event"), exempt) == []


def test_constructor_rejects_zero_addresses_and_base_price(project, admin, stablecoin, fee_recipient):
    container = project.GridManagement
    for args in (
        (ZERO_ADDRESS, stablecoin, fee_recipient, BASE_PRICE),
        (admin, ZERO_ADDRESS, fee_recipient, BASE_PRICE),
        (admin, stablecoin, ZERO_ADDRESS, BASE_PRICE),
    ):
        with deploy_reverts(container.ZeroAddress):
            container.deploy(*args, sender=admin)
    with deploy_reverts(container.InvalidBasePrice, 0):
        container.deploy(admin, stablecoin, fee_recipient, 0, sender=admin)


def test_access_control_surface(grid, admin, other, stranger):
    assert grid.getRoleAdmin(GUARDIAN_ROLE) == DEFAULT_ADMIN_ROLE
    assert grid.supportsInterface("0x7965db0b")  # IAccessControl
    tx = grid.grantRole(GUARDIAN_ROLE, other, sender=admin)
    assert tx.events == [log(grid.RoleGranted, role=GUARDIAN_ROLE, account=other.address, sender=admin.address)]
    with reverts(grid.AccessControlBadConfirmation):
        grid.renounceRole(GUARDIAN_ROLE, stranger, sender=other)
    tx = grid.renounceRole(GUARDIAN_ROLE, other, sender=other)
    assert tx.events == [log(grid.RoleRevoked, role=GUARDIAN_ROLE, account=other.address, sender=other.address)]
    tx = grid.grantRole(GUARDIAN_ROLE, other, sender=admin)
    tx = grid.revokeRole(GUARDIAN_ROLE, other, sender=admin)
    assert tx.events == [log(grid.RoleRevoked, role=GUARDIAN_ROLE, account=other.address, sender=admin.address)]
    assert not grid.hasRole(GUARDIAN_ROLE, other)


@pytest.mark.parametrize(
    ("call", "needed"),
    [
        (lambda g, s: g.setBasePrice(1, sender=s), DEFAULT_ADMIN_ROLE),
        (lambda g, s: g.verifyOperator(s, sender=s), DEFAULT_ADMIN_ROLE),
        (lambda g, s: g.setOperatorAuthorization(s, True, sender=s), DEFAULT_ADMIN_ROLE),
        (lambda g, s: g.setShutdownTargets([], sender=s), DEFAULT_ADMIN_ROLE),
        (lambda g, s: g.setFeeRecipient(s, sender=s), DEFAULT_ADMIN_ROLE),
        (lambda g, s: g.unpause(sender=s), DEFAULT_ADMIN_ROLE),
        (lambda g, s: g.grantRole(GUARDIAN_ROLE, s, sender=s), DEFAULT_ADMIN_ROLE),
        (lambda g, s: g.emergencyShutdown(sender=s), GUARDIAN_ROLE),
    ],
    ids=[
        "setBasePrice",
        "verifyOperator",
        "setOperatorAuthorization",
        "setShutdownTargets",
        "setFeeRecipient",
        "unpause",
        "grantRole",
        "emergencyShutdown",
    ],
)
def test_role_restricted_functions_reject_stranger(grid, stranger, call, needed):
    with reverts(grid.AccessControlUnauthorizedAccount, account=stranger.address, neededRole=needed):
        call(grid, stranger)


OPERATOR_CALLS = [
    (lambda g, s, p: g.toggleEmergencyMode(REGION, True, sender=s)),
    (lambda g, s, p: g.verifyProducer(p, sender=s)),
    (lambda g, s, p: g.recordMetrics(1, 1, 1, 1, sender=s)),
    (lambda g, s, p: g.updateProducerReputation(p, 50, sender=s)),
    (lambda g, s, p: g.deactivateParticipant(p, True, sender=s)),
    (lambda g, s, p: g.updateGridStatus(1, 1, 50_000, 1_000, sender=s)),
    (lambda g, s, p: g.implementEmergencyProtocol(REGION, ALERT, b"TEST".ljust(32, b"\0"), sender=s)),
]
OPERATOR_CALL_IDS = [
    "toggleEmergencyMode",
    "verifyProducer",
    "recordMetrics",
    "updateProducerReputation",
    "deactivateParticipant",
    "updateGridStatus",
    "implementEmergencyProtocol",
]


@pytest.mark.parametrize("call", OPERATOR_CALLS, ids=OPERATOR_CALL_IDS)
def test_operator_functions_reject_non_operators(grid, admin, producer, stranger, other, operator, call):
    grid.registerProducer(5_000, SOLAR, sender=producer)
    # Neither a stranger nor the admin (admin is not an operator) ...
    for account in (stranger, admin):
        with reverts(grid.Unauthorized, account=account.address):
            call(grid, account, producer)
    # ... nor a registered but unverified operator ...
    grid.registerOperator("Unverified", REGION, 10, sender=other)
    with reverts(grid.Unauthorized, account=other.address):
        call(grid, other, producer)
    # ... nor a verified one the admin suspended.
    grid.setOperatorAuthorization(operator, False, sender=admin)
    with reverts(grid.Unauthorized, account=operator.address):
        call(grid, operator, producer)
    grid.setOperatorAuthorization(operator, True, sender=admin)
    call(grid, operator, producer)


# ----------------------------------------------------------------------------- producers


@pytest.mark.parametrize("energy_type", [SOLAR, WIND, HYDRO, NUCLEAR, GEOTHERMAL, BIOMASS, NATURAL_GAS])
def test_register_producer_of_every_energy_type(grid, producer, chain, energy_type):
    tx = grid.registerProducer(7_000, energy_type, sender=producer)
    assert tx.events == [log(grid.ProducerRegistered, producer=producer.address, capacityW=7_000, energyType=energy_type)]
    assert grid.getProducer(producer) == (7_000, 0, 0, energy_type, True, 100, tx.timestamp, False)
    # Its capacity counts once an operator verified it.
    status = grid.getGridStatus()
    assert (status.totalCapacityW, status.activeProducers, status.currentLoadW) == (0, 0, 0)


def test_register_producer_rejections(grid, producer):
    with reverts(grid.CapacityOutOfRange, value=0, maxValue=MAX_POWER_W):
        grid.registerProducer(0, SOLAR, sender=producer)
    with reverts(grid.CapacityOutOfRange, value=MAX_POWER_W + 1, maxValue=MAX_POWER_W):
        grid.registerProducer(MAX_POWER_W + 1, SOLAR, sender=producer)
    with reverts(grid.InvalidEnergyType, energyType=7):
        grid.registerProducer(1_000, 7, sender=producer)
    with reverts(grid.ParticipantNotFound, account=producer.address):
        grid.getProducer(producer)
    grid.registerProducer(MAX_POWER_W, WIND, sender=producer)
    with reverts(grid.AlreadyRegistered, account=producer.address):
        grid.registerProducer(1_000, SOLAR, sender=producer)
    assert grid.getProducer(producer).capacityW == MAX_POWER_W


def test_report_production_moves_the_load_and_integrates_energy(grid, producer, other, chain, add_producer):
    add_producer(10_000, SOLAR, sender=producer)
    add_producer(30_000, WIND, sender=other)
    tx = grid.reportProduction(4_000, sender=producer)
    assert tx.events == [log(grid.ProductionReported, producer=producer.address, outputW=4_000, previousOutputW=0, producedWh=0)]
    grid.reportProduction(12_000, sender=other)
    assert grid.getGridStatus().currentLoadW == 16_000
    # 4,000 W for 30 minutes is 2,000 Wh; the next report books it and the load moves by the difference.
    chain.pending_timestamp = tx.timestamp + 1_800
    tx = grid.reportProduction(1_000, sender=producer)
    assert tx.events == [
        log(grid.ProductionReported, producer=producer.address, outputW=1_000, previousOutputW=4_000, producedWh=2_000)
    ]
    status = grid.getGridStatus()
    assert (status.producerOutputW, status.currentLoadW, status.totalCapacityW) == (13_000, 13_000, 40_000)
    assert status.utilizationBps == 13_000 * 10_000 // 40_000
    # The view counts the current output up to now: 1,000 W for another hour.
    chain.mine(timestamp=tx.timestamp + 3_600)
    assert grid.getProducer(producer).totalProducedWh == 3_000
    assert grid.getProducer(producer).lastReportAt == tx.timestamp


def test_report_production_rejections_change_nothing(grid, admin, producer, operator, stranger, add_producer):
    with reverts(grid.ParticipantNotFound, account=stranger.address):
        grid.reportProduction(1, sender=stranger)
    add_producer(5_000, SOLAR, sender=producer)
    grid.reportProduction(2_000, sender=producer)
    with reverts(grid.ProductionExceedsCapacity, producer=producer.address, outputW=5_001, capacityW=5_000):
        grid.reportProduction(5_001, sender=producer)
    assert grid.getGridStatus().currentLoadW == 2_000
    grid.reportProduction(5_000, sender=producer)  # the capacity itself is fine
    grid.deactivateParticipant(producer, True, sender=operator)
    with reverts(grid.ParticipantInactive, account=producer.address):
        grid.reportProduction(1_000, sender=producer)


def test_reputation(grid, producer, operator, stranger):
    grid.registerProducer(5_000, SOLAR, sender=producer)
    tx = grid.updateProducerReputation(producer, 0, sender=operator)
    assert tx.events == [log(grid.ProducerReputationUpdated, producer=producer.address, previousScore=100, newScore=0)]
    grid.updateProducerReputation(producer, 100, sender=operator)
    with reverts(grid.ReputationOutOfRange, score=101, maxScore=100):
        grid.updateProducerReputation(producer, 101, sender=operator)
    assert grid.getProducer(producer).reputationScore == 100
    with reverts(grid.ParticipantNotFound, account=stranger.address):
        grid.updateProducerReputation(stranger, 50, sender=operator)


def test_deactivate_producer_takes_it_out_of_the_totals(grid, producer, other, operator, stranger, chain, add_producer):
    add_producer(10_000, SOLAR, sender=producer)
    add_producer(20_000, HYDRO, sender=other)
    report = grid.reportProduction(6_000, sender=producer)
    grid.reportProduction(8_000, sender=other)
    chain.pending_timestamp = report.timestamp + 900
    tx = grid.deactivateParticipant(producer, True, sender=operator)
    assert tx.events == [log(grid.ParticipantDeactivated, account=producer.address, isProducer=True, operator=operator.address)]
    status = grid.getGridStatus()
    assert (status.totalCapacityW, status.producerOutputW, status.activeProducers) == (20_000, 8_000, 1)
    info = grid.getProducer(producer)
    assert (info.active, info.currentOutputW, info.totalProducedWh) == (False, 0, 1_500)  # 6 kW for 15 min
    with reverts(grid.ParticipantInactive, account=producer.address):
        grid.deactivateParticipant(producer, True, sender=operator)
    with reverts(grid.ParticipantNotFound, account=stranger.address):
        grid.deactivateParticipant(stranger, True, sender=operator)


def test_reactivated_producer_counts_again_from_zero_output(grid, producer, operator, stranger, chain, add_producer):
    add_producer(10_000, SOLAR, sender=producer)
    grid.reportProduction(6_000, sender=producer)
    with reverts(grid.ParticipantAlreadyActive, account=producer.address):
        grid.reactivateParticipant(producer, True, sender=operator)
    deactivated = grid.deactivateParticipant(producer, True, sender=operator)
    produced_wh = grid.getProducer(producer).totalProducedWh  # 6 kW for the seconds before deactivation
    chain.pending_timestamp = deactivated.timestamp + 3_600  # an hour offline produces nothing
    tx = grid.reactivateParticipant(producer, True, sender=operator)
    assert tx.events == [log(grid.ParticipantReactivated, account=producer.address, isProducer=True, operator=operator.address)]
    status = grid.getGridStatus()
    assert (status.totalCapacityW, status.producerOutputW, status.activeProducers) == (10_000, 0, 1)
    info = grid.getProducer(producer)
    assert (info.active, info.currentOutputW, info.totalProducedWh, info.lastReportAt) == (True, 0, produced_wh, tx.timestamp)
    grid.reportProduction(2_000, sender=producer)
    assert grid.getGridStatus().currentLoadW == 2_000
    with reverts(grid.ParticipantNotFound, account=stranger.address):
        grid.reactivateParticipant(stranger, True, sender=operator)


def test_only_operators_reactivate(grid, admin, producer, operator, stranger):
    grid.registerProducer(5_000, SOLAR, sender=producer)
    grid.deactivateParticipant(producer, True, sender=operator)
    for account in (stranger, admin):
        with reverts(grid.Unauthorized, account=account.address):
            grid.reactivateParticipant(producer, True, sender=account)
    assert not grid.getProducer(producer).active


def test_reactivated_consumer_may_consume_again(grid, consumer, operator, stranger):
    grid.registerConsumer(1_000, sender=consumer)
    with reverts(grid.ParticipantAlreadyActive, account=consumer.address):
        grid.reactivateParticipant(consumer, False, sender=operator)
    grid.deactivateParticipant(consumer, False, sender=operator)
    tx = grid.reactivateParticipant(consumer, False, sender=operator)
    assert tx.events == [log(grid.ParticipantReactivated, account=consumer.address, isProducer=False, operator=operator.address)]
    grid.consumeEnergy(10, NO_PRICE_LIMIT, sender=consumer)
    assert grid.getConsumer(consumer).totalConsumedWh == 10
    with reverts(grid.ParticipantNotFound, account=stranger.address):
        grid.reactivateParticipant(stranger, False, sender=operator)


# ----------------------------------------------------------------------------- price


def test_dynamic_price_follows_the_load(grid, admin, producer, operator, chain, add_producer):
    assert grid.getDynamicPrice() == BASE_PRICE  # no capacity yet: the base price
    add_producer(100_000, NUCLEAR, sender=producer)
    assert grid.getDynamicPrice() == BASE_PRICE  # capacity, no load
    for load in (30_000, 50_000, 85_000, 97_000, 100_000):
        grid.reportProduction(load, sender=producer)
        expected = dynamic_price(BASE_PRICE, load, 100_000)
        assert grid.getDynamicPrice() == expected
        assert grid.getGridStatus().dynamicPricePerKWh == expected
    assert grid.getDynamicPrice() == BASE_PRICE * 3 // 2  # full load: base × 1.5
    tx = grid.toggleEmergencyMode(REGION, True, sender=operator)
    assert tx.events == [log(grid.EmergencyModeChanged, regionId=REGION, active=True, changedBy=operator.address)]
    assert grid.getDynamicPrice() == 3 * BASE_PRICE
    assert grid.getGridStatus().emergencyMode
    tx = grid.toggleEmergencyMode(REGION, False, sender=operator)
    assert tx.events == [log(grid.EmergencyModeChanged, regionId=REGION, active=False, changedBy=operator.address)]
    assert grid.getDynamicPrice() == BASE_PRICE * 3 // 2


def test_dynamic_price_rounds_down(grid, admin, producer, add_producer):
    grid.setBasePrice(7, sender=admin)
    add_producer(3, SOLAR, sender=producer)
    grid.reportProduction(1, sender=producer)
    assert grid.getDynamicPrice() == 7 + 7 * 1 // 6 == 8


def test_set_base_price(grid, admin):
    tx = grid.setBasePrice(250_000, sender=admin)
    assert tx.events == [log(grid.BasePriceUpdated, previousPricePerKWh=BASE_PRICE, newPricePerKWh=250_000)]
    assert grid.basePrice() == 250_000
    with reverts(grid.InvalidBasePrice, pricePerKWh=0):
        grid.setBasePrice(0, sender=admin)
    with reverts(grid.InvalidBasePrice, pricePerKWh=MAX_BASE_PRICE + 1):
        grid.setBasePrice(MAX_BASE_PRICE + 1, sender=admin)
    assert grid.basePrice() == 250_000
    grid.setBasePrice(MAX_BASE_PRICE, sender=admin)
    assert grid.getDynamicPrice() == MAX_BASE_PRICE


# ----------------------------------------------------------------------------- consumers


def test_consume_energy_pays_the_dynamic_price(grid, stablecoin, producer, consumer, fee_recipient, add_producer):
    tx = grid.registerConsumer(10_000, sender=consumer)
    assert tx.events == [log(grid.ConsumerRegistered, consumer=consumer.address, consumptionLimitWh=10_000)]
    add_producer(40_000, SOLAR, sender=producer)
    grid.reportProduction(30_000, sender=producer)
    price = dynamic_price(BASE_PRICE, 30_000, 40_000)
    before = (stablecoin.balanceOf(consumer), stablecoin.balanceOf(fee_recipient))
    tx = grid.consumeEnergy(1_234, NO_PRICE_LIMIT, sender=consumer)
    paid = cost(1_234, price)
    grid_logs = [e for e in tx.events if e.contract_address == grid.address]
    assert grid_logs == [log(grid.EnergyConsumed, consumer=consumer.address, amountWh=1_234, pricePerKWh=price, cost=paid)]
    assert tx.events.filter(stablecoin.Transfer) == [
        log(stablecoin.Transfer, **{"from": consumer.address, "to": fee_recipient.address, "value": paid})
    ]
    assert stablecoin.balanceOf(consumer) == before[0] - paid
    assert stablecoin.balanceOf(fee_recipient) == before[1] + paid
    assert grid.getConsumer(consumer) == (10_000, 1_234, 1_234, paid, True)
    # Consuming does not move the grid load (the load is what the producers feed in).
    assert grid.getGridStatus().currentLoadW == 30_000


def test_consumption_limit_is_per_utc_day(grid, consumer, chain):
    grid.registerConsumer(1_000, sender=consumer)
    day_start = (day_of(chain.pending_timestamp) + 1) * DAY_SECONDS
    chain.pending_timestamp = day_start + 100
    grid.consumeEnergy(600, NO_PRICE_LIMIT, sender=consumer)
    with reverts(grid.ConsumptionLimitExceeded, consumer=consumer.address, amountWh=401, remainingWh=400):
        grid.consumeEnergy(401, NO_PRICE_LIMIT, sender=consumer)
    grid.consumeEnergy(400, NO_PRICE_LIMIT, sender=consumer)
    with reverts(grid.ConsumptionLimitExceeded, consumer=consumer.address, amountWh=1, remainingWh=0):
        grid.consumeEnergy(1, NO_PRICE_LIMIT, sender=consumer)
    chain.pending_timestamp = day_start + DAY_SECONDS
    chain.mine()
    assert grid.getConsumer(consumer).consumedTodayWh == 0  # a new day
    grid.consumeEnergy(1_000, NO_PRICE_LIMIT, sender=consumer)
    info = grid.getConsumer(consumer)
    assert (info.consumedTodayWh, info.totalConsumedWh) == (1_000, 2_000)


def test_consume_energy_rejections_move_nothing(grid, admin, stablecoin, consumer, other, stranger, operator):
    with reverts(grid.ParticipantNotFound, account=stranger.address):
        grid.consumeEnergy(1, NO_PRICE_LIMIT, sender=stranger)
    with reverts(grid.ParticipantNotFound, account=stranger.address):
        grid.getConsumer(stranger)
    grid.registerConsumer(10**9, sender=consumer)
    with reverts(grid.ZeroAmount):
        grid.consumeEnergy(0, NO_PRICE_LIMIT, sender=consumer)
    balance = stablecoin.balanceOf(consumer)
    too_much = balance * 1_000 // BASE_PRICE + 1  # 1 Wh more than the balance pays for at 0.20 per kWh
    with reverts(grid.InsufficientBalance, consumer=consumer.address, cost=cost(too_much, BASE_PRICE), balance=balance):
        grid.consumeEnergy(too_much, NO_PRICE_LIMIT, sender=consumer)
    stablecoin.approve(grid, 199, sender=consumer)
    with reverts(grid.InsufficientAllowance, consumer=consumer.address, cost=200, allowance=199):
        grid.consumeEnergy(1, NO_PRICE_LIMIT, sender=consumer)
    assert stablecoin.balanceOf(consumer) == balance
    assert grid.getConsumer(consumer).totalConsumedWh == 0
    stablecoin.approve(grid, 200, sender=consumer)
    grid.consumeEnergy(1, NO_PRICE_LIMIT, sender=consumer)  # 1 Wh at 0.20 per kWh costs 0.0002: 200 base units
    assert stablecoin.balanceOf(consumer) == balance - 200
    grid.registerConsumer(100, sender=other)
    grid.deactivateParticipant(other, False, sender=operator)
    with reverts(grid.ParticipantInactive, account=other.address):
        grid.consumeEnergy(1, NO_PRICE_LIMIT, sender=other)
    with reverts(grid.ParticipantInactive, account=other.address):
        grid.deactivateParticipant(other, False, sender=operator)
    with reverts(grid.ParticipantNotFound, account=stranger.address):
        grid.deactivateParticipant(stranger, False, sender=operator)
    assert not grid.getConsumer(other).active


def test_register_consumer_rejections(grid, consumer):
    with reverts(grid.CapacityOutOfRange, value=0, maxValue=MAX_ENERGY_WH):
        grid.registerConsumer(0, sender=consumer)
    with reverts(grid.CapacityOutOfRange, value=MAX_ENERGY_WH + 1, maxValue=MAX_ENERGY_WH):
        grid.registerConsumer(MAX_ENERGY_WH + 1, sender=consumer)
    grid.registerConsumer(MAX_ENERGY_WH, sender=consumer)
    with reverts(grid.AlreadyRegistered, account=consumer.address):
        grid.registerConsumer(1, sender=consumer)


# ----------------------------------------------------------------------------- storage


@pytest.fixture
def fed_battery(grid, producer, battery, operator, chain, add_producer):
    """A verified 10 kWh battery (8 kW charge, 4 kW discharge) on a grid fed with 20 kW, at an interval's start."""
    add_producer(50_000, WIND, sender=producer)
    grid.reportProduction(20_000, sender=producer)
    tx = grid.registerStorage(10_000, 8_000, 4_000, sender=battery)
    assert tx.events == [
        log(grid.StorageRegistered, storageUnit=battery.address, capacityWh=10_000, chargeRateW=8_000, dischargeRateW=4_000)
    ]
    grid.verifyStorage(battery, sender=operator)
    return next_interval_start(chain)


def test_charge_and_discharge_move_the_load_for_their_interval(grid, battery, fed_battery, chain):
    interval = interval_of(fed_battery)
    # 1,500 Wh in 15 minutes is 6,000 W on average: the load falls by that for this interval.
    tx = grid.chargeStorage(1_500, sender=battery)
    assert tx.events == [log(grid.StorageCharged, storageUnit=battery.address, interval=interval, amountWh=1_500, storedWh=1_500)]
    status = grid.getGridStatus()
    assert (status.currentLoadW, status.storageChargeW, status.storageDischargeW) == (14_000, 6_000, 0)
    assert grid.getStorage(battery) == (10_000, 1_500, 8_000, 4_000, 1_500, 0, True)
    tx = grid.dischargeStorage(1_000, sender=battery)
    assert tx.events == [log(grid.StorageDischarged, storageUnit=battery.address, interval=interval, amountWh=1_000, storedWh=500)]
    status = grid.getGridStatus()
    assert (status.currentLoadW, status.storageChargeW, status.storageDischargeW) == (18_000, 6_000, 4_000)
    assert grid.getDynamicPrice() == dynamic_price(BASE_PRICE, 18_000, 50_000)
    # The next interval starts without storage flows; the stored energy stays.
    chain.pending_timestamp = fed_battery + INTERVAL_SECONDS
    chain.mine()
    status = grid.getGridStatus()
    assert (status.currentLoadW, status.storageChargeW, status.storageDischargeW) == (20_000, 0, 0)
    assert grid.getStorage(battery) == (10_000, 500, 8_000, 4_000, 0, 0, True)


def test_storage_rates_are_per_interval(grid, battery, fed_battery, chain):
    # 8 kW for 900 s is 2,000 Wh; 4 kW is 1,000 Wh.
    grid.chargeStorage(1_200, sender=battery)
    with reverts(grid.ChargeRateExceeded, storageUnit=battery.address, amountWh=801, allowedWh=800):
        grid.chargeStorage(801, sender=battery)
    grid.chargeStorage(800, sender=battery)
    grid.dischargeStorage(600, sender=battery)
    with reverts(grid.DischargeRateExceeded, storageUnit=battery.address, amountWh=401, allowedWh=400):
        grid.dischargeStorage(401, sender=battery)
    chain.pending_timestamp = fed_battery + INTERVAL_SECONDS
    grid.chargeStorage(2_000, sender=battery)  # a new interval, a new allowance
    assert grid.getStorage(battery).storedWh == 3_400


def test_storage_capacity_and_energy_limits(grid, battery, fed_battery, chain):
    for step in range(4):
        chain.pending_timestamp = fed_battery + step * INTERVAL_SECONDS
        grid.chargeStorage(2_000, sender=battery)
    chain.pending_timestamp = fed_battery + 4 * INTERVAL_SECONDS
    with reverts(grid.StorageCapacityExceeded, storageUnit=battery.address, amountWh=2_001, freeWh=2_000):
        grid.chargeStorage(2_001, sender=battery)
    grid.chargeStorage(2_000, sender=battery)
    assert grid.getStorage(battery).storedWh == 10_000
    with reverts(grid.StorageCapacityExceeded, storageUnit=battery.address, amountWh=1, freeWh=0):
        grid.chargeStorage(1, sender=battery)


def test_discharge_needs_stored_energy(grid, battery, fed_battery):
    with reverts(grid.InsufficientStoredEnergy, storageUnit=battery.address, amountWh=1, storedWh=0):
        grid.dischargeStorage(1, sender=battery)
    grid.chargeStorage(300, sender=battery)
    with reverts(grid.InsufficientStoredEnergy, storageUnit=battery.address, amountWh=301, storedWh=300):
        grid.dischargeStorage(301, sender=battery)
    grid.dischargeStorage(300, sender=battery)
    assert grid.getStorage(battery).storedWh == 0


def test_charging_needs_grid_supply(grid, producer, battery, fed_battery):
    grid.reportProduction(4_000, sender=producer)
    # 1,001 Wh in an interval is 4,004 W: more than the 4,000 W the grid carries.
    with reverts(grid.InsufficientGridSupply, requiredW=4_004, availableW=4_000):
        grid.chargeStorage(1_001, sender=battery)
    grid.chargeStorage(1_000, sender=battery)
    assert grid.getGridStatus().currentLoadW == 0
    # A producer lowering its output afterwards cannot drive the load below zero.
    grid.reportProduction(1_000, sender=producer)
    assert grid.getGridStatus().currentLoadW == 0


def test_storage_rejections(grid, battery, stranger, fed_battery):
    with reverts(grid.ParticipantNotFound, account=stranger.address):
        grid.chargeStorage(1, sender=stranger)
    with reverts(grid.ParticipantNotFound, account=stranger.address):
        grid.dischargeStorage(1, sender=stranger)
    with reverts(grid.ParticipantNotFound, account=stranger.address):
        grid.getStorage(stranger)
    with reverts(grid.ZeroAmount):
        grid.chargeStorage(0, sender=battery)
    with reverts(grid.ZeroAmount):
        grid.dischargeStorage(0, sender=battery)
    with reverts(grid.AlreadyRegistered, account=battery.address):
        grid.registerStorage(1, 1, 1, sender=battery)


@pytest.mark.parametrize(
    ("args", "bad", "max_value"),
    [
        ((0, 1, 1), 0, MAX_ENERGY_WH),
        ((MAX_ENERGY_WH + 1, 1, 1), MAX_ENERGY_WH + 1, MAX_ENERGY_WH),
        ((1, 0, 1), 0, MAX_POWER_W),
        ((1, MAX_POWER_W + 1, 1), MAX_POWER_W + 1, MAX_POWER_W),
        ((1, 1, 0), 0, MAX_POWER_W),
        ((1, 1, MAX_POWER_W + 1), MAX_POWER_W + 1, MAX_POWER_W),
    ],
)
def test_register_storage_ranges(grid, battery, args, bad, max_value):
    with reverts(grid.CapacityOutOfRange, value=bad, maxValue=max_value):
        grid.registerStorage(*args, sender=battery)


# ----------------------------------------------------------------------------- metrics


def test_record_and_read_metrics(grid, operator):
    tx = grid.recordMetrics(120_000, 110_000, 35_000, 9_200, sender=operator)
    assert tx.return_value == 1
    assert tx.events == [
        log(
            grid.MetricsRecorded,
            metricsId=1,
            operator=operator.address,
            productionWh=120_000,
            consumptionWh=110_000,
            peakLoadW=35_000,
            efficiencyBps=9_200,
        )
    ]
    assert grid.getMetrics(1) == (120_000, 110_000, 35_000, 9_200, operator.address, tx.timestamp)
    assert grid.recordMetrics(0, 0, 0, 10_000, sender=operator).return_value == 2
    with reverts(grid.MetricsNotFound, metricsId=3):
        grid.getMetrics(3)
    with reverts(grid.MetricsNotFound, metricsId=0):
        grid.getMetrics(0)


def test_record_metrics_rejections(grid, operator):
    with reverts(grid.EfficiencyOutOfRange, efficiencyBps=10_001):
        grid.recordMetrics(1, 1, 1, 10_001, sender=operator)
    with reverts(grid.MetricOutOfRange, value=2**96, maxValue=2**96 - 1):
        grid.recordMetrics(2**96, 1, 1, 1, sender=operator)
    with reverts(grid.MetricOutOfRange, value=2**96, maxValue=2**96 - 1):
        grid.recordMetrics(1, 2**96, 1, 1, sender=operator)
    with reverts(grid.MetricOutOfRange, value=2**64, maxValue=2**64 - 1):
        grid.recordMetrics(1, 1, 2**64, 1, sender=operator)
    with reverts(grid.MetricsNotFound, metricsId=1):
        grid.getMetrics(1)


# ----------------------------------------------------------------------------- operators


def test_operator_registration_verification_and_authorization(grid, admin, other, chain):
    assert not grid.isVerifiedOperator(other)
    assert not grid.isAuthorizedOperator(other)
    with reverts(grid.OperatorNotFound, operator=other.address):
        grid.getOperator(other)
    tx = grid.registerOperator("South Energy", 2, 750, sender=other)
    assert tx.events == [log(grid.OperatorRegistered, operator=other.address, regionId=2, name="South Energy", capacityKW=750)]
    assert grid.getOperator(other) == ("South Energy", 2, 750, False, False, tx.timestamp)
    assert grid.operatorStatus(other) == (False, 2)
    with reverts(grid.OperatorNotVerified, operator=other.address):
        grid.setOperatorAuthorization(other, True, sender=admin)

    tx = grid.verifyOperator(other, sender=admin)
    assert tx.events == [log(grid.OperatorVerified, operator=other.address)]
    assert grid.isVerifiedOperator(other) and grid.isAuthorizedOperator(other)
    assert grid.operatorStatus(other) == (True, 2)
    with reverts(grid.OperatorAlreadyVerified, operator=other.address):
        grid.verifyOperator(other, sender=admin)

    tx = grid.setOperatorAuthorization(other, False, sender=admin)
    assert tx.events == [log(grid.OperatorAuthorizationUpdated, operator=other.address, authorized=False)]
    assert grid.isVerifiedOperator(other) and not grid.isAuthorizedOperator(other)
    assert grid.operatorStatus(other) == (False, 2)
    grid.setOperatorAuthorization(other, True, sender=admin)
    assert grid.getOperator(other).authorized


def test_operator_registration_rejections(grid, admin, operator, stranger):
    with reverts(grid.InvalidOperatorName, lengthBytes=0):
        grid.registerOperator("", REGION, 1, sender=stranger)
    with reverts(grid.InvalidOperatorName, lengthBytes=65):
        grid.registerOperator("x" * 65, REGION, 1, sender=stranger)
    with reverts(grid.CapacityOutOfRange, value=0, maxValue=2**32 - 1):
        grid.registerOperator("Zero", REGION, 0, sender=stranger)
    with reverts(grid.CapacityOutOfRange, value=2**32, maxValue=2**32 - 1):
        grid.registerOperator("Huge", REGION, 2**32, sender=stranger)
    with reverts(grid.AlreadyRegistered, account=operator.address):
        grid.registerOperator("Again", REGION, 1, sender=operator)
    with reverts(grid.OperatorNotFound, operator=stranger.address):
        grid.verifyOperator(stranger, sender=admin)
    with reverts(grid.OperatorNotFound, operator=stranger.address):
        grid.setOperatorAuthorization(stranger, True, sender=admin)
    grid.registerOperator("y" * 64, REGION, 2**32 - 1, sender=stranger)
    assert grid.getOperator(stranger).name == "y" * 64


# ----------------------------------------------------------------------------- reported status and emergencies


def test_update_grid_status(grid, operator, chain):
    empty = grid.getCurrentGridStatus()
    assert (empty.updatedAt, empty.updatedBy) == (0, ZERO_ADDRESS)
    tx = grid.updateGridStatus(52_000_000, 48_000_000, 49_950, 1_012, sender=operator)
    assert tx.events == [
        log(
            grid.GridStatusUpdated,
            operator=operator.address,
            supplyW=52_000_000,
            demandW=48_000_000,
            frequencyMilliHz=49_950,
            voltagePerMille=1_012,
        )
    ]
    assert grid.getCurrentGridStatus() == (52_000_000, 48_000_000, 49_950, 1_012, operator.address, tx.timestamp, False)


@pytest.mark.parametrize("frequency", [44_999, 65_001])
def test_update_grid_status_frequency_bounds(grid, operator, frequency):
    with reverts(grid.FrequencyOutOfBounds, frequencyMilliHz=frequency):
        grid.updateGridStatus(1, 1, frequency, 1_000, sender=operator)


@pytest.mark.parametrize("voltage", [499, 1_501])
def test_update_grid_status_voltage_bounds(grid, operator, voltage):
    with reverts(grid.VoltageOutOfBounds, voltagePerMille=voltage):
        grid.updateGridStatus(1, 1, 50_000, voltage, sender=operator)


def test_update_grid_status_power_bounds(grid, operator):
    with reverts(grid.MetricOutOfRange, value=2**64, maxValue=2**64 - 1):
        grid.updateGridStatus(2**64, 1, 50_000, 1_000, sender=operator)
    with reverts(grid.MetricOutOfRange, value=2**64, maxValue=2**64 - 1):
        grid.updateGridStatus(1, 2**64, 50_000, 1_000, sender=operator)
    grid.updateGridStatus(2**64 - 1, 2**64 - 1, 45_000, 1_500, sender=operator)
    assert grid.getCurrentGridStatus().supplyW == 2**64 - 1


def reason(text: str) -> bytes:
    return text.encode().ljust(32, b"\0")


def test_emergency_protocol_switches_emergency_mode_on(grid, admin, operator, other, chain):
    tx = grid.implementEmergencyProtocol(REGION, EMERGENCY, reason("FEEDER_FAULT"), sender=operator)
    assert tx.return_value == 1
    assert tx.events == [
        log(grid.EmergencyModeChanged, regionId=REGION, active=True, changedBy=operator.address),
        log(
            grid.EmergencyProtocolImplemented,
            emergencyId=1,
            regionId=REGION,
            severity=EMERGENCY,
            reason=reason("FEEDER_FAULT"),
            declaredBy=operator.address,
        ),
    ]
    assert grid.getEmergency(1) == (REGION, EMERGENCY, reason("FEEDER_FAULT"), operator.address, tx.timestamp)
    assert grid.getDynamicPrice() == 3 * BASE_PRICE
    assert grid.getCurrentGridStatus().emergencyMode
    # A contract holding EMERGENCY_RESPONDER_ROLE (GridOperations, which checks the region itself)
    # may declare one in any region; REGION's mode stays on, region 7's switches on.
    grid.grantRole(EMERGENCY_RESPONDER_ROLE, other, sender=admin)
    tx = grid.implementEmergencyProtocol(7, CRITICAL, reason("STABILITY_CRITICAL"), sender=other)
    assert tx.events == [
        log(grid.EmergencyModeChanged, regionId=7, active=True, changedBy=other.address),
        log(
            grid.EmergencyProtocolImplemented,
            emergencyId=2,
            regionId=7,
            severity=CRITICAL,
            reason=reason("STABILITY_CRITICAL"),
            declaredBy=other.address,
        )
    ]
    assert grid.emergencyCount() == 2
    with reverts(grid.EmergencyNotFound, emergencyId=3):
        grid.getEmergency(3)
    assert grid.isRegionInEmergency(REGION) and grid.isRegionInEmergency(7)
    # A second emergency in a region already in emergency mode switches nothing.
    tx = grid.implementEmergencyProtocol(REGION, ALERT, reason("FEEDER_FAULT"), sender=operator)
    assert [e.event_name for e in tx.events] == ["EmergencyProtocolImplemented"]


@pytest.mark.parametrize("severity", [0, 4])
def test_emergency_protocol_rejects_unknown_severity(grid, operator, severity):
    with reverts(grid.InvalidSeverity, severity=severity):
        grid.implementEmergencyProtocol(REGION, severity, reason("X"), sender=operator)
    assert grid.emergencyCount() == 0
    assert not grid.getGridStatus().emergencyMode


# ----------------------------------------------------------------------------- emergency shutdown


@pytest.fixture
def shutdown_targets(grid, admin, funded_market, smart_meter):
    """The market (trading and settlement) and the meter registry, pausable by GridManagement."""
    funded_market.grantRole(PAUSER_ROLE, grid, sender=admin)
    smart_meter.grantRole(PAUSER_ROLE, grid, sender=admin)
    targets = [funded_market.address, smart_meter.address]
    tx = grid.setShutdownTargets(targets, sender=admin)
    assert tx.events == [log(grid.ShutdownTargetsUpdated, targets=targets)]
    assert grid.getShutdownTargets() == targets
    return funded_market, smart_meter


def test_guardian_shuts_everything_down_at_once_and_only_the_admin_resumes(
    grid, admin, guardian, consumer, traders, shutdown_targets, chain
):
    market, meter = shutdown_targets
    grid.registerConsumer(1_000, sender=consumer)
    tx = grid.emergencyShutdown(sender=guardian)
    assert [e for e in tx.events if e.contract_address == grid.address] == [
        log(grid.Paused, account=guardian.address),
        log(grid.EmergencyShutdownActivated, guardian=guardian.address, targets=[market.address, meter.address]),
    ]
    assert grid.paused() and market.paused() and meter.paused()
    expiry = chain.pending_timestamp + 3_600
    with reverts(grid.EnforcedPause):
        grid.consumeEnergy(1, NO_PRICE_LIMIT, sender=consumer)
    with reverts(market.EnforcedPause):
        market.createOrder(1_000, 100_000, expiry, 1, sender=traders[0])
    with reverts(meter.EnforcedPause):
        meter.submitReadings([traders[0]], [(chain.pending_timestamp, 0, 0, 50_000, 1_000)], sender=admin)
    # A second shutdown finds everything paused and changes nothing.
    grid.emergencyShutdown(sender=guardian)
    # The guardian cannot resume anything.
    for contract in (grid, market, meter):
        with reverts(contract.AccessControlUnauthorizedAccount, account=guardian.address, neededRole=DEFAULT_ADMIN_ROLE):
            contract.unpause(sender=guardian)
    tx = grid.unpause(sender=admin)
    assert tx.events == [log(grid.Unpaused, account=admin.address)]
    with reverts(grid.ExpectedPause):
        grid.unpause(sender=admin)
    market.unpause(sender=admin)
    meter.unpause(sender=admin)
    grid.consumeEnergy(1, NO_PRICE_LIMIT, sender=consumer)
    market.createOrder(1_000, 100_000, expiry, 1, sender=traders[0])


def test_shutdown_targets_rejections(grid, admin, stranger):
    with reverts(grid.TooManyShutdownTargets, count=9, maxCount=8):
        grid.setShutdownTargets([stranger.address] * 9, sender=admin)
    with reverts(grid.ZeroAddress):
        grid.setShutdownTargets([grid.address, ZERO_ADDRESS], sender=admin)
    assert grid.getShutdownTargets() == []


def test_shutdown_needs_the_pauser_role_on_each_target(grid, admin, guardian, funded_market):
    grid.setShutdownTargets([funded_market.address], sender=admin)
    tx = grid.emergencyShutdown(sender=guardian)
    # The market's AccessControlUnauthorizedAccount(grid, PAUSER_ROLE) is reported, not raised.
    [failed] = tx.events.filter(grid.ShutdownTargetFailed)
    assert failed.target == funded_market.address
    assert bytes(failed.reason)[:4] == keccak(text="AccessControlUnauthorizedAccount(address,bytes32)")[:4]
    assert grid.paused() and not funded_market.paused()


# ----------------------------------------------------------------------------- settings


def test_set_fee_recipient(grid, admin, fee_recipient, other):
    tx = grid.setFeeRecipient(other, sender=admin)
    assert tx.events == [log(grid.FeeRecipientUpdated, previousRecipient=fee_recipient.address, newRecipient=other.address)]
    assert grid.feeRecipient() == other.address
    with reverts(grid.ZeroAddress):
        grid.setFeeRecipient(ZERO_ADDRESS, sender=admin)

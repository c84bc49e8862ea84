"""GridManagement's dynamic price cannot be moved by what participants declare about themselves:
a producer's capacity and output and a storage unit's flows count only once an operator has
verified the participant, utilisation is capped at the verified capacity, and a consumer names the
highest price it pays (`consumeEnergy(amountWh, maxPricePerKWh)`), so a price moved between signing
and mining makes the consumption revert instead of charging more.
"""

from __future__ import annotations

import pytest

from energy_grid.domain.pricing import dynamic_price
from energy_grid.domain.units import INTERVAL_SECONDS, interval_of

from support.helpers import log, reverts

BASE_PRICE = 200_000  # conftest GRID_BASE_PRICE_PER_KWH
MAX_POWER_W = 25 * 10**9
NUCLEAR, WIND = 3, 1
REGION = 1
UNLIMITED = 2**256 - 1


@pytest.fixture(scope="session")
def attacker(accounts):
    """Registers itself as a producer or storage unit to move the price."""
    return accounts[2]


@pytest.fixture(scope="module")
def grid(grid_management, admin, stablecoin, operator, consumer):
    """A verified operator of REGION and a funded consumer who approved the grid."""
    grid = grid_management
    grid.registerOperator("North Grid Co", REGION, 1_000, sender=operator)
    grid.verifyOperator(operator, sender=admin)
    stablecoin.addConsumerBalance(consumer, 1_000, sender=admin)
    stablecoin.approve(grid, UNLIMITED, sender=consumer)
    grid.registerConsumer(10**9, sender=consumer)
    return grid


@pytest.fixture(scope="module", autouse=True)
def _deployed_first(grid, producer, attacker, consumer, battery, operator, stranger):
    """Deploy and name the accounts before any test's own state (ape isolation)."""


@pytest.fixture
def half_loaded(grid, producer, operator):
    """A verified 100 kW producer feeding 50 kW: the price is base × 1.25."""
    grid.registerProducer(100_000, NUCLEAR, sender=producer)
    grid.verifyProducer(producer, sender=operator)
    grid.reportProduction(50_000, sender=producer)
    assert grid.getDynamicPrice() == dynamic_price(BASE_PRICE, 50_000, 100_000) == BASE_PRICE * 5 // 4
    return grid


def test_self_declared_capacity_does_not_move_the_price(half_loaded, attacker, consumer):
    grid = half_loaded
    grid.registerProducer(MAX_POWER_W, NUCLEAR, sender=attacker)
    assert grid.getDynamicPrice() == BASE_PRICE * 5 // 4
    status = grid.getGridStatus()
    assert (status.totalCapacityW, status.activeProducers) == (100_000, 1)
    # Its output does not count either: it cannot report any until verified.
    with reverts(grid.ParticipantNotVerified, account=attacker.address):
        grid.reportProduction(MAX_POWER_W, sender=attacker)
    assert grid.getProducer(attacker).verified is False
    tx = grid.consumeEnergy(1_000, BASE_PRICE * 5 // 4, sender=consumer)
    assert tx.events.filter(grid.EnergyConsumed)[0].pricePerKWh == BASE_PRICE * 5 // 4


def test_verified_producer_counts_from_its_verification(half_loaded, producer, attacker, operator, stranger):
    grid = half_loaded
    grid.registerProducer(100_000, WIND, sender=attacker)
    with reverts(grid.Unauthorized, account=stranger.address):
        grid.verifyProducer(attacker, sender=stranger)
    tx = grid.verifyProducer(attacker, sender=operator)
    assert tx.events == [log(grid.ParticipantVerified, account=attacker.address, isProducer=True, operator=operator.address)]
    status = grid.getGridStatus()
    assert (status.totalCapacityW, status.activeProducers) == (200_000, 2)
    assert grid.getDynamicPrice() == dynamic_price(BASE_PRICE, 50_000, 200_000)
    assert grid.getProducer(attacker).verified is True
    with reverts(grid.ParticipantAlreadyVerified, account=attacker.address):
        grid.verifyProducer(attacker, sender=operator)
    with reverts(grid.ParticipantNotFound, account=stranger.address):
        grid.verifyProducer(stranger, sender=operator)


def test_unverified_producer_leaves_the_totals_alone_when_deactivated_and_reactivated(
    half_loaded, attacker, operator
):
    grid = half_loaded
    grid.registerProducer(MAX_POWER_W, NUCLEAR, sender=attacker)
    grid.deactivateParticipant(attacker, True, sender=operator)
    grid.reactivateParticipant(attacker, True, sender=operator)
    status = grid.getGridStatus()
    assert (status.totalCapacityW, status.producerOutputW, status.activeProducers) == (100_000, 50_000, 1)
    # Verified while deactivated, it counts only once reactivated.
    grid.deactivateParticipant(attacker, True, sender=operator)
    grid.verifyProducer(attacker, sender=operator)
    assert grid.getGridStatus().totalCapacityW == 100_000
    grid.reactivateParticipant(attacker, True, sender=operator)
    assert grid.getGridStatus().totalCapacityW == 100_000 + MAX_POWER_W


def test_unverified_storage_cannot_move_energy(half_loaded, battery, operator, stranger):
    grid = half_loaded
    grid.registerStorage(10_000, 8_000, 8_000, sender=battery)
    with reverts(grid.ParticipantNotVerified, account=battery.address):
        grid.chargeStorage(1_000, sender=battery)
    with reverts(grid.ParticipantNotVerified, account=battery.address):
        grid.dischargeStorage(1_000, sender=battery)
    assert grid.getDynamicPrice() == BASE_PRICE * 5 // 4
    with reverts(grid.Unauthorized, account=stranger.address):
        grid.verifyStorage(battery, sender=stranger)
    with reverts(grid.ParticipantNotFound, account=stranger.address):
        grid.verifyStorage(stranger, sender=operator)
    tx = grid.verifyStorage(battery, sender=operator)
    assert tx.events == [log(grid.ParticipantVerified, account=battery.address, isProducer=False, operator=operator.address)]
    assert grid.getStorage(battery).verified is True
    with reverts(grid.ParticipantAlreadyVerified, account=battery.address):
        grid.verifyStorage(battery, sender=operator)
    grid.chargeStorage(1_000, sender=battery)
    assert grid.getGridStatus().storageChargeW == 4_000


def test_discharge_cannot_raise_utilisation_above_capacity(grid, producer, battery, operator, chain):
    """Storage charged in one interval and discharged at full load in the next: the price stops at base × 1.5."""
    grid.registerProducer(100_000, NUCLEAR, sender=producer)
    grid.verifyProducer(producer, sender=operator)
    grid.reportProduction(100_000, sender=producer)
    grid.registerStorage(100_000, 400_000, 400_000, sender=battery)
    grid.verifyStorage(battery, sender=operator)
    chain.pending_timestamp = (interval_of(chain.pending_timestamp) + 1) * INTERVAL_SECONDS
    grid.chargeStorage(25_000, sender=battery)  # 100 kW for the interval: the load drops to 0
    assert grid.getDynamicPrice() == BASE_PRICE
    chain.pending_timestamp = (interval_of(chain.pending_timestamp) + 1) * INTERVAL_SECONDS
    grid.dischargeStorage(25_000, sender=battery)  # 100 kW on top of full output
    status = grid.getGridStatus()
    assert status.currentLoadW == 200_000
    assert status.dynamicPricePerKWh == grid.getDynamicPrice() == BASE_PRICE * 3 // 2
    assert dynamic_price(BASE_PRICE, 200_000, 100_000) == BASE_PRICE * 3 // 2


def test_consumer_price_limit(half_loaded, stablecoin, consumer, producer):
    grid = half_loaded
    price = BASE_PRICE * 5 // 4
    balance = stablecoin.balanceOf(consumer)
    grid.reportProduction(100_000, sender=producer)  # the price moves to base × 1.5 before the consumer's transaction
    with reverts(grid.PriceAboveLimit, pricePerKWh=BASE_PRICE * 3 // 2, maxPricePerKWh=price):
        grid.consumeEnergy(1_000, price, sender=consumer)
    assert stablecoin.balanceOf(consumer) == balance
    assert grid.getConsumer(consumer).totalConsumedWh == 0
    tx = grid.consumeEnergy(1_000, BASE_PRICE * 3 // 2, sender=consumer)  # at the limit: accepted
    paid = BASE_PRICE * 3 // 2
    assert tx.events.filter(grid.EnergyConsumed) == [
        log(grid.EnergyConsumed, consumer=consumer.address, amountWh=1_000, pricePerKWh=paid, cost=paid)
    ]
    assert stablecoin.balanceOf(consumer) == balance - paid

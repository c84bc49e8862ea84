"""Emergency mode is kept per region: an operator switches on only its own region's, only that
region's operators or the admin switch it off, and the grid counts as in emergency (the dynamic
price at 3 × base) while any region is.
"""

from __future__ import annotations

from typing import Any

import pytest

from energy_grid.domain.units import FREQUENCY_NOMINAL_MILLIHZ, VOLTAGE_NOMINAL_PER_MILLE

from support.helpers import log, reverts

BASE_PRICE = 200_000  # conftest GRID_BASE_PRICE_PER_KWH
NORTH, SOUTH = 1, 2  # conftest GRID_OPS_REGION, GRID_OPS_OTHER_REGION
EMERGENCY = 2


def reason(text: str) -> bytes:
    return text.encode().ljust(32, b"\0")


@pytest.fixture(scope="module")
def emergency_gm(grid_management, grid_operations):
    """GridManagement with conftest's grid_operator (NORTH) and other_region_operator (SOUTH)."""
    return grid_management


@pytest.fixture(scope="module")
def north(grid_operator):
    return grid_operator


@pytest.fixture(scope="module")
def south(other_region_operator):
    return other_region_operator


@pytest.fixture(scope="module", autouse=True)
def _deployed_first(emergency_gm, north, south, admin, stranger):
    """Deploy and name the accounts before any test's own state (ape isolation)."""


def in_emergency(emergency_gm: Any) -> tuple[bool, bool, bool]:
    return emergency_gm.isRegionInEmergency(NORTH), emergency_gm.isRegionInEmergency(SOUTH), emergency_gm.getGridStatus().emergencyMode


def test_another_region_cannot_switch_an_emergency_off(emergency_gm, north, south):
    tx = emergency_gm.toggleEmergencyMode(NORTH, True, sender=north)
    assert tx.events == [log(emergency_gm.EmergencyModeChanged, regionId=NORTH, active=True, changedBy=north.address)]
    assert in_emergency(emergency_gm) == (True, False, True)
    assert emergency_gm.getDynamicPrice() == 3 * BASE_PRICE
    with reverts(emergency_gm.OperatorNotInRegion, operator=south.address, operatorRegionId=SOUTH, regionId=NORTH):
        emergency_gm.toggleEmergencyMode(NORTH, False, sender=south)
    assert in_emergency(emergency_gm) == (True, False, True)
    assert emergency_gm.getDynamicPrice() == 3 * BASE_PRICE


def test_another_region_cannot_switch_an_emergency_on(emergency_gm, south):
    with reverts(emergency_gm.OperatorNotInRegion, operator=south.address, operatorRegionId=SOUTH, regionId=NORTH):
        emergency_gm.toggleEmergencyMode(NORTH, True, sender=south)
    with reverts(emergency_gm.OperatorNotInRegion, operator=south.address, operatorRegionId=SOUTH, regionId=NORTH):
        emergency_gm.implementEmergencyProtocol(NORTH, EMERGENCY, reason("FEEDER_FAULT"), sender=south)
    assert in_emergency(emergency_gm) == (False, False, False)
    assert emergency_gm.emergencyCount() == 0


def test_grid_stays_in_emergency_while_any_region_is(emergency_gm, north, south):
    emergency_gm.toggleEmergencyMode(NORTH, True, sender=north)
    tx = emergency_gm.implementEmergencyProtocol(SOUTH, EMERGENCY, reason("FEEDER_FAULT"), sender=south)
    assert tx.events.filter(emergency_gm.EmergencyModeChanged) == [
        log(emergency_gm.EmergencyModeChanged, regionId=SOUTH, active=True, changedBy=south.address)
    ]
    emergency_gm.toggleEmergencyMode(NORTH, False, sender=north)
    assert in_emergency(emergency_gm) == (False, True, True)
    assert emergency_gm.getCurrentGridStatus().emergencyMode
    assert emergency_gm.getDynamicPrice() == 3 * BASE_PRICE
    emergency_gm.toggleEmergencyMode(SOUTH, False, sender=south)
    assert in_emergency(emergency_gm) == (False, False, False)
    assert emergency_gm.getDynamicPrice() == BASE_PRICE


def test_switching_to_the_current_state_is_refused(emergency_gm, north):
    with reverts(emergency_gm.EmergencyModeUnchanged, regionId=NORTH, active=False):
        emergency_gm.toggleEmergencyMode(NORTH, False, sender=north)
    emergency_gm.toggleEmergencyMode(NORTH, True, sender=north)
    with reverts(emergency_gm.EmergencyModeUnchanged, regionId=NORTH, active=True):
        emergency_gm.toggleEmergencyMode(NORTH, True, sender=north)


def test_admin_only_switches_off(emergency_gm, admin, north, stranger):
    with reverts(emergency_gm.Unauthorized, account=admin.address):
        emergency_gm.toggleEmergencyMode(NORTH, True, sender=admin)
    emergency_gm.toggleEmergencyMode(NORTH, True, sender=north)
    with reverts(emergency_gm.Unauthorized, account=stranger.address):
        emergency_gm.toggleEmergencyMode(NORTH, False, sender=stranger)
    tx = emergency_gm.toggleEmergencyMode(NORTH, False, sender=admin)
    assert tx.events == [log(emergency_gm.EmergencyModeChanged, regionId=NORTH, active=False, changedBy=admin.address)]
    assert in_emergency(emergency_gm) == (False, False, False)


def test_suspended_operator_cannot_switch_its_region(emergency_gm, admin, north):
    emergency_gm.toggleEmergencyMode(NORTH, True, sender=north)
    emergency_gm.setOperatorAuthorization(north, False, sender=admin)
    with reverts(emergency_gm.Unauthorized, account=north.address):
        emergency_gm.toggleEmergencyMode(NORTH, False, sender=north)
    assert emergency_gm.isRegionInEmergency(NORTH)


def test_stability_emergency_is_the_reporting_region_only(emergency_gm, grid_operations, north, south):
    """GridOperations declares for the region its operator reported; only that region clears it."""
    grid_operations.reportStabilityMetrics(NORTH, 47_000, VOLTAGE_NOMINAL_PER_MILLE, 0, sender=north)
    assert in_emergency(emergency_gm) == (True, False, True)
    with reverts(emergency_gm.OperatorNotInRegion, operator=south.address, operatorRegionId=SOUTH, regionId=NORTH):
        emergency_gm.toggleEmergencyMode(NORTH, False, sender=south)
    grid_operations.reportStabilityMetrics(NORTH, FREQUENCY_NOMINAL_MILLIHZ, VOLTAGE_NOMINAL_PER_MILLE, 0, sender=north)
    assert emergency_gm.isRegionInEmergency(NORTH)  # a normal report does not end it: an operator decides
    emergency_gm.toggleEmergencyMode(NORTH, False, sender=north)
    assert in_emergency(emergency_gm) == (False, False, False)


# ----------------------------------------------------------------------------- the seed's form
# 000's toggle-emergency-mode takes no arguments: toggleEmergencyMode() flips the calling operator's
# own region, the one GridManagement lists it in.


def test_the_seeds_toggle_flips_the_callers_own_region(emergency_gm, north, south):
    tx = emergency_gm.toggleEmergencyMode(sender=north)
    assert tx.return_value is True
    assert tx.events == [log(emergency_gm.EmergencyModeChanged, regionId=NORTH, active=True, changedBy=north.address)]
    assert in_emergency(emergency_gm) == (True, False, True)
    assert emergency_gm.getDynamicPrice() == 3 * BASE_PRICE
    tx = emergency_gm.toggleEmergencyMode(sender=south)
    assert tx.return_value is True
    assert tx.events == [log(emergency_gm.EmergencyModeChanged, regionId=SOUTH, active=True, changedBy=south.address)]
    assert in_emergency(emergency_gm) == (True, True, True)
    tx = emergency_gm.toggleEmergencyMode(sender=north)
    assert tx.return_value is False
    assert tx.events == [log(emergency_gm.EmergencyModeChanged, regionId=NORTH, active=False, changedBy=north.address)]
    assert in_emergency(emergency_gm) == (False, True, True)
    emergency_gm.toggleEmergencyMode(sender=south)
    assert in_emergency(emergency_gm) == (False, False, False)
    assert emergency_gm.getDynamicPrice() == BASE_PRICE


def test_the_seeds_toggle_ends_a_declared_emergency(emergency_gm, north):
    emergency_gm.implementEmergencyProtocol(NORTH, EMERGENCY, reason("FEEDER_FAULT"), sender=north)
    tx = emergency_gm.toggleEmergencyMode(sender=north)
    assert tx.return_value is False
    assert in_emergency(emergency_gm) == (False, False, False)


def test_the_seeds_toggle_is_for_authorized_operators_only(emergency_gm, admin, north, stranger):
    """The admin has no region of its own: it switches a region off with the regional form."""
    for account in (stranger, admin):
        with reverts(emergency_gm.Unauthorized, account=account.address):
            emergency_gm.toggleEmergencyMode(sender=account)
    emergency_gm.toggleEmergencyMode(sender=north)
    emergency_gm.setOperatorAuthorization(north, False, sender=admin)
    with reverts(emergency_gm.Unauthorized, account=north.address):
        emergency_gm.toggleEmergencyMode(sender=north)
    assert in_emergency(emergency_gm) == (True, False, True)

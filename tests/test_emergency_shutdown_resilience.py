"""The guardian's emergency shutdown pauses every target it can: a target whose pause() reverts
is reported with ShutdownTargetFailed (its revert data) and the others are paused all the same.
"""

from __future__ import annotations

import pytest
from eth_abi import encode
from eth_utils import keccak

from support.helpers import log, reverts, role

GUARDIAN_ROLE = role("GUARDIAN_ROLE")
PAUSER_ROLE = role("PAUSER_ROLE")


@pytest.fixture(scope="module")
def grid(grid_management, admin, guardian):
    grid_management.grantRole(GUARDIAN_ROLE, guardian, sender=admin)
    return grid_management


@pytest.fixture(scope="module", autouse=True)
def _deployed_first(grid, funded_market, smart_meter, stablecoin, guardian, stranger):
    """Deploy and name the accounts before any test's own state (ape isolation)."""


def unauthorized_pauser(account: str) -> bytes:
    """OpenZeppelin's AccessControlUnauthorizedAccount(account, PAUSER_ROLE) revert data."""
    selector = keccak(text="AccessControlUnauthorizedAccount(address,bytes32)")[:4]
    return selector + encode(["address", "bytes32"], [account, PAUSER_ROLE])


def test_a_failing_target_does_not_stop_the_others(grid, admin, guardian, funded_market, smart_meter, stablecoin):
    """The meter registry never granted GridManagement its PAUSER_ROLE; the stablecoin has no pause()."""
    funded_market.grantRole(PAUSER_ROLE, grid, sender=admin)
    targets = [smart_meter.address, stablecoin.address, funded_market.address]
    grid.setShutdownTargets(targets, sender=admin)
    tx = grid.emergencyShutdown(sender=guardian)
    assert [e for e in tx.events if e.contract_address == grid.address] == [
        log(grid.Paused, account=guardian.address),
        log(grid.EmergencyShutdownActivated, guardian=guardian.address, targets=targets),
        log(grid.ShutdownTargetFailed, target=smart_meter.address, reason=unauthorized_pauser(grid.address)),
        log(grid.ShutdownTargetFailed, target=stablecoin.address, reason=b""),
    ]
    assert grid.paused() and funded_market.paused()
    assert not smart_meter.paused()
    # Once the meter registry grants the role, a second shutdown pauses what is left and skips the rest.
    smart_meter.grantRole(PAUSER_ROLE, grid, sender=admin)
    tx = grid.emergencyShutdown(sender=guardian)
    assert [e for e in tx.events if e.contract_address == grid.address] == [
        log(grid.EmergencyShutdownActivated, guardian=guardian.address, targets=targets),
        log(grid.ShutdownTargetFailed, target=stablecoin.address, reason=b""),
    ]
    assert smart_meter.paused()


def test_targets_must_be_contracts(grid, admin, stranger, funded_market):
    with reverts(grid.ShutdownTargetNotContract, target=stranger.address):
        grid.setShutdownTargets([funded_market.address, stranger.address], sender=admin)
    assert grid.getShutdownTargets() == []

"""Shared fixtures: accounts by role and a freshly deployed, wired system.

Contracts are deployed once per module; ape's isolation rolls the chain back after every test,
so each test starts from the same deployed state.
"""

from __future__ import annotations

import pytest

from energy_grid.units import VOLTAGE_NOMINAL_PER_MILLE, FREQUENCY_NOMINAL_MILLIHZ


@pytest.fixture(scope="session")
def admin(accounts):
    """Deployer: holds the admin, operator and gateway roles."""
    return accounts[0]


@pytest.fixture(scope="session")
def owner(accounts):
    """A prosumer owning meters."""
    return accounts[1]


@pytest.fixture(scope="session")
def other(accounts):
    """A second participant."""
    return accounts[2]


@pytest.fixture(scope="session")
def stranger(accounts):
    """Holds no role."""
    return accounts[9]


@pytest.fixture(scope="session")
def meter_device(accounts):
    """The address a meter device signs with."""
    return accounts[3]


@pytest.fixture(scope="session")
def meter_device_2(accounts):
    return accounts[4]


@pytest.fixture(scope="module")
def energy_token(project, admin):
    return project.EnergyToken.deploy(admin, sender=admin)


@pytest.fixture(scope="module")
def stablecoin(project, admin):
    return project.MockStablecoin.deploy(admin, sender=admin)


@pytest.fixture(scope="module")
def smart_meter(project, admin, energy_token):
    meter = project.SmartMeter.deploy(admin, energy_token, sender=admin)
    energy_token.grantRole(energy_token.METER_ROLE(), meter, sender=admin)
    meter.grantRole(meter.OPERATOR_ROLE(), admin, sender=admin)
    meter.grantRole(meter.GATEWAY_ROLE(), admin, sender=admin)
    return meter


@pytest.fixture
def reading(chain):
    """Builds a MeterReading tuple; timestamp defaults to the next block's."""

    def build(
        consumption_wh: int,
        production_wh: int,
        timestamp: int | None = None,
        frequency_millihz: int = FREQUENCY_NOMINAL_MILLIHZ,
        voltage_per_mille: int = VOLTAGE_NOMINAL_PER_MILLE,
    ) -> tuple[int, int, int, int, int]:
        ts = chain.pending_timestamp if timestamp is None else timestamp
        return (ts, consumption_wh, production_wh, frequency_millihz, voltage_per_mille)

    return build


# --- market fixtures (EnergyTrading / Settlement) below this line ---

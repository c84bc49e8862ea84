"""Deploys a fresh, wired system: every contract, every role, the local faucet.

Used by `scripts/deploy.py`, the demo, the benchmark and the tests, so all of them run the
same wiring.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

# On a local chain the deployer (dev account 0) plays every operational role, and dev accounts
# 1-9 get this much MockStablecoin, in whole units.
LOCAL_FAUCET_WHOLE_UNITS = 10_000
DEFAULT_GRID_FEE_BPS = 50  # 0.5 %
DEFAULT_BASE_PRICE_PER_KWH = 200_000  # 0.20 per kWh in a 6-decimal PaymentToken
# On a local chain the deployer operates this region, so scripts can act at once.
LOCAL_OPERATOR_REGION = 1
LOCAL_OPERATOR_NAME = "Local grid operator"
LOCAL_OPERATOR_CAPACITY_MW = 1_000


@dataclass(frozen=True)
class System:
    energy_token: Any
    payment_token: Any
    smart_meter: Any
    energy_trading: Any
    grid_management: Any

    def contracts(self) -> dict[str, Any]:
        return {
            "EnergyToken": self.energy_token,
            "PaymentToken": self.payment_token,
            "SmartMeter": self.smart_meter,
            "EnergyTrading": self.energy_trading,
            # Settlement is EnergyTrading's base contract: the same address, listed by its own name too.
            "Settlement": self.energy_trading,
            "GridManagement": self.grid_management,
        }


def deploy_system(
    project: Any,
    deployer: Any,
    *,
    payment_token: Any | None = None,
    fee_recipient: Any | None = None,
    grid_fee_bps: int = DEFAULT_GRID_FEE_BPS,
    base_price_per_kwh: int = DEFAULT_BASE_PRICE_PER_KWH,
    guardian: Any | None = None,
    operators: tuple[Any, ...] = (),
    gateways: tuple[Any, ...] = (),
) -> System:
    """Deploys and wires the system; `deployer` becomes admin of everything.

    Without `payment_token` a MockStablecoin is deployed (local chains only). `guardian` (default:
    the deployer) may shut trading, settlement and metering down at once through GridManagement.
    """
    tx = {"sender": deployer}
    energy_token = project.EnergyToken.deploy(deployer, **tx)
    if payment_token is None:
        payment_token = project.MockStablecoin.deploy(deployer, **tx)
    smart_meter = project.SmartMeter.deploy(deployer, energy_token, **tx)
    energy_token.grantRole(energy_token.METER_ROLE(), smart_meter, **tx)
    for account in (deployer, *operators):
        smart_meter.grantRole(smart_meter.OPERATOR_ROLE(), account, **tx)
    for account in (deployer, *gateways):
        smart_meter.grantRole(smart_meter.GATEWAY_ROLE(), account, **tx)

    # The constructor grants the deployer DEFAULT_ADMIN, OPERATOR and PAUSER roles.
    energy_trading = project.EnergyTrading.deploy(
        deployer, energy_token, payment_token, fee_recipient or deployer, grid_fee_bps, **tx
    )
    for account in operators:
        energy_trading.grantRole(energy_trading.OPERATOR_ROLE(), account, **tx)

    grid = project.GridManagement.deploy(deployer, payment_token, fee_recipient or deployer, base_price_per_kwh, **tx)
    grid.grantRole(grid.GUARDIAN_ROLE(), guardian or deployer, **tx)
    # The emergency shutdown pauses the market (trading and settlement) and metering.
    shutdown_targets = [energy_trading, smart_meter]
    for target in shutdown_targets:
        target.grantRole(target.PAUSER_ROLE(), grid, **tx)
    grid.setShutdownTargets(shutdown_targets, **tx)

    return System(energy_token, payment_token, smart_meter, energy_trading, grid)


def setup_local_roles(system: System, deployer: Any) -> None:
    """Local chains only: the deployer becomes a verified grid operator of LOCAL_OPERATOR_REGION."""
    grid = system.grid_management
    grid.registerOperator(LOCAL_OPERATOR_NAME, LOCAL_OPERATOR_REGION, LOCAL_OPERATOR_CAPACITY_MW, sender=deployer)
    grid.verifyOperator(deployer, sender=deployer)


def fund_local_accounts(system: System, operator: Any, accounts: list[Any]) -> None:
    """Tops up each account from the MockStablecoin faucet."""
    for account in accounts:
        system.payment_token.addConsumerBalance(account, LOCAL_FAUCET_WHOLE_UNITS, sender=operator)

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
# Oracles: a report older than the heartbeat is stale; a price more than this far from the latest
# answer is refused (day-ahead prices move by tens of percent from one hour to the next).
DEFAULT_ORACLE_HEARTBEAT_SECONDS = 3_600
DEFAULT_MAX_PRICE_DEVIATION_BPS = 5_000
# CarbonCredits: grams of CO2e one kWh of clean export avoids. A real deployment sets the grid's
# own factor from the methodology its carbon registry accepts (e.g. the UNFCCC CDM "Tool to
# calculate the emission factor for an electricity system"); 400 g/kWh is a placeholder for a
# grid with a fossil-heavy margin.
DEFAULT_AVOIDED_EMISSION_GRAMS_PER_KWH = 400
# EnergyAuction: one market per quarter hour whose gate closes 5 minutes before delivery; limit
# prices on a grid of 256 ticks, 0.050 .. 0.305 per kWh in steps of 0.001 (6-decimal PaymentToken).
# An hourly or daily auction is another deployment (`auction_periods_seconds`).
DEFAULT_AUCTION_PERIODS_SECONDS = (900,)
DEFAULT_AUCTION_GATE_CLOSURE_SECONDS = 300
DEFAULT_AUCTION_PRICE_GRID = (50_000, 1_000, 305_000)  # min, tick size, max; per kWh


@dataclass(frozen=True)
class System:
    energy_token: Any
    payment_token: Any
    smart_meter: Any
    energy_trading: Any
    grid_management: Any
    grid_operations: Any
    price_oracle: Any
    weather_oracle: Any
    grid_oracle: Any
    price_discovery: Any
    demand_response: Any
    demand_programs: Any
    carbon_credits: Any
    energy_asset_nft: Any
    energy_asset_shares: Any
    energy_auctions: tuple[Any, ...]  # one per period length; the first is "EnergyAuction"

    @property
    def energy_auction(self) -> Any:
        return self.energy_auctions[0]

    def contracts(self) -> dict[str, Any]:
        return {
            "EnergyToken": self.energy_token,
            "PaymentToken": self.payment_token,
            "SmartMeter": self.smart_meter,
            "EnergyTrading": self.energy_trading,
            # Settlement is EnergyTrading's base contract: the same address, listed by its own name too.
            "Settlement": self.energy_trading,
            "GridManagement": self.grid_management,
            "GridOperations": self.grid_operations,
            "PriceOracle": self.price_oracle,
            "WeatherOracle": self.weather_oracle,
            "GridOracle": self.grid_oracle,
            "PriceDiscovery": self.price_discovery,
            "DemandResponse": self.demand_response,
            "DemandPrograms": self.demand_programs,
            "CarbonCredits": self.carbon_credits,
            "EnergyAssetNFT": self.energy_asset_nft,
            "EnergyAssetShares": self.energy_asset_shares,
            **{auction_name(i, auction.periodLength()): auction for i, auction in enumerate(self.energy_auctions)},
        }

    def oracles(self) -> tuple[Any, Any, Any]:
        return self.price_oracle, self.weather_oracle, self.grid_oracle


def auction_name(index: int, period_seconds: int) -> str:
    """The manifest's name of an auction: "EnergyAuction" for the first, "EnergyAuction3600s" … after."""
    return "EnergyAuction" if index == 0 else f"EnergyAuction{period_seconds}s"


def deploy_system(
    project: Any,
    deployer: Any,
    *,
    payment_token: Any | None = None,
    fee_recipient: Any | None = None,
    grid_fee_bps: int = DEFAULT_GRID_FEE_BPS,
    base_price_per_kwh: int = DEFAULT_BASE_PRICE_PER_KWH,
    guardian: Any | None = None,
    oracle_heartbeat_seconds: int = DEFAULT_ORACLE_HEARTBEAT_SECONDS,
    max_price_deviation_bps: int = DEFAULT_MAX_PRICE_DEVIATION_BPS,
    utc_offset_minutes: int = 0,
    avoided_emission_grams_per_kwh: int = DEFAULT_AVOIDED_EMISSION_GRAMS_PER_KWH,
    auction_periods_seconds: tuple[int, ...] = DEFAULT_AUCTION_PERIODS_SECONDS,
    auction_gate_closure_seconds: int = DEFAULT_AUCTION_GATE_CLOSURE_SECONDS,
    auction_price_grid: tuple[int, int, int] = DEFAULT_AUCTION_PRICE_GRID,
    operators: tuple[Any, ...] = (),
    gateways: tuple[Any, ...] = (),
) -> System:
    """Deploys and wires the system; `deployer` becomes admin of everything.

    Without `payment_token` a MockStablecoin is deployed (local chains only). `guardian` (default:
    the deployer) may shut trading, settlement and metering down at once through GridManagement.
    The oracles start without reporters (the admin adds them); EnergyTrading's price band around
    PriceDiscovery's reference price starts off (`setPriceBand`).
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

    # Interval auctions: the same tokens, fee recipient and fee rate as the order book.
    auctions = tuple(
        project.EnergyAuction.deploy(
            deployer,
            energy_token,
            payment_token,
            fee_recipient or deployer,
            grid_fee_bps,
            period_seconds,
            auction_gate_closure_seconds,
            *auction_price_grid,
            **tx,
        )
        for period_seconds in auction_periods_seconds
    )

    grid = project.GridManagement.deploy(deployer, payment_token, fee_recipient or deployer, base_price_per_kwh, **tx)
    grid.grantRole(grid.GUARDIAN_ROLE(), guardian or deployer, **tx)
    # The emergency shutdown pauses the markets (book, settlement, auctions' submissions and
    # clearing; auction claims stay open) and metering.
    shutdown_targets = [energy_trading, smart_meter, *auctions]
    for target in shutdown_targets:
        target.grantRole(target.PAUSER_ROLE(), grid, **tx)
    grid.setShutdownTargets(shutdown_targets, **tx)
    # Load, stability and balancing; a CRITICAL stability report declares an emergency in GridManagement.
    operations = project.GridOperations.deploy(deployer, grid, **tx)
    grid.grantRole(grid.EMERGENCY_RESPONDER_ROLE(), operations, **tx)

    # PriceOracle answers in PaymentToken base units per kWh, so it has the PaymentToken's decimals.
    description = f"EnergyToken kWh / {payment_token.symbol()}"
    price_oracle = project.PriceOracle.deploy(
        deployer, oracle_heartbeat_seconds, payment_token.decimals(), description, max_price_deviation_bps, **tx
    )
    weather_oracle = project.WeatherOracle.deploy(deployer, oracle_heartbeat_seconds, **tx)
    grid_oracle = project.GridOracle.deploy(deployer, oracle_heartbeat_seconds, **tx)
    max_ages = 3 * [oracle_heartbeat_seconds]  # price, weather, grid data
    price_discovery = project.PriceDiscovery.deploy(
        deployer, price_oracle, weather_oracle, grid_oracle, utc_offset_minutes, *max_ages, **tx
    )

    # Demand response, carbon credits and energy assets read the meters and GridManagement's
    # operators; they need no role on either.
    demand_response = project.DemandResponse.deploy(deployer, smart_meter, payment_token, grid, **tx)
    # Seed 001's programs share DemandResponse's registered operators and consumers and its settings.
    demand_programs = project.DemandPrograms.deploy(demand_response, **tx)
    carbon_credits = project.CarbonCredits.deploy(deployer, smart_meter, grid, avoided_emission_grams_per_kwh, **tx)
    asset_nft = project.EnergyAssetNFT.deploy(deployer, smart_meter, grid, **tx)
    asset_shares = project.EnergyAssetShares.deploy(deployer, asset_nft, payment_token, **tx)
    asset_nft.setSharesContract(asset_shares, **tx)  # once: split locks assets in this contract

    return System(
        energy_token,
        payment_token,
        smart_meter,
        energy_trading,
        grid,
        operations,
        price_oracle,
        weather_oracle,
        grid_oracle,
        price_discovery,
        demand_response,
        demand_programs,
        carbon_credits,
        asset_nft,
        asset_shares,
        auctions,
    )


def setup_local_roles(system: System, deployer: Any) -> None:
    """Local chains only: the deployer becomes a verified grid operator of LOCAL_OPERATOR_REGION,
    a demand-response grid operator and a reporter of every oracle, so scripts can act at once."""
    grid = system.grid_management
    grid.registerOperator(LOCAL_OPERATOR_NAME, LOCAL_OPERATOR_REGION, LOCAL_OPERATOR_CAPACITY_MW, sender=deployer)
    grid.verifyOperator(deployer, sender=deployer)
    system.demand_response.registerGridOperator(deployer, sender=deployer)
    for oracle in system.oracles():
        oracle.addReporter(deployer, sender=deployer)


def fund_local_accounts(system: System, operator: Any, accounts: list[Any]) -> None:
    """Tops up each account from the MockStablecoin faucet."""
    for account in accounts:
        system.payment_token.addConsumerBalance(account, LOCAL_FAUCET_WHOLE_UNITS, sender=operator)

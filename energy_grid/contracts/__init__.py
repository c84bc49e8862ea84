"""One typed class per deployed contract, on plain web3.py and eth-account (no ape at run time).

`energy_grid.contracts.client.GridClient` builds them all from a deployment manifest:

    grid = GridClient.from_manifest("deployments/31337.json", "http://127.0.0.1:8545")
    order_id = grid.trading.create_order(trader, 1_000, 220_000, expiry, OrderType.SELL)
    grid.trading.get_order_info(order_id).filled_wh

Writes take the signer (an eth-account LocalAccount) and return the receipt or the id their event
gives; reads return dataclasses (`structs`) and NamedTuples with the unit in every field name;
enums are `energy_grid.domain.enums`; every failure is an `energy_grid.chain.errors.GridError`.
"""

from __future__ import annotations

from energy_grid.contracts.assets import EnergyAssetNFT, EnergyAssetShares
from energy_grid.contracts.base import ContractClient, Transactor
from energy_grid.contracts.carbon import CarbonCredits
from energy_grid.contracts.demand import DemandPrograms, DemandResponse
from energy_grid.contracts.forecasts import ForecastLedger
from energy_grid.contracts.governance import (
    EnergyGovernor,
    GovernanceToken,
    GridTimelock,
)
from energy_grid.contracts.grid import GridManagement, GridOperations
from energy_grid.contracts.market import EnergyAuction, EnergyTrading
from energy_grid.contracts.oracles import (
    GridOracle,
    PriceDiscovery,
    PriceOracle,
    WeatherOracle,
)
from energy_grid.contracts.smart_meter import SmartMeter
from energy_grid.contracts.tokens import ERC20, EnergyToken, PaymentToken
from energy_grid.contracts.vault import EnergyVault
from energy_grid.contracts.zones import MarketZones, SteppedClearing

# The class of each manifest name (EnergyAuction<N>s, further auctions, are EnergyAuctions too).
CONTRACT_CLASSES: dict[str, type[ContractClient]] = {
    "SmartMeter": SmartMeter,
    "EnergyToken": EnergyToken,
    "PaymentToken": PaymentToken,
    "EnergyVault": EnergyVault,
    "EnergyTrading": EnergyTrading,
    "Settlement": EnergyTrading,
    "EnergyAuction": EnergyAuction,
    "MarketZones": MarketZones,
    "SteppedClearing": SteppedClearing,
    "GridManagement": GridManagement,
    "GridOperations": GridOperations,
    "ForecastLedger": ForecastLedger,
    "GridOracle": GridOracle,
    "WeatherOracle": WeatherOracle,
    "PriceOracle": PriceOracle,
    "PriceDiscovery": PriceDiscovery,
    "DemandResponse": DemandResponse,
    "DemandPrograms": DemandPrograms,
    "CarbonCredits": CarbonCredits,
    "EnergyAssetNFT": EnergyAssetNFT,
    "EnergyAssetShares": EnergyAssetShares,
    "GovernanceToken": GovernanceToken,
    "EnergyGovernor": EnergyGovernor,
    "GridTimelock": GridTimelock,
}

__all__ = [
    "CONTRACT_CLASSES",
    "ERC20",
    "CarbonCredits",
    "ContractClient",
    "DemandPrograms",
    "DemandResponse",
    "EnergyAssetNFT",
    "EnergyAssetShares",
    "EnergyAuction",
    "EnergyGovernor",
    "EnergyToken",
    "EnergyTrading",
    "EnergyVault",
    "ForecastLedger",
    "GovernanceToken",
    "GridManagement",
    "GridOperations",
    "GridOracle",
    "GridTimelock",
    "MarketZones",
    "PaymentToken",
    "PriceDiscovery",
    "PriceOracle",
    "SmartMeter",
    "SteppedClearing",
    "Transactor",
    "WeatherOracle",
]

"""A plain web3.py client over a deployment manifest: no ape needed.

    grid = GridClient.from_manifest("deployments/31337.json", "http://127.0.0.1:8545")
    grid.smart_meter.submit_reading(device_key, MeterReading(...))     # typed, one class per contract

Every failure is an `energy_grid.chain.errors.GridError` (re-exported here with `describe_revert`).
"""

from __future__ import annotations

import json
from functools import cached_property
from pathlib import Path
from typing import Any, TypeVar

from eth_account import Account
from eth_account.signers.local import LocalAccount
from web3 import Web3
from web3.contract import Contract
from web3.exceptions import BlockNotFound
from web3.types import TxReceipt

from energy_grid.chain.errors import (
    AnotherDeploymentError,
    ChainMismatchError,
    ContractRevertError,
    DeploymentNotOnChainError,
    GridError,
    InvalidInputError,
    ManifestError,
    NodeUnreachableError,
    TransactionRevertedError,
    describe_decoded,
    describe_revert,
)
from energy_grid.chain.jsonrpc import NodeProvider
from energy_grid.chain.manifest import hash_hex, read_manifest, validate_manifest
from energy_grid.contracts import (
    CarbonCredits,
    ContractClient,
    DemandPrograms,
    DemandResponse,
    EnergyAssetNFT,
    EnergyAssetShares,
    EnergyAuction,
    EnergyGovernor,
    EnergyToken,
    EnergyTrading,
    EnergyVault,
    ForecastLedger,
    GovernanceToken,
    GridManagement,
    GridOperations,
    GridOracle,
    GridTimelock,
    MarketZones,
    PaymentToken,
    PriceDiscovery,
    PriceOracle,
    SmartMeter,
    SteppedClearing,
    Transactor,
    WeatherOracle,
)
from energy_grid.contracts.base import CONNECTION_ERRORS, GAS_MARGIN, DeployedContracts
from energy_grid.contracts.market import PlacedOrder
from energy_grid.contracts.structs import MeterReading
from energy_grid.contracts.zones import needs_steps
from energy_grid.domain.auction import Clearing, clear_market
from energy_grid.domain.enums import LoadStatus, OrderType
from energy_grid.domain.units import MAX_UINT256

# Chainlink's published ABI of a price feed, from the npm package `make` installs: a consumer
# written for a Chainlink feed reads PriceOracle through it unchanged.
CHAINLINK_AGGREGATOR_V3_ABI = (
    Path(__file__).resolve().parents[2]
    / "node_modules/@chainlink/contracts/abi/v0.8/AggregatorV3Interface.json"
)
LOAD_STATUSES = tuple(status.name for status in LoadStatus)  # IGridOperations.LoadStatus
BUY, SELL = OrderType.BUY, OrderType.SELL
C = TypeVar("C", bound=ContractClient)


def _addresses_without_code(w3: Web3, addresses: list[str]) -> list[str]:
    """The addresses with no contract code on the node, asked in one JSON-RPC batch."""
    with w3.batch_requests() as batch:
        for address in addresses:
            batch.add(w3.eth.get_code(Web3.to_checksum_address(address)))
        codes = batch.execute()
    return [address for address, code in zip(addresses, codes, strict=True) if not code]


def _has_block(w3: Web3, number: int, block_hash: str) -> bool:
    """Whether the node's block `number` is the one whose hash is `block_hash` (a manifest's deployment marker)."""
    try:
        block = w3.eth.get_block(number)
    except BlockNotFound:
        return False
    return hash_hex(bytes(block["hash"])) == hash_hex(block_hash)


def check_on_chain(w3: Web3, manifest: dict[str, Any], source: str = "the manifest") -> int:
    """The node's chain id, once the manifest is known to be this chain's deployment: the chain id,
    each contract's code, and the block the deployment started at (`startBlockHash`, where the
    manifest records it: a fresh chain may hold a new deployment at the same addresses). Raises
    ManifestError (or a subclass), ChainMismatchError or NodeUnreachableError otherwise."""
    validate_manifest(manifest)
    rpc_url = str(getattr(w3.provider, "endpoint_uri", "the node"))
    try:
        chain_id = int(w3.eth.chain_id)
        missing = _addresses_without_code(w3, [entry["address"] for entry in manifest["contracts"].values()])
        marked = "startBlockHash" not in manifest or _has_block(w3, manifest["startBlock"], manifest["startBlockHash"])
    except CONNECTION_ERRORS as err:
        raise NodeUnreachableError(rpc_url, str(err)) from None
    if chain_id != manifest["chainId"]:
        raise ChainMismatchError(chain_id, manifest["chainId"])
    if missing:
        raise DeploymentNotOnChainError(source, rpc_url)
    if not marked:
        raise AnotherDeploymentError(source, rpc_url, manifest["startBlock"])
    return chain_id


# The contracts every deployment has; the others (zones, stepped clearing, governance) are optional.
REQUIRED_CONTRACTS = (
    "SmartMeter", "EnergyToken", "PaymentToken", "EnergyVault", "EnergyTrading", "EnergyAuction", "GridManagement",
    "GridOperations", "GridOracle", "WeatherOracle", "PriceOracle", "PriceDiscovery", "DemandResponse", "DemandPrograms",
    "CarbonCredits", "EnergyAssetNFT", "EnergyAssetShares",
)  # fmt: skip


class GridClient:
    """Every contract of one deployment as a typed client (`grid.trading`, `grid.auction`, …), the
    one way to call it; the methods here only span contracts (approve a market for both tokens,
    fund and start an event) or read web3's raw named tuples."""

    def __init__(self, w3: Web3, manifest: dict[str, Any], source: str = "the manifest") -> None:
        """`source` names the manifest in errors (its path)."""
        chain_id = check_on_chain(w3, manifest, source)
        absent = [name for name in REQUIRED_CONTRACTS if name not in manifest["contracts"]]
        if absent:
            raise ManifestError(f"The manifest of chain {chain_id} has no {absent[0]}: redeploy with `make deploy`.")
        self.w3 = w3
        self.chain_id = chain_id
        self.userdocs: dict[str, dict[str, Any]] = {
            entry["address"].lower(): entry.get("userdoc", {}) for entry in manifest["contracts"].values()
        }
        self.contracts = DeployedContracts(w3, manifest["contracts"])
        self.transactor = Transactor(w3, self.contracts, self.userdocs)

    # Each contract's typed client, made when first used (DeployedContracts).

    @cached_property
    def smart_meter(self) -> SmartMeter:
        return SmartMeter(self.transactor, self.contracts["SmartMeter"])

    @cached_property
    def energy_token(self) -> EnergyToken:
        return EnergyToken(self.transactor, self.contracts["EnergyToken"])

    @cached_property
    def payment_token(self) -> PaymentToken:
        return PaymentToken(self.transactor, self.contracts["PaymentToken"])

    @cached_property
    def vault(self) -> EnergyVault:
        """The balances the auctions trade."""
        return EnergyVault(self.transactor, self.contracts["EnergyVault"])

    @cached_property
    def trading(self) -> EnergyTrading:
        """EnergyTrading, also listed as Settlement (one contract)."""
        return EnergyTrading(self.transactor, self.contracts["EnergyTrading"])

    @cached_property
    def auction(self) -> EnergyAuction:
        """The quarter-hourly EnergyAuction."""
        return EnergyAuction(self.transactor, self.contracts["EnergyAuction"])

    @cached_property
    def auctions(self) -> dict[str, EnergyAuction]:
        """Every auction by manifest name (EnergyAuction3600s, …)."""
        return {name: EnergyAuction(self.transactor, self.contracts[name]) for name in self.contracts if name.startswith("EnergyAuction")}

    def reading_auction(self) -> EnergyAuction | None:
        """The auction the meters' standing orders trade in (SmartMeter's reading market), if it is one of
        the deployment's."""
        market = self.smart_meter.reading_market().lower()
        return next((a for a in self.auctions.values() if a.address.lower() == market), None)

    @cached_property
    def market_zones(self) -> MarketZones | None:
        """The reading market's zones; older manifests have none."""
        return self._optional(MarketZones, "MarketZones")

    @cached_property
    def stepped_clearing(self) -> SteppedClearing | None:
        """Clears the largest markets in steps; older manifests have none."""
        return self._optional(SteppedClearing, "SteppedClearing")

    @cached_property
    def grid_management(self) -> GridManagement:
        return GridManagement(self.transactor, self.contracts["GridManagement"])

    @cached_property
    def grid_operations(self) -> GridOperations:
        return GridOperations(self.transactor, self.contracts["GridOperations"])

    @cached_property
    def forecast_ledger(self) -> ForecastLedger | None:
        """The regions' committed forecasts; older manifests have none."""
        return self._optional(ForecastLedger, "ForecastLedger")

    @cached_property
    def grid_oracle(self) -> GridOracle:
        return GridOracle(self.transactor, self.contracts["GridOracle"])

    @cached_property
    def weather_oracle(self) -> WeatherOracle:
        return WeatherOracle(self.transactor, self.contracts["WeatherOracle"])

    @cached_property
    def price_oracle(self) -> PriceOracle:
        return PriceOracle(self.transactor, self.contracts["PriceOracle"])

    @cached_property
    def price_discovery(self) -> PriceDiscovery:
        return PriceDiscovery(self.transactor, self.contracts["PriceDiscovery"])

    @cached_property
    def demand_response(self) -> DemandResponse:
        return DemandResponse(self.transactor, self.contracts["DemandResponse"])

    @cached_property
    def demand_programs(self) -> DemandPrograms:
        return DemandPrograms(self.transactor, self.contracts["DemandPrograms"])

    @cached_property
    def carbon_credits(self) -> CarbonCredits:
        return CarbonCredits(self.transactor, self.contracts["CarbonCredits"])

    @cached_property
    def asset_nft(self) -> EnergyAssetNFT:
        return EnergyAssetNFT(self.transactor, self.contracts["EnergyAssetNFT"])

    @cached_property
    def asset_shares(self) -> EnergyAssetShares:
        return EnergyAssetShares(self.transactor, self.contracts["EnergyAssetShares"])

    @cached_property
    def governance_token(self) -> GovernanceToken | None:
        """Governance is optional in a manifest."""
        return self._optional(GovernanceToken, "GovernanceToken")

    @cached_property
    def governor(self) -> EnergyGovernor | None:
        return self._optional(EnergyGovernor, "EnergyGovernor")

    @cached_property
    def timelock(self) -> GridTimelock | None:
        return self._optional(GridTimelock, "GridTimelock")

    @classmethod
    def from_manifest(cls, path: str | Path, rpc_url: str, timeout_s: float = 30) -> GridClient:
        """The client of the deployment described at `path`, on the node at `rpc_url`."""
        provider = NodeProvider(rpc_url, request_kwargs={"timeout": timeout_s})
        return cls(Web3(provider), read_manifest(Path(path)), source=str(path))

    def _optional(self, cls: type[C], name: str) -> C | None:
        return cls(self.transactor, self.contracts[name]) if name in self.contracts else None

    def __getitem__(self, name: str) -> Contract:
        return self.contracts[name]

    def transact(self, signer: LocalAccount, call: Any) -> TxReceipt:
        """Signs, sends and waits for `call`; raises GridError naming the custom error on a revert."""
        return self.transactor.transact(signer, call)

    def explain(self, call: Any, data: str) -> str:
        """The revert named from the called contract's ABI, else from the contract it bubbled up
        from (a token's balance error, SmartMeter's under DemandResponse, …)."""
        return describe_decoded(self.contracts.decode_error(data, self.userdocs, (call.address, call.contract_abi)), data)

    # ------------------------------------------------------------------ the node

    def mine_block_at(self, timestamp: int) -> None:
        """Local chains only: mines a block at `timestamp` (anvil's evm_mine)."""
        self.w3.provider.make_request("evm_mine", [timestamp])  # type: ignore[arg-type]

    # ------------------------------------------------------------------ trading

    def approve_market(self, trader: LocalAccount) -> None:
        """Lets the order book take the trader's escrow: approves EnergyTrading as a market in the
        EnergyVault (where escrow comes from and refunds and payouts go), and allows the vault both
        tokens without limit, so that an order the vault balance falls short of pulls the rest from
        the wallet."""
        self._approve_both_tokens(trader, self.vault.address)
        if not self.vault.is_market_approved(trader.address, self.trading.address):
            self.vault.approve_market(trader, self.trading.address)

    def _approve_both_tokens(self, trader: LocalAccount, spender: str) -> None:
        """An unlimited allowance of EnergyToken and PaymentToken for a market that escrows both."""
        for token in (self.energy_token, self.payment_token):
            token.approve(trader, spender, MAX_UINT256)

    # ------------------------------------------------------------------ grid (GridManagement, GridOperations)

    def grid_status(self) -> Any:
        """getGridStatus() as web3.py's named tuple (totalCapacityW, currentLoadW, …);
        `grid.grid_management.grid_status()` gives the typed GridStatus."""
        return self["GridManagement"].functions.getGridStatus().call()

    def submit_price(self, reporter: LocalAccount, price_per_kwh: int) -> TxReceipt:
        return self.transact(reporter, self["PriceOracle"].functions.submitPrice(price_per_kwh))

    def chainlink_price_feed(self) -> Contract:
        """PriceOracle seen through Chainlink's published AggregatorV3Interface ABI, not the project's."""
        abi = json.loads(CHAINLINK_AGGREGATOR_V3_ABI.read_text())
        return self.w3.eth.contract(address=self["PriceOracle"].address, abi=abi)

    # ------------------------------------------------------------------ demand response

    def start_event(
        self, operator: LocalAccount, region_id: int | None, target_reduction_kw: int, reward_per_kw: int, duration_seconds: int
    ) -> int:
        """Approves the event's whole budget (target x reward) and starts it in `region_id` (the
        operator's GridManagement region; None: whichever region GridManagement lists it in);
        returns the event id."""
        self.payment_token.approve(operator, self.demand_response.address, target_reduction_kw * reward_per_kw)
        return self.demand_response.start_event(operator, region_id, target_reduction_kw, reward_per_kw, duration_seconds)

    def get_event(self, event_id: int) -> Any:
        """The DemandResponseEvent as web3.py's named tuple; `grid.demand_response.get_event` is typed."""
        return self["DemandResponse"].functions.getEvent(event_id).call()

    def event_budget(self, event_id: int) -> Any:
        """budget, reserved, paid, refunded, verificationDeadline, … as web3.py's named tuple."""
        return self["DemandResponse"].functions.getEventBudget(event_id).call()

    def verify_reduction(
        self, sender: LocalAccount, event_id: int, consumer: str, figures: tuple[int, int, int, int] | None = None
    ) -> TxReceipt:
        """Submits the consumer's reduction; by default exactly the figures its meter gives. Anyone may."""
        args = figures if figures is not None else self.demand_response.preview_reduction(event_id, consumer)
        return self.transact(sender, self["DemandResponse"].functions.verifyReduction(event_id, consumer, *args))

    def claim_reward(self, consumer: LocalAccount, event_id: int) -> TxReceipt:
        return self.transact(consumer, self["DemandResponse"].functions.claimReward(event_id))

    # ------------------------------------------------------------------ interval auction (EnergyAuction)

    def approve_auction(self, trader: LocalAccount, auction: str = "EnergyAuction") -> None:
        """Lets the auction take the trader's escrow: approves it as a market in the EnergyVault (where
        escrow comes from and claims go), and allows the vault both tokens without limit, so that an
        order the vault balance falls short of pulls the rest from the wallet."""
        self._approve_both_tokens(trader, self.vault.address)
        if not self.vault.is_market_approved(trader.address, self.auctions[auction].address):
            self.vault.approve_market(trader, self.auctions[auction].address)

    def clear_auction(self, sender: LocalAccount, period: int, auction: str = "EnergyAuction") -> Any:
        """clear(period) from its clearing time on (`grid.auction.clearing_time(period)`); anyone may. A
        coupled market too large for one transaction first runs its steps (SteppedClearing). Returns the
        MarketCleared event's fields."""
        clear = self[auction].functions.clear(period)
        stepped = self.stepped_clearing
        if stepped is not None and self.auctions[auction].market_zones() == stepped.market_zones() and needs_steps(clear, sender.address):
            stepped.run(sender, period)
        receipt = self.transact(sender, clear)
        return self.auctions[auction].event(receipt, "MarketCleared")

    def claim_auction_order(self, sender: LocalAccount, order_id: int, auction: str = "EnergyAuction") -> Any:
        """claim(orderId): pays the order's fill, proceeds and refund into its trader's vault balance;
        anyone may call."""
        receipt = self.transact(sender, self[auction].functions.claim(order_id))
        return self.auctions[auction].event(receipt, "OrderClaimed")

    def preview_auction(self, period: int, auction: str = "EnergyAuction") -> Clearing:
        """What clearing the market now would give: the reference rule over its orders so far."""
        market = self.auctions[auction]
        return clear_market(market.orders(period), market.grid(period)[2])


__all__ = [
    "BUY",
    "GAS_MARGIN",
    "LOAD_STATUSES",
    "SELL",
    "ChainMismatchError",
    "ContractRevertError",
    "DeploymentNotOnChainError",
    "GridClient",
    "GridError",
    "InvalidInputError",
    "ManifestError",
    "MeterReading",
    "NodeUnreachableError",
    "PlacedOrder",
    "TransactionRevertedError",
    "check_on_chain",
    "describe_revert",
]

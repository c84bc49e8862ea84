"""A plain web3.py client over a deployment manifest: no ape needed.

    grid = GridClient.from_manifest("deployments/31337.json", "http://127.0.0.1:8545")
    grid.smart_meter.submit_reading(device_key, MeterReading(...))     # typed, one class per contract

Every failure is an `energy_grid.chain.errors.GridError` (re-exported here with `describe_revert`).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, TypeVar, cast

from eth_account import Account
from eth_account.signers.local import LocalAccount
from web3 import Web3
from web3.contract import Contract
from web3.types import TxReceipt

from energy_grid.chain.errors import (
    ChainMismatchError,
    ContractRevertError,
    DeploymentNotOnChainError,
    GridError,
    InvalidInputError,
    ManifestError,
    NodeUnreachableError,
    TransactionRevertedError,
    describe_revert,
)
from energy_grid.chain.jsonrpc import NodeProvider
from energy_grid.chain.manifest import read_manifest, validate_manifest
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
from energy_grid.contracts.base import CONNECTION_ERRORS, GAS_MARGIN
from energy_grid.contracts.market import PlacedOrder
from energy_grid.contracts.structs import MeterReading
from energy_grid.contracts.zones import needs_steps
from energy_grid.domain.auction import Clearing, clear_market
from energy_grid.domain.enums import LoadStatus, OrderType
from energy_grid.domain.units import MAX_UINT256

# Anvil's public development mnemonic: its accounts exist only on local chains.
ANVIL_MNEMONIC = "test test test test test test test test test test test junk"
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


def anvil_account(index: int) -> LocalAccount:
    Account.enable_unaudited_hdwallet_features()
    return Account.from_mnemonic(ANVIL_MNEMONIC, account_path=f"m/44'/60'/0'/0/{index}")


class GridClient:
    """Every contract of one deployment as a typed client (`grid.trading`, `grid.auction`, …), the
    one way to call it; the methods here only span contracts (approve a market for both tokens,
    fund and start an event) or read web3's raw named tuples."""

    smart_meter: SmartMeter
    energy_token: EnergyToken
    payment_token: PaymentToken
    vault: EnergyVault  # the balances the auctions trade
    trading: EnergyTrading  # EnergyTrading, also listed as Settlement (one contract)
    auction: EnergyAuction  # the quarter-hourly EnergyAuction
    auctions: dict[str, EnergyAuction]  # every auction by manifest name (EnergyAuction3600s, …)
    market_zones: MarketZones | None  # the reading market's zones; older manifests have none
    stepped_clearing: SteppedClearing | None  # clears its largest markets in steps; older manifests have none
    grid_management: GridManagement
    grid_operations: GridOperations
    grid_oracle: GridOracle
    weather_oracle: WeatherOracle
    price_oracle: PriceOracle
    price_discovery: PriceDiscovery
    demand_response: DemandResponse
    demand_programs: DemandPrograms
    carbon_credits: CarbonCredits
    asset_nft: EnergyAssetNFT
    asset_shares: EnergyAssetShares
    governance_token: GovernanceToken | None  # governance is optional in a manifest
    governor: EnergyGovernor | None
    timelock: GridTimelock | None

    def __init__(self, w3: Web3, manifest: dict[str, Any], source: str = "the manifest") -> None:
        """`source` names the manifest in errors (its path)."""
        validate_manifest(manifest)
        rpc_url = str(getattr(w3.provider, "endpoint_uri", "the node"))
        try:
            chain_id = w3.eth.chain_id
            missing = _addresses_without_code(w3, [entry["address"] for entry in manifest["contracts"].values()])
        except CONNECTION_ERRORS as err:
            raise NodeUnreachableError(rpc_url, str(err)) from None
        if chain_id != manifest["chainId"]:
            raise ChainMismatchError(chain_id, manifest["chainId"])
        if missing:
            raise DeploymentNotOnChainError(source, rpc_url)
        self.w3 = w3
        self.chain_id = chain_id
        self.userdocs: dict[str, dict[str, Any]] = {
            entry["address"].lower(): entry.get("userdoc", {}) for entry in manifest["contracts"].values()
        }
        # decode_tuples: struct results come back as named tuples (status.currentLoadW, …).
        self.contracts: dict[str, Contract] = {
            name: w3.eth.contract(address=Web3.to_checksum_address(entry["address"]), abi=entry["abi"], decode_tuples=True)
            for name, entry in manifest["contracts"].items()
        }
        self.transactor = Transactor(w3, self.contracts, self.userdocs)
        self.smart_meter = self._typed(SmartMeter, "SmartMeter")
        self.energy_token = self._typed(EnergyToken, "EnergyToken")
        self.payment_token = self._typed(PaymentToken, "PaymentToken")
        self.vault = self._typed(EnergyVault, "EnergyVault")
        self.trading = self._typed(EnergyTrading, "EnergyTrading")
        self.auction = self._typed(EnergyAuction, "EnergyAuction")
        self.auctions = {
            name: EnergyAuction(self.transactor, contract)
            for name, contract in self.contracts.items()
            if name.startswith("EnergyAuction")
        }
        self.market_zones = self._optional(MarketZones, "MarketZones")
        self.stepped_clearing = self._optional(SteppedClearing, "SteppedClearing")
        self.grid_management = self._typed(GridManagement, "GridManagement")
        self.grid_operations = self._typed(GridOperations, "GridOperations")
        self.grid_oracle = self._typed(GridOracle, "GridOracle")
        self.weather_oracle = self._typed(WeatherOracle, "WeatherOracle")
        self.price_oracle = self._typed(PriceOracle, "PriceOracle")
        self.price_discovery = self._typed(PriceDiscovery, "PriceDiscovery")
        self.demand_response = self._typed(DemandResponse, "DemandResponse")
        self.demand_programs = self._typed(DemandPrograms, "DemandPrograms")
        self.carbon_credits = self._typed(CarbonCredits, "CarbonCredits")
        self.asset_nft = self._typed(EnergyAssetNFT, "EnergyAssetNFT")
        self.asset_shares = self._typed(EnergyAssetShares, "EnergyAssetShares")
        self.governance_token = self._optional(GovernanceToken, "GovernanceToken")
        self.governor = self._optional(EnergyGovernor, "EnergyGovernor")
        self.timelock = self._optional(GridTimelock, "GridTimelock")

    @classmethod
    def from_manifest(cls, path: str | Path, rpc_url: str, timeout_s: float = 30) -> GridClient:
        """The client of the deployment described at `path`, on the node at `rpc_url`."""
        provider = NodeProvider(rpc_url, request_kwargs={"timeout": timeout_s})
        return cls(Web3(provider), read_manifest(Path(path)), source=str(path))

    def _typed(self, cls: type[C], name: str) -> C:
        if name not in self.contracts:
            raise ManifestError(f"The manifest of chain {self.chain_id} has no {name}: redeploy with `make deploy`.")
        return cls(self.transactor, self.contracts[name])

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
        reason = describe_revert(list(call.contract_abi), data, self.userdocs.get(call.address.lower()))
        for contract in self.contracts.values():
            if not reason.startswith("unknown error"):
                break
            reason = describe_revert(cast(Any, contract.abi), data, self.userdocs.get(contract.address.lower()))
        return reason

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
    "anvil_account",
    "describe_revert",
]

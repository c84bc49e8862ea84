"""A plain web3.py client over a deployment manifest: no ape needed.

    grid = GridClient.from_manifest("deployments/31337.json", "http://127.0.0.1:8545")
    grid.smart_meter.submit_reading(device_key, MeterReading(...))     # typed, one class per contract
    grid.submit_reading(device_key, MeterReading(...))                 # the original short forms

Every failure is an `energy_grid.errors.GridError` (re-exported here with `describe_revert`).
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

from energy_grid.auction import AuctionOrder, Clearing, clear_market
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
    GovernanceToken,
    GridManagement,
    GridOperations,
    GridOracle,
    GridTimelock,
    PaymentToken,
    PriceDiscovery,
    PriceOracle,
    SmartMeter,
    Transactor,
    WeatherOracle,
)
from energy_grid.contracts.base import CONNECTION_ERRORS, GAS_MARGIN, MAX_UINT256
from energy_grid.contracts.market import PlacedOrder
from energy_grid.contracts.structs import MeterReading
from energy_grid.enums import LoadStatus, OrderType
from energy_grid.errors import (
    ChainMismatchError,
    ContractRevertError,
    GridError,
    InvalidInputError,
    ManifestError,
    NodeUnreachableError,
    TransactionRevertedError,
    describe_revert,
)
from energy_grid.manifest import read_manifest, validate_manifest

# Anvil's public development mnemonic: its accounts exist only on local chains.
ANVIL_MNEMONIC = "test test test test test test test test test test test junk"
# Chainlink's published ABI of a price feed, from the npm package `make` installs: a consumer
# written for a Chainlink feed reads PriceOracle through it unchanged.
CHAINLINK_AGGREGATOR_V3_ABI = (
    Path(__file__).resolve().parent.parent
    / "node_modules/@chainlink/contracts/abi/v0.8/AggregatorV3Interface.json"
)
LOAD_STATUSES = tuple(status.name for status in LoadStatus)  # IGridOperations.LoadStatus
BUY, SELL = OrderType.BUY, OrderType.SELL
C = TypeVar("C", bound=ContractClient)


def anvil_account(index: int) -> LocalAccount:
    Account.enable_unaudited_hdwallet_features()
    return Account.from_mnemonic(ANVIL_MNEMONIC, account_path=f"m/44'/60'/0'/0/{index}")


class GridClient:
    """Every contract of one deployment: typed attributes (`grid.trading`, `grid.auction`, …) and
    the original short forms (`grid.create_order`, …), which keep their signatures and results."""

    smart_meter: SmartMeter
    energy_token: EnergyToken
    payment_token: PaymentToken
    trading: EnergyTrading  # EnergyTrading, also listed as Settlement (one contract)
    auction: EnergyAuction  # the quarter-hourly EnergyAuction
    auctions: dict[str, EnergyAuction]  # every auction by manifest name (EnergyAuction3600s, …)
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

    def __init__(self, w3: Web3, manifest: dict[str, Any]) -> None:
        validate_manifest(manifest)
        try:
            chain_id = w3.eth.chain_id
        except CONNECTION_ERRORS as err:
            raise NodeUnreachableError(str(getattr(w3.provider, "endpoint_uri", "the node")), str(err)) from None
        if chain_id != manifest["chainId"]:
            raise ChainMismatchError(chain_id, manifest["chainId"])
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
        self.trading = self._typed(EnergyTrading, "EnergyTrading")
        self.auction = self._typed(EnergyAuction, "EnergyAuction")
        self.auctions = {
            name: EnergyAuction(self.transactor, contract)
            for name, contract in self.contracts.items()
            if name.startswith("EnergyAuction")
        }
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
        provider = Web3.HTTPProvider(rpc_url, request_kwargs={"timeout": timeout_s})
        return cls(Web3(provider), read_manifest(Path(path)))

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

    # ------------------------------------------------------------------ the original short forms
    # Kept for the scripts, examples and tests written against them; each runs through the typed
    # classes above, and results keep their original types (raw struct tuples where they were).

    def register_meter(self, operator: LocalAccount, meter: str, owner: str, region_id: int) -> TxReceipt:
        return self.smart_meter.register_meter(operator, meter, owner, region_id)

    def submit_reading(self, device: LocalAccount, reading: MeterReading) -> TxReceipt:
        return self.smart_meter.submit_reading(device, reading)

    def mine_block_at(self, timestamp: int) -> None:
        """Local chains only: mines a block at `timestamp` (anvil's evm_mine)."""
        self.w3.provider.make_request("evm_mine", [timestamp])  # type: ignore[arg-type]

    def latest_reading(self, meter: str) -> MeterReading:
        return self.smart_meter.latest_reading(meter)

    def energy_balance_wh(self, holder: str) -> int:
        return self.energy_token.balance_of(holder)

    def payment_balance(self, holder: str) -> int:
        return self.payment_token.balance_of(holder)

    # ------------------------------------------------------------------ trading (seed function names)

    def approve_market(self, trader: LocalAccount) -> None:
        """Approves EnergyTrading, the one contract a trader approves, for both tokens."""
        for token in (self.energy_token, self.payment_token):
            token.approve(trader, self.trading.address, MAX_UINT256)

    def create_order(self, trader: LocalAccount, amount_wh: int, price_per_kwh: int, expiry: int, side: int) -> int:
        """createOrder; returns the new order's id (from its OrderCreated event). The order trades at
        once with the resting orders it crosses: place_order also returns those fills."""
        return self.trading.create_order(trader, amount_wh, price_per_kwh, expiry, side)

    def place_order(self, trader: LocalAccount, amount_wh: int, price_per_kwh: int, expiry: int, side: int) -> PlacedOrder:
        """createOrder; returns the order's id and the transactions it recorded on arrival by
        crossing resting orders (best price first, each at the resting order's price)."""
        return self.trading.place_order(trader, amount_wh, price_per_kwh, expiry, side)

    def create_directed_order(
        self, trader: LocalAccount, amount_wh: int, price_per_kwh: int, expiry: int, side: int, counterparty: str
    ) -> int:
        """createDirectedOrder: a bilateral offer only `counterparty` can trade (fill_order or
        match_orders); it never crosses on arrival. Returns the order id."""
        return self.trading.create_directed_order(trader, amount_wh, price_per_kwh, expiry, side, counterparty)

    def cancel_order(self, trader: LocalAccount, order_id: int) -> TxReceipt:
        return self.trading.cancel_order(trader, order_id)

    def match_orders(self, keeper: LocalAccount, buy_order_id: int, sell_order_id: int) -> int:
        """matchOrders; returns the transaction id (from OrdersMatched)."""
        return self.trading.match_orders(keeper, buy_order_id, sell_order_id)

    def fill_order(self, taker: LocalAccount, order_id: int, amount_wh: int) -> int:
        """fillOrder (taker fill); returns the transaction id (from OrderTaken)."""
        return self.trading.fill_order(taker, order_id, amount_wh)

    def settle_transaction(self, keeper: LocalAccount, transaction_id: int) -> TxReceipt:
        return self.trading.settle_transaction(keeper, transaction_id)

    # ------------------------------------------------------------------ grid (GridManagement, GridOperations)

    def register_producer(self, producer: LocalAccount, capacity_w: int, energy_type: int) -> TxReceipt:
        return self.grid_management.register_producer(producer, capacity_w, energy_type)

    def verify_producer(self, operator: LocalAccount, producer: str) -> TxReceipt:
        """An operator verifies a producer: only then does its capacity count and may it report output."""
        return self.grid_management.verify_producer(operator, producer)

    def report_production(self, producer: LocalAccount, output_w: int) -> TxReceipt:
        return self.grid_management.report_production(producer, output_w)

    def grid_status(self) -> Any:
        """getGridStatus() as web3.py's named tuple (totalCapacityW, currentLoadW, …);
        `grid.grid_management.grid_status()` gives the typed GridStatus."""
        return self["GridManagement"].functions.getGridStatus().call()

    def dynamic_price(self) -> int:
        return self.grid_management.dynamic_price_per_kwh()

    def report_load(self, operator: LocalAccount, region_id: int, capacity_mw: int, demand_mw: int) -> TxReceipt:
        return self.grid_operations.report_load(operator, region_id, capacity_mw, demand_mw)

    def load_status(self, region_id: int) -> str:
        """The region's latest load status: LOW, NORMAL, HIGH or CRITICAL."""
        return self.grid_operations.load_status(region_id).name

    def report_stability(
        self, operator: LocalAccount, region_id: int, frequency_millihz: int, voltage_per_mille: int, phase_angle_millideg: int = 0
    ) -> TxReceipt:
        return self.grid_operations.report_stability(operator, region_id, frequency_millihz, voltage_per_mille, phase_angle_millideg)

    def submit_price(self, reporter: LocalAccount, price_per_kwh: int) -> TxReceipt:
        return self.transact(reporter, self["PriceOracle"].functions.submitPrice(price_per_kwh))

    def chainlink_price_feed(self) -> Contract:
        """PriceOracle seen through Chainlink's published AggregatorV3Interface ABI, not the project's."""
        abi = json.loads(CHAINLINK_AGGREGATOR_V3_ABI.read_text())
        return self.w3.eth.contract(address=self["PriceOracle"].address, abi=abi)

    # ------------------------------------------------------------------ demand response (seed 004)

    def submit_readings(self, gateway: LocalAccount, meters: list[str], readings: list[MeterReading]) -> TxReceipt:
        """A gateway batch: one reading each for up to MAX_BATCH_SIZE (100) meters (readings may be backdated)."""
        return self.smart_meter.submit_readings(gateway, meters, readings)

    def register_dr_consumer(self, signer: LocalAccount, consumer: str, meter: str) -> TxReceipt:
        """registerConsumer: the consumer itself or a registered grid operator; `meter` must be the consumer's."""
        return self.demand_response.register_consumer(signer, consumer, meter)

    def start_event(
        self, operator: LocalAccount, region_id: int, target_reduction_kw: int, reward_per_kw: int, duration_seconds: int
    ) -> int:
        """Approves the event's whole budget (target x reward) and starts it in `region_id` (the
        operator's GridManagement region); returns the event id."""
        self.payment_token.approve(operator, self.demand_response.address, target_reduction_kw * reward_per_kw)
        return self.demand_response.start_event(operator, region_id, target_reduction_kw, reward_per_kw, duration_seconds)

    def get_event(self, event_id: int) -> Any:
        """Seed 004's DemandResponseEvent as web3.py's named tuple; `grid.demand_response.get_event` is typed."""
        return self["DemandResponse"].functions.getEvent(event_id).call()

    def event_budget(self, event_id: int) -> Any:
        """budget, reserved, paid, refunded, verificationDeadline, … as web3.py's named tuple."""
        return self["DemandResponse"].functions.getEventBudget(event_id).call()

    def preview_reduction(self, event_id: int, consumer: str) -> tuple[int, int, int, int]:
        """What the consumer's meter shows: (baseline W, actual W, first interval, last interval)."""
        return self.demand_response.preview_reduction(event_id, consumer)

    def verify_reduction(
        self, sender: LocalAccount, event_id: int, consumer: str, figures: tuple[int, int, int, int] | None = None
    ) -> TxReceipt:
        """Submits the consumer's reduction; by default exactly the figures its meter gives. Anyone may."""
        args = figures if figures is not None else self.preview_reduction(event_id, consumer)
        return self.transact(sender, self["DemandResponse"].functions.verifyReduction(event_id, consumer, *args))

    def distribute_rewards(self, sender: LocalAccount, event_id: int) -> TxReceipt:
        """Pays verified participants in a bounded batch; after verification closes, completes the
        event and refunds the unspent budget to its operator. Anyone may call it."""
        return self.demand_response.distribute_rewards(sender, event_id)

    def claim_reward(self, consumer: LocalAccount, event_id: int) -> TxReceipt:
        return self.transact(consumer, self["DemandResponse"].functions.claimReward(event_id))

    # ------------------------------------------------------------------ interval auction (EnergyAuction)

    def approve_auction(self, trader: LocalAccount, auction: str = "EnergyAuction") -> None:
        """Approves the auction for both tokens (bids escrow PaymentToken, asks EnergyToken)."""
        for token in (self.energy_token, self.payment_token):
            token.approve(trader, self.auctions[auction].address, MAX_UINT256)

    def submit_bid(
        self, trader: LocalAccount, period: int, amount_wh: int, limit_price_per_kwh: int, auction: str = "EnergyAuction"
    ) -> int:
        """submitBid; returns the order id (from OrderSubmitted)."""
        return self.auctions[auction].submit_bid(trader, period, amount_wh, limit_price_per_kwh)

    def submit_ask(
        self, trader: LocalAccount, period: int, amount_wh: int, limit_price_per_kwh: int, auction: str = "EnergyAuction"
    ) -> int:
        """submitAsk; returns the order id (from OrderSubmitted)."""
        return self.auctions[auction].submit_ask(trader, period, amount_wh, limit_price_per_kwh)

    def clear_auction(self, sender: LocalAccount, period: int, auction: str = "EnergyAuction") -> Any:
        """clear(period) once the gate has closed; anyone may. Returns the MarketCleared event's fields."""
        receipt = self.transact(sender, self[auction].functions.clear(period))
        return self.auctions[auction].event(receipt, "MarketCleared")

    def claim_auction_order(self, sender: LocalAccount, order_id: int, auction: str = "EnergyAuction") -> Any:
        """claim(orderId): pays the order's fill, proceeds and refund to its trader; anyone may call."""
        receipt = self.transact(sender, self[auction].functions.claim(order_id))
        return self.auctions[auction].event(receipt, "OrderClaimed")

    def auction_orders(self, period: int, auction: str = "EnergyAuction") -> list[AuctionOrder]:
        """A market's orders in arrival order, from its OrderSubmitted events: what
        energy_grid.auction.clear_market previews a market from."""
        return self.auctions[auction].orders(period)

    def auction_grid(self, period: int, auction: str = "EnergyAuction") -> tuple[int, int, int]:
        """The market's price grid (min price, tick size, tick count); a market without orders has the current one."""
        return self.auctions[auction].grid(period)

    def preview_auction(self, period: int, auction: str = "EnergyAuction") -> Clearing:
        """What clearing the market now would give: the reference rule over its orders so far."""
        grid = self.auction_grid(period, auction)
        return clear_market(self.auction_orders(period, auction), grid[2])


__all__ = [
    "BUY",
    "GAS_MARGIN",
    "LOAD_STATUSES",
    "SELL",
    "ChainMismatchError",
    "ContractRevertError",
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

"""A plain web3.py client over a deployment manifest: no ape needed.

    grid = GridClient.from_manifest("deployments/31337.json", "http://127.0.0.1:8545")
    grid.submit_reading(device_key, MeterReading(...))
"""

from __future__ import annotations

import json
from dataclasses import astuple, dataclass
from pathlib import Path
from typing import Any, NamedTuple

from eth_abi import decode
from eth_account import Account
from eth_account.signers.local import LocalAccount
from eth_utils import function_signature_to_4byte_selector
from web3 import Web3
from web3.contract import Contract
from web3.exceptions import ContractCustomError
from web3.logs import DISCARD

from energy_grid.auction import AuctionOrder, Clearing, clear_market
from energy_grid.manifest import read_manifest
from energy_grid.operations import BUY, MAX_UINT256, SELL
from energy_grid.units import FREQUENCY_NOMINAL_MILLIHZ, VOLTAGE_NOMINAL_PER_MILLE

# Anvil's public development mnemonic: its accounts exist only on local chains.
ANVIL_MNEMONIC = "test test test test test test test test test test test junk"
# Chainlink's published ABI of a price feed, from the npm package `make` installs: a consumer
# written for a Chainlink feed reads PriceOracle through it unchanged.
CHAINLINK_AGGREGATOR_V3_ABI = (
    Path(__file__).resolve().parent.parent
    / "node_modules/@chainlink/contracts/abi/v0.8/AggregatorV3Interface.json"
)
LOAD_STATUSES = ("LOW", "NORMAL", "HIGH", "CRITICAL")  # IGridOperations.LoadStatus
GAS_MARGIN = 25_000


class PlacedOrder(NamedTuple):
    """A created order and the transactions it recorded on arrival."""

    order_id: int
    transaction_ids: list[int]


def anvil_account(index: int) -> LocalAccount:
    Account.enable_unaudited_hdwallet_features()
    return Account.from_mnemonic(ANVIL_MNEMONIC, account_path=f"m/44'/60'/0'/0/{index}")


@dataclass(frozen=True)
class MeterReading:
    """ISmartMeter.MeterReading: cumulative registers in Wh."""

    timestamp: int
    consumption_wh: int
    production_wh: int
    frequency_millihz: int = FREQUENCY_NOMINAL_MILLIHZ
    voltage_per_mille: int = VOLTAGE_NOMINAL_PER_MILLE

    def as_tuple(self) -> tuple[int, ...]:
        return astuple(self)


class GridError(Exception):
    """A contract rejected a call; the message names its custom error and arguments."""


def describe_revert(abi: list[dict[str, Any]], data: str, userdoc: dict[str, Any] | None = None) -> str:
    """Turns revert data into `ErrorName(arg=value, …): its @notice` using the ABI and NatSpec."""
    raw = bytes.fromhex(data.removeprefix("0x"))
    for item in abi:
        if item.get("type") != "error":
            continue
        types = [i["type"] for i in item["inputs"]]
        signature = f"{item['name']}({','.join(types)})"
        if function_signature_to_4byte_selector(signature) == raw[:4]:
            values = decode(types, raw[4:])
            args = ", ".join(f"{i['name']}={v}" for i, v in zip(item["inputs"], values))
            notices = (userdoc or {}).get("errors", {}).get(signature, [])
            explanation = f": {notices[0]['notice']}" if notices else ""
            return f"{item['name']}({args}){explanation}"
    return f"unknown error {data[:10]}"


class GridClient:
    def __init__(self, w3: Web3, manifest: dict[str, Any]) -> None:
        chain_id = w3.eth.chain_id
        if chain_id != manifest["chainId"]:
            raise ValueError(f"The node is chain {chain_id} but the manifest is for chain {manifest['chainId']}.")
        self.w3 = w3
        self.userdocs: dict[str, dict[str, Any]] = {
            entry["address"].lower(): entry.get("userdoc", {}) for entry in manifest["contracts"].values()
        }
        # decode_tuples: struct results come back as named tuples (status.currentLoadW, …).
        self.contracts: dict[str, Contract] = {
            name: w3.eth.contract(address=Web3.to_checksum_address(entry["address"]), abi=entry["abi"], decode_tuples=True)
            for name, entry in manifest["contracts"].items()
        }

    @classmethod
    def from_manifest(cls, path: str | Path, rpc_url: str) -> GridClient:
        return cls(Web3(Web3.HTTPProvider(rpc_url)), read_manifest(Path(path)))

    def __getitem__(self, name: str) -> Contract:
        return self.contracts[name]

    def transact(self, signer: LocalAccount, call: Any) -> Any:
        """Signs, sends and waits for `call`; raises GridError naming the custom error on a revert."""
        try:
            tx = call.build_transaction(
                {"from": signer.address, "nonce": self.w3.eth.get_transaction_count(signer.address)}
            )
        except ContractCustomError as err:
            raise GridError(f"{call.fn_name} rejected: {self.explain(call, str(err.data))}") from None
        # The estimate ran against the latest block; the transaction runs in the next, whose later
        # time can write more (a producer's first booked energy, a new interval's counters). Unused
        # gas is not charged, so a margin costs nothing.
        tx["gas"] = tx["gas"] * 3 // 2 + GAS_MARGIN
        signed = signer.sign_transaction(tx)
        receipt = self.w3.eth.wait_for_transaction_receipt(self.w3.eth.send_raw_transaction(signed.raw_transaction))
        if receipt["status"] != 1:
            raise RuntimeError(f"Transaction {receipt['transactionHash'].hex()} reverted.")
        return receipt

    def explain(self, call: Any, data: str) -> str:
        """The revert named from the called contract's ABI, else from the contract it bubbled up
        from (a token's balance error, SmartMeter's under DemandResponse, …)."""
        reason = describe_revert(call.contract_abi, data, self.userdocs.get(call.address.lower()))
        for contract in self.contracts.values():
            if not reason.startswith("unknown error"):
                break
            reason = describe_revert(contract.abi, data, self.userdocs.get(contract.address.lower()))
        return reason

    def register_meter(self, operator: LocalAccount, meter: str, owner: str, region_id: int) -> Any:
        fn = self["SmartMeter"].get_function_by_signature("registerMeter(address,address,uint32)")
        return self.transact(operator, fn(meter, owner, region_id))

    def submit_reading(self, device: LocalAccount, reading: MeterReading) -> Any:
        return self.transact(device, self["SmartMeter"].functions.submitReading(reading.as_tuple()))

    def mine_block_at(self, timestamp: int) -> None:
        """Local chains only: mines a block at `timestamp` (anvil's evm_mine)."""
        self.w3.provider.make_request("evm_mine", [timestamp])

    def latest_reading(self, meter: str) -> MeterReading:
        fn = self["SmartMeter"].get_function_by_signature("getLatestReading(address)")
        return MeterReading(*fn(meter).call())

    def energy_balance_wh(self, holder: str) -> int:
        return int(self["EnergyToken"].functions.balanceOf(holder).call())

    def payment_balance(self, holder: str) -> int:
        return int(self["PaymentToken"].functions.balanceOf(holder).call())

    # ------------------------------------------------------------------ trading (seed function names)

    def approve_market(self, trader: LocalAccount) -> None:
        """Approves EnergyTrading, the one contract a trader approves, for both tokens."""
        market = self["EnergyTrading"].address
        for token in ("EnergyToken", "PaymentToken"):
            self.transact(trader, self[token].functions.approve(market, MAX_UINT256))

    def create_order(self, trader: LocalAccount, amount_wh: int, price_per_kwh: int, expiry: int, side: int) -> int:
        """createOrder; returns the new order's id (from its OrderCreated event). The order trades at
        once with the resting orders it crosses: place_order also returns those fills."""
        return self.place_order(trader, amount_wh, price_per_kwh, expiry, side).order_id

    def place_order(self, trader: LocalAccount, amount_wh: int, price_per_kwh: int, expiry: int, side: int) -> PlacedOrder:
        """createOrder; returns the order's id and the transactions it recorded on arrival by
        crossing resting orders (best price first, each at the resting order's price)."""
        receipt = self.transact(trader, self["EnergyTrading"].functions.createOrder(amount_wh, price_per_kwh, expiry, side))
        fills = self["EnergyTrading"].events.OrdersMatched().process_receipt(receipt, errors=DISCARD)
        return PlacedOrder(
            int(self._event(receipt, "OrderCreated")["orderId"]),
            [int(e["args"]["transactionId"]) for e in fills],
        )

    def create_directed_order(
        self, trader: LocalAccount, amount_wh: int, price_per_kwh: int, expiry: int, side: int, counterparty: str
    ) -> int:
        """createDirectedOrder: a bilateral offer only `counterparty` can trade (fill_order or
        match_orders); it never crosses on arrival. Returns the order id."""
        call = self["EnergyTrading"].functions.createDirectedOrder(amount_wh, price_per_kwh, expiry, side, counterparty)
        return int(self._event(self.transact(trader, call), "OrderCreated")["orderId"])

    def cancel_order(self, trader: LocalAccount, order_id: int) -> Any:
        return self.transact(trader, self["EnergyTrading"].functions.cancelOrder(order_id))

    def match_orders(self, keeper: LocalAccount, buy_order_id: int, sell_order_id: int) -> int:
        """matchOrders; returns the transaction id (from OrdersMatched)."""
        receipt = self.transact(keeper, self["EnergyTrading"].functions.matchOrders(buy_order_id, sell_order_id))
        return int(self._event(receipt, "OrdersMatched")["transactionId"])

    def fill_order(self, taker: LocalAccount, order_id: int, amount_wh: int) -> int:
        """fillOrder (taker fill); returns the transaction id (from OrderTaken)."""
        receipt = self.transact(taker, self["EnergyTrading"].functions.fillOrder(order_id, amount_wh))
        return int(self._event(receipt, "OrderTaken")["transactionId"])

    def settle_transaction(self, keeper: LocalAccount, transaction_id: int) -> Any:
        return self.transact(keeper, self["EnergyTrading"].functions.settleTransaction(transaction_id))

    # ------------------------------------------------------------------ grid (GridManagement, GridOperations)

    def register_producer(self, producer: LocalAccount, capacity_w: int, energy_type: int) -> Any:
        return self.transact(producer, self["GridManagement"].functions.registerProducer(capacity_w, energy_type))

    def report_production(self, producer: LocalAccount, output_w: int) -> Any:
        return self.transact(producer, self["GridManagement"].functions.reportProduction(output_w))

    def grid_status(self) -> Any:
        """getGridStatus(): totalCapacityW, currentLoadW, utilizationBps, emergencyMode, …"""
        return self["GridManagement"].functions.getGridStatus().call()

    def dynamic_price(self) -> int:
        return int(self["GridManagement"].functions.getDynamicPrice().call())

    def report_load(self, operator: LocalAccount, region_id: int, capacity_mw: int, demand_mw: int) -> Any:
        return self.transact(operator, self["GridOperations"].functions.reportLoad(region_id, capacity_mw, demand_mw))

    def load_status(self, region_id: int) -> str:
        """The region's latest load status: LOW, NORMAL, HIGH or CRITICAL."""
        return LOAD_STATUSES[self["GridOperations"].functions.getCurrentLoad(region_id).call().status]

    def report_stability(
        self, operator: LocalAccount, region_id: int, frequency_millihz: int, voltage_per_mille: int, phase_angle_millideg: int = 0
    ) -> Any:
        fn = self["GridOperations"].functions.reportStabilityMetrics
        return self.transact(operator, fn(region_id, frequency_millihz, voltage_per_mille, phase_angle_millideg))

    def submit_price(self, reporter: LocalAccount, price_per_kwh: int) -> Any:
        return self.transact(reporter, self["PriceOracle"].functions.submitPrice(price_per_kwh))

    def chainlink_price_feed(self) -> Contract:
        """PriceOracle seen through Chainlink's published AggregatorV3Interface ABI, not the project's."""
        abi = json.loads(CHAINLINK_AGGREGATOR_V3_ABI.read_text())
        return self.w3.eth.contract(address=self["PriceOracle"].address, abi=abi)

    # ------------------------------------------------------------------ demand response (seed 004)

    def submit_readings(self, gateway: LocalAccount, meters: list[str], readings: list[MeterReading]) -> Any:
        """A gateway batch: one reading each for up to 200 meters (readings may be backdated)."""
        fn = self["SmartMeter"].functions.submitReadings
        return self.transact(gateway, fn(meters, [r.as_tuple() for r in readings]))

    def register_dr_consumer(self, signer: LocalAccount, consumer: str, meter: str) -> Any:
        """registerConsumer: the consumer itself or a registered grid operator; `meter` must be the consumer's."""
        return self.transact(signer, self["DemandResponse"].functions.registerConsumer(consumer, meter))

    def start_event(self, operator: LocalAccount, target_reduction_kw: int, reward_per_kw: int, duration_seconds: int) -> int:
        """Approves the event's whole budget (target x reward) and starts it; returns the event id."""
        dr = self["DemandResponse"]
        budget = target_reduction_kw * reward_per_kw
        self.transact(operator, self["PaymentToken"].functions.approve(dr.address, budget))
        receipt = self.transact(operator, dr.functions.startEvent(target_reduction_kw, reward_per_kw, duration_seconds))
        return int(self._event(receipt, "EventStarted", "DemandResponse")["eventId"])

    def get_event(self, event_id: int) -> Any:
        """Seed 004's DemandResponseEvent: window startTime / endTime, status, totals."""
        return self["DemandResponse"].functions.getEvent(event_id).call()

    def event_budget(self, event_id: int) -> Any:
        """budget, reserved, paid, refunded, verificationDeadline, …"""
        return self["DemandResponse"].functions.getEventBudget(event_id).call()

    def preview_reduction(self, event_id: int, consumer: str) -> tuple[int, int, int, int]:
        """What the consumer's meter shows: (baseline W, actual W, first interval, last interval)."""
        figures = self["DemandResponse"].functions.previewReduction(event_id, consumer).call()
        return (int(figures[0]), int(figures[1]), int(figures[2]), int(figures[3]))

    def verify_reduction(
        self, sender: LocalAccount, event_id: int, consumer: str, figures: tuple[int, int, int, int] | None = None
    ) -> Any:
        """Submits the consumer's reduction; by default exactly the figures its meter gives. Anyone may."""
        args = figures if figures is not None else self.preview_reduction(event_id, consumer)
        return self.transact(sender, self["DemandResponse"].functions.verifyReduction(event_id, consumer, *args))

    def distribute_rewards(self, sender: LocalAccount, event_id: int) -> Any:
        """Pays verified participants in a bounded batch; after verification closes, completes the
        event and refunds the unspent budget to its operator. Anyone may call it."""
        return self.transact(sender, self["DemandResponse"].functions.distributeRewards(event_id))

    def claim_reward(self, consumer: LocalAccount, event_id: int) -> Any:
        return self.transact(consumer, self["DemandResponse"].functions.claimReward(event_id))

    # ------------------------------------------------------------------ interval auction (EnergyAuction)

    def approve_auction(self, trader: LocalAccount, auction: str = "EnergyAuction") -> None:
        """Approves the auction for both tokens (bids escrow PaymentToken, asks EnergyToken)."""
        for token in ("EnergyToken", "PaymentToken"):
            self.transact(trader, self[token].functions.approve(self[auction].address, MAX_UINT256))

    def submit_bid(self, trader: LocalAccount, period: int, amount_wh: int, limit_price_per_kwh: int, auction: str = "EnergyAuction") -> int:
        """submitBid; returns the order id (from OrderSubmitted)."""
        receipt = self.transact(trader, self[auction].functions.submitBid(period, amount_wh, limit_price_per_kwh))
        return int(self._event(receipt, "OrderSubmitted", auction)["orderId"])

    def submit_ask(self, trader: LocalAccount, period: int, amount_wh: int, limit_price_per_kwh: int, auction: str = "EnergyAuction") -> int:
        """submitAsk; returns the order id (from OrderSubmitted)."""
        receipt = self.transact(trader, self[auction].functions.submitAsk(period, amount_wh, limit_price_per_kwh))
        return int(self._event(receipt, "OrderSubmitted", auction)["orderId"])

    def clear_auction(self, sender: LocalAccount, period: int, auction: str = "EnergyAuction") -> Any:
        """clear(period) once the gate has closed; anyone may. Returns the MarketCleared event's fields."""
        receipt = self.transact(sender, self[auction].functions.clear(period))
        return self._event(receipt, "MarketCleared", auction)

    def claim_auction_order(self, sender: LocalAccount, order_id: int, auction: str = "EnergyAuction") -> Any:
        """claim(orderId): pays the order's fill, proceeds and refund to its trader; anyone may call."""
        receipt = self.transact(sender, self[auction].functions.claim(order_id))
        return self._event(receipt, "OrderClaimed", auction)

    def auction_orders(self, period: int, auction: str = "EnergyAuction") -> list[AuctionOrder]:
        """A market's orders in arrival order, from its OrderSubmitted events: what
        energy_grid.auction.clear_market previews a market from."""
        return self._auction_orders(period, auction, self.auction_grid(period, auction))

    def auction_grid(self, period: int, auction: str = "EnergyAuction") -> tuple[int, int, int]:
        """The market's price grid (min price, tick size, tick count); a market without orders has the current one."""
        market = self[auction].functions.getMarket(period).call()
        if market.tickCount:
            return int(market.minPricePerKWh), int(market.tickSizePerKWh), int(market.tickCount)
        contract = self[auction].functions
        return int(contract.minPrice().call()), int(contract.tickSize().call()), int(contract.tickCount().call())

    def preview_auction(self, period: int, auction: str = "EnergyAuction") -> Clearing:
        """What clearing the market now would give: the reference rule over its orders so far."""
        grid = self.auction_grid(period, auction)
        return clear_market(self._auction_orders(period, auction, grid), grid[2])

    def _auction_orders(self, period: int, auction: str, grid: tuple[int, int, int]) -> list[AuctionOrder]:
        min_price, tick_size, _ = grid
        logs = self[auction].events.OrderSubmitted().get_logs(from_block=0, argument_filters={"period": period})
        return [
            AuctionOrder(
                int(e["args"]["orderId"]),
                bool(e["args"]["isBid"]),
                int(e["args"]["amountWh"]),
                (int(e["args"]["limitPricePerKWh"]) - min_price) // tick_size,
            )
            for e in sorted(logs, key=lambda e: (e["blockNumber"], e["logIndex"]))
        ]

    def _event(self, receipt: Any, name: str, contract: str = "EnergyTrading") -> Any:
        # Logs of other contracts in the same receipt (token transfers) are skipped quietly.
        (event,) = getattr(self[contract].events, name)().process_receipt(receipt, errors=DISCARD)
        return event["args"]


__all__ = [
    "BUY",
    "LOAD_STATUSES",
    "SELL",
    "GridClient",
    "GridError",
    "MeterReading",
    "PlacedOrder",
    "anvil_account",
    "describe_revert",
]

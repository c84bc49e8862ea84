"""EnergyTrading's book and EnergyAuction's markets rebuilt from their events, and the keeper's
matching rule.

Every order can be rebuilt off-chain from OrderCreated, OrdersMatched, OrderTaken, OrderCancelled
and ExpiredOrderReleased (IEnergyMarket); pending transactions from the fills less
TransactionSettled and TransactionVoided (ISettlement); auction markets from OrderSubmitted,
MarketCleared and OrderClaimed (IEnergyAuction), and the meters' standing orders that may wait for
settlement from SmartMeter's readings with energy (ReadingAccepted) less MeteredOrdersSettled
(IMeteredMarket): a placement emits nothing of its own, so every such reading is a candidate, which
the keeper checks against the meter's slots in the auction before it settles. Events may arrive
in any order within a transaction (a crossing order's fills are logged around its creation), so
fills are kept apart from the orders they fill.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from energy_grid.domain.enums import OrderType
from energy_grid.domain.orders import is_live
from energy_grid.domain.units import ZERO_ADDRESS

BUY, SELL = int(OrderType.BUY), int(OrderType.SELL)


@dataclass(frozen=True)
class BookOrder:
    """An order as created (OrderCreated)."""

    order_id: int
    trader: str
    is_buy: bool
    amount_wh: int
    price_per_kwh: int
    expiry_s: int  # it trades while block.timestamp < expiry_s
    counterparty: str  # the only trader it may trade with; ZERO_ADDRESS = anyone


@dataclass(frozen=True)
class PlannedMatch:
    buy_order_id: int
    sell_order_id: int
    amount_wh: int
    price_per_kwh: int  # the earlier order's price, as matchOrders trades


def may_trade(buy: BookOrder, sell: BookOrder) -> bool:
    """What matchOrders accepts besides state and time: prices cross, two traders, named counterparties."""
    return (
        buy.price_per_kwh >= sell.price_per_kwh
        and buy.trader != sell.trader
        and buy.counterparty in (ZERO_ADDRESS, sell.trader)
        and sell.counterparty in (ZERO_ADDRESS, buy.trader)
    )


def plan_matches(orders: Iterable[tuple[BookOrder, int]], now_s: int) -> list[PlannedMatch]:
    """Price-time priority over open orders given with what each has left: bids best first (highest
    price, then oldest: order ids grow with time), each taking the asks it may trade with best first
    (lowest price, then oldest) until it is filled; each match trades as much as both have left at
    the earlier order's price. Orders expired at `now_s` take no part."""
    live = [(order, left) for order, left in orders if left > 0 and is_live(order.expiry_s, now_s)]
    bids = sorted((o for o, _ in live if o.is_buy), key=lambda o: (-o.price_per_kwh, o.order_id))
    asks = sorted((o for o, _ in live if not o.is_buy), key=lambda o: (o.price_per_kwh, o.order_id))
    left_wh = {order.order_id: left for order, left in live}
    plan: list[PlannedMatch] = []
    for bid in bids:
        for ask in asks:
            if ask.price_per_kwh > bid.price_per_kwh:
                break
            if left_wh[ask.order_id] == 0 or not may_trade(bid, ask):
                continue
            amount_wh = min(left_wh[bid.order_id], left_wh[ask.order_id])
            earlier = bid if bid.order_id < ask.order_id else ask
            plan.append(PlannedMatch(bid.order_id, ask.order_id, amount_wh, earlier.price_per_kwh))
            left_wh[bid.order_id] -= amount_wh
            left_wh[ask.order_id] -= amount_wh
            if left_wh[bid.order_id] == 0:
                break
    return plan


@dataclass(frozen=True)
class AuctionOrderRef:
    auction: str  # the manifest's name of the auction contract
    order_id: int
    period: int
    trader: str


@dataclass
class OrderBook:
    """The state the events tell, fed in chain order by `apply`."""

    orders: dict[int, BookOrder] = field(default_factory=dict)
    filled_wh: dict[int, int] = field(default_factory=lambda: defaultdict(int))
    closed: set[int] = field(default_factory=set)  # cancelled or released after expiry
    pending_transactions: dict[int, tuple[int, int]] = field(default_factory=dict)  # id -> (buy, sell) order ids, 0 = taker
    auction_orders: dict[tuple[str, int], AuctionOrderRef] = field(default_factory=dict)
    cleared_markets: set[tuple[str, int]] = field(default_factory=set)  # (auction, period)
    claimed: set[tuple[str, int]] = field(default_factory=set)  # (auction, order id)
    # (auction, period) -> meters whose standing orders there may be placed and are not settled yet
    unsettled_meters: dict[tuple[str, int], set[str]] = field(default_factory=lambda: defaultdict(set))
    # The auction SmartMeter's readings place standing orders in, and its period length, seconds
    # (None: standing orders are off, readings are ignored).
    reading_market: tuple[str, int] | None = None

    def apply(self, contract: str, event: str, args: dict[str, Any]) -> None:
        """Applies one event of `contract` (its manifest name); events the book does not need are ignored."""
        handler = _HANDLERS.get(event)
        if handler is not None:
            getattr(self, handler)(contract, args)

    def left_wh(self, order_id: int) -> int:
        order = self.orders[order_id]
        return 0 if order_id in self.closed else order.amount_wh - self.filled_wh[order_id]

    def open_orders(self) -> list[tuple[BookOrder, int]]:
        return [(order, self.left_wh(order.order_id)) for order in self.orders.values() if self.left_wh(order.order_id) > 0]

    # -------------------------------------------------------------------- EnergyTrading
    def _order_created(self, contract: str, a: dict[str, Any]) -> None:
        self.orders[int(a["orderId"])] = BookOrder(
            int(a["orderId"]),
            str(a["trader"]),
            int(a["orderType"]) == BUY,
            int(a["amountWh"]),
            int(a["pricePerKWh"]),
            int(a["expiry"]),
            str(a["counterparty"]),
        )

    def _orders_matched(self, contract: str, a: dict[str, Any]) -> None:
        buy, sell, amount_wh = int(a["buyOrderId"]), int(a["sellOrderId"]), int(a["amountWh"])
        self.filled_wh[buy] += amount_wh
        self.filled_wh[sell] += amount_wh
        self.pending_transactions[int(a["transactionId"])] = (buy, sell)

    def _order_taken(self, contract: str, a: dict[str, Any]) -> None:
        self.filled_wh[int(a["orderId"])] += int(a["amountWh"])
        self.pending_transactions[int(a["transactionId"])] = (int(a["orderId"]), 0)

    def _order_cancelled(self, contract: str, a: dict[str, Any]) -> None:
        self.closed.add(int(a["orderId"]))

    def _expired_order_released(self, contract: str, a: dict[str, Any]) -> None:
        self.closed.add(int(a["orderId"]))

    def _transaction_settled(self, contract: str, a: dict[str, Any]) -> None:
        self.pending_transactions.pop(int(a["transactionId"]), None)

    def _transaction_voided(self, contract: str, a: dict[str, Any]) -> None:
        self.pending_transactions.pop(int(a["transactionId"]), None)

    # -------------------------------------------------------------------- EnergyAuction
    def _order_submitted(self, contract: str, a: dict[str, Any]) -> None:
        order_id = int(a["orderId"])
        self.auction_orders[(contract, order_id)] = AuctionOrderRef(contract, order_id, int(a["period"]), str(a["trader"]))

    def _market_cleared(self, contract: str, a: dict[str, Any]) -> None:
        self.cleared_markets.add((contract, int(a["period"])))

    def _order_claimed(self, contract: str, a: dict[str, Any]) -> None:
        self.claimed.add((contract, int(a["orderId"])))

    # -------------------------------------------------------------------- SmartMeter
    def _reading_accepted(self, contract: str, a: dict[str, Any]) -> None:
        if self.reading_market is None or (int(a["consumptionWh"]) == 0 and int(a["productionWh"]) == 0):
            return
        auction, period_length_s = self.reading_market
        self.unsettled_meters[(auction, int(a["timestamp"]) // period_length_s)].add(str(a["meter"]))

    def _metered_orders_settled(self, contract: str, a: dict[str, Any]) -> None:
        self.settled_standing(contract, int(a["period"]), [str(a["meter"])])

    def settled_standing(self, auction: str, period: int, meters: Iterable[str]) -> None:
        """The meters' standing orders of the market are settled (or no longer to be tried)."""
        market = (auction, period)
        waiting = self.unsettled_meters.get(market)
        if waiting is None:
            return
        waiting.difference_update(meters)
        if not waiting:
            del self.unsettled_meters[market]


# Event name -> OrderBook method applying it.
_HANDLERS = {
    "OrderCreated": "_order_created",
    "OrdersMatched": "_orders_matched",
    "OrderTaken": "_order_taken",
    "OrderCancelled": "_order_cancelled",
    "ExpiredOrderReleased": "_expired_order_released",
    "TransactionSettled": "_transaction_settled",
    "TransactionVoided": "_transaction_voided",
    "OrderSubmitted": "_order_submitted",
    "MarketCleared": "_market_cleared",
    "OrderClaimed": "_order_claimed",
    "ReadingAccepted": "_reading_accepted",
    "MeteredOrdersSettled": "_metered_orders_settled",
}


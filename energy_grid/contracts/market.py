"""The two markets: EnergyTrading (continuous order book and settlement,
IEnergyTrading) and EnergyAuction (a uniform-price auction per delivery period, trading EnergyVault
balances)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

from eth_account.signers.local import LocalAccount
from web3.logs import DISCARD
from web3.types import TxReceipt

from energy_grid.chain.errors import ContractRevertError
from energy_grid.contracts.base import (
    ContractClient,
    decode_event,
    decode_struct,
    decode_structs,
    require,
    require_amount,
    require_enum,
)
from energy_grid.contracts.structs import (
    AuctionOrderInfo,
    MarketInfo,
    MeteredOrders,
    Order,
    OrderInfo,
    OrderOutcome,
    TransactionInfo,
)
from energy_grid.domain.auction import AuctionOrder, Clearing, clear_market
from energy_grid.domain.enums import LongSide, OrderType
from energy_grid.signing.auction import SignedAuctionOrder
from energy_grid.signing.orders import Signature, SignedOrder

# Rejections of an auction order that mean the escrow could not come out of the vault, and what to do.
ESCROW_SHORT = (
    "the escrow is more than {trader}'s EnergyVault balance, and the wallet cannot make up the rest (the "
    "vault's allowance or the wallet's balance is short): deposit into the vault first (grid.vault.deposit), "
    "or allow the vault the token so that it pulls the shortfall (grid.approve_auction(trader) does both approvals)."
)
# The same for an order of the book.
BOOK_ESCROW_SHORT = (
    "the escrow is more than {trader}'s EnergyVault balance, and the wallet cannot make up the rest (the "
    "vault's allowance or the wallet's balance is short): deposit into the vault first (grid.vault.deposit), "
    "or allow the vault the token so that it pulls the shortfall (grid.approve_market(trader) does both approvals)."
)
BOOK_ESCROW_HINTS = {
    "MarketNotApproved": (
        "{trader} has not approved the order book ({market}) in the EnergyVault, so it cannot take the order's "
        "escrow from the vault balance: approve it once with grid.vault.approve_market(trader, {market}) "
        "(or grid.approve_market(trader))."
    ),
    "ERC20InsufficientAllowance": BOOK_ESCROW_SHORT,
    "ERC20InsufficientBalance": BOOK_ESCROW_SHORT,
}
ESCROW_HINTS = {
    "MarketNotApproved": (
        "{trader} has not approved this auction ({auction}) in the EnergyVault, so it cannot take the order's "
        "escrow from the vault balance: approve it once with grid.vault.approve_market(trader, {auction}) "
        "(or grid.approve_auction(trader))."
    ),
    "ERC20InsufficientAllowance": ESCROW_SHORT,
    "ERC20InsufficientBalance": ESCROW_SHORT,
}


class PlacedOrder(NamedTuple):
    """A created order and the transactions it recorded on arrival."""

    order_id: int
    transaction_ids: list[int]
    # Wh cancelled on arrival: the order reached a crossing bound (MAX_FILLS_PER_ORDER fills or
    # MAX_DEAD_ENTRIES_PER_CALL dead entries), kept its fills and did not rest the rest; send it again.
    cancelled_wh: int = 0


class BestPrices(NamedTuple):
    """The book's best bid and ask; 0 = that side is empty."""

    best_bid_per_kwh: int
    best_ask_per_kwh: int


class OrderPage(NamedTuple):
    orders: list[OrderInfo]
    next_cursor: int  # 0 = no more


class PriceLevel(NamedTuple):
    """The queue of one price level of the book's index: its first and last order id (0 = empty)."""

    head_order_id: int
    tail_order_id: int


class EnergyTrading(ContractClient):
    """Orders are Wh at PaymentToken base units per kWh, escrowed from the trader's EnergyVault balance:
    a trader approves this market once in the vault (grid.approve_market); refunds, payouts and fees
    are vault credits."""

    def _escrowed(self, sender: LocalAccount, trader: str, function: str, *args: object) -> TxReceipt:
        """Sends an escrow-taking call of `trader`'s; a refusal of the vault or token says in words what to do."""
        try:
            return self._send(sender, function, *args)
        except ContractRevertError as rejected:
            hint = BOOK_ESCROW_HINTS.get(rejected.error_name)
            if hint is None:
                raise
            notice = hint.format(trader=trader, market=self.address)
            raise ContractRevertError(rejected.contract, rejected.function, rejected.error_name, rejected.arguments, notice) from None

    # ----------------------------------------------------------------- orders

    def place_order(self, trader: LocalAccount, amount_wh: int, price_per_kwh: int, expiry: int, side: int) -> PlacedOrder:
        """createOrder: escrows at once and trades with the resting orders it crosses (best price
        first, each at the resting order's price); returns the order id and those fills."""
        receipt = self._escrowed(trader, trader.address, "createOrder", *self._order_args(amount_wh, price_per_kwh, expiry, side))
        cancelled = self.events(receipt, "OrderCancelled")
        cancelled_wh = int(cancelled[0]["unfilledWh"]) if cancelled else 0
        return PlacedOrder(self._id(receipt, "OrderCreated", "orderId"), self.fills(receipt), cancelled_wh)

    def create_order(self, trader: LocalAccount, amount_wh: int, price_per_kwh: int, expiry: int, side: int) -> int:
        """createOrder; returns the new order's id."""
        return self.place_order(trader, amount_wh, price_per_kwh, expiry, side).order_id

    def create_directed_order(
        self, trader: LocalAccount, amount_wh: int, price_per_kwh: int, expiry: int, side: int, counterparty: str
    ) -> int:
        """An offer only `counterparty` may trade (fill_order or match_orders); never crosses on arrival."""
        args = self._order_args(amount_wh, price_per_kwh, expiry, side)
        receipt = self._escrowed(trader, trader.address, "createDirectedOrder", *args, counterparty)
        return self._id(receipt, "OrderCreated", "orderId")

    def create_order_by_sig(
        self, relayer: LocalAccount, order: SignedOrder, signature: Signature, permit: Sequence[tuple[int, int, int, bytes, bytes]] = ()
    ) -> int:
        """Relays a trader's EIP-712 signed order (energy_grid.signing.orders); the relayer pays gas only.
        The trader must have approved this market in the vault: for a first order, relay its signed
        approval first (IEnergyVault.approveMarketBySig, energy_grid.signing.orders.sign_market_approval);
        `permit` is a permit of the escrow token for the vault."""
        receipt = self._escrowed(relayer, order.trader, "createOrderBySig", order.as_tuple(), *signature.args(), list(permit))
        return self._id(receipt, "OrderCreated", "orderId")

    def cancel_order(self, trader: LocalAccount, order_id: int) -> TxReceipt:
        return self._send(trader, "cancelOrder", order_id)

    def cancel_order_by_sig(self, relayer: LocalAccount, order_id: int, nonce: int, deadline_s: int, signature: Signature) -> TxReceipt:
        """Relays the trader's EIP-712 signed cancellation (energy_grid.signing.orders); the relayer pays gas only."""
        return self._send(relayer, "cancelOrderBySig", order_id, nonce, deadline_s, *signature.args())

    def match_orders(self, keeper: LocalAccount, buy_order_id: int, sell_order_id: int) -> int:
        """matchOrders; returns the transaction id."""
        return self._id(self._send(keeper, "matchOrders", buy_order_id, sell_order_id), "OrdersMatched", "transactionId")

    def fill_order(self, taker: LocalAccount, order_id: int, amount_wh: int) -> int:
        """Takes `amount_wh` of a resting order at its price; returns the transaction id."""
        require_amount("amount_wh", amount_wh)
        return self._id(self._escrowed(taker, taker.address, "fillOrder", order_id, amount_wh), "OrderTaken", "transactionId")

    def release_expired_order(self, sender: LocalAccount, order_id: int) -> TxReceipt:
        """Returns an expired order's escrow to its trader; anyone may."""
        return self._send(sender, "releaseExpiredOrder", order_id)

    def fills(self, receipt: TxReceipt) -> list[int]:
        """The transaction ids an order's arrival recorded (OrdersMatched events)."""
        logs = self.contract.events.OrdersMatched().process_receipt(receipt, errors=DISCARD)
        return [int(log["args"]["transactionId"]) for log in logs]

    # ----------------------------------------------------------------- settlement

    def settle_transaction(self, keeper: LocalAccount, transaction_id: int) -> TxReceipt:
        return self._send(keeper, "settleTransaction", transaction_id)

    def settle_transactions(self, keeper: LocalAccount, transaction_ids: Sequence[int]) -> list[int]:
        """Settles a batch (at most MAX_SETTLEMENT_BATCH); a transaction not pending is skipped,
        not an error. Returns the ids settled."""
        require(len(transaction_ids) > 0, "settle_transactions: no transaction ids")
        receipt = self._send(keeper, "settleTransactions", list(transaction_ids))
        return [int(e["transactionId"]) for e in self.events(receipt, "TransactionSettled")]

    def void_transaction(self, operator: LocalAccount, transaction_id: int) -> TxReceipt:
        return self._send(operator, "voidTransaction", transaction_id)

    def withdraw_fees(self, fee_recipient: LocalAccount) -> int:
        return int(self.event(self._send(fee_recipient, "withdrawFees"), "FeesWithdrawn")["amount"])

    # ----------------------------------------------------------------- reads

    def get_order(self, order_id: int) -> Order:
        """IEnergyTrading's Order struct."""
        return decode_struct(Order, self._call("getOrder", order_id))

    def get_order_info(self, order_id: int) -> OrderInfo:
        return decode_struct(OrderInfo, self._call("getOrderInfo", order_id))

    def trader_orders(self, trader: str, cursor: int = 0, limit: int = 50) -> OrderPage:
        """A trader's orders, newest first, a page at a time: a page looks at MAX_ORDERS_SCANNED
        order ids, so it may hold fewer than `limit` orders before the last (next_cursor 0)."""
        orders, next_cursor = self._call("getTraderOrders", trader, cursor, limit)
        return OrderPage(decode_structs(OrderInfo, orders), int(next_cursor))

    def get_transaction(self, transaction_id: int) -> TransactionInfo:
        return decode_struct(TransactionInfo, self._call("getTransaction", transaction_id))

    def energy_balance_wh(self, account: str) -> int:
        """The account's energy in the EnergyVault (free to trade or withdraw)."""
        return self._int("getEnergyBalance", account)

    def best_prices(self) -> BestPrices:
        bid, ask = self._call("bestPrices")
        return BestPrices(int(bid), int(ask))

    def next_level_price_per_kwh(self, side: int, from_price_per_kwh: int) -> int:
        """The price of the book index's next level of `side` from `from_price_per_kwh` on, in priority
        order: for SELL the lowest at or above it, for BUY the highest at or below it; 0 = none. A level
        stays in the index until a crossing order finds only dead entries in it, so it may hold no live
        order."""
        return self._int("nextPriceLevel", int(require_enum(OrderType, side)), from_price_per_kwh)

    def price_level(self, side: int, price_per_kwh: int) -> PriceLevel:
        """The queue of the `side` level at `price_per_kwh`, walked with `next_in_level`."""
        head, tail = self._call("priceLevel", int(require_enum(OrderType, side)), price_per_kwh)
        return PriceLevel(int(head), int(tail))

    def next_in_level(self, order_id: int) -> int:
        """The order after `order_id` in its level's queue; 0 = the last, or not queued."""
        return self._int("nextInLevel", order_id)

    def order_count(self) -> int:
        return self._int("orderCount")

    def transaction_count(self) -> int:
        return self._int("transactionCount")

    def settlement_window_s(self) -> int:
        return self._int("settlementWindow")

    def grid_fee_bps(self) -> int:
        return self._int("gridFeeBps")

    def nonce(self, trader: str) -> int:
        """The nonce the trader's next signed order or cancel must carry."""
        return self._int("nonces", trader)

    def invalidate_nonces(self, trader: LocalAccount, new_nonce: int) -> TxReceipt:
        """Raises the trader's nonce to `new_nonce`: every order or cancellation it signed with a
        lower nonce and no relayer submitted yet is void (NonceNotRaised unless it goes up)."""
        require(new_nonce > 0, "invalidate_nonces: new_nonce must be above the current nonce")
        return self._send(trader, "invalidateNonces", new_nonce)

    def _order_args(self, amount_wh: int, price_per_kwh: int, expiry: int, side: int) -> tuple[int, int, int, int]:
        require_amount("amount_wh", amount_wh)
        require_amount("price_per_kwh", price_per_kwh)
        return amount_wh, price_per_kwh, expiry, int(require_enum(OrderType, side))


class AuctionGrid(NamedTuple):
    """A market's limit-price grid: tick k is min_price_per_kwh + k × tick_size_per_kwh."""

    min_price_per_kwh: int
    tick_size_per_kwh: int
    tick_count: int


class ClaimedOrder(NamedTuple):
    order_id: int
    trader: str
    is_bid: bool
    filled_wh: int
    payment: int
    fee: int
    refund: int


class ClearedMarket(NamedTuple):
    period: int
    clearing_tick: int
    clearing_price_per_kwh: int
    volume_wh: int
    long_side: LongSide
    marginal_tick: int
    rationed_wh: int
    marginal_level_wh: int
    fee_bps: int


class EnergyAuction(ContractClient):
    """One market per delivery period: firm escrowed bids and asks, cleared once from its clearing
    time. Escrow comes out of the trader's EnergyVault balance (the trader approved the auction
    there) and claims are paid into it; a meter's standing orders join the reading market's markets."""

    def submit_bid(self, trader: LocalAccount, period: int, amount_wh: int, limit_price_per_kwh: int) -> int:
        """Escrows ceil(amount × limit / 1000) PaymentToken from the vault balance; returns the order id."""
        return self._submit(trader, "submitBid", period, amount_wh, limit_price_per_kwh)

    def submit_ask(self, trader: LocalAccount, period: int, amount_wh: int, limit_price_per_kwh: int) -> int:
        """Escrows `amount_wh` EnergyToken from the vault balance; returns the order id."""
        return self._submit(trader, "submitAsk", period, amount_wh, limit_price_per_kwh)

    def submit_bid_in(self, trader: LocalAccount, region_id: int, period: int, amount_wh: int, limit_price_per_kwh: int) -> int:
        """A bid in the zone of grid region `region_id` (MarketZones): it buys at its zone's price."""
        require_amount("amount_wh", amount_wh)
        require_amount("limit_price_per_kwh", limit_price_per_kwh)
        return self._escrowed(trader, trader.address, "submitBidIn", region_id, period, amount_wh, limit_price_per_kwh)

    def submit_ask_in(self, trader: LocalAccount, region_id: int, period: int, amount_wh: int, limit_price_per_kwh: int) -> int:
        """An ask in the zone of grid region `region_id`: it sells at its zone's price."""
        require_amount("amount_wh", amount_wh)
        require_amount("limit_price_per_kwh", limit_price_per_kwh)
        return self._escrowed(trader, trader.address, "submitAskIn", region_id, period, amount_wh, limit_price_per_kwh)

    def market_zones(self) -> str:
        """The MarketZones of this market (the zero address: it has no zones)."""
        return str(self._call("marketZones"))

    def submit_order_by_sig(self, relayer: LocalAccount, order: SignedAuctionOrder, signature: Signature) -> int:
        """Relays a trader's EIP-712 signed bid or ask (energy_grid.signing.auction); the relayer pays gas
        only. The order and its escrow are the signer's, so the signer must have approved the auction
        in the vault (for a first order, relay its signed approval first: IEnergyVault.approveMarketBySig)."""
        require_amount("amount_wh", order.amount_wh)
        require_amount("limit_price_per_kwh", order.limit_price_per_kwh)
        return self._escrowed(relayer, order.trader, "submitOrderBySig", order.as_tuple(), *signature.args())

    def nonce(self, trader: str) -> int:
        """The nonce the trader's next signed order must carry."""
        return self._int("nonces", trader)

    def trader_orders(self, trader: str, from_block: int = 0) -> list[int]:
        """The ids of the trader's firm orders, in arrival order, from its OrderSubmitted events."""
        logs = self.contract.events.OrderSubmitted().get_logs(from_block=from_block, argument_filters={"trader": trader})
        return [int(e["args"]["orderId"]) for e in sorted(logs, key=lambda e: (e["blockNumber"], e["logIndex"]))]

    def clear(self, sender: LocalAccount, period: int) -> ClearedMarket:
        """Clears the period from its clearing time on (`clearing_time`); anyone may."""
        return decode_event(ClearedMarket, self.event(self._send(sender, "clear", period), "MarketCleared"))

    def claim(self, sender: LocalAccount, order_id: int) -> ClaimedOrder:
        """Pays an order's fill, proceeds and refund into its trader's vault balance; anyone may, once."""
        return decode_event(ClaimedOrder, self.event(self._send(sender, "claim", order_id), "OrderClaimed"))

    def withdraw_fees(self, fee_recipient: LocalAccount) -> int:
        """Credits the accrued fees to the recipient's vault balance; returns the amount."""
        return int(self.event(self._send(fee_recipient, "withdrawFees"), "FeesWithdrawn")["amount"])

    # ----------------------------------------------------------------- reads

    def period_length_s(self) -> int:
        return self._int("periodLength")

    def current_period(self) -> int:
        return self._int("currentPeriod")

    def gate_closure_time(self, period: int) -> int:
        """Unix seconds from which the period takes no firm orders."""
        return self._int("gateClosureTime", period)

    def next_open_period(self, now: int) -> int:
        """The first period whose gate is still open at `now` (unix seconds): the soonest an order can trade."""
        return (now + self._int("gateClosure")) // self.period_length_s() + 1

    def period_at(self, when: int) -> int:
        """The period under way at `when` (unix seconds): the one delivering then."""
        return when // self.period_length_s()

    def clearing_time(self, period: int) -> int:
        """Unix seconds from which the period may be cleared: its gate closure, or for the reading
        market the period's end plus the reading deadline (its meters' readings come after it)."""
        return self._int("clearingTime", period)

    def reading_deadline_s(self) -> int:
        """Seconds after a period's end that its readings may still place standing orders."""
        return self._int("readingDeadline")

    def vault(self) -> str:
        """The EnergyVault whose balances the auction trades."""
        return str(self._call("vault"))

    def meter_registry(self) -> str:
        """The SmartMeter whose readings place standing orders here (the zero address: none)."""
        return str(self._call("meterRegistry"))

    def metered_orders(self, meter: str) -> list[MeteredOrders]:
        """The meter's two interval slots (even periods first): the standing orders its last readings placed."""
        return decode_structs(MeteredOrders, self._call("getMeteredOrders", meter))

    def covered_consumption_wh(self, meter: str) -> int:
        """Import of the meter that this auction's standing bids bought (retired) or still bid for: the
        meter's consumption SmartMeter does not let its owner redeem again (2**256 - 1: the meter's
        ledger here is full, and all of its consumption counts as covered)."""
        return self._int("coveredConsumptionWh", meter)

    def get_market(self, period: int) -> MarketInfo:
        return decode_struct(MarketInfo, self._call("getMarket", period))

    def get_order(self, order_id: int) -> AuctionOrderInfo:
        return decode_struct(AuctionOrderInfo, self._call("getOrder", order_id))

    def order_outcome(self, order_id: int) -> OrderOutcome:
        return decode_struct(OrderOutcome, self._call("getOrderOutcome", order_id))

    def grid(self, period: int) -> AuctionGrid:
        """The market's price grid; a market without orders has the current one."""
        market = self.get_market(period)
        if market.tick_count:
            return AuctionGrid(market.min_price_per_kwh, market.tick_size_per_kwh, market.tick_count)
        return self.current_grid()

    def current_grid(self) -> AuctionGrid:
        """The grid a market opened now takes: the one a standing order's next reading trades on."""
        return AuctionGrid(self._int("minPrice"), self._int("tickSize"), self._int("tickCount"))

    def orders(self, period: int, from_block: int = 0) -> list[AuctionOrder]:
        """The market's orders in arrival order, from its OrderSubmitted events."""
        min_price, tick_size, _ = self.grid(period)
        logs = self.contract.events.OrderSubmitted().get_logs(from_block=from_block, argument_filters={"period": period})
        return [
            AuctionOrder(
                int(e["args"]["orderId"]),
                bool(e["args"]["isBid"]),
                int(e["args"]["amountWh"]),
                (int(e["args"]["limitPricePerKWh"]) - min_price) // tick_size,
            )
            for e in sorted(logs, key=lambda e: (e["blockNumber"], e["logIndex"]))
        ]

    def preview(self, period: int) -> Clearing:
        """What clearing the market now would give, for a market on the bus alone: the reference rule
        (energy_grid.domain.auction). A market across zones: MarketZones.preview."""
        return clear_market(self.orders(period), self.grid(period).tick_count)

    def _submit(self, trader: LocalAccount, function: str, period: int, amount_wh: int, limit_price_per_kwh: int) -> int:
        require_amount("amount_wh", amount_wh)
        require_amount("limit_price_per_kwh", limit_price_per_kwh)
        return self._escrowed(trader, trader.address, function, period, amount_wh, limit_price_per_kwh)

    def _escrowed(self, sender: LocalAccount, trader: str, function: str, *args: object) -> int:
        """Sends an order of `trader`'s (its own or relayed) and returns its id; a refusal of the vault or
        token says in words what to do."""
        try:
            receipt = self._send(sender, function, *args)
        except ContractRevertError as rejected:
            hint = ESCROW_HINTS.get(rejected.error_name)
            if hint is None:
                raise
            notice = hint.format(trader=trader, auction=self.address)
            raise ContractRevertError(rejected.contract, rejected.function, rejected.error_name, rejected.arguments, notice) from None
        return self._id(receipt, "OrderSubmitted", "orderId")

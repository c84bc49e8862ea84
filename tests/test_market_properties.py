"""Random sequences of create / cancel / match / fill / release / settle against the market, with
the market's invariants checked after every step:

- an undirected order trades on arrival exactly as a reference walk of the book predicts (best
  price first, oldest first within a price, at the resting orders' prices, SelfTrade when it
  would reach its own trader's order), and no two live undirected orders ever rest crossed:
  the best live bid is below the best live ask, and the contract's cached best prices bound them;

- no value is created or lost: for each token, the balances of all actors plus the market's are constant;
- the market holds exactly the open escrow plus the value of unsettled transactions plus accrued fees;
- no order is over-filled, and an order is FILLED exactly when nothing is left of it;
- a BUY order's payments add up to ceil(C / 1000) and its refunds to floor(D / 1000) (plus the last
  escrow unit when it fills), C and D being its exact cost and price improvement (OrderMath);
- a closed order returns exactly its unfilled escrow, and bad matches and fills revert with the
  error the rules predict and move nothing.

Reads go through one batched raw JSON-RPC request per step (support/fuzz_rpc.py) to keep the run short.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any

import ape
import pytest
from eth_utils import to_checksum_address
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from support.fuzz_rpc import Contract, ErrorBook, Node, Rpc
from support.helpers import ZERO_ADDRESS
from support.market_helpers import ACTIVE, BUY, FILLED, SELL, cost_ceil

# Bids and asks drawn around the same levels so that they often cross. Prices that are not whole
# units per Wh (333, 999, 1,001, 250,001, ...) make the milli-unit rounding bite on every fill;
# bids are larger than asks so that one bid takes several fills.
BUY_PRICES = [999, 1_001, 200_000, 250_001, 333_337]
SELL_PRICES = [1, 333, 999, 199_999, 250_001]
N_TRADERS = 4
MAX_FILLS_PER_ORDER = 32
# OrderInfo fields, as getTraderOrders returns them.
ID, TRADER, AMOUNT, FILLED_WH, PRICE, EXPIRY, TYPE, STATUS, COUNTERPARTY, ESCROW = range(10)


def create_op(order_type: int) -> st.SearchStrategy[tuple[Any, ...]]:
    return st.tuples(
        st.just("create"),
        st.integers(0, N_TRADERS - 1),
        st.just(order_type),
        st.integers(1, 1_200) if order_type == BUY else st.integers(1, 600),
        st.sampled_from(BUY_PRICES if order_type == BUY else SELL_PRICES),
        st.integers(600, 6_000),  # seconds to expiry
        st.sampled_from([None] * 12 + [0, 1, 2, 3]),  # counterparty of a directed order
    )


creates = st.one_of(create_op(BUY), create_op(SELL))
# Everything but create: (kind, which, size). `which` picks among the candidates; `size` is the
# fill amount, the settlement batch length or the seconds to wait.
KINDS = ["match"] * 3 + ["sweep"] * 2 + ["bad match", "bad fill", "cancel", "release", "wait"] + ["fill"] * 3 + ["settle"] * 3
others = st.tuples(st.sampled_from(KINDS), st.integers(0, 999), st.integers(1, 3_000))
actions = st.integers(0, 9).flatmap(lambda k: creates if k < 2 else others)  # one in five creates
# A few orders first, then anything.
operations = st.tuples(st.lists(creates, min_size=3, max_size=6), st.lists(actions, min_size=8, max_size=18)).map(
    lambda parts: parts[0] + parts[1]
)


@dataclass
class BuyFills:
    """What the model knows of one BUY order's fills."""

    escrow: int  # ceil(amount * price / 1000), locked at creation
    cost_milli: int = 0  # C
    improvement_milli: int = 0  # D
    payments: int = 0
    refunds: int = 0


@dataclass
class Model:
    market: Any
    node: Node  # raw JSON-RPC for the batched reads
    reader: tuple[Contract, Contract, Contract, Contract]  # (energy, cash, vault, market)
    traders: list
    holders: list[str]
    totals: tuple[int, int] = (0, 0)
    pending: dict[int, tuple[int, int]] = field(default_factory=dict)  # tx -> (Wh, payment + refund)
    buys: dict[int, BuyFills] = field(default_factory=dict)
    best_prices: tuple[int, int] = (0, 0)  # the contract's cached (best bid, best ask)
    now: int = 0  # the time of the last step

    def read(self) -> tuple[list[tuple[int, int]], int, dict[int, tuple]]:
        """Vault balances of the holders, accrued fees and every order, in one JSON-RPC batch; the
        vault's invariant (its reserves are what it holds of each token) is checked on the way."""
        energy, cash, vault, market = self.reader
        reads: list[tuple[Contract, str, tuple[Any, ...]]] = [(vault, "balancesOf", (holder,)) for holder in self.holders]
        reads += [(energy, "balanceOf", (vault.address,)), (cash, "balanceOf", (vault.address,)), (vault, "reserves", ())]
        reads.append((market, "accruedFees", ()))
        reads += [(market, "getTraderOrders", (trader.address, 0, 100)) for trader in self.traders]
        reads.append((market, "bestPrices", ()))
        results = self.node.calls(reads)
        n = len(self.holders)
        balances = [tuple(b) for b in results[:n]]
        assert (results[n], results[n + 1]) == tuple(results[n + 2])
        results = results[:n] + results[n + 3 :]
        book = {}
        for orders, cursor in results[n + 1 : -1]:
            assert cursor == 0
            book.update({o[ID]: checksummed(o) for o in orders})
        self.best_prices = tuple(results[-1])
        return balances, results[n], book

    def record(self, transaction_id: int, buy_price: int) -> None:
        t = self.market.getTransaction(transaction_id)
        self.pending[transaction_id] = (t.amountWh, t.payment + t.buyerRefund)
        if t.buyOrderId:
            fills = self.buys[t.buyOrderId]
            fills.cost_milli += t.amountWh * t.pricePerKWh
            fills.improvement_milli += t.amountWh * (buy_price - t.pricePerKWh)
            fills.payments += t.payment
            fills.refunds += t.buyerRefund

    def check(self) -> dict[int, tuple]:
        """Asserts every invariant; returns the order book it read."""
        balances, accrued_fees, book = self.read()
        # No two live undirected orders rest crossed, and the cached best prices bound the live ones.
        live = [o for o in book.values() if is_live(o, self.now)]
        bids = [o[PRICE] for o in live if o[TYPE] == BUY]
        asks = [o[PRICE] for o in live if o[TYPE] == SELL]
        if bids and asks:
            assert max(bids) < min(asks)
        cached_bid, cached_ask = self.best_prices
        if bids:
            assert cached_bid >= max(bids)
        if asks:
            assert 0 < cached_ask <= min(asks)
        assert (sum(b[0] for b in balances), sum(b[1] for b in balances)) == self.totals
        open_energy = sum(o[AMOUNT] - o[FILLED_WH] for o in book.values() if o[TYPE] == SELL and o[STATUS] == ACTIVE)
        open_cash = sum(o[ESCROW] for o in book.values() if o[TYPE] == BUY and o[STATUS] == ACTIVE)
        market_energy, market_cash = balances[-1]
        assert market_energy == open_energy + sum(p[0] for p in self.pending.values())
        assert market_cash == open_cash + sum(p[1] for p in self.pending.values()) + accrued_fees
        for order_id, o in book.items():
            assert o[FILLED_WH] <= o[AMOUNT]
            assert (o[STATUS] == FILLED) == (o[FILLED_WH] == o[AMOUNT])
            if o[STATUS] != ACTIVE:
                assert o[ESCROW] == 0
            elif o[TYPE] == SELL:
                assert o[ESCROW] == o[AMOUNT] - o[FILLED_WH]
            if o[TYPE] == BUY:
                fills = self.buys[order_id]
                assert fills.payments == -(-fills.cost_milli // 1_000)
                left = fills.escrow - fills.payments - fills.improvement_milli // 1_000
                if o[STATUS] == FILLED:
                    assert 0 <= left <= 1
                    assert fills.refunds == fills.improvement_milli // 1_000 + left
                else:
                    assert fills.refunds == fills.improvement_milli // 1_000
                    if o[STATUS] == ACTIVE:
                        assert o[ESCROW] == left
        return book


def is_live(order: tuple, now: int) -> bool:
    """An undirected order that can still trade: it rests in the contract's price-level index."""
    return order[STATUS] == ACTIVE and order[COUNTERPARTY] == ZERO_ADDRESS and now < order[EXPIRY]


def predicted_crossing(
    book: dict, trader: str, order_type: int, amount: int, price: int, now: int
) -> tuple[str | None, list[tuple[Any, int, Any]]]:
    """The reference walk: (error, fills) for a new undirected order, fills as (resting id, Wh, price)."""
    crossed = [
        o
        for o in book.values()
        if is_live(o, now) and o[TYPE] != order_type and (o[PRICE] <= price if order_type == BUY else o[PRICE] >= price)
    ]
    crossed.sort(key=lambda o: (o[PRICE] if order_type == BUY else -o[PRICE], o[ID]))
    fills: list[tuple[Any, int, Any]]
    fills, left = [], amount
    for o in crossed:
        if left == 0:
            break
        if o[TRADER] == trader:
            return "SelfTrade", []
        if len(fills) == MAX_FILLS_PER_ORDER:
            break  # the fills stand, the rest is cancelled (test_book_dust_griefing.py)
        wh = min(left, o[AMOUNT] - o[FILLED_WH])
        fills.append((o[ID], wh, o[PRICE]))
        left -= wh
    return None, fills


def checksummed(order: tuple) -> tuple:
    """An order as web3 returns it: its addresses checksummed (the raw ABI decoding gives them in lower case)."""
    fields = list(order)
    fields[TRADER], fields[COUNTERPARTY] = to_checksum_address(order[TRADER]), to_checksum_address(order[COUNTERPARTY])
    return tuple(fields)


def pick(items: list, index: int) -> Any:
    return items[index % len(items)] if items else None


def match_error(market: Any, buy: tuple, sell: tuple, now: int) -> Any:
    """The error matchOrders must revert with for an ACTIVE BUY and SELL, or None."""
    if now >= buy[EXPIRY] or now >= sell[EXPIRY]:
        return market.OrderExpired
    if buy[TRADER] == sell[TRADER]:
        return market.SelfTrade
    if buy[PRICE] < sell[PRICE]:
        return market.PricesDoNotCross
    if buy[COUNTERPARTY] not in (ZERO_ADDRESS, sell[TRADER]) or sell[COUNTERPARTY] not in (ZERO_ADDRESS, buy[TRADER]):
        return market.NotCounterparty
    return None


def fill_error(market: Any, order: tuple, taker: str, now: int) -> Any:
    """The error fillOrder must revert with for an ACTIVE order and a fitting amount, or None."""
    if now >= order[EXPIRY]:
        return market.OrderExpired
    if taker == order[TRADER]:
        return market.SelfTrade
    if order[COUNTERPARTY] not in (ZERO_ADDRESS, taker):
        return market.NotCounterparty
    return None


@pytest.fixture(scope="module", autouse=True)
def _deployed_first(funded_market, keeper, fee_recipient, stranger, admin):
    """Deploy and fund the market, and name the accounts, before any test's own state (ape isolation)."""


@pytest.fixture
def model(funded_market, vault, traders, fee_recipient, energy_token, stablecoin):
    node = Node(Rpc(ape.chain.provider.uri), ErrorBook([]))
    reader = (
        Contract.of("EnergyToken", energy_token),
        Contract.of("PaymentToken", stablecoin),
        Contract.of("EnergyVault", vault),
        Contract.of("EnergyTrading", funded_market),
    )
    holders = [t.address for t in traders] + [fee_recipient.address, funded_market.address]
    return Model(funded_market, node, reader, traders, holders)


@settings(
    max_examples=25,
    deadline=None,
    # CI replays one fixed set of sequences so a submission's result is reproducible; local runs explore new ones.
    derandomize=os.environ.get("CI") == "true",
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(ops=operations)
def test_random_market_sequences_keep_the_invariants(model, keeper, ops):
    # Not `chain.isolate()`: it swallows exceptions, failed assertions included (ape 0.8.51).
    snapshot = ape.chain.snapshot()
    try:
        model.pending.clear()
        model.buys.clear()
        balances, _, _ = model.read()
        model.totals = (sum(b[0] for b in balances), sum(b[1] for b in balances))
        run(model, keeper, ops)
    finally:
        ape.chain.restore(snapshot)


def run(model: Model, keeper: Any, ops: list[tuple[Any, ...]]) -> None:
    """Applies `ops` one by one at one-second steps (a wait skips further), checking the market's
    invariants after each that changed anything; then settles and closes everything."""
    chain = ape.chain
    now = chain.pending_timestamp
    model.now = now
    book = model.check()
    for op in ops:
        now += 1
        model.now = now
        chain.pending_timestamp = now  # the next transaction runs at exactly `now`
        kind = op[0]
        if kind == "wait":
            now += op[2] // 2
        elif not STEPS[kind](Step(model, keeper, book, now, op)):
            continue  # nothing was sent, or only a predicted revert: the book is as it was
        book = model.check()
    close_everything(model, keeper, book)


@dataclass
class Step:
    """One operation of a random sequence, at `now`, on the book as last read."""

    model: Model
    keeper: Any
    book: dict[int, tuple]
    now: int
    op: tuple

    @property
    def market(self):
        return self.model.market

    @property
    def by_address(self) -> dict[str, Any]:
        return {t.address: t for t in self.model.traders}

    @property
    def active(self) -> list[tuple]:
        return [o for o in self.book.values() if o[STATUS] == ACTIVE]

    @property
    def buys(self) -> list[tuple]:
        return [o for o in self.active if o[TYPE] == BUY]

    @property
    def sells(self) -> list[tuple]:
        return [o for o in self.active if o[TYPE] == SELL]


def step_create(step: Step) -> bool:
    """An order, undirected (trading on arrival as the reference walk predicts, or reverting as
    it predicts) or directed (never crossing on arrival)."""
    market, model, now = step.market, step.model, step.now
    _, who, order_type, amount, price, ttl, counterparty = step.op
    trader = model.traders[who]
    if counterparty is None or counterparty == who:
        error, fills = predicted_crossing(step.book, trader.address, order_type, amount, price, now)
        if error is not None:
            with ape.reverts(getattr(market, error)):
                market.createOrder(amount, price, now + ttl, order_type, sender=trader)
            return False
        tx = market.createOrder(amount, price, now + ttl, order_type, sender=trader)
    else:
        fills = []  # a directed order never crosses on arrival
        tx = market.createDirectedOrder(amount, price, now + ttl, order_type, model.traders[counterparty], sender=trader)
    order_id = tx.events.filter(market.OrderCreated)[0].orderId
    if order_type == BUY:
        model.buys[order_id] = BuyFills(cost_ceil(amount, price))
    matches = tx.events.filter(market.OrdersMatched)
    sides = [(e.sellOrderId, e.buyOrderId) if order_type == BUY else (e.buyOrderId, e.sellOrderId) for e in matches]
    assert sides == [(resting, order_id) for resting, _, _ in fills]
    assert [(e.amountWh, e.pricePerKWh) for e in matches] == [(wh, p) for _, wh, p in fills]
    for e, (_, _, resting_price) in zip(matches, fills, strict=True):
        model.record(e.transactionId, price if order_type == BUY else resting_price)
    return True


def step_match(step: Step) -> bool:
    """A keeper matches a BUY with a SELL: a valid pair ("match") or one the rules refuse ("bad match")."""
    market, now, kind = step.market, step.now, step.op[0]
    pairs = [(b, s) for b in step.buys for s in step.sells if (match_error(market, b, s, now) is None) == (kind == "match")]
    if not pairs:
        return False
    buy, sell = pick(pairs, step.op[1])
    expected = match_error(market, buy, sell, now)
    if expected is None:
        tx = market.matchOrders(buy[ID], sell[ID], sender=step.keeper)
        step.model.record(tx.events.filter(market.OrdersMatched)[0].transactionId, buy[PRICE])
    else:
        with ape.reverts(expected):
            market.matchOrders(buy[ID], sell[ID], sender=step.keeper)
    return True


def step_sweep(step: Step) -> bool:
    """A keeper matches one BUY against every ask it crosses, oldest first, until it is filled."""
    market, now, sells = step.market, step.now, step.sells
    buy = pick([b for b in step.buys if any(match_error(market, b, s, now) is None for s in sells)], step.op[1])
    if buy is None:
        return False
    for sell in sorted(sells):
        if match_error(market, buy, sell, now) is None:
            tx = market.matchOrders(buy[ID], sell[ID], sender=step.keeper)
            step.model.record(tx.events.filter(market.OrdersMatched)[0].transactionId, buy[PRICE])
            if market.getOrderInfo(buy[ID]).status == FILLED:
                break
    return True


def step_fill(step: Step) -> bool:
    """A taker fills an order: within the rules ("fill") or against them ("bad fill")."""
    market, now, by_address = step.market, step.now, step.by_address
    kind, which, size = step.op
    size = size if which % 2 else size % 40 + 1  # half of the fills are tiny
    pool = step.buys if which % 3 else step.active  # mostly BUY orders: their rounding is the subtle part
    takers = [(o, t) for o in pool for t in by_address if (fill_error(market, o, t, now) is None) == (kind == "fill")]
    if not takers:
        return False
    order, taker = pick(takers, which)
    expected = fill_error(market, order, taker, now)
    amount = min(size, order[AMOUNT] - order[FILLED_WH]) if kind == "fill" else 1
    if expected is None:
        tx = market.fillOrder(order[ID], amount, sender=by_address[taker])
        buy_price = order[PRICE] if order[TYPE] == BUY else 0
        step.model.record(tx.events.filter(market.OrderTaken)[0].transactionId, buy_price)
    else:
        with ape.reverts(expected):
            market.fillOrder(order[ID], amount, sender=by_address[taker])
    return True


def step_cancel(step: Step) -> bool:
    """An order's trader cancels it and gets its unfilled escrow back."""
    order = pick(step.active, step.op[1])
    if order is None:
        return False
    tx = step.market.cancelOrder(order[ID], sender=step.by_address[order[TRADER]])
    check_refund(step.model, order, tx.events.filter(step.market.OrderCancelled)[0].refundedEscrow)
    return True


def step_release(step: Step) -> bool:
    """A keeper releases an order's escrow: refused before its expiry, refunded after."""
    market = step.market
    order = pick(step.active, step.op[1])
    if order is None:
        return False
    if step.now < order[EXPIRY]:
        with ape.reverts(market.OrderNotExpired):
            market.releaseExpiredOrder(order[ID], sender=step.keeper)
    else:
        tx = market.releaseExpiredOrder(order[ID], sender=step.keeper)
        check_refund(step.model, order, tx.events.filter(market.ExpiredOrderReleased)[0].refundedEscrow)
    return True


def step_settle(step: Step) -> bool:
    """A keeper settles one pending transaction, or a batch of up to three."""
    model = step.model
    ids = sorted(model.pending)
    if not ids:
        return False
    start = step.op[1] % len(ids)
    batch = ids[start : start + step.op[2] % 3 + 1]
    if len(batch) == 1:
        step.market.settleTransaction(batch[0], sender=step.keeper)
    else:
        step.market.settleTransactions(batch, sender=step.keeper)
    for transaction_id in batch:
        del model.pending[transaction_id]
    return True


# Each kind of operation but "wait", which only moves the clock.
STEPS = {
    "create": step_create,
    "match": step_match,
    "bad match": step_match,
    "sweep": step_sweep,
    "fill": step_fill,
    "bad fill": step_fill,
    "cancel": step_cancel,
    "release": step_release,
    "settle": step_settle,
}


def close_everything(model: Model, keeper: Any, book: dict[int, tuple]) -> None:
    """Settles what is left and closes every order: all value goes back to its owners."""
    market = model.market
    by_address = {t.address: t for t in model.traders}
    if model.pending:
        market.settleTransactions(sorted(model.pending), sender=keeper)
        model.pending.clear()
    for order in book.values():
        if order[STATUS] == ACTIVE:
            tx = market.cancelOrder(order[ID], sender=by_address[order[TRADER]])
            check_refund(model, order, tx.events.filter(market.OrderCancelled)[0].refundedEscrow)
    balances, accrued_fees, _ = model.read()
    model.check()
    assert balances[-1] == (0, accrued_fees)


def check_refund(model: Model, order: tuple, refunded: int) -> None:
    """A closed order returns exactly its unfilled escrow."""
    if order[TYPE] == SELL:
        assert refunded == order[AMOUNT] - order[FILLED_WH]
    else:
        fills = model.buys[order[ID]]
        assert refunded == fills.escrow - fills.payments - fills.improvement_milli // 1_000
    assert refunded == order[ESCROW]

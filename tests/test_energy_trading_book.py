"""EnergyTrading: the continuous book: an order trades on arrival with what it crosses, by
price-time priority, within bounded fills, and dead entries are pruned.

Every custom error is asserted with all of its arguments and every market event with all of its
fields (`reverts` and `log` from support/helpers.py make ape's subset checks exhaustive); shared helpers
are in support/market_helpers.py, the market's fixtures in conftest.py.
"""

from __future__ import annotations

from typing import Any

import ape
import pytest

from support.helpers import (
    ZERO_ADDRESS,
    log,
    reverts,
)
from support.market_helpers import (
    ACTIVE,
    BUY,
    CANCELLED,
    FILLED,
    PRICE,
    PRICE_CAP_PER_KWH,
    SELL,
    book_on_own_vault,
    cost_ceil,
    create,
    market_logs,
    matched,
    matches,
)


@pytest.fixture(scope="module", autouse=True)
def _deployed_first(funded_market, keeper, fee_recipient, stranger, admin):
    """Deploy and fund the market, and name the accounts, before any test's own state (ape isolation)."""


# ----------------------------------------------------------------------------- the continuous book

MAX_FILLS_PER_ORDER = 32
MAX_DEAD_ENTRIES_PER_CALL = 1_024


def test_book_constants_and_empty_index(m):
    assert m.MAX_FILLS_PER_ORDER() == MAX_FILLS_PER_ORDER
    assert m.MAX_DEAD_ENTRIES_PER_CALL() == MAX_DEAD_ENTRIES_PER_CALL
    assert tuple(m.bestPrices()) == (0, 0)
    assert m.nextPriceLevel(SELL, 1) == 0
    assert m.nextPriceLevel(BUY, PRICE_CAP_PER_KWH) == 0
    assert m.nextPriceLevel(BUY, 2**256 - 1) == 0  # above the cap: searched from the cap down
    assert m.nextPriceLevel(SELL, 2**72) == 0  # above the cap: nothing
    assert tuple(m.priceLevel(SELL, PRICE)) == (0, 0)
    assert m.nextInLevel(1) == 0


def test_the_back_run_of_a_crossing_buy_gains_nothing(m, seller, buyer, carol, keeper, wallets, expiry):
    """While a SELL at 100 rests, a BUY at 250 arrives; an attacker used to sell to it at
    250 with matchOrders and take the SELL at 100 with fillOrder. Now the BUY fills at 100 on arrival."""
    ask = create(m, seller, 1_000, 100_000, SELL, expiry)
    tx = m.createOrder(1_000, 250_000, expiry, BUY, sender=buyer)
    bid = tx.return_value
    assert matches(tx, m) == [(1, bid, ask, 1_000, 100_000)]
    assert (m.getOrderInfo(bid).status, m.getOrderInfo(ask).status) == (FILLED, FILLED)
    # The attacker's SELL at 250 finds no buyer and rests; the cheap SELL is gone.
    attacker_cash = wallets.read()[carol.address][1]
    tx = m.createOrder(1_000, 250_000, expiry, SELL, sender=carol)
    lure = tx.return_value
    assert matches(tx, m) == []
    assert m.getOrderInfo(lure).status == ACTIVE
    with reverts(m.OrderNotActive, orderId=ask, status=FILLED):
        m.fillOrder(ask, 1_000, sender=carol)
    with reverts(m.OrderNotActive, orderId=bid, status=FILLED):
        m.matchOrders(bid, lure, sender=carol)
    # The buyer pays 100 and gets its 150 of price improvement back at settlement.
    t = m.getTransaction(1)
    assert (t.pricePerKWh, t.payment, t.buyerRefund) == (100_000, 100_000, 150_000)
    before = wallets.read()
    m.settleTransaction(1, sender=keeper)
    after = wallets.read()
    assert after[buyer.address] == (before[buyer.address][0] + 1_000, before[buyer.address][1] + 150_000)
    m.cancelOrder(lure, sender=carol)
    assert wallets.read()[carol.address][1] == attacker_cash  # the attacker gained nothing


def test_a_crossing_buy_takes_the_best_price_first_and_the_oldest_order_within_a_price(
    m, seller, buyer, carol, dave, expiry
):
    s1 = create(m, carol, 300, 210_000, SELL, expiry)
    s2 = create(m, seller, 300, 200_000, SELL, expiry)
    s3 = create(m, dave, 300, 200_000, SELL, expiry)
    s4 = create(m, carol, 300, 220_000, SELL, expiry)  # above the bid's limit
    assert tuple(m.bestPrices()) == (0, 200_000)
    assert tuple(m.priceLevel(SELL, 200_000)) == (s2, s3)
    assert m.nextInLevel(s2) == s3
    assert [m.nextPriceLevel(SELL, p) for p in (1, 200_001, 210_001, 220_001)] == [200_000, 210_000, 220_000, 0]
    tx = m.createOrder(800, 215_000, expiry, BUY, sender=buyer)
    bid = tx.return_value
    # Each fill at the resting ask's price: the buyer keeps its price improvement.
    assert matches(tx, m) == [
        (1, bid, s2, 300, 200_000),
        (2, bid, s3, 300, 200_000),
        (3, bid, s1, 200, 210_000),
    ]
    assert market_logs(tx, m)[0] == log(
        m.OrderCreated,
        orderId=bid,
        trader=buyer.address,
        orderType=BUY,
        amountWh=800,
        pricePerKWh=215_000,
        expiry=expiry,
        counterparty=ZERO_ADDRESS,
    )
    info = m.getOrderInfo(bid)
    assert (info.status, info.filledAmount, info.escrow) == (FILLED, 800, 0)
    assert m.getOrderInfo(s1).filledAmount == 200
    assert m.getOrderInfo(s4).filledAmount == 0
    # A filled bid does not rest; the emptied level left the index.
    assert tuple(m.bestPrices()) == (0, 210_000)
    assert tuple(m.priceLevel(SELL, 200_000)) == (0, 0)
    assert tuple(m.priceLevel(SELL, 210_000)) == (s1, s1)
    assert m.nextPriceLevel(SELL, 1) == 210_000
    assert tuple(m.priceLevel(BUY, 215_000)) == (0, 0)


def test_a_crossing_sell_takes_the_highest_bids_at_their_prices_and_rests_the_rest(m, seller, buyer, carol, expiry):
    b1 = create(m, buyer, 500, 240_000, BUY, expiry)
    b2 = create(m, carol, 500, 250_000, BUY, expiry)
    low = create(m, carol, 500, 100_000, BUY, expiry)  # below the ask's limit
    assert tuple(m.bestPrices()) == (250_000, 0)
    assert [m.nextPriceLevel(BUY, p) for p in (PRICE_CAP_PER_KWH, 249_999, 239_999, 99_999)] == [250_000, 240_000, 100_000, 0]
    tx = m.createOrder(1_500, 230_000, expiry, SELL, sender=seller)
    ask = tx.return_value
    assert matches(tx, m) == [(1, b2, ask, 500, 250_000), (2, b1, ask, 500, 240_000)]
    info = m.getOrderInfo(ask)
    assert (info.status, info.filledAmount, info.escrow) == (ACTIVE, 1_000, 500)
    assert tuple(m.bestPrices()) == (100_000, 230_000)
    assert tuple(m.priceLevel(SELL, 230_000)) == (ask, ask)
    assert m.getOrderInfo(low).filledAmount == 0
    # The resting rest trades with the next crossing bid, at its own price.
    tx = m.createOrder(200, 260_000, expiry, BUY, sender=buyer)
    assert matches(tx, m) == [(3, tx.return_value, ask, 200, 230_000)]
    assert m.getOrderInfo(ask).filledAmount == 1_200


def test_orders_that_do_not_cross_rest_and_join_their_level_in_arrival_order(m, seller, buyer, carol, expiry):
    a1 = create(m, seller, 100, 300_000, SELL, expiry)
    a2 = create(m, carol, 100, 300_000, SELL, expiry)
    a3 = create(m, seller, 100, 300_000, SELL, expiry)
    b1 = create(m, buyer, 100, 299_999, BUY, expiry)  # one unit below the ask: no trade
    assert m.transactionCount() == 0
    assert tuple(m.priceLevel(SELL, 300_000)) == (a1, a3)
    assert (m.nextInLevel(a1), m.nextInLevel(a2), m.nextInLevel(a3)) == (a2, a3, 0)
    assert tuple(m.bestPrices()) == (299_999, 300_000)
    b2 = create(m, carol, 100, 150_000, BUY, expiry)  # a worse bid leaves the best as it is
    assert tuple(m.bestPrices()) == (299_999, 300_000)
    assert tuple(m.priceLevel(BUY, 150_000)) == (b2, b2)
    assert tuple(m.priceLevel(BUY, 299_999)) == (b1, b1)


def test_the_fill_bound_exactly_at_it_fills_and_one_more_cancels_the_rest(m, seller, buyer, wallets, expiry):
    asks = [create(m, seller, 10, PRICE, SELL, expiry) for _ in range(MAX_FILLS_PER_ORDER + 1)]
    tx = m.createOrder(10 * MAX_FILLS_PER_ORDER, PRICE, expiry, BUY, sender=buyer)
    assert [f[2] for f in matches(tx, m)] == asks[:MAX_FILLS_PER_ORDER]
    assert m.getOrderInfo(tx.return_value).status == FILLED
    assert tuple(m.priceLevel(SELL, PRICE)) == (asks[-1], asks[-1])
    assert tx.gas_used < 2_000_000  # the bound keeps the worst case far below a block
    # Past the bound with a level that no longer crosses: the rest rests.
    tx = m.createOrder(30, PRICE, expiry, BUY, sender=buyer)
    assert [f[2] for f in matches(tx, m)] == [asks[-1]]
    assert m.getOrderInfo(tx.return_value).escrow == cost_ceil(20, PRICE)
    m.cancelOrder(tx.return_value, sender=buyer)
    # One fill more than the bound allows: the fills stand, the rest is cancelled untaken.
    more = [create(m, seller, 10, PRICE - 1, SELL, expiry) for _ in range(MAX_FILLS_PER_ORDER + 1)]
    before = wallets.read()
    tx = m.createOrder(10 * MAX_FILLS_PER_ORDER + 1, PRICE - 1, expiry, BUY, sender=buyer)
    assert [f[2] for f in matches(tx, m)] == more[:MAX_FILLS_PER_ORDER]
    info = m.getOrderInfo(tx.return_value)
    assert (info.status, info.filledAmount, info.escrow) == (CANCELLED, 10 * MAX_FILLS_PER_ORDER, 0)
    spent = cost_ceil(10 * MAX_FILLS_PER_ORDER, PRICE - 1)
    assert wallets.read()[buyer.address][1] == before[buyer.address][1] - spent


def test_dead_entries_are_skipped_and_unlinked(m, admin, seller, buyer, carol, dave, keeper, chain, wallets):
    now = chain.pending_timestamp
    expiry = now + 3_600
    cancelled = create(m, seller, 100, PRICE, SELL, expiry)
    taken = create(m, carol, 100, PRICE, SELL, expiry)
    expired = create(m, dave, 100, PRICE, SELL, now + 60)
    matched_away = create(m, seller, 100, PRICE, SELL, expiry)
    live = create(m, carol, 100, PRICE, SELL, expiry)
    m.cancelOrder(cancelled, sender=seller)
    m.fillOrder(taken, 100, sender=dave)
    offer = create(m, buyer, 100, PRICE, BUY, expiry, counterparty=seller)  # directed: stays off the index
    matched(m, offer, matched_away, keeper)
    chain.pending_timestamp = now + 60  # `expired` can no longer trade
    assert tuple(m.priceLevel(SELL, PRICE)) == (cancelled, live)
    tx = m.createOrder(300, PRICE, expiry, BUY, sender=buyer)
    bid = tx.return_value
    assert matches(tx, m) == [(3, bid, live, 100, PRICE)]
    # The dead entries and the filled one left the queue, the level the index; the rest of the bid rests.
    assert tuple(m.priceLevel(SELL, PRICE)) == (0, 0)
    assert tuple(m.bestPrices()) == (PRICE, 0)
    info = m.getOrderInfo(bid)
    assert (info.status, info.filledAmount) == (ACTIVE, 100)
    # The expired order never traded, and its escrow still goes home.
    assert m.getOrderInfo(expired).filledAmount == 0
    energy = wallets.read()[dave.address][0]
    m.releaseExpiredOrder(expired, sender=keeper)
    assert wallets.read()[dave.address][0] == energy + 100


def dead_entries(m: Any, trader: Any, count: int, price: int, expiry: int) -> list[int]:
    ids = [create(m, trader, 10, price, SELL, expiry) for _ in range(count)]
    for order_id in ids:
        m.cancelOrder(order_id, sender=trader)
    return ids


def test_dead_entries_are_pruned_by_anyone_without_a_trade(m, seller, buyer, carol, dave, stranger, wallets, expiry):
    first = create(m, carol, 10, PRICE, SELL, expiry)
    dead = dead_entries(m, seller, 3, PRICE, expiry)
    last = create(m, dave, 10, PRICE, SELL, expiry)
    assert m.nextInLevel(first) == dead[0]
    before = wallets.read()
    # Anyone prunes: dead entries are unlinked, live ones stay linked.
    tx = m.pruneLevel(SELL, PRICE, sender=stranger)
    assert market_logs(tx, m) == [log(m.PriceLevelPruned, orderType=SELL, pricePerKWh=PRICE, removedEntries=3)]
    assert tx.return_value == 3
    assert m.nextInLevel(first) == last
    assert tuple(m.priceLevel(SELL, PRICE)) == (first, last)
    assert wallets.read()[stranger.address] == before[stranger.address]
    tx = m.createOrder(20, PRICE, expiry, BUY, sender=buyer)
    assert [f[2] for f in matches(tx, m)] == [first, last]
    assert tuple(m.priceLevel(SELL, PRICE)) == (0, 0)


def test_pruning_a_level_of_dead_entries_removes_it_from_the_index(m, seller, buyer, stranger, expiry):
    dead_entries(m, seller, 2, PRICE, expiry)
    ask = create(m, seller, 10, PRICE + 1, SELL, expiry)
    dead_bids = [create(m, buyer, 10, PRICE - 1, BUY, expiry) for _ in range(2)]
    bid = create(m, buyer, 10, PRICE - 2, BUY, expiry)
    for order_id in dead_bids:
        m.cancelOrder(order_id, sender=buyer)
    # The cached best prices still name the dead levels (they bound the live ones).
    assert tuple(m.bestPrices()) == (PRICE - 1, PRICE)
    tx = m.pruneLevel(SELL, PRICE, sender=stranger)
    assert tx.events == [log(m.PriceLevelPruned, orderType=SELL, pricePerKWh=PRICE, removedEntries=2)]
    assert tuple(m.priceLevel(SELL, PRICE)) == (0, 0)
    assert tuple(m.bestPrices()) == (PRICE - 1, PRICE + 1)
    m.pruneLevel(BUY, PRICE - 1, sender=stranger)
    assert tuple(m.bestPrices()) == (PRICE - 2, PRICE + 1)
    assert (m.nextPriceLevel(SELL, 1), m.nextPriceLevel(BUY, PRICE)) == (PRICE + 1, PRICE - 2)
    # A level with only live entries prunes nothing; an empty one is an error.
    tx = m.pruneLevel(SELL, PRICE + 1, sender=stranger)
    assert tx.events == [log(m.PriceLevelPruned, orderType=SELL, pricePerKWh=PRICE + 1, removedEntries=0)]
    assert tuple(m.priceLevel(SELL, PRICE + 1)) == (ask, ask)
    assert tuple(m.priceLevel(BUY, PRICE - 2)) == (bid, bid)
    for kind, price in ((SELL, PRICE), (BUY, PRICE - 1), (BUY, PRICE + 1)):
        with reverts(m.EmptyPriceLevel, orderType=kind, pricePerKWh=price):
            m.pruneLevel(kind, price, sender=stranger)


def test_directed_orders_never_enter_the_index_or_cross(m, seller, buyer, carol, keeper, expiry):
    offer = create(m, seller, 1_000, 100_000, SELL, expiry, counterparty=buyer)
    tx = m.createOrder(1_000, 300_000, expiry, BUY, sender=buyer)  # crosses the offer's price, not the offer
    bid = tx.return_value
    assert matches(tx, m) == []
    assert tuple(m.bestPrices()) == (300_000, 0)
    assert tuple(m.priceLevel(SELL, 100_000)) == (0, 0)
    # A directed order that crosses a resting undirected one does not trade on arrival either.
    tx = m.createDirectedOrder(1_000, 200_000, expiry, SELL, buyer, sender=carol)
    assert matches(tx, m) == []
    assert m.getOrderInfo(bid).filledAmount == 0
    # The bilateral deal is matched explicitly, at the offer's (earlier) price.
    assert matched(m, bid, offer, keeper) == 1
    assert m.getTransaction(1).pricePerKWh == 100_000


def test_an_order_that_would_cross_its_own_trader_reverts(m, seller, buyer, wallets, expiry):
    """The self-cross rule: SelfTrade, nothing moves; the trader cancels first (no wash trades)."""
    ask = create(m, seller, 1_000, PRICE, SELL, expiry)
    other = create(m, buyer, 500, PRICE - 1, SELL, expiry)  # a better ask of someone else, taken first
    before = wallets.read()
    with reverts(m.SelfTrade, trader=seller.address):
        m.createOrder(1_000, PRICE, expiry, BUY, sender=seller)
    assert wallets.read() == before
    create(m, seller, 1_000, PRICE - 2, BUY, expiry)  # below every ask: rests
    m.cancelOrder(ask, sender=seller)
    tx = m.createOrder(1_000, PRICE, expiry, BUY, sender=seller)  # its own dead entry is skipped
    assert [f[2] for f in matches(tx, m)] == [other]
    assert m.getOrderInfo(tx.return_value).filledAmount == 500


def test_levels_far_apart_across_the_bitmap_are_found_in_price_order(project, admin, vault, energy_token, fee_recipient, traders):
    """Levels in different words at every height of the bitmap, crossed by one order; a payment token
    that anyone can mint pays for prices up to the cap (on a vault of its own, pulled from wallets)."""
    seller, buyer = traders[0], traders[1]
    cash = project.ReentrantToken.deploy(sender=admin)  # never armed here: a plain mintable ERC-20
    _, market = book_on_own_vault(project, admin, energy_token, cash, fee_recipient, 0, [seller, buyer])
    vault.withdraw(energy_token, 1_000, seller, sender=seller)
    cash.mint(buyer, 10**30, sender=buyer)
    expiry = ape.chain.pending_timestamp + 3_600
    prices = [1, 255, 256, 257, 65_535, 65_536, 2**40 + 7, 2**56 - 1, 2**56, PRICE_CAP_PER_KWH - 1, PRICE_CAP_PER_KWH]
    asks = {p: create(market, seller, 1, p, SELL, expiry) for p in reversed(prices)}
    assert tuple(market.bestPrices()) == (0, 1)
    assert [market.nextPriceLevel(SELL, p + 1) for p in prices] == [*prices[1:], 0]
    assert [market.nextPriceLevel(SELL, p) for p in prices] == prices
    tx = market.createOrder(len(prices) + 1, PRICE_CAP_PER_KWH, expiry, BUY, sender=buyer)
    bid = tx.return_value
    assert matches(tx, market) == [(i + 1, bid, asks[p], 1, p) for i, p in enumerate(prices)]
    assert tuple(market.bestPrices()) == (PRICE_CAP_PER_KWH, 0)
    # The bid side, downwards: bids placed far apart, found highest first.
    market.cancelOrder(bid, sender=buyer)
    market.pruneLevel(BUY, PRICE_CAP_PER_KWH, sender=buyer)
    bids = {p: create(market, buyer, 1, p, BUY, expiry) for p in prices}
    assert tuple(market.bestPrices()) == (PRICE_CAP_PER_KWH, 0)
    assert [market.nextPriceLevel(BUY, p - 1) for p in prices] == [0, *prices[:-1]]
    tx = market.createOrder(len(prices), 1, expiry, SELL, sender=seller)
    ask = tx.return_value
    assert matches(tx, market) == [
        (len(prices) + i + 1, bids[p], ask, 1, p) for i, p in enumerate(reversed(prices))
    ]
    assert tuple(market.bestPrices()) == (0, 0)

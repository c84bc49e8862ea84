"""EnergyTrading: a crowd of tiny orders, live or dead, cannot make a crossing order revert.

A crossing order that reaches MAX_FILLS_PER_ORDER fills or passes MAX_DEAD_ENTRIES_PER_CALL dead
queue entries keeps its fills and has its rest cancelled at once (that escrow is never taken);
what it unlinked stays unlinked. The smallest order is a deploy setting (the deployment's default
refuses dust). The crowds are placed with bulk transactions (support/bulk_helpers.py).
"""

from __future__ import annotations

from typing import Any

import pytest

from energy_grid.deploy.system import DEFAULT_MIN_ORDER_AMOUNT_WH

from support.bulk_helpers import Bulk
from support.helpers import deploy_reverts, log, reverts
from support.market_helpers import (
    ACTIVE,
    BUY,
    CANCELLED,
    FEE_BPS,
    FILLED,
    MAX_ORDER_AMOUNT_WH,
    PRICE,
    SELL,
    cost_ceil,
    create,
    market_logs,
    matches,
)

MAX_FILLS_PER_ORDER = 32
MAX_DEAD_ENTRIES_PER_CALL = 1_024
DUST_ORDERS = 1_000
TEN_KWH = 10_000


@pytest.fixture(scope="module", autouse=True)
def _deployed_first(funded_market, keeper, fee_recipient, stranger, admin):
    """Deploy and fund the market, and name the accounts, before any test's own state (ape isolation)."""


@pytest.fixture
def bulk(chain):
    return Bulk(chain)


def place_dust(bulk: Any, m: Any, attacker: Any, count: int, price: int, expiry: int) -> list[int]:
    """`count` SELLs of 1 Wh at `price` by `attacker`; returns their ids."""
    first = m.orderCount() + 1
    with bulk.impersonating([attacker]), bulk.in_shared_blocks():
        for _ in range(count):
            bulk.send(attacker, m, "createOrder", 1, price, expiry, SELL)
    return list(range(first, first + count))


def cancel_all(bulk: Any, m: Any, attacker: Any, ids: list[int]) -> None:
    with bulk.impersonating([attacker]), bulk.in_shared_blocks():
        for order_id in reversed(ids):  # newest first: none of them is ever a queue's head
            bulk.send(attacker, m, "cancelOrder", order_id)


def test_the_bounds(m):
    assert m.MAX_FILLS_PER_ORDER() == MAX_FILLS_PER_ORDER
    assert m.MAX_DEAD_ENTRIES_PER_CALL() == MAX_DEAD_ENTRIES_PER_CALL


def test_the_minimum_order_is_set_at_deploy_within_bounds(project, admin, vault, fee_recipient, seller, chain):
    market = project.EnergyTrading.deploy(admin, vault, fee_recipient, FEE_BPS, DEFAULT_MIN_ORDER_AMOUNT_WH, sender=admin)
    assert market.minOrderAmount() == DEFAULT_MIN_ORDER_AMOUNT_WH == 100
    vault.registerMarket(market, sender=admin)
    vault.setMarketApproval(market, True, sender=seller)
    expiry_at = chain.pending_timestamp + 3_600
    with reverts(market.AmountBelowMinimum, amountWh=1, minAmountWh=DEFAULT_MIN_ORDER_AMOUNT_WH):
        market.createOrder(1, PRICE, expiry_at, SELL, sender=seller)
    assert market.createOrder(DEFAULT_MIN_ORDER_AMOUNT_WH, PRICE, expiry_at, SELL, sender=seller).return_value == 1
    for bad in (0, MAX_ORDER_AMOUNT_WH + 1):
        with deploy_reverts(market.MinOrderAmountOutOfRange, bad, MAX_ORDER_AMOUNT_WH):
            project.EnergyTrading.deploy(admin, vault, fee_recipient, FEE_BPS, bad, sender=admin)


def test_dust_inside_the_best_ask_no_longer_makes_a_large_buy_revert(m, bulk, seller, buyer, carol, wallets, expiry):
    """33 SELLs of 1 Wh one tick inside the best ask used to make every larger crossing BUY revert."""
    ask = create(m, seller, TEN_KWH, PRICE, SELL, expiry)
    dust = place_dust(bulk, m, carol, MAX_FILLS_PER_ORDER + 1, PRICE - 1, expiry)
    before = wallets.read()
    tx = m.createOrder(TEN_KWH, PRICE, expiry, BUY, sender=buyer)
    bid = tx.return_value
    assert [f[2] for f in matches(tx, m)] == dust[:MAX_FILLS_PER_ORDER]
    # The fills stand; the rest is cancelled before its escrow is taken: only the fills' cost moves.
    paid = cost_ceil(MAX_FILLS_PER_ORDER, PRICE - 1)
    escrow = cost_ceil(TEN_KWH, PRICE)
    assert market_logs(tx, m)[-1] == log(
        m.OrderCancelled,
        orderId=bid,
        trader=buyer.address,
        unfilledWh=TEN_KWH - MAX_FILLS_PER_ORDER,
        refundedEscrow=escrow - cost_ceil(MAX_FILLS_PER_ORDER, PRICE),
    )
    after = wallets.read()
    assert after[buyer.address][1] == before[buyer.address][1] - cost_ceil(MAX_FILLS_PER_ORDER, PRICE)
    assert after[m.address][1] == before[m.address][1] + cost_ceil(MAX_FILLS_PER_ORDER, PRICE)
    info = m.getOrderInfo(bid)
    assert (info.status, info.filledAmount, info.escrow) == (CANCELLED, MAX_FILLS_PER_ORDER, 0)
    # The buyer's price improvement comes back at settlement, as for any fill.
    assert sum(m.getTransaction(t).payment for t in range(1, MAX_FILLS_PER_ORDER + 1)) == paid
    # Nothing rested crossed; the rest, sent again, takes the last dust and the honest ask.
    assert tuple(m.bestPrices()) == (0, PRICE - 1)
    tx = m.createOrder(TEN_KWH - MAX_FILLS_PER_ORDER, PRICE, expiry, BUY, sender=buyer)
    assert [(f[2], f[3]) for f in matches(tx, m)] == [(dust[-1], 1), (ask, TEN_KWH - MAX_FILLS_PER_ORDER - 1)]
    assert m.getOrderInfo(tx.return_value).status == FILLED


def test_a_thousand_dust_orders_left_dead_do_not_block_a_ten_kwh_buy(m, bulk, seller, buyer, carol, chain, wallets):
    """1,000 dust orders one tick inside the best ask, half cancelled and half expired, used to make
    it revert (TooManyDeadEntries) until someone paid for pruneLevel."""
    now = chain.pending_timestamp
    expiry = now + 3_600
    ask = create(m, seller, TEN_KWH, PRICE, SELL, expiry)
    cancelled = place_dust(bulk, m, carol, DUST_ORDERS // 2, PRICE - 1, expiry)
    expiring = place_dust(bulk, m, carol, DUST_ORDERS // 2, PRICE - 1, now + 600)
    cancel_all(bulk, m, carol, cancelled)
    chain.pending_timestamp = now + 600
    assert tuple(m.priceLevel(SELL, PRICE - 1)) == (cancelled[0], expiring[-1])
    before = wallets.read()
    tx = m.createOrder(TEN_KWH, PRICE, expiry, BUY, sender=buyer)
    bid = tx.return_value
    assert matches(tx, m) == [(1, bid, ask, TEN_KWH, PRICE)]
    assert m.getOrderInfo(bid).status == FILLED
    assert wallets.read()[buyer.address][1] == before[buyer.address][1] - cost_ceil(TEN_KWH, PRICE)
    # The dead level left the queue and the index on the way.
    assert tuple(m.priceLevel(SELL, PRICE - 1)) == (0, 0)
    assert m.nextPriceLevel(SELL, 1) == 0
    assert tx.gas_used < 4_000_000


def test_an_order_stopped_by_dead_entries_keeps_what_it_unlinked(m, bulk, seller, buyer, carol, dave, wallets, expiry):
    live = create(m, dave, 10, PRICE - 1, SELL, expiry)
    dead = place_dust(bulk, m, carol, MAX_DEAD_ENTRIES_PER_CALL + 5, PRICE - 1, expiry)
    cancel_all(bulk, m, carol, dead)
    m.cancelOrder(live, sender=dave)  # the head leaves too: every entry in the level is dead
    last = create(m, seller, 10, PRICE - 1, SELL, expiry)
    before = wallets.read()
    tx = m.createOrder(10, PRICE, expiry, BUY, sender=buyer)
    bid = tx.return_value
    assert matches(tx, m) == []
    assert market_logs(tx, m)[-1] == log(
        m.OrderCancelled, orderId=bid, trader=buyer.address, unfilledWh=10, refundedEscrow=cost_ceil(10, PRICE)
    )
    assert wallets.read() == before  # nothing was taken
    # The entries it passed (the old head and the first 1,023 dust) are unlinked: the queue now
    # starts where it stopped.
    assert tuple(m.priceLevel(SELL, PRICE - 1)) == (dead[MAX_DEAD_ENTRIES_PER_CALL - 1], last)
    tx = m.createOrder(10, PRICE, expiry, BUY, sender=buyer)
    assert matches(tx, m) == [(1, tx.return_value, last, 10, PRICE - 1)]
    assert m.getOrderInfo(tx.return_value).status == FILLED


def test_a_stopped_sell_cancels_its_rest_too(m, bulk, seller, buyer, carol, wallets, expiry):
    first = m.orderCount() + 1
    with bulk.impersonating([carol]), bulk.in_shared_blocks():
        for _ in range(MAX_FILLS_PER_ORDER + 1):
            bulk.send(carol, m, "createOrder", 1, PRICE + 1, expiry, BUY)
    bids = list(range(first, first + MAX_FILLS_PER_ORDER + 1))
    before = wallets.read()
    tx = m.createOrder(1_000, PRICE, expiry, SELL, sender=seller)
    ask = tx.return_value
    assert [f[1] for f in matches(tx, m)] == bids[:MAX_FILLS_PER_ORDER]
    assert market_logs(tx, m)[-1] == log(
        m.OrderCancelled,
        orderId=ask,
        trader=seller.address,
        unfilledWh=1_000 - MAX_FILLS_PER_ORDER,
        refundedEscrow=1_000 - MAX_FILLS_PER_ORDER,
    )
    assert wallets.read()[seller.address][0] == before[seller.address][0] - MAX_FILLS_PER_ORDER
    assert m.getOrderInfo(bids[-1]).status == ACTIVE
    assert tuple(m.bestPrices()) == (PRICE + 1, 0)

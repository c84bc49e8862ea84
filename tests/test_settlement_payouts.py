"""Settlement: payouts of a matched transaction, the settlement window and voiding, batch
settlement.

Settlement is an abstract base of EnergyTrading (one address). Every custom error is asserted
with all of its arguments and every settlement event with all of its fields (support/helpers.py); the
pending `trade` and `wallets` fixtures are in conftest.py, shared helpers in support/market_helpers.py.
"""

from __future__ import annotations

from typing import Any

import pytest

from support.helpers import (
    log,
    reverts,
)
from support.market_helpers import (
    BUY,
    FILLED,
    MAX_SETTLEMENT_BATCH,
    MAX_SETTLEMENT_WINDOW,
    OPERATOR_ROLE,
    PENDING,
    SELL,
    SETTLED,
    VOIDED,
    ZERO_ADDRESS,
    assert_vault_backed,
    create,
    crossing,
    market_logs,
)


@pytest.fixture(scope="module", autouse=True)
def _deployed_first(funded_market, keeper, fee_recipient, stranger, admin):
    """Deploy and fund the market, and name the accounts, before any test's own state (ape isolation)."""


# ----------------------------------------------------------------------------- settleTransaction


def test_settle_pays_energy_payment_fee_and_refund(m, vault, trade, seller, buyer, keeper, energy_token, stablecoin, wallets):
    before = wallets.read()
    tx = m.settleTransaction(trade, sender=keeper)
    assert market_logs(tx, m) == [
        log(
            m.TransactionSettled,
            transactionId=trade,
            buyer=buyer.address,
            seller=seller.address,
            amountWh=1_000,
            payment=200_000,
            fee=1_000,
            buyerRefund=50_000,
        )
    ]
    assert tx.events.filter(energy_token.Transfer) == []  # vault balances moved, no token
    assert tx.events.filter(stablecoin.Transfer) == []  # vault balances moved, no token
    after = wallets.read()
    assert after[buyer.address] == (before[buyer.address][0] + 1_000, before[buyer.address][1] + 50_000)
    assert after[seller.address] == (before[seller.address][0], before[seller.address][1] + 199_000)
    assert after[m.address] == (before[m.address][0] - 1_000, before[m.address][1] - 249_000)
    assert m.accruedFees() == 1_000  # the fee stays in the market until the recipient pulls it
    # Buyer paid (escrow 250,000 less 50,000 back) = seller received + fee, to the unit.
    assert 250_000 - 50_000 == 199_000 + 1_000
    assert m.getTransaction(trade).status == SETTLED
    assert_vault_backed(vault, energy_token, stablecoin)


def test_settle_rejections(m, admin, trade, keeper, wallets):
    with reverts(m.TransactionUnknown, transactionId=trade + 1):
        m.settleTransaction(trade + 1, sender=keeper)
    with reverts(m.TransactionUnknown, transactionId=0):
        m.settleTransaction(0, sender=keeper)
    m.settleTransaction(trade, sender=keeper)
    with reverts(m.TransactionNotPending, transactionId=trade, status=SETTLED):
        m.settleTransaction(trade, sender=keeper)


# ----------------------------------------------------------------------------- window and void


def test_settlement_window_lets_the_operator_void(m, admin, seller, buyer, keeper, chain, energy_token, stablecoin, wallets, expiry):
    tx = m.setSettlementWindow(600, sender=admin)
    assert tx.events == [log(m.SettlementWindowUpdated, previousSeconds=0, newSeconds=600)]
    assert m.settlementWindow() == 600
    sell_id = create(m, seller, 1_000, 200_000, SELL, expiry)
    match_tx = m.createOrder(1_000, 250_000, expiry, BUY, sender=buyer)  # crosses the resting sell
    buy_id = match_tx.return_value
    trade = match_tx.events.filter(m.OrdersMatched)[0].transactionId
    settleable_at = match_tx.timestamp + 600
    with reverts(m.SettlementWindowOpen, transactionId=trade, settleableAt=settleable_at):
        m.settleTransaction(trade, sender=keeper)
    before = wallets.read()
    tx = m.voidTransaction(trade, sender=admin)
    assert market_logs(tx, m) == [
        log(
            m.TransactionVoided,
            transactionId=trade,
            operator=admin.address,
            buyer=buyer.address,
            seller=seller.address,
            amountWh=1_000,
            returnedPayment=250_000,  # payment incl. what would have been fee, plus the refund
        )
    ]
    assert tx.events.filter(energy_token.Transfer) == []  # vault balances moved, no token
    assert tx.events.filter(stablecoin.Transfer) == []  # vault balances moved, no token
    after = wallets.read()
    assert after[seller.address] == (before[seller.address][0] + 1_000, before[seller.address][1])
    assert after[buyer.address] == (before[buyer.address][0], before[buyer.address][1] + 250_000)
    assert m.accruedFees() == 0
    assert m.getTransaction(trade).status == VOIDED
    # The orders stay filled: a voided trade does not reopen them.
    assert m.getOrderInfo(sell_id).status == m.getOrderInfo(buy_id).status == FILLED
    with reverts(m.TransactionNotPending, transactionId=trade, status=VOIDED):
        m.settleTransaction(trade, sender=keeper)
    with reverts(m.TransactionNotPending, transactionId=trade, status=VOIDED):
        m.voidTransaction(trade, sender=admin)


def test_settlement_window_closes_for_voids_and_opens_for_settlement(m, admin, seller, buyer, keeper, chain, expiry):
    m.setSettlementWindow(600, sender=admin)
    create(m, seller, 1_000, 200_000, SELL, expiry)
    match_tx = m.createOrder(1_000, 250_000, expiry, BUY, sender=buyer)  # crosses the resting sell
    trade = match_tx.events.filter(m.OrdersMatched)[0].transactionId
    window_end = match_tx.timestamp + 600
    chain.pending_timestamp = window_end - 1
    with reverts(m.SettlementWindowOpen, transactionId=trade, settleableAt=window_end):
        m.settleTransaction(trade, sender=keeper)
    chain.pending_timestamp = window_end
    with reverts(m.SettlementWindowClosed, transactionId=trade, windowEnd=window_end):
        m.voidTransaction(trade, sender=admin)
    m.settleTransaction(trade, sender=keeper)
    assert m.getTransaction(trade).status == SETTLED


def test_a_new_window_applies_to_pending_transactions(m, admin, seller, buyer, keeper, expiry):
    m.setSettlementWindow(MAX_SETTLEMENT_WINDOW, sender=admin)
    create(m, seller, 1_000, 200_000, SELL, expiry)
    _, (trade,) = crossing(m, buyer, 1_000, 250_000, BUY, expiry)
    tx = m.setSettlementWindow(0, sender=admin)
    assert tx.events == [log(m.SettlementWindowUpdated, previousSeconds=MAX_SETTLEMENT_WINDOW, newSeconds=0)]
    m.settleTransaction(trade, sender=keeper)
    with reverts(m.SettlementWindowTooLong, windowSeconds=MAX_SETTLEMENT_WINDOW + 1, maxSeconds=MAX_SETTLEMENT_WINDOW):
        m.setSettlementWindow(MAX_SETTLEMENT_WINDOW + 1, sender=admin)


def test_void_rejections(m, admin, trade, stranger, keeper):
    matched_at = m.getTransaction(trade).matchedAt
    with reverts(m.AccessControlUnauthorizedAccount, account=stranger.address, neededRole=OPERATOR_ROLE):
        m.voidTransaction(trade, sender=stranger)
    # Window 0 (the default): a transaction is final the moment it is recorded.
    with reverts(m.SettlementWindowClosed, transactionId=trade, windowEnd=matched_at):
        m.voidTransaction(trade, sender=admin)
    with reverts(m.TransactionUnknown, transactionId=trade + 1):
        m.voidTransaction(trade + 1, sender=admin)
    m.settleTransaction(trade, sender=keeper)
    with reverts(m.TransactionNotPending, transactionId=trade, status=SETTLED):
        m.voidTransaction(trade, sender=admin)


def test_void_of_taker_trades_returns_each_side_to_its_owner(m, admin, seller, buyer, carol, dave, wallets, expiry):
    m.setSettlementWindow(600, sender=admin)
    sell_id = create(m, seller, 1_000, 300_000, SELL, expiry)
    buy_id = create(m, buyer, 1_000, 250_000, BUY, expiry)  # below the ask: both rest
    before = wallets.read()
    took_sell = m.fillOrder(sell_id, 400, sender=carol).events.filter(m.OrderTaken)[0].transactionId
    took_buy = m.fillOrder(buy_id, 600, sender=dave).events.filter(m.OrderTaken)[0].transactionId
    m.voidTransaction(took_sell, sender=admin)
    m.voidTransaction(took_buy, sender=admin)
    after = wallets.read()
    # Carol's payment and Dave's energy came back to them; the makers got back what was sold of theirs.
    assert after[carol.address] == before[carol.address]
    assert after[dave.address] == before[dave.address]
    assert after[seller.address] == (before[seller.address][0] + 400, before[seller.address][1])
    assert after[buyer.address] == (before[buyer.address][0], before[buyer.address][1] + 150_000)
    assert m.getOrderInfo(sell_id).escrow == 600
    assert m.getOrderInfo(buy_id).escrow == 100_000


# ----------------------------------------------------------------------------- record slots


def test_a_settled_transactions_slot_is_reused_and_a_voided_ones_kept(m, admin, seller, buyer, carol, keeper, chain, expiry):
    """The next transaction rewrites a settled transaction's record slot (id = generation << 32 |
    slot); the settled id then reads as SETTLED only and is still refused as not pending. A
    voided record keeps its slot."""
    m.setSettlementWindow(600, sender=admin)
    sell_id = create(m, seller, 5_000, 200_000, SELL, expiry)

    def take(taker: Any) -> int:
        return m.fillOrder(sell_id, 1_000, sender=taker).events.filter(m.OrderTaken)[0].transactionId

    first, voided = take(buyer), take(buyer)
    assert (first >> 32, voided >> 32) == (0, 0)  # fresh slots: the transactions' numbers
    m.voidTransaction(voided, sender=admin)
    chain.pending_timestamp += 600
    m.settleTransaction(first, sender=keeper)
    assert (m.getTransaction(first).status, m.getTransaction(first).amountWh) == (SETTLED, 1_000)  # still readable

    reused = take(carol)
    assert reused == (1 << 32) | first  # the settled slot, its second transaction
    assert m.transactionCount() == (first & 0xFFFFFFFF) + 2
    info = m.getTransaction(reused)
    assert (info.status, info.buyer, info.seller, info.amountWh) == (PENDING, carol.address, seller.address, 1_000)
    old = m.getTransaction(first)
    assert (old.status, old.buyer, old.buyOrderId, old.sellOrderId, old.amountWh, old.matchedAt) == (SETTLED, ZERO_ADDRESS, 0, 0, 0, 0)
    with reverts(m.TransactionNotPending, transactionId=first, status=SETTLED):
        m.settleTransaction(first, sender=keeper)
    with reverts(m.TransactionNotPending, transactionId=first, status=SETTLED):
        m.voidTransaction(first, sender=admin)
    with reverts(m.TransactionUnknown, transactionId=(2 << 32) | first):  # a generation the slot has not reached
        m.getTransaction((2 << 32) | first)
    chain.pending_timestamp += 600
    tx = m.settleTransactions([first, reused], sender=keeper)
    assert [e.transactionId for e in tx.events.filter(m.TransactionSkipped)] == [first]
    assert [e.transactionId for e in tx.events.filter(m.TransactionSettled)] == [reused]

    # The voided slot stays out of the free list: with the reused slot settled again, the next
    # transaction takes it (third generation), and the one after a fresh slot (its number).
    assert take(buyer) == (2 << 32) | first
    assert take(buyer) == m.transactionCount()
    assert m.getTransaction(voided).status == VOIDED


# ----------------------------------------------------------------------------- batch


def test_settle_transactions_in_a_batch(m, vault, seller, buyer, carol, keeper, energy_token, stablecoin, wallets, expiry):
    sell_id = create(m, seller, 3_000, 200_000, SELL, expiry)
    trades = [m.fillOrder(sell_id, 1_000, sender=taker).events.filter(m.OrderTaken)[0].transactionId for taker in (buyer, carol, buyer)]
    before = wallets.read()
    tx = m.settleTransactions(trades, sender=keeper)
    assert market_logs(tx, m) == [
        log(
            m.TransactionSettled,
            transactionId=t,
            buyer=taker.address,
            seller=seller.address,
            amountWh=1_000,
            payment=200_000,
            fee=1_000,
            buyerRefund=0,
        )
        for t, taker in zip(trades, (buyer, carol, buyer), strict=True)
    ]
    after = wallets.read()
    assert after[seller.address][1] == before[seller.address][1] + 3 * 199_000
    assert after[buyer.address][0] == before[buyer.address][0] + 2_000
    assert after[carol.address][0] == before[carol.address][0] + 1_000
    assert after[m.address] == (before[m.address][0] - 3_000, before[m.address][1] - 3 * 199_000)  # the fees stay
    assert [m.getTransaction(t).status for t in trades] == [SETTLED] * 3
    assert_vault_backed(vault, energy_token, stablecoin)


def test_batch_rejections_leave_everything_pending(m, admin, seller, buyer, keeper, chain, wallets, expiry):
    m.setSettlementWindow(600, sender=admin)
    sell_id = create(m, seller, 2_000, 200_000, SELL, expiry)
    taken = m.fillOrder(sell_id, 1_000, sender=buyer)
    first, first_at = taken.events.filter(m.OrderTaken)[0].transactionId, taken.timestamp
    chain.pending_timestamp = first_at + 300
    taken = m.fillOrder(sell_id, 1_000, sender=buyer)
    second, second_at = taken.events.filter(m.OrderTaken)[0].transactionId, taken.timestamp
    before = wallets.read()
    with reverts(m.EmptyBatch):
        m.settleTransactions([], sender=keeper)
    chain.pending_timestamp = first_at + 600  # first settleable, second not yet
    with reverts(m.BatchTooLarge, size=MAX_SETTLEMENT_BATCH + 1, maxSize=MAX_SETTLEMENT_BATCH):
        m.settleTransactions([first] * (MAX_SETTLEMENT_BATCH + 1), sender=keeper)
    # An unknown id and an id inside its window are the keeper's mistakes, which it can see before
    # sending (getTransaction: matchedAt + settlementWindow): the whole batch reverts.
    chain.pending_timestamp = first_at + 600
    with reverts(m.TransactionUnknown, transactionId=99):
        m.settleTransactions([first, 99], sender=keeper)
    chain.pending_timestamp = first_at + 600
    with reverts(m.SettlementWindowOpen, transactionId=second, settleableAt=second_at + 600):
        m.settleTransactions([first, second], sender=keeper)
    assert wallets.read() == before
    assert [m.getTransaction(t).status for t in (first, second)] == [PENDING, PENDING]


def test_batch_skips_transactions_settled_or_voided_first(m, admin, seller, buyer, carol, keeper, stranger, chain, wallets, expiry):
    """Review finding: one id settled by someone else first made a keeper's whole batch revert."""
    m.setSettlementWindow(600, sender=admin)
    sell_id = create(m, seller, 3_000, 200_000, SELL, expiry)
    trades = [m.fillOrder(sell_id, 1_000, sender=taker).events.filter(m.OrderTaken)[0].transactionId for taker in (buyer, carol, buyer)]
    settled_first, voided, left = trades
    m.voidTransaction(voided, sender=admin)
    chain.pending_timestamp = m.getTransaction(left).matchedAt + 600
    m.settleTransaction(settled_first, sender=stranger)  # another settler got there first
    before = wallets.read()
    tx = m.settleTransactions([settled_first, voided, left, left], sender=keeper)
    assert market_logs(tx, m) == [
        log(m.TransactionSkipped, transactionId=settled_first, status=SETTLED),
        log(m.TransactionSkipped, transactionId=voided, status=VOIDED),
        log(
            m.TransactionSettled,
            transactionId=left,
            buyer=buyer.address,
            seller=seller.address,
            amountWh=1_000,
            payment=200_000,
            fee=1_000,
            buyerRefund=0,
        ),
        log(m.TransactionSkipped, transactionId=left, status=SETTLED),  # a duplicate cannot pay twice
    ]
    after = wallets.read()
    assert after[seller.address][1] == before[seller.address][1] + 199_000
    assert after[buyer.address][0] == before[buyer.address][0] + 1_000
    assert after[carol.address] == before[carol.address]
    assert after[m.address] == (before[m.address][0] - 1_000, before[m.address][1] - 199_000)
    assert m.accruedFees() == 2_000
    # A single settlement still reverts on a closed transaction: its caller asked for exactly that one.
    with reverts(m.TransactionNotPending, transactionId=voided, status=VOIDED):
        m.settleTransaction(voided, sender=keeper)

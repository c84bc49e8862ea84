"""Settlement (on the EnergyTrading address): payouts, the settlement window and voiding, batch
settlement, grid fees and their rounding, the BUY-escrow rounding scheme, reentrancy.

Every custom error is asserted with all of its arguments and every settlement event with all of
its fields (helpers from test_energy_trading).
"""

from __future__ import annotations

from pathlib import Path

import pytest
from helpers import DEFAULT_ADMIN_ROLE, ZERO_ADDRESS, log, reverts, unexercised_abi_items
from market_helpers import (
    BUY,
    FEE_BPS,
    FILLED,
    OPERATOR_ROLE,
    PENDING,
    SELL,
    SETTLED,
    VOIDED,
    Wallets,
    cost_ceil,
    create,
    crossing,
    market_logs,
    matched,
)

MAX_FEE_BPS = 1_000
MAX_SETTLEMENT_WINDOW = 7 * 86_400
MAX_SETTLEMENT_BATCH = 50
PRICE_CAP_PER_KWH = 2**72 - 1


@pytest.fixture(scope="module", autouse=True)
def _deployed_first(funded_market, keeper, fee_recipient, stranger, admin):
    """Deploy and fund the market, and name the accounts, before any test's own state (ape isolation)."""


@pytest.fixture
def wallets(m, energy_token, stablecoin, traders, keeper, fee_recipient, stranger, admin):
    return Wallets(m, energy_token, stablecoin, *traders, keeper, fee_recipient, stranger, admin)


@pytest.fixture
def trade(m, seller, buyer, keeper, expiry):
    """A pending transaction: 1,000 Wh from a resting SELL at 0.20 to a BUY limited at 0.25 that
    crossed it on arrival."""
    create(m, seller, 1_000, 200_000, SELL, expiry)
    _, (trade_id,) = crossing(m, buyer, 1_000, 250_000, BUY, expiry)
    return trade_id


def transfer(token, sender, receiver, value):
    return log(token.Transfer, **{"from": sender.address, "to": receiver.address, "value": value})


# ----------------------------------------------------------------------------- settleTransaction


def test_settle_pays_energy_payment_fee_and_refund(m, trade, seller, buyer, keeper, energy_token, stablecoin, wallets):
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
    assert tx.events.filter(energy_token.Transfer) == [transfer(energy_token, m, buyer, 1_000)]
    assert tx.events.filter(stablecoin.Transfer) == [
        transfer(stablecoin, m, seller, 199_000),
        transfer(stablecoin, m, buyer, 50_000),  # the price improvement, back in the buyer's wallet
    ]
    after = wallets.read()
    assert after[buyer.address] == (before[buyer.address][0] + 1_000, before[buyer.address][1] + 50_000)
    assert after[seller.address] == (before[seller.address][0], before[seller.address][1] + 199_000)
    assert after[m.address] == (before[m.address][0] - 1_000, before[m.address][1] - 249_000)
    assert m.accruedFees() == 1_000  # the fee stays in the market until the recipient pulls it
    # Buyer paid (escrow 250,000 less 50,000 back) = seller received + fee, to the unit.
    assert 250_000 - 50_000 == 199_000 + 1_000
    assert m.getTransaction(trade).status == SETTLED


def test_settle_rejections(m, admin, trade, keeper, wallets):
    with reverts(m.TransactionUnknown, transactionId=trade + 1):
        m.settleTransaction(trade + 1, sender=keeper)
    with reverts(m.TransactionUnknown, transactionId=0):
        m.settleTransaction(0, sender=keeper)
    m.pause(sender=admin)
    before = wallets.read()
    with reverts(m.EnforcedPause):
        m.settleTransaction(trade, sender=keeper)
    with reverts(m.EnforcedPause):
        m.settleTransactions([trade], sender=keeper)
    assert wallets.read() == before
    m.unpause(sender=admin)
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
    assert tx.events.filter(energy_token.Transfer) == [transfer(energy_token, m, seller, 1_000)]
    assert tx.events.filter(stablecoin.Transfer) == [transfer(stablecoin, m, buyer, 250_000)]
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
    sell_id = create(m, seller, 1_000, 200_000, SELL, expiry)
    match_tx = m.createOrder(1_000, 250_000, expiry, BUY, sender=buyer)  # crosses the resting sell
    buy_id = match_tx.return_value
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


# ----------------------------------------------------------------------------- batch


def test_settle_transactions_in_a_batch(m, seller, buyer, carol, keeper, wallets, expiry):
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
        for t, taker in zip(trades, (buyer, carol, buyer))
    ]
    after = wallets.read()
    assert after[seller.address][1] == before[seller.address][1] + 3 * 199_000
    assert after[buyer.address][0] == before[buyer.address][0] + 2_000
    assert after[carol.address][0] == before[carol.address][0] + 1_000
    assert [m.getTransaction(t).status for t in trades] == [SETTLED] * 3


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
    # sending (transactionCount, matchedAt + settlementWindow): the whole batch reverts.
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


# ----------------------------------------------------------------------------- frozen accounts


@pytest.fixture
def frozen_cash_market(project, admin, energy_token, fee_recipient, traders, chain, funded_market):
    """A market paid in a USDC-style token whose owner (admin) can freeze accounts, and a pending
    trade in it: 1,000 Wh from a SELL at 0.20 to a BUY limited at 0.25 that crossed it (payment
    200,000, fee 1,000, the buyer's refund 50,000)."""
    seller, buyer = traders[0], traders[1]
    token = project.BlacklistToken.deploy(sender=admin)
    market = project.EnergyTrading.deploy(admin, energy_token, token, fee_recipient, FEE_BPS, sender=admin)
    energy_token.approve(market, 2**256 - 1, sender=seller)
    token.approve(market, 2**256 - 1, sender=buyer)
    token.mint(buyer, 10**12, sender=buyer)
    expiry = chain.pending_timestamp + 3_600
    create(market, seller, 1_000, 200_000, SELL, expiry)
    _, (trade,) = crossing(market, buyer, 1_000, 250_000, BUY, expiry)
    return market, token, trade


def held(market, token, *accounts) -> int:
    """What `market` must hold of `token` for settled trades: accrued fees plus what it owes."""
    return market.accruedFees() + sum(market.owed(token, a) for a in accounts)


def test_a_frozen_seller_does_not_lock_the_buyers_energy(frozen_cash_market, traders, admin, keeper, energy_token):
    """Review finding: a payment token freezing the seller after a match made settlement revert
    forever, and with the default window of 0 s nobody could void: the buyer's energy was locked."""
    market, token, trade = frozen_cash_market
    seller, buyer = traders[0], traders[1]
    token.freeze(seller, sender=admin)
    energy, cash, seller_cash = energy_token.balanceOf(buyer), token.balanceOf(buyer), token.balanceOf(seller)
    tx = market.settleTransaction(trade, sender=keeper)
    assert market_logs(tx, market) == [
        log(
            market.TransactionSettled,
            transactionId=trade,
            buyer=buyer.address,
            seller=seller.address,
            amountWh=1_000,
            payment=200_000,
            fee=1_000,
            buyerRefund=50_000,
        ),
        log(market.PayoutDeferred, token=token.address, account=seller.address, amount=199_000),
    ]
    assert energy_token.balanceOf(buyer) == energy + 1_000
    assert token.balanceOf(buyer) == cash + 50_000
    assert token.balanceOf(seller) == seller_cash
    assert market.owed(token, seller) == 199_000
    assert market.owed(energy_token, seller) == market.owed(token, buyer) == 0
    assert token.balanceOf(market) == held(market, token, seller, buyer) == 200_000  # to the unit
    # Still frozen: the token refuses the withdrawal and the credit stays.
    with reverts(token.FrozenAccount, account=seller.address):
        market.withdrawOwed(token, sender=seller)
    assert market.owed(token, seller) == 199_000
    token.unfreeze(seller, sender=admin)
    tx = market.withdrawOwed(token, sender=seller)
    assert market_logs(tx, market) == [log(market.OwedWithdrawn, token=token.address, account=seller.address, amount=199_000)]
    assert tx.return_value == 199_000
    assert token.balanceOf(seller) == seller_cash + 199_000
    assert market.owed(token, seller) == 0
    assert token.balanceOf(market) == held(market, token, seller, buyer) == 1_000
    with reverts(market.NothingOwed, token=token.address, account=seller.address):
        market.withdrawOwed(token, sender=seller)


def test_a_frozen_buyer_does_not_lock_the_sellers_proceeds(frozen_cash_market, traders, admin, keeper, energy_token):
    market, token, trade = frozen_cash_market
    seller, buyer = traders[0], traders[1]
    token.freeze(buyer, sender=admin)
    energy, cash, seller_cash = energy_token.balanceOf(buyer), token.balanceOf(buyer), token.balanceOf(seller)
    tx = market.settleTransaction(trade, sender=keeper)
    assert tx.events.filter(market.PayoutDeferred) == [
        log(market.PayoutDeferred, token=token.address, account=buyer.address, amount=50_000),  # the refund leg
    ]
    assert token.balanceOf(seller) == seller_cash + 199_000
    assert energy_token.balanceOf(buyer) == energy + 1_000
    assert token.balanceOf(buyer) == cash
    assert token.balanceOf(market) == held(market, token, seller, buyer) == 51_000
    token.unfreeze(buyer, sender=admin)
    market.withdrawOwed(token, sender=buyer)
    assert token.balanceOf(buyer) == cash + 50_000
    assert token.balanceOf(market) == market.accruedFees() == 1_000


def test_a_frozen_buyer_does_not_block_a_void(frozen_cash_market, traders, admin, keeper, energy_token, chain):
    market, token, _ = frozen_cash_market
    seller, buyer = traders[0], traders[1]
    market.setSettlementWindow(600, sender=admin)
    expiry = chain.pending_timestamp + 3_600
    create(market, seller, 1_000, 200_000, SELL, expiry)
    _, (trade,) = crossing(market, buyer, 1_000, 250_000, BUY, expiry)
    token.freeze(buyer, sender=admin)
    energy, cash = energy_token.balanceOf(seller), token.balanceOf(buyer)
    tx = market.voidTransaction(trade, sender=admin)
    assert market_logs(tx, market) == [
        log(
            market.TransactionVoided,
            transactionId=trade,
            operator=admin.address,
            buyer=buyer.address,
            seller=seller.address,
            amountWh=1_000,
            returnedPayment=250_000,
        ),
        log(market.PayoutDeferred, token=token.address, account=buyer.address, amount=250_000),
    ]
    assert energy_token.balanceOf(seller) == energy + 1_000  # the seller's energy is back at once
    assert market.owed(token, buyer) == 250_000
    token.unfreeze(buyer, sender=admin)
    market.withdrawOwed(token, sender=buyer)
    assert token.balanceOf(buyer) == cash + 250_000
    assert market.owed(token, buyer) == 0


def test_a_frozen_energy_leg_waits_for_the_buyer(project, admin, stablecoin, fee_recipient, traders, keeper, chain, funded_market):
    """The same credit for an energy token that freezes accounts: the buyer's Wh wait, the seller is paid."""
    seller, buyer = traders[0], traders[1]
    energy = project.BlacklistToken.deploy(sender=admin)
    market = project.EnergyTrading.deploy(admin, energy, stablecoin, fee_recipient, FEE_BPS, sender=admin)
    energy.mint(seller, 1_000, sender=seller)
    energy.approve(market, 2**256 - 1, sender=seller)
    stablecoin.approve(market, 2**256 - 1, sender=buyer)
    expiry = chain.pending_timestamp + 3_600
    create(market, seller, 1_000, 200_000, SELL, expiry)
    _, (trade,) = crossing(market, buyer, 1_000, 200_000, BUY, expiry)
    energy.freeze(buyer, sender=admin)
    seller_cash = stablecoin.balanceOf(seller)
    tx = market.settleTransaction(trade, sender=keeper)
    assert tx.events.filter(market.PayoutDeferred) == [
        log(market.PayoutDeferred, token=energy.address, account=buyer.address, amount=1_000)
    ]
    assert stablecoin.balanceOf(seller) == seller_cash + 199_000
    assert energy.balanceOf(market) == market.owed(energy, buyer) == 1_000
    energy.unfreeze(buyer, sender=admin)
    market.withdrawOwed(energy, sender=buyer)
    assert energy.balanceOf(buyer) == 1_000
    assert energy.balanceOf(market) == 0


def test_nothing_owed_for_an_unrelated_token(m, stranger, energy_token):
    assert m.owed(stranger, stranger) == 0
    with reverts(m.NothingOwed, token=stranger.address, account=stranger.address):
        m.withdrawOwed(stranger, sender=stranger)  # no call reaches a non-token address
    with reverts(m.NothingOwed, token=energy_token.address, account=stranger.address):
        m.withdrawOwed(energy_token, sender=stranger)


# ----------------------------------------------------------------------------- fees


def test_fee_rounds_down_at_one_unit(m, admin, seller, buyer, keeper, stablecoin, expiry):
    # 1 Wh at 1 unit per kWh costs 0.001 units: the buyer's escrow and payment round up to 1 unit,
    # the fee (0.5 % of 1 unit) rounds down to 0, so the seller gets the whole unit.
    create(m, seller, 1, 1, SELL, expiry)
    _, (trade,) = crossing(m, buyer, 1, 1, BUY, expiry)
    t = m.getTransaction(trade)
    assert (t.payment, t.fee, t.buyerRefund) == (1, 0, 0)
    cash = stablecoin.balanceOf(seller)
    m.settleTransaction(trade, sender=keeper)
    assert stablecoin.balanceOf(seller) == cash + 1
    assert m.accruedFees() == 0
    # At the 10 % cap a fee appears from a payment of 10 units on: floor(9 * 0.1) = 0, floor(10 * 0.1) = 1.
    m.setGridFee(MAX_FEE_BPS, sender=admin)
    sell_id = create(m, seller, 100, 1_000, SELL, expiry)  # 1 unit per Wh
    fees = []
    for amount_wh in (9, 10, 19, 20):
        t = m.getTransaction(m.fillOrder(sell_id, amount_wh, sender=buyer).events.filter(m.OrderTaken)[0].transactionId)
        fees.append((t.payment, t.fee))
    assert fees == [(9, 0), (10, 1), (19, 1), (20, 2)]


@pytest.mark.parametrize("fee_bps", [1, FEE_BPS, 999, MAX_FEE_BPS])
def test_fee_is_exact_at_large_values(project, admin, energy_token, fee_recipient, traders, keeper, chain, fee_bps):
    """A payment token with a mint for anyone lets payments reach ~10^25 base units (12 MWh at the
    price cap, 2^72 - 1 per kWh)."""
    seller, buyer = traders[0], traders[1]
    cash = project.ReentrantToken.deploy(sender=admin)  # never armed here: a plain mintable ERC-20
    market = project.EnergyTrading.deploy(admin, energy_token, cash, fee_recipient, fee_bps, sender=admin)
    energy_token.approve(market, 2**256 - 1, sender=seller)
    cash.approve(market, 2**256 - 1, sender=buyer)
    amount_wh, price = 12_345_679, PRICE_CAP_PER_KWH
    escrow = cost_ceil(amount_wh, price)
    cash.mint(buyer, escrow, sender=buyer)
    expiry = chain.pending_timestamp + 3_600
    create(market, seller, amount_wh, price, SELL, expiry)
    _, (trade,) = crossing(market, buyer, amount_wh, price, BUY, expiry)
    tx = market.settleTransaction(trade, sender=keeper)
    fee = escrow * fee_bps // 10_000
    assert market_logs(tx, market) == [
        log(
            market.TransactionSettled,
            transactionId=trade,
            buyer=buyer.address,
            seller=seller.address,
            amountWh=amount_wh,
            payment=escrow,
            fee=fee,
            buyerRefund=0,
        )
    ]
    assert escrow > 10**25
    assert cash.balanceOf(seller) == escrow - fee
    assert cash.balanceOf(buyer) == 0
    assert cash.balanceOf(market) == market.accruedFees() == fee
    market.withdrawFees(sender=fee_recipient)
    assert cash.balanceOf(fee_recipient) == fee
    assert cash.balanceOf(market) == 0


@pytest.fixture
def fee_heavy_market(project, admin, energy_token, fee_recipient, traders, keeper, chain, funded_market):
    """A market at the 10 % fee cap paid in a token anyone can mint, and `settle()`, which records
    and settles one 1,000 Wh trade at 0.20 (fee 20,000), and `set_accrued(total)`, which writes the
    accrued-fees field in storage and mints what backs it to the market."""
    seller, buyer = traders[0], traders[1]
    cash = project.BlacklistToken.deploy(sender=admin)  # mintable by anyone; nobody frozen here
    market = project.EnergyTrading.deploy(admin, energy_token, cash, fee_recipient, MAX_FEE_BPS, sender=admin)
    energy_token.approve(market, 2**256 - 1, sender=seller)
    cash.approve(market, 2**256 - 1, sender=buyer)
    cash.mint(buyer, 10**12, sender=buyer)
    expiry = chain.pending_timestamp + 3_600

    def trade():
        create(market, seller, 1_000, 200_000, SELL, expiry)
        return crossing(market, buyer, 1_000, 200_000, BUY, expiry)[1][0]

    def storage():
        return [int.from_bytes(chain.provider.get_storage(market.address, s), "big") for s in range(8)]

    # Where the field sits, read off the one slot the first fee changes (the layout packs it).
    first = trade()
    before = storage()
    market.settleTransaction(first, sender=keeper)
    changed = [(s, new - old) for s, (old, new) in enumerate(zip(before, storage())) if old != new]
    assert len(changed) == 1
    slot, delta = changed[0]
    offset = (delta // 20_000).bit_length() - 1
    assert delta == 20_000 << offset

    def set_accrued(total):
        value = storage()[slot] - (market.accruedFees() << offset) + (total << offset)
        cash.mint(market, total - market.accruedFees(), sender=buyer)
        chain.provider.set_storage(market.address, slot, value.to_bytes(32, "big"))
        assert market.accruedFees() == total

    return market, cash, trade, set_accrued


def test_accrued_fees_pass_2_128_base_units(fee_heavy_market, keeper, fee_recipient):
    """Review finding: fees accrued as uint128(fee), so once they passed 2^128 every settlement with
    a fee reverted. One payment is below 2^111 (2^48 Wh at the 2^72 - 1 price cap), so it takes
    ~2.6 million of the largest settlements at 10 % to get there: the test writes a total just
    below 2^128 into storage instead, backed by tokens minted to the market."""
    market, cash, trade, set_accrued = fee_heavy_market
    near = 2**128 - 1
    set_accrued(near)
    tx = market.settleTransaction(trade(), sender=keeper)
    assert tx.events.filter(market.TransactionSettled)[0].fee == 20_000
    assert market.accruedFees() == near + 20_000 > 2**128
    assert cash.balanceOf(market) == market.accruedFees()
    tx = market.withdrawFees(sender=fee_recipient)
    assert tx.return_value == near + 20_000
    assert cash.balanceOf(fee_recipient) == near + 20_000
    assert cash.balanceOf(market) == market.accruedFees() == 0


def test_accrued_fees_beyond_the_field_revert_instead_of_truncating(fee_heavy_market, keeper, fee_recipient):
    """2^160 is out of reach (over 2^53 of the largest settlements without a withdrawal); should it
    be reached, settling reverts and moves nothing rather than losing fees, and withdrawing the
    fees makes room again."""
    market, cash, trade, set_accrued = fee_heavy_market
    top = 2**160 - 1 - 19_999
    set_accrued(top)
    pending = trade()
    held = cash.balanceOf(market)
    with reverts(market.SafeCastOverflowedUintDowncast, bits=160, value=top + 20_000):
        market.settleTransaction(pending, sender=keeper)
    assert cash.balanceOf(market) == held
    assert market.getTransaction(pending).status == PENDING
    market.withdrawFees(sender=fee_recipient)
    market.settleTransaction(pending, sender=keeper)
    assert market.accruedFees() == 20_000


def test_fee_is_fixed_when_the_trade_is_recorded(m, admin, trade, seller, buyer, keeper, expiry):
    tx = m.setGridFee(MAX_FEE_BPS, sender=admin)
    assert tx.events == [log(m.GridFeeUpdated, previousBps=FEE_BPS, newBps=MAX_FEE_BPS)]
    assert m.gridFeeBps() == MAX_FEE_BPS
    assert m.getTransaction(trade).feeBps == FEE_BPS
    m.settleTransaction(trade, sender=keeper)
    assert m.accruedFees() == 1_000  # 0.5 %, as when it matched
    sell_id = create(m, seller, 1_000, 200_000, SELL, expiry)
    later = m.fillOrder(sell_id, 1_000, sender=buyer).events.filter(m.OrderTaken)[0].transactionId
    assert (m.getTransaction(later).feeBps, m.getTransaction(later).fee) == (MAX_FEE_BPS, 20_000)
    with reverts(m.FeeTooHigh, feeBps=MAX_FEE_BPS + 1, maxFeeBps=MAX_FEE_BPS):
        m.setGridFee(MAX_FEE_BPS + 1, sender=admin)
    m.setGridFee(0, sender=admin)
    assert m.gridFeeBps() == 0


def test_fee_recipient_pulls_accrued_fees(m, admin, trade, keeper, fee_recipient, stranger, stablecoin):
    m.settleTransaction(trade, sender=keeper)
    with reverts(m.NotFeeRecipient, caller=stranger.address, feeRecipient=fee_recipient.address):
        m.withdrawFees(sender=stranger)
    m.pause(sender=admin)  # fees already earned stay withdrawable during a pause
    cash = stablecoin.balanceOf(fee_recipient)
    tx = m.withdrawFees(sender=fee_recipient)
    assert market_logs(tx, m) == [log(m.FeesWithdrawn, feeRecipient=fee_recipient.address, amount=1_000)]
    assert tx.events.filter(stablecoin.Transfer) == [transfer(stablecoin, m, fee_recipient, 1_000)]
    assert stablecoin.balanceOf(fee_recipient) == cash + 1_000
    assert m.accruedFees() == 0
    with reverts(m.NoFeesAccrued):
        m.withdrawFees(sender=fee_recipient)


def test_fee_recipient_can_be_replaced(m, admin, trade, keeper, fee_recipient, stranger, stablecoin):
    m.settleTransaction(trade, sender=keeper)
    with reverts(m.InvalidFeeRecipient, feeRecipient=ZERO_ADDRESS):
        m.setFeeRecipient(ZERO_ADDRESS, sender=admin)
    tx = m.setFeeRecipient(stranger, sender=admin)
    assert tx.events == [log(m.FeeRecipientUpdated, previousRecipient=fee_recipient.address, newRecipient=stranger.address)]
    assert m.feeRecipient() == stranger.address
    with reverts(m.NotFeeRecipient, caller=fee_recipient.address, feeRecipient=stranger.address):
        m.withdrawFees(sender=fee_recipient)
    m.withdrawFees(sender=stranger)  # fees accrued before the change go to the new recipient
    assert stablecoin.balanceOf(stranger) == 1_000


@pytest.mark.parametrize(
    ("call", "role"),
    [
        (lambda m, s: m.setGridFee(1, sender=s), DEFAULT_ADMIN_ROLE),
        (lambda m, s: m.setFeeRecipient(s, sender=s), DEFAULT_ADMIN_ROLE),
        (lambda m, s: m.setSettlementWindow(1, sender=s), DEFAULT_ADMIN_ROLE),
        (lambda m, s: m.voidTransaction(1, sender=s), OPERATOR_ROLE),
    ],
    ids=["setGridFee", "setFeeRecipient", "setSettlementWindow", "voidTransaction"],
)
def test_settlement_roles_reject_stranger(market, stranger, call, role):
    with reverts(market.AccessControlUnauthorizedAccount, account=stranger.address, neededRole=role):
        call(market, stranger)


# ----------------------------------------------------------------------------- rounding of BUY escrow


def test_many_tiny_fills_never_take_more_than_the_escrow(m, buyer, dave, keeper, stablecoin, expiry):
    # 3 Wh at 333 per kWh cost 0.999 units: the escrow is 1 unit. Rounding each 1 Wh fill up on
    # its own would charge 3 units; the carried remainder charges 1, 0, 0.
    cash = stablecoin.balanceOf(buyer)
    buy_id = create(m, buyer, 3, 333, BUY, expiry)
    assert stablecoin.balanceOf(buyer) == cash - 1
    trades = [m.fillOrder(buy_id, 1, sender=dave).events.filter(m.OrderTaken)[0].transactionId for _ in range(3)]
    assert [m.getTransaction(t).payment for t in trades] == [1, 0, 0]
    assert [m.getTransaction(t).buyerRefund for t in trades] == [0, 0, 0]
    dave_cash = stablecoin.balanceOf(dave)
    m.settleTransactions(trades, sender=keeper)
    assert stablecoin.balanceOf(dave) == dave_cash + 1
    assert stablecoin.balanceOf(buyer) == cash - 1


def test_escrow_dust_goes_back_with_the_last_fill(m, seller, buyer, keeper, stablecoin, expiry):
    # Seven 1 Wh asks rest at 999; a bid for 7 Wh at 1,001 escrows ceil(7.007) = 8 units.
    asks = [create(m, seller, 1, 999, SELL, expiry) for _ in range(7)]
    cash = stablecoin.balanceOf(buyer)
    buy_id, trades = crossing(m, buyer, 7, 1_001, BUY, expiry)  # takes all seven at once, oldest first
    assert stablecoin.balanceOf(buyer) == cash - 8
    assert [m.getTransaction(t).sellOrderId for t in trades] == asks
    infos = [m.getTransaction(t) for t in trades]
    # Energy cost 7 * 0.999 = 6.993 units: payments 1 each (ceil 0.999, 1.998, ...), improvement
    # 7 * 0.002 = 0.014 rounds to 0, and the 8th escrow unit returns with the filling trade.
    assert [t.payment for t in infos] == [1] * 7
    assert [t.buyerRefund for t in infos] == [0] * 6 + [1]
    assert m.getOrderInfo(buy_id).escrow == 0
    m.settleTransactions(trades, sender=keeper)
    assert stablecoin.balanceOf(buyer) == cash - 7


def test_partial_fill_payments_add_up_exactly(m, seller, buyer, carol, dave, keeper, stablecoin, expiry):
    asks = [
        (create(m, seller, 333, 333_331, SELL, expiry), 333, 333_331),
        (create(m, carol, 333, 300_001, SELL, expiry), 333, 300_001),
        (create(m, dave, 400, 333_333, SELL, expiry), 334, 333_333),
    ]
    cash = stablecoin.balanceOf(buyer)
    buy_price = 333_337
    buy_id, trades = crossing(m, buyer, 1_000, buy_price, BUY, expiry)  # takes all three at once
    escrow = cost_ceil(1_000, buy_price)
    # Best price first: carol's 300,001, then the seller's 333,331, then dave's 333,333.
    asks = [asks[1], asks[0], asks[2]]
    assert [m.getTransaction(t).sellOrderId for t in trades] == [ask_id for ask_id, _, _ in asks]
    infos = [m.getTransaction(t) for t in trades]
    assert [t.amountWh for t in infos] == [wh for _, wh, _ in asks]
    cost_milli = sum(wh * price for _, wh, price in asks)
    improvement_milli = sum(wh * (buy_price - price) for _, wh, price in asks)
    assert sum(t.payment for t in infos) == -(-cost_milli // 1_000)
    assert sum(t.buyerRefund for t in infos) == escrow - -(-cost_milli // 1_000)
    assert sum(t.buyerRefund for t in infos) >= improvement_milli // 1_000
    m.settleTransactions(trades, sender=keeper)
    assert stablecoin.balanceOf(buyer) == cash - -(-cost_milli // 1_000)


# ----------------------------------------------------------------------------- reentrancy


@pytest.fixture
def hostile(project, admin, energy_token, fee_recipient, traders, keeper, chain):
    """A market whose payment token calls back into the market from inside its transfers."""
    seller, buyer = traders[0], traders[1]
    token = project.ReentrantToken.deploy(sender=admin)
    market = project.EnergyTrading.deploy(admin, energy_token, token, fee_recipient, FEE_BPS, sender=admin)
    energy_token.approve(market, 2**256 - 1, sender=seller)
    token.approve(market, 2**256 - 1, sender=buyer)
    token.mint(buyer, 10**12, sender=buyer)
    expiry = chain.pending_timestamp + 3_600
    create(market, seller, 1_000, 200_000, SELL, expiry)
    _, (trade,) = crossing(market, buyer, 1_000, 250_000, BUY, expiry)
    return market, token, trade, expiry


def test_reentrant_settlement_is_refused(hostile, traders, keeper, energy_token):
    market, token, trade, _ = hostile
    seller, buyer = traders[0], traders[1]
    balances = (token.balanceOf(market), token.balanceOf(seller), token.balanceOf(buyer))
    # While paying the seller, the token tries to settle the same trade again (a double payout).
    # The lock refuses the call back; the token's transfer fails with it, so both payment legs
    # wait in the market for their owners instead of blocking the buyer's energy.
    token.arm(market, market.settleTransaction.encode_input(trade), sender=keeper)
    tx = market.settleTransaction(trade, sender=keeper)
    assert tx.events.filter(token.ReentryExecuted) == []
    assert tx.events.filter(market.PayoutDeferred) == [
        log(market.PayoutDeferred, token=token.address, account=seller.address, amount=199_000),
        log(market.PayoutDeferred, token=token.address, account=buyer.address, amount=50_000),
    ]
    assert (token.balanceOf(market), token.balanceOf(seller), token.balanceOf(buyer)) == balances
    assert market.getTransaction(trade).status == SETTLED
    token.arm(ZERO_ADDRESS, b"", sender=keeper)
    market.withdrawOwed(token, sender=seller)
    market.withdrawOwed(token, sender=buyer)
    assert token.balanceOf(seller) == balances[1] + 199_000
    assert token.balanceOf(buyer) == balances[2] + 50_000
    assert token.balanceOf(market) == market.accruedFees() == 1_000


def test_reentry_from_withdraw_owed_is_refused(hostile, traders, keeper):
    market, token, trade, _ = hostile
    seller = traders[0]
    token.arm(market, market.settleTransaction.encode_input(trade), sender=keeper)
    market.settleTransaction(trade, sender=keeper)  # the seller's proceeds wait (above)
    token.arm(market, market.withdrawOwed.encode_input(token), sender=keeper)
    with reverts(market.ReentrancyGuardReentrantCall):
        market.withdrawOwed(token, sender=seller)  # a second withdrawal from inside the first
    assert market.owed(token, seller) == 199_000


@pytest.mark.parametrize("reentry", ["cancelOrder", "withdrawFees", "fillOrder", "createOrder"])
def test_reentry_from_an_escrow_transfer_is_refused(hostile, traders, keeper, reentry):
    market, token, _, expiry = hostile
    buyer = traders[1]
    bid = create(market, buyer, 1_000, 100_000, BUY, expiry)
    calls = {
        "cancelOrder": lambda: market.cancelOrder.encode_input(bid),
        "withdrawFees": lambda: market.withdrawFees.encode_input(),
        "fillOrder": lambda: market.fillOrder.encode_input(bid, 100),
        "createOrder": lambda: market.createOrder.encode_input(1_000, 100_000, expiry, BUY),
    }
    token.arm(market, calls[reentry](), sender=keeper)
    with reverts(market.ReentrancyGuardReentrantCall):
        market.cancelOrder(bid, sender=buyer)  # the refund transfer calls back
    assert market.getOrderInfo(bid).escrow == 100_000


def test_a_call_back_into_matching_is_harmless(hostile, traders, keeper, energy_token):
    """matchOrders moves no tokens, so it has no guard; called from inside a transfer it only books."""
    market, token, trade, expiry = hostile
    seller, buyer = traders[0], traders[1]
    sell_id = create(market, seller, 500, 200_000, SELL, expiry, counterparty=buyer)  # directed: rests
    buy_id = create(market, buyer, 500, 200_000, BUY, expiry)
    token.arm(market, market.matchOrders.encode_input(buy_id, sell_id), sender=keeper)
    tx = market.settleTransaction(trade, sender=keeper)
    assert tx.events.filter(token.ReentryExecuted) == [log(token.ReentryExecuted, target=market.address)]
    assert market.transactionCount() == trade + 1
    assert market.getOrderInfo(buy_id).status == FILLED


# ----------------------------------------------------------------------------- completeness


def test_every_function_event_and_error_is_exercised(market):
    """The market's ABI, item by item, is named in test_energy_trading.py or in this module."""
    kinds = ("function", "event", "error")
    exempt = {
        "SafeERC20FailedOperation",  # only a token that returns false raises it; both tokens revert instead
        "RoleAdminChanged",  # no role admin is ever changed
    }
    trading = Path(__file__).with_name("test_energy_trading.py")
    missing = set(unexercised_abi_items(market, str(trading), kinds, exempt))
    missing &= set(unexercised_abi_items(market, __file__, kinds, exempt))
    assert missing == set()

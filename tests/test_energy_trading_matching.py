"""EnergyTrading: matching a buy with a sell (matchOrders), taker fills (accept an
offer) and directed offers (create a trade / complete it).

Every custom error is asserted with all of its arguments and every market event with all of its
fields (`reverts` and `log` from support/helpers.py make ape's subset checks exhaustive); shared helpers
are in support/market_helpers.py, the market's fixtures in conftest.py.
"""

from __future__ import annotations

import pytest
from eth_utils import to_checksum_address

from support.bulk_helpers import Bulk
from support.helpers import (
    ZERO_ADDRESS,
    log,
    reverts,
)
from support.market_helpers import (
    ACTIVE,
    BUY,
    CANCELLED,
    FEE_BPS,
    FILLED,
    PENDING,
    PRICE,
    SELL,
    create,
    market_logs,
    matched,
)


@pytest.fixture(scope="module", autouse=True)
def _deployed_first(funded_market, keeper, fee_recipient, stranger, admin):
    """Deploy and fund the market, and name the accounts, before any test's own state (ape isolation)."""


# ----------------------------------------------------------------------------- matchOrders


def test_match_executes_at_the_resting_sell_price_and_moves_no_tokens(m, seller, buyer, keeper, chain, wallets, expiry):
    # A directed offer stays off the index, so the crossing bid rests until someone matches them.
    sell_id = create(m, seller, 1_000, 200_000, SELL, expiry, counterparty=buyer)
    buy_id = create(m, buyer, 1_000, 250_000, BUY, expiry)
    before = wallets.read()
    tx = m.matchOrders(buy_id, sell_id, sender=keeper)
    assert tx.events == [
        log(m.OrdersMatched, transactionId=1, buyOrderId=buy_id, sellOrderId=sell_id, amountWh=1_000, pricePerKWh=200_000)
    ]
    assert wallets.read() == before  # matching only books
    assert m.getOrderInfo(buy_id).status == FILLED
    assert m.getOrderInfo(sell_id).status == FILLED
    assert m.getOrderInfo(buy_id).filledAmount == m.getOrderInfo(sell_id).filledAmount == 1_000
    t = m.getTransaction(1)
    assert tuple(t) == (
        buyer.address,
        seller.address,
        buy_id,
        sell_id,
        1_000,
        200_000,
        200_000,  # payment
        1_000,  # fee: 0.5 % of 200,000
        50_000,  # price improvement back to the buyer
        PENDING,
        tx.timestamp,
        FEE_BPS,
    )
    assert m.transactionCount() == 1


def test_match_executes_at_the_resting_buy_price(m, seller, buyer, keeper, expiry):
    buy_id = create(m, buyer, 1_000, 250_000, BUY, expiry, counterparty=seller)
    sell_id = create(m, seller, 1_000, 200_000, SELL, expiry)
    tx = m.matchOrders(buy_id, sell_id, sender=keeper)
    assert tx.events == [
        log(m.OrdersMatched, transactionId=1, buyOrderId=buy_id, sellOrderId=sell_id, amountWh=1_000, pricePerKWh=250_000)
    ]
    t = m.getTransaction(1)
    assert (t.pricePerKWh, t.payment, t.buyerRefund) == (250_000, 250_000, 0)


def test_partial_fills_across_several_orders(m, seller, buyer, carol, dave, keeper, expiry):
    buy_id = create(m, buyer, 1_000, 300_000, BUY, expiry)
    # Offers directed to the buyer: off the index, matched by a keeper.
    s1 = create(m, seller, 300, 250_000, SELL, expiry, counterparty=buyer)
    s2 = create(m, carol, 500, 280_000, SELL, expiry, counterparty=buyer)
    s3 = create(m, dave, 400, 290_000, SELL, expiry, counterparty=buyer)
    fills = []
    for sell_id in (s1, s2, s3):
        tx = m.matchOrders(buy_id, sell_id, sender=keeper)
        fills.append(tuple(tx.events.filter(m.OrdersMatched)[0].event_arguments.values()))
    assert fills == [
        (1, buy_id, s1, 300, 300_000),
        (2, buy_id, s2, 500, 300_000),
        (3, buy_id, s3, 200, 300_000),
    ]
    buy = m.getOrderInfo(buy_id)
    assert (buy.filledAmount, buy.status, buy.escrow) == (1_000, FILLED, 0)
    assert [m.getOrderInfo(i).status for i in (s1, s2, s3)] == [FILLED, FILLED, ACTIVE]
    s3_info = m.getOrderInfo(s3)
    assert (s3_info.filledAmount, s3_info.escrow) == (200, 200)
    # The rest of s3 goes to a later, higher bid at s3's (resting) price.
    buy2 = create(m, buyer, 500, 310_000, BUY, expiry)
    tx = m.matchOrders(buy2, s3, sender=keeper)
    assert tx.events == [
        log(m.OrdersMatched, transactionId=4, buyOrderId=buy2, sellOrderId=s3, amountWh=200, pricePerKWh=290_000)
    ]
    assert m.getOrderInfo(s3).status == FILLED
    assert (m.getOrderInfo(buy2).filledAmount, m.getOrderInfo(buy2).status) == (200, ACTIVE)
    with reverts(m.OrderNotActive, orderId=buy_id, status=FILLED):
        m.matchOrders(buy_id, s3, sender=keeper)


def test_match_rejections(m, admin, seller, buyer, carol, keeper, chain, wallets, expiry):
    sell_id = create(m, seller, 1_000, 200_000, SELL, expiry, counterparty=buyer)
    buy_id = create(m, buyer, 1_000, 250_000, BUY, expiry)
    low_bid = create(m, carol, 1_000, 199_999, BUY, expiry)
    own_bid = create(m, seller, 1_000, 250_000, BUY, expiry)
    cancelled_bid = create(m, carol, 1_000, 250_000, BUY, expiry)
    m.cancelOrder(cancelled_bid, sender=carol)
    before = wallets.read()
    with reverts(m.OrderUnknown, orderId=77):
        m.matchOrders(77, sell_id, sender=keeper)
    with reverts(m.OrderUnknown, orderId=78):
        m.matchOrders(buy_id, 78, sender=keeper)
    with reverts(m.WrongOrderType, orderId=sell_id, expected=BUY):
        m.matchOrders(sell_id, buy_id, sender=keeper)
    with reverts(m.WrongOrderType, orderId=low_bid, expected=SELL):
        m.matchOrders(buy_id, low_bid, sender=keeper)
    with reverts(m.PricesDoNotCross, buyPricePerKWh=199_999, sellPricePerKWh=200_000):
        m.matchOrders(low_bid, sell_id, sender=keeper)
    with reverts(m.SelfTrade, trader=seller.address):
        m.matchOrders(own_bid, sell_id, sender=keeper)
    m.pause(sender=admin)
    with reverts(m.EnforcedPause):
        m.matchOrders(buy_id, sell_id, sender=keeper)
    m.unpause(sender=admin)
    with reverts(m.OrderNotActive, orderId=cancelled_bid, status=CANCELLED):
        m.matchOrders(cancelled_bid, sell_id, sender=keeper)
    assert wallets.read() == before
    assert m.transactionCount() == 0


# ----------------------------------------------------------------------------- fillOrder (taker)


def test_taker_fills_a_sell_order_paying_in_the_same_transaction(m, seller, carol, stablecoin, wallets, expiry):
    sell_id = create(m, seller, 1_000, 250_000, SELL, expiry)
    before = wallets.read()
    tx = m.fillOrder(sell_id, 400, sender=carol)
    assert market_logs(tx, m) == [
        log(m.OrderTaken, transactionId=1, orderId=sell_id, taker=carol.address, amountWh=400, pricePerKWh=250_000)
    ]
    assert tx.events.filter(stablecoin.Transfer) == []  # taken from the vault balance
    after = wallets.read()
    assert after[carol.address][1] == before[carol.address][1] - 100_000
    assert after[m.address][1] == before[m.address][1] + 100_000
    t = m.getTransaction(1)
    assert tuple(t) == (carol.address, seller.address, 0, sell_id, 400, 250_000, 100_000, 500, 0, PENDING, tx.timestamp, FEE_BPS)
    info = m.getOrderInfo(sell_id)
    assert (info.filledAmount, info.status, info.escrow) == (400, ACTIVE, 600)
    tx = m.fillOrder(sell_id, 600, sender=carol)
    assert tx.events.filter(m.OrderTaken)[0].transactionId == 2
    assert m.getOrderInfo(sell_id).status == FILLED


def test_taker_fills_a_buy_order_delivering_energy(m, buyer, dave, energy_token, wallets, expiry):
    buy_id = create(m, buyer, 1_000, 250_000, BUY, expiry)
    before = wallets.read()
    tx = m.fillOrder(buy_id, 1_000, sender=dave)
    assert market_logs(tx, m) == [
        log(m.OrderTaken, transactionId=1, orderId=buy_id, taker=dave.address, amountWh=1_000, pricePerKWh=250_000)
    ]
    assert tx.events.filter(energy_token.Transfer) == []  # taken from the vault balance
    after = wallets.read()
    assert after[dave.address][0] == before[dave.address][0] - 1_000
    assert after[dave.address][1] == before[dave.address][1]
    t = m.getTransaction(1)
    assert (t.buyer, t.seller, t.buyOrderId, t.sellOrderId, t.payment, t.buyerRefund) == (
        buyer.address,
        dave.address,
        buy_id,
        0,
        250_000,
        0,
    )
    assert m.getOrderInfo(buy_id).status == FILLED


def test_fill_rejections(m, vault, admin, seller, buyer, carol, stranger, energy_token, stablecoin, wallets, expiry):
    m.setMinOrderAmount(100, sender=admin)
    sell_id = create(m, seller, 1_000, PRICE, SELL, expiry)
    buy_id = create(m, buyer, 1_000, PRICE // 2, BUY, expiry)  # below the ask: both rest
    energy_token.approve(vault, 2**256 - 1, sender=stranger)
    stablecoin.approve(vault, 2**256 - 1, sender=stranger)
    before = wallets.read()
    with reverts(vault.MarketNotApproved, account=stranger.address, market=m.address):
        m.fillOrder(sell_id, 100, sender=stranger)
    vault.setMarketApproval(m, True, sender=stranger)
    with reverts(m.ZeroAmount):
        m.fillOrder(sell_id, 0, sender=carol)
    with reverts(m.FillExceedsRemaining, orderId=sell_id, amountWh=1_001, remainingWh=1_000):
        m.fillOrder(sell_id, 1_001, sender=carol)
    with reverts(m.FillBelowMinimum, amountWh=99, minAmountWh=100):
        m.fillOrder(sell_id, 99, sender=carol)
    with reverts(m.SelfTrade, trader=seller.address):
        m.fillOrder(sell_id, 100, sender=seller)
    with reverts(m.OrderUnknown, orderId=55):
        m.fillOrder(55, 100, sender=carol)
    with reverts(stablecoin.ERC20InsufficientBalance, sender=stranger.address, balance=0, needed=20_000):
        m.fillOrder(sell_id, 100, sender=stranger)
    with reverts(energy_token.ERC20InsufficientBalance, sender=stranger.address, balance=0, needed=100):
        m.fillOrder(buy_id, 100, sender=stranger)
    m.pause(sender=admin)
    with reverts(m.EnforcedPause):
        m.fillOrder(sell_id, 100, sender=carol)
    m.unpause(sender=admin)
    assert wallets.read() == before
    # A fill below the minimum is fine when it takes the whole rest.
    m.fillOrder(sell_id, 950, sender=carol)
    m.fillOrder(sell_id, 50, sender=carol)
    with reverts(m.OrderNotActive, orderId=sell_id, status=FILLED):
        m.fillOrder(sell_id, 1, sender=carol)


# ----------------------------------------------------------------------------- directed offers


def test_directed_sell_trades_only_with_its_counterparty(m, seller, carol, dave, keeper, expiry):
    # Creating a trade: the producer names the consumer.
    tx = m.createDirectedOrder(1_000, PRICE, expiry, SELL, carol, sender=seller)
    sell_id = tx.events.filter(m.OrderCreated)[0].orderId
    assert market_logs(tx, m) == [
        log(
            m.OrderCreated,
            orderId=sell_id,
            trader=seller.address,
            orderType=SELL,
            amountWh=1_000,
            pricePerKWh=PRICE,
            expiry=expiry,
            counterparty=carol.address,
        )
    ]
    assert m.getOrderInfo(sell_id).counterparty == carol.address
    with reverts(m.NotCounterparty, orderId=sell_id, account=dave.address):
        m.fillOrder(sell_id, 500, sender=dave)
    dave_bid = create(m, dave, 1_000, PRICE, BUY, expiry)
    with reverts(m.NotCounterparty, orderId=sell_id, account=dave.address):
        m.matchOrders(dave_bid, sell_id, sender=keeper)
    # Completing it: the named consumer takes it, by fill or with an order of theirs.
    m.fillOrder(sell_id, 500, sender=carol)
    carol_bid = create(m, carol, 500, PRICE, BUY, expiry)
    matched(m, carol_bid, sell_id, keeper)
    assert m.getOrderInfo(sell_id).status == FILLED


def test_directed_buy_trades_only_with_its_counterparty(m, seller, buyer, carol, keeper, expiry):
    buy_id = create(m, buyer, 1_000, PRICE, BUY, expiry, counterparty=seller)
    assert m.getOrderInfo(buy_id).counterparty == seller.address
    carol_ask = create(m, carol, 1_000, PRICE, SELL, expiry)
    with reverts(m.NotCounterparty, orderId=buy_id, account=carol.address):
        m.matchOrders(buy_id, carol_ask, sender=keeper)
    with reverts(m.NotCounterparty, orderId=buy_id, account=carol.address):
        m.fillOrder(buy_id, 1_000, sender=carol)
    seller_ask = create(m, seller, 1_000, PRICE, SELL, expiry)
    assert matched(m, buy_id, seller_ask, keeper) == 1


def test_accounts_sharing_the_low_bits_of_their_address_get_trader_indexes_of_their_own(m, seller, chain, expiry):
    """A trader index is the low 31 bits of the address unless another account holds that index
    (or it is 0): then the account is given one in sequence. A directed order naming an account
    gives it its index; each account's address and nonce stay its own."""
    # Own index 7 twice, and an address whose low 31 bits are 0.
    suffixes = (("aa", "00000007"), ("bb", "00000007"), ("cc", "80000000"))
    first, second, zero_bits = (to_checksum_address(f"0x{prefix * 16}{low}") for prefix, low in suffixes)
    ids = [create(m, seller, 1_000, PRICE, SELL, expiry, counterparty=account) for account in (first, second, zero_bits)]
    assert [m.getOrderInfo(order_id).counterparty for order_id in ids] == [first, second, zero_bits]
    bulk = Bulk(chain)
    bulk.set_balance([first, second, zero_bits], 10**18)
    with bulk.impersonating([first, second, zero_bits]):
        for account, nonce in ((second, 5), (zero_bits, 9), (first, 3)):
            bulk.send(account, m, "invalidateNonces", nonce)
    assert [m.nonces(account) for account in (first, second, zero_bits)] == [3, 5, 9]
    assert [m.getOrderInfo(order_id).counterparty for order_id in ids] == [first, second, zero_bits]


def test_create_directed_order_rejects_invalid_counterparty(m, seller, expiry):
    with reverts(m.InvalidCounterparty, counterparty=ZERO_ADDRESS):
        m.createDirectedOrder(1_000, PRICE, expiry, SELL, ZERO_ADDRESS, sender=seller)
    with reverts(m.InvalidCounterparty, counterparty=seller.address):
        m.createDirectedOrder(1_000, PRICE, expiry, SELL, seller, sender=seller)

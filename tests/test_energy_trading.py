"""EnergyTrading: orders and their escrow, matching, taker fills, directed offers, expiry,
paging, energy balance, bounds and pause (gas is measured by `make bench`).

Every custom error is asserted with all of its arguments and every market event with all of its
fields (`reverts` and `log` below make ape's subset checks exhaustive). Settlement payouts are in
test_settlement.py; random sequences in test_market_properties.py.
"""

from __future__ import annotations

from contextlib import contextmanager

import ape
import pytest
from ape.exceptions import CustomError
from helpers import (
    DEFAULT_ADMIN_ROLE,
    ZERO_ADDRESS,
    deploy_reverts,
    error_data,
    log,
    reverts,
    role,
)
from hexbytes import HexBytes
from market_helpers import (
    ACTIVE,
    BUY,
    CANCELLED,
    FEE_BPS,
    FILLED,
    OPERATOR_ROLE,
    PENDING,
    SELL,
    Wallets,
    cost_ceil,
    create,
    market_logs,
    matched,
)

PAUSER_ROLE = role("PAUSER_ROLE")
MAX_ORDER_AMOUNT_WH = 2**48 - 1
PRICE_CAP_PER_KWH = 2**72 - 1
MAX_ORDER_LIFETIME = 365 * 86_400
MAX_PAGE_SIZE = 100
PRICE = 200_000  # 0.20 mUSD per kWh (6 decimals)


# ----------------------------------------------------------------------------- helpers


# ----------------------------------------------------------------------------- fixtures


@pytest.fixture(scope="module", autouse=True)
def _deployed_first(funded_market, keeper, fee_recipient, stranger, admin):
    """Deploy and fund the market, and name the accounts, before any test's own state (ape isolation)."""


@pytest.fixture
def wallets(m, energy_token, stablecoin, traders, keeper, fee_recipient, stranger):
    return Wallets(m, energy_token, stablecoin, *traders, keeper, fee_recipient, stranger)


# ----------------------------------------------------------------------------- wiring


def test_constants_and_wiring(market, admin, energy_token, stablecoin, fee_recipient):
    assert market.OPERATOR_ROLE() == OPERATOR_ROLE
    assert market.PAUSER_ROLE() == PAUSER_ROLE
    assert market.DEFAULT_ADMIN_ROLE() == DEFAULT_ADMIN_ROLE
    assert market.MAX_ORDER_AMOUNT_WH() == MAX_ORDER_AMOUNT_WH
    assert market.PRICE_CAP_PER_KWH() == PRICE_CAP_PER_KWH
    assert market.MAX_ORDER_LIFETIME() == MAX_ORDER_LIFETIME
    assert market.MAX_PAGE_SIZE() == MAX_PAGE_SIZE
    assert market.MAX_FEE_BPS() == 1_000
    assert market.MAX_SETTLEMENT_WINDOW() == 7 * 86_400
    assert market.MAX_SETTLEMENT_BATCH() == 50
    for role in (DEFAULT_ADMIN_ROLE, OPERATOR_ROLE, PAUSER_ROLE):
        assert market.hasRole(role, admin)
    assert market.energyToken() == energy_token.address
    assert market.paymentToken() == stablecoin.address
    assert market.feeRecipient() == fee_recipient.address
    assert market.gridFeeBps() == FEE_BPS
    assert market.settlementWindow() == 0
    assert market.minOrderAmount() == 1
    assert market.maxPrice() == PRICE_CAP_PER_KWH
    assert market.orderCount() == 0
    assert market.transactionCount() == 0
    assert market.accruedFees() == 0
    assert not market.paused()
    assert market.supportsInterface("0x7965db0b")  # IAccessControl


@pytest.mark.parametrize(
    ("args", "error", "error_args"),
    [
        (lambda a, e, s, f: (ZERO_ADDRESS, e, s, f, 0), lambda c: c.ZeroAddress, ()),
        (lambda a, e, s, f: (a, ZERO_ADDRESS, s, f, 0), lambda c: c.ZeroAddress, ()),
        (lambda a, e, s, f: (a, e, ZERO_ADDRESS, f, 0), lambda c: c.ZeroAddress, ()),
        (lambda a, e, s, f: (a, e, s, ZERO_ADDRESS, 0), lambda c: c.InvalidFeeRecipient, (ZERO_ADDRESS,)),
        (lambda a, e, s, f: (a, e, s, f, 1_001), lambda c: c.FeeTooHigh, (1_001, 1_000)),
    ],
    ids=["admin", "energyToken", "paymentToken", "feeRecipient", "feeBps"],
)
def test_constructor_rejects_bad_arguments(project, admin, energy_token, stablecoin, fee_recipient, args, error, error_args):
    container = project.EnergyTrading
    with deploy_reverts(error(container), *error_args):
        container.deploy(*args(admin, energy_token, stablecoin, fee_recipient), sender=admin)


def test_constructor_accepts_the_maximum_fee(project, admin, energy_token, stablecoin, fee_recipient):
    market = project.EnergyTrading.deploy(admin, energy_token, stablecoin, fee_recipient, 1_000, sender=admin)
    assert market.gridFeeBps() == 1_000


def test_access_control_surface(market, admin, other, stranger):
    assert market.getRoleAdmin(OPERATOR_ROLE) == DEFAULT_ADMIN_ROLE
    assert market.getRoleAdmin(PAUSER_ROLE) == DEFAULT_ADMIN_ROLE
    tx = market.grantRole(OPERATOR_ROLE, other, sender=admin)
    assert tx.events == [log(market.RoleGranted, role=OPERATOR_ROLE, account=other.address, sender=admin.address)]
    with reverts(market.AccessControlBadConfirmation):
        market.renounceRole(OPERATOR_ROLE, stranger, sender=other)
    tx = market.renounceRole(OPERATOR_ROLE, other, sender=other)
    assert tx.events == [log(market.RoleRevoked, role=OPERATOR_ROLE, account=other.address, sender=other.address)]
    tx = market.revokeRole(PAUSER_ROLE, admin, sender=admin)
    assert tx.events == [log(market.RoleRevoked, role=PAUSER_ROLE, account=admin.address, sender=admin.address)]
    assert not market.hasRole(PAUSER_ROLE, admin)
    with reverts(market.AccessControlUnauthorizedAccount, account=admin.address, neededRole=PAUSER_ROLE):
        market.pause(sender=admin)


@pytest.mark.parametrize(
    ("call", "role"),
    [
        (lambda m, s: m.setMinOrderAmount(10, sender=s), DEFAULT_ADMIN_ROLE),
        (lambda m, s: m.setMaxPrice(10, sender=s), DEFAULT_ADMIN_ROLE),
        (lambda m, s: m.pause(sender=s), PAUSER_ROLE),
        (lambda m, s: m.unpause(sender=s), DEFAULT_ADMIN_ROLE),
        (lambda m, s: m.grantRole(OPERATOR_ROLE, s, sender=s), DEFAULT_ADMIN_ROLE),
    ],
    ids=["setMinOrderAmount", "setMaxPrice", "pause", "unpause", "grantRole"],
)
def test_role_restricted_functions_reject_stranger(market, stranger, call, role):
    with reverts(market.AccessControlUnauthorizedAccount, account=stranger.address, neededRole=role):
        call(market, stranger)


# ----------------------------------------------------------------------------- createOrder


def test_create_sell_order_escrows_its_energy(m, seller, energy_token, wallets, expiry):
    before = wallets.read()
    tx = m.createOrder(2_500, PRICE, expiry, SELL, sender=seller)
    assert market_logs(tx, m) == [
        log(
            m.OrderCreated,
            orderId=1,
            trader=seller.address,
            orderType=SELL,
            amountWh=2_500,
            pricePerKWh=PRICE,
            expiry=expiry,
            counterparty=ZERO_ADDRESS,
        )
    ]
    assert tx.events.filter(energy_token.Transfer) == [
        log(energy_token.Transfer, **{"from": seller.address, "to": m.address, "value": 2_500})
    ]
    after = wallets.read()
    assert after[seller.address][0] == before[seller.address][0] - 2_500
    assert after[m.address][0] == before[m.address][0] + 2_500
    assert after[seller.address][1] == before[seller.address][1]

    assert tuple(m.getOrder(1)) == (seller.address, 2_500, PRICE, expiry, SELL, ACTIVE)
    info = m.getOrderInfo(1)
    assert tuple(info) == (1, seller.address, 2_500, 0, PRICE, expiry, SELL, ACTIVE, ZERO_ADDRESS, 0, 2_500)
    assert m.orderCount() == 1
    assert m.latestOrderOf(seller) == 1
    assert m.escrowedEnergyOf(seller) == 2_500
    # Escrowed energy is still the seller's: seed 003 get-energy-balance counts it.
    assert m.getEnergyBalance(seller) == before[seller.address][0]


def test_create_buy_order_escrows_payment_rounded_up(m, buyer, stablecoin, wallets, expiry):
    before = wallets.read()
    # 1,001 Wh at 999 per kWh cost 999.999 units: the escrow rounds up to 1,000.
    tx = m.createOrder(1_001, 999, expiry, BUY, sender=buyer)
    assert market_logs(tx, m) == [
        log(
            m.OrderCreated,
            orderId=1,
            trader=buyer.address,
            orderType=BUY,
            amountWh=1_001,
            pricePerKWh=999,
            expiry=expiry,
            counterparty=ZERO_ADDRESS,
        )
    ]
    after = wallets.read()
    assert after[buyer.address][1] == before[buyer.address][1] - 1_000
    assert after[m.address][1] == before[m.address][1] + 1_000
    assert after[buyer.address][0] == before[buyer.address][0]
    assert m.getOrderInfo(1).escrow == 1_000
    assert m.escrowedEnergyOf(buyer) == 0


def test_order_ids_link_each_traders_previous_order(m, seller, buyer, expiry):
    first = create(m, seller, 1_000, PRICE, SELL, expiry)
    create(m, buyer, 1_000, PRICE, BUY, expiry)
    second = create(m, seller, 1_000, PRICE, BUY, expiry)
    assert (first, second) == (1, 3)
    assert m.getOrderInfo(second).previousOrderId == first
    assert m.getOrderInfo(first).previousOrderId == 0
    assert m.latestOrderOf(seller) == second
    assert m.latestOrderOf(buyer) == 2


@pytest.mark.parametrize(
    ("amount", "price", "expiry_offset", "error", "inputs"),
    [
        (0, PRICE, 3_600, lambda m: m.ZeroAmount, {}),
        (99, PRICE, 3_600, lambda m: m.AmountBelowMinimum, {"amountWh": 99, "minAmountWh": 100}),
        (2**48, PRICE, 3_600, lambda m: m.AmountAboveMaximum, {"amountWh": 2**48, "maxAmountWh": MAX_ORDER_AMOUNT_WH}),
        (1_000, 0, 3_600, lambda m: m.ZeroPrice, {}),
        (1_000, 500_001, 3_600, lambda m: m.PriceAboveMaximum, {"pricePerKWh": 500_001, "maxPricePerKWh": 500_000}),
        (1_000, PRICE, 0, lambda m: m.ExpiryNotInFuture, {"expiry": "now", "blockTimestamp": "now"}),
        (1_000, PRICE, -1, lambda m: m.ExpiryNotInFuture, {"expiry": "now-1", "blockTimestamp": "now"}),
        (1_000, PRICE, MAX_ORDER_LIFETIME + 1, lambda m: m.ExpiryTooFar, {"expiry": "far", "latestExpiry": "latest"}),
    ],
    ids=["zero", "below-min", "above-max", "zero-price", "above-max-price", "expiry-now", "expiry-past", "too-far"],
)
@pytest.mark.parametrize("order_type", [BUY, SELL], ids=["buy", "sell"])
def test_create_order_rejects_bad_terms(
    m, admin, seller, chain, wallets, order_type, amount, price, expiry_offset, error, inputs
):
    m.setMinOrderAmount(100, sender=admin)
    m.setMaxPrice(500_000, sender=admin)
    before = wallets.read()
    now = chain.pending_timestamp + 10
    chain.pending_timestamp = now
    expiry = now + expiry_offset
    names = {"now": now, "now-1": now - 1, "far": expiry, "latest": now + MAX_ORDER_LIFETIME}
    resolved = {k: names.get(v, v) if isinstance(v, str) else v for k, v in inputs.items()}
    with reverts(error(m), **resolved):
        m.createOrder(amount, price, expiry, order_type, sender=seller)
    assert wallets.read() == before
    assert m.orderCount() == 0


def test_create_order_at_the_bounds(m, admin, seller, chain):
    m.setMinOrderAmount(100, sender=admin)
    m.setMaxPrice(500_000, sender=admin)
    now = chain.pending_timestamp + 10
    chain.pending_timestamp = now
    create(m, seller, 100, 500_000, SELL, now + MAX_ORDER_LIFETIME)
    now = chain.pending_timestamp + 10
    chain.pending_timestamp = now
    create(m, seller, 100, 1, BUY, now + 1)
    assert m.orderCount() == 2


def test_nobody_sells_energy_or_spends_money_they_do_not_have(m, seller, stranger, energy_token, stablecoin, wallets, expiry):
    energy_token.approve(m, 2**256 - 1, sender=stranger)
    stablecoin.approve(m, 2**256 - 1, sender=stranger)
    before = wallets.read()
    with reverts(m.InsufficientEnergyBalance, account=stranger.address, requiredWh=1_000, availableWh=0):
        m.createOrder(1_000, PRICE, expiry, SELL, sender=stranger)
    with reverts(m.InsufficientPaymentBalance, account=stranger.address, required=200_000, available=0):
        m.createOrder(1_000, PRICE, expiry, BUY, sender=stranger)
    have = energy_token.balanceOf(seller)
    with reverts(m.InsufficientEnergyBalance, account=seller.address, requiredWh=have + 1, availableWh=have):
        m.createOrder(have + 1, PRICE, expiry, SELL, sender=seller)
    assert wallets.read() == before


def test_create_order_needs_an_approval(m, seller, stranger, energy_token, expiry):
    energy_token.transfer(stranger, 1_000, sender=seller)
    with reverts(energy_token.ERC20InsufficientAllowance, spender=m.address, allowance=0, needed=1_000):
        m.createOrder(1_000, PRICE, expiry, SELL, sender=stranger)


# ----------------------------------------------------------------------------- cancel and expiry


@pytest.mark.parametrize(("order_type", "token_index", "escrow"), [(SELL, 0, 1_000), (BUY, 1, 200_000)], ids=["sell", "buy"])
def test_cancel_order_refunds_its_escrow(m, seller, wallets, expiry, order_type, token_index, escrow):
    before = wallets.read()
    order_id = create(m, seller, 1_000, PRICE, order_type, expiry)
    tx = m.cancelOrder(order_id, sender=seller)
    assert market_logs(tx, m) == [
        log(m.OrderCancelled, orderId=order_id, trader=seller.address, unfilledWh=1_000, refundedEscrow=escrow)
    ]
    assert wallets.read() == before
    info = m.getOrderInfo(order_id)
    assert (info.status, info.escrow, info.filledAmount) == (CANCELLED, 0, 0)
    assert m.getOrder(order_id).status == CANCELLED
    assert m.escrowedEnergyOf(seller) == 0


def test_cancel_partly_filled_buy_refunds_the_unspent_escrow(m, seller, buyer, stablecoin, expiry):
    buy_id = create(m, buyer, 1_000, 300_000, BUY, expiry)  # escrow 300,000
    create(m, seller, 400, 250_000, SELL, expiry)  # crosses at once: 400 Wh at the resting buy's 300,000
    assert m.getOrderInfo(buy_id).escrow == 180_000
    cash = stablecoin.balanceOf(buyer)
    tx = m.cancelOrder(buy_id, sender=buyer)
    assert market_logs(tx, m) == [
        log(m.OrderCancelled, orderId=buy_id, trader=buyer.address, unfilledWh=600, refundedEscrow=180_000)
    ]
    assert stablecoin.balanceOf(buyer) == cash + 180_000
    info = m.getOrderInfo(buy_id)
    assert (info.status, info.filledAmount, info.escrow) == (CANCELLED, 400, 0)


def test_cancel_partly_filled_sell_refunds_the_unsold_energy(m, seller, buyer, energy_token, expiry):
    sell_id = create(m, seller, 1_000, PRICE, SELL, expiry)
    create(m, buyer, 300, PRICE, BUY, expiry)  # crosses at once
    energy = energy_token.balanceOf(seller)
    tx = m.cancelOrder(sell_id, sender=seller)
    assert market_logs(tx, m) == [
        log(m.OrderCancelled, orderId=sell_id, trader=seller.address, unfilledWh=700, refundedEscrow=700)
    ]
    assert energy_token.balanceOf(seller) == energy + 700


def test_cancel_order_rejections(m, seller, buyer, wallets, expiry):
    sell_id = create(m, seller, 1_000, PRICE, SELL, expiry)
    before = wallets.read()
    with reverts(m.OrderUnknown, orderId=99):
        m.cancelOrder(99, sender=seller)
    with reverts(m.OrderUnknown, orderId=0):
        m.cancelOrder(0, sender=seller)
    with reverts(m.NotOrderTrader, orderId=sell_id, caller=buyer.address):
        m.cancelOrder(sell_id, sender=buyer)
    assert wallets.read() == before
    create(m, buyer, 1_000, PRICE, BUY, expiry)  # fills the sell at once
    with reverts(m.OrderNotActive, orderId=sell_id, status=FILLED):
        m.cancelOrder(sell_id, sender=seller)
    other_id = create(m, seller, 1_000, PRICE, SELL, expiry)
    m.cancelOrder(other_id, sender=seller)
    with reverts(m.OrderNotActive, orderId=other_id, status=CANCELLED):
        m.cancelOrder(other_id, sender=seller)


def test_trader_may_cancel_an_expired_order(m, seller, chain, energy_token):
    expiry = chain.pending_timestamp + 100
    order_id = create(m, seller, 1_000, PRICE, SELL, expiry)
    chain.pending_timestamp = expiry + 50
    energy = energy_token.balanceOf(seller)
    m.cancelOrder(order_id, sender=seller)
    assert energy_token.balanceOf(seller) == energy + 1_000


@pytest.mark.parametrize(("order_type", "escrow"), [(SELL, 1_000), (BUY, 200_000)], ids=["sell", "buy"])
def test_anyone_releases_an_expired_orders_escrow_to_its_owner(m, seller, stranger, chain, wallets, order_type, escrow):
    before = wallets.read()
    expiry = chain.pending_timestamp + 100
    order_id = create(m, seller, 1_000, PRICE, order_type, expiry)
    chain.pending_timestamp = expiry - 1
    with reverts(m.OrderNotExpired, orderId=order_id, expiry=expiry):
        m.releaseExpiredOrder(order_id, sender=stranger)
    chain.pending_timestamp = expiry  # expired from its expiry second on
    tx = m.releaseExpiredOrder(order_id, sender=stranger)
    assert market_logs(tx, m) == [
        log(
            m.ExpiredOrderReleased,
            orderId=order_id,
            trader=seller.address,
            releasedBy=stranger.address,
            unfilledWh=1_000,
            refundedEscrow=escrow,
        )
    ]
    assert wallets.read() == before
    assert m.getOrderInfo(order_id).status == CANCELLED
    with reverts(m.OrderNotActive, orderId=order_id, status=CANCELLED):
        m.releaseExpiredOrder(order_id, sender=stranger)
    with reverts(m.OrderUnknown, orderId=order_id + 1):
        m.releaseExpiredOrder(order_id + 1, sender=stranger)


def test_expired_orders_cannot_trade(m, seller, buyer, carol, keeper, chain, wallets):
    expiry = chain.pending_timestamp + 100
    sell_id = create(m, seller, 1_000, PRICE, SELL, expiry)
    chain.pending_timestamp = expiry
    # A crossing order arriving at the expiry second skips the expired one and rests.
    tx = m.createOrder(1_000, PRICE, expiry + 1_000, BUY, sender=buyer)
    buy_id = tx.return_value
    assert tx.events.filter(m.OrdersMatched) == []
    assert m.getOrderInfo(buy_id).status == ACTIVE
    before = wallets.read()
    with reverts(m.OrderExpired, orderId=sell_id, expiry=expiry):
        m.matchOrders(buy_id, sell_id, sender=keeper)
    with reverts(m.OrderExpired, orderId=sell_id, expiry=expiry):
        m.fillOrder(sell_id, 100, sender=carol)
    assert wallets.read() == before
    tx = m.createOrder(1_000, PRICE, expiry + 500, SELL, sender=seller)
    assert tx.events.filter(m.OrdersMatched) == [
        log(m.OrdersMatched, transactionId=1, buyOrderId=buy_id, sellOrderId=tx.return_value, amountWh=1_000, pricePerKWh=PRICE)
    ]


def test_an_order_trades_until_the_second_before_expiry(m, seller, buyer, keeper, chain):
    expiry = chain.pending_timestamp + 100
    sell_id = create(m, seller, 1_000, PRICE, SELL, expiry)
    # matchOrders too, for a bilateral deal (directed orders stay off the book).
    offer = create(m, seller, 1_000, PRICE, SELL, expiry, counterparty=buyer)
    bid = create(m, buyer, 1_000, PRICE, BUY, expiry, counterparty=seller)
    chain.pending_timestamp = expiry - 1
    tx = m.createOrder(1_000, PRICE, expiry, BUY, sender=buyer)  # crosses the resting sell at once
    assert [e.sellOrderId for e in tx.events.filter(m.OrdersMatched)] == [sell_id]
    chain.pending_timestamp = expiry - 1  # the same second again: both blocks are the last one before expiry
    assert matched(m, bid, offer, keeper) == 2


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
    assert tx.events.filter(stablecoin.Transfer) == [
        log(stablecoin.Transfer, **{"from": carol.address, "to": m.address, "value": 100_000})
    ]
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
    assert tx.events.filter(energy_token.Transfer) == [
        log(energy_token.Transfer, **{"from": dave.address, "to": m.address, "value": 1_000})
    ]
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


def test_fill_rejections(m, admin, seller, buyer, carol, stranger, energy_token, stablecoin, wallets, expiry):
    m.setMinOrderAmount(100, sender=admin)
    sell_id = create(m, seller, 1_000, PRICE, SELL, expiry)
    buy_id = create(m, buyer, 1_000, PRICE // 2, BUY, expiry)  # below the ask: both rest
    energy_token.approve(m, 2**256 - 1, sender=stranger)
    stablecoin.approve(m, 2**256 - 1, sender=stranger)
    before = wallets.read()
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
    with reverts(m.InsufficientPaymentBalance, account=stranger.address, required=20_000, available=0):
        m.fillOrder(sell_id, 100, sender=stranger)
    with reverts(m.InsufficientEnergyBalance, account=stranger.address, requiredWh=100, availableWh=0):
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


# ----------------------------------------------------------------------------- directed offers (seed 000)


def test_directed_sell_trades_only_with_its_counterparty(m, seller, carol, dave, keeper, expiry):
    # seed 000 create-trade: the producer names the consumer.
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
    # seed 000 complete-trade: the named consumer takes it, by fill or with an order of theirs.
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


def test_create_directed_order_rejects_invalid_counterparty(m, seller, expiry):
    with reverts(m.InvalidCounterparty, counterparty=ZERO_ADDRESS):
        m.createDirectedOrder(1_000, PRICE, expiry, SELL, ZERO_ADDRESS, sender=seller)
    with reverts(m.InvalidCounterparty, counterparty=seller.address):
        m.createDirectedOrder(1_000, PRICE, expiry, SELL, seller, sender=seller)


# ----------------------------------------------------------------------------- getters


def test_trader_orders_are_paged_newest_first(m, seller, buyer, stranger, expiry):
    mine = []
    for i in range(5):
        # The seller's asks above every bid: nothing crosses.
        mine.append(create(m, seller, 1_000 + i, 2 * PRICE if i % 2 else PRICE, SELL if i % 2 else BUY, expiry))
        create(m, buyer, 1_000, PRICE, BUY, expiry)
    pages, cursor = [], 0
    while True:
        orders, cursor = m.getTraderOrders(seller, cursor, 2)
        pages.append([o[0] for o in orders])  # OrderInfo.orderId
        if cursor == 0:
            break
    assert pages == [[mine[4], mine[3]], [mine[2], mine[1]], [mine[0]]]
    orders, cursor = m.getTraderOrders(seller, 0, MAX_PAGE_SIZE)
    assert [tuple(o) for o in orders] == [tuple(m.getOrderInfo(i)) for i in reversed(mine)]
    assert [o[2] for o in orders] == [1_004, 1_003, 1_002, 1_001, 1_000]  # OrderInfo.amount
    assert cursor == 0
    orders, cursor = m.getTraderOrders(stranger, 0, 10)
    assert (list(orders), cursor) == ([], 0)
    with reverts(m.InvalidPageSize, limit=0, maxLimit=MAX_PAGE_SIZE):
        m.getTraderOrders(seller, 0, 0)
    with reverts(m.InvalidPageSize, limit=MAX_PAGE_SIZE + 1, maxLimit=MAX_PAGE_SIZE):
        m.getTraderOrders(seller, 0, MAX_PAGE_SIZE + 1)
    with reverts(m.InvalidCursor, trader=seller.address, cursor=2):
        m.getTraderOrders(seller, 2, 10)  # order 2 is the buyer's


def test_getters_reject_unknown_orders(m):
    with reverts(m.OrderUnknown, orderId=1):
        m.getOrder(1)
    with reverts(m.OrderUnknown, orderId=1):
        m.getOrderInfo(1)
    with reverts(m.TransactionUnknown, transactionId=1):
        m.getTransaction(1)


def test_energy_balance_counts_energy_in_open_sell_orders(m, seller, buyer, energy_token, expiry):
    start = energy_token.balanceOf(seller)
    assert m.getEnergyBalance(seller) == start
    a = create(m, seller, 3_000, PRICE, SELL, expiry)
    b = create(m, seller, 2_000, PRICE, SELL, expiry)
    create(m, seller, 1_000, PRICE // 2, BUY, expiry)  # a BUY escrows money, not energy
    assert energy_token.balanceOf(seller) == start - 5_000
    assert m.escrowedEnergyOf(seller) == 5_000
    assert m.getEnergyBalance(seller) == start
    create(m, buyer, 1_200, PRICE, BUY, expiry)  # crosses `a` (the earlier ask) at once: 1,200 Wh sold
    assert m.escrowedEnergyOf(seller) == 3_800
    assert m.getEnergyBalance(seller) == start - 1_200
    m.cancelOrder(b, sender=seller)
    assert m.escrowedEnergyOf(seller) == 1_800
    assert m.getEnergyBalance(seller) == start - 1_200
    assert energy_token.balanceOf(seller) == start - 3_000


# ----------------------------------------------------------------------------- admin and pause


def test_admin_sets_order_bounds(m, admin):
    tx = m.setMinOrderAmount(250, sender=admin)
    assert tx.events == [log(m.MinOrderAmountUpdated, previousWh=1, newWh=250)]
    assert m.minOrderAmount() == 250
    tx = m.setMaxPrice(1_000_000, sender=admin)
    assert tx.events == [log(m.MaxPriceUpdated, previousPricePerKWh=PRICE_CAP_PER_KWH, newPricePerKWh=1_000_000)]
    assert m.maxPrice() == 1_000_000
    with reverts(m.MinOrderAmountOutOfRange, amountWh=0, maxAmountWh=MAX_ORDER_AMOUNT_WH):
        m.setMinOrderAmount(0, sender=admin)
    with reverts(m.MinOrderAmountOutOfRange, amountWh=2**48, maxAmountWh=MAX_ORDER_AMOUNT_WH):
        m.setMinOrderAmount(2**48, sender=admin)
    with reverts(m.MaxPriceOutOfRange, pricePerKWh=0, priceCapPerKWh=PRICE_CAP_PER_KWH):
        m.setMaxPrice(0, sender=admin)
    with reverts(m.MaxPriceOutOfRange, pricePerKWh=2**72, priceCapPerKWh=PRICE_CAP_PER_KWH):
        m.setMaxPrice(2**72, sender=admin)
    m.setMinOrderAmount(MAX_ORDER_AMOUNT_WH, sender=admin)
    m.setMaxPrice(PRICE_CAP_PER_KWH, sender=admin)
    assert (m.minOrderAmount(), m.maxPrice()) == (MAX_ORDER_AMOUNT_WH, PRICE_CAP_PER_KWH)


def test_pause_stops_trading_but_not_the_way_out(m, admin, seller, buyer, carol, keeper, chain, wallets):
    expiry = chain.pending_timestamp + 100
    sell_id = create(m, seller, 1_000, PRICE, SELL, expiry, counterparty=buyer)
    buy_id = create(m, buyer, 1_000, PRICE, BUY, expiry)
    stale_id = create(m, carol, 1_000, 2 * PRICE, SELL, expiry)
    tx = m.pause(sender=admin)
    assert tx.events == [log(m.Paused, account=admin.address)]
    assert m.paused()
    with reverts(m.EnforcedPause):
        m.pause(sender=admin)
    with reverts(m.EnforcedPause):
        m.createOrder(1_000, PRICE, expiry, SELL, sender=seller)
    with reverts(m.EnforcedPause):
        m.createDirectedOrder(1_000, PRICE, expiry, SELL, buyer, sender=seller)
    with reverts(m.EnforcedPause):
        m.matchOrders(buy_id, sell_id, sender=keeper)
    # Traders can always take their escrow back.
    m.cancelOrder(sell_id, sender=seller)
    chain.pending_timestamp = expiry
    m.releaseExpiredOrder(stale_id, sender=keeper)
    assert m.getOrderInfo(stale_id).status == CANCELLED
    tx = m.unpause(sender=admin)
    assert tx.events == [log(m.Unpaused, account=admin.address)]
    with reverts(m.ExpectedPause):
        m.unpause(sender=admin)
    create(m, seller, 1_000, PRICE, SELL, expiry + 1_000)


def test_pauser_role_can_be_handed_to_a_guardian(m, admin, stranger):
    m.grantRole(PAUSER_ROLE, stranger, sender=admin)
    m.pause(sender=stranger)
    assert m.paused()
    # A guardian stops the market; only the admin restarts it.
    with reverts(m.AccessControlUnauthorizedAccount, account=stranger.address, neededRole=DEFAULT_ADMIN_ROLE):
        m.unpause(sender=stranger)
    assert m.paused()
    with reverts(m.AccessControlUnauthorizedAccount, account=stranger.address, neededRole=DEFAULT_ADMIN_ROLE):
        m.setMaxPrice(1, sender=stranger)


# ----------------------------------------------------------------------------- price band (PriceDiscovery)

BAND_REGION = 7  # conftest ORACLE_REGION
BAND_BPS = 333
MAX_PRICE_BAND_BPS = 10_000
BAND_BASE = 250_001  # PriceOracle's answer: with every factor as reported below the reference is x1.04
BAND_REFERENCE = BAND_BASE * 104 // 100  # 260,001


@pytest.fixture(scope="module", autouse=True)
def _oracles_deployed_first(price_discovery, reporters):
    """Deploy the oracles and PriceDiscovery with the market, before any test's own state."""


@pytest.fixture
def oracle_feed(price_oracle, weather_oracle, grid_oracle, reporters, chain):
    """Reports data that makes PriceDiscovery's reference BAND_REFERENCE at local noon (UTC+01:00):
    D 9,000 (9 MW of 10 MW), S 10,000 (500 W/m²), T 10,000, G 13,500 (+0.35 Hz). Returns the time."""

    def report() -> int:
        ts = (chain.pending_timestamp // 86_400 + 1) * 86_400 + 11 * 3_600
        chain.pending_timestamp = ts
        reporter = reporters[0]
        price_oracle.submitPrice(BAND_BASE, sender=reporter)
        weather_oracle.submitWeather(BAND_REGION, 500, 20_000, 0, 0, sender=reporter)
        grid_oracle.submitGridData(BAND_REGION, 50_350, 1_000, 10_000_000, 9_000_000, sender=reporter)
        return ts

    return report


@contextmanager
def reverts_from_reference(error, **inputs):
    """The revert bubbled up from the reference price source is exactly `error(**inputs)`. ape decodes
    an error of another contract than the one called only sometimes (it depends on what it has seen
    of that contract), so the raw revert data is compared when it did not."""
    with ape.reverts() as info:
        yield info
    raised = info.value
    if isinstance(raised, CustomError):
        assert type(raised).__name__ == error.abi.name
        assert dict(raised.inputs) == inputs
    else:
        args = [inputs[ipt.name] for ipt in error.abi.inputs]
        assert set(inputs) == {ipt.name for ipt in error.abi.inputs}
        assert HexBytes(raised.revert_message) == error_data(error, *args)


def band_bounds(reference: int, band_bps: int) -> tuple[int, int]:
    """reference x (1 - band) rounded up, reference x (1 + band) rounded down."""
    return -(-reference * (10_000 - band_bps) // 10_000), reference * (10_000 + band_bps) // 10_000


def test_the_price_band_is_off_by_default(m, seller, expiry):
    assert tuple(m.priceBand()) == (ZERO_ADDRESS, 0, 0)
    assert m.MAX_PRICE_BAND_BPS() == MAX_PRICE_BAND_BPS
    create(m, seller, 1_000, 1, SELL, expiry)  # any price: nothing is read


def test_set_price_band(m, admin, price_discovery):
    tx = m.setPriceBand(price_discovery, BAND_REGION, BAND_BPS, sender=admin)
    assert tx.events == [
        log(m.PriceBandUpdated, referencePrice=price_discovery.address, regionId=BAND_REGION, bandBps=BAND_BPS)
    ]
    assert tuple(m.priceBand()) == (price_discovery.address, BAND_REGION, BAND_BPS)
    with reverts(m.PriceBandOutOfRange, bandBps=MAX_PRICE_BAND_BPS + 1, maxBandBps=MAX_PRICE_BAND_BPS):
        m.setPriceBand(price_discovery, BAND_REGION, MAX_PRICE_BAND_BPS + 1, sender=admin)
    with reverts(m.PriceBandOutOfRange, bandBps=2**256 - 1, maxBandBps=MAX_PRICE_BAND_BPS):
        m.setPriceBand(price_discovery, BAND_REGION, 2**256 - 1, sender=admin)
    with reverts(m.InvalidReferencePrice, referencePrice=ZERO_ADDRESS):
        m.setPriceBand(ZERO_ADDRESS, BAND_REGION, 1, sender=admin)
    assert tuple(m.priceBand()) == (price_discovery.address, BAND_REGION, BAND_BPS)
    tx = m.setPriceBand(ZERO_ADDRESS, 0, 0, sender=admin)  # off needs no source
    assert tx.events == [log(m.PriceBandUpdated, referencePrice=ZERO_ADDRESS, regionId=0, bandBps=0)]
    m.setPriceBand(price_discovery, 2**32 - 1, MAX_PRICE_BAND_BPS, sender=admin)
    assert tuple(m.priceBand()) == (price_discovery.address, 2**32 - 1, MAX_PRICE_BAND_BPS)


def test_set_price_band_is_admin_only(m, stranger, price_discovery):
    with reverts(m.AccessControlUnauthorizedAccount, account=stranger.address, neededRole=DEFAULT_ADMIN_ROLE):
        m.setPriceBand(price_discovery, BAND_REGION, BAND_BPS, sender=stranger)


def test_orders_inside_the_band_are_accepted_at_both_bounds(m, admin, seller, buyer, price_discovery, oracle_feed):
    expiry = oracle_feed() + 3_600
    assert price_discovery.getReferencePrice(BAND_REGION) == BAND_REFERENCE
    m.setPriceBand(price_discovery, BAND_REGION, BAND_BPS, sender=admin)
    low, high = band_bounds(BAND_REFERENCE, BAND_BPS)
    assert (low, high) == (251_343, 268_659)  # 251,342.97 up, 268,659.03 down
    for price in (low, BAND_REFERENCE, high):
        for kind in (SELL, BUY):
            create(m, seller if kind == SELL else buyer, 1_000, price, kind, expiry)
    order_id = create(m, seller, 1_000, low, SELL, expiry, counterparty=buyer)
    assert m.getOrderInfo(order_id).price == low
    assert m.orderCount() == 7


@pytest.mark.parametrize("kind", [SELL, BUY], ids=["sell", "buy"])
def test_an_order_outside_the_band_is_rejected_naming_price_and_bounds(
    m, admin, seller, buyer, price_discovery, oracle_feed, wallets, kind
):
    ts = oracle_feed()
    m.setPriceBand(price_discovery, BAND_REGION, BAND_BPS, sender=admin)
    low, high = band_bounds(BAND_REFERENCE, BAND_BPS)
    trader = seller if kind == SELL else buyer
    before = wallets.read()
    for price in (low - 1, high + 1, 1):
        with reverts(m.PriceOutsideBand, pricePerKWh=price, minPricePerKWh=low, maxPricePerKWh=high):
            m.createOrder(1_000, price, ts + 3_600, kind, sender=trader)
        with reverts(m.PriceOutsideBand, pricePerKWh=price, minPricePerKWh=low, maxPricePerKWh=high):
            m.createDirectedOrder(1_000, price, ts + 3_600, kind, seller if trader == buyer else buyer, sender=trader)
    assert wallets.read() == before
    assert m.orderCount() == 0


def test_the_widest_band_spans_zero_to_twice_the_reference(m, admin, seller, price_discovery, oracle_feed):
    ts = oracle_feed()
    m.setPriceBand(price_discovery, BAND_REGION, MAX_PRICE_BAND_BPS, sender=admin)
    create(m, seller, 1_000, 1, SELL, ts + 3_600)
    create(m, seller, 1_000, 2 * BAND_REFERENCE, SELL, ts + 3_600)
    too_high = 2 * BAND_REFERENCE + 1
    with reverts(m.PriceOutsideBand, pricePerKWh=too_high, minPricePerKWh=0, maxPricePerKWh=2 * BAND_REFERENCE):
        m.createOrder(1_000, too_high, ts + 3_600, SELL, sender=seller)


def test_stale_oracle_data_stops_order_creation_with_price_discoverys_error(
    m, admin, seller, buyer, keeper, price_discovery, price_oracle, oracle_feed, chain
):
    ts = oracle_feed()
    m.setPriceBand(price_discovery, BAND_REGION, BAND_BPS, sender=admin)
    sell_id = create(m, seller, 1_000, BAND_REFERENCE, SELL, ts + 7_200, counterparty=buyer)
    buy_id = create(m, buyer, 1_000, BAND_REFERENCE, BUY, ts + 7_200)
    max_age = price_discovery.maxAge(0)
    chain.pending_timestamp = ts + max_age + 1  # every source is one second too old
    with reverts_from_reference(
        price_discovery.StaleOracleData,
        source=0,
        oracle=price_oracle.address,
        ageSeconds=max_age + 1,
        maxAgeSeconds=max_age,
    ):
        m.createOrder(1_000, BAND_REFERENCE, ts + 7_200, SELL, sender=seller)
    # Resting orders still trade: the band is checked only when an order is created.
    tx_id = matched(m, buy_id, sell_id, keeper)
    m.settleTransaction(tx_id, sender=keeper)
    # With the band off, no oracle is read.
    m.setPriceBand(price_discovery, BAND_REGION, 0, sender=admin)
    create(m, seller, 1_000, BAND_REFERENCE * 3, SELL, ts + 7_200)



def test_a_crossing_order_inside_the_band_trades_and_one_outside_moves_nothing(
    m, admin, seller, buyer, price_discovery, oracle_feed, wallets
):
    expiry = oracle_feed() + 3_600
    m.setPriceBand(price_discovery, BAND_REGION, BAND_BPS, sender=admin)
    low, high = band_bounds(BAND_REFERENCE, BAND_BPS)
    ask = create(m, seller, 1_000, low, SELL, expiry)
    before = wallets.read()
    with reverts(m.PriceOutsideBand, pricePerKWh=high + 1, minPricePerKWh=low, maxPricePerKWh=high):
        m.createOrder(1_000, high + 1, expiry, BUY, sender=buyer)  # would cross: rejected first
    assert wallets.read() == before
    tx = m.createOrder(1_000, high, expiry, BUY, sender=buyer)
    assert tx.events.filter(m.OrdersMatched) == [
        log(m.OrdersMatched, transactionId=1, buyOrderId=tx.return_value, sellOrderId=ask, amountWh=1_000, pricePerKWh=low)
    ]


# ----------------------------------------------------------------------------- the continuous book

MAX_FILLS_PER_ORDER = 32
MAX_DEAD_ENTRIES_PER_CALL = 64


def matches(tx, m) -> list[tuple[int, int, int, int, int]]:
    """(transactionId, buyOrderId, sellOrderId, amountWh, pricePerKWh) of each fill, in order."""
    return [tuple(e.event_arguments.values()) for e in tx.events.filter(m.OrdersMatched)]


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
    """issue 8: while a SELL at 100 rests, a BUY at 250 arrives; an attacker used to sell to it at
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


def test_the_fill_bound_exactly_at_it_succeeds_and_one_more_reverts_moving_nothing(m, seller, buyer, wallets, expiry):
    asks = [create(m, seller, 10, PRICE, SELL, expiry) for _ in range(MAX_FILLS_PER_ORDER + 1)]
    before = wallets.read()
    with reverts(m.TooManyCrossings, maxFills=MAX_FILLS_PER_ORDER):
        m.createOrder(10 * MAX_FILLS_PER_ORDER + 1, PRICE, expiry, BUY, sender=buyer)
    assert wallets.read() == before
    assert m.transactionCount() == 0
    tx = m.createOrder(10 * MAX_FILLS_PER_ORDER, PRICE, expiry, BUY, sender=buyer)
    assert [f[2] for f in matches(tx, m)] == asks[:MAX_FILLS_PER_ORDER]
    assert m.getOrderInfo(tx.return_value).status == FILLED
    assert tuple(m.priceLevel(SELL, PRICE)) == (asks[-1], asks[-1])
    assert tx.gas_used < 2_000_000  # the bound keeps the worst case far below a block
    # Past the bound with a level that no longer crosses: the rest rests.
    tx = m.createOrder(30, PRICE, expiry, BUY, sender=buyer)
    assert [f[2] for f in matches(tx, m)] == [asks[-1]]
    assert m.getOrderInfo(tx.return_value).escrow == cost_ceil(20, PRICE)


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


def dead_entries(m, trader, count, price, expiry) -> list[int]:
    ids = [create(m, trader, 10, price, SELL, expiry) for _ in range(count)]
    for order_id in ids:
        m.cancelOrder(order_id, sender=trader)
    return ids


def test_too_many_dead_entries_revert_until_someone_prunes_the_level(
    m, seller, buyer, carol, dave, stranger, wallets, expiry
):
    first = create(m, carol, 10, PRICE, SELL, expiry)
    dead = dead_entries(m, seller, MAX_DEAD_ENTRIES_PER_CALL + 2, PRICE, expiry)
    last = create(m, dave, 10, PRICE, SELL, expiry)
    before = wallets.read()
    with reverts(m.TooManyDeadEntries, maxDeadEntries=MAX_DEAD_ENTRIES_PER_CALL):
        m.createOrder(20, PRICE, expiry, BUY, sender=buyer)
    assert wallets.read() == before
    # A bid that needs only the live head still trades.
    tx = m.createOrder(5, PRICE, expiry, BUY, sender=buyer)
    assert [f[2] for f in matches(tx, m)] == [first]
    # Anyone prunes: a call visits MAX_DEAD_ENTRIES_PER_CALL entries, live ones stay linked.
    tx = m.pruneLevel(SELL, PRICE, sender=stranger)
    assert market_logs(tx, m) == [
        log(m.PriceLevelPruned, orderType=SELL, pricePerKWh=PRICE, removedEntries=MAX_DEAD_ENTRIES_PER_CALL - 1)
    ]
    assert tx.return_value == MAX_DEAD_ENTRIES_PER_CALL - 1
    assert m.nextInLevel(first) == dead[MAX_DEAD_ENTRIES_PER_CALL - 1]
    tx = m.pruneLevel(SELL, PRICE, sender=stranger)
    assert tx.return_value == 3
    assert tuple(m.priceLevel(SELL, PRICE)) == (first, last)
    assert m.nextInLevel(first) == last
    assert wallets.read()[stranger.address] == before[stranger.address]
    tx = m.createOrder(15, PRICE, expiry, BUY, sender=buyer)
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


def test_levels_far_apart_across_the_bitmap_are_found_in_price_order(project, admin, energy_token, fee_recipient, traders):
    """Levels in different words at every height of the bitmap, crossed by one order; a payment token
    that anyone can mint pays for prices up to the cap."""
    seller, buyer = traders[0], traders[1]
    cash = project.ReentrantToken.deploy(sender=admin)  # never armed here: a plain mintable ERC-20
    market = project.EnergyTrading.deploy(admin, energy_token, cash, fee_recipient, 0, sender=admin)
    energy_token.approve(market, 2**256 - 1, sender=seller)
    cash.approve(market, 2**256 - 1, sender=buyer)
    cash.mint(buyer, 10**30, sender=buyer)
    expiry = ape.chain.pending_timestamp + 3_600
    prices = [1, 255, 256, 257, 65_535, 65_536, 2**40 + 7, 2**64 - 1, 2**64, PRICE_CAP_PER_KWH - 1, PRICE_CAP_PER_KWH]
    asks = {p: create(market, seller, 1, p, SELL, expiry) for p in reversed(prices)}
    assert tuple(market.bestPrices()) == (0, 1)
    assert [market.nextPriceLevel(SELL, p + 1) for p in prices] == prices[1:] + [0]
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
    assert [market.nextPriceLevel(BUY, p - 1) for p in prices] == [0] + prices[:-1]
    tx = market.createOrder(len(prices), 1, expiry, SELL, sender=seller)
    ask = tx.return_value
    assert matches(tx, market) == [
        (len(prices) + i + 1, bids[p], ask, 1, p) for i, p in enumerate(reversed(prices))
    ]
    assert tuple(market.bestPrices()) == (0, 0)


# ----------------------------------------------------------------------------- signed orders (EIP-712, relayed)

from eth_utils import keccak  # noqa: E402
from market_helpers import relay, signed_order  # noqa: E402

from energy_grid.signed_orders import (  # noqa: E402
    CANCEL_ORDER_TYPE,
    ORDER_TYPE,
    recover_order_signer,
    sign_cancel,
    sign_order,
    sign_permit,
    type_string,
)

SIGNATURE_WINDOW = 600  # a relayed message's deadline, seconds ahead


def test_signed_message_types_and_domain(m, chain):
    assert type_string("Order", ORDER_TYPE) == (
        "Order(address trader,uint256 amountWh,uint256 pricePerKWh,uint256 expiry,uint8 orderType,"
        "address counterparty,uint256 nonce,uint256 deadline)"
    )
    assert type_string("CancelOrder", CANCEL_ORDER_TYPE) == "CancelOrder(uint256 orderId,uint256 nonce,uint256 deadline)"
    domain = m.eip712Domain()
    assert tuple(domain) == (HexBytes("0x0f"), "EnergyTrading", "1", chain.chain_id, m.address, HexBytes(b"\0" * 32), [])
    # Name and version fit OpenZeppelin's short strings (at most 31 bytes), so the constructor never
    # raises m.StringTooLong, which EIP712 brings into the ABI.
    assert all(len(text.encode()) <= 31 for text in (domain[1], domain[2]))
    assert [i.type for i in m.StringTooLong.abi.inputs] == ["string"]


def test_a_relayed_order_is_the_signers_not_the_relayers(m, seller, keeper, energy_token, wallets, chain, expiry):
    deadline = chain.pending_timestamp + SIGNATURE_WINDOW
    order = signed_order(m, seller, 2_000, PRICE, SELL, expiry, deadline)
    assert order.nonce == 0
    before = wallets.read()
    tx = relay(m, order, sign_order(order, seller.private_key, m.address, chain.chain_id), keeper)
    order_id = tx.return_value
    assert market_logs(tx, m) == [
        log(
            m.OrderCreated,
            orderId=order_id,
            trader=seller.address,
            orderType=SELL,
            amountWh=2_000,
            pricePerKWh=PRICE,
            expiry=expiry,
            counterparty=ZERO_ADDRESS,
        )
    ]
    after = wallets.read()
    assert after[seller.address][0] == before[seller.address][0] - 2_000
    assert after[keeper.address] == before[keeper.address]  # the relayer paid gas only
    assert after[m.address][0] == before[m.address][0] + 2_000
    assert tx.events.filter(m.EIP712DomainChanged) == []  # the domain is fixed for the contract's life
    assert m.getOrder(order_id).trader == seller.address
    assert m.latestOrderOf(seller) == order_id
    assert m.latestOrderOf(keeper) == 0
    assert (m.nonces(seller), m.nonces(keeper)) == (1, 0)
    # Only the signer may cancel it: the relayer is not its trader.
    with reverts(m.NotOrderTrader, orderId=order_id, caller=keeper.address):
        m.cancelOrder(order_id, sender=keeper)
    m.cancelOrder(order_id, sender=seller)
    assert wallets.read()[seller.address] == before[seller.address]


def test_a_relayed_order_crosses_like_a_direct_one_and_a_directed_one_rests(m, seller, buyer, keeper, chain, expiry):
    deadline = chain.pending_timestamp + SIGNATURE_WINDOW
    ask = create(m, seller, 1_000, PRICE, SELL, expiry)
    order = signed_order(m, buyer, 1_000, PRICE, BUY, expiry, deadline)
    tx = relay(m, order, sign_order(order, buyer.private_key, m.address, chain.chain_id), keeper)
    assert [(e.buyOrderId, e.sellOrderId) for e in tx.events.filter(m.OrdersMatched)] == [(tx.return_value, ask)]
    directed = signed_order(m, buyer, 500, PRICE, BUY, expiry, deadline, counterparty=seller)
    tx = relay(m, directed, sign_order(directed, buyer.private_key, m.address, chain.chain_id), keeper)
    assert m.getOrderInfo(tx.return_value).counterparty == seller.address
    own = signed_order(m, buyer, 500, PRICE, BUY, expiry, deadline, counterparty=buyer)
    with reverts(m.InvalidCounterparty, counterparty=buyer.address):
        relay(m, own, sign_order(own, buyer.private_key, m.address, chain.chain_id), keeper)


def test_bad_signatures_are_rejected_naming_their_inputs_and_move_nothing(m, project, admin, seller, buyer, keeper, energy_token, stablecoin, fee_recipient, wallets, chain, expiry):
    chain_id = chain.chain_id
    deadline = chain.pending_timestamp + SIGNATURE_WINDOW
    order = signed_order(m, seller, 1_000, PRICE, SELL, expiry, deadline)
    good = sign_order(order, seller.private_key, m.address, chain_id)
    before = wallets.read()
    # Another chain, another contract: the signature recovers to someone else.
    other_chain = sign_order(order, seller.private_key, m.address, chain_id + 1)
    with reverts(m.InvalidSigner, trader=seller.address, signer=recover_order_signer(order, other_chain, m.address, chain_id)):
        relay(m, order, other_chain, keeper)
    twin = project.EnergyTrading.deploy(admin, energy_token, stablecoin, fee_recipient, FEE_BPS, sender=admin)
    other_market = sign_order(order, seller.private_key, twin.address, chain_id)
    with reverts(m.InvalidSigner, trader=seller.address, signer=recover_order_signer(order, other_market, m.address, chain_id)):
        relay(m, order, other_market, keeper)
    # Signed by someone else; not a signature at all.
    forged = sign_order(order, buyer.private_key, m.address, chain_id)
    with reverts(m.InvalidSigner, trader=seller.address, signer=buyer.address):
        relay(m, order, forged, keeper)
    with reverts(m.InvalidSigner, trader=seller.address, signer=ZERO_ADDRESS):
        m.createOrderBySig(order.as_tuple(), 29, good.r, good.s, [], sender=keeper)
    # The malleable twin of the good signature.
    with reverts(m.MalleableSignature, s=good.malleated().s):
        relay(m, order, good.malleated(), keeper)
    # Other contents than signed.
    changed = signed_order(m, seller, 1_001, PRICE, SELL, expiry, deadline)
    with reverts(m.InvalidSigner, trader=seller.address, signer=recover_order_signer(changed, good, m.address, chain_id)):
        relay(m, changed, good, keeper)
    # A future nonce, a past deadline.
    ahead = signed_order(m, seller, 1_000, PRICE, SELL, expiry, deadline, nonce=1)
    with reverts(m.InvalidNonce, trader=seller.address, nonce=1, currentNonce=0):
        relay(m, ahead, sign_order(ahead, seller.private_key, m.address, chain_id), keeper)
    chain.pending_timestamp = deadline
    with reverts(m.SignatureExpired, deadline=deadline, blockTimestamp=deadline):
        relay(m, order, good, keeper)
    assert wallets.read() == before
    assert (m.nonces(seller), m.orderCount()) == (0, 0)


def test_a_replayed_signed_order_is_rejected(m, seller, keeper, wallets, chain, expiry):
    deadline = chain.pending_timestamp + SIGNATURE_WINDOW
    order = signed_order(m, seller, 1_000, PRICE, SELL, expiry, deadline)
    signature = sign_order(order, seller.private_key, m.address, chain.chain_id)
    relay(m, order, signature, keeper)
    before = wallets.read()
    with reverts(m.InvalidNonce, trader=seller.address, nonce=0, currentNonce=1):
        relay(m, order, signature, keeper)
    assert wallets.read() == before
    assert m.orderCount() == 1


def test_a_relayed_cancellation_returns_the_escrow_to_the_trader(m, seller, buyer, keeper, wallets, chain, expiry):
    chain_id = chain.chain_id
    deadline = chain.pending_timestamp + SIGNATURE_WINDOW
    before = wallets.read()
    order_id = create(m, seller, 1_000, PRICE, BUY, expiry)
    nonce = m.nonces(seller)
    forged = sign_cancel(order_id, nonce, deadline, buyer.private_key, m.address, chain_id)
    with reverts(m.InvalidSigner, trader=seller.address, signer=buyer.address):
        m.cancelOrderBySig(order_id, nonce, deadline, *forged.args(), sender=keeper)
    with reverts(m.OrderUnknown, orderId=order_id + 1):
        m.cancelOrderBySig(order_id + 1, nonce, deadline, *forged.args(), sender=keeper)
    signature = sign_cancel(order_id, nonce, deadline, seller.private_key, m.address, chain_id)
    with reverts(m.MalleableSignature, s=signature.malleated().s):
        m.cancelOrderBySig(order_id, nonce, deadline, *signature.malleated().args(), sender=keeper)
    tx = m.cancelOrderBySig(order_id, nonce, deadline, *signature.args(), sender=keeper)
    assert market_logs(tx, m) == [
        log(m.OrderCancelled, orderId=order_id, trader=seller.address, unfilledWh=1_000, refundedEscrow=200_000)
    ]
    assert wallets.read() == before
    assert m.nonces(seller) == nonce + 1
    with reverts(m.InvalidNonce, trader=seller.address, nonce=nonce, currentNonce=nonce + 1):
        m.cancelOrderBySig(order_id, nonce, deadline, *signature.args(), sender=keeper)


@pytest.fixture
def newcomer(accounts, smart_meter, admin, chain, energy_token, m):
    """A prosumer with metered energy who has never sent a transaction: no approval, no gas money."""
    account = accounts.generate_test_account()
    from conftest import meter_energy_to

    meter_energy_to([account], 10_000, smart_meter, admin, accounts, chain)
    assert energy_token.allowance(account, m) == 0
    return account


def newcomer_permit(energy_token, newcomer, m, value, deadline, chain):
    return sign_permit(
        energy_token.name(),
        energy_token.address,
        newcomer.address,
        m.address,
        value,
        int(energy_token.nonces(newcomer)),
        deadline,
        newcomer.private_key,
        chain.chain_id,
    )


def test_a_first_order_needs_no_approval_transaction_with_a_permit(m, newcomer, keeper, energy_token, chain, expiry):
    deadline = chain.pending_timestamp + SIGNATURE_WINDOW
    order = signed_order(m, newcomer, 4_000, PRICE, SELL, expiry, deadline)
    signature = sign_order(order, newcomer.private_key, m.address, chain.chain_id)
    with reverts(energy_token.ERC20InsufficientAllowance, spender=m.address, allowance=0, needed=4_000):
        relay(m, order, signature, keeper)  # no permit, no allowance: the token's own error
    permit = newcomer_permit(energy_token, newcomer, m, 4_000, deadline, chain)
    tx = relay(m, order, signature, keeper, [permit])
    assert m.getOrder(tx.return_value).trader == newcomer.address
    assert energy_token.balanceOf(newcomer) == 6_000
    assert energy_token.allowance(newcomer, m) == 0
    assert energy_token.nonces(newcomer) == 1


def test_a_front_run_permit_does_not_fail_the_order(m, newcomer, keeper, stranger, energy_token, chain, expiry):
    deadline = chain.pending_timestamp + SIGNATURE_WINDOW
    permit = newcomer_permit(energy_token, newcomer, m, 10_000, deadline, chain)
    value, permit_deadline, v, r, s = permit
    energy_token.permit(newcomer, m, value, permit_deadline, v, r, s, sender=stranger)  # someone submits it first
    order = signed_order(m, newcomer, 4_000, PRICE, SELL, expiry, deadline)
    tx = relay(m, order, sign_order(order, newcomer.private_key, m.address, chain.chain_id), keeper, [permit])
    assert m.getOrder(tx.return_value).trader == newcomer.address
    assert energy_token.allowance(newcomer, m) == 6_000


def test_a_failed_permit_without_the_allowance_is_rejected(m, newcomer, keeper, energy_token, wallets, chain, expiry):
    deadline = chain.pending_timestamp + SIGNATURE_WINDOW
    permit = newcomer_permit(energy_token, newcomer, m, 4_000, deadline, chain)
    value, permit_deadline, v, r, s = permit
    wrong = (value + 1, permit_deadline, v, r, s)  # not what was signed: the token refuses it
    order = signed_order(m, newcomer, 4_000, PRICE, SELL, expiry, deadline)
    before = energy_token.balanceOf(newcomer)
    with reverts(m.PermitNotApplied, trader=newcomer.address, token=energy_token.address, allowance=0, required=4_000):
        relay(m, order, sign_order(order, newcomer.private_key, m.address, chain.chain_id), keeper, [wrong])
    assert energy_token.balanceOf(newcomer) == before
    assert m.nonces(newcomer) == 0


# ----------------------------------------------------------------------------- ABI


# EnergyTrading's ABI as it was before issue 9 (functions with outputs and mutability, events with
# their indexed inputs, errors): order and transaction ids became internal value types, and every
# item stayed exactly as it was.
ABI_BEFORE_ISSUE_9 = set(
    """
error AccessControlBadConfirmation()
error AccessControlUnauthorizedAccount(address,bytes32)
error AmountAboveMaximum(uint256,uint256)
error AmountBelowMinimum(uint256,uint256)
error BatchTooLarge(uint256,uint256)
error EmptyBatch()
error EmptyPriceLevel(uint8,uint256)
error EnforcedPause()
error ExpectedPause()
error ExpiryNotInFuture(uint256,uint256)
error ExpiryTooFar(uint256,uint256)
error FeeTooHigh(uint256,uint256)
error FillBelowMinimum(uint256,uint256)
error FillExceedsRemaining(uint256,uint256,uint256)
error InsufficientEnergyBalance(address,uint256,uint256)
error InsufficientPaymentBalance(address,uint256,uint256)
error InvalidCounterparty(address)
error InvalidCursor(address,uint256)
error InvalidFeeRecipient(address)
error InvalidPageSize(uint256,uint256)
error InvalidReferencePrice(address)
error MaxPriceOutOfRange(uint256,uint256)
error MinOrderAmountOutOfRange(uint256,uint256)
error NoFeesAccrued()
error NotCounterparty(uint256,address)
error NotFeeRecipient(address,address)
error NotOrderTrader(uint256,address)
error OrderExpired(uint256,uint256)
error OrderNotActive(uint256,uint8)
error OrderNotExpired(uint256,uint256)
error OrderUnknown(uint256)
error PriceAboveMaximum(uint256,uint256)
error PriceBandOutOfRange(uint256,uint256)
error PriceOutsideBand(uint256,uint256,uint256)
error PricesDoNotCross(uint256,uint256)
error ReentrancyGuardReentrantCall()
error SafeERC20FailedOperation(address)
error SelfTrade(address)
error SettlementWindowClosed(uint256,uint256)
error SettlementWindowOpen(uint256,uint256)
error SettlementWindowTooLong(uint256,uint256)
error TooManyCrossings(uint256)
error TooManyDeadEntries(uint256)
error TransactionNotPending(uint256,uint8)
error TransactionUnknown(uint256)
error WrongOrderType(uint256,uint8)
error ZeroAddress()
error ZeroAmount()
error ZeroPrice()
event ExpiredOrderReleased(uint256,address,address,uint256,uint256) indexed=11100
event FeeRecipientUpdated(address,address) indexed=11
event FeesWithdrawn(address,uint256) indexed=10
event GridFeeUpdated(uint256,uint256) indexed=00
event MaxPriceUpdated(uint256,uint256) indexed=00
event MinOrderAmountUpdated(uint256,uint256) indexed=00
event OrderCancelled(uint256,address,uint256,uint256) indexed=1100
event OrderCreated(uint256,address,uint8,uint256,uint256,uint256,address) indexed=1110000
event OrderTaken(uint256,uint256,address,uint256,uint256) indexed=11100
event OrdersMatched(uint256,uint256,uint256,uint256,uint256) indexed=11100
event Paused(address) indexed=0
event PriceBandUpdated(address,uint32,uint256) indexed=110
event PriceLevelPruned(uint8,uint256,uint256) indexed=110
event RoleAdminChanged(bytes32,bytes32,bytes32) indexed=111
event RoleGranted(bytes32,address,address) indexed=111
event RoleRevoked(bytes32,address,address) indexed=111
event SettlementWindowUpdated(uint256,uint256) indexed=00
event TransactionSettled(uint256,address,address,uint256,uint256,uint256,uint256) indexed=1110000
event TransactionVoided(uint256,address,address,address,uint256,uint256) indexed=111000
event Unpaused(address) indexed=0
function DEFAULT_ADMIN_ROLE() -> (bytes32) view
function MAX_DEAD_ENTRIES_PER_CALL() -> (uint256) view
function MAX_FEE_BPS() -> (uint256) view
function MAX_FILLS_PER_ORDER() -> (uint256) view
function MAX_ORDER_AMOUNT_WH() -> (uint256) view
function MAX_ORDER_LIFETIME() -> (uint256) view
function MAX_PAGE_SIZE() -> (uint256) view
function MAX_PRICE_BAND_BPS() -> (uint256) view
function MAX_SETTLEMENT_BATCH() -> (uint256) view
function MAX_SETTLEMENT_WINDOW() -> (uint256) view
function OPERATOR_ROLE() -> (bytes32) view
function PAUSER_ROLE() -> (bytes32) view
function PRICE_CAP_PER_KWH() -> (uint256) view
function accruedFees() -> (uint256) view
function bestPrices() -> (uint256,uint256) view
function cancelOrder(uint256) -> () nonpayable
function createDirectedOrder(uint256,uint256,uint256,uint8,address) -> (uint256) nonpayable
function createOrder(uint256,uint256,uint256,uint8) -> (uint256) nonpayable
function energyToken() -> (address) view
function escrowedEnergyOf(address) -> (uint256) view
function feeRecipient() -> (address) view
function fillOrder(uint256,uint256) -> (uint256) nonpayable
function getEnergyBalance(address) -> (uint256) view
function getOrder(uint256) -> ((address,uint256,uint256,uint256,uint8,uint8)) view
function getOrderInfo(uint256) -> ((uint256,address,uint256,uint256,uint256,uint256,uint8,uint8,address,uint256,uint256)) view
function getRoleAdmin(bytes32) -> (bytes32) view
function getTraderOrders(address,uint256,uint256) -> ((uint256,address,uint256,uint256,uint256,uint256,uint8,uint8,address,uint256,uint256)[],uint256) view
function getTransaction(uint256) -> ((address,address,uint256,uint256,uint256,uint256,uint256,uint256,uint256,uint8,uint256,uint256)) view
function grantRole(bytes32,address) -> () nonpayable
function gridFeeBps() -> (uint256) view
function hasRole(bytes32,address) -> (bool) view
function latestOrderOf(address) -> (uint256) view
function matchOrders(uint256,uint256) -> (uint256) nonpayable
function maxPrice() -> (uint256) view
function minOrderAmount() -> (uint256) view
function nextInLevel(uint256) -> (uint256) view
function nextPriceLevel(uint8,uint256) -> (uint256) view
function orderCount() -> (uint256) view
function pause() -> () nonpayable
function paused() -> (bool) view
function paymentToken() -> (address) view
function priceBand() -> (address,uint32,uint256) view
function priceLevel(uint8,uint256) -> (uint256,uint256) view
function pruneLevel(uint8,uint256) -> (uint256) nonpayable
function releaseExpiredOrder(uint256) -> () nonpayable
function renounceRole(bytes32,address) -> () nonpayable
function revokeRole(bytes32,address) -> () nonpayable
function setFeeRecipient(address) -> () nonpayable
function setGridFee(uint256) -> () nonpayable
function setMaxPrice(uint256) -> () nonpayable
function setMinOrderAmount(uint256) -> () nonpayable
function setPriceBand(address,uint32,uint256) -> () nonpayable
function setSettlementWindow(uint256) -> () nonpayable
function settleTransaction(uint256) -> () nonpayable
function settleTransactions(uint256[]) -> () nonpayable
function settlementWindow() -> (uint256) view
function supportsInterface(bytes4) -> (bool) view
function transactionCount() -> (uint256) view
function unpause() -> () nonpayable
function voidTransaction(uint256) -> () nonpayable
function withdrawFees() -> (uint256) nonpayable
""".strip().splitlines()
)
ABI_ADDED_BY_ISSUE_9 = {
    "function cancelOrderBySig(uint256,uint256,uint256,uint8,bytes32,bytes32) -> () nonpayable",
    "function createOrderBySig((address,uint256,uint256,uint256,uint8,address,uint256,uint256),uint8,bytes32,bytes32,"
    "(uint256,uint256,uint8,bytes32,bytes32)[]) -> (uint256) nonpayable",
    "function eip712Domain() -> (bytes1,string,string,uint256,address,bytes32,uint256[]) view",
    "function nonces(address) -> (uint256) view",
    "event EIP712DomainChanged() indexed=",
    "error InvalidNonce(address,uint256,uint256)",
    "error InvalidSigner(address,address)",
    "error MalleableSignature(bytes32)",
    "error PermitNotApplied(address,address,uint256,uint256)",
    "error SignatureExpired(uint256,uint256)",
}
SEED_SELECTORS = {  # IEnergyTrading (seed 002), exactly
    "createOrder(uint256,uint256,uint256,uint8)": "34ffe662",
    "cancelOrder(uint256)": "514fcac7",
    "matchOrders(uint256,uint256)": "1756353d",
    "settleTransaction(uint256)": "19062b8f",
}


def _abi_type(item) -> str:
    if item.type.startswith("tuple"):
        return "(" + ",".join(_abi_type(c) for c in item.components) + ")" + item.type[5:]
    return item.type


def abi_lines(contract_type) -> set[str]:
    lines = set()
    for item in contract_type.abi:
        if item.type == "function":
            args = ",".join(_abi_type(i) for i in item.inputs)
            outputs = ",".join(_abi_type(o) for o in item.outputs)
            lines.add(f"function {item.name}({args}) -> ({outputs}) {item.stateMutability}")
        elif item.type == "event":
            indexed = "".join("1" if i.indexed else "0" for i in item.inputs)
            lines.add(f"event {item.name}({','.join(_abi_type(i) for i in item.inputs)}) indexed={indexed}")
        elif item.type == "error":
            lines.add(f"error {item.name}({','.join(_abi_type(i) for i in item.inputs)})")
    return lines


def test_the_abi_kept_every_item_and_gained_the_signed_orders(project):
    """Nothing of the ABI before issue 9 went or changed (the seed's selectors included)."""
    lines = abi_lines(project.EnergyTrading.contract_type)
    assert ABI_BEFORE_ISSUE_9 - lines == set()
    assert ABI_ADDED_BY_ISSUE_9 - lines == set()
    selectors = {item.selector: keccak(text=item.selector)[:4].hex() for item in project.EnergyTrading.contract_type.abi if item.type == "function"}
    assert {signature: selectors[signature] for signature in SEED_SELECTORS} == SEED_SELECTORS

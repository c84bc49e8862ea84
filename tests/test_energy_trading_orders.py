"""EnergyTrading: wiring and constructor, order creation and its escrow, cancellation and expiry
release, the paged getters, admin settings and pause (gas is measured by `make bench`).

Every custom error is asserted with all of its arguments and every market event with all of its
fields (`reverts` and `log` from support/helpers.py make ape's subset checks exhaustive); shared helpers
are in support/market_helpers.py, the market's fixtures in conftest.py.
"""

from __future__ import annotations

import pytest

from support.bulk_helpers import Bulk
from support.helpers import (
    DEFAULT_ADMIN_ROLE,
    ZERO_ADDRESS,
    deploy_reverts,
    log,
    reverts,
)
from support.market_helpers import (
    ACTIVE,
    BUY,
    CANCELLED,
    FEE_BPS,
    FILLED,
    MAX_ORDER_AMOUNT_WH,
    MAX_ORDER_LIFETIME,
    MAX_ORDERS_SCANNED,
    MAX_PAGE_SIZE,
    OPERATOR_ROLE,
    PAUSER_ROLE,
    PRICE,
    PRICE_CAP_PER_KWH,
    SELL,
    create,
    market_logs,
    matched,
)


@pytest.fixture(scope="module", autouse=True)
def _deployed_first(funded_market, keeper, fee_recipient, stranger, admin):
    """Deploy and fund the market, and name the accounts, before any test's own state (ape isolation)."""


# ----------------------------------------------------------------------------- wiring


def test_constants_and_wiring(market, admin, vault, energy_token, stablecoin, fee_recipient):
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
    assert market.vault() == vault.address
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
        (lambda a, v, f: (ZERO_ADDRESS, v, f, 0, 1), lambda c: c.ZeroAddress, ()),
        (lambda a, v, f: (a, ZERO_ADDRESS, f, 0, 1), lambda c: c.ZeroAddress, ()),
        (lambda a, v, f: (a, v, ZERO_ADDRESS, 0, 1), lambda c: c.InvalidFeeRecipient, (ZERO_ADDRESS,)),
        (lambda a, v, f: (a, v, f, 1_001, 1), lambda c: c.FeeTooHigh, (1_001, 1_000)),
    ],
    ids=["admin", "vault", "feeRecipient", "feeBps"],
)
def test_constructor_rejects_bad_arguments(project, admin, vault, fee_recipient, args, error, error_args):
    container = project.EnergyTrading
    with deploy_reverts(error(container), *error_args):
        container.deploy(*args(admin, vault, fee_recipient), sender=admin)


def test_constructor_accepts_the_maximum_fee(project, admin, vault, fee_recipient):
    market = project.EnergyTrading.deploy(admin, vault, fee_recipient, 1_000, 1, sender=admin)
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
    assert tx.events.filter(energy_token.Transfer) == []  # a vault move, no token transfer
    after = wallets.read()
    assert after[seller.address][0] == before[seller.address][0] - 2_500
    assert after[m.address][0] == before[m.address][0] + 2_500
    assert after[seller.address][1] == before[seller.address][1]

    assert tuple(m.getOrder(1)) == (seller.address, 2_500, PRICE, expiry, SELL, ACTIVE)
    info = m.getOrderInfo(1)
    assert tuple(info) == (1, seller.address, 2_500, 0, PRICE, expiry, SELL, ACTIVE, ZERO_ADDRESS, 2_500)
    assert m.orderCount() == 1
    # The energy balance is what the vault holds for the seller: the escrow has left it.
    assert m.getEnergyBalance(seller) == after[seller.address][0]


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


def test_order_ids_run_over_all_traders(m, seller, buyer, expiry):
    first = create(m, seller, 1_000, PRICE, SELL, expiry)
    other = create(m, buyer, 1_000, PRICE // 2, BUY, expiry)
    second = create(m, seller, 1_000, PRICE // 2, BUY, expiry)
    assert (first, other, second) == (1, 2, 3)
    # Each order names its own trader (the trader's index, given at the first order, resolves back).
    assert [m.getOrder(i).trader for i in (first, other, second)] == [seller.address, buyer.address, seller.address]


TOO_LARGE_WH = MAX_ORDER_AMOUNT_WH + 1


@pytest.mark.parametrize(
    ("amount", "price", "expiry_offset", "error", "inputs"),
    [
        (0, PRICE, 3_600, lambda m: m.ZeroAmount, {}),
        (99, PRICE, 3_600, lambda m: m.AmountBelowMinimum, {"amountWh": 99, "minAmountWh": 100}),
        (TOO_LARGE_WH, PRICE, 3_600, lambda m: m.AmountAboveMaximum, {"amountWh": TOO_LARGE_WH, "maxAmountWh": MAX_ORDER_AMOUNT_WH}),
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


def test_nobody_sells_energy_or_spends_money_they_do_not_have(m, vault, seller, stranger, energy_token, stablecoin, wallets, expiry):
    """The escrow comes from the vault balance, a shortfall from the wallet: an account with neither
    meets the token's own error, raised in the vault's pull."""
    for token in (energy_token, stablecoin):
        token.approve(vault, 2**256 - 1, sender=stranger)
    vault.setMarketApproval(m, True, sender=stranger)
    before = wallets.read()
    with reverts(energy_token.ERC20InsufficientBalance, sender=stranger.address, balance=0, needed=1_000):
        m.createOrder(1_000, PRICE, expiry, SELL, sender=stranger)
    with reverts(stablecoin.ERC20InsufficientBalance, sender=stranger.address, balance=0, needed=200_000):
        m.createOrder(1_000, PRICE, expiry, BUY, sender=stranger)
    have = vault.balanceOf(energy_token, seller)
    assert energy_token.balanceOf(seller) == 0  # everything is in the vault
    with reverts(energy_token.ERC20InsufficientBalance, sender=seller.address, balance=0, needed=1):
        m.createOrder(have + 1, PRICE, expiry, SELL, sender=seller)
    assert wallets.read() == before


def test_create_order_needs_the_market_approved_in_the_vault(m, vault, seller, stranger, energy_token, wallets, expiry):
    vault.withdraw(energy_token, 1_000, stranger, sender=seller)
    energy_token.approve(vault, 1_000, sender=stranger)
    vault.deposit(energy_token, 1_000, sender=stranger)
    before = wallets.read()
    with reverts(vault.MarketNotApproved, account=stranger.address, market=m.address):
        m.createOrder(1_000, PRICE, expiry, SELL, sender=stranger)
    vault.setMarketApproval(m, True, sender=stranger)
    # More than the vault balance and no allowance left for the vault to pull the shortfall.
    vault.withdraw(energy_token, 500, stranger, sender=stranger)
    with reverts(energy_token.ERC20InsufficientAllowance, spender=vault.address, allowance=0, needed=500):
        m.createOrder(1_000, PRICE, expiry, SELL, sender=stranger)
    assert wallets.read() == before | {stranger.address: (500, 0)}
    create(m, stranger, 500, PRICE, SELL, expiry)
    assert vault.balancesOf(stranger) == (0, 0)


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


def test_cancel_partly_filled_buy_refunds_the_unspent_escrow(m, vault, seller, buyer, stablecoin, expiry):
    buy_id = create(m, buyer, 1_000, 300_000, BUY, expiry)  # escrow 300,000
    create(m, seller, 400, 250_000, SELL, expiry)  # crosses at once: 400 Wh at the resting buy's 300,000
    assert m.getOrderInfo(buy_id).escrow == 180_000
    cash = vault.balanceOf(stablecoin, buyer)
    tx = m.cancelOrder(buy_id, sender=buyer)
    assert market_logs(tx, m) == [
        log(m.OrderCancelled, orderId=buy_id, trader=buyer.address, unfilledWh=600, refundedEscrow=180_000)
    ]
    assert vault.balanceOf(stablecoin, buyer) == cash + 180_000
    info = m.getOrderInfo(buy_id)
    assert (info.status, info.filledAmount, info.escrow) == (CANCELLED, 400, 0)


def test_cancel_partly_filled_sell_refunds_the_unsold_energy(m, vault, seller, buyer, energy_token, expiry):
    sell_id = create(m, seller, 1_000, PRICE, SELL, expiry)
    create(m, buyer, 300, PRICE, BUY, expiry)  # crosses at once
    energy = vault.balanceOf(energy_token, seller)
    tx = m.cancelOrder(sell_id, sender=seller)
    assert market_logs(tx, m) == [
        log(m.OrderCancelled, orderId=sell_id, trader=seller.address, unfilledWh=700, refundedEscrow=700)
    ]
    assert vault.balanceOf(energy_token, seller) == energy + 700


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


def test_trader_may_cancel_an_expired_order(m, vault, seller, chain, energy_token):
    expiry = chain.pending_timestamp + 100
    order_id = create(m, seller, 1_000, PRICE, SELL, expiry)
    chain.pending_timestamp = expiry + 50
    energy = vault.balanceOf(energy_token, seller)
    m.cancelOrder(order_id, sender=seller)
    assert vault.balanceOf(energy_token, seller) == energy + 1_000


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
    # A cursor that is another trader's order is a place to look from like any other.
    orders, cursor = m.getTraderOrders(seller, mine[1] + 1, 10)
    assert ([o[0] for o in orders], cursor) == ([mine[1], mine[0]], 0)
    newest = m.orderCount()
    with reverts(m.InvalidCursor, trader=seller.address, cursor=newest + 1):
        m.getTraderOrders(seller, newest + 1, 10)


def test_trader_orders_look_at_a_bounded_number_of_order_ids(m, seller, buyer, expiry, chain):
    scanned = m.MAX_ORDERS_SCANNED()
    assert scanned == MAX_ORDERS_SCANNED
    # The seller's order, then more of the buyer's than one call looks at (bulk transactions).
    mine = create(m, seller, 1_000, PRICE, SELL, expiry)
    bulk = Bulk(chain)
    with bulk.impersonating([buyer]), bulk.in_shared_blocks():
        for _ in range(scanned):
            bulk.send(buyer, m, "createOrder", 1_000, PRICE // 2, expiry, BUY)
    assert m.orderCount() == mine + scanned
    orders, cursor = m.getTraderOrders(seller, 0, 10)
    assert (list(orders), cursor) == ([], mine)  # not reached yet: go on from there
    orders, cursor = m.getTraderOrders(seller, cursor, 10)
    assert ([o[0] for o in orders], cursor) == ([mine], 0)


def test_getters_reject_unknown_orders(m):
    with reverts(m.OrderUnknown, orderId=1):
        m.getOrder(1)
    with reverts(m.OrderUnknown, orderId=1):
        m.getOrderInfo(1)
    with reverts(m.TransactionUnknown, transactionId=1):
        m.getTransaction(1)


def test_energy_balance_is_the_vault_balance_escrow_left_out(m, vault, seller, buyer, energy_token, expiry):
    start = vault.balanceOf(energy_token, seller)
    assert m.getEnergyBalance(seller) == start
    a = create(m, seller, 3_000, PRICE, SELL, expiry)
    b = create(m, seller, 2_000, PRICE, SELL, expiry)
    create(m, seller, 1_000, PRICE // 2, BUY, expiry)  # a BUY escrows money, not energy
    assert m.getEnergyBalance(seller) == vault.balanceOf(energy_token, seller) == start - 5_000
    create(m, buyer, 1_200, PRICE, BUY, expiry)  # crosses `a` (the earlier ask) at once: 1,200 Wh sold
    assert (m.getOrderInfo(a).escrow, m.getOrderInfo(b).escrow) == (1_800, 2_000)
    m.cancelOrder(b, sender=seller)
    assert m.getEnergyBalance(seller) == vault.balanceOf(energy_token, seller) == start - 3_000


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
    with reverts(m.MinOrderAmountOutOfRange, amountWh=MAX_ORDER_AMOUNT_WH + 1, maxAmountWh=MAX_ORDER_AMOUNT_WH):
        m.setMinOrderAmount(MAX_ORDER_AMOUNT_WH + 1, sender=admin)
    with reverts(m.MaxPriceOutOfRange, pricePerKWh=0, priceCapPerKWh=PRICE_CAP_PER_KWH):
        m.setMaxPrice(0, sender=admin)
    with reverts(m.MaxPriceOutOfRange, pricePerKWh=PRICE_CAP_PER_KWH + 1, priceCapPerKWh=PRICE_CAP_PER_KWH):
        m.setMaxPrice(PRICE_CAP_PER_KWH + 1, sender=admin)
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

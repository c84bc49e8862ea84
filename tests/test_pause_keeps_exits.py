"""EnergyTrading / Settlement: a pause stops new orders and trading only. Every exit stays open, so
a pause that governance takes days to lift never holds anyone's value: escrowed orders are
cancelled (directly or by signature) or released once expired, matched trades are settled once
their window has passed or voided inside it, and fees are withdrawn. Paused, the market can be
emptied to the last unit."""

from __future__ import annotations

import pytest

from energy_grid.signing.orders import sign_cancel, sign_order

from support.helpers import reverts
from support.market_helpers import BUY, PRICE, SELL, SETTLED, VOIDED, assert_vault_backed, create, relay, signed_order

WINDOW = 600


@pytest.fixture(scope="module", autouse=True)
def _deployed_first(funded_market, keeper, fee_recipient, stranger, admin):
    """Deploy and fund the market, and name the accounts, before any test's own state (ape isolation)."""


def test_every_exit_stays_open_while_the_market_is_paused(
    m, vault, admin, seller, buyer, carol, dave, keeper, fee_recipient, energy_token, stablecoin, chain
):
    m.setSettlementWindow(WINDOW, sender=admin)
    now = chain.pending_timestamp
    expiry = now + 3_600
    resting_sell = create(m, seller, 1_000, PRICE + 50_000, SELL, expiry)
    resting_buy = create(m, buyer, 1_000, PRICE - 50_000, BUY, expiry)
    signed_away = create(m, carol, 500, PRICE + 60_000, SELL, expiry)
    expiring = create(m, dave, 700, PRICE - 60_000, BUY, now + 60)
    sold = create(m, carol, 1_000, PRICE, SELL, expiry)
    to_settle = m.createOrder(1_000, PRICE, expiry, BUY, sender=dave).events.filter(m.OrdersMatched)[0].transactionId
    chain.pending_timestamp = now + 300
    create(m, seller, 400, PRICE - 10_000, SELL, expiry)
    to_void = m.createOrder(400, PRICE - 10_000, expiry, BUY, sender=buyer).events.filter(m.OrdersMatched)[0].transactionId
    deadline = now + 3_000
    cancel_signature = sign_cancel(signed_away, m.nonces(carol), deadline, carol.private_key, m.address, chain.chain_id)
    m.pause(sender=admin)

    # New orders and trading stop.
    with reverts(m.EnforcedPause):
        m.createOrder(1_000, PRICE, expiry, SELL, sender=seller)
    with reverts(m.EnforcedPause):
        m.createDirectedOrder(1_000, PRICE, expiry, SELL, buyer, sender=seller)
    order = signed_order(m, seller, 1_000, PRICE, SELL, expiry, deadline)
    with reverts(m.EnforcedPause):
        relay(m, order, sign_order(order, seller.private_key, m.address, chain.chain_id), keeper)
    with reverts(m.EnforcedPause):
        m.matchOrders(resting_buy, resting_sell, sender=keeper)
    with reverts(m.EnforcedPause):
        m.fillOrder(resting_sell, 100, sender=buyer)

    # Every exit stays open.
    m.cancelOrder(resting_sell, sender=seller)
    m.cancelOrder(resting_buy, sender=buyer)
    m.cancelOrderBySig(signed_away, 0, deadline, *cancel_signature.args(), sender=keeper)
    chain.pending_timestamp = now + WINDOW + 100
    m.releaseExpiredOrder(expiring, sender=keeper)
    m.voidTransaction(to_void, sender=admin)
    m.settleTransaction(to_settle, sender=keeper)
    m.settleTransactions([to_settle, to_void], sender=keeper)  # both closed already: skipped
    assert (m.getTransaction(to_settle).status, m.getTransaction(to_void).status) == (SETTLED, VOIDED)
    assert m.getOrderInfo(sold).escrow == 0
    m.withdrawFees(sender=fee_recipient)
    assert m.paused()
    # Nothing is left in the market: every unit went back or was paid out during the pause.
    assert vault.balancesOf(m) == (0, 0)
    assert_vault_backed(vault, energy_token, stablecoin)


def test_a_trade_past_its_window_settles_during_a_pause(m, vault, admin, seller, buyer, keeper, energy_token, chain, expiry):
    create(m, seller, 1_000, PRICE, SELL, expiry)
    trade = m.createOrder(1_000, PRICE, expiry, BUY, sender=buyer).events.filter(m.OrdersMatched)[0].transactionId
    m.pause(sender=admin)
    energy = vault.balanceOf(energy_token, buyer)
    tx = m.settleTransactions([trade], sender=keeper)
    assert [e.transactionId for e in tx.events.filter(m.TransactionSettled)] == [trade]
    assert vault.balanceOf(energy_token, buyer) == energy + 1_000

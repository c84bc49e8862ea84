"""Settlement: reentrancy from a hostile payment token.

Settlement is an abstract base of EnergyTrading (one address). Every custom error is asserted
with all of its arguments and every settlement event with all of its fields (support/helpers.py); the
pending `trade` and `wallets` fixtures are in conftest.py, shared helpers in support/market_helpers.py.
"""

from __future__ import annotations

import pytest

from support.helpers import (
    ZERO_ADDRESS,
    log,
    reverts,
)
from support.market_helpers import (
    BUY,
    FEE_BPS,
    FILLED,
    SELL,
    SETTLED,
    create,
    crossing,
)


@pytest.fixture(scope="module", autouse=True)
def _deployed_first(funded_market, keeper, fee_recipient, stranger, admin):
    """Deploy and fund the market, and name the accounts, before any test's own state (ape isolation)."""


# ----------------------------------------------------------------------------- reentrancy


@pytest.fixture
def hostile(project, admin, energy_token, fee_recipient, traders, keeper, chain):
    """A market whose payment token calls back into the market from inside its transfers."""
    seller, buyer = traders[0], traders[1]
    token = project.ReentrantToken.deploy(sender=admin)
    market = project.EnergyTrading.deploy(admin, energy_token, token, fee_recipient, FEE_BPS, 1, sender=admin)
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
        "withdrawFees": market.withdrawFees.encode_input,
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

"""Settlement and the book: reentrancy from a hostile payment token.

The book moves no token itself: escrow, refunds and payouts are EnergyVault balances, and the only
token transfer an order can cause is the vault pulling an escrow shortfall from the trader's wallet.
A token that calls back into the book from inside that pull meets the book's lock. Every custom
error is asserted with all of its arguments (support/helpers.py); shared helpers are in
support/market_helpers.py.
"""

from __future__ import annotations

import pytest

from support.helpers import (
    log,
    reverts,
)
from support.market_helpers import (
    BUY,
    FILLED,
    SELL,
    SETTLED,
    book_on_own_vault,
    create,
    crossing,
)


@pytest.fixture(scope="module", autouse=True)
def _deployed_first(funded_market, keeper, fee_recipient, stranger, admin):
    """Deploy and fund the market, and name the accounts, before any test's own state (ape isolation)."""


# ----------------------------------------------------------------------------- reentrancy


@pytest.fixture
def hostile(project, admin, vault, energy_token, fee_recipient, traders, chain):
    """A market on a vault whose payment token calls back into the market from inside its transfers,
    with a pending trade; the buyer's escrow is pulled from its wallet."""
    seller, buyer = traders[0], traders[1]
    token = project.ReentrantToken.deploy(sender=admin)
    own_vault, market = book_on_own_vault(project, admin, energy_token, token, fee_recipient, 50, [seller, buyer])
    vault.withdraw(energy_token, 10_000, seller, sender=seller)
    token.mint(buyer, 10**12, sender=buyer)
    expiry = chain.pending_timestamp + 3_600
    create(market, seller, 1_000, 200_000, SELL, expiry)
    _, (trade,) = crossing(market, buyer, 1_000, 250_000, BUY, expiry)
    return own_vault, market, token, trade, expiry


def test_settlement_moves_no_token(hostile, traders, keeper):
    """Armed, the token would call back on its next transfer: a settlement makes none."""
    own_vault, market, token, trade, _ = hostile
    seller, buyer = traders[0], traders[1]
    token.arm(market, market.settleTransaction.encode_input(trade), sender=keeper)
    tx = market.settleTransaction(trade, sender=keeper)
    assert tx.events.filter(token.ReentryExecuted) == []
    assert market.getTransaction(trade).status == SETTLED
    assert (own_vault.balancesOf(seller), own_vault.balancesOf(buyer)) == ((0, 199_000), (1_000, 50_000))


@pytest.mark.parametrize("reentry", ["cancelOrder", "withdrawFees", "fillOrder", "createOrder"])
def test_reentry_from_the_vaults_pull_is_refused(hostile, traders, keeper, reentry):
    own_vault, market, token, _, expiry = hostile
    buyer = traders[1]
    bid = create(market, buyer, 1_000, 100_000, BUY, expiry)
    calls = {
        "cancelOrder": lambda: market.cancelOrder.encode_input(bid),
        "withdrawFees": market.withdrawFees.encode_input,
        "fillOrder": lambda: market.fillOrder.encode_input(bid, 100),
        "createOrder": lambda: market.createOrder.encode_input(1_000, 100_000, expiry, BUY),
    }
    token.arm(market, calls[reentry](), sender=keeper)
    before = own_vault.balancesOf(market)
    with reverts(market.ReentrancyGuardReentrantCall):
        market.createOrder(1_000, 100_000, expiry, BUY, sender=buyer)  # the vault's pull calls back
    assert market.getOrderInfo(bid).escrow == 100_000
    assert own_vault.balancesOf(market) == before


def test_a_call_back_into_matching_is_harmless(hostile, traders, keeper):
    """matchOrders moves no value, so it has no guard; called from inside a pull it only books."""
    _, market, token, trade, expiry = hostile
    seller, buyer = traders[0], traders[1]
    sell_id = create(market, seller, 500, 200_000, SELL, expiry, counterparty=buyer)  # directed: rests
    buy_id = create(market, buyer, 500, 200_000, BUY, expiry, counterparty=seller)
    token.arm(market, market.matchOrders.encode_input(buy_id, sell_id), sender=keeper)
    tx = market.createOrder(1_000, 100_000, expiry, BUY, sender=buyer)  # pulls its escrow: the call back
    assert tx.events.filter(token.ReentryExecuted) == [log(token.ReentryExecuted, target=market.address)]
    assert market.transactionCount() == trade + 1
    assert market.getOrderInfo(buy_id).status == FILLED

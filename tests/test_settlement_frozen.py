"""Settlement: accounts the payment token freezes cannot lock anyone else's settlement.

Settlement is an abstract base of EnergyTrading (one address). Every custom error is asserted
with all of its arguments and every settlement event with all of its fields (support/helpers.py); the
pending `trade` and `wallets` fixtures are in conftest.py, shared helpers in support/market_helpers.py.
"""

from __future__ import annotations

import pytest

from support.helpers import (
    log,
    reverts,
)
from support.market_helpers import (
    BUY,
    FEE_BPS,
    SELL,
    create,
    crossing,
    held,
    market_logs,
)


@pytest.fixture(scope="module", autouse=True)
def _deployed_first(funded_market, keeper, fee_recipient, stranger, admin):
    """Deploy and fund the market, and name the accounts, before any test's own state (ape isolation)."""


# ----------------------------------------------------------------------------- frozen accounts


@pytest.fixture
def frozen_cash_market(project, admin, energy_token, fee_recipient, traders, chain, funded_market):
    """A market paid in a USDC-style token whose owner (admin) can freeze accounts, and a pending
    trade in it: 1,000 Wh from a SELL at 0.20 to a BUY limited at 0.25 that crossed it (payment
    200,000, fee 1,000, the buyer's refund 50,000)."""
    seller, buyer = traders[0], traders[1]
    token = project.BlacklistToken.deploy(sender=admin)
    market = project.EnergyTrading.deploy(admin, energy_token, token, fee_recipient, FEE_BPS, 1, sender=admin)
    energy_token.approve(market, 2**256 - 1, sender=seller)
    token.approve(market, 2**256 - 1, sender=buyer)
    token.mint(buyer, 10**12, sender=buyer)
    expiry = chain.pending_timestamp + 3_600
    create(market, seller, 1_000, 200_000, SELL, expiry)
    _, (trade,) = crossing(market, buyer, 1_000, 250_000, BUY, expiry)
    return market, token, trade


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
    market = project.EnergyTrading.deploy(admin, energy, stablecoin, fee_recipient, FEE_BPS, 1, sender=admin)
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

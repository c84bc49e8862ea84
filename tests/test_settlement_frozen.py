"""Settlement: accounts a token's issuer freezes cannot lock anyone else's settlement.

Settlement is an abstract base of EnergyTrading (one address). Every payout is a credit to an
EnergyVault balance, which no token can refuse: a frozen account is credited like any other and only
cannot withdraw from the vault until its issuer unfreezes it. Every custom error is asserted with all
of its arguments and every settlement event with all of its fields (support/helpers.py); shared helpers
are in support/market_helpers.py.
"""

from __future__ import annotations

import pytest

from support.helpers import (
    log,
    reverts,
)
from support.market_helpers import (
    BUY,
    SELL,
    book_on_own_vault,
    create,
    crossing,
    market_logs,
)


@pytest.fixture(scope="module", autouse=True)
def _deployed_first(funded_market, keeper, fee_recipient, stranger, admin):
    """Deploy and fund the market, and name the accounts, before any test's own state (ape isolation)."""


# ----------------------------------------------------------------------------- frozen accounts


@pytest.fixture
def frozen_cash_market(project, admin, vault, energy_token, fee_recipient, traders, chain):
    """A market paid in a USDC-style token whose owner (admin) can freeze accounts, on a vault of its
    own, and a pending trade in it: 1,000 Wh from a SELL at 0.20 to a BUY limited at 0.25 that
    crossed it (payment 200,000, fee 1,000, the buyer's refund 50,000); both escrows were pulled from
    the wallets."""
    seller, buyer = traders[0], traders[1]
    token = project.BlacklistToken.deploy(sender=admin)
    own_vault, market = book_on_own_vault(project, admin, energy_token, token, fee_recipient, 50, [seller, buyer])
    vault.withdraw(energy_token, 2_000, seller, sender=seller)
    token.mint(buyer, 10**12, sender=buyer)
    expiry = chain.pending_timestamp + 3_600
    create(market, seller, 1_000, 200_000, SELL, expiry)
    _, (trade,) = crossing(market, buyer, 1_000, 250_000, BUY, expiry)
    return own_vault, market, token, trade


def test_a_frozen_seller_does_not_lock_the_buyers_energy(frozen_cash_market, traders, admin, keeper, energy_token):
    """Review finding: a payment token freezing the seller after a match made settlement revert
    forever, and with the default window of 0 s nobody could void: the buyer's energy was locked.
    On the vault the settlement credits both, frozen or not."""
    own_vault, market, token, trade = frozen_cash_market
    seller, buyer = traders[0], traders[1]
    token.freeze(seller, sender=admin)
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
        )
    ]
    assert own_vault.balancesOf(buyer) == (1_000, 50_000)
    assert own_vault.balancesOf(seller) == (0, 199_000)
    assert own_vault.balancesOf(market) == (0, 1_000) and market.accruedFees() == 1_000
    # The buyer takes its energy and refund out at once; the frozen seller's proceeds wait in its balance.
    own_vault.withdraw(energy_token, 1_000, buyer, sender=buyer)
    own_vault.withdraw(token, 50_000, buyer, sender=buyer)
    with reverts(token.FrozenAccount, account=seller.address):
        own_vault.withdraw(token, 199_000, seller, sender=seller)
    assert own_vault.balancesOf(seller) == (0, 199_000)
    token.unfreeze(seller, sender=admin)
    own_vault.withdraw(token, 199_000, seller, sender=seller)
    assert token.balanceOf(seller) == 199_000
    assert token.balanceOf(own_vault) == 1_000  # the fee, the market's vault balance


def test_a_frozen_buyer_does_not_lock_the_sellers_proceeds(frozen_cash_market, traders, admin, keeper):
    own_vault, market, token, trade = frozen_cash_market
    seller, buyer = traders[0], traders[1]
    token.freeze(buyer, sender=admin)
    market.settleTransaction(trade, sender=keeper)
    assert own_vault.balancesOf(buyer) == (1_000, 50_000)
    own_vault.withdraw(token, 199_000, seller, sender=seller)
    assert token.balanceOf(seller) == 199_000


def test_a_frozen_buyer_does_not_block_a_void(frozen_cash_market, traders, admin, energy_token, chain):
    own_vault, market, token, _ = frozen_cash_market
    seller, buyer = traders[0], traders[1]
    market.setSettlementWindow(600, sender=admin)
    expiry = chain.pending_timestamp + 3_600
    create(market, seller, 1_000, 200_000, SELL, expiry)
    _, (trade,) = crossing(market, buyer, 1_000, 250_000, BUY, expiry)
    token.freeze(buyer, sender=admin)
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
        )
    ]
    assert own_vault.balancesOf(seller) == (1_000, 0)  # the seller's energy is back at once
    assert own_vault.balancesOf(buyer) == (0, 250_000)
    with reverts(token.FrozenAccount, account=buyer.address):
        own_vault.withdraw(token, 250_000, buyer, sender=buyer)
    own_vault.withdraw(energy_token, 1_000, seller, sender=seller)


def test_a_frozen_energy_leg_waits_for_the_buyer(project, admin, stablecoin, vault, fee_recipient, traders, keeper, chain):
    """The same for an energy token that freezes accounts: the buyer's Wh wait in its vault
    balance, the seller is paid."""
    seller, buyer = traders[0], traders[1]
    energy = project.BlacklistToken.deploy(sender=admin)
    own_vault, market = book_on_own_vault(project, admin, energy, stablecoin, fee_recipient, 50, [seller, buyer])
    energy.mint(seller, 1_000, sender=seller)
    vault.withdraw(stablecoin, 200_000, buyer, sender=buyer)
    expiry = chain.pending_timestamp + 3_600
    create(market, seller, 1_000, 200_000, SELL, expiry)
    _, (trade,) = crossing(market, buyer, 1_000, 200_000, BUY, expiry)
    energy.freeze(buyer, sender=admin)
    market.settleTransaction(trade, sender=keeper)
    assert own_vault.balancesOf(seller) == (0, 199_000)
    assert own_vault.balancesOf(buyer) == (1_000, 0)
    with reverts(energy.FrozenAccount, account=buyer.address):
        own_vault.withdraw(energy, 1_000, buyer, sender=buyer)
    energy.unfreeze(buyer, sender=admin)
    own_vault.withdraw(energy, 1_000, buyer, sender=buyer)
    assert energy.balanceOf(buyer) == 1_000
    assert energy.balanceOf(own_vault) == 0

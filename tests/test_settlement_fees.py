"""Settlement: grid fees, their rounding and withdrawal, and the rounding scheme of BUY escrow.

Settlement is an abstract base of EnergyTrading (one address). Every custom error is asserted
with all of its arguments and every settlement event with all of its fields (support/helpers.py); the
pending `trade` and `wallets` fixtures are in conftest.py, shared helpers in support/market_helpers.py.
"""

from __future__ import annotations

import pytest

from support.helpers import (
    DEFAULT_ADMIN_ROLE,
    ZERO_ADDRESS,
    log,
    reverts,
)
from support.market_helpers import (
    BUY,
    FEE_BPS,
    MAX_FEE_BPS,
    OPERATOR_ROLE,
    PRICE_CAP_PER_KWH,
    SELL,
    assert_vault_backed,
    book_on_own_vault,
    cost_ceil,
    create,
    crossing,
    market_logs,
)


@pytest.fixture(scope="module", autouse=True)
def _deployed_first(funded_market, keeper, fee_recipient, stranger, admin):
    """Deploy and fund the market, and name the accounts, before any test's own state (ape isolation)."""


# ----------------------------------------------------------------------------- fees


def test_fee_rounds_down_at_one_unit(m, vault, admin, seller, buyer, keeper, stablecoin, expiry):
    # 1 Wh at 1 unit per kWh costs 0.001 units: the buyer's escrow and payment round up to 1 unit,
    # the fee (0.5 % of 1 unit) rounds down to 0, so the seller gets the whole unit.
    create(m, seller, 1, 1, SELL, expiry)
    _, (trade,) = crossing(m, buyer, 1, 1, BUY, expiry)
    t = m.getTransaction(trade)
    assert (t.payment, t.fee, t.buyerRefund) == (1, 0, 0)
    cash = vault.balanceOf(stablecoin, seller)
    m.settleTransaction(trade, sender=keeper)
    assert vault.balanceOf(stablecoin, seller) == cash + 1
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
def test_fee_is_exact_at_large_values(project, admin, vault, energy_token, fee_recipient, traders, keeper, chain, fee_bps):
    """A payment token with a mint for anyone lets payments reach ~10^23 base units (12 MWh at the
    price cap, 2^64 - 1 per kWh), on a vault of its own that pulls the escrow from the wallets."""
    seller, buyer = traders[0], traders[1]
    cash = project.ReentrantToken.deploy(sender=admin)  # never armed here: a plain mintable ERC-20
    own_vault, market = book_on_own_vault(project, admin, energy_token, cash, fee_recipient, fee_bps, [seller, buyer])
    amount_wh, price = 12_345_679, PRICE_CAP_PER_KWH
    vault.withdraw(energy_token, amount_wh, seller, sender=seller)
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
    assert escrow > 10**23
    assert own_vault.balancesOf(seller) == (0, escrow - fee)
    assert own_vault.balancesOf(buyer) == (amount_wh, 0)
    assert cash.balanceOf(buyer) == 0
    assert own_vault.balancesOf(market) == (0, fee) and market.accruedFees() == fee
    market.withdrawFees(sender=fee_recipient)
    assert own_vault.balancesOf(fee_recipient) == (0, fee)
    assert own_vault.balancesOf(market) == (0, 0)
    assert cash.balanceOf(own_vault) == escrow


def test_accrued_fees_are_the_markets_vault_balance(m, vault, trade, keeper, fee_recipient, stablecoin, energy_token):
    """The fees accrue in the market's vault balance (bounded by the vault's 112-bit reserve, far
    inside the 160-bit field) and the withdrawal credits the recipient's vault balance."""
    market_before = vault.balancesOf(m)
    m.settleTransaction(trade, sender=keeper)
    assert vault.balancesOf(m) == (market_before[0] - 1_000, market_before[1] - 249_000)
    assert m.accruedFees() == 1_000
    tx = m.withdrawFees(sender=fee_recipient)
    assert tx.return_value == 1_000
    assert vault.balanceOf(stablecoin, fee_recipient) == 1_000
    assert vault.balancesOf(m) == (market_before[0] - 1_000, market_before[1] - 250_000)
    assert_vault_backed(vault, energy_token, stablecoin)


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


def test_fee_recipient_pulls_accrued_fees(m, vault, admin, trade, keeper, fee_recipient, stranger, stablecoin):
    m.settleTransaction(trade, sender=keeper)
    with reverts(m.NotFeeRecipient, caller=stranger.address, feeRecipient=fee_recipient.address):
        m.withdrawFees(sender=stranger)
    m.pause(sender=admin)  # fees already earned stay withdrawable during a pause
    cash = vault.balanceOf(stablecoin, fee_recipient)
    tx = m.withdrawFees(sender=fee_recipient)
    assert market_logs(tx, m) == [log(m.FeesWithdrawn, feeRecipient=fee_recipient.address, amount=1_000)]
    assert tx.events.filter(stablecoin.Transfer) == []  # vault balances moved, no token
    assert vault.balanceOf(stablecoin, fee_recipient) == cash + 1_000
    assert m.accruedFees() == 0
    with reverts(m.NoFeesAccrued):
        m.withdrawFees(sender=fee_recipient)


def test_fee_recipient_can_be_replaced(m, vault, admin, trade, keeper, fee_recipient, stranger, stablecoin):
    m.settleTransaction(trade, sender=keeper)
    with reverts(m.InvalidFeeRecipient, feeRecipient=ZERO_ADDRESS):
        m.setFeeRecipient(ZERO_ADDRESS, sender=admin)
    tx = m.setFeeRecipient(stranger, sender=admin)
    assert tx.events == [log(m.FeeRecipientUpdated, previousRecipient=fee_recipient.address, newRecipient=stranger.address)]
    assert m.feeRecipient() == stranger.address
    with reverts(m.NotFeeRecipient, caller=fee_recipient.address, feeRecipient=stranger.address):
        m.withdrawFees(sender=fee_recipient)
    m.withdrawFees(sender=stranger)  # fees accrued before the change go to the new recipient
    assert vault.balanceOf(stablecoin, stranger) == 1_000


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


def test_many_tiny_fills_never_take_more_than_the_escrow(m, vault, buyer, dave, keeper, stablecoin, expiry):
    # 3 Wh at 333 per kWh cost 0.999 units: the escrow is 1 unit. Rounding each 1 Wh fill up on
    # its own would charge 3 units; the carried remainder charges 1, 0, 0.
    cash = vault.balanceOf(stablecoin, buyer)
    buy_id = create(m, buyer, 3, 333, BUY, expiry)
    assert vault.balanceOf(stablecoin, buyer) == cash - 1
    trades = [m.fillOrder(buy_id, 1, sender=dave).events.filter(m.OrderTaken)[0].transactionId for _ in range(3)]
    assert [m.getTransaction(t).payment for t in trades] == [1, 0, 0]
    assert [m.getTransaction(t).buyerRefund for t in trades] == [0, 0, 0]
    dave_cash = vault.balanceOf(stablecoin, dave)
    m.settleTransactions(trades, sender=keeper)
    assert vault.balanceOf(stablecoin, dave) == dave_cash + 1
    assert vault.balanceOf(stablecoin, buyer) == cash - 1


def test_escrow_dust_goes_back_with_the_last_fill(m, vault, seller, buyer, keeper, stablecoin, expiry):
    # Seven 1 Wh asks rest at 999; a bid for 7 Wh at 1,001 escrows ceil(7.007) = 8 units.
    asks = [create(m, seller, 1, 999, SELL, expiry) for _ in range(7)]
    cash = vault.balanceOf(stablecoin, buyer)
    buy_id, trades = crossing(m, buyer, 7, 1_001, BUY, expiry)  # takes all seven at once, oldest first
    assert vault.balanceOf(stablecoin, buyer) == cash - 8
    assert [m.getTransaction(t).sellOrderId for t in trades] == asks
    infos = [m.getTransaction(t) for t in trades]
    # Energy cost 7 * 0.999 = 6.993 units: payments 1 each (ceil 0.999, 1.998, ...), improvement
    # 7 * 0.002 = 0.014 rounds to 0, and the 8th escrow unit returns with the filling trade.
    assert [t.payment for t in infos] == [1] * 7
    assert [t.buyerRefund for t in infos] == [0] * 6 + [1]
    assert m.getOrderInfo(buy_id).escrow == 0
    m.settleTransactions(trades, sender=keeper)
    assert vault.balanceOf(stablecoin, buyer) == cash - 7


def test_partial_fill_payments_add_up_exactly(m, vault, seller, buyer, carol, dave, keeper, stablecoin, expiry):
    asks = [
        (create(m, seller, 333, 333_331, SELL, expiry), 333, 333_331),
        (create(m, carol, 333, 300_001, SELL, expiry), 333, 300_001),
        (create(m, dave, 400, 333_333, SELL, expiry), 334, 333_333),
    ]
    cash = vault.balanceOf(stablecoin, buyer)
    buy_price = 333_337
    _buy_id, trades = crossing(m, buyer, 1_000, buy_price, BUY, expiry)  # takes all three at once
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
    assert vault.balanceOf(stablecoin, buyer) == cash - -(-cost_milli // 1_000)

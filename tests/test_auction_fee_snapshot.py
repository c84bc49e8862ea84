"""A seller in the EnergyAuction never pays a grid fee above the one in force when they submitted.

A market's fee rate is fixed when its first order arrives; an ask submitted later lowers it to the fee
then in force if that is lower. A raise therefore applies only to markets opened after it, and a cut
reaches every market that takes an ask after it, and stays there even if the fee rises again before
the market clears.
"""

from __future__ import annotations

import pytest

from support.auction_helpers import FEE_BPS, close_gate, holdings, level_money, open_period, price, submit
from support.helpers import assert_logs, log

RAISED_BPS = 1_000  # MAX_FEE_BPS
CUT_BPS = 10
AMOUNT_WH = 10_000


@pytest.fixture(scope="module", autouse=True)
def _deployed_first(funded_auction, vault, auction_traders, keeper, admin):
    """Deploy and fund the auction, and name the accounts, before any test's own state (ape isolation)."""


def ask_fee(fee_bps: int) -> int:
    """The fee of one AMOUNT_WH ask that fills in full at tick 150 (bid at 200, ask at 100)."""
    return level_money(0, AMOUNT_WH, price(150), fee_bps)[2]


def clear(a, keeper, chain, period):
    close_gate(chain, period)
    return a.clear(period, sender=keeper)


def test_a_fee_raise_after_an_ask_does_not_apply_to_it(a, vault, admin, alice, bob, keeper, chain):
    period = open_period(chain)
    submit(a, alice, period, True, AMOUNT_WH, 200)
    ask = submit(a, bob, period, False, AMOUNT_WH, 100)
    a.setGridFee(RAISED_BPS, sender=admin)
    later_ask = submit(a, bob, period, False, AMOUNT_WH, 201)  # after the raise, above the bid: the market's rate holds
    tx = clear(a, keeper, chain, period)
    assert a.getMarket(period).feeBps == FEE_BPS
    assert [e.feeBps for e in tx.decode_logs(a.MarketCleared)] == [FEE_BPS]
    assert a.getOrderOutcome(ask).fee == ask_fee(FEE_BPS)
    assert a.getOrderOutcome(later_ask).filledWh == 0
    gross, fee = AMOUNT_WH * price(150) // 1_000, ask_fee(FEE_BPS)
    bob_wh, bob_cash = holdings(vault, [bob])[0]
    tx = a.claim(ask, sender=keeper)
    assert_logs(
        tx,
        log(a.OrderClaimed, orderId=ask, trader=bob.address, isBid=False, filledWh=AMOUNT_WH, payment=gross, fee=fee, refund=0),
    )
    assert holdings(vault, [bob])[0] == (bob_wh, bob_cash + gross - fee)  # the proceeds at the market's rate, in the vault
    assert a.getOrderOutcome(ask).claimed


def test_a_raise_applies_to_markets_opened_after_it(a, admin, alice, bob, keeper, chain):
    period = open_period(chain)
    a.setGridFee(RAISED_BPS, sender=admin)
    submit(a, bob, period, False, AMOUNT_WH, 100)
    submit(a, alice, period, True, AMOUNT_WH, 200)
    clear(a, keeper, chain, period)
    assert a.getMarket(period).feeBps == RAISED_BPS


def test_a_cut_then_a_raise_leaves_later_sellers_the_cut(a, admin, alice, bob, keeper, chain):
    period = open_period(chain)
    submit(a, alice, period, True, AMOUNT_WH, 200)  # the market opens at FEE_BPS
    a.setGridFee(CUT_BPS, sender=admin)
    ask = submit(a, bob, period, False, AMOUNT_WH, 100)  # submitted under the cut
    assert a.getMarket(period).feeBps == CUT_BPS  # visible before the market clears
    a.setGridFee(RAISED_BPS, sender=admin)
    clear(a, keeper, chain, period)
    assert a.getMarket(period).feeBps == CUT_BPS  # visible before the market clears
    assert a.getOrderOutcome(ask).fee == ask_fee(CUT_BPS)


def test_a_cut_reaches_only_markets_taking_an_ask_after_it(a, admin, alice, bob, keeper, chain):
    period = open_period(chain)
    bid_only_after = period + 1
    ask = submit(a, bob, period, False, AMOUNT_WH, 100)
    submit(a, bob, bid_only_after, False, AMOUNT_WH, 100)
    a.setGridFee(CUT_BPS, sender=admin)
    submit(a, alice, period, True, AMOUNT_WH, 200)
    submit(a, alice, period, False, 1, 201)  # an ask under the cut (above the bid: unfilled): the market's rate follows
    submit(a, alice, bid_only_after, True, AMOUNT_WH, 200)  # a bid does not move it: its sellers agreed to FEE_BPS
    clear(a, keeper, chain, period)
    clear(a, keeper, chain, bid_only_after)
    assert (a.getMarket(period).feeBps, a.getMarket(bid_only_after).feeBps) == (CUT_BPS, FEE_BPS)
    assert a.getOrderOutcome(ask).fee == level_money(0, AMOUNT_WH, price(150), CUT_BPS)[2]


def test_a_market_without_orders_clears_at_the_fee_in_force(a, admin, keeper, chain):
    period = open_period(chain)
    a.setGridFee(CUT_BPS, sender=admin)
    tx = clear(a, keeper, chain, period)
    assert [e.feeBps for e in tx.decode_logs(a.MarketCleared)] == [CUT_BPS]
    assert a.getMarket(period).feeBps == CUT_BPS  # visible before the market clears

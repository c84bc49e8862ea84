"""A paused EnergyAuction takes no new bids or asks, but every escrow keeps its way out: markets whose
gate has closed still clear (anyone), their orders still claim, and the fee recipient still withdraws.
A pause that lasts as long as the timelock that lifts it holds nobody's money meanwhile.

EnergyAssetShares keeps the same rule (holders claim, transfer and recombine while it is paused):
tests/test_energy_asset_shares.py::test_pause_stops_split_and_deposits_only.
"""

from __future__ import annotations

import pytest

from support.auction_helpers import MIN_PRICE, close_gate, cost_ceil, holdings, open_period, order_period, price, submit
from support.helpers import assert_logs, log, reverts


@pytest.fixture(scope="module", autouse=True)
def _deployed_first(funded_auction, vault, auction_traders, keeper, fee_recipient, stranger, admin):
    """Deploy and fund the auction, and name the accounts, before any test's own state (ape isolation)."""


def test_a_paused_auction_still_clears_and_pays_out_every_order(
    a, vault, admin, auction_traders, keeper, stranger, fee_recipient, chain, energy_token
):
    """Claims and the fee withdrawal credit vault balances (the traders' and the recipient's), out of
    the auction's: paused, it ends with an empty vault balance."""
    alice, bob = auction_traders[:2]
    period = open_period(chain)
    bid = submit(a, alice, period, True, 2_000, 150)
    ask = submit(a, bob, period, False, 1_000, 100)
    alice_before, bob_before, fees_before = holdings(vault, [alice, bob, fee_recipient])
    a.pause(sender=admin)
    close_gate(chain, period)
    tx = a.clear(period, sender=stranger)
    assert a.getMarket(period).cleared and a.getMarket(period).volumeWh == 1_000
    assert len(list(tx.decode_logs(a.MarketCleared))) == 1
    a.claim(bid, sender=keeper)
    a.claim(ask, sender=keeper)
    bid_out, ask_out = a.getOrderOutcome(bid), a.getOrderOutcome(ask)
    assert bid_out.claimed and ask_out.claimed
    assert bid_out.refund == cost_ceil(2_000, price(150)) - bid_out.payment
    assert holdings(vault, [alice])[0] == (alice_before[0] + 1_000, alice_before[1] + bid_out.refund)
    assert holdings(vault, [bob])[0] == (bob_before[0], bob_before[1] + ask_out.payment - ask_out.fee)
    fees = bid_out.payment - ask_out.payment + ask_out.fee
    tx = a.withdrawFees(sender=fee_recipient)
    assert_logs(tx, log(a.FeesWithdrawn, feeRecipient=fee_recipient.address, amount=fees))
    assert holdings(vault, [fee_recipient])[0] == (fees_before[0], fees_before[1] + fees)
    # Nothing of the market is left in the auction's vault balance.
    assert holdings(vault, [a])[0] == (0, 0)
    assert a.paused()
    # And the vault, which the auction's pause does not reach, pays the bought energy out to the wallet.
    wallet = energy_token.balanceOf(alice)
    vault.withdraw(energy_token, 1_000, alice, sender=alice)
    assert energy_token.balanceOf(alice) == wallet + 1_000


def test_a_paused_auction_refuses_new_bids_and_asks_only(a, admin, auction_traders, keeper, chain):
    alice, bob = auction_traders[:2]
    period = open_period(chain)
    a.pause(sender=admin)
    with reverts(a.EnforcedPause):
        a.submitBid(period, 1_000, MIN_PRICE, sender=alice)
    with reverts(a.EnforcedPause):
        a.submitAsk(period, 1_000, MIN_PRICE, sender=bob)
    close_gate(chain, period)
    a.clear(period, sender=keeper)  # a market without orders clears too, and takes none afterwards
    assert a.getMarket(period).cleared and a.getMarket(period).orderCount == 0
    a.unpause(sender=admin)
    later = open_period(chain)
    assert order_period(submit(a, alice, later, True, 1_000, 0)) == later

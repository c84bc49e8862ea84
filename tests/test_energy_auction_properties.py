"""EnergyAuction against the Python reference clearing (energy_grid.domain.auction, written from the issue's
text) on random books, ties, empty sides, one order and all orders at one tick among them:

- clearing tick, price and traded volume equal the reference's, and so does every order's fill;
- every order's payment, gross, fee and refund follow the per-level running totals of the rules
  (recomputed here from the reference's fills), and the accrued fees are the market's surplus;
- claims in random order, with conservation after every one: for each token the traders', the fee
  recipient's and the auction's EnergyVault balances add up to what they held before, and the
  auction's balance is exactly what it still owes plus the accrued fees; after every claim and the
  fee withdrawal it holds nothing. No token moves meanwhile: the vault's token balances stay its
  reserves, and the traders' wallets are untouched.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Any

import ape
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from energy_grid.domain.auction import AuctionOrder, clear_market, price_of

from support.auction_helpers import FEE_BPS, N_TICKS, close_gate, cost_ceil, level_money, open_period, price, submit
from support.market_helpers import token_balances, vault_balances

N_TRADERS = 6
# Round amounts make equal curves (ties) likely; odd ones make the rounding bite.
amounts = st.one_of(st.sampled_from([100, 250, 500, 1_000]), st.integers(1, 3_000))
# Most orders near one price so that books cross and tie; now and then the grid's ends or anywhere.
ticks = st.one_of(st.integers(100, 104), st.integers(100, 104), st.sampled_from([0, 255]), st.integers(0, 255))
orders = st.tuples(st.integers(0, N_TRADERS - 1), st.booleans(), amounts, ticks)
books = st.one_of(
    st.lists(orders, max_size=12),
    # All orders at one tick.
    st.tuples(st.integers(0, 255), st.lists(orders, min_size=1, max_size=8)).map(
        lambda pair: [(who, is_bid, amount, pair[0]) for who, is_bid, amount, _ in pair[1]]
    ),
    # One side only.
    st.tuples(st.booleans(), st.lists(orders, min_size=1, max_size=6)).map(
        lambda pair: [(who, pair[0], amount, tick) for who, _, amount, tick in pair[1]]
    ),
)


@dataclass
class Expected:
    """What one order gets, from the reference's fills and the money rules."""

    is_bid: bool
    filled_wh: int
    payment: int
    fee: int
    refund: int


@pytest.fixture(scope="module", autouse=True)
def _deployed_first(funded_auction, vault, auction_traders, keeper, fee_recipient, admin):
    """Deploy and fund the auction, and name the accounts, before any test's own state (ape isolation)."""


def balances(vault: Any, holders: list[str]) -> list[tuple[int, int]]:
    """(energy, cash) vault balance of each holder, in one JSON-RPC batch."""
    return vault_balances(vault.address, holders)


def tokens_held(tokens: tuple[Any, Any], vault: Any, holders: list[str]) -> list[tuple[int, ...]]:
    """(energy, cash) token balance of the vault and of each holder, in one JSON-RPC batch."""
    return token_balances([token.address for token in tokens], [vault.address, *holders])


def expected_outcomes(book: list[AuctionOrder], fills: dict[int, int], tick: int) -> dict[int, Expected]:
    """Each order's money under the rules: per (side, tick) level, running totals of the fills."""
    clearing_price = price(tick)
    filled_so_far: dict[tuple[bool, int], int] = {}
    out = {}
    for order in book:
        level = (order.is_bid, order.tick)
        before = filled_so_far.get(level, 0)
        after = before + fills[order.order_id]
        filled_so_far[level] = after
        payment, gross, fee = level_money(before, after, clearing_price, FEE_BPS)
        if order.is_bid:
            escrow = cost_ceil(order.amount_wh, price(order.tick))
            out[order.order_id] = Expected(True, after - before, payment, 0, escrow - payment)
        else:
            out[order.order_id] = Expected(False, after - before, gross, fee, order.amount_wh - (after - before))
    return out


@settings(
    max_examples=30,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(book=books, claim_seed=st.integers(0, 2**32))
@example(book=[], claim_seed=0)
@example(book=[(0, True, 1_000, 100)], claim_seed=0)
@example(book=[(0, False, 1_000, 100)], claim_seed=0)
@example(book=[(0, True, 500, 101), (1, False, 500, 101), (2, True, 500, 101), (3, False, 500, 101)], claim_seed=1)
@example(book=[(0, True, 300, 104), (1, True, 700, 104), (2, False, 1_000, 100), (3, False, 999, 100)], claim_seed=2)
@example(book=[(0, False, 1, 0), (1, True, 1, 255)], claim_seed=3)
def test_contract_clears_as_the_reference_and_conserves_value(
    funded_auction, vault, auction_traders, keeper, fee_recipient, energy_token, stablecoin, book, claim_seed
):
    auction = funded_auction
    # Not `chain.isolate()`: it swallows exceptions, failed assertions included (ape 0.8.51).
    snapshot = ape.chain.snapshot()
    try:
        run(auction, vault, auction_traders, keeper, fee_recipient, (energy_token, stablecoin), book, claim_seed)
    finally:
        ape.chain.restore(snapshot)


def run(
    auction: Any,
    vault: Any,
    traders: Any,
    keeper: Any,
    fee_recipient: Any,
    tokens: tuple[Any, Any],
    book: list[tuple[int, bool, int, int]],
    claim_seed: int,
) -> None:
    chain = ape.chain
    holders = [t.address for t in traders] + [fee_recipient.address, auction.address]
    start = balances(vault, holders)
    totals = (sum(b[0] for b in start), sum(b[1] for b in start))
    wallets = tokens_held(tokens, vault, holders)
    assert wallets[0] == tuple(vault.reserves())  # the vault's tokens are its balances

    period = open_period(chain)
    reference_book = []
    for who, is_bid, amount, tick in book:
        order_id = submit(auction, traders[who], period, is_bid, amount, tick)
        reference_book.append(AuctionOrder(order_id, is_bid, amount, tick))
    close_gate(chain, period)
    auction.clear(period, sender=keeper)

    reference = clear_market(reference_book, N_TICKS)
    market = auction.getMarket(period)
    assert market.cleared
    assert market.clearingTick == reference.tick
    assert market.clearingPricePerKWh == price_of(reference.tick, market.minPricePerKWh, market.tickSizePerKWh) == price(reference.tick)
    assert market.volumeWh == reference.volume_wh
    assert market.orderCount == len(book)

    expected = expected_outcomes(reference_book, reference.fills_wh, reference.tick)
    payments = sum(e.payment for e in expected.values() if e.is_bid)
    gross = sum(e.payment for e in expected.values() if not e.is_bid)
    fees = sum(e.fee for e in expected.values())
    assert sum(e.filled_wh for e in expected.values() if e.is_bid) == reference.volume_wh
    assert auction.accruedFees() == payments - gross + fees
    for order in reference_book:
        outcome = auction.getOrderOutcome(order.order_id)
        e = expected[order.order_id]
        assert outcome.filledWh == reference.fills_wh[order.order_id] == e.filled_wh
        assert (outcome.payment, outcome.fee, outcome.refund, outcome.claimed) == (e.payment, e.fee, e.refund, False)
        if order.is_bid:
            # Never more than the fill's own value rounded up, so never more than the escrow.
            assert outcome.payment <= cost_ceil(outcome.filledWh, price(reference.tick))
        else:
            assert outcome.fee <= -(-outcome.payment * FEE_BPS // 10_000)

    # Claims by a keeper in random order; the auction must hold exactly what it still owes.
    pending = {o.order_id: expected[o.order_id] for o in reference_book}
    claim_order = list(pending)
    random.Random(claim_seed).shuffle(claim_order)
    accrued = auction.accruedFees()
    for order_id in claim_order:
        auction.claim(order_id, sender=keeper)
        del pending[order_id]
        now = balances(vault, holders)
        assert (sum(b[0] for b in now), sum(b[1] for b in now)) == totals
        owed_energy = sum(e.filled_wh if e.is_bid else e.refund for e in pending.values())
        owed_cash = sum(e.refund if e.is_bid else e.payment - e.fee for e in pending.values())
        assert now[-1] == (owed_energy, owed_cash + accrued)
    if accrued:
        auction.withdrawFees(sender=fee_recipient)
    final = balances(vault, holders)
    assert final[-1] == (0, 0)
    assert (sum(b[0] for b in final), sum(b[1] for b in final)) == totals
    assert tokens_held(tokens, vault, holders) == wallets  # only vault balances moved, never a token

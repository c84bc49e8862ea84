"""energy_grid.domain.auction, the Python clearing rule: each tie rule and the rationing on hand-made books,
and the rule's guarantees on random books. The contract is compared against it in
test_energy_auction_properties.py."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from energy_grid.domain.auction import AuctionOrder, clear_market, competitive_ticks, curves, price_of, ration

from support.coupled_books import fill_range

N_TICKS = 10


def bid(order_id: int, amount_wh: int, tick: int) -> AuctionOrder:
    return AuctionOrder(order_id, True, amount_wh, tick)


def ask(order_id: int, amount_wh: int, tick: int) -> AuctionOrder:
    return AuctionOrder(order_id, False, amount_wh, tick)


def test_curves_accumulate_bids_from_the_top_and_asks_from_the_bottom():
    demand, supply = curves([bid(1, 5, 2), bid(2, 7, 0), ask(3, 3, 1)], 4)
    assert demand == [12, 5, 5, 0]
    assert supply == [0, 3, 3, 3]


def test_price_of_a_tick():
    assert price_of(0, 50_000, 1_000) == 50_000
    assert price_of(7, 50_000, 1_000) == 57_000


def test_the_middle_of_the_competitive_ticks_prices():
    # Both fill in full at any tick from the ask's 2 to the bid's 5: the middle, 2 + 3 // 2.
    result = clear_market([ask(1, 100, 2), bid(2, 100, 5)], N_TICKS)
    assert (result.tick, result.volume_wh, result.fills_wh) == (3, 100, {1: 100, 2: 100})


def test_a_rationed_ask_level_is_the_price():
    # 110 Wh of asks reach the bid's 100 at tick 3: the asks at 3 share what is left, so 3 is the price.
    orders = [bid(1, 100, 4), ask(2, 60, 1), ask(3, 50, 3)]
    result = clear_market(orders, N_TICKS)
    assert (result.tick, result.volume_wh) == (3, 100)
    assert result.fills_wh == {1: 100, 2: 60, 3: 40}


def test_a_bid_left_out_keeps_the_price_at_or_above_its_limit():
    # min(D, S) = 40 from tick 3 to 8, but below 5 the 60 Wh bid at 5 would be in the money and left out:
    # the competitive ticks are 5 … 8, and their middle is 6.
    orders = [bid(1, 40, 8), bid(2, 60, 5), ask(3, 40, 3)]
    demand, supply = curves(orders, N_TICKS)
    assert [min(d, s) for d, s in zip(demand, supply, strict=True)][3:9] == [40] * 6
    assert competitive_ticks(demand, supply) == (5, 8)
    result = clear_market(orders, N_TICKS)
    assert (result.tick, result.volume_wh) == (6, 40)
    assert result.fills_wh == {1: 40, 2: 0, 3: 40}


def test_a_rationed_bid_level_is_the_price():
    # Bids: 100 Wh at tick 9 (two orders). Asks 30 at 0 and 40 at 5: 70 trade at any tick from 5 to 9, but
    # the bids at 9 are rationed, and below 9 they would be in the money and left short: only 9 is competitive.
    orders = [bid(1, 50, 9), bid(2, 50, 9), ask(3, 30, 0), ask(4, 40, 5)]
    result = clear_market(orders, N_TICKS)
    assert (result.tick, result.volume_wh) == (9, 70)
    assert result.fills_wh == {1: 35, 2: 35, 3: 30, 4: 40}


def test_buyers_wanting_twice_what_is_offered_set_the_price_at_their_limit():
    # A bid of 10,000 Wh at tick 20 and an ask of 5,000 at tick 0 trade 5,000 at any tick from 0 to 20; at any
    # tick below 20 buyers want twice what is offered, so the only price where supply meets demand is 20.
    result = clear_market([bid(1, 10_000, 20), ask(2, 5_000, 0)], 256)
    assert (result.tick, result.volume_wh, result.fills_wh) == (20, 5_000, {1: 5_000, 2: 5_000})


def test_running_totals_share_the_rest_in_arrival_order():
    level = [bid(1, 1, 0), bid(2, 1, 0), bid(3, 1, 0)]
    assert ration(level, 2) == {1: 0, 2: 1, 3: 1}
    assert ration([bid(1, 7, 0), bid(2, 3, 0), bid(3, 5, 0)], 11) == {1: 5, 2: 2, 3: 4}


@pytest.mark.parametrize(
    ("orders", "tick"),
    [
        ([], 4),  # empty market: every tick is competitive, the middle of the whole grid
        ([bid(1, 10, 3)], 6),  # bids only: no bid may be in the money, so 3 … 9
        ([ask(1, 10, 3)], 1),  # asks only: 0 … 3
        ([bid(1, 10, 2), ask(2, 10, 7)], 4),  # no crossing: between them, 2 … 7
    ],
)
def test_markets_without_a_crossing_trade_nothing(orders, tick):
    result = clear_market(orders, N_TICKS)
    assert (result.tick, result.volume_wh) == (tick, 0)
    assert set(result.fills_wh.values()) <= {0}


def test_a_tick_off_the_grid_is_refused():
    with pytest.raises(ValueError, match="tick 10 is not on a grid of 10 ticks"):
        clear_market([bid(1, 1, 10)], N_TICKS)


books = st.lists(
    st.tuples(st.booleans(), st.integers(1, 1_000), st.integers(0, N_TICKS - 1)),
    max_size=25,
).map(lambda rows: [AuctionOrder(i + 1, *row) for i, row in enumerate(rows)])


@settings(max_examples=300, derandomize=True, deadline=None)
@given(books)
def test_every_clearing_keeps_the_rules_guarantees(orders):
    result = clear_market(orders, N_TICKS)
    demand, supply = curves(orders, N_TICKS)
    traded = [min(d, s) for d, s in zip(demand, supply, strict=True)]
    assert result.volume_wh == traded[result.tick] == max(traded)
    for is_bid in (True, False):
        side = [order for order in orders if order.is_bid == is_bid]
        assert sum(result.fills_wh[order.order_id] for order in side) == result.volume_wh
        for order in side:
            fill = result.fills_wh[order.order_id]
            assert 0 <= fill <= order.amount_wh
            if fill:  # every trade at a price inside the order's limit
                assert order.tick >= result.tick if is_bid else order.tick <= result.tick
    short_bids = demand[result.tick] <= supply[result.tick]
    for order in orders:
        if order.is_bid == short_bids and (order.tick >= result.tick if order.is_bid else order.tick <= result.tick):
            assert result.fills_wh[order.order_id] == order.amount_wh
    # Competitive: every order strictly in the money fills in full, only orders at the price are rationed, and
    # the price is the middle of the ticks at which that holds for these fills.
    low, high = fill_range(orders, result.fills_wh, N_TICKS)
    assert result.tick == low + (high - low) // 2
    for order in orders:
        in_the_money = order.tick > result.tick if order.is_bid else order.tick < result.tick
        if in_the_money:
            assert result.fills_wh[order.order_id] == order.amount_wh

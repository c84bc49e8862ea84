"""energy_grid.domain.auction, the Python clearing rule: each tie rule and the rationing on hand-made books,
and the rule's guarantees on random books. The contract is compared against it in
test_energy_auction_properties.py."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from energy_grid.domain.auction import AuctionOrder, clear_market, curves, price_of, ration

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


def test_volume_first_then_midpoint_of_the_flat_range():
    # min(D, S) = 100 on ticks 2..5 with D = S: the midpoint 2 + 3 // 2.
    result = clear_market([ask(1, 100, 2), bid(2, 100, 5)], N_TICKS)
    assert (result.tick, result.volume_wh, result.fills_wh) == (3, 100, {1: 100, 2: 100})


def test_least_imbalance_breaks_a_volume_tie():
    # min(D, S) = 60 on ticks 1..2 and 3..4 gives 100: max at 3..4; |D - S| = 10 at both, midpoint 3.
    # Asks are long (110 offered at tick 3): tick 1 fills in full, tick 3 shares what is left.
    orders = [bid(1, 100, 4), ask(2, 60, 1), ask(3, 50, 3)]
    result = clear_market(orders, N_TICKS)
    assert (result.tick, result.volume_wh) == (3, 100)
    assert result.fills_wh == {1: 100, 2: 60, 3: 40}


def test_imbalance_narrows_the_range_before_the_midpoint():
    # min(D, S) = 40 from tick 3 to 8; |D - S| is 60 at 3..5 and 0 at 6..8: tick 7.
    orders = [bid(1, 40, 8), bid(2, 60, 5), ask(3, 40, 3)]
    demand, supply = curves(orders, N_TICKS)
    assert [min(d, s) for d, s in zip(demand, supply, strict=True)][3:9] == [40] * 6
    result = clear_market(orders, N_TICKS)
    assert (result.tick, result.volume_wh) == (7, 40)
    assert result.fills_wh == {1: 40, 2: 0, 3: 40}


def test_the_marginal_level_can_be_better_than_the_clearing_price():
    # Bids: 100 Wh at tick 9 (two orders). Asks 30 at 0 and 40 at 5: 70 traded on ticks 5..9, midpoint 7.
    orders = [bid(1, 50, 9), bid(2, 50, 9), ask(3, 30, 0), ask(4, 40, 5)]
    result = clear_market(orders, N_TICKS)
    assert (result.tick, result.volume_wh) == (7, 70)
    assert result.fills_wh == {1: 35, 2: 35, 3: 30, 4: 40}


def test_running_totals_share_the_rest_in_arrival_order():
    level = [bid(1, 1, 0), bid(2, 1, 0), bid(3, 1, 0)]
    assert ration(level, 2) == {1: 0, 2: 1, 3: 1}
    assert ration([bid(1, 7, 0), bid(2, 3, 0), bid(3, 5, 0)], 11) == {1: 5, 2: 2, 3: 4}


@pytest.mark.parametrize(
    ("orders", "tick"),
    [
        ([], 4),  # empty market: every tick ties, the midpoint of the whole grid
        ([bid(1, 10, 3)], 6),  # bids only: |D - S| = 0 above tick 3, midpoint of 4..9
        ([ask(1, 10, 3)], 1),  # asks only: |D - S| = 0 below tick 3, midpoint of 0..2
        ([bid(1, 10, 2), ask(2, 10, 7)], 4),  # no crossing: |D - S| = 0 only between them, 3..6
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

"""The AuctionClearing library through AuctionClearingHarness, against the Python reference clearing
(energy_grid.domain.auction): the clearing tick, the traded volume and every order's fill on hand-made
books (ties, one-sided and empty books) and on random ones; and the money each order gets, to the
unit, against the rounding rule written out here (each level rounds once, on running totals)."""

from __future__ import annotations

from collections import namedtuple
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from energy_grid.domain.auction import AuctionOrder, clear_market, price_of

N_TICKS = 10
MIN_PRICE, TICK_SIZE = 50_000, 1_237  # a tick size that leaves remainders at every rounding
FEE_BPS = 250
LONG_SIDE = {0: "NONE", 1: "BIDS", 2: "ASKS"}
Result = namedtuple(
    "Result",
    "opened clearingTick marginalTick longSide feeBps clearingPricePerKWh volumeWh rationedWh marginalLevelWh",
)
Outcome = namedtuple("Outcome", "filledWh payment fee refund claimed")


@pytest.fixture(scope="module")
def harness(project, admin):
    return admin.deploy(project.AuctionClearingHarness)


def ceil_div(a: int, b: int) -> int:
    return -(-a // b)


def expected_money(orders: list[AuctionOrder], fills: dict[int, int], tick: int, fee_bps: int) -> dict[int, tuple[int, int, int]]:
    """(payment, fee, refund) of each order: on each level (side and tick), the running filled
    volume F0 before an order and F1 with it; a bid pays ceil(F1 P / 1000) - ceil(F0 P / 1000) and gets
    back its escrow ceil(A L / 1000) less that; an ask grosses floor(F1 P / 1000) - floor(F0 P / 1000)
    and pays floor(G1 fee / 10^4) - floor(G0 fee / 10^4), its unsold Wh back."""
    price = price_of(tick, MIN_PRICE, TICK_SIZE)
    running: dict[tuple[bool, int], int] = {}
    money = {}
    for order in orders:
        level = (order.is_bid, order.tick)
        f0 = running.get(level, 0)
        f1 = f0 + fills[order.order_id]
        running[level] = f1
        if order.is_bid:
            payment = ceil_div(f1 * price, 1_000) - ceil_div(f0 * price, 1_000)
            escrow = ceil_div(order.amount_wh * price_of(order.tick, MIN_PRICE, TICK_SIZE), 1_000)
            money[order.order_id] = (payment, 0, escrow - payment)
        else:
            g0, g1 = f0 * price // 1_000, f1 * price // 1_000
            money[order.order_id] = (g1 - g0, g1 * fee_bps // 10_000 - g0 * fee_bps // 10_000, order.amount_wh - fills[order.order_id])
    return money


def check_against_reference(harness: Any, orders: list[AuctionOrder], fee_bps: int = FEE_BPS) -> None:
    book = [(order.is_bid, order.amount_wh, order.tick) for order in orders]
    raw_result, surplus, raw_outcomes = harness.clearBook.call(N_TICKS, MIN_PRICE, TICK_SIZE, fee_bps, book)
    result = Result(*raw_result)
    outcomes = [Outcome(*outcome) for outcome in raw_outcomes]
    reference = clear_market(orders, N_TICKS)
    assert result.clearingTick == reference.tick
    assert result.volumeWh == reference.volume_wh
    assert result.clearingPricePerKWh == price_of(reference.tick, MIN_PRICE, TICK_SIZE)
    assert result.feeBps == fee_bps
    money = expected_money(orders, reference.fills_wh, reference.tick, fee_bps)
    for order, outcome in zip(orders, outcomes, strict=True):
        assert outcome.filledWh == reference.fills_wh[order.order_id], order
        assert (outcome.payment, outcome.fee, outcome.refund) == money[order.order_id], order
        assert not outcome.claimed
    # What clearing accrues is what the bids pay beyond what the asks net, per level rounded once.
    bids_pay = sum(money[o.order_id][0] for o in orders if o.is_bid)
    asks_net = sum(money[o.order_id][0] - money[o.order_id][1] for o in orders if not o.is_bid)
    assert surplus == (bids_pay - asks_net if reference.volume_wh else 0)
    # A long side names its marginal level: L of its T Wh trade there.
    if reference.volume_wh == 0:
        assert LONG_SIDE[result.longSide] == "NONE"
        return
    for is_bid, name in ((True, "BIDS"), (False, "ASKS")):
        reached = [o for o in orders if o.is_bid == is_bid and (o.tick >= reference.tick if is_bid else o.tick <= reference.tick)]
        left_behind = sum(o.amount_wh for o in reached) > reference.volume_wh
        assert (LONG_SIDE[result.longSide] == name) == left_behind
    if LONG_SIDE[result.longSide] != "NONE":
        is_bid = LONG_SIDE[result.longSide] == "BIDS"
        level = [o for o in orders if o.is_bid == is_bid and o.tick == result.marginalTick]
        assert result.marginalLevelWh == sum(o.amount_wh for o in level)
        assert result.rationedWh == sum(reference.fills_wh[o.order_id] for o in level)


def bid(order_id: int, amount_wh: int, tick: int) -> AuctionOrder:
    return AuctionOrder(order_id, True, amount_wh, tick)


def ask(order_id: int, amount_wh: int, tick: int) -> AuctionOrder:
    return AuctionOrder(order_id, False, amount_wh, tick)


@pytest.mark.parametrize(
    "orders",
    [
        pytest.param([], id="empty book: the middle of the whole grid"),
        pytest.param([bid(1, 10, 3)], id="bids only"),
        pytest.param([ask(1, 10, 3)], id="asks only"),
        pytest.param([bid(1, 10, 2), ask(2, 10, 7)], id="no crossing"),
        pytest.param([ask(1, 100, 2), bid(2, 100, 5)], id="both fill in full: the middle of the competitive ticks"),
        pytest.param([bid(1, 100, 4), ask(2, 60, 1), ask(3, 50, 3)], id="a rationed ask level is the price"),
        pytest.param([bid(1, 40, 8), bid(2, 60, 5), ask(3, 40, 3)], id="a bid left out bounds the price from below"),
        pytest.param([bid(1, 50, 9), bid(2, 50, 9), ask(3, 30, 0), ask(4, 40, 5)], id="a rationed bid level is the price"),
        pytest.param([bid(1, 1, 4), bid(2, 1, 4), bid(3, 1, 4), ask(4, 2, 0)], id="rationing in arrival order"),
        pytest.param([bid(1, 7, 9), ask(2, 7, 0)], id="the grid's two ends"),
        pytest.param([bid(1, 10_000, 9), ask(2, 5_000, 0)], id="buyers wanting twice the offer: their limit"),
    ],
)
def test_hand_made_books_clear_as_the_reference(harness, orders):
    check_against_reference(harness, orders)


books = st.lists(
    st.tuples(st.booleans(), st.integers(1, 5_000), st.integers(0, N_TICKS - 1)),
    max_size=16,
).map(lambda rows: [AuctionOrder(i + 1, *row) for i, row in enumerate(rows)])


@settings(max_examples=60, derandomize=True, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(books, st.sampled_from([0, FEE_BPS, 1_000]))
def test_random_books_clear_as_the_reference(harness, orders, fee_bps):
    check_against_reference(harness, orders, fee_bps)

"""The markets' order rules as readers off chain apply them (energy_grid.domain.orders): what an order
locks, in the order book and the auction alike; how long it trades; and what a meter's placed standing
orders hold in the vault. The cost's rounding is checked against the contracts' own in test_order_math."""

from __future__ import annotations

from energy_grid.domain.orders import cost_ceil, escrow_amount, is_live, standing_locked

MIN_PRICE, TICK_SIZE = 200, 1  # base units per kWh


def test_a_buy_locks_its_cost_rounded_up_and_a_sell_its_wh():
    assert escrow_amount(True, 1_500, 3) == cost_ceil(1_500, 3) == 5  # 4.5 units, up
    assert escrow_amount(True, 1_000, 250_000) == 250_000
    assert escrow_amount(False, 1_500, 3) == 1_500
    assert escrow_amount(True, 0, 250_000) == 0


def test_an_order_trades_until_its_expiry_and_not_at_it():
    assert is_live(1_000, 999)
    assert not is_live(1_000, 1_000)
    assert not is_live(1_000, 1_001)


def test_standing_orders_hold_what_is_placed_and_not_settled_each_bid_rounded_up_on_its_own():
    never_used = (0, False, 0, 0, 0, 0, 0, 0)
    settled = (7, True, 900, 3, 0, 400, 5, 0)
    placed = (8, False, 1_200, 4, 100, 1, 2, 0)  # a bid of 1 Wh at tick 2: 0.202 units, so 1
    other = (9, False, 0, 0, 0, 3, 0, 0)  # 3 Wh at the lowest tick: 0.6 units, so 1
    energy_wh, payment = standing_locked([never_used, settled, placed, other], MIN_PRICE, TICK_SIZE)
    assert energy_wh == 1_200
    assert payment == cost_ceil(1, MIN_PRICE + 2 * TICK_SIZE) + cost_ceil(3, MIN_PRICE) == 2
    assert standing_locked([never_used, settled], MIN_PRICE, TICK_SIZE) == (0, 0)

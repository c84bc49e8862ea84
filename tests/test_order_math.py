"""The OrderMath library through OrderMathHarness: each rounding direction against a Python
reference (the cost of an order's Wh also against domain.orders.cost_ceil, which every reader off
chain uses), and the escrow bound on random splits of a BUY order (its fills' payments and refunds,
carried as the order stores them, never take more than it escrowed, and leave at most one unit)."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from energy_grid.domain.orders import cost_ceil

MAX_WH = 2**48 - 1
MAX_PRICE = 2**96 - 1


def ceil_div(a: int, b: int) -> int:
    return -(-a // b)


@pytest.fixture(scope="module")
def harness(project, admin):
    return admin.deploy(project.OrderMathHarness)


@pytest.mark.parametrize(("milli", "units"), [(0, 0), (1, 1), (999, 1), (1_000, 1), (1_001, 2), (2**146, ceil_div(2**146, 1_000))])
def test_ceil_milli_rounds_up(harness, milli, units):
    assert harness.ceilMilli(milli) == units


@pytest.mark.parametrize(
    ("amount_wh", "price", "cost"),
    [
        (0, 5, 0),
        (1, 1, 1),
        (1, 1_000, 1),
        (1, 1_001, 2),
        (1_000, 1, 1),
        (1_500, 3, 5),
        (MAX_WH, MAX_PRICE, ceil_div(MAX_WH * MAX_PRICE, 1_000)),
    ],
)
def test_cost_is_rounded_up(harness, amount_wh, price, cost):
    assert harness.costCeil(amount_wh, price) == cost == cost_ceil(amount_wh, price)


@pytest.mark.parametrize(
    ("payment", "fee_bps", "fee"),
    [(0, 1_000, 0), (9, 1_000, 0), (10, 1_000, 1), (19, 1_000, 1), (10_000, 1, 1), (9_999, 1, 0), (12_345, 0, 0)],
)
def test_fee_is_rounded_down(harness, payment, fee_bps, fee):
    assert harness.fee(payment, fee_bps) == fee


def test_refunds_and_carries_at_their_edges(harness):
    assert harness.fillPayment(0, 1, 1) == 1  # a first fill pays the unit its milli-units started
    assert harness.fillPayment(1, 1, 1) == 0  # ... and the next milli-units fit in that unit
    assert harness.fillPayment(999, 1, 1) == 0  # C = 1000 exactly: still the one unit already paid
    assert harness.nextCarry(999, 1, 1) == 0
    assert harness.fillRefund(999, 1, 1) == 1
    assert harness.fillRefund(0, 999, 1) == 0
    assert harness.refundCarry(0, 7, 0) == 0
    assert harness.refundCarry(1, 7, 7) == 0
    assert harness.committed(1, 7, 7) == 1  # one unit paid for 7 milli-units
    assert harness.committed(1, 7, 0) == 0


@settings(max_examples=60, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(carry=st.integers(0, 999), amount_wh=st.integers(0, MAX_WH), price=st.integers(0, MAX_PRICE), bps=st.integers(0, 10_000))
def test_each_function_matches_the_reference(harness, carry, amount_wh, price, bps):
    milli = amount_wh * price
    assert harness.costCeil(amount_wh, price) == ceil_div(milli, 1_000) == cost_ceil(amount_wh, price)
    assert harness.fillPayment(carry, amount_wh, price) == ceil_div(carry + milli, 1_000) - ceil_div(carry, 1_000)
    assert harness.nextCarry(carry, amount_wh, price) == (carry + milli) % 1_000
    assert harness.fillRefund(carry, amount_wh, price) == (carry + milli) // 1_000
    assert harness.fee(milli, bps) == milli * bps // 10_000


fills = st.lists(st.tuples(st.integers(1, 5_000), st.integers(0, 2_000)), min_size=1, max_size=5)


@settings(max_examples=40, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(limit_price=st.integers(1, 5_000), split=fills, extra_wh=st.integers(0, 3))
def test_a_buy_orders_fills_never_take_more_than_its_escrow(harness, limit_price, split, extra_wh):
    """A BUY order of A Wh at limit P filled in pieces (w_i at p_i <= P): payments are the increases
    of ceil(C / 1000), refunds those of floor(D / 1000), and the order keeps only C mod 1000."""
    amount_wh = sum(w for w, _ in split) + extra_wh
    escrow = harness.costCeil(amount_wh, limit_price)
    carry = filled_wh = paid = refunded = cost_milli = improvement_milli = 0
    for w, below in split:
        trade_price = max(limit_price - below, 1)
        refund_carry = harness.refundCarry(filled_wh, limit_price, carry)
        assert refund_carry == improvement_milli % 1_000
        paid += harness.fillPayment(carry, w, trade_price)
        refunded += harness.fillRefund(refund_carry, w, limit_price - trade_price)
        carry = harness.nextCarry(carry, w, trade_price)
        filled_wh += w
        cost_milli += w * trade_price
        improvement_milli += w * (limit_price - trade_price)
        assert paid == ceil_div(cost_milli, 1_000)
        assert refunded == improvement_milli // 1_000
        assert harness.committed(filled_wh, limit_price, carry) == paid + refunded
        assert harness.buyEscrowLeft(amount_wh, filled_wh, limit_price, carry) == escrow - paid - refunded
    left = escrow - paid - refunded
    assert left >= 0
    if extra_wh == 0:
        assert left in (0, 1)  # the dust unit a filled order returns with its last fill

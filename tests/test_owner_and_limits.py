"""OwnerAndLimits through OwnerAndLimitsHarness: a meter's owner and standing limits in one word, each
limit a decimal float rounded in the owner's favour, against the rule written out here. The registry's
use of the word (set, read back, traded) is held by test_smart_meter_vault.py and test_standing_orders.py."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

MAX_PRICE = 2**96 - 1  # a standing limit's price: PaymentToken base units per kWh
MAX_CAP_WH = 2**32 - 1  # a standing limit's cap: Wh per interval
PRICE_MANTISSA_LIMIT = 2**24  # a stored price: a 24-bit mantissa times a power of ten
CAP_MANTISSA_LIMIT = 2**15  # a stored cap: a 15-bit mantissa times a power of ten
OWNER = "0x70997970C51812dc3A010C7d01b50e0d17dc79C8"


def stored_limit(value: int, mantissa_limit: int, round_up: bool) -> int:
    """`value` as a decimal float whose mantissa stays below `mantissa_limit`: the digits that do not fit
    cut, and with `round_up` raised to the next float when any digit cut was not zero."""
    mantissa, power, cut = value, 0, False
    while mantissa >= mantissa_limit:
        cut |= mantissa % 10 != 0
        mantissa //= 10
        power += 1
    if round_up and cut:
        mantissa += 1
        if mantissa == mantissa_limit:
            mantissa, power = -(-mantissa_limit // 10), power + 1
    return mantissa * 10**power


def stored_limits(sell_price: int, sell_cap_wh: int, buy_price: int, buy_cap_wh: int) -> tuple[int, int, int, int]:
    """What the registry keeps of standing limits: a sell price rounded up (never above the largest
    price), a buy price and both caps rounded down."""
    return (
        min(stored_limit(sell_price, PRICE_MANTISSA_LIMIT, True), MAX_PRICE),
        stored_limit(sell_cap_wh, CAP_MANTISSA_LIMIT, False),
        stored_limit(buy_price, PRICE_MANTISSA_LIMIT, False),
        stored_limit(buy_cap_wh, CAP_MANTISSA_LIMIT, False),
    )


def unpacked(limits_word: int) -> tuple[int, int, int, int]:
    """The StandingLimits word the reading market takes: sell price, sell cap, buy price, buy cap."""
    mask_96, mask_32 = 2**96 - 1, 2**32 - 1
    return (limits_word & mask_96, (limits_word >> 192) & mask_32, (limits_word >> 96) & mask_96, limits_word >> 224)


@pytest.fixture(scope="module")
def harness(project, admin):
    return admin.deploy(project.OwnerAndLimitsHarness)


def digits(most: int) -> st.SearchStrategy[int]:
    """Values up to `most`, most of them with more significant digits than a float keeps, some of them
    round numbers and some on a bound."""
    return st.one_of(
        st.integers(0, most),
        st.integers(0, 40).map(lambda power: min(10**power, most)),
        st.builds(lambda m, p: min(m * 10**p, most), st.integers(1, 10**8), st.integers(0, 22)),
        st.sampled_from([0, 1, 9_999_999, 16_777_215, 16_777_216, 32_767, 32_768, most - 1, most]),
    )


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(sell=digits(MAX_PRICE), sell_cap=digits(MAX_CAP_WH), buy=digits(MAX_PRICE), buy_cap=digits(MAX_CAP_WH))
def test_limits_are_stored_rounded_in_the_owners_favour_beside_the_owner(harness, sell, sell_cap, buy, buy_cap):
    word = harness.store(OWNER, sell, sell_cap, buy, buy_cap)
    stored = stored_limits(sell, sell_cap, buy, buy_cap)
    assert unpacked(harness.limits(word)) == stored
    assert harness.owner(word) == OWNER
    assert harness.trades(word) == (sell != 0 or buy != 0)
    # The owner's favour: never selling lower, buying higher or trading more than asked, and never
    # further off than the float's precision (seven digits of a price, four of a cap).
    assert stored[0] >= sell or stored[0] == MAX_PRICE
    assert stored[1] <= sell_cap and stored[2] <= buy and stored[3] <= buy_cap
    assert stored[0] - sell <= sell // 10**6 and buy - stored[2] <= buy // 10**6
    assert sell_cap - stored[1] <= sell_cap // 10**3 and buy_cap - stored[3] <= buy_cap // 10**3
    # A value is stored exactly when its significant digits fit, so storing what is stored changes nothing.
    assert unpacked(harness.limits(harness.store(OWNER, *stored))) == stored


def test_exact_values_and_the_bounds(harness):
    for given_limits, stored in [
        ((16_777_215, 32_767, 2_537 * 10**14, 2_000), (16_777_215, 32_767, 2_537 * 10**14, 2_000)),
        ((16_777_217, 32_768, 16_777_219, 123_456), (16_777_220, 32_760, 16_777_210, 123_450)),
        ((167_772_151, 0, 0, 0), (167_772_200, 0, 0, 0)),  # rounding up takes the next power of ten
        ((MAX_PRICE, MAX_CAP_WH, MAX_PRICE, MAX_CAP_WH), (MAX_PRICE, 4_294_000_000, 7_922_816 * 10**22, 4_294_000_000)),
    ]:
        assert stored_limits(*given_limits) == stored
        assert unpacked(harness.limits(harness.store(OWNER, *given_limits))) == stored
    assert not harness.trades(harness.store(OWNER, 0, 5_000, 0, 5_000))  # caps without a price trade nothing

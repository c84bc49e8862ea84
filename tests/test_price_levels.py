"""The PriceLevels library through PriceLevelsHarness: the hierarchical bitmap of a book's occupied
price levels against a Python set: `next` finds the lowest ask at or above a price and the highest
bid at or below it, across word and height boundaries, up to the top price 2^72 - 1."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

BIDS, ASKS = 0, 1
TOP = 2**72 - 1


def reference_next(levels: set[int], side: int, price: int) -> int:
    if side == ASKS:
        return min((p for p in levels if p >= price), default=0)
    return max((p for p in levels if p <= price), default=0)


@pytest.fixture
def levels(project, admin):
    return admin.deploy(project.PriceLevelsHarness)


def test_an_empty_book_has_no_level(levels):
    for price in (0, 1, 255, 256, TOP, TOP + 1, 2**256 - 1):
        assert levels.next(ASKS, price) == 0
        assert levels.next(BIDS, price) == 0


def test_levels_across_word_boundaries(levels, admin):
    for price in (1, 255, 256, 65_536, TOP):
        levels.insert(ASKS, price, sender=admin)
        levels.insert(BIDS, price, sender=admin)
    assert levels.next(ASKS, 0) == 1
    assert levels.next(ASKS, 2) == 255
    assert levels.next(ASKS, 257) == 65_536
    assert levels.next(ASKS, 65_537) == TOP
    assert levels.next(ASKS, TOP + 1) == 0  # above every price: no ask
    assert levels.next(BIDS, TOP + 1) == TOP  # above every price: the highest bid
    assert levels.next(BIDS, TOP - 1) == 65_536
    assert levels.next(BIDS, 65_535) == 256
    assert levels.next(BIDS, 254) == 1
    assert levels.next(BIDS, 0) == 0


def test_sides_are_independent_and_removal_frees_a_level(levels, admin):
    levels.insert(ASKS, 300, sender=admin)
    levels.insert(ASKS, 301, sender=admin)
    assert levels.next(BIDS, TOP) == 0
    levels.remove(ASKS, 300, sender=admin)
    assert levels.next(ASKS, 1) == 301
    levels.remove(ASKS, 301, sender=admin)
    assert levels.next(ASKS, 1) == 0
    # Inserting a level twice keeps one level; one removal frees it.
    levels.insert(BIDS, 7, sender=admin)
    levels.insert(BIDS, 7, sender=admin)
    levels.remove(BIDS, 7, sender=admin)
    assert levels.next(BIDS, TOP) == 0


prices = st.one_of(
    st.integers(1, 600), st.integers(TOP - 600, TOP), st.sampled_from([2**8, 2**16, 2**24, 2**40, 2**64, 2**64 - 1]), st.integers(1, TOP)
)
operations = st.lists(st.tuples(st.booleans(), st.integers(0, 1), prices), min_size=1, max_size=12)


@settings(
    max_examples=15, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow]
)
@given(ops=operations)
def test_next_matches_a_set(project, admin, ops):
    levels = admin.deploy(project.PriceLevelsHarness)
    book: dict[int, set[int]] = {BIDS: set(), ASKS: set()}
    for add, side, price in ops:
        # The library's callers insert a free level and remove an occupied one.
        if add and price not in book[side]:
            levels.insert(side, price, sender=admin)
            book[side].add(price)
        elif not add and book[side]:
            victim = min(book[side], key=lambda p: abs(p - price))
            levels.remove(side, victim, sender=admin)
            book[side].discard(victim)
    probes = {0, 1, TOP, TOP + 1} | {p + d for s in book.values() for p in s for d in (-1, 0, 1)}
    for side in (BIDS, ASKS):
        probed = sorted(probes)
        assert list(levels.nextOfEach(side, probed)) == [reference_next(book[side], side, probe) for probe in probed], side

"""The OwnerLocks table through OwnerLocksHarness, against a dictionary: each owner of a batch finds
the amount its earlier bids locked, whatever the other owners lock, also when owners share the low
bits the table is keyed by (the probe moves on to the next place), and the table keeps at least twice
as many places as the batch has readings."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

HYPOTHESIS = settings(max_examples=25, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.function_scoped_fixture])


@pytest.fixture(scope="module")
def owner_locks(project, admin):
    return admin.deploy(project.OwnerLocksHarness)


def model(owners: list[str], amounts: list[int]) -> list[int]:
    """What each bid's owner had locked before it."""
    locked: dict[str, int] = {}
    before = []
    for owner, amount in zip(owners, amounts, strict=True):
        before.append(locked.get(owner, 0))
        locked[owner] = locked.get(owner, 0) + amount
    return before


def address(value: int) -> str:
    return "0x" + value.to_bytes(20, "big").hex()


@pytest.mark.parametrize(("readings", "places"), [(1, 2), (2, 4), (3, 8), (100, 256)])
def test_the_table_has_twice_the_readings_in_places(owner_locks, readings, places):
    assert owner_locks.lockAll(readings, [], [])[2] == places


def test_owners_that_share_the_low_bits_keep_their_own_locks(owner_locks):
    # Every owner falls on place 5 of 256; each probe moves on to the next free place.
    owners = [address((k << 100) | 5) for k in range(1, 9)] * 3
    amounts = list(range(1, len(owners) + 1))
    before, locks, _ = owner_locks.lockAll(100, owners, amounts)
    assert list(before) == model(owners, amounts)
    assert len(set(locks[:8])) == 8
    assert list(locks[8:16]) == list(locks[:8]) == list(locks[16:])


def test_the_probe_wraps_around_the_end_of_the_table(owner_locks):
    # Place 255 of 256 is the last: the second owner there wraps to place 0, where a third owner finds it taken.
    owners = [address((1 << 100) | 255), address((2 << 100) | 255), address(0x1000), address((2 << 100) | 255)]
    amounts = [7, 11, 13, 17]
    before, locks, _ = owner_locks.lockAll(100, owners, amounts)
    assert list(before) == model(owners, amounts)
    assert len(set(locks[:3])) == 3 and locks[3] == locks[1]


@HYPOTHESIS
@given(data=st.data())
def test_each_owner_finds_what_its_earlier_bids_locked(owner_locks, data):
    pool = data.draw(st.lists(st.integers(1, 2**160 - 1), min_size=1, max_size=50, unique=True))
    count = data.draw(st.integers(1, 100))
    owners = [address(data.draw(st.sampled_from(pool))) for _ in range(count)]
    amounts = data.draw(st.lists(st.integers(0, 2**112), min_size=count, max_size=count))
    before, locks, _ = owner_locks.lockAll(count, owners, amounts)
    assert list(before) == model(owners, amounts)
    # One lock per owner, and different owners never share one.
    assert len({(owner, lock) for owner, lock in zip(owners, locks, strict=True)}) == len(set(owners)) == len(set(locks))

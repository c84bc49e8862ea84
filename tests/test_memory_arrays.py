"""The MemoryArrays library through MemoryArraysHarness: every overload keeps the first entries of
an array in place, to any length from 0 to the array's own, and leaves later allocations intact."""

from __future__ import annotations

import pytest


@pytest.fixture(scope="module")
def arrays(project, admin):
    return admin.deploy(project.MemoryArraysHarness)


@pytest.mark.parametrize(("size", "length"), [(0, 0), (1, 0), (1, 1), (5, 3), (5, 5), (100, 1)])
def test_each_overload_keeps_the_first_entries(arrays, size, length):
    assert list(arrays.shortenInts(size, length)) == list(range(1, length + 1))
    assert list(arrays.shortenUints(size, length)) == list(range(1, length + 1))
    assert [int(address, 16) for address in arrays.shortenAddresses(size, length)] == list(range(1, length + 1))
    orders, after = arrays.shortenOrders(size, length)
    assert [order[0] for order in orders] == list(range(1, length + 1))  # orderId, the first field
    assert list(after) == [7]

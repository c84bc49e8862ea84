"""The Median library through MedianHarness: the median of the oracles' reports (the two middle
values' mean rounded toward zero for an even count) and medianNear (an even count settling on the
point between the two middle values nearest the last answer), against a Python reference."""

from __future__ import annotations

import ape
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

INT128 = 2**127


def reference_median(values: list[int]) -> int:
    ordered = sorted(values)
    upper = ordered[len(ordered) // 2]
    lower = upper if len(ordered) % 2 else ordered[len(ordered) // 2 - 1]
    total = lower + upper
    # Solidity's signed division rounds toward zero.
    return abs(total) // 2 * (1 if total >= 0 else -1)


def reference_median_near(values: list[int], anchor: int) -> int:
    ordered = sorted(values)
    upper = ordered[len(ordered) // 2]
    lower = upper if len(ordered) % 2 else ordered[len(ordered) // 2 - 1]
    return min(max(anchor, lower), upper)


@pytest.fixture(scope="module")
def harness(project, admin):
    return admin.deploy(project.MedianHarness)


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        ([7], 7),
        ([-7], -7),
        ([3, 1, 2], 2),
        ([1, 2], 1),  # 1.5 rounds toward zero
        ([-1, -2], -1),  # -1.5 rounds toward zero
        ([-3, 2], 0),  # -0.5 rounds toward zero
        ([5, 5, 5, 5], 5),
        ([9, 1, 8, 2, 7, 3, 6, 4, 5, 0, 10, 12, 11, 14, 13], 7),  # the oracles' largest roster: 15
        ([INT128 - 1, INT128 - 3], INT128 - 2),
        ([-INT128, -INT128 + 2], -INT128 + 1),
    ],
)
def test_median_of_known_lists(harness, values, expected):
    assert harness.median(values) == expected == reference_median(values)


@pytest.mark.parametrize(
    ("values", "anchor", "expected"),
    [
        ([10, 20], 15, 15),  # between the middle values: the anchor stands
        ([10, 20], 5, 10),  # below: the lower middle value
        ([10, 20], 25, 20),  # above: the upper middle value
        ([10, 20], 10, 10),
        ([30, 10, 20], 0, 20),  # odd count: the median whatever the anchor
        ([-5, 5, 1, -1], -100, -1),
    ],
)
def test_median_near_settles_nearest_the_anchor(harness, values, anchor, expected):
    assert harness.medianNear(values, anchor) == expected == reference_median_near(values, anchor)


def test_an_empty_list_has_no_median(harness):
    # The oracles always include the report being submitted; an empty list is an index out of bounds.
    with ape.reverts():
        harness.median([])
    with ape.reverts():
        harness.medianNear([], 0)


reports = st.lists(st.integers(-(2**100), 2**100), min_size=1, max_size=15)


@settings(max_examples=60, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(values=reports, anchor=st.integers(-(2**101), 2**101))
def test_medians_match_the_reference(harness, values, anchor):
    assert harness.median(values) == reference_median(values)
    assert harness.medianNear(values, anchor) == reference_median_near(values, anchor)


@settings(max_examples=30, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(values=st.lists(st.integers(-3, 3), min_size=1, max_size=15))
def test_medians_of_many_ties_match_the_reference(harness, values):
    assert harness.median(values) == reference_median(values)
    assert harness.medianNear(values, 0) == reference_median_near(values, 0)

"""The EnergyTime library through EnergyTimeHarness: 900-second delivery intervals and UTC days,
both counted from the unix epoch."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

INTERVAL_SECONDS = 900
DAY_SECONDS = 86_400


@pytest.fixture(scope="module")
def harness(project, admin):
    return admin.deploy(project.EnergyTimeHarness)


def test_constants(harness):
    assert harness.constants() == (INTERVAL_SECONDS, DAY_SECONDS, 96)


@pytest.mark.parametrize(
    ("timestamp", "interval", "day"),
    [
        (0, 0, 0),
        (899, 0, 0),
        (900, 1, 0),
        (86_399, 95, 0),
        (86_400, 96, 1),
        (1_700_000_000, 1_700_000_000 // 900, 1_700_000_000 // 86_400),
        (2**256 - 1, (2**256 - 1) // 900, (2**256 - 1) // 86_400),
    ],
)
def test_interval_and_day_boundaries(harness, timestamp, interval, day):
    assert harness.intervalOf(timestamp) == interval
    assert harness.dayOf(timestamp) == day


def test_first_interval_of_a_day(harness):
    assert harness.firstIntervalOfDay(0) == 0
    assert harness.firstIntervalOfDay(1) == 96
    assert harness.firstIntervalOfDay(19_675) == 19_675 * 96


@settings(max_examples=40, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(timestamp=st.integers(0, 2**64))
def test_an_interval_lies_inside_its_day(harness, timestamp):
    interval = harness.intervalOf(timestamp)
    day = harness.dayOf(timestamp)
    assert (interval, day) == (timestamp // INTERVAL_SECONDS, timestamp // DAY_SECONDS)
    first = harness.firstIntervalOfDay(day)
    assert first <= interval < first + 96

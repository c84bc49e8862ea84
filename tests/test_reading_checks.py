"""ReadingChecks.passes through ReadingChecksHarness: the checks a reading must pass, made at once
without a branch each, against the same checks written out one by one. The registry's errors, one per
failing check in their order, are held by the metering tests (test_smart_meter_readings.py and the batch
tests), which reach them through the checks made one by one after passes refused a reading."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

MAX_REGISTER_WH = 2**48 - 1
MIN_FREQUENCY, MAX_FREQUENCY = 45_000, 65_000
MIN_VOLTAGE, MAX_VOLTAGE = 500, 1_500
ACTIVE = 1

REGISTERS = st.sampled_from([0, 4, 5, 6, MAX_REGISTER_WH - 1, MAX_REGISTER_WH, MAX_REGISTER_WH + 1, 2**256 - 1])
RECORD_REGISTERS = st.sampled_from([0, 5, MAX_REGISTER_WH])
FREQUENCIES = st.sampled_from([0, MIN_FREQUENCY - 1, MIN_FREQUENCY, 50_000, MAX_FREQUENCY, MAX_FREQUENCY + 1, 2**256 - 1])
VOLTAGES = st.sampled_from([0, MIN_VOLTAGE - 1, MIN_VOLTAGE, 1_000, MAX_VOLTAGE, MAX_VOLTAGE + 1])
# The reading's time from the block's time, and its distance from the meter's latest reading: each on
# and beside the bounds below.
TIME_OFFSETS = st.sampled_from([-1_001, -1_000, -999, -61, -60, -1, 0, 1, 2])
GAPS = st.sampled_from([-1, 0, 1, 59, 60, 61, 899, 900, 901])
MIN_INTERVALS = st.sampled_from([0, 1, 60, 900])
MAX_AGES = st.sampled_from([0, 1, 60, 1_000])


def every_check(
    owner_index: int,
    flags: int,
    last_reading_at: int,
    registers: tuple[int, int],
    time: int,
    fields: tuple[int, int, int, int],
    limits: tuple[int, int],
    now: int,
) -> bool:
    consumption, production, frequency, voltage = fields
    min_interval, max_age = limits
    return (
        owner_index != 0
        and flags & ACTIVE != 0
        and time <= now
        and time > last_reading_at
        and (last_reading_at == 0 or time >= last_reading_at + min_interval)
        and now - time <= max_age
        and consumption <= MAX_REGISTER_WH
        and production <= MAX_REGISTER_WH
        and consumption >= registers[0]
        and production >= registers[1]
        and MIN_FREQUENCY <= frequency <= MAX_FREQUENCY
        and MIN_VOLTAGE <= voltage <= MAX_VOLTAGE
    )


@pytest.fixture(scope="module")
def harness(project, admin):
    return admin.deploy(project.ReadingChecksHarness)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    owner_index=st.sampled_from([0, 1, 2**32 - 1]),
    flags=st.integers(min_value=0, max_value=255),
    has_last_reading=st.booleans(),
    gap=GAPS,
    registers=st.tuples(RECORD_REGISTERS, RECORD_REGISTERS),
    time_offset=TIME_OFFSETS,
    fields=st.tuples(REGISTERS, REGISTERS, FREQUENCIES, VOLTAGES),
    limits=st.tuples(MIN_INTERVALS, MAX_AGES),
)
def test_passes_is_every_check_at_once(harness, chain, owner_index, flags, has_last_reading, gap, registers, time_offset, fields, limits):
    now = chain.pending_timestamp
    last_offset = time_offset - gap
    answer = harness.passes(owner_index, flags, has_last_reading, last_offset, registers, time_offset, fields, limits)
    # The harness puts the times relative to the block's time it sees; the reference is relative to any
    # time, so it takes the same offsets from `now`.
    last_reading_at = now + last_offset if has_last_reading else 0
    assert answer == every_check(owner_index, flags, last_reading_at, registers, now + time_offset, fields, limits, now)


def test_a_typical_reading_passes_and_each_bound_beyond_refuses(harness):
    registers = (5, 5)
    fields = (6, 6, 50_000, 1_000)
    limits = (60, 1_000)
    assert harness.passes(1, ACTIVE, True, -900, registers, 0, fields, limits)
    # One field at a time just beyond its bound.
    assert not harness.passes(0, ACTIVE, True, -900, registers, 0, fields, limits)
    assert not harness.passes(1, 0, True, -900, registers, 0, fields, limits)
    assert not harness.passes(1, ACTIVE, True, -900, registers, 1, fields, limits)
    assert not harness.passes(1, ACTIVE, True, 0, registers, 0, fields, limits)
    assert not harness.passes(1, ACTIVE, True, -59, registers, 0, fields, limits)
    assert not harness.passes(1, ACTIVE, True, -2_000, registers, -1_001, fields, limits)
    assert not harness.passes(1, ACTIVE, True, -900, (7, 5), 0, fields, limits)
    assert not harness.passes(1, ACTIVE, True, -900, (5, 7), 0, fields, limits)
    assert not harness.passes(1, ACTIVE, True, -900, registers, 0, (MAX_REGISTER_WH + 1, 6, 50_000, 1_000), limits)
    assert not harness.passes(1, ACTIVE, True, -900, registers, 0, (6, 6, MAX_FREQUENCY + 1, 1_000), limits)
    assert not harness.passes(1, ACTIVE, True, -900, registers, 0, (6, 6, 50_000, MIN_VOLTAGE - 1), limits)

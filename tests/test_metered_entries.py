"""The MeteredEntries library through MeteredEntriesHarness: the three words of a reading's entry
and of a settlement entry, laid out as IMeteredMarket.recordMetered documents them, and the call that
hands a batch's filled entries to a market (MeteredMarketRecorder) without encoding them word by word."""

from __future__ import annotations

from typing import Any

import ape
import pytest
from ape.exceptions import TransactionError
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from support.helpers import reverts

WORDS = 3
ADDRESS = st.binary(min_size=20, max_size=20).map(lambda raw: "0x" + raw.hex())


def reading_words(meter: str, owner: str, timestamp: int, export_wh: int, import_wh: int, limits: int) -> list[int]:
    """The entry as IMeteredMarket documents it: meter | export (160-199) | import (200-239); owner |
    time (160-); the standing limits word as stored."""
    return [int(meter, 16) | export_wh << 160 | import_wh << 200, int(owner, 16) | timestamp << 160, limits]


@pytest.fixture(scope="module")
def harness(project, admin):
    return admin.deploy(project.MeteredEntriesHarness)


@pytest.fixture(scope="module")
def recorder(project, admin):
    return admin.deploy(project.MeteredMarketRecorder)


def recorded(tx: Any) -> list[list[int]]:
    return [list(log.entries) for log in tx.events if log.event_name == "Recorded"]


def test_a_reading_entry_has_the_documented_layout(harness, admin, owner):
    limits = 7 | 9 << 96 | 100 << 192 | 200 << 224
    words = harness.readingEntry(admin.address, owner.address, 1_800_000_900, 1_200, 300, limits)
    assert list(words) == reading_words(admin.address, owner.address, 1_800_000_900, 1_200, 300, limits)
    # Read back field by field, as the market takes it apart.
    assert words[0] & (2**160 - 1) == int(admin.address, 16)
    assert (words[0] >> 160) & (2**40 - 1) == 1_200
    assert words[0] >> 200 == 300
    assert words[1] >> 160 == 1_800_000_900


@settings(max_examples=30, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    meter=ADDRESS,
    owner=ADDRESS,
    timestamp=st.integers(min_value=0, max_value=2**96 - 1),
    export_wh=st.integers(min_value=0, max_value=2**40 - 1),
    import_wh=st.integers(min_value=0, max_value=2**40 - 1),
    limits=st.integers(min_value=0, max_value=2**256 - 1),
)
def test_any_reading_entry_packs_its_fields_apart(harness, meter, owner, timestamp, export_wh, import_wh, limits):
    words = harness.readingEntry(meter, owner, timestamp, export_wh, import_wh, limits)
    assert list(words) == reading_words(meter, owner, timestamp, export_wh, import_wh, limits)


def test_settlement_entries_carry_meter_and_owner_only(harness, admin, owner, other):
    meters, owners = [admin.address, owner.address], [other.address, admin.address]
    words = harness.settlementEntries(meters, owners)
    assert list(words) == [int(admin.address, 16), int(other.address, 16), 0, int(owner.address, 16), int(admin.address, 16), 0]


def test_record_hands_the_market_the_filled_entries_only(harness, recorder, admin, owner):
    first = reading_words(admin.address, owner.address, 1_800_000_900, 5, 6, 7)
    second = reading_words(owner.address, admin.address, 1_800_000_901, 8, 9, 10)
    unfilled = [0] * WORDS
    words = first + second + unfilled
    tx = harness.record(recorder, words, 2, sender=admin)
    assert recorded(tx) == [first + second]
    assert [log.caller for log in tx.events if log.event_name == "Recorded"] == [harness.address]
    # The batch's own array is left as it was.
    assert list(harness.record.call(recorder, words, 2)) == words


def test_record_of_no_entries_sends_an_empty_array(harness, recorder, admin):
    tx = harness.record(recorder, [1, 2, 3], 0, sender=admin)
    assert recorded(tx) == [[]]


def test_a_markets_revert_comes_through_as_it_is(harness, recorder, admin):
    recorder.setRefusing(True, sender=admin)
    with reverts(recorder.RecordRefused, entryWords=6):
        harness.record(recorder, list(range(9)), 2, sender=admin)


def test_a_market_without_code_reverts_with_no_data(harness, admin, stranger):
    with ape.reverts() as info:
        harness.record(stranger.address, [1, 2, 3], 1, sender=admin)
    # The test chain reports a revert without data by the default message (tests/conftest.py).
    assert info.value.revert_message == TransactionError.DEFAULT_MESSAGE

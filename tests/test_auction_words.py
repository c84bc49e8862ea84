"""The auction's packed words through AuctionWordsHarness: the order word and the order id round-trip
their fields at their bounds, a tick's two volumes stay apart, a meter slot keeps its ledger across
intervals and stops it at its bound; and the metered entries and free memory helpers read and hand
back exactly what they should."""

from __future__ import annotations

import pytest

TRADER = "0x" + "ab" * 20
MAX36, MAX40 = 2**36 - 1, 2**40 - 1
LEDGER_MAX = 2**39 - 1
LEDGER_SHIFT = 217  # bits 209-216 hold the zone


@pytest.fixture(scope="module")
def harness(project, admin):
    return admin.deploy(project.AuctionWordsHarness)


@pytest.mark.parametrize(
    "fields",
    [(1, 1, 0, 0, 1), (2**64 - 1, MAX40, MAX40, 255, 2**80 - 1), (123_456, 10**12, 999, 17, 10**24)],
)
def test_an_order_round_trips_its_fields(harness, fields):
    period, amount, before, tick, limit = fields
    word, read, claimed, claimed_after = harness.orderRoundTrip(*fields)
    # The layout of the order's slot: period, amount, C(i-1), tick, claimed, limit from the low bits up.
    assert word == period | amount << 64 | before << 104 | tick << 144 | limit << 160
    assert list(read) == list(fields)
    assert (claimed, claimed_after) == (False, True)


@pytest.mark.parametrize(("is_bid", "place", "period"), [(True, 0, 5), (False, 15, 2**40), (True, 16 + 7, 9), (False, 2**31 - 1, 1)])
def test_an_order_id_round_trips_and_names_its_storage(harness, is_bid, place, period):
    order_id, read_period, read_is_bid, trader, key = harness.orderId(TRADER, is_bid, place, period)
    assert order_id == period << 192 | int(is_bid) << 191 | place << 160 | int(TRADER, 16)
    assert (read_period, read_is_bid, trader.lower()) == (period, is_bid, TRADER)
    # A reusable place is stored without its period (a later order rewrites it); a one-off one under the id.
    assert key == (order_id % 2**192 if place < 16 else order_id)


def test_a_ticks_two_sides_stay_apart_and_occupancy_is_marked(harness, admin):
    book = 3 << 8  # period 3's market, the bus

    def add(tick, amount, is_bid, max_wh=MAX36):
        tx = harness.addToTick(book, tick, amount, is_bid, max_wh, sender=admin)
        return tuple(tx.return_value)

    assert add(4, 700, True) == (0, 700, 700, 0, 1 << 4)
    assert add(4, MAX36, False) == (0, MAX36, 700, MAX36, 1 << 4)
    assert add(4, 300, True) == (700, 1_000, 1_000, MAX36, 1 << 4)
    # Past the bound nothing is added, and the caller learns what the side would have held.
    assert add(4, MAX36, True) == (1_000, MAX36 + 1_000, 1_000, MAX36, 1 << 4)
    assert add(4, 1, False) == (MAX36, MAX36 + 1, 1_000, MAX36, 1 << 4)
    assert add(255, 1, False)[4] == 1 << 4 | 1 << 255
    # Ticks 3, 4 and 5 share a word: a neighbour's volumes stay apart from tick 4's, and tick 6 starts the next word.
    assert add(5, 9, True) == (0, 9, 9, 0, 1 << 4 | 1 << 5 | 1 << 255)
    assert add(3, MAX36, False)[1:4] == (MAX36, 0, MAX36)
    assert add(6, 2, True)[:3] == (0, 2, 2)
    assert add(4, 0, True)[:4] == (1_000, 1_000, 1_000, MAX36)
    assert add(5, 0, False)[:4] == (0, 0, 9, 0)
    # The word names its market (period 3) in its top 40 bits.
    assert harness.tickWords(book, 4)[2] >> 216 == 3 + 1


RING = 16  # BookWords.RING_PERIODS


def test_a_market_takes_over_the_shared_words_of_a_cleared_one_sixteen_periods_before(harness, admin):
    """The market of period p + 16 rewrites period p's shared word once p has cleared: its volumes start
    from zero, and p's volumes, which nothing reads after its clearing, are gone."""
    early, late = (32 << 8) | 2, ((32 + RING) << 8) | 2
    harness.addToTick(early, 10, 500, True, MAX36, sender=admin)
    harness.markCleared(32, sender=admin)
    out = harness.addToTick(late, 10, 7, False, MAX36, sender=admin).return_value
    assert tuple(out) == (0, 7, 0, 7, 1 << 10)
    bid_wh, ask_wh, shared, own = harness.tickWords(late, 10)
    assert (bid_wh, ask_wh, shared >> 216, own) == (0, 7, 32 + RING + 1, 0)
    assert harness.tickWords(early, 10)[:2] == (0, 0)


def test_an_uncleared_market_keeps_its_volumes_in_its_own_word_when_a_later_one_takes_over(harness, admin):
    """A market not cleared yet when the market 16 periods later takes its shared word keeps every
    volume of that word (all three ticks, both sides), in its own word; its later orders add there."""
    early, late = (64 << 8) | 3, ((64 + RING) << 8) | 3
    harness.addToTick(early, 10, 500, True, MAX36, sender=admin)
    harness.addToTick(early, 11, 20, False, MAX36, sender=admin)
    assert tuple(harness.addToTick(late, 10, 7, False, MAX36, sender=admin).return_value)[:4] == (0, 7, 0, 7)
    assert harness.tickWords(early, 10)[:2] == (500, 0)
    assert harness.tickWords(early, 11)[:2] == (0, 20)
    assert harness.tickWords(early, 11)[3] != 0  # read from its own word
    assert tuple(harness.addToTick(early, 11, 5, True, MAX36, sender=admin).return_value)[:4] == (0, 5, 5, 20)
    assert tuple(harness.addToTick(early, 9, 1, True, MAX36, sender=admin).return_value)[:4] == (0, 1, 1, 0)
    assert harness.tickWords(late, 10)[:2] == (0, 7)
    assert harness.tickWords(late, 9)[:2] == (0, 0)


def test_a_word_held_by_a_later_market_is_left_to_it(harness, admin):
    """An order far ahead takes a shared word first; the earlier market 16 periods before it keeps its
    volumes of that word in its own word, now and at every later order, and neither sees the other's."""
    early, late = (96 << 8) | 4, ((96 + RING) << 8) | 4
    harness.addToTick(late, 0, 9, True, MAX36, sender=admin)
    assert tuple(harness.addToTick(early, 0, 3, False, MAX36, sender=admin).return_value)[:4] == (0, 3, 0, 3)
    harness.markCleared(96 + RING, sender=admin)  # even once the later market has cleared
    assert tuple(harness.addToTick(early, 1, 4, False, MAX36, sender=admin).return_value)[:4] == (0, 4, 0, 4)
    assert harness.tickWords(early, 0)[:2] == (0, 3)
    assert harness.tickWords(late, 0)[:2] == (9, 0)
    assert harness.tickWords(late, 0)[2] >> 216 == 96 + RING + 1


def test_a_meter_slot_keeps_its_ledger_and_stops_it_at_the_bound(harness):
    ledger = 5_000 << LEDGER_SHIFT
    old = ledger | 7 | 1 << 33 | 123 << 41 | 9 << 209  # an earlier interval in zone 9 with an ask, unsettled
    started, placed, settled, *sides, retired = harness.meteredSlot(old, 9, (3, 400, 20), (250, MAX40, MAX40), 600)
    assert started == ledger | 9 | 1 << 32  # a fresh interval on the bus: no orders, the zone reset, the ledger kept
    assert placed & (1 << 32) == 0 and placed & 0xFFFFFFFF == 9
    assert list(sides) == [3, 400, 20, 250, MAX40, MAX40]
    assert settled & (1 << 32) and retired == 5_600
    assert settled % 2**LEDGER_SHIFT == placed % 2**LEDGER_SHIFT | 1 << 32
    full = harness.meteredSlot((LEDGER_MAX - 10) << LEDGER_SHIFT, 1, (0, 0, 0), (0, 0, 0), 600)[9]
    assert full == LEDGER_MAX


def test_metered_entries_are_read_with_their_owners_answer(harness):
    owners = ["0x" + f"{n:040x}" for n in (0x10, 0x21, 0x32)]
    entries = []
    for i, owner in enumerate(owners):
        entries += [0xAAAA + i | (i + 1) << 160, int(owner, 16) | (1_000 + i) << 160, 77 + i]
    free, approved = [5, 6, 7], [True, False, True]
    read_owners, words, energy, payment = harness.readEntries([*entries, 1, 2], free, approved)  # a partial entry is ignored
    assert [o.lower() for o in read_owners] == owners
    for i in range(3):
        assert list(words[5 * i : 5 * i + 5]) == [*entries[3 * i:3 * i + 3], free[i], int(approved[i])]
    assert (list(energy), list(payment)) == ([-1, -2, -3], [1, 2, 3])


def test_released_memory_is_handed_back(harness):
    before, during, after = harness.releasedAllocation(10)
    assert during == before + 32 * 11
    assert after == before

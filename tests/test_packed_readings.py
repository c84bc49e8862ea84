"""The packed calldata of readings: what energy_grid.signing.packed_readings writes, the PackedReadings
library reads back field by field (through PackedReadingsHarness), at every width's edges; a batch
that is not a whole number of entries is refused, and a value too wide for its field does not pack."""

from __future__ import annotations

import pytest
from eth_utils import to_checksum_address
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from energy_grid.signing.packed_readings import (
    READING_BYTES,
    SIGNED_READING_BYTES,
    pack_reading,
    pack_readings,
    pack_signed_reading,
)

from support.helpers import reverts

ADDRESS = st.binary(min_size=20, max_size=20).map(to_checksum_address)
READING = st.tuples(*(st.integers(0, 2 ** (8 * width) - 1) for width in (5, 6, 6, 2, 2)))
WORD = st.binary(min_size=32, max_size=32)
LOW_S = st.integers(0, 2**255 - 1).map(lambda s: s.to_bytes(32, "big"))
FORTY_BITS = st.integers(0, 2**40 - 1)


@pytest.fixture(scope="module")
def harness(project, admin):
    return admin.deploy(project.PackedReadingsHarness)


@settings(max_examples=30, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(entries=st.lists(st.tuples(ADDRESS, READING), min_size=0, max_size=6))
def test_packed_readings_read_back_as_written(harness, entries):
    packed = pack_readings(entries)
    assert len(packed) == READING_BYTES * len(entries)
    meters, readings = harness.readings(packed)
    assert list(meters) == [meter for meter, _ in entries]
    assert [tuple(r) for r in readings] == [reading for _, reading in entries]


@settings(max_examples=30, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    entries=st.lists(
        st.tuples(ADDRESS, FORTY_BITS, FORTY_BITS, READING, st.sampled_from([27, 28]), WORD, LOW_S), min_size=1, max_size=4
    )
)
def test_packed_signed_readings_read_back_as_written(harness, entries):
    packed = b"".join(pack_signed_reading(m, n, d, r, v, r_, s) for m, n, d, r, v, r_, s in entries)
    assert len(packed) == SIGNED_READING_BYTES * len(entries)
    meters, readings, nonces, deadlines, vs, rs, ss = harness.signedReadings(packed)
    assert list(meters) == [e[0] for e in entries]
    assert [tuple(r) for r in readings] == [e[3] for e in entries]
    assert (list(nonces), list(deadlines), list(vs)) == ([e[1] for e in entries], [e[2] for e in entries], [e[4] for e in entries])
    assert ([bytes(r) for r in rs], [bytes(s) for s in ss]) == ([e[5] for e in entries], [e[6] for e in entries])


def test_a_batch_of_part_of_an_entry_is_refused(harness, admin):
    entry = pack_reading(admin.address, (1, 2, 3, 4, 5))
    for cut in (entry[:-1], entry + b"\x00"):
        with reverts(harness.PackedBatchMalformed, lengthBytes=len(cut), entryBytes=READING_BYTES):
            harness.readings(cut)
    with reverts(harness.PackedBatchMalformed, lengthBytes=READING_BYTES, entryBytes=SIGNED_READING_BYTES):
        harness.signedReadings(entry)


@pytest.mark.parametrize(
    ("reading", "nonce", "deadline", "v", "s", "match"),
    [
        ((2**40, 0, 0, 0, 0), 0, 0, 27, 0, "timestamp"),
        ((0, 2**48, 0, 0, 0), 0, 0, 27, 0, "consumption"),
        ((0, 0, 0, 2**16, 0), 0, 0, 27, 0, "frequency"),
        ((0, 0, 0, 0, 0), 2**40, 0, 27, 0, "nonce"),
        ((0, 0, 0, 0, 0), 0, 2**256 - 1, 27, 0, "deadline"),
        ((0, 0, 0, 0, 0), 0, 0, 0, 0, "v of 27 or 28"),
        ((0, 0, 0, 0, 0), 0, 0, 27, 2**255, "below 2\\*\\*255"),
    ],
)
def test_a_value_too_wide_for_its_field_does_not_pack(admin, reading, nonce, deadline, v, s, match):
    with pytest.raises(ValueError, match=match):
        pack_signed_reading(admin.address, nonce, deadline, reading, v, bytes(32), s.to_bytes(32, "big"))

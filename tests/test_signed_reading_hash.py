"""The SignedReadingHash library through SignedReadingHashHarness: the EIP-712 struct hash of a
meter-signed reading, hashed in scratch memory, against a reference built with abi encoding, alone
and for a batch whose results sit in memory allocated before the hashing."""

from __future__ import annotations

import pytest
from eth_abi import encode
from eth_utils import keccak
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

METER_READING_TYPE = "MeterReading(uint256 timestamp,uint256 consumption,uint256 production,uint256 gridFrequency,uint256 voltage)"
SIGNED_READING_TYPE = "SignedReading(address meter,uint256 nonce,uint256 deadline,MeterReading reading)" + METER_READING_TYPE
UINT256 = st.integers(min_value=0, max_value=2**256 - 1)
ADDRESS = st.binary(min_size=20, max_size=20).map(lambda raw: "0x" + raw.hex())
READING = st.tuples(UINT256, UINT256, UINT256, UINT256, UINT256)
SIGNED = st.tuples(ADDRESS, UINT256, UINT256, READING)


def reference_struct_hash(meter: str, nonce: int, deadline: int, reading: tuple[int, ...]) -> bytes:
    reading_hash = keccak(encode(["bytes32"] + ["uint256"] * 5, [keccak(text=METER_READING_TYPE), *reading]))
    return keccak(
        encode(
            ["bytes32", "address", "uint256", "uint256", "bytes32"],
            [keccak(text=SIGNED_READING_TYPE), meter, nonce, deadline, reading_hash],
        )
    )


def as_argument(meter: str, nonce: int, deadline: int, reading: tuple[int, ...]) -> tuple:
    # v, r and s are not hashed: any value leaves the hash as it is.
    return (meter, nonce, deadline, reading, 27, b"\x11" * 32, b"\x22" * 32)


@pytest.fixture(scope="module")
def harness(project, admin):
    return admin.deploy(project.SignedReadingHashHarness)


def test_the_type_hashes_are_the_meter_registrys(harness, smart_meter):
    signed_type_hash, reading_type_hash = harness.typeHashes()
    assert signed_type_hash == keccak(text=SIGNED_READING_TYPE) == smart_meter.SIGNED_READING_TYPEHASH()
    assert reading_type_hash == keccak(text=METER_READING_TYPE) == smart_meter.METER_READING_TYPEHASH()


def test_a_typical_reading_hashes_as_abi_encoding_does(harness, admin):
    signed = (admin.address, 3, 1_900_000_000, (1_800_000_000, 12_345, 678, 50_000, 1_000))
    assert harness.structHash(as_argument(*signed)) == reference_struct_hash(*signed)


def test_the_signature_does_not_enter_the_hash(harness, admin):
    signed = (admin.address, 0, 1, (1, 2, 3, 4, 5))
    other_signature = (*as_argument(*signed)[:4], 28, b"\x33" * 32, b"\x44" * 32)
    assert harness.structHash(other_signature) == harness.structHash(as_argument(*signed))


@settings(max_examples=40, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(signed=SIGNED)
def test_any_reading_hashes_as_abi_encoding_does(harness, signed):
    assert harness.structHash(as_argument(*signed)) == reference_struct_hash(*signed)


@settings(max_examples=15, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(batch=st.lists(SIGNED, min_size=1, max_size=8))
def test_a_batch_hashes_each_reading_and_leaves_allocated_memory_alone(harness, batch):
    assert harness.structHashes([as_argument(*signed) for signed in batch]) == [reference_struct_hash(*signed) for signed in batch]

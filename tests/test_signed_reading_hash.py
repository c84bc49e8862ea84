"""The SignedReadingHash library through SignedReadingHashHarness: the key that signed a meter's
reading, recovered from the EIP-712 digest hashed in scratch memory, against a digest built with abi
encoding and signed with eth-keys, alone and for a batch whose results sit in memory allocated before
the hashing."""

from __future__ import annotations

import pytest
from eth_abi import encode
from eth_keys import keys
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


KEY = keys.PrivateKey(keccak(text="a meter's device key"))
DOMAIN = keccak(text="a domain separator")
BYTES32 = st.binary(min_size=32, max_size=32)


def signed_argument(meter: str, nonce: int, deadline: int, reading: tuple[int, ...], domain: bytes = DOMAIN) -> tuple:
    """The SignedReading struct with KEY's signature of the reference digest in `domain`."""
    digest = keccak(b"\x19\x01" + domain + reference_struct_hash(meter, nonce, deadline, reading))
    signature = KEY.sign_msg_hash(digest)
    return (meter, nonce, deadline, reading, signature.v + 27, signature.r.to_bytes(32, "big"), signature.s.to_bytes(32, "big"))


@pytest.fixture(scope="module")
def harness(project, admin):
    return admin.deploy(project.SignedReadingHashHarness)


def test_the_type_hashes_are_the_meter_registrys(harness, smart_meter):
    signed_type_hash, reading_type_hash = harness.typeHashes()
    assert signed_type_hash == keccak(text=SIGNED_READING_TYPE) == smart_meter.SIGNED_READING_TYPEHASH()
    assert reading_type_hash == keccak(text=METER_READING_TYPE) == smart_meter.METER_READING_TYPEHASH()


def test_a_typical_reading_recovers_its_signer(harness, admin):
    signed = (admin.address, 3, 1_900_000_000, (1_800_000_000, 12_345, 678, 50_000, 1_000))
    assert harness.signer(DOMAIN, signed_argument(*signed)) == KEY.public_key.to_checksum_address()


def test_any_other_field_or_domain_recovers_another_key(harness, admin):
    signed = (admin.address, 3, 1_900_000_000, (1_800_000_000, 12_345, 678, 50_000, 1_000))
    argument = signed_argument(*signed)
    key = KEY.public_key.to_checksum_address()
    assert harness.signer(keccak(text="another domain"), argument) != key
    other_meter = "0x" + "11" * 20
    assert other_meter != admin.address.lower()
    for field, value in ((0, other_meter), (1, argument[1] + 1), (2, argument[2] + 1)):
        changed = list(argument)
        changed[field] = value
        assert harness.signer(DOMAIN, tuple(changed)) != key
    for index in range(5):
        reading = list(argument[3])
        reading[index] += 1
        assert harness.signer(DOMAIN, (*argument[:3], tuple(reading), *argument[4:])) != key
    # A v other than 27 or 28 and an r of zero recover nobody.
    assert harness.signer(DOMAIN, (*argument[:4], 29, *argument[5:])) == "0x" + "0" * 40
    assert harness.signer(DOMAIN, (*argument[:5], bytes(32), argument[6])) == "0x" + "0" * 40


@settings(max_examples=40, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(signed=SIGNED, domain=BYTES32)
def test_any_reading_recovers_its_signer(harness, signed, domain):
    meter, nonce, deadline, reading = signed
    assert harness.signer(domain, signed_argument(meter, nonce, deadline, reading, domain)) == KEY.public_key.to_checksum_address()


@settings(max_examples=15, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(batch=st.lists(SIGNED, min_size=1, max_size=8))
def test_a_batch_recovers_each_signer_and_leaves_allocated_memory_alone(harness, batch):
    signers = harness.signers(DOMAIN, [signed_argument(*signed) for signed in batch])
    assert signers == [KEY.public_key.to_checksum_address()] * len(batch)


HALF_CURVE_ORDER = 0x7FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF5D576E7357A4501DDFE92F46681B20A0
ZERO_ADDRESS = "0x" + "0" * 40


@settings(max_examples=60, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    recovered=st.sampled_from([ZERO_ADDRESS, "0x" + "11" * 20, "0x" + "22" * 20]),
    meter=st.sampled_from([ZERO_ADDRESS, "0x" + "11" * 20]),
    nonce=st.integers(min_value=0, max_value=3),
    expected_nonce=st.integers(min_value=0, max_value=3),
    deadline_offset=st.integers(min_value=-2, max_value=2),
    s=st.sampled_from([0, 1, HALF_CURVE_ORDER - 1, HALF_CURVE_ORDER, HALF_CURVE_ORDER + 1, 2**255 - 1]),
)
def test_passes_is_every_check_at_once(harness, recovered, meter, nonce, expected_nonce, deadline_offset, s):
    # The deadline is set relative to the time the check sees: at it (still valid), before it or after it.
    every_check = (
        recovered != ZERO_ADDRESS
        and recovered == meter
        and nonce == expected_nonce
        and deadline_offset >= 0
        and s <= HALF_CURVE_ORDER
    )
    assert harness.passes(recovered, meter, nonce, expected_nonce, deadline_offset, s.to_bytes(32, "big")) == every_check

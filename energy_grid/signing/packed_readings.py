"""The packed calldata of `SmartMeter.submitPackedReadings` and `submitPackedSignedReadings`.

Each entry is big-endian and unpadded: the meter (20 bytes), the reading's timestamp (5),
consumption (6), production (6), grid frequency (2) and voltage (2); a signed entry goes on with its
nonce (5), deadline (5) and its EIP-2098 signature: r (32) and vs (32, s with v - 27 in its top
bit). About half the calldata gas of the ABI's words, which are mostly zero bytes. The contract's
`PACKED_READING_BYTES` and `PACKED_SIGNED_READING_BYTES` are the two entry sizes. A value that does
not fit its field raises ValueError: such a reading goes in the ABI's encoding instead.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from eth_utils import to_canonical_address

READING_BYTES = 41
SIGNED_READING_BYTES = 115
# The width in bytes of each field of a reading, in ISmartMeter.MeterReading's order.
READING_FIELD_BYTES = (5, 6, 6, 2, 2)
NONCE_BYTES = DEADLINE_BYTES = 5
V_OFFSET = 27  # v is 27 or 28; EIP-2098 keeps v - 27 in the top bit of s
S_TOP_BIT = 1 << 255


def _field(value: int, width: int, name: str) -> bytes:
    if not 0 <= value < 1 << (8 * width):
        raise ValueError(f"a packed reading's {name} {value} does not fit its {width} bytes")
    return value.to_bytes(width, "big")


def pack_reading(meter: str, reading: Sequence[int]) -> bytes:
    """One entry of submitPackedReadings: `meter` and its (timestamp, consumption Wh, production Wh,
    frequency mHz, voltage per mille)."""
    names = ("timestamp", "consumption", "production", "frequency", "voltage")
    fields = b"".join(_field(v, w, n) for v, w, n in zip(reading, READING_FIELD_BYTES, names, strict=True))
    return to_canonical_address(meter) + fields


def pack_readings(entries: Iterable[tuple[str, Sequence[int]]]) -> bytes:
    """A batch for submitPackedReadings from (meter, reading) pairs."""
    return b"".join(pack_reading(meter, reading) for meter, reading in entries)


def pack_signed_reading(
    meter: str, nonce: int, deadline: int, reading: Sequence[int], v: int, r: bytes, s: bytes
) -> bytes:
    """One entry of submitPackedSignedReadings: the reading, its nonce and deadline, and the meter's
    signature (v, r, s) in EIP-2098's 64 bytes."""
    if v not in (V_OFFSET, V_OFFSET + 1):
        raise ValueError(f"a packed signature needs v of 27 or 28, not {v}")
    s_value = int.from_bytes(s, "big")
    if s_value >= S_TOP_BIT:
        raise ValueError("a packed signature needs s below 2**255: its top bit carries v")
    vs = s_value | (S_TOP_BIT if v == V_OFFSET + 1 else 0)
    return (
        pack_reading(meter, reading)
        + _field(nonce, NONCE_BYTES, "nonce")
        + _field(deadline, DEADLINE_BYTES, "deadline")
        + bytes(r).rjust(32, b"\0")
        + vs.to_bytes(32, "big")
    )

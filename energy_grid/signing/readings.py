"""Meter-signed readings (EIP-712) for `SmartMeter.submitSignedReadings` and its packed form.

A meter device holds its own key; the meter's registered address is that key's address. It signs
each reading with the meter's next nonce and a deadline, and any relayer (a gateway, a web service)
submits the signed entries without holding a device key or a role. The typed data built here is
exactly what the contract hashes (`SIGNED_READING_TYPEHASH` over the domain `SmartMeter`, version
`1`, the chain id and the contract's address). The device voids readings it signed and no relayer
submitted yet by raising its nonce itself (`SmartMeter.invalidateNonces` from the meter's own
address; the owner cannot).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from eth_abi import encode
from eth_account import Account
from eth_keys.datatypes import PrivateKey
from eth_utils import keccak

from energy_grid.domain.units import DAY_SECONDS
from energy_grid.signing.eip712 import EIP712_DOMAIN, sign_typed_data, signing_domain, type_string
from energy_grid.signing.eip712 import typed_data as eip712_typed_data
from energy_grid.signing.packed_readings import pack_signed_reading

DOMAIN_NAME = "SmartMeter"
# How long after its time a meter's signed reading stays valid by default: SmartMeter's default
# maximum reading age, so that the signature lasts exactly as long as the contract would take the
# reading's time, whatever happens to the gateway meanwhile.
DEADLINE_MARGIN_S = 7 * DAY_SECONDS
DOMAIN_VERSION = "1"

Reading = tuple[int, int, int, int, int]  # ISmartMeter.MeterReading: timestamp, import Wh, export Wh, mHz, per mille

METER_READING_FIELDS = [
    {"name": "timestamp", "type": "uint256"},
    {"name": "consumption", "type": "uint256"},
    {"name": "production", "type": "uint256"},
    {"name": "gridFrequency", "type": "uint256"},
    {"name": "voltage", "type": "uint256"},
]
SIGNED_READING_FIELDS = [
    {"name": "meter", "type": "address"},
    {"name": "nonce", "type": "uint256"},
    {"name": "deadline", "type": "uint256"},
    {"name": "reading", "type": "MeterReading"},
]
EIP712_DOMAIN_FIELDS = EIP712_DOMAIN

# The contract's constants, for a client to check it speaks the same types (the nested struct's type
# follows the primary one's, as EIP-712 encodes it).
METER_READING_TYPE = type_string("MeterReading", METER_READING_FIELDS)
SIGNED_READING_TYPE = type_string("SignedReading", SIGNED_READING_FIELDS) + METER_READING_TYPE
METER_READING_TYPEHASH = keccak(text=METER_READING_TYPE)
SIGNED_READING_TYPEHASH = keccak(text=SIGNED_READING_TYPE)
EIP712_DOMAIN_TYPEHASH = keccak(text=type_string("EIP712Domain", EIP712_DOMAIN))
EIP191_STRUCTURED_PREFIX = b"\x19\x01"  # EIP-712's digest = keccak(prefix ‖ domain separator ‖ struct hash)
ETHEREUM_V_OFFSET = 27  # eth-keys' recovery id 0/1 as the contracts' v 27/28


@dataclass(frozen=True)
class SignedReading:
    """ISmartMeterRegistry.SignedReading: the signed message and its signature."""

    meter: str
    nonce: int
    deadline: int  # unix seconds
    reading: Reading
    v: int
    r: bytes
    s: bytes

    def as_tuple(self) -> tuple[Any, ...]:
        """The struct as the ABI encodes it, for `submitSignedReadings([...])`."""
        return (self.meter, self.nonce, self.deadline, tuple(self.reading), self.v, self.r, self.s)

    def packed(self) -> bytes:
        """The entry as `submitPackedSignedReadings` takes it (115 bytes, the signature in EIP-2098's 64)."""
        return pack_signed_reading(self.meter, self.nonce, self.deadline, self.reading, self.v, self.r, self.s)


def relay_arguments(entries: Sequence[SignedReading]) -> tuple[str, tuple[Any, ...]]:
    """The SmartMeter function that relays `entries` and its arguments: submitPackedSignedReadings,
    about half the calldata gas, unless an entry does not pack (a deadline past 40 bits: a device may
    sign one that never expires), then submitSignedReadings. Both check the entries alike."""
    try:
        return "submitPackedSignedReadings", (b"".join(entry.packed() for entry in entries),)
    except ValueError:
        return "submitSignedReadings", ([entry.as_tuple() for entry in entries],)


def typed_data(chain_id: int, smart_meter: str, meter: str, nonce: int, deadline: int, reading: Reading) -> dict[str, Any]:
    """The EIP-712 message a meter signs for `reading` (a wallet or HSM can sign this dict as is)."""
    timestamp, consumption, production, frequency, voltage = reading
    message = {
        "meter": meter,
        "nonce": nonce,
        "deadline": deadline,
        "reading": {
            "timestamp": timestamp,
            "consumption": consumption,
            "production": production,
            "gridFrequency": frequency,
            "voltage": voltage,
        },
    }
    domain = signing_domain(DOMAIN_NAME, DOMAIN_VERSION, chain_id, smart_meter)
    return eip712_typed_data(domain, "SignedReading", SIGNED_READING_FIELDS, message, {"MeterReading": METER_READING_FIELDS})


def sign_reading(
    private_key: Any, chain_id: int, smart_meter: str, nonce: int, deadline: int, reading: Reading, meter: str | None = None
) -> SignedReading:
    """Signs `reading` with the meter's key. `meter` defaults to the key's address (a meter's
    registered address is its key's); naming another lets a test sign for a meter it is not."""
    meter = meter or Account.from_key(private_key).address
    signature = sign_typed_data(typed_data(chain_id, smart_meter, meter, nonce, deadline, reading), private_key)
    return SignedReading(meter, nonce, deadline, (*reading,), *signature.args())


def sign_readings(
    private_key: Any, chain_id: int, smart_meter: str, first_nonce: int, deadline: int, readings: list[Reading]
) -> list[SignedReading]:
    """A device's buffered readings (in time order) signed with consecutive nonces from `first_nonce`
    (the contract's `nonces(meter)`)."""
    return [sign_reading(private_key, chain_id, smart_meter, first_nonce + i, deadline, reading) for i, reading in enumerate(readings)]


def domain_separator(chain_id: int, smart_meter: str) -> bytes:
    """The EIP-712 domain separator of SmartMeter at `smart_meter` on chain `chain_id`."""
    return keccak(
        encode(
            ["bytes32", "bytes32", "bytes32", "uint256", "address"],
            [EIP712_DOMAIN_TYPEHASH, keccak(text=DOMAIN_NAME), keccak(text=DOMAIN_VERSION), chain_id, smart_meter],
        )
    )


def reading_digest(separator: bytes, meter: str, nonce: int, deadline: int, reading: Reading) -> bytes:
    """The 32 bytes a meter signs for `reading`, hashed directly: the same digest the typed data
    of `typed_data` gives, without eth-account's generic encoder (a few microseconds instead of a
    millisecond, for a fleet that signs a thousand readings an interval)."""
    reading_hash = keccak(encode(["bytes32", "uint256", "uint256", "uint256", "uint256", "uint256"], [METER_READING_TYPEHASH, *reading]))
    struct_hash = keccak(
        encode(["bytes32", "address", "uint256", "uint256", "bytes32"], [SIGNED_READING_TYPEHASH, meter, nonce, deadline, reading_hash])
    )
    return keccak(EIP191_STRUCTURED_PREFIX + separator + struct_hash)


def sign_reading_digest(key: PrivateKey, separator: bytes, nonce: int, deadline: int, reading: Reading) -> SignedReading:
    """`sign_reading` over the digest (reading_digest) with an eth-keys key: the same signature,
    deterministic (RFC 6979) and with a low s, as SmartMeter requires."""
    meter = key.public_key.to_checksum_address()
    signature = key.sign_msg_hash(reading_digest(separator, meter, nonce, deadline, reading))
    return SignedReading(
        meter,
        nonce,
        deadline,
        (*reading,),
        signature.v + ETHEREUM_V_OFFSET,
        signature.r.to_bytes(32, "big"),
        signature.s.to_bytes(32, "big"),
    )

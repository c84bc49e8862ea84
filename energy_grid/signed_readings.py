"""Meter-signed readings (EIP-712) for `SmartMeter.submitSignedReadings`.

A meter device holds its own key; the meter's registered address is that key's address. It signs
each reading with the meter's next nonce and a deadline, and any relayer (a gateway, a web service)
submits the signed entries without holding a device key or a role. The typed data built here is
exactly what the contract hashes (`SIGNED_READING_TYPEHASH` over the domain `SmartMeter`, version
`1`, the chain id and the contract's address). The device voids readings it signed and no relayer
submitted yet by raising its nonce itself (`SmartMeter.invalidateNonces` from the meter's own
address; the owner cannot).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from eth_account import Account
from eth_account.messages import encode_typed_data
from eth_utils import keccak

DOMAIN_NAME = "SmartMeter"
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
EIP712_DOMAIN_FIELDS = [
    {"name": "name", "type": "string"},
    {"name": "version", "type": "string"},
    {"name": "chainId", "type": "uint256"},
    {"name": "verifyingContract", "type": "address"},
]

# The contract's constants, for a client to check it speaks the same types.
METER_READING_TYPE = "MeterReading(uint256 timestamp,uint256 consumption,uint256 production,uint256 gridFrequency,uint256 voltage)"
SIGNED_READING_TYPE = "SignedReading(address meter,uint256 nonce,uint256 deadline,MeterReading reading)" + METER_READING_TYPE
METER_READING_TYPEHASH = keccak(text=METER_READING_TYPE)
SIGNED_READING_TYPEHASH = keccak(text=SIGNED_READING_TYPE)


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


def typed_data(chain_id: int, smart_meter: str, meter: str, nonce: int, deadline: int, reading: Reading) -> dict[str, Any]:
    """The EIP-712 message a meter signs for `reading` (a wallet or HSM can sign this dict as is)."""
    timestamp, consumption, production, frequency, voltage = reading
    return {
        "types": {
            "EIP712Domain": EIP712_DOMAIN_FIELDS,
            "SignedReading": SIGNED_READING_FIELDS,
            "MeterReading": METER_READING_FIELDS,
        },
        "primaryType": "SignedReading",
        "domain": {
            "name": DOMAIN_NAME,
            "version": DOMAIN_VERSION,
            "chainId": chain_id,
            "verifyingContract": smart_meter,
        },
        "message": {
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
        },
    }


def sign_reading(
    private_key: Any, chain_id: int, smart_meter: str, nonce: int, deadline: int, reading: Reading, meter: str | None = None
) -> SignedReading:
    """Signs `reading` with the meter's key. `meter` defaults to the key's address (a meter's
    registered address is its key's); naming another lets a test sign for a meter it is not."""
    signer = Account.from_key(private_key)
    meter = meter or signer.address
    message = encode_typed_data(full_message=typed_data(chain_id, smart_meter, meter, nonce, deadline, reading))
    signed = signer.sign_message(message)
    return SignedReading(
        meter, nonce, deadline, (*reading,), signed.v, signed.r.to_bytes(32, "big"), signed.s.to_bytes(32, "big")
    )


def sign_readings(
    private_key: Any, chain_id: int, smart_meter: str, first_nonce: int, deadline: int, readings: list[Reading]
) -> list[SignedReading]:
    """A device's buffered readings (in time order) signed with consecutive nonces from `first_nonce`
    (the contract's `nonces(meter)`)."""
    return [
        sign_reading(private_key, chain_id, smart_meter, first_nonce + i, deadline, reading)
        for i, reading in enumerate(readings)
    ]

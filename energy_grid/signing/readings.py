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
from eth_utils import keccak

from energy_grid.signing.eip712 import EIP712_DOMAIN, sign_typed_data, signing_domain, type_string
from energy_grid.signing.eip712 import typed_data as eip712_typed_data

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
EIP712_DOMAIN_FIELDS = EIP712_DOMAIN

# The contract's constants, for a client to check it speaks the same types (the nested struct's type
# follows the primary one's, as EIP-712 encodes it).
METER_READING_TYPE = type_string("MeterReading", METER_READING_FIELDS)
SIGNED_READING_TYPE = type_string("SignedReading", SIGNED_READING_FIELDS) + METER_READING_TYPE
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
    return [
        sign_reading(private_key, chain_id, smart_meter, first_nonce + i, deadline, reading)
        for i, reading in enumerate(readings)
    ]

"""The gateway's MQTT messages: the topics it reads and answers on, a signed reading as a meter
publishes it, and the checks a reading passes before the gateway accepts it.

A meter publishes on `energy-grid/<chainId>/meters/<meter>/readings` (its address in lowercase
hex) the JSON form of `ISmartMeterRegistry.SignedReading`, with the ABI's field names:

    {"meter": "0x…", "nonce": 7, "deadline": 1796190000,
     "reading": {"timestamp": …, "consumption": …, "production": …, "gridFrequency": …, "voltage": …},
     "v": 27, "r": "0x…", "s": "0x…"}

Integers are JSON numbers or decimal strings; `r` and `s` are 32 bytes in 0x-hex. The signature is
the meter key's over the EIP-712 typed data SmartMeter verifies (energy_grid.signing.readings).
The gateway answers on `…/<meter>/rejected` with `{"nonce", "reason", "message", "digest"}`, the
reason one of the codes below, or, once the reading is on chain, on `…/<meter>/accepted` with
`{"nonce", "txHash", "blockNumber", "confirmations", "digest"}` (how deep the block was when
answered). `digest` is the EIP-712 digest the meter signed (null when the message does not read as a
signed reading): a meter that signed a reading again under the same nonce, with a later deadline
after its first was refused `expired`, tells by it which of the two an answer is about.

Every check here runs before the reading joins a batch, because SmartMeter takes a batch whole or
not at all: one bad reading must never delay or revert another meter's.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from web3 import Web3

from energy_grid.contracts.structs import MeterReading
from energy_grid.services.reading_rules import ChainLimits, check_after, check_bounds, check_time
from energy_grid.signing.eip712 import SECP256K1_N, Signature, recover_typed_data_signer
from energy_grid.signing.readings import SignedReading, typed_data

TOPIC_ROOT = "energy-grid"
MAX_UINT256 = 2**256 - 1
# The largest message the gateway reads. A signed reading in the documented form is about 400 bytes,
# or some 700 with every integer at its widest as a decimal string; the broker caps messages at the
# same size (message_size_limit), so a meter cannot make the gateway parse more.
MAX_MESSAGE_BYTES = 2_048
MAX_ANSWER_MESSAGE_CHARS = 240  # a rejection's sentence, so that every answer fits MAX_MESSAGE_BYTES
READING_FIELDS = ("timestamp", "consumption", "production", "gridFrequency", "voltage")
MESSAGE_FIELDS = ("meter", "nonce", "deadline", "reading", "v", "r", "s")
ADDRESS = re.compile(r"0x[0-9a-fA-F]{40}")
WORD = re.compile(r"0x[0-9a-fA-F]{64}")
DECIMAL = re.compile(r"[0-9]+")
READINGS_TOPIC = re.compile(TOPIC_ROOT + r"/(?P<chain>[0-9]+)/meters/(?P<meter>0x[0-9a-f]{40})/readings")


class MessageCode(StrEnum):
    """Why a message is refused before its reading is looked at; the values are documented codes.
    A reading that breaks one of SmartMeter's rules carries a RefusalCode instead."""

    MALFORMED = "malformed"  # not the JSON above (a field missing, extra or of the wrong form), or over MAX_MESSAGE_BYTES
    WRONG_TOPIC = "wrong-topic"  # the payload's meter is not the topic's
    BAD_SIGNATURE = "bad-signature"  # not signed by the meter's key, or a malleable signature
    UNKNOWN_METER = "unknown-meter"
    INACTIVE_METER = "inactive-meter"
    NONCE_USED = "nonce-used"  # below the meter's next nonce: a replay, or a reading already taken
    NONCE_AHEAD = "nonce-ahead"  # above the meter's next nonce: an earlier reading is missing
    EXPIRED = "expired"  # its deadline passes before the next block
    TOO_MUCH_GAS = "too-much-gas"  # the reading alone needs more gas than a batch may take


class Rejected(Exception):
    """A message the gateway refuses, with the code it answers and a sentence for the log."""

    def __init__(self, code: str, message: str, nonce: int | None = None, digest: str | None = None) -> None:
        super().__init__(message)
        self.code = str(code)
        self.message = message
        self.nonce = nonce
        self.digest = digest  # the refused reading's EIP-712 digest, once the message reads as one

    def answer(self) -> bytes:
        """The payload of the `rejected` answer. Its sentence is cut to MAX_ANSWER_MESSAGE_CHARS: it
        may quote the message (a 1,900-digit nonce), and an answer over the broker's message size
        limit would be dropped, leaving the device without one."""
        message = self.message if len(self.message) <= MAX_ANSWER_MESSAGE_CHARS else self.message[: MAX_ANSWER_MESSAGE_CHARS - 1] + "…"
        return json.dumps({"nonce": self.nonce, "reason": self.code, "message": message, "digest": self.digest}).encode()


# ------------------------------------------------------------------------------------ topics


def readings_topic(chain_id: int, meter: str) -> str:
    return f"{TOPIC_ROOT}/{chain_id}/meters/{meter.lower()}/readings"


def answer_topic(chain_id: int, meter: str, accepted: bool) -> str:
    return f"{TOPIC_ROOT}/{chain_id}/meters/{meter.lower()}/{'accepted' if accepted else 'rejected'}"


def clock_topic(chain_id: int) -> str:
    """The gateway's retained message of the chain's clock: a meter whose own clock is not the
    chain's (a local chain runs faster than the wall) stamps its readings by it."""
    return f"{TOPIC_ROOT}/{chain_id}/clock"


def clock_message(block_number: int, timestamp_s: int) -> bytes:
    """The clock's payload: the latest block the gateway saw, `{"blockNumber": n, "timestamp": t}`."""
    return json.dumps({"blockNumber": block_number, "timestamp": timestamp_s}, separators=(",", ":")).encode()


def parse_clock(payload: bytes) -> tuple[int, int]:
    """(block number, timestamp in unix seconds) of a clock message; ValueError with a sentence when
    the payload is not one."""
    try:
        message = json.loads(payload)
        block_number, timestamp_s = message["blockNumber"], message["timestamp"]
    except (UnicodeDecodeError, ValueError, KeyError, TypeError, RecursionError):
        raise ValueError(f"{payload[:80]!r} is not a clock message (JSON with blockNumber and timestamp)") from None
    if not all(isinstance(value, int) and not isinstance(value, bool) and value >= 0 for value in (block_number, timestamp_s)):
        raise ValueError(f"the clock message's blockNumber and timestamp must be whole numbers, not {block_number!r} and {timestamp_s!r}")
    return block_number, timestamp_s


def readings_subscription(chain_id: int) -> str:
    """The gateway's subscription: every meter's readings on this chain."""
    return f"{TOPIC_ROOT}/{chain_id}/meters/+/readings"


def meter_of_topic(topic: str, chain_id: int) -> str:
    """The meter a readings topic names, lowercase; Rejected when the topic is not one."""
    match = READINGS_TOPIC.fullmatch(topic)
    if match is None or match["chain"] != str(chain_id):
        raise Rejected(MessageCode.WRONG_TOPIC, f"{topic!r} is not a readings topic of chain {chain_id} with a lowercase meter address")
    return match["meter"]


def reading_message(signed: SignedReading) -> bytes:
    """The message a meter publishes for `signed`, in the documented form (integers as JSON numbers,
    `r` and `s` in 0x-hex), compact and in a fixed order: the same reading always gives the same bytes."""
    reading = dict(zip(READING_FIELDS, signed.reading, strict=True))
    message = {
        "meter": signed.meter,
        "nonce": signed.nonce,
        "deadline": signed.deadline,
        "reading": reading,
        "v": signed.v,
        "r": "0x" + signed.r.hex(),
        "s": "0x" + signed.s.hex(),
    }
    return json.dumps(message, separators=(",", ":")).encode()


def accepted_answer(nonce: int, tx_hash: str, block_number: int, confirmations: int, digest: str) -> bytes:
    """The `accepted` answer: where the reading is on chain, how deep its block was when answered
    (1: the latest block), which says how far a reorganisation would have to reach to drop it, and
    the digest the meter signed, which says which of its signed readings under that nonce it was."""
    answer = {"nonce": nonce, "txHash": tx_hash, "blockNumber": block_number, "confirmations": confirmations, "digest": digest}
    return json.dumps(answer).encode()


# ------------------------------------------------------------------------------------ parsing


def parse_reading(topic: str, payload: bytes, chain_id: int) -> SignedReading:
    """The signed reading of a message on `topic`, parsed strictly; Rejected (MALFORMED or
    WRONG_TOPIC) when it is not exactly the documented form."""
    topic_meter = meter_of_topic(topic, chain_id)
    if len(payload) > MAX_MESSAGE_BYTES:
        too_long = f"the message has {len(payload):,} bytes, more than the {MAX_MESSAGE_BYTES:,} a reading may have"
        raise Rejected(MessageCode.MALFORMED, too_long)
    try:
        message = json.loads(payload)
    except (UnicodeDecodeError, json.JSONDecodeError) as err:
        raise Rejected(MessageCode.MALFORMED, f"the payload is not JSON: {err}") from None
    except (RecursionError, ValueError) as err:
        # Nesting too deep for the parser, or a number past Python's limit on digits.
        raise Rejected(MessageCode.MALFORMED, f"the payload is not a reading's JSON: {type(err).__name__}") from None
    if not isinstance(message, dict):
        raise Rejected(MessageCode.MALFORMED, "the message must be a JSON object")
    # The nonce first, so that a refusal of the rest still tells the meter which reading it was.
    nonce = _uint(message, "nonce") if "nonce" in message else None
    try:
        _check_keys(message, MESSAGE_FIELDS, "the message")
        _check_keys(message["reading"], READING_FIELDS, "the reading")
        meter = message["meter"]
        if not isinstance(meter, str) or not ADDRESS.fullmatch(meter):
            raise Rejected(MessageCode.MALFORMED, "meter must be an address in 0x-hex")
        if meter.lower() != topic_meter:
            raise Rejected(MessageCode.WRONG_TOPIC, f"the message names meter {meter}, the topic {topic_meter}")
        reading = tuple(_uint(message["reading"], name) for name in READING_FIELDS)
        signed = SignedReading(
            meter=Web3.to_checksum_address(meter),
            nonce=_uint(message, "nonce"),
            deadline=_uint(message, "deadline"),
            reading=(reading[0], reading[1], reading[2], reading[3], reading[4]),
            v=_uint(message, "v", 255),
            r=_word(message, "r"),
            s=_word(message, "s"),
        )
    except Rejected as rejected:
        rejected.nonce = nonce
        raise
    return signed


def _check_keys(value: Any, fields: tuple[str, ...], what: str) -> None:
    if not isinstance(value, dict):
        raise Rejected(MessageCode.MALFORMED, f"{what} must be a JSON object")
    missing = [name for name in fields if name not in value]
    extra = sorted(set(value) - set(fields))
    if missing or extra:
        raise Rejected(MessageCode.MALFORMED, f"{what} lacks {missing} or has unknown fields {extra}")


def _uint(container: dict[str, Any], name: str, maximum: int = MAX_UINT256) -> int:
    """A JSON number or decimal string that is a whole number from 0 to `maximum`."""
    value = container[name]
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise Rejected(MessageCode.MALFORMED, f"{name} must be a whole number (a JSON number or a decimal string)")
    if isinstance(value, str):
        if not DECIMAL.fullmatch(value):
            raise Rejected(MessageCode.MALFORMED, f"{name} {value!r} is not a decimal whole number")
        value = int(value)
    if not 0 <= value <= maximum:
        raise Rejected(MessageCode.MALFORMED, f"{name} {value} is outside 0..{maximum}")
    return value


def _word(container: dict[str, Any], name: str) -> bytes:
    value = container[name]
    if not isinstance(value, str) or not WORD.fullmatch(value):
        raise Rejected(MessageCode.MALFORMED, f"{name} must be 32 bytes in 0x-hex")
    return bytes.fromhex(value[2:])


# ------------------------------------------------------------------------------------ checks


@dataclass(frozen=True)
class MeterView:
    """One meter as the gateway must see it: the chain's record advanced by the readings the
    gateway has accepted and not yet seen on chain."""

    registered: bool
    active: bool
    next_nonce: int
    latest: MeterReading  # timestamp 0: no reading yet


def verify_signature(signed: SignedReading, chain_id: int, smart_meter: str) -> None:
    """Rejected (BAD_SIGNATURE) unless the meter's own key signed the reading, with a low s as
    SmartMeter requires."""
    if int.from_bytes(signed.s, "big") > SECP256K1_N // 2:
        raise Rejected(MessageCode.BAD_SIGNATURE, "the signature's s is in the upper half (malleable)", signed.nonce)
    typed = typed_data(chain_id, smart_meter, signed.meter, signed.nonce, signed.deadline, signed.reading)
    try:
        signer = recover_typed_data_signer(typed, Signature(signed.v, signed.r, signed.s))
    except Exception as err:
        raise Rejected(MessageCode.BAD_SIGNATURE, f"no signer recovers from the signature: {err}", signed.nonce) from None
    if signer.lower() != signed.meter.lower():
        raise Rejected(MessageCode.BAD_SIGNATURE, f"signed by {signer}, not by meter {signed.meter}", signed.nonce)


def check_deadline(signed: SignedReading, next_block_s: int) -> None:
    """Rejected (EXPIRED) when the reading's deadline passes before `next_block_s`, the earliest time
    the next block carries: SmartMeter refuses a reading whose deadline is before its block's time,
    and with it the whole batch, so a reading that cannot be in a block before its deadline is
    refused now and the meter signs it again."""
    if signed.deadline < next_block_s:
        message = f"the deadline {signed.deadline} passes before the next block (stamped {next_block_s} at the earliest)"
        raise Rejected(MessageCode.EXPIRED, message, signed.nonce)


def check_reading(signed: SignedReading, meter: MeterView, limits: ChainLimits, next_block_s: int | None = None) -> None:
    """Rejected with the reason SmartMeter would refuse `signed` for, checked in the contract's
    order; None when the reading can join a batch. The deadline is checked against `next_block_s`
    (the earliest time of the next block; `limits.now_s` if None): a gateway that holds readings up
    to a tolerance after the chain's clock checks their time against the clock plus that tolerance,
    but a deadline is checked against the block the reading can be in."""
    nonce = signed.nonce
    if not meter.registered:
        raise Rejected(MessageCode.UNKNOWN_METER, f"meter {signed.meter} is not registered", nonce)
    if not meter.active:
        raise Rejected(MessageCode.INACTIVE_METER, f"meter {signed.meter} is not active", nonce)
    if nonce < meter.next_nonce:
        raise Rejected(MessageCode.NONCE_USED, f"nonce {nonce} is taken: the meter's next nonce is {meter.next_nonce}", nonce)
    if nonce > meter.next_nonce:
        raise Rejected(MessageCode.NONCE_AHEAD, f"nonce {nonce} skips ahead: the meter's next nonce is {meter.next_nonce}", nonce)
    check_deadline(signed, limits.now_s if next_block_s is None else next_block_s)
    reading = MeterReading(*signed.reading)
    refusal = check_bounds(reading, limits)
    if refusal is None and meter.latest.timestamp:
        refusal = check_after(reading, meter.latest, "the meter's previous reading", limits)
    refusal = refusal or check_time(reading, limits)
    if refusal is not None:
        raise Rejected(refusal.code, refusal.message, nonce)

"""The gateway's message rules, without a broker or a chain: a signed reading parsed from the
documented JSON, and every reason a message is refused, each with its documented code."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from eth_account import Account
from eth_account.signers.local import LocalAccount

from energy_grid.contracts.structs import MeterReading
from energy_grid.services.gateway.messages import (
    MessageCode,
    MeterView,
    Rejected,
    accepted_answer,
    answer_topic,
    check_reading,
    parse_reading,
    readings_subscription,
    readings_topic,
    verify_signature,
)
from energy_grid.services.reading_rules import RefusalCode
from energy_grid.signing.eip712 import Signature
from energy_grid.signing.readings import Reading, SignedReading, sign_reading

from support.meter_helpers import sample_limits

CHAIN_ID = 31337
SMART_METER = "0x" + "5e" * 20
DEVICE = Account.from_key("0x" + "11" * 32)
OTHER = Account.from_key("0x" + "22" * 32)
NOW = 1_800_000_000
LIMITS = sample_limits(NOW)
PREVIOUS = MeterReading(NOW - 900, 5_000, 2_000, 50_000, 1_000)
VIEW = MeterView(registered=True, active=True, next_nonce=7, latest=PREVIOUS)


def signed(
    reading: Reading = (NOW - 10, 5_100, 2_050, 50_010, 1_002),
    nonce: int = 7,
    deadline: int = NOW + 600,
    key: LocalAccount = DEVICE,
    meter: str | None = None,
) -> SignedReading:
    return sign_reading(key.key, CHAIN_ID, SMART_METER, nonce, deadline, reading, meter=meter)


def message(signed_reading: SignedReading, /, **changes: Any) -> dict:
    reading = signed_reading
    timestamp, consumption, production, frequency, voltage = reading.reading
    body = {
        "meter": reading.meter,
        "nonce": reading.nonce,
        "deadline": reading.deadline,
        "reading": {
            "timestamp": timestamp,
            "consumption": consumption,
            "production": production,
            "gridFrequency": frequency,
            "voltage": voltage,
        },
        "v": reading.v,
        "r": "0x" + reading.r.hex(),
        "s": "0x" + reading.s.hex(),
    }
    body.update(changes)
    return body


def parse(body: dict | bytes, topic: str | None = None) -> SignedReading:
    payload = body if isinstance(body, bytes) else json.dumps(body).encode()
    return parse_reading(topic or readings_topic(CHAIN_ID, DEVICE.address), payload, CHAIN_ID)


def code_of(call: Callable[[], object]) -> str:
    with pytest.raises(Rejected) as refused:
        call()
    return refused.value.code


def test_a_published_reading_parses_back_to_what_the_meter_signed():
    s = signed()
    assert parse(message(s)) == s
    verify_signature(parse(message(s)), CHAIN_ID, SMART_METER)
    check_reading(s, VIEW, LIMITS)


def test_integers_may_come_as_decimal_strings():
    s = signed()
    as_strings = message(s, nonce=str(s.nonce), deadline=str(s.deadline), v=str(s.v))
    as_strings["reading"] = {name: str(value) for name, value in as_strings["reading"].items()}
    assert parse(as_strings) == s


def test_topics_name_the_meter_in_lowercase_hex():
    assert readings_topic(CHAIN_ID, DEVICE.address) == f"energy-grid/31337/meters/{DEVICE.address.lower()}/readings"
    assert answer_topic(CHAIN_ID, DEVICE.address, accepted=False).endswith("/rejected")
    assert answer_topic(CHAIN_ID, DEVICE.address, accepted=True).endswith("/accepted")
    assert readings_subscription(CHAIN_ID) == "energy-grid/31337/meters/+/readings"


@pytest.mark.parametrize(
    "payload",
    [
        b"not json",
        b"\xff\xfe",
        b"[]",
        json.dumps({"meter": DEVICE.address}).encode(),
    ],
)
def test_a_payload_that_is_not_the_documented_object_is_malformed(payload):
    assert code_of(lambda: parse(payload)) == MessageCode.MALFORMED


@pytest.mark.parametrize(
    "changes",
    [
        {"extra": 1},
        {"nonce": -1},
        {"nonce": 1.5},
        {"nonce": True},
        {"nonce": "0x07"},
        {"deadline": 2**256},
        {"v": 256},
        {"r": "0x1234"},
        {"s": 5},
        {"meter": "not an address"},
        {"reading": {"timestamp": 1}},
    ],
)
def test_each_wrong_field_is_malformed_and_names_the_nonce_when_it_can(changes):
    s = signed()
    with pytest.raises(Rejected) as refused:
        parse(message(s, **changes))
    assert refused.value.code == MessageCode.MALFORMED
    if "nonce" not in changes:
        assert refused.value.nonce == s.nonce


@pytest.mark.parametrize(
    "topic",
    [
        readings_topic(CHAIN_ID, OTHER.address),  # another meter's topic
        readings_topic(CHAIN_ID + 1, DEVICE.address),  # another chain
        f"energy-grid/31337/meters/{DEVICE.address}/readings",  # not lowercase
        f"energy-grid/31337/meters/{DEVICE.address.lower()}/accepted",
    ],
)
def test_a_reading_on_a_topic_that_is_not_its_meters_is_refused(topic):
    assert code_of(lambda: parse(message(signed()), topic)) == MessageCode.WRONG_TOPIC


def test_a_reading_signed_by_another_key_a_tampered_one_and_a_malleable_one_are_refused():
    forged = signed(key=OTHER, meter=DEVICE.address)
    assert code_of(lambda: verify_signature(forged, CHAIN_ID, SMART_METER)) == MessageCode.BAD_SIGNATURE
    s = signed()
    tampered = SignedReading(s.meter, s.nonce, s.deadline, (s.reading[0], s.reading[1] + 1, *s.reading[2:]), s.v, s.r, s.s)
    assert code_of(lambda: verify_signature(tampered, CHAIN_ID, SMART_METER)) == MessageCode.BAD_SIGNATURE
    high_s = Signature(s.v, s.r, s.s).malleated()
    malleable = SignedReading(s.meter, s.nonce, s.deadline, s.reading, high_s.v, high_s.r, high_s.s)
    assert code_of(lambda: verify_signature(malleable, CHAIN_ID, SMART_METER)) == MessageCode.BAD_SIGNATURE
    # Signed for another SmartMeter (another domain): refused too.
    assert code_of(lambda: verify_signature(s, CHAIN_ID, "0x" + "77" * 20)) == MessageCode.BAD_SIGNATURE


@pytest.mark.parametrize(
    ("view_changes", "reading", "nonce", "deadline", "code"),
    [
        ({"registered": False}, None, 7, None, MessageCode.UNKNOWN_METER),
        ({"active": False}, None, 7, None, MessageCode.INACTIVE_METER),
        ({}, None, 6, None, MessageCode.NONCE_USED),
        ({}, None, 8, None, MessageCode.NONCE_AHEAD),
        ({}, None, 7, NOW - 1, MessageCode.EXPIRED),
        ({}, (NOW - 10, 10**12 + 1, 2_050, 50_000, 1_000), 7, None, RefusalCode.REGISTER_TOO_LARGE),
        ({}, (NOW - 10, 5_100, 2_050, 44_999, 1_000), 7, None, RefusalCode.FREQUENCY_OUT_OF_BOUNDS),
        ({}, (NOW - 10, 5_100, 2_050, 50_000, 1_501), 7, None, RefusalCode.VOLTAGE_OUT_OF_BOUNDS),
        ({}, (NOW - 900, 5_100, 2_050, 50_000, 1_000), 7, None, RefusalCode.NOT_AFTER_PREVIOUS),
        ({}, (NOW - 870, 5_100, 2_050, 50_000, 1_000), 7, None, RefusalCode.TOO_FREQUENT),
        ({}, (NOW - 10, 4_999, 2_050, 50_000, 1_000), 7, None, RefusalCode.REGISTER_DECREASED),
        ({}, (NOW - 10, 5_100, 1_999, 50_000, 1_000), 7, None, RefusalCode.REGISTER_DECREASED),
        ({}, (NOW + 1, 5_100, 2_050, 50_000, 1_000), 7, None, RefusalCode.IN_FUTURE),
        ({"latest": MeterReading(0, 0, 0, 0, 0)}, (NOW - 8 * 86_400, 5_100, 2_050, 50_000, 1_000), 7, None, RefusalCode.TOO_OLD),
    ],
)
def test_each_rule_smart_meter_enforces_is_refused_with_its_code(view_changes, reading, nonce, deadline, code):
    view = MeterView(**{**VIEW.__dict__, **view_changes})
    s = signed(reading=reading or (NOW - 10, 5_100, 2_050, 50_010, 1_002), nonce=nonce, deadline=deadline or NOW + 600)
    with pytest.raises(Rejected) as refused:
        check_reading(s, view, LIMITS)
    assert refused.value.code == code
    answer = json.loads(refused.value.answer())
    assert answer == {"nonce": nonce, "reason": str(code), "message": refused.value.message, "digest": None}


def test_a_meters_first_reading_needs_no_previous_one():
    first = MeterView(registered=True, active=True, next_nonce=0, latest=MeterReading(0, 0, 0, 0, 0))
    check_reading(signed(nonce=0), first, LIMITS)


def test_every_code_is_distinct_and_the_accepted_answer_is_the_documented_json():
    codes = [str(c) for c in MessageCode] + [str(c) for c in RefusalCode]
    assert len(codes) == len(set(codes))
    digest = "0x" + "cd" * 32
    answer = {"nonce": 7, "txHash": "0x" + "ab" * 32, "blockNumber": 12, "confirmations": 3, "digest": digest}
    assert json.loads(accepted_answer(7, "0x" + "ab" * 32, 12, 3, digest)) == answer

"""The TransactionRecord and TransactionId libraries through TransactionRecordHarness: a record packs
every field at its full width without touching its neighbours, settling and voiding rewrite only
the status and the free-list link, and a transaction id splits back into its slot and generation."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

PENDING, SETTLED, VOIDED = 0, 1, 2
FIELDS = [
    "buyOrderId",
    "sellOrderId",
    "amountWh",
    "matchedAt",
    "feeBps",
    "paymentCarry",
    "refundCarry",
    "releasesDust",
    "status",
    "nextFreeSlot",
    "generation",
]


@pytest.fixture(scope="module")
def records(project, admin):
    return admin.deploy(project.TransactionRecordHarness)


def fields_of(result: Any) -> dict:
    return {name: getattr(result, name) for name in FIELDS}


def recorded(
    buy: int = 0,
    sell: int = 0,
    amount: int = 0,
    fee: int = 0,
    payment_carry: int = 0,
    refund_carry: int = 0,
    dust: bool = False,
    generation: int = 0,
) -> tuple:
    # matchedAt, status and nextFreeSlot are the library's to set: what is passed for them is ignored.
    return (buy, sell, amount, 0, fee, payment_carry, refund_carry, dust, PENDING, 0, generation)


def test_a_pending_record_keeps_every_field_at_its_full_width(records, admin, chain):
    top = recorded(2**32 - 1, 2**32 - 1, 2**40 - 1, 2**16 - 1, 999, 999, True, 2**24 - 1)
    tx = records.record(1, top, sender=admin)
    fields = fields_of(records.fields(1))
    assert fields == {
        "buyOrderId": 2**32 - 1,
        "sellOrderId": 2**32 - 1,
        "amountWh": 2**40 - 1,
        "matchedAt": chain.blocks[tx.block_number].timestamp,
        "feeBps": 2**16 - 1,
        "paymentCarry": 999,
        "refundCarry": 999,
        "releasesDust": True,
        "status": PENDING,
        "nextFreeSlot": 0,
        "generation": 2**24 - 1,
    }


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    buy=st.integers(0, 2**32 - 1),
    sell=st.integers(0, 2**32 - 1),
    amount=st.integers(0, 2**40 - 1),
    fee=st.integers(0, 2**16 - 1),
    payment_carry=st.integers(0, 999),
    refund_carry=st.integers(0, 999),
    dust=st.booleans(),
    generation=st.integers(0, 2**21 - 1),
    next_free=st.integers(0, 2**32 - 1),
)
def test_settling_and_voiding_change_only_status_and_link(
    records, admin, buy, sell, amount, fee, payment_carry, refund_carry, dust, generation, next_free
):
    records.record(2, recorded(buy, sell, amount, fee, payment_carry, refund_carry, dust, generation), sender=admin)
    pending = fields_of(records.fields(2))
    assert (pending["buyOrderId"], pending["sellOrderId"], pending["amountWh"]) == (buy, sell, amount)
    assert (pending["feeBps"], pending["paymentCarry"], pending["refundCarry"]) == (fee, payment_carry, refund_carry)
    assert (pending["releasesDust"], pending["generation"], pending["status"]) == (dust, generation, PENDING)
    records.settle(2, next_free, sender=admin)
    assert fields_of(records.fields(2)) == pending | {"status": SETTLED, "nextFreeSlot": next_free}
    records.record(3, recorded(buy, sell, amount, fee, payment_carry, refund_carry, dust, generation), sender=admin)
    records.void(3, sender=admin)
    assert fields_of(records.fields(3)) == fields_of(records.fields(2)) | {
        "status": VOIDED,
        "nextFreeSlot": 0,
        "matchedAt": fields_of(records.fields(3))["matchedAt"],
    }


def test_a_superseded_record_reads_settled_and_never_matched(records):
    assert fields_of(records.superseded()) == dict.fromkeys(FIELDS, 0) | {"releasesDust": False, "status": SETTLED}


@pytest.mark.parametrize(("slot", "generation"), [(0, 0), (1, 0), (2**32 - 1, 0), (5, 1), (2**32 - 1, 2**21 - 1)])
def test_a_transaction_id_splits_into_slot_and_generation(records, slot, generation):
    transaction_id, slot_back, generation_back = records.transactionId(slot, generation)
    assert transaction_id == generation * 2**32 + slot
    assert (slot_back, generation_back) == (slot, generation)
    assert transaction_id < 2**53

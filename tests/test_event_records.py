"""The typed client's event records held to the ABI events they are read from: each of an event's
arguments is the record's field of the same name in snake case, in the same order, converted to
the field's type."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from energy_grid.contracts.base import decode_event, snake_case
from energy_grid.contracts.market import ClaimedOrder, ClearedMarket
from energy_grid.domain.enums import LongSide

ROOT = Path(__file__).resolve().parent.parent
TRADER = "0x70997970C51812dc3A010C7d01b50e0d17dc79C8"


def event_inputs(contract: str, event: str) -> list[dict[str, Any]]:
    build = json.loads((ROOT / ".build" / "__local__.json").read_text())
    (item,) = [item for item in build["contractTypes"][contract]["abi"] if item["type"] == "event" and item["name"] == event]
    return list(item["inputs"])


@pytest.mark.parametrize(("record", "event"), [(ClearedMarket, "MarketCleared"), (ClaimedOrder, "OrderClaimed")])
def test_every_argument_of_an_auction_event_is_a_field_of_its_record(record, event):
    assert [snake_case(item["name"]) for item in event_inputs("EnergyAuction", event)] == list(record._fields)


def test_a_cleared_market_reads_its_long_side_as_the_enum():
    args = {
        "period": 7,
        "clearingTick": 3,
        "clearingPricePerKWh": 53_000,
        "volumeWh": 1_500,
        "longSide": 2,
        "marginalTick": 3,
        "rationedWh": 250,
        "marginalLevelWh": 750,
        "feeBps": 50,
    }
    cleared = decode_event(ClearedMarket, args)
    assert cleared == ClearedMarket(7, 3, 53_000, 1_500, LongSide.ASKS, 3, 250, 750, 50)
    assert type(cleared.long_side) is LongSide


def test_a_claimed_order_takes_its_arguments_by_name_not_position():
    args = {"refund": 4, "fee": 3, "payment": 2, "filledWh": 1_000, "isBid": 1, "trader": TRADER, "orderId": 9}
    assert decode_event(ClaimedOrder, args) == ClaimedOrder(9, TRADER, True, 1_000, 2, 3, 4)
    assert decode_event(ClaimedOrder, args).is_bid is True

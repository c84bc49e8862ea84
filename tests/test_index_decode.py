"""The index's table of events: every indexed event exists in its contract's ABI with the arguments
its row reads, every row gets all its required columns, and a row is built from a decoded event
(addresses checksummed, an open order's zero counterparty stored as NULL)."""

from __future__ import annotations

from dataclasses import fields
from typing import cast

import pytest

from energy_grid.chain.events import unpacked
from energy_grid.domain.enums import ZoneRole
from energy_grid.domain.units import ZERO_ADDRESS
from energy_grid.index import models as m
from energy_grid.index.decode import EVENTS, LogPlace, RowOf

AT = LogPlace(block_number=7, log_index=3, tx_hash="0x" + "ab" * 32, timestamp_s=1_000)
TRADER = "0x" + "5a" * 20


@pytest.mark.parametrize(("contract", "event"), sorted(EVENTS))
def test_every_indexed_event_fills_its_row(project, contract, event):
    row = EVENTS[(contract, event)]
    (abi,) = [item for item in getattr(project, contract).contract_type.events if item.name == event]
    # A packed event's row takes the figures its words unpack to.
    assert set(row.arguments.values()) <= set(unpacked(event, {argument.name: 0 for argument in abi.inputs}))

    filled = set(row.arguments) | set(row.fixed) | {field.name for field in fields(LogPlace)}
    required = {
        column.name
        for column in row.table.__table__.columns
        if not column.nullable and column.server_default is None and not column.primary_key
    }
    assert required <= filled
    assert set(row.arguments).isdisjoint(row.fixed)


def test_builds_a_row_from_the_event_arguments():
    arguments = {
        "orderId": 4, "trader": TRADER.lower(), "orderType": 1, "amountWh": 2**255, "pricePerKWh": 200_000,
        "expiry": 5_000, "counterparty": ZERO_ADDRESS,
    }  # fmt: skip
    order = EVENTS[("EnergyTrading", "OrderCreated")].build(arguments, AT)

    assert isinstance(order, m.OrderCreated)
    assert (order.block_number, order.log_index, order.tx_hash, order.timestamp_s) == (7, 3, AT.tx_hash, 1_000)
    assert (order.order_id, order.side, order.amount_wh, order.expiry_s) == (4, 1, 2**255, 5_000)
    assert order.trader == "0x5a5A5a5a5A5a5a5a5a5A5a5A5A5a5a5A5A5A5A5A" and order.counterparty is None
    with_counterparty = cast(m.OrderCreated, EVENTS[("EnergyTrading", "OrderCreated")].build({**arguments, "counterparty": TRADER}, AT))
    assert with_counterparty.counterparty == order.trader


def test_the_fixed_columns_tell_a_table_s_events_apart():
    arguments = {"orderId": 4, "trader": TRADER, "unfilledWh": 10, "refundedEscrow": 2}
    reasons = {
        event: cast(m.OrderClosed, EVENTS[("EnergyTrading", event)].build(arguments, AT)).reason
        for event in ("OrderCancelled", "ExpiredOrderReleased")
    }
    assert reasons == {"OrderCancelled": "CANCELLED", "ExpiredOrderReleased": "RELEASED"}


def test_a_column_the_table_lacks_is_refused_when_the_table_of_events_is_built():
    with pytest.raises(KeyError, match="unfilled_kwh"):
        RowOf(m.OrderClosed, {"unfilled_kwh": "unfilledWh"})
    with pytest.raises(KeyError, match="reasons"):
        RowOf(m.OrderClosed, {"unfilled_wh": "unfilledWh"}, reasons="CANCELLED")


def test_a_zone_s_row_keeps_the_role_its_event_named():
    arguments = {"period": 9, "zone": 2, "role": ZoneRole.EXPORT_BOUND, "clearingTick": 40, "clearingPricePerKWh": 150_000,
                 "netExportWh": 500}  # fmt: skip
    cleared = EVENTS[("MarketZones", "ZoneCleared")].build(arguments, AT)

    assert isinstance(cleared, m.ZoneCleared)
    assert (cleared.period, cleared.zone, cleared.role, cleared.clearing_price_per_kwh, cleared.net_export_wh) == (9, 2, 1, 150_000, 500)
    coupled = cast(m.ZoneCleared, EVENTS[("MarketZones", "ZoneCleared")].build({**arguments, "role": ZoneRole.COUPLED}, AT))
    assert coupled.role == 0

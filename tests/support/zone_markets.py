"""Markets coupled across zones, placed and cleared through EnergyAuction and checked against the Python
reference: shared by the zone and stepped-clearing test modules."""

from __future__ import annotations

from typing import Any

from energy_grid.domain.coupled_auction import CoupledClearing, Zone
from energy_grid.domain.enums import ZoneRole

from support.auction_helpers import N_TICKS, close_gate, price
from support.coupled_books import ask, bid, check_against_lp, clear

ZONES = 3  # IEnergyAuction.LongSide.ZONES
FINISHED = 3  # ISteppedClearing.Stage.FINISHED


def run_steps(stepped: Any, period: int, sender: Any, max_ticks: int) -> int:
    """Runs `period`'s steps of at most `max_ticks` occupied ticks each until the result is final; returns
    how many there were."""
    count = 0
    while stepped.stageOf(period)[0] != FINISHED:
        stepped.step(period, max_ticks, sender=sender)
        count += 1
    return count


def place(a: Any, trader: Any, region: int, period: int, is_bid: bool, amount_wh: int, tick: int) -> int:
    """Places a firm order in `region`'s zone (0: on the bus); returns its id."""
    if region == 0:
        send = a.submitBid if is_bid else a.submitAsk
        return send(period, amount_wh, price(tick), sender=trader).return_value
    send = a.submitBidIn if is_bid else a.submitAskIn
    return send(region, period, amount_wh, price(tick), sender=trader).return_value


def clear_and_check(
    a: Any,
    zones: Any,
    chain: Any,
    fee_recipient: Any,
    period: int,
    book: list[tuple],
    limits: dict[int, tuple],
    stepped: Any = None,
    max_ticks: int = 0,
) -> CoupledClearing:
    """Clears the market of `period`, whose orders `book` lists as (zone, chain id, is_bid, amount, tick)
    in arrival order, and checks it against the reference with `limits` (zone -> (import, export) Wh, None
    for no limit): every zone's tick and net export, the bus's tick, every order's fill and money, the rent,
    and the conservation of energy and money. With `stepped` (a SteppedClearing), the market first clears
    there in steps of at most `max_ticks` occupied ticks, whose result must equal the one-transaction
    preview, and the auction records it. Returns the reference's clearing."""
    zone_ids = sorted({zone for zone, *_ in book})
    reference_zones = [Zone(zone, *limits.get(zone, (None, None))) for zone in zone_ids]
    orders = [(bid if is_bid else ask)(zone, i, amount, tick) for i, (zone, _, is_bid, amount, tick) in enumerate(book)]
    expected = clear(reference_zones, orders, N_TICKS)
    check_against_lp(reference_zones, orders, N_TICKS, expected)

    accrued_before = a.accruedFees()
    close_gate(chain, period)
    if stepped is not None:
        preview = zones.clearMarket(period)
        run_steps(stepped, period, fee_recipient, max_ticks)
        assert stepped.result(period) == preview
    tx = a.clear(period, sender=fee_recipient)
    market = a.getMarket(period)
    assert (market.cleared, market.longSide, market.clearingTick) == (True, ZONES, expected.bus_tick)
    assert market.clearingPricePerKWh == price(expected.bus_tick)
    for zone in zone_ids:
        result = zones.getZoneResult(period, zone)
        assert (result.clearingTick, result.netExportWh) == (expected.zone_ticks[zone], expected.net_export_wh[zone])
        assert result.clearingPricePerKWh == price(expected.zone_ticks[zone])
        assert ZoneRole(result.role) == expected.roles[zone]
        for is_bid, side in ((True, result[3:6]), (False, result[6:9])):
            assert zones.sideResult(period, zone, is_bid) == (result.clearingTick, *side)
    cleared_events = tx.events.filter(zones.ZoneCleared)
    assert [(e.zone, ZoneRole(e.role), e.clearingTick, e.netExportWh) for e in cleared_events] == [
        (zone, expected.roles[zone], expected.zone_ticks[zone], expected.net_export_wh[zone]) for zone in zone_ids
    ]
    (rent,) = tx.events.filter(zones.CongestionRentAccrued)
    assert rent.rent == expected.congestion_rent_milli // 1_000

    bought_wh = sold_wh = paid = netted = 0
    for i, (zone, chain_id, is_bid, amount, tick) in enumerate(book):
        out = a.getOrderOutcome(chain_id)
        assert out.filledWh == expected.fills_wh[i], f"order {i} in zone {zone}"
        assert a.getOrder(chain_id).zone == zone
        if is_bid:
            bought_wh += out.filledWh
            paid += out.payment
            assert out.payment + out.refund == -(-amount * price(tick) // 1_000)
        else:
            sold_wh += out.filledWh
            netted += out.payment - out.fee
            assert out.refund == amount - out.filledWh
    assert bought_wh == sold_wh == market.volumeWh
    assert a.accruedFees() - accrued_before == paid - netted
    return expected

"""CoupledClearing, the contract library that clears a market coupled across zones, held to the Python
reference (energy_grid.domain.coupled_auction) on every output, and through it to the linear program that
proves the reference optimal: random books of 1 to 40 zones, limits of none, zero or a few Wh, ties,
single-sided and empty zones. `make fuzz` clears 10,000 books from a random seed (COUPLED_BOOKS,
COUPLED_SEED), printed so that a failing seed replays."""

from __future__ import annotations

import os
import random
from typing import Any, NamedTuple

import pytest

from energy_grid.domain.auction import AuctionOrder
from energy_grid.domain.coupled_auction import CoupledClearing, Zone, ZonedOrder, clear_coupled
from energy_grid.domain.enums import ZoneRole

from support.coupled_books import (
    DEGENERATE_KINDS,
    check_clearing,
    check_competitive_prices,
    degenerate_book,
    random_book,
    surplus,
)

UNLIMITED = 2**255 - 1
TICK_SIZE_PER_KWH = 1_000
# `make fuzz` sets COUPLED_BOOKS=10000; the suite clears 1,000.
BOOKS = int(os.environ.get("COUPLED_BOOKS") or 1_000)


@pytest.fixture(scope="module")
def harness(project, admin):
    return project.CoupledClearingHarness.deploy(sender=admin)


class ZoneResult(NamedTuple):
    """ZoneClearing as the contract returns it."""

    netExportWh: int
    tick: int
    role: int
    volumeWh: int
    bidMarginalTick: int
    bidRationedWh: int
    bidLevelWh: int
    askMarginalTick: int
    askRationedWh: int
    askLevelWh: int


def zone_books(zones: list[Zone], orders: list[ZonedOrder]) -> list[tuple[list[int], int, int, int]]:
    """The zones as the library reads them: each zone's occupied ticks, ascending, its bids in all and its limits."""
    books = []
    for zone in zones:
        volumes: dict[int, list[int]] = {}
        for zoned in orders:
            if zoned.zone_id == zone.zone_id:
                side = volumes.setdefault(zoned.order.tick, [0, 0])
                side[0 if zoned.order.is_bid else 1] += zoned.order.amount_wh
        levels = [tick | (bid_wh << 8) | (ask_wh << 72) for tick, (bid_wh, ask_wh) in sorted(volumes.items())]
        bids_wh = sum(bid_wh for bid_wh, _ in volumes.values())
        books.append((levels, bids_wh, limit_of(zone.import_limit_wh), limit_of(zone.export_limit_wh)))
    return books


def limit_of(limit_wh: int | None) -> int:
    return UNLIMITED if limit_wh is None else limit_wh


def order_fills(zone_orders: list[AuctionOrder], result: Any) -> dict[int, int]:
    """Every order's fill from the zone's marginal levels and its running total, as a claim computes it."""
    fills: dict[int, int] = {}
    running: dict[tuple[bool, int], int] = {}
    for order in zone_orders:
        key = (order.is_bid, order.tick)
        before = running.get(key, 0)
        after = running[key] = before + order.amount_wh
        if order.is_bid:
            marginal, rationed, level = result.bidMarginalTick, result.bidRationedWh, result.bidLevelWh
            better, worse = order.tick > marginal, order.tick < marginal
        else:
            marginal, rationed, level = result.askMarginalTick, result.askRationedWh, result.askLevelWh
            better, worse = order.tick < marginal, order.tick > marginal
        if better:
            fills[order.order_id] = order.amount_wh
        elif worse:
            fills[order.order_id] = 0
        else:
            fills[order.order_id] = after * rationed // level - before * rationed // level
    return fills


def on_chain(harness: Any, zones: list[Zone], orders: list[ZonedOrder], n_ticks: int) -> CoupledClearing:
    bus_tick, raw, rent_tick_wh = harness.clear(zone_books(zones, orders), n_ticks)
    results = [ZoneResult(*result) for result in raw]
    fills: dict[int, int] = {}
    for zone, result in zip(zones, results, strict=True):
        fills.update(order_fills([o.order for o in orders if o.zone_id == zone.zone_id], result))
    return CoupledClearing(
        bus_tick=bus_tick,
        zone_ticks={zone.zone_id: r.tick for zone, r in zip(zones, results, strict=True)},
        roles={zone.zone_id: ZoneRole(r.role) for zone, r in zip(zones, results, strict=True)},
        net_export_wh={zone.zone_id: r.netExportWh for zone, r in zip(zones, results, strict=True)},
        volume_wh={zone.zone_id: r.volumeWh for zone, r in zip(zones, results, strict=True)},
        fills_wh=fills,
        congestion_rent_milli=rent_tick_wh * TICK_SIZE_PER_KWH,
    )


def test_an_export_limited_zone_gets_its_own_price_and_the_bus_a_rent(harness):
    # Zone 1 sells 10 Wh at tick 2 behind a 4 Wh export limit; zone 2 buys 10 Wh at tick 8.
    zones = [Zone(1, None, 4), Zone(2, None, None)]
    orders = [ZonedOrder(1, AuctionOrder(1, False, 10, 2)), ZonedOrder(2, AuctionOrder(2, True, 10, 8))]
    result = on_chain(harness, zones, orders, 10)
    assert result.net_export_wh == {1: 4, 2: -4}
    assert result.fills_wh == {1: 4, 2: 4}
    assert result.zone_ticks[1] < result.bus_tick == result.zone_ticks[2]
    assert result.congestion_rent_milli == (result.bus_tick - result.zone_ticks[1]) * 4 * TICK_SIZE_PER_KWH
    assert result == clear_coupled(zones, orders, 10, tick_size_per_kwh=TICK_SIZE_PER_KWH)


def test_random_coupled_books_clear_on_chain_as_the_reference_and_the_linear_program(harness):
    rng = random.Random(int(os.environ.get("COUPLED_SEED") or 2_026_1125))
    for book in range(BOOKS):
        n_zones = rng.choice([1, 2, 2, 3, 4, 8, rng.randint(1, 40), rng.randint(34, 40)])
        n_ticks = rng.choice([rng.randint(1, 20), 256])
        zones, orders = random_book(rng, n_zones, n_ticks)
        expected = clear_coupled(zones, orders, n_ticks, tick_size_per_kwh=TICK_SIZE_PER_KWH)
        result = on_chain(harness, zones, orders, n_ticks)
        assert result == expected, f"book {book}: {zones} {orders} -> {result}, expected {expected}"
        check_clearing(zones, orders, n_ticks, result, f"book {book}")
        assert surplus(orders, result.fills_wh) == surplus(orders, expected.fills_wh)


@pytest.mark.parametrize("kind", DEGENERATE_KINDS)
def test_degenerate_books_clear_on_chain_as_the_reference(harness, kind):
    """100 books of each kind where a rule most easily prices wrong (ties at the marginal tick, one-sided
    zones, every link binding, no crossing), on small grids and the full one."""
    rng = random.Random(2026_11_28 + DEGENERATE_KINDS.index(kind))
    for book in range(100):
        n_ticks = rng.choice([rng.randint(1, 20), 256])
        zones, orders = degenerate_book(rng, kind, rng.randint(1, 12), n_ticks)
        expected = clear_coupled(zones, orders, n_ticks, tick_size_per_kwh=TICK_SIZE_PER_KWH)
        result = on_chain(harness, zones, orders, n_ticks)
        try:
            assert result == expected
            check_competitive_prices(zones, orders, n_ticks, result)
        except AssertionError as error:
            raise AssertionError(f"{kind}, book {book}: {zones} {orders} -> {result}, expected {expected}") from error


def test_the_worked_example_of_the_auction_docs(harness):
    # docs/auction.md: Hill (PV) and Town, grid 0.050 + k × 0.001 per kWh.
    orders = [
        ZonedOrder(1, AuctionOrder(1, False, 30_000, 10)),
        ZonedOrder(1, AuctionOrder(2, False, 10_000, 30)),
        ZonedOrder(1, AuctionOrder(3, True, 5_000, 20)),
        ZonedOrder(2, AuctionOrder(4, True, 20_000, 70)),
        ZonedOrder(2, AuctionOrder(5, True, 15_000, 40)),
        ZonedOrder(2, AuctionOrder(6, False, 5_000, 50)),
    ]
    open_links = on_chain(harness, [Zone(1, None, None), Zone(2, None, None)], orders, 256)
    # Hill's 0.080 ask is rationed, so 0.080 is the price.
    assert open_links.zone_ticks == {1: 30, 2: 30}
    assert open_links.fills_wh == {1: 30_000, 2: 5_000, 3: 0, 4: 20_000, 5: 15_000, 6: 0}

    limited = on_chain(harness, [Zone(1, None, 20_000), Zone(2, None, None)], orders, 256)
    # Hill's 0.060 ask is rationed: Hill at 0.060; Town's 0.090 bid out and its 0.100 ask unsold: 0.091 … 0.099.
    assert (limited.zone_ticks, limited.bus_tick) == ({1: 10, 2: 45}, 45)
    assert limited.roles == {1: ZoneRole.EXPORT_BOUND, 2: ZoneRole.COUPLED}
    assert limited.net_export_wh == {1: 20_000, 2: -20_000}
    assert limited.fills_wh == {1: 25_000, 2: 0, 3: 5_000, 4: 20_000, 5: 0, 6: 0}
    # 0.035 per kWh × 20 kWh = 0.70 of a 6-decimal token, in thousandths of a base unit.
    assert limited.congestion_rent_milli == 700_000 * 1_000

    closed = on_chain(harness, [Zone(1, 0, 0), Zone(2, None, None)], orders, 256)
    # Each alone: Hill's rationed 0.060 ask and Town's rationed 0.120 bid set their prices.
    assert closed.zone_ticks == {1: 10, 2: 70}
    assert closed.volume_wh == {1: 5_000, 2: 5_000}

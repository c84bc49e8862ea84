"""Gas of a market cleared across zones against the same books cleared zone by zone.

Coupling should cost about what clearing each zone alone costs. Each shape is placed twice: once in one
market whose orders name their zones (MarketZones), once as one market per zone on the bus alone, each
cleared by itself. The coupled clear reads every zone's occupied ticks from the auction's storage
(extsload), clears them together (CoupledClearing) and stores one result word per zone; the zone-by-zone
clears each read their ticks and store their market's result. Both scale with zones × occupied ticks.
"""

from __future__ import annotations

from typing import Any

from energy_grid.bench.bulk import BulkNode
from energy_grid.bench.core import GasReport
from energy_grid.domain.demand_response import send_bulk
from energy_grid.domain.enums import ClearingStage

# The budget: a market across zones costs at most this much more than its zones cleared one by one. Both
# read the same tick words cold; coupling adds each link's rating and limits, one result word per zone and
# the clearing's walks over the levels, which run in assembly (CoupledClearing, MarketZones._readLevels).
COUPLING_BUDGET = 1.10
FIRST_TICK = 100  # the books sit around the grid's tick 100, as the auction bench's
WIDE_ZONES, WIDE_TICKS = 8, 64  # a bid and an ask at each of 64 ticks in each of 8 zones
NARROW_ZONES = 34  # 10 occupied ticks in each: bids on five, asks on the five below
LIMITED_LINK_KW = 4  # the local operator's region (zone 1) gets a link that binds
# The full book: every tick of the grid occupied on both sides in every zone. Its clear does not fit one
# transaction, so it runs in SteppedClearing's steps, each held to ONE_TRANSACTION_GAS, as is the auction's
# clear that records their result.
ONE_TRANSACTION_GAS = 15_000_000
FULL_BOOK_ORDER_GAS = 300_000  # an order's gas limit while the full book is sent a block at a time


def bench_zones(report: GasReport, auction: Any, zones: Any, operator: Any, chain: Any, crowd: Any, region: int) -> dict[str, int]:
    """Adds zones 1 to NARROW_ZONES (regions `region`, then the regions after it) to the reading market's
    MarketZones if it has none, limits zone 1's link as its region's operator (`operator`, the local
    deployer: also MarketZones' admin), and measures both shapes coupled and zone by zone. `crowd`: an
    account the node holds unlocked, funded in the vault and approving the auction (the auction bench's),
    which sends every order in bulk. Returns the figures."""
    regions = [region + i for i in range(NARROW_ZONES)]
    for r in regions:
        if int(zones.zoneOf(r)) == 0:
            zones.addZone(r, sender=operator)

    def wide_book(zone: int) -> list[tuple[bool, int, int]]:
        # Zones alternate between more supply and more demand, so that energy flows over the links.
        ask_wh, bid_wh = (555, 777) if zone % 2 else (777, 555)
        return [(False, ask_wh, FIRST_TICK + i) for i in range(WIDE_TICKS)] + [(True, bid_wh, FIRST_TICK + i) for i in range(WIDE_TICKS)]

    def narrow_book(zone: int) -> list[tuple[bool, int, int]]:
        ask_wh, bid_wh = (1_200, 1_000) if zone % 2 else (1_000, 1_200)
        return [(False, ask_wh, FIRST_TICK + i) for i in range(5)] + [(True, bid_wh, FIRST_TICK + 5 + i) for i in range(5)]

    figures: dict[str, int] = {}
    for name, count, book in (("wide", WIDE_ZONES, wide_book), ("narrow", NARROW_ZONES, narrow_book)):
        # Markets whose gates stay open while the orders go in; the reading market clears after its interval.
        coupled_market = int(auction.currentPeriod()) + 4
        first_alone = coupled_market + 1
        zones.setLinkLimits(regions[0], coupled_market, 1, LIMITED_LINK_KW, LIMITED_LINK_KW, sender=operator)
        for z in range(count):
            orders = book(z + 1)
            _send(auction, crowd, [(True, regions[z], coupled_market, o) for o in orders])
            _send(auction, crowd, [(False, 0, first_alone + z, o) for o in orders])
        chain.pending_timestamp = max(chain.pending_timestamp, int(auction.clearingTime(first_alone + count - 1)))
        coupled = auction.clear(coupled_market, sender=crowd).gas_used
        alone = sum(auction.clear(first_alone + z, sender=crowd).gas_used for z in range(count))
        ticks = WIDE_TICKS if name == "wide" else 10
        report.add(
            f"clear across {count} zones x {ticks} occupied ticks",
            coupled,
            int(alone * COUPLING_BUDGET),
            f"zone by zone: {alone:,} in {count} clears; coupled {coupled / alone:.2f}x (budget: {COUPLING_BUDGET}x)",
        )
        figures[f"{name}Coupled"], figures[f"{name}Alone"] = coupled, alone
    per_zone, per_tick = clear_cost_fit(figures["wideCoupled"], figures["narrowCoupled"])
    report.add(
        "clear across zones, one transaction: per zone (fit)",
        per_zone,
        note=f"gas = zones x this + occupied ticks x {per_tick:,}, through both books above",
    )
    report.add("clear across zones, one transaction: per occupied tick (fit)", per_tick, note="read and walked")
    figures["perZone"], figures["perOccupiedTick"] = per_zone, per_tick
    return figures


def clear_cost_fit(wide_gas: int, narrow_gas: int) -> tuple[int, int]:
    """The gas of a one-transaction coupled clear as zones × a + occupied ticks × b, through the two books
    bench_zones clears (WIDE_ZONES zones of WIDE_TICKS occupied ticks, NARROW_ZONES zones of 10): (a, b)."""
    wide_ticks, narrow_ticks = WIDE_ZONES * WIDE_TICKS, NARROW_ZONES * 10
    per_tick = (wide_gas * NARROW_ZONES - narrow_gas * WIDE_ZONES) / (wide_ticks * NARROW_ZONES - narrow_ticks * WIDE_ZONES)
    per_zone = (wide_gas - wide_ticks * per_tick) / WIDE_ZONES
    return round(per_zone), round(per_tick)


def bench_full_book(
    report: GasReport, auction: Any, zones: Any, stepped: Any, operator: Any, chain: Any, crowd: Any, region: int
) -> dict[str, int]:
    """Every tick of the grid holds a bid and an ask in each of the NARROW_ZONES zones that bench_zones
    added (regions `region` on), zone 1's link limited by `operator`: the market clears in steps, each
    taking as many zones as MAX_STEP_TICKS allows, then the auction records their result. Returns the
    largest step's gas, the steps' count and total, and the recording clear's gas."""
    regions = [region + i for i in range(NARROW_ZONES)]
    tick_count = int(auction.tickCount())
    market = int(auction.currentPeriod()) + 4
    zones.setLinkLimits(regions[0], market, 1, LIMITED_LINK_KW, LIMITED_LINK_KW, sender=operator)
    min_price, tick_size = int(auction.minPrice()), int(auction.tickSize())
    node = BulkNode(chain.provider.uri)
    for is_bid in (True, False):
        # Zones alternate between more supply and more demand, so that energy flows over the links.
        calls = [
            (crowd.address, (regions[z], market, 40 + 20 * ((z % 2 == 0) == is_bid), min_price + t * tick_size))
            for z in range(NARROW_ZONES)
            for t in range(tick_count)
        ]
        node.send_all(auction, "submitBidIn" if is_bid else "submitAskIn", calls, FULL_BOOK_ORDER_GAS)
    chain.pending_timestamp = max(chain.pending_timestamp, int(auction.clearingTime(market)))
    max_ticks = int(stepped.MAX_STEP_TICKS())
    steps = [int(stepped.step(market, max_ticks, sender=crowd).gas_used)]
    while int(stepped.stageOf(market)[0]) != ClearingStage.FINISHED:
        steps.append(int(stepped.step(market, max_ticks, sender=crowd).gas_used))
    recorded = int(auction.clear(market, sender=crowd).gas_used)
    shape = f"{NARROW_ZONES} zones x {tick_count} ticks, every tick occupied"
    report.add(
        f"clear across {shape}: largest step",
        max(steps),
        ONE_TRANSACTION_GAS,
        f"{len(steps)} steps of at most {max_ticks:,} occupied ticks, {sum(steps):,} gas in all (SteppedClearing)",
    )
    report.add(f"clear across {shape}: the clear recording the steps", recorded, ONE_TRANSACTION_GAS, "after the last step")
    return {"fullLargestStep": max(steps), "fullSteps": len(steps), "fullStepsGas": sum(steps), "fullRecorded": recorded}


def _send(auction: Any, crowd: Any, orders: list[tuple[bool, int, int, tuple[bool, int, int]]]) -> None:
    """Sends each (in a zone, region, period, (is bid, Wh, tick)) order in bulk: in the region's zone, or on the bus."""
    min_price, tick_size = int(auction.minPrice()), int(auction.tickSize())
    for in_zone in (True, False):
        for is_bid in (True, False):
            calls = [
                ((region, period, wh, min_price + tick * tick_size) if zoned else (period, wh, min_price + tick * tick_size))
                for zoned, region, period, (bid, wh, tick) in orders
                if zoned == in_zone and bid == is_bid
            ]
            if calls:
                method = ("submitBid" if is_bid else "submitAsk") + ("In" if in_zone else "")
                send_bulk(auction, method, calls, crowd)

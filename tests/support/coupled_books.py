"""Random coupled books and the checks every clearing of one must pass: conservation of energy and money,
the links' limits, competitive prices picked by the documented rule, and the linear program.

The linear program (scipy's HiGHS) has a variable per order, its filled Wh in [0, amount], and per zone,
its net export within the link's limits; one equality per zone (asks filled − bids filled − net export =
0) and one for the bus (Σ net exports = 0); it maximizes Σ bid tick × Wh − Σ ask tick × Wh. Its matrix is
totally unimodular and its data integers, so its optimum is an integer and a clearing's integer surplus
must equal it: within 1e-6 × (1 + ticks × Σ amounts), the solver's tolerance. The proof is exact besides:
HiGHS's duals are then integers, and at those prices no allocation can gain more than the clearing does.
"""

from __future__ import annotations

import random

import numpy as np
from scipy.optimize import linprog
from scipy.sparse import coo_matrix

from energy_grid.domain.auction import AuctionOrder, price_of
from energy_grid.domain.coupled_auction import CoupledClearing, Zone, ZonedOrder, clear_coupled
from energy_grid.domain.enums import ZoneRole

MIN_PRICE_PER_KWH = 50_000
TICK_SIZE_PER_KWH = 1_000
TOLERANCE = 1e-6  # the solver's feasibility and optimality tolerance, relative to the book's size


def bid(zone_id: int, order_id: int, amount_wh: int, tick: int) -> ZonedOrder:
    return ZonedOrder(zone_id, AuctionOrder(order_id, True, amount_wh, tick))


def ask(zone_id: int, order_id: int, amount_wh: int, tick: int) -> ZonedOrder:
    return ZonedOrder(zone_id, AuctionOrder(order_id, False, amount_wh, tick))


def clear(zones: list[Zone], orders: list[ZonedOrder], n_ticks: int) -> CoupledClearing:
    return clear_coupled(zones, orders, n_ticks, tick_size_per_kwh=TICK_SIZE_PER_KWH)


def surplus(orders: list[ZonedOrder], fills: dict[int, int]) -> int:
    """Σ bid tick × Wh − Σ ask tick × Wh: the grid's minimum price cancels as bought Wh = sold Wh."""
    return sum((1 if o.order.is_bid else -1) * o.order.tick * fills[o.order.order_id] for o in orders)


def check_constraints(zones: list[Zone], orders: list[ZonedOrder], n_ticks: int, result: CoupledClearing) -> None:
    """Every conservation law and limit, exactly; prices within the orders' limits and on their links' sides."""
    assert set(result.fills_wh) == {o.order.order_id for o in orders}
    assert sum(result.net_export_wh.values()) == 0
    assert 0 <= result.bus_tick < n_ticks
    for zone in zones:
        zone_orders = [o.order for o in orders if o.zone_id == zone.zone_id]
        sold = sum(result.fills_wh[o.order_id] for o in zone_orders if not o.is_bid)
        bought = sum(result.fills_wh[o.order_id] for o in zone_orders if o.is_bid)
        export = result.net_export_wh[zone.zone_id]
        assert sold - bought == export
        assert result.volume_wh[zone.zone_id] == max(sold, bought)
        assert zone.export_limit_wh is None or export <= zone.export_limit_wh
        assert zone.import_limit_wh is None or -export <= zone.import_limit_wh
        tick = result.zone_ticks[zone.zone_id]
        assert 0 <= tick < n_ticks
        for order in zone_orders:
            fill = result.fills_wh[order.order_id]
            assert 0 <= fill <= order.amount_wh
            if fill:
                assert order.tick >= tick if order.is_bid else order.tick <= tick
        at_export_limit = export == zone.export_limit_wh
        at_import_limit = -export == zone.import_limit_wh
        if not at_export_limit and not at_import_limit:
            assert tick == result.bus_tick, "a zone whose link is slack trades at the bus price"
        elif at_export_limit and not at_import_limit:
            assert tick <= result.bus_tick
        elif at_import_limit and not at_export_limit:
            assert tick >= result.bus_tick
    assert result.congestion_rent_milli >= 0


def check_money(zones: list[Zone], orders: list[ZonedOrder], result: CoupledClearing) -> None:
    """Buyers pay what sellers receive plus the congestion rent: exact in thousandths of a base unit (price per
    kWh × Wh); settled per order in base units, bids rounding up and asks down (as EnergyAuction's escrow
    does), the grid keeps the rent rounded down plus at most one unit per filled order."""
    zone_of = {o.order.order_id: o.zone_id for o in orders}
    paid_milli = received_milli = paid = received = 0
    filled = 0
    for zoned in orders:
        order = zoned.order
        fill = result.fills_wh[order.order_id]
        milli = fill * price_of(result.zone_ticks[zone_of[order.order_id]], MIN_PRICE_PER_KWH, TICK_SIZE_PER_KWH)
        filled += fill > 0
        if order.is_bid:
            paid_milli += milli
            paid += -(-milli // 1000)
        else:
            received_milli += milli
            received += milli // 1000
    assert paid_milli == received_milli + result.congestion_rent_milli
    dust = paid - received - result.congestion_rent_milli // 1000
    assert 0 <= dust <= filled
    energy_in = sum(result.fills_wh[o.order.order_id] for o in orders if not o.order.is_bid)
    energy_out = sum(result.fills_wh[o.order.order_id] for o in orders if o.order.is_bid)
    assert energy_in == energy_out


def solve_lp(zones: list[Zone], orders: list[ZonedOrder]) -> tuple[float, dict[int, float], float]:
    """The same market as a linear program: (optimal surplus, zone id -> dual price, bus dual price)."""
    row = {zone.zone_id: index for index, zone in enumerate(zones)}
    bus_row = len(zones)
    rows, cols, values, cost = [], [], [], []
    bounds: list[tuple[int | None, int | None]] = []  # (lower, upper) per column, None for no limit
    for column, zoned in enumerate(orders):
        order = zoned.order
        rows.append(row[zoned.zone_id])
        cols.append(column)
        values.append(-1.0 if order.is_bid else 1.0)
        cost.append(-order.tick if order.is_bid else order.tick)
        bounds.append((0, order.amount_wh))
    for index, zone in enumerate(zones):
        column = len(orders) + index
        rows += [index, bus_row]
        cols += [column, column]
        values += [-1.0, 1.0]
        cost.append(0)
        imports = None if zone.import_limit_wh is None else -zone.import_limit_wh
        bounds.append((imports, zone.export_limit_wh))
    matrix = coo_matrix((values, (rows, cols)), shape=(len(zones) + 1, len(cost))).tocsr()
    res = linprog(np.array(cost, dtype=float), A_eq=matrix, b_eq=np.zeros(len(zones) + 1), bounds=bounds, method="highs")
    assert res.status == 0, res.message
    # scipy's marginals are d(objective)/d(b_eq); a Wh taken out of a zone costs its price: the zone price.
    marginals = res.eqlin.marginals
    return -res.fun, {zone.zone_id: float(marginals[index]) for index, zone in enumerate(zones)}, float(marginals[bus_row])


def dual_bound(zones: list[Zone], orders: list[ZonedOrder], zone_prices: dict[int, int], bus_price: int) -> int | None:
    """The most any allocation can gain at these prices (weak duality), or None where an unlimited link meets a
    different price: Σ amount × (limit − price)⁺ over bids, (price − limit)⁺ over asks, and each link's limit ×
    the price gap it could trade across."""
    bound = 0
    for zoned in orders:
        order, price = zoned.order, zone_prices[zoned.zone_id]
        bound += order.amount_wh * max(0, order.tick - price if order.is_bid else price - order.tick)
    for zone in zones:
        gap = bus_price - zone_prices[zone.zone_id]
        limit = zone.export_limit_wh if gap > 0 else zone.import_limit_wh
        if gap and limit is None:
            return None
        bound += abs(gap) * (limit or 0)
    return bound


def fill_range(zone_orders: list[AuctionOrder], fills: dict[int, int], n_ticks: int) -> tuple[int, int]:
    """The ticks at which a zone's fills are competitive, read off the fills alone: at or above every filled
    ask's limit and every short bid's, at or below every filled bid's and every short ask's. Given the fills,
    these are the values the dual price of the zone's balance can take (complementary slackness)."""
    low, high = 0, n_ticks - 1
    for order in zone_orders:
        fill = fills[order.order_id]
        if (fill > 0) != order.is_bid or (order.is_bid and fill < order.amount_wh):
            low = max(low, order.tick)
        if (fill > 0) == order.is_bid or (not order.is_bid and fill < order.amount_wh):
            high = min(high, order.tick)
    return low, high


def check_competitive_prices(zones: list[Zone], orders: list[ZonedOrder], n_ticks: int, result: CoupledClearing) -> None:
    """Every price competitive and picked by the documented rule, worked out from the fills and limits alone.

    A zone's price lies in its fills' range (so every order strictly in the money filled in full and every
    one strictly out of it not at all). The bus's price lies where every zone's can: within the range of a
    zone whose link has room both ways, not below the range of a zone that can still import (it exported,
    so its price is at most the bus's), not above the range of one that can still export; a zone closed
    both ways leaves it free. The bus takes the middle of that run, rounded down, and each zone the middle of
    its own range, except where its link holds it: at the bus price where it can carry more both ways, on
    its side of the bus (the bus price where its own lies beyond) where it is full one way."""
    bus_low, bus_high = 0, n_ticks - 1
    ranges = {}
    for zone in zones:
        zone_orders = [o.order for o in orders if o.zone_id == zone.zone_id]
        low, high = ranges[zone.zone_id] = fill_range(zone_orders, result.fills_wh, n_ticks)
        assert low <= high, f"zone {zone.zone_id}: no competitive price for its fills"
        export = result.net_export_wh[zone.zone_id]
        can_export, can_import = export != zone.export_limit_wh, -export != zone.import_limit_wh
        if can_export:  # its price is not below the bus's
            bus_high = min(bus_high, high)
        if can_import:  # not above it
            bus_low = max(bus_low, low)
    assert bus_low <= bus_high, "no bus price is competitive"
    assert result.bus_tick == bus_low + (bus_high - bus_low) // 2
    for zone in zones:
        low, high = ranges[zone.zone_id]
        tick = result.zone_ticks[zone.zone_id]
        own, export = low + (high - low) // 2, result.net_export_wh[zone.zone_id]
        can_export, can_import = export != zone.export_limit_wh, -export != zone.import_limit_wh
        if can_export and can_import:
            assert tick == result.bus_tick
        elif can_import:
            assert tick == min(own, result.bus_tick)
        elif can_export:
            assert tick == max(own, result.bus_tick)
        else:
            assert tick == own
        role = ZoneRole.COUPLED if tick == result.bus_tick else (ZoneRole.EXPORT_BOUND if tick < result.bus_tick else ZoneRole.IMPORT_BOUND)
        assert result.roles[zone.zone_id] == role
        if role == ZoneRole.EXPORT_BOUND:
            assert result.net_export_wh[zone.zone_id] == zone.export_limit_wh
        if role == ZoneRole.IMPORT_BOUND:
            assert -result.net_export_wh[zone.zone_id] == zone.import_limit_wh


def check_against_lp(zones: list[Zone], orders: list[ZonedOrder], n_ticks: int, result: CoupledClearing) -> None:
    optimum, zone_duals, bus_dual = solve_lp(zones, orders)
    scale = 1 + n_ticks * sum(o.order.amount_wh for o in orders)
    assert abs(surplus(orders, result.fills_wh) - optimum) <= TOLERANCE * scale
    # The clearing's own prices are an optimal dual: at them no allocation gains more than the clearing's.
    assert dual_bound(zones, orders, result.zone_ticks, result.bus_tick) == surplus(orders, result.fills_wh)
    # HiGHS returns a basic dual solution, integral since the matrix is totally unimodular and the ticks are
    # integers: rounded, it bounds every allocation exactly, and the reference's surplus meets the bound.
    rounded = {zone_id: round(dual) for zone_id, dual in zone_duals.items()}
    assert all(abs(dual - rounded[zone_id]) <= TOLERANCE for zone_id, dual in zone_duals.items())
    assert abs(bus_dual - round(bus_dual)) <= TOLERANCE
    assert dual_bound(zones, orders, rounded, round(bus_dual)) == surplus(orders, result.fills_wh)
    slack = TOLERANCE * scale
    for zone in zones:
        dual = zone_duals[zone.zone_id]
        for zoned in (o for o in orders if o.zone_id == zone.zone_id):
            order, fill = zoned.order, result.fills_wh[zoned.order.order_id]
            below, above = (fill > 0, fill < order.amount_wh) if order.is_bid else (fill < order.amount_wh, fill > 0)
            if below:  # a filled bid or a short ask: the price is at most its limit
                assert dual <= order.tick + slack
            if above:  # a filled ask or a short bid: the price is at least its limit
                assert dual >= order.tick - slack
        export = result.net_export_wh[zone.zone_id]
        if export != zone.export_limit_wh:  # the link could export more: the zone's price is not below the bus
            assert dual >= bus_dual - slack
        if -export != zone.import_limit_wh:  # it could import more: not above it
            assert dual <= bus_dual + slack


def check_clearing(zones: list[Zone], orders: list[ZonedOrder], n_ticks: int, result: CoupledClearing, name: str) -> None:
    """Every check a clearing must pass, its book named in the failure: constraints, competitive prices,
    money and the linear program."""
    try:
        check_constraints(zones, orders, n_ticks, result)
        check_competitive_prices(zones, orders, n_ticks, result)
        check_money(zones, orders, result)
        check_against_lp(zones, orders, n_ticks, result)
    except AssertionError as error:
        raise AssertionError(f"{name}: {zones} {orders} -> {result}") from error


def random_book(rng: random.Random, n_zones: int, n_ticks: int) -> tuple[list[Zone], list[ZonedOrder]]:
    """Zones with limits of None, 0 or a few Wh; each empty, all bids, all asks or mixed; amounts that often tie."""
    zones = [Zone(10 + z, rng.choice([None, 0, rng.randint(1, 40)]), rng.choice([None, 0, rng.randint(1, 40)])) for z in range(n_zones)]
    orders, order_id = [], 1
    for zone in zones:
        sides = rng.choice([(True,), (False,), (True, False), (True, False)])
        for _ in range(rng.choice([0, 1, 2, 3, 4])):
            order = AuctionOrder(order_id, rng.choice(sides), rng.choice([5, 10, rng.randint(1, 30)]), rng.randrange(n_ticks))
            orders.append(ZonedOrder(zone.zone_id, order))
            order_id += 1
    rng.shuffle(orders)  # arrival order mixes the zones
    return zones, orders


DEGENERATE_KINDS = ("ties at the marginal tick", "one-sided zones", "every link binding", "no crossing")


def degenerate_book(rng: random.Random, kind: str, n_zones: int, n_ticks: int) -> tuple[list[Zone], list[ZonedOrder]]:
    """A book of one of DEGENERATE_KINDS, the cases where a rule most easily prices wrong: many orders of
    equal size on one or two ticks (ties at the marginal tick), zones of bids only or asks only, links
    of a few Wh against orders of hundreds (every link binds), and every bid below every ask."""
    orders: list[ZonedOrder] = []
    if kind == "every link binding":
        zones = [Zone(10 + z, rng.randint(0, 5), rng.randint(0, 5)) for z in range(n_zones)]
    else:
        zones = [Zone(10 + z, rng.choice([None, 0, rng.randint(1, 40)]), rng.choice([None, 0, rng.randint(1, 40)])) for z in range(n_zones)]
    split = rng.randrange(n_ticks)
    for zone in zones:
        one_side = rng.choice([True, False])
        for _ in range(rng.randint(0, 5)):
            is_bid = rng.random() < 0.5
            tick = rng.randrange(n_ticks)
            amount = rng.randint(1, 30)
            if kind == "ties at the marginal tick":
                tick, amount = rng.choice([split, min(split + 1, n_ticks - 1)]), 10
            elif kind == "one-sided zones":
                is_bid = one_side
            elif kind == "every link binding":
                amount = rng.randint(100, 300)
            elif kind == "no crossing":  # bids at or below `split`, asks above it (none when it is the top)
                is_bid = is_bid or split == n_ticks - 1
                tick = rng.randint(0, split) if is_bid else rng.randint(split + 1, n_ticks - 1)
            orders.append(ZonedOrder(zone.zone_id, AuctionOrder(len(orders) + 1, is_bid, amount, tick)))
    rng.shuffle(orders)
    return zones, orders

"""The rule a coupled interval market is to follow: one delivery period's double auction cleared across
many zones (grid regions or feeders), each joined to a common bus by a link with an import limit and an
export limit. EnergyAuction clears a market whose orders name zones by this rule (MarketZones over
CoupledClearing); this is the reference they are held to, and tests/test_coupled_auction_reference.py
solves the same problem as a linear program, which is its proof of optimality.

Prices lie on the market's grid of ticks, as in energy_grid.domain.auction. In zone z, D_z(p) and S_z(p)
are its bid volume with limit ≥ p and its ask volume with limit ≤ p. At a price p the zone's orders want
to export anything from lo_z(p) = S_z(p − 1) − D_z(p) (orders at p left out) to hi_z(p) = S_z(p) − D_z(p + 1)
(orders at p taken in); these ranges rise with p and meet end to end. Clamped to the link's limits and
summed over the zones they give the bus's range [L(p), H(p)].

Quantities. The bus balances at the ticks p with L(p) ≤ 0 ≤ H(p), a run of ticks; P is the lowest. Every
zone exports at least the positive part of its clamped lo(P) and imports at least the negative part of its
clamped hi(P); the bus then trades as much as both sides allow, and each side's remainder is shared among
the zones' spare capacity on running totals in the order the zones are listed (the rule `ration` uses for
one price level). A zone's net export is what it exports less what it imports; it is the same whichever
balancing tick is used. Each zone then clears as one market on its own orders, its net export standing as
an order of unlimited price on the other side (the bus buying its export, or selling its import): most
volume, each side filled by price priority with `fill_side`, the marginal level rationed on running totals.
These quantities maximize the orders' total surplus: at P every zone trades as its orders want, held by
its link, and the bus balances.

Prices are competitive: the LP's dual prices of the zones' and the bus's balances, on the tick grid. A
zone's competitive ticks, given its net export x, are those whose [lo_z(p), hi_z(p)] holds x (a run of
ticks, energy_grid.domain.auction.competitive_ticks): at any of them every order of the zone strictly in
the money fills in full, and only orders at the price are rationed. The bus's competitive ticks are the
balancing ticks. Each range prices at its middle, rounded down, as a market of its own does: the bus tick
is the middle of the balancing ticks, and a zone's own tick the middle of its competitive ticks. The link
then says which a zone trades at. A zone whose link can carry more both ways trades at the bus tick (its
own range always holds it). A zone held at its export limit trades at its own tick where that lies at or
below the bus tick, else at the bus tick (its range holds every tick between); one held at its import
limit at its own tick at or above the bus tick, else at the bus tick; a zone closed both ways at its own.
So a zone whose link has room shares the bus price, and a zone whose link is full gets its own price on
its side of the bus. Its role says which: coupled (the bus price), export-bound (below it) or
import-bound (above it). The congestion rent is Σ over the zones of (bus price − zone price) × net export,
never negative, and what buyers pay at their zone prices is what sellers receive at theirs plus it.

Every step reads the zones' curves tick by tick, never the orders one by one, except the fills by price
priority within each zone and the rationing of its marginal levels: O(zones × ticks) besides those, the
bound the coupled contract is to keep.

For one zone (any limits) every step reduces to clear_market: its net export is 0, its fills are
clear_market's, and its tick is its own: the bus's balancing ticks are its competitive ticks where its
link can carry energy both ways, and hold them otherwise.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from energy_grid.domain.auction import AuctionOrder, competitive_ticks, curves, export_range, fill_side, middle, ration
from energy_grid.domain.enums import ZoneRole


def role_of(zone_tick: int, bus_tick: int) -> ZoneRole:
    """The role a zone's price gives it."""
    if zone_tick == bus_tick:
        return ZoneRole.COUPLED
    return ZoneRole.EXPORT_BOUND if zone_tick < bus_tick else ZoneRole.IMPORT_BOUND


@dataclass(frozen=True)
class Zone:
    """A grid region joined to the bus; a limit of None is unlimited, 0 closes that direction."""

    zone_id: int
    import_limit_wh: int | None
    export_limit_wh: int | None


@dataclass(frozen=True)
class ZonedOrder:
    """An auction order and the zone its meter is in."""

    zone_id: int
    order: AuctionOrder


@dataclass(frozen=True)
class CoupledClearing:
    bus_tick: int  # the price of every free zone
    zone_ticks: dict[int, int]  # zone id -> the tick its orders trade at
    roles: dict[int, ZoneRole]  # zone id -> how its price relates to the bus's
    net_export_wh: dict[int, int]  # zone id -> asks filled − bids filled (negative: the zone imports)
    volume_wh: dict[int, int]  # zone id -> its own market's volume, its net export counted as an order
    fills_wh: dict[int, int]  # order id -> Wh traded (0 for orders that do not trade)
    # Σ over zones of (bus price − zone price) × net export in PaymentToken base units per kWh × Wh, that
    # is thousandths of a base unit: exact, no rounding. What the buyers pay at their zone prices is what
    # the sellers receive at theirs plus this, in the same unit.
    congestion_rent_milli: int


def clamp(export_wh: int, zone: Zone) -> int:
    """`export_wh` held within the zone's link: at least −import limit, at most the export limit."""
    if zone.import_limit_wh is not None:
        export_wh = max(export_wh, -zone.import_limit_wh)
    if zone.export_limit_wh is not None:
        export_wh = min(export_wh, zone.export_limit_wh)
    return export_wh


def share(capacities_wh: Sequence[int], left_wh: int) -> list[int]:
    """`left_wh` shared among capacities on running totals, in order: `ration` over one level."""
    if left_wh == 0:
        return [0] * len(capacities_wh)
    level = [AuctionOrder(index, True, capacity, 0) for index, capacity in enumerate(capacities_wh)]
    shares = ration(level, left_wh)
    return [shares[index] for index in range(len(capacities_wh))]


def bus_balance(zones: Sequence[Zone], zone_curves: Sequence[tuple[list[int], list[int]]], tick: int) -> tuple[int, int]:
    """[L(tick), H(tick)]: what the zones, held by their links, can export at `tick`, orders at it out and in."""
    low_wh = high_wh = 0
    for zone, (demand, supply) in zip(zones, zone_curves, strict=True):
        lo, hi = export_range(demand, supply, tick)
        low_wh += clamp(lo, zone)
        high_wh += clamp(hi, zone)
    return low_wh, high_wh


def bus_ticks(zones: Sequence[Zone], zone_curves: Sequence[tuple[list[int], list[int]]], n_ticks: int) -> tuple[int, int]:
    """The lowest and highest ticks at which the bus balances, L(p) ≤ 0 ≤ H(p): every tick between does too."""
    balances = [bus_balance(zones, zone_curves, tick) for tick in range(n_ticks)]
    # L(0) ≤ 0 (each zone's lo there is minus its bids) and H(top) ≥ 0 (its asks), so both ticks exist.
    lowest = min(tick for tick, (_, high_wh) in enumerate(balances) if high_wh >= 0)
    highest = max(tick for tick, (low_wh, _) in enumerate(balances) if low_wh <= 0)
    return lowest, highest


def net_exports(zones: Sequence[Zone], zone_curves: Sequence[tuple[list[int], list[int]]], tick: int) -> list[int]:
    """Each zone's net export at the bus's lowest balancing tick: forced flows in full, the rest shared in zone order."""
    ranges = [export_range(d, s, tick) for d, s in zone_curves]
    clamped = [(clamp(lo, zone), clamp(hi, zone)) for zone, (lo, hi) in zip(zones, ranges, strict=True)]
    forced_out = [max(lo, 0) for lo, _ in clamped]
    can_out = [max(hi, 0) for _, hi in clamped]
    forced_in = [max(-hi, 0) for _, hi in clamped]
    can_in = [max(-lo, 0) for lo, _ in clamped]
    traded_wh = min(sum(can_out), sum(can_in))
    out_shares = share([c - f for c, f in zip(can_out, forced_out, strict=True)], traded_wh - sum(forced_out))
    in_shares = share([c - f for c, f in zip(can_in, forced_in, strict=True)], traded_wh - sum(forced_in))
    return [
        (forced_out[i] + out_shares[i]) - (forced_in[i] + in_shares[i]) for i in range(len(zones))
    ]


def with_flow(demand: Sequence[int], supply: Sequence[int], export_wh: int) -> tuple[list[int], list[int]]:
    """A zone's curves with its net export standing as an order of unlimited price on the other side."""
    return [d + max(export_wh, 0) for d in demand], [s + max(-export_wh, 0) for s in supply]


def clear_zone(orders: Sequence[AuctionOrder], export_wh: int, n_ticks: int) -> tuple[int, dict[int, int]]:
    """One zone's market with its net export fixed: its volume (the flow counted) and every order's fill."""
    demand, supply = with_flow(*curves(orders, n_ticks), export_wh)
    volume_wh = max(min(d, s) for d, s in zip(demand, supply, strict=True))
    bids = [order for order in orders if order.is_bid]
    asks = [order for order in orders if not order.is_bid]
    fills = fill_side(bids, volume_wh - max(export_wh, 0), range(n_ticks - 1, -1, -1))
    fills.update(fill_side(asks, volume_wh - max(-export_wh, 0), range(n_ticks)))
    return volume_wh, fills


def zone_tick(zone: Zone, demand: Sequence[int], supply: Sequence[int], export_wh: int, bus_tick: int) -> int:
    """A zone's price: the bus's where its link can carry more both ways, else its own on its side of the bus."""
    own = middle(*competitive_ticks(demand, supply, export_wh))
    can_export = zone.export_limit_wh is None or export_wh < zone.export_limit_wh
    can_import = zone.import_limit_wh is None or -export_wh < zone.import_limit_wh
    if can_export and can_import:
        return bus_tick
    if can_import:  # held at its export limit
        return min(own, bus_tick)
    if can_export:  # held at its import limit
        return max(own, bus_tick)
    return own


def clear_coupled(
    zones: Sequence[Zone],
    orders: Sequence[ZonedOrder],
    n_ticks: int,
    tick_size_per_kwh: int = 1,
) -> CoupledClearing:
    """Clears one delivery period across `zones` (listed in their sharing order), orders in arrival order;
    the grid's tick size prices the congestion rent (1, the default, gives it in ticks × Wh)."""
    ids = [zone.zone_id for zone in zones]
    if len(set(ids)) != len(ids):
        raise ValueError("a zone is listed twice")
    by_zone: dict[int, list[AuctionOrder]] = {zone_id: [] for zone_id in ids}
    for zoned in orders:
        if zoned.zone_id not in by_zone:
            raise ValueError(f"order {zoned.order.order_id}: zone {zoned.zone_id} is not in the market")
        by_zone[zoned.zone_id].append(zoned.order)
    zone_curves = [curves(by_zone[zone_id], n_ticks) for zone_id in ids]

    lowest, highest = bus_ticks(zones, zone_curves, n_ticks)
    bus_tick = middle(lowest, highest)
    # The zones' flows are the same at every balancing tick: the lowest gives them.
    exports = net_exports(zones, zone_curves, lowest)
    fills: dict[int, int] = {}
    volumes, ticks = [], []
    for zone, export_wh, (demand, supply) in zip(zones, exports, zone_curves, strict=True):
        volume_wh, zone_fills = clear_zone(by_zone[zone.zone_id], export_wh, n_ticks)
        fills.update(zone_fills)
        volumes.append(volume_wh)
        ticks.append(zone_tick(zone, demand, supply, export_wh, bus_tick))
    # Prices differ by whole ticks, so the grid's minimum price drops out of the rent.
    rent_milli = sum((bus_tick - tick) * tick_size_per_kwh * export_wh for tick, export_wh in zip(ticks, exports, strict=True))
    return CoupledClearing(
        bus_tick=bus_tick,
        zone_ticks=dict(zip(ids, ticks, strict=True)),
        roles={zone_id: role_of(tick, bus_tick) for zone_id, tick in zip(ids, ticks, strict=True)},
        net_export_wh=dict(zip(ids, exports, strict=True)),
        volume_wh=dict(zip(ids, volumes, strict=True)),
        fills_wh=fills,
        congestion_rent_milli=rent_milli,
    )

"""The read routes' queries: each a small SQL query over the event rows (state derived on the
fly), answering with the models of energy_grid.index.answers, which the API serves as they are
(energy_grid/api/routes/ validates the inputs).

Rows are inserted in chain order and a rollback deletes the newest, so a table's `id` order is
its chain order: "latest" is the highest id.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Final, Literal, NamedTuple, TypeVar, cast

from sqlalchemy import func, literal, or_, select, type_coerce
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement

from energy_grid.domain.enums import LoadStatus, ZoneRole
from energy_grid.domain.orders import is_live
from energy_grid.domain.units import DAY_SECONDS, INTERVAL_SECONDS, WH_PER_KWH
from energy_grid.index import answers as a
from energy_grid.index import models as m
from energy_grid.index.sql import bucket_start, in_window
from energy_grid.index.types import Uint256

SIDES = ("BUY", "SELL")
T = TypeVar("T")


@dataclass(frozen=True)
class PageRequest:
    limit: int
    offset: int


@dataclass(frozen=True)
class Head:
    """The last indexed block: what "now" is for expiry and default time windows."""

    block_number: int | None
    timestamp_s: int | None

    def day_start_s(self) -> int:
        return 0 if self.timestamp_s is None else self.timestamp_s // DAY_SECONDS * DAY_SECONDS

    def time_s(self) -> int:
        return 0 if self.timestamp_s is None else self.timestamp_s


def head_of(session: Session) -> Head:
    cursor = session.get(m.Cursor, 1)
    if cursor is None or cursor.block_number < 0:
        return Head(None, None)
    block = session.get(m.Block, cursor.block_number)
    return Head(cursor.block_number, None if block is None else block.timestamp_s)


def _listing(session: Session, query: Any, page: PageRequest, item: Callable[[Any], T]) -> a.Page[T]:
    """One page of `query`'s rows, each answered by `item`, and how many rows there are in all."""
    total = session.scalar(select(func.count()).select_from(query.order_by(None).subquery())) or 0
    rows = session.execute(query.limit(page.limit).offset(page.offset)).all()
    return a.Page(items=[item(row) for row in rows], total=int(total), limit=page.limit, offset=page.offset)


def _newest_first(table: type[m.EventRow]) -> tuple[Any, Any]:
    return table.block_number.desc(), table.log_index.desc()


# ---------------------------------------------------------------- orders and trades


def _order_state() -> tuple[ColumnElement[int], ColumnElement[str | None]]:
    """(filled Wh, closing reason or NULL) of the OrderCreated row in the enclosing query."""
    o = m.OrderCreated
    filled_as_buy = select(func.coalesce(func.sum(m.Fill.amount_wh), 0)).where(m.Fill.buy_order_id == o.order_id)
    filled_as_sell = select(func.coalesce(func.sum(m.Fill.amount_wh), 0)).where(m.Fill.sell_order_id == o.order_id)
    filled = type_coerce(filled_as_buy.scalar_subquery() + filled_as_sell.scalar_subquery(), Uint256)
    closed = select(m.OrderClosed.reason).where(m.OrderClosed.order_id == o.order_id).limit(1).scalar_subquery()
    return filled, closed


def _orders() -> Any:
    filled, closed = _order_state()
    return select(m.OrderCreated, filled.label("filled_wh"), closed.label("closed"))


def _order(row: Any, head: Head) -> a.OrderOut:
    o: m.OrderCreated = row[0]
    filled_wh = int(row.filled_wh)
    if row.closed is not None:
        status = "CANCELLED"
    elif filled_wh >= o.amount_wh:
        status = "FILLED"
    else:
        status = "ACTIVE"
    return a.OrderOut(
        orderId=o.order_id,
        trader=o.trader,
        side=SIDES[o.side],
        amountWh=o.amount_wh,
        filledWh=filled_wh,
        remainingWh=o.amount_wh - filled_wh,
        pricePerKWh=o.price_per_kwh,
        expiry=o.expiry_s,
        expired=head.timestamp_s is not None and not is_live(o.expiry_s, head.timestamp_s),
        counterparty=o.counterparty,
        status=status,
        createdAt=o.timestamp_s,
        blockNumber=o.block_number,
        txHash=o.tx_hash,
    )


def order(session: Session, order_id: int) -> a.OrderOut | None:
    row = session.execute(_orders().where(m.OrderCreated.order_id == order_id)).first()
    return None if row is None else _order(row, head_of(session))


def orders(session: Session, page: PageRequest, trader: str | None, status: str | None, side: str | None) -> a.Page[a.OrderOut]:
    o = m.OrderCreated
    filled, closed = _order_state()
    query = _orders()
    if trader is not None:
        query = query.where(o.trader == trader)
    if side is not None:
        query = query.where(o.side == SIDES.index(side))
    if status == "CANCELLED":
        query = query.where(closed.is_not(None))
    elif status == "FILLED":
        query = query.where(closed.is_(None), filled >= o.amount_wh)
    elif status == "ACTIVE":
        query = query.where(closed.is_(None), filled < o.amount_wh)
    head = head_of(session)
    return _listing(session, query.order_by(*_newest_first(o)), page, lambda row: _order(row, head))


def order_book(session: Session, depth: int) -> a.OrderBookOut:
    """Open to anyone, ACTIVE and unexpired orders' remaining Wh per price level."""
    sub = _orders().where(m.OrderCreated.counterparty.is_(None)).subquery()
    o = sub.c
    head = head_of(session)
    remaining = type_coerce(func.sum(o.amount_wh - o.filled_wh), Uint256)
    conditions = [o.closed.is_(None), o.filled_wh < o.amount_wh]
    if head.timestamp_s is not None:
        conditions.append(o.expiry_s > head.timestamp_s)

    def levels(side: int, best_first: Any) -> list[a.PriceLevel]:
        query = (
            select(o.price_per_kwh, remaining.label("amount_wh"), func.count().label("orders"))
            .where(*conditions, o.side == side)
            .group_by(o.price_per_kwh)
            .order_by(best_first)
            .limit(depth)
        )
        return [
            a.PriceLevel(pricePerKWh=int(r.price_per_kwh), amountWh=int(r.amount_wh), orders=int(r.orders))
            for r in session.execute(query)
        ]

    return a.OrderBookOut(bids=levels(0, o.price_per_kwh.desc()), asks=levels(1, o.price_per_kwh.asc()))


def trades(session: Session, page: PageRequest, trader: str | None, from_s: int | None, to_s: int | None) -> a.Page[a.TradeOut]:
    f, s = m.Fill, m.SettlementRow
    query = select(f, s).outerjoin(s, s.transaction_id == f.transaction_id)
    if trader is not None:
        query = query.where(or_(f.buyer == trader, f.seller == trader))
    query = query.where(*in_window(f.timestamp_s, from_s, to_s)).order_by(*_newest_first(f))
    return _listing(session, query, page, lambda row: _trade(row[0], row[1]))


def _trade(fill: m.Fill, settlement: m.SettlementRow | None) -> a.TradeOut:
    settled = settlement is not None and settlement.status == "SETTLED"
    return a.TradeOut(
        transactionId=fill.transaction_id,
        buyOrderId=fill.buy_order_id,
        sellOrderId=fill.sell_order_id,
        buyer=fill.buyer,
        seller=fill.seller,
        amountWh=fill.amount_wh,
        pricePerKWh=fill.price_per_kwh,
        timestamp=fill.timestamp_s,
        blockNumber=fill.block_number,
        txHash=fill.tx_hash,
        settled=settled,
        voided=settlement is not None and settlement.status == "VOIDED",
        payment=settlement.payment if settled and settlement is not None else None,
        fee=settlement.fee if settled and settlement is not None else None,
    )


# ---------------------------------------------------------------- grid


def grid_status(session: Session) -> a.GridStatusOut:
    head = head_of(session)
    emergencies = _latest(session, m.EmergencyModeChanged)
    loads = _latest(session, m.LoadReported)
    oracle = _latest(session, m.GridDataUpdated)
    regions = []
    for region_id in sorted(set(loads) | set(oracle) | set(emergencies)):
        load, data, emergency = loads.get(region_id), oracle.get(region_id), emergencies.get(region_id)
        regions.append(
            a.RegionStatus(
                regionId=region_id,
                emergencyMode=emergency is not None and bool(emergency.active),
                load=None
                if load is None
                else a.RegionLoad(
                    capacityKW=load.capacity_kw,
                    demandKW=load.demand_kw,
                    loadPercentage=load.load_percentage,
                    status=LoadStatus(load.status).name,
                    reportedAt=load.timestamp_s,
                ),
                oracle=None
                if data is None
                else a.RegionOracle(
                    supplyW=data.supply_w,
                    demandW=data.demand_w,
                    frequencyMilliHz=data.frequency_millihz,
                    voltagePerMille=data.voltage_per_mille,
                    updatedAt=data.timestamp_s,
                ),
            )
        )
    power, frequency = _grid_figures(session, oracle)
    return a.GridStatusOut(
        blockNumber=head.block_number,
        timestamp=head.timestamp_s,
        # The grid is in emergency (its price tripled) while any region is.
        emergencyMode=any(row.active for row in emergencies.values()),
        supplyW=power.supply_w,
        demandW=power.demand_w,
        updatedAt=power.updated_at_s,
        powerSource=power.source,
        frequencyMilliHz=frequency.millihz,
        voltagePerMille=frequency.voltage_per_mille,
        frequencyUpdatedAt=frequency.updated_at_s,
        frequencySource=frequency.source,
        frequencyRegions=frequency.regions,
        regions=regions,
    )


# ---- The whole grid's figures: one rule for the status and the series.
#
# The operator's grid status (GridManagement) when the operator reports one, as the simulation does
# each interval. A community whose operator does not (the live community: its services report each
# region's load and the oracle's figures, not the grid's) has its whole-grid figures from what it
# does record: supply and demand from its meters' readings (their production and consumption, in
# mean W over each interval every meter has read through), frequency and voltage from the regions'
# latest oracle figures (their median frequency, their lowest voltage).

GRID_STATUS: Final = "GRID_STATUS"
METERS: Final = "METERS"
ORACLE: Final = "ORACLE"
WATTS_PER_WH_IN_AN_INTERVAL = 3_600 // INTERVAL_SECONDS  # a mean W over an interval is its Wh times this


class _Power(NamedTuple):
    supply_w: int | None = None
    demand_w: int | None = None
    updated_at_s: int | None = None
    source: Literal["GRID_STATUS", "METERS"] | None = None


class _Frequency(NamedTuple):
    millihz: int | None = None
    voltage_per_mille: int | None = None
    updated_at_s: int | None = None
    source: Literal["GRID_STATUS", "ORACLE"] | None = None
    regions: int | None = None  # ORACLE: how many regions' figures the median and the lowest are of


class _MeteredInterval(NamedTuple):
    end_s: int
    supply_w: int
    demand_w: int
    block_number: int


def _operator_reports_grid(session: Session) -> bool:
    return session.scalar(select(m.GridStatusUpdated.id).limit(1)) is not None


def _grid_figures(session: Session, oracle: dict[int, Any]) -> tuple[_Power, _Frequency]:
    """The whole grid's power and frequency, each with where it comes from (the rule above)."""
    if _operator_reports_grid(session):
        status = session.scalars(select(m.GridStatusUpdated).order_by(m.GridStatusUpdated.id.desc()).limit(1)).one()
        return (
            _Power(status.supply_w, status.demand_w, status.timestamp_s, GRID_STATUS),
            _Frequency(status.frequency_millihz, status.voltage_per_mille, status.timestamp_s, GRID_STATUS),
        )
    metered = _metered_intervals(session, None, None, 1)
    power = _Power(metered[0].supply_w, metered[0].demand_w, metered[0].end_s, METERS) if metered else _Power()
    reports = list(oracle.values())
    if not reports:
        return power, _Frequency()
    frequencies = sorted(row.frequency_millihz for row in reports)
    return power, _Frequency(
        frequencies[len(frequencies) // 2],
        min(row.voltage_per_mille for row in reports),
        min(row.timestamp_s for row in reports),
        ORACLE,
        len(reports),
    )


def _metered_through_s(session: Session) -> int | None:
    """The latest reading time every meter that reads has reached: the intervals up to it are
    whole. A meter that stops reading holds it back, as its energy is missing from what follows."""
    r = m.ReadingAccepted
    latest = select(func.max(r.reading_timestamp_s).label("latest_s")).group_by(r.meter).subquery()
    through = session.scalar(select(func.min(latest.c.latest_s)))
    return None if through is None else int(through)


def _metered_intervals(session: Session, from_s: int | None, to_s: int | None, limit: int) -> list[_MeteredInterval]:
    """The meters' production (supply) and consumption (demand) of each whole interval in mean W,
    stamped with the interval's end: the newest `limit` ending in the window, oldest first."""
    through_s = _metered_through_s(session)
    if through_s is None:
        return []
    r = m.ReadingAccepted
    start = bucket_start(r.reading_timestamp_s, 0, INTERVAL_SECONDS).label("start")
    sums = [
        type_coerce(func.sum(column), Uint256).label(name) for name, column in (("supply", r.production_wh), ("demand", r.consumption_wh))
    ]
    end_s = None if to_s is None else to_s - INTERVAL_SECONDS  # an interval's readings fall before its end
    from_start_s = None if from_s is None else from_s - INTERVAL_SECONDS
    query = (
        select(start, *sums, func.max(r.block_number).label("block"))
        .where(r.reading_timestamp_s <= through_s, *in_window(start, from_start_s, end_s))
        .group_by(start)
        .order_by(start.desc())
        .limit(limit)
    )
    return [
        _MeteredInterval(
            int(row.start) + INTERVAL_SECONDS,
            int(row.supply or 0) * WATTS_PER_WH_IN_AN_INTERVAL,
            int(row.demand or 0) * WATTS_PER_WH_IN_AN_INTERVAL,
            int(row.block),
        )
        for row in reversed(session.execute(query).all())
    ]


def _latest(session: Session, table: Any) -> dict[int, Any]:
    """Each region's latest row of `table` (LoadReported, GridDataUpdated or EmergencyModeChanged)."""
    newest = select(func.max(table.id)).group_by(table.region_id)
    return {row.region_id: row for row in session.scalars(select(table).where(table.id.in_(newest)))}


def grid_demand(session: Session, region_id: int | None, from_s: int | None, to_s: int | None, limit: int) -> a.DemandSeriesOut:
    """The whole grid's demand by the rule above, or a region's (GridOracle), oldest first: the
    newest `limit` points of the window."""
    source, points = _grid_series(session, "demand", region_id, from_s, to_s, limit)
    return a.DemandSeriesOut(
        regionId=region_id, source=source, points=[a.DemandPoint(timestamp=t, demandW=w, blockNumber=b) for t, w, b in points]
    )


def grid_supply(session: Session, region_id: int | None, from_s: int | None, to_s: int | None, limit: int) -> a.SupplySeriesOut:
    """The whole grid's supply by the rule above, or a region's (GridOracle), as grid_demand."""
    source, points = _grid_series(session, "supply", region_id, from_s, to_s, limit)
    return a.SupplySeriesOut(
        regionId=region_id, source=source, points=[a.SupplyPoint(timestamp=t, supplyW=w, blockNumber=b) for t, w, b in points]
    )


def _grid_series(
    session: Session, quantity: str, region_id: int | None, from_s: int | None, to_s: int | None, limit: int
) -> tuple[a.GridSeriesSource, list[tuple[int, int, int]]]:
    """Where the series comes from, and its points: (time, W, block), oldest first."""
    if region_id is None and not _operator_reports_grid(session):
        metered = _metered_intervals(session, from_s, to_s, limit)
        return METERS, [(p.end_s, p.supply_w if quantity == "supply" else p.demand_w, p.block_number) for p in metered]
    table: type[m.GridStatusUpdated] | type[m.GridDataUpdated] = m.GridStatusUpdated if region_id is None else m.GridDataUpdated
    value = table.supply_w if quantity == "supply" else table.demand_w
    query = select(table.timestamp_s, value.label("value"), table.block_number).where(*in_window(table.timestamp_s, from_s, to_s))
    if region_id is not None:
        query = query.where(m.GridDataUpdated.region_id == region_id)
    rows = session.execute(query.order_by(table.id.desc()).limit(limit)).all()
    return GRID_STATUS if region_id is None else ORACLE, [(r.timestamp_s, int(r.value), r.block_number) for r in reversed(rows)]


def grid_loads(session: Session, region_id: int | None, from_s: int | None, to_s: int | None, limit: int) -> a.LoadSeriesOut:
    """A region's (or every region's) load reports (GridOperations' LoadReported), oldest first:
    the newest `limit` of the window."""
    load = m.LoadReported
    query = select(load).where(*in_window(load.timestamp_s, from_s, to_s))
    if region_id is not None:
        query = query.where(load.region_id == region_id)
    rows = session.scalars(query.order_by(load.id.desc()).limit(limit)).all()
    return a.LoadSeriesOut(regionId=region_id, points=[_load(row) for row in reversed(rows)])


def _load(load: m.LoadReported) -> a.LoadPoint:
    return a.LoadPoint(
        regionId=load.region_id,
        sequence=load.sequence,
        capacityKW=load.capacity_kw,
        demandKW=load.demand_kw,
        loadPercentage=load.load_percentage,
        status=LoadStatus(load.status).name,
        reportedAt=load.timestamp_s,
        blockNumber=load.block_number,
    )


# ---------------------------------------------------------------- meters


def _meter_active() -> Any:
    latest = (
        select(m.MeterStatusChanged.active)
        .where(m.MeterStatusChanged.meter == m.MeterRegistered.meter)
        .order_by(m.MeterStatusChanged.id.desc())
        .limit(1)
        .scalar_subquery()
    )
    return func.coalesce(latest, literal(True))


def meters(session: Session, page: PageRequest, owner: str | None) -> a.Page[a.MeterOut]:
    query = select(m.MeterRegistered, _meter_active().label("active"))
    if owner is not None:
        query = query.where(m.MeterRegistered.owner == owner)

    def item(row: Any) -> a.MeterOut:
        meter: m.MeterRegistered = row[0]
        return a.MeterOut(meter=meter.meter, owner=meter.owner, regionId=meter.region_id, registeredAt=meter.timestamp_s,
                          active=bool(row.active))  # fmt: skip

    return _listing(session, query.order_by(*_newest_first(m.MeterRegistered)), page, item)


def meter_known(session: Session, meter: str) -> bool:
    return session.scalar(select(m.MeterRegistered.id).where(m.MeterRegistered.meter == meter).limit(1)) is not None


def meter_history(session: Session, meter: str, page: PageRequest, from_s: int | None, to_s: int | None) -> a.Page[a.ReadingOut]:
    r = m.ReadingAccepted
    query = (
        select(r)
        .where(r.meter == meter, *in_window(r.reading_timestamp_s, from_s, to_s))
        .order_by(r.reading_timestamp_s.desc(), r.id.desc())
    )
    return _listing(session, query, page, lambda row: _reading(row[0]))


def _reading(reading: m.ReadingAccepted) -> a.ReadingOut:
    return a.ReadingOut(
        timestamp=reading.reading_timestamp_s,
        consumptionWh=reading.consumption_wh,
        productionWh=reading.production_wh,
        blockNumber=reading.block_number,
        txHash=reading.tx_hash,
    )


def meter_production(session: Session, meter: str, from_s: int, to_s: int) -> a.MeterProductionOut:
    """A meter's production in [from_s, to_s], in total and per 900 s interval."""
    intervals = [
        a.ProductionInterval(timestamp=t, productionWh=wh)
        for t, wh in _meter_intervals(session, meter, m.ReadingAccepted.production_wh, from_s, to_s)
    ]
    total_wh = sum(i.productionWh for i in intervals)
    return a.MeterProductionOut(meter=meter, **{"from": from_s}, to=to_s, productionWh=total_wh, intervals=intervals)


def meter_consumption(session: Session, meter: str, from_s: int, to_s: int) -> a.MeterConsumptionOut:
    """A meter's consumption in [from_s, to_s], in total and per 900 s interval."""
    intervals = [
        a.ConsumptionInterval(timestamp=t, consumptionWh=wh)
        for t, wh in _meter_intervals(session, meter, m.ReadingAccepted.consumption_wh, from_s, to_s)
    ]
    total_wh = sum(i.consumptionWh for i in intervals)
    return a.MeterConsumptionOut(meter=meter, **{"from": from_s}, to=to_s, consumptionWh=total_wh, intervals=intervals)


def _meter_intervals(session: Session, meter: str, column: Any, from_s: int, to_s: int) -> list[tuple[int, int]]:
    """(interval start, Wh of `column`) of each interval of the window the meter read in."""
    r = m.ReadingAccepted
    interval = bucket_start(r.reading_timestamp_s, 0, INTERVAL_SECONDS)
    query = (
        select(interval.label("start"), type_coerce(func.sum(column), Uint256).label("wh"))
        .where(r.meter == meter, *in_window(r.reading_timestamp_s, from_s, to_s))
        .group_by(interval)
        .order_by(interval)
    )
    return [(int(row.start), int(row.wh)) for row in session.execute(query)]


# ---------------------------------------------------------------- auction and demand response


def clearings(session: Session, page: PageRequest, from_s: int | None, to_s: int | None, traded: bool = False) -> a.Page[a.ClearingOut]:
    """The auction's clearings, newest first; `traded`: only markets that traded energy."""
    c = m.AuctionMarketCleared
    query = select(c).where(*in_window(c.timestamp_s, from_s, to_s))
    if traded:
        query = query.where(c.volume_wh > 0)
    query = query.order_by(*_newest_first(c))
    return _listing(session, query, page, lambda row: _clearing(row[0]))


def _clearing(cleared: m.AuctionMarketCleared) -> a.ClearingOut:
    return a.ClearingOut(
        period=cleared.period,
        clearingPricePerKWh=cleared.clearing_price_per_kwh,
        volumeWh=cleared.volume_wh,
        timestamp=cleared.timestamp_s,
        blockNumber=cleared.block_number,
    )


def zone_clearings(session: Session, page: PageRequest, period: int | None, zone: int | None) -> a.Page[a.ZoneClearingOut]:
    """Each zone's role, price and net export in the markets cleared across zones, newest first."""
    z = m.ZoneCleared
    query = select(z)
    if period is not None:
        query = query.where(z.period == period)
    if zone is not None:
        query = query.where(z.zone == zone)
    return _listing(session, query.order_by(*_newest_first(z)), page, lambda row: _zone_clearing(row[0]))


def _role_name(role: int | None) -> a.ZoneRoleName | None:
    """A zone's role as MarketZones named it in ZoneCleared (ZoneRole's name); None for a row indexed
    before the index kept it."""
    return None if role is None else cast(a.ZoneRoleName, ZoneRole(role).name)


def _zone_clearing(cleared: m.ZoneCleared) -> a.ZoneClearingOut:
    return a.ZoneClearingOut(
        period=cleared.period,
        zone=cleared.zone,
        role=_role_name(cleared.role),
        clearingPricePerKWh=cleared.clearing_price_per_kwh,
        netExportWh=cleared.net_export_wh,
        timestamp=cleared.timestamp_s,
        blockNumber=cleared.block_number,
    )


def link_limits(session: Session, page: PageRequest, region_id: int | None) -> a.Page[a.LinkLimitsOut]:
    """The operators' link limits, newest first (each for its periods whose gate was open)."""
    k = m.LinkLimitsSet
    query = select(k) if region_id is None else select(k).where(k.region_id == region_id)
    return _listing(
        session,
        query.order_by(*_newest_first(k)),
        page,
        lambda row: a.LinkLimitsOut(
            regionId=row[0].region_id,
            firstPeriod=row[0].first_period,
            periodCount=row[0].period_count,
            importLimitKW=row[0].import_limit_kw,
            exportLimitKW=row[0].export_limit_kw,
            operator=row[0].operator,
            timestamp=row[0].timestamp_s,
            blockNumber=row[0].block_number,
        ),
    )


# A link limit or rating that does not limit (IMarketZones' NO_LIMIT), kW.
NO_LIMIT_KW = 2**64 - 1


@dataclass(frozen=True)
class _ZoneLinks:
    """What the index knows of the zones' links: each zone's region, each region's ratings (the
    period each applies from, in chain order) and the operators' limits over the periods asked about."""

    region_of: dict[int, int]
    ratings: dict[int, list[tuple[int, int]]]
    limits: dict[int, list[m.LinkLimitsSet]]

    def limits_kw(self, region_id: int, period: int) -> tuple[int, int]:
        """The limits in force for the region's link in `period`, kW (import, export), as MarketZones
        reads them: the operator's latest for the period, capped by the rating in force then."""
        # The rating's history is pushed in chain order with a non-decreasing first period, so the
        # last entry from before the period is the one in force (Checkpoints.upperLookupRecent).
        rating = next((kw for first, kw in reversed(self.ratings.get(region_id, [])) if first <= period), NO_LIMIT_KW)
        import_kw = export_kw = rating
        for limit in reversed(self.limits.get(region_id, [])):
            if limit.first_period <= period < limit.first_period + limit.period_count:
                import_kw, export_kw = min(rating, limit.import_limit_kw), min(rating, limit.export_limit_kw)
                break
        return import_kw, export_kw


def _zone_links(session: Session, periods: list[int]) -> _ZoneLinks:
    """The zones' regions, and the ratings and limits that may be in force over `periods` (not empty):
    each region's rating at the first of them and its updates up to the last, and the operators'
    limits covering any of them."""
    low, high = min(periods), max(periods)
    added = session.scalars(select(m.ZoneAdded).order_by(m.ZoneAdded.id)).all()
    ratings: dict[int, list[tuple[int, int]]] = {row.region_id: [(0, row.rating_kw)] for row in added}
    u = m.ZoneRatingUpdated
    in_force_at_low = select(func.max(u.id)).where(u.from_period <= low).group_by(u.region_id)
    updates = select(u).where(or_(u.id.in_(in_force_at_low), (u.from_period > low) & (u.from_period <= high))).order_by(u.id)
    for updated in session.scalars(updates):
        ratings.setdefault(updated.region_id, []).append((updated.from_period, updated.rating_kw))
    limits: dict[int, list[m.LinkLimitsSet]] = {}
    k = m.LinkLimitsSet
    for limit in session.scalars(select(k).where(k.first_period <= high, k.first_period + k.period_count > low).order_by(k.id)):
        limits.setdefault(limit.region_id, []).append(limit)
    return _ZoneLinks({row.zone: row.region_id for row in added}, ratings, limits)


def _energy_wh(power_kw: int) -> int | None:
    """What a link limit carries over one period, Wh, rounded down as MarketZones rounds it; None for no limit."""
    return None if power_kw == NO_LIMIT_KW else power_kw * INTERVAL_SECONDS * WH_PER_KWH // 3_600


def _zone_link(cleared: m.ZoneCleared, links: _ZoneLinks) -> a.ZoneLinkOut:
    region_id = links.region_of.get(cleared.zone)
    limits_kw: tuple[int | None, int | None] = (None, None)
    limits_wh: tuple[int | None, int | None] = (None, None)
    if region_id is not None:
        import_kw, export_kw = links.limits_kw(region_id, cleared.period)
        limits_kw = (None if import_kw == NO_LIMIT_KW else import_kw, None if export_kw == NO_LIMIT_KW else export_kw)
        limits_wh = (_energy_wh(import_kw), _energy_wh(export_kw))
    return a.ZoneLinkOut(
        zone=cleared.zone,
        regionId=region_id,
        role=_role_name(cleared.role),
        clearingPricePerKWh=cleared.clearing_price_per_kwh,
        netExportWh=cleared.net_export_wh,
        importLimitKW=limits_kw[0],
        exportLimitKW=limits_kw[1],
        importLimitWh=limits_wh[0],
        exportLimitWh=limits_wh[1],
    )


def zone_markets(session: Session, page: PageRequest, period: int | None, region_id: int | None) -> a.Page[a.ZoneMarketOut]:
    """The markets cleared across zones, the latest interval first: the bus price, the volume and the
    congestion rent, and each zone's region, role (as MarketZones named it: whether the zone traded at
    the bus price or its link held it below or above), price, net export and the link limits in force
    for the period. `region_id`: only that region's zone in each market."""
    z, c = m.ZoneCleared, m.AuctionMarketCleared
    # The auction's MarketCleared comes in the same transaction as its zones' rows: the join drops none.
    query = select(z.period).join(c, c.period == z.period).group_by(z.period)
    if period is not None:
        query = query.where(z.period == period)
    listing = _listing(session, query.order_by(z.period.desc()), page, lambda row: int(row.period))
    periods = listing.items
    if not periods:
        return a.Page(items=[], total=listing.total, limit=listing.limit, offset=listing.offset)
    zones: dict[int, list[m.ZoneCleared]] = {p: [] for p in periods}
    for cleared in session.scalars(select(z).where(z.period.in_(periods)).order_by(z.zone, z.id)):
        zones[cleared.period].append(cleared)
    markets = {row.period: row for row in session.scalars(select(c).where(c.period.in_(periods)).order_by(c.id))}
    links = _zone_links(session, periods)
    items = []
    for p in periods:
        market = markets[p]
        bus_price = market.clearing_price_per_kwh  # the market's price is the bus's (EnergyAuction's MarketCleared)
        # Σ (bus price - zone price) × net export, per kWh: IMarketZones.CongestionRentAccrued's figure,
        # since the price difference is the tick difference times the tick size.
        rent = sum((bus_price - r.clearing_price_per_kwh) * r.net_export_wh for r in zones[p]) // WH_PER_KWH
        shown = [r for r in zones[p] if region_id is None or links.region_of.get(r.zone) == region_id]
        items.append(a.ZoneMarketOut(
            period=p,
            busPricePerKWh=bus_price,
            volumeWh=market.volume_wh,
            congestionRent=rent,
            zones=[_zone_link(r, links) for r in shown],
            timestamp=market.timestamp_s,
            blockNumber=market.block_number,
        ))  # fmt: skip
    return a.Page(items=items, total=listing.total, limit=listing.limit, offset=listing.offset)


def auction_orders(session: Session, page: PageRequest, trader: str | None, period: int | None) -> a.Page[a.AuctionOrderOut]:
    o, c = m.AuctionOrderSubmitted, m.AuctionOrderClaimed
    query = select(o, c).outerjoin(c, c.order_id == o.order_id)
    if trader is not None:
        query = query.where(o.trader == trader)
    if period is not None:
        query = query.where(o.period == period)
    return _listing(session, query.order_by(*_newest_first(o)), page, lambda row: _auction_order(row[0], row[1]))


def _auction_order(submitted: m.AuctionOrderSubmitted, claim: m.AuctionOrderClaimed | None) -> a.AuctionOrderOut:
    return a.AuctionOrderOut(
        # period << 192 | side << 191 | place << 160 | trader: beyond JavaScript's exact integers, so a decimal string.
        orderId=str(submitted.order_id),
        period=submitted.period,
        side="BUY" if submitted.is_bid else "SELL",
        amountWh=submitted.amount_wh,
        limitPricePerKWh=submitted.limit_price_per_kwh,
        trader=submitted.trader,
        filledWh=None if claim is None else claim.filled_wh,
        payment=None if claim is None else claim.payment,
        claimed=claim is not None,
        timestamp=submitted.timestamp_s,
    )


def open_auction_escrow(session: Session, trader: str) -> tuple[int, int]:
    """What `trader`'s auction orders not yet claimed hold in escrow: (Wh of its asks, PaymentToken
    of its bids), as far as the index has followed the chain."""
    o, c = m.AuctionOrderSubmitted, m.AuctionOrderClaimed
    unclaimed = select(o.is_bid, o.escrow).outerjoin(c, c.order_id == o.order_id).where(o.trader == trader, c.id.is_(None))
    energy_wh = payment = 0
    for is_bid, escrow in session.execute(unclaimed):
        if is_bid:
            payment += int(escrow)
        else:
            energy_wh += int(escrow)
    return energy_wh, payment


def standing_fills(session: Session, meter: str, page: PageRequest, traded: bool = False) -> a.Page[a.StandingFillOut]:
    """`meter`'s standing orders settled per interval, the latest interval first; `traded`: only
    intervals in which they sold or bought energy."""
    s = m.MeteredOrdersSettled
    query = select(s).where(s.meter == meter)
    if traded:
        query = query.where(or_(s.sold_wh > 0, s.bought_wh > 0))
    query = query.order_by(s.period.desc(), s.id.desc())

    def item(row: Any) -> a.StandingFillOut:
        fill: m.MeteredOrdersSettled = row[0]
        return a.StandingFillOut(
            meter=fill.meter,
            period=fill.period,
            askWh=fill.ask_wh,
            soldWh=fill.sold_wh,
            proceeds=fill.proceeds,
            bidWh=fill.bid_wh,
            boughtWh=fill.bought_wh,
            paid=fill.paid,
            settledAt=fill.timestamp_s,
            txHash=fill.tx_hash,
        )

    return _listing(session, query, page, item)


def account_fills(session: Session, account: str, limit: int) -> a.AccountFillsOut:
    """Every fill of `account`, the latest first: its order-book trades, its claimed auction orders
    that traded and its meters' settled standing orders, each as the side it took. A fill's time is
    the trade's (book) or the start of the interval it delivers in (auction, standing orders). Each
    source answers its own newest `limit` rows, so the merge is the newest `limit` of all three."""
    fills = [*_book_fills(session, account, limit), *_auction_fills(session, account, limit), *_standing_fills(session, account, limit)]
    fills.sort(key=lambda fill: (fill.time, fill.blockNumber, fill.logIndex), reverse=True)
    return a.AccountFillsOut(account=account, items=fills[:limit], limit=limit)


def _fill(market: str, side: str, time_s: int, amount_wh: int, price_per_kwh: int | None, value: int | None,
          reference: str, row: m.EventRow, status: str = "settled", period: int | None = None,
          meter: str | None = None) -> a.FillOut:  # fmt: skip
    """One fill in /accounts/{address}/fills: `value` is what the account paid (BUY) or received
    after the grid fee (SELL), in PaymentToken base units; `id` names what traded, as a string: the
    book's transaction id, the auction order's id (above JavaScript's exact integers) or the meter."""
    return a.FillOut(
        market=market,
        side=side,
        time=time_s,
        amountWh=amount_wh,
        pricePerKWh=price_per_kwh,
        value=value,
        id=reference,
        status=status,
        period=period,
        meter=meter,
        txHash=row.tx_hash,
        blockNumber=row.block_number,
        logIndex=row.log_index,
    )


def _book_fills(session: Session, account: str, limit: int) -> list[a.FillOut]:
    f, s = m.Fill, m.SettlementRow
    query = (
        select(f, s)
        .outerjoin(s, s.transaction_id == f.transaction_id)
        .where(or_(f.buyer == account, f.seller == account))
        .order_by(*_newest_first(f))
        .limit(limit)
    )
    out = []
    for fill, settlement in session.execute(query):
        status = "pending" if settlement is None else settlement.status.lower()
        for side, mine in (("BUY", fill.buyer == account), ("SELL", fill.seller == account)):
            if not mine:
                continue
            value: int | None = None  # voided: nothing moved
            if settlement is not None and status == "settled":
                payment, fee = settlement.payment or 0, settlement.fee or 0
                value = payment if side == "BUY" else payment - fee
            elif status == "pending":  # what it will cost, before the fee
                value = fill.amount_wh * fill.price_per_kwh // WH_PER_KWH
            out.append(_fill("book", side, fill.timestamp_s, fill.amount_wh, fill.price_per_kwh, value,
                             str(fill.transaction_id), fill, status=status))  # fmt: skip
    return out


def _auction_fills(session: Session, account: str, limit: int) -> list[a.FillOut]:
    """Claimed auction orders that traded: only a claim says how much of an order filled."""
    o, c, k = m.AuctionOrderSubmitted, m.AuctionOrderClaimed, m.AuctionMarketCleared
    query = (
        select(c, o.period, k.clearing_price_per_kwh)
        .join(o, o.order_id == c.order_id)
        .outerjoin(k, k.period == o.period)
        .where(o.trader == account, c.filled_wh > 0)
        .order_by(o.period.desc(), c.id.desc())
        .limit(limit)
    )
    out = []
    for claim, period, price in session.execute(query):
        side = "BUY" if claim.is_bid else "SELL"
        value = claim.payment if claim.is_bid else claim.payment - claim.fee
        out.append(_fill("auction", side, period * INTERVAL_SECONDS, claim.filled_wh, price, value,
                         str(claim.order_id), claim, period=period))  # fmt: skip
    return out


def _standing_fills(session: Session, account: str, limit: int) -> list[a.FillOut]:
    """The account's meters' standing orders that traded, at the market's clearing price."""
    s, k = m.MeteredOrdersSettled, m.AuctionMarketCleared
    mine = select(m.MeterRegistered.meter).where(m.MeterRegistered.owner == account)
    query = (
        select(s, k.clearing_price_per_kwh)
        .outerjoin(k, k.period == s.period)
        .where(s.meter.in_(mine), or_(s.sold_wh > 0, s.bought_wh > 0))
        .order_by(s.period.desc(), s.id.desc())
        .limit(limit)
    )
    out = []
    for settled, price in session.execute(query):
        start = settled.period * INTERVAL_SECONDS
        for side, amount_wh, value in (("SELL", settled.sold_wh, settled.proceeds), ("BUY", settled.bought_wh, settled.paid)):
            if amount_wh:
                out.append(_fill("standing", side, start, amount_wh, price, value, settled.meter, settled,
                                 period=settled.period, meter=settled.meter))  # fmt: skip
    return out


def demand_events(session: Session, page: PageRequest) -> a.Page[a.DemandEventOut]:
    s, e, j, v = m.DemandEventStarted, m.DemandEventEnded, m.DemandEventJoined, m.DemandReductionVerified
    participants = select(func.count(j.id)).where(j.event_id == s.event_id).scalar_subquery()
    verified = select(func.count(v.id)).where(v.event_id == s.event_id).scalar_subquery()
    rewards = select(func.coalesce(func.sum(v.reward_amount), 0)).where(v.event_id == s.event_id).scalar_subquery()
    query = select(
        s, e.status, participants.label("participants"), verified.label("verified"), rewards.label("rewards")
    ).outerjoin(e, e.event_id == s.event_id)
    now_s = head_of(session).timestamp_s

    def item(row: Any) -> a.DemandEventOut:
        started: m.DemandEventStarted = row[0]
        return a.DemandEventOut(
            eventId=started.event_id,
            operator=started.operator,
            regionId=started.region_id,
            targetReductionKW=started.target_reduction_kw,
            rewardPerKW=started.reward_per_kw,
            startTime=started.start_time_s,
            endTime=started.end_time_s,
            budget=started.budget,
            # Neither completed nor cancelled: ENDED once its window is over (rewards may still be paid).
            status=row.status or ("ENDED" if now_s is not None and now_s >= started.end_time_s else "ACTIVE"),
            participants=int(row.participants),
            verifiedParticipants=int(row.verified),
            rewardsVerified=int(row.rewards),
        )

    return _listing(session, query.order_by(*_newest_first(s)), page, item)


# ---------------------------------------------------------------- analytics


def prices(session: Session, from_s: int | None, to_s: int | None, limit: int) -> a.PricesOut:
    """Trade and auction prices, oldest first: the newest `limit` points of the window."""
    f, c = m.Fill, m.AuctionMarketCleared
    fills = select(
        f.timestamp_s.label("timestamp_s"), f.price_per_kwh.label("price"), f.amount_wh.label("volume"),
        f.block_number.label("block_number"), f.log_index.label("log_index"), literal("trade").label("source"),
    ).where(*in_window(f.timestamp_s, from_s, to_s))
    cleared = select(
        c.timestamp_s, c.clearing_price_per_kwh, c.volume_wh, c.block_number, c.log_index, literal("auction"),
    ).where(c.volume_wh > 0, *in_window(c.timestamp_s, from_s, to_s))
    union = fills.union_all(cleared).subquery()
    query = select(union).order_by(union.c.block_number.desc(), union.c.log_index.desc()).limit(limit)
    rows = session.execute(query).all()
    points = [
        a.PricePoint(timestamp=int(r.timestamp_s), pricePerKWh=int(r.price), volumeWh=int(r.volume), source=r.source)
        for r in reversed(rows)
    ]
    return a.PricesOut(points=points)


def energy(session: Session, from_s: int, to_s: int, bucket_s: int) -> a.EnergyOut:
    """Production and consumption of every meter and traded energy, per `bucket_s` from `from_s`."""
    count = (to_s - from_s) // bucket_s + 1

    def per_bucket(time_column: Any, column: Any) -> list[int]:
        """The sum of `column` over each bucket's rows."""
        start = bucket_start(time_column, from_s, bucket_s)
        query = select(start.label("start"), type_coerce(func.sum(column), Uint256).label("wh"))
        sums = [0] * count
        for row in session.execute(query.where(*in_window(time_column, from_s, to_s)).group_by(start)):
            sums[(int(row.start) - from_s) // bucket_s] += int(row.wh or 0)
        return sums

    r, f, c = m.ReadingAccepted, m.Fill, m.AuctionMarketCleared
    production = per_bucket(r.reading_timestamp_s, r.production_wh)
    consumption = per_bucket(r.reading_timestamp_s, r.consumption_wh)
    book, auction = per_bucket(f.timestamp_s, f.amount_wh), per_bucket(c.timestamp_s, c.volume_wh)
    buckets = [
        a.EnergyBucket(start=from_s + i * bucket_s, productionWh=production[i], consumptionWh=consumption[i], tradedWh=book[i] + auction[i])
        for i in range(count)
    ]
    return a.EnergyOut(bucketSeconds=bucket_s, buckets=buckets)

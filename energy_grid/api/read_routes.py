"""The read routes: answered from the event index (energy_grid.index.queries), never from the chain,
except the node's head in /index/status."""

from __future__ import annotations

from datetime import date
from http import HTTPStatus
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Path, Query
from sqlalchemy.orm import Session
from web3 import Web3

from energy_grid.api import schemas
from energy_grid.api.deps import Client, Db, Index, IndexFollower, PathAddress, Settings, TokenInfo, Tokens
from energy_grid.api.problems import ApiProblem
from energy_grid.api.services import analytics
from energy_grid.api.services.index import index_status as index_progress
from energy_grid.api.services.served_forecasts import served_forecasts
from energy_grid.contracts.client import GridClient
from energy_grid.domain.units import DAY_SECONDS, INTERVAL_SECONDS
from energy_grid.index import forecasts, queries
from energy_grid.index.queries import PageRequest

router = APIRouter()

MAX_PAGE = 500
DEFAULT_PAGE = 50
DEFAULT_SERIES = 500
MAX_BUCKETS = 2_000
MAX_BUCKET_SECONDS = 366 * 86_400
FORECAST_PAST_S, FORECAST_AHEAD_S = 7 * DAY_SECONDS, DAY_SECONDS  # /analytics/forecasts' range by default

# The index keeps ids, times and periods in 64-bit columns: a larger number is refused (422) before
# it reaches the database, whose driver would fail on it.
INT64_MAX = 2**63 - 1
FromS = Annotated[int | None, Query(alias="from", ge=0, le=INT64_MAX, description="unix s, inclusive")]
ToS = Annotated[int | None, Query(alias="to", ge=0, le=INT64_MAX, description="unix s, inclusive")]
Offset = Annotated[int, Query(ge=0, le=INT64_MAX)]
RegionId = Annotated[int | None, Query(alias="regionId", ge=0, le=2**32 - 1)]
OrderIdPath = Annotated[int, Path(ge=0, le=INT64_MAX, description="The order's id on EnergyTrading")]
Period = Annotated[int | None, Query(ge=0, le=INT64_MAX)]
Traded = Annotated[bool, Query(description="only markets that traded energy (a quiet night's clearings trade none)")]
TradedIntervals = Annotated[bool, Query(description="only intervals whose standing orders sold or bought energy (a night reads zeros)")]


def _limit(limit: int) -> int:
    if limit > MAX_PAGE:
        raise ApiProblem(HTTPStatus.BAD_REQUEST, "PageTooLarge", f"limit may be at most {MAX_PAGE}.", {"limit": limit, "max": MAX_PAGE})
    return limit


def page(limit: Annotated[int, Query(ge=1)] = DEFAULT_PAGE, offset: Offset = 0) -> PageRequest:
    return PageRequest(_limit(limit), offset)


def series_limit(limit: Annotated[int, Query(ge=1)] = DEFAULT_SERIES) -> int:
    return _limit(limit)


Page = Annotated[PageRequest, Depends(page)]
SeriesLimit = Annotated[int, Depends(series_limit)]


def _address(value: str | None, name: str) -> str | None:
    if value is None:
        return None
    if not Web3.is_address(value):
        raise ApiProblem(HTTPStatus.UNPROCESSABLE_ENTITY, "InvalidAddress", f"{name} is not an address: {value!r}.", {name: value})
    return Web3.to_checksum_address(value)


def _window(from_s: int | None, to_s: int | None) -> None:
    if from_s is not None and to_s is not None and from_s > to_s:
        raise ApiProblem(HTTPStatus.BAD_REQUEST, "InvalidRange", "from is after to.", {"from": from_s, "to": to_s})


def _window_or_today(db: Session, from_s: int | None, to_s: int | None) -> tuple[int, int]:
    """The window asked for, by default today (UTC) so far: a missing start is the start of the
    indexed head's day, a missing end the head's time."""
    head = queries.head_of(db)
    start = head.day_start_s() if from_s is None else from_s
    end = head.time_s() if to_s is None else to_s
    _window(start, end)
    return start, end


# ---------------------------------------------------------------- trading


@router.get("/orders/{order_id}", tags=["trading"], summary="One order: its fill and status")
def get_order(order_id: OrderIdPath, db: Db) -> schemas.OrderOut:
    found = queries.order(db, order_id)
    if found is None:
        message = f"No order {order_id} on the market (or not indexed yet)."
        raise ApiProblem(HTTPStatus.NOT_FOUND, "OrderUnknown", message, {"orderId": order_id})
    return schemas.OrderOut.model_validate(found)


@router.get("/orders", tags=["trading"], summary="Orders, newest first")
def list_orders(
    db: Db,
    paging: Page,
    trader: str | None = None,
    status: Literal["ACTIVE", "FILLED", "CANCELLED"] | None = None,
    side: Literal["BUY", "SELL"] | None = None,
) -> schemas.Page[schemas.OrderOut]:
    return schemas.Page[schemas.OrderOut].model_validate(queries.orders(db, paging, _address(trader, "trader"), status, side))


@router.get("/orderbook", tags=["trading"], summary="Open orders' remaining Wh per price level")
def order_book(db: Db, depth: SeriesLimit) -> schemas.OrderBookOut:
    return schemas.OrderBookOut.model_validate(queries.order_book(db, depth))


@router.get("/trades", tags=["trading"], summary="Trades (matches and takes), newest first")
def list_trades(db: Db, paging: Page, trader: str | None = None, from_s: FromS = None, to_s: ToS = None) -> schemas.Page[schemas.TradeOut]:
    _window(from_s, to_s)
    return schemas.Page[schemas.TradeOut].model_validate(queries.trades(db, paging, _address(trader, "trader"), from_s, to_s))


@router.get(
    "/accounts/{address}/fills", tags=["trading"], summary="An account's fills: book, auction and standing orders, newest first"
)
def account_fills(address: str, db: Db, limit: Annotated[int, Query(ge=1)] = DEFAULT_PAGE) -> schemas.AccountFillsOut:
    account = _address(address, "address")
    assert account is not None
    return schemas.AccountFillsOut.model_validate(queries.account_fills(db, account, _limit(limit)))


# ---------------------------------------------------------------- grid


@router.get("/grid/status", tags=["grid"], summary="The grid's latest status, emergency state and load per region")
def grid_status(db: Db) -> schemas.GridStatusOut:
    return schemas.GridStatusOut.model_validate(queries.grid_status(db))


def _grid_series(
    db: Session, quantity: str, limit: int, region_id: int | None, from_s: int | None, to_s: int | None
) -> dict[str, Any]:
    """The whole grid's or a region's demand or supply over the window, oldest first."""
    _window(from_s, to_s)
    return queries.grid_series(db, quantity, region_id, from_s, to_s, limit)


@router.get("/grid/demand", tags=["grid"], summary="Demand over time (W), the whole grid's or a region's")
def grid_demand(
    db: Db, limit: SeriesLimit, region_id: RegionId = None, from_s: FromS = None, to_s: ToS = None
) -> schemas.DemandSeriesOut:
    return schemas.DemandSeriesOut.model_validate(_grid_series(db, "demand", limit, region_id, from_s, to_s))


@router.get("/grid/supply", tags=["grid"], summary="Supply over time (W), the whole grid's or a region's")
def grid_supply(
    db: Db, limit: SeriesLimit, region_id: RegionId = None, from_s: FromS = None, to_s: ToS = None
) -> schemas.SupplySeriesOut:
    return schemas.SupplySeriesOut.model_validate(_grid_series(db, "supply", limit, region_id, from_s, to_s))


@router.get("/grid/loads", tags=["grid"], summary="Load reports over time (kW), a region's or every region's")
def grid_loads(
    db: Db, limit: SeriesLimit, region_id: RegionId = None, from_s: FromS = None, to_s: ToS = None
) -> schemas.LoadSeriesOut:
    """GridOperations' load reports in the window, oldest first: the newest `limit` of them."""
    _window(from_s, to_s)
    return schemas.LoadSeriesOut.model_validate(queries.grid_loads(db, region_id, from_s, to_s, limit))


# ---------------------------------------------------------------- meters


@router.get("/meters", tags=["meters"], summary="Registered meters")
def list_meters(db: Db, paging: Page, owner: str | None = None) -> schemas.Page[schemas.MeterOut]:
    return schemas.Page[schemas.MeterOut].model_validate(queries.meters(db, paging, _address(owner, "owner")))


def _known_meter(db: Session, address: str) -> str:
    meter = _address(address, "meter")
    assert meter is not None
    if not queries.meter_known(db, meter):
        raise ApiProblem(HTTPStatus.NOT_FOUND, "MeterUnknown", f"No meter {meter} is registered (or indexed yet).", {"meter": meter})
    return meter


@router.get("/meters/{address}/history", tags=["meters"], summary="A meter's accepted readings (interval energy), newest first")
def meter_history(address: str, db: Db, paging: Page, from_s: FromS = None, to_s: ToS = None) -> schemas.Page[schemas.ReadingOut]:
    _window(from_s, to_s)
    return schemas.Page[schemas.ReadingOut].model_validate(queries.meter_history(db, _known_meter(db, address), paging, from_s, to_s))


def _meter_energy(db: Session, address: str, quantity: str, from_s: int | None, to_s: int | None) -> dict[str, Any]:
    meter = _known_meter(db, address)
    start, end = _window_or_today(db, from_s, to_s)
    return queries.meter_energy(db, meter, quantity, start, end)


@router.get("/meters/{address}/production", tags=["meters"], summary="A meter's production (Wh), default today (UTC)")
def meter_production(address: str, db: Db, from_s: FromS = None, to_s: ToS = None) -> schemas.MeterProductionOut:
    return schemas.MeterProductionOut.model_validate(_meter_energy(db, address, "production", from_s, to_s))


@router.get("/meters/{address}/consumption", tags=["meters"], summary="A meter's consumption (Wh), default today (UTC)")
def meter_consumption(address: str, db: Db, from_s: FromS = None, to_s: ToS = None) -> schemas.MeterConsumptionOut:
    return schemas.MeterConsumptionOut.model_validate(_meter_energy(db, address, "consumption", from_s, to_s))


@router.get(
    "/meters/{address}/standing-fills", tags=["meters"], summary="A meter's standing orders settled per interval, the latest first"
)
def meter_standing_fills(
    address: str, db: Db, paging: Page, traded: TradedIntervals = False
) -> schemas.Page[schemas.StandingFillOut]:
    return schemas.Page[schemas.StandingFillOut].model_validate(queries.standing_fills(db, _known_meter(db, address), paging, traded))


# ---------------------------------------------------------------- auction and demand response


@router.get("/auction/clearings", tags=["auction"], summary="The quarter-hourly auction's clearings, newest first")
def auction_clearings(
    db: Db, paging: Page, from_s: FromS = None, to_s: ToS = None, traded: Traded = False
) -> schemas.Page[schemas.ClearingOut]:
    _window(from_s, to_s)
    return schemas.Page[schemas.ClearingOut].model_validate(queries.clearings(db, paging, from_s, to_s, traded))


@router.get("/auction/zones", tags=["auction"], summary="Each zone's price and net export in markets cleared across zones, newest first")
def auction_zones(
    db: Db, paging: Page, period: Period = None, zone: Annotated[int | None, Query(ge=0, le=255)] = None
) -> schemas.Page[schemas.ZoneClearingOut]:
    return schemas.Page[schemas.ZoneClearingOut].model_validate(queries.zone_clearings(db, paging, period, zone))


@router.get(
    "/auction/zone-markets",
    tags=["auction"],
    summary="Markets cleared across zones, latest first: bus price, congestion rent, each zone's price, flow and link limits",
)
def auction_zone_markets(
    db: Db, paging: Page, period: Period = None, region_id: RegionId = None
) -> schemas.Page[schemas.ZoneMarketOut]:
    """Each market's zones with the link limits in force for its period (kW and the Wh they carry)
    and which way a full link was; `regionId`: only that region's zone in each market."""
    return schemas.Page[schemas.ZoneMarketOut].model_validate(queries.zone_markets(db, paging, period, region_id))


@router.get("/auction/link-limits", tags=["auction"], summary="The grid operators' link limits for coming periods, newest first")
def auction_link_limits(db: Db, paging: Page, region_id: RegionId = None) -> schemas.Page[schemas.LinkLimitsOut]:
    return schemas.Page[schemas.LinkLimitsOut].model_validate(queries.link_limits(db, paging, region_id))


@router.get("/auction/orders", tags=["auction"], summary="Auction bids and asks with their outcome, newest first")
def auction_orders(db: Db, paging: Page, trader: str | None = None, period: Period = None) -> schemas.Page[schemas.AuctionOrderOut]:
    return schemas.Page[schemas.AuctionOrderOut].model_validate(queries.auction_orders(db, paging, _address(trader, "trader"), period))


@router.get("/demand-response/events", tags=["demand response"], summary="Demand-response events, newest first")
def demand_response_events(db: Db, paging: Page) -> schemas.Page[schemas.DemandEventOut]:
    return schemas.Page[schemas.DemandEventOut].model_validate(queries.demand_events(db, paging))


# ---------------------------------------------------------------- analytics


@router.get("/analytics/prices", tags=["analytics"], summary="Trade and auction prices over time, oldest first")
def analytics_prices(db: Db, limit: SeriesLimit, from_s: FromS = None, to_s: ToS = None) -> schemas.PricesOut:
    _window(from_s, to_s)
    return schemas.PricesOut.model_validate(queries.prices(db, from_s, to_s, limit))


@router.get("/analytics/energy", tags=["analytics"], summary="Production, consumption and traded energy per time bucket")
def analytics_energy(
    db: Db,
    from_s: FromS = None,
    to_s: ToS = None,
    bucket_seconds: Annotated[int, Query(alias="bucketSeconds", ge=1, le=MAX_BUCKET_SECONDS)] = 900,
) -> schemas.EnergyOut:
    start, end = _window_or_today(db, from_s, to_s)
    buckets = (end - start) // bucket_seconds + 1
    if buckets > MAX_BUCKETS:
        raise ApiProblem(
            HTTPStatus.BAD_REQUEST,
            "RangeTooLarge",
            f"{buckets} buckets of {bucket_seconds} s: at most {MAX_BUCKETS}; narrow the range or widen the buckets.",
            {"buckets": buckets, "max": MAX_BUCKETS},
        )
    return schemas.EnergyOut.model_validate(queries.energy(db, start, end, bucket_seconds))


@router.get(
    "/analytics/forecasts",
    tags=["analytics"],
    summary="A region's committed forecasts against its metered net import per interval, and their scores",
)
def analytics_forecasts(db: Db, region_id: RegionId = None, from_s: FromS = None, to_s: ToS = None) -> schemas.ForecastsOut:
    """Each interval's P10, P50 and P90 of the region's forecast covering it and the net import its
    meters metered (Wh), with the scores of the forecasts in the range; `regionId` by default the
    lowest region with a forecast; the range by default the last 7 days and the next day from the
    indexed head."""
    head_s = queries.head_of(db).time_s()
    start = max(head_s - FORECAST_PAST_S, 0) if from_s is None else from_s
    end = head_s + FORECAST_AHEAD_S if to_s is None else to_s
    _window(start, end)
    count = end // INTERVAL_SECONDS - start // INTERVAL_SECONDS + 1
    if count > MAX_BUCKETS:
        raise ApiProblem(
            HTTPStatus.BAD_REQUEST,
            "RangeTooLarge",
            f"{count} intervals of {INTERVAL_SECONDS} s: at most {MAX_BUCKETS}; narrow the range.",
            {"intervals": count, "max": MAX_BUCKETS},
        )
    return analytics.forecasts_out(forecasts.forecast_view(db, region_id, start, end))


@router.get(
    "/analytics/forecasts/ahead",
    tags=["analytics"],
    summary="The forecaster's latest forecasts not committed on chain: each region an hour ahead, the community's PV tomorrow",
    responses={
        404: {"description": "no forecaster to ask"},
        502: {"description": "the forecaster's answer is invalid"},
        503: {"description": "the forecaster did not answer"},
    },
)
def analytics_forecasts_ahead(settings: Settings) -> schemas.ServedForecastsOut:
    """Each region's net import an hour ahead (P10, P50, P90 of one interval, Wh) and the
    community's PV production of the next day (per interval, Wh), as the operator's forecaster
    serves them now: made off chain, checked by no one else."""
    return served_forecasts(settings.forecaster_url)


SummaryPeriod = Annotated[Literal["day", "week", "month"], Query(description="the day, ISO week or calendar month holding `date`")]
SummaryDate = Annotated[date | None, Query(alias="date", description="YYYY-MM-DD in the deployment's zone; default the indexed head's day")]
Tariff = Annotated[
    int | None,
    Query(
        alias="tariffPerKWh", ge=1, le=INT64_MAX, description="the grid's tariff, base units per kWh; default GridManagement's base price"
    ),
]


def _summary(db: Session, client: GridClient, tokens: dict[str, TokenInfo], period: str, day: date | None, owner: str | None,
             tariff: int | None) -> schemas.SummaryOut:  # fmt: skip
    result, utc_offset_minutes = analytics.summarize(db, client, period, day, owner, tariff)
    _, symbol, decimals = tokens["PaymentToken"]
    return analytics.summary_out(result, utc_offset_minutes, symbol, decimals)


@router.get(
    "/analytics/summary", tags=["analytics"], summary="The community's day, week or month: savings, self-sufficiency, export, peaks, CO2"
)
def analytics_summary(
    db: Db, client: Client, tokens: Tokens, period: SummaryPeriod = "month", day: SummaryDate = None, tariff: Tariff = None
) -> schemas.SummaryOut:
    """The whole community's figures, and each household's savings (docs/api.md: what each rests on)."""
    return _summary(db, client, tokens, period, day, None, tariff)


@router.get(
    "/analytics/households/{address}/summary",
    tags=["analytics"],
    summary="A household's day, week or month: its savings, self-sufficiency, export, its transformers' peaks, CO2",
)
def analytics_household_summary(
    owner: PathAddress, db: Db, client: Client, tokens: Tokens, period: SummaryPeriod = "month", day: SummaryDate = None,
    tariff: Tariff = None,
) -> schemas.SummaryOut:  # fmt: skip
    """The figures of the meters `address` owns and of its trading."""
    return _summary(db, client, tokens, period, day, owner, tariff)


# ---------------------------------------------------------------- the index itself


@router.get("/index/status", tags=["index"], summary="How far the index has followed the chain")
def index_status(index: Index, follower: IndexFollower, client: Client) -> schemas.IndexStatusOut:
    return index_progress(index, follower, client)


@router.get("/health", tags=["index"], summary="Whether the service answers from an index in step with the chain")
def health(index: Index, follower: IndexFollower, client: Client) -> schemas.HealthOut:
    """`ok` once the index has caught up with the chain; until then `indexing`, and every read
    answers from the blocks indexed so far."""
    status = index_progress(index, follower, client)
    return schemas.HealthOut(status="ok" if status.caughtUp else "indexing", message=status.message, index=status)

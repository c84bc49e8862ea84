"""The read routes: answered from the event index (energy_grid.index.queries), never from the chain,
except the node's head in /index/status."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Path, Query, Request
from sqlalchemy.orm import Session
from web3 import Web3

from energy_grid.api.problems import ApiProblem
from energy_grid.index import EventIndex, queries
from energy_grid.index.queries import PageRequest

log = logging.getLogger(__name__)

router = APIRouter()

MAX_PAGE = 500
DEFAULT_PAGE = 50
DEFAULT_SERIES = 500
MAX_BUCKETS = 2_000
MAX_BUCKET_SECONDS = 366 * 86_400
CAUGHT_UP_LAG_BLOCKS = 2  # the follower polls: a block or two behind a live chain is in step
HTTP_BAD_REQUEST, HTTP_NOT_FOUND, HTTP_UNPROCESSABLE = 400, 404, 422

# The index keeps ids, times and periods in 64-bit columns: a larger number is refused (422) before
# it reaches the database, whose driver would fail on it.
INT64_MAX = 2**63 - 1
FromS = Annotated[int | None, Query(alias="from", ge=0, le=INT64_MAX, description="unix s, inclusive")]
ToS = Annotated[int | None, Query(alias="to", ge=0, le=INT64_MAX, description="unix s, inclusive")]
Offset = Annotated[int, Query(ge=0, le=INT64_MAX)]
RegionId = Annotated[int | None, Query(alias="regionId", ge=0, le=2**32 - 1)]
OrderIdPath = Annotated[int, Path(ge=0, le=INT64_MAX, description="The order's id on EnergyTrading")]
Period = Annotated[int | None, Query(ge=0, le=INT64_MAX)]


def _session(request: Request) -> Iterator[Session]:
    index: EventIndex = request.app.state.index
    with index.session() as session:
        yield session


Db = Annotated[Session, Depends(_session)]


def _limit(limit: int) -> int:
    if limit > MAX_PAGE:
        raise ApiProblem(HTTP_BAD_REQUEST, "PageTooLarge", f"limit may be at most {MAX_PAGE}.", {"limit": limit, "max": MAX_PAGE})
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
        raise ApiProblem(HTTP_UNPROCESSABLE, "InvalidAddress", f"{name} is not an address: {value!r}.", {name: value})
    return Web3.to_checksum_address(value)


def _window(from_s: int | None, to_s: int | None) -> None:
    if from_s is not None and to_s is not None and from_s > to_s:
        raise ApiProblem(HTTP_BAD_REQUEST, "InvalidRange", "from is after to.", {"from": from_s, "to": to_s})


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
def get_order(order_id: OrderIdPath, db: Db) -> dict[str, Any]:
    found = queries.order(db, order_id)
    if found is None:
        raise ApiProblem(HTTP_NOT_FOUND, "OrderUnknown", f"No order {order_id} on the market (or not indexed yet).", {"orderId": order_id})
    return found


@router.get("/orders", tags=["trading"], summary="Orders, newest first")
def list_orders(
    db: Db,
    paging: Page,
    trader: str | None = None,
    status: Literal["ACTIVE", "FILLED", "CANCELLED"] | None = None,
    side: Literal["BUY", "SELL"] | None = None,
) -> dict[str, Any]:
    return queries.orders(db, paging, _address(trader, "trader"), status, side)


@router.get("/orderbook", tags=["trading"], summary="Open orders' remaining Wh per price level")
def order_book(db: Db, depth: SeriesLimit) -> dict[str, Any]:
    return queries.order_book(db, depth)


@router.get("/trades", tags=["trading"], summary="Trades (matches and takes), newest first")
def list_trades(db: Db, paging: Page, trader: str | None = None, from_s: FromS = None, to_s: ToS = None) -> dict[str, Any]:
    _window(from_s, to_s)
    return queries.trades(db, paging, _address(trader, "trader"), from_s, to_s)


@router.get(
    "/accounts/{address}/fills", tags=["trading"], summary="An account's fills: book, auction and standing orders, newest first"
)
def account_fills(address: str, db: Db, limit: Annotated[int, Query(ge=1)] = DEFAULT_PAGE) -> dict[str, Any]:
    account = _address(address, "address")
    assert account is not None
    return queries.account_fills(db, account, _limit(limit))


# ---------------------------------------------------------------- grid


@router.get("/grid/status", tags=["grid"], summary="The grid's latest status, emergency state and load per region")
def grid_status(db: Db) -> dict[str, Any]:
    return queries.grid_status(db)


def _grid_series(
    db: Session, quantity: str, limit: int, region_id: int | None, from_s: int | None, to_s: int | None
) -> dict[str, Any]:
    """The whole grid's or a region's demand or supply over the window, oldest first."""
    _window(from_s, to_s)
    return queries.grid_series(db, quantity, region_id, from_s, to_s, limit)


@router.get("/grid/demand", tags=["grid"], summary="Demand over time (W), the whole grid's or a region's")
def grid_demand(
    db: Db, limit: SeriesLimit, region_id: RegionId = None, from_s: FromS = None, to_s: ToS = None
) -> dict[str, Any]:
    return _grid_series(db, "demand", limit, region_id, from_s, to_s)


@router.get("/grid/supply", tags=["grid"], summary="Supply over time (W), the whole grid's or a region's")
def grid_supply(
    db: Db, limit: SeriesLimit, region_id: RegionId = None, from_s: FromS = None, to_s: ToS = None
) -> dict[str, Any]:
    return _grid_series(db, "supply", limit, region_id, from_s, to_s)


@router.get("/grid/loads", tags=["grid"], summary="Load reports over time (kW), a region's or every region's")
def grid_loads(
    db: Db, limit: SeriesLimit, region_id: RegionId = None, from_s: FromS = None, to_s: ToS = None
) -> dict[str, Any]:
    """GridOperations' load reports in the window, oldest first: the newest `limit` of them."""
    _window(from_s, to_s)
    return queries.grid_loads(db, region_id, from_s, to_s, limit)


# ---------------------------------------------------------------- meters


@router.get("/meters", tags=["meters"], summary="Registered meters")
def list_meters(db: Db, paging: Page, owner: str | None = None) -> dict[str, Any]:
    return queries.meters(db, paging, _address(owner, "owner"))


def _known_meter(db: Session, address: str) -> str:
    meter = _address(address, "meter")
    assert meter is not None
    if not queries.meter_known(db, meter):
        raise ApiProblem(HTTP_NOT_FOUND, "MeterUnknown", f"No meter {meter} is registered (or indexed yet).", {"meter": meter})
    return meter


@router.get("/meters/{address}/history", tags=["meters"], summary="A meter's accepted readings (interval energy), newest first")
def meter_history(address: str, db: Db, paging: Page, from_s: FromS = None, to_s: ToS = None) -> dict[str, Any]:
    _window(from_s, to_s)
    return queries.meter_history(db, _known_meter(db, address), paging, from_s, to_s)


def _meter_energy(db: Session, address: str, quantity: str, from_s: int | None, to_s: int | None) -> dict[str, Any]:
    meter = _known_meter(db, address)
    start, end = _window_or_today(db, from_s, to_s)
    return queries.meter_energy(db, meter, quantity, start, end)


@router.get("/meters/{address}/production", tags=["meters"], summary="A meter's production (Wh), default today (UTC)")
def meter_production(address: str, db: Db, from_s: FromS = None, to_s: ToS = None) -> dict[str, Any]:
    return _meter_energy(db, address, "production", from_s, to_s)


@router.get("/meters/{address}/consumption", tags=["meters"], summary="A meter's consumption (Wh), default today (UTC)")
def meter_consumption(address: str, db: Db, from_s: FromS = None, to_s: ToS = None) -> dict[str, Any]:
    return _meter_energy(db, address, "consumption", from_s, to_s)


@router.get(
    "/meters/{address}/standing-fills", tags=["meters"], summary="A meter's standing orders settled per interval, the latest first"
)
def meter_standing_fills(address: str, db: Db, paging: Page) -> dict[str, Any]:
    return queries.standing_fills(db, _known_meter(db, address), paging)


# ---------------------------------------------------------------- auction and demand response


@router.get("/auction/clearings", tags=["auction"], summary="The quarter-hourly auction's clearings, newest first")
def auction_clearings(db: Db, paging: Page, from_s: FromS = None, to_s: ToS = None) -> dict[str, Any]:
    _window(from_s, to_s)
    return queries.clearings(db, paging, from_s, to_s)


@router.get("/auction/orders", tags=["auction"], summary="Auction bids and asks with their outcome, newest first")
def auction_orders(db: Db, paging: Page, trader: str | None = None, period: Period = None) -> dict[str, Any]:
    return queries.auction_orders(db, paging, _address(trader, "trader"), period)


@router.get("/demand-response/events", tags=["demand response"], summary="Demand-response events, newest first")
def demand_response_events(db: Db, paging: Page) -> dict[str, Any]:
    return queries.demand_events(db, paging)


# ---------------------------------------------------------------- analytics


@router.get("/analytics/prices", tags=["analytics"], summary="Trade and auction prices over time, oldest first")
def analytics_prices(db: Db, limit: SeriesLimit, from_s: FromS = None, to_s: ToS = None) -> dict[str, Any]:
    _window(from_s, to_s)
    return queries.prices(db, from_s, to_s, limit)


@router.get("/analytics/energy", tags=["analytics"], summary="Production, consumption and traded energy per time bucket")
def analytics_energy(
    db: Db,
    from_s: FromS = None,
    to_s: ToS = None,
    bucket_seconds: Annotated[int, Query(alias="bucketSeconds", ge=1, le=MAX_BUCKET_SECONDS)] = 900,
) -> dict[str, Any]:
    start, end = _window_or_today(db, from_s, to_s)
    buckets = (end - start) // bucket_seconds + 1
    if buckets > MAX_BUCKETS:
        raise ApiProblem(
            HTTP_BAD_REQUEST,
            "RangeTooLarge",
            f"{buckets} buckets of {bucket_seconds} s: at most {MAX_BUCKETS}; narrow the range or widen the buckets.",
            {"buckets": buckets, "max": MAX_BUCKETS},
        )
    return queries.energy(db, start, end, bucket_seconds)


# ---------------------------------------------------------------- the index itself


@router.get("/index/status", tags=["index"], summary="How far the index has followed the chain")
def index_status(request: Request) -> dict[str, Any]:
    index: EventIndex = request.app.state.index
    follower = request.app.state.follower
    client = request.app.state.client
    try:
        head: int | None = int(client.w3.eth.block_number)
    except Exception as err:  # the node may be down: answer from what the follower saw last
        log.warning("index status: the node did not answer: %s", err)
        head = follower.head_block
    indexed = index.indexed_block()
    lag = None if head is None else head - (-1 if indexed is None else indexed)
    caught_up = lag is not None and lag <= CAUGHT_UP_LAG_BLOCKS
    # From the deployment's first block: what is left of the catch-up, for a progress bar.
    start = follower.start_block
    done = 0 if indexed is None else indexed - start + 1
    total = None if head is None else max(head - start + 1, 1)
    if head is None:
        message = "the node does not answer"
    elif caught_up:
        message = "in step with the chain"
    else:
        message = f"indexing: block {start if indexed is None else indexed} of {head}"
    return {
        "chainId": client.chain_id,
        "headBlock": head,
        "indexedBlock": indexed,
        "lagBlocks": lag,
        "caughtUp": caught_up,
        "progress": 1.0 if caught_up or total is None else min(max(done / total, 0.0), 1.0),
        "message": message,
    }


@router.get("/health", tags=["index"], summary="Whether the service answers from an index in step with the chain")
def health(request: Request) -> dict[str, Any]:
    """`ok` once the index has caught up with the chain; until then `indexing`, and every read
    answers from the blocks indexed so far."""
    index = index_status(request)
    return {"status": "ok" if index["caughtUp"] else "indexing", "message": index["message"], "index": index}

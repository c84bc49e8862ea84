"""The order book's routes: orders, the book's levels and trades from the index; an account's fills."""

from __future__ import annotations

from enum import Enum
from http import HTTPStatus
from typing import Annotated, Literal

from fastapi import APIRouter, Path, Query

from energy_grid.api import schemas
from energy_grid.api.deps import Client, Db, RelaySponsor
from energy_grid.api.problems import ApiProblem
from energy_grid.api.routes.params import (
    DEFAULT_PAGE,
    FromS,
    OrderIdPath,
    Page,
    SeriesLimit,
    ToS,
    address_of,
    check_window,
    limit_of,
)
from energy_grid.api.services import trading as trading_service
from energy_grid.api.write_models import CancelDraft, OrderDraft, RelayCancel, RelayOrder
from energy_grid.index import answers, queries

# The docs' group of the routes that relay what a wallet signed for the book and its meters.
RELAY_TAGS: list[str | Enum] = ["trading and metering"]
OrderId = Annotated[int, Path(ge=0, le=2**256 - 1, description="The order's id on EnergyTrading")]

router = APIRouter()


@router.get("/orders/{order_id}", tags=["trading"], summary="One order: its fill and status")
def get_order(order_id: OrderIdPath, db: Db) -> answers.OrderOut:
    found = queries.order(db, order_id)
    if found is None:
        message = f"No order {order_id} on the market (or not indexed yet)."
        raise ApiProblem(HTTPStatus.NOT_FOUND, "OrderUnknown", message, {"orderId": order_id})
    return found


@router.get("/orders", tags=["trading"], summary="Orders, newest first")
def list_orders(
    db: Db,
    paging: Page,
    trader: str | None = None,
    status: Literal["ACTIVE", "FILLED", "CANCELLED"] | None = None,
    side: Literal["BUY", "SELL"] | None = None,
) -> answers.Page[answers.OrderOut]:
    return queries.orders(db, paging, address_of(trader, "trader"), status, side)


@router.get("/orderbook", tags=["trading"], summary="Open orders' remaining Wh per price level")
def order_book(db: Db, depth: SeriesLimit) -> answers.OrderBookOut:
    return queries.order_book(db, depth)


@router.get("/trades", tags=["trading"], summary="Trades (matches and takes), newest first")
def list_trades(db: Db, paging: Page, trader: str | None = None, from_s: FromS = None, to_s: ToS = None) -> answers.Page[answers.TradeOut]:
    check_window(from_s, to_s)
    return queries.trades(db, paging, address_of(trader, "trader"), from_s, to_s)


@router.get(
    "/accounts/{address}/fills", tags=["trading"], summary="An account's fills: book, auction and standing orders, newest first"
)
def account_fills(address: str, db: Db, limit: Annotated[int, Query(ge=1)] = DEFAULT_PAGE) -> answers.AccountFillsOut:
    account = address_of(address, "address")
    assert account is not None
    return queries.account_fills(db, account, limit_of(limit))


# ---------------------------------------------------------------- relaying what a trader signed


@router.post("/orders/typed-data", tags=RELAY_TAGS, summary="The EIP-712 order for the trader's wallet to sign (and a permit if needed)")
def order_typed_data_route(draft: OrderDraft, client: Client) -> schemas.OrderTypedDataOut:
    return trading_service.order_typed_data(client, draft)


@router.post(
    "/orders", tags=RELAY_TAGS, status_code=HTTPStatus.CREATED, summary="Relays an order the trader signed: it is the trader's on chain"
)
async def relay_order(body: RelayOrder, client: Client, sponsor: RelaySponsor) -> schemas.RelayedOrderOut:
    return await trading_service.relay_order(client, sponsor, body)


@router.post("/orders/{order_id}/cancel/typed-data", tags=RELAY_TAGS, summary="The EIP-712 cancellation for the order's trader to sign")
def cancel_typed_data_route(order_id: OrderId, client: Client, draft: CancelDraft | None = None) -> schemas.CancelTypedDataOut:
    return trading_service.cancel_typed_data(client, order_id, draft)


@router.post("/orders/{order_id}/cancel", tags=RELAY_TAGS, summary="Relays a cancellation the order's trader signed")
async def relay_cancel(order_id: OrderId, body: RelayCancel, client: Client, sponsor: RelaySponsor) -> schemas.RelayedCancelOut:
    return await trading_service.relay_cancel(client, sponsor, order_id, body)

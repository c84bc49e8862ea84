"""The interval auction's routes: clearings, zones, link limits and orders, from the index."""

from __future__ import annotations

from http import HTTPStatus
from typing import Annotated

from fastapi import APIRouter, Path, Query

from energy_grid.api.auction_models import (
    AuctionOrderDraft,
    AuctionOrderTypedDataOut,
    ClaimedAuctionOrderOut,
    RelayAuctionOrder,
    RelayedAuctionOrderOut,
)
from energy_grid.api.deps import Client, Db, RelaySponsor, Settings, Tokens
from energy_grid.api.routes.params import (
    FromS,
    Page,
    Period,
    RegionId,
    ToS,
    Traded,
    address_of,
    check_window,
)
from energy_grid.api.services import auction as auction_service
from energy_grid.index import answers, queries

AuctionOrderId = Annotated[int, Path(alias="orderId", ge=0, le=2**256 - 1, description="The order's id on EnergyAuction")]

router = APIRouter()


@router.get("/auction/clearings", tags=["auction"], summary="The quarter-hourly auction's clearings, newest first")
def auction_clearings(
    db: Db, paging: Page, from_s: FromS = None, to_s: ToS = None, traded: Traded = False
) -> answers.Page[answers.ClearingOut]:
    check_window(from_s, to_s)
    return queries.clearings(db, paging, from_s, to_s, traded)


@router.get("/auction/zones", tags=["auction"], summary="Each zone's price and net export in markets cleared across zones, newest first")
def auction_zones(
    db: Db, paging: Page, period: Period = None, zone: Annotated[int | None, Query(ge=0, le=255)] = None
) -> answers.Page[answers.ZoneClearingOut]:
    return queries.zone_clearings(db, paging, period, zone)


@router.get(
    "/auction/zone-markets",
    tags=["auction"],
    summary="Markets cleared across zones, latest first: bus price, congestion rent, each zone's price, flow and link limits",
)
def auction_zone_markets(
    db: Db, paging: Page, period: Period = None, region_id: RegionId = None
) -> answers.Page[answers.ZoneMarketOut]:
    """Each market's zones with the link limits in force for its period (kW and the Wh they carry)
    and which way a full link was; `regionId`: only that region's zone in each market."""
    return queries.zone_markets(db, paging, period, region_id)


@router.get("/auction/link-limits", tags=["auction"], summary="The grid operators' link limits for coming periods, newest first")
def auction_link_limits(db: Db, paging: Page, region_id: RegionId = None) -> answers.Page[answers.LinkLimitsOut]:
    return queries.link_limits(db, paging, region_id)


@router.get("/auction/orders", tags=["auction"], summary="Auction bids and asks with their outcome, newest first")
def auction_orders(db: Db, paging: Page, trader: str | None = None, period: Period = None) -> answers.Page[answers.AuctionOrderOut]:
    return queries.auction_orders(db, paging, address_of(trader, "trader"), period)


# ---------------------------------------------------------------- relaying what a trader signed


@router.post("/auction/orders/typed-data", tags=["auction"], summary="The EIP-712 auction order for the trader's wallet to sign")
def auction_order_typed_data(draft: AuctionOrderDraft, client: Client, tokens: Tokens, settings: Settings) -> AuctionOrderTypedDataOut:
    return auction_service.auction_order_typed_data_out(client, tokens, draft, settings.relay_limits.min_auction_order_wh)


@router.post(
    "/auction/orders",
    tags=["auction"],
    status_code=HTTPStatus.CREATED,
    summary="Relays an auction order the trader signed: it is the trader's on chain",
)
async def relay_auction_order(
    body: RelayAuctionOrder, client: Client, tokens: Tokens, sponsor: RelaySponsor, settings: Settings
) -> RelayedAuctionOrderOut:
    return await auction_service.relay_auction_order(client, tokens, sponsor, body, settings.relay_limits.min_auction_order_wh)


@router.post("/auction/orders/{orderId}/claim", tags=["auction"], summary="Claims an auction order for its trader (anyone may ask)")
async def relay_auction_claim(order_id: AuctionOrderId, client: Client, sponsor: RelaySponsor) -> ClaimedAuctionOrderOut:
    return await auction_service.relay_auction_claim(client, sponsor, order_id)

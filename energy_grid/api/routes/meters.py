"""The meters' routes: registered meters, their readings and energy, and their settled standing orders, from the index."""

from __future__ import annotations

from enum import Enum
from http import HTTPStatus

from fastapi import APIRouter
from sqlalchemy.orm import Session

from energy_grid.api import schemas
from energy_grid.api.deps import Client, Db, PathAddress, RelaySponsor, Tokens
from energy_grid.api.problems import ApiProblem
from energy_grid.api.routes.params import (
    FromS,
    Page,
    ToS,
    TradedIntervals,
    address_of,
    check_window,
    window_or_today,
)
from energy_grid.api.services import trading as trading_service
from energy_grid.api.services import vault as vault_service
from energy_grid.api.write_models import RelayReading, RelayStandingOrder, StandingOrderDraft
from energy_grid.index import answers, queries

RELAY_TAGS: list[str | Enum] = ["trading and metering"]
STANDING_TAGS: list[str | Enum] = ["vault and standing orders"]

router = APIRouter()


@router.get("/meters", tags=["meters"], summary="Registered meters")
def list_meters(db: Db, paging: Page, owner: str | None = None) -> answers.Page[answers.MeterOut]:
    return queries.meters(db, paging, address_of(owner, "owner"))


def _known_meter(db: Session, address: str) -> str:
    meter = address_of(address, "meter")
    assert meter is not None
    if not queries.meter_known(db, meter):
        raise ApiProblem(HTTPStatus.NOT_FOUND, "MeterUnknown", f"No meter {meter} is registered (or indexed yet).", {"meter": meter})
    return meter


@router.get("/meters/{address}/history", tags=["meters"], summary="A meter's accepted readings (interval energy), newest first")
def meter_history(address: str, db: Db, paging: Page, from_s: FromS = None, to_s: ToS = None) -> answers.Page[answers.ReadingOut]:
    check_window(from_s, to_s)
    return queries.meter_history(db, _known_meter(db, address), paging, from_s, to_s)


@router.get("/meters/{address}/production", tags=["meters"], summary="A meter's production (Wh), default today (UTC)")
def meter_production(address: str, db: Db, from_s: FromS = None, to_s: ToS = None) -> answers.MeterProductionOut:
    meter = _known_meter(db, address)
    return queries.meter_production(db, meter, *window_or_today(db, from_s, to_s))


@router.get("/meters/{address}/consumption", tags=["meters"], summary="A meter's consumption (Wh), default today (UTC)")
def meter_consumption(address: str, db: Db, from_s: FromS = None, to_s: ToS = None) -> answers.MeterConsumptionOut:
    meter = _known_meter(db, address)
    return queries.meter_consumption(db, meter, *window_or_today(db, from_s, to_s))


@router.get(
    "/meters/{address}/standing-fills", tags=["meters"], summary="A meter's standing orders settled per interval, the latest first"
)
def meter_standing_fills(
    address: str, db: Db, paging: Page, traded: TradedIntervals = False
) -> answers.Page[answers.StandingFillOut]:
    return queries.standing_fills(db, _known_meter(db, address), paging, traded)


# ---------------------------------------------------------------- relaying what a meter or its owner signed


@router.post("/meters/reading", tags=RELAY_TAGS, status_code=HTTPStatus.CREATED, summary="Relays a reading the meter signed (EIP-712)")
async def relay_reading(body: RelayReading, client: Client, sponsor: RelaySponsor) -> schemas.RelayedReadingOut:
    return await trading_service.relay_reading(client, sponsor, body)


@router.get(
    "/meters/{address}/standing-order", tags=STANDING_TAGS, summary="A meter's standing limits in the reading market, live from the chain"
)
def standing_order(meter: PathAddress, client: Client) -> schemas.StandingOrderOut:
    return vault_service.standing_order(client, meter)


@router.post(
    "/meters/{address}/standing-order/typed-data",
    tags=STANDING_TAGS,
    summary="The meter owner's standing limits to sign (both prices 0 clear them)",
)
def standing_order_typed_data_route(
    meter: PathAddress, draft: StandingOrderDraft, client: Client, tokens: Tokens
) -> schemas.StandingOrderTypedDataOut:
    return vault_service.standing_order_typed_data(client, tokens, meter, draft)


@router.post("/meters/{address}/standing-order", tags=STANDING_TAGS, summary="Relays the standing limits the meter's owner signed")
async def relay_standing_order(
    meter: PathAddress, body: RelayStandingOrder, client: Client, sponsor: RelaySponsor
) -> schemas.RelayedStandingOrderOut:
    return await vault_service.relay_standing_order(client, sponsor, meter, body)

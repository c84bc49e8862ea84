"""The write and live routes: relay what a wallet or a meter signed, and what a wallet needs first.

    POST /orders/typed-data        the EIP-712 order to sign (with the trader's approval of the book in the
                                   EnergyVault when it is missing, and a permit of the vault when the vault
                                   balance falls short and the vault's allowance cannot make it up)
    POST /orders                   relays the signed approval (if any), then the signed order: it is the
                                   signer's on chain, escrowed from its vault balance; the relayer pays gas
    POST /orders/{id}/cancel/...   the same for a cancellation
    POST /meters/reading           relays a meter-signed reading
    GET  /accounts/{address}, /config   live from the chain

The service holds no user's key. Every write is checked with eth_call first (a revert answers a 4xx
naming the contract's custom error, and nothing is sent), then charged to the relay quotas of the
account it is for and of the request's client (`sponsor`: 429 over either) and sent by the relayer,
one at a time, and answered once its receipt is in. The operator routes are in
`operator_routes`, a router of their own; what each route does is in `services.trading`.
"""

from __future__ import annotations

from http import HTTPStatus
from typing import Annotated

from fastapi import APIRouter, Path

from energy_grid.api import schemas
from energy_grid.api.deps import BatchReader, Client, PathAddress, RelaySponsor, Settings, Tokens
from energy_grid.api.services import trading as service
from energy_grid.api.write_models import CancelDraft, OrderDraft, RelayCancel, RelayOrder, RelayReading

OrderId = Annotated[int, Path(ge=0, le=2**256 - 1, description="The order's id on EnergyTrading")]

router = APIRouter(tags=["trading and metering"])


# ---------------------------------------------------------------------------------- live reads


@router.get("/config", summary="What a web app needs first: the chain, the contracts, the tokens' units")
def config(client: Client, tokens: Tokens, settings: Settings) -> schemas.ConfigOut:
    return service.config(client, tokens, settings)


@router.get("/accounts/{address}", summary="An account's balances and market nonce, live from the chain")
def account(holder: PathAddress, client: Client, reader: BatchReader, tokens: Tokens) -> schemas.AccountOut:
    return service.account(client, reader, tokens, holder)


# ---------------------------------------------------------------------------------- orders


@router.post("/orders/typed-data", summary="The EIP-712 order for the trader's wallet to sign (and a permit if needed)")
def order_typed_data_route(draft: OrderDraft, client: Client) -> schemas.OrderTypedDataOut:
    return service.order_typed_data(client, draft)


@router.post("/orders", status_code=HTTPStatus.CREATED, summary="Relays an order the trader signed: it is the trader's on chain")
async def relay_order(body: RelayOrder, client: Client, sponsor: RelaySponsor) -> schemas.RelayedOrderOut:
    return await service.relay_order(client, sponsor, body)


@router.post("/orders/{order_id}/cancel/typed-data", summary="The EIP-712 cancellation for the order's trader to sign")
def cancel_typed_data_route(order_id: OrderId, client: Client, draft: CancelDraft | None = None) -> schemas.CancelTypedDataOut:
    return service.cancel_typed_data(client, order_id, draft)


@router.post("/orders/{order_id}/cancel", summary="Relays a cancellation the order's trader signed")
async def relay_cancel(order_id: OrderId, body: RelayCancel, client: Client, sponsor: RelaySponsor) -> schemas.RelayedCancelOut:
    return await service.relay_cancel(client, sponsor, order_id, body)


# ---------------------------------------------------------------------------------- meters


@router.post("/meters/reading", status_code=HTTPStatus.CREATED, summary="Relays a reading the meter signed (EIP-712)")
async def relay_reading(body: RelayReading, client: Client, sponsor: RelaySponsor) -> schemas.RelayedReadingOut:
    return await service.relay_reading(client, sponsor, body)


__all__ = ["router"]

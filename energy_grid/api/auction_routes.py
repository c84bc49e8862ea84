"""The auction routes: firm bids and asks from a household's wallet in the quarter-hourly auction
(EnergyAuction), signed in the wallet and relayed by the service, and claims relayed for anyone.

    POST /auction/orders/typed-data        the EIP-712 AuctionOrder to sign (with the trader's approval of
                                           the auction in the EnergyVault when it is missing), checked
                                           against the chain first
    POST /auction/orders                   relays the signed approval (if any), then the signed order: it is
                                           the signer's on chain, escrowed from its vault balance
    POST /auction/orders/{orderId}/claim   claims the order for its trader (no signature: the payout goes
                                           to the trader whoever asks); clears its market first when its
                                           clearing time has passed and nobody cleared it

Refusals are 4xx naming the contract's custom error (GateClosed, PeriodTooFarAhead, PriceNotOnGrid,
AmountOutOfRange, InvalidSigner, InvalidNonce, SignatureExpired, MarketNotCleared, …) or the API's own
(InsufficientVaultBalance, OrderBelowRelayMinimum, RelayQuotaExceeded 429: the relayer pays within the
limits of `sponsor`), with nothing sent; what each route does is in `services.auction`.
"""

from __future__ import annotations

from http import HTTPStatus
from typing import Annotated

from fastapi import APIRouter, Path

from energy_grid.api.auction_models import (
    AuctionOrderDraft,
    AuctionOrderTypedDataOut,
    ClaimedAuctionOrderOut,
    RelayAuctionOrder,
    RelayedAuctionOrderOut,
)
from energy_grid.api.deps import Client, RelaySponsor, Settings, Tokens
from energy_grid.api.services import auction as service

AuctionOrderId = Annotated[int, Path(alias="orderId", ge=0, le=2**256 - 1, description="The order's id on EnergyAuction")]

router = APIRouter(tags=["auction"])


@router.post("/auction/orders/typed-data", summary="The EIP-712 auction order for the trader's wallet to sign")
def auction_order_typed_data(draft: AuctionOrderDraft, client: Client, tokens: Tokens, settings: Settings) -> AuctionOrderTypedDataOut:
    return service.auction_order_typed_data_out(client, tokens, draft, settings.relay_limits.min_auction_order_wh)


@router.post(
    "/auction/orders", status_code=HTTPStatus.CREATED, summary="Relays an auction order the trader signed: it is the trader's on chain"
)
async def relay_auction_order(
    body: RelayAuctionOrder, client: Client, tokens: Tokens, sponsor: RelaySponsor, settings: Settings
) -> RelayedAuctionOrderOut:
    return await service.relay_auction_order(client, tokens, sponsor, body, settings.relay_limits.min_auction_order_wh)


@router.post("/auction/orders/{orderId}/claim", summary="Claims an auction order for its trader (anyone may ask)")
async def relay_auction_claim(order_id: AuctionOrderId, client: Client, sponsor: RelaySponsor) -> ClaimedAuctionOrderOut:
    return await service.relay_auction_claim(client, sponsor, order_id)


__all__ = ["router"]

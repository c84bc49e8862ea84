"""What a web app reads first, live from the chain: the deployment's configuration and an account's
balances and market nonce."""

from __future__ import annotations

from fastapi import APIRouter

from energy_grid.api import schemas
from energy_grid.api.deps import BatchReader, Client, PathAddress, Settings, Tokens
from energy_grid.api.services import trading as service

router = APIRouter(tags=["trading and metering"])


@router.get("/config", summary="What a web app needs first: the chain, the contracts, the tokens' units")
def config(client: Client, tokens: Tokens, settings: Settings) -> schemas.ConfigOut:
    return service.config(client, tokens, settings)


@router.get("/accounts/{address}", summary="An account's balances and market nonce, live from the chain")
def account(holder: PathAddress, client: Client, reader: BatchReader, tokens: Tokens) -> schemas.AccountOut:
    return service.account(client, reader, tokens, holder)

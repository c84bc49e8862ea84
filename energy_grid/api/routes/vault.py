"""The vault's routes: what a household signs in its wallet for the vault, relayed by the service, and
what it holds there, live from the chain. Its meters' standing limits are the meters' routes.

    GET  /vault/{address}                              free and locked vault balances (book, auction, standing orders)
    POST /vault/market-approval/typed-data             the EIP-712 market approval to sign
    POST /vault/market-approval                        relays it (EnergyVault.approveMarketBySig)
    POST /vault/deposit/typed-data                     the token's ERC-2612 permit of the vault to sign
    POST /vault/deposit                                relays it (EnergyVault.depositWithPermitFor)
    POST /vault/withdrawal/typed-data                  the EIP-712 withdrawal to sign
    POST /vault/withdrawal                             relays it (EnergyVault.withdrawBySig)

A deposit is signed as the token's permit of the vault for the amount and a withdrawal as the
vault's `Withdrawal` message; both move tokens only between the account's wallet, its vault balance
and the recipient it signed. The settled standing orders of a meter are an index read
(`GET /meters/{address}/standing-fills`).
"""

from __future__ import annotations

from fastapi import APIRouter

from energy_grid.api import schemas
from energy_grid.api.deps import BatchReader, Client, Db, PathAddress, RelaySponsor, Tokens
from energy_grid.api.services import vault as service
from energy_grid.api.write_models import (
    MarketApprovalDraft,
    RelayMarketApproval,
    RelayVaultDeposit,
    RelayVaultWithdrawal,
    VaultDepositDraft,
    VaultWithdrawalDraft,
)

router = APIRouter(tags=["vault and standing orders"])


@router.get("/vault/{address}", summary="An account's vault balances: free, and locked in book, auction and standing orders")
def vault_balances(holder: PathAddress, client: Client, db: Db, reader: BatchReader, tokens: Tokens) -> schemas.VaultBalancesOut:
    return service.vault_balances(client, db, reader, tokens, holder)


@router.post("/vault/market-approval/typed-data", summary="The EIP-712 market approval for the account's wallet to sign")
def market_approval_typed_data_route(draft: MarketApprovalDraft, client: Client) -> schemas.MarketApprovalTypedDataOut:
    return service.market_approval_typed_data(client, draft)


@router.post("/vault/market-approval", summary="Relays a market approval the account signed")
async def relay_market_approval(body: RelayMarketApproval, client: Client, sponsor: RelaySponsor) -> schemas.RelayedMarketApprovalOut:
    return await service.relay_market_approval(client, sponsor, body)


@router.post("/vault/deposit/typed-data", summary="The token's ERC-2612 permit of the vault for the account's wallet to sign")
def deposit_typed_data_route(draft: VaultDepositDraft, client: Client, tokens: Tokens) -> schemas.DepositTypedDataOut:
    return service.deposit_typed_data(client, tokens, draft)


@router.post("/vault/deposit", summary="Relays a deposit: the account's signed permit, then its tokens into its vault balance")
async def relay_deposit(body: RelayVaultDeposit, client: Client, sponsor: RelaySponsor) -> schemas.RelayedDepositOut:
    return await service.relay_deposit(client, sponsor, body)


@router.post("/vault/withdrawal/typed-data", summary="The EIP-712 withdrawal for the account's wallet to sign")
def withdrawal_typed_data_route(draft: VaultWithdrawalDraft, client: Client) -> schemas.WithdrawalTypedDataOut:
    return service.withdrawal_typed_data(client, draft)


@router.post("/vault/withdrawal", summary="Relays a withdrawal the account signed")
async def relay_withdrawal(body: RelayVaultWithdrawal, client: Client, sponsor: RelaySponsor) -> schemas.RelayedWithdrawalOut:
    return await service.relay_withdrawal(client, sponsor, body)

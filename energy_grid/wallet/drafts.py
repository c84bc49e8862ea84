"""The drafts a wallet signs: each checked against the chain first, then filled in with the signer's
nonce and a deadline, as EIP-712 typed data (`eth_signTypedData_v4`).

    draft = draft_order(grid, trader, OrderType.SELL, 1_000, 220_000, expiry)
    draft.typed_data            # the order to sign
    draft.market_approval       # the trader's approval of the book in the vault, when it is missing
    draft.permit                # a permit of the vault for the escrow the vault balance falls short of

A draft the contract would refuse now is not offered: the refusal (a `GridError` naming the custom
error) is raised instead, so a wallet is never asked to sign what a relay would be refused.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from web3.contract.contract import ContractFunction

from energy_grid.chain.errors import ContractRevertError, GridError, NodeUnreachableError
from energy_grid.contracts.base import CONNECTION_ERRORS
from energy_grid.contracts.client import GridClient
from energy_grid.contracts.dry_run import dry_run
from energy_grid.contracts.tokens import ERC20
from energy_grid.domain.enums import OrderType
from energy_grid.domain.orders import escrow_amount
from energy_grid.domain.units import ZERO_ADDRESS
from energy_grid.signing.orders import SignedOrder, cancel_typed_data, order_typed_data, permit_typed_data
from energy_grid.signing.vault import (
    StandingLimits,
    market_approval_typed_data,
    standing_order_typed_data,
    withdrawal_typed_data,
)

# A wallet user reads and confirms before signing: an hour of chain time to submit.
DEFAULT_SIGNATURE_WINDOW_S = 3600
# The refusals of an escrow-taking call that only its missing approvals cause: the signed market
# approval and the permit of the vault, relayed with it, supply them.
ALLOWANCE_ERRORS = frozenset({"ERC20InsufficientAllowance", "MarketNotApproved"})


def refusal(client: GridClient, sender: str, call: ContractFunction) -> GridError | None:
    """What `call` from `sender` would revert with now (None: it would go through); nothing is sent."""
    try:
        return dry_run(client, sender, call)
    except CONNECTION_ERRORS as err:
        return NodeUnreachableError(client.transactor.rpc_url, str(err))


def _raise_refusal(client: GridClient, sender: str, trial: ContractFunction, *, approvals_supplied: bool = False) -> GridError | None:
    """Raises what `trial` from `sender` would revert with now. With `approvals_supplied`, a refusal
    only for a missing allowance or market approval, which the signatures drafted with it supply, is
    returned instead (None: no refusal at all)."""
    rejection = refusal(client, sender, trial)
    if rejection is None:
        return None
    if approvals_supplied and isinstance(rejection, ContractRevertError) and rejection.error_name in ALLOWANCE_ERRORS:
        return rejection
    raise rejection


def chain_time(client: GridClient) -> int:
    """The latest block's time: local chains run ahead of the wall clock."""
    return int(client.w3.eth.get_block("latest")["timestamp"])


def signature_deadline(client: GridClient, deadline: int | None) -> int:
    """The deadline asked for, by default an hour of chain time from now."""
    return deadline if deadline is not None else chain_time(client) + DEFAULT_SIGNATURE_WINDOW_S


# ---------------------------------------------------------------------------------- escrow


@dataclass(frozen=True)
class EscrowNeeds:
    """What an order's escrow needs before the book can take it from the trader's vault balance."""

    market_approved: bool  # the trader approved the book in the vault
    token_name: str  # EnergyToken for a SELL, PaymentToken for a BUY
    token: ERC20
    shortfall: int  # what the vault balance falls short of the escrow (<= 0: nothing)
    wallet: int  # what the wallet holds of the token, for the vault to pull the shortfall from

    def allowance_short(self, client: GridClient, owner: str) -> bool:
        """Whether the vault may not pull the shortfall from the wallet yet."""
        return self.shortfall > 0 and self.token.allowance(owner, client.vault.address) < self.shortfall


def escrow_needs(client: GridClient, trader: str, side: OrderType, amount_wh: int, price_per_kwh: int) -> EscrowNeeds:
    selling = side == OrderType.SELL
    token = client.energy_token if selling else client.payment_token
    held = client.vault.balances(trader)
    shortfall = escrow_amount(not selling, amount_wh, price_per_kwh) - (held.energy_wh if selling else held.payment)
    return EscrowNeeds(
        market_approved=client.vault.is_market_approved(trader, client.trading.address),
        token_name="EnergyToken" if selling else "PaymentToken",
        token=token,
        shortfall=shortfall,
        wallet=token.balance_of(trader),
    )


# ---------------------------------------------------------------------------------- orders


@dataclass(frozen=True)
class ApprovalDraft:
    deadline: int
    typed_data: dict[str, Any]


@dataclass(frozen=True)
class PermitDraft:
    value: int
    deadline: int
    typed_data: dict[str, Any]


@dataclass(frozen=True)
class OrderDraft:
    message: dict[str, Any]  # the EIP-712 Order message, as signed
    typed_data: dict[str, Any]
    permit: PermitDraft | None
    market_approval: ApprovalDraft | None


def draft_order(
    client: GridClient,
    trader: str,
    side: OrderType,
    amount_wh: int,
    price_per_kwh: int,
    expiry: int,
    counterparty: str | None = None,
    deadline: int | None = None,
) -> OrderDraft:
    """The order `trader` signs, with its approval of the book in the vault when that is missing and
    a permit of the vault when the vault balance falls short of the escrow and the vault's allowance
    cannot make it up."""
    market = client.trading
    counterparty = counterparty or ZERO_ADDRESS
    # The order as its trader would send it: refused now (balance, price, expiry, …) means refused
    # when relayed, unless only the approvals its signatures supply are missing.
    if counterparty == ZERO_ADDRESS:
        trial = market.calls.create_order(trader, amount_wh, price_per_kwh, expiry, int(side))
    else:
        trial = market.calls.create_directed_order(trader, amount_wh, price_per_kwh, expiry, int(side), counterparty)
    rejection = _raise_refusal(client, trader, trial, approvals_supplied=True)
    deadline = signature_deadline(client, deadline)
    order = SignedOrder(trader, amount_wh, price_per_kwh, expiry, side, market.nonce(trader), deadline, counterparty=counterparty)
    message = order.message()
    needs = escrow_needs(client, trader, side, amount_wh, price_per_kwh)
    approval = None
    if not needs.market_approved:
        typed = market_approval_typed_data(
            trader, market.address, client.vault.nonce(trader), deadline, client.vault.address, client.chain_id
        )
        approval = ApprovalDraft(deadline, typed)
    if rejection is not None and needs.shortfall > needs.wallet:
        # Refused for a missing approval, which the trader's signatures would supply: the vault's
        # pull would still fail, so say now what the relayed order would meet.
        raise ContractRevertError(
            needs.token_name,
            "createOrder",
            "ERC20InsufficientBalance",
            {"sender": trader, "balance": needs.wallet, "needed": needs.shortfall},
            "the escrow is more than the trader's EnergyVault balance and wallet hold together",
        )
    permit = None
    if needs.allowance_short(client, trader):
        token = needs.token
        typed = permit_typed_data(
            token.name(), token.address, client.chain_id, trader, client.vault.address, needs.shortfall, token.nonce(trader), deadline
        )
        permit = PermitDraft(needs.shortfall, deadline, typed)
    return OrderDraft(message, order_typed_data(message, market.address, client.chain_id), permit, approval)


@dataclass(frozen=True)
class SignedDraft:
    """A draft of one signed message: the nonce and deadline it carries, and its typed data."""

    nonce: int
    deadline: int
    typed_data: dict[str, Any]


def draft_cancel(client: GridClient, order_id: int, deadline: int | None = None) -> SignedDraft:
    """The cancellation the order's trader signs; refused (OrderUnknown, OrderNotActive) before the wallet is asked."""
    market = client.trading
    trader = market.get_order_info(order_id).trader
    _raise_refusal(client, trader, market.calls.cancel_order(trader, order_id))
    nonce = market.nonce(trader)
    deadline = signature_deadline(client, deadline)
    return SignedDraft(nonce, deadline, cancel_typed_data(order_id, nonce, deadline, market.address, client.chain_id))


# ---------------------------------------------------------------------------------- the vault


def draft_market_approval(client: GridClient, account: str, market: str, deadline: int | None = None) -> SignedDraft:
    """`account`'s approval of `market` in the vault; an unknown or closed market is refused first."""
    vault = client.vault
    _raise_refusal(client, account, vault.calls.approve_market(account, market, True))
    nonce = vault.nonce(account)
    deadline = signature_deadline(client, deadline)
    return SignedDraft(nonce, deadline, market_approval_typed_data(account, market, nonce, deadline, vault.address, client.chain_id))


def draft_deposit_permit(client: GridClient, account: str, token: str, amount: int, deadline: int | None = None) -> SignedDraft:
    """The token's permit of the vault for a deposit of `amount`: a token or amount the vault refuses
    is refused first; the allowance the permit sets is all the deposit may lack. (What the wallet
    holds is the caller's to check.)"""
    vault = client.vault
    _raise_refusal(client, account, vault.calls.deposit(account, token, amount), approvals_supplied=True)
    deadline = signature_deadline(client, deadline)
    typed = vault.deposit_permit_typed_data(account, token, amount, deadline)
    return SignedDraft(int(typed["message"]["nonce"]), deadline, typed)


def draft_withdrawal(client: GridClient, account: str, token: str, amount: int, to: str, deadline: int | None = None) -> SignedDraft:
    """`account`'s withdrawal of `amount` to `to`: more than its balance, a zero amount or recipient is refused first."""
    vault = client.vault
    _raise_refusal(client, account, vault.calls.withdraw(account, token, amount, to))
    nonce = vault.nonce(account)
    deadline = signature_deadline(client, deadline)
    return SignedDraft(nonce, deadline, withdrawal_typed_data(account, token, amount, to, nonce, deadline, vault.address, client.chain_id))


def draft_standing_order(client: GridClient, owner: str, limits: StandingLimits, deadline: int | None = None) -> SignedDraft:
    """The meter owner's standing limits (both prices 0 clear them): what the owner's own call would be
    refused for (no reading market, a limit out of range), the relayed signature would be too."""
    meter = client.smart_meter
    if limits.removes:
        trial = meter.calls.remove_standing_order(owner, limits.meter)
    else:
        trial = meter.calls.set_standing_order(
            owner,
            limits.meter,
            sell_price_per_kwh=limits.sell_price_per_kwh,
            sell_cap_wh=limits.sell_cap_wh,
            buy_price_per_kwh=limits.buy_price_per_kwh,
            buy_cap_wh=limits.buy_cap_wh,
        )
    _raise_refusal(client, owner, trial)
    nonce = meter.standing_order_nonce(owner)
    deadline = signature_deadline(client, deadline)
    return SignedDraft(nonce, deadline, standing_order_typed_data(limits, nonce, deadline, meter.address, client.chain_id))


__all__ = [
    "ALLOWANCE_ERRORS",
    "DEFAULT_SIGNATURE_WINDOW_S",
    "ApprovalDraft",
    "EscrowNeeds",
    "OrderDraft",
    "PermitDraft",
    "SignedDraft",
    "chain_time",
    "draft_cancel",
    "draft_deposit_permit",
    "draft_market_approval",
    "draft_order",
    "draft_standing_order",
    "draft_withdrawal",
    "escrow_needs",
    "refusal",
    "signature_deadline",
]

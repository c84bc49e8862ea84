"""Firm auction orders from a household's wallet: the EIP-712 order to sign (checked against the chain
first), its relay, and the relay of a claim, which needs no signature (any caller may claim an order,
and the payout always goes to the order's trader)."""

from __future__ import annotations

from http import HTTPStatus

from energy_grid.api.auction_models import (
    AuctionOrderDraft,
    AuctionOrderTypedDataOut,
    ClaimedAuctionOrderOut,
    RelayAuctionOrder,
    RelayedAuctionOrderOut,
)
from energy_grid.api.deps import TokenInfo
from energy_grid.api.problems import ApiProblem, answering
from energy_grid.api.relay import tx_hash_of
from energy_grid.api.services.vault import send_with_market_approval
from energy_grid.api.sponsor import ORDER_BELOW_MINIMUM, Sponsor
from energy_grid.api.write_models import split_signature
from energy_grid.chain.errors import ContractRevertError
from energy_grid.contracts.client import GridClient
from energy_grid.domain.auction_words import PriceGrid, escrow_shortfall_text, escrow_text, off_grid_text
from energy_grid.domain.orders import escrow_amount
from energy_grid.domain.units import format_kwh
from energy_grid.signing.auction import SignedAuctionOrder, auction_order_typed_data
from energy_grid.signing.orders import market_approval_typed_data
from energy_grid.wallet import drafts

# The refusals of a trial order that only a missing approval or a short balance causes: answered with
# the approval to sign, or with InsufficientVaultBalance, which says what is short.
ESCROW_ERRORS = frozenset({"MarketNotApproved", "ERC20InsufficientAllowance", "ERC20InsufficientBalance"})


def _period_of(client: GridClient, draft: AuctionOrderDraft, now: int) -> int:
    if draft.period is not None and draft.deliveryTime is not None:
        raise ApiProblem(HTTPStatus.UNPROCESSABLE_ENTITY, "InvalidRequest", "Give the period or the delivery time, not both.")
    if draft.period is not None:
        return draft.period
    if draft.deliveryTime is not None:
        return client.auction.period_at(draft.deliveryTime)
    return client.auction.next_open_period(now)


def _check_vault_balance(client: GridClient, tokens: dict[str, TokenInfo], trader: str, is_bid: bool, escrow: int) -> None:
    """Raises InsufficientVaultBalance when the trader's vault balance, with what the vault may pull from
    the wallet, falls short of the escrow (a relayed order has no permit to make it up): in the
    command line's words, kWh or the currency."""
    token_name = "PaymentToken" if is_bid else "EnergyToken"
    token = client.payment_token if is_bid else client.energy_token
    held = client.vault.balances(trader)
    balance = held.payment if is_bid else held.energy_wh
    shortfall = escrow - balance
    if shortfall <= 0:
        return
    pullable = min(token.balance_of(trader), token.allowance(trader, client.vault.address))
    if pullable >= shortfall:
        return
    _, symbol, decimals = tokens["PaymentToken"]
    from_wallet = f"; the vault may take only {escrow_text(is_bid, pullable, decimals, symbol)} more from your wallet" if pullable else ""
    raise ApiProblem(
        HTTPStatus.BAD_REQUEST,
        "InsufficientVaultBalance",
        f"{escrow_shortfall_text(is_bid, escrow, balance, decimals, symbol)}{from_wallet}.",
        {"trader": trader, "token": token_name, "escrow": escrow, "vaultBalance": balance, "pullableFromWallet": pullable},
    )


def _check_price(tokens: dict[str, TokenInfo], grid: PriceGrid, limit_price_per_kwh: int) -> None:
    """Raises PriceNotOnGrid, with the grid in the currency, for a limit the auction would refuse."""
    _, symbol, decimals = tokens["PaymentToken"]
    refusal = off_grid_text(limit_price_per_kwh, grid, decimals, symbol)
    if refusal is not None:
        details = {
            "limitPricePerKWh": limit_price_per_kwh,
            "minPricePerKWh": grid.min_price_per_kwh,
            "tickSizePerKWh": grid.tick_size_per_kwh,
            "maxPricePerKWh": grid.max_price_per_kwh,
        }
        raise ApiProblem(HTTPStatus.BAD_REQUEST, "PriceNotOnGrid", refusal, details)


def relay_minimum_problem(amount_wh: int, minimum_wh: int) -> ApiProblem | None:
    """The refusal of an auction order too small for the relayer to pay its gas (None: large enough)."""
    if amount_wh >= minimum_wh:
        return None
    message = (
        f"The service relays auction orders of {format_kwh(minimum_wh)} or more and this one is {format_kwh(amount_wh)}: "
        "place a larger order, or submit it from your own wallet."
    )
    return ApiProblem(HTTPStatus.BAD_REQUEST, "OrderBelowRelayMinimum", message, {"amountWh": amount_wh, "minimumWh": minimum_wh})


def auction_order_typed_data_out(
    client: GridClient, tokens: dict[str, TokenInfo], draft: AuctionOrderDraft, minimum_wh: int
) -> AuctionOrderTypedDataOut:
    """The order for the trader's wallet to sign, and its approval of the auction in the vault when that
    is missing. What the trader's own submission would be refused for now (a closed gate, a period too
    far ahead, a price off the grid, an amount out of range, a pause) is answered instead, and so is an
    order below `minimum_wh`, which the relay would refuse."""
    too_small = relay_minimum_problem(draft.amountWh, minimum_wh)
    if too_small is not None:
        raise too_small
    is_bid = draft.side == "BID"
    with answering():
        auction, vault = client.auction, client.vault
        now = drafts.chain_time(client)
        period = _period_of(client, draft, now)
        _check_price(tokens, PriceGrid(*auction.grid(period)), draft.limitPricePerKWh)
        trader = draft.trader
        trial_calls = auction.calls
        if draft.regionId:
            place_in = trial_calls.submit_bid_in if is_bid else trial_calls.submit_ask_in
            trial = place_in(trader, draft.regionId, period, draft.amountWh, draft.limitPricePerKWh)
        else:
            trial = (trial_calls.submit_bid if is_bid else trial_calls.submit_ask)(trader, period, draft.amountWh, draft.limitPricePerKWh)
        rejection = drafts.refusal(client, trader, trial)
        escrow = escrow_amount(is_bid, draft.amountWh, draft.limitPricePerKWh)
        if rejection is not None:
            if not (isinstance(rejection, ContractRevertError) and rejection.error_name in ESCROW_ERRORS):
                raise rejection
            _check_vault_balance(client, tokens, trader, is_bid, escrow)
        deadline = drafts.signature_deadline(client, draft.deadline)
        nonce = auction.nonce(trader)
        order = SignedAuctionOrder(trader, period, is_bid, draft.amountWh, draft.limitPricePerKWh, nonce, deadline, draft.regionId)
        approval = None
        if not vault.is_market_approved(trader, auction.address):
            typed = market_approval_typed_data(trader, auction.address, vault.nonce(trader), deadline, vault.address, client.chain_id)
            approval = {"deadline": deadline, "typedData": typed}
        gate_closes = auction.gate_closure_time(period)
    return AuctionOrderTypedDataOut.model_validate(
        {
            "order": order.message(),
            "typedData": auction_order_typed_data(order, auction.address, client.chain_id),
            "escrow": escrow,
            "escrowToken": "PaymentToken" if is_bid else "EnergyToken",
            "gateClosureTime": gate_closes,
            "marketApproval": approval,
        }
    )


async def relay_auction_order(
    client: GridClient, tokens: dict[str, TokenInfo], sponsor: Sponsor, body: RelayAuctionOrder, minimum_wh: int
) -> RelayedAuctionOrderOut:
    """Relays the signed approval of the auction (when given and still missing), then the signed order:
    nothing is sent unless both would pass, the order is at least `minimum_wh` and the trader's vault
    balance holds its escrow."""
    o = body.order
    too_small = relay_minimum_problem(o.amountWh, minimum_wh)
    if too_small is not None:
        sponsor.refuse(ORDER_BELOW_MINIMUM, too_small)
    order = SignedAuctionOrder(o.trader, o.period, o.isBid, o.amountWh, o.limitPricePerKWh, o.nonce, o.deadline, o.regionId)
    signature = split_signature(body.signature)
    auction = client.auction
    with answering():
        # Checked first: with the approval still to send, the order's trial stops at the approval.
        escrow = escrow_amount(order.is_bid, order.amount_wh, order.limit_price_per_kwh)
        _check_vault_balance(client, tokens, order.trader, order.is_bid, escrow)
        call = auction.calls.submit_order_by_sig(sponsor.relayer, order, signature)
        receipt = await send_with_market_approval(client, sponsor, order.trader, auction.address, body.marketApproval, call)
        submitted = auction.event(receipt, "OrderSubmitted")
    return RelayedAuctionOrderOut(
        orderId=str(int(submitted["orderId"])),
        trader=str(submitted["trader"]),
        period=int(submitted["period"]),
        isBid=bool(submitted["isBid"]),
        amountWh=int(submitted["amountWh"]),
        limitPricePerKWh=int(submitted["limitPricePerKWh"]),
        escrow=int(submitted["escrow"]),
        txHash=tx_hash_of(receipt),
        blockNumber=int(receipt["blockNumber"]),
        relayer=sponsor.relayer.address,
    )


async def relay_auction_claim(client: GridClient, sponsor: Sponsor, order_id: int) -> ClaimedAuctionOrderOut:
    """Claims the order for its trader, charged to the trader's quota. A market past its clearing time
    that nobody cleared yet is cleared first, so a household need not wait for the keeper."""
    auction = client.auction
    with answering():
        info = auction.get_order(order_id)  # OrderUnknown (404) or OrderSlotReused (400) for an id that names no order now
        claim = auction.calls.claim(sponsor.relayer, order_id)
        clear = None
        if not auction.get_market(info.period).cleared and drafts.chain_time(client) >= auction.clearing_time(info.period):
            clear = auction.calls.clear(sponsor.relayer, info.period)
            # A keeper may clear it meanwhile: then there is nothing to do first.
            if sponsor.check(clear) is not None:
                clear = None
        if clear is None:
            receipt = await sponsor.relay(info.trader, claim)
        else:
            sponsor.charge(info.trader, transactions=2)
            await sponsor.send(clear)
            receipt = await sponsor.send(claim)
        claimed = auction.event(receipt, "OrderClaimed")
    is_bid = bool(claimed["isBid"])
    filled, payment, fee, refund = (int(claimed[k]) for k in ("filledWh", "payment", "fee", "refund"))
    return ClaimedAuctionOrderOut(
        orderId=str(order_id),
        trader=str(claimed["trader"]),
        isBid=is_bid,
        filledWh=filled,
        payment=payment,
        fee=fee,
        refund=refund,
        creditedEnergyWh=filled if is_bid else refund,
        creditedPayment=refund if is_bid else payment - fee,
        clearedFirst=clear is not None,
        txHash=tx_hash_of(receipt),
        blockNumber=int(receipt["blockNumber"]),
    )


__all__ = ["auction_order_typed_data_out", "relay_auction_claim", "relay_auction_order", "relay_minimum_problem"]

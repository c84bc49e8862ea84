"""The vault and standing-order routes: what a household signs in its wallet for the vault and its
meters' standing limits, relayed by the service, and what it holds there, live from the chain.

    GET  /vault/{address}                              free and locked vault balances (book, auction, standing orders)
    POST /vault/market-approval/typed-data             the EIP-712 market approval to sign
    POST /vault/market-approval                        relays it (EnergyVault.approveMarketBySig)
    POST /vault/deposit/typed-data                     the token's ERC-2612 permit of the vault to sign
    POST /vault/deposit                                relays it (EnergyVault.depositWithPermitFor)
    POST /vault/withdrawal/typed-data                  the EIP-712 withdrawal to sign
    POST /vault/withdrawal                             relays it (EnergyVault.withdrawBySig)
    GET  /meters/{address}/standing-order              the meter's standing limits
    POST /meters/{address}/standing-order/typed-data   the owner's EIP-712 standing limits to sign
    POST /meters/{address}/standing-order              relays them (SmartMeter.setStandingOrderBySig)

A deposit is signed as the token's permit of the vault for the amount and a withdrawal as the
vault's `Withdrawal` message; both move tokens only between the account's wallet, its vault balance
and the recipient it signed. The settled standing orders of a meter are an index read
(`GET /meters/{address}/standing-fills`).
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import Any

from fastapi import APIRouter, Request

from energy_grid.api.problems import ApiProblem
from energy_grid.api.relay import (
    HTTP_BAD_REQUEST,
    HTTP_CONFLICT,
    HTTP_FORBIDDEN,
    answering,
    client_of,
    path_address,
    relay_of,
    settings_of,
    tx_hash_of,
)
from energy_grid.api.write_models import (
    MarketApprovalDraft,
    RelayMarketApproval,
    RelayStandingOrder,
    RelayVaultDeposit,
    RelayVaultWithdrawal,
    StandingLimitsIn,
    StandingOrderDraft,
    VaultDepositDraft,
    VaultWithdrawalDraft,
    split_signature,
)
from energy_grid.api.write_routes import ALLOWANCE_ERRORS, DEFAULT_SIGNATURE_WINDOW_S, bind, chain_time, reader_of, token_info
from energy_grid.client import SELL, GridClient
from energy_grid.contracts.base import decode_struct
from energy_grid.contracts.structs import OrderInfo
from energy_grid.errors import ContractRevertError
from energy_grid.index import queries
from energy_grid.index.queries import PageRequest
from energy_grid.sender import prepare
from energy_grid.signed_vault import (
    StandingLimits,
    market_approval_typed_data,
    signature_bytes,
    standing_order_typed_data,
    withdrawal_typed_data,
)
from energy_grid.units import WH_PER_KWH, format_kwh, format_money

# The meters whose placed standing orders one balance read looks at: a household's, in one batch.
MAX_METERS = 100
# The open book orders whose escrow one balance read adds up (the newest), in the same batch.
MAX_BOOK_ORDERS = 100

router = APIRouter(tags=["vault and standing orders"])


def _limits(meter: str, body: StandingLimitsIn) -> StandingLimits:
    return StandingLimits(meter, body.sellPricePerKWh, body.sellCapWh, body.buyPricePerKWh, body.buyCapWh)


def _limits_json(limits: StandingLimits) -> dict[str, int]:
    return {
        "sellPricePerKWh": limits.sell_price_per_kwh,
        "sellCapWh": limits.sell_cap_wh,
        "buyPricePerKWh": limits.buy_price_per_kwh,
        "buyCapWh": limits.buy_cap_wh,
    }


def _deadline(client: GridClient, deadline: int | None) -> int:
    return deadline if deadline is not None else chain_time(client) + DEFAULT_SIGNATURE_WINDOW_S


def _reading_market(client: GridClient) -> str:
    market = client.smart_meter.reading_market()
    if int(market, 16) == 0:
        raise ApiProblem(HTTP_CONFLICT, "NoReadingMarket", "This grid has no reading market: standing orders have nowhere to trade.")
    return market


# ---------------------------------------------------------------------------------- the vault


@router.get("/vault/{address}", summary="An account's vault balances: free, and locked in book, auction and standing orders")
def vault_balances(request: Request, address: str) -> dict[str, Any]:
    holder = path_address(address)
    client = client_of(request)
    with request.app.state.index.session() as db:
        listing = queries.meters(db, PageRequest(MAX_METERS, 0), holder)
        auction_energy_wh, auction_payment = queries.open_auction_escrow(db, holder)
        open_orders = queries.orders(db, PageRequest(MAX_BOOK_ORDERS, 0), holder, "ACTIVE", None)
    meters = [item["meter"] for item in listing["items"]]
    book_orders = [item["orderId"] for item in open_orders["items"]]
    with answering():
        _, symbol, decimals = token_info(request, "PaymentToken")
        vault, auction, book = client["EnergyVault"], client["EnergyAuction"], client["EnergyTrading"]
        # One JSON-RPC batch: the prosumer view polls this route.
        (free_energy_wh, free_payment), approved, min_price, tick_size, *rest = reader_of(request).read(
            [
                prepare(vault, "balancesOf", holder),
                prepare(vault, "isMarketApproved", holder, auction.address),
                prepare(auction, "minPrice"),
                prepare(auction, "tickSize"),
                *(prepare(book, "getOrderInfo", order_id) for order_id in book_orders),
                *(prepare(auction, "getMeteredOrders", meter) for meter in meters),
            ]
        )
    infos, slots = [decode_struct(OrderInfo, raw) for raw in rest[: len(book_orders)]], rest[len(book_orders) :]
    # The chain's word on what each open book order still escrows (0 once closed): a SELL its Wh, a BUY
    # the PaymentToken for its rest.
    book_energy_wh = sum(info.escrow for info in infos if info.order_type == SELL)
    book_payment = sum(info.escrow for info in infos if info.order_type != SELL)
    # Placed and not yet settled: an ask holds its Wh, a bid what it costs at its tick (rounded up,
    # as the auction locks it).
    standing_energy_wh = standing_payment = 0
    for period, settled, ask_wh, _, _, bid_wh, bid_tick, _ in (slot for pair in slots for slot in pair):
        if period == 0 or settled:
            continue
        standing_energy_wh += ask_wh
        standing_payment += -(-bid_wh * (min_price + bid_tick * tick_size) // WH_PER_KWH)
    return {
        "address": holder,
        "freeEnergyWh": int(free_energy_wh),
        "freePayment": int(free_payment),
        "lockedEnergyWh": book_energy_wh + auction_energy_wh + standing_energy_wh,
        "lockedPayment": book_payment + auction_payment + standing_payment,
        "locked": {
            "bookOrders": {"energyWh": book_energy_wh, "payment": book_payment},
            "auctionOrders": {"energyWh": auction_energy_wh, "payment": auction_payment},
            "standingOrders": {"energyWh": standing_energy_wh, "payment": standing_payment},
        },
        "readingMarket": str(auction.address),
        "readingMarketApproved": bool(approved),
        "paymentSymbol": symbol,
        "paymentDecimals": decimals,
    }


@router.post("/vault/market-approval/typed-data", summary="The EIP-712 market approval for the account's wallet to sign")
def market_approval_typed_data_route(request: Request, draft: MarketApprovalDraft) -> dict[str, Any]:
    client = client_of(request)
    with answering():
        market = draft.market or _reading_market(client)
        # Refused now (an unknown or closed market) means refused when relayed: not offered to sign.
        rejection = relay_of(request).check(draft.account, bind(client.vault.contract.functions.setMarketApproval, market, True))
        if rejection is not None:
            raise rejection
        nonce = client.vault.nonce(draft.account)
        deadline = _deadline(client, draft.deadline)
    typed = market_approval_typed_data(draft.account, market, nonce, deadline, client.vault.address, client.chain_id)
    return {"account": draft.account, "market": market, "nonce": nonce, "deadline": deadline, "typedData": typed}


@router.post("/vault/market-approval", summary="Relays a market approval the account signed")
async def relay_market_approval(request: Request, body: RelayMarketApproval) -> dict[str, Any]:
    client = client_of(request)
    signature = signature_bytes(split_signature(body.signature))
    with answering():
        call = bind(client.vault.contract.functions.approveMarketBySig, body.account, body.market, body.deadline, signature)
        receipt = await relay_of(request).send_async(settings_of(request).relayer, call)
    return {"account": body.account, "market": body.market, "approved": True, "txHash": tx_hash_of(receipt)}


def _vault_token(client: GridClient, token: str) -> str:
    """The token's address: "energy" and "payment" name the vault's two; an address is passed on (the
    vault refuses one that is neither, UnsupportedToken)."""
    if token == "energy":
        return client.vault.energy_token
    return client.vault.payment_token if token == "payment" else token


def _wallet_problem(request: Request, account: str, token: str, amount: int) -> ApiProblem | None:
    """What a deposit of `amount` would fail on in the account's wallet (the permit not counted)."""
    client = client_of(request)
    if token == client.energy_token.address:
        held = client.energy_token.balance_of(account)
        shown: Callable[[int], str] = format_kwh
    else:
        held = client.payment_token.balance_of(account)
        _, symbol, decimals = token_info(request, "PaymentToken")
        shown = partial(format_money, decimals=decimals, symbol=symbol)
    if held >= amount:
        return None
    message = f"The wallet holds {shown(held)}, less than the {shown(amount)} to deposit."
    details = {"account": account, "token": token, "held": held, "amount": amount}
    return ApiProblem(HTTP_BAD_REQUEST, "InsufficientWalletBalance", message, details)


@router.post("/vault/deposit/typed-data", summary="The token's ERC-2612 permit of the vault for the account's wallet to sign")
def deposit_typed_data_route(request: Request, draft: VaultDepositDraft) -> dict[str, Any]:
    client = client_of(request)
    with answering():
        token = _vault_token(client, draft.token)
        # As the account would deposit itself: a token or amount the vault refuses is not offered to
        # sign; the allowance the permit sets is all it may lack.
        rejection = relay_of(request).check(draft.account, bind(client.vault.contract.functions.deposit, token, draft.amount))
        if rejection is not None and not (isinstance(rejection, ContractRevertError) and rejection.error_name in ALLOWANCE_ERRORS):
            raise rejection
        short = _wallet_problem(request, draft.account, token, draft.amount)
        if short is not None:
            raise short
        deadline = _deadline(client, draft.deadline)
        typed = client.vault.deposit_permit_typed_data(draft.account, token, draft.amount, deadline)
    nonce = typed["message"]["nonce"]
    return {"account": draft.account, "token": token, "amount": draft.amount, "nonce": nonce, "deadline": deadline, "typedData": typed}


@router.post("/vault/deposit", summary="Relays a deposit: the account's signed permit, then its tokens into its vault balance")
async def relay_deposit(request: Request, body: RelayVaultDeposit) -> dict[str, Any]:
    client = client_of(request)
    signature = split_signature(body.signature)
    with answering():
        token = _vault_token(client, body.token)
        call = bind(
            client.vault.contract.functions.depositWithPermitFor, body.account, token, body.amount, body.deadline, *signature.args()
        )
        try:
            receipt = await relay_of(request).send_async(settings_of(request).relayer, call)
        except ContractRevertError as err:
            # The vault refuses a permit that is neither applied now nor the account's last one (a
            # front-run permit left its allowance): the permit is at fault, or its deadline.
            if err.error_name not in ALLOWANCE_ERRORS | {"PermitNotApplied", "PermitAlreadyUsed"}:
                raise
            if body.deadline < chain_time(client):
                message = "The permit's deadline has passed: sign the deposit again."
                raise ApiProblem(HTTP_BAD_REQUEST, "PermitExpired", message, {"account": body.account, "deadline": body.deadline}) from None
            message = (
                "The permit does not allow this deposit: it was signed by another key, for another token, amount or "
                "deadline, or used already. Sign the deposit again."
            )
            raise ApiProblem(HTTP_FORBIDDEN, "InvalidPermit", message, {"account": body.account, "token": token}) from None
    return {"account": body.account, "token": token, "amount": body.amount, "txHash": tx_hash_of(receipt)}


@router.post("/vault/withdrawal/typed-data", summary="The EIP-712 withdrawal for the account's wallet to sign")
def withdrawal_typed_data_route(request: Request, draft: VaultWithdrawalDraft) -> dict[str, Any]:
    client = client_of(request)
    to = draft.to or draft.account
    with answering():
        token = _vault_token(client, draft.token)
        # Refused now (more than the balance, a zero amount or recipient) means refused when relayed.
        rejection = relay_of(request).check(draft.account, bind(client.vault.contract.functions.withdraw, token, draft.amount, to))
        if rejection is not None:
            raise rejection
        nonce = client.vault.nonce(draft.account)
        deadline = _deadline(client, draft.deadline)
    typed = withdrawal_typed_data(draft.account, token, draft.amount, to, nonce, deadline, client.vault.address, client.chain_id)
    return {
        "account": draft.account,
        "token": token,
        "amount": draft.amount,
        "to": to,
        "nonce": nonce,
        "deadline": deadline,
        "typedData": typed,
    }


@router.post("/vault/withdrawal", summary="Relays a withdrawal the account signed")
async def relay_withdrawal(request: Request, body: RelayVaultWithdrawal) -> dict[str, Any]:
    client = client_of(request)
    signature = signature_bytes(split_signature(body.signature))
    with answering():
        token = _vault_token(client, body.token)
        call = bind(client.vault.contract.functions.withdrawBySig, body.account, token, body.amount, body.to, body.deadline, signature)
        receipt = await relay_of(request).send_async(settings_of(request).relayer, call)
    return {"account": body.account, "token": token, "amount": body.amount, "to": body.to, "txHash": tx_hash_of(receipt)}


# ---------------------------------------------------------------------------------- standing orders


@router.get("/meters/{address}/standing-order", summary="A meter's standing limits in the reading market, live from the chain")
def standing_order(request: Request, address: str) -> dict[str, Any]:
    meter = path_address(address)
    client = client_of(request)
    with answering():
        info = client.smart_meter.get_meter(meter)  # MeterUnknown: 404
        limits = client.smart_meter.standing_order(meter)
        market = client.smart_meter.reading_market()
        approved = int(market, 16) != 0 and client.vault.is_market_approved(info.owner, market)
    current = StandingLimits(meter, limits.sell_price_per_kwh, limits.sell_cap_wh, limits.buy_price_per_kwh, limits.buy_cap_wh)
    return {
        "meter": meter,
        "owner": info.owner,
        **_limits_json(current),
        "active": not current.removes,
        "vaultDelivery": info.vault_delivery,
        "readingMarket": market,
        "readingMarketApproved": approved,
    }


@router.post("/meters/{address}/standing-order/typed-data", summary="The meter owner's standing limits to sign (both prices 0 clear them)")
def standing_order_typed_data_route(request: Request, address: str, draft: StandingOrderDraft) -> dict[str, Any]:
    meter = path_address(address)
    client = client_of(request)
    limits = _limits(meter, draft)
    with answering():
        owner = client.smart_meter.get_meter(meter).owner  # MeterUnknown: 404
        functions = client.smart_meter.contract.functions
        # As the owner would send it: what it refuses (no reading market, a limit out of range), the
        # relayed signature would be refused for too.
        trial = bind(functions.removeStandingOrder, meter) if limits.removes else bind(functions.setStandingOrder, *limits.args())
        rejection = relay_of(request).check(owner, trial)
        if rejection is not None:
            raise rejection
        nonce = client.smart_meter.standing_order_nonce(owner)
        deadline = _deadline(client, draft.deadline)
    typed = standing_order_typed_data(limits, nonce, deadline, client.smart_meter.address, client.chain_id)
    return {"meter": meter, "owner": owner, **_limits_json(limits), "nonce": nonce, "deadline": deadline, "typedData": typed}


@router.post("/meters/{address}/standing-order", summary="Relays the standing limits the meter's owner signed")
async def relay_standing_order(request: Request, address: str, body: RelayStandingOrder) -> dict[str, Any]:
    meter = path_address(address)
    client = client_of(request)
    limits = _limits(meter, body)
    signature = signature_bytes(split_signature(body.signature))
    with answering():
        call = bind(client.smart_meter.contract.functions.setStandingOrderBySig, *limits.args(), body.deadline, signature)
        receipt = await relay_of(request).send_async(settings_of(request).relayer, call)
    return {"meter": meter, **_limits_json(limits), "cleared": limits.removes, "txHash": tx_hash_of(receipt)}


__all__ = ["router"]

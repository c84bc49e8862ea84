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
naming the contract's custom error, and nothing is sent), then sent by the relayer, one at a time,
and answered once its receipt is in. The operator routes are in `operator_routes`.
"""

from __future__ import annotations

from typing import Annotated, Any, cast

from fastapi import APIRouter, Path, Request
from web3.contract.contract import ContractFunction
from web3.exceptions import MismatchedABI, Web3ValidationError

from energy_grid.api import operator_routes
from energy_grid.api.auth import operator_routes_enabled
from energy_grid.api.relay import (
    answering,
    client_of,
    path_address,
    relay_of,
    settings_of,
    tx_hash_of,
)
from energy_grid.api.typed_data import cancel_typed_data, market_approval_typed_data, order_typed_data, permit_typed_data
from energy_grid.api.write_models import (
    CancelDraft,
    OrderDraft,
    RelayCancel,
    RelayOrder,
    RelayReading,
    split_signature,
)
from energy_grid.client import GridClient
from energy_grid.enums import OrderType
from energy_grid.errors import ContractRevertError, InvalidInputError
from energy_grid.order_book import escrow_amount
from energy_grid.sender import TransactionSender, prepare
from energy_grid.signed_orders import SignedOrder
from energy_grid.units import ZERO_ADDRESS

HTTP_CREATED = 201
# A wallet user reads and confirms before signing: an hour of chain time to submit.
DEFAULT_SIGNATURE_WINDOW_S = 3600
# The refusals a draft order gets only because its escrow is not approved yet: the signed market
# approval and the permit of the vault, relayed with the order, cover them.
ALLOWANCE_ERRORS = frozenset({"ERC20InsufficientAllowance", "MarketNotApproved"})

OrderId = Annotated[int, Path(ge=0, le=2**256 - 1, description="The order's id on EnergyTrading")]

router = APIRouter(tags=["trading and metering"])
router.include_router(operator_routes.router)

def bind(function: Any, *args: Any) -> ContractFunction:
    """`function(*args)` bound for sending; arguments that do not fit its ABI types are bad input."""
    try:
        return function(*args)
    except (Web3ValidationError, MismatchedABI, TypeError, OverflowError) as err:
        raise InvalidInputError(str(err)) from None


TokenInfo = tuple[str, str, int]  # name, symbol, decimals


def read_token_info(client: GridClient) -> dict[str, TokenInfo]:
    """The deployment's two tokens' name, symbol and decimals (fixed for a deployment: read once, by create_app)."""
    info = {}
    for name in ("EnergyToken", "PaymentToken"):
        functions, call = client[name].functions, client.transactor.call
        info[name] = (str(call(functions.name())), str(call(functions.symbol())), int(call(functions.decimals())))
    return info


def token_info(request: Request, name: str) -> TokenInfo:
    return cast(dict[str, TokenInfo], request.app.state.token_info)[name]


def reader_of(request: Request) -> TransactionSender:
    """The app's batch reader: view calls in one JSON-RPC batch, for the routes the web app polls."""
    return cast(TransactionSender, request.app.state.batch_reader)


def chain_time(client: GridClient) -> int:
    """The latest block's time: local chains run ahead of the wall clock."""
    return int(client.w3.eth.get_block("latest")["timestamp"])


# ---------------------------------------------------------------------------------- live reads


@router.get("/config", summary="What a web app needs first: the chain, the contracts, the tokens' units")
def config(request: Request) -> dict[str, Any]:
    client = client_of(request)
    _, payment_symbol, payment_decimals = token_info(request, "PaymentToken")
    energy_decimals = token_info(request, "EnergyToken")[2]
    return {
        "chainId": client.chain_id,
        "contracts": {name: str(contract.address) for name, contract in client.contracts.items()},
        "paymentSymbol": payment_symbol,
        "paymentDecimals": payment_decimals,
        "energyDecimals": energy_decimals,
        # The zone every view shows times in (settable by governance, so read live).
        "utcOffsetMinutes": client.price_discovery.utc_offset_minutes(),
        "operatorRoutes": operator_routes_enabled(settings_of(request)),
    }


@router.get("/accounts/{address}", summary="An account's balances and market nonce, live from the chain")
def account(request: Request, address: str) -> dict[str, Any]:
    holder = path_address(address)
    client = client_of(request)
    with answering():
        _, symbol, decimals = token_info(request, "PaymentToken")
        # One JSON-RPC batch: the dashboards poll this route.
        reader = reader_of(request)
        energy_wh, payment, nonce, vault_balances, book_approved = reader.read(
            [
                prepare(client["EnergyToken"], "balanceOf", holder),
                prepare(client["PaymentToken"], "balanceOf", holder),
                prepare(client["EnergyTrading"], "nonces", holder),
                prepare(client["EnergyVault"], "balancesOf", holder),
                prepare(client["EnergyVault"], "isMarketApproved", holder, client["EnergyTrading"].address),
            ]
        )
        eth_wei = reader.rpc("eth_getBalance", [holder, "latest"])
    return {
        "address": holder,
        "energyBalanceWh": int(energy_wh),
        "paymentBalance": int(payment),
        "paymentSymbol": symbol,
        "paymentDecimals": decimals,
        "marketNonce": int(nonce),
        # Where the book takes escrow from and credits refunds and payouts to.
        "vaultEnergyWh": int(vault_balances[0]),
        "vaultPayment": int(vault_balances[1]),
        "bookApprovedInVault": bool(book_approved),
        "ethBalanceWei": str(int(str(eth_wei), 16)),
    }


# ---------------------------------------------------------------------------------- orders


@router.post("/orders/typed-data", summary="The EIP-712 order for the trader's wallet to sign (and a permit if needed)")
def order_typed_data_route(request: Request, draft: OrderDraft) -> dict[str, Any]:
    client = client_of(request)
    market = client.trading
    side = OrderType[draft.side]
    counterparty = draft.counterparty or ZERO_ADDRESS
    with answering():
        # The order as its trader would send it: refused now (balance, price, expiry, …) means
        # refused when relayed, so the wallet is not asked to sign it.
        functions = market.contract.functions
        if counterparty == ZERO_ADDRESS:
            trial = bind(functions.createOrder, draft.amountWh, draft.pricePerKWh, draft.expiry, int(side))
        else:
            trial = bind(functions.createDirectedOrder, draft.amountWh, draft.pricePerKWh, draft.expiry, int(side), counterparty)
        rejection = relay_of(request).check(draft.trader, trial)
        if rejection is not None and not (isinstance(rejection, ContractRevertError) and rejection.error_name in ALLOWANCE_ERRORS):
            raise rejection
        deadline = draft.deadline if draft.deadline is not None else chain_time(client) + DEFAULT_SIGNATURE_WINDOW_S
        order = SignedOrder(
            draft.trader,
            draft.amountWh,
            draft.pricePerKWh,
            draft.expiry,
            side,
            market.nonce(draft.trader),
            deadline,
            counterparty=counterparty,
        )
        message = order.message()
        vault = client.vault
        approval = None
        if not vault.is_market_approved(draft.trader, market.address):
            approval_nonce = int(client.transactor.call(vault.contract.functions.nonces(draft.trader)))
            approval = {
                "deadline": deadline,
                "typedData": market_approval_typed_data(
                    draft.trader, market.address, approval_nonce, deadline, vault.address, client.chain_id
                ),
            }
        # The escrow comes from the vault balance; the vault pulls what it falls short of from the wallet.
        token = client.energy_token if side == OrderType.SELL else client.payment_token
        token_name = "EnergyToken" if side == OrderType.SELL else "PaymentToken"
        held = vault.balances(draft.trader)
        shortfall = escrow_amount(side, draft.amountWh, draft.pricePerKWh) - (
            held.energy_wh if side == OrderType.SELL else held.payment
        )
        wallet = token.balance_of(draft.trader)
        if rejection is not None and shortfall > wallet:
            # Refused for a missing approval, which the trader's signatures would supply: the vault's
            # pull would still fail, so say now what the relayed order would meet.
            raise ContractRevertError(
                token_name,
                "createOrder",
                "ERC20InsufficientBalance",
                {"sender": draft.trader, "balance": wallet, "needed": shortfall},
                "the escrow is more than the trader's EnergyVault balance and wallet hold together",
            )
        permit = None
        if shortfall > 0 and token.allowance(draft.trader, vault.address) < shortfall:
            permit_nonce = int(client.transactor.call(token.contract.functions.nonces(draft.trader)))
            permit = {
                "value": shortfall,
                "deadline": deadline,
                "typedData": permit_typed_data(
                    token_info(request, token_name)[0],
                    token.address,
                    client.chain_id,
                    draft.trader,
                    vault.address,
                    shortfall,
                    permit_nonce,
                    deadline,
                ),
            }
    return {
        "order": message,
        "typedData": order_typed_data(message, market.address, client.chain_id),
        "permit": permit,
        "marketApproval": approval,
    }


@router.post("/orders", status_code=HTTP_CREATED, summary="Relays an order the trader signed: it is the trader's on chain")
async def relay_order(request: Request, body: RelayOrder) -> dict[str, Any]:
    client = client_of(request)
    relayer = settings_of(request).relayer
    o = body.order
    order = SignedOrder(
        o.trader, o.amountWh, o.pricePerKWh, o.expiry, OrderType(o.orderType), o.nonce, o.deadline, counterparty=o.counterparty
    )
    signature = split_signature(body.signature)
    permits = []
    if body.permit is not None:
        permit_signature = split_signature(body.permit.signature)
        permits.append((body.permit.value, body.permit.deadline, *permit_signature.args()))
    with answering():
        call = bind(client.trading.contract.functions.createOrderBySig, order.as_tuple(), *signature.args(), permits)
        if body.marketApproval is not None and not client.vault.is_market_approved(order.trader, client.trading.address):
            # A first order: the trader's approval of the book in the vault goes first. Nothing is sent
            # unless both would pass: the order is tried first (its signature, nonce and deadline are
            # checked before its escrow, so only the missing approval may refuse it), then the approval.
            rejection = relay_of(request).check(relayer.address, call)
            if rejection is not None and not (isinstance(rejection, ContractRevertError) and rejection.error_name == "MarketNotApproved"):
                raise rejection
            approve = bind(
                client.vault.contract.functions.approveMarketBySig,
                order.trader,
                client.trading.address,
                body.marketApproval.deadline,
                bytes.fromhex(body.marketApproval.signature.removeprefix("0x")),
            )
            rejection = relay_of(request).check(relayer.address, approve)
            if rejection is not None:
                raise rejection
            await relay_of(request).send_async(relayer, approve)
        receipt = await relay_of(request).send_async(relayer, call)
        created = client.trading.event(receipt, "OrderCreated")
        # An order that reached the book's crossing bounds keeps its fills; the rest is cancelled at once.
        cancelled = client.trading.events(receipt, "OrderCancelled")
    return {
        "orderId": int(created["orderId"]),
        "trader": str(created["trader"]),
        "txHash": tx_hash_of(receipt),
        "blockNumber": int(receipt["blockNumber"]),
        "relayer": relayer.address,
        "cancelledWh": int(cancelled[0]["unfilledWh"]) if cancelled else 0,
    }


@router.post("/orders/{order_id}/cancel/typed-data", summary="The EIP-712 cancellation for the order's trader to sign")
def cancel_typed_data_route(request: Request, order_id: OrderId, draft: CancelDraft | None = None) -> dict[str, Any]:
    client = client_of(request)
    market = client.trading
    with answering():
        trader = market.get_order_info(order_id).trader  # OrderUnknown: 404
        rejection = relay_of(request).check(trader, bind(market.contract.functions.cancelOrder, order_id))
        if rejection is not None:
            raise rejection  # OrderNotActive: 409, before the wallet is asked
        nonce = market.nonce(trader)
        deadline = draft.deadline if draft is not None and draft.deadline is not None else None
        if deadline is None:
            deadline = chain_time(client) + DEFAULT_SIGNATURE_WINDOW_S
    typed = cancel_typed_data(order_id, nonce, deadline, market.address, client.chain_id)
    return {"nonce": nonce, "deadline": deadline, "typedData": typed}


@router.post("/orders/{order_id}/cancel", summary="Relays a cancellation the order's trader signed")
async def relay_cancel(request: Request, order_id: OrderId, body: RelayCancel) -> dict[str, Any]:
    client = client_of(request)
    signature = split_signature(body.signature)
    with answering():
        call = bind(client.trading.contract.functions.cancelOrderBySig, order_id, body.nonce, body.deadline, *signature.args())
        receipt = await relay_of(request).send_async(settings_of(request).relayer, call)
    return {"orderId": order_id, "txHash": tx_hash_of(receipt), "status": "CANCELLED"}


# ---------------------------------------------------------------------------------- meters


@router.post("/meters/reading", status_code=HTTP_CREATED, summary="Relays a reading the meter signed (EIP-712)")
async def relay_reading(request: Request, body: RelayReading) -> dict[str, Any]:
    client = client_of(request)
    r = body.reading
    reading = (r.timestamp, r.consumptionRegisterWh, r.productionRegisterWh, r.gridFrequencyMilliHz, r.voltagePerMille)
    signature = split_signature(body.signature)
    entry = (body.meter, body.nonce, body.deadline, reading, *signature.args())
    with answering():
        call = bind(client.smart_meter.contract.functions.submitSignedReadings, [entry])
        receipt = await relay_of(request).send_async(settings_of(request).relayer, call)
    return {"meter": body.meter, "txHash": tx_hash_of(receipt), "blockNumber": int(receipt["blockNumber"])}


__all__ = ["router"]

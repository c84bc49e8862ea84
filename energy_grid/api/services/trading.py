"""Trading and metering: live account reads, order and cancellation drafts, and relays of what a
wallet or a meter signed."""

from __future__ import annotations

from energy_grid.api import schemas
from energy_grid.api.auth import operator_routes_enabled
from energy_grid.api.deps import TokenInfo
from energy_grid.api.problems import answering
from energy_grid.api.relay import tx_hash_of
from energy_grid.api.services.vault import send_with_market_approval
from energy_grid.api.settings import ServiceSettings
from energy_grid.api.sponsor import Sponsor
from energy_grid.api.write_models import CancelDraft, OrderDraft, RelayCancel, RelayOrder, RelayReading, split_signature
from energy_grid.contracts.client import GridClient
from energy_grid.contracts.sender import TransactionSender, prepare
from energy_grid.domain.enums import OrderType
from energy_grid.signing.orders import SignedOrder
from energy_grid.signing.readings import SignedReading
from energy_grid.wallet import drafts


def read_token_info(client: GridClient) -> dict[str, TokenInfo]:
    """The deployment's two tokens' name, symbol and decimals (fixed for a deployment: read once, by create_app)."""
    tokens = {"EnergyToken": client.energy_token, "PaymentToken": client.payment_token}
    return {name: (token.name(), token.symbol(), token.decimals()) for name, token in tokens.items()}


def config(client: GridClient, tokens: dict[str, TokenInfo], settings: ServiceSettings) -> schemas.ConfigOut:
    _, payment_symbol, payment_decimals = tokens["PaymentToken"]
    auction = client.auction
    period_s, period = auction.period_length_s(), auction.current_period()
    return schemas.ConfigOut(
        chainId=client.chain_id,
        contracts=dict(client.contracts.addresses),
        paymentSymbol=payment_symbol,
        paymentDecimals=payment_decimals,
        energyDecimals=tokens["EnergyToken"][2],
        # The zone every view shows times in (settable by governance, so read live).
        utcOffsetMinutes=client.price_discovery.utc_offset_minutes(),
        operatorRoutes=operator_routes_enabled(settings),
        forecaster=settings.forecaster_url is not None,
        auctionPeriodS=period_s,
        # The chain's clearing time of the current period, as an offset from its end: the same for every
        # period while the auction's settings stand.
        auctionClaimDelayS=auction.clearing_time(period) - (period + 1) * period_s,
    )


def account(client: GridClient, reader: TransactionSender, tokens: dict[str, TokenInfo], holder: str) -> schemas.AccountOut:
    _, symbol, decimals = tokens["PaymentToken"]
    with answering():
        # One JSON-RPC batch: the dashboards poll this route.
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
    return schemas.AccountOut(
        address=holder,
        energyBalanceWh=int(energy_wh),
        paymentBalance=int(payment),
        paymentSymbol=symbol,
        paymentDecimals=decimals,
        marketNonce=int(nonce),
        # Where the book takes escrow from and credits refunds and payouts to.
        vaultEnergyWh=int(vault_balances[0]),
        vaultPayment=int(vault_balances[1]),
        bookApprovedInVault=bool(book_approved),
        ethBalanceWei=str(int(str(eth_wei), 16)),
    )


def order_typed_data(client: GridClient, draft: OrderDraft) -> schemas.OrderTypedDataOut:
    with answering():
        drafted = drafts.draft_order(
            client, draft.trader, OrderType[draft.side], draft.amountWh, draft.pricePerKWh, draft.expiry, draft.counterparty, draft.deadline
        )
    permit = drafted.permit
    approval = drafted.market_approval
    return schemas.OrderTypedDataOut.model_validate(
        {
            "order": drafted.message,
            "typedData": drafted.typed_data,
            "permit": None if permit is None else {"value": permit.value, "deadline": permit.deadline, "typedData": permit.typed_data},
            "marketApproval": None if approval is None else {"deadline": approval.deadline, "typedData": approval.typed_data},
        }
    )


async def relay_order(client: GridClient, sponsor: Sponsor, body: RelayOrder) -> schemas.RelayedOrderOut:
    o = body.order
    order = SignedOrder(
        o.trader, o.amountWh, o.pricePerKWh, o.expiry, OrderType(o.orderType), o.nonce, o.deadline, counterparty=o.counterparty
    )
    signature = split_signature(body.signature)
    permits = []
    if body.permit is not None:
        permits.append((body.permit.value, body.permit.deadline, *split_signature(body.permit.signature).args()))
    trading = client.trading
    with answering():
        call = trading.calls.create_order_by_sig(sponsor.relayer, order, signature, permits)
        receipt = await send_with_market_approval(client, sponsor, order.trader, trading.address, body.marketApproval, call)
        created = trading.event(receipt, "OrderCreated")
        # An order that reached the book's crossing bounds keeps its fills; the rest is cancelled at once.
        cancelled = trading.events(receipt, "OrderCancelled")
    return schemas.RelayedOrderOut(
        orderId=int(created["orderId"]),
        trader=str(created["trader"]),
        txHash=tx_hash_of(receipt),
        blockNumber=int(receipt["blockNumber"]),
        relayer=sponsor.relayer.address,
        cancelledWh=int(cancelled[0]["unfilledWh"]) if cancelled else 0,
    )


def cancel_typed_data(client: GridClient, order_id: int, draft: CancelDraft | None) -> schemas.CancelTypedDataOut:
    with answering():
        drafted = drafts.draft_cancel(client, order_id, None if draft is None else draft.deadline)
    return schemas.CancelTypedDataOut.model_validate(
        {"nonce": drafted.nonce, "deadline": drafted.deadline, "typedData": drafted.typed_data}
    )


async def relay_cancel(client: GridClient, sponsor: Sponsor, order_id: int, body: RelayCancel) -> schemas.RelayedCancelOut:
    with answering():
        trader = client.trading.get_order(order_id).trader  # OrderUnknown: 404; the trader signed the cancellation
        signature = split_signature(body.signature)
        call = client.trading.calls.cancel_order_by_sig(sponsor.relayer, order_id, body.nonce, body.deadline, signature)
        receipt = await sponsor.relay(trader, call)
    return schemas.RelayedCancelOut(orderId=order_id, txHash=tx_hash_of(receipt), status="CANCELLED")


async def relay_reading(client: GridClient, sponsor: Sponsor, body: RelayReading) -> schemas.RelayedReadingOut:
    r = body.reading
    reading = (r.timestamp, r.consumptionRegisterWh, r.productionRegisterWh, r.gridFrequencyMilliHz, r.voltagePerMille)
    signature = split_signature(body.signature)
    entry = SignedReading(body.meter, body.nonce, body.deadline, reading, signature.v, signature.r, signature.s)
    with answering():
        call = client.smart_meter.calls.submit_signed_readings(sponsor.relayer, [entry])
        receipt = await sponsor.relay(body.meter, call)
    return schemas.RelayedReadingOut(meter=body.meter, txHash=tx_hash_of(receipt), blockNumber=int(receipt["blockNumber"]))

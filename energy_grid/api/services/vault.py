"""The vault and standing orders: balances live from the chain, the drafts a household signs for its
vault and its meters' standing limits, and their relays."""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from http import HTTPStatus

from sqlalchemy.orm import Session
from web3.contract.contract import ContractFunction
from web3.types import TxReceipt

from energy_grid.api import schemas
from energy_grid.api.deps import TokenInfo
from energy_grid.api.problems import ApiProblem, answering
from energy_grid.api.relay import tx_hash_of
from energy_grid.api.sponsor import Sponsor
from energy_grid.api.write_models import (
    MarketApprovalDraft,
    MarketApprovalIn,
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
from energy_grid.chain.errors import ContractRevertError
from energy_grid.contracts.base import decode_struct
from energy_grid.contracts.client import SELL, GridClient
from energy_grid.contracts.sender import TransactionSender, prepare
from energy_grid.contracts.structs import OrderInfo
from energy_grid.domain.auction_words import PriceGrid, standing_off_grid_text
from energy_grid.domain.orders import standing_locked
from energy_grid.domain.units import format_kwh, format_money
from energy_grid.index import queries
from energy_grid.index.queries import PageRequest
from energy_grid.signing.vault import StandingLimits, signature_bytes
from energy_grid.wallet import drafts


async def send_with_market_approval(
    client: GridClient,
    sponsor: Sponsor,
    trader: str,
    market: str,
    approval: MarketApprovalIn | None,
    call: ContractFunction,
) -> TxReceipt:
    """Relays the order `call` for `trader`, after its signed approval of `market` in the vault when
    it is given and still missing (a trader's first order there). Nothing is charged or sent unless
    both would pass: the order is tried first (its signature, nonce and deadline are checked before its
    escrow, so only the missing approval may refuse it), then the approval."""
    vault = client.vault
    if approval is None or vault.is_market_approved(trader, market):
        return await sponsor.relay(trader, call)
    rejection = sponsor.check(call)
    if rejection is not None and not (isinstance(rejection, ContractRevertError) and rejection.error_name == "MarketNotApproved"):
        raise rejection
    signature = bytes.fromhex(approval.signature.removeprefix("0x"))
    approve = vault.calls.approve_market_by_sig(sponsor.relayer, trader, market, approval.deadline, signature)
    rejection = sponsor.check(approve)
    if rejection is not None:
        raise rejection
    sponsor.charge(trader, transactions=2)
    await sponsor.send(approve)
    return await sponsor.send(call)


# The meters whose placed standing orders one balance read looks at: a household's, in one batch.
MAX_METERS = 100
# The open book orders whose escrow one balance read adds up (the newest), in the same batch.
MAX_BOOK_ORDERS = 100
# A deposit relay refused for its permit: the permit is at fault, or its deadline.
PERMIT_ERRORS = drafts.ALLOWANCE_ERRORS | {"PermitNotApplied", "PermitAlreadyUsed"}


def _limits(meter: str, body: StandingLimitsIn) -> StandingLimits:
    return StandingLimits(meter, body.sellPricePerKWh, body.sellCapWh, body.buyPricePerKWh, body.buyCapWh)


def _limits_json(limits: StandingLimits) -> dict[str, int]:
    return {
        "sellPricePerKWh": limits.sell_price_per_kwh,
        "sellCapWh": limits.sell_cap_wh,
        "buyPricePerKWh": limits.buy_price_per_kwh,
        "buyCapWh": limits.buy_cap_wh,
    }


def _reading_market(client: GridClient) -> str:
    market = client.smart_meter.reading_market()
    if int(market, 16) == 0:
        raise ApiProblem(HTTPStatus.CONFLICT, "NoReadingMarket", "This grid has no reading market: standing orders have nowhere to trade.")
    return market


def _vault_token(client: GridClient, token: str) -> str:
    """The token's address: "energy" and "payment" name the vault's two; an address is passed on (the
    vault refuses one that is neither, UnsupportedToken)."""
    if token == "energy":
        return client.vault.energy_token
    return client.vault.payment_token if token == "payment" else token


# ---------------------------------------------------------------------------------- the vault


def vault_balances(
    client: GridClient, db: Session, reader: TransactionSender, tokens: dict[str, TokenInfo], holder: str
) -> schemas.VaultBalancesOut:
    listing = queries.meters(db, PageRequest(MAX_METERS, 0), holder)
    auction_energy_wh, auction_payment = queries.open_auction_escrow(db, holder)
    open_orders = queries.orders(db, PageRequest(MAX_BOOK_ORDERS, 0), holder, "ACTIVE", None)
    meters = [item.meter for item in listing.items]
    book_orders = [item.orderId for item in open_orders.items]
    _, symbol, decimals = tokens["PaymentToken"]
    with answering():
        vault, auction, book = client["EnergyVault"], client["EnergyAuction"], client["EnergyTrading"]
        # One JSON-RPC batch: the prosumer view polls this route.
        (free_energy_wh, free_payment), approved, min_price, tick_size, *rest = reader.read(
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
    standing_energy_wh, standing_payment = standing_locked((slot for pair in slots for slot in pair), min_price, tick_size)
    return schemas.VaultBalancesOut.model_validate(
        {
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
    )


def market_approval_typed_data(client: GridClient, draft: MarketApprovalDraft) -> schemas.MarketApprovalTypedDataOut:
    with answering():
        market = draft.market or _reading_market(client)
        drafted = drafts.draft_market_approval(client, draft.account, market, draft.deadline)
    return schemas.MarketApprovalTypedDataOut.model_validate(
        {"account": draft.account, "market": market, "nonce": drafted.nonce, "deadline": drafted.deadline, "typedData": drafted.typed_data}
    )


async def relay_market_approval(client: GridClient, sponsor: Sponsor, body: RelayMarketApproval) -> schemas.RelayedMarketApprovalOut:
    signature = signature_bytes(split_signature(body.signature))
    with answering():
        call = client.vault.calls.approve_market_by_sig(sponsor.relayer, body.account, body.market, body.deadline, signature)
        receipt = await sponsor.relay(body.account, call)
    return schemas.RelayedMarketApprovalOut(account=body.account, market=body.market, approved=True, txHash=tx_hash_of(receipt))


def _wallet_problem(client: GridClient, tokens: dict[str, TokenInfo], account: str, token: str, amount: int) -> ApiProblem | None:
    """What a deposit of `amount` would fail on in the account's wallet (the permit not counted)."""
    if token == client.energy_token.address:
        held = client.energy_token.balance_of(account)
        shown: Callable[[int], str] = format_kwh
    else:
        held = client.payment_token.balance_of(account)
        _, symbol, decimals = tokens["PaymentToken"]
        shown = partial(format_money, decimals=decimals, symbol=symbol)
    if held >= amount:
        return None
    message = f"The wallet holds {shown(held)}, less than the {shown(amount)} to deposit."
    details = {"account": account, "token": token, "held": held, "amount": amount}
    return ApiProblem(HTTPStatus.BAD_REQUEST, "InsufficientWalletBalance", message, details)


def deposit_typed_data(client: GridClient, tokens: dict[str, TokenInfo], draft: VaultDepositDraft) -> schemas.DepositTypedDataOut:
    with answering():
        token = _vault_token(client, draft.token)
        drafted = drafts.draft_deposit_permit(client, draft.account, token, draft.amount, draft.deadline)
        short = _wallet_problem(client, tokens, draft.account, token, draft.amount)
        if short is not None:
            raise short
    return schemas.DepositTypedDataOut.model_validate(
        {
            "account": draft.account,
            "token": token,
            "amount": draft.amount,
            "nonce": drafted.nonce,
            "deadline": drafted.deadline,
            "typedData": drafted.typed_data,
        }
    )


async def relay_deposit(client: GridClient, sponsor: Sponsor, body: RelayVaultDeposit) -> schemas.RelayedDepositOut:
    signature = split_signature(body.signature)
    with answering():
        token = _vault_token(client, body.token)
        call = client.vault.calls.deposit_with_permit_for(sponsor.relayer, body.account, token, body.amount, body.deadline, signature)
        try:
            receipt = await sponsor.relay(body.account, call)
        except ContractRevertError as err:
            # The vault refuses a permit that is neither applied now nor the account's last one (a
            # front-run permit left its allowance): the permit is at fault, or its deadline.
            if err.error_name not in PERMIT_ERRORS:
                raise
            if body.deadline < drafts.chain_time(client):
                message = "The permit's deadline has passed: sign the deposit again."
                details = {"account": body.account, "deadline": body.deadline}
                raise ApiProblem(HTTPStatus.BAD_REQUEST, "PermitExpired", message, details) from None
            message = (
                "The permit does not allow this deposit: it was signed by another key, for another token, amount or "
                "deadline, or used already. Sign the deposit again."
            )
            raise ApiProblem(HTTPStatus.FORBIDDEN, "InvalidPermit", message, {"account": body.account, "token": token}) from None
    return schemas.RelayedDepositOut(account=body.account, token=token, amount=body.amount, txHash=tx_hash_of(receipt))


def withdrawal_typed_data(client: GridClient, draft: VaultWithdrawalDraft) -> schemas.WithdrawalTypedDataOut:
    to = draft.to or draft.account
    with answering():
        token = _vault_token(client, draft.token)
        drafted = drafts.draft_withdrawal(client, draft.account, token, draft.amount, to, draft.deadline)
    return schemas.WithdrawalTypedDataOut.model_validate(
        {
            "account": draft.account,
            "token": token,
            "amount": draft.amount,
            "to": to,
            "nonce": drafted.nonce,
            "deadline": drafted.deadline,
            "typedData": drafted.typed_data,
        }
    )


async def relay_withdrawal(client: GridClient, sponsor: Sponsor, body: RelayVaultWithdrawal) -> schemas.RelayedWithdrawalOut:
    signature = signature_bytes(split_signature(body.signature))
    with answering():
        token = _vault_token(client, body.token)
        call = client.vault.calls.withdraw_by_sig(sponsor.relayer, body.account, token, body.amount, body.to, body.deadline, signature)
        receipt = await sponsor.relay(body.account, call)
    return schemas.RelayedWithdrawalOut(account=body.account, token=token, amount=body.amount, to=body.to, txHash=tx_hash_of(receipt))


# ---------------------------------------------------------------------------------- standing orders


def _standing_grid(client: GridClient) -> PriceGrid | None:
    """The price grid the meters' next readings place their standing orders on (None: no reading market)."""
    auction = client.reading_auction()
    return None if auction is None else PriceGrid(*auction.current_grid())


def _grid_json(grid: PriceGrid | None) -> dict[str, int] | None:
    if grid is None:
        return None
    return {"minPricePerKWh": grid.min_price_per_kwh, "tickSizePerKWh": grid.tick_size_per_kwh, "maxPricePerKWh": grid.max_price_per_kwh}


def standing_order(client: GridClient, meter: str) -> schemas.StandingOrderOut:
    with answering():
        info = client.smart_meter.get_meter(meter)  # MeterUnknown: 404
        limits = client.smart_meter.standing_order(meter)
        market = client.smart_meter.reading_market()
        approved = int(market, 16) != 0 and client.vault.is_market_approved(info.owner, market)
        grid = _standing_grid(client)
    current = StandingLimits(meter, limits.sell_price_per_kwh, limits.sell_cap_wh, limits.buy_price_per_kwh, limits.buy_cap_wh)
    return schemas.StandingOrderOut.model_validate(
        {
            "meter": meter,
            "owner": info.owner,
            **_limits_json(current),
            "active": not current.removes,
            "vaultDelivery": info.vault_delivery,
            "readingMarket": market,
            "readingMarketApproved": approved,
            "priceGrid": _grid_json(grid),
        }
    )


def _check_standing_prices(grid: PriceGrid | None, tokens: dict[str, TokenInfo], limits: StandingLimits) -> None:
    """Raises PriceOffGrid for limits whose readings would place nothing: the chain takes them without a
    word (a sell price above the grid's top never sells), so the household is told before it signs."""
    if grid is None:
        return
    _, symbol, decimals = tokens["PaymentToken"]
    refusal = standing_off_grid_text(limits.sell_price_per_kwh, limits.buy_price_per_kwh, grid, decimals, symbol)
    if refusal is not None:
        raise ApiProblem(HTTPStatus.BAD_REQUEST, "PriceOffGrid", refusal, {**_limits_json(limits), "priceGrid": _grid_json(grid)})


def standing_order_typed_data(
    client: GridClient, tokens: dict[str, TokenInfo], meter: str, draft: StandingOrderDraft
) -> schemas.StandingOrderTypedDataOut:
    limits = _limits(meter, draft)
    with answering():
        owner = client.smart_meter.get_meter(meter).owner  # MeterUnknown: 404
        _check_standing_prices(_standing_grid(client), tokens, limits)
        drafted = drafts.draft_standing_order(client, owner, limits, draft.deadline)
    return schemas.StandingOrderTypedDataOut.model_validate(
        {
            "meter": meter,
            "owner": owner,
            **_limits_json(limits),
            "nonce": drafted.nonce,
            "deadline": drafted.deadline,
            "typedData": drafted.typed_data,
        }
    )


async def relay_standing_order(
    client: GridClient, sponsor: Sponsor, meter: str, body: RelayStandingOrder
) -> schemas.RelayedStandingOrderOut:
    limits = _limits(meter, body)
    signature = signature_bytes(split_signature(body.signature))
    with answering():
        owner = client.smart_meter.get_meter(meter).owner  # MeterUnknown: 404; the owner signed the limits
        call = client.smart_meter.calls.set_standing_order_by_sig(sponsor.relayer, limits, body.deadline, signature)
        receipt = await sponsor.relay(owner, call)
    return schemas.RelayedStandingOrderOut.model_validate(
        {"meter": meter, **_limits_json(limits), "cleared": limits.removes, "txHash": tx_hash_of(receipt)}
    )

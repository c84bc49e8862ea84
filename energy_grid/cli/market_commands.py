"""The order book: `orders place|cancel|list|book|invalidate-nonces`, `match`, `settle` (EnergyTrading / Settlement)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import click

from energy_grid.cli.output import Column, emit, kwh_fmt, money_fmt, price_fmt, record_table, rows_table, time_fmt
from energy_grid.cli.params import ADDRESS, DECIMAL, energy_wh, to_base_units
from energy_grid.cli.records import record
from energy_grid.cli.session import Session, SetUpError, pass_session
from energy_grid.contracts.client import BUY, SELL
from energy_grid.contracts.structs import OrderInfo
from energy_grid.domain.enums import OrderStatus, OrderType
from energy_grid.domain.orders import escrow_amount, is_live
from energy_grid.wallet.drafts import escrow_needs

SIDES = {"buy": BUY, "sell": SELL}
EXPIRED = "EXPIRED"  # an ACTIVE order past its expiry: it trades no more, its escrow awaits release or cancel
DEFAULT_EXPIRY_S = 3_600
MAX_BOOK_LEVELS = 50  # one view call per level and per order: a screenful, not the whole index
MAX_ORDERS_PER_LEVEL = 200
MAX_SETTLEMENT_BATCH = 50  # Settlement.MAX_SETTLEMENT_BATCH


@click.group()
def orders() -> None:
    """Place, cancel and list orders; show the order book."""


@orders.command("place")
@click.option("--side", type=click.Choice(sorted(SIDES)), required=True, help="buy or sell.")
@click.option("--amount-kwh", type=DECIMAL, default=None, help="Energy, kWh (exact to the Wh), e.g. 1.5.")
@click.option("--amount-wh", type=click.IntRange(min=1), default=None, help="Energy, Wh.")
@click.option("--price", type=DECIMAL, required=True, help="Limit price, PaymentToken per kWh, e.g. 0.21.")
@click.option("--expires-in", type=click.IntRange(min=1), default=DEFAULT_EXPIRY_S, show_default=True,
              help="Seconds from the latest block until the order expires.")
@click.option("--expiry", type=click.IntRange(min=1), default=None, help="Expiry as unix seconds (overrides --expires-in).")
@click.option("--counterparty", type=ADDRESS, default=None,
              help="A directed offer only this address may trade (it never crosses on arrival).")
@click.option("--approve/--no-approve", default=True, show_default=True,
              help="Approve EnergyTrading in the vault first when it is not, and allow the vault the escrow token"
                   " when the vault balance falls short (the vault then pulls the rest from your wallet).")
@pass_session
def place(
    session: Session,
    side: str,
    amount_kwh: Decimal | None,
    amount_wh: int | None,
    price: Decimal,
    expires_in: int,
    expiry: int | None,
    counterparty: str | None,
    approve: bool,
) -> None:
    """Create an order; it escrows at once and trades with the resting orders it crosses.

    The escrow comes from your EnergyVault balance (`vault deposit`); what it falls short of is pulled
    from your wallet. Refunds and payouts are credited to your vault balance (`vault withdraw`)."""
    amount = energy_wh(amount_kwh, amount_wh)
    price_per_kwh = to_base_units(price, session.payment_decimals(), session.payment_symbol(), "--price")
    expiry_s = expiry if expiry is not None else session.latest_timestamp() + expires_in
    order_type = SIDES[side]
    client = session.client
    signer = session.signer
    _check_escrow(session, order_type, amount, price_per_kwh, approve)
    approved = False
    if approve:
        approved = _prepare_escrow(session, order_type, amount, price_per_kwh)
    cancelled_wh = 0
    token = "EnergyToken" if order_type == SELL else "PaymentToken"
    with session.token_shortfalls(token, _deposit_advice(order_type)):
        if counterparty is None:
            placed = client.trading.place_order(signer, amount, price_per_kwh, expiry_s, order_type)
            order_id, fills, cancelled_wh = placed.order_id, placed.transaction_ids, placed.cancelled_wh
        else:
            order_id = client.trading.create_directed_order(signer, amount, price_per_kwh, expiry_s, order_type, counterparty)
            fills = []
    result = {
        "order_id": order_id,
        "trader": signer.address,
        "side": OrderType(order_type).name,
        "amount_wh": amount,
        "price_per_kwh": price_per_kwh,
        "expiry_s": expiry_s,
        "counterparty": counterparty,
        "transaction_ids": fills,
        "cancelled_wh": cancelled_wh,
        "approved": approved,
    }
    # An order that reached the book's crossing bounds kept its fills; the rest was not placed.
    note = f"{kwh_fmt.text(cancelled_wh)} not placed (crossing bound reached): place it again." if cancelled_wh else None
    emit(
        session.json_output,
        result,
        record_table(result, _order_formats(session), title=f"Order {order_id} placed"),
        note=note,
    )


@orders.command("cancel")
@click.argument("order_id", type=click.IntRange(min=1))
@pass_session
def cancel(session: Session, order_id: int) -> None:
    """Cancel one of your orders; its unfilled escrow comes back."""
    session.client.trading.cancel_order(session.signer, order_id)
    info = _order_info(session, order_id)
    emit(session.json_output, info, record_table(info, _order_formats(session), title=f"Order {order_id} cancelled"))


@orders.command("invalidate-nonces")
@click.argument("new_nonce", type=click.IntRange(min=1))
@pass_session
def invalidate_nonces(session: Session, new_nonce: int) -> None:
    """Void your signed orders and cancellations not yet relayed: raise your nonce to NEW_NONCE."""
    trading = session.client.trading
    previous = trading.nonce(session.signer.address)
    trading.invalidate_nonces(session.signer, new_nonce)
    result = {"trader": session.signer.address, "previous_nonce": previous, "nonce": trading.nonce(session.signer.address)}
    emit(session.json_output, result, record_table(result, title="Signed messages below the nonce are void"))


@orders.command("list")
@click.option("--trader", type=ADDRESS, default=None, help="Whose orders; default the signing account's.")
@click.option("--open", "open_only", is_flag=True, help="Only orders still active (not filled, cancelled or expired).")
@click.option("--limit", type=click.IntRange(1, 100), default=20, show_default=True, help="Orders per page, newest first.")
@click.option("--cursor", type=click.IntRange(min=0), default=0, help="Page from this order id (the previous page's next cursor).")
@pass_session
def list_orders(session: Session, trader: str | None, open_only: bool, limit: int, cursor: int) -> None:
    """A trader's orders, newest first; an active order past its expiry (by the latest block's time)
    shows as EXPIRED."""
    address = session.address_or_signer(trader, "--trader")
    page = session.client.trading.trader_orders(address, cursor, limit)
    now_s = session.latest_timestamp()
    rows = [_order_row(info, now_s) for info in page.orders]
    if open_only:
        rows = [row for row in rows if row["status"] == "ACTIVE"]
    decimals, symbol = session.token_info("PaymentToken")
    columns = [
        Column("order_id", "order"),
        Column("side", "side", justify="left"),
        Column("amount_wh", "amount", kwh_fmt),
        Column("filled_wh", "filled", kwh_fmt),
        Column("price_per_kwh", "price", price_fmt(decimals, symbol)),
        Column("expiry_s", "expiry", time_fmt),
        Column("status", "status", justify="left"),
    ]
    note = f"More: --cursor {page.next_cursor}" if page.next_cursor else None
    emit(
        session.json_output,
        {"trader": address, "orders": rows, "next_cursor": page.next_cursor},
        rows_table(rows, columns, title=f"Orders of {address}"),
        note=note,
    )


@orders.command("book")
@click.option("--depth", type=click.IntRange(1, MAX_BOOK_LEVELS), default=10, show_default=True, help="Price levels per side.")
@pass_session
def book(session: Session, depth: int) -> None:
    """The open book: live volume per price level, best prices first (expired and dead entries left out)."""
    now = session.latest_timestamp()
    best = session.client.trading.best_prices()
    bids = _levels(session, BUY, best.best_bid_per_kwh, depth, now)
    asks = _levels(session, SELL, best.best_ask_per_kwh, depth, now)
    decimals, symbol = session.token_info("PaymentToken")
    columns = [
        Column("price_per_kwh", "price", price_fmt(decimals, symbol)),
        Column("amount_wh", "volume", kwh_fmt),
        Column("orders", "orders"),
    ]
    emit(
        session.json_output,
        {"bids": bids, "asks": asks},
        rows_table(list(reversed(asks)), columns, title="Asks (sell)"),
        rows_table(bids, columns, title="Bids (buy)"),
    )


@click.command()
@click.argument("buy_order_id", type=click.IntRange(min=1))
@click.argument("sell_order_id", type=click.IntRange(min=1))
@pass_session
def match(session: Session, buy_order_id: int, sell_order_id: int) -> None:
    """Match a BUY with a SELL order (anyone may) for as much as both have left, at the earlier
    order's price; records a transaction for settlement."""
    transaction_id = session.client.trading.match_orders(session.signer, buy_order_id, sell_order_id)
    info = _transaction(session, transaction_id)
    emit(session.json_output, info, record_table(info, _transaction_formats(session), title=f"Transaction {transaction_id}"))


@click.command()
@click.argument("transaction_ids", nargs=-1, required=True, type=click.IntRange(min=1))
@pass_session
def settle(session: Session, transaction_ids: tuple[int, ...]) -> None:
    """Settle transactions whose settlement window has passed (anyone may): energy to the buyer,
    payment less the fee to the seller. Several ids go in batches of 50."""
    trading = session.client.trading
    ids = list(transaction_ids)
    if len(ids) == 1:
        trading.settle_transaction(session.signer, ids[0])
    else:
        for start in range(0, len(ids), MAX_SETTLEMENT_BATCH):
            trading.settle_transactions(session.signer, ids[start : start + MAX_SETTLEMENT_BATCH])
    rows = [_transaction(session, i) for i in ids]
    decimals, symbol = session.token_info("PaymentToken")
    money = money_fmt(decimals, symbol)
    columns = [
        Column("transaction_id", "transaction"),
        Column("status", "status", justify="left"),
        Column("amount_wh", "energy", kwh_fmt),
        Column("price_per_kwh", "price", price_fmt(decimals, symbol)),
        Column("payment", "payment", money),
        Column("fee", "fee", money),
    ]
    emit(session.json_output, {"transactions": rows}, rows_table(rows, columns, title="Settled"))


# ------------------------------------------------------------------ helpers


def _deposit_advice(order_type: int) -> str:
    if order_type == SELL:
        return (
            "deposit the energy to sell into your vault balance first (`energy-grid vault deposit --amount-kwh …`; "
            "a meter of yours mints it as it exports), or sell less."
        )
    return "deposit more money into your vault balance first (`energy-grid vault deposit --payment …`), or buy less."


def _check_escrow(session: Session, order_type: int, amount_wh: int, price_per_kwh: int, approve: bool) -> None:
    """One sentence (exit 2) before anything is sent when the order's escrow is more than the vault
    balance and what the vault may pull from the wallet (all of it with --approve) hold together."""
    client, account = session.client, session.signer.address
    needs = escrow_needs(client, account, OrderType(order_type), amount_wh, price_per_kwh)
    if needs.shortfall <= 0:
        return
    pullable = needs.wallet if approve else min(needs.wallet, needs.token.allowance(account, client.vault.address))
    if needs.shortfall <= pullable:
        return
    text = session.amount_text(needs.token_name)
    escrow = escrow_amount(OrderType(order_type) == OrderType.BUY, amount_wh, price_per_kwh)
    side = OrderType(order_type).name.lower()
    raise SetUpError(
        f"The {side} order escrows {text(escrow)} but {account} holds {text(escrow - needs.shortfall)} in its vault "
        f"balance and {text(needs.wallet)} in its wallet: {_deposit_advice(order_type)}"
    )


def _prepare_escrow(session: Session, order_type: int, amount_wh: int, price_per_kwh: int) -> bool:
    """Makes the escrow takeable: the book approved in the vault, and, when the vault balance falls
    short of the escrow, the vault allowed to pull the shortfall from the wallet. True when it sent
    a transaction. A wallet that cannot make up the shortfall is the book's refusal to explain."""
    client, signer = session.client, session.signer
    needs = escrow_needs(client, signer.address, OrderType(order_type), amount_wh, price_per_kwh)
    sent = False
    if not needs.market_approved:
        client.vault.approve_market(signer, client.trading.address)
        sent = True
    if needs.allowance_short(client, signer.address):
        needs.token.approve(signer, client.vault.address)  # without limit
        sent = True
    return sent


def _order_info(session: Session, order_id: int) -> dict[str, Any]:
    return _order_row(session.client.trading.get_order_info(order_id), session.latest_timestamp())


def _order_row(info: OrderInfo, now_s: int) -> dict[str, Any]:
    status = info.status.name
    if info.status == OrderStatus.ACTIVE and not is_live(info.expiry, now_s):
        status = EXPIRED
    return {
        "order_id": info.order_id,
        "trader": info.trader,
        "side": info.order_type.name,
        "amount_wh": info.amount_wh,
        "filled_wh": info.filled_wh,
        "price_per_kwh": info.price_per_kwh,
        "expiry_s": info.expiry,
        "status": status,
        "counterparty": None if int(info.counterparty, 16) == 0 else info.counterparty,
        "escrow": info.escrow,
    }


def _order_formats(session: Session) -> dict[str, Any]:
    decimals, symbol = session.token_info("PaymentToken")
    return {
        "amount_wh": kwh_fmt,
        "filled_wh": kwh_fmt,
        "cancelled_wh": kwh_fmt,
        "price_per_kwh": price_fmt(decimals, symbol),
        "expiry_s": time_fmt,
        "counterparty": lambda c: c or "anyone",
    }


def _transaction(session: Session, transaction_id: int) -> dict[str, Any]:
    transaction = session.client.trading.get_transaction(transaction_id)
    return {"transaction_id": transaction_id, **record(transaction), "status": transaction.status.name}


def _transaction_formats(session: Session) -> dict[str, Any]:
    decimals, symbol = session.token_info("PaymentToken")
    money = money_fmt(decimals, symbol)
    return {
        "amount_wh": kwh_fmt,
        "price_per_kwh": price_fmt(decimals, symbol),
        "payment": money,
        "fee": money,
        "buyer_refund": money,
        "matched_at": time_fmt,
    }


def _levels(session: Session, order_type: int, best_price: int, depth: int, now_s: int) -> list[dict[str, Any]]:
    """Up to `depth` levels of one side with live volume, in priority order, from the on-chain index."""
    trading = session.client.trading
    levels: list[dict[str, Any]] = []
    price = best_price
    while price and len(levels) < depth:
        volume_wh, count, order_id, visited = 0, 0, trading.price_level(order_type, price).head_order_id, 0
        while order_id and visited < MAX_ORDERS_PER_LEVEL:
            info = trading.get_order_info(order_id)
            if info.status == OrderStatus.ACTIVE and is_live(info.expiry, now_s):
                volume_wh += info.amount_wh - info.filled_wh
                count += 1
            order_id = trading.next_in_level(order_id)
            visited += 1
        if volume_wh:
            levels.append({"price_per_kwh": price, "amount_wh": volume_wh, "orders": count})
        # SELL levels run upwards from the best ask, BUY levels downwards from the best bid.
        if order_type == SELL:
            price = trading.next_level_price_per_kwh(order_type, price + 1)
        else:
            price = trading.next_level_price_per_kwh(order_type, price - 1) if price > 1 else 0
    return levels

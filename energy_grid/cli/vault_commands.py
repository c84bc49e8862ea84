"""The EnergyVault: `vault deposit|withdraw|balance`. The interval auctions and the meters' standing
orders trade vault balances, so a trader deposits once and withdraws what it holds at any time."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import click

from energy_grid.cli.output import emit, kwh_fmt, money_fmt, record_table
from energy_grid.cli.params import ADDRESS, DECIMAL, energy_wh, to_base_units
from energy_grid.cli.session import Session, SetUpError, pass_session
from energy_grid.domain.enums import OrderStatus, OrderType
from energy_grid.domain.orders import standing_locked

ENERGY, PAYMENT = "EnergyToken", "PaymentToken"
BOOK_PAGE = 100  # book orders read per call of the trader index
MAX_BOOK_PAGES = 20


@click.group()
def vault() -> None:
    """Deposit into, withdraw from and read the EnergyVault balances the interval auctions trade."""


def amount_options(verb: str) -> Any:
    """--amount-kwh / --amount-wh for energy, or --payment for money."""
    options = [
        click.option("--amount-kwh", type=DECIMAL, default=None, help=f"Energy to {verb}, kWh (exact to the Wh), e.g. 1.5."),
        click.option("--amount-wh", type=click.IntRange(min=1), default=None, help=f"Energy to {verb}, Wh."),
        click.option("--payment", type=DECIMAL, default=None, help=f"PaymentToken to {verb}, whole units, e.g. 2.5."),
    ]

    def decorate(command: Any) -> Any:
        for option in reversed(options):
            command = option(command)
        return command

    return decorate


def token_amount(session: Session, amount_kwh: Decimal | None, amount_wh: int | None, payment: Decimal | None) -> tuple[str, int]:
    """The token (its manifest name) and the amount in its base units the user gave."""
    if payment is not None:
        if amount_kwh is not None or amount_wh is not None:
            raise click.UsageError("Give one amount: energy (--amount-kwh, --amount-wh) or money (--payment).")
        return PAYMENT, to_base_units(payment, session.payment_decimals(), session.payment_symbol(), "--payment")
    if amount_kwh is None and amount_wh is None:
        raise click.UsageError("Missing the amount: energy (--amount-kwh 1.5, --amount-wh 1500) or money (--payment 2.5).")
    return ENERGY, energy_wh(amount_kwh, amount_wh)


@vault.command("deposit")
@amount_options("deposit")
@click.option("--approve/--no-approve", default=True, show_default=True,
              help="Approve the vault for the token first when the allowance is short.")
@click.option("--permit", is_flag=True, help="Sign an ERC-2612 permit instead: one transaction, no approval.")
@pass_session
def deposit(
    session: Session, amount_kwh: Decimal | None, amount_wh: int | None, payment: Decimal | None, approve: bool, permit: bool
) -> None:
    """Move energy or money from your wallet into your vault balance, where the auctions take escrow from."""
    token, amount = token_amount(session, amount_kwh, amount_wh, payment)
    client = session.client
    address = client[token].address
    approved = False
    advice = _wallet_advice(token, approve or permit)
    with session.token_shortfalls(token, advice):
        if permit:
            client.vault.deposit_with_permit(session.signer, address, amount)
        else:
            if approve:
                approved = session.ensure_allowance(token, client.vault.address, amount)
            client.vault.deposit(session.signer, address, amount)
    result = {"account": session.signer.address, "token": token, "amount": amount, **_balances(session, session.signer.address)}
    result["approved"] = approved
    # What was approved, in words: the JSON's `approved` alone says only whether a transaction was sent.
    if permit:
        result["approval"] = f"a signed permit of the EnergyVault for exactly this {token}"
    elif approved:
        result["approval"] = f"sent now: the EnergyVault may move your {token} (no limit)"
    else:
        result["approval"] = f"none needed: your {token} allowance to the EnergyVault covered it"
    shown = {key: value for key, value in result.items() if key != "approved"}
    emit(session.json_output, result, record_table(shown, _formats(session, token), title="Deposited"))


@vault.command("withdraw")
@amount_options("withdraw")
@click.option("--to", type=ADDRESS, default=None, help="Send the tokens here; default your own wallet.")
@pass_session
def withdraw(session: Session, amount_kwh: Decimal | None, amount_wh: int | None, payment: Decimal | None, to: str | None) -> None:
    """Send energy or money from your vault balance to a wallet."""
    token, amount = token_amount(session, amount_kwh, amount_wh, payment)
    client = session.client
    signer = session.signer
    held = _balances(session, signer.address)["energy_wh" if token == ENERGY else "payment"]
    if amount > held:
        text = session.amount_text(token)
        raise SetUpError(
            f"Your vault balance holds {text(held)} of free {token}, less than the {text(amount)} to withdraw: "
            "what orders lock comes back when they are cancelled, filled or claimed (`energy-grid vault balance`)."
        )
    client.vault.withdraw(signer, client[token].address, amount, to=to)
    result = {"account": signer.address, "to": to or signer.address, "token": token, "amount": amount, **_balances(session, signer.address)}
    emit(session.json_output, result, record_table(result, _formats(session, token), title="Withdrawn"))


@vault.command("balance")
@click.option("--address", type=ADDRESS, default=None, help="Whose balance; default the signing account's.")
@pass_session
def balance(session: Session, address: str | None) -> None:
    """Your vault balance beside your wallet's, and which auctions may take escrow from it."""
    account = session.address_or_signer(address)
    client = session.client
    approved = [name for name, auction in client.auctions.items() if client.vault.is_market_approved(account, auction.address)]
    locked = locked_escrow(session, account)
    result: dict[str, Any] = {
        "address": account,
        **_balances(session, account),
        "locked_energy_wh": sum(place["energy_wh"] for place in locked.values()),
        "locked_payment": sum(place["payment"] for place in locked.values()),
        "locked": locked,
        "wallet_energy_wh": client.energy_token.balance_of(account),
        "wallet_payment": client.payment_token.balance_of(account),
        "approved_markets": approved,
    }
    # The table: free (the vault's balancesOf, what withdraw and new orders take) and locked, by place.
    rows: dict[str, Any] = {"address": account, "free_energy_wh": result["energy_wh"], "free_payment": result["payment"]}
    for place, held in locked.items():
        rows[f"locked_in_{place}_energy_wh"] = held["energy_wh"]
        rows[f"locked_in_{place}_payment"] = held["payment"]
    rows |= {key: result[key] for key in ("wallet_energy_wh", "wallet_payment", "approved_markets")}
    money = _money(session)
    formats = {key: kwh_fmt if key.endswith("_wh") else money for key in rows if key.endswith(("_wh", "_payment"))}
    emit(session.json_output, result, record_table(rows, formats, title=f"Vault balance of {account}"))


def locked_escrow(session: Session, account: str) -> dict[str, dict[str, int]]:
    """What `account`'s orders hold out of its vault balance, by place (as the API's /vault answers):
    its open book orders' escrow, its auction orders not yet claimed, and its meters' standing orders
    placed and not yet settled. Read from the chain: the book's trader index and the events since the
    deployment's first block."""
    return {
        "book_orders": _locked_in_book(session, account),
        "auction_orders": _locked_in_auctions(session, account),
        "standing_orders": _locked_in_standing_orders(session, account),
    }


def _locked_in_book(session: Session, account: str) -> dict[str, int]:
    held = {"energy_wh": 0, "payment": 0}
    cursor = 0
    for _ in range(MAX_BOOK_PAGES):
        page = session.client.trading.trader_orders(account, cursor, BOOK_PAGE)
        for info in page.orders:
            if info.status == OrderStatus.ACTIVE:
                held["energy_wh" if info.order_type == OrderType.SELL else "payment"] += info.escrow
        cursor = page.next_cursor
        if not cursor:
            break
    return held


def _locked_in_auctions(session: Session, account: str) -> dict[str, int]:
    held = {"energy_wh": 0, "payment": 0}
    mine = {"from_block": session.start_block, "argument_filters": {"trader": account}}
    for market in session.client.auctions.values():
        events = market.contract.events
        claimed = {int(e["args"]["orderId"]) for e in events.OrderClaimed().get_logs(**mine)}
        for e in events.OrderSubmitted().get_logs(**mine):
            if int(e["args"]["orderId"]) not in claimed:
                held["payment" if e["args"]["isBid"] else "energy_wh"] += int(e["args"]["escrow"])
    return held


def _locked_in_standing_orders(session: Session, account: str) -> dict[str, int]:
    held = {"energy_wh": 0, "payment": 0}
    client = session.client
    registered = client["SmartMeter"].events.MeterRegistered().get_logs(
        from_block=session.start_block, argument_filters={"owner": account}
    )
    meters = sorted({str(e["args"]["meter"]) for e in registered})
    if not meters:
        return held
    market = client.auction.contract.functions
    min_price, tick_size = int(market.minPrice().call()), int(market.tickSize().call())
    for meter in meters:
        if client.smart_meter.get_meter(meter).owner != account:
            continue
        energy_wh, payment = standing_locked(market.getMeteredOrders(meter).call(), min_price, tick_size)
        held["energy_wh"] += energy_wh
        held["payment"] += payment
    return held


def _wallet_advice(token: str, approving: bool) -> str:
    if token == ENERGY:
        return "only energy your meters exported to your wallet can be deposited (`energy-grid status` shows your balances)."
    if approving:
        return "get the money into your wallet first (`energy-grid status` shows your balances)."
    return "approve the vault for it (drop --no-approve) or get the money into your wallet first."


def _balances(session: Session, account: str) -> dict[str, int]:
    held = session.client.vault.balances(account)
    return {"energy_wh": held.energy_wh, "payment": held.payment}


def _money(session: Session) -> Any:
    decimals, symbol = session.token_info(PAYMENT)
    return money_fmt(decimals, symbol)


def _formats(session: Session, token: str | None) -> dict[str, Any]:
    formats: dict[str, Any] = {"energy_wh": kwh_fmt, "payment": _money(session)}
    if token is not None:
        formats["amount"] = kwh_fmt if token == ENERGY else _money(session)
    return formats

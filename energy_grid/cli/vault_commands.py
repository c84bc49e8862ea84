"""The EnergyVault: `vault deposit|withdraw|balance`. The interval auctions and the meters' standing
orders trade vault balances, so a trader deposits once and withdraws what it holds at any time."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import click

from energy_grid.cli.output import emit, kwh_fmt, money_fmt, record_table
from energy_grid.cli.params import ADDRESS, DECIMAL, energy_wh, to_base_units
from energy_grid.cli.session import Session, pass_session

ENERGY, PAYMENT = "EnergyToken", "PaymentToken"


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
    if permit:
        client.vault.deposit_with_permit(session.signer, address, amount)
    else:
        if approve:
            approved = session.ensure_allowance(token, client.vault.address, amount)
        client.vault.deposit(session.signer, address, amount)
    result = {"account": session.signer.address, "token": token, "amount": amount, **_balances(session, session.signer.address)}
    result["approved"] = approved
    emit(session.json_output, result, record_table(result, _formats(session, token), title="Deposited"))


@vault.command("withdraw")
@amount_options("withdraw")
@click.option("--to", type=ADDRESS, default=None, help="Send the tokens here; default your own wallet.")
@pass_session
def withdraw(session: Session, amount_kwh: Decimal | None, amount_wh: int | None, payment: Decimal | None, to: str | None) -> None:
    """Send energy or money from your vault balance to a wallet."""
    token, amount = token_amount(session, amount_kwh, amount_wh, payment)
    client = session.client
    signer = session.signer
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
    result: dict[str, Any] = {
        "address": account,
        **_balances(session, account),
        "wallet_energy_wh": client.energy_token.balance_of(account),
        "wallet_payment": client.payment_token.balance_of(account),
        "approved_markets": approved,
    }
    formats = _formats(session, None) | {"wallet_energy_wh": kwh_fmt, "wallet_payment": _money(session)}
    emit(session.json_output, result, record_table(result, formats, title=f"Vault balance of {account}"))


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

"""A meter's standing orders in the reading market: `standing set|show|clear` (SmartMeter). Set once,
they trade every reading: the interval's export offered at the sell limit, its import bid for at the
buy limit, from the owner's vault balance."""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal
from typing import Any

import click

from energy_grid.cli.output import Column, emit, kwh_fmt, price_fmt, record_table, rows_table
from energy_grid.cli.params import ADDRESS, DECIMAL, kwh_to_wh, to_base_units
from energy_grid.cli.session import Session, pass_session
from energy_grid.contracts.structs import MarketInfo
from energy_grid.domain.auction_words import PriceGrid, standing_off_grid_text
from energy_grid.domain.units import ZERO_ADDRESS


@click.group()
def standing() -> None:
    """A meter's standing limits: each reading sells its export and buys its import in the interval auction."""


@standing.command("set")
@click.argument("meter", type=ADDRESS)
@click.option("--sell-price", type=DECIMAL, default=None, help="Lowest price to sell export at, PaymentToken per kWh, e.g. 0.08.")
@click.option("--sell-cap-kwh", type=DECIMAL, default=None, help="Most export to sell per interval, kWh; default all of it.")
@click.option("--buy-price", type=DECIMAL, default=None, help="Highest price to buy import at, PaymentToken per kWh, e.g. 0.12.")
@click.option("--buy-cap-kwh", type=DECIMAL, default=None, help="Most import to buy per interval, kWh; default all of it.")
@click.option("--approve/--no-approve", default=True, show_default=True,
              help="Approve the reading market in the vault first when it is not (else readings place nothing).")
@pass_session
def set_limits(
    session: Session,
    meter: str,
    sell_price: Decimal | None,
    sell_cap_kwh: Decimal | None,
    buy_price: Decimal | None,
    buy_cap_kwh: Decimal | None,
    approve: bool,
) -> None:
    """Set METER's standing limits (its owner only), from its next reading on; replaces the previous
    ones and delivers the meter's export into your vault balance. A bid is cut to the money free in
    your vault balance: deposit with `vault deposit --payment`."""
    if not sell_price and not buy_price:
        raise click.UsageError("Give --sell-price, --buy-price or both (`standing clear` removes the limits).")
    if sell_cap_kwh is not None and not sell_price:
        raise click.UsageError("--sell-cap-kwh needs --sell-price.")
    if buy_cap_kwh is not None and not buy_price:
        raise click.UsageError("--buy-cap-kwh needs --buy-price.")
    decimals, symbol = session.payment_decimals(), session.payment_symbol()
    client = session.client
    signer = session.signer
    sell_price_per_kwh = to_base_units(sell_price, decimals, symbol, "--sell-price") if sell_price else 0
    buy_price_per_kwh = to_base_units(buy_price, decimals, symbol, "--buy-price") if buy_price else 0
    auction = client.reading_auction()
    if auction is not None:
        refusal = standing_off_grid_text(sell_price_per_kwh, buy_price_per_kwh, PriceGrid(*auction.current_grid()), decimals, symbol)
        if refusal is not None:
            raise click.UsageError(refusal)
    market = client.smart_meter.reading_market()
    approved = False
    if approve and market.lower() != ZERO_ADDRESS and not client.vault.is_market_approved(signer.address, market):
        client.vault.approve_market(signer, market)
        approved = True
    client.smart_meter.set_standing_order(
        signer,
        meter,
        sell_price_per_kwh=sell_price_per_kwh,
        sell_cap_wh=kwh_to_wh(sell_cap_kwh, "--sell-cap-kwh") if sell_cap_kwh is not None else 0,
        buy_price_per_kwh=buy_price_per_kwh,
        buy_cap_wh=kwh_to_wh(buy_cap_kwh, "--buy-cap-kwh") if buy_cap_kwh is not None else 0,
    )
    result = {**_limits(session, meter), "approved": approved}
    note = None
    if buy_price and client.vault.balances(signer.address).payment == 0:
        note = "Your vault holds no money: bids place nothing until you deposit (`vault deposit --payment`)."
    emit(session.json_output, result, record_table(result, _formats(session), title=f"Standing limits of {meter}"), note=note)


@standing.command("show")
@click.argument("meter", type=ADDRESS)
@pass_session
def show(session: Session, meter: str) -> None:
    """METER's standing limits and the orders its last readings placed (settled or not)."""
    result = _limits(session, meter)
    client = session.client
    rows: list[dict[str, Any]] = []
    market = result["reading_market"]
    auction = next((a for a in client.auctions.values() if a.address.lower() == market.lower()), None)
    if auction is not None:
        for slot in sorted(auction.metered_orders(meter), key=lambda s: s.period):
            if slot.period == 0:
                continue
            info = auction.get_market(slot.period)  # the market's grid: a placed order's tick is on it
            rows.append({
                "period": slot.period,
                "settled": slot.settled,
                "ask_wh": slot.ask_wh,
                "ask_price_per_kwh": _tick_price(info, slot.ask_tick) if slot.ask_wh else None,
                "bid_wh": slot.bid_wh,
                "bid_price_per_kwh": _tick_price(info, slot.bid_tick) if slot.bid_wh else None,
            })  # fmt: skip
    result["placed"] = rows
    decimals, symbol = session.token_info("PaymentToken")
    at_price = price_fmt(decimals, symbol)
    columns = [
        Column("period", "period"),
        Column("settled", "settled", lambda s: "yes" if s else "no"),
        Column("ask_wh", "offered", kwh_fmt),
        Column("ask_price_per_kwh", "at", at_price),
        Column("bid_wh", "bid for", kwh_fmt),
        Column("bid_price_per_kwh", "at", at_price),
    ]
    scalars = {key: value for key, value in result.items() if key != "placed"}
    emit(
        session.json_output,
        result,
        record_table(scalars, _formats(session), title=f"Standing limits of {meter}"),
        rows_table(rows, columns, title="Placed by its last readings"),
    )


@standing.command("clear")
@click.argument("meter", type=ADDRESS)
@pass_session
def clear(session: Session, meter: str) -> None:
    """Remove METER's standing limits (its owner only): its readings place nothing from now on, and
    orders already placed still settle."""
    session.client.smart_meter.remove_standing_order(session.signer, meter)
    result = _limits(session, meter)
    emit(session.json_output, result, record_table(result, _formats(session), title=f"Standing limits of {meter} removed"))


def _limits(session: Session, meter: str) -> dict[str, Any]:
    client = session.client
    limits = client.smart_meter.standing_order(meter)
    info = client.smart_meter.get_meter(meter)
    market = client.smart_meter.reading_market()
    return {
        "meter": meter,
        "owner": info.owner,
        "sell_price_per_kwh": limits.sell_price_per_kwh,
        "sell_cap_wh": limits.sell_cap_wh,
        "buy_price_per_kwh": limits.buy_price_per_kwh,
        "buy_cap_wh": limits.buy_cap_wh,
        "vault_delivery": info.vault_delivery,
        "reading_market": market,
        "market_approved": market.lower() != ZERO_ADDRESS and client.vault.is_market_approved(info.owner, market),
    }


def _tick_price(market: MarketInfo, tick: int) -> int:
    return market.min_price_per_kwh + tick * market.tick_size_per_kwh


def _formats(session: Session) -> dict[str, Any]:
    decimals, symbol = session.token_info("PaymentToken")
    limit = replace(price_fmt(decimals, symbol), zero="off")  # a price of 0 leaves the side out
    cap = replace(kwh_fmt, zero="all")  # a cap of 0 trades everything
    return {"sell_price_per_kwh": limit, "buy_price_per_kwh": limit, "sell_cap_wh": cap, "buy_cap_wh": cap}

"""The quarter-hourly auction (EnergyAuction): `auction bid|ask|claim`. A firm order buys or sells
energy for one delivery period at its limit price or better; every order of a period trades at the
one price its market clears at, once its gate has closed. The escrow comes from the signer's
EnergyVault balance and the claim pays into it (`vault deposit`, `vault withdraw`)."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import click

from energy_grid.chain.errors import ContractRevertError
from energy_grid.cli.output import emit, kwh_fmt, money_fmt, price_fmt, time_fmt
from energy_grid.cli.params import DECIMAL, energy_wh, to_base_units
from energy_grid.cli.session import Session, pass_session
from energy_grid.contracts.market import ClaimedOrder, EnergyAuction
from energy_grid.contracts.structs import AuctionOrderInfo
from energy_grid.contracts.zones import NO_LIMIT
from energy_grid.domain.auction_words import PriceGrid, escrow_shortfall_text, off_grid_text
from energy_grid.domain.enums import LongSide
from energy_grid.domain.orders import escrow_amount

# The auction's bounds, as EnergyAuction holds them (MAX_ORDER_WH): checked here so that a slip is
# named before anything is sent.
MAX_ORDER_WH = 2**36 - 1
# The refusals of an order id that name no order the user could claim.
NO_SUCH_ORDER = frozenset({"OrderUnknown", "OrderSlotReused"})


@click.group()
def auction() -> None:
    """Firm bids and asks in the quarter-hourly auction, and their claims."""


def order_options(command: Any) -> Any:
    options = [
        click.option("--amount-kwh", type=DECIMAL, default=None, help="Energy, kWh (exact to the Wh), e.g. 1.5."),
        click.option("--amount-wh", type=click.IntRange(min=1), default=None, help="Energy, Wh."),
        click.option("--price", type=DECIMAL, required=True, help="Limit price, PaymentToken per kWh, e.g. 0.21."),
        click.option("--period", type=click.IntRange(min=1), default=None,
                     help="The delivery period's index (its start time / the period length); default the next one open."),
        click.option("--at", "at", default=None,
                     help="Instead of --period: a time in the delivery period, unix seconds or UTC ISO 8601 (2026-06-01T18:00)."),
        click.option("--approve/--no-approve", default=True, show_default=True,
                     help="Approve the auction in the vault first when it is not (it takes the escrow from your vault balance)."),
        click.option("--region", type=click.IntRange(min=0), default=None,
                     help="Trade in this grid region's zone (`auction zones`), at its price; default on the bus."),
    ]
    for option in reversed(options):
        command = option(command)
    return command


# bid and ask take the same options (order_options), passed on to _submit by name.
@auction.command("bid")
@order_options
@pass_session
def bid(session: Session, **order: Any) -> None:
    """Buy up to the amount at the limit price or less; escrows amount × price from your vault balance."""
    _submit(session, True, **order)


@auction.command("ask")
@order_options
@pass_session
def ask(session: Session, **order: Any) -> None:
    """Sell up to the amount at the limit price or more; escrows the energy from your vault balance."""
    _submit(session, False, **order)


@auction.command("claim")
@click.argument("order_id", type=click.IntRange(min=1), required=False)
@click.option("--all", "claim_all", is_flag=True, help="Every order of yours whose market has cleared or may clear now.")
@pass_session
def claim(session: Session, order_id: int | None, claim_all: bool) -> None:
    """Pay out ORDER_ID (anyone's: the payout goes to its trader) into its trader's vault balance, clearing
    its market first when its clearing time has passed and nobody cleared it."""
    if (order_id is None) == (not claim_all):
        raise click.UsageError("Give one ORDER_ID or --all.")
    client = session.client
    market = client.auction
    now = session.latest_timestamp()
    if order_id is not None:
        paid = [_claim_one(session, market, order_id, _known_order(market, order_id), now)]
    else:
        paid = []
        for candidate in market.trader_orders(session.signer.address):
            info = _claimable(market, candidate, now)
            if info is not None:
                paid.append(_claim_one(session, market, candidate, info, now))
    data = [claimed._asdict() for claimed in paid]
    if not paid:
        emit(session.json_output, data, note="None of your auction orders can be claimed now.")
        return
    emit(session.json_output, data, note=" ".join(_paid_sentence(session, claimed) for claimed in paid))


# ---------------------------------------------------------------------------------- orders


def _submit(
    session: Session,
    is_bid: bool,
    amount_kwh: Decimal | None,
    amount_wh: int | None,
    price: Decimal,
    period: int | None,
    at: str | None,
    approve: bool,
    region: int | None,
) -> None:
    amount = energy_wh(amount_kwh, amount_wh)
    if amount > MAX_ORDER_WH:
        raise click.UsageError(f"{kwh_fmt.text(amount)} is more than the auction takes in one order ({kwh_fmt.text(MAX_ORDER_WH)}).")
    decimals, symbol = session.payment_decimals(), session.payment_symbol()
    limit = to_base_units(price, decimals, symbol, "--price")
    client = session.client
    market = client.auction
    signer = session.signer
    now = session.latest_timestamp()
    delivery = _period(market, period, at, now)
    closes = market.gate_closure_time(delivery)
    if closes <= now:
        raise click.UsageError(f"Period {delivery}'s gate closed at {time_fmt.text(closes)}: it takes no more orders.")
    _check_price(market, delivery, limit, decimals, symbol)
    if region is not None:
        _check_zone(session, region)
    escrow = escrow_amount(is_bid, amount, limit)
    _check_balance(session, is_bid, escrow)
    if approve and not client.vault.is_market_approved(signer.address, market.address):
        client.vault.approve_market(signer, market.address)
    if region is None:
        order_id = market.submit_bid(signer, delivery, amount, limit) if is_bid else market.submit_ask(signer, delivery, amount, limit)
    else:
        submit = market.submit_bid_in if is_bid else market.submit_ask_in
        order_id = submit(signer, region, delivery, amount, limit)
    money, per_kwh = money_fmt(decimals, symbol), price_fmt(decimals, symbol)
    starts = delivery * market.period_length_s()
    result = {
        "order_id": order_id,
        "trader": signer.address,
        "side": "BID" if is_bid else "ASK",
        "period": delivery,
        "delivery_start_s": starts,
        "amount_wh": amount,
        "limit_price_per_kwh": limit,
        "escrow": escrow,
        "gate_closure_s": closes,
        "region": region,
    }
    verb, bound = ("buys", "or less") if is_bid else ("sells", "or more")
    escrowed = money.text(escrow) if is_bid else kwh_fmt.text(escrow)
    note = (
        f"Order {order_id} {verb} up to {kwh_fmt.text(amount)} at {per_kwh.text(limit)} {bound} for delivery from "
        f"{time_fmt.text(starts)} (period {delivery}). {escrowed} is escrowed from your vault balance; claim the order "
        f"with `energy-grid auction claim {order_id}` once its market clears after {time_fmt.text(closes)}."
    )
    emit(session.json_output, result, note=note)


def _check_zone(session: Session, region: int) -> None:
    zones = session.client.market_zones
    if zones is None or zones.zone_of(region) == 0:
        raise click.UsageError(f"Region {region} is not a zone of the auction: `energy-grid auction zones` lists them.")


@auction.command("zones")
@click.option("--period", type=click.IntRange(min=1), default=None, help="The delivery period; default the next one open.")
@pass_session
def zones(session: Session, period: int | None) -> None:
    """The auction's zones (feeders): each one's region and link limits for the period and, once the
    period's market cleared across zones, each one's price and net export."""
    client = session.client
    market, market_zones = client.auction, client.market_zones
    if market_zones is None or market_zones.zone_count() == 0:
        emit(session.json_output, [], note="The auction has no zones: every order trades on the bus at one price.")
        return
    now = session.latest_timestamp()
    delivery = _period(market, period, None, now)
    cleared = market.get_market(delivery).long_side == LongSide.ZONES
    traded = market_zones.zones_of(delivery) if cleared else []
    per_kwh = price_fmt(session.payment_decimals(), session.payment_symbol())
    rows, sentences = [], []
    for zone, region in market_zones.regions().items():
        limits = market_zones.link_limits_kw(region, delivery)
        row: dict[str, Any] = {"zone": zone, "region": region, "import_limit_kw": limits.import_kw, "export_limit_kw": limits.export_kw}
        shown = "no limit" if limits.import_kw == NO_LIMIT else f"{limits.import_kw} kW in, {limits.export_kw} kW out"
        sentence = f"Zone {zone} (region {region}): link {shown}"
        if zone in traded:
            result = market_zones.zone_result(delivery, zone)
            row |= {"clearing_price_per_kwh": result.clearing_price_per_kwh, "net_export_wh": result.net_export_wh}
            sentence += f", cleared at {per_kwh.text(result.clearing_price_per_kwh)}, net export {kwh_fmt.text(result.net_export_wh)}"
        rows.append(row)
        sentences.append(sentence + ".")
    emit(session.json_output, rows, note=f"Period {delivery}: " + " ".join(sentences))


@auction.command("limit-link")
@click.option("--region", type=click.IntRange(min=0), required=True, help="Your region, as its grid operator.")
@click.option("--import-kw", type=click.IntRange(min=0), required=True, help="What the link may carry into the zone, kW.")
@click.option("--export-kw", type=click.IntRange(min=0), required=True, help="What it may carry out of the zone, kW.")
@click.option("--period", type=click.IntRange(min=1), default=None, help="The first period; default the next one open.")
@click.option("--periods", type=click.IntRange(1, 96), default=1, show_default=True, help="How many periods from it.")
@pass_session
def limit_link(session: Session, region: int, import_kw: int, export_kw: int, period: int | None, periods: int) -> None:
    """As the region's grid operator, lower its zone's link for coming periods (the transformer's rating caps it)."""
    _check_zone(session, region)
    client = session.client
    zones = client.market_zones
    assert zones is not None  # _check_zone refused an auction without zones
    first = _period(client.auction, period, None, session.latest_timestamp())
    zones.set_link_limits(session.signer, region, first, periods, import_kw, export_kw)
    limits = zones.link_limits_kw(region, first)
    note = (
        f"Region {region}'s link carries at most {limits.import_kw} kW in and {limits.export_kw} kW out in periods "
        f"{first} to {first + periods - 1}."
    )
    emit(session.json_output, {"region": region, "first_period": first, "periods": periods, **limits._asdict()}, note=note)


def _period(market: EnergyAuction, period: int | None, at: str | None, now: int) -> int:
    if period is not None and at is not None:
        raise click.UsageError("Give the delivery period once: --period or --at.")
    if period is not None:
        return period
    if at is not None:
        return market.period_at(_time_of(at))
    return market.next_open_period(now)


def _time_of(text: str) -> int:
    """Unix seconds from `--at`: an integer, or an ISO 8601 time taken as UTC unless it names its zone."""
    if text.isdigit():
        return int(text)
    try:
        when = datetime.fromisoformat(text)
    except ValueError:
        message = f"{text!r} is neither unix seconds nor an ISO 8601 time (2026-06-01T18:00)."
        raise click.BadParameter(message, param_hint="'--at'") from None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return int(when.timestamp())


def _check_price(market: EnergyAuction, period: int, limit: int, decimals: int, symbol: str) -> None:
    refusal = off_grid_text(limit, PriceGrid(*market.grid(period)), decimals, symbol)
    if refusal is not None:
        raise click.UsageError(refusal)


def _check_balance(session: Session, is_bid: bool, escrow: int) -> None:
    """A usage error when the vault balance, with what the vault may pull from the wallet, falls short."""
    client = session.client
    account = session.signer.address
    held = client.vault.balances(account)
    balance = held.payment if is_bid else held.energy_wh
    if balance >= escrow:
        return
    token = client.payment_token if is_bid else client.energy_token
    pullable = min(token.balance_of(account), token.allowance(account, client.vault.address))
    if balance + pullable >= escrow:
        return
    shortfall = escrow_shortfall_text(is_bid, escrow, balance, session.payment_decimals(), session.payment_symbol())
    option = "--payment" if is_bid else "--amount-kwh"
    raise click.UsageError(f"{shortfall} (`energy-grid vault deposit {option} …`).")


# ---------------------------------------------------------------------------------- claims


def _known_order(market: EnergyAuction, order_id: int) -> AuctionOrderInfo:
    try:
        return market.get_order(order_id)
    except ContractRevertError as refused:
        if refused.error_name in NO_SUCH_ORDER:
            raise click.UsageError(f"No auction order {order_id} to claim: it never existed or was paid out already.") from None
        raise


def _claimable(market: EnergyAuction, order_id: int, now: int) -> AuctionOrderInfo | None:
    """The order when it is unclaimed and its market has cleared or may clear now; else None."""
    try:
        info = market.get_order(order_id)
    except ContractRevertError as refused:
        if refused.error_name in NO_SUCH_ORDER:
            return None  # its place holds a later order: it was paid out in line
        raise
    if info.claimed:
        return None
    return info if market.get_market(info.period).cleared or now >= market.clearing_time(info.period) else None


def _claim_one(session: Session, market: EnergyAuction, order_id: int, info: AuctionOrderInfo, now: int) -> ClaimedOrder:
    if info.claimed:
        raise click.UsageError(f"Auction order {order_id} was claimed already.")
    if not market.get_market(info.period).cleared:
        clears_at = market.clearing_time(info.period)
        if now < clears_at:
            raise click.UsageError(
                f"Auction order {order_id}'s market (period {info.period}) clears from {time_fmt.text(clears_at)}: claim it then."
            )
        market.clear(session.signer, info.period)
    return market.claim(session.signer, order_id)


def _paid_sentence(session: Session, claimed: ClaimedOrder) -> str:
    money = money_fmt(session.payment_decimals(), session.payment_symbol())
    if claimed.is_bid:
        bought = f"{kwh_fmt.text(claimed.filled_wh)} bought for {money.text(claimed.payment)}"
        paid = f"{bought}, and {money.text(claimed.refund)} of escrow back"
    else:
        proceeds = money.text(claimed.payment - claimed.fee)
        sold = f"{proceeds} for {kwh_fmt.text(claimed.filled_wh)} sold (after {money.text(claimed.fee)} grid fee)"
        paid = f"{sold}, and {kwh_fmt.text(claimed.refund)} unsold back"
    return f"Order {claimed.order_id} paid {paid}, into {claimed.trader}'s vault balance."

"""The tour's interval auction: two dozen neighbours trade one quarter hour at one price.

Twelve households with surplus PV offer it, twelve others bid for it; the gate closes, a keeper
clears the market and claims for everyone; the result is checked against the Python reference
rule (energy_grid.domain.auction) and printed with the supply and demand curves.
"""

from __future__ import annotations

import random
from typing import Any

from eth_account import Account

from energy_grid.cli.report import heading, print_table
from energy_grid.deploy.operations import approve_vault_market
from energy_grid.deploy.system import LOCAL_OPERATOR_REGION
from energy_grid.domain.auction import AuctionOrder, clear_market, curves, price_of
from energy_grid.domain.units import INTERVAL_SECONDS, format_kwh
from energy_grid.tour.steps import money

SELLERS, BUYERS = 12, 12
SEED = 8  # the same neighbours, amounts and limits on every run
GAS_FUNDING_WEI = 10**18
FAUCET_WHOLE_UNITS = 100


def neighbours(chain: Any, funder: Any, system: Any, count: int) -> list[Any]:
    """Fresh local accounts with gas money and faucet stablecoin, each approving the auction in the vault."""
    accounts = [chain.account_manager.test_accounts.generate_test_account() for _ in range(count)]
    for account in accounts:
        funder.transfer(account, GAS_FUNDING_WEI)
        system.payment_token.addConsumerBalance(account, FAUCET_WHOLE_UNITS, sender=funder)
    approve_vault_market(system, system.energy_auction, accounts)
    return accounts


def meter_surplus(system: Any, operator: Any, chain: Any, sellers: list[Any], surplus_wh: list[int]) -> None:
    """Each seller's meter reports the quarter hour's export: SmartMeter mints it as EnergyToken."""
    meter = system.smart_meter
    devices = [Account.create().address for _ in sellers]
    for device, seller in zip(devices, sellers, strict=True):
        meter.registerMeter(device, seller, LOCAL_OPERATOR_REGION, sender=operator)
    start = chain.pending_timestamp
    meter.submitReadings(devices, [(start, 0, 0, 50_000, 1_000)] * len(devices), sender=operator)
    chain.pending_timestamp = start + INTERVAL_SECONDS
    readings = [(start + INTERVAL_SECONDS, 0, wh, 50_000, 1_000) for wh in surplus_wh]
    meter.submitReadings(devices, readings, sender=operator)


def run_auction(system: Any, operator: Any, chain: Any) -> None:
    """One quarter hour's auction with 24 participants, cleared, claimed and checked."""
    auction = system.energy_auction
    rng = random.Random(SEED)
    min_price, tick_size = auction.minPrice(), auction.tickSize()

    def tick_near(price_per_kwh: int) -> int:
        return (price_per_kwh - min_price) // tick_size

    sellers = neighbours(chain, operator, system, SELLERS)
    buyers = neighbours(chain, operator, system, BUYERS)
    # Asks: PV surplus of 0.3-1.5 kWh at 0.12-0.22 per kWh; bids: 0.2-1.2 kWh at 0.16-0.28.
    asks = [(rng.randrange(300, 1_500, 10), tick_near(rng.randrange(120_000, 220_000))) for _ in sellers]
    bids = [(rng.randrange(200, 1_200, 10), tick_near(rng.randrange(160_000, 280_000))) for _ in buyers]
    bids[-1] = (bids[-1][0], bids[-2][1])  # two buyers share a limit: the marginal level may be rationed
    meter_surplus(system, operator, chain, sellers, [wh for wh, _ in asks])

    period = auction.currentPeriod() + 3
    gate = auction.gateClosureTime(period)
    heading(f"Interval auction: period {period}, delivery from unix {period * auction.periodLength()}, gate closes at {gate}")
    names, submitted = {}, []
    for i, (account, (amount_wh, tick)) in enumerate(zip(sellers, asks, strict=True)):
        order_id = auction.submitAsk(period, amount_wh, price_of(tick, min_price, tick_size), sender=account).return_value
        names[order_id] = f"seller {i + 1}"
        submitted.append(AuctionOrder(order_id, False, amount_wh, tick))
    for i, (account, (amount_wh, tick)) in enumerate(zip(buyers, bids, strict=True)):
        order_id = auction.submitBid(period, amount_wh, price_of(tick, min_price, tick_size), sender=account).return_value
        names[order_id] = f"buyer {i + 1}"
        submitted.append(AuctionOrder(order_id, True, amount_wh, tick))

    # The reading market clears once its interval's readings are in: the period's end plus the deadline.
    chain.pending_timestamp = auction.clearingTime(period)
    auction.clear(period, sender=operator)  # anyone may
    market = auction.getMarket(period)
    reference = clear_market(submitted, market.tickCount)
    print_curves(submitted, market, min_price, tick_size)

    for order in submitted:
        auction.claim(order.order_id, sender=operator)  # a keeper claims for everyone: into the traders' vault balances
    rows, agree = [], (reference.tick, reference.volume_wh) == (market.clearingTick, market.volumeWh)
    for order in submitted:
        outcome = auction.getOrderOutcome(order.order_id)
        agree &= outcome.filledWh == reference.fills_wh[order.order_id]
        received = outcome.payment - outcome.fee if not order.is_bid else 0
        rows.append(
            (
                names[order.order_id],
                "bid" if order.is_bid else "ask",
                money(price_of(order.tick, min_price, tick_size)),
                format_kwh(order.amount_wh),
                format_kwh(outcome.filledWh),
                money(outcome.payment) if order.is_bid else money(received),
                money(outcome.refund) if order.is_bid else format_kwh(outcome.refund),
            )
        )
    print_table(
        "claim(orderId): everyone trades at the clearing price",
        ["participant", "side", "limit / kWh", "amount", "filled", "paid / received", "refund"],
        rows,
    )
    print(
        f"Cleared {format_kwh(market.volumeWh)} at {money(market.clearingPricePerKWh)} per kWh; "
        f"grid fees {money(auction.accruedFees())}. The Python reference rule gives the same price, "
        f"volume and every fill: {'yes' if agree else 'NO'}."
    )
    if not agree:
        raise RuntimeError("EnergyAuction and energy_grid.domain.auction disagree")


def print_curves(orders: list[AuctionOrder], market: Any, min_price: int, tick_size: int) -> None:
    """Demand and supply at every price where an order sits, and the clearing point."""
    demand, supply = curves(orders, market.tickCount)
    shown = sorted({order.tick for order in orders} | {market.clearingTick})
    bid_wh = {tick: sum(o.amount_wh for o in orders if o.is_bid and o.tick == tick) for tick in shown}
    ask_wh = {tick: sum(o.amount_wh for o in orders if not o.is_bid and o.tick == tick) for tick in shown}
    print_table(
        "Supply and demand: D(p) = bids at or above p, S(p) = asks at or below p",
        ["price / kWh", "bids at p", "asks at p", "demand D(p)", "supply S(p)", "tradable min(D, S)", ""],
        [
            (
                money(price_of(tick, min_price, tick_size)),
                format_kwh(bid_wh[tick]) if bid_wh[tick] else "",
                format_kwh(ask_wh[tick]) if ask_wh[tick] else "",
                format_kwh(demand[tick]),
                format_kwh(supply[tick]),
                format_kwh(min(demand[tick], supply[tick])),
                "<- clearing price" if tick == market.clearingTick else "",
            )
            for tick in reversed(shown)
        ],
    )
    long_side = ("none", "bids", "asks")[market.longSide]
    if market.longSide:
        print(
            f"Long side: {long_side}; its orders at {money(price_of(market.marginalTick, min_price, tick_size))} share "
            f"{format_kwh(market.rationedWh)} of their {format_kwh(market.marginalLevelWh)} pro rata, in arrival order."
        )

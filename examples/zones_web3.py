"""Plain web3.py and the deployment manifest only: one interval market coupled across two feeders.

Two feeders, Hill (grid region 1) and Town (region 2), are zones of the reading market (MarketZones);
each joins the common bus through its transformer's link. A seller on Hill offers cheap energy, a buyer
on Town bids high and a seller on Town asks more than Hill does. Hill's operator then lowers Hill's link
to 4 kW for the period (1,000 Wh over a quarter hour), as it would when its transformer runs hot. The
market clears once: Hill exports what its link carries, Town buys the rest from its own seller, and each
zone gets its own price. The difference times the flow, the congestion rent, accrues with the grid fees
for the grid operator's fund. The script prints each zone's price and net export and each order's fill.

    make node && make deploy     # then:
    .venv/bin/python examples/zones_web3.py

Local chains only: anvil's unlocked dev accounts sign (0: the deployer, which keeps every admin role
locally, operates region 1 and runs the meters; 1: the Hill seller; 2: the Town buyer; 3: the Town
seller), the deployer adds the two zones if the deployment has none, and the clock jumps to the
clearing time (evm_setNextBlockTimestamp and evm_mine).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any, NamedTuple

from web3 import Web3
from web3.logs import DISCARD

# The walk-through of standing orders beside this file holds the manifest's loading and the dev chain's
# transactions; this one reuses them.
sys.path.insert(0, str(Path(__file__).resolve().parent))
from standing_order_web3 import FREQUENCY_MILLIHZ, VOLTAGE_PER_MILLE, Chain, deployed_manifest

RPC_URL = os.environ.get("RPC_URL", "http://127.0.0.1:8545")
HILL, TOWN = 1, 2  # grid regions; the local deployer operates region 1
HILL_LINK_KW = 4  # Hill's operator's limit for the period, both ways
# (zone's region, is a bid, Wh, limit price per kWh in the 6-decimal PaymentToken)
ORDERS = [(HILL, False, 4_000, 60_000), (TOWN, True, 3_000, 200_000), (TOWN, False, 2_000, 150_000)]


class ZonePrice(NamedTuple):
    region: int
    zone: int
    price_per_kwh: int
    net_export_wh: int  # negative: the zone imported


class OrderFill(NamedTuple):
    region: int
    is_bid: bool
    amount_wh: int
    filled_wh: int
    payment: int  # a bid: what it paid; an ask: its gross, fee included


class Coupled(NamedTuple):
    period: int
    bus_price_per_kwh: int
    zones: list[ZonePrice]
    orders: list[OrderFill]
    congestion_rent: int


def run(w3: Web3, manifest: dict[str, Any]) -> Coupled:
    """The walk-through; prints the market's zones and fills and returns them."""
    chain = Chain(w3, manifest)
    meter, vault, market = chain["SmartMeter"], chain["EnergyVault"], chain.market
    zones = w3.eth.contract(address=market.functions.marketZones().call(), abi=manifest["contracts"]["MarketZones"]["abi"])
    energy, payment = chain["EnergyToken"], chain["PaymentToken"]
    operator = w3.eth.accounts[0]
    traders = dict(zip(range(len(ORDERS)), w3.eth.accounts[1:4], strict=True))

    # The two feeders as zones (a deployment for a real community lists them when it deploys).
    for region in (HILL, TOWN):
        if zones.functions.zoneOf(region).call() == 0:
            chain.send(zones.functions.addZone(region), operator)

    # Each seller's meter reports a quarter hour of export; SmartMeter mints it to the seller's wallet.
    sellers = [(i, wh) for i, (_, is_bid, wh, _) in enumerate(ORDERS) if not is_bid]
    meters = {i: w3.eth.account.create().address for i, _ in sellers}
    register = meter.get_function_by_signature("registerMeter(address,address,uint32,uint256,uint256)")
    for i, _ in sellers:
        chain.send(register(meters[i], traders[i], ORDERS[i][0], 0, 0), operator)
    read_at = chain.advance_to(chain.now() + 60)
    readings = [(read_at, 0, wh, FREQUENCY_MILLIHZ, VOLTAGE_PER_MILLE) for _, wh in sellers]
    chain.send(meter.functions.submitReadings([meters[i] for i, _ in sellers], readings), operator)

    # Into the vault: an ask escrows its energy, a bid ceil(Wh x limit / 1000) of the PaymentToken.
    for i, (_, is_bid, wh, limit) in enumerate(ORDERS):
        token, amount = (payment, -(-wh * limit // 1_000)) if is_bid else (energy, wh)
        chain.send(token.functions.approve(vault.address, amount), traders[i])
        chain.send(vault.functions.deposit(token.address, amount), traders[i])
        chain.send(vault.functions.setMarketApproval(market.address, True), traders[i])

    # Hill's operator lowers its link for the period, while the period's gate is still open.
    period_length = market.functions.periodLength().call()
    period = chain.now() // period_length + 3
    chain.send(zones.functions.setLinkLimits(HILL, period, 1, HILL_LINK_KW, HILL_LINK_KW), operator)

    ids = []
    for i, (region, is_bid, wh, limit) in enumerate(ORDERS):
        submit = market.functions.submitBidIn if is_bid else market.functions.submitAskIn
        receipt = chain.send(submit(region, period, wh, limit), traders[i])
        (submitted,) = market.events.OrderSubmitted().process_receipt(receipt, errors=DISCARD)
        ids.append(submitted.args.orderId)

    # After the period's end and its reading deadline anyone clears.
    chain.advance_to(market.functions.clearingTime(period).call())
    receipt = chain.send(market.functions.clear(period), operator)
    (rent,) = zones.events.CongestionRentAccrued().process_receipt(receipt, errors=DISCARD)

    zone_prices = []
    for region in (HILL, TOWN):
        zone = zones.functions.zoneOf(region).call()
        result = zones.functions.getZoneResult(period, zone).call()
        zone_prices.append(ZonePrice(region, zone, result[1], result[2]))  # ZoneInfo.clearingPricePerKWh, .netExportWh
    fills = []
    for order_id, (region, is_bid, wh, _) in zip(ids, ORDERS, strict=True):
        outcome = market.functions.getOrderOutcome(order_id).call()  # (filledWh, payment, fee, refund, claimed)
        fills.append(OrderFill(region, is_bid, wh, outcome[0], outcome[1]))
    coupled = Coupled(period, market.functions.getMarket(period).call()[6], zone_prices, fills, rent.args.rent)
    print_coupled(coupled)
    return coupled


def print_coupled(coupled: Coupled) -> None:
    print(f"interval {coupled.period}: the bus cleared at {coupled.bus_price_per_kwh} per kWh")
    for z in coupled.zones:
        flow = f"exported {z.net_export_wh} Wh" if z.net_export_wh >= 0 else f"imported {-z.net_export_wh} Wh"
        print(f"zone {z.zone} (region {z.region}): {z.price_per_kwh} per kWh, {flow}")
    for o in coupled.orders:
        side = "bid" if o.is_bid else "ask"
        print(f"  region {o.region} {side} of {o.amount_wh} Wh: filled {o.filled_wh} Wh for {o.payment}")
    print(f"congestion rent for the grid operator's fund: {coupled.congestion_rent}")


def main() -> None:
    w3 = Web3(Web3.HTTPProvider(RPC_URL))
    run(w3, deployed_manifest(w3))


if __name__ == "__main__":
    main()

"""The feature tour's story: a community's meters through a morning, then a small market.

Each step prints a readable table; scripts/tour.py runs them on an embedded anvil.
"""

from __future__ import annotations

import base64
import json
import math
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from eth_account import Account

from energy_grid.cli.report import heading, print_table
from energy_grid.deploy.operations import BUY, SELL, approve_market
from energy_grid.deploy.system import LOCAL_OPERATOR_REGION
from energy_grid.domain.demand_response import MeterWriter, verify_from_meter, window_intervals
from energy_grid.domain.enums import OrderStatus
from energy_grid.domain.pricing import dynamic_price
from energy_grid.domain.units import DAY_SECONDS, INTERVAL_SECONDS, day_of, format_kwh, format_money
from energy_grid.tour.community import Prosumer

FIRST_HOUR, LAST_HOUR = 5, 14  # the morning simulated, UTC


def register_meters(system: Any, operator: Any, community: list[Prosumer], owners: list[Any]) -> list[str]:
    """One meter device per prosumer, registered to its owner; returns the device addresses."""
    heading("Meters")
    devices = [Account.create().address for _ in community]
    for p, device, owner in zip(community, devices, owners, strict=True):
        system.smart_meter.registerMeter(device, owner, p.region_id, sender=operator)
    print_table(
        "Registered meters",
        ["prosumer", "meter device", "owner", "region"],
        [(p.name, device, owner.address, p.region_id) for p, device, owner in zip(community, devices, owners, strict=True)],
    )
    return devices


def run_morning(system: Any, gateway: Any, chain: Any, community: list[Prosumer], devices: list[str]) -> int:
    """Feeds FIRST_HOUR..LAST_HOUR of tomorrow (UTC, chain clock) as one gateway batch per 15 minutes.

    Returns the day simulated."""
    day = day_of(chain.pending_timestamp) + 1
    start = day * DAY_SECONDS + FIRST_HOUR * 3600
    steps = (LAST_HOUR - FIRST_HOUR) * 3600 // INTERVAL_SECONDS
    heading(f"Readings: {steps + 1} batches of {len(community)}, one per 15 minutes")
    for step in range(steps + 1):
        timestamp = start + step * INTERVAL_SECONDS
        chain.pending_timestamp = timestamp
        if step:  # the first batch is every meter's baseline
            for p in community:
                p.advance(hour=FIRST_HOUR + (step - 1) * INTERVAL_SECONDS / 3600)
        # The grid's frequency and voltage wander a little around nominal, as every meter sees them.
        frequency_millihz = 50_000 + round(25 * math.sin(step / 3))
        voltage_per_mille = 1_000 + round(12 * math.cos(step / 5))
        readings = [
            (timestamp, p.consumption_register_wh, p.production_register_wh, frequency_millihz, voltage_per_mille)
            for p in community
        ]
        system.smart_meter.submitReadings(devices, readings, sender=gateway)
    return day


def print_meter_day(system: Any, community: list[Prosumer], devices: list[str], owners: list[Any], day: int) -> None:
    meter, token = system.smart_meter, system.energy_token
    rows = []
    for p, device, owner in zip(community, devices, owners, strict=True):
        latest = meter.getLatestReading(device)
        rows.append(
            (
                p.name,
                format_kwh(meter.getDailyConsumption(device, day)),
                format_kwh(meter.getDailyProduction(device, day)),
                format_kwh(token.balanceOf(owner)),
                f"{latest.gridFrequency / 1000:.3f} Hz",
                f"{latest.voltage / 10:.1f} %",
            )
        )
    print_table(
        f"Day {day}, {FIRST_HOUR:02d}:00-{LAST_HOUR:02d}:00 UTC",
        ["prosumer", "imported", "exported", "EnergyToken minted", "last frequency", "last voltage"],
        rows,
    )
    print(f"EnergyToken total supply: {format_kwh(token.totalSupply())} (1 token unit = 1 Wh)")


def money(amount: int) -> str:
    """An amount of the tour's MockStablecoin (6 decimals), in whole units."""
    return format_money(amount, 6, "MOCKUSD")


@dataclass
class MarketDesk:
    """The demo's window on the order book: who is who, the orders' expiry, and the trades its
    orders made on arrival (settled together at the end)."""

    market: Any
    label: dict[str, str]
    expiry: int
    trades: list[int] = field(default_factory=list)

    def order(self, trader: Any, kind: int, amount_wh: int, price_per_kwh: int) -> int:
        """Places an order and tells what it crossed on arrival; returns its id."""
        tx = self.market.createOrder(amount_wh, price_per_kwh, self.expiry, kind, sender=trader)
        fills = tx.events.filter(self.market.OrdersMatched)
        side = "buy" if kind == BUY else "sell"
        what = f"{self.label[trader.address]}'s {side} of {format_kwh(amount_wh)} at {money(price_per_kwh)} / kWh"
        if not fills:
            print(f"{what}: crosses nothing, rests on the book")
        for fill in fills:
            resting = self.market.getOrderInfo(fill.sellOrderId if kind == BUY else fill.buyOrderId)
            print(
                f"{what}: traded {format_kwh(fill.amountWh)} at once with {self.label[resting.trader]}'s resting "
                f"order at {money(fill.pricePerKWh)} / kWh (transaction {fill.transactionId})"
            )
            self.trades.append(fill.transactionId)
        return int(tx.return_value)


def run_market(system: Any, keeper: Any, chain: Any, traders: list[Any], names: list[str]) -> None:
    """Two sellers, two buyers on the continuous book: each buy crosses the resting sells on
    arrival (best price first, at the sellers' prices), one cancel, settlement by a keeper."""
    heading("Market")
    label = dict(zip((t.address for t in traders), names, strict=True))
    approve_market(system, traders)  # the book in the vault; escrow pulled from the wallets
    before = holdings(system, traders)
    desk = MarketDesk(system.energy_trading, label, expiry=chain.pending_timestamp + 4 * 3600)
    order_ids = trade_the_morning(desk, traders)
    system.energy_trading.settleTransactions(desk.trades, sender=keeper)
    print_orders(desk, order_ids)
    print_trades(desk)
    print_balance_changes(system, desk, traders, before)


def holdings(system: Any, traders: list[Any]) -> dict[str, tuple[int, int]]:
    """Each trader's EnergyToken (Wh) and payment token, wallet and EnergyVault balance together: the
    book escrows from the vault balance (pulling a shortfall from the wallet) and credits refunds
    and payouts to it."""
    energy, cash, vault = system.energy_token, system.payment_token, system.energy_vault
    rows = {}
    for t in traders:
        vault_wh, vault_payment = vault.balancesOf(t)
        rows[t.address] = (energy.balanceOf(t) + vault_wh, cash.balanceOf(t) + vault_payment)
    return rows


def trade_the_morning(desk: MarketDesk, traders: list[Any]) -> list[int]:
    """Two sells and a spare rest; two buys cross them on arrival; the spare is withdrawn.
    Returns the order ids in the order placed."""
    alice, bob, carol, dave = traders
    # Prices in MOCKUSD base units (6 decimals) per kWh: 0.21 = 210_000.
    alice_sell = desk.order(alice, SELL, 12_000, 210_000)
    bob_sell = desk.order(bob, SELL, 20_000, 195_000)
    bob_spare = desk.order(bob, SELL, 5_000, 260_000)
    carol_buy = desk.order(carol, BUY, 4_000, 230_000)  # takes 4 kWh of Bob's cheaper offer
    dave_buy = desk.order(dave, BUY, 18_000, 215_000)  # Bob's rest first, then Alice's
    desk.market.cancelOrder(bob_spare, sender=bob)  # nobody pays 0.26: Bob withdraws it
    return [alice_sell, bob_sell, bob_spare, carol_buy, dave_buy]


ORDER_STATUS = ("active", "filled", "cancelled")  # IEnergyTrading.OrderStatus


def print_orders(desk: MarketDesk, order_ids: list[int]) -> None:
    market, label = desk.market, desk.label
    print_table(
        "Orders",
        ["order", "trader", "side", "amount", "filled", "limit price / kWh", "status"],
        [
            (
                oid,
                label[info.trader],
                "sell" if info.orderType == SELL else "buy",
                format_kwh(info.amount),
                format_kwh(info.filledAmount),
                money(info.price),
                ORDER_STATUS[info.status],
            )
            for oid in order_ids
            for info in [market.getOrderInfo(oid)]
        ],
    )


def print_trades(desk: MarketDesk) -> None:
    market, label = desk.market, desk.label
    print_table(
        "Trades (settled)",
        ["trade", "seller", "buyer", "energy", "price / kWh", "paid", "grid fee", "price improvement back"],
        [
            (
                tid,
                label[t.seller],
                label[t.buyer],
                format_kwh(t.amountWh),
                money(t.pricePerKWh),
                money(t.payment),
                money(t.fee),
                money(t.buyerRefund),
            )
            for tid in desk.trades
            for t in [market.getTransaction(tid)]
        ],
    )


def escrowed_energy(market: Any, trader: Any) -> int:
    """Wh escrowed in the trader's open SELL orders (the tour's traders place a few orders: one page)."""
    orders, _ = market.getTraderOrders(trader, 0, 100)
    # OrderInfo fields 6, 7 and 9: orderType, status, escrow.
    return sum(o[9] for o in orders if o[6] == SELL and o[7] == OrderStatus.ACTIVE)


def print_balance_changes(system: Any, desk: MarketDesk, traders: list[Any], before: dict[str, tuple[int, int]]) -> None:
    after = holdings(system, traders)
    print_table(
        "Balances (wallet and vault): change through the market",
        ["trader", "EnergyToken", "of which in open orders", "MOCKUSD"],
        [
            (
                desk.label[t.address],
                format_kwh(after[t.address][0] - before[t.address][0]),
                format_kwh(escrowed_energy(desk.market, t)),
                money(after[t.address][1] - before[t.address][1]),
            )
            for t in traders
        ],
    )


# ----------------------------------------------------------------------------- the grid

WIND, SOLAR = 1, 0  # IGridManagement.EnergyType
UNDER_FREQUENCY, GENERATION_UP = 1, 1  # IGridOperations.TriggerCondition, ActionType
LOAD_STATUS = ("low", "normal", "high", "critical")
STABILITY_LEVEL = ("normal", "alert", "emergency", "critical")
REGION_CAPACITY_MW = 100
MW = 1_000_000  # W
KW_PER_MW = 1_000  # GridOperations carries power in kW


def run_grid(system: Any, operator: Any, wind_farm: Any, solar_park: Any, region_id: int) -> None:
    """A region through normal, high and critical load; an automated response; the emergency price."""
    heading(f"Grid: region {region_id}, {REGION_CAPACITY_MW} MW")
    grid, ops = system.grid_management, system.grid_operations
    grid.registerProducer(60 * MW, WIND, sender=wind_farm)
    grid.registerProducer(40 * MW, SOLAR, sender=solar_park)
    # Only capacity and output an operator verified count in the price.
    grid.verifyProducer(wind_farm, sender=operator)
    grid.verifyProducer(solar_park, sender=operator)
    base = grid.basePrice()

    rows = []
    for demand_mw in (50, 85, 97):
        # Producers follow demand (60 % wind, 40 % solar); the operator reports the region's load.
        grid.reportProduction(demand_mw * MW * 6 // 10, sender=wind_farm)
        grid.reportProduction(demand_mw * MW * 4 // 10, sender=solar_park)
        ops.reportLoad(region_id, REGION_CAPACITY_MW * KW_PER_MW, demand_mw * KW_PER_MW, sender=operator)
        load = ops.getCurrentLoad(region_id)
        status = grid.getGridStatus()
        rows.append(
            (
                f"{demand_mw} MW",
                f"{load.loadPercentage} %",
                LOAD_STATUS[load.status],
                f"{status.currentLoadW / MW:.1f} MW",
                f"{status.utilizationBps / 100:.2f} %",
                money(grid.getDynamicPrice()),
                money(dynamic_price(base, status.currentLoadW, status.totalCapacityW)),
            )
        )
    print_table(
        "Load: reportLoad and producers' output",
        ["demand", "load", "status", "grid load", "utilization", "getDynamicPrice()", "base + base*min(load,capacity)/(2*capacity)"],
        rows,
    )

    heading("Stability: an automated response, then a critical report")
    ops.configureAutomatedResponse(UNDER_FREQUENCY, GENERATION_UP, 10 * KW_PER_MW, 1, sender=operator)
    stability_rows = []
    for frequency_millihz in (50_020, 49_350, 47_800):
        price_before = grid.getDynamicPrice()
        tx = ops.reportStabilityMetrics(region_id, frequency_millihz, 1_000, 0, sender=operator)
        fired = tx.events.filter(ops.AutomatedResponseFired)
        level = ops.getStabilityMetrics(region_id).level
        response = (
            f"#{fired[0].responseId}: generation up {fired[0].targetAdjustmentKW:,} kW" if fired else "-"
        )
        stability_rows.append(
            (
                f"{frequency_millihz / 1000:.3f} Hz",
                STABILITY_LEVEL[level],
                response,
                "on" if grid.getGridStatus().emergencyMode else "off",
                money(price_before),
                money(grid.getDynamicPrice()),
            )
        )
    print_table(
        "reportStabilityMetrics",
        ["frequency", "level", "automated response", "emergency mode", "price before", "price after"],
        stability_rows,
    )
    emergency = grid.getEmergency(grid.emergencyCount())
    reason = bytes(emergency.reason).rstrip(b"\0").decode()
    print(
        f"Emergency #{grid.emergencyCount()} in region {emergency.regionId}: {reason}, severity "
        f"{emergency.severity}; the price is now 3 x base = {money(grid.getDynamicPrice())} per kWh."
    )
    status = grid.getGridStatus()
    print_table(
        "getGridStatus()",
        ["field", "value"],
        [
            ("totalCapacityW", f"{status.totalCapacityW:,} W"),
            ("currentLoadW", f"{status.currentLoadW:,} W"),
            ("utilizationBps", f"{status.utilizationBps:,} bps"),
            ("emergencyMode", status.emergencyMode),
            ("activeProducers", status.activeProducers),
            ("basePricePerKWh", money(status.basePricePerKWh)),
            ("dynamicPricePerKWh", money(status.dynamicPricePerKWh)),
        ],
    )


def bps(value: int) -> str:
    return f"x{value / 10_000:.4f}"


def run_price_discovery(system: Any, reporter: Any, trader: Any, chain: Any, region_id: int) -> None:
    """Oracle reports, PriceDiscovery's reference price, and the market's price band."""
    heading(f"Price discovery: region {region_id}")
    system.price_oracle.submitPrice(220_000, sender=reporter)  # 0.22 per kWh
    # A bright, breezy hour: 650 W/m², 18 °C, 6 m/s, 30 % cloud; the grid slightly short of supply.
    system.weather_oracle.submitWeather(region_id, 650, 18_000, 6_000, 3_000, sender=reporter)
    system.grid_oracle.submitGridData(region_id, 49_960, 1_008, 95 * MW, 97 * MW, sender=reporter)
    f = system.price_discovery.getPriceFactors(region_id)
    print_table(
        "getPriceFactors(): base x (0.3 D + 0.3 S + 0.2 T + 0.2 G)",
        ["factor", "weight", "inputs", "value"],
        [
            ("D demand", "0.3", f"{f.demandW / MW:.0f} MW demand / {f.supplyW / MW:.0f} MW supply", bps(f.demandFactorBps)),
            ("S supply", "0.3", f"renewable availability {f.renewableAvailabilityBps / 100:.1f} %", bps(f.supplyFactorBps)),
            ("T time of day", "0.2", f"local hour {f.localHour}", bps(f.timeFactorBps)),
            ("G stability", "0.2", f"{f.frequencyMilliHz / 1000:.3f} Hz, {f.voltagePerMille / 10:.1f} %", bps(f.stabilityFactorBps)),
        ],
    )
    print(f"Base (PriceOracle): {money(f.basePricePerKWh)}; reference price: {money(f.pricePerKWh)} per kWh")

    market = system.energy_trading
    market.setPriceBand(system.price_discovery, region_id, 2_000, sender=reporter)  # ±20 %
    expiry = chain.pending_timestamp + 3_600
    order_id = market.createOrder(1_000, f.pricePerKWh, expiry, BUY, sender=trader).return_value
    low, high = -(-f.pricePerKWh * 8 // 10), f.pricePerKWh * 12 // 10
    print(
        f"EnergyTrading's price band, ±20 % around it: orders at {money(low)} .. {money(high)} per kWh are "
        f"accepted (order {order_id} at the reference price was); any other reverts with PriceOutsideBand."
    )
    market.setPriceBand(system.price_discovery, region_id, 0, sender=reporter)


# ----------------------------------------------------------------------------- carbon credits

def tonnes(grams: int) -> str:
    """CarbonCredits: 1 unit = 1 g CO2e, 6 decimals, so a wallet shows tonnes."""
    return format_money(grams, 6, "tCO2e")


def register_clean_producers(
    system: Any, operator: Any, community: list[Prosumer], devices: list[str], energy_type: int = SOLAR
) -> list[str]:
    """The region's operator registers every PV meter as a clean producer, before it exports:
    energy a meter counted before registration never earns credits."""
    credits = system.carbon_credits
    producers = [d for p, d in zip(community, devices, strict=True) if p.pv_peak_w]
    for device in producers:
        credits.registerCleanEnergyProducer(device, energy_type, sender=operator)
    return producers


def run_carbon_credits(
    system: Any, community: list[Prosumer], devices: list[str], owners: list[Any], keeper: Any, buyer: Any
) -> None:
    """Credits for the morning's metered PV export, one issue per meter by anyone; a buyer
    retires some as proof of offset."""
    credits = system.carbon_credits
    factor = credits.avoidedEmissionFactor()
    heading(f"Carbon credits: {factor} g CO2e avoided per kWh of clean export")
    label = {device: p.name for p, device in zip(community, devices, strict=True)}
    owner_of = {device: owner for device, owner in zip(devices, owners, strict=True)}
    rows = []
    for device in (d for d in devices if credits.isCleanEnergyProducer(d)):
        pending_wh = credits.pendingWh(device)
        grams = credits.issueCarbonCredits(device, sender=keeper).return_value
        rows.append((label[device], format_kwh(pending_wh), f"{grams:,} g", tonnes(credits.getCarbonCreditsBalance(owner_of[device]))))
    print_table(
        "issueCarbonCredits(meter): called by a keeper; minted to each meter's owner",
        ["producer", "export counted", "credits issued", "owner's balance"],
        rows,
    )
    print("A second issue for the same Wh reverts with NothingToIssue: each counted Wh is credited once.")

    seller = owners[0]
    sold = credits.getCarbonCreditsBalance(seller) // 2
    credits.transferCarbonCredits(buyer, sold, sender=seller)
    retired = sold * 3 // 4
    reason = "Bakery oven, November 2026"
    retirement_id = credits.retire(retired, buyer, reason, sender=buyer).return_value
    r = credits.getRetirement(retirement_id)
    print_table(
        f"{label[devices[0]]} sells {tonnes(sold)}; the buyer retires {tonnes(retired)}: getRetirement(id)",
        ["retirement", "retiree", "beneficiary", "amount", "reason"],
        [(r.retirementId, r.retiree, r.beneficiary, tonnes(r.amountGrams), r.reason)],
    )
    print(f"Total retired: {tonnes(credits.totalRetired())}; credits in circulation: {tonnes(credits.totalSupply())}")


# ----------------------------------------------------------------------------- energy assets

INSPECTION = 0  # IEnergyAssetNFT.MaintenanceKind
ASSET_SHARES = 1_000


def attribute_text(attribute: dict[str, Any]) -> str:
    """An NFT attribute as a wallet shows it: dates (unix s) as dates."""
    if attribute.get("display_type") == "date":
        return datetime.fromtimestamp(attribute["value"], UTC).date().isoformat()
    return str(attribute["value"])


def token_metadata(asset_nft: Any, token_id: int) -> dict[str, Any]:
    """tokenURI's on-chain JSON, decoded as a wallet does."""
    uri = asset_nft.tokenURI(token_id)
    prefix = "data:application/json;base64,"
    assert uri.startswith(prefix), uri[:40]
    metadata: dict[str, Any] = json.loads(base64.b64decode(uri[len(prefix) :]))
    return metadata


def run_energy_assets(
    system: Any,
    operator: Any,
    chain: Any,
    device: str,
    owner: Any,
    co_owners: list[Any],
    installer: Any,
    payer: Any,
    day: int,
) -> None:
    """The operator mints an inspected PV array as an NFT; its owner splits it into shares, sells
    some, and revenue `payer` deposits twice is claimed pro rata by whoever held the shares at each
    deposit, into their EnergyVault balances."""
    nft, shares, cash, vault = system.energy_asset_nft, system.energy_asset_shares, system.payment_token, system.energy_vault
    heading("Energy assets: an NFT per production asset, split into shares")
    meter_info = system.smart_meter.getMeter(device)
    token_id = nft.mintAsset(
        owner, SOLAR, 9_000, meter_info.regionId, chain.pending_timestamp - 400 * DAY_SECONDS, device, sender=operator
    ).return_value
    metadata = token_metadata(nft, token_id)
    print_table(
        f"tokenURI({token_id}): {metadata['name']}",
        ["attribute", "value"],
        [(a["trait_type"], attribute_text(a)) for a in metadata["attributes"]],
    )
    produced = nft.getProductionHistory(token_id, day, 1)[0]
    print(f"getProductionHistory: {format_kwh(produced)} exported on day {day}, read from the linked meter.")

    nft.setMaintainer(token_id, installer, True, sender=owner)
    nft.addMaintenanceRecord(token_id, INSPECTION, chain.pending_timestamp - 3_600, "Annual inspection: inverter OK", sender=installer)
    records, _ = nft.getMaintenanceRecords(token_id, 0, 10)
    description = records[0][4]  # MaintenanceRecord.description (a struct in a list arrives as a tuple)
    print(f"Maintenance record by the installer the owner authorized for this asset: {description!r}")

    nft.approve(shares, token_id, sender=owner)
    shares.split(token_id, ASSET_SHARES, sender=owner)
    first_buyer, second_buyer = co_owners
    shares.safeTransferFrom(owner, first_buyer, token_id, 300, b"", sender=owner)
    shares.safeTransferFrom(owner, second_buyer, token_id, 200, b"", sender=owner)
    holders = [owner, first_buyer, second_buyer]
    names = {owner.address: "owner", first_buyer.address: "first buyer", second_buyer.address: "second buyer"}

    deposits = (100_000_000, 50_000_001)  # 100 MOCKUSD, then 50.000001 MOCKUSD: not divisible by 1,000 shares
    # The payer pays from its wallet through the vault: the shares contract takes revenue as a vault market.
    cash.approve(vault, sum(deposits), sender=payer)
    vault.setMarketApproval(shares, True, sender=payer)
    shares.depositRevenue(token_id, deposits[0], sender=payer)
    # The first buyer sells 200 of its 300 shares on: the first deposit stays theirs.
    shares.safeTransferFrom(first_buyer, second_buyer, token_id, 200, b"", sender=first_buyer)
    shares.depositRevenue(token_id, deposits[1], sender=payer)

    rows = []
    for holder in holders:
        before = vault.balanceOf(cash, holder)
        shares.claimRevenue(token_id, sender=holder)
        _, _, fraction = shares.getRevenueAccount(token_id, holder)
        rows.append(
            (
                names[holder.address],
                shares.balanceOf(holder, token_id),
                money(vault.balanceOf(cash, holder) - before),
                f"{fraction / 2**64:.6f} unit",
            )
        )
    print_table(
        f"claimRevenue after deposits of {money(deposits[0])} (split 500/300/200) and {money(deposits[1])} (500/100/400)",
        ["holder", "shares now", "credited in the vault", "fraction kept for later"],
        rows,
    )
    ledger = shares.getRevenue(token_id)
    print(
        f"Deposited {money(ledger.totalDeposited)}, claimed {money(ledger.totalClaimed)}: the rest is sub-unit "
        "fractions still credited to their holders, claimable once they add up to a unit."
    )


# ----------------------------------------------------------------------------- demand response

DR_HOUR = 18  # the evening peak the event covers, UTC
DR_DURATION_SECONDS = 3_600
DR_TARGET_KW = 5
DR_REWARD_PER_KW = 2_000_000  # 2 MOCKUSD per kW of verified reduction
EVENT_STATUS = ("active", "completed", "cancelled")  # IDemandResponse.EventStatus


def run_demand_response(system: Any, operator: Any, chain: Any, consumers: list[Any], names: list[str]) -> None:
    """An evening event on metered data: one household cuts its load and is paid for the cut the
    meter shows (into its EnergyVault balance), the other does not and gets nothing; the operator
    gets the unspent budget back in its vault balance.

    Moves the chain six days on: the baseline is the same hour on the five days before the event."""
    dr, cash, vault = system.demand_response, system.payment_token, system.energy_vault
    heading(f"Demand response: an event {DR_HOUR}:00-{DR_HOUR + 1}:00 UTC, baseline from the 5 days before")
    writer = MeterWriter(system.smart_meter, operator)
    meters = [Account.create().address for _ in consumers]
    writer.register(meters, consumers, LOCAL_OPERATOR_REGION)
    for consumer, meter in zip(consumers, meters, strict=True):
        dr.registerConsumer(consumer, meter, sender=operator)

    # Usual evenings: 2.0 kW and 1.8 kW (500 and 450 Wh a quarter hour); on the event evening the
    # first household drops to 0.5 kW, the second draws 1.9 kW.
    usual_wh = dict(zip(meters, (500, 450), strict=True))
    event_wh = dict(zip(meters, (125, 475), strict=True))
    event_day = day_of(chain.pending_timestamp) + 6
    start = event_day * DAY_SECONDS + DR_HOUR * 3600
    chain.pending_timestamp = start - 120
    writer.write_event_days(meters, start, start + DR_DURATION_SECONDS, lambda m, _i: usual_wh[m], None)

    cash.approve(dr, DR_TARGET_KW * DR_REWARD_PER_KW, sender=operator)
    # The operator's GridManagement region, where the meters are: only its meters take part.
    event_id = dr.startEvent(LOCAL_OPERATOR_REGION, DR_TARGET_KW, DR_REWARD_PER_KW, DR_DURATION_SECONDS, sender=operator).return_value
    operator_before = vault.balanceOf(cash, operator)
    event = dr.getEvent(event_id)
    chain.pending_timestamp = event.endTime + 300
    writer.write(meters, window_intervals(event.startTime, event.endTime), lambda m, _i: event_wh[m])

    rows = []
    for consumer, name in zip(consumers, names, strict=True):
        baseline_w, actual_w, first, last = dr.previewReduction(event_id, consumer)
        reduced = baseline_w > actual_w and baseline_w - actual_w >= dr.minimumReductionW()
        if reduced:  # anyone may submit the meter's figures; a keeper does it here
            verify_from_meter(dr, event_id, consumer, sender=operator)
        outcome = "verified" if reduced else "no reduction: verifyReduction reverts InsufficientReduction"
        rows.append((name, f"{baseline_w:,} W", f"{actual_w:,} W", f"{max(baseline_w - actual_w, 0):,} W", f"{first}-{last}", outcome))
    print_table(
        f"previewReduction(event {event_id}, consumer): what the meter shows, average power over the window",
        ["consumer", "baseline", "actual", "reduction", "intervals", ""],
        rows,
    )

    before = {c.address: vault.balanceOf(cash, c) for c in consumers}
    chain.pending_timestamp = dr.getEventBudget(event_id).verificationDeadline + 1
    dr.distributeRewards(event_id, sender=operator)  # anyone may; pays and completes the event
    budget = dr.getEventBudget(event_id)
    print_table(
        "distributeRewards: paid from the budget into vault balances; the rest back to the operator's",
        ["", "amount"],
        [
            (f"budget ({DR_TARGET_KW} kW x {money(DR_REWARD_PER_KW)})", money(budget.budget)),
            *(
                (f"credited to {name} in the vault", money(vault.balanceOf(cash, c) - before[c.address]))
                for c, name in zip(consumers, names, strict=True)
            ),
            ("refunded to the operator in the vault", money(vault.balanceOf(cash, operator) - operator_before)),
        ],
    )
    status = EVENT_STATUS[dr.getEvent(event_id).status]
    print(f"Event {event_id}: {status}; reward = {money(DR_REWARD_PER_KW)} per kW x verified reduction.")

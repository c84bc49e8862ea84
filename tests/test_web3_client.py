"""The plain web3.py client (no ape) driving a deployment through its manifest, as a user's script would."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from eth_account import Account
from eth_account.signers.local import LocalAccount
from web3 import Web3

from energy_grid.chain.manifest import build_manifest, read_manifest, write_manifest
from energy_grid.contracts import CONTRACT_CLASSES
from energy_grid.contracts.carbon import IssuedCredits
from energy_grid.contracts.client import BUY, SELL, GridClient, GridError, MeterReading, describe_revert
from energy_grid.contracts.market import PriceLevel
from energy_grid.deploy.system import (
    LOCAL_OPERATOR_REGION,
    deploy_system,
    fund_local_accounts,
    setup_local_roles,
)
from energy_grid.domain.enums import EnergyType, LoadStatus, LongSide, OrderStatus, OrderType, StabilityLevel, TransactionStatus
from energy_grid.domain.pricing import dynamic_price
from energy_grid.domain.units import ZERO_ADDRESS

from support.meter_helpers import fill_of

PRICE_PER_KWH = 220_000
EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


@pytest.fixture(scope="module")
def system(project, admin):
    return deploy_system(project, admin)


@pytest.fixture
def client(system, chain, networks, tmp_path):
    path = write_manifest(build_manifest(chain.chain_id, system.contracts()), tmp_path)
    return GridClient(Web3(Web3.HTTPProvider(networks.provider.uri)), read_manifest(path))


def signer(account: Any) -> LocalAccount:
    return Account.from_key(account.private_key)


def test_registers_and_submits_readings(client, accounts):
    w3 = client.w3
    operator = signer(accounts[0])
    owner = accounts[5].address
    device = signer(accounts[6])

    client.smart_meter.register_meter(operator, device.address, owner, region_id=3)
    start = w3.eth.get_block("latest")["timestamp"] + 1
    client.mine_block_at(start)
    client.smart_meter.submit_reading(device, MeterReading(start, 1_000, 2_000))  # baseline
    client.mine_block_at(start + 900)
    client.smart_meter.submit_reading(device, MeterReading(start + 900, 1_400, 2_750))

    assert client.energy_token.balance_of(owner) == 750
    assert client.smart_meter.latest_reading(device.address) == MeterReading(start + 900, 1_400, 2_750)
    with pytest.raises(GridError) as rejected:
        client.smart_meter.submit_reading(device, MeterReading(start + 900, 1_400, 2_750))
    message = str(rejected.value)
    assert f"ReadingNotAfterPrevious(meter={device.address}, timestamp={start + 900}" in message
    assert "The reading's timestamp is not after the previous one's." in message


def test_trades_through_the_seed_function_names(client, system, accounts):
    keeper, seller, buyer = signer(accounts[0]), signer(accounts[1]), signer(accounts[2])
    fund_local_accounts(system, accounts[0], [accounts[2]])
    device = signer(accounts[7])
    client.smart_meter.register_meter(keeper, device.address, seller.address, region_id=1)
    now = client.w3.eth.get_block("latest")["timestamp"]
    client.mine_block_at(now + 1)
    client.smart_meter.submit_reading(device, MeterReading(now + 1, 0, 0))
    client.mine_block_at(now + 61)
    client.smart_meter.submit_reading(device, MeterReading(now + 61, 0, 5_000))
    client.approve_market(seller)
    client.approve_market(buyer)
    expiry = now + 3_600
    energy_before = client.energy_token.balance_of(buyer.address)
    cash_before = client.payment_token.balance_of(buyer.address)

    sell = client.trading.create_order(seller, 2_000, PRICE_PER_KWH, expiry, SELL)
    crossing = client.trading.place_order(buyer, 1_500, PRICE_PER_KWH + 20_000, expiry, BUY)  # trades at once
    assert len(crossing.transaction_ids) == 1
    taken = client.trading.fill_order(buyer, sell, 500)
    # A bilateral deal: an offer only the buyer can take, matched by a keeper.
    offer = client.trading.create_directed_order(seller, 1_000, PRICE_PER_KWH, expiry, SELL, buyer.address)
    bid = client.trading.place_order(buyer, 1_000, PRICE_PER_KWH, expiry, BUY)
    assert bid.transaction_ids == []  # a directed offer is not crossed on arrival
    matched = client.trading.match_orders(keeper, bid.order_id, offer)
    spare = client.trading.create_order(buyer, 1_000, PRICE_PER_KWH, expiry, BUY)
    client.trading.cancel_order(buyer, spare)
    for transaction_id in (*crossing.transaction_ids, taken, matched):
        client.trading.settle_transaction(keeper, transaction_id)

    # The escrow was pulled from the wallet (no vault deposit); refunds and payouts are vault credits.
    bought = client.vault.balances(buyer.address)
    assert bought.energy_wh == 3_000
    # 3 kWh at the resting SELL's 0.22: the crossing BUY's higher limit came back as price improvement,
    # and the cancelled spare's escrow too.
    assert cash_before - client.payment_token.balance_of(buyer.address) - bought.payment == 3 * PRICE_PER_KWH
    assert client.energy_token.balance_of(buyer.address) == energy_before


def test_bad_trade_is_explained_and_moves_nothing(client, system, accounts):
    buyer = signer(accounts[3])
    fund_local_accounts(system, accounts[0], [accounts[3]])
    client.approve_market(buyer)
    cash_before = client.payment_token.balance_of(buyer.address)
    expired = client.w3.eth.get_block("latest")["timestamp"]
    with pytest.raises(GridError) as rejected:
        client.trading.create_order(buyer, 1_000, PRICE_PER_KWH, expired, BUY)
    assert f"createOrder rejected: ExpiryNotInFuture(expiry={expired}" in str(rejected.value)
    assert client.payment_token.balance_of(buyer.address) == cash_before


MW = 1_000_000  # W
KW_PER_MW = 1_000  # GridOperations' power is kW


def test_drives_a_region_through_load_levels_and_an_emergency(client, system, accounts):
    """The issue's walk-through, with only the manifest: load normal -> high -> critical, the
    dynamic price following GridManagement's formula, tripling in an emergency."""
    setup_local_roles(system, accounts[0])
    operator, wind_farm, solar_park = signer(accounts[0]), signer(accounts[5]), signer(accounts[6])
    client.grid_management.register_producer(wind_farm, 60 * MW, 1)
    client.grid_management.register_producer(solar_park, 40 * MW, 0)
    client.grid_management.verify_producer(operator, wind_farm.address)
    client.grid_management.verify_producer(operator, solar_park.address)
    base = client["GridManagement"].functions.basePrice().call()
    prices = []
    for demand_mw, load_status in ((50, "NORMAL"), (85, "HIGH"), (97, "CRITICAL")):
        client.grid_management.report_production(wind_farm, demand_mw * MW * 6 // 10)
        client.grid_management.report_production(solar_park, demand_mw * MW * 4 // 10)
        client.grid_operations.report_load(operator, LOCAL_OPERATOR_REGION, 100 * KW_PER_MW, demand_mw * KW_PER_MW)
        assert client.grid_operations.load_status(LOCAL_OPERATOR_REGION).name == load_status
        status = client.grid_status()
        assert (status.currentLoadW, status.totalCapacityW) == (demand_mw * MW, 100 * MW)
        assert status.utilizationBps == demand_mw * 100
        prices.append(client.grid_management.dynamic_price_per_kwh())
        assert prices[-1] == dynamic_price(base, demand_mw * MW, 100 * MW)
    assert prices == sorted(prices) and len(set(prices)) == 3
    client.grid_operations.report_stability(operator, LOCAL_OPERATOR_REGION, 47_800, 1_000)  # CRITICAL: an emergency
    assert client.grid_status().emergencyMode
    assert client.grid_management.dynamic_price_per_kwh() == 3 * base


def test_the_seeds_forms_without_a_region_act_on_the_operators_own(client, system, accounts):
    """000's toggle-emergency-mode and 004's start_event name no region: the client's forms without
    one act on the region GridManagement lists the operator in (the deployer's LOCAL_OPERATOR_REGION)."""
    setup_local_roles(system, accounts[0])
    fund_local_accounts(system, accounts[0], [accounts[0]])
    operator, stranger = signer(accounts[0]), signer(accounts[5])
    gm = client.grid_management
    assert gm.toggle_own_emergency_mode(operator) is True
    assert gm.is_region_in_emergency(LOCAL_OPERATOR_REGION) and client.grid_status().emergencyMode
    assert gm.toggle_own_emergency_mode(operator) is False
    assert not gm.is_region_in_emergency(LOCAL_OPERATOR_REGION)
    with pytest.raises(GridError, match=f"Unauthorized\\(account={stranger.address}\\)"):
        gm.toggle_own_emergency_mode(stranger)
    event = client.demand_response.get_event(client.start_event(operator, None, 10, 1_000, 3_600))
    assert (event.region_id, event.grid_operator, event.target_reduction_kw) == (LOCAL_OPERATOR_REGION, operator.address, 10)


def test_bad_grid_input_is_explained(client, system, accounts):
    setup_local_roles(system, accounts[0])
    with pytest.raises(GridError) as rejected:
        client.grid_management.report_production(signer(accounts[5]), 1)
    assert f"reportProduction rejected: ParticipantNotFound(account={accounts[5].address})" in str(rejected.value)
    client.grid_management.register_producer(signer(accounts[5]), 1_000, 0)
    with pytest.raises(GridError) as rejected:
        client.grid_management.report_production(signer(accounts[5]), 1)
    assert f"reportProduction rejected: ParticipantNotVerified(account={accounts[5].address})" in str(rejected.value)
    client.grid_management.verify_producer(signer(accounts[0]), accounts[5].address)
    with pytest.raises(GridError) as rejected:
        client.grid_management.report_production(signer(accounts[5]), 1_001)
    producer = accounts[5].address
    assert f"ProductionExceedsCapacity(producer={producer}, outputW=1001, capacityW=1000)" in str(rejected.value)
    assert client.grid_status().currentLoadW == 0


def test_reads_price_oracle_through_chainlinks_published_abi(client, system, accounts):
    setup_local_roles(system, accounts[0])
    receipt = client.submit_price(signer(accounts[0]), 250_000)
    feed = client.chainlink_price_feed()
    # Chainlink's ABI, not the project's: it has no submitPrice.
    assert {f["name"] for f in feed.abi if f["type"] == "function"} == {
        "decimals",
        "description",
        "version",
        "getRoundData",
        "latestRoundData",
    }
    timestamp = client.w3.eth.get_block(receipt["blockNumber"])["timestamp"]
    assert tuple(feed.functions.latestRoundData().call()) == (1, 250_000, timestamp, timestamp, 1)
    assert tuple(feed.functions.getRoundData(1).call()) == (1, 250_000, timestamp, timestamp, 1)
    assert feed.functions.decimals().call() == system.payment_token.decimals()


def test_refuses_a_manifest_of_another_chain(system, chain, networks):
    manifest = build_manifest(chain.chain_id + 1, system.contracts())
    with pytest.raises(ValueError, match="manifest is for chain"):
        GridClient(Web3(Web3.HTTPProvider(networks.provider.uri)), manifest)


def test_describe_revert_names_unknown_selectors(system):
    abi = build_manifest(1, system.contracts())["contracts"]["SmartMeter"]["abi"]
    assert describe_revert(abi, "0xdeadbeef") == "unknown error 0xdeadbeef"


def test_the_demand_response_example_runs_on_the_manifest_alone(client, system, accounts):
    """The issue's walk-through is examples/demand_response.py, run here against this chain's
    manifest: the household whose meter shows a cut is paid reward-per-kW x the verified
    reduction into its vault balance, the other nothing, and the operator gets the unspent budget
    back in its wallet."""
    setup_local_roles(system, accounts[0])  # the deployer: a demand-response grid operator
    spec = importlib.util.spec_from_file_location("demand_response_example", EXAMPLES / "demand_response.py")
    assert spec is not None and spec.loader is not None
    example = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(example)
    budget = example.TARGET_KW * example.REWARD_PER_KW
    paid, refund = example.run(client)
    reduction_w = 2_000 - 500  # the meter: 2.0 kW on usual evenings, 0.5 kW in the event
    assert paid == [example.REWARD_PER_KW * reduction_w // 1000, 0] == [3_000_000, 0]
    assert refund == budget - paid[0] == 7_000_000
    event = client.get_event(1)
    assert (event.status, event.totalParticipants, event.totalReductionAchieved) == (1, 1, reduction_w)  # Completed


def test_the_auction_example_clears_and_claims_on_the_manifest_alone(client, system, accounts):
    """examples/auction.py against this chain's manifest: three asks and three bids, escrowed from
    vault deposits, clear at one price once the reading market's clearing time has come, and every
    order's fill equals the Python reference rule's. By hand (default grid: 0.05 + k x 0.001 per
    kWh): 1,200 Wh trade anywhere from 0.18 to 0.20; asks are long, so the 0.15 ask fills in full and the
    0.18 ask gets the remaining 200 Wh: a rationed order trades at its own limit, so 0.18 is the price. The claims are read from the vault
    balances: a bid gets its energy and what its escrow did not pay, an ask its proceeds after the
    0.5 % fee and its unsold energy."""
    fund_local_accounts(system, accounts[0], list(accounts)[1:7])
    spec = importlib.util.spec_from_file_location("auction_example", EXAMPLES / "auction.py")
    assert spec is not None and spec.loader is not None
    example = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(example)
    seller = accounts[1].address
    wallet_before = client.payment_token.balance_of(seller)
    outcome = example.run(client)
    claims = list(outcome.values())
    assert [c.filled_wh for c in claims] == [1_000, 200, 0, 700, 500, 0]
    assert all(c.filled_wh == c.reference_wh for c in claims)
    price = 180_000
    gross = [1_000 * price // 1_000, 200 * price // 1_000, 0]
    proceeds = [g - g * 50 // 10_000 for g in gross]
    escrow = [-(-wh * limit // 1_000) for wh, limit in example.BIDS]
    paid = [-(-wh * price // 1_000) for wh in (700, 500, 0)]
    assert [(c.energy_wh, c.payment) for c in claims] == [
        (0, proceeds[0]), (600, proceeds[1]), (600, 0),  # asks: unsold energy, proceeds
        (700, escrow[0] - paid[0]), (500, escrow[1] - paid[1]), (0, escrow[2]),  # bids: energy, unused escrow
    ]
    assert client.payment_token.balance_of(seller) == wallet_before + proceeds[0]  # withdrawn from the vault
    period = next(iter(outcome)) >> 192  # the order id's period
    market = client["EnergyAuction"].functions.getMarket(period).call()
    assert (market.cleared, market.clearingPricePerKWh, market.volumeWh) == (True, 180_000, 1_200)


def test_the_standing_order_example_prints_the_fill_the_chain_records(system, chain, networks, accounts, capsys):
    """examples/standing_order_web3.py (web3.py and the manifest alone) against this chain: the seller's
    2,000 Wh ask at 0.08 and the buyer's 1,500 Wh bid at 0.20 cross on ticks 30 to 150 with 1,500 Wh; the
    ask is rationed, so the market clears 1,500 Wh at its limit, 0.08 per kWh; the seller nets the 120,000
    gross less the 0.5 % fee and keeps its 500 unsold Wh, the buyer pays 120,000 out of its 300,000 lock and
    its energy is retired. Every number the script prints is what the chain records."""
    fund_local_accounts(system, accounts[0], [accounts[2]])
    spec = importlib.util.spec_from_file_location("standing_order_example", EXAMPLES / "standing_order_web3.py")
    assert spec is not None and spec.loader is not None
    example = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(example)
    vault, market = system.energy_vault, system.energy_auction
    seller, buyer = accounts[1].address, accounts[2].address
    assert system.smart_meter.readingMarket() == market.address
    before = [vault.balancesOf(seller), vault.balancesOf(buyer)]
    start = chain.blocks.head.number
    capsys.readouterr()  # ape's own log of the set-up transactions is not the example's

    fill = example.run(Web3(Web3.HTTPProvider(networks.provider.uri)), build_manifest(chain.chain_id, system.contracts()))
    printed = capsys.readouterr().out.splitlines()

    info = market.getMarket(fill.period)
    assert (info.cleared, info.clearingPricePerKWh, info.volumeWh) == (True, 80_000, 1_500)
    settled = {log.meter: fill_of(log) for log in market.MeteredOrdersSettled.range(start, chain.blocks.head.number + 1)}
    sold, bought = settled[fill.seller.meter], settled[fill.buyer.meter]
    gross = 1_500 * 80_000 // 1_000
    assert (sold.period, sold.soldWh, sold.proceeds, sold.boughtWh) == (fill.period, 1_500, gross - gross * 50 // 10_000, 0)
    assert (bought.period, bought.boughtWh, bought.paid, bought.soldWh) == (fill.period, 1_500, -(-1_500 * 80_000 // 1_000), 0)
    after = [vault.balancesOf(seller), vault.balancesOf(buyer)]
    assert after[0] == (before[0][0] + 500, before[0][1] + sold.proceeds)
    assert after[1] == (before[1][0], before[1][1] + example.DEPOSIT - bought.paid)
    assert printed == [
        f"interval {fill.period}: cleared at {info.clearingPricePerKWh} per kWh, {info.volumeWh} Wh traded",
        f"seller meter {sold.meter}: sold {sold.soldWh} Wh for {sold.proceeds} after the grid fee",
        f"buyer meter {bought.meter}: bought {bought.boughtWh} Wh for {bought.paid}",
        f"seller vault balance: {after[0][0]} Wh, {after[0][1]} payment",
        f"buyer vault balance: {after[1][0]} Wh, {after[1][1]} payment",
    ]


def test_the_zones_example_couples_two_feeders_on_the_manifest_alone(client, system, chain, networks, accounts, capsys):
    """examples/zones_web3.py (web3.py and the manifest alone): Hill's 4,000 Wh ask at 0.06 can send only
    its link's 1,000 Wh (4 kW for a quarter hour) to Town, whose 3,000 Wh bid at 0.20 buys the other 2,000
    from Town's own ask at 0.15. Hill clears below Town, the rent is the difference times 1,000 Wh, and the
    typed client reads the same zones, prices and flows."""
    setup_local_roles(system, accounts[0])
    fund_local_accounts(system, accounts[0], [accounts[2]])
    spec = importlib.util.spec_from_file_location("zones_example", EXAMPLES / "zones_web3.py")
    assert spec is not None and spec.loader is not None
    example = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(example)
    capsys.readouterr()

    coupled = example.run(Web3(Web3.HTTPProvider(networks.provider.uri)), build_manifest(chain.chain_id, system.contracts()))
    printed = capsys.readouterr().out.splitlines()

    hill, town = coupled.zones
    assert (hill.net_export_wh, town.net_export_wh) == (1_000, -1_000)
    assert 60_000 <= hill.price_per_kwh < town.price_per_kwh and town.price_per_kwh >= 150_000
    assert [(o.region, o.filled_wh) for o in coupled.orders] == [(1, 1_000), (2, 3_000), (2, 2_000)]
    assert coupled.congestion_rent == (town.price_per_kwh - hill.price_per_kwh) * 1_000 // 1_000
    zones = client.market_zones
    assert zones.regions() == {1: 1, 2: 2} and zones.zones_of(coupled.period) == [1, 2]
    assert zones.link_limits_kw(1, coupled.period) == (4, 4)
    assert zones.zone_result(coupled.period, 1).clearing_price_per_kwh == hill.price_per_kwh
    assert client.auction.get_market(coupled.period).long_side == LongSide.ZONES
    assert printed[0] == f"interval {coupled.period}: the bus cleared at {coupled.bus_price_per_kwh} per kWh"
    assert printed[1] == f"zone 1 (region 1): {hill.price_per_kwh} per kWh, exported 1000 Wh"
    assert printed[2] == f"zone 2 (region 2): {town.price_per_kwh} per kWh, imported 1000 Wh"


# ------------------------------------------------------------------------------- the typed classes


def test_the_client_has_one_typed_attribute_per_contract(client):
    attributes = {
        "SmartMeter": client.smart_meter,
        "EnergyToken": client.energy_token,
        "PaymentToken": client.payment_token,
        "EnergyVault": client.vault,
        "EnergyTrading": client.trading,
        "EnergyAuction": client.auction,
        "GridManagement": client.grid_management,
        "GridOperations": client.grid_operations,
        "GridOracle": client.grid_oracle,
        "WeatherOracle": client.weather_oracle,
        "PriceOracle": client.price_oracle,
        "PriceDiscovery": client.price_discovery,
        "DemandResponse": client.demand_response,
        "DemandPrograms": client.demand_programs,
        "CarbonCredits": client.carbon_credits,
        "EnergyAssetNFT": client.asset_nft,
        "EnergyAssetShares": client.asset_shares,
        "GovernanceToken": client.governance_token,
        "EnergyGovernor": client.governor,
        "GridTimelock": client.timelock,
        "MarketZones": client.market_zones,
        "SteppedClearing": client.stepped_clearing,
        "ForecastLedger": client.forecast_ledger,
    }
    for name, typed in attributes.items():
        assert isinstance(typed, CONTRACT_CLASSES[name]), name
        assert typed.address == client[name].address, name
    assert client.auctions["EnergyAuction"].address == client.auction.address


def test_typed_reads_of_a_meter_and_a_trade(client, system, accounts):
    operator, seller, buyer, device = signer(accounts[0]), signer(accounts[1]), signer(accounts[2]), signer(accounts[7])
    fund_local_accounts(system, accounts[0], [accounts[2]])
    client.smart_meter.register_meter(operator, device.address, seller.address, 1, 10, 20)
    meter = client.smart_meter.get_meter(device.address)
    assert (meter.owner, meter.region_id, meter.active, meter.awaiting_baseline) == (seller.address, 1, True, False)
    now = client.w3.eth.get_block("latest")["timestamp"]
    client.mine_block_at(now + 900)
    client.smart_meter.submit_reading(device, MeterReading(now + 900, 110, 2_020))
    interval = (now + 900) // 900
    (record,) = client.smart_meter.interval_history(device.address, interval, 1)
    assert (record.interval, record.production_wh, record.grid_frequency_millihz) == (interval, 2_000, 50_000)
    assert client.smart_meter.latest_reading(device.address).production_wh == 2_020
    assert client.smart_meter.interval_energy(device.address, interval).production_wh == 2_000
    assert client.energy_token.balance_of(seller.address) == 2_000

    for trader in (seller, buyer):
        client.approve_market(trader)
    expiry = now + 7_200
    sell = client.trading.create_order(seller, 1_500, PRICE_PER_KWH, expiry, OrderType.SELL)
    placed = client.trading.place_order(buyer, 1_000, PRICE_PER_KWH, expiry, OrderType.BUY)
    info = client.trading.get_order_info(sell)
    assert (info.amount_wh, info.filled_wh, info.price_per_kwh) == (1_500, 1_000, PRICE_PER_KWH)
    assert (info.order_type, info.status) == (OrderType.SELL, OrderStatus.ACTIVE)
    assert client.trading.get_order(placed.order_id).status is OrderStatus.FILLED
    assert client.trading.best_prices().best_ask_per_kwh == PRICE_PER_KWH
    (transaction_id,) = placed.transaction_ids
    assert client.trading.settle_transactions(operator, [transaction_id]) == [transaction_id]
    settled = client.trading.get_transaction(transaction_id)
    assert (settled.buyer, settled.seller, settled.amount_wh) == (buyer.address, seller.address, 1_000)
    assert settled.status is TransactionStatus.SETTLED
    page = client.trading.trader_orders(seller.address)
    assert [o.order_id for o in page.orders] == [sell]


def test_the_book_index_reads_level_by_level(client, accounts):
    """Two offers at one price queue in arrival order in their level; the index walks on to the next level."""
    operator, seller, device = signer(accounts[0]), signer(accounts[1]), signer(accounts[8])
    client.smart_meter.register_meter(operator, device.address, seller.address, 1, 0, 0)
    now = client.w3.eth.get_block("latest")["timestamp"]
    client.mine_block_at(now + 900)
    client.smart_meter.submit_reading(device, MeterReading(now + 900, 0, 3_000))
    client.approve_market(seller)
    low_per_kwh, high_per_kwh = 2 * PRICE_PER_KWH, 3 * PRICE_PER_KWH
    expiry = now + 7_200
    first, second, third = (
        client.trading.create_order(seller, 1_000, price_per_kwh, expiry, OrderType.SELL)
        for price_per_kwh in (low_per_kwh, low_per_kwh, high_per_kwh)
    )
    assert client.trading.price_level(OrderType.SELL, low_per_kwh) == PriceLevel(first, second)
    assert (client.trading.next_in_level(first), client.trading.next_in_level(second)) == (second, 0)
    assert client.trading.price_level(OrderType.SELL, high_per_kwh) == PriceLevel(third, third)
    assert client.trading.price_level(OrderType.BUY, low_per_kwh) == PriceLevel(0, 0)
    assert client.trading.next_level_price_per_kwh(OrderType.SELL, low_per_kwh + 1) == high_per_kwh
    assert client.trading.next_level_price_per_kwh(OrderType.SELL, high_per_kwh + 1) == 0


def test_typed_carbon_issue_and_asset_approvals(client, system, accounts):
    setup_local_roles(system, accounts[0])
    operator, owner = signer(accounts[0]), signer(accounts[5])
    meter = Account.create().address
    client.smart_meter.register_meter(operator, meter, owner.address, LOCAL_OPERATOR_REGION)
    client.carbon_credits.register_clean_producer(operator, meter, EnergyType.SOLAR)
    now = client.w3.eth.get_block("latest")["timestamp"]
    for timestamp, production_wh in ((now + 1, 0), (now + 901, 10_000)):
        client.mine_block_at(timestamp)
        client.smart_meter.submit_readings(operator, [meter], [MeterReading(timestamp, 0, production_wh)])
    issued = client.carbon_credits.issue_credits(signer(accounts[8]), meter)  # anyone may issue
    factor = client.carbon_credits.avoided_emission_grams_per_kwh()
    assert issued == IssuedCredits(meter, owner.address, 10_000, 10 * factor, factor)
    assert client.carbon_credits.balance_of(owner.address) == 10 * factor
    # A keeper's batch: each meter's issue, in the order given.
    second = Account.create().address
    client.smart_meter.register_meter(operator, second, owner.address, LOCAL_OPERATOR_REGION)
    client.carbon_credits.register_clean_producer(operator, second, EnergyType.SOLAR)
    for timestamp, production_wh in ((now + 961, 0), (now + 1_861, 3_000)):
        client.mine_block_at(timestamp)
        client.smart_meter.submit_readings(operator, [meter, second], [MeterReading(timestamp, 0, 10_000 + production_wh)] * 2)
    batch = client.carbon_credits.issue_batch(signer(accounts[8]), [second, meter])
    assert batch == [IssuedCredits(second, owner.address, 3_000, 3 * factor, factor),
                     IssuedCredits(meter, owner.address, 3_000, 3 * factor, factor)]
    with pytest.raises(ValueError, match="give 1 to 100 meters"):
        client.carbon_credits.issue_batch(signer(accounts[8]), [])

    nft, shares = client.asset_nft, client.asset_shares
    token_id = nft.mint_asset(operator, owner.address, EnergyType.SOLAR, 6_500, LOCAL_OPERATOR_REGION, now, meter)
    assert nft.get_approved(token_id) == ZERO_ADDRESS
    nft.approve(owner, shares.address, token_id)
    assert nft.get_approved(token_id) == shares.address
    assert nft.is_approved_for_all(owner.address, shares.address) is False


def test_typed_grid_and_oracle_reads(client, system, accounts):
    setup_local_roles(system, accounts[0])
    operator, farm = signer(accounts[0]), signer(accounts[5])
    client.grid_management.register_producer(farm, 10 * MW, EnergyType.WIND)
    client.grid_management.verify_producer(operator, farm.address)
    client.grid_management.report_production(farm, 9 * MW)
    status = client.grid_management.grid_status()
    assert (status.total_capacity_w, status.current_load_w, status.utilization_bps) == (10 * MW, 9 * MW, 9_000)
    producer = client.grid_management.get_producer(farm.address)
    assert producer.energy_type is EnergyType.WIND and producer.verified is True
    client.grid_operations.report_load(operator, LOCAL_OPERATOR_REGION, 100, 85)
    load = client.grid_operations.current_load(LOCAL_OPERATOR_REGION)
    assert (load.capacity_kw, load.demand_kw, load.status) == (100, 85, LoadStatus.HIGH)
    assert client.grid_operations.stability_level(49_000, 1_000) is StabilityLevel.ALERT
    round_id = client.price_oracle.submit_price(operator, 240_000)
    assert client.price_oracle.latest_round()[:2] == (round_id, 240_000)
    client.weather_oracle.submit_weather(operator, LOCAL_OPERATOR_REGION, 800, 21_500, 3_000, 2_500)
    weather = client.weather_oracle.weather(LOCAL_OPERATOR_REGION)
    assert (weather.irradiance_w_per_m2, weather.temperature_milli_celsius, weather.report_count) == (800, 21_500, 1)
    client.grid_oracle.submit_grid_data(operator, LOCAL_OPERATOR_REGION, 50_000, 1_000, 9 * MW, 8 * MW)
    factors = client.price_discovery.price_factors(LOCAL_OPERATOR_REGION)
    assert factors.base_price_per_kwh == 240_000
    assert factors.price_per_kwh == client.price_discovery.reference_price_per_kwh(LOCAL_OPERATOR_REGION) > 0


def test_a_script_using_the_client_never_imports_ape(client, tmp_path, networks):
    """What a wallet user runs: a fresh interpreter, the package and a manifest, no ape."""
    path = write_manifest(
        {"chainId": client.chain_id, "contracts": {n: {"address": c.address, "abi": c.abi} for n, c in client.contracts.items()}},
        tmp_path,
    )
    script = f"""
import sys
from energy_grid.chain.accounts import anvil_account
from energy_grid.contracts.client import GridClient
grid = GridClient.from_manifest({str(path)!r}, {networks.provider.uri!r})
assert grid.energy_token.decimals() == 3
grid.payment_token.approve(anvil_account(4), grid.trading.address, 5)
assert grid.payment_token.allowance(anvil_account(4).address, grid.trading.address) == 5
loaded = sorted(m for m in sys.modules if m == "ape" or m.startswith(("ape.", "ape_")))
print("ape modules:", loaded)
sys.exit(1 if loaded else 0)
"""
    run = subprocess.run([sys.executable, "-c", script], check=False, capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stdout + run.stderr
    assert "ape modules: []" in run.stdout

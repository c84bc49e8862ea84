"""The keeper (energy_grid.services.keeper) on its own anvil: one pass matches a book with crossing orders
exactly as price-time priority says (checked against an independent expectation) and settles
it; auctions are cleared once their clearing time has come and claimed into the traders' vault
balances; the meters' standing orders of a cleared reading market are settled in bounded batches,
each meter once, as the reference rule fills them; two keepers in two processes share one book
without failing on each other or doing anything twice."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import urllib.request
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import pytest
from eth_account import Account
from eth_account.signers.local import LocalAccount
from eth_utils import keccak
from web3.types import RPCEndpoint

from energy_grid.chain.accounts import anvil_account
from energy_grid.chain.anvil import free_port
from energy_grid.contracts.client import BUY, SELL, GridClient, MeterReading
from energy_grid.domain.auction import AuctionOrder, clear_market
from energy_grid.domain.enums import ClearingStage
from energy_grid.domain.units import ZERO_ADDRESS
from energy_grid.services.keeper import COUNTED_ACTIONS, Keeper, KeeperMetrics, KeeperReport, keeper_health, run_keeper
from energy_grid.services.order_book import BookOrder, plan_matches

from support.anvil_node import AnvilNode, deploy_to_node, grid_client, wait_until
from support.meter_helpers import fill_of

EXPIRY_S = 7_200
SETTLED = 1  # ISettlement.TransactionStatus
RUN_TIMEOUT_S = 300


@pytest.fixture(scope="module")
def keeper_node(tmp_path_factory):
    node = AnvilNode(tmp_path_factory.mktemp("keeper-node")).start()
    yield node
    node.stop()


@pytest.fixture(scope="module")
def keeper_manifest(keeper_node, project, networks, accounts):
    _, manifest = deploy_to_node(keeper_node, project, networks, accounts[0])
    return manifest


@pytest.fixture
def keeper_client(keeper_node: AnvilNode, keeper_manifest: Path) -> GridClient:
    return grid_client(keeper_node, keeper_manifest)


def operator() -> LocalAccount:
    """The local deployer: SmartMeter operator and gateway, MockStablecoin's faucet."""
    return anvil_account(0)


def now_s(client: GridClient) -> int:
    return int(client.w3.eth.get_block("latest")["timestamp"])


def fresh_traders(client: GridClient, tag: str, count: int, energy_wh: int = 20_000) -> list[LocalAccount]:
    """New accounts with gas, 10,000 stablecoin, `energy_wh` metered EnergyToken, both markets
    approved (the auction as a market of their vault balances, which pull escrow from the wallets)."""
    traders = [Account.from_key(keccak(text=f"{tag}-trader-{i}")) for i in range(count)]
    devices = [Account.from_key(keccak(text=f"{tag}-meter-{i}")).address for i in range(count)]
    for trader, device in zip(traders, devices, strict=True):
        client.w3.provider.make_request(RPCEndpoint("anvil_setBalance"), [trader.address, hex(10**20)])
        client.transact(operator(), client["PaymentToken"].functions.addConsumerBalance(trader.address, 10_000))
        client.smart_meter.register_meter(operator(), device, trader.address, region_id=1)
    start = now_s(client) - 300
    client.smart_meter.submit_readings(operator(), devices, [MeterReading(start, 0, 0)] * count)
    client.smart_meter.submit_readings(operator(), devices, [MeterReading(start + 120, 0, energy_wh)] * count)
    for trader in traders:
        client.approve_market(trader)
        client.approve_auction(trader)
    return traders


@dataclass(frozen=True)
class Placed:
    order_id: int
    trader: str
    is_buy: bool
    price_per_kwh: int
    expiry_s: int
    counterparty: str | None


def place(
    client: GridClient,
    trader: LocalAccount,
    side: int,
    amount_wh: int,
    price: int,
    *,
    to: LocalAccount | None = None,
    expiry_s: int | None = None,
) -> Placed:
    expiry = expiry_s or now_s(client) + EXPIRY_S
    if to is None:
        order_id = client.trading.create_order(trader, amount_wh, price, expiry, side)
    else:
        order_id = client.trading.create_directed_order(trader, amount_wh, price, expiry, side, to.address)
    return Placed(order_id, trader.address, side == BUY, price, expiry, None if to is None else to.address)


def expected_matches(client: GridClient, orders: list[Placed], at_s: int) -> list[tuple[int, int, int, int]]:
    """Price-time priority, written independently of the keeper: over and over, of all pairs that
    may trade now (active, unexpired, crossing, two traders, named counterparties respected) take
    the best bid's best ask, and trade as much as both have left at the earlier order's price.
    What is left of each order comes from the contract, not from events."""
    left = {}
    for order in orders:
        info = client["EnergyTrading"].functions.getOrderInfo(order.order_id).call()
        left[order.order_id] = info.amount - info.filledAmount if info.status == 0 else 0

    def may(bid: Placed, ask: Placed) -> bool:
        return (
            bid.price_per_kwh >= ask.price_per_kwh
            and bid.trader != ask.trader
            and bid.counterparty in (None, ask.trader)
            and ask.counterparty in (None, bid.trader)
            and min(bid.expiry_s, ask.expiry_s) > at_s
        )

    matches: list[tuple[int, int, int, int]] = []
    while True:
        pairs = [
            (bid, ask)
            for bid in orders
            for ask in orders
            if bid.is_buy and not ask.is_buy and left[bid.order_id] and left[ask.order_id] and may(bid, ask)
        ]
        if not pairs:
            return matches
        bid, ask = min(pairs, key=lambda p: (-p[0].price_per_kwh, p[0].order_id, p[1].price_per_kwh, p[1].order_id))
        amount = min(left[bid.order_id], left[ask.order_id])
        price = bid.price_per_kwh if bid.order_id < ask.order_id else ask.price_per_kwh
        matches.append((bid.order_id, ask.order_id, amount, price))
        left[bid.order_id] -= amount
        left[ask.order_id] -= amount


def matched_since(client: GridClient, block: int) -> list[tuple[int, int, int, int]]:
    logs = client["EnergyTrading"].events.OrdersMatched().get_logs(from_block=block)
    return [
        (int(e.args.buyOrderId), int(e.args.sellOrderId), int(e.args.amountWh), int(e.args.pricePerKWh))
        for e in sorted(logs, key=lambda e: (e.blockNumber, e.logIndex))
    ]


def transaction_ids_since(client: GridClient, block: int) -> set[int]:
    events = client["EnergyTrading"].events
    ids = {int(e.args.transactionId) for e in events.OrdersMatched().get_logs(from_block=block)}
    return ids | {int(e.args.transactionId) for e in events.OrderTaken().get_logs(from_block=block)}


def settled_since(client: GridClient, block: int) -> list[int]:
    return [int(e.args.transactionId) for e in client["EnergyTrading"].events.TransactionSettled().get_logs(from_block=block)]


def assert_settled_once(client: GridClient, block: int) -> None:
    settled = settled_since(client, block)
    assert len(settled) == len(set(settled))
    assert set(settled) == transaction_ids_since(client, block)
    for transaction_id in settled:
        assert client["EnergyTrading"].functions.getTransaction(transaction_id).call().status == SETTLED


def open_auction(
    client: GridClient, sellers: list[LocalAccount], buyers: list[LocalAccount], periods_ahead: int = 2
) -> tuple[int, list[int]]:
    """Asks and bids for a period whose gate is still open; returns the period and the order ids."""
    period = client["EnergyAuction"].functions.currentPeriod().call() + periods_ahead
    asks = [(1_000, 150_000), (800, 180_000), (600, 220_000)]
    bids = [(700, 240_000), (500, 200_000), (900, 160_000)]
    orders = [client.auction.submit_ask(s, period, wh, price) for s, (wh, price) in zip(sellers, asks, strict=True)]
    orders += [client.auction.submit_bid(b, period, wh, price) for b, (wh, price) in zip(buyers, bids, strict=True)]
    return period, orders


def reach_clearing_time(client: GridClient, *periods: int) -> None:
    """The chain's clock at the latest of the markets' clearing times (for the reading market: each
    period's end plus the reading deadline, as the auction tells)."""
    clears_at = max(client.auction.clearing_time(p) for p in periods)
    client.mine_block_at(max(clears_at, now_s(client) + 1))


def order_claimed(client: GridClient, order_id: int) -> bool:
    return bool(client["EnergyAuction"].functions.getOrder(order_id).call().claimed)


# ------------------------------------------------------------------------------------ the rule


def test_plan_respects_counterparties_expiry_and_price_time_priority():
    a, b, c = "0x" + "aa" * 20, "0x" + "bb" * 20, "0x" + "cc" * 20

    def order(
        order_id: int, trader: str, is_buy: bool, amount: int, price: int, *, to: str = ZERO_ADDRESS, expiry: int = 100
    ) -> tuple[BookOrder, int]:
        return BookOrder(order_id, trader, is_buy, amount, price, expiry, to), amount

    book = [
        order(1, a, False, 500, 10, to=c),  # directed to c: b may not take it
        order(2, a, False, 500, 12),
        order(3, a, False, 500, 9, expiry=50),  # expired at 60
        order(4, b, True, 800, 15),
        order(5, c, True, 300, 15),
        order(6, a, True, 300, 20),  # a's own asks: no self-trade
    ]
    plan = plan_matches(book, now_s=60)
    assert [(m.buy_order_id, m.sell_order_id, m.amount_wh, m.price_per_kwh) for m in plan] == [
        (4, 2, 500, 12),  # b's bid (older than c's at 15) skips the ask directed to c
        (5, 1, 300, 10),
    ]


# ------------------------------------------------------------------------------------ on chain


def test_one_pass_matches_by_price_time_priority_and_settles(keeper_client):
    client = keeper_client
    s1, s2, s3, b1, b2, b3 = fresh_traders(client, "one-pass", 6)
    start_block = client.w3.eth.block_number
    orders = [
        place(client, s1, SELL, 1_000, 180_000, to=b1),
        place(client, s2, SELL, 1_500, 200_000, to=b1),
        place(client, s1, SELL, 800, 190_000, to=b2),
        place(client, b1, BUY, 2_000, 220_000),
        place(client, b2, BUY, 500, 210_000),
        place(client, b1, BUY, 700, 210_000, to=s2),
        place(client, b2, BUY, 600, 190_000),
        place(client, s3, SELL, 400, 230_000),  # above every bid: rests
        place(client, s2, SELL, 900, 150_000, to=b3, expiry_s=now_s(client) + 30),  # expires before the keeper runs
        place(client, b3, BUY, 900, 200_000),
    ]
    cancelled = place(client, b3, BUY, 300, 300_000, to=s1)
    client.trading.cancel_order(b3, cancelled.order_id)
    arrival = client.trading.place_order(s3, 400, 170_000, now_s(client) + EXPIRY_S, SELL)  # trades with b1 at once
    assert len(arrival.transaction_ids) == 1
    client.mine_block_at(now_s(client) + 60)
    expected = expected_matches(client, [*orders, cancelled], now_s(client) + 1)
    assert len(expected) == 5 and len({price for *_, price in expected}) == 3  # several levels
    keeper_block = client.w3.eth.block_number

    report = run_keeper(client, anvil_account(8), once=True, max_batch=20, from_block=start_block)

    assert report.failures == []
    assert matched_since(client, keeper_block + 1) == expected
    assert (report.matched, report.settled, report.skipped) == (5, 6, 0)
    assert_settled_once(client, start_block)
    again = run_keeper(client, anvil_account(8), once=True, from_block=start_block)  # nothing left to do
    assert (again.matched, again.settled, again.transactions, again.failures) == (0, 0, 0, [])


def test_the_keeper_s_figures_follow_its_work_and_are_served_while_it_runs(keeper_client):
    client = keeper_client
    seller, buyer = fresh_traders(client, "metrics", 2)
    start_block = client.w3.eth.block_number
    place(client, seller, SELL, 1_000, 180_000, to=buyer)
    place(client, buyer, BUY, 1_000, 200_000, to=seller)
    metrics, port, stop = KeeperMetrics(), free_port(), threading.Event()
    pages: list[tuple[int, str]] = []

    def read_pages(report: KeeperReport) -> None:
        for path in ("metrics", "health"):
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/{path}", timeout=10) as answer:
                pages.append((answer.status, answer.read().decode()))
        stop.set()

    report = run_keeper(
        client, anvil_account(8), from_block=start_block, stop=stop, on_round=read_pages, metrics=metrics, metrics_port=port
    )

    assert report.matched >= 1 and report.transactions >= 1 and report.failures == []
    (metrics_status, text), (health_status, health) = pages
    assert metrics_status == 200 and health_status == 200 and json.loads(health)["healthy"] is True
    for kind in COUNTED_ACTIONS:
        assert f'energy_grid_keeper_actions_total{{kind="{kind}"}} {float(getattr(report, kind))}' in text
    assert f'energy_grid_keeper_transactions_total{{outcome="mined"}} {float(report.transactions)}' in text
    assert f"energy_grid_keeper_gas_used_total {float(report.gas_used)}" in text
    assert "energy_grid_keeper_failures_total 0.0" in text
    assert metrics.registry.get_sample_value("energy_grid_keeper_lag_blocks") == 0


def test_closed_auctions_are_cleared_and_claimed_for_the_traders_served(keeper_client):
    client = keeper_client
    traders = fresh_traders(client, "auction", 6)
    start_block = client.w3.eth.block_number
    period, orders = open_auction(client, traders[:3], traders[3:])
    preview = client.preview_auction(period)
    client.mine_block_at(client.auction.gate_closure_time(period))
    early = run_keeper(client, anvil_account(8), once=True, from_block=start_block)
    # The gate has closed, but the reading market clears only after the period's readings are in.
    assert (early.markets_cleared, early.orders_claimed, early.failures) == (0, 0, [])
    assert client.auction.clearing_time(period) == (period + 1) * 900 + client.auction.reading_deadline_s()
    reach_clearing_time(client, period)
    held_before = [client.vault.balances(t.address) for t in traders]

    mine = run_keeper(client, anvil_account(8), once=True, traders=[traders[3].address], from_block=start_block)
    assert (mine.markets_cleared, mine.orders_claimed, mine.failures) == (1, 1, [])
    assert [order_claimed(client, o) for o in orders] == [False, False, False, True, False, False]
    rest = run_keeper(client, anvil_account(9), once=True, from_block=start_block)
    assert (rest.markets_cleared, rest.orders_claimed, rest.failures) == (0, 5, [])

    market = client["EnergyAuction"].functions.getMarket(period).call()
    assert market.cleared and market.volumeWh == preview.volume_wh > 0
    claims = client["EnergyAuction"].events.OrderClaimed().get_logs(from_block=start_block)
    assert sorted(int(e.args.orderId) for e in claims) == sorted(orders)
    assert {int(e.args.orderId): int(e.args.filledWh) for e in claims} == preview.fills_wh
    # Each claim was paid into its trader's vault balance: a bid its energy and unused escrow, an ask
    # its proceeds after the fee and its unsold energy.
    by_trader = {e.args.trader: e.args for e in claims}
    for trader, before in zip(traders, held_before, strict=True):
        c = by_trader[trader.address]
        energy_wh, payment = (c.filledWh, c.refund) if c.isBid else (c.refund, c.payment - c.fee)
        assert client.vault.balances(trader.address) == (before.energy_wh + energy_wh, before.payment + payment)


def test_a_coupled_market_too_large_for_one_transaction_is_cleared_in_steps(keeper_client):
    """Orders in two zones; a keeper that holds one transaction to less gas than this market's clear
    runs SteppedClearing's two steps, then the clear, which records their result."""
    client = keeper_client
    zones, stepped = client.market_zones, client.stepped_clearing
    assert zones is not None and stepped is not None
    for region in (1, 2):
        if zones.zone_of(region) == 0:
            zones.add_zone(operator(), region)
    sellers, buyers = fresh_traders(client, "zoned", 2), fresh_traders(client, "zoned-buyers", 2)
    start_block = client.w3.eth.block_number
    period = client.auction.current_period() + 2
    client.auction.submit_ask_in(sellers[0], 1, period, 1_000, 150_000)
    client.auction.submit_ask_in(sellers[1], 2, period, 800, 180_000)
    client.auction.submit_bid_in(buyers[0], 2, period, 1_500, 240_000)
    client.auction.submit_bid_in(buyers[1], 1, period, 200, 160_000)
    preview = zones.preview(period)
    reach_clearing_time(client, period)

    report = run_keeper(client, anvil_account(8), once=True, from_block=start_block, one_transaction_clear_gas=100_000)
    assert (report.markets_cleared, report.orders_claimed, report.failures) == (1, 4, [])
    assert stepped.stage(period)[0] == ClearingStage.FINISHED
    assert stepped.result(period) == preview and preview.sold_wh > 0
    for zone, word in zip(preview.zones, preview.zone_results, strict=True):
        assert zones.zone_result(period, zone).clearing_tick == word & 0xFF  # ZoneResult's tick, its low byte


def keeper_process(node: AnvilNode, manifest: Path, account: LocalAccount, from_block: int, metrics_port: int) -> subprocess.Popen[str]:
    env = {**os.environ, "ENERGY_GRID_PRIVATE_KEY": account.key.hex()}
    command = [sys.executable, "-m", "energy_grid.cli", "--rpc-url", node.url, "--manifest", str(manifest), "--json", "keeper"]
    command += ["--max-batch", "3", "--poll-interval", "0.2", "--from-block", str(from_block), "--metrics-port", str(metrics_port)]
    return subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def finished_a_round(port: int) -> bool:
    """Whether the keeper serving /metrics on `port` has finished a round (and so stops cleanly on
    SIGTERM: it handles the signal from before its first round)."""
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10) as answer:
            text = answer.read().decode()
    except OSError:
        return False  # not serving yet
    return any(line.startswith("energy_grid_keeper_processed_block ") and float(line.split()[1]) > 0 for line in text.splitlines())


def test_two_keepers_at_once_never_fail_on_each_other(keeper_client, keeper_node, keeper_manifest):
    """Two long-running keepers on one book, in small batches so that their rounds interleave:
    every pair is matched once, every transaction settled once, the markets cleared once and
    every auction order claimed once; both stop cleanly on SIGTERM with exit code 0."""
    client = keeper_client
    traders = fresh_traders(client, "two-keepers", 8)
    sellers, buyers = traders[:4], traders[4:]
    start_block = client.w3.eth.block_number
    orders = []
    for i, seller in enumerate(sellers):
        for j, buyer in enumerate(buyers):
            orders.append(place(client, seller, SELL, 300 + 100 * ((i + j) % 4), 150_000 + 10_000 * ((i * 3 + j) % 5), to=buyer))
    for j, buyer in enumerate(buyers):
        orders.append(place(client, buyer, BUY, 1_000 + 300 * j, 190_000 - 10_000 * j))
        orders.append(place(client, buyer, BUY, 500, 175_000 + 5_000 * j, to=sellers[j]))
    periods = [open_auction(client, sellers[:3], buyers[:3], ahead)[0] for ahead in (2, 3)]
    auction_orders = [o for p in periods for o in [*client.auction.orders(p)]]
    expected = expected_matches(client, orders, now_s(client) + 1)
    assert len(expected) >= 10
    reach_clearing_time(client, *periods)

    ports = [free_port(), free_port()]
    accounts = [anvil_account(8), anvil_account(9)]
    keepers = [keeper_process(keeper_node, keeper_manifest, a, start_block, port) for a, port in zip(accounts, ports, strict=True)]
    try:
        # Done once the book is, and each keeper has finished a round: on a loaded machine one keeper
        # did all the work while the other was still starting, and SIGTERM then ended that one
        # before it handled the signal (exit -15).
        wait_until(
            lambda: (
                (
                    len(matched_since(client, start_block)) >= len(expected)
                    and set(settled_since(client, start_block)) >= transaction_ids_since(client, start_block)
                    and all(order_claimed(client, o.order_id) for o in auction_orders)
                    and all(finished_a_round(port) for port in ports)
                )
                or any(k.poll() is not None for k in keepers)
            ),
            RUN_TIMEOUT_S,
            "the keepers to finish the book",
            poll_s=0.2,
        )
    finally:
        for keeper in keepers:
            if keeper.poll() is None:
                keeper.send_signal(signal.SIGTERM)
        outputs = [keeper.communicate(timeout=60) for keeper in keepers]
    assert [k.returncode for k in keepers] == [0, 0], [err for _, err in outputs]
    reports = [json.loads(out) for out, _ in outputs]

    assert matched_since(client, start_block) == expected  # each pair once, in priority order
    assert_settled_once(client, start_block)
    cleared = client["EnergyAuction"].events.MarketCleared().get_logs(from_block=start_block)
    assert sorted(int(e.args.period) for e in cleared) == sorted(periods)
    claims = Counter(int(e.args.orderId) for e in client["EnergyAuction"].events.OrderClaimed().get_logs(from_block=start_block))
    assert claims == Counter(o.order_id for o in auction_orders)
    assert [r["failures"] for r in reports] == [[], []]
    assert sum(r["matched"] for r in reports) == len(expected)
    assert sum(r["settled"] for r in reports) == len(transaction_ids_since(client, start_block))
    assert sum(r["markets_cleared"] for r in reports) == 2
    assert sum(r["orders_claimed"] for r in reports) == len(auction_orders)


# ------------------------------------------------------------------------------------ standing orders

# (export Wh, sell limit) of three households and (import Wh, buy limit) of three more, one interval.
# On the deployment's grid (0.05 + k x 0.001): D = 1,100 Wh up to 0.080, S = 900 Wh from 0.060, so
# 900 Wh trade anywhere from 0.060 to 0.080 (the midpoint, 0.070); bids are long and ration.
STANDING_SELLERS = [(500, 60_000), (400, 60_000), (300, 90_000)]
STANDING_BUYERS = [(600, 100_000), (500, 80_000), (400, 55_000)]
STANDING_DEPOSIT = 1_000_000  # payment base units each buyer deposits (1 MOCKUSD)


def standing_households(client: GridClient, tag: str) -> tuple[list[LocalAccount], list[str]]:
    """Six households with a meter each (registered at registers 0): the auction approved in the
    vault, the buyers' STANDING_DEPOSIT deposited, each meter's standing limits set."""
    households = [Account.from_key(keccak(text=f"{tag}-household-{i}")) for i in range(6)]
    meters = [Account.from_key(keccak(text=f"{tag}-household-meter-{i}")).address for i in range(6)]
    for i, (household, meter) in enumerate(zip(households, meters, strict=True)):
        client.w3.provider.make_request(RPCEndpoint("anvil_setBalance"), [household.address, hex(10**20)])
        client.smart_meter.register_meter(operator(), meter, household.address, 1, 0, 0)
        client.approve_auction(household)
        if i < 3:
            client.smart_meter.set_standing_order(household, meter, sell_price_per_kwh=STANDING_SELLERS[i][1])
        else:
            client.payment_token.add_consumer_balance(operator(), household.address, 1)
            client.vault.deposit(household, client.payment_token.address, STANDING_DEPOSIT)
            client.smart_meter.set_standing_order(household, meter, buy_price_per_kwh=STANDING_BUYERS[i - 3][1])
    return households, meters


def test_standing_orders_are_settled_after_clearing_in_bounded_batches(keeper_client):
    """One gateway batch at the end of an interval places the households' export as asks and their
    import as bids in the reading market. Before the clearing time the keeper leaves it alone; then
    a keeper serving one household clears it and settles only that meter, and another, at two
    meters a batch and two batches a round, settles the other five over two rounds, each once. The
    fills are the reference rule's over the placements in arrival order, and the vault balances
    show them: unsold energy back to the sellers with their proceeds, the buyers' unused lock back."""
    client = keeper_client
    households, meters = standing_households(client, "standing")
    start_block = client.w3.eth.block_number
    period = client.auction.current_period() + 1
    read_at = (period + 1) * 900 - 1  # the interval's last second
    client.mine_block_at(read_at)
    flows = [(0, wh) for wh, _ in STANDING_SELLERS] + [(wh, 0) for wh, _ in STANDING_BUYERS]
    client.smart_meter.submit_readings(operator(), meters, [MeterReading(read_at, imp, exp) for imp, exp in flows])
    # A placement emits nothing: the meters' slots in the auction show the orders.
    placed = {m: client.auction.metered_orders(m)[period % 2] for m in meters}
    assert all(slot.period == period and not slot.settled for slot in placed.values())
    held_after_placing = [client.vault.balances(h.address) for h in households]

    early = run_keeper(client, anvil_account(8), once=True, from_block=start_block)
    assert (early.markets_cleared, early.standing_settled, early.failures) == (0, 0, [])

    reach_clearing_time(client, period)
    one = run_keeper(client, anvil_account(8), once=True, traders=[households[3].address], from_block=start_block)
    assert (one.markets_cleared, one.standing_settled, one.failures) == (1, 1, [])
    keeper = Keeper(client, anvil_account(9), max_batch=2, from_block=start_block)
    first = keeper.run_round()
    assert first.full and (keeper.report.markets_cleared, keeper.report.standing_settled) == (0, 4)
    second = keeper.run_round()
    assert not second.full and keeper.report.standing_settled == 5
    transactions = keeper.report.transactions
    keeper.run_round()  # nothing left
    assert (keeper.report.transactions, keeper.report.failures) == (transactions, [])
    assert keeper.report.transactions == 3  # ceil(5 / 2) settlement batches

    settled = client["EnergyAuction"].events.MeteredOrdersSettled().get_logs(from_block=start_block)
    assert Counter(e.args.meter for e in settled) == Counter(meters)
    assert {fill_of(e).period for e in settled} == {period}

    grid = client.auction.grid(period)
    arrivals = meters  # one batch: the auction placed the readings in the batch's order

    def as_order(i: int, meter: str) -> AuctionOrder:  # each household placed one side
        slot = placed[meter]
        is_bid = slot.bid_wh > 0
        return AuctionOrder(i, is_bid, slot.bid_wh if is_bid else slot.ask_wh, slot.bid_tick if is_bid else slot.ask_tick)

    orders = [as_order(i, m) for i, m in enumerate(arrivals)]
    reference = clear_market(orders, grid.tick_count)
    market = client.auction.get_market(period)
    assert (market.cleared, market.volume_wh, market.clearing_tick) == (True, reference.volume_wh, reference.tick)
    assert market.clearing_price_per_kwh == 80_000 and reference.volume_wh == 900
    by_meter = {e.args.meter: fill_of(e) for e in settled}
    for i, meter in enumerate(arrivals):
        outcome = by_meter[meter]
        assert (outcome.askWh, outcome.bidWh) == (placed[meter].ask_wh, placed[meter].bid_wh)
        assert (outcome.soldWh if outcome.askWh else outcome.boughtWh) == reference.fills_wh[i]

    for i, (household, meter) in enumerate(zip(households, meters, strict=True)):
        outcome, before = by_meter[meter], held_after_placing[i]
        if i < 3:  # the export was in the market; what did not sell came back, with the proceeds
            assert client.vault.balances(household.address) == (
                STANDING_SELLERS[i][0] - outcome.soldWh, before.payment + outcome.proceeds
            )
        else:  # the lock was in the market; what was not paid came back, and the energy was retired
            lock = -(-STANDING_BUYERS[i - 3][0] * STANDING_BUYERS[i - 3][1] // 1_000)
            assert before == (0, STANDING_DEPOSIT - lock)
            assert client.vault.balances(household.address) == (0, STANDING_DEPOSIT - outcome.paid)



def test_with_a_grace_the_keeper_leaves_standing_orders_to_the_next_readings_and_settles_the_rest(keeper_client):
    """A keeper given a grace clears the reading market at its clearing time but settles none of its
    standing orders yet: the sellers' readings two intervals on settle theirs in the same transaction. Once the
    grace has passed, the keeper settles the buyers', who did not read again, each once."""
    client = keeper_client
    _, meters = standing_households(client, "grace")
    start_block = client.w3.eth.block_number
    period = client.auction.current_period() + 1
    read_at = (period + 1) * 900 - 1
    client.mine_block_at(read_at)
    flows = [(0, wh) for wh, _ in STANDING_SELLERS] + [(wh, 0) for wh, _ in STANDING_BUYERS]
    client.smart_meter.submit_readings(operator(), meters, [MeterReading(read_at, imp, exp) for imp, exp in flows])
    reach_clearing_time(client, period)
    grace_s = 1_800
    keeper = Keeper(client, anvil_account(8), from_block=start_block, standing_grace_s=grace_s)
    keeper.run_round()
    assert (keeper.report.markets_cleared, keeper.report.standing_settled, keeper.report.failures) == (1, 0, [])

    # The sellers read again two intervals on (no new energy): the reading reuses the slot of the
    # cleared market's orders, and settles them on its way.
    next_read_at = read_at + 2 * 900
    client.mine_block_at(next_read_at)
    client.smart_meter.submit_readings(operator(), meters[:3], [MeterReading(next_read_at, imp, exp) for imp, exp in flows[:3]])
    keeper.run_round()
    assert keeper.report.standing_settled == 0
    settled = client["EnergyAuction"].events.MeteredOrdersSettled().get_logs(from_block=start_block)
    assert sorted(e.args.meter for e in settled) == sorted(meters[:3])

    client.mine_block_at(client.auction.clearing_time(period) + grace_s)
    keeper.run_round()
    assert (keeper.report.standing_settled, keeper.report.failures) == (3, [])
    settled = client["EnergyAuction"].events.MeteredOrdersSettled().get_logs(from_block=start_block)
    assert Counter(e.args.meter for e in settled) == Counter(meters)
    assert {fill_of(e).period for e in settled} == {period}


def test_a_negative_grace_is_refused(keeper_client):
    with pytest.raises(ValueError, match="standing_grace_s cannot be negative"):
        Keeper(keeper_client, anvil_account(8), standing_grace_s=-1)


# ---- What the keeper survives ----


def test_a_round_that_fails_is_tried_again_and_the_keeper_goes_on(keeper_client, monkeypatch):
    """A node gone for a moment, or a block asked for just as the chain moved on: the round fails, is
    counted, and the next one runs."""
    client = keeper_client
    failures = iter([ValueError("block height is 9 but requested was 8")])
    run_round = Keeper.run_round
    health_after_failure: list[dict[str, object]] = []

    def fail_once(self: Keeper, stop: threading.Event | None = None) -> object:
        failure = next(failures, None)
        if failure is not None:
            raise failure
        health_after_failure.append(keeper_health(metrics, 0.01))
        return run_round(self, stop)

    monkeypatch.setattr(Keeper, "run_round", fail_once)
    metrics, stop = KeeperMetrics(), threading.Event()
    report = run_keeper(
        client,
        anvil_account(8),
        from_block=client.w3.eth.block_number,
        stop=stop,
        poll_interval_s=0.01,
        on_round=lambda _report: stop.set(),
        metrics=metrics,
    )
    assert report.rounds == 1
    assert metrics.registry.get_sample_value("energy_grid_keeper_errors_total") == 1
    # /health named the failure until a round succeeded.
    assert health_after_failure[0]["last_error"] == "ValueError: block height is 9 but requested was 8"
    assert keeper_health(metrics, 0.01)["last_error"] is None
    # A single round asked for (`once`) raises its failure instead.
    failures = iter([ValueError("block height is 9 but requested was 8")])
    with pytest.raises(ValueError, match="requested was 8"):
        run_keeper(client, anvil_account(8), once=True)


def test_after_a_reorganisation_the_keeper_reads_its_book_again(keeper_client):
    """An order in a block the chain then drops is no longer in the keeper's book."""
    client = keeper_client
    (buyer,) = fresh_traders(client, "reorg", 1)
    keeper = Keeper(client, anvil_account(8), from_block=client.w3.eth.block_number)
    keeper.sync()
    placed = place(client, buyer, BUY, 1_000, 200_000)
    keeper.sync()
    assert placed.order_id in keeper.book.orders
    client.w3.provider.make_request("anvil_reorg", [1, []])
    keeper.sync()
    assert keeper.reorgs == 1 and placed.order_id not in keeper.book.orders

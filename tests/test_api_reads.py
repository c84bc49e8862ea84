"""The read routes through FastAPI's TestClient, on an index the test brings up to date with
`follower.run_once()`, checked against what the test did on chain."""

from __future__ import annotations

import re

import pytest
import sqlalchemy
from eth_account import Account
from fastapi import FastAPI
from fastapi.testclient import TestClient

from energy_grid.api import create_app
from energy_grid.chain.accounts import anvil_account
from energy_grid.chain.errors import InvalidInputError
from energy_grid.contracts.client import SELL, GridClient, MeterReading
from energy_grid.contracts.zones import NO_LIMIT
from energy_grid.domain.demand_response import interval_readings
from energy_grid.domain.enums import ZoneRole
from energy_grid.domain.units import DAY_SECONDS, INTERVAL_SECONDS

from support.anvil_node import wait_until
from support.index_helpers import BUYER, DEPLOYER, PRICE_PER_KWH, SELLER, advance, grid_reports, meter_energy, now_s, trade
from support.service_helpers import problem

SELLER_ADDRESS, BUYER_ADDRESS = anvil_account(SELLER).address, anvil_account(BUYER).address


@pytest.fixture
def reads(api_settings):
    """(HTTP client, the app) for a fresh index; the follower runs only when the test says."""
    app = create_app(api_settings(follow=False))
    with TestClient(app) as http:
        yield http, app


@pytest.fixture
def reads_grid(api_manifest, networks):
    return GridClient.from_manifest(api_manifest, networks.provider.uri)


def synced(app: FastAPI) -> int:
    return app.state.follower.run_once()


def test_orders_order_book_and_trades(reads, reads_grid):
    http, app = reads
    meter_energy(reads_grid, produced_wh=10_000)
    done = trade(reads_grid, sell_wh=3_000, buy_wh=1_000)
    seller = anvil_account(SELLER)
    expiry = now_s(reads_grid) + 7_200
    resting = reads_grid.trading.create_order(seller, 2_500, PRICE_PER_KWH + 10_000, expiry, SELL)
    cancelled = reads_grid.trading.create_order(seller, 1_000, PRICE_PER_KWH + 20_000, expiry, SELL)
    reads_grid.trading.cancel_order(seller, cancelled)
    synced(app)

    sell = http.get(f"/api/v1/orders/{done.sell_order_id}").json()
    assert {k: sell[k] for k in ("trader", "side", "amountWh", "filledWh", "remainingWh", "pricePerKWh", "status", "expired")} == {
        "trader": SELLER_ADDRESS, "side": "SELL", "amountWh": 3_000, "filledWh": 1_000, "remainingWh": 2_000,
        "pricePerKWh": PRICE_PER_KWH, "status": "ACTIVE", "expired": False,
    }
    assert sell["counterparty"] is None and sell["txHash"].startswith("0x") and sell["blockNumber"] > 0
    assert http.get(f"/api/v1/orders/{done.buy_order_id}").json()["status"] == "FILLED"
    assert http.get(f"/api/v1/orders/{cancelled}").json()["status"] == "CANCELLED"
    missing = http.get("/api/v1/orders/999")
    assert missing.status_code == 404 and missing.json()["error"] == "OrderUnknown"

    mine = http.get("/api/v1/orders", params={"trader": SELLER_ADDRESS.lower()}).json()
    assert [o["orderId"] for o in mine["items"]] == [cancelled, resting, done.sell_order_id]  # newest first
    assert mine["total"] == 3 and mine["limit"] == 50 and mine["offset"] == 0
    active = http.get("/api/v1/orders", params={"trader": SELLER_ADDRESS, "status": "ACTIVE", "limit": 1, "offset": 1}).json()
    assert [o["orderId"] for o in active["items"]] == [done.sell_order_id] and active["total"] == 2
    assert http.get("/api/v1/orders", params={"side": "BUY"}).json()["total"] == 1

    book = http.get("/api/v1/orderbook").json()
    assert book == {
        "bids": [],
        "asks": [
            {"pricePerKWh": PRICE_PER_KWH, "amountWh": 2_000, "orders": 1},
            {"pricePerKWh": PRICE_PER_KWH + 10_000, "amountWh": 2_500, "orders": 1},
        ],
    }

    trades = http.get("/api/v1/trades", params={"trader": BUYER_ADDRESS}).json()
    [item] = trades["items"]
    fee = item["fee"]
    assert item == {
        "transactionId": done.transaction_id, "buyOrderId": done.buy_order_id, "sellOrderId": done.sell_order_id,
        "buyer": BUYER_ADDRESS, "seller": SELLER_ADDRESS, "amountWh": 1_000, "pricePerKWh": PRICE_PER_KWH,
        "timestamp": item["timestamp"], "blockNumber": item["blockNumber"], "txHash": item["txHash"],
        "settled": True, "voided": False, "payment": 200_000, "fee": fee,
    }
    assert fee == reads_grid.trading.grid_fee_bps() * 200_000 // 10_000
    assert http.get("/api/v1/trades", params={"to": item["timestamp"] - 1}).json()["total"] == 0
    assert http.get("/api/v1/trades", params={"from": item["timestamp"], "to": item["timestamp"]}).json()["total"] == 1
    assert http.get("/api/v1/trades", params={"trader": anvil_account(7).address}).json()["items"] == []

    prices = http.get("/api/v1/analytics/prices").json()["points"]
    assert prices == [{"timestamp": item["timestamp"], "pricePerKWh": PRICE_PER_KWH, "volumeWh": 1_000, "source": "trade"}]


def test_bad_reads_get_their_4xx(reads):
    http, app = reads
    synced(app)
    too_large = http.get("/api/v1/trades", params={"limit": 501})
    assert too_large.status_code == 400 and too_large.json()["error"] == "PageTooLarge"
    assert http.get("/api/v1/trades", params={"limit": 500}).status_code == 200
    bad = http.get("/api/v1/orders", params={"trader": "0x1234"})
    assert bad.status_code == 422 and bad.json()["error"] == "InvalidAddress"
    assert http.get("/api/v1/orders", params={"offset": -1}).json()["error"] == "InvalidRequest"
    assert http.get("/api/v1/orders/not-a-number").status_code == 422
    unknown = http.get(f"/api/v1/meters/{anvil_account(8).address}/history")
    assert unknown.status_code == 404 and unknown.json()["error"] == "MeterUnknown"
    huge = http.get("/api/v1/analytics/energy", params={"from": 0, "to": 2_000 * 900, "bucketSeconds": 900})
    assert huge.status_code == 400 and huge.json()["error"] == "RangeTooLarge"
    assert http.get("/api/v1/analytics/energy", params={"from": 0, "to": 1_999 * 900}).status_code == 200
    backwards = http.get("/api/v1/trades", params={"from": 10, "to": 5})
    assert backwards.status_code == 400 and backwards.json()["error"] == "InvalidRange"


def test_meters_history_production_and_consumption(reads, reads_grid):
    http, app = reads
    meter, (baseline_s, second_s) = meter_energy(reads_grid, produced_wh=4_000, consumed_wh=1_500)
    synced(app)

    meters = http.get("/api/v1/meters", params={"owner": SELLER_ADDRESS}).json()
    [entry] = meters["items"]
    assert (entry["meter"], entry["owner"], entry["regionId"], entry["active"]) == (meter, SELLER_ADDRESS, 1, True)
    history = http.get(f"/api/v1/meters/{meter.lower()}/history").json()
    readings = [(h["timestamp"], h["consumptionWh"], h["productionWh"]) for h in history["items"]]
    assert readings == [(second_s, 1_500, 4_000), (baseline_s, 0, 0)]
    window = {"from": second_s, "to": second_s}
    assert http.get(f"/api/v1/meters/{meter}/history", params=window).json()["total"] == 1
    production = http.get(f"/api/v1/meters/{meter}/production", params={"from": baseline_s, "to": second_s}).json()
    assert production["productionWh"] == 4_000 and production["meter"] == meter
    assert production["intervals"][-1] == {"timestamp": second_s // 900 * 900, "productionWh": 4_000}
    consumption = http.get(f"/api/v1/meters/{meter}/consumption", params={"from": baseline_s, "to": second_s}).json()
    assert consumption["consumptionWh"] == 1_500
    energy = http.get("/api/v1/analytics/energy", params={"from": second_s // 900 * 900, "to": second_s, "bucketSeconds": 900}).json()
    assert energy["buckets"] == [{"start": second_s // 900 * 900, "productionWh": 4_000, "consumptionWh": 1_500, "tradedWh": 0}]

    reads_grid.smart_meter.deactivate_meter(anvil_account(DEPLOYER), meter)
    synced(app)
    assert http.get("/api/v1/meters").json()["items"][0]["active"] is False


def test_grid_status_series_and_index_status(reads, reads_grid):
    http, app = reads
    before = http.get("/api/v1/grid/status").json()
    assert before["regions"] == [] and before["supplyW"] is None and before["blockNumber"] is None
    grid_reports(reads_grid, demand_kw=96)
    reads_grid.grid_management.toggle_emergency_mode(anvil_account(DEPLOYER), 1, True)
    indexed = synced(app)

    status = http.get("/api/v1/grid/status").json()
    assert status["blockNumber"] == indexed and status["emergencyMode"] is True
    measured = (status["supplyW"], status["demandW"], status["frequencyMilliHz"], status["voltagePerMille"])
    assert measured == (9_000_000, 8_000_000, 50_010, 1_002)
    [region] = status["regions"]
    assert region["regionId"] == 1 and region["emergencyMode"] is True  # the grid is in emergency while a region is
    assert {k: region["load"][k] for k in ("capacityKW", "demandKW", "loadPercentage", "status")} == {
        "capacityKW": 100, "demandKW": 96, "loadPercentage": 96, "status": "CRITICAL",
    }
    assert region["oracle"]["supplyW"] == 7_000_000 and region["oracle"]["demandW"] == 6_500_000

    demand = http.get("/api/v1/grid/demand").json()
    assert demand["regionId"] is None and [p["demandW"] for p in demand["points"]] == [8_000_000]
    supply = http.get("/api/v1/grid/supply", params={"regionId": 1}).json()
    assert supply["regionId"] == 1 and [p["supplyW"] for p in supply["points"]] == [7_000_000]
    assert http.get("/api/v1/grid/supply", params={"regionId": 2}).json()["points"] == []

    index_status = http.get("/api/v1/index/status").json()
    assert index_status == {
        "chainId": reads_grid.chain_id, "headBlock": indexed, "indexedBlock": indexed, "lagBlocks": 0,
        "caughtUp": True, "progress": 1.0, "message": "in step with the chain", "skippedEvents": 0,
    }
    reads_grid.mine_block_at(now_s(reads_grid) + 1)
    assert http.get("/api/v1/index/status").json()["lagBlocks"] == 1

    for empty in ("/api/v1/auction/clearings", "/api/v1/auction/orders", "/api/v1/demand-response/events"):
        assert http.get(empty).json() == {"items": [], "total": 0, "limit": 50, "offset": 0}


def test_grid_loads_are_the_load_reports_oldest_first(reads, reads_grid):
    """A 100 kVA community feeder's day: 90 kW of 100 kW reads back 90 % HIGH, in kW, and the
    series follows the others' conventions (window, newest `limit` oldest first, problems)."""
    http, app = reads
    operator, operations = anvil_account(DEPLOYER), reads_grid.grid_operations
    times = []
    for demand_kw in (30, 90, 96):
        operations.report_load(operator, 1, 100, demand_kw)
        times.append(now_s(reads_grid))
        advance(reads_grid, INTERVAL_SECONDS)
    indexed = synced(app)

    loads = http.get("/api/v1/grid/loads", params={"regionId": 1}).json()
    assert loads["regionId"] == 1
    assert [(p["sequence"], p["demandKW"], p["loadPercentage"], p["status"]) for p in loads["points"]] == [
        (0, 30, 30, "LOW"), (1, 90, 90, "HIGH"), (2, 96, 96, "CRITICAL"),
    ]  # fmt: skip
    feeder = loads["points"][1]
    assert set(feeder) == {"regionId", "sequence", "capacityKW", "demandKW", "loadPercentage", "status", "reportedAt", "blockNumber"}
    assert (feeder["regionId"], feeder["capacityKW"], feeder["reportedAt"]) == (1, 100, times[1])
    assert 0 < feeder["blockNumber"] <= indexed
    on_chain = operations.current_load(1)
    assert (on_chain.demand_kw, on_chain.load_percentage) == (96, 96)

    assert http.get("/api/v1/grid/loads").json() == {"regionId": None, "points": loads["points"]}  # every region
    newest = http.get("/api/v1/grid/loads", params={"limit": 2}).json()["points"]
    assert [p["sequence"] for p in newest] == [1, 2]
    window = http.get("/api/v1/grid/loads", params={"from": times[1], "to": times[1]}).json()["points"]
    assert [p["sequence"] for p in window] == [1]
    assert http.get("/api/v1/grid/loads", params={"regionId": 2}).json()["points"] == []
    problem(http.get("/api/v1/grid/loads", params={"from": times[2], "to": times[0]}), 400, "InvalidRange")
    problem(http.get("/api/v1/grid/loads", params={"limit": 501}), 400, "PageTooLarge")
    problem(http.get("/api/v1/grid/loads", params={"regionId": -1}), 422, "InvalidRequest")


def test_health_says_indexing_and_how_far_until_the_index_has_caught_up(reads, reads_grid):
    http, app = reads
    meter_energy(reads_grid, produced_wh=1_000)
    app.state.follower.range_blocks = 1  # one block a step: the catch-up can be watched half way
    head = reads_grid.w3.eth.block_number
    start = app.state.follower.start_block
    before = http.get("/api/v1/health").json()
    assert before["status"] == "indexing" and before["message"] == f"indexing: block {start} of {head}"
    assert before["index"]["caughtUp"] is False and before["index"]["progress"] == 0

    for _ in range((head - start + 1) // 2):
        app.state.follower.step()
    halfway = http.get("/api/v1/health").json()
    indexed = halfway["index"]["indexedBlock"]
    assert halfway["status"] == "indexing" and halfway["message"] == f"indexing: block {indexed} of {head}"
    assert halfway["index"]["progress"] == pytest.approx((indexed - start + 1) / (head - start + 1))
    assert 0 < halfway["index"]["progress"] < 1

    synced(app)
    after = http.get("/api/v1/health").json()
    assert after == {"status": "ok", "message": "in step with the chain", "index": http.get("/api/v1/index/status").json()}
    assert after["index"]["progress"] == 1.0


def test_the_background_follower_catches_up_with_the_head(api_settings, reads_grid):
    meter_energy(reads_grid, produced_wh=1_000)
    app = create_app(api_settings())
    with TestClient(app) as http:
        head = reads_grid.w3.eth.block_number

        def caught_up() -> bool:
            status = http.get("/api/v1/index/status").json()
            return bool(status["indexedBlock"] == status["headBlock"] == head)

        wait_until(caught_up, 120, "the follower to index the head", poll_s=0.2)
        assert http.get("/api/v1/meters").json()["total"] == 1
    assert app.state.follower._thread is None  # stopped with the app


def test_auction_orders_and_clearings_with_ids_above_int64(reads, reads_grid):
    """Auction order ids are period << 64 | sequence: stored exactly and answered as decimal strings."""
    http, app = reads
    meter_energy(reads_grid, produced_wh=5_000)
    seller, buyer, keeper = anvil_account(SELLER), anvil_account(BUYER), anvil_account(DEPLOYER)
    reads_grid.approve_auction(seller)
    reads_grid.approve_auction(buyer)
    period = reads_grid["EnergyAuction"].functions.currentPeriod().call() + 2
    ask = reads_grid.auction.submit_ask(seller, period, 1_000, 150_000)
    bid = reads_grid.auction.submit_bid(buyer, period, 600, 240_000)
    assert ask >= 2**63 and bid >= 2**63
    clears_at = reads_grid.auction.clearing_time(period)  # the reading market: the period's end plus its reading deadline
    reads_grid.mine_block_at(max(clears_at, now_s(reads_grid) + 1))
    cleared = reads_grid.clear_auction(keeper, period)
    held = reads_grid.vault.balances(BUYER_ADDRESS)
    reads_grid.claim_auction_order(keeper, bid)
    assert reads_grid.vault.balances(BUYER_ADDRESS).energy_wh == held.energy_wh + cleared["volumeWh"]  # claims pay into the vault
    synced(app)

    orders = http.get("/api/v1/auction/orders", params={"trader": BUYER_ADDRESS}).json()["items"]
    assert [(o["orderId"], o["side"], o["amountWh"], o["filledWh"], o["claimed"]) for o in orders] == [
        (str(bid), "BUY", 600, cleared["volumeWh"], True)
    ]
    asks = http.get("/api/v1/auction/orders", params={"period": period, "trader": SELLER_ADDRESS}).json()["items"]
    assert [(o["orderId"], o["side"], o["claimed"]) for o in asks] == [(str(ask), "SELL", False)]
    [clearing] = http.get("/api/v1/auction/clearings").json()["items"]
    assert (clearing["period"], clearing["clearingPricePerKWh"], clearing["volumeWh"]) == (
        period, cleared["clearingPricePerKWh"], cleared["volumeWh"],
    )
    assert cleared["volumeWh"] == 600

    # A market without orders clears too, trading nothing: `traded` leaves it out.
    reads_grid.clear_auction(keeper, period - 1)
    synced(app)
    assert [c["volumeWh"] for c in http.get("/api/v1/auction/clearings").json()["items"]] == [0, 600]
    traded = http.get("/api/v1/auction/clearings", params={"traded": "true"}).json()
    assert ([c["period"] for c in traded["items"]], traded["total"]) == ([period], 1)


def test_an_accounts_fills_merge_the_book_and_the_auction_newest_first(reads, reads_grid):
    """A seller's book trades (settled and pending) and its claimed auction ask in one list: the auction's
    at the clearing price from its period's start; an ask not yet claimed is not a fill yet; the book's
    open SELL shows as energy locked in the vault route."""
    http, app = reads
    meter_energy(reads_grid, produced_wh=10_000)
    settled = trade(reads_grid, sell_wh=1_000, buy_wh=1_000)
    pending = trade(reads_grid, sell_wh=3_000, buy_wh=500, settle=False)
    seller, buyer, keeper = anvil_account(SELLER), anvil_account(BUYER), anvil_account(DEPLOYER)
    reads_grid.approve_auction(seller)
    reads_grid.approve_auction(buyer)
    period = reads_grid["EnergyAuction"].functions.currentPeriod().call() + 2
    ask = reads_grid.auction.submit_ask(seller, period, 1_000, 150_000)
    reads_grid.auction.submit_bid(buyer, period, 600, 240_000)
    reads_grid.auction.submit_ask(seller, period + 1, 700, 150_000)  # never claimed
    reads_grid.mine_block_at(max(reads_grid.auction.clearing_time(period), now_s(reads_grid) + 1))
    cleared = reads_grid.clear_auction(keeper, period)
    reads_grid.claim_auction_order(keeper, ask)
    synced(app)

    fills = http.get(f"/api/v1/accounts/{SELLER_ADDRESS.lower()}/fills").json()
    assert fills["account"] == SELLER_ADDRESS and fills["limit"] == 50
    shown = [(f["market"], f["side"], f["amountWh"], f["pricePerKWh"], f["id"], f["status"]) for f in fills["items"]]
    assert shown == [
        ("auction", "SELL", 600, cleared["clearingPricePerKWh"], str(ask), "settled"),
        ("book", "SELL", 500, PRICE_PER_KWH, str(pending.transaction_id), "pending"),
        ("book", "SELL", 1_000, PRICE_PER_KWH, str(settled.transaction_id), "settled"),
    ]
    auction_fill, pending_fill, settled_fill = fills["items"]
    assert (auction_fill["time"], auction_fill["period"]) == (period * INTERVAL_SECONDS, period)
    claim = reads_grid["EnergyAuction"].events.OrderClaimed().get_logs(from_block=0)[-1].args
    assert auction_fill["value"] == claim.payment - claim.fee and claim.filledWh == 600
    [trade_row] = [t for t in http.get("/api/v1/trades", params={"trader": SELLER_ADDRESS}).json()["items"] if t["settled"]]
    assert settled_fill["value"] == trade_row["payment"] - trade_row["fee"] and settled_fill["time"] == trade_row["timestamp"]
    assert pending_fill["value"] == 500 * PRICE_PER_KWH // 1_000
    # The buyer took the other side of both trades: the newest first.
    bought = http.get(f"/api/v1/accounts/{BUYER_ADDRESS}/fills", params={"limit": 1}).json()["items"]
    assert [(f["market"], f["side"], f["id"]) for f in bought] == [("book", "BUY", str(pending.transaction_id))]  # its bid is unclaimed
    assert http.get(f"/api/v1/accounts/{anvil_account(7).address}/fills").json()["items"] == []
    assert problem(http.get("/api/v1/accounts/0x12/fills"), 422, "InvalidAddress")
    assert problem(http.get(f"/api/v1/accounts/{SELLER_ADDRESS}/fills", params={"limit": 501}), 400, "PageTooLarge")

    # The pending trade's SELL still escrows the 2,500 Wh not yet sold, and the unclaimed ask its 700 Wh.
    held = http.get(f"/api/v1/vault/{SELLER_ADDRESS}").json()
    assert held["locked"]["bookOrders"] == {"energyWh": 2_500, "payment": 0}
    assert held["locked"]["auctionOrders"]["energyWh"] == 700
    assert held["lockedEnergyWh"] == 2_500 + 700


def test_demand_response_event_ends_with_its_window(reads, reads_grid):
    http, app = reads
    operator = anvil_account(DEPLOYER)
    reads_grid.payment_token.add_consumer_balance(operator, operator.address, 100)
    reads_grid.payment_token.approve(operator, reads_grid.demand_response.address, 2**256 - 1)
    event_id = reads_grid.start_event(operator, 1, 10, 500_000, 3_600)
    synced(app)
    [event] = http.get("/api/v1/demand-response/events").json()["items"]
    assert (event["eventId"], event["regionId"], event["targetReductionKW"], event["rewardPerKW"], event["status"]) == (
        event_id, 1, 10, 500_000, "ACTIVE"
    )
    assert event["endTime"] - event["startTime"] == 3_600 and event["budget"] == 10 * 500_000
    reads_grid.mine_block_at(event["endTime"] + 1)
    synced(app)
    assert http.get("/api/v1/demand-response/events").json()["items"][0]["status"] == "ENDED"


def test_demand_response_event_counts_verified_reductions_and_rewards(reads, reads_grid):
    """A household's five usual evenings at 2.0 kW, then 0.5 kW in the event: 1.5 kW verified from
    its meter (it never joined: the operator enrolled it; the keeper's batch verifies it), paid 2.0
    per kW."""
    http, app = reads
    operator, household, meter = anvil_account(DEPLOYER), anvil_account(SELLER).address, Account.create().address
    start = now_s(reads_grid)
    event_day = start // DAY_SECONDS + 6
    window_start = event_day * DAY_SECONDS + 18 * 3_600
    reads_grid.smart_meter.register_meter(operator, meter, household, 1)
    reads_grid.demand_response.register_consumer(operator, household, meter)
    registers = {meter: 0}

    def evenings(days: list[int], wh: int) -> list[MeterReading]:
        intervals = [(day * DAY_SECONDS + 18 * 3_600) // INTERVAL_SECONDS + q for day in days for q in range(4)]
        return [MeterReading(*reading) for _, reading in interval_readings(registers, [meter], intervals, lambda *_: wh)]

    reads_grid.mine_block_at(window_start - 120)
    usual = [MeterReading(start + 1, 0, 0), *evenings(list(range(event_day - 5, event_day)), 500)]
    reads_grid.smart_meter.submit_readings(operator, [meter] * len(usual), usual)
    reads_grid.payment_token.add_consumer_balance(operator, operator.address, 100)
    event_id = reads_grid.start_event(operator, 1, 5, 2_000_000, 3_600)
    reads_grid.mine_block_at(window_start + 3_600 + 300)
    during = evenings([event_day], 125)
    reads_grid.smart_meter.submit_readings(operator, [meter] * len(during), during)
    with pytest.raises(InvalidInputError, match="a verification batch holds 1 to 10 consumers, not 0"):
        reads_grid.demand_response.verify_reductions(operator, event_id, [])
    assert reads_grid.demand_response.verify_reductions(operator, event_id, [household]) == [1]  # a keeper's batch of one
    synced(app)

    [event] = http.get("/api/v1/demand-response/events").json()["items"]
    assert (event["eventId"], event["status"], event["participants"]) == (event_id, "ENDED", 0)
    assert (event["verifiedParticipants"], event["rewardsVerified"]) == (1, 1_500 * 2_000_000 // 1_000)


@pytest.mark.parametrize(
    "path",
    [
        f"/api/v1/orders/{2**64}",
        f"/api/v1/trades?from={2**70}",
        f"/api/v1/orders?offset={2**64}",
        f"/api/v1/grid/demand?regionId={2**40}",
        f"/api/v1/auction/orders?period={2**64}",
        f"/api/v1/analytics/energy?bucketSeconds={2**64}",
        "/api/v1/orders/-1",
    ],
)
def test_numbers_beyond_the_index_get_422(reads, path):
    answer = reads[0].get(path)
    assert answer.status_code == 422 and answer.json()["error"] == "InvalidRequest", answer.json()


def test_what_the_framework_refuses_has_the_problem_shape(reads):
    http, _ = reads
    for path in ("/api/v1/no-such-route", "/no/such/page", "/static/no-such-file.js"):
        assert path in problem(http.get(path), 404, "RouteNotFound")["message"]
    refused = http.post("/api/v1/trades")
    assert problem(refused, 405, "MethodNotAllowed")["message"] == "/api/v1/trades takes GET, not POST."
    assert refused.headers["allow"] == "GET"
    assert problem(http.get("/api/v1/orders", params={"offset": -1}), 422, "InvalidRequest")["details"]["errors"]
    problem(http.post("/api/v1/orders", content=b"{not json", headers={"Content-Type": "application/json"}), 400, "MalformedJson")


def test_an_unexpected_failure_is_a_500_with_the_problem_shape(api_settings):
    """The index loses a table under the service: the read fails in a way no route expected."""
    settings = api_settings(follow=False)
    with TestClient(create_app(settings), raise_server_exceptions=False) as http:
        assert http.get("/api/v1/trades").status_code == 200
        with sqlalchemy.create_engine(settings.database_url).begin() as connection:
            connection.exec_driver_sql("DROP TABLE trading_fill")
        failed = problem(http.get("/api/v1/trades"), 500, "InternalError")
    assert failed["details"] == {} and "trading_fill" not in failed["message"]


def test_the_docs_page_loads_only_the_services_own_files(reads):
    http, _ = reads
    page = http.get("/docs")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert "http://" not in page.text and "https://" not in page.text
    assets = sorted(re.findall(r'(?:src|href)="([^"]+)"', page.text))
    assert assets == [f"/vendor/swagger-ui/{name}" for name in ("favicon.png", "swagger-ui-bundle.js", "swagger-ui.css")]
    script, style = http.get("/vendor/swagger-ui/swagger-ui-bundle.js"), http.get("/vendor/swagger-ui/swagger-ui.css")
    assert script.status_code == 200 and script.headers["content-type"].startswith("text/javascript") and "SwaggerUIBundle" in script.text
    assert style.status_code == 200 and style.headers["content-type"].startswith("text/css") and ".swagger-ui" in style.text
    assert http.get("/vendor/swagger-ui/favicon.png").headers["content-type"] == "image/png"
    assert "/api/v1/trades" in http.get("/openapi.json").json()["paths"]
    problem(http.get("/redoc"), 404, "RouteNotFound")  # ReDoc would load from a CDN: there is none


def test_zone_prices_and_link_limits_of_a_market_cleared_across_zones(reads, reads_grid):
    """Two feeders: the deployer (region 1's operator) limits region 1's export to 2 kW (500 Wh) for the
    period, its import to 50 kW above the transformer's 40 kW rating; a seller there and a buyer in
    region 2 trade what the link carries. /auction/zones answers
    each zone's price and net export as MarketZones emitted them, /auction/link-limits the limit, and
    /auction/zone-markets the market with each zone's region, the limits in force (as MarketZones'
    views give them), its role as MarketZones named it (region 1 export-bound below the bus price,
    region 2 coupled at it), the bus price and the congestion rent (its event's)."""
    http, app = reads
    meter_energy(reads_grid, produced_wh=5_000)
    seller, buyer, deployer = anvil_account(SELLER), anvil_account(BUYER), anvil_account(DEPLOYER)
    zones = reads_grid.market_zones
    for region in (1, 2):
        if zones.zone_of(region) == 0:
            zones.add_zone(deployer, region)
    reads_grid.approve_auction(seller)
    reads_grid.approve_auction(buyer)
    period = reads_grid.auction.current_period() + 2
    # Region 1's transformer is rated 40 kW from its load report: it caps the operator's 50 kW import limit.
    reads_grid.grid_operations.report_load(deployer, 1, 40, 10)
    zones.sync_rating(deployer, 1)
    zones.set_link_limits(deployer, 1, period, 1, 50, 2)
    reads_grid.auction.submit_ask_in(seller, 1, period, 1_000, 150_000)
    reads_grid.auction.submit_bid_in(buyer, 2, period, 600, 240_000)
    reads_grid.mine_block_at(max(reads_grid.auction.clearing_time(period), now_s(reads_grid) + 1))
    reads_grid.clear_auction(deployer, period)
    synced(app)

    rows = http.get("/api/v1/auction/zones", params={"period": period}).json()["items"]
    results = {zone: zones.zone_result(period, zone) for zone in (1, 2)}
    assert sorted((r["zone"], r["role"], r["clearingPricePerKWh"], r["netExportWh"]) for r in rows) == [
        (zone, result.role.name, result.clearing_price_per_kwh, result.net_export_wh) for zone, result in results.items()
    ]
    assert (results[1].net_export_wh, results[2].net_export_wh) == (500, -500)
    assert (results[1].role, results[2].role) == (ZoneRole.EXPORT_BOUND, ZoneRole.COUPLED)
    assert http.get("/api/v1/auction/zones", params={"period": period, "zone": 2}).json()["total"] == 1
    [limit] = http.get("/api/v1/auction/link-limits", params={"regionId": 1}).json()["items"]
    assert (limit["firstPeriod"], limit["periodCount"], limit["importLimitKW"], limit["exportLimitKW"]) == (period, 1, 50, 2)
    assert limit["operator"] == deployer.address

    [market] = http.get("/api/v1/auction/zone-markets", params={"period": period}).json()["items"]
    contract = reads_grid["MarketZones"]
    [rent] = contract.events.CongestionRentAccrued.get_logs(from_block=0, argument_filters={"period": period})
    bus_price = reads_grid.auction.get_market(period).clearing_price_per_kwh
    assert (market["busPricePerKWh"], market["congestionRent"]) == (bus_price, rent["args"]["rent"])
    assert market["congestionRent"] > 0 and market["volumeWh"] == 500
    for row in market["zones"]:
        zone = row["zone"]
        region = zones.region_of(zone)
        import_wh, export_wh = contract.functions.linkLimitsWh(zone, period).call()
        in_force = zones.link_limits_kw(region, period)
        assert row["regionId"] == region and row["clearingPricePerKWh"] == results[zone].clearing_price_per_kwh
        assert (row["importLimitKW"], row["exportLimitKW"]) == tuple(None if kw == NO_LIMIT else kw for kw in in_force)
        assert (row["importLimitWh"], row["exportLimitWh"]) == tuple(None if wh == NO_LIMIT else wh for wh in (import_wh, export_wh))
        # The role is the contract's own: getZoneResult's last field, as the ZoneCleared event named it.
        assert row["role"] == ZoneRole(contract.functions.getZoneResult(period, zone).call()[-1]).name
    roles = {row["zone"]: row["role"] for row in market["zones"]}
    assert roles == {1: "EXPORT_BOUND", 2: "COUPLED"} and market["zones"][0]["exportLimitWh"] == 500
    # Export-bound: priced below the bus; coupled: at it.
    assert market["zones"][0]["clearingPricePerKWh"] < bus_price == market["zones"][1]["clearingPricePerKWh"]
    assert (market["zones"][0]["importLimitKW"], market["zones"][0]["importLimitWh"]) == (40, 10_000)
    # A household's view asks for its own region's zone only; the market's figures stay the whole market's.
    [mine] = http.get("/api/v1/auction/zone-markets", params={"regionId": 2, "limit": 1}).json()["items"]
    assert [(row["zone"], row["role"]) for row in mine["zones"]] == [(2, "COUPLED")] and mine["congestionRent"] == market["congestionRent"]

"""Every GET route of the API answers 2xx on the records a day of every flow leaves in the index:
book trades, taker fills of a resting SELL and of a resting BUY (no order on the taker's side), a
directed offer taken by its counterparty, a voided trade, a zoned auction market cleared and claimed,
standing orders settled, a demand-response event, meter readings and grid reports. The routes are
read from the app's OpenAPI document, so a route added later is checked too; a path's id is a real one of the
day's records."""

from __future__ import annotations

from conftest import API_OPERATOR_TOKEN
from eth_account import Account
from fastapi.testclient import TestClient

from energy_grid.api import create_app
from energy_grid.api.app import API_PREFIX
from energy_grid.chain.accounts import anvil_account
from energy_grid.contracts.client import BUY, SELL, GridClient, MeterReading
from energy_grid.domain.units import INTERVAL_SECONDS
from energy_grid.services.runtime import MetricsServer, ServiceMetrics

from support.index_helpers import BUYER, DEPLOYER, PRICE_PER_KWH, REGION, SELLER, advance, grid_reports, meter_energy, now_s, trade

OTHER_REGION = 2
CASH = 1_000_000  # PaymentToken base units the buying household keeps in its vault balance


def a_day_of_every_flow(grid: GridClient) -> dict[str, int | str]:
    """Makes the day on chain; returns the ids the routes' paths take."""
    operator, seller, buyer = anvil_account(DEPLOYER), anvil_account(SELLER), anvil_account(BUYER)
    meter_energy(grid, produced_wh=20_000)
    grid_reports(grid, demand_kw=80)
    # A settlement window in which the operator voids a trade (the local deployment's is 0 s).
    grid.transact(operator, grid["EnergyTrading"].functions.setSettlementWindow(INTERVAL_SECONDS))
    voided = trade(grid, sell_wh=400, buy_wh=400, settle=False)
    grid.trading.void_transaction(operator, voided.transaction_id)
    book = trade(grid, sell_wh=3_000, buy_wh=1_000)
    expiry = now_s(grid) + 3_600
    grid.trading.fill_order(buyer, book.sell_order_id, 500)  # the taker has no BUY order
    bid = grid.trading.create_order(buyer, 800, PRICE_PER_KWH - 50_000, expiry, BUY)  # below the resting SELL: it rests
    grid.trading.fill_order(seller, bid, 800)  # the taker has no SELL order
    offer = grid.trading.create_directed_order(seller, 600, PRICE_PER_KWH, expiry, SELL, buyer.address)
    grid.trading.fill_order(buyer, offer, 600)

    # A market cleared across two feeders' zones, the seller's feeder held at its export limit.
    zones = grid.market_zones
    assert zones is not None
    for region in (REGION, OTHER_REGION):
        if zones.zone_of(region) == 0:
            zones.add_zone(operator, region)
    grid.approve_auction(seller)
    grid.approve_auction(buyer)
    period = grid.auction.current_period() + 2
    zones.set_link_limits(operator, REGION, period, 1, 50, 2)
    ask = grid.auction.submit_ask_in(seller, REGION, period, 1_000, 150_000)
    auction_bid = grid.auction.submit_bid_in(buyer, OTHER_REGION, period, 600, 240_000)
    grid.mine_block_at(max(grid.auction.clearing_time(period), now_s(grid) + 1))
    grid.clear_auction(operator, period)
    for order_id in (ask, auction_bid):
        grid.claim_auction_order(operator, order_id)

    # Standing orders: one household's export sold to the other's import in the reading market.
    exporter, importer = Account.create().address, Account.create().address
    for standing_meter, owner in ((exporter, seller), (importer, buyer)):
        grid.smart_meter.register_meter(operator, standing_meter, owner.address, REGION, 0, 0)
    grid.payment_token.approve(buyer, grid.vault.address, CASH)
    grid.vault.deposit(buyer, grid.payment_token.address, CASH)
    grid.smart_meter.set_standing_order(seller, exporter, sell_price_per_kwh=80_000)
    grid.smart_meter.set_standing_order(buyer, importer, buy_price_per_kwh=100_000)
    standing_period = now_s(grid) // INTERVAL_SECONDS + 1
    read_at = (standing_period + 1) * INTERVAL_SECONDS - 1
    grid.mine_block_at(read_at)
    grid.smart_meter.submit_readings(operator, [exporter, importer], [MeterReading(read_at, 0, 1_000), MeterReading(read_at, 600, 0)])
    grid.mine_block_at(max(grid.auction.clearing_time(standing_period), now_s(grid) + 1))
    settled = grid.smart_meter.settle_standing_orders(operator, [exporter, importer])
    assert len(settled) == 2

    grid.payment_token.add_consumer_balance(operator, operator.address, 100)
    grid.start_event(operator, REGION, 10, 500_000, 3_600)
    advance(grid, INTERVAL_SECONDS)
    return {"order_id": book.sell_order_id, "address": seller.address, "meter": exporter}


def test_every_get_route_answers_2xx_on_a_day_of_every_flow(api_settings, api_manifest, networks):
    grid = GridClient.from_manifest(api_manifest, networks.provider.uri)
    ids = a_day_of_every_flow(grid)
    # The operator's forecaster, whose hour-ahead and PV forecasts /analytics/forecasts/ahead passes on.
    forecaster = MetricsServer(ServiceMetrics("forecaster").registry, health=dict,
                               documents={"/forecasts": lambda: {"regions": {}, "community_pv": None}}).start()  # fmt: skip
    app = create_app(api_settings(follow=False, forecaster_url=forecaster.url))
    with TestClient(app, raise_server_exceptions=False) as http:
        app.state.follower.run_once()
        paths = http.get("/openapi.json").json()["paths"]
        gets = {path: methods["get"] for path, methods in paths.items() if "get" in methods and path.startswith(API_PREFIX)}
        assert len(gets) >= 25 and f"{API_PREFIX}/meters/{{address}}/standing-fills" in gets
        failed = []
        for template, operation in gets.items():
            # A meter's routes take the meter, every other address route the trading household.
            values = ids | ({"address": ids["meter"]} if template.startswith(f"{API_PREFIX}/meters/") else {})
            names = [p["name"] for p in operation.get("parameters", []) if p["in"] == "path"]
            path = template.format(**{name: values[name] for name in names})
            answer = http.get(path, headers={"Authorization": f"Bearer {API_OPERATOR_TOKEN}"})
            if not 200 <= answer.status_code < 300:
                failed.append(f"{path}: {answer.status_code} {answer.text[:300]}")
        assert failed == []
        trades = http.get(f"{API_PREFIX}/trades").json()["items"]
    forecaster.stop()
    # The day's trades: taker fills on either side (a directed offer's among them), matches, a voided one.
    assert sum(t["buyOrderId"] is None for t in trades) == 2 and sum(t["sellOrderId"] is None for t in trades) == 1
    assert all(t["buyer"] and t["seller"] for t in trades) and [t["voided"] for t in trades].count(True) == 1


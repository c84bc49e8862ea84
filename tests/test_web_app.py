"""The web app in a real browser: Debian's headless chromium driven by Playwright, against the API
service in a thread of the test process on the test chain, with a test-only EIP-1193 wallet that
signs with anvil dev keys (tests/support/web_helpers.py).

The scenario: trader A (who metered energy) places a SELL from the trading view, trader B's BUY
from another browser crosses it, the keeper settles, and A's prosumer dashboard shows the trade and
the new balances; the operator view turns region 1 red after a critical load report; the analytics
view draws region 1's committed forecast band against its metered load, with the forecast's score. Every view is
opened without console errors, and a screenshot of each lands in reports/browser/<test>/<view>.png.

The UI reads from the event index, which follows the chain by polling: the tests wait for what the
page shows (Playwright's auto-waiting expect), never a fixed time.
"""

from __future__ import annotations

import math
import re
import time
from typing import Any

import httpx
from conftest import API_OPERATOR_TOKEN
from eth_account import Account
from fastapi import FastAPI
from fastapi.testclient import TestClient
from playwright.sync_api import Page, expect

from energy_grid.api.app import create_app
from energy_grid.chain.accounts import anvil_account
from energy_grid.contracts.client import SELL
from energy_grid.deploy.system import fund_local_accounts
from energy_grid.domain.units import format_kwh
from energy_grid.services.keeper import run_keeper
from energy_grid.web import VENDOR_FILES, mount_web, vendor_file

from support.index_helpers import FORECAST_WINDOW, advance, export_energy, metered_forecast
from support.meter_helpers import fills_in
from support.service_helpers import problem, serve_in_thread
from support.web_helpers import SCREENSHOTS, UI_TIMEOUT_MS, shown_cents, shown_price, wallet_session

# The browser fixtures (web_browser, web_base_url, web_client, web_sessions), shared with test_web_phone.py.
pytest_plugins = ["support.web_fixtures"]

REGION = 1  # the deployer operates region 1 on a local chain (setup_local_roles)
SELLER_INDEX, BUYER_INDEX, KEEPER_INDEX = 1, 2, 8
STANDING_SELLER_INDEX, STANDING_BUYER_INDEX = 5, 6  # households whose meters trade through standing limits
VAULT_HOUSEHOLD_INDEX = 7  # a household that moves money between its wallet and the vault from the prosumer view
AUCTION_SELLER_INDEX, AUCTION_BUYER_INDEX = 4, 3  # a household that sells in the interval auction, and its buyer
STANDING_CASH = 1_000_000  # PaymentToken base units the buying household deposits in the vault
VIEWS = {"landing": "/", "prosumer": "/prosumer", "trading": "/trading", "operator": "/operator", "analytics": "/analytics"}
CRITICAL_RED = "rgb(211, 47, 47)"  # --critical in app.css
BROWSER_ZONE = "Asia/Tokyo"  # a browser far from the deployment's zone: UTC+09:00, no daylight saving


def _connect(page: Page, address: str) -> None:
    page.get_by_test_id("wallet-button").click()
    expect(page.get_by_test_id("wallet-button")).to_have_attribute("data-account", address)


def _fill_order(page: Page, side: str, amount_kwh: str, price: str) -> None:
    page.get_by_test_id(f"side-{side.lower()}").check()
    page.get_by_label("Amount (kWh").fill(amount_kwh)
    page.get_by_label("Price per kWh").fill(price)


def _place_order(page: Page, side: str, amount_kwh: str, price: str) -> None:
    _fill_order(page, side, amount_kwh, price)
    page.get_by_test_id("place-order").click()
    expect(page.get_by_test_id("order-feedback")).to_contain_text("placed")


def _chart_points(page: Page) -> dict[str, list[int]]:
    """Each chart's number of points per dataset."""
    return page.evaluate(
        "() => Object.fromEntries(Object.entries(window.energyGridCharts || {}).map(([name, chart]) =>"
        " [name, chart.data.datasets.map((d) => d.data.filter((p) => (typeof p === 'number' ? p : p.y) > 0).length)]))"
    )


def _shown_time(page: Page, timestamp_s: int) -> str:
    """A time as the page's own formatter shows it (the deployment's zone)."""
    return page.evaluate("async (t) => (await import('/static/js/common.js')).formatTime(t)", timestamp_s)


def _short(full: str) -> str:
    return f"{full[:6]}…{full[-4:]}"


def _household_points(page: Page) -> list[int]:
    """The prosumer chart's points above 0 per dataset: produced, consumed, sold, bought."""
    page.wait_for_function("() => window.energyGridCharts && window.energyGridCharts.household.data.datasets[0].data.length > 0",
                           timeout=UI_TIMEOUT_MS)  # fmt: skip
    return _chart_points(page)["household"]


def test_service_serves_the_pages_and_chart_js(web_base_url):
    for path in VIEWS.values():
        page = httpx.get(f"{web_base_url}{path}")
        assert page.status_code == 200 and page.headers["content-type"].startswith("text/html"), path
        assert 'id="app-header"' in page.text
    chart = httpx.get(f"{web_base_url}/vendor/chart.js")
    assert chart.status_code == 200 and "javascript" in chart.headers["content-type"]
    assert "Chart" in chart.text[:5_000]
    script = httpx.get(f"{web_base_url}/static/js/common.js")
    assert script.status_code == 200 and "eth_requestAccounts" in script.text
    assert httpx.get(f"{web_base_url}/static/nothing-here.js").status_code == 404
    # A view takes no parameters a visitor could aim at another file.
    aimed = httpx.get(f"{web_base_url}/prosumer", params={"file_name": "../../../pyproject.toml"})
    assert aimed.status_code == 200 and 'id="app-header"' in aimed.text and "[project]" not in aimed.text


def test_a_vendor_file_not_installed_is_a_problem_not_a_crash(tmp_path):
    assert all(vendor_file(file) is not None for file in VENDOR_FILES.values())  # `make setup` installed them (npm ci)
    app = FastAPI()
    mount_web(app, vendor_roots=[tmp_path])  # a checkout where npm never ran
    with TestClient(app) as http:
        for url_path, file in VENDOR_FILES.items():
            assert vendor_file(file, [tmp_path]) is None
            assert "npm ci" in problem(http.get(url_path), 503, file.missing_error)["message"]


def test_the_api_docs_render_with_every_other_site_unreachable(web_sessions):
    """Swagger UI at /docs as a browser offline sees it: any request off the service's host fails."""
    session = web_sessions(None)
    blocked = session.go_offline()
    page = session.open("/docs")
    expect(page.locator(".information-container .title")).to_contain_text("Energy Grid API")
    expect(page.locator('.opblock-summary-path[data-path="/api/v1/orders/{order_id}"]')).to_be_visible()
    expect(page.locator('.opblock-summary-path[data-path="/api/v1/trades"]')).to_be_visible()
    session.screenshot(page, "docs")
    assert blocked == []


def test_every_view_says_how_far_the_index_is_until_it_has_caught_up(web_browser, api_settings, chain, request):
    """A service whose index has not followed the chain yet (its follower started by hand): each
    view shows "indexing: block X of Y" and a progress bar, which move on as the follower indexes
    the history range by range and go once the index has caught up."""
    app = create_app(api_settings(follow=False))
    with serve_in_thread(app) as base_url:
        session = wallet_session(web_browser, base_url, None, chain.chain_id, SCREENSHOTS / request.node.name)
        try:
            for path in ("/", "/prosumer", "/trading", "/operator", "/analytics"):
                page = session.open(path)
                banner = page.get_by_test_id("index-progress")
                expect(banner).to_contain_text(f"indexing: block {app.state.follower.start_block} of ")
                expect(banner.locator("progress")).to_have_attribute("value", "0")
                page.close()
            page = session.open("/operator")
            expect(page.get_by_test_id("index-progress")).to_be_visible()
            session.screenshot(page, "operator-indexing")
            # A few ranges (the follower's first are short): the next poll shows how far, part of the way.
            for _ in range(3):
                app.state.follower.step()
            indexed = app.state.index.indexed_block()
            banner = page.get_by_test_id("index-progress")
            expect(banner).to_contain_text(f"indexing: block {indexed} of ")
            progress = float(banner.locator("progress").get_attribute("value") or "0")
            assert 0 < progress < 1, progress
            app.state.follower.run_once()
            expect(page.get_by_test_id("index-progress")).to_have_count(0)
        finally:
            session.context.close()
        assert session.console_errors == []


def test_views_render_without_errors(web_sessions):
    """Every view opens in a browser with no wallet, shows its header and logs no console error
    (the fixture checks the console)."""
    visitor = web_sessions(None)
    for view, path in VIEWS.items():
        page = visitor.open(path)
        expect(page.locator("#app-header nav")).to_be_visible()
        expect(page.get_by_test_id("wallet-button")).to_have_text("No wallet")
        if view == "prosumer":
            expect(page.get_by_test_id("connect-hint")).to_be_visible()
        if view == "landing":
            expect(page.get_by_test_id("deployment")).to_contain_text("Indexed block")
        if view == "analytics":
            expect(page.get_by_test_id("price-chart")).to_be_visible()
            # No wallet: the community's month in figures, with what they rest on.
            expect(page.get_by_test_id("summary-title")).to_have_text("The community's month")
            expect(page.get_by_test_id("summary-tariff")).to_contain_text("the grid's base price: an estimate")
            expect(page.get_by_test_id("summary-notes").locator("li").first).to_contain_text("Savings are an estimate")
            # The canvas is in the page before the module script that draws on it has run.
            page.wait_for_function("() => window.energyGridCharts !== undefined", timeout=UI_TIMEOUT_MS)
            assert page.evaluate("() => Object.keys(window.energyGridCharts).length") == 6  # five of the chain, one of the forecaster's PV
            # No operator has committed a forecast on this chain: the panel says so in a sentence.
            expect(page.get_by_test_id("forecast-empty")).to_have_text(
                "No operator has committed a forecast of its region's load yet, so there is no band to show."
            )
            expect(page.get_by_test_id("forecast-region")).to_be_hidden()
        visitor.screenshot(page, view)
        page.close()


def _minute_of_day(clock: str) -> int:
    """"12:56:03 AM" or "00:56:03" as minutes since midnight."""
    match = re.search(r"(\d{1,2}):(\d{2}):\d{2}\s*([AP]M)?", clock)
    assert match is not None, clock
    hour, minute, half = int(match[1]), int(match[2]), match[3]
    if half:
        hour = hour % 12 + (12 if half == "PM" else 0)
    return hour * 60 + minute


def test_every_view_shows_times_in_the_deployments_zone(web_sessions, api_system, admin):
    """Times follow the deployment's UTC offset, not the browser's zone (here nine hours east of
    UTC, fourteen from the deployment), and every view names it: the charts' axes and the "updated"
    stamp of every view."""
    discovery = api_system.price_discovery
    discovery.setUtcOffset(-300, sender=admin)
    try:
        visitor = web_sessions(None, timezone_id=BROWSER_ZONE)
        for path in ("/prosumer", "/trading", "/operator"):
            before_s = time.time()
            page = visitor.open(path)
            assert page.evaluate("() => new Date().getTimezoneOffset()") == -540  # the browser is at UTC+09:00
            stamp = page.locator("#updated-at")
            expect(stamp).to_contain_text("updated")
            shown = _minute_of_day(stamp.inner_text())
            after_s = time.time()
            # The page's last contact, at UTC−05:00: between the two readings of the test's clock.
            allowed = {int((t - 5 * 3_600) // 60) % 1_440 for t in (before_s, after_s)}
            assert shown in allowed, (path, stamp.inner_text(), allowed)
            page.close()
        page = visitor.open("/analytics")
        expect(page.get_by_test_id("zone")).to_have_text("times in UTC−05:00")
        page.wait_for_function("() => window.energyGridCharts !== undefined", timeout=UI_TIMEOUT_MS)
        titles = page.evaluate("() => Object.values(window.energyGridCharts).map((c) => c.options.scales.x.title.text)")
        assert titles and all(title.endswith("(UTC−05:00)") for title in titles)
        # 12:00 UTC is 07:00 at UTC−05:00, whatever zone the browser is in.
        clock = page.evaluate("() => window.energyGridCharts.energy.options.scales.x.ticks.callback(43_200)")
        assert clock.lstrip("0").startswith("7:00"), clock
        page.close()
    finally:
        discovery.setUtcOffset(0, sender=admin)


def test_trade_from_the_browser_settles_and_shows_on_the_dashboard(web_sessions, web_client, web_base_url, api_system):
    seller, buyer = anvil_account(SELLER_INDEX), anvil_account(BUYER_INDEX)
    export_energy(web_client, anvil_account(0), Account.create().address, seller.address, 5_000)
    energy_token, stablecoin = api_system.energy_token, api_system.payment_token
    vault = api_system.energy_vault

    def held(account: Any) -> tuple[int, int]:
        """Energy and payment in the wallet and the EnergyVault together (the dashboard's balances)."""
        vault_wh, vault_payment = vault.balancesOf(account)
        return energy_token.balanceOf(account) + vault_wh, stablecoin.balanceOf(account) + vault_payment

    seller_payment_before = held(seller.address)[1]
    seller_energy_before = energy_token.balanceOf(seller.address)  # the 5 kWh just metered
    buyer_energy_before = held(buyer.address)[0]

    # Trader A sells 2 kWh at 0.22 from the trading view, signing in the wallet.
    a = web_sessions(SELLER_INDEX)
    trading_a = a.open("/trading")
    _connect(trading_a, seller.address)
    _place_order(trading_a, "SELL", "2", "0.22")
    asks = trading_a.get_by_test_id("asks-table").get_by_test_id("book-level")
    expect(asks).to_have_count(1)
    expect(asks.first).to_have_attribute("data-amount-wh", "2000")
    expect(trading_a.get_by_test_id("my-order")).to_have_count(1)
    assert any(signed["primaryType"] == "Order" for signed in a.signed)
    a.screenshot(trading_a, "trading-seller")
    # The order is A's on chain, not the relayer's: A's energy is escrowed (pulled into the vault).
    assert energy_token.balanceOf(seller.address) == seller_energy_before - 2_000

    # Trader B, in another browser, buys 1.5 kWh at up to 0.25: it crosses A's ask.
    b = web_sessions(BUYER_INDEX)
    trading_b = b.open("/trading")
    _connect(trading_b, buyer.address)
    _place_order(trading_b, "BUY", "1.5", "0.25")

    # The keeper matches what crosses and, after the settlement window, settles.
    keeper = anvil_account(KEEPER_INDEX)
    first = run_keeper(web_client, keeper, once=True)
    advance(web_client, int(api_system.energy_trading.settlementWindow()) + 1)
    second = run_keeper(web_client, keeper, once=True)
    assert first.failures == [] and second.failures == []
    assert first.settled + second.settled == 1
    assert held(buyer.address)[0] == buyer_energy_before + 1_500  # credited in the vault

    trades_b = trading_b.get_by_test_id("recent-trade")
    expect(trades_b).to_have_count(1)
    expect(trades_b.first).to_contain_text("settled")
    expect(trading_b.get_by_test_id("asks-table").get_by_test_id("book-level").first).to_have_attribute("data-amount-wh", "500")
    b.screenshot(trading_b, "trading-buyer")

    # A's dashboard: the trade, settled, and the balances the chain holds now.
    dashboard = a.open("/prosumer")
    trade = dashboard.get_by_test_id("trade-row")
    expect(trade).to_have_count(1)
    expect(trade.first.get_by_test_id("trade-amount")).to_have_text(format_kwh(1_500))
    expect(trade.first.get_by_test_id("trade-settled")).to_have_text("settled")
    expect(trade.first.get_by_test_id("trade-market")).to_have_text("order book")
    expect(trade.first.get_by_test_id("trade-side")).to_have_text("sold")
    seller_payment = held(seller.address)[1]
    assert seller_payment > seller_payment_before  # paid into the vault, less the grid fee
    symbol, decimals = stablecoin.symbol(), stablecoin.decimals()
    expect(dashboard.get_by_test_id("payment-balance")).to_have_text(shown_cents(seller_payment, decimals, symbol))
    expect(dashboard.get_by_test_id("energy-balance")).to_have_text(format_kwh(held(seller.address)[0]))
    expect(dashboard.get_by_test_id("meter-row")).to_have_count(1)
    expect(dashboard.get_by_test_id("produced-today")).to_have_text(format_kwh(5_000))  # metered in the last 24 h
    expect(dashboard.get_by_test_id("order-row").first.get_by_test_id("order-status")).to_have_text("ACTIVE")  # 0.5 kWh left
    expect(dashboard.get_by_test_id("vault-locked-energy")).to_have_text(format_kwh(500))  # escrowed by the book
    expect(dashboard.get_by_test_id("locked-energy-detail")).to_have_text(f"in book {format_kwh(500)}")
    a.screenshot(dashboard, "prosumer")

    # A cancels the rest of the order from the dashboard, signing the cancellation.
    dashboard.get_by_test_id("cancel-order").click()
    expect(dashboard.get_by_test_id("orders-feedback")).to_contain_text("cancelled")
    expect(dashboard.get_by_test_id("order-row").first.get_by_test_id("order-status")).to_have_text("CANCELLED")
    expect(dashboard.get_by_test_id("energy-balance")).to_have_text(format_kwh(seller_energy_before - 1_500))

    # The analytics view draws the trade's price and volume and the metered production.
    analytics = a.open("/analytics")
    expect(analytics.get_by_test_id("price-chart")).to_be_visible()
    analytics.wait_for_function(
        "() => window.energyGridCharts && window.energyGridCharts.price.data.datasets[0].data.length > 0"
        " && window.energyGridCharts.energy.data.datasets[0].data.some((p) => p.y > 0)",
        timeout=UI_TIMEOUT_MS,
    )
    points = _chart_points(analytics)
    assert points["price"][0] >= 1 and points["volume"][0] >= 1 and points["energy"][0] >= 1
    # Only finished buckets: the last one ends by the chart's right edge (the chain's time).
    last_end, right_edge = analytics.evaluate(
        "() => { const chart = window.energyGridCharts.energy; const data = chart.data.datasets[1].data;"
        " return [data[data.length - 1].x + 900, chart.options.scales.x.max]; }"
    )
    assert last_end <= right_edge < last_end + 900
    # A's month in figures: its wallet owns a meter, so the panel is its household's, as the API answers it.
    expect(analytics.get_by_test_id("summary-title")).to_have_text("Your month")
    month = httpx.get(f"{web_base_url}/api/v1/analytics/households/{seller.address}/summary").json()
    assert month["meters"] and month["export"]["exportedWh"] > 0
    expect(analytics.get_by_test_id("summary-saved")).to_have_text(shown_cents(month["savings"]["saved"], decimals, symbol))
    expect(analytics.get_by_test_id("summary-sold-share")).to_have_text(f"{math.floor(month['export']['soldShare'] * 100 + 0.5)} %")
    expect(analytics.get_by_test_id("summary-sold")).to_have_text(
        f"{format_kwh(month['export']['soldP2pWh'])} of {format_kwh(month['export']['exportedWh'])}"
    )
    expect(analytics.get_by_test_id("summary-co2")).to_have_text(f"{month['co2']['avoidedGrams'] / 1000:.3f} kg")
    analytics.get_by_test_id("summary-period").select_option("day")
    expect(analytics.get_by_test_id("summary-title")).to_have_text("Your day")
    a.screenshot(analytics, "analytics")


def test_operator_view_shows_a_region_turning_critical(web_sessions, api_system, admin):
    fund_local_accounts(api_system, admin, [admin])  # the operator funds demand-response budgets
    session = web_sessions(None)
    page = session.open("/operator")
    page.get_by_label("Operator token").fill(API_OPERATOR_TOKEN)
    page.get_by_test_id("save-token").click()
    expect(page.get_by_test_id("token-state")).to_have_text("token accepted")

    page.get_by_test_id("load-region").fill(str(REGION))
    page.get_by_test_id("load-capacity").fill("100")
    page.get_by_test_id("load-demand").fill("96")
    page.get_by_test_id("report-load").click()
    expect(page.get_by_test_id("report-load-feedback")).to_contain_text("CRITICAL")

    region = page.get_by_test_id(f"region-{REGION}")
    expect(region).to_have_attribute("data-status", "CRITICAL")
    # The grid's figures and the region's load report say where each comes from and when: they are
    # different reports of the same grid, whose demands need not agree.
    tx = api_system.grid_management.updateGridStatus(0, 10_000_000, 50_000, 1_000, sender=admin)
    clock = page.evaluate("async (t) => (await import('/static/js/common.js')).formatClock(t)", tx.timestamp)
    expect(page.get_by_test_id("grid-demand")).to_have_text("10,000 kW")
    expect(page.get_by_test_id("grid-demand-source")).to_have_text(f"household consumption · grid status (operator), {clock}")
    expect(page.get_by_test_id("grid-supply")).to_have_text("0 kW")
    expect(page.get_by_test_id("grid-supply-source")).to_contain_text("PV production")
    expect(page.get_by_test_id("grid-figures-note")).to_contain_text("so it reads 0 kW at night")
    expect(region.get_by_test_id("region-load-demand")).to_have_text("96 kW")
    report = api_system.grid_operations.getCurrentLoad(REGION).reportedAt
    expect(region.get_by_test_id("region-load-reported")).to_have_text(_shown_time(page, report))
    expect(page.get_by_test_id("regions-table").locator("thead")).to_contain_text("Load report: demand")
    session.screenshot(page, "operator")
    badge = region.get_by_test_id("region-status")
    expect(badge).to_have_text("CRITICAL")
    expect(badge).to_have_css("background-color", CRITICAL_RED)

    # The desk declares and ends emergency mode, and starts a demand-response event.
    page.get_by_test_id("emergency-toggle").click()
    expect(page.get_by_test_id("emergency-state")).to_have_attribute("data-active", "true")
    page.get_by_test_id("emergency-toggle").click()
    expect(page.get_by_test_id("emergency-state")).to_have_attribute("data-active", "false")
    page.get_by_test_id("dr-target").fill("50")
    page.get_by_test_id("dr-reward").fill("0.1")
    page.get_by_test_id("dr-duration").fill("60")
    page.get_by_test_id("start-dr").click()
    expect(page.get_by_test_id("start-dr-feedback")).to_contain_text("started in region 1")
    event = page.get_by_test_id("dr-event")
    expect(event).to_have_count(1)
    expect(event.first).to_contain_text("50 kW")
    expect(event.first).to_contain_text("ACTIVE")

    # A wrong token is refused at once in words, not kept as if it worked; tokens stay in this tab only.
    page.get_by_label("Operator token").fill("not-the-token")
    page.get_by_test_id("save-token").click()
    expect(page.get_by_test_id("token-state")).to_have_text("token refused: not this service's operator token")
    expect(page.get_by_test_id("report-load")).to_be_disabled()
    assert page.evaluate("() => window.sessionStorage.length") == 0
    assert page.evaluate("() => window.localStorage.length") == 0


def test_a_wallet_on_another_chain_is_told_to_switch(web_browser, web_base_url, web_sessions):
    session = web_sessions(None)  # the console check; this test's own wallet is on chain 1
    wrong = wallet_session(web_browser, web_base_url, anvil_account(SELLER_INDEX), 1, session.screenshot_dir)
    try:
        page = wrong.open("/trading")
        page.get_by_test_id("wallet-button").click()
        expect(page.get_by_test_id("error")).to_contain_text("Switch networks")
        expect(page.locator("#wallet-status")).to_have_text("wrong chain (1)")
        _fill_order(page, "SELL", "1", "0.2")
        page.get_by_test_id("place-order").click()
        expect(page.get_by_test_id("order-feedback")).to_contain_text("switch networks first")
        assert wrong.signed == [] and wrong.console_errors == []
    finally:
        wrong.context.close()


def test_a_market_that_cleared_nothing_shows_no_trade_not_a_price(web_sessions, api_system, admin, chain):
    """An auction market without orders clears at a price on chain (its cleared mark) and volume 0:
    the trading view says "no trade" instead of a price nobody traded at, and lists it only when asked
    for every interval, not just those that traded."""
    auction = api_system.energy_auction
    period = auction.currentPeriod() + 3
    chain.pending_timestamp = auction.clearingTime(period)
    auction.clear(period, sender=admin)
    market = auction.getMarket(period)
    assert market.cleared and market.clearingPricePerKWh > 0 and market.volumeWh == 0

    page = web_sessions(None).open("/trading")
    # By default the list shows the intervals that traded; the market without orders is one click away.
    expect(page.get_by_test_id("clearings-table").locator("tbody tr")).to_have_text("No auction has traded yet.")
    expect(page.get_by_test_id("clearings-page")).to_have_text("0–0 of 0")
    page.get_by_test_id("clearings-traded").uncheck()
    cells = page.locator(f'[data-testid="clearing"][data-period="{period}"] td')
    expect(page.get_by_test_id("clearings-page")).to_have_text("1–1 of 1")
    expect(cells.nth(2)).to_have_text("no trade")
    expect(cells.nth(3)).to_have_text(format_kwh(0))
    expect(cells.nth(0)).to_contain_text(_shown_time(page, period * 900))  # the interval, not the period's number


def test_standing_limits_set_in_the_prosumer_view_fill_and_clear(web_sessions, api_system, admin, accounts, chain):
    """A household sets its sell limit from the prosumer view (market approval and limits signed in
    the wallet, relayed); the gateway's readings place its export against another household's
    standing bid, the test clears and settles, and the view shows the interval's fill and the vault."""
    smart_meter, vault, auction, stablecoin = (
        api_system.smart_meter,
        api_system.energy_vault,
        api_system.energy_auction,
        api_system.payment_token,
    )
    household, neighbour = anvil_account(STANDING_SELLER_INDEX), accounts[STANDING_BUYER_INDEX]
    household_meter, neighbour_meter = (accounts.generate_test_account().address for _ in range(2))
    smart_meter.registerMeter(household_meter, household.address, REGION, 0, 0, sender=admin)
    smart_meter.registerMeter(neighbour_meter, neighbour, REGION, 0, 0, sender=admin)
    stablecoin.approve(vault, STANDING_CASH, sender=neighbour)
    vault.deposit(stablecoin, STANDING_CASH, sender=neighbour)
    vault.setMarketApproval(auction, True, sender=neighbour)
    smart_meter.setStandingOrder(neighbour_meter, 0, 0, 100_000, 0, sender=neighbour)

    session = web_sessions(STANDING_SELLER_INDEX)
    page = session.open("/prosumer")
    _connect(page, household.address)
    row = page.get_by_test_id("standing-row")
    expect(row).to_have_attribute("data-active", "false")  # the meter is indexed, with no limits
    page.get_by_label("Sell price per kWh").fill("0.08")
    page.get_by_test_id("save-standing").click()
    expect(page.get_by_test_id("standing-feedback")).to_contain_text("saved")
    assert smart_meter.getStandingOrder(household_meter) == (80_000, 0, 0, 0)
    assert vault.isMarketApproved(household.address, auction)
    assert [signed["primaryType"] for signed in session.signed] == ["MarketApproval", "StandingOrder"]
    expect(row).to_have_attribute("data-active", "true")
    symbol, decimals = stablecoin.symbol(), stablecoin.decimals()
    expect(row.get_by_test_id("standing-sell")).to_have_text(shown_price(80_000, decimals, symbol))

    # The gateway reads both meters at the interval's end; the test clears the market and settles.
    period = chain.pending_timestamp // 900 + 1
    ts = (period + 1) * 900 - 1
    chain.pending_timestamp = ts
    smart_meter.submitReadings(
        [household_meter, neighbour_meter], [(ts, 0, 1_000, 50_000, 1_000), (ts, 600, 0, 50_000, 1_000)], sender=admin
    )
    expect(page.get_by_test_id("vault-locked-energy")).to_have_text(format_kwh(1_000))
    chain.pending_timestamp = auction.clearingTime(period)
    auction.clear(period, sender=admin)
    tx = smart_meter.settleStandingOrders([household_meter, neighbour_meter], sender=admin)
    fill = next(e for e in fills_in(tx) if e.meter == household_meter)
    assert fill.soldWh == 600

    shown = page.get_by_test_id("standing-fill")
    expect(shown).to_have_count(1)
    expect(shown.first).to_have_attribute("data-period", str(period))
    expect(shown.first.get_by_test_id("fill-offered")).to_have_text(format_kwh(1_000))
    expect(shown.first.get_by_test_id("fill-sold")).to_have_text(format_kwh(600))
    expect(shown.first.get_by_test_id("fill-proceeds")).to_have_text(shown_cents(fill.proceeds, decimals, symbol))
    expect(shown.first.get_by_test_id("fill-bought")).to_have_text(format_kwh(0))
    # The interval in the deployment's zone: the period's start.
    start = _shown_time(page, period * 900)
    expect(shown.first.get_by_test_id("fill-interval")).to_contain_text(start)
    # The same fill in My trades: sold through the standing order, at the interval's start, the meter short.
    traded = page.locator('[data-testid="trade-row"][data-market="standing"]')
    expect(traded).to_have_count(1)
    expect(traded.get_by_test_id("trade-time")).to_have_text(start)
    expect(traded.get_by_test_id("trade-side")).to_have_text("sold")
    expect(traded.get_by_test_id("trade-amount")).to_have_text(format_kwh(600))
    expect(traded.get_by_test_id("trade-value")).to_have_text(shown_cents(fill.proceeds, decimals, symbol))
    expect(traded.get_by_test_id("trade-id")).to_have_text(_short(household_meter))
    expect(traded.get_by_test_id("trade-id")).to_have_attribute("title", household_meter)
    expect(page.get_by_test_id("sold-today")).to_have_text(format_kwh(600))
    produced, _, sold, _ = _household_points(page)
    assert produced >= 1 and sold == 1
    expect(page.get_by_test_id("vault-free-payment")).to_have_text(shown_cents(fill.proceeds, decimals, symbol))
    expect(page.get_by_test_id("vault-free-energy")).to_have_text(format_kwh(400))
    expect(page.get_by_test_id("vault-locked-energy")).to_have_text(format_kwh(0))
    expect(page.get_by_test_id("energy-total")).to_have_text(format_kwh(400))
    session.screenshot(page, "prosumer-standing")

    # Cleared from the view, signed again.
    page.get_by_test_id("clear-standing").click()
    expect(page.get_by_test_id("standing-feedback")).to_contain_text("cleared")
    expect(row).to_have_attribute("data-active", "false")
    assert smart_meter.getStandingOrder(household_meter) == (0, 0, 0, 0)


def test_vault_deposit_and_withdrawal_from_the_prosumer_view(web_sessions, api_system):
    """A household deposits money into its vault balance and withdraws part of it from the prosumer
    view: the deposit signed as the token's permit, the withdrawal as the vault's Withdrawal, both
    relayed; a deposit its wallet cannot cover is refused in words before the wallet is asked."""
    vault, stablecoin = api_system.energy_vault, api_system.payment_token
    household = anvil_account(VAULT_HOUSEHOLD_INDEX)
    wallet = stablecoin.balanceOf(household.address)
    symbol, decimals = stablecoin.symbol(), stablecoin.decimals()
    session = web_sessions(VAULT_HOUSEHOLD_INDEX)
    page = session.open("/prosumer")
    _connect(page, household.address)

    page.get_by_test_id("vault-token").select_option("payment")
    page.get_by_test_id("vault-amount").fill("2.5")
    page.get_by_test_id("vault-deposit").click()
    expect(page.get_by_test_id("vault-feedback")).to_contain_text("Deposited")
    expect(page.get_by_test_id("vault-free-payment")).to_have_text(shown_cents(2_500_000, decimals, symbol))
    assert vault.balancesOf(household.address) == (0, 2_500_000)

    page.get_by_test_id("vault-amount").fill("1")
    page.get_by_test_id("vault-withdraw").click()
    expect(page.get_by_test_id("vault-feedback")).to_contain_text("Withdrew")
    expect(page.get_by_test_id("vault-free-payment")).to_have_text(shown_cents(1_500_000, decimals, symbol))
    assert stablecoin.balanceOf(household.address) == wallet - 1_500_000
    assert [signed["primaryType"] for signed in session.signed] == ["Permit", "Withdrawal"]
    session.screenshot(page, "prosumer-vault")

    # The household metered no energy: its wallet cannot cover a deposit, and the wallet is not asked.
    session.expected_errors.append("status of 400")
    page.get_by_test_id("vault-token").select_option("energy")
    page.get_by_test_id("vault-amount").fill("5")
    page.get_by_test_id("vault-deposit").click()
    expect(page.get_by_test_id("vault-feedback")).to_contain_text(f"less than the {format_kwh(5_000)} to deposit")
    assert len(session.signed) == 2 and vault.balancesOf(household.address) == (0, 1_500_000)

    # An amount that is not one is told what is wrong with it, and nothing is asked of the wallet.
    refusals = (("-5", "Amount cannot be negative."), ("1.2345", "Amount: at most 3 decimals."), ("5 kWh", '"5 kWh" is not a number'))
    for typed, said in refusals:
        page.get_by_test_id("vault-amount").fill(typed)
        page.get_by_test_id("vault-withdraw").click()
        expect(page.get_by_test_id("vault-feedback")).to_contain_text(said)
    assert len(session.signed) == 2


def test_auction_fills_show_in_my_trades_with_local_times_and_short_ids(web_sessions, web_client, web_base_url, api_system):
    """A household sells in the interval auction and leaves an ask in the book: its prosumer view lists
    the claimed auction fill among its trades at the interval's start (never the raw period), the
    37-digit order id short with the whole in its title and copied on a click, the chart draws the
    metered export and the sale, and the balances split free, locked (in the book) and total."""
    household, buyer, operator = anvil_account(AUCTION_SELLER_INDEX), anvil_account(AUCTION_BUYER_INDEX), anvil_account(0)
    energy_token, vault = api_system.energy_token, api_system.energy_vault
    export_energy(web_client, operator, Account.create().address, household.address, 3_000)
    web_client.approve_auction(household)
    web_client.approve_auction(buyer)
    web_client.approve_market(household)
    period = web_client["EnergyAuction"].functions.currentPeriod().call() + 2
    ask = web_client.auction.submit_ask(household, period, 1_000, 150_000)
    web_client.auction.submit_bid(buyer, period, 600, 240_000)
    web_client.trading.create_order(household, 500, 300_000, advance(web_client, 1) + 86_400, SELL)
    web_client.mine_block_at(max(web_client.auction.clearing_time(period), advance(web_client, 1) + 1))
    cleared = web_client.clear_auction(operator, period)
    web_client.claim_auction_order(operator, ask)
    assert cleared["volumeWh"] == 600

    session = web_sessions(AUCTION_SELLER_INDEX)
    session.context.grant_permissions(["clipboard-read", "clipboard-write"], origin=web_base_url)
    page = session.open("/prosumer")
    _connect(page, household.address)
    fill = page.locator('[data-testid="trade-row"][data-market="auction"]')
    expect(fill).to_have_count(1)
    start = _shown_time(page, period * 900)
    expect(fill.get_by_test_id("trade-time")).to_have_text(start)
    expect(fill.get_by_test_id("trade-market")).to_have_text("auction")
    expect(fill.get_by_test_id("trade-side")).to_have_text("sold")
    expect(fill.get_by_test_id("trade-amount")).to_have_text(format_kwh(600))
    symbol, decimals = api_system.payment_token.symbol(), api_system.payment_token.decimals()
    expect(fill.get_by_test_id("trade-price")).to_have_text(shown_price(cleared["clearingPricePerKWh"], decimals, symbol))
    order_id = fill.get_by_test_id("trade-id")
    expect(order_id).to_have_text(_short(str(ask)))
    expect(order_id).to_have_attribute("title", str(ask))
    order_id.click()
    expect(page.get_by_test_id("notice")).to_contain_text("Copied")
    assert page.evaluate("() => navigator.clipboard.readText()") == str(ask)

    # The auction orders table: the interval as a time, the id short; no raw period anywhere.
    auction_row = page.locator(f'[data-testid="auction-order-row"][data-period="{period}"]')
    expect(auction_row.get_by_test_id("auction-interval")).to_contain_text(start)
    expect(auction_row.get_by_test_id("auction-order-id")).to_have_attribute("title", str(ask))
    assert str(period) not in page.locator("main").inner_text()

    # Free, locked (the book's ask escrows its 0.5 kWh) and total, in kWh.
    wallet_wh = energy_token.balanceOf(household.address)
    vault_free_wh = vault.balancesOf(household.address)[0]
    expect(page.get_by_test_id("energy-wallet")).to_have_text(format_kwh(wallet_wh))
    expect(page.get_by_test_id("energy-balance")).to_have_text(format_kwh(wallet_wh + vault_free_wh))
    expect(page.get_by_test_id("vault-locked-energy")).to_have_text(format_kwh(500))
    expect(page.get_by_test_id("energy-total")).to_have_text(format_kwh(wallet_wh + vault_free_wh + 500))
    assert wallet_wh + vault_free_wh + 500 == 3_000 - 600  # what it metered, less what it sold

    produced, _, sold, _ = _household_points(page)
    assert produced == 1 and sold == 1
    session.screenshot(page, "prosumer-auction")


def _percent(fraction: float) -> str:
    """A share as the page writes it (JavaScript's Math.round: halves up)."""
    return f"{math.floor(fraction * 100 + 0.5)} %"


def test_the_analytics_view_draws_a_region_s_forecast_band_against_its_metered_load(web_sessions, web_client):
    """Region 1's operator committed a forecast and a newer one overlapping it; the first is metered,
    tallied and scored. The panel draws the band (P10 to P90) and P50 of every interval a forecast
    covers, the newer where both do, and the metered net import, in kW; and says the score."""
    metered = metered_forecast(web_client)
    forecast, newer = metered.forecast, metered.newer
    score = web_client.forecast_ledger.get_score(forecast.region_id, forecast.first_interval)
    # The bands the page should draw, by interval: the newer forecast's where both cover one.
    bands = {forecast.first_interval + k: (forecast.p10_wh[k], forecast.p50_wh[k], forecast.p90_wh[k]) for k in range(FORECAST_WINDOW)}
    bands |= {newer.first_interval + k: (newer.p10_wh[k], newer.p50_wh[k], newer.p90_wh[k]) for k in range(newer.interval_count)}
    net_wh = [sum(figures[k][0] - figures[k][1] for figures in metered.energy_wh.values()) for k in range(FORECAST_WINDOW)]

    visitor = web_sessions(None)
    page = visitor.open("/analytics")
    panel = page.get_by_test_id("forecast-panel")
    expect(panel.get_by_test_id("forecast-score")).to_have_text(
        f"P10–P90 held {_percent(score.covered_intervals / score.interval_count)} of the {score.interval_count} intervals scored "
        f"in the last 7 days; P90 exceeded {_percent(score.exceeded_p90_intervals / score.interval_count)}."
    )
    expect(panel.get_by_test_id("forecast-empty")).to_be_hidden()
    expect(panel.get_by_test_id("forecast-region")).to_be_hidden()  # one region has forecasts: nothing to choose
    drawn = page.evaluate(
        "() => window.energyGridCharts.forecast.data.datasets.map((d) => d.data.filter((p) => p.y !== null).map((p) => [p.x, p.y]))"
    )
    kw = 4 / 1000  # an interval's Wh as its mean kW
    for quantile, points in enumerate(drawn[:3]):  # P10, P90 (filled down to P10), P50
        position = (0, 2, 1)[quantile]
        assert points == [[interval * 900, band[position] * kw] for interval, band in sorted(bands.items())]
    assert drawn[3][:FORECAST_WINDOW] == [[(forecast.first_interval + k) * 900, wh * kw] for k, wh in enumerate(net_wh)]
    fill = page.evaluate("() => window.energyGridCharts.forecast.data.datasets[1].fill")
    assert fill == "-1"  # the P90 line's area reaches down to the P10 line: the band
    visitor.screenshot(page, "analytics-forecast")


def test_the_analytics_view_shows_the_forecasters_hour_ahead_and_tomorrows_pv(web_sessions, web_forecaster):
    """The forecaster's forecasts that are not committed on chain, as the API passes them on: the
    region's net import an hour ahead in one sentence, and the community's PV tomorrow as a band."""
    visitor = web_sessions(None)
    page = visitor.open("/analytics")
    expect(page.get_by_test_id("next-hour")).to_contain_text("No region has a forecast an hour ahead yet")
    expect(page.get_by_test_id("pv-total")).to_have_text("The forecaster forecasts the next day's PV at 12:00: there is none yet.")

    start, day_start = 1_800_003_600, 1_800_018_000
    web_forecaster["regions"] = {"1": {"hour_ahead": {"interval_start_s": start, "metered_through_s": start - 3_600,
                                                      "p10_wh": 250, "p50_wh": 500, "p90_wh": 1_125}}}  # fmt: skip
    p50_wh = [0] * 40 + [1_000] * 16 + [0] * 40
    web_forecaster["community_pv"] = {"day_start_s": day_start, "interval_seconds": 900, "p10_wh": [wh // 2 for wh in p50_wh],
                                      "p50_wh": p50_wh, "p90_wh": [wh * 2 for wh in p50_wh]}  # fmt: skip
    page.reload()
    next_hour = page.get_by_test_id("next-hour")
    expect(next_hour).to_contain_text("An hour ahead, region 1 from ")
    expect(next_hour).to_contain_text(": 2.0 kW net import (P50), 1.0 to 4.5 kW (P10–P90), from the meters' readings up to ")
    expect(page.get_by_test_id("pv-total")).to_contain_text("about 16.000 kWh (the P50s together)")
    drawn = page.evaluate("() => window.energyGridCharts.pv.data.datasets.map((d) => d.data.map((p) => [p.x, p.y]))")
    kw = 4 / 1000
    assert drawn[2] == [[day_start + 900 * k, wh * kw] for k, wh in enumerate(p50_wh)]  # P50
    assert drawn[1] == [[day_start + 900 * k, 2 * wh * kw] for k, wh in enumerate(p50_wh)]  # P90, filled down to P10
    visitor.screenshot(page, "analytics-ahead")
    web_forecaster["regions"], web_forecaster["community_pv"] = {}, None

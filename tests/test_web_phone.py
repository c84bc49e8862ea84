"""The web app on a phone and as an installed app: Debian's headless chromium at 390×844 with touch
(as Playwright's phone descriptors set it) and at a laptop's 1366×900, with the test wallet.

No view scrolls sideways at either width and a phone's controls are at least 44 px; a household sets
and clears its standing order and deposits into and withdraws from its vault on the phone, each
form saying what happened right beside its button, in view; a household watched by someone else is
read only, with the reason beside the disabled controls, and one without a meter is told how to get
one; the landing page links sample households; the manifest and the service worker pass chromium's
installability check; offline the app opens from the service worker's copy, says it is offline and
shows the household's last known balances marked as such.
"""

from __future__ import annotations

import io
import json
import re
from decimal import Decimal
from typing import Any

import httpx
import pytest
from eth_account import Account
from PIL import Image
from playwright.sync_api import Page, expect

from energy_grid.chain.accounts import anvil_account
from energy_grid.domain.auction_words import PriceGrid, off_grid_text, standing_off_grid_text
from energy_grid.domain.units import format_kwh, format_money
from energy_grid.web import STATIC_DIR, VIEWS

from support.web_helpers import (
    CHROMIUM_ARGS,
    PHONE_VIEWPORT,
    UI_TIMEOUT_MS,
    VIEWPORT,
    WalletSession,
    chromium_path,
    open_section,
    shown_cents,
    shown_price,
)

# The browser fixtures (web_browser, web_base_url, web_client, web_sessions), shared with test_web_app.py.
pytest_plugins = ["support.web_fixtures"]

REGION = 1  # the deployer operates region 1 on a local chain (setup_local_roles)
HOUSEHOLD_INDEX = 5  # a household with a meter, on the phone
NEIGHBOUR_INDEX = 6  # another household with a meter, watched read only
NO_METER_INDEX = 7  # an account that owns no meter
SCREENS = {"phone": PHONE_VIEWPORT, "small-phone": {"width": 360, "height": 740}, "laptop": VIEWPORT}
FEEDBACK_GAP_PX = 80  # the status line starts this close under its form's last button, at most
MIN_TOUCH_PX = 44
# What a finger taps: buttons, fields, the views' tabs, the links that act as buttons and the lines a
# part of a view opens from (a radio button or a checkbox is tapped through the label around it).
TOUCH_CONTROLS = (
    "button, input:not([type=radio]):not([type=checkbox]), select, #app-header nav a, .radio label, label.inline, "
    ".jump a, .samples a, a.button-link, details.section > summary"
)
FILL_INTERVALS = 12  # more intervals of standing-order fills than the prosumer view's page of 10
TRADED_INTERVALS = (0, 5, 11)  # the intervals whose export the neighbour's standing bid buys; the rest trade nothing
NEIGHBOUR_CASH = 1_000_000  # PaymentToken base units the buying neighbour deposits in the vault
NO_METER_HINT = (
    "the operator registers a meter to your address, or run make simulate HOUSEHOLD_OWNER=<your address> on a local chain"
)


def _register_meter(api_system: Any, admin: Any, owner: str) -> str:
    meter = Account.create().address
    api_system.smart_meter.registerMeter(meter, owner, REGION, 0, 0, sender=admin)
    return meter


def _connect(page: Page, address: str) -> None:
    page.get_by_test_id("wallet-button").click()
    expect(page.get_by_test_id("wallet-button")).to_have_attribute("data-account", address)


def _scrolls_sideways(page: Page) -> bool:
    return page.evaluate("() => document.documentElement.scrollWidth > window.innerWidth")


def _small_controls(page: Page) -> list[str]:
    """Visible controls less than 44 px tall or wide."""
    return page.evaluate(
        """([min, controls]) => [...document.querySelectorAll(controls)]
             .filter((el) => el.getClientRects().length && getComputedStyle(el).visibility !== 'hidden')
             .filter((el) => { const r = el.getBoundingClientRect(); return r.height < min - 0.5 || r.width < min - 0.5; })
             .map((el) => `${el.tagName.toLowerCase()} ${el.dataset.testid || el.id || el.textContent.trim().slice(0, 30)}`)""",
        [MIN_TOUCH_PX, TOUCH_CONTROLS],
    )


def _feedback_in_view(page: Page, button: str, testid: str, text: str, kind: str = "info") -> None:
    """The status line beside `button` says `text`, as `kind`, and the user sees it without scrolling."""
    line = page.get_by_test_id(testid)
    expect(line).to_contain_text(text)
    expect(line).to_have_attribute("data-kind", kind)
    expect(line).to_have_attribute("role", "status")
    expect(line).to_be_in_viewport()
    expect(page.get_by_test_id(button)).to_be_in_viewport()
    # Both boxes in one frame: balances refreshing above the form may move it between two separate reads.
    below = page.evaluate(
        """([button, line]) => {
             const box = (id) => document.querySelector(`[data-testid="${id}"]`).getBoundingClientRect();
             return box(line).top - box(button).bottom;
           }""",
        [button, testid],
    )
    assert 0 <= below <= FEEDBACK_GAP_PX, (button, below)


def _controlled_by_service_worker(page: Page) -> None:
    page.wait_for_function("() => navigator.serviceWorker && navigator.serviceWorker.controller !== null", timeout=UI_TIMEOUT_MS)


def test_manifest_and_service_worker_are_served(web_base_url):
    manifest = httpx.get(f"{web_base_url}/manifest.webmanifest")
    assert manifest.status_code == 200 and manifest.headers["content-type"] == "application/manifest+json"
    app = manifest.json()
    assert app["start_url"] == "/" and app["scope"] == "/" and app["display"] == "standalone"
    assert app["name"] and app["short_name"] and app["theme_color"] and app["background_color"]
    icons = {(icon["sizes"], icon["purpose"]): icon["src"] for icon in app["icons"]}
    assert set(icons) == {(f"{px}x{px}", purpose) for px in (192, 512) for purpose in ("any", "maskable")}
    for (sizes, _), src in icons.items():
        png = httpx.get(f"{web_base_url}{src}")
        assert png.status_code == 200 and png.headers["content-type"] == "image/png", src
        assert "{}x{}".format(*Image.open(io.BytesIO(png.content)).size) == sizes, src

    worker = httpx.get(f"{web_base_url}/sw.js")
    assert worker.status_code == 200 and "javascript" in worker.headers["content-type"]
    # Its app shell holds every view and every file the views load, so each opens offline.
    listed = re.search(r"^const SHELL = (\[.*\]);$", worker.text, re.M)
    assert listed is not None
    shell = set(json.loads(listed.group(1)))
    wanted = set(VIEWS) | {"/static/app.css", "/vendor/chart.js", "/manifest.webmanifest"} | {src for src in icons.values()}
    wanted |= {f"/static/js/{path.name}" for path in (STATIC_DIR / "js").glob("*.js")}
    assert wanted <= shell
    assert all(httpx.get(f"{web_base_url}{path}").status_code == 200 for path in shell)
    for path in VIEWS:
        page = httpx.get(f"{web_base_url}{path}").text
        assert '<link rel="manifest" href="/manifest.webmanifest">' in page and '<meta name="theme-color"' in page, path


@pytest.mark.parametrize("screen", SCREENS)
def test_no_view_scrolls_sideways(screen, web_sessions, api_system, admin):
    """Every view with a connected household that has a meter, trades and orders: nothing wider
    than the screen; on the phone every control is a touch target."""
    household = anvil_account(HOUSEHOLD_INDEX)
    _register_meter(api_system, admin, household.address)
    session = web_sessions(HOUSEHOLD_INDEX, SCREENS[screen])
    for path in VIEWS:
        page = session.open(path)
        if path == "/":
            _connect(page, household.address)
        if path == "/prosumer":
            expect(page.get_by_test_id("standing-row")).to_have_count(1)
        if path == "/operator":
            expect(page.get_by_test_id("token-state")).to_have_text("no token")
        if path == "/":
            expect(page.get_by_test_id("deployment")).to_contain_text("Indexed block")
        else:
            expect(page.locator("#updated-at")).to_contain_text("updated")
        assert not _scrolls_sideways(page), (screen, path)
        if screen != "laptop":
            assert _small_controls(page) == [], path
        session.screenshot(page, f"{screen}-{path.strip('/') or 'landing'}")
        page.close()


def test_standing_order_and_vault_on_a_phone_say_what_happened_beside_the_button(web_sessions, api_system, admin):
    smart_meter, vault, stablecoin = api_system.smart_meter, api_system.energy_vault, api_system.payment_token
    household = anvil_account(HOUSEHOLD_INDEX)
    meter = _register_meter(api_system, admin, household.address)
    symbol, decimals = stablecoin.symbol(), stablecoin.decimals()
    session = web_sessions(HOUSEHOLD_INDEX, PHONE_VIEWPORT)
    page = session.open("/prosumer")
    _connect(page, household.address)
    expect(page.get_by_test_id("standing-row")).to_have_count(1)

    open_section(page, "standing")
    page.get_by_test_id("standing-sell-price").fill("0.08")
    page.get_by_test_id("save-standing").click()
    _feedback_in_view(page, "clear-standing", "standing-feedback", "saved")
    assert smart_meter.getStandingOrder(meter) == (80_000, 0, 0, 0)
    expect(page.get_by_test_id("standing-row")).to_have_attribute("data-active", "true")
    session.screenshot(page, "phone-standing-saved")
    page.get_by_test_id("clear-standing").click()
    _feedback_in_view(page, "clear-standing", "standing-feedback", "cleared")
    assert smart_meter.getStandingOrder(meter) == (0, 0, 0, 0)

    open_section(page, "vault")
    page.get_by_test_id("vault-token").select_option("payment")
    page.get_by_test_id("vault-amount").fill("2")
    page.get_by_test_id("vault-deposit").click()
    _feedback_in_view(page, "vault-withdraw", "vault-feedback", "Deposited")
    expect(page.get_by_test_id("vault-free-payment")).to_have_text(shown_cents(2_000_000, decimals, symbol))
    page.get_by_test_id("vault-amount").fill("0.5")
    page.get_by_test_id("vault-withdraw").click()
    _feedback_in_view(page, "vault-withdraw", "vault-feedback", "Withdrew")
    assert vault.balancesOf(household.address) == (0, 1_500_000)
    session.screenshot(page, "phone-vault")

    # A refusal says why beside the button too, not at the top of the page.
    session.expected_errors.append("status of 400")
    page.get_by_test_id("vault-token").select_option("energy")
    page.get_by_test_id("vault-amount").fill("5")
    page.get_by_test_id("vault-deposit").click()
    _feedback_in_view(page, "vault-withdraw", "vault-feedback", f"less than the {format_kwh(5_000)} to deposit", "error")
    expect(page.get_by_test_id("error")).to_have_count(0)


def _grid(auction: Any) -> PriceGrid:
    return PriceGrid(auction.minPrice(), auction.tickSize(), auction.tickCount())


def test_the_standing_form_starts_from_the_limits_on_the_chain_and_says_what_saving_changes(web_sessions, api_system, admin, accounts):
    """A household whose meter buys up to 2 kWh an interval at 0.215 or less changes only its sell price on a
    fresh page: the form shows the chain's limits, says that selling is switched on and nothing else, and the
    buy limit survives the save. Emptying the buy price says buying will be switched off before anything is
    signed; a sell price 30 times the grid's top is refused in the currency with the grid's range, the
    wallet never asked."""
    smart_meter, auction, stablecoin = api_system.smart_meter, api_system.energy_auction, api_system.payment_token
    decimals, symbol = stablecoin.decimals(), stablecoin.symbol()
    household = anvil_account(HOUSEHOLD_INDEX)
    meter = _register_meter(api_system, admin, household.address)
    smart_meter.setStandingOrder(meter, 0, 0, 215_000, 2_000, sender=accounts[HOUSEHOLD_INDEX])
    grid = _grid(auction)
    session = web_sessions(HOUSEHOLD_INDEX, PHONE_VIEWPORT)
    page = session.open("/prosumer")
    _connect(page, household.address)
    expect(page.get_by_test_id("standing-figure")).to_have_text(
        f"no selling, buying at {shown_price(215_000, decimals, symbol)} or less (at most {format_kwh(2_000)} an interval)"
    )
    open_section(page, "standing")
    fields = {name: page.get_by_test_id(f"standing-{name}") for name in ("sell-price", "sell-cap", "buy-price", "buy-cap")}
    for name, value in {"sell-price": "", "sell-cap": "", "buy-price": "0.215", "buy-cap": "2"}.items():
        expect(fields[name]).to_have_value(value)
    low, high = (shown_price(p, decimals, symbol) for p in (grid.min_price_per_kwh, grid.max_price_per_kwh))
    expect(page.get_by_test_id("standing-grid")).to_contain_text(f"The auction's prices run from {low} to {high}")
    changes = page.get_by_test_id("standing-changes")
    expect(changes).to_have_text("")  # nothing edited, nothing to say

    fields["sell-price"].fill("0.09")
    switched_on = f"selling will be switched on at {shown_price(90_000, decimals, symbol)} or more, cap all"
    expect(changes).to_have_text(f"Saving changes: {switched_on}.")
    page.get_by_test_id("save-standing").click()
    _feedback_in_view(page, "clear-standing", "standing-feedback", "saved")
    assert smart_meter.getStandingOrder(meter) == (90_000, 0, 215_000, 2_000)  # the buy limit kept
    expect(fields["sell-price"]).to_have_value("0.09")  # the chain's limits again

    fields["buy-price"].fill("")
    expect(changes).to_have_text("Saving changes: buying will be switched off.")
    expect(changes).to_have_attribute("data-kind", "warning")
    fields["buy-price"].fill("0.215")
    expect(changes).to_have_text("Nothing to save: these are the limits on the chain.")

    signed = len(session.signed)
    session.expected_errors.append("status of 400")
    far = 30 * grid.max_price_per_kwh
    fields["sell-price"].fill(str(Decimal(far) / 10**decimals))
    page.get_by_test_id("save-standing").click()
    line = page.get_by_test_id("standing-feedback")
    refusal = standing_off_grid_text(far, 215_000, grid, decimals, symbol)
    assert refusal is not None
    _feedback_in_view(page, "clear-standing", "standing-feedback", refusal, "error")
    expect(line).to_contain_text(f"a sell price of {format_money(far, decimals, symbol)}/kWh is above the highest")
    expect(line).not_to_contain_text("base units")
    assert len(session.signed) == signed and smart_meter.getStandingOrder(meter) == (90_000, 0, 215_000, 2_000)
    session.screenshot(page, "phone-standing-off-grid")


def test_auction_refusals_on_a_phone_speak_kwh_and_the_currency(web_sessions, api_system):
    """A bid off the auction's price grid and one the vault balance cannot pay for are refused beside the
    button in the command line's words: the price and the grid's range, the escrow and the balance, in
    the currency; never base units or the contract's terms."""
    auction, stablecoin = api_system.energy_auction, api_system.payment_token
    decimals, symbol = stablecoin.decimals(), stablecoin.symbol()
    household = anvil_account(HOUSEHOLD_INDEX)
    grid = _grid(auction)
    session = web_sessions(HOUSEHOLD_INDEX, PHONE_VIEWPORT)
    session.expected_errors.append("status of 400")
    page = session.open("/trading")
    _connect(page, household.address)
    feedback = page.get_by_test_id("auction-feedback")
    off = grid.min_price_per_kwh + grid.tick_size_per_kwh // 2
    page.get_by_test_id("auction-amount-kwh").fill("1")
    page.get_by_test_id("auction-limit-price").fill(str(Decimal(off) / 10**decimals))
    page.get_by_test_id("place-auction-order").click()
    _feedback_in_view(page, "place-auction-order", "auction-feedback", off_grid_text(off, grid, decimals, symbol) or "", "error")

    price = grid.min_price_per_kwh + 4 * grid.tick_size_per_kwh
    page.get_by_test_id("auction-amount-kwh").fill("2")
    page.get_by_test_id("auction-limit-price").fill(str(Decimal(price) / 10**decimals))
    page.get_by_test_id("place-auction-order").click()
    escrow = -(-2_000 * price // 1_000)
    held = format_money(0, decimals, symbol)
    said = f"The order escrows {format_money(escrow, decimals, symbol)} but your vault balance holds {held}: deposit the rest first"
    _feedback_in_view(page, "place-auction-order", "auction-feedback", said, "error")
    for words in ("base units", "tick of the market", "pull"):
        expect(feedback).not_to_contain_text(words)
    assert session.signed == []


@pytest.mark.parametrize("screen", ["phone", "laptop"])
def test_a_firm_auction_bid_placed_and_claimed(screen, web_sessions, api_system, accounts, chain):
    """From the trading view, on a phone and on a laptop: a firm bid for the next open interval, signed in the
    wallet (with the auction's approval in the vault, the first time) and relayed; once its market's
    clearing time has passed, claimed (the service clears the market first). Each step says what it
    did beside its button; the escrow leaves the vault balance and comes back with the claim."""
    household = anvil_account(HOUSEHOLD_INDEX)
    auction, vault, stablecoin = api_system.energy_auction, api_system.energy_vault, api_system.payment_token
    decimals, symbol = stablecoin.decimals(), stablecoin.symbol()
    stablecoin.approve(vault, 3_000_000, sender=accounts[HOUSEHOLD_INDEX])
    vault.deposit(stablecoin, 3_000_000, sender=accounts[HOUSEHOLD_INDEX])
    price = auction.minPrice() + 4 * auction.tickSize()
    escrow = -(-1_000 * price // 1_000)  # 1 kWh (the smallest order the service relays) at the limit price, rounded up
    session = web_sessions(HOUSEHOLD_INDEX, SCREENS[screen])
    page = session.open("/trading")
    _connect(page, household.address)

    page.get_by_test_id("auction-amount-kwh").fill("1")
    page.get_by_test_id("auction-limit-price").fill(str(price / 10**decimals))
    page.get_by_test_id("place-auction-order").click()
    _feedback_in_view(page, "place-auction-order", "auction-feedback", f"{shown_cents(escrow, decimals, symbol)} held in escrow")
    assert vault.balancesOf(household.address) == (0, 3_000_000 - escrow)
    row = page.get_by_test_id("my-auction-order")
    expect(row).to_have_attribute("data-status", "open")
    period = int(row.get_attribute("data-order-id")) >> 192  # the order id's top bits are its period
    assert auction.getOrder(int(row.get_attribute("data-order-id"))).trader == household.address
    # Open, with the time from which it may be claimed: its market's clearing time, in the page's zone.
    clock = page.evaluate("async (t) => (await import('/static/js/common.js')).formatClock(t)", auction.clearingTime(period))
    expect(row.get_by_test_id("my-auction-status")).to_have_text(re.compile(rf"^open: claimable from (\S+ )?{re.escape(clock)}$"))
    session.screenshot(page, f"{screen}-auction-bid")

    # Nobody else traded in that interval: past its clearing time the claim gives the escrow back.
    chain.pending_timestamp = auction.clearingTime(period)
    chain.mine()
    expect(row).to_have_attribute("data-status", "to claim")
    row.get_by_test_id("claim-auction-order").click()
    claimed = page.get_by_test_id("my-auction-feedback")
    expect(claimed).to_contain_text(f"Claimed: {format_kwh(0)} bought")
    expect(claimed).to_contain_text(f"{shown_cents(escrow, decimals, symbol)} credited to your vault balance")
    # The row says what the claim paid at once, before the index has the claim.
    paid = f"claimed: {format_kwh(0)} bought for {shown_cents(0, decimals, symbol)}"
    expect(row.get_by_test_id("my-auction-status")).to_contain_text(paid)
    expect(claimed).to_be_in_viewport()
    expect(row).to_have_attribute("data-status", "claimed")
    assert auction.getMarket(period).cleared
    assert vault.balancesOf(household.address) == (0, 3_000_000)


def _fills_shown(page: Page) -> list[int]:
    return [int(period) for period in page.get_by_test_id("standing-fill").evaluate_all("(rows) => rows.map((r) => r.dataset.period)")]


def test_standing_fills_on_a_phone_show_the_intervals_that_traded_a_page_at_a_time(web_sessions, api_system, admin, accounts, chain):
    """A day of standing-order fills is mostly intervals that traded nothing (a night's zeros): at a
    phone's width the prosumer view lists only those that sold or bought by default, and every
    interval when the box is unticked, ten a page, Newer and Older to page through them."""
    smart_meter, vault, auction, stablecoin = (
        api_system.smart_meter,
        api_system.energy_vault,
        api_system.energy_auction,
        api_system.payment_token,
    )
    household, neighbour = accounts[HOUSEHOLD_INDEX], accounts[NEIGHBOUR_INDEX]
    assert household.address == anvil_account(HOUSEHOLD_INDEX).address
    meter, neighbour_meter = _register_meter(api_system, admin, household.address), _register_meter(api_system, admin, neighbour.address)
    stablecoin.approve(vault, NEIGHBOUR_CASH, sender=neighbour)
    vault.deposit(stablecoin, NEIGHBOUR_CASH, sender=neighbour)
    for owner in (household, neighbour):
        vault.setMarketApproval(auction, True, sender=owner)
    smart_meter.setStandingOrder(meter, 80_000, 0, 0, 0, sender=household)
    smart_meter.setStandingOrder(neighbour_meter, 0, 0, 100_000, 0, sender=neighbour)
    # Each interval the household exports 1 kWh; the neighbour imports 0.6 kWh only in the traded ones.
    # As the keeper does, each market clears once the next interval's readings are in.
    first = chain.pending_timestamp // 900 + 1
    imported_wh = 0
    for i in range(FILL_INTERVALS):
        ts = (first + i + 1) * 900 - 1
        chain.pending_timestamp = ts
        imported_wh += 600 if i in TRADED_INTERVALS else 0
        readings = [(ts, 0, 1_000 * (i + 1), 50_000, 1_000), (ts, imported_wh, 0, 50_000, 1_000)]
        smart_meter.submitReadings([meter, neighbour_meter], readings, sender=admin)
        if i > 0:
            chain.pending_timestamp = auction.clearingTime(first + i - 1)
            auction.clear(first + i - 1, sender=admin)
    chain.pending_timestamp = auction.clearingTime(first + FILL_INTERVALS - 1)
    auction.clear(first + FILL_INTERVALS - 1, sender=admin)
    smart_meter.settleStandingOrders([meter, neighbour_meter], sender=admin)
    traded = [first + i for i in reversed(TRADED_INTERVALS)]
    every = [first + i for i in reversed(range(FILL_INTERVALS))]

    session = web_sessions(HOUSEHOLD_INDEX, PHONE_VIEWPORT)
    page = session.open("/prosumer")
    _connect(page, household.address)
    open_section(page, "fills")
    pages = page.get_by_test_id("fills-page")
    expect(pages).to_have_text(f"1–3 of {len(traded)}")
    expect(page.get_by_test_id("fills-traded")).to_be_checked()
    assert _fills_shown(page) == traded
    expect(page.get_by_test_id("fills-newer")).to_be_disabled()
    expect(page.get_by_test_id("fills-older")).to_be_disabled()

    page.get_by_test_id("fills-traded").uncheck()
    expect(pages).to_have_text(f"1–10 of {FILL_INTERVALS}")
    assert _fills_shown(page) == every[:10]
    expect(page.get_by_test_id("fills-newer")).to_be_disabled()
    page.get_by_test_id("fills-older").click()
    expect(pages).to_have_text(f"11–12 of {FILL_INTERVALS}")
    assert _fills_shown(page) == every[10:]
    expect(page.get_by_test_id("standing-fill").first.get_by_test_id("fill-sold")).to_have_text(format_kwh(0))
    expect(page.get_by_test_id("fills-older")).to_be_disabled()
    assert not _scrolls_sideways(page) and _small_controls(page) == []
    session.screenshot(page, "phone-standing-fills-older")
    page.get_by_test_id("fills-newer").click()
    expect(pages).to_have_text(f"1–10 of {FILL_INTERVALS}")
    # Ticked again: back to the first page of what traded.
    page.get_by_test_id("fills-traded").check()
    expect(pages).to_have_text(f"1–3 of {len(traded)}")


def test_someone_elses_household_is_read_only_and_one_without_a_meter_is_told_how_to_get_one(web_sessions, api_system, admin):
    household, neighbour, no_meter = (anvil_account(i) for i in (HOUSEHOLD_INDEX, NEIGHBOUR_INDEX, NO_METER_INDEX))
    _register_meter(api_system, admin, household.address)
    _register_meter(api_system, admin, neighbour.address)

    # No wallet: every form of the household is disabled, and says whose wallet would change it.
    visitor = web_sessions(None, PHONE_VIEWPORT)
    page = visitor.open(f"/prosumer?account={neighbour.address}")
    expect(page.get_by_test_id("standing-row")).to_have_count(1)
    for button in ("save-standing", "clear-standing", "vault-deposit", "vault-withdraw"):
        expect(page.get_by_test_id(button)).to_be_disabled()
    reason = f"connect the wallet of {neighbour.address[:6]}…{neighbour.address[-4:]} to change this"
    for line in ("standing-feedback", "vault-feedback"):
        expect(page.get_by_test_id(line)).to_contain_text(reason)
        expect(page.get_by_test_id(line)).to_have_attribute("data-kind", "locked")
    visitor.screenshot(page, "phone-read-only")
    trading = visitor.open("/trading")
    expect(trading.get_by_test_id("place-order")).to_be_disabled()
    expect(trading.get_by_test_id("order-feedback")).to_contain_text("Connect your wallet to place orders")

    # Another household's wallet connected: still read only; its own household is not.
    session = web_sessions(HOUSEHOLD_INDEX, PHONE_VIEWPORT)
    page = session.open(f"/prosumer?account={neighbour.address}")
    _connect(page, household.address)
    expect(page.get_by_test_id("vault-feedback")).to_contain_text(reason)
    expect(page.get_by_test_id("vault-deposit")).to_be_disabled()
    own = session.open(f"/prosumer?account={household.address}")
    expect(own.get_by_test_id("standing-row")).to_have_count(1)
    expect(own.get_by_test_id("vault-deposit")).to_be_enabled()
    expect(own.get_by_test_id("save-standing")).to_be_enabled()
    expect(own.get_by_test_id("vault-feedback")).to_have_text("")

    # An account without a meter: how to get one, no empty meter choice.
    page = session.open(f"/prosumer?account={no_meter.address}")
    expect(page.get_by_test_id("no-meter")).to_be_visible()
    expect(page.get_by_test_id("no-meter")).to_contain_text(NO_METER_HINT)
    expect(page.get_by_test_id("standing-meter")).to_be_hidden()


def test_the_landing_page_offers_your_household_a_sample_one_and_how_to_become_one(web_sessions, api_system, admin):
    owners = [anvil_account(i).address for i in (HOUSEHOLD_INDEX, NEIGHBOUR_INDEX)]
    for owner in owners:
        _register_meter(api_system, admin, owner)
    session = web_sessions(NO_METER_INDEX, PHONE_VIEWPORT)
    page = session.open("/")
    samples = page.get_by_test_id("sample-household")
    expect(samples).to_have_count(2)
    assert {samples.nth(i).get_attribute("data-account") for i in range(2)} == set(owners)
    expect(page.get_by_test_id("start-become")).to_contain_text(NO_METER_HINT)
    session.screenshot(page, "phone-landing")
    samples.first.click()
    expect(page).to_have_url(re.compile(r"/prosumer\?account=0x[0-9a-fA-F]{40}$"))
    expect(page.get_by_test_id("meter-row")).to_have_count(1)

    page = session.open("/")
    page.get_by_test_id("start-connect").click()
    expect(page).to_have_url(re.compile(r"/prosumer$"))
    expect(page.get_by_test_id("account-label")).to_contain_text(anvil_account(NO_METER_INDEX).address)
    expect(page.get_by_test_id("no-meter")).to_be_visible()


def test_chromium_finds_the_app_installable(web_browser, web_base_url, tmp_path):
    """Chromium's own check (what decides whether it offers "Install app"): no errors. A browser
    profile on disk, not Playwright's usual incognito context, where chromium installs nothing."""
    context = web_browser.browser_type.launch_persistent_context(
        tmp_path / "profile", executable_path=chromium_path(), args=CHROMIUM_ARGS, viewport=PHONE_VIEWPORT, is_mobile=True, has_touch=True
    )
    try:
        page = context.new_page()
        page.goto(f"{web_base_url}/")
        _controlled_by_service_worker(page)
        cdp = context.new_cdp_session(page)
        assert cdp.send("Page.getInstallabilityErrors")["installabilityErrors"] == []
        manifest = cdp.send("Page.getAppManifest")
        assert manifest["url"] == f"{web_base_url}/manifest.webmanifest" and manifest["errors"] == []
    finally:
        context.close()


def _offline(session: WalletSession) -> None:
    """No network from now on; the browser logs each request that fails for it."""
    session.expected_errors.extend(["ERR_INTERNET_DISCONNECTED", "Failed to fetch", "FetchEvent"])
    session.context.set_offline(True)


def test_offline_the_app_opens_and_shows_the_last_known_balances(web_sessions, api_system, accounts):
    household = anvil_account(HOUSEHOLD_INDEX)
    stablecoin, vault = api_system.payment_token, api_system.energy_vault
    stablecoin.approve(vault, 3_000_000, sender=accounts[HOUSEHOLD_INDEX])
    vault.deposit(stablecoin, 3_000_000, sender=accounts[HOUSEHOLD_INDEX])
    shown = shown_cents(3_000_000, stablecoin.decimals(), stablecoin.symbol())
    session = web_sessions(HOUSEHOLD_INDEX, PHONE_VIEWPORT)
    page = session.open("/prosumer")
    _controlled_by_service_worker(page)
    # The first visit installed the service worker; from the next one on it keeps what the page loads.
    page.reload()
    page.wait_for_function("() => document.documentElement.dataset.ready === 'true'")
    _connect(page, household.address)
    expect(page.get_by_test_id("vault-free-payment")).to_have_text(shown)
    expect(page.get_by_test_id("balances-as-of")).to_have_text("")  # live
    expect(page.get_by_test_id("offline")).to_have_count(0)
    trading = session.open("/trading")
    expect(trading.get_by_test_id("bids-table").locator("tbody tr")).to_have_count(1)  # "No bids.", live
    trading.close()

    _offline(session)
    page.reload()
    page.wait_for_function("() => document.documentElement.dataset.ready === 'true'")
    expect(page.get_by_test_id("offline")).to_contain_text("You are offline")
    expect(page.get_by_test_id("offline")).to_contain_text("last known")
    expect(page.get_by_test_id("vault-free-payment")).to_have_text(shown)
    as_of = page.get_by_test_id("balances-as-of")
    expect(as_of).to_contain_text("last known, from ")
    expect(as_of).to_have_attribute("data-stale", "true")
    session.screenshot(page, "phone-offline")

    # Every other view opens from the copy too and says it is offline; nothing there is a kept figure:
    # the order book it showed online is not shown again from a copy.
    for path in ("/", "/trading", "/operator", "/analytics"):
        other = session.open(path)
        expect(other.locator("#app-header nav")).to_be_visible()
        expect(other.get_by_test_id("offline")).to_contain_text("You are offline")
        if path == "/trading":
            expect(other.get_by_test_id("bids-table").locator("tbody tr")).to_have_count(0)
        other.close()

    # Back online, the figures are live again.
    session.context.set_offline(False)
    expect(page.get_by_test_id("offline")).to_have_count(0)
    expect(as_of).to_have_text("")

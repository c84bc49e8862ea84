"""A person's own wallet as a household of the simulated community, in the browser: the documented
step (`make simulate HOUSEHOLD_OWNER=0x…`, here `run_simulation(..., household_owner=…)`) on a chain
of its own, the API service and the web app on that chain, and the test wallet of that address on a
phone's screen. The community is on two feeders, each a zone of the market. The prosumer view shows
the household's meter, its feeder's price beside the community's and the balances the day left it;
the household sets and clears its standing order and moves money in and out of its vault there,
each step said beside its button. The operator view shows each zone's price, flow and link limits.
Both say each zone's role as MarketZones named it: the simulated morning's links never bind, so two
more markets are cleared after it with region 1's link held, one exporting and one importing.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from playwright.sync_api import Page, expect

from energy_grid.api.app import create_app
from energy_grid.api.settings import ServiceSettings
from energy_grid.chain.accounts import anvil_account
from energy_grid.domain.enums import ZoneRole
from energy_grid.domain.units import format_kwh, format_money
from energy_grid.simulation.driver import SimulationConfig, run_simulation

from support.anvil_node import wait_until
from support.service_helpers import serve_in_thread
from support.simulation_helpers import client_of, deploy_to_state_file, node_from
from support.web_helpers import (
    PHONE_VIEWPORT,
    SCREENSHOTS,
    UI_TIMEOUT_MS,
    chromium,
    open_section,
    shown_cents,
    shown_price,
    wallet_session,
)

OWNER_INDEX = 6  # a dev account: the test wallet signs with its key, as a person's browser wallet would
RELAYER_INDEX = 9
INDEX_TIMEOUT_S = UI_TIMEOUT_MS / 1_000  # the index takes in what the chain holds, as the pages wait for it
OPERATOR_INDEX, BUYER_INDEX = 0, 3  # region 1's operator (every role on a local chain); a dev account with money
HELD_REGION, OTHER_REGION = 1, 2  # the household's feeder and the other one
LINK_KW, OPEN_KW = 1, 50  # region 1's link held to 1 kW (250 Wh in an interval) one way, open the other

# What the views say of each role: the operator's zone row, the household's feeder row and its sentence.
ZONE_LINK = {
    "COUPLED": "shared the bus price",
    "EXPORT_BOUND": "export limit bound: priced below the bus",
    "IMPORT_BOUND": "import limit bound: priced above the bus",
}
FEEDER_LINK = {
    "COUPLED": "shared the community's price",
    "EXPORT_BOUND": "full exporting: priced below the community",
    "IMPORT_BOUND": "full importing: priced above the community",
}
FEEDER_WORDS = {
    "COUPLED": "your feeder shared the community's price: its link did not hold it apart",
    "EXPORT_BOUND": "your feeder's link was full exporting, so its sellers got a lower price than the community's and flexible load on "
    "the feeder buys the surplus cheaper",
    "IMPORT_BOUND": "your feeder's link was full importing, so its buyers paid a higher price than the community's, its sellers got "
    "more and flexible load on the feeder saves by waiting",
}
BOUND = {"EXPORT_BOUND": "export limit", "IMPORT_BOUND": "import limit"}
FEEDER_MARKETS = 16  # the latest markets the household's view shows for its feeder
# Midnight to noon: the household's PV exports in the morning, so its vault holds energy too. Two
# feeders of four households: the market clears across two zones.
CONFIG = SimulationConfig(
    households=8, households_per_feeder=4, days=1, seed=11, intervals=48, household_owner=anvil_account(OWNER_INDEX).address
)


@pytest.fixture(scope="module")
def simulated(project: Any, accounts: Any, chain: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """The simulated half day on an anvil of its own, with OWNER_INDEX's address owning a household,
    and the API service with the web app on that chain."""
    directory = tmp_path_factory.mktemp("household")
    state, manifest = deploy_to_state_file(project, accounts, chain, directory)
    node = node_from(state, directory, "household")
    try:
        client = client_of(node, manifest)
        result = run_simulation(client, CONFIG, run_file=directory / "household.run.json")
        settings = ServiceSettings(
            rpc_url=node.url,
            manifest_file=manifest,
            database_url=f"sqlite:///{directory / 'index.sqlite'}",
            relayer=anvil_account(RELAYER_INDEX),
            poll_interval_s=0.2,
        )
        with serve_in_thread(create_app(settings)) as base_url, chromium() as browser:
            expect.set_options(timeout=UI_TIMEOUT_MS)
            _wait_until_indexed(base_url)
            yield {"client": client, "result": result, "base_url": base_url, "browser": browser, "directory": directory}
    finally:
        expect.set_options(timeout=5_000)
        node.stop()


def _wait_until_indexed(base_url: str) -> None:
    """Until the service's index has caught up with the chain (which stands still after the run), so
    that the API's answers the tests compare the views with are the whole day's."""
    def caught_up() -> bool:
        return bool(httpx.get(f"{base_url}/api/v1/health").json()["status"] == "ok")

    wait_until(caught_up, INDEX_TIMEOUT_S, "the index catching up with the chain")


def _zone_markets(base_url: str, **params: int) -> list[dict[str, Any]]:
    answer = httpx.get(f"{base_url}/api/v1/auction/zone-markets", params=params)
    assert answer.status_code == 200
    return answer.json()["items"]


def _market_held_by_the_link(simulated: dict[str, Any], role: ZoneRole) -> dict[str, Any]:
    """Clears a market of a coming interval in which region 1's link holds its zone off the bus
    price: EXPORT_BOUND, the owner sells in region 1 and another account buys in region 2 beyond
    what the link's 1 kW export carries; IMPORT_BOUND, the other way round. Returns the API's market
    once the index has it (also kept in simulated["held"])."""
    client, base_url = simulated["client"], simulated["base_url"]
    operator, seller, buyer = anvil_account(OPERATOR_INDEX), anvil_account(OWNER_INDEX), anvil_account(BUYER_INDEX)
    exporting = role is ZoneRole.EXPORT_BOUND
    ask_region, bid_region = (HELD_REGION, OTHER_REGION) if exporting else (OTHER_REGION, HELD_REGION)
    import_kw, export_kw = (OPEN_KW, LINK_KW) if exporting else (LINK_KW, OPEN_KW)
    period = client.auction.current_period() + 2
    client.market_zones.set_link_limits(operator, HELD_REGION, period, 1, import_kw, export_kw)
    for trader in (seller, buyer):
        client.approve_auction(trader)
    client.auction.submit_ask_in(seller, ask_region, period, 400, 150_000)
    client.auction.submit_bid_in(buyer, bid_region, period, 300, 240_000)
    client.mine_block_at(max(client.auction.clearing_time(period), client.w3.eth.get_block("latest")["timestamp"] + 1))
    client.clear_auction(operator, period)
    [market] = wait_until(lambda: _zone_markets(base_url, period=period), INDEX_TIMEOUT_S, f"the index taking in period {period}")
    zones = client.market_zones
    roles = {z["regionId"]: z["role"] for z in market["zones"]}
    assert roles == {HELD_REGION: role.name, OTHER_REGION: "COUPLED"}
    assert all(z["role"] == zones.zone_result(period, z["zone"]).role.name for z in market["zones"])
    simulated.setdefault("held", {})[role] = market
    return market


def _zone_of(market: dict[str, Any], region: int) -> dict[str, Any]:
    [zone] = [z for z in market["zones"] if z["regionId"] == region]
    return zone


def _price(price_per_kwh: int, units: tuple[int, str]) -> str:
    """A price as the operator's view shows it."""
    return f"{format_money(price_per_kwh, *units)}/kWh"


def _feeder_price(price_per_kwh: int, units: tuple[int, str]) -> str:
    """A price as the household's view shows it, to its last digit."""
    return shown_price(price_per_kwh, *units)


def _feeder_cards(markets: list[dict[str, Any]], units: tuple[int, str]) -> list[dict[str, Any]]:
    """The household's feeder cards for the markets (the latest first): a market that did not trade
    shows no price, and consecutive markets that read the same are one card with their count."""
    cards: list[dict[str, Any]] = []
    for market in markets:
        [zone] = market["zones"]
        traded = market["volumeWh"] > 0
        shown = {
            "feeder-price": _feeder_price(zone["clearingPricePerKWh"], units) if traded else "no trade",
            "community-price": _feeder_price(market["busPricePerKWh"], units) if traded else "no trade",
            "feeder-flow": _flow(zone["netExportWh"]),
            "feeder-link": FEEDER_LINK[zone["role"]] if traded else "nothing traded",
        }
        if cards and cards[-1]["shown"] == shown:
            cards[-1]["intervals"] += 1
        else:
            cards.append({"shown": shown, "period": market["period"], "role": zone["role"], "intervals": 1})
    return cards


def _shows_feeder_cards(page: Page, cards: list[dict[str, Any]]) -> None:
    rows = page.get_by_test_id("feeder-row")
    expect(rows).to_have_count(len(cards))
    for i, card in enumerate(cards):
        row = rows.nth(i)
        expect(row).to_have_attribute("data-period", str(card["period"]))
        expect(row).to_have_attribute("data-intervals", str(card["intervals"]))
        expect(row).to_have_attribute("data-role", card["role"])
        for testid, text in card["shown"].items():
            expect(row.get_by_test_id(testid)).to_have_text(text)
        repeat = row.get_by_test_id("feeder-repeat")
        if card["intervals"] > 1:
            expect(repeat).to_have_text(f"the same for {card['intervals']} intervals")
        else:
            expect(repeat).to_have_count(0)


def _flow(net_export_wh: int) -> str:
    return "none" if net_export_wh == 0 else f"{format_kwh(abs(net_export_wh))} {'out' if net_export_wh > 0 else 'in'}"


def _units(client: Any) -> tuple[int, str]:
    token = client["PaymentToken"].functions
    return int(token.decimals().call()), str(token.symbol().call())


def _said_beside(page: Page, testid: str, text: str) -> None:
    line = page.get_by_test_id(testid)
    expect(line).to_contain_text(text)
    expect(line).to_have_attribute("data-kind", "info")
    expect(line).to_be_in_viewport()


def test_the_wallet_that_owns_a_simulated_household_runs_it_from_a_phone(simulated):
    client, owned = simulated["client"], simulated["result"].owned_household
    owner = anvil_account(OWNER_INDEX)
    assert owned is not None and owned["owner"] == owner.address
    meter = owned["meter"]
    energy_wh, payment = client.vault.balances(owner.address)  # (energy Wh, PaymentToken base units)
    assert energy_wh > 0 and payment > 0  # the morning's export and the deposit
    decimals, symbol = _units(client)

    session = wallet_session(simulated["browser"], simulated["base_url"], owner, client.chain_id, SCREENSHOTS / "household", PHONE_VIEWPORT)
    try:
        page = session.open("/prosumer")
        page.get_by_test_id("wallet-button").click()
        expect(page.get_by_test_id("wallet-button")).to_have_attribute("data-account", owner.address)
        # Its own household: the meter the simulation gave it, the balances the day left, nothing read only.
        expect(page.get_by_test_id("standing-row")).to_have_count(1)
        expect(page.get_by_test_id("standing-row")).to_have_attribute("data-meter", meter)
        expect(page.get_by_test_id("vault-free-energy")).to_have_text(format_kwh(energy_wh))
        expect(page.get_by_test_id("vault-free-payment")).to_have_text(shown_cents(payment, decimals, symbol))
        expect(page.get_by_test_id("save-standing")).to_be_enabled()
        # Its feeder's price in the latest markets beside the community's, as the API gives them for its region.
        region = client.smart_meter.get_meter(meter).region_id
        markets = _zone_markets(simulated["base_url"], regionId=region, limit=FEEDER_MARKETS)
        assert markets and all(len(m["zones"]) == 1 and m["zones"][0]["regionId"] == region for m in markets)
        latest, [zone] = markets[0], markets[0]["zones"]
        summary = page.get_by_test_id("feeder-summary")
        expect(summary).to_have_attribute("data-period", str(latest["period"]))
        expect(summary).to_contain_text(f"Your feeder's price: {_feeder_price(zone['clearingPricePerKWh'], (decimals, symbol))}")
        expect(summary).to_contain_text(f"the community's: {_feeder_price(latest['busPricePerKWh'], (decimals, symbol))}")
        expect(summary).to_contain_text(FEEDER_WORDS[zone["role"]])
        _shows_feeder_cards(page, _feeder_cards(markets, (decimals, symbol)))
        session.screenshot(page, "simulated-household")

        open_section(page, "standing")
        page.get_by_test_id("standing-sell-price").fill("0.09")
        page.get_by_test_id("save-standing").click()
        _said_beside(page, "standing-feedback", "saved")
        assert client.smart_meter.standing_order(meter).sell_price_per_kwh == 90_000
        page.get_by_test_id("clear-standing").click()
        _said_beside(page, "standing-feedback", "cleared")
        assert client.smart_meter.standing_order(meter).sell_price_per_kwh == 0

        open_section(page, "vault")
        page.get_by_test_id("vault-token").select_option("payment")
        page.get_by_test_id("vault-amount").fill("1")
        page.get_by_test_id("vault-deposit").click()
        _said_beside(page, "vault-feedback", "Deposited")
        page.get_by_test_id("vault-amount").fill("0.25")
        page.get_by_test_id("vault-withdraw").click()
        _said_beside(page, "vault-feedback", "Withdrew")
        assert client.vault.balances(owner.address).payment == payment + 3 * 10**decimals // 4
        assert page.evaluate("() => document.documentElement.scrollWidth <= window.innerWidth")
        assert session.console_errors == []
    finally:
        session.context.close()


def test_the_household_reads_whether_its_feeder_s_link_held_its_price_apart(simulated):
    """The simulated morning's latest market shared the community's price; then a market in which
    the feeder's link was full exporting and one in which it was full importing: as each is
    cleared, the view (refreshing itself) says the feeder's price and, in one sentence, what the
    link did to it, and the feeder's row says it in a few words."""
    client, base_url = simulated["client"], simulated["base_url"]
    units = _units(client)
    owner = anvil_account(OWNER_INDEX)
    session = wallet_session(simulated["browser"], base_url, None, client.chain_id, SCREENSHOTS / "household", PHONE_VIEWPORT)
    try:
        page = session.open(f"/prosumer?account={owner.address}")
        summary, first_row = page.get_by_test_id("feeder-summary"), page.get_by_test_id("feeder-row").first
        latest = _zone_markets(base_url, regionId=HELD_REGION, limit=1)[0]
        held_before = "held" in simulated  # the operator's test ran first: the latest market is one of its
        assert held_before or latest["zones"][0]["role"] == "COUPLED"
        for role in (None, ZoneRole.EXPORT_BOUND, ZoneRole.IMPORT_BOUND):
            market = latest if role is None else _market_held_by_the_link(simulated, role)
            zone = _zone_of(market, HELD_REGION)
            expect(summary).to_have_attribute("data-period", str(market["period"]))
            expect(summary).to_have_text(
                f"Your feeder's price: {_feeder_price(zone['clearingPricePerKWh'], units)}; the community's: "
                f"{_feeder_price(market['busPricePerKWh'], units)}; {FEEDER_WORDS[zone['role']]}."
            )
            expect(first_row).to_have_attribute("data-role", zone["role"])
            expect(first_row.get_by_test_id("feeder-price")).to_have_text(_feeder_price(zone["clearingPricePerKWh"], units))
            expect(first_row.get_by_test_id("feeder-link")).to_have_text(FEEDER_LINK[zone["role"]])
            bus = market["busPricePerKWh"]
            if zone["role"] == "EXPORT_BOUND":
                assert zone["clearingPricePerKWh"] < bus and zone["netExportWh"] == zone["exportLimitWh"] == 250
            elif zone["role"] == "IMPORT_BOUND":
                assert zone["clearingPricePerKWh"] > bus and -zone["netExportWh"] == zone["importLimitWh"] == 250
            else:
                assert zone["role"] == "COUPLED" and zone["clearingPricePerKWh"] == bus
        session.screenshot(page, "feeder-import-bound")
        assert session.console_errors == []
    finally:
        session.context.close()


def test_the_operator_sees_each_zones_price_flow_and_link_limits(simulated):
    """The latest market cleared across the two feeders, zone by zone as the API gives it: price, net
    export, the link limits in force for the interval, the bus price and the congestion rent; on a
    phone, each zone a card, nothing scrolling sideways."""
    base_url, units = simulated["base_url"], _units(simulated["client"])
    latest = _zone_markets(base_url, limit=1)[0]
    assert sorted(z["regionId"] for z in latest["zones"] if z["zone"] != 0) == [1, 2]
    session = wallet_session(simulated["browser"], base_url, None, simulated["client"].chain_id, SCREENSHOTS / "household", PHONE_VIEWPORT)
    try:
        page = session.open("/operator")
        expect(page.get_by_test_id("zones-detail")).to_have_attribute("data-period", str(latest["period"]))
        expect(page.get_by_test_id("zones-bus-price")).to_have_text(format_money(latest["busPricePerKWh"], units[0]))
        expect(page.get_by_test_id("zones-rent")).to_have_text(format_money(latest["congestionRent"], units[0]))
        expect(page.get_by_test_id("zone-row")).to_have_count(len(latest["zones"]))
        for zone in latest["zones"]:
            row = page.locator(f'[data-testid="zone-row"][data-zone="{zone["zone"]}"]')
            expect(row.get_by_test_id("zone-price")).to_have_text(_price(zone["clearingPricePerKWh"], units))
            expect(row.get_by_test_id("zone-flow")).to_have_text(_flow(zone["netExportWh"]))
            expect(row).to_have_attribute("data-role", zone["role"])
            expect(row.get_by_test_id("zone-link")).to_have_text(ZONE_LINK[zone["role"]])
            for side in ("import", "export"):
                limit_kw, limit_wh = zone[f"{side}LimitKW"], zone[f"{side}LimitWh"]
                shown = "no limit" if limit_kw is None else f"{limit_kw} kW ({format_kwh(limit_wh)})"
                expect(row.get_by_test_id(f"zone-{side}-limit")).to_have_text(shown)
        session.screenshot(page, "operator-zones")
        assert page.evaluate("() => document.documentElement.scrollWidth <= window.innerWidth")
        assert session.console_errors == []
    finally:
        session.context.close()


def test_the_operator_sees_which_zones_link_bound_and_which_way(simulated):
    """A market of the simulated morning (both zones at the bus price) and one held by region 1's link
    each way, chosen in turn among the latest: each zone's own price and its role in words, how many
    links bound, and in the latest markets' lines which region's link bound and which way."""
    base_url, units = simulated["base_url"], _units(simulated["client"])
    held = simulated.get("held", {})
    markets = [held.get(role) or _market_held_by_the_link(simulated, role) for role in (ZoneRole.EXPORT_BOUND, ZoneRole.IMPORT_BOUND)]
    latest = _zone_markets(base_url, limit=8)
    coupled = next(m for m in latest if all(z["role"] == "COUPLED" for z in m["zones"]) and m["volumeWh"] > 0)
    session = wallet_session(simulated["browser"], base_url, None, simulated["client"].chain_id, SCREENSHOTS / "household")
    try:
        page = session.open("/operator")
        for market in (coupled, *markets):
            page.get_by_test_id("zones-interval").select_option(str(market["period"]))
            expect(page.get_by_test_id("zones-detail")).to_have_attribute("data-period", str(market["period"]))
            bound = [z for z in market["zones"] if z["role"] in BOUND]
            linked = [z for z in market["zones"] if z["zone"] != 0]  # the bus has no link
            expect(page.get_by_test_id("zones-full-count")).to_have_text(f"{len(bound)} of {len(linked)}")
            for zone in market["zones"]:
                row = page.locator(f'[data-testid="zone-row"][data-zone="{zone["zone"]}"]')
                expect(row).to_have_attribute("data-role", zone["role"])
                expect(row.get_by_test_id("zone-price")).to_have_text(_price(zone["clearingPricePerKWh"], units))
                expect(row.get_by_test_id("zone-link")).to_have_text(ZONE_LINK[zone["role"]])
            line = page.locator(f'[data-testid="zone-market"][data-period="{market["period"]}"]')
            words = ", ".join(f"region {z['regionId']} ({BOUND[z['role']]})" for z in bound) or "none"
            expect(line.get_by_test_id("zone-market-bound")).to_have_text(words)
        # The held zone's own price, off the bus price on its side; the other zone's, the bus price.
        for market, held_below in zip(markets, (True, False), strict=True):
            zone, other = _zone_of(market, HELD_REGION), _zone_of(market, OTHER_REGION)
            assert (zone["clearingPricePerKWh"] < market["busPricePerKWh"]) is held_below
            assert zone["clearingPricePerKWh"] != market["busPricePerKWh"] == other["clearingPricePerKWh"]
        session.screenshot(page, "operator-zones-import-bound")
        assert session.console_errors == []
    finally:
        session.context.close()


# A phone's page may be this tall with every part closed: two screens of 844 px, for the header, the
# day's four figures, the unsold-energy hint and ten lines of parts, each a tap target (1,510 px when
# measured). Before the parts closed, the simulated household's page was 8,600 px tall (9,700-12,000 px
# with a longer history).
CLOSED_PAGE_MAX_PX = 2 * 844

# Every word of the page's text on one line, and every card's label word on one line (a label is the
# cell's ::before, measured against the width the layout gave it): a list of those broken. A line may
# break after a slash, a dash or a short address's "…" (0x976E…0aa9), as the browser's line breaking has it.
WORDS_BROKEN_JS = """() => {
  const broken = [];
  const walker = document.createTreeWalker(document.querySelector("main"), NodeFilter.SHOW_TEXT);
  for (let node = walker.nextNode(); node; node = walker.nextNode()) {
    // Shown text only: a table's heading row is kept for screen readers in a 1 px box on a phone.
    if (!node.parentElement.getClientRects().length || node.parentElement.closest("thead, .visually-hidden")) continue;
    for (const word of node.data.matchAll(/[^\\s\\/–…-]+/g)) {
      const range = document.createRange();
      range.setStart(node, word.index);
      range.setEnd(node, word.index + word[0].length);
      const lines = new Set([...range.getClientRects()].filter((r) => r.width > 0).map((r) => Math.round(r.top)));
      if (lines.size > 1) broken.push(word[0]);
    }
  }
  const probe = document.body.appendChild(document.createElement("span"));
  for (const cell of document.querySelectorAll("main td[data-label]")) {
    const label = getComputedStyle(cell, "::before");
    if (!cell.getClientRects().length || label.content === "none") continue;
    probe.style.cssText = "position:absolute;visibility:hidden;white-space:nowrap";
    for (const property of ["fontFamily", "fontSize", "fontWeight", "fontStyle", "letterSpacing"]) probe.style[property] = label[property];
    for (const word of cell.dataset.label.split(/\\s+/)) {
      probe.textContent = word;
      if (probe.getBoundingClientRect().width > parseFloat(label.width) + 0.5) broken.push(`label ${word}`);
    }
  }
  probe.remove();
  return broken;
}"""


def test_the_household_page_on_a_phone_is_a_few_screens_in_whole_words_and_cents(simulated):
    """The simulated household on a phone: with its parts closed the page is at most CLOSED_PAGE_MAX_PX
    tall, each part's line giving its key figure; opened, no word breaks inside itself (a card's label
    neither), money shows at most 2 decimals and prices no more than the auction's grid has; the energy
    the household holds and no order offers is pointed out."""
    client, base_url = simulated["client"], simulated["base_url"]
    owner = anvil_account(OWNER_INDEX)
    decimals, symbol = _units(client)
    session = wallet_session(simulated["browser"], base_url, None, client.chain_id, SCREENSHOTS / "household", PHONE_VIEWPORT)
    try:
        page = session.open(f"/prosumer?account={owner.address}")
        expect(page.get_by_test_id("trade-row").first).to_be_attached()
        expect(page.get_by_test_id("feeder-row").first).to_be_attached()
        expect(page.get_by_test_id("standing-fill").first).to_be_attached()
        energy_wh, payment = client.vault.balances(owner.address)
        wallet_wh = client.energy_token.balance_of(owner.address)
        assert wallet_wh > 0 and energy_wh > 0  # what the morning's export left, some of it never deposited
        hint = page.get_by_test_id("unsold-hint")
        expect(hint).to_have_attribute("data-wallet-wh", str(wallet_wh))
        unsold = f"{format_kwh(wallet_wh)} in your wallet and {format_kwh(energy_wh)} free in your vault, offered nowhere"
        expect(hint).to_contain_text(unsold)
        expect(page.get_by_test_id("vault-figure")).to_have_text(
            f"free in your vault: {format_kwh(energy_wh)} · {shown_cents(payment, decimals, symbol)}"
        )
        parts = page.locator("details.section:not([hidden])")
        assert parts.count() == 10 and all(parts.nth(i).get_attribute("open") is None for i in range(parts.count()))
        height = page.evaluate("() => document.documentElement.scrollHeight")
        assert height <= CLOSED_PAGE_MAX_PX, height
        session.screenshot(page, "phone-household-closed")

        for i in range(parts.count()):
            parts.nth(i).locator("summary").click()
        expect(page.locator("details.section[open]:not([hidden])")).to_have_count(10)
        broken = page.evaluate(WORDS_BROKEN_JS)
        assert broken == [], broken
        text = page.locator("main").inner_text()
        money = re.findall(rf"\d[\d,]*\.(\d+) {symbol}(?!/kWh)", text)
        prices = re.findall(rf"\d[\d,]*\.(\d+) {symbol}/kWh", text)
        tick = client.auction.current_grid().tick_size_per_kwh
        tick_decimals = len(shown_price(tick, decimals, symbol).split()[0].split(".")[1])
        assert money and all(len(fraction) <= 2 for fraction in money), money
        assert prices and all(len(fraction) <= max(2, tick_decimals) for fraction in prices), prices
        assert not page.evaluate("() => document.documentElement.scrollWidth > window.innerWidth")
        session.screenshot(page, "phone-household-open")
        assert session.console_errors == []
    finally:
        session.context.close()


NIGHT_MARKETS = 3  # markets in a row whose only orders are bids on the household's feeder: none trades


def test_a_night_without_trade_reads_no_trade_in_one_card(simulated):
    """After the day, three markets in which only bids sat on the household's feeder: none traded, so
    none set a price. The household's summary says the latest did not trade and gives the latest that
    did; the three read "no trade" in one card, "the same for 3 intervals" (runs last: it makes them
    the latest markets)."""
    client, base_url = simulated["client"], simulated["base_url"]
    units = _units(client)
    operator, buyer, owner = anvil_account(OPERATOR_INDEX), anvil_account(BUYER_INDEX), anvil_account(OWNER_INDEX)
    auction = client.auction
    client.approve_auction(buyer)
    first = auction.current_period() + 2
    grid = auction.current_grid()
    bid_price = grid.min_price_per_kwh + 10 * grid.tick_size_per_kwh
    periods = range(first, first + NIGHT_MARKETS)
    for period in periods:
        auction.submit_bid_in(buyer, HELD_REGION, period, 300, bid_price)
    client.mine_block_at(max(auction.clearing_time(periods[-1]), client.w3.eth.get_block("latest")["timestamp"] + 1))
    for period in periods:
        client.clear_auction(operator, period)
    wait_until(lambda: _zone_markets(base_url, regionId=HELD_REGION, limit=1)[0]["period"] == periods[-1], INDEX_TIMEOUT_S,
               "the index taking in the night's markets")  # fmt: skip
    markets = _zone_markets(base_url, regionId=HELD_REGION, limit=FEEDER_MARKETS)
    night, traded = markets[:NIGHT_MARKETS], next(m for m in markets if m["volumeWh"] > 0)
    assert [m["period"] for m in night] == list(reversed(periods)) and all(m["volumeWh"] == 0 for m in night)
    cards = _feeder_cards(markets, units)
    assert cards[0]["intervals"] == NIGHT_MARKETS and cards[0]["shown"]["feeder-price"] == "no trade"

    session = wallet_session(simulated["browser"], base_url, None, client.chain_id, SCREENSHOTS / "household", PHONE_VIEWPORT)
    try:
        page = session.open(f"/prosumer?account={owner.address}")
        summary = page.get_by_test_id("feeder-summary")
        expect(summary).to_have_attribute("data-period", str(periods[-1]))
        [zone] = traded["zones"]
        expect(summary).to_contain_text("No trade in the latest market: no orders met, so it set no price. The latest that traded, ")
        expect(summary).to_contain_text(
            f"your feeder's price {_feeder_price(zone['clearingPricePerKWh'], units)}; "
            f"the community's: {_feeder_price(traded['busPricePerKWh'], units)}."
        )
        expect(page.get_by_test_id("feeder-figure")).to_have_text("no trade")
        open_section(page, "feeder")
        _shows_feeder_cards(page, cards)
        session.screenshot(page, "phone-feeder-night")
        assert session.console_errors == []
    finally:
        session.context.close()

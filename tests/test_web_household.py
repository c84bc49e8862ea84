"""A person's own wallet as a household of the simulated community, in the browser: the documented
step (`make simulate HOUSEHOLD_OWNER=0x…`, here `run_simulation(..., household_owner=…)`) on a chain
of its own, the API service and the web app on that chain, and the test wallet of that address on a
phone's screen. The community is on two feeders, each a zone of the market. The prosumer view shows
the household's meter, its feeder's price beside the community's and the balances the day left it;
the household sets and clears its standing order and moves money in and out of its vault there,
each step said beside its button. The operator view shows each zone's price, flow and link limits.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from playwright.sync_api import Page, expect

from energy_grid.api.app import create_app
from energy_grid.api.settings import ServiceSettings
from energy_grid.chain.client import anvil_account
from energy_grid.domain.units import format_kwh, format_money
from energy_grid.simulation.driver import SimulationConfig, run_simulation

from support.service_helpers import serve_in_thread
from support.simulation_helpers import client_of, deploy_to_state_file, node_from
from support.web_helpers import PHONE_VIEWPORT, SCREENSHOTS, UI_TIMEOUT_MS, chromium, wallet_session

OWNER_INDEX = 6  # a dev account: the test wallet signs with its key, as a person's browser wallet would
RELAYER_INDEX = 9
# Midnight to noon: the household's PV exports in the morning, so its vault holds energy too. Two
# feeders of four households: the market clears across two zones.
CONFIG = SimulationConfig(
    households=8, households_per_feeder=4, days=1, seed=11, intervals=48, household_owner=anvil_account(OWNER_INDEX).address
)


@pytest.fixture(scope="module")
def simulated(project, accounts, chain, tmp_path_factory) -> Iterator[dict[str, Any]]:
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
    deadline = time.monotonic() + UI_TIMEOUT_MS / 1_000
    while httpx.get(f"{base_url}/api/v1/health").json()["status"] != "ok":
        assert time.monotonic() < deadline, "the index did not catch up with the chain"
        time.sleep(0.2)


def _zone_markets(base_url: str, **params: int) -> list[dict[str, Any]]:
    answer = httpx.get(f"{base_url}/api/v1/auction/zone-markets", params=params)
    assert answer.status_code == 200
    return answer.json()["items"]


def _price(price_per_kwh: int, units: tuple[int, str]) -> str:
    """A price as the views show it."""
    return f"{format_money(price_per_kwh, *units)}/kWh"


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
        expect(page.get_by_test_id("vault-free-payment")).to_have_text(format_money(payment, decimals, symbol))
        expect(page.get_by_test_id("save-standing")).to_be_enabled()
        # Its feeder's price in the latest markets beside the community's, as the API gives them for its region.
        region = client.smart_meter.get_meter(meter).region_id
        markets = _zone_markets(simulated["base_url"], regionId=region, limit=8)
        assert markets and all(len(m["zones"]) == 1 and m["zones"][0]["regionId"] == region for m in markets)
        latest, [zone] = markets[0], markets[0]["zones"]
        summary = page.get_by_test_id("feeder-summary")
        expect(summary).to_have_attribute("data-period", str(latest["period"]))
        expect(summary).to_contain_text(f"Your feeder's price: {_price(zone['clearingPricePerKWh'], (decimals, symbol))}")
        expect(summary).to_contain_text(f"the community's: {_price(latest['busPricePerKWh'], (decimals, symbol))}")
        rows = page.get_by_test_id("feeder-row")
        expect(rows).to_have_count(len(markets))
        expect(rows.first.get_by_test_id("feeder-flow")).to_have_text(_flow(zone["netExportWh"]))
        expect(rows.first.get_by_test_id("feeder-price")).to_have_text(_price(zone["clearingPricePerKWh"], (decimals, symbol)))
        session.screenshot(page, "simulated-household")

        page.get_by_test_id("standing-sell-price").fill("0.09")
        page.get_by_test_id("save-standing").click()
        _said_beside(page, "standing-feedback", "saved")
        assert client.smart_meter.standing_order(meter).sell_price_per_kwh == 90_000
        page.get_by_test_id("clear-standing").click()
        _said_beside(page, "standing-feedback", "cleared")
        assert client.smart_meter.standing_order(meter).sell_price_per_kwh == 0

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
            expect(row).to_have_attribute("data-binding", zone["binding"] or "")
            for side in ("import", "export"):
                limit_kw, limit_wh = zone[f"{side}LimitKW"], zone[f"{side}LimitWh"]
                shown = "no limit" if limit_kw is None else f"{limit_kw} kW ({format_kwh(limit_wh)})"
                expect(row.get_by_test_id(f"zone-{side}-limit")).to_have_text(shown)
        session.screenshot(page, "operator-zones")
        assert page.evaluate("() => document.documentElement.scrollWidth <= window.innerWidth")
        assert session.console_errors == []
    finally:
        session.context.close()

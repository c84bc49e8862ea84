"""The API's vault and standing-order routes on a real deployment: a household's market approval and
standing limits signed in its wallet (played by eth-account signing the typed data the API hands out)
and relayed by the service, the vault balances free and locked, and each interval's settled standing
orders from the event index; every refusal a 4xx naming it, with nothing sent.
"""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from energy_grid.api import create_app
from energy_grid.domain.units import FREQUENCY_NOMINAL_MILLIHZ, VOLTAGE_NOMINAL_PER_MILLE, format_money

from support.meter_helpers import fills_in
from support.service_helpers import ok, problem, sign_typed

API = "/api/v1"
PERIOD = 900  # the deployment's quarter-hourly reading market
CASH = 1_000_000  # PaymentToken base units the buying household deposits
SELL_PRICE, BUY_PRICE = 80_000, 100_000  # per kWh, on the deployment's price grid
EXPORT_WH, IMPORT_WH = 1_000, 600
REGION = 1


@pytest.fixture(scope="module")
def standing_households(accounts):
    """A household that sells its export and one that buys its import, both through standing limits."""
    return accounts[3], accounts[4]


@pytest.fixture(scope="module")
def standing_meters(api_system, standing_households, admin, accounts):
    """One meter per household, registered with registers at 0 Wh (its first reading counts)."""
    meters = [accounts.generate_test_account().address for _ in standing_households]
    for meter, owner in zip(meters, standing_households, strict=True):
        api_system.smart_meter.registerMeter(meter, owner, REGION, 0, 0, sender=admin)
    return meters


@pytest.fixture(scope="module", autouse=True)
def _standing_set_up(standing_meters, api_settings):
    """The system and meters exist before any test's own state (ape isolation)."""


@pytest.fixture
def standing_api(api_settings):
    """(HTTP client, the app) on a fresh index; the follower runs only when the test says."""
    app = create_app(api_settings(follow=False))
    with TestClient(app) as http:
        yield http, app


def signed_limits(http: TestClient, meter: str, signer: Any, **limits: Any) -> dict[str, Any]:
    """The standing limits as POST /meters/{meter}/standing-order takes them, signed by `signer`."""
    offer = ok(http.post(f"{API}/meters/{meter}/standing-order/typed-data", json=limits))
    body = {key: offer[key] for key in ("sellPricePerKWh", "sellCapWh", "buyPricePerKWh", "buyCapWh", "deadline")}
    return body | {"signature": sign_typed(signer, offer["typedData"])}


def approve_reading_market(http: TestClient, account: Any) -> dict[str, Any]:
    offer = ok(http.post(f"{API}/vault/market-approval/typed-data", json={"account": account.address}))
    body = {"account": account.address, "market": offer["market"], "deadline": offer["deadline"]}
    return ok(http.post(f"{API}/vault/market-approval", json=body | {"signature": sign_typed(account, offer["typedData"])}))


def test_signed_limits_place_the_households_orders_and_the_fill_is_listed(
    standing_api, api_system, standing_households, standing_meters, admin, chain
):
    http, app = standing_api
    smart_meter, vault, auction, payment = (
        api_system.smart_meter,
        api_system.energy_vault,
        api_system.energy_auction,
        api_system.payment_token,
    )
    (seller, buyer), (seller_meter, buyer_meter) = standing_households, standing_meters
    for household in standing_households:
        assert approve_reading_market(http, household)["approved"]
        assert vault.isMarketApproved(household, auction)
    payment.approve(vault, CASH, sender=buyer)
    vault.deposit(payment, CASH, sender=buyer)

    assert ok(http.get(f"{API}/meters/{seller_meter}/standing-order"))["active"] is False
    relayed = ok(
        http.post(f"{API}/meters/{seller_meter}/standing-order", json=signed_limits(http, seller_meter, seller, sellPricePerKWh=SELL_PRICE))
    )
    assert relayed["cleared"] is False and relayed["sellPricePerKWh"] == SELL_PRICE
    ok(http.post(f"{API}/meters/{buyer_meter}/standing-order", json=signed_limits(http, buyer_meter, buyer, buyPricePerKWh=BUY_PRICE)))
    assert ok(http.get(f"{API}/meters/{seller_meter}/standing-order")) == {
        "meter": seller_meter,
        "owner": seller.address,
        "sellPricePerKWh": SELL_PRICE,
        "sellCapWh": 0,
        "buyPricePerKWh": 0,
        "buyCapWh": 0,
        "active": True,
        "vaultDelivery": True,
        "readingMarket": auction.address,
        "readingMarketApproved": True,
        "priceGrid": {
            "minPricePerKWh": auction.minPrice(),
            "tickSizePerKWh": auction.tickSize(),
            "maxPricePerKWh": auction.minPrice() + (auction.tickCount() - 1) * auction.tickSize(),
        },
    }
    assert smart_meter.getStandingOrder(buyer_meter) == (0, 0, BUY_PRICE, 0)

    # The interval's readings place the seller's export as an ask and the buyer's import as a bid.
    period = chain.pending_timestamp // PERIOD + 1
    ts = (period + 1) * PERIOD - 1
    chain.pending_timestamp = ts
    readings = [(ts, 0, EXPORT_WH, FREQUENCY_NOMINAL_MILLIHZ, VOLTAGE_NOMINAL_PER_MILLE),
                (ts, IMPORT_WH, 0, FREQUENCY_NOMINAL_MILLIHZ, VOLTAGE_NOMINAL_PER_MILLE)]  # fmt: skip
    smart_meter.submitReadings(standing_meters, readings, sender=admin)
    bid_lock = -(-IMPORT_WH * BUY_PRICE // 1_000)
    app.state.follower.run_once()  # the index knows whose meters they are
    held = ok(http.get(f"{API}/vault/{buyer.address}"))
    assert (held["freeEnergyWh"], held["freePayment"], held["lockedEnergyWh"], held["lockedPayment"]) == (0, CASH - bid_lock, 0, bid_lock)
    assert held["locked"]["standingOrders"] == {"energyWh": 0, "payment": bid_lock}
    held = ok(http.get(f"{API}/vault/{seller.address}"))
    assert (held["freeEnergyWh"], held["lockedEnergyWh"], held["readingMarketApproved"]) == (0, EXPORT_WH, True)

    # Cleared after the reading deadline, then settled: the one event of a standing order.
    chain.pending_timestamp = auction.clearingTime(period)
    auction.clear(period, sender=admin)
    tx = smart_meter.settleStandingOrders(standing_meters, sender=admin)
    settled = {e.meter: e for e in fills_in(tx)}
    assert settled[seller_meter].soldWh == IMPORT_WH
    # A firm bid of the buyer's in a later market locks its escrow beside.
    firm_escrow = -(-500 * 60_000 // 1_000)
    auction.submitBid(period + 4, 500, 60_000, sender=buyer)
    app.state.follower.run_once()

    fills = ok(http.get(f"{API}/meters/{seller_meter}/standing-fills"))
    assert fills["total"] == 1
    fill = settled[seller_meter]
    assert {k: v for k, v in fills["items"][0].items() if k not in {"settledAt", "txHash"}} == {
        "meter": seller_meter,
        "period": period,
        "askWh": EXPORT_WH,
        "soldWh": fill.soldWh,
        "proceeds": fill.proceeds,
        "bidWh": 0,
        "boughtWh": 0,
        "paid": 0,
    }
    assert fills["items"][0]["txHash"] == tx.txn_hash
    bought = ok(http.get(f"{API}/meters/{buyer_meter}/standing-fills"))["items"][0]
    assert (bought["bidWh"], bought["boughtWh"], bought["paid"]) == (IMPORT_WH, IMPORT_WH, settled[buyer_meter].paid)
    held = ok(http.get(f"{API}/vault/{seller.address}"))
    assert (held["freeEnergyWh"], held["freePayment"], held["lockedEnergyWh"]) == (EXPORT_WH - fill.soldWh, fill.proceeds, 0)
    held = ok(http.get(f"{API}/vault/{buyer.address}"))
    assert held["locked"] == {
        "bookOrders": {"energyWh": 0, "payment": 0},
        "auctionOrders": {"energyWh": 0, "payment": firm_escrow},
        "standingOrders": {"energyWh": 0, "payment": 0},
    }
    assert held["freePayment"] == CASH - settled[buyer_meter].paid - firm_escrow

    # Each household's fills: the interval's standing orders at the market's clearing price, from its start.
    price = auction.getMarket(period).clearingPricePerKWh
    sides = ((seller, seller_meter, "SELL", fill.soldWh, fill.proceeds), (buyer, buyer_meter, "BUY", IMPORT_WH, settled[buyer_meter].paid))
    for household, meter, side, amount_wh, value in sides:
        [mine] = ok(http.get(f"{API}/accounts/{household.address}/fills"))["items"]
        assert {k: mine[k] for k in ("market", "side", "time", "amountWh", "pricePerKWh", "value", "id", "period", "meter", "status")} == {
            "market": "standing", "side": side, "time": period * PERIOD, "amountWh": amount_wh, "pricePerKWh": price,
            "value": value, "id": meter, "period": period, "meter": meter, "status": "settled",
        }  # fmt: skip

    # Cleared through the relay too: both prices 0.
    cleared = ok(http.post(f"{API}/meters/{seller_meter}/standing-order", json=signed_limits(http, seller_meter, seller)))
    assert cleared["cleared"] is True
    assert ok(http.get(f"{API}/meters/{seller_meter}/standing-order"))["active"] is False


def test_standing_fills_that_traded_skip_the_intervals_that_sold_and_bought_nothing(
    standing_api, api_system, standing_households, standing_meters, admin, chain
):
    """`?traded=true`: only the intervals whose standing orders sold or bought energy, paged as the
    whole list is (a day's night reads zeros, which the household need not page through)."""
    http, app = standing_api
    smart_meter, vault, auction, payment = (
        api_system.smart_meter,
        api_system.energy_vault,
        api_system.energy_auction,
        api_system.payment_token,
    )
    (seller, buyer), (seller_meter, buyer_meter) = standing_households, standing_meters
    for household in standing_households:
        vault.setMarketApproval(auction, True, sender=household)
    payment.approve(vault, CASH, sender=buyer)
    vault.deposit(payment, CASH, sender=buyer)
    smart_meter.setStandingOrder(seller_meter, SELL_PRICE, 0, 0, 0, sender=seller)
    smart_meter.setStandingOrder(buyer_meter, 0, 0, BUY_PRICE, 0, sender=buyer)

    # Interval 1: the seller's export meets the buyer's import; interval 2: export with no one to buy it.
    first = chain.pending_timestamp // PERIOD + 1
    for step in (0, 1):
        ts = (first + step + 1) * PERIOD - 1
        chain.pending_timestamp = ts
        readings = [(ts, 0, EXPORT_WH * (step + 1), FREQUENCY_NOMINAL_MILLIHZ, VOLTAGE_NOMINAL_PER_MILLE),
                    (ts, IMPORT_WH, 0, FREQUENCY_NOMINAL_MILLIHZ, VOLTAGE_NOMINAL_PER_MILLE)]  # fmt: skip
        smart_meter.submitReadings(standing_meters, readings, sender=admin)
    chain.pending_timestamp = auction.clearingTime(first + 1)
    auction.clear(first, sender=admin)
    auction.clear(first + 1, sender=admin)
    smart_meter.settleStandingOrders(standing_meters, sender=admin)
    app.state.follower.run_once()

    every = ok(http.get(f"{API}/meters/{seller_meter}/standing-fills"))
    assert [(f["period"], f["soldWh"]) for f in every["items"]] == [(first + 1, 0), (first, IMPORT_WH)]
    traded = ok(http.get(f"{API}/meters/{seller_meter}/standing-fills", params={"traded": "true"}))
    assert (traded["total"], [f["period"] for f in traded["items"]]) == (1, [first])
    assert ok(http.get(f"{API}/meters/{seller_meter}/standing-fills", params={"traded": "true", "offset": 1}))["items"] == []
    # A purchase counts as trading too.
    bought = ok(http.get(f"{API}/meters/{buyer_meter}/standing-fills", params={"traded": "true"}))
    assert [(f["period"], f["boughtWh"]) for f in bought["items"]] == [(first, IMPORT_WH)]
    problem(http.get(f"{API}/meters/{seller_meter}/standing-fills", params={"traded": "perhaps"}), 422, "InvalidRequest")


def test_refused_signatures_and_limits_get_their_4xx_and_nothing_is_sent(
    standing_api, api_system, standing_households, standing_meters, accounts, chain
):
    http, _ = standing_api
    (seller, buyer), (seller_meter, _) = standing_households, standing_meters
    relayer = accounts[9]
    sent = relayer.nonce

    body = signed_limits(http, seller_meter, buyer, sellPricePerKWh=SELL_PRICE)  # not the owner's key
    refused = problem(http.post(f"{API}/meters/{seller_meter}/standing-order", json=body), 403, "InvalidStandingOrderSignature")
    assert "not the meter owner's" in refused["message"] and refused["details"] == {"meter": seller_meter, "owner": seller.address}
    past = chain.pending_timestamp - 1
    body = signed_limits(http, seller_meter, seller, sellPricePerKWh=SELL_PRICE, deadline=past)
    expired = problem(http.post(f"{API}/meters/{seller_meter}/standing-order", json=body), 400, "StandingOrderSignatureExpired")
    assert expired["details"] == {"meter": seller_meter, "deadline": past} and "deadline has passed" in expired["message"]
    stranger = accounts.generate_test_account().address
    problem(http.post(f"{API}/meters/{stranger}/standing-order/typed-data", json={"sellPricePerKWh": 1}), 404, "MeterUnknown")
    problem(http.get(f"{API}/meters/{stranger}/standing-order"), 404, "MeterUnknown")
    problem(http.get(f"{API}/meters/{stranger}/standing-fills"), 404, "MeterUnknown")
    problem(http.get(f"{API}/meters/not-a-meter/standing-order"), 422, "InvalidAddress")
    problem(http.get(f"{API}/vault/0x1234"), 422, "InvalidAddress")
    too_high = {"sellPricePerKWh": 2**96}
    problem(http.post(f"{API}/meters/{seller_meter}/standing-order/typed-data", json=too_high), 422, "InvalidRequest")
    bad_signature = {"sellPricePerKWh": 1, "deadline": past, "signature": "0x12"}
    problem(http.post(f"{API}/meters/{seller_meter}/standing-order", json=bad_signature), 422, "InvalidSignature")
    # Limits the readings would never trade on (a sell price above the grid, a buy price below it): the
    # chain would take them without a word, so the API refuses them in the currency, with the grid's range.
    auction = api_system.energy_auction
    low, step = auction.minPrice(), auction.tickSize()
    high = low + (auction.tickCount() - 1) * step
    shown = {price: f"{format_money(price, 6, api_system.payment_token.symbol())}/kWh" for price in (low, high, step, 30 * high, low - 1)}
    for limits, words in (
        ({"sellPricePerKWh": 30 * high, "buyPricePerKWh": BUY_PRICE}, f"a sell price of {shown[30 * high]} is above the highest"),
        ({"buyPricePerKWh": low - 1}, f"a buy price of {shown[low - 1]} is below the lowest"),
    ):
        off = problem(http.post(f"{API}/meters/{seller_meter}/standing-order/typed-data", json=limits), 400, "PriceOffGrid")
        assert off["message"].startswith(f"The auction's prices run from {shown[low]} to {shown[high]} in steps of {shown[step]}: ")
        assert words in off["message"] and "base units" not in off["message"]
        assert off["details"]["priceGrid"] == {"minPricePerKWh": low, "tickSizePerKWh": step, "maxPricePerKWh": high}
    # A price between ticks is rounded to the owner's advantage: it trades, so it is taken.
    ok(http.post(f"{API}/meters/{seller_meter}/standing-order/typed-data", json={"sellPricePerKWh": low + step // 2}))
    # A market the vault does not know is refused before the wallet is asked.
    problem(http.post(f"{API}/vault/market-approval/typed-data", json={"account": seller.address, "market": stranger}), 400, "NotMarket")
    assert relayer.nonce == sent

    # Used once: a relayed signature replayed is refused (its nonce is spent).
    body = signed_limits(http, seller_meter, seller, sellPricePerKWh=SELL_PRICE)
    ok(http.post(f"{API}/meters/{seller_meter}/standing-order", json=body))
    problem(http.post(f"{API}/meters/{seller_meter}/standing-order", json=body), 403, "InvalidStandingOrderSignature")
    offer = ok(http.post(f"{API}/vault/market-approval/typed-data", json={"account": seller.address}))
    approval = {
        "account": seller.address,
        "market": offer["market"],
        "deadline": offer["deadline"],
        "signature": sign_typed(seller, offer["typedData"]),
    }
    ok(http.post(f"{API}/vault/market-approval", json=approval))
    problem(http.post(f"{API}/vault/market-approval", json=approval), 403, "InvalidApprovalSignature")
    assert relayer.nonce == sent + 2

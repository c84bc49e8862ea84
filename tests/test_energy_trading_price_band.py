"""EnergyTrading: the optional price band around PriceDiscovery's reference price.

Every custom error is asserted with all of its arguments and every market event with all of its
fields (`reverts` and `log` from support/helpers.py make ape's subset checks exhaustive); shared helpers
are in support/market_helpers.py, the market's fixtures in conftest.py.
"""

from __future__ import annotations

import pytest

from support.helpers import (
    DEFAULT_ADMIN_ROLE,
    ZERO_ADDRESS,
    log,
    reverts,
)
from support.market_helpers import (
    BUY,
    SELL,
    create,
    matched,
    reverts_from_reference,
)


@pytest.fixture(scope="module", autouse=True)
def _deployed_first(funded_market, keeper, fee_recipient, stranger, admin):
    """Deploy and fund the market, and name the accounts, before any test's own state (ape isolation)."""


# ----------------------------------------------------------------------------- price band (PriceDiscovery)

BAND_REGION = 7  # conftest ORACLE_REGION
BAND_BPS = 333
MAX_PRICE_BAND_BPS = 10_000
BAND_BASE = 250_001  # PriceOracle's answer: with every factor as reported below the reference is x1.04
BAND_REFERENCE = BAND_BASE * 104 // 100  # 260,001


@pytest.fixture(scope="module", autouse=True)
def _oracles_deployed_first(price_discovery, reporters):
    """Deploy the oracles and PriceDiscovery with the market, before any test's own state."""


@pytest.fixture
def oracle_feed(price_oracle, weather_oracle, grid_oracle, reporters, chain):
    """Reports data that makes PriceDiscovery's reference BAND_REFERENCE at local noon (UTC+01:00):
    D 9,000 (9 MW of 10 MW), S 10,000 (500 W/m²), T 10,000, G 13,500 (+0.35 Hz). Returns the time."""

    def report() -> int:
        ts = (chain.pending_timestamp // 86_400 + 1) * 86_400 + 11 * 3_600
        for reporter in reporters[:2]:  # two of three: a quorum
            # Every report in the same second: the ages the tests expect count from `ts` exactly.
            chain.pending_timestamp = ts
            price_oracle.submitPrice(BAND_BASE, sender=reporter)
            chain.pending_timestamp = ts
            weather_oracle.submitWeather(BAND_REGION, 500, 20_000, 0, 0, sender=reporter)
            chain.pending_timestamp = ts
            grid_oracle.submitGridData(BAND_REGION, 50_350, 1_000, 10_000_000, 9_000_000, sender=reporter)
        return ts

    return report


def band_bounds(reference: int, band_bps: int) -> tuple[int, int]:
    """reference x (1 - band) rounded up, reference x (1 + band) rounded down."""
    return -(-reference * (10_000 - band_bps) // 10_000), reference * (10_000 + band_bps) // 10_000


def test_the_price_band_is_off_by_default(m, seller, expiry):
    assert tuple(m.priceBand()) == (ZERO_ADDRESS, 0, 0)
    assert m.MAX_PRICE_BAND_BPS() == MAX_PRICE_BAND_BPS
    create(m, seller, 1_000, 1, SELL, expiry)  # any price: nothing is read


def test_set_price_band(m, admin, price_discovery):
    tx = m.setPriceBand(price_discovery, BAND_REGION, BAND_BPS, sender=admin)
    assert tx.events == [
        log(m.PriceBandUpdated, referencePrice=price_discovery.address, regionId=BAND_REGION, bandBps=BAND_BPS)
    ]
    assert tuple(m.priceBand()) == (price_discovery.address, BAND_REGION, BAND_BPS)
    with reverts(m.PriceBandOutOfRange, bandBps=MAX_PRICE_BAND_BPS + 1, maxBandBps=MAX_PRICE_BAND_BPS):
        m.setPriceBand(price_discovery, BAND_REGION, MAX_PRICE_BAND_BPS + 1, sender=admin)
    with reverts(m.PriceBandOutOfRange, bandBps=2**256 - 1, maxBandBps=MAX_PRICE_BAND_BPS):
        m.setPriceBand(price_discovery, BAND_REGION, 2**256 - 1, sender=admin)
    with reverts(m.InvalidReferencePrice, referencePrice=ZERO_ADDRESS):
        m.setPriceBand(ZERO_ADDRESS, BAND_REGION, 1, sender=admin)
    assert tuple(m.priceBand()) == (price_discovery.address, BAND_REGION, BAND_BPS)
    tx = m.setPriceBand(ZERO_ADDRESS, 0, 0, sender=admin)  # off needs no source
    assert tx.events == [log(m.PriceBandUpdated, referencePrice=ZERO_ADDRESS, regionId=0, bandBps=0)]
    m.setPriceBand(price_discovery, 2**32 - 1, MAX_PRICE_BAND_BPS, sender=admin)
    assert tuple(m.priceBand()) == (price_discovery.address, 2**32 - 1, MAX_PRICE_BAND_BPS)


def test_set_price_band_is_admin_only(m, stranger, price_discovery):
    with reverts(m.AccessControlUnauthorizedAccount, account=stranger.address, neededRole=DEFAULT_ADMIN_ROLE):
        m.setPriceBand(price_discovery, BAND_REGION, BAND_BPS, sender=stranger)


def test_orders_inside_the_band_are_accepted_at_both_bounds(m, admin, seller, buyer, price_discovery, oracle_feed):
    expiry = oracle_feed() + 3_600
    assert price_discovery.getReferencePrice(BAND_REGION) == BAND_REFERENCE
    m.setPriceBand(price_discovery, BAND_REGION, BAND_BPS, sender=admin)
    low, high = band_bounds(BAND_REFERENCE, BAND_BPS)
    assert (low, high) == (251_343, 268_659)  # 251,342.97 up, 268,659.03 down
    for price in (low, BAND_REFERENCE, high):
        for kind in (SELL, BUY):
            create(m, seller if kind == SELL else buyer, 1_000, price, kind, expiry)
    order_id = create(m, seller, 1_000, low, SELL, expiry, counterparty=buyer)
    assert m.getOrderInfo(order_id).price == low
    assert m.orderCount() == 7


@pytest.mark.parametrize("kind", [SELL, BUY], ids=["sell", "buy"])
def test_an_order_outside_the_band_is_rejected_naming_price_and_bounds(
    m, admin, seller, buyer, price_discovery, oracle_feed, wallets, kind
):
    ts = oracle_feed()
    m.setPriceBand(price_discovery, BAND_REGION, BAND_BPS, sender=admin)
    low, high = band_bounds(BAND_REFERENCE, BAND_BPS)
    trader = seller if kind == SELL else buyer
    before = wallets.read()
    for price in (low - 1, high + 1, 1):
        with reverts(m.PriceOutsideBand, pricePerKWh=price, minPricePerKWh=low, maxPricePerKWh=high):
            m.createOrder(1_000, price, ts + 3_600, kind, sender=trader)
        with reverts(m.PriceOutsideBand, pricePerKWh=price, minPricePerKWh=low, maxPricePerKWh=high):
            m.createDirectedOrder(1_000, price, ts + 3_600, kind, seller if trader == buyer else buyer, sender=trader)
    assert wallets.read() == before
    assert m.orderCount() == 0


def test_the_widest_band_spans_zero_to_twice_the_reference(m, admin, seller, price_discovery, oracle_feed):
    ts = oracle_feed()
    m.setPriceBand(price_discovery, BAND_REGION, MAX_PRICE_BAND_BPS, sender=admin)
    create(m, seller, 1_000, 1, SELL, ts + 3_600)
    create(m, seller, 1_000, 2 * BAND_REFERENCE, SELL, ts + 3_600)
    too_high = 2 * BAND_REFERENCE + 1
    with reverts(m.PriceOutsideBand, pricePerKWh=too_high, minPricePerKWh=0, maxPricePerKWh=2 * BAND_REFERENCE):
        m.createOrder(1_000, too_high, ts + 3_600, SELL, sender=seller)


def test_stale_oracle_data_stops_order_creation_with_price_discoverys_error(
    m, admin, seller, buyer, keeper, price_discovery, price_oracle, oracle_feed, chain
):
    ts = oracle_feed()
    m.setPriceBand(price_discovery, BAND_REGION, BAND_BPS, sender=admin)
    sell_id = create(m, seller, 1_000, BAND_REFERENCE, SELL, ts + 7_200, counterparty=buyer)
    buy_id = create(m, buyer, 1_000, BAND_REFERENCE, BUY, ts + 7_200)
    max_age = price_discovery.maxAge(0)
    chain.pending_timestamp = ts + max_age + 1  # every source is one second too old
    with reverts_from_reference(
        price_discovery.StaleOracleData,
        source=0,
        oracle=price_oracle.address,
        ageSeconds=max_age + 1,
        maxAgeSeconds=max_age,
    ):
        m.createOrder(1_000, BAND_REFERENCE, ts + 7_200, SELL, sender=seller)
    # Resting orders still trade: the band is checked only when an order is created.
    tx_id = matched(m, buy_id, sell_id, keeper)
    m.settleTransaction(tx_id, sender=keeper)
    # With the band off, no oracle is read.
    m.setPriceBand(price_discovery, BAND_REGION, 0, sender=admin)
    create(m, seller, 1_000, BAND_REFERENCE * 3, SELL, ts + 7_200)


def test_a_crossing_order_inside_the_band_trades_and_one_outside_moves_nothing(
    m, admin, seller, buyer, price_discovery, oracle_feed, wallets
):
    expiry = oracle_feed() + 3_600
    m.setPriceBand(price_discovery, BAND_REGION, BAND_BPS, sender=admin)
    low, high = band_bounds(BAND_REFERENCE, BAND_BPS)
    ask = create(m, seller, 1_000, low, SELL, expiry)
    before = wallets.read()
    with reverts(m.PriceOutsideBand, pricePerKWh=high + 1, minPricePerKWh=low, maxPricePerKWh=high):
        m.createOrder(1_000, high + 1, expiry, BUY, sender=buyer)  # would cross: rejected first
    assert wallets.read() == before
    tx = m.createOrder(1_000, high, expiry, BUY, sender=buyer)
    assert tx.events.filter(m.OrdersMatched) == [
        log(m.OrdersMatched, transactionId=1, buyOrderId=tx.return_value, sellOrderId=ask, amountWh=1_000, pricePerKWh=low)
    ]

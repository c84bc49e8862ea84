"""PriceDiscovery: the reference price formula over the oracles. Each factor's formula and edges
(clamps, caps, the hour table, the UTC offset), the price against a Python model of the formula,
and the Chainlink consumer checks on every source (missing, from the future, stale by chain time,
non-positive), plus the admin settings and their bounds.

Every custom error is asserted with all of its arguments and every event with all of its fields.
"""

from __future__ import annotations

from typing import Any

import pytest
from conftest import ORACLE_HEARTBEAT_SECONDS, ORACLE_REGION, UTC_OFFSET_MINUTES

from support.helpers import DEFAULT_ADMIN_ROLE, ZERO_ADDRESS, log, reverts, unexercised_abi_items
from support.oracle_helpers import (
    assert_deploy_reverts,
    creation_events,
    exercise_access_control,
    exercise_admin_only,
    mine_at,
)

PRICE, WEATHER, GRID = 0, 1, 2  # IPriceDiscovery.DataSource
MAX_AGE = ORACLE_HEARTBEAT_SECONDS
LONGEST_MAX_AGE = 7 * 86_400
MIN_UTC_OFFSET, MAX_UTC_OFFSET = -720, 840
MIN_TIME_FACTOR, MAX_TIME_FACTOR = 1_000, 30_000
DEFAULT_TIME_FACTORS = [8_000] * 7 + [10_000] * 10 + [13_000] * 4 + [10_000] * 3
REGION = ORACLE_REGION
HOUR, DAY = 3_600, 86_400
BASE = 250_000  # 0.25 MOCKUSD per kWh


def model_price(
    base: int, demand_w: int, supply_w: int, irradiance: int, wind_mm_s: int, frequency: int, voltage: int, time_factor: int
) -> dict[str, int]:
    """The formula as the seed and IPriceDiscovery state it, in integers, rounding as documented."""
    demand = 20_000 if supply_w == 0 else min(max(demand_w * 10_000 // supply_w, 5_000), 20_000)
    availability = min(max(irradiance * 10_000 // 1_000, wind_mm_s * 10_000 // 12_000), 10_000)
    supply = 12_500 - 5_000 * availability // 10_000
    stability = min(10_000 + 10 * abs(frequency - 50_000) + 100 * abs(voltage - 1_000), 20_000)
    weighted = 3_000 * demand + 3_000 * supply + 2_000 * time_factor + 2_000 * stability
    return {
        "pricePerKWh": base * weighted // 10**8,
        "demandFactorBps": demand,
        "supplyFactorBps": supply,
        "timeFactorBps": time_factor,
        "stabilityFactorBps": stability,
        "renewableAvailabilityBps": availability,
    }


@pytest.fixture(scope="module", autouse=True)
def _deployed_first(price_discovery, admin, other, stranger, reporters):
    """Deploy the oracles and PriceDiscovery, and name the accounts, before any test's own state."""


@pytest.fixture
def feed(price_oracle, weather_oracle, grid_oracle, reporters, chain):
    """Two of the three reporters (a quorum) report a base price, weather and grid state in the next
    blocks, all at `at` when given (else each block takes the clock's time)."""

    def report(
        base=BASE,
        irradiance=500,
        wind_mm_s=3_000,
        demand_w=9_000_000,
        supply_w=10_000_000,
        frequency=50_000,
        voltage=1_000,
        region=REGION,
        at=None,
    ):
        submissions = (
            lambda r: price_oracle.submitPrice(base, sender=r),
            lambda r: weather_oracle.submitWeather(region, irradiance, 15_000, wind_mm_s, 2_000, sender=r),
            lambda r: grid_oracle.submitGridData(region, frequency, voltage, supply_w, demand_w, sender=r),
        )
        for submit in submissions:
            for reporter in reporters[:2]:
                if at is not None:  # pinned: a wall-clock second passing between blocks moves nothing
                    chain.pending_timestamp = at
                submit(reporter)

    return report


def at_local_hour(chain: Any, hour: int, minute: int = 0, offset_minutes: int = UTC_OFFSET_MINUTES) -> int:
    """A timestamp at least a day ahead at which the local time is hour:minute."""
    utc_seconds = (hour * 60 + minute - offset_minutes) * 60 % DAY
    return (chain.pending_timestamp // DAY + 2) * DAY + utc_seconds


def reported_at(chain: Any, feed: Any, timestamp: int, **inputs: int) -> None:
    """Oracle data reported 10 s before `timestamp`, then a block mined at `timestamp`."""
    feed(at=timestamp - 10, **inputs)
    mine_at(chain, timestamp)


# ----------------------------------------------------------------------------- deployment


def test_constants_and_constructor(price_discovery, price_oracle, weather_oracle, grid_oracle, admin):
    assert price_discovery.SHORTEST_MAX_AGE_SECONDS() == 1
    assert price_discovery.LONGEST_MAX_AGE_SECONDS() == LONGEST_MAX_AGE
    assert price_discovery.MIN_UTC_OFFSET_MINUTES() == MIN_UTC_OFFSET
    assert price_discovery.MAX_UTC_OFFSET_MINUTES() == MAX_UTC_OFFSET
    assert price_discovery.MIN_TIME_FACTOR_BPS() == MIN_TIME_FACTOR
    assert price_discovery.MAX_TIME_FACTOR_BPS() == MAX_TIME_FACTOR
    assert price_discovery.DEFAULT_ADMIN_ROLE() == DEFAULT_ADMIN_ROLE
    assert price_discovery.priceFeed() == price_oracle.address
    assert price_discovery.weatherOracle() == weather_oracle.address
    assert price_discovery.gridOracle() == grid_oracle.address
    assert price_discovery.utcOffsetMinutes() == UTC_OFFSET_MINUTES
    assert [price_discovery.maxAge(s) for s in (PRICE, WEATHER, GRID)] == [MAX_AGE] * 3
    assert list(price_discovery.getTimeFactors()) == DEFAULT_TIME_FACTORS
    assert creation_events(price_discovery) == [
        log(price_discovery.RoleGranted, role=DEFAULT_ADMIN_ROLE, account=admin.address, sender=admin.address),
        log(price_discovery.UtcOffsetUpdated, previousMinutes=0, newMinutes=UTC_OFFSET_MINUTES),
        log(price_discovery.MaxAgeUpdated, source=PRICE, previousSeconds=0, newSeconds=MAX_AGE),
        log(price_discovery.MaxAgeUpdated, source=WEATHER, previousSeconds=0, newSeconds=MAX_AGE),
        log(price_discovery.MaxAgeUpdated, source=GRID, previousSeconds=0, newSeconds=MAX_AGE),
        log(price_discovery.TimeFactorsUpdated, factorsBps=DEFAULT_TIME_FACTORS),
    ]


def test_constructor_rejects_bad_arguments(project, admin, price_oracle, weather_oracle, grid_oracle):
    container = project.PriceDiscovery
    good = [admin, price_oracle, weather_oracle, grid_oracle, 0, MAX_AGE, MAX_AGE, MAX_AGE]

    def with_(index, value):
        args = list(good)
        args[index] = value
        return tuple(args)

    for index in range(4):
        assert_deploy_reverts(container, admin, with_(index, ZERO_ADDRESS), container.ZeroAddress)
    for offset in (MIN_UTC_OFFSET - 1, MAX_UTC_OFFSET + 1):
        assert_deploy_reverts(
            container, admin, with_(4, offset), container.UtcOffsetOutOfRange, offset, MIN_UTC_OFFSET, MAX_UTC_OFFSET
        )
    for index in (5, 6, 7):
        for age in (0, LONGEST_MAX_AGE + 1):
            assert_deploy_reverts(
                container, admin, with_(index, age), container.MaxAgeOutOfRange, age, 1, LONGEST_MAX_AGE
            )
    edge = project.PriceDiscovery.deploy(
        admin, price_oracle, weather_oracle, grid_oracle, MIN_UTC_OFFSET, 1, LONGEST_MAX_AGE, 1, sender=admin
    )
    assert edge.utcOffsetMinutes() == MIN_UTC_OFFSET
    assert [edge.maxAge(s) for s in (PRICE, WEATHER, GRID)] == [1, LONGEST_MAX_AGE, 1]



# ----------------------------------------------------------------------------- the price


def test_reference_price_and_factors_follow_the_formula(price_discovery, feed, chain):
    ts = at_local_hour(chain, 18, 30)  # evening peak: 13,000 bps
    reported_at(
        chain,
        feed,
        ts,
        irradiance=200,
        wind_mm_s=6_000,
        demand_w=9_000_000,
        supply_w=10_000_000,
        frequency=50_020,
        voltage=1_003,
    )
    expected = model_price(BASE, 9_000_000, 10_000_000, 200, 6_000, 50_020, 1_003, 13_000)
    # D = 9,000; a = max(2,000, 5,000) = 5,000 so S = 10,000; T = 13,000; G = 10,000 + 200 + 300 = 10,500.
    assert expected == {
        "pricePerKWh": BASE * (3_000 * 9_000 + 3_000 * 10_000 + 2_000 * 13_000 + 2_000 * 10_500) // 10**8,
        "demandFactorBps": 9_000,
        "supplyFactorBps": 10_000,
        "timeFactorBps": 13_000,
        "stabilityFactorBps": 10_500,
        "renewableAvailabilityBps": 5_000,
    }
    factors = price_discovery.getPriceFactors(REGION)
    assert dict(factors.items()) == expected | {
        "basePricePerKWh": BASE,
        "demandW": 9_000_000,
        "supplyW": 10_000_000,
        "frequencyMilliHz": 50_020,
        "voltagePerMille": 1_003,
        "irradianceWPerM2": 200,
        "windSpeedMmPerS": 6_000,
        "localHour": 18,
        "basePriceUpdatedAt": ts - 10,
        "weatherUpdatedAt": ts - 10,
        "gridUpdatedAt": ts - 10,
    }
    assert price_discovery.getReferencePrice(REGION) == expected["pricePerKWh"] == 260_000  # x1.04


def test_all_factors_at_one_give_the_base_price(price_discovery, feed, chain):
    ts = at_local_hour(chain, 10)  # day: 10,000 bps
    # a = 5,000 (500 W/m²) so S = 10,000; demand = supply; nominal frequency and voltage.
    reported_at(chain, feed, ts, irradiance=500, wind_mm_s=0, demand_w=7_000_000, supply_w=7_000_000)
    factors = price_discovery.getPriceFactors(REGION)
    assert (factors.demandFactorBps, factors.supplyFactorBps, factors.timeFactorBps, factors.stabilityFactorBps) == (
        10_000,
        10_000,
        10_000,
        10_000,
    )
    assert price_discovery.getReferencePrice(REGION) == BASE


@pytest.mark.parametrize(
    ("demand_w", "supply_w", "factor"),
    [
        (9_000_000, 0, 20_000),  # nothing supplied
        (0, 0, 20_000),
        (0, 10_000_000, 5_000),  # no demand: clamped up
        (4_000_000, 10_000_000, 5_000),  # 0.4: clamped up
        (5_000_000, 10_000_000, 5_000),  # 0.5 exactly
        (2, 3, 6_666),  # rounded down
        (15_000_000, 10_000_000, 15_000),
        (20_000_000, 10_000_000, 20_000),  # 2.0 exactly
        (25_000_000, 10_000_000, 20_000),  # 2.5: clamped down
        (2**47 - 1, 1, 20_000),  # the largest ratio the oracle can hold
    ],
    ids=["supply-0", "both-0", "demand-0", "0.4", "0.5", "2/3", "1.5", "2.0", "2.5", "max"],
)
def test_demand_factor_edges(price_discovery, feed, chain, demand_w, supply_w, factor):
    ts = at_local_hour(chain, 12)
    reported_at(chain, feed, ts, demand_w=demand_w, supply_w=supply_w)
    factors = price_discovery.getPriceFactors(REGION)
    assert factors.demandFactorBps == factor
    assert (
        factors.pricePerKWh == model_price(BASE, demand_w, supply_w, 500, 3_000, 50_000, 1_000, 10_000)["pricePerKWh"]
    )


@pytest.mark.parametrize(
    ("irradiance", "wind_mm_s", "availability", "factor"),
    [
        (0, 0, 0, 12_500),  # dark and calm
        (0, 1, 0, 12_500),  # 0.83 bps rounds down
        (0, 2, 1, 12_500),  # 5,000 x 1 / 10,000 rounds down
        (1, 0, 10, 12_495),
        (200, 6_000, 5_000, 10_000),  # the windier of the two counts
        (700, 6_000, 7_000, 9_000),  # the sunnier of the two counts
        (1_000, 0, 10_000, 7_500),  # full sun
        (1_500, 0, 10_000, 7_500),  # capped
        (0, 12_000, 10_000, 7_500),  # rated wind
        (0, 100_000, 10_000, 7_500),  # capped
    ],
    ids=[
        "dark-calm",
        "breath",
        "a=1",
        "a=10",
        "wind-wins",
        "sun-wins",
        "full-sun",
        "sun-capped",
        "rated-wind",
        "storm",
    ],
)
def test_supply_factor_edges(price_discovery, feed, chain, irradiance, wind_mm_s, availability, factor):
    ts = at_local_hour(chain, 12)
    reported_at(chain, feed, ts, irradiance=irradiance, wind_mm_s=wind_mm_s)
    factors = price_discovery.getPriceFactors(REGION)
    assert (factors.renewableAvailabilityBps, factors.supplyFactorBps) == (availability, factor)
    assert (
        factors.pricePerKWh
        == model_price(BASE, 9_000_000, 10_000_000, irradiance, wind_mm_s, 50_000, 1_000, 10_000)["pricePerKWh"]
    )


@pytest.mark.parametrize(
    ("frequency", "voltage", "factor"),
    [
        (50_000, 1_000, 10_000),
        (50_100, 1_000, 11_000),  # +0.1 Hz
        (49_900, 1_000, 11_000),  # -0.1 Hz
        (50_000, 1_010, 11_000),  # +1 %
        (50_000, 990, 11_000),  # -1 %
        (50_050, 995, 11_000),  # both add up
        (51_000, 1_000, 20_000),  # 1 Hz: exactly the cap
        (45_000, 1_000, 20_000),  # capped
        (50_000, 1_500, 20_000),  # capped
        (65_000, 500, 20_000),  # both far out: capped once
    ],
    ids=["nominal", "+0.1Hz", "-0.1Hz", "+1%", "-1%", "both", "1Hz", "45Hz", "150%", "worst"],
)
def test_stability_factor_edges(price_discovery, feed, chain, frequency, voltage, factor):
    ts = at_local_hour(chain, 12)
    reported_at(chain, feed, ts, frequency=frequency, voltage=voltage)
    factors = price_discovery.getPriceFactors(REGION)
    assert factors.stabilityFactorBps == factor
    assert (
        factors.pricePerKWh
        == model_price(BASE, 9_000_000, 10_000_000, 500, 3_000, frequency, voltage, 10_000)["pricePerKWh"]
    )


@pytest.mark.parametrize(
    ("hour", "minute", "factor"),
    [
        (0, 0, 8_000),
        (6, 59, 8_000),
        (7, 0, 10_000),
        (16, 59, 10_000),
        (17, 0, 13_000),
        (20, 59, 13_000),
        (21, 0, 10_000),
        (23, 59, 10_000),
    ],
)
def test_time_factor_follows_the_local_hour(price_discovery, feed, chain, hour, minute, factor):
    ts = at_local_hour(chain, hour, minute)
    reported_at(chain, feed, ts)
    factors = price_discovery.getPriceFactors(REGION)
    assert (factors.localHour, factors.timeFactorBps) == (hour, factor)
    # The UTC hour is one earlier (UTC+01:00).
    assert (ts % DAY) // HOUR == (hour - 1) % 24


@pytest.mark.parametrize(
    ("offset", "utc_hour", "utc_minute", "local_hour"),
    [
        (0, 23, 59, 23),
        (-300, 4, 59, 23),  # UTC-05:00: the evening before
        (-300, 5, 0, 0),
        (330, 11, 29, 16),  # UTC+05:30
        (330, 11, 30, 17),
        (MIN_UTC_OFFSET, 11, 59, 23),
        (MAX_UTC_OFFSET, 10, 0, 0),  # UTC+14:00: the next day already
    ],
    ids=["utc", "utc-5-evening", "utc-5-midnight", "utc+5:30-before", "utc+5:30", "utc-12", "utc+14"],
)
def test_utc_offset_shifts_the_local_hour(
    price_discovery, feed, admin, chain, offset, utc_hour, utc_minute, local_hour
):
    tx = price_discovery.setUtcOffset(offset, sender=admin)
    assert tx.events == [log(price_discovery.UtcOffsetUpdated, previousMinutes=UTC_OFFSET_MINUTES, newMinutes=offset)]
    assert price_discovery.utcOffsetMinutes() == offset
    ts = (chain.pending_timestamp // DAY + 2) * DAY + utc_hour * HOUR + utc_minute * 60
    reported_at(chain, feed, ts)
    factors = price_discovery.getPriceFactors(REGION)
    assert (factors.localHour, factors.timeFactorBps) == (local_hour, DEFAULT_TIME_FACTORS[local_hour])


def test_set_time_factors(price_discovery, feed, admin, chain):
    table = [MIN_TIME_FACTOR + 1_000 * h for h in range(24)]
    table[23] = MAX_TIME_FACTOR
    tx = price_discovery.setTimeFactors(table, sender=admin)
    assert tx.events == [log(price_discovery.TimeFactorsUpdated, factorsBps=table)]
    assert list(price_discovery.getTimeFactors()) == table
    for hour in (3, 23):
        ts = at_local_hour(chain, hour)
        reported_at(chain, feed, ts)
        factors = price_discovery.getPriceFactors(REGION)
        assert factors.timeFactorBps == table[hour]
        assert (
            factors.pricePerKWh
            == model_price(BASE, 9_000_000, 10_000_000, 500, 3_000, 50_000, 1_000, table[hour])["pricePerKWh"]
        )


@pytest.mark.parametrize(
    ("hour", "value"),
    [(0, MIN_TIME_FACTOR - 1), (5, 0), (23, MAX_TIME_FACTOR + 1), (12, 2**256 - 1)],
)
def test_set_time_factors_rejects_a_factor_out_of_range(price_discovery, admin, hour, value):
    table = list(DEFAULT_TIME_FACTORS)
    table[hour] = value
    with reverts(
        price_discovery.TimeFactorOutOfRange, hour=hour, factorBps=value, minBps=MIN_TIME_FACTOR, maxBps=MAX_TIME_FACTOR
    ):
        price_discovery.setTimeFactors(table, sender=admin)
    assert list(price_discovery.getTimeFactors()) == DEFAULT_TIME_FACTORS


def test_set_utc_offset_bounds(price_discovery, admin):
    for offset in (MIN_UTC_OFFSET - 1, MAX_UTC_OFFSET + 1, -(2**255)):
        with reverts(
            price_discovery.UtcOffsetOutOfRange,
            utcOffsetMinutes=offset,
            minMinutes=MIN_UTC_OFFSET,
            maxMinutes=MAX_UTC_OFFSET,
        ):
            price_discovery.setUtcOffset(offset, sender=admin)
    assert price_discovery.utcOffsetMinutes() == UTC_OFFSET_MINUTES


def test_the_largest_base_price_does_not_overflow(price_discovery, price_oracle, feed, chain):
    max_answer = price_oracle.MAX_ANSWER()
    ts = at_local_hour(chain, 18)
    # Every factor at its highest: D 20,000, S 12,500, T 13,000, G 20,000.
    reported_at(chain, feed, ts, base=max_answer, irradiance=0, wind_mm_s=0, supply_w=0, frequency=45_000)
    expected = model_price(max_answer, 9_000_000, 0, 0, 0, 45_000, 1_000, 13_000)["pricePerKWh"]
    assert price_discovery.getReferencePrice(REGION) == expected > max_answer


# ----------------------------------------------------------------------------- consumer checks


def test_missing_data_is_refused_naming_the_oracle(
    price_discovery, price_oracle, weather_oracle, grid_oracle, reporters
):
    with reverts(price_discovery.MissingOracleData, source=PRICE, oracle=price_oracle.address):
        price_discovery.getReferencePrice(REGION)
    price_oracle.submitPrice(BASE, sender=reporters[0])
    # One report of three is no quorum: still missing.
    with reverts(price_discovery.MissingOracleData, source=PRICE, oracle=price_oracle.address):
        price_discovery.getReferencePrice(REGION)
    price_oracle.submitPrice(BASE, sender=reporters[1])
    with reverts(price_discovery.MissingOracleData, source=WEATHER, oracle=weather_oracle.address):
        price_discovery.getReferencePrice(REGION)
    for reporter in reporters[:2]:
        weather_oracle.submitWeather(REGION, 500, 0, 0, 0, sender=reporter)
    with reverts(price_discovery.MissingOracleData, source=GRID, oracle=grid_oracle.address):
        price_discovery.getPriceFactors(REGION)
    for reporter in reporters[:2]:
        grid_oracle.submitGridData(REGION + 1, 50_000, 1_000, 1, 1, sender=reporter)  # another region's
    with reverts(price_discovery.MissingOracleData, source=GRID, oracle=grid_oracle.address):
        price_discovery.getReferencePrice(REGION)
    for reporter in reporters[:2]:
        grid_oracle.submitGridData(REGION, 50_000, 1_000, 1, 1, sender=reporter)
    assert price_discovery.getReferencePrice(REGION) > 0


@pytest.mark.parametrize("source", [PRICE, WEATHER, GRID], ids=["price", "weather", "grid"])
def test_stale_data_is_refused_naming_the_oracle_and_its_age(
    price_discovery, price_oracle, weather_oracle, grid_oracle, feed, admin, reporters, chain, source
):
    oracle = (price_oracle, weather_oracle, grid_oracle)[source]
    price_discovery.setMaxAge(source, 600, sender=admin)
    t0 = at_local_hour(chain, 12)
    reported_at(chain, feed, t0)  # reported at t0 - 10
    # Refresh the other two sources at t0 + 590 (a quorum of two reporters each) so only `source` ages.
    for reporter in reporters[:2]:
        if source != PRICE:
            chain.pending_timestamp = t0 + 590
            price_oracle.submitPrice(BASE, sender=reporter)
        if source != WEATHER:
            chain.pending_timestamp = t0 + 590
            weather_oracle.submitWeather(REGION, 500, 15_000, 3_000, 2_000, sender=reporter)
        if source != GRID:
            chain.pending_timestamp = t0 + 590
            grid_oracle.submitGridData(REGION, 50_000, 1_000, 10_000_000, 9_000_000, sender=reporter)
    mine_at(chain, t0 + 590)  # exactly 600 s old: still accepted
    assert price_discovery.getReferencePrice(REGION) > 0
    mine_at(chain, t0 + 591)
    with reverts(
        price_discovery.StaleOracleData, source=source, oracle=oracle.address, ageSeconds=601, maxAgeSeconds=600
    ):
        price_discovery.getReferencePrice(REGION)
    with reverts(
        price_discovery.StaleOracleData, source=source, oracle=oracle.address, ageSeconds=601, maxAgeSeconds=600
    ):
        price_discovery.getPriceFactors(REGION)
    # A longer max age accepts it again.
    tx = price_discovery.setMaxAge(source, 700, sender=admin)
    assert tx.events == [log(price_discovery.MaxAgeUpdated, source=source, previousSeconds=600, newSeconds=700)]
    assert price_discovery.maxAge(source) == 700
    assert price_discovery.getReferencePrice(REGION) > 0


def test_regional_data_without_the_quorum_its_oracle_asks_now_is_refused(
    price_discovery, weather_oracle, grid_oracle, feed, admin, reporters, chain
):
    reported_at(chain, feed, at_local_hour(chain, 12))  # two reports each
    assert price_discovery.getReferencePrice(REGION) > 0
    weather_oracle.setMinQuorum(3, sender=admin)
    with reverts(
        price_discovery.OracleDataWithoutQuorum, source=WEATHER, oracle=weather_oracle.address, reportCount=2, quorum=3
    ):
        price_discovery.getReferencePrice(REGION)
    weather_oracle.submitWeather(REGION, 500, 15_000, 3_000, 2_000, sender=reporters[2])  # the third joins the round
    grid_oracle.setMinQuorum(3, sender=admin)
    with reverts(price_discovery.OracleDataWithoutQuorum, source=GRID, oracle=grid_oracle.address, reportCount=2, quorum=3):
        price_discovery.getPriceFactors(REGION)


def test_a_mock_feed_covers_what_price_oracle_never_answers(project, admin, weather_oracle, grid_oracle, feed, chain):
    """A Chainlink feed may answer zero, a negative price or a timestamp after the block."""
    mock = project.MockPriceFeed.deploy(sender=admin)
    discovery = project.PriceDiscovery.deploy(
        admin, mock, weather_oracle, grid_oracle, 0, MAX_AGE, MAX_AGE, MAX_AGE, sender=admin
    )
    ts = at_local_hour(chain, 12)
    reported_at(chain, feed, ts)
    with reverts(discovery.MissingOracleData, source=PRICE, oracle=mock.address):
        discovery.getReferencePrice(REGION)
    for answer in (0, -1):
        mock.setLatestRound(answer, ts, sender=admin)
        mine_at(chain, ts + 1)
        ts += 1
        with reverts(discovery.NonPositiveBasePrice, oracle=mock.address, answer=answer):
            discovery.getReferencePrice(REGION)
    for answer in (2**127, 2**255 - 1):  # above PriceOracle's bound, where base x factors could overflow
        mock.setLatestRound(answer, ts, sender=admin)
        mine_at(chain, ts + 1)
        ts += 1
        with reverts(discovery.BasePriceTooLarge, oracle=mock.address, answer=answer, maxAnswer=2**127 - 1):
            discovery.getReferencePrice(REGION)
    assert discovery.MAX_BASE_PRICE_PER_KWH() == 2**127 - 1
    mock.setLatestRound(BASE, ts + 1_000, sender=admin)
    mine_at(chain, ts + 1)
    with reverts(
        discovery.OracleDataFromFuture, source=PRICE, oracle=mock.address, updatedAt=ts + 1_000, blockTimestamp=ts + 1
    ):
        discovery.getReferencePrice(REGION)
    mock.setLatestRound(BASE, ts + 1, sender=admin)
    mine_at(chain, ts + 2)
    assert (
        discovery.getReferencePrice(REGION)
        == model_price(BASE, 9_000_000, 10_000_000, 500, 3_000, 50_000, 1_000, 10_000)["pricePerKWh"]
    )


def test_set_max_age_bounds_and_unknown_sources(price_discovery, admin):
    for source in (PRICE, WEATHER, GRID):
        for age in (0, LONGEST_MAX_AGE + 1):
            with reverts(price_discovery.MaxAgeOutOfRange, maxAgeSeconds=age, minSeconds=1, maxSeconds=LONGEST_MAX_AGE):
                price_discovery.setMaxAge(source, age, sender=admin)
        tx = price_discovery.setMaxAge(source, LONGEST_MAX_AGE, sender=admin)
        assert tx.events == [
            log(price_discovery.MaxAgeUpdated, source=source, previousSeconds=MAX_AGE, newSeconds=LONGEST_MAX_AGE)
        ]
    assert [price_discovery.maxAge(s) for s in (PRICE, WEATHER, GRID)] == [LONGEST_MAX_AGE] * 3
    for source in (3, 255):
        with reverts(price_discovery.UnknownDataSource, source=source):
            price_discovery.setMaxAge(source, 60, sender=admin)
        with reverts(price_discovery.UnknownDataSource, source=source):
            price_discovery.maxAge(source)


# ----------------------------------------------------------------------------- roles


def test_access_control(price_discovery, admin, other, stranger):
    exercise_access_control(price_discovery, admin, other, stranger)


def test_role_restricted_functions_reject_stranger(price_discovery, stranger):
    exercise_admin_only(
        price_discovery,
        stranger,
        [
            lambda d, s: d.setTimeFactors(DEFAULT_TIME_FACTORS, sender=s),
            lambda d, s: d.setUtcOffset(0, sender=s),
            lambda d, s: d.setMaxAge(PRICE, 60, sender=s),
            lambda d, s: d.grantRole(DEFAULT_ADMIN_ROLE, s, sender=s),
        ],
    )


def test_every_function_event_and_error_is_exercised(price_discovery):
    """PriceDiscovery's ABI, item by item, is named in this module or in the shared oracle helpers."""
    kinds = ("function", "event", "error")
    exempt = {"RoleAdminChanged"}  # no role admin is ever changed
    assert unexercised_abi_items("PriceDiscovery", ["test_price_discovery.py", "support/oracle_helpers.py"], kinds, exempt) == []

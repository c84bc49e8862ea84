"""WeatherOracle: weather per region from the reporter set, the per-field median of a round's
fresh reports once two of the three reporters report, physical bounds on every field, and the reporter set and access control it shares with
the other oracles (support/oracle_helpers.py).

Every custom error is asserted with all of its arguments and every event with all of its fields.
"""

from __future__ import annotations

import pytest
from conftest import ORACLE_HEARTBEAT_SECONDS, ORACLE_REGION

from support.helpers import DEFAULT_ADMIN_ROLE, ZERO_ADDRESS, log, reverts, unexercised_abi_items
from support.oracle_helpers import (
    MAX_HEARTBEAT_SECONDS,
    MAX_REPORTERS,
    REPORTER_ADMIN_CALLS,
    assert_deploy_reverts,
    creation_events,
    exercise_access_control,
    exercise_admin_only,
    exercise_quorum,
    exercise_reporter_set,
)

HEARTBEAT = ORACLE_HEARTBEAT_SECONDS
REGION = ORACLE_REGION
MAX_IRRADIANCE = 1_500
MIN_TEMPERATURE, MAX_TEMPERATURE = -90_000, 60_000
MAX_WIND = 100_000
MAX_CLOUD = 10_000
FIELDS = ("irradianceWPerM2", "temperatureMilliCelsius", "windSpeedMmPerS", "cloudCoverBps")
SUNNY = (800, 21_500, 4_000, 1_000)  # 800 W/m², 21.5 °C, 4 m/s, 10 % cloud


@pytest.fixture(scope="module", autouse=True)
def _deployed_first(weather_oracle, admin, other, stranger):
    """Deploy the oracle, and name the accounts, before any test's own state (ape isolation)."""


def submit(oracle, reporter, values, region=REGION):
    return oracle.submitWeather(region, *values, sender=reporter)


def assert_submitted(oracle, tx, reporter, values, medians=None, report_count=None, region=REGION) -> None:
    """`tx` emitted the report and, when `medians` are given, the region's new medians, and nothing else."""
    events = [
        log(oracle.WeatherReported, regionId=region, reporter=reporter.address, **dict(zip(FIELDS, values, strict=True)))
    ]
    if medians is not None:
        events.append(
            log(oracle.WeatherUpdated, regionId=region, reportCount=report_count, **dict(zip(FIELDS, medians, strict=True)))
        )
    assert tx.events == events


def weather(oracle, region=REGION) -> tuple:
    return tuple(oracle.getWeather(region))


# ----------------------------------------------------------------------------- deployment


def test_constants_and_constructor(weather_oracle, admin, reporters):
    assert weather_oracle.MAX_IRRADIANCE_W_PER_M2() == MAX_IRRADIANCE
    assert weather_oracle.MIN_TEMPERATURE_MILLI_CELSIUS() == MIN_TEMPERATURE
    assert weather_oracle.MAX_TEMPERATURE_MILLI_CELSIUS() == MAX_TEMPERATURE
    assert weather_oracle.MAX_WIND_SPEED_MM_PER_S() == MAX_WIND
    assert weather_oracle.MAX_CLOUD_COVER_BPS() == MAX_CLOUD
    assert weather_oracle.DEFAULT_ADMIN_ROLE() == DEFAULT_ADMIN_ROLE
    assert weather_oracle.heartbeat() == HEARTBEAT
    assert weather_oracle.getReporters() == [r.address for r in reporters]
    assert creation_events(weather_oracle) == [
        log(weather_oracle.RoleGranted, role=DEFAULT_ADMIN_ROLE, account=admin.address, sender=admin.address),
        log(weather_oracle.HeartbeatUpdated, previousSeconds=0, newSeconds=HEARTBEAT),
        log(weather_oracle.MinQuorumUpdated, previousReports=0, newReports=0),
    ]


def test_constructor_rejects_bad_arguments(project, admin):
    container = project.WeatherOracle
    assert_deploy_reverts(container, admin, (ZERO_ADDRESS, HEARTBEAT, 0), container.ZeroAddress)
    for bad in (0, MAX_HEARTBEAT_SECONDS + 1):
        assert_deploy_reverts(
            container, admin, (admin, bad, 0), container.HeartbeatOutOfRange, bad, 1, MAX_HEARTBEAT_SECONDS
        )
    assert_deploy_reverts(
        container, admin, (admin, HEARTBEAT, MAX_REPORTERS + 1), container.MinQuorumOutOfRange, MAX_REPORTERS + 1, MAX_REPORTERS
    )



# ----------------------------------------------------------------------------- reports and medians


def test_an_unreported_region_reads_all_zeros(weather_oracle):
    assert weather(weather_oracle) == (0, 0, 0, 0, 0, 0)
    assert weather(weather_oracle, 2**32 - 1) == (0, 0, 0, 0, 0, 0)


def test_a_regions_first_weather_needs_two_of_the_three_reporters(weather_oracle, reporters):
    tx = submit(weather_oracle, reporters[0], SUNNY)
    assert_submitted(weather_oracle, tx, reporters[0], SUNNY)
    assert weather(weather_oracle) == (0, 0, 0, 0, 0, 0)
    with reverts(weather_oracle.AlreadyReported, reporter=reporters[0].address, roundId=1):
        submit(weather_oracle, reporters[0], SUNNY)
    tx = submit(weather_oracle, reporters[1], SUNNY)
    assert_submitted(weather_oracle, tx, reporters[1], SUNNY, SUNNY, 2)
    assert weather(weather_oracle) == (*SUNNY, 2, tx.timestamp)
    assert weather(weather_oracle, REGION + 1) == (0, 0, 0, 0, 0, 0)  # regions are separate


def test_each_field_is_the_median_of_its_own_column(weather_oracle, reporters, chain):
    """The medians come from different reporters: no single report is the answer."""
    reports = [
        (100, -5_000, 3_000, 1_000),
        (900, 20_000, 9_000, 9_000),
        (500, 10_000, 50_000, 5_000),  # an outlier gust
    ]
    for reporter, values in zip(reporters[:2], reports[:2], strict=True):
        submit(weather_oracle, reporter, values)
    ts = chain.pending_timestamp
    chain.pending_timestamp = ts
    tx = submit(weather_oracle, reporters[2], reports[2])
    medians = (500, 10_000, 9_000, 5_000)
    assert_submitted(weather_oracle, tx, reporters[2], reports[2], medians, 3)
    assert weather(weather_oracle) == (*medians, 3, ts)


def test_an_even_count_rounds_each_mean_toward_zero(weather_oracle, reporters):
    submit(weather_oracle, reporters[0], (101, -5_001, 7, 1))
    tx = submit(weather_oracle, reporters[1], (100, -5_000, 8, 2))
    # 100.5 -> 100; -5,000.5 -> -5,000 (toward zero, not down); 7.5 -> 7; 1.5 -> 1.
    assert_submitted(weather_oracle, tx, reporters[1], (100, -5_000, 8, 2), (100, -5_000, 7, 1), 2)


def test_reports_count_only_in_their_own_region(weather_oracle, reporters):
    submit(weather_oracle, reporters[0], (100, 0, 0, 0), region=REGION)
    tx = submit(weather_oracle, reporters[1], (300, 1_000, 2_000, 3_000), region=REGION + 1)
    # One report in each region: no quorum in either.
    assert_submitted(weather_oracle, tx, reporters[1], (300, 1_000, 2_000, 3_000), region=REGION + 1)
    tx = submit(weather_oracle, reporters[1], (100, 0, 0, 0), region=REGION)
    assert_submitted(weather_oracle, tx, reporters[1], (100, 0, 0, 0), (100, 0, 0, 0), 2)
    assert weather(weather_oracle, REGION + 1) == (0, 0, 0, 0, 0, 0)


def test_a_stale_report_drops_out_after_the_heartbeat(weather_oracle, reporters, chain):
    t0 = chain.pending_timestamp
    chain.pending_timestamp = t0
    submit(weather_oracle, reporters[0], (1_000, 30_000, 10_000, 0))
    chain.pending_timestamp = t0 + 5
    submit(weather_oracle, reporters[1], (200, 10_000, 2_000, 8_000))
    chain.pending_timestamp = t0 + HEARTBEAT  # reporters[0]'s report is exactly one heartbeat old: fresh
    tx = submit(weather_oracle, reporters[2], (400, 20_000, 4_000, 6_000))
    assert_submitted(weather_oracle, tx, reporters[2], (400, 20_000, 4_000, 6_000), (400, 20_000, 4_000, 6_000), 3)
    chain.pending_timestamp = t0 + HEARTBEAT + 1
    tx = submit(weather_oracle, reporters[0], (600, 20_000, 4_000, 6_000))  # round 2 opens
    assert_submitted(weather_oracle, tx, reporters[0], (600, 20_000, 4_000, 6_000))
    t1 = t0 + 2 * HEARTBEAT + 2  # reporters[0]'s waiting report is stale: it no longer counts
    chain.pending_timestamp = t1
    tx = submit(weather_oracle, reporters[1], (200, 10_000, 2_000, 8_000))
    assert_submitted(weather_oracle, tx, reporters[1], (200, 10_000, 2_000, 8_000))
    chain.pending_timestamp = t1
    tx = submit(weather_oracle, reporters[2], (400, 20_000, 4_000, 6_000))
    assert_submitted(weather_oracle, tx, reporters[2], (400, 20_000, 4_000, 6_000), (400, 20_000, 4_000, 6_000), 2)
    assert weather(weather_oracle) == (400, 20_000, 4_000, 6_000, 2, t1)


def test_a_readded_reporter_starts_over(weather_oracle, admin, reporters, chain):
    submit(weather_oracle, reporters[0], (100, 0, 0, 0))
    weather_oracle.removeReporter(reporters[0], sender=admin)
    chain.pending_timestamp += 10
    weather_oracle.addReporter(reporters[0], sender=admin)
    tx = submit(weather_oracle, reporters[1], (300, 0, 0, 0))  # reporters[0]'s report predates its return
    assert_submitted(weather_oracle, tx, reporters[1], (300, 0, 0, 0))
    tx = submit(weather_oracle, reporters[0], (100, 0, 0, 0))  # its report in round 1 starts over
    assert_submitted(weather_oracle, tx, reporters[0], (100, 0, 0, 0), (200, 0, 0, 0), 2)


def test_the_bounds_are_inclusive(weather_oracle, reporters):
    edge = (MAX_IRRADIANCE, MIN_TEMPERATURE, MAX_WIND, MAX_CLOUD)
    submit(weather_oracle, reporters[0], edge)
    tx = submit(weather_oracle, reporters[1], edge)
    assert_submitted(weather_oracle, tx, reporters[1], edge, edge, 2)
    other_edge = (0, MAX_TEMPERATURE, 0, 0)
    submit(weather_oracle, reporters[0], other_edge, region=2**32 - 1)
    tx = submit(weather_oracle, reporters[1], other_edge, region=2**32 - 1)
    assert_submitted(weather_oracle, tx, reporters[1], other_edge, other_edge, 2, 2**32 - 1)
    assert weather(weather_oracle)[:5] == (*edge, 2)


@pytest.mark.parametrize(
    ("values", "error", "fields"),
    [
        ((1_501, 0, 0, 0), lambda o: o.IrradianceOutOfRange, {"irradianceWPerM2": 1_501, "maxWPerM2": MAX_IRRADIANCE}),
        (
            (2**256 - 1, 0, 0, 0),
            lambda o: o.IrradianceOutOfRange,
            {"irradianceWPerM2": 2**256 - 1, "maxWPerM2": MAX_IRRADIANCE},
        ),
        (
            (0, -90_001, 0, 0),
            lambda o: o.TemperatureOutOfRange,
            {
                "temperatureMilliCelsius": -90_001,
                "minMilliCelsius": MIN_TEMPERATURE,
                "maxMilliCelsius": MAX_TEMPERATURE,
            },
        ),
        (
            (0, 60_001, 0, 0),
            lambda o: o.TemperatureOutOfRange,
            {"temperatureMilliCelsius": 60_001, "minMilliCelsius": MIN_TEMPERATURE, "maxMilliCelsius": MAX_TEMPERATURE},
        ),
        ((0, 0, 100_001, 0), lambda o: o.WindSpeedOutOfRange, {"windSpeedMmPerS": 100_001, "maxMmPerS": MAX_WIND}),
        ((0, 0, 2**255, 0), lambda o: o.WindSpeedOutOfRange, {"windSpeedMmPerS": 2**255, "maxMmPerS": MAX_WIND}),
        ((0, 0, 0, 10_001), lambda o: o.CloudCoverOutOfRange, {"cloudCoverBps": 10_001, "maxBps": MAX_CLOUD}),
    ],
    ids=["irradiance", "irradiance-max-uint", "too-cold", "too-hot", "wind", "wind-2^255", "cloud"],
)
def test_a_field_outside_its_physical_bounds_is_rejected(weather_oracle, reporters, values, error, fields):
    with reverts(error(weather_oracle), **fields):
        submit(weather_oracle, reporters[0], values)
    assert weather(weather_oracle) == (0, 0, 0, 0, 0, 0)


def test_only_reporters_submit(weather_oracle, admin, stranger):
    with reverts(weather_oracle.UnknownReporter, account=stranger.address):
        submit(weather_oracle, stranger, SUNNY)
    with reverts(weather_oracle.UnknownReporter, account=stranger.address):
        submit(weather_oracle, stranger, (1_501, 0, 0, 0))  # the reporter check comes first
    with reverts(weather_oracle.UnknownReporter, account=admin.address):
        submit(weather_oracle, admin, SUNNY)


def test_fifteen_reporters_stay_bounded(weather_oracle, admin, reporters, accounts):
    more = [accounts.generate_test_account() for _ in range(12)]
    for account in more:
        account.balance = 10**18
        weather_oracle.addReporter(account, sender=admin)
    for i, reporter in enumerate(list(reporters) + more):
        tx = submit(weather_oracle, reporter, (100 * (i % 15), -1_000 * i, 7 * i, 10 * i))
    assert weather(weather_oracle)[:5] == (700, -7_000, 49, 70, 15)
    assert tx.gas_used < 250_000  # at most 15 reports read, four columns sorted


# ----------------------------------------------------------------------------- reporters and roles


def test_reporter_set_and_heartbeat(weather_oracle, admin, reporters, stranger, accounts):
    exercise_reporter_set(weather_oracle, admin, reporters, stranger, accounts)


def test_quorum_setting(weather_oracle, admin, reporters, accounts):
    exercise_quorum(weather_oracle, admin, reporters, accounts)


def test_access_control(weather_oracle, admin, other, stranger):
    exercise_access_control(weather_oracle, admin, other, stranger)


def test_role_restricted_functions_reject_stranger(weather_oracle, stranger):
    exercise_admin_only(weather_oracle, stranger, REPORTER_ADMIN_CALLS)


def test_every_function_event_and_error_is_exercised(weather_oracle):
    """WeatherOracle's ABI, item by item, is named in this module or in the shared oracle helpers."""
    kinds = ("function", "event", "error")
    exempt = {"RoleAdminChanged"}  # no role admin is ever changed
    assert unexercised_abi_items("WeatherOracle", ["test_weather_oracle.py", "support/oracle_helpers.py"], kinds, exempt) == []

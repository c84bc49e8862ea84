"""SmartMeter: a reading's validation, back-dated readings and the emergency pause.

Every custom error is asserted with all of its arguments and every event with all of its fields
(`reverts` and `log` from support/helpers.py make ape's subset checks exhaustive); the meters' fixtures
(`meter`, `submit`, `baseline`, `metered`) are in conftest.py, the rest in support/meter_helpers.py.
"""

from __future__ import annotations

import pytest

from energy_grid.domain.units import (
    DAY_SECONDS,
    FREQUENCY_NOMINAL_MILLIHZ,
    INTERVAL_SECONDS,
    VOLTAGE_NOMINAL_PER_MILLE,
    interval_of,
)

from support.helpers import DEFAULT_ADMIN_ROLE, assert_logs, log, reverts
from support.meter_helpers import (
    DEFAULT_MAX_READING_AGE,
    DEFAULT_MIN_READING_INTERVAL,
    EMPTY_READING,
    MAX_BATCH_SIZE,
    MAX_INTERVAL_ENERGY_WH,
    MAX_READING_AGE_CEILING,
    MAX_READING_AGE_FLOOR,
    MAX_REGISTER_WH,
    PAUSER_ROLE,
    accepted,
    next_interval_start,
    submit_at,
)


@pytest.fixture(scope="module", autouse=True)
def _accounts_before_isolation(admin, owner, other, stranger, meter_device, meter_device_2, accounts):
    """Resolves the session-scoped account fixtures before ape's per-test isolation (no rebasing)."""


# ----------------------------------------------------------------------------- reading validation


def test_reading_from_unknown_meter(smart_meter, stranger, reading):
    with reverts(smart_meter.MeterUnknown, meter=stranger.address):
        smart_meter.submitReading(reading(1, 1), sender=stranger)


def test_reading_in_future(smart_meter, meter, meter_device, reading, chain):
    block_ts = chain.pending_timestamp + 100
    chain.pending_timestamp = block_ts
    with reverts(smart_meter.ReadingInFuture, meter=meter, timestamp=block_ts + 1, blockTimestamp=block_ts):
        smart_meter.submitReading(reading(1, 1, timestamp=block_ts + 1), sender=meter_device)
    assert smart_meter.getLatestReading(meter) == EMPTY_READING


def test_reading_not_after_previous(smart_meter, meter, meter_device, baseline, reading):
    with reverts(smart_meter.ReadingNotAfterPrevious, meter=meter, timestamp=baseline, previousTimestamp=baseline):
        smart_meter.submitReading(reading(1_000, 5_000, timestamp=baseline), sender=meter_device)
    with reverts(smart_meter.ReadingNotAfterPrevious, meter=meter, timestamp=baseline - 1, previousTimestamp=baseline):
        smart_meter.submitReading(reading(1_000, 5_000, timestamp=baseline - 1), sender=meter_device)
    assert smart_meter.getLatestReading(meter).timestamp == baseline


def test_first_reading_at_time_zero(smart_meter, meter, meter_device, reading):
    # A meter without any reading still needs a timestamp after 0.
    with reverts(smart_meter.ReadingNotAfterPrevious, meter=meter, timestamp=0, previousTimestamp=0):
        smart_meter.submitReading(reading(1, 1, timestamp=0), sender=meter_device)


def test_reading_too_frequent(smart_meter, meter, meter_device, baseline, submit):
    earliest = baseline + DEFAULT_MIN_READING_INTERVAL
    with reverts(smart_meter.ReadingTooFrequent, meter=meter, timestamp=earliest - 1, earliestTimestamp=earliest):
        submit(meter_device, earliest - 1, 1_000, 5_000)
    submit(meter_device, earliest, 1_000, 5_001)
    assert smart_meter.getLatestReading(meter).timestamp == earliest


def test_min_reading_interval_setter(smart_meter, admin, meter, meter_device, baseline, submit, reading):
    with reverts(smart_meter.MinReadingIntervalTooLong, secondsRequested=INTERVAL_SECONDS + 1, maxSeconds=INTERVAL_SECONDS):
        smart_meter.setMinReadingInterval(INTERVAL_SECONDS + 1, sender=admin)

    tx = smart_meter.setMinReadingInterval(INTERVAL_SECONDS, sender=admin)
    assert_logs(tx, log(smart_meter.MinReadingIntervalUpdated, previousSeconds=60, newSeconds=INTERVAL_SECONDS))
    assert smart_meter.minReadingInterval() == INTERVAL_SECONDS
    with reverts(smart_meter.ReadingTooFrequent, meter=meter, timestamp=baseline + 899, earliestTimestamp=baseline + 900):
        submit(meter_device, baseline + 899, 1_000, 5_000)

    tx = smart_meter.setMinReadingInterval(0, sender=admin)
    assert_logs(tx, log(smart_meter.MinReadingIntervalUpdated, previousSeconds=INTERVAL_SECONDS, newSeconds=0))
    assert smart_meter.minReadingInterval() == 0
    # Without a rate limit, readings one second apart are accepted; equal timestamps still are not.
    ts = baseline + 1_000
    submit(meter_device, ts, 1_001, 5_001)
    submit(meter_device, ts + 1, 1_002, 5_002)
    assert smart_meter.getLatestReading(meter) == (ts + 1, 1_002, 5_002, 50_000, 1_000)
    with reverts(smart_meter.ReadingNotAfterPrevious, meter=meter, timestamp=ts + 1, previousTimestamp=ts + 1):
        smart_meter.submitReading(reading(1_003, 5_003, timestamp=ts + 1), sender=meter_device)


def test_registers_must_not_decrease(smart_meter, meter, meter_device, baseline, submit):
    ts = baseline + 60
    with reverts(smart_meter.ConsumptionRegisterDecreased, meter=meter, registerWh=999, previousRegisterWh=1_000):
        submit(meter_device, ts, 999, 6_000)
    with reverts(smart_meter.ProductionRegisterDecreased, meter=meter, registerWh=4_999, previousRegisterWh=5_000):
        submit(meter_device, ts + 1, 2_000, 4_999)
    # Unchanged registers are fine.
    tx = submit(meter_device, ts + 2, 1_000, 5_000)
    assert_logs(tx, accepted(smart_meter, meter, ts + 2))


@pytest.mark.parametrize("which", ["consumption", "production"])
def test_reading_register_out_of_range(smart_meter, meter, meter_device, reading, which):
    registers = {"consumption": 0, "production": 0, which: MAX_REGISTER_WH + 1}
    with reverts(smart_meter.RegisterOutOfRange, meter=meter, registerWh=MAX_REGISTER_WH + 1):
        smart_meter.submitReading(reading(registers["consumption"], registers["production"]), sender=meter_device)


def test_reading_register_at_maximum(smart_meter, meter, meter_device, reading):
    tx = smart_meter.submitReading(reading(MAX_REGISTER_WH, MAX_REGISTER_WH), sender=meter_device)
    latest = smart_meter.getLatestReading(meter)
    assert (latest.consumption, latest.production) == (MAX_REGISTER_WH, MAX_REGISTER_WH)
    assert tx.events.filter(smart_meter.MeterBaselineSet)[0].consumptionRegisterWh == MAX_REGISTER_WH


@pytest.mark.parametrize("frequency", [44_999, 65_001])
def test_frequency_out_of_bounds(smart_meter, meter, meter_device, reading, frequency):
    with reverts(smart_meter.FrequencyOutOfBounds, meter=meter, gridFrequencyMilliHz=frequency):
        smart_meter.submitReading(reading(1, 1, frequency_millihz=frequency), sender=meter_device)


@pytest.mark.parametrize("frequency", [45_000, 65_000])
def test_frequency_at_bounds(smart_meter, meter, meter_device, reading, frequency):
    accepted_reading = reading(1, 1, frequency_millihz=frequency)
    ts = accepted_reading[0]
    tx = smart_meter.submitReading(accepted_reading, sender=meter_device)
    assert tx.events.filter(smart_meter.ReadingAccepted) == [accepted(smart_meter, meter, ts)]
    assert smart_meter.getLatestReading(meter).gridFrequency == frequency
    assert smart_meter.getIntervalHistory(meter, interval_of(ts), 1)[0].gridFrequencyMilliHz == frequency


@pytest.mark.parametrize("voltage", [499, 1_501])
def test_voltage_out_of_bounds(smart_meter, meter, meter_device, reading, voltage):
    with reverts(smart_meter.VoltageOutOfBounds, meter=meter, voltagePerMille=voltage):
        smart_meter.submitReading(reading(1, 1, voltage_per_mille=voltage), sender=meter_device)


@pytest.mark.parametrize("voltage", [500, 1_500])
def test_voltage_at_bounds(smart_meter, meter, meter_device, reading, voltage):
    accepted_reading = reading(1, 1, voltage_per_mille=voltage)
    ts = accepted_reading[0]
    tx = smart_meter.submitReading(accepted_reading, sender=meter_device)
    assert tx.events.filter(smart_meter.ReadingAccepted) == [accepted(smart_meter, meter, ts)]
    assert smart_meter.getLatestReading(meter).voltage == voltage
    assert smart_meter.getIntervalHistory(meter, interval_of(ts), 1)[0].voltagePerMille == voltage


def test_interval_energy_at_maximum(smart_meter, energy_token, owner, meter, meter_device, baseline, submit):
    tx = submit(meter_device, baseline + 60, 1_000 + MAX_INTERVAL_ENERGY_WH, 5_000 + MAX_INTERVAL_ENERGY_WH)
    # Both increases at their largest, side by side in the event's word: neither carries into the other.
    assert tx.events.filter(smart_meter.ReadingAccepted) == [
        accepted(smart_meter, meter, baseline + 60, MAX_INTERVAL_ENERGY_WH, MAX_INTERVAL_ENERGY_WH)
    ]
    assert energy_token.balanceOf(owner) == MAX_INTERVAL_ENERGY_WH
    assert smart_meter.getIntervalEnergy(meter, interval_of(baseline)) == (MAX_INTERVAL_ENERGY_WH, MAX_INTERVAL_ENERGY_WH)


@pytest.mark.parametrize("which", ["consumption", "production"])
def test_interval_energy_out_of_range_in_one_reading(smart_meter, meter, meter_device, baseline, submit, which):
    increase = {"consumption": 0, "production": 0, which: MAX_INTERVAL_ENERGY_WH + 1}
    ts = baseline + 900  # a fresh interval: the reading alone exceeds it
    with reverts(smart_meter.IntervalEnergyOutOfRange, meter=meter, interval=interval_of(ts)):
        submit(meter_device, ts, 1_000 + increase["consumption"], 5_000 + increase["production"])


def test_interval_energy_out_of_range_accumulated(smart_meter, energy_token, owner, meter, meter_device, baseline, submit):
    half = (MAX_INTERVAL_ENERGY_WH + 1) // 2
    submit(meter_device, baseline + 60, 1_000, 5_000 + half)
    with reverts(smart_meter.IntervalEnergyOutOfRange, meter=meter, interval=interval_of(baseline)):
        submit(meter_device, baseline + 120, 1_000, 5_000 + 2 * half)
    assert energy_token.balanceOf(owner) == half
    # The same increase in the next interval is accepted.
    submit(meter_device, baseline + 900, 1_000, 5_000 + 2 * half)
    assert energy_token.balanceOf(owner) == 2 * half


# ----------------------------------------------------------------------------- back-dated readings


def test_back_dated_readings_are_bounded(smart_meter, energy_token, owner, meter, meter_device, chain):
    """Review finding: the rate limit compares reading times only, so a silent meter could send
    readings back-dated by weeks, back to back, and place its energy in whichever past intervals
    it liked. A reading may now be at most maxReadingAge() old when it arrives."""
    now = next_interval_start(chain) + 10 * DAY_SECONDS
    weeks_ago = now - 30 * DAY_SECONDS
    with reverts(smart_meter.ReadingTooOld, meter=meter, timestamp=weeks_ago, oldestTimestamp=now - DEFAULT_MAX_READING_AGE):
        submit_at(smart_meter, chain, meter_device, now, weeks_ago, 1_000, 5_000)
    oldest = now - DEFAULT_MAX_READING_AGE
    with reverts(smart_meter.ReadingTooOld, meter=meter, timestamp=oldest - 1, oldestTimestamp=oldest):
        submit_at(smart_meter, chain, meter_device, now, oldest - 1, 1_000, 5_000)
    assert smart_meter.getLatestReading(meter) == EMPTY_READING

    # Exactly the limit is accepted, and what a gateway buffered through the outage goes in back to back.
    submit_at(smart_meter, chain, meter_device, now, oldest, 1_000, 5_000)
    for i in range(1, 4):
        submit_at(smart_meter, chain, meter_device, now + i, oldest + i * INTERVAL_SECONDS, 1_000 + i, 5_000 + 10 * i)
    assert smart_meter.getLatestReading(meter).timestamp == oldest + 3 * INTERVAL_SECONDS
    assert energy_token.balanceOf(owner) == 30
    assert smart_meter.getIntervalEnergy(meter, interval_of(oldest + INTERVAL_SECONDS)) == (1, 10)


def test_back_dated_gateway_batch_is_bounded(smart_meter, admin, meter, chain):
    """A gateway's buffered backlog goes in while it is young enough; one entry too old reverts the batch."""
    now = next_interval_start(chain) + 10 * DAY_SECONDS
    oldest = now - DEFAULT_MAX_READING_AGE
    backlog = [
        (oldest + i * INTERVAL_SECONDS, i, 2 * i, FREQUENCY_NOMINAL_MILLIHZ, VOLTAGE_NOMINAL_PER_MILLE) for i in range(MAX_BATCH_SIZE)
    ]
    chain.pending_timestamp = now
    with reverts(smart_meter.ReadingTooOld, meter=meter, timestamp=oldest - 1, oldestTimestamp=oldest):
        smart_meter.submitReadings([meter] * 2, [(oldest - 1, 0, 0, 50_000, 1_000), backlog[1]], sender=admin)
    chain.pending_timestamp = now
    tx = smart_meter.submitReadings([meter] * MAX_BATCH_SIZE, backlog, sender=admin)
    assert len(tx.events.filter(smart_meter.ReadingAccepted)) == MAX_BATCH_SIZE
    assert smart_meter.getMeteredEnergy(meter) == (MAX_BATCH_SIZE - 1, 2 * (MAX_BATCH_SIZE - 1), 0)


def test_max_reading_age_setter(smart_meter, admin, meter, meter_device, chain):
    for out_of_range in (MAX_READING_AGE_FLOOR - 1, MAX_READING_AGE_CEILING + 1, 0):
        with reverts(
            smart_meter.MaxReadingAgeOutOfRange,
            secondsRequested=out_of_range,
            minSeconds=MAX_READING_AGE_FLOOR,
            maxSeconds=MAX_READING_AGE_CEILING,
        ):
            smart_meter.setMaxReadingAge(out_of_range, sender=admin)
    assert smart_meter.maxReadingAge() == DEFAULT_MAX_READING_AGE

    tx = smart_meter.setMaxReadingAge(MAX_READING_AGE_FLOOR, sender=admin)
    assert_logs(tx, log(smart_meter.MaxReadingAgeUpdated, previousSeconds=DEFAULT_MAX_READING_AGE, newSeconds=MAX_READING_AGE_FLOOR))
    assert smart_meter.maxReadingAge() == MAX_READING_AGE_FLOOR
    now = next_interval_start(chain) + 40 * DAY_SECONDS
    with reverts(smart_meter.ReadingTooOld, meter=meter, timestamp=now - 901, oldestTimestamp=now - 900):
        submit_at(smart_meter, chain, meter_device, now, now - 901, 0, 0)

    tx = smart_meter.setMaxReadingAge(MAX_READING_AGE_CEILING, sender=admin)
    assert_logs(tx, log(smart_meter.MaxReadingAgeUpdated, previousSeconds=MAX_READING_AGE_FLOOR, newSeconds=MAX_READING_AGE_CEILING))
    # The ceiling is the load profile's span: the oldest reading allowed still lands in a retained interval.
    later = tx.timestamp + 1
    submit_at(smart_meter, chain, meter_device, later, later - MAX_READING_AGE_CEILING, 0, 0)
    assert smart_meter.getIntervalEnergy(meter, interval_of(later - MAX_READING_AGE_CEILING)) == (0, 0)
    assert smart_meter.getLatestReading(meter).timestamp == later - MAX_READING_AGE_CEILING


# ----------------------------------------------------------------------------- emergency pause


def test_pause_stops_readings_and_loses_no_energy(
    smart_meter, energy_token, admin, owner, stranger, meter, meter_device, baseline, submit, reading, chain
):
    smart_meter.grantRole(PAUSER_ROLE, stranger, sender=admin)  # a guardian
    tx = smart_meter.pause(sender=stranger)
    assert_logs(tx, log(smart_meter.Paused, account=stranger.address))
    assert smart_meter.paused()
    with reverts(smart_meter.EnforcedPause):
        smart_meter.pause(sender=stranger)
    minted = energy_token.balanceOf(owner)
    chain.pending_timestamp = baseline + 900
    with reverts(smart_meter.EnforcedPause):
        submit(meter_device, baseline + 900, 1_200, 5_300)
    with reverts(smart_meter.EnforcedPause):
        smart_meter.submitReadings([meter], [reading(1_200, 5_300, timestamp=baseline + 900)], sender=admin)
    # The guardian cannot restart metering; the admin can.
    with reverts(smart_meter.AccessControlUnauthorizedAccount, account=stranger.address, neededRole=DEFAULT_ADMIN_ROLE):
        smart_meter.unpause(sender=stranger)
    tx = smart_meter.unpause(sender=admin)
    assert_logs(tx, log(smart_meter.Unpaused, account=admin.address))
    with reverts(smart_meter.ExpectedPause):
        smart_meter.unpause(sender=admin)
    # Registers are cumulative: the first reading after the pause counts what was metered during it.
    submit(meter_device, baseline + 1_800, 1_400, 5_900)
    assert energy_token.balanceOf(owner) == minted + 900
    assert smart_meter.getIntervalEnergy(meter, interval_of(baseline + 1_800)) == (400, 900)

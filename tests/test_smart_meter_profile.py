"""SmartMeter: the load profile and daily totals, energy over a range of intervals, and the
redemption of consumed Wh.

Every custom error is asserted with all of its arguments and every event with all of its fields
(`reverts` and `log` from support/helpers.py make ape's subset checks exhaustive); the meters' fixtures
(`meter`, `submit`, `baseline`, `metered`) are in conftest.py, the rest in support/meter_helpers.py.
"""

from __future__ import annotations

import pytest

from energy_grid.domain.units import (
    DAY_SECONDS,
    INTERVAL_SECONDS,
    INTERVALS_PER_DAY,
    day_of,
    interval_of,
)

from support.helpers import assert_logs, log, reverts
from support.meter_helpers import (
    MAX_HISTORY_PAGE,
    MAX_INTERVAL,
    PROFILE_CAPACITY,
    REGION,
    accepted,
    burned,
    minted,
    next_day_start,
    next_interval_start,
    oldest_retained_interval,
)


@pytest.fixture(scope="module", autouse=True)
def _accounts_before_isolation(admin, owner, other, stranger, meter_device, meter_device_2, accounts):
    """Resolves the session-scoped account fixtures before ape's per-test isolation (no rebasing)."""


# ----------------------------------------------------------------------------- load profile


def test_readings_in_one_interval_accumulate(smart_meter, energy_token, owner, meter, meter_device, baseline, submit):
    interval = interval_of(baseline)
    tx1 = submit(meter_device, baseline + 60, 1_010, 5_100)
    tx2 = submit(meter_device, baseline + 300, 1_030, 5_300)
    tx3 = submit(meter_device, baseline + 899, 1_035, 5_350)

    assert_logs(tx1, minted(energy_token, owner.address, 100), accepted(smart_meter, meter, baseline + 60, 10, 100))
    assert_logs(tx2, minted(energy_token, owner.address, 200), accepted(smart_meter, meter, baseline + 300, 20, 200))
    assert_logs(tx3, minted(energy_token, owner.address, 50), accepted(smart_meter, meter, baseline + 899, 5, 50))
    assert smart_meter.getIntervalEnergy(meter, interval) == (35, 350)
    assert smart_meter.getIntervalEnergy(meter, interval + 1) == (0, 0)
    assert smart_meter.getIntervalHistory(meter, interval, 1) == [(interval, 35, 350, 50_000, 1_000)]
    assert energy_token.balanceOf(owner) == 350
    assert energy_token.totalSupply() == 350
    assert smart_meter.getMeteredEnergy(meter) == (35, 350, 0)


def test_interval_history_records(smart_meter, meter, meter_device, submit, chain):
    start = next_interval_start(chain, offset=30)
    interval = interval_of(start)
    submit(meter_device, start, 100, 200, frequency_millihz=49_900, voltage_per_mille=990)
    submit(meter_device, start + 900, 110, 230, frequency_millihz=50_100, voltage_per_mille=1_010)
    submit(meter_device, start + 3 * 900, 150, 300, frequency_millihz=45_000, voltage_per_mille=1_500)
    submit(meter_device, start + 3 * 900 + 60, 151, 300, frequency_millihz=65_000, voltage_per_mille=500)

    assert smart_meter.getIntervalHistory(meter, interval - 1, 6) == [
        (interval - 1, 0, 0, 0, 0),  # before the first reading
        # The baseline counts no energy, but it is a reading: its frequency and voltage are kept.
        (interval, 0, 0, 49_900, 990),
        (interval + 1, 10, 30, 50_100, 1_010),
        (interval + 2, 0, 0, 0, 0),  # no reading: an empty record
        # Two readings: their energy adds up, the frequency and voltage are the later one's (the bounds).
        (interval + 3, 41, 70, 65_000, 500),
        (interval + 4, 0, 0, 0, 0),  # after the latest reading
    ]
    assert smart_meter.getIntervalEnergy(meter, interval + 1) == (10, 30)
    assert smart_meter.getIntervalEnergy(meter, interval + 3) == (41, 70)
    assert smart_meter.getLatestReading(meter) == (start + 3 * 900 + 60, 151, 300, 65_000, 500)
    page = smart_meter.getIntervalHistory(meter, interval, MAX_HISTORY_PAGE)
    assert len(page) == MAX_HISTORY_PAGE
    assert [r.interval for r in page] == list(range(interval, interval + MAX_HISTORY_PAGE))
    assert sum(r.productionWh for r in page) == 100


@pytest.mark.parametrize("count", [0, MAX_HISTORY_PAGE + 1])
def test_interval_history_invalid_page(smart_meter, meter, count):
    with reverts(smart_meter.InvalidHistoryPage, count=count, maxCount=MAX_HISTORY_PAGE):
        smart_meter.getIntervalHistory(meter, 1, count)


def test_gap_counts_whole_delta_in_reading_interval(smart_meter, energy_token, owner, meter, meter_device, baseline, submit):
    interval = interval_of(baseline)
    ts = baseline + 10 * INTERVAL_SECONDS + 10
    tx = submit(meter_device, ts, 1_200, 5_500)

    assert_logs(tx, minted(energy_token, owner.address, 500), accepted(smart_meter, meter, ts, 200, 500))
    assert smart_meter.getIntervalEnergy(meter, interval + 10) == (200, 500)
    history = smart_meter.getIntervalHistory(meter, interval + 1, 9)
    assert [(r.consumptionWh, r.productionWh, r.gridFrequencyMilliHz) for r in history] == [(0, 0, 0)] * 9
    assert energy_token.balanceOf(owner) == 500


def test_daily_totals(smart_meter, meter, meter_device, submit, chain):
    day_start = next_day_start(chain, offset=100)
    day = day_of(day_start)
    submit(meter_device, day_start, 1_000, 2_000)  # baseline
    submit(meter_device, day_start + 900, 1_030, 2_070)
    submit(meter_device, day_start + 5_000, 1_035, 2_080)

    # No-argument forms: the calling meter, today by block time.
    assert smart_meter.getDailyProduction(sender=meter_device) == 80
    assert smart_meter.getDailyConsumption(sender=meter_device) == 35
    assert smart_meter.getDailyProduction(meter, day) == 80
    assert smart_meter.getDailyConsumption(meter, day) == 35
    assert smart_meter.getDailyProduction(meter, day - 1) == 0
    assert smart_meter.getDailyConsumption(meter, day + 1) == 0

    # A new day by block time: today is empty until the meter reads in it.
    chain.pending_timestamp = day_start + DAY_SECONDS
    chain.mine()
    assert smart_meter.getDailyProduction(sender=meter_device) == 0
    assert smart_meter.getDailyConsumption(sender=meter_device) == 0
    submit(meter_device, day_start + DAY_SECONDS + 60, 1_040, 2_100)
    assert smart_meter.getDailyProduction(sender=meter_device) == 20
    assert smart_meter.getDailyConsumption(sender=meter_device) == 5
    assert smart_meter.getDailyProduction(meter, day) == 80
    assert smart_meter.getDailyConsumption(meter, day) == 35
    assert smart_meter.getDailyProduction(meter, day + 1) == 20


def test_no_arg_getters_answer_for_caller(smart_meter, admin, owner, meter, meter_device, meter_device_2, submit, chain):
    smart_meter.registerMeter(meter_device_2, owner, REGION, sender=admin)
    ts = next_interval_start(chain)
    submit(meter_device, ts, 10, 20)
    submit(meter_device_2, ts + 1, 30, 40, frequency_millihz=49_000)
    submit(meter_device, ts + 60, 11, 25)
    submit(meter_device_2, ts + 61, 33, 47)

    assert smart_meter.getLatestReading(sender=meter_device) == (ts + 60, 11, 25, 50_000, 1_000)
    assert smart_meter.getLatestReading(sender=meter_device_2) == (ts + 61, 33, 47, 50_000, 1_000)
    assert smart_meter.getLatestReading(meter_device_2) == (ts + 61, 33, 47, 50_000, 1_000)
    assert smart_meter.getDailyProduction(sender=meter_device) == 5
    assert smart_meter.getDailyProduction(sender=meter_device_2) == 7
    assert smart_meter.getDailyConsumption(sender=meter_device) == 1
    assert smart_meter.getDailyConsumption(sender=meter_device_2) == 3


def test_old_intervals_leave_the_profile(smart_meter, energy_token, owner, meter, meter_device, baseline, submit):
    first = interval_of(baseline)
    submit(meter_device, baseline + 900, 1_010, 5_100)
    # Next reading after PROFILE_CAPACITY intervals: it lands in the ring slot of interval first + 1.
    ts = baseline + (PROFILE_CAPACITY + 1) * INTERVAL_SECONDS
    latest = interval_of(ts)
    assert latest == first + 1 + PROFILE_CAPACITY
    tx = submit(meter_device, ts, 1_060, 5_350)
    assert_logs(tx, minted(energy_token, owner.address, 250), accepted(smart_meter, meter, ts, 50, 250))

    oldest_retained = oldest_retained_interval(latest)  # the PROFILE_CAPACITY intervals up to now
    assert oldest_retained == first + 2
    with reverts(smart_meter.IntervalNotRetained, meter=meter, interval=oldest_retained - 1):
        smart_meter.getIntervalEnergy(meter, oldest_retained - 1)
    with reverts(smart_meter.IntervalNotRetained, meter=meter, interval=first):
        smart_meter.getIntervalHistory(meter, first, 2)
    assert smart_meter.getIntervalEnergy(meter, oldest_retained) == (0, 0)
    assert smart_meter.getIntervalEnergy(meter, latest) == (50, 250)
    assert smart_meter.getIntervalHistory(meter, latest, 1) == [(latest, 50, 250, 50_000, 1_000)]

    old_day = day_of(baseline)
    with reverts(smart_meter.IntervalNotRetained, meter=meter, interval=old_day * INTERVALS_PER_DAY):
        smart_meter.getDailyProduction(meter, old_day)
    with reverts(smart_meter.IntervalNotRetained, meter=meter, interval=old_day * INTERVALS_PER_DAY):
        smart_meter.getDailyConsumption(meter, old_day)
    assert smart_meter.getDailyProduction(meter, day_of(ts)) == 250
    assert smart_meter.getDailyProduction(sender=meter_device) == 250
    assert smart_meter.getMeteredEnergy(meter) == (60, 350, 0)
    assert energy_token.balanceOf(owner) == 350


def test_ring_slots_still_holding_old_intervals_read_as_empty(smart_meter, meter, meter_device, submit, chain):
    """After a long gap the profile still holds the words of intervals PROFILE_CAPACITY intervals
    before retained ones, at the same places of the ring: those intervals had no reading and must read as
    empty."""
    start = next_day_start(chain, offset=10 * INTERVAL_SECONDS)
    first = interval_of(start)
    submit(meter_device, start, 1_000, 5_000)  # baseline
    submit(meter_device, start + INTERVAL_SECONDS, 1_010, 5_100)  # +10 / +100 in interval first + 1
    ts = start + (PROFILE_CAPACITY + 2) * INTERVAL_SECONDS
    latest = interval_of(ts)
    submit(meter_device, ts, 1_060, 5_350)

    stale = first + 1 + PROFILE_CAPACITY  # retained, at the ring's place of interval first + 1
    assert smart_meter.getIntervalEnergy(meter, stale) == (0, 0)
    assert smart_meter.getIntervalHistory(meter, stale - 1, 3) == [
        (stale - 1, 0, 0, 0, 0),  # at the place of the baseline's interval
        (stale, 0, 0, 0, 0),
        (latest, 50, 250, 50_000, 1_000),
    ]
    assert day_of(ts) == day_of(stale * INTERVAL_SECONDS)
    assert smart_meter.getDailyProduction(meter, day_of(ts)) == 250
    assert smart_meter.getDailyConsumption(sender=meter_device) == 50
    # The current interval took the place of interval first + 2.
    assert oldest_retained_interval(latest) == first + 3
    with reverts(smart_meter.IntervalNotRetained, meter=meter, interval=first + 2):
        smart_meter.getIntervalEnergy(meter, first + 2)
    assert smart_meter.getIntervalEnergy(meter, first + 3) == (0, 0)


def test_times_beyond_the_interval_counter_are_rejected(smart_meter, meter, meter_device, baseline, submit):
    max_interval = smart_meter.MAX_INTERVAL()
    assert max_interval == MAX_INTERVAL
    assert smart_meter.getIntervalEnergy(meter, max_interval) == (0, 0)  # the future: nothing metered yet
    with reverts(smart_meter.IntervalOutOfRange, interval=max_interval + 1):
        smart_meter.getIntervalEnergy(meter, max_interval + 1)
    with reverts(smart_meter.IntervalOutOfRange, interval=2**256 - 1):
        smart_meter.getIntervalHistory(meter, 2**256 - 1, 1)
    last_day = max_interval // INTERVALS_PER_DAY
    assert smart_meter.getDailyProduction(meter, last_day) == 0
    with reverts(smart_meter.DayOutOfRange, day=last_day + 1):
        smart_meter.getDailyProduction(meter, last_day + 1)
    with reverts(smart_meter.DayOutOfRange, day=2**256 - 1):
        smart_meter.getDailyConsumption(meter, 2**256 - 1)


# ----------------------------------------------------------------------------- energy in a range


def test_energy_in_range_sums_intervals(smart_meter, meter, meter_device, submit, chain):
    start = next_interval_start(chain, offset=30)
    interval = interval_of(start)
    submit(meter_device, start, 100, 200)  # baseline: counts nothing
    submit(meter_device, start + 900, 110, 230)
    submit(meter_device, start + 3 * 900, 150, 300)  # interval + 2 has no reading: counts 0

    assert smart_meter.getEnergyInRange(meter, interval, 4) == (50, 100)
    assert smart_meter.getEnergyInRange(meter, interval + 1, 1) == (10, 30)
    assert smart_meter.getEnergyInRange(meter, interval + 2, 1) == (0, 0)
    assert smart_meter.getEnergyInRange(meter, interval - 10, 12) == (10, 30)  # before the first reading: 0
    assert smart_meter.getEnergyInRange(meter, interval + 3, MAX_HISTORY_PAGE) == (40, 70)  # beyond the latest: 0
    page = smart_meter.getIntervalHistory(meter, interval, 4)
    assert smart_meter.getEnergyInRange(meter, interval, 4) == (
        sum(r.consumptionWh for r in page),
        sum(r.productionWh for r in page),
    )


@pytest.mark.parametrize("count", [0, MAX_HISTORY_PAGE + 1])
def test_energy_in_range_invalid_page(smart_meter, meter, count):
    with reverts(smart_meter.InvalidHistoryPage, count=count, maxCount=MAX_HISTORY_PAGE):
        smart_meter.getEnergyInRange(meter, 1, count)


def test_energy_in_range_reverts_like_the_other_profile_getters(smart_meter, meter, meter_device, baseline, submit, stranger):
    with reverts(smart_meter.MeterUnknown, meter=stranger.address):
        smart_meter.getEnergyInRange(stranger.address, 1, 1)
    max_interval = smart_meter.MAX_INTERVAL()
    with reverts(smart_meter.IntervalOutOfRange, interval=max_interval + 1):
        smart_meter.getEnergyInRange(meter, max_interval + 1, 1)
    assert smart_meter.getEnergyInRange(meter, max_interval, MAX_HISTORY_PAGE) == (0, 0)
    first = interval_of(baseline)
    ts = baseline + PROFILE_CAPACITY * INTERVAL_SECONDS
    submit(meter_device, ts, 1_010, 5_100)
    oldest = oldest_retained_interval(interval_of(ts))
    with reverts(smart_meter.IntervalNotRetained, meter=meter, interval=first):
        smart_meter.getEnergyInRange(meter, first, 2)
    with reverts(smart_meter.IntervalNotRetained, meter=meter, interval=oldest - 1):
        smart_meter.getEnergyInRange(meter, oldest - 1, 2)
    assert smart_meter.getEnergyInRange(meter, oldest, MAX_HISTORY_PAGE) == (0, 0)
    assert smart_meter.getEnergyInRange(meter, interval_of(ts), 1) == (10, 100)


# ----------------------------------------------------------------------------- redemption


def test_redeem_consumption(smart_meter, energy_token, owner, metered):
    meter = metered
    tx = smart_meter.redeemConsumption(meter, 200, sender=owner)

    assert_logs(
        tx,
        burned(energy_token, owner.address, 200),
        log(smart_meter.ConsumptionRedeemed, meter=meter, owner=owner.address, amountWh=200),
    )
    assert energy_token.balanceOf(owner) == 600
    assert energy_token.totalSupply() == 600
    assert smart_meter.getMeteredEnergy(meter) == (500, 800, 200)

    with reverts(smart_meter.RedemptionExceedsConsumption, meter=meter, amountWh=301, redeemableWh=300):
        smart_meter.redeemConsumption(meter, 301, sender=owner)
    smart_meter.redeemConsumption(meter, 300, sender=owner)
    assert smart_meter.getMeteredEnergy(meter) == (500, 800, 500)
    assert energy_token.balanceOf(owner) == 300
    with reverts(smart_meter.RedemptionExceedsConsumption, meter=meter, amountWh=1, redeemableWh=0):
        smart_meter.redeemConsumption(meter, 1, sender=owner)


def test_redeem_limited_to_metered_consumption_not_balance(smart_meter, energy_token, owner, metered):
    assert energy_token.balanceOf(owner) == 800
    with reverts(smart_meter.RedemptionExceedsConsumption, meter=metered, amountWh=501, redeemableWh=500):
        smart_meter.redeemConsumption(metered, 501, sender=owner)
    assert energy_token.balanceOf(owner) == 800


def test_redeem_needs_tokens(smart_meter, energy_token, owner, other, metered):
    energy_token.transfer(other, 750, sender=owner)
    with reverts(energy_token.ERC20InsufficientBalance, sender=owner.address, balance=50, needed=200):
        smart_meter.redeemConsumption(metered, 200, sender=owner)
    assert smart_meter.getMeteredEnergy(metered) == (500, 800, 0)


def test_redeem_errors(smart_meter, owner, stranger, metered):
    with reverts(smart_meter.NotMeterOwner, meter=metered, caller=stranger.address):
        smart_meter.redeemConsumption(metered, 1, sender=stranger)
    with reverts(smart_meter.ZeroRedemption):
        smart_meter.redeemConsumption(metered, 0, sender=owner)
    with reverts(smart_meter.MeterUnknown, meter=stranger.address):
        smart_meter.redeemConsumption(stranger, 1, sender=owner)


def test_redeem_excludes_baseline_and_suspension(smart_meter, energy_token, admin, owner, metered, meter_device, baseline, submit):
    """Consumption before the baseline or while suspended is not metered, so it cannot be redeemed."""
    smart_meter.deactivateMeter(metered, sender=admin)
    smart_meter.reactivateMeter(metered, sender=admin)
    submit(meter_device, baseline + 3 * 900, 9_000, 5_800)  # 7_500 Wh while suspended: re-baseline
    assert smart_meter.getMeteredEnergy(metered) == (500, 800, 0)
    with reverts(smart_meter.RedemptionExceedsConsumption, meter=metered, amountWh=501, redeemableWh=500):
        smart_meter.redeemConsumption(metered, 501, sender=owner)
    submit(meter_device, baseline + 4 * 900, 9_100, 5_800)
    assert smart_meter.getMeteredEnergy(metered) == (600, 800, 0)
    smart_meter.redeemConsumption(metered, 600, sender=owner)
    assert smart_meter.getMeteredEnergy(metered) == (600, 800, 600)
    assert energy_token.balanceOf(owner) == 200


def test_the_profile_constants_are_what_they_are_made_of(smart_meter):
    """The profile's span and its last interval, which the contract writes as literals (a constant made
    of other constants would be computed at every reading): 35 days of 96 intervals, 65,536 laps."""
    assert smart_meter.PROFILE_CAPACITY() == PROFILE_CAPACITY == 35 * INTERVALS_PER_DAY
    assert smart_meter.MAX_INTERVAL() == MAX_INTERVAL == 2**16 * PROFILE_CAPACITY - 1
    assert smart_meter.MAX_READING_AGE_CEILING_SECONDS() == (PROFILE_CAPACITY - 1) * INTERVAL_SECONDS

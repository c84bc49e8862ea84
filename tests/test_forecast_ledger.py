"""ForecastLedger: a region's quantile forecast committed by its operator before the auction's gate,
the region's meters tallied from SmartMeter's load profile, and the forecast scored against them.

Real GridManagement (conftest `grid_operations` registers grid_operator in region 1 and
other_region_operator in region 2), SmartMeter and EnergyAuction (900 s periods, gate closure 300 s).
The score's figures are computed here from the readings the test writes. Every custom error is
asserted with all of its arguments and every event with all of its fields.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from math import floor
from typing import Any

import pytest
from eth_abi import encode
from eth_account import Account
from eth_utils import keccak

from energy_grid.deploy.system import deploy_energy_auction
from energy_grid.domain.units import FREQUENCY_NOMINAL_MILLIHZ, INTERVAL_SECONDS, VOLTAGE_NOMINAL_PER_MILLE, interval_of

from support.helpers import ZERO_ADDRESS, assert_logs, deploy_reverts, log, reverts, unexercised_abi_items

REGION, OTHER_REGION = 1, 2  # conftest GRID_OPS_REGION and GRID_OPS_OTHER_REGION
GATE_CLOSURE_S = 300  # conftest AUCTION_GATE_CLOSURE_SECONDS
MAX_INTERVALS = 96
MAX_TALLY_BATCH = 16
MAX_LEAD_S = 2 * 86_400
MAX_READING_AGE_S = 7 * 86_400  # SmartMeter's at deployment
WINDOW = 8  # intervals of the tests' forecasts
READ_AT_S = 600  # a window reading's offset into its interval
QUANTILE_TENTHS = {"p10": 1, "p50": 5, "p90": 9}
NOMINAL = (FREQUENCY_NOMINAL_MILLIHZ, VOLTAGE_NOMINAL_PER_MILLE)


def meter_address(tag: str) -> str:
    return Account.from_key(keccak(text=f"forecast-ledger-{tag}")).address


@pytest.fixture(scope="module")
def feeder_meters(smart_meter: Any, admin: Any, owner: Any) -> list[str]:
    """Three meters of REGION, registered with registers at 0 (the gateway, admin, submits their readings)."""
    meters = [meter_address(f"feeder-{i}") for i in range(3)]
    for meter in meters:
        smart_meter.registerMeter(meter, owner, REGION, 0, 0, sender=admin)
    return meters


@pytest.fixture(scope="module")
def forecast_ledger(project, admin, grid_management, grid_operations, smart_meter, auction, feeder_meters):
    """The ledger over the module's GridManagement, SmartMeter (with `feeder_meters`) and auction."""
    return project.ForecastLedger.deploy(grid_management, smart_meter, auction, sender=admin)


@dataclass(frozen=True)
class Vectors:
    p10: list[int]
    p50: list[int]
    p90: list[int]

    def args(self) -> tuple[list[int], list[int], list[int]]:
        return self.p10, self.p50, self.p90

    @property
    def hash(self) -> bytes:
        return keccak(encode(["int32[]", "int32[]", "int32[]"], list(self.args())))


def around(p50: list[int], below: int = 200, above: int = 100) -> Vectors:
    return Vectors([q - below for q in p50], p50, [q + above for q in p50])


def ahead(chain: Any, intervals: int = 4) -> int:
    """An interval `intervals` ahead of the next block's, whose gate is open."""
    return interval_of(chain.pending_timestamp) + intervals


def write_window(
    smart_meter: Any, admin: Any, chain: Any, first: int, energy: dict[str, list[tuple[int, int]]], final: bool = True
) -> None:
    """Each meter's (consumption, production) Wh in each interval of the window, read READ_AT_S into the
    interval, sent as backdated gateway batches once the window has ended; with `final`, each meter reads
    once more after the window (nothing more can land in it then)."""
    count = len(next(iter(energy.values())))
    end_s = (first + count) * INTERVAL_SECONDS
    chain.pending_timestamp = end_s + 120
    registers = {meter: smart_meter.getLatestReading(meter)[1:3] for meter in energy}
    items = []
    for k in range(count):
        for meter, figures in energy.items():
            consumption, production = registers[meter]
            registers[meter] = (consumption + figures[k][0], production + figures[k][1])
            items.append((meter, ((first + k) * INTERVAL_SECONDS + READ_AT_S, *registers[meter], *NOMINAL)))
    if final:
        items += [(meter, (end_s + 60, *registers[meter], *NOMINAL)) for meter in energy]
    for i in range(0, len(items), 100):
        batch = items[i : i + 100]
        smart_meter.submitReadings([m for m, _ in batch], [r for _, r in batch], sender=admin)


def expected_score(energy: dict[str, list[tuple[int, int]]], vectors: Vectors) -> dict[str, int]:
    """The score from the readings: net import per interval summed over the meters; coverage, P90
    exceedances and the pinball losses summed exactly, then rounded down once."""
    count = len(vectors.p10)
    net = [sum(c - p for c, p in (figures[k] for figures in energy.values())) for k in range(count)]
    losses = {}
    for name, tenths in QUANTILE_TENTHS.items():
        level = Fraction(tenths, 10)
        q = getattr(vectors, name)
        losses[name] = floor(sum(level * (y - f) if y >= f else (1 - level) * (f - y) for y, f in zip(net, q, strict=True)))
    return {
        "net": net,
        "covered": sum(lo <= y <= hi for y, lo, hi in zip(net, vectors.p10, vectors.p90, strict=True)),
        "exceeded": sum(y > hi for y, hi in zip(net, vectors.p90, strict=True)),
        "below": sum(y < lo for y, lo in zip(net, vectors.p10, strict=True)),
        **losses,
    }


def feeder_energy(meters: list[str], count: int = WINDOW) -> dict[str, list[tuple[int, int]]]:
    """Each meter's import rising through the window; the first meter's PV exports 2,500 Wh in intervals
    3 and 4 (the feeder exports then) and the evening rises steeply from interval 6."""
    energy = {}
    for m, meter in enumerate(meters):
        figures = []
        for k in range(count):
            consumption = 301 + 97 * m + 53 * k + (700 if k % 8 >= 6 else 0)
            production = 2_500 if m == 0 and k % 8 in (3, 4) else 0
            figures.append((consumption, production))
        energy[meter] = figures
    return energy


# ----------------------------------------------------------------------------- deployment


def test_deployment_takes_the_auction_s_gate_and_refuses_another_period(
    project, admin, forecast_ledger, grid_management, smart_meter, auction, vault, fee_recipient
):
    assert forecast_ledger.gateClosure() == auction.gateClosure() == GATE_CLOSURE_S
    assert (forecast_ledger.gridManagement(), forecast_ledger.meterRegistry()) == (grid_management.address, smart_meter.address)
    assert (forecast_ledger.MAX_INTERVALS(), forecast_ledger.MAX_TALLY_BATCH(), forecast_ledger.MAX_LEAD_SECONDS()) == (
        MAX_INTERVALS, MAX_TALLY_BATCH, MAX_LEAD_S
    )
    assert forecast_ledger.gateClosureTime(1_000) == 1_000 * INTERVAL_SECONDS - GATE_CLOSURE_S
    assert forecast_ledger.gateClosureTime(0) == 0
    assert forecast_ledger.gateClosureTime(2**256 - 1) == 2**256 - 1 - GATE_CLOSURE_S
    container = project.ForecastLedger
    wirings = ((ZERO_ADDRESS, smart_meter, auction), (grid_management, ZERO_ADDRESS, auction), (grid_management, smart_meter, ZERO_ADDRESS))
    for args in wirings:
        with deploy_reverts(container.ZeroAddress):
            container.deploy(*args, sender=admin)
    price_grid = (50_000, 1_000, 305_000)
    hourly = deploy_energy_auction(project, admin, vault, ZERO_ADDRESS, fee_recipient, 50, 3_600, GATE_CLOSURE_S, *price_grid, sender=admin)
    with deploy_reverts(container.AuctionPeriodNotInterval, 3_600):
        container.deploy(grid_management, smart_meter, hourly, sender=admin)


# ----------------------------------------------------------------------------- committing


def test_only_the_region_s_operator_commits(forecast_ledger, feeder_meters, grid_operator, other_region_operator, stranger, chain):
    first = ahead(chain)
    vectors = around([1_000] * WINDOW)
    with reverts(forecast_ledger.OperatorNotAuthorized, account=stranger.address):
        forecast_ledger.commitForecast(REGION, first, *vectors.args(), sender=stranger)
    outsider = other_region_operator.address
    with reverts(forecast_ledger.OperatorNotInRegion, operator=outsider, operatorRegionId=OTHER_REGION, regionId=REGION):
        forecast_ledger.commitForecast(REGION, first, *vectors.args(), sender=other_region_operator)
    tx = forecast_ledger.commitForecast(REGION, first, *vectors.args(), sender=grid_operator)
    assert_logs(
        tx,
        log(
            forecast_ledger.ForecastCommitted,
            regionId=REGION,
            firstInterval=first,
            operator=grid_operator.address,
            forecastHash=vectors.hash,
            p10Wh=vectors.p10,
            p50Wh=vectors.p50,
            p90Wh=vectors.p90,
        ),
    )
    assert forecast_ledger.getForecast(REGION, first) == (
        vectors.hash, grid_operator.address, tx.timestamp, tx.block_number, WINDOW, len(feeder_meters), 0, False
    )


def test_the_three_vectors_are_checked(forecast_ledger, feeder_meters, grid_operator, chain):
    first = ahead(chain)
    commit = forecast_ledger.commitForecast
    for count in (0, MAX_INTERVALS + 1):
        with reverts(forecast_ledger.IntervalCountOutOfRange, intervalCount=count, maxIntervals=MAX_INTERVALS):
            commit(REGION, first, [0] * count, [0] * count, [0] * count, sender=grid_operator)
    with reverts(forecast_ledger.QuantileLengthMismatch, p10Length=3, p50Length=2, p90Length=3):
        commit(REGION, first, [0, 0, 0], [0, 0], [0, 0, 0], sender=grid_operator)
    with reverts(forecast_ledger.QuantileLengthMismatch, p10Length=3, p50Length=3, p90Length=4):
        commit(REGION, first, [0, 0, 0], [0, 0, 0], [0, 0, 0, 0], sender=grid_operator)
    # P10 above P50 in the second interval, then P50 above P90 in the third; negative figures are exports.
    with reverts(forecast_ledger.QuantilesCrossed, index=1, p10Wh=-5, p50Wh=-6, p90Wh=10):
        commit(REGION, first, [0, -5, 0], [0, -6, 0], [0, 10, 0], sender=grid_operator)
    with reverts(forecast_ledger.QuantilesCrossed, index=2, p10Wh=-9, p50Wh=4, p90Wh=3):
        commit(REGION, first, [0, -5, -9], [0, -5, 4], [0, 10, 3], sender=grid_operator)
    # Equal quantiles are in order; a day-long window is the longest.
    commit(REGION, first, [-7] * MAX_INTERVALS, [-7] * MAX_INTERVALS, [-7] * MAX_INTERVALS, sender=grid_operator)
    assert forecast_ledger.getForecast(REGION, first).intervalCount == MAX_INTERVALS


def test_a_forecast_comes_before_the_gate_once_within_two_days_for_a_region_with_meters(
    forecast_ledger, feeder_meters, grid_operator, other_region_operator, chain
):
    first = ahead(chain)
    gate_s = first * INTERVAL_SECONDS - GATE_CLOSURE_S
    vectors = around([500] * WINDOW)
    chain.pending_timestamp = gate_s - 1
    forecast_ledger.commitForecast(REGION, first, *vectors.args(), sender=grid_operator)
    with reverts(forecast_ledger.ForecastAlreadyCommitted, regionId=REGION, firstInterval=first):
        forecast_ledger.commitForecast(REGION, first, *vectors.args(), sender=grid_operator)
    chain.pending_timestamp = gate_s
    with reverts(forecast_ledger.GateClosed, firstInterval=first, gateClosureTime=gate_s):
        forecast_ledger.commitForecast(REGION, first, *vectors.args(), sender=grid_operator)

    latest = interval_of(gate_s + MAX_LEAD_S)
    with reverts(forecast_ledger.ForecastTooFarAhead, firstInterval=latest + 1, latestFirstInterval=latest):
        forecast_ledger.commitForecast(REGION, latest + 1, *vectors.args(), sender=grid_operator)
    forecast_ledger.commitForecast(REGION, latest, *vectors.args(), sender=grid_operator)
    # Region 2 has no meter: nothing could score its forecast.
    with reverts(forecast_ledger.RegionHasNoMeters, regionId=OTHER_REGION):
        forecast_ledger.commitForecast(OTHER_REGION, first + 8, *vectors.args(), sender=other_region_operator)


# ----------------------------------------------------------------------------- the cycle


def test_commit_meter_tally_and_score_give_the_figures_of_the_readings(
    forecast_ledger, feeder_meters, smart_meter, admin, grid_operator, stranger, chain
):
    first = ahead(chain)
    # The operator's P50 misses the PV export and the evening: below P10 in 3 and 4, above P90 from 6.
    vectors = around([1_150 + 159 * k for k in range(WINDOW)], below=250, above=120)
    forecast_ledger.commitForecast(REGION, first, *vectors.args(), sender=grid_operator)
    energy = feeder_energy(feeder_meters)
    write_window(smart_meter, admin, chain, first, energy)
    expected = expected_score(energy, vectors)
    assert min(expected["covered"], expected["exceeded"], expected["below"]) > 0  # every case is in the window

    tx = forecast_ledger.tallyMeters(REGION, first, feeder_meters[:2], sender=stranger)
    assert_logs(
        tx,
        log(
            forecast_ledger.MetersTallied,
            regionId=REGION,
            firstInterval=first,
            tallier=stranger.address,
            meters=2,
            metersTallied=2,
            meterCount=3,
        ),
    )
    assert [forecast_ledger.isMeterTallied(REGION, first, m) for m in feeder_meters] == [True, True, False]
    with reverts(forecast_ledger.TallyIncomplete, regionId=REGION, firstInterval=first, metersTallied=2, meterCount=3):
        forecast_ledger.scoreForecast(REGION, first, *vectors.args(), sender=stranger)
    forecast_ledger.tallyMeters(REGION, first, feeder_meters[2:], sender=stranger)
    assert forecast_ledger.getNetImport(REGION, first) == expected["net"]
    with reverts(forecast_ledger.MeterAlreadyTallied, meter=feeder_meters[0]):
        forecast_ledger.tallyMeters(REGION, first, feeder_meters[:1], sender=stranger)

    figures = (WINDOW, expected["covered"], expected["exceeded"], expected["p10"], expected["p50"], expected["p90"], 3)
    assert forecast_ledger.previewScore(REGION, first, *vectors.args()) == (*figures, 0)
    with reverts(forecast_ledger.ForecastNotScored, regionId=REGION, firstInterval=first):
        forecast_ledger.getScore(REGION, first)
    tx = forecast_ledger.scoreForecast(REGION, first, *vectors.args(), sender=stranger)
    assert_logs(
        tx,
        log(
            forecast_ledger.ForecastScored,
            regionId=REGION,
            firstInterval=first,
            scorer=stranger.address,
            intervalCount=WINDOW,
            coveredIntervals=expected["covered"],
            exceededP90Intervals=expected["exceeded"],
            pinballP10Wh=expected["p10"],
            pinballP50Wh=expected["p50"],
            pinballP90Wh=expected["p90"],
            metersTallied=3,
        ),
    )
    assert forecast_ledger.getScore(REGION, first) == (*figures, tx.timestamp)
    assert forecast_ledger.getForecast(REGION, first).scored
    with reverts(forecast_ledger.ForecastAlreadyScored, regionId=REGION, firstInterval=first):
        forecast_ledger.scoreForecast(REGION, first, *vectors.args(), sender=stranger)


def test_a_day_long_window_is_tallied_in_one_batch_and_scored(
    forecast_ledger, feeder_meters, smart_meter, admin, grid_operator, stranger, chain
):
    first = ahead(chain)
    energy = feeder_energy(feeder_meters, MAX_INTERVALS)
    vectors = around([1_200 + (900 if k % 8 >= 6 else 0) for k in range(MAX_INTERVALS)], below=2_200, above=300)
    forecast_ledger.commitForecast(REGION, first, *vectors.args(), sender=grid_operator)
    write_window(smart_meter, admin, chain, first, energy)
    forecast_ledger.tallyMeters(REGION, first, feeder_meters, sender=stranger)
    expected = expected_score(energy, vectors)
    assert forecast_ledger.getNetImport(REGION, first) == expected["net"]
    tx = forecast_ledger.scoreForecast(REGION, first, *vectors.args(), sender=stranger)
    figures = (MAX_INTERVALS, expected["covered"], expected["exceeded"], expected["p10"], expected["p50"], expected["p90"], 3)
    assert forecast_ledger.getScore(REGION, first) == (*figures, tx.timestamp)


# ----------------------------------------------------------------------------- refusals after the window


def test_a_tally_takes_each_meter_of_the_region_at_commitment_once_its_readings_are_final(
    forecast_ledger, feeder_meters, smart_meter, admin, owner, grid_operator, stranger, chain
):
    first = ahead(chain)
    vectors = around([1_000] * WINDOW)
    tally = forecast_ledger.tallyMeters
    with reverts(forecast_ledger.ForecastNotCommitted, regionId=REGION, firstInterval=first):
        tally(REGION, first, feeder_meters, sender=stranger)
    forecast_ledger.commitForecast(REGION, first, *vectors.args(), sender=grid_operator)
    late, elsewhere = meter_address("late"), meter_address("elsewhere")
    smart_meter.registerMeter(late, owner, REGION, 0, 0, sender=admin)  # after the commitment
    smart_meter.registerMeter(elsewhere, owner, OTHER_REGION, 0, 0, sender=admin)
    end_s = (first + WINDOW) * INTERVAL_SECONDS
    with reverts(forecast_ledger.WindowNotEnded, regionId=REGION, firstInterval=first, windowEndTime=end_s):
        tally(REGION, first, feeder_meters, sender=stranger)

    # The first two meters read through the window and after it; the third has not read since.
    energy = feeder_energy(feeder_meters[:2])
    write_window(smart_meter, admin, chain, first, energy)
    with reverts(forecast_ledger.EmptyBatch):
        tally(REGION, first, [], sender=stranger)
    with reverts(forecast_ledger.BatchTooLarge, size=MAX_TALLY_BATCH + 1, maxSize=MAX_TALLY_BATCH):
        tally(REGION, first, [feeder_meters[0]] * (MAX_TALLY_BATCH + 1), sender=stranger)
    unknown = meter_address("unknown")
    with reverts(smart_meter.MeterUnknown, meter=unknown):
        tally(REGION, first, [unknown], sender=stranger)
    with reverts(forecast_ledger.MeterNotInRegion, meter=elsewhere, meterRegionId=OTHER_REGION, regionId=REGION):
        tally(REGION, first, [elsewhere], sender=stranger)
    index = smart_meter.regionMeterIndex(late)
    with reverts(forecast_ledger.MeterRegisteredAfterCommit, meter=late, regionIndex=index, meterCount=index):
        tally(REGION, first, [late], sender=stranger)
    with reverts(forecast_ledger.MeterAlreadyTallied, meter=feeder_meters[0]):
        tally(REGION, first, [feeder_meters[0], feeder_meters[1], feeder_meters[0]], sender=stranger)
    silent = feeder_meters[2]
    registered_s = smart_meter.getMeter(silent).lastReadingAt
    with reverts(forecast_ledger.MeterReadingsPending, meter=silent, lastReadingAt=registered_s, finalAt=end_s + MAX_READING_AGE_S):
        tally(REGION, first, [silent], sender=stranger)
    tally(REGION, first, feeder_meters[:2], sender=stranger)
    assert not forecast_ledger.isMeterTallied(REGION, first, late)
    assert not forecast_ledger.isMeterTallied(REGION, first, elsewhere)

    # Once no reading can land in the window any more, the silent meter counts with what its profile holds: nothing.
    chain.pending_timestamp = end_s + MAX_READING_AGE_S
    tally(REGION, first, [silent], sender=stranger)
    assert forecast_ledger.getForecast(REGION, first).metersTallied == 3
    assert forecast_ledger.getNetImport(REGION, first) == expected_score(energy, vectors)["net"]


def test_only_the_committed_vectors_score(forecast_ledger, feeder_meters, smart_meter, admin, grid_operator, stranger, chain):
    first = ahead(chain)
    vectors = around([1_000] * WINDOW)
    for view in (forecast_ledger.getForecast, forecast_ledger.getNetImport, forecast_ledger.getScore):
        with reverts(forecast_ledger.ForecastNotCommitted, regionId=REGION, firstInterval=first):
            view(REGION, first)
    with reverts(forecast_ledger.ForecastNotCommitted, regionId=REGION, firstInterval=first):
        forecast_ledger.scoreForecast(REGION, first, *vectors.args(), sender=stranger)
    with reverts(forecast_ledger.ForecastNotCommitted, regionId=REGION, firstInterval=first):
        forecast_ledger.isMeterTallied(REGION, first, feeder_meters[0])
    forecast_ledger.commitForecast(REGION, first, *vectors.args(), sender=grid_operator)
    write_window(smart_meter, admin, chain, first, feeder_energy(feeder_meters))
    forecast_ledger.tallyMeters(REGION, first, feeder_meters, sender=stranger)
    # A lower P90 after the fact would hide an inflated one: refused.
    lowered = Vectors(vectors.p10, vectors.p50, [q - 50 for q in vectors.p90])
    mismatch = {"regionId": REGION, "firstInterval": first, "givenHash": lowered.hash, "committedHash": vectors.hash}
    with reverts(forecast_ledger.ForecastMismatch, **mismatch):
        forecast_ledger.scoreForecast(REGION, first, *lowered.args(), sender=stranger)
    with reverts(forecast_ledger.ForecastMismatch, **mismatch):
        forecast_ledger.previewScore(REGION, first, *lowered.args())


def test_every_function_error_and_event_is_exercised():
    assert unexercised_abi_items("ForecastLedger", ["test_forecast_ledger.py"]) == []

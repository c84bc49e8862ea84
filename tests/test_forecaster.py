"""The forecasting service (energy_grid.services.reporters.forecaster) on a node of its own: three
meters with eight days of history, a load that rises in the evening and on weekdays, forecast at
12:00 for the next day and committed once in ForecastLedger before the gate; the forecast follows the
evening peak; after the day is metered it is tallied and scored on chain, and the service's metrics
give the band's coverage. A region with two days of history gets no forecast (the planner falls
back on its rule), and a service that wakes after the gate skips the day."""

from __future__ import annotations

import numpy as np
import pytest

from energy_grid.domain.units import DAY_SECONDS, INTERVALS_PER_DAY
from energy_grid.forecast.model import QuantileForecaster
from energy_grid.services.reporters.forecaster import Forecaster
from energy_grid.services.reporters.service import run_service

from support.anvil_node import AnvilNode, grid_client
from support.reporter_helpers import REGION, Registers, deploy_local, move_to, now_s, operator, register_meters, rpc, sample, submit

HISTORY_DAYS = 8
EVENING = range(72, 80)  # 18:00..20:00 (UTC: the deployment's zone)
QUICK = QuantileForecaster(max_iter=30)  # a small model: the test checks the service, not the model's skill


def day_wh(day: int, meter: int) -> list[int]:
    """A meter's import per interval on day `day` (days since 1970): 300 Wh, 1,200 Wh in the evening,
    less at weekends, and a deterministic wobble so that no two days are the same."""
    weekend = (day + 3) % 7 >= 5
    rng = np.random.default_rng([day, meter])
    base = [1_200 if k in EVENING else 300 for k in range(INTERVALS_PER_DAY)]
    return [round(wh * (0.8 if weekend else 1.0) * rng.uniform(0.9, 1.1)) for wh in base]


def readings(registers: Registers, first_day: int, last_day: int, count: int | None = None) -> list:
    entries = []
    for day in range(first_day, last_day + 1):
        for k in range(count if count is not None and day == last_day else INTERVALS_PER_DAY):
            wh = [day_wh(day, m)[k] for m in range(len(registers.meters))]
            entries += registers.readings(day * INTERVALS_PER_DAY + k, wh)
    return entries


@pytest.fixture(scope="module")
def forecast_node(tmp_path_factory, project, networks, accounts):
    """Three meters read through eight whole days and the morning of the ninth (day D − 1); the
    chain at 12:00 of D − 1."""
    node = AnvilNode(tmp_path_factory.mktemp("forecast-node")).start()
    manifest = deploy_local(node, project, networks, accounts[0])
    client = grid_client(node, manifest)
    rpc(client, "anvil_setBlockTimestampInterval", [1])
    meters, _ = register_meters(client, "forecast", 3)
    first_day = now_s(client) // DAY_SECONDS + 1
    day = first_day + HISTORY_DAYS + 1  # the day forecast
    registers = Registers(meters)
    for metered in range(first_day, day - 1):  # each day read as it ends: SmartMeter refuses week-old readings
        move_to(client, (metered + 1) * DAY_SECONDS + 30)
        submit(client, readings(registers, metered, metered))
    move_to(client, (day - 1) * DAY_SECONDS + DAY_SECONDS // 2 + 30)
    submit(client, readings(registers, day - 1, day - 1, count=INTERVALS_PER_DAY // 2))
    yield node, manifest, registers, day
    node.stop()


@pytest.fixture
def forecast_chain(forecast_node):
    node, manifest, registers, day = forecast_node
    client = grid_client(node, manifest)
    snapshot = rpc(client, "evm_snapshot")
    saved = (dict(registers.import_wh), dict(registers.export_wh))
    yield client, registers, day
    registers.import_wh, registers.export_wh = saved
    rpc(client, "evm_revert", [snapshot])


def service(client) -> Forecaster:
    return Forecaster(client, {REGION: operator()}, forecaster=QUICK)


def test_the_next_day_is_forecast_at_noon_committed_once_and_follows_the_evening_peak(forecast_chain):
    client, _, day = forecast_chain
    forecaster = service(client)
    first_interval = day * INTERVALS_PER_DAY
    assert client.forecast_ledger.committed_forecast(REGION, first_interval) is None
    run_service(forecaster, once=True)
    committed = client.forecast_ledger.committed_forecast(REGION, first_interval)
    assert committed is not None and committed.interval_count == INTERVALS_PER_DAY
    p10, p50, p90 = (np.array(v) for v in committed.vectors())
    assert (p10 <= p50).all() and (p50 <= p90).all()
    evening, rest = p50[list(EVENING)].mean(), np.delete(p50, list(EVENING)).mean()
    assert evening > 2.5 * rest  # three meters: about 3,600 Wh in the evening against 900
    expected = np.mean([sum(day_wh(d, m)[k] for m in range(3)) for d in range(day - 8, day - 1) for k in EVENING])
    assert abs(evening - expected) < 0.25 * expected
    assert sample(forecaster.metrics, "reports_total", kind="forecast") == 1

    restarted = service(client)  # a restart reads the ledger: nothing is committed twice
    run_service(restarted, once=True)
    assert sample(restarted.metrics, "reports_total", kind="forecast") == 0


def test_a_forecast_is_tallied_and_scored_once_its_day_is_metered(forecast_chain):
    client, registers, day = forecast_chain
    forecaster = service(client)
    run_service(forecaster, once=True)
    first_interval = day * INTERVALS_PER_DAY
    committed = client.forecast_ledger.committed_forecast(REGION, first_interval)
    assert committed is not None
    move_to(client, (day + 1) * DAY_SECONDS + 60)
    # The rest of D − 1 and the whole of D, metered.
    entries = []
    for k in range(INTERVALS_PER_DAY // 2, INTERVALS_PER_DAY):
        entries += registers.readings((day - 1) * INTERVALS_PER_DAY + k, [day_wh(day - 1, m)[k] for m in range(3)])
    entries += readings(registers, day, day)
    submit(client, entries)
    run_service(forecaster, once=True)
    score = client.forecast_ledger.get_score(REGION, first_interval)
    assert score.scored_at > 0 and score.meters_tallied == 3
    truth = np.array([sum(day_wh(day, m)[k] for m in range(3)) for k in range(INTERVALS_PER_DAY)])
    p10, _, p90 = (np.array(v) for v in committed.vectors())
    assert score.covered_intervals == int(((truth >= p10) & (truth <= p90)).sum())
    assert score.exceeded_p90_intervals == int((truth > p90).sum())
    coverage = sample(forecaster.metrics, "band_coverage", region=str(REGION))
    assert coverage == pytest.approx(score.covered_intervals / INTERVALS_PER_DAY)
    assert sample(forecaster.metrics, "reports_total", kind="score") == 1
    run_service(forecaster, once=True)  # scored already: nothing sent again
    assert sample(forecaster.metrics, "reports_total", kind="score") == 1


def test_a_short_history_gives_no_forecast_and_a_late_service_skips_the_day(forecast_chain):
    client, _, day = forecast_chain
    forecaster = service(client)
    # Day D − 7 forecast from the two days before it: too little to learn from.
    short_day = day - HISTORY_DAYS + 1
    assert forecaster.forecast_day(REGION, forecaster.regions[REGION], short_day) is None
    # Woken after D's gate closed: the day is skipped, nothing committed.
    first_interval = day * INTERVALS_PER_DAY
    move_to(client, client.forecast_ledger.gate_closure_time(first_interval) + 1)
    run_service(forecaster, once=True)
    assert client.forecast_ledger.committed_forecast(REGION, first_interval) is None
    assert sample(forecaster.metrics, "skipped_total", reason="missed") == 1

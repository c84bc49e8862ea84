"""The forecasting service (energy_grid.services.reporters.forecaster) on a node of its own: three
meters with eight days of history, a load that rises in the evening and on weekdays, forecast at
12:00 for the next day and committed once in ForecastLedger before the gate; the forecast follows the
evening peak; after the day is metered it is tallied and scored on chain, and the service's metrics
give the band's coverage. A region with two days of history gets no forecast (the planner falls
back on its rule), and a service that wakes after the gate skips the day.

Link limits: a region that is a zone of the market gets the day's limits from its committed P10
and P90 in the same round, sent once (a restarted service sends only what is not in force); a zone
with too short a history for a forecast gets the cautious rule's; a region that is no zone none.

Each interval metered brings the forecast of the interval an hour ahead, scored once it is metered
in turn; at 12:00 the community's PV production of the next day is forecast, and scored once metered;
both are served as JSON beside the metrics, and a restarted service serves the same again.

A household forecasts its own meter's next day on its own machine (`energy-grid meters forecast`):
the same pipeline, nothing sent."""

from __future__ import annotations

import numpy as np
import pytest
from eth_account import Account
from eth_account.signers.local import LocalAccount
from eth_utils import keccak

from energy_grid.api.services.served_forecasts import served_forecasts
from energy_grid.chain.accounts import anvil_account
from energy_grid.contracts.client import GridClient
from energy_grid.contracts.zones import NO_LIMIT, LinkLimitsKW
from energy_grid.domain.demand_response import day_loading_forecast
from energy_grid.domain.link_limits import LIMIT_STEP_KW, headroom_kw, limit_runs
from energy_grid.domain.units import DAY_SECONDS, INTERVAL_SECONDS, INTERVALS_PER_DAY, transformer_loading_per_mille
from energy_grid.forecast.day_ahead import HOUR_AHEAD, MIN_DAYS
from energy_grid.forecast.features import feature_names
from energy_grid.forecast.model import QuantileForecaster
from energy_grid.forecast.solar import load_weather, pv_inputs
from energy_grid.services.reporters.forecaster import Forecaster
from energy_grid.services.reporters.service import run_service
from energy_grid.services.reporters.weather_model import weather_forecast_at
from energy_grid.services.runtime import MetricsServer

from support.anvil_node import AnvilNode, grid_client
from support.cli_helpers import cli_runner
from support.reporter_helpers import REGION, Registers, deploy_local, move_to, now_s, operator, register_meters, rpc, sample, submit

HISTORY_DAYS = 8
SHORT_REGION, SHORT_DAYS = REGION + 1, 2  # a region whose meters read for two days: too little to learn from
SHORT_OPERATOR_INDEX = 3
RATING_KVA = 30  # three meters' evening (about 14 kW) takes half the rating, the night an eighth
EVENING = range(72, 80)  # 18:00..20:00 (UTC: the deployment's zone)
DAYLIGHT = range(40, 57)  # 10:00..14:15: the PV on the second meter's roof
PV_METER = 1
QUICK = QuantileForecaster(max_iter=30)  # a small model: the test checks the service, not the model's skill


def day_wh(day: int, meter: int) -> list[int]:
    """A meter's import per interval on day `day` (days since 1970): 300 Wh, 1,200 Wh in the evening,
    less at weekends, and a deterministic wobble so that no two days are the same."""
    weekend = (day + 3) % 7 >= 5
    rng = np.random.default_rng([day, meter])
    base = [1_200 if k in EVENING else 300 for k in range(INTERVALS_PER_DAY)]
    return [round(wh * (0.8 if weekend else 1.0) * rng.uniform(0.9, 1.1)) for wh in base]


def pv_wh(day: int, meter: int) -> list[int]:
    """A meter's production per interval on day `day`: on PV_METER's roof up to 300 Wh at 12:00,
    less on a cloudy day; none elsewhere."""
    if meter != PV_METER:
        return [0] * INTERVALS_PER_DAY
    sky = np.random.default_rng([day, meter, 1]).uniform(0.6, 1.0)
    middle, half = (DAYLIGHT.start + DAYLIGHT.stop - 1) / 2, (DAYLIGHT.stop - DAYLIGHT.start) / 2
    return [round(300 * sky * np.cos(np.pi / 2 * (k - middle) / half)) if k in DAYLIGHT else 0 for k in range(INTERVALS_PER_DAY)]


def net_wh(day: int, k: int, meters: int = 3) -> int:
    """The region's net import in interval `k` of day `day`."""
    return sum(day_wh(day, m)[k] - pv_wh(day, m)[k] for m in range(meters))


def interval_readings(registers: Registers, day: int, intervals: range) -> list:
    entries = []
    for k in intervals:
        meters = range(len(registers.meters))
        entries += registers.readings(day * INTERVALS_PER_DAY + k, [day_wh(day, m)[k] for m in meters], [pv_wh(day, m)[k] for m in meters])
    return entries


def readings(registers: Registers, first_day: int, last_day: int, count: int | None = None) -> list:
    entries = []
    for day in range(first_day, last_day + 1):
        entries += interval_readings(registers, day, range(count if count is not None and day == last_day else INTERVALS_PER_DAY))
    return entries


@pytest.fixture(scope="module")
def forecast_node(tmp_path_factory, project, networks, accounts):
    """Three meters read through eight whole days and the morning of the ninth (day D − 1), and in
    region SHORT_REGION two meters read only through the last SHORT_DAYS whole days and that morning;
    the chain at 12:00 of D − 1."""
    node = AnvilNode(tmp_path_factory.mktemp("forecast-node")).start()
    manifest = deploy_local(node, project, networks, accounts[0])
    client = grid_client(node, manifest)
    rpc(client, "anvil_setBlockTimestampInterval", [1])
    meters, _ = register_meters(client, "forecast", 3)
    short_meters, _ = register_meters(client, "short-history", 2, region_id=SHORT_REGION)
    first_day = now_s(client) // DAY_SECONDS + 1
    day = first_day + HISTORY_DAYS + 1  # the day forecast
    registers, short = Registers(meters), Registers(short_meters)
    for metered in range(first_day, day - 1):  # each day read as it ends: SmartMeter refuses week-old readings
        move_to(client, (metered + 1) * DAY_SECONDS + 30)
        short_entries = readings(short, metered, metered) if metered >= day - 1 - SHORT_DAYS else []
        submit(client, readings(registers, metered, metered) + short_entries)
    move_to(client, (day - 1) * DAY_SECONDS + DAY_SECONDS // 2 + 30)
    morning = INTERVALS_PER_DAY // 2
    submit(client, readings(registers, day - 1, day - 1, count=morning) + readings(short, day - 1, day - 1, count=morning))
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


def service(client: GridClient) -> Forecaster:
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
    # The region is no zone of the market: its link is left alone.
    assert sample(forecaster.metrics, "reports_total", kind="link_limits") == 0
    assert sample(forecaster.metrics, "link_limit_days_total", region=str(REGION), source="committed") == 0

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
    submit(client, interval_readings(registers, day - 1, range(INTERVALS_PER_DAY // 2, INTERVALS_PER_DAY)) + readings(registers, day, day))
    run_service(forecaster, once=True)
    score = client.forecast_ledger.get_score(REGION, first_interval)
    assert score.scored_at > 0 and score.meters_tallied == 3
    truth = np.array([net_wh(day, k) for k in range(INTERVALS_PER_DAY)])
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


# ----------------------------------------------------------------------------- an hour ahead, community PV


def test_each_interval_metered_brings_a_forecast_an_hour_ahead_scored_once_it_is_metered(forecast_chain):
    client, registers, day = forecast_chain
    forecaster = service(client)
    run_service(forecaster, once=True)
    label = str(REGION)
    noon = (day - 1) * INTERVALS_PER_DAY + INTERVALS_PER_DAY // 2  # the morning is metered: the latest interval is noon − 1
    target = noon + HOUR_AHEAD
    assert sample(forecaster.metrics, "hour_ahead_interval_start_seconds", region=label) == target * INTERVAL_SECONDS
    low, median, high = (sample(forecaster.metrics, "hour_ahead_wh", region=label, quantile=q) for q in ("p10", "p50", "p90"))
    assert low <= median <= high
    expected = np.mean([net_wh(d, target % INTERVALS_PER_DAY) for d in range(day - 8, day - 1)])
    assert abs(median - expected) < 0.3 * expected
    served = forecaster.documents()["/forecasts"]()["regions"][label]["hour_ahead"]
    assert served == {"interval_start_s": target * INTERVAL_SECONDS, "metered_through_s": noon * INTERVAL_SECONDS,
                      "p10_wh": round(low), "p50_wh": round(median), "p90_wh": round(high)}  # fmt: skip
    # A restarted service learns the same model and serves the same forecast.
    restarted = service(client)
    run_service(restarted, once=True)
    assert restarted.documents()["/forecasts"]()["regions"][label]["hour_ahead"] == served

    # Metered through the target interval (the next one not yet): its forecast is scored, and the
    # interval an hour after the latest metered is forecast.
    move_to(client, (target + 2) * INTERVAL_SECONDS + 30)
    submit(client, interval_readings(registers, day - 1, range(noon % INTERVALS_PER_DAY, target % INTERVALS_PER_DAY + 1)))
    run_service(forecaster, once=True)
    assert sample(forecaster.metrics, "hour_ahead_interval_start_seconds", region=label) == (target + 1 + HOUR_AHEAD) * INTERVAL_SECONDS
    truth = net_wh(day - 1, target % INTERVALS_PER_DAY)
    assert sample(forecaster.metrics, "hour_ahead_coverage", region=label) == (1.0 if low <= truth <= high else 0.0)
    before = net_wh(day - 2, target % INTERVALS_PER_DAY)
    if truth != before:
        assert sample(forecaster.metrics, "hour_ahead_skill", region=label) == pytest.approx(1 - abs(truth - median) / abs(truth - before))


def test_a_silent_meter_holds_the_forecast_an_hour_ahead_back_for_an_hour_at_most(forecast_chain):
    client, registers, day = forecast_chain
    forecaster = service(client)
    run_service(forecaster, once=True)
    label = str(REGION)
    noon = (day - 1) * INTERVALS_PER_DAY + INTERVALS_PER_DAY // 2
    silent = registers.meters[2]

    def others_read(intervals: range) -> None:
        entries = interval_readings(registers, day - 1, range(intervals.start % INTERVALS_PER_DAY, intervals.stop % INTERVALS_PER_DAY))
        submit(client, [(meter, reading) for meter, reading in entries if meter != silent])

    # Half an hour on, two meters have read and the third has not: the region waits for it.
    move_to(client, (noon + 2) * INTERVAL_SECONDS + 30)
    others_read(range(noon, noon + 2))
    run_service(forecaster, once=True)
    assert sample(forecaster.metrics, "hour_ahead_interval_start_seconds", region=label) == (noon + HOUR_AHEAD) * INTERVAL_SECONDS
    # Silent for more than an hour: it is left out, and the forecasts go on from the others' readings.
    move_to(client, (noon + 5) * INTERVAL_SECONDS + 30)
    others_read(range(noon + 2, noon + 5))
    run_service(forecaster, once=True)
    assert sample(forecaster.metrics, "hour_ahead_interval_start_seconds", region=label) == (noon + 5 + HOUR_AHEAD) * INTERVAL_SECONDS


def test_the_communitys_pv_of_the_next_day_is_forecast_at_noon_served_and_scored_once_metered(forecast_chain):
    client, registers, day = forecast_chain
    forecaster = service(client)
    run_service(forecaster, once=True)
    pv = forecaster.documents()["/forecasts"]()["community_pv"]
    assert pv["day_start_s"] == day * DAY_SECONDS and pv["interval_seconds"] == INTERVAL_SECONDS
    p10, p50, p90 = (np.array(pv[f"{q}_wh"]) for q in ("p10", "p50", "p90"))
    assert len(p50) == INTERVALS_PER_DAY and (p10 >= 0).all() and (p10 <= p50).all() and (p50 <= p90).all()
    assert p90[[k for k in range(INTERVALS_PER_DAY) if k not in DAYLIGHT]].max() <= 5  # no sun, no production
    metered = np.mean([sum(pv_wh(d, PV_METER)) for d in range(day - 8, day - 1)])
    assert abs(p50.sum() - metered) < 0.3 * metered
    assert client.forecast_ledger.committed_forecast(REGION, day * INTERVALS_PER_DAY) is not None  # the region's own, as before

    # The web app's API reads both from the forecaster's /forecasts, as served.
    server = MetricsServer(forecaster.metrics.registry, health=dict, documents=forecaster.documents()).start()
    try:
        passed_on = served_forecasts(server.url)
    finally:
        server.stop()
    assert passed_on.communityPv is not None and passed_on.communityPv.p50Wh == pv["p50_wh"]
    hour_ahead = forecaster.documents()["/forecasts"]()["regions"][str(REGION)]["hour_ahead"]
    assert [(h.regionId, h.start, h.p50Wh) for h in passed_on.hourAhead] == [(REGION, hour_ahead["interval_start_s"], hour_ahead["p50_wh"])]

    # Once the day is metered, the forecast is scored against the production the meters metered.
    move_to(client, (day + 1) * DAY_SECONDS + 60)
    submit(client, interval_readings(registers, day - 1, range(INTERVALS_PER_DAY // 2, INTERVALS_PER_DAY)) + readings(registers, day, day))
    kept = forecaster.pv_forecasts[day]
    run_service(forecaster, once=True)
    assert day not in forecaster.pv_forecasts and len(forecaster.pv_scores) == 1  # scored, once
    truth = np.array(pv_wh(day, PV_METER), dtype=float)
    daylight = (truth > 0) | (kept[:, 2] > 0)
    covered = (kept[daylight, 0] <= truth[daylight]) & (truth[daylight] <= kept[daylight, 2])
    assert sample(forecaster.metrics, "pv_band_coverage") == pytest.approx(covered.mean())
    assert sample(forecaster.metrics, "pv_daily_energy_error") == pytest.approx(abs(kept[:, 1].sum() - truth.sum()) / truth.sum())


def test_with_a_weather_forecast_the_communitys_pv_is_learned_in_proportion_to_the_clear_sky(forecast_chain):
    client, _, day = forecast_chain
    forecaster = Forecaster(client, {REGION: operator()}, forecaster=QUICK, weather=weather_forecast_at)
    run_service(forecaster, once=True)
    pv = forecaster.documents()["/forecasts"]()["community_pv"]
    p10, p50, p90 = (np.array(pv[f"{q}_wh"]) for q in ("p10", "p50", "p90"))
    assert (p10 >= 0).all() and (p10 <= p50).all() and (p50 <= p90).all()
    metered = np.mean([sum(pv_wh(d, PV_METER)) for d in range(day - 8, day - 1)])
    assert abs(p50.sum() - metered) < 0.3 * metered
    # PV's model reads the clear-sky indices and no calendar (energy_grid.forecast.solar); the region's
    # load model reads the calendar and the weather as it comes.
    pv_model, load_model = forecaster.pv_model.model, forecaster.regions[REGION].day_ahead.model
    assert pv_model is not None and pv_model.columns is not None and load_model is not None and load_model.columns is not None
    weather = weather_forecast_at(np.zeros(1, dtype=np.int64))
    solar = pv_inputs(weather, QUICK)
    assert solar.scale is not None and len(pv_model.columns) == len(feature_names(solar.weather))
    assert pv_model.ignored_columns and not pv_model.columns[list(pv_model.ignored_columns)].any()
    assert load_model.ignored_columns == () and len(load_model.columns) == len(feature_names(load_weather(weather)))


# ----------------------------------------------------------------------------- link limits


def make_zone(client: GridClient, region_id: int, region_operator: LocalAccount, *, rated: bool = True) -> None:
    """The region becomes a zone of the market, its link rated RATING_KVA by its operator's load report
    (none unless `rated`); an operator other than the deployer is registered and verified first."""
    if region_operator.address != operator().address:
        client.grid_management.register_operator(region_operator, f"Feeder {region_id}", region_id, RATING_KVA)
        client.grid_management.verify_operator(operator(), region_operator.address)
    if rated:
        client.grid_operations.report_load(region_operator, region_id, RATING_KVA, 0)
    zones = client.market_zones
    assert zones is not None
    zones.add_zone(operator(), region_id)


def limits_in_force(client: GridClient, region_id: int, first_interval: int) -> list[LinkLimitsKW]:
    zones = client.market_zones
    assert zones is not None
    return [zones.link_limits_kw(region_id, period) for period in range(first_interval, first_interval + INTERVALS_PER_DAY)]


def test_a_zone_gets_the_days_link_limits_from_its_committed_forecast_once(forecast_chain):
    client, _, day = forecast_chain
    make_zone(client, REGION, operator())
    forecaster = service(client)
    run_service(forecaster, once=True)
    first_interval = day * INTERVALS_PER_DAY
    committed = client.forecast_ledger.committed_forecast(REGION, first_interval)
    assert committed is not None
    # The loading bound: the band's worst loading widened by the margin the forecast's calibration
    # called for (the same model forecasts the day again alike).
    made = forecaster.forecast_day(REGION, forecaster.regions[REGION], day)
    assert made is not None and made.forecast == committed and len(made.loading_margin_wh) == INTERVALS_PER_DAY
    loading = day_loading_forecast([], (committed.p10_wh, committed.p90_wh), RATING_KVA, made.loading_margin_wh)
    expected = headroom_kw(loading, RATING_KVA)
    assert len(set(expected)) > 1  # the evening leaves the link less room than the night
    assert limits_in_force(client, REGION, first_interval) == [(kw, kw) for kw in expected]
    runs = limit_runs(first_interval, expected, INTERVALS_PER_DAY)
    assert sample(forecaster.metrics, "reports_total", kind="link_limits") == len(runs)
    assert sample(forecaster.metrics, "link_limit_days_total", region=str(REGION), source="committed") == 1

    run_service(forecaster, once=True)  # a second round: nothing sent again
    assert sample(forecaster.metrics, "reports_total", kind="link_limits") == len(runs)

    # As if the service was killed before its last run: that run's periods are still unlimited, and a
    # restarted service sends that run only.
    last_first, last_count, _ = runs[-1]
    zones = client.market_zones
    assert zones is not None
    zones.set_link_limits(operator(), REGION, last_first, last_count, NO_LIMIT, NO_LIMIT)
    restarted = service(client)
    run_service(restarted, once=True)
    assert sample(restarted.metrics, "reports_total", kind="link_limits") == 1
    assert limits_in_force(client, REGION, first_interval) == [(kw, kw) for kw in expected]

    # A limit the operator set by hand stays: the service limits only what is unlimited.
    zones.set_link_limits(operator(), REGION, first_interval, 1, LIMIT_STEP_KW, LIMIT_STEP_KW)
    run_service(service(client), once=True)
    assert limits_in_force(client, REGION, first_interval)[0] == (LIMIT_STEP_KW, LIMIT_STEP_KW)


def test_a_zone_too_short_of_history_for_a_forecast_gets_the_cautious_limits_once_rated(forecast_chain):
    client, _, day = forecast_chain
    short_operator = anvil_account(SHORT_OPERATOR_INDEX)
    make_zone(client, SHORT_REGION, short_operator, rated=False)
    forecaster = Forecaster(client, {SHORT_REGION: short_operator}, forecaster=QUICK)
    run_service(forecaster, once=True)
    first_interval = day * INTERVALS_PER_DAY
    assert client.forecast_ledger.committed_forecast(SHORT_REGION, first_interval) is None
    assert sample(forecaster.metrics, "skipped_total", reason="short_history") == 1
    # Without a load report there is no rating to take the headroom of: nothing is set.
    assert limits_in_force(client, SHORT_REGION, first_interval) == [(NO_LIMIT, NO_LIMIT)] * INTERVALS_PER_DAY
    assert sample(forecaster.metrics, "reports_total", kind="link_limits") == 0

    client.grid_operations.report_load(short_operator, SHORT_REGION, RATING_KVA, 0)
    forecaster = Forecaster(client, {SHORT_REGION: short_operator}, forecaster=QUICK)
    run_service(forecaster, once=True)
    # The cautious rule over the whole days before the round's: each time of day's highest loading
    # of the two days metered.
    metered = [
        [transformer_loading_per_mille(sum(day_wh(d, m)[k] for m in range(2)), RATING_KVA) for k in range(INTERVALS_PER_DAY)]
        for d in range(day - 1 - SHORT_DAYS, day - 1)
    ]
    expected = headroom_kw(day_loading_forecast(metered), RATING_KVA)
    assert len(set(expected)) > 1
    assert limits_in_force(client, SHORT_REGION, first_interval) == [(kw, kw) for kw in expected]
    assert sample(forecaster.metrics, "link_limit_days_total", region=str(SHORT_REGION), source="cautious") == 1
    assert sample(forecaster.metrics, "link_limit_days_total", region=str(SHORT_REGION), source="committed") == 0


# ----------------------------------------------------------------------------- a household's own forecast


def test_a_household_forecasts_its_meters_next_day_on_its_own_machine_and_sends_nothing(forecast_node, forecast_chain):
    node, manifest, registers, day = forecast_node
    client = forecast_chain[0]
    run = cli_runner(node.url, manifest)
    meter = registers.meters[0]
    block = client.w3.eth.block_number
    answer = run("meters", "forecast", meter).json()
    assert client.w3.eth.block_number == block  # nothing sent
    assert answer["day_start_s"] == day * DAY_SECONDS  # the deployment's zone is UTC
    hours = answer["hours"]
    assert [h["start_s"] for h in hours] == [day * DAY_SECONDS + 3_600 * h for h in range(24)]
    assert all(h["p10_w"] <= h["p50_w"] <= h["p90_w"] for h in hours)
    # An hour's mean power is its four quarter-hours' Wh together: the evening's 1,200 Wh each make
    # about 4.8 kW, the rest of the day about 1.2 kW (less at weekends, ±10 % each day).
    metered_w = [[sum(day_wh(d, 0)[4 * h : 4 * h + 4]) for h in range(24)] for d in range(day - 8, day - 1)]
    for h in (18, 19, 3):
        expected_w = np.mean([w[h] for w in metered_w])
        assert abs(hours[h]["p50_w"] - expected_w) < 0.2 * expected_w
    assert abs(answer["median_wh"] - np.mean([sum(day_wh(d, 0)) for d in range(day - 8, day - 1)])) < 0.15 * answer["median_wh"]
    text = " ".join(run("meters", "forecast", meter, json_output=False).stdout.split())
    assert f"Net import tomorrow: about {answer['median_wh'] / 1_000:,.1f} kWh (P50)" in text  # no PV on these meters: a day of import

    # A meter with two days read, and an address that is no meter: one sentence each, no traceback.
    short_meter = Account.from_key(keccak(text="short-history-meter-0")).address  # register_meters' naming
    refused = run("meters", "forecast", short_meter, expect=1, json_output=False)
    assert refused.stderr.strip() == (
        f"Error: Meter {short_meter} has too little history for a forecast yet "
        f"({SHORT_DAYS} whole days metered before the day the forecast is made: at least {MIN_DAYS} are needed)."
    )
    stranger = anvil_account(9).address
    unknown = run("meters", "forecast", stranger, expect=1, json_output=False)
    assert unknown.stderr.strip().endswith(f"No meter is registered at {stranger}.")

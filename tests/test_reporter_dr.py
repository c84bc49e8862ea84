"""The demand-response planner (energy_grid.services.reporters.dr_planner) on a node of its own: five
days of meter history with an evening peak plan the day's event centred on the peak, which is
started once in the interval before its window; after the window the consumer who reduced is
verified with its meter's figures and paid, the one who did not is left out, nothing twice, and the
event is completed after its verification deadline; a planner down through the start skips the
event, and a planner without the operator's registration stops with one sentence. A forecast the operator
committed in ForecastLedger plans the day in place of the meters' history, and ForecastLedger's binding
commits, tallies and scores one."""

from __future__ import annotations

import logging

import pytest
from eth_account.signers.local import LocalAccount

from energy_grid.chain.errors import InvalidInputError
from energy_grid.contracts.client import GridClient
from energy_grid.contracts.forecasts import QuantileForecast
from energy_grid.domain.demand_response import cautious_forecast, centred_window, day_loading_forecast
from energy_grid.domain.units import DAY_SECONDS, INTERVAL_SECONDS, INTERVALS_PER_DAY
from energy_grid.services.reporters.dr_planner import DemandResponsePlanner
from energy_grid.services.reporters.service import NotAllowedError, run_service

from support.anvil_node import AnvilNode, grid_client
from support.reporter_helpers import (
    REGION,
    Registers,
    deploy_local,
    move_to,
    nonce,
    now_s,
    operator,
    register_meters,
    rpc,
    sample,
    stranger,
    submit,
)

RATING_KVA = 10
USUAL_WH, PEAK_WH = 500, 2_000  # a quarter hour's import: 2 kW, and 8 kW from 18:00 to 19:00
PEAK = range(72, 76)  # 18:00..19:00, in intervals of the (UTC) day
WINDOW = range(68, 76)  # two hours centred on the peak's first interval
REWARD_PER_KW = 500_000
COMPLETED, REWARDED = 1, 2


def test_the_forecast_takes_each_time_of_day_s_highest_and_the_window_centres_on_its_peak():
    assert cautious_forecast([[1, 5, 2], [3, 4, 0]]) == [3, 5, 2]
    day = [100] * INTERVALS_PER_DAY
    day[72] = day[73] = 900
    assert centred_window(day, INTERVALS_PER_DAY, 8, 800) == (68, 72)
    assert centred_window(day, INTERVALS_PER_DAY, 8, 901) is None  # below the trigger
    assert centred_window(day, 8, 8, 800) is None  # no room after the day's first interval
    day[0] = day[1] = 2_000  # the peak at dawn: the window cannot start before interval 1
    assert centred_window(day, INTERVALS_PER_DAY, 8, 800) == (1, 1)
    assert centred_window(day[:10], 10, 8, 800) == (1, 1)
    late = [0] * 10
    late[9] = 1_000  # at the run's end: the window ends with it
    assert centred_window(late, 10, 4, 800) == (6, 9)


@pytest.fixture(scope="module")
def dr_node(tmp_path_factory, project, networks, accounts):
    """Two consumers' meters with five days of history before day D (D's first interval returned)."""
    node = AnvilNode(tmp_path_factory.mktemp("dr-node")).start()
    manifest = deploy_local(node, project, networks, accounts[0])
    client = grid_client(node, manifest)
    rpc(client, "anvil_setBlockTimestampInterval", [1])
    assert client["PriceDiscovery"].functions.utcOffsetMinutes().call() == 0
    meters, owners = register_meters(client, "dr", 2)
    for meter, owner in zip(meters, owners, strict=True):
        client.transact(operator(), client["DemandResponse"].functions.registerConsumer(owner.address, meter))
    client.transact(operator(), client["PaymentToken"].functions.addConsumerBalance(operator().address, 10_000))
    day_start = (now_s(client) // DAY_SECONDS + 6) * DAY_SECONDS
    move_to(client, day_start + 30)
    registers = Registers(meters)
    first = day_start // INTERVAL_SECONDS
    entries = []
    for interval in range(first - 5 * INTERVALS_PER_DAY, first):
        wh = PEAK_WH if interval % INTERVALS_PER_DAY in PEAK else USUAL_WH
        entries += registers.readings(interval, [wh, wh])
    submit(client, entries)
    yield node, manifest, meters, owners, registers, first
    node.stop()


@pytest.fixture
def dr_chain(dr_node):
    node, manifest, _, owners, registers, first = dr_node
    client = grid_client(node, manifest)
    snapshot = rpc(client, "evm_snapshot")
    saved = (dict(registers.import_wh), dict(registers.export_wh))
    yield client, owners, registers, first
    registers.import_wh, registers.export_wh = saved
    rpc(client, "evm_revert", [snapshot])


def planner(client: GridClient, account: LocalAccount | None = None) -> DemandResponsePlanner:
    return DemandResponsePlanner(client, account or operator(), region_id=REGION, rating_kva=RATING_KVA)


def event_count(client: GridClient) -> int:
    return int(client["DemandResponse"].functions.eventCount().call())


def at(first: int, interval: int, offset_s: int = 10) -> int:
    return (first + interval) * INTERVAL_SECONDS + offset_s


def test_the_event_is_planned_on_the_peak_started_once_then_verified_paid_and_completed(dr_chain):
    client, owners, registers, first = dr_chain
    service = planner(client)
    run_service(service, once=True)
    plan = service.plans[first * INTERVAL_SECONDS]
    assert plan.event is not None
    assert (plan.event.first_interval, plan.event.last_interval) == (first + WINDOW[0], first + WINDOW[-1])
    assert plan.forecast_peak_per_mille == 1_600  # 16 kW on 10 kVA
    assert event_count(client) == 0  # not due before the interval ahead of the window

    move_to(client, at(first, WINDOW[0] - 1))
    run_service(service, once=True)
    run_service(planner(client), once=True)  # restarted: the chain shows the event
    assert event_count(client) == 1
    event = client["DemandResponse"].functions.getEvent(1).call()
    assert (event.startTime, event.endTime) == (at(first, WINDOW[0], 0), at(first, WINDOW[-1] + 1, 0))
    assert event.targetReductionKW == 2  # one kW for each of the two consumers

    # The window: the first consumer halves its evening, the second does not; their meters read it all.
    move_to(client, at(first, WINDOW[-1] + 1))
    entries = []
    for k in range(WINDOW[0] - 4, WINDOW[-1] + 1):
        usual = PEAK_WH if k in PEAK else USUAL_WH
        entries += registers.readings(first + k, [usual // 4 if k in WINDOW else usual, usual])
    submit(client, entries)
    before = nonce(client, operator())
    run_service(service, once=True)

    dr = client["DemandResponse"].functions
    reduced, unchanged = owners[0].address, owners[1].address
    assert dr.getParticipation(1, reduced).call().status == REWARDED
    assert dr.getParticipation(1, unchanged).call().participationId == 0
    assert sample(service.metrics, "reports_total", kind="verification") == 1
    assert sample(service.metrics, "reports_total", kind="distribution") == 1
    assert sample(service.metrics, "skipped_total", reason="no_reduction") == 1
    assert nonce(client, operator()) == before + 2
    run_service(service, once=True)
    run_service(planner(client), once=True)
    assert nonce(client, operator()) == before + 2

    move_to(client, int(dr.getEventBudget(1).call().verificationDeadline) + 1)
    run_service(service, once=True)
    assert dr.getEvent(1).call().status == COMPLETED
    run_service(planner(client), once=True)
    assert nonce(client, operator()) == before + 3


def test_a_batch_the_contract_refuses_is_verified_consumer_by_consumer(dr_chain):
    """Both consumers reduce, but the second's window was rewarded already (a demand program's
    report): the batch is refused whole, so the planner verifies each on its own and the first is
    paid all the same."""
    client, owners, registers, first = dr_chain
    service = planner(client)
    move_to(client, at(first, WINDOW[0] - 1))
    run_service(service, once=True)
    assert event_count(client) == 1
    move_to(client, at(first, WINDOW[-1] + 1))
    entries = []
    for k in range(WINDOW[0] - 4, WINDOW[-1] + 1):
        usual = PEAK_WH if k in PEAK else USUAL_WH
        entries += registers.readings(first + k, [usual // 4 if k in WINDOW else usual] * 2)
    submit(client, entries)
    dr = client["DemandResponse"].functions
    recorder = dr.REDUCTION_RECORDER_ROLE().call()
    client.transact(operator(), dr.grantRole(recorder, operator().address))
    rewarded_meter = dr.getConsumerMeter(owners[1].address).call()
    client.transact(operator(), dr.recordRewardedReduction(rewarded_meter, first + WINDOW[0], first + WINDOW[-1], 1))

    run_service(service, once=True)
    assert dr.getParticipation(1, owners[0].address).call().status == REWARDED
    assert dr.getParticipation(1, owners[1].address).call().participationId == 0
    assert sample(service.metrics, "reports_total", kind="verification") == 1
    assert sample(service.metrics, "skipped_total", reason="refused") == 2  # the batch, then the second alone
    before = nonce(client, operator())
    run_service(service, once=True)  # each consumer is settled: nothing is sent again
    assert nonce(client, operator()) == before


def test_a_planner_down_through_the_start_skips_the_event(dr_chain):
    client, _, _, first = dr_chain
    move_to(client, at(first, WINDOW[0] + 1))
    service = planner(client)
    run_service(service, once=True)
    run_service(service, once=True)
    assert event_count(client) == 0
    assert sample(service.metrics, "skipped_total", reason="missed") == 1


def test_without_the_operator_s_registration_the_planner_stops_with_one_sentence(dr_chain):
    client, _, _, first = dr_chain
    move_to(client, at(first, WINDOW[0] - 1))
    with pytest.raises(NotAllowedError, match=r"may not send startEvent in region 1 .*GridOperatorNotRegistered") as refused:
        run_service(planner(client, stranger()), once=True)
    assert "\n" not in str(refused.value)
    assert event_count(client) == 0


def test_a_committed_forecast_s_loading_is_its_larger_quantile_magnitude_else_the_cautious_rule():
    days = [[100, 200, 300], [300, 100, 200]]
    assert day_loading_forecast(days) == day_loading_forecast(days, ([0, 0], [0, 0]), RATING_KVA)  # not the whole day
    fallback = day_loading_forecast(days)
    assert (fallback.loading_per_mille, fallback.source) == ([300, 200, 300], "cautious")
    # 2,500 Wh a quarter hour is 10 kW, an export of 3,000 Wh 12 kW, 200 Wh 0.8 kW, 1 kW in whole kW:
    # 1,000, 1,200 and 100 per mille of 10 kVA.
    committed = day_loading_forecast(days, ([-100, -3_000, 100], [2_500, 600, 200]), RATING_KVA)
    assert (committed.loading_per_mille, committed.source) == ([1_000, 1_200, 100], "committed")
    with pytest.raises(ValueError, match="rating"):
        day_loading_forecast(days, ([0, 0, 0], [0, 0, 0]), None)


def test_the_planner_plans_from_the_forecast_committed_for_the_day_and_falls_back_without_one(dr_chain, caplog):
    client, _, _, first = dr_chain
    service = planner(client)
    with caplog.at_level(logging.INFO):
        run_service(service, once=True)
    fallback = service.plans[first * INTERVAL_SECONDS]
    assert fallback.forecast_source == "cautious"
    assert fallback.event is not None and fallback.event.first_interval == first + WINDOW[0]  # the meters' evening peak
    assert "falling back on the highest loading of the 5 days before" in caplog.text

    # The operator's forecast of the next day: a morning peak of 10 kW, and the midday PV export of
    # up to 12 kW (its P10) that loads the transformer the most.
    next_day = first + INTERVALS_PER_DAY
    p10, p50, p90 = [-100] * INTERVALS_PER_DAY, [500] * INTERVALS_PER_DAY, [600] * INTERVALS_PER_DAY
    for k in range(32, 36):
        p90[k] = 2_500
    for k in range(48, 52):
        p10[k], p50[k] = -3_000, -1_000
    forecast = QuantileForecast(REGION, next_day, tuple(p10), tuple(p50), tuple(p90))
    client.forecast_ledger.commit_forecast(operator(), forecast)
    assert client.forecast_ledger.committed_forecast(REGION, next_day) == forecast
    assert client.forecast_ledger.committed_forecast(REGION, first) is None

    caplog.clear()
    move_to(client, next_day * INTERVAL_SECONDS + 30)
    with caplog.at_level(logging.INFO):
        run_service(service, once=True)
    plan = service.plans[next_day * INTERVAL_SECONDS]
    assert plan.forecast_source == "committed"
    assert plan.forecast_peak_per_mille == 1_200
    assert plan.event is not None
    assert (plan.event.first_interval, plan.event.last_interval) == (next_day + 44, next_day + 51)  # centred on noon
    assert "falling back" not in caplog.text


def test_the_binding_commits_tallies_and_scores_a_forecast(dr_chain):
    client, _, registers, first = dr_chain
    ledger = client.forecast_ledger
    start = first + 2  # the day is 30 s old: the gate of its third interval is open
    with pytest.raises(InvalidInputError, match="P10 ≤ P50 ≤ P90"):
        ledger.commit_forecast(operator(), QuantileForecast(REGION, start, (300, 600), (500, 500), (700, 700)))
    forecast = QuantileForecast(REGION, start, (300, 300), (500, 500), (700, 700))
    ledger.commit_forecast(operator(), forecast)
    assert ledger.get_forecast(REGION, start).forecast_hash == forecast.forecast_hash
    assert ledger.gate_closure_time(start) == start * INTERVAL_SECONDS - int(client.auction.contract.functions.gateClosure().call())

    # The two meters read 600 Wh, then 900 Wh, then nothing in the interval after the window.
    move_to(client, (start + 3) * INTERVAL_SECONDS)
    entries = registers.readings(start, [200, 400]) + registers.readings(start + 1, [500, 400]) + registers.readings(start + 2, [0, 0])
    submit(client, entries)
    assert ledger.tally_meters(stranger(), REGION, start, registers.meters) == 2
    assert ledger.net_import_wh(REGION, start) == [600, 900]
    assert all(ledger.is_meter_tallied(REGION, start, meter) for meter in registers.meters)
    assert ledger.preview_score(forecast).scored_at == 0
    score = ledger.score_forecast(stranger(), forecast)
    # By hand: 600 Wh is within [300, 700], 900 Wh above P90; P10 loses 0.1 × (300 + 600), P50
    # 0.5 × (100 + 400), P90 0.1 × 100 + 0.9 × 200.
    assert (score.covered_intervals, score.exceeded_p90_intervals) == (1, 1)
    assert (score.pinball_p10_wh, score.pinball_p50_wh, score.pinball_p90_wh) == (90, 250, 190)
    assert (score.interval_count, score.meters_tallied) == (2, 2)
    assert score.scored_at > 0

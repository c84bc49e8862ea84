"""The load reporter (energy_grid.services.reporters.load_reporter) on a node of its own: an
interval's load is the region's metered net import in kW against the rating, reported once, and
again when the chain lost it by going back; a restart after a gap reports only the latest interval;
the rating comes from the option or the region's latest report, and with neither, or without the
operator's role, the service stops with one sentence."""

from __future__ import annotations

import threading

import pytest

from energy_grid.contracts.client import GridClient
from energy_grid.domain.units import INTERVAL_SECONDS, interval_of
from energy_grid.services.reporters.load_reporter import LoadReporter, _Region
from energy_grid.services.reporters.region import RatingUnknownError
from energy_grid.services.reporters.service import NotAllowedError, run_service
from energy_grid.services.runtime import ChainHead

from support.anvil_node import AnvilNode, grid_client
from support.reporter_helpers import (
    REGION,
    Registers,
    deploy_local,
    move_to,
    now_s,
    operator,
    register_meters,
    rpc,
    sample,
    stranger,
    submit,
)

RATING_KVA = 100


@pytest.fixture(scope="module")
def load_node(tmp_path_factory, project, networks, accounts):
    node = AnvilNode(tmp_path_factory.mktemp("load-node")).start()
    manifest = deploy_local(node, project, networks, accounts[0])
    client = grid_client(node, manifest)
    rpc(client, "anvil_setBlockTimestampInterval", [1])
    meters, _ = register_meters(client, "load", 3)
    yield node, manifest, meters
    node.stop()


@pytest.fixture
def load_chain(load_node):
    node, manifest, meters = load_node
    client = grid_client(node, manifest)
    snapshot = rpc(client, "evm_snapshot")
    yield client, meters
    rpc(client, "evm_revert", [snapshot])


def next_interval(client: GridClient) -> int:
    ended = interval_of(now_s(client))
    move_to(client, (ended + 1) * INTERVAL_SECONDS + 10)
    return ended


def report_count(client: GridClient) -> int:
    return int(client["GridOperations"].functions.loadReportCount(REGION).call())


def test_an_interval_s_net_import_is_reported_once(load_chain):
    client, meters = load_chain
    registers = Registers(meters)
    ended = next_interval(client)
    # 9,000 Wh imported and 1,500 Wh exported in a quarter hour: 30 kW net.
    submit(client, registers.readings(ended, [4_000, 5_000, 0], [0, 0, 1_500]))
    service = LoadReporter(client, {REGION: operator()}, rating_kva=RATING_KVA)

    run_service(service, once=True)

    load = client["GridOperations"].functions.getCurrentLoad(REGION).call()
    assert (load.capacityKW, load.demandKW, load.loadPercentage) == (RATING_KVA, 30, 30)
    assert load.reportedAt >= (ended + 1) * INTERVAL_SECONDS
    assert sample(service.metrics, "reports_total", kind="load") == 1
    run_service(service, once=True)
    # Restarted without a rating: the region's latest report says 100 kVA, and it is this interval's.
    run_service(LoadReporter(client, {REGION: operator()}), once=True)
    assert report_count(client) == 1


@pytest.mark.parametrize("going_back", ["node restarted on an older state", "reorganisation"])
def test_a_report_the_chain_lost_by_going_back_is_sent_again(load_chain, going_back):
    client, meters = load_chain
    registers = Registers(meters)
    ended = next_interval(client)
    submit(client, registers.readings(ended, [4_000, 5_000, 0], [0, 0, 1_500]))
    before_report = rpc(client, "evm_snapshot")
    service = LoadReporter(client, {REGION: operator()}, rating_kva=RATING_KVA)
    run_service(service, once=True)
    assert report_count(client) == 1
    if going_back == "reorganisation":
        rpc(client, "anvil_reorg", [1, []])  # the report's block replaced by one without it
    else:
        rpc(client, "evm_revert", [before_report])  # a state saved before the report
    assert report_count(client) == 0

    run_service(service, once=True)

    assert report_count(client) == 1
    assert client["GridOperations"].functions.getCurrentLoad(REGION).call().demandKW == 30
    assert sample(service.metrics, "reports_total", kind="load") == 2


def test_a_restart_after_a_gap_reports_only_the_latest_interval(load_chain):
    client, meters = load_chain
    registers = Registers(meters)
    ended = next_interval(client)
    submit(client, registers.readings(ended, [1_000, 1_000, 1_000]))
    run_service(LoadReporter(client, {REGION: operator()}, rating_kva=RATING_KVA), once=True)

    move_to(client, (ended + 4) * INTERVAL_SECONDS + 10)
    submit(client, registers.readings(ended + 3, [2_500, 2_500, 2_500]))
    restarted = LoadReporter(client, {REGION: operator()})  # the rating from the chain
    run_service(restarted, once=True)

    assert report_count(client) == 2
    load = client["GridOperations"].functions.getCurrentLoad(REGION).call()
    assert (load.capacityKW, load.demandKW) == (RATING_KVA, 30)
    assert sample(restarted.metrics, "skipped_total", reason="missed") == 2


def test_a_report_whose_block_came_after_the_next_interval_ended_does_not_stand_for_that_one(load_chain):
    client, meters = load_chain
    registers = Registers(meters)
    ended = next_interval(client)
    submit(client, registers.readings(ended, [1_000, 1_000, 1_000]))
    service = LoadReporter(client, {REGION: operator()}, rating_kva=RATING_KVA)
    # The report of `ended` lands in a block stamped after the next interval's end (a busy chain).
    rpc(client, "evm_setNextBlockTimestamp", [(ended + 2) * INTERVAL_SECONDS + 5])
    run_service(service, once=True)
    assert report_count(client) == 1
    submit(client, registers.readings(ended + 1, [2_500, 2_500, 2_500]))

    run_service(service, once=True)

    assert report_count(client) == 2
    assert client["GridOperations"].functions.getCurrentLoad(REGION).call().demandKW == 30


def test_the_report_waits_for_the_meters_at_most_the_delay(load_chain):
    client, meters = load_chain
    registers = Registers(meters[:1])
    ended = next_interval(client)
    submit(client, registers.readings(ended, [2_000]))
    service = LoadReporter(client, {REGION: operator()}, rating_kva=RATING_KVA, reading_delay_s=120)
    run_service(service, once=True)
    assert report_count(client) == 0
    move_to(client, (ended + 1) * INTERVAL_SECONDS + 121)
    run_service(service, once=True)
    assert client["GridOperations"].functions.getCurrentLoad(REGION).call().demandKW == 8


def test_without_a_rating_or_the_operator_role_the_service_stops_with_one_sentence(load_chain):
    client, meters = load_chain
    ended = next_interval(client)
    submit(client, Registers(meters).readings(ended, [100, 100, 100]))
    with pytest.raises(RatingUnknownError, match=r"region 1 has no load report .* pass --rating-kva"):
        run_service(LoadReporter(client, {REGION: operator()}), once=True)
    with pytest.raises(NotAllowedError, match=r"may not send the load of interval .*OperatorNotAuthorized\(") as refused:
        run_service(LoadReporter(client, {REGION: stranger()}, rating_kva=RATING_KVA), once=True)
    assert "\n" not in str(refused.value)
    assert report_count(client) == 0


def test_while_no_meter_has_read_the_report_waits_past_the_delay_until_the_next_interval_ends(load_chain):
    client, meters = load_chain
    registers = Registers(meters)
    ended = next_interval(client)
    service = LoadReporter(client, {REGION: operator()}, rating_kva=RATING_KVA, reading_delay_s=120)
    move_to(client, (ended + 1) * INTERVAL_SECONDS + 600)  # the delay passed: the gateway or the chain is behind
    run_service(service, once=True)
    assert report_count(client) == 0 and sample(service.metrics, "skipped_total", reason="no_readings") == 0
    submit(client, registers.readings(ended, [2_000, 0, 0]))  # one meter's reading arrives late
    run_service(service, once=True)
    assert client["GridOperations"].functions.getCurrentLoad(REGION).call().demandKW == 8

    # The next interval ends before any of its readings arrived: it is counted missed, not reported.
    move_to(client, (ended + 3) * INTERVAL_SECONDS + 10)
    submit(client, registers.readings(ended + 2, [1_000, 1_000, 1_000]))
    run_service(service, once=True)
    assert report_count(client) == 2 and sample(service.metrics, "skipped_total", reason="missed") == 1


def test_a_region_whose_round_fails_does_not_hold_up_the_others_and_health_names_the_failure(load_chain, monkeypatch):
    """Two regions, the first failing for a passing reason: the second is reported in the same round,
    the failure is counted and named in /health, and the next round that succeeds clears it."""
    client, meters = load_chain
    registers = Registers(meters)
    ended = next_interval(client)
    submit(client, registers.readings(ended, [4_000, 0, 0]))
    other_region = REGION + 100  # a region with no meters and no operator of its own
    service = LoadReporter(client, {other_region: operator(), REGION: operator()}, rating_kva=RATING_KVA)
    report = LoadReporter._report
    failures = iter([ConnectionError("the node went away for a moment")])

    def first_region_fails_once(self: LoadReporter, region: _Region, head: ChainHead) -> None:
        if region.region_id == other_region and (failure := next(failures, None)) is not None:
            raise failure
        report(self, region, head)

    monkeypatch.setattr(LoadReporter, "_report", first_region_fails_once)
    stop = threading.Event()
    rounds = []
    run_round = LoadReporter.run_round

    def two_rounds(self: LoadReporter, head: ChainHead) -> None:
        rounds.append(service.health(1.0))  # as /health answers before the round
        if len(rounds) == 2:
            stop.set()
        run_round(self, head)

    monkeypatch.setattr(LoadReporter, "run_round", two_rounds)
    run_service(service, stop=stop, poll_interval_s=0.01)

    assert report_count(client) == 1  # the region that did not fail was reported in the failing round
    assert sample(service.metrics, "errors_total") == 1
    assert rounds[0]["last_error"] is None
    assert rounds[1]["last_error"] == "ConnectionError: the node went away for a moment"
    assert service.health(1.0)["last_error"] is None

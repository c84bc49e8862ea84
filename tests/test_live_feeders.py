"""A live community of several feeders: each feeder is a region and market zone of its own, its
transformer rating declared at set-up by its own operator, and the live load reporter reports every
feeder's load of each interval signed by that operator, which the live audit checks feeder by feeder
against the meters' net import. The live oracle reporter reports every feeder region's grid state as
its own meters metered it, each hour, and the live demand-response planner plans every feeder
region's day from its own members, each signed by the region's operator."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any, cast

import pytest
from web3.types import RPCEndpoint

from energy_grid.chain.accounts import anvil_account
from energy_grid.chain.anvil import AnvilNode
from energy_grid.contracts.client import GridClient
from energy_grid.domain.units import transformer_load_kw
from energy_grid.live.audit import audit_community
from energy_grid.live.community import LiveCommunity, LiveSetUpError, feeder_operators, live_config, set_up_community
from energy_grid.live.series import read_series
from energy_grid.services.reporters import dr_planner, oracle_reporter
from energy_grid.services.reporters.dr_planner import DemandResponsePlanner
from energy_grid.services.reporters.load_reporter import LoadReporter
from energy_grid.services.reporters.schedule import DEFAULT_READING_DELAY_S
from energy_grid.services.reporters.service import run_service
from energy_grid.simulation.ledger import SimulationImbalance

from support.live_helpers import LIVE_SEED, interval_end_s, mine_at, readings_reader, running_meters
from support.mosquitto import Broker
from support.simulation_helpers import client_of, deploy_to_state_file, node_from

HOUSEHOLDS = 4
PER_FEEDER = 2  # two feeders
RELAYER = 5  # a dev account without a role
ORACLE_REPORTER = 2  # the oracles' reporter of the local deployment
WATTS_PER_WH_A_QUARTER_HOUR = 4  # a Wh in 900 s is 4 W on average

# The module's node, its manifest and the set-up community; and a test's client, community and (node, manifest).
FeedersSetUp = tuple[AnvilNode, Path, LiveCommunity]
Feeders = tuple[GridClient, LiveCommunity, tuple[AnvilNode, Path]]


@pytest.fixture(scope="module")
def feeders_set_up(project: Any, accounts: Any, chain: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[FeedersSetUp]:
    directory = tmp_path_factory.mktemp("live_feeders")
    state, manifest = deploy_to_state_file(project, accounts, chain, directory)
    node = node_from(state, directory, "feeders")
    run_file = directory / "feeders.live.json"
    result = set_up_community(client_of(node, manifest), HOUSEHOLDS, LIVE_SEED, run_file, households_per_feeder=PER_FEEDER)
    yield node, manifest, result.community
    node.stop()


@pytest.fixture
def feeders(feeders_set_up: FeedersSetUp, tmp_path: Path) -> Iterator[Feeders]:
    """The set-up community with a run file (and series) of the test's own, its chain reverted after."""
    node, manifest, set_up = feeders_set_up
    client = client_of(node, manifest)
    snapshot = client.w3.provider.make_request(RPCEndpoint("evm_snapshot"), [])["result"]
    run_file = tmp_path / set_up.run_file.name
    shutil.copy(set_up.run_file, run_file)
    yield client, LiveCommunity(set_up.config, set_up.record, run_file), (node, manifest)
    client.w3.provider.make_request(RPCEndpoint("evm_revert"), [snapshot])


def latest_load(client: GridClient, region: int) -> Any:
    return client["GridOperations"].functions.getCurrentLoad(region).call()


def first_interval_on_chain(feeders: Feeders, mqtt_broker: Broker) -> None:
    """The virtual meters publish every household's reading of the first interval, a relayer puts
    them on chain, and the chain's clock moves a minute past the interval's end."""
    client, community, (node, manifest) = feeders
    with readings_reader(mqtt_broker) as reader, running_meters(client_of(node, manifest), community, mqtt_broker):
        mine_at(client, interval_end_s(community, 0))
        readings = [signed for _, _, signed in reader.take(HOUSEHOLDS)]
    client.smart_meter.submit_signed_readings(anvil_account(RELAYER), readings)
    mine_at(client, interval_end_s(community, 0) + 60)


def test_each_feeder_is_a_region_whose_rating_its_own_operator_declared(feeders):
    client, community, _ = feeders
    state = community.run_state(client)
    operators = feeder_operators(state)
    assert state.zoned and len(operators) == 2
    assert len({operator.address for operator in operators.values()}) == 2
    assert operators[state.feeder_region(0)].address == anvil_account(0).address  # the community's operator
    for region, operator in operators.items():
        load = latest_load(client, region)
        assert (load.reportedBy, load.demandKW) == (operator.address, 0)
        assert load.capacityKW > 0
        assert int(client["MarketZones"].functions.zoneOf(region).call()) != 0


def test_every_feeder_s_load_is_reported_by_its_operator_and_the_audit_checks_each(feeders, mqtt_broker):
    client, community, _ = feeders
    operators = feeder_operators(community.run_state(client))
    first_interval_on_chain(feeders, mqtt_broker)
    reporter = LoadReporter(client, operators)

    run_service(reporter, once=True)

    figures = read_series(community.series_file)[0]
    assert len(figures.feeder_net_import_wh) == 2
    assert sum(figures.feeder_net_import_wh) == figures.import_wh - figures.export_wh
    for feeder, (region, operator) in enumerate(operators.items()):
        load = latest_load(client, region)
        assert load.reportedBy == operator.address
        assert load.demandKW == transformer_load_kw(figures.feeder_net_import_wh[feeder])
    with pytest.raises(SimulationImbalance) as imbalance:  # nobody cleared or settled in this test
        audit_community(client, community)
    assert "load reports" not in str(imbalance.value)


def test_the_audit_names_a_feeder_whose_load_was_not_reported(feeders, mqtt_broker):
    client, community, _ = feeders
    operators = feeder_operators(community.run_state(client))
    first_interval_on_chain(feeders, mqtt_broker)
    first_region, first_operator = next(iter(operators.items()))

    run_service(LoadReporter(client, {first_region: first_operator}), once=True)

    with pytest.raises(SimulationImbalance) as imbalance:
        audit_community(client, community)
    assert "load reports = simulated intervals × feeders: 1 != 2" in str(imbalance.value)


def test_the_live_set_up_refuses_a_feeder_without_households():
    with pytest.raises(LiveSetUpError, match="a feeder serves at least one household"):
        live_config(4, LIVE_SEED, households_per_feeder=0)


def test_the_live_oracle_reporter_reports_every_feeder_region_s_grid_state_from_its_own_meters(feeders, mqtt_broker):
    client, community, _ = feeders
    state = community.run_state(client)
    regions = list(feeder_operators(state))
    first_interval_on_chain(feeders, mqtt_broker)
    # The oracles hear the state of the hour's latest interval its meters read, at the hour's end (the
    # day starts on the hour): here the first, the meters silent after it, once the reading delay has passed.
    mine_at(client, interval_end_s(community, oracle_reporter.INTERVALS_PER_REPORT - 1) + DEFAULT_READING_DELAY_S + 1)
    reporter = anvil_account(ORACLE_REPORTER)
    since = client.w3.eth.block_number + 1

    run_service(oracle_reporter.every_region(client, reporter, regions), once=True)

    grid = client["GridOracle"].events.GridDataReported.get_logs(from_block=since)
    weather = client["WeatherOracle"].events.WeatherReported.get_logs(from_block=since)
    assert sorted(int(log.args.regionId) for log in grid) == sorted(regions)
    assert sorted(int(log.args.regionId) for log in weather) == sorted(regions)
    assert {log.args.reporter for log in grid + weather} == {reporter.address}
    figures = read_series(community.series_file)[0]
    for feeder, region in enumerate(regions):
        # Each region's grid state is its own feeder's meters': their import less their export, in
        # mean W over the quarter hour, is the feeder's net import.
        reported = next(log.args for log in grid if int(log.args.regionId) == region)
        assert int(reported.demandW) - int(reported.supplyW) == figures.feeder_net_import_wh[feeder] * WATTS_PER_WH_A_QUARTER_HOUR


def test_the_live_planner_plans_every_feeder_region_from_its_own_members(feeders):
    client, community, _ = feeders
    state = community.run_state(client)
    operators = feeder_operators(state)

    planners = dr_planner.every_region(client, operators)
    run_service(planners, once=True)

    regions = cast(list[DemandResponsePlanner], planners.regions)  # every_region makes only planners
    assert [planner.region_id for planner in regions] == list(operators)
    assert [planner.account.address for planner in regions] == [account.address for account in operators.values()]
    members = {}
    for planner in regions:
        assert len(planner.plans) == 1  # the day the chain stands at, planned
        for meter in planner.members.values():
            assert int(client["SmartMeter"].functions.getMeter(meter).call().regionId) == planner.region_id
        members.update(planner.members)
    assert len(members) == len(community.members())

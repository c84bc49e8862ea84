"""The oracle reporter (energy_grid.services.reporters.oracle_reporter) on a node of its own: with the
model source it reports, once an hour, the weather (the model's, at the chain's time) and grid state
(as the region's meters metered it) of the hour's last interval once, waits for the meters' readings
up to the delay, reports after a restart only what is missing and counts what it missed, and again
what the chain lost by going back; without the reporter role it stops with one sentence, on the
command line too."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from energy_grid.cli import cli
from energy_grid.contracts.client import GridClient
from energy_grid.domain.units import INTERVAL_SECONDS, ORACLE_REPORT_SECONDS
from energy_grid.services.reporters.oracle_reporter import INTERVALS_PER_REPORT, ModelSource, OracleReporter
from energy_grid.services.reporters.region import RegionMeters
from energy_grid.services.reporters.service import NotAllowedError, run_service
from energy_grid.services.reporters.weather_model import weather_at

from support.anvil_node import AnvilNode, grid_client
from support.reporter_helpers import (
    REGION,
    STRANGER_INDEX,
    Registers,
    deploy_local,
    make_sole_reporter,
    move_to,
    nonce,
    now_s,
    oracle_reporter_account,
    register_meters,
    rpc,
    sample,
    stranger,
    submit,
)

DELAY_S = 300


@pytest.fixture(scope="module")
def oracle_node(tmp_path_factory, project, networks, accounts):
    node = AnvilNode(tmp_path_factory.mktemp("oracle-node")).start()
    manifest = deploy_local(node, project, networks, accounts[0])
    client = grid_client(node, manifest)
    rpc(client, "anvil_setBlockTimestampInterval", [1])
    make_sole_reporter(client, oracle_reporter_account().address)
    meters, _ = register_meters(client, "oracle", 3)
    yield node, manifest, meters
    node.stop()


@pytest.fixture
def oracle_chain(oracle_node):
    """The module's chain, rolled back after each test."""
    node, manifest, meters = oracle_node
    client = grid_client(node, manifest)
    snapshot = rpc(client, "evm_snapshot")
    yield client, meters
    rpc(client, "evm_revert", [snapshot])


def reporter(client, meters=None, account=None):
    source = ModelSource(RegionMeters(client, REGION), reading_delay_s=DELAY_S)
    return OracleReporter(client, account or oracle_reporter_account(), source, region_id=REGION)


def next_report(client: GridClient) -> int:
    """Moves the chain 10 s past the next oracle report time, an hour's end; returns the hour's last
    interval, whose state is reported."""
    due_s = (now_s(client) // ORACLE_REPORT_SECONDS + 1) * ORACLE_REPORT_SECONDS
    move_to(client, due_s + 10)
    return due_s // INTERVAL_SECONDS - 1


def test_an_hour_s_last_interval_is_reported_once_from_the_model_and_the_meters(oracle_chain):
    client, meters = oracle_chain
    registers = Registers(meters)
    ended = next_report(client)
    submit(client, registers.readings(ended, [400, 250, 0], [0, 0, 300], [50_010, 49_990, 50_020], [1_001, 995, 1_003]))
    service = reporter(client)
    before = nonce(client, oracle_reporter_account())

    run_service(service, once=True)

    weather = client["WeatherOracle"].functions.getWeather(REGION).call()
    expected = weather_at(ended * INTERVAL_SECONDS)
    assert (weather.irradianceWPerM2, weather.temperatureMilliCelsius, weather.windSpeedMmPerS, weather.cloudCoverBps) == (
        expected.irradiance_w_per_m2,
        expected.temperature_milli_celsius,
        expected.wind_speed_mm_per_s,
        expected.cloud_cover_bps,
    )
    grid = client["GridOracle"].functions.getGridData(REGION).call()
    # The median frequency, the lowest voltage, export and import as mean W over the quarter hour.
    assert (grid.frequencyMilliHz, grid.voltagePerMille, grid.supplyW, grid.demandW) == (50_010, 995, 1_200, 2_600)
    assert grid.updatedAt >= (ended + 1) * INTERVAL_SECONDS
    assert nonce(client, oracle_reporter_account()) == before + 2
    assert sample(service.metrics, "reports_total", kind="weather") == 1
    assert sample(service.metrics, "reports_total", kind="grid") == 1

    # The same service again, and a restarted one: the chain shows both reports, nothing is sent.
    run_service(service, once=True)
    run_service(reporter(client), once=True)
    assert nonce(client, oracle_reporter_account()) == before + 2


def test_reports_the_chain_lost_by_going_back_are_sent_again(oracle_chain):
    client, meters = oracle_chain
    registers = Registers(meters)
    ended = next_report(client)
    submit(client, registers.readings(ended, [400, 250, 0]))
    before_reports = rpc(client, "evm_snapshot")
    service = reporter(client)
    before = nonce(client, oracle_reporter_account())
    run_service(service, once=True)
    assert nonce(client, oracle_reporter_account()) == before + 2
    rpc(client, "evm_revert", [before_reports])  # a node restarted on a state saved before the reports
    rpc(client, "evm_mine")
    rpc(client, "evm_mine")  # past the height the reporter saw: the block there is another one

    run_service(service, once=True)

    assert nonce(client, oracle_reporter_account()) == before + 2
    assert client["GridOracle"].functions.getGridData(REGION).call().demandW == 2_600
    assert sample(service.metrics, "reports_total", kind="weather") == 2
    assert sample(service.metrics, "reports_total", kind="grid") == 2


def test_the_grid_state_waits_for_every_meter_at_most_the_delay(oracle_chain):
    client, meters = oracle_chain
    registers = Registers(meters[:2])
    ended = next_report(client)
    submit(client, registers.readings(ended, [100, 300]))
    service = reporter(client)

    run_service(service, once=True)
    assert sample(service.metrics, "reports_total", kind="weather") == 1
    assert sample(service.metrics, "reports_total", kind="grid") == 0  # the third meter may still come

    move_to(client, (ended + 1) * INTERVAL_SECONDS + DELAY_S + 1)
    run_service(service, once=True)
    assert sample(service.metrics, "reports_total", kind="grid") == 1
    assert client["GridOracle"].functions.getGridData(REGION).call().demandW == 1_600  # the two meters that read


def test_the_grid_state_is_that_of_the_hour_s_latest_interval_its_meters_read(oracle_chain):
    client, meters = oracle_chain
    registers = Registers(meters)
    next_report(client)
    ended = next_report(client)  # an hour wholly after the meters' registration, so that they can read in it
    # The meters read the hour's second interval and then went silent.
    submit(client, registers.readings(ended - 2, [400, 250, 0]))
    service = reporter(client)
    run_service(service, once=True)
    assert sample(service.metrics, "reports_total", kind="grid") == 0  # they may still read the rest

    move_to(client, (ended + 1) * INTERVAL_SECONDS + DELAY_S + 1)
    run_service(service, once=True)
    assert sample(service.metrics, "reports_total", kind="grid") == 1
    assert client["GridOracle"].functions.getGridData(REGION).call().demandW == 2_600


def test_a_restart_after_a_gap_reports_only_the_latest_hour_and_counts_the_missed(oracle_chain):
    client, meters = oracle_chain
    registers = Registers(meters)
    ended = next_report(client)
    submit(client, registers.readings(ended, [100, 100, 100]))
    run_service(reporter(client), once=True)
    before = nonce(client, oracle_reporter_account())

    # Down for four more hours: the fifth after the first is the one to report now.
    later = ended + 5 * INTERVALS_PER_REPORT
    move_to(client, (later + 1) * INTERVAL_SECONDS + 10)
    submit(client, registers.readings(later, [200, 200, 200]))
    restarted = reporter(client)
    run_service(restarted, once=True)

    assert nonce(client, oracle_reporter_account()) == before + 2
    assert client["GridOracle"].functions.getGridData(REGION).call().demandW == 2_400
    assert sample(restarted.metrics, "skipped_total", reason="missed") == 8  # four hours, two kinds
    reported = client["WeatherOracle"].events.WeatherReported().get_logs(from_block=0)
    assert len(reported) == 2


def test_an_hour_without_readings_is_skipped_for_the_grid(oracle_chain):
    client, _ = oracle_chain
    ended = next_report(client)
    move_to(client, (ended + 1) * INTERVAL_SECONDS + DELAY_S + 1)
    service = reporter(client)
    run_service(service, once=True)
    assert sample(service.metrics, "reports_total", kind="weather") == 1
    assert sample(service.metrics, "skipped_total", reason="no_readings") == 1
    run_service(service, once=True)
    assert sample(service.metrics, "skipped_total", reason="no_readings") == 1


def test_without_the_reporter_role_the_service_stops_with_one_sentence(oracle_chain, oracle_node):
    client, _ = oracle_chain
    next_report(client)
    with pytest.raises(NotAllowedError, match=r"may not send the weather of interval .*UnknownReporter") as refused:
        run_service(reporter(client, account=stranger()), once=True)
    assert "\n" not in str(refused.value)

    node, manifest, _ = oracle_node
    result = CliRunner().invoke(
        cli, ["--rpc-url", node.url, "--manifest", str(manifest), "--dev-account", str(STRANGER_INDEX), "oracle-reporter", "--once"]
    )
    assert result.exit_code == 1
    errors = [line for line in result.output.splitlines() if line.startswith("Error:")]
    assert len(errors) == 1 and "UnknownReporter" in errors[0] and "Traceback" not in result.output

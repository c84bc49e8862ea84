"""The oracle reporter's file source (energy_grid.services.reporters.observations_file): the recorded
export of a day in tests/data parses into the oracles' units with its bad rows named by line, and on
a node of its own each row is reported once the chain's clock passes its timestamp, once, the rows
overtaken while the reporter was down counted as missed."""

from __future__ import annotations

import csv
import itertools
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from energy_grid.domain.units import DAY_SECONDS
from energy_grid.services.ingest import parse_timestamp
from energy_grid.services.reporters.observations_file import ObservationFileError, read_observations
from energy_grid.services.reporters.oracle_reporter import FileSource, OracleReporter
from energy_grid.services.reporters.service import run_service

from support.anvil_node import AnvilNode, grid_client
from support.reporter_helpers import (
    REGION,
    deploy_local,
    make_sole_reporter,
    move_to,
    nonce,
    now_s,
    oracle_reporter_account,
    rpc,
    sample,
)

SAMPLE = Path(__file__).parent / "data" / "observations_region1_2025-06-01.csv"
HEADER_LINE = 3  # two comment lines come first


def test_the_recorded_day_parses_into_the_oracles_units_with_bad_rows_named_by_line():
    observations, malformed = read_observations(SAMPLE)
    assert len(observations) == 94
    assert [(row.line, row.reason) for row in malformed] == [
        (45, "temperature_c 'n/a' is not a number"),
        (81, "timestamp '2025-06-01T19:15:00' has no time zone (add Z or an offset such as +01:00)"),
    ]
    first = observations[0]
    assert first.due_s == int(datetime(2025, 6, 1, 5, tzinfo=UTC).timestamp())
    assert first.label == f"line {HEADER_LINE + 1}"
    assert first.weather is not None and first.grid is not None
    assert (first.weather.irradiance_w_per_m2, first.weather.temperature_milli_celsius) == (0, 20_900)
    assert (first.weather.wind_speed_mm_per_s, first.weather.cloud_cover_bps) == (2_000, 1_500)
    assert (first.grid.frequency_millihz, first.grid.voltage_per_mille, first.grid.supply_w, first.grid.demand_w) == (
        50_006,
        1_000,
        0,
        28_000,
    )
    scada_gap = next(o for o in observations if o.label == "line 34")
    assert scada_gap.weather is not None and scada_gap.grid is None
    assert all(later.due_s - earlier.due_s == 900 for earlier, later in itertools.pairwise(observations[:41]))


def test_a_header_with_an_unknown_column_makes_the_file_unusable(tmp_path):
    bad = tmp_path / "bad.csv"
    bad.write_text("timestamp,ghi_w_per_m2,temperature_f,wind_speed_m_per_s,cloud_cover_percent\n1748754000,0,70,2,15\n")
    with pytest.raises(ObservationFileError, match="unknown column 'temperature_f'"):
        read_observations(bad)


def test_a_row_out_of_time_order_or_with_a_partial_group_is_malformed(tmp_path):
    export = tmp_path / "export.csv"
    export.write_text(
        "timestamp,frequency_hz,voltage_pu,supply_kw,demand_kw\n"
        "1748754000,50.01,1.0,0,30\n"
        "1748753100,50.00,1.0,0,31\n"
        "1748754900,49.99,,0,32\n"
    )
    observations, malformed = read_observations(export)
    assert len(observations) == 1
    assert [(row.line, row.reason) for row in malformed] == [
        (3, "its timestamp is not after line 2's"),
        (4, "the grid cells are incomplete: voltage_pu empty"),
    ]


@pytest.fixture(scope="module")
def file_node(tmp_path_factory, project, networks, accounts):
    node = AnvilNode(tmp_path_factory.mktemp("file-source-node")).start()
    manifest = deploy_local(node, project, networks, accounts[0])
    client = grid_client(node, manifest)
    rpc(client, "anvil_setBlockTimestampInterval", [1])
    make_sole_reporter(client, oracle_reporter_account().address)
    yield client
    node.stop()


def redated_copy(path: Path, to: Path, days: int) -> Path:
    """The export with every timestamp that parses moved `days` whole days later (the chain cannot go back to 2025)."""
    with path.open(newline="") as source, to.open("w", newline="") as target:
        writer = csv.writer(target)
        for cells in csv.reader(source):
            if cells and not cells[0].startswith("#") and cells[0] != "timestamp":
                try:
                    moment = datetime.fromtimestamp(parse_timestamp(cells[0]), UTC) + timedelta(days=days)
                    cells[0] = moment.isoformat()
                except ValueError:
                    pass
            writer.writerow(cells)
    return to


def test_rows_are_reported_once_the_clock_passes_them(file_node, tmp_path):
    client = file_node
    first_row_s = read_observations(SAMPLE)[0][0].due_s
    days = (now_s(client) - first_row_s) // DAY_SECONDS + 1
    export = redated_copy(SAMPLE, tmp_path / "export.csv", days)
    observations, _ = read_observations(export)
    by_line = {o.label: o for o in observations}
    service = OracleReporter(client, oracle_reporter_account(), FileSource(export), region_id=REGION)

    move_to(client, by_line["line 44"].due_s + 5)
    run_service(service, once=True)
    assert sample(service.metrics, "skipped_total", reason="malformed") == 2
    grid = client["GridOracle"].functions.getGridData(REGION).call()
    expected = by_line["line 44"].grid
    assert expected is not None
    assert (grid.frequencyMilliHz, grid.voltagePerMille, grid.supplyW, grid.demandW) == (
        expected.frequency_millihz,
        expected.voltage_per_mille,
        expected.supply_w,
        expected.demand_w,
    )
    before = nonce(client, oracle_reporter_account())
    run_service(service, once=True)
    assert nonce(client, oracle_reporter_account()) == before

    # Down from line 44 to line 48: line 45 is malformed, lines 46 and 47 were overtaken.
    move_to(client, by_line["line 48"].due_s + 5)
    run_service(service, once=True)
    assert nonce(client, oracle_reporter_account()) == before + 2
    weather = client["WeatherOracle"].functions.getWeather(REGION).call()
    expected_weather = by_line["line 48"].weather
    assert expected_weather is not None
    assert weather.temperatureMilliCelsius == expected_weather.temperature_milli_celsius
    assert sample(service.metrics, "skipped_total", reason="missed") == 4
    restarted = OracleReporter(client, oracle_reporter_account(), FileSource(export), region_id=REGION)
    run_service(restarted, once=True)
    assert nonce(client, oracle_reporter_account()) == before + 2

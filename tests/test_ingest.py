"""Meter ingestion (energy_grid.services.ingest) on its own anvil: bad rows reported by line and skipped,
the rest on chain; a run killed mid-way, or whose node was killed, resumes and ends with every
reading on chain exactly once."""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
from collections import defaultdict
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import pytest
from eth_account import Account
from eth_account.signers.local import LocalAccount
from eth_utils import keccak

from energy_grid.chain.accounts import anvil_account
from energy_grid.chain.events import unpacked
from energy_grid.contracts.client import GridClient, MeterReading
from energy_grid.services import ingest
from energy_grid.services.ingest import IngestError, ingest_csv, parse_timestamp, read_rows

from support.anvil_node import AnvilNode, deploy_to_node, grid_client, state_dump_begun_after, wait_until

HEADER = "meter,timestamp,consumption_wh,production_wh,frequency_millihz,voltage_per_mille"
STEP_S = 900
RUN_TIMEOUT_S = 300


@pytest.fixture(scope="module")
def ingest_node(tmp_path_factory):
    node = AnvilNode(tmp_path_factory.mktemp("ingest-node"), persist=True).start()
    yield node
    node.stop()


@pytest.fixture(scope="module")
def ingest_manifest(ingest_node, project, networks, accounts):
    _, manifest = deploy_to_node(ingest_node, project, networks, accounts[0])
    return manifest


@pytest.fixture
def ingest_client(ingest_node: AnvilNode, ingest_manifest: Path) -> GridClient:
    return grid_client(ingest_node, ingest_manifest)


def gateway() -> LocalAccount:
    """The local deployer: operator and gateway of SmartMeter."""
    return anvil_account(0)


def register_meters(client: GridClient, tag: str, count: int) -> list[str]:
    """`count` fresh meters, registered without install registers: each one's first reading is its baseline."""
    meters = [Account.from_key(keccak(text=f"{tag}-{i}")).address for i in range(count)]
    owners = [anvil_account(1).address, anvil_account(2).address]
    for i, meter in enumerate(meters):
        client.smart_meter.register_meter(gateway(), meter, owners[i % 2], region_id=1)
    return meters


def chain_now(client: GridClient) -> int:
    return int(client.w3.eth.get_block("latest")["timestamp"])


def make_readings(meters: list[str], start_s: int, count: int, seed: int) -> dict[str, list[MeterReading]]:
    """Plausible 15-minute registers: every meter imports, every other one also exports (PV)."""
    rng = random.Random(seed)
    readings: dict[str, list[MeterReading]] = {}
    for index, meter in enumerate(meters):
        consumption_wh, production_wh = rng.randrange(10**6), rng.randrange(10**5)
        series = []
        for k in range(count):
            consumption_wh += rng.randrange(0, 400)
            production_wh += rng.randrange(0, 300) if index % 2 else 0
            frequency, voltage = 50_000 + rng.randrange(-60, 60), 1_000 + rng.randrange(-40, 40)
            series.append(MeterReading(start_s + k * STEP_S, consumption_wh, production_wh, frequency, voltage))
        readings[meter] = series
    return readings


def csv_line(meter: str, r: MeterReading, iso: bool = False) -> str:
    timestamp = datetime.fromtimestamp(r.timestamp, UTC).isoformat() if iso else str(r.timestamp)
    return f"{meter},{timestamp},{r.consumption_wh},{r.production_wh},{r.frequency_millihz},{r.voltage_per_mille}"


def write_csv(path: Path, readings: dict[str, list[MeterReading]]) -> Path:
    """Rows by time, meters interleaved, as a head-end export; every other row in ISO-8601."""
    lines = [HEADER]
    count = len(next(iter(readings.values())))
    for k in range(count):
        lines += [csv_line(meter, series[k], iso=bool(k % 2)) for meter, series in readings.items()]
    path.write_text("\n".join(lines) + "\n")
    return path


def accepted_timestamps(client: GridClient, meters: list[str]) -> dict[str, list[int]]:
    """Every ReadingAccepted of these meters, per meter, in chain order."""
    logs = client["SmartMeter"].events.ReadingAccepted().get_logs(from_block=0)
    wanted = set(meters)
    found: dict[str, list[int]] = defaultdict(list)
    for log in sorted(logs, key=lambda e: (e["blockNumber"], e["logIndex"])):
        if log["args"]["meter"] in wanted:
            found[log["args"]["meter"]].append(unpacked("ReadingAccepted", log["args"])["timestamp"])
    return found


def assert_all_on_chain_once(client: GridClient, readings: dict[str, list[MeterReading]]) -> None:
    """Each meter's readings on chain once each, in order; its registers and counted energy are the file's."""
    found = accepted_timestamps(client, list(readings))
    meter = client["SmartMeter"].functions
    for address, series in readings.items():
        assert found[address] == [r.timestamp for r in series], address
        assert client.smart_meter.latest_reading(address) == series[-1]
        # The first reading is the baseline: what counts is everything metered after it.
        consumed_wh, produced_wh, _ = meter.getMeteredEnergy(address).call()
        assert (consumed_wh, produced_wh) == (
            series[-1].consumption_wh - series[0].consumption_wh,
            series[-1].production_wh - series[0].production_wh,
        )


def ingest_process(client: GridClient, node: AnvilNode, manifest: Path, csv_path: Path, *extra: str) -> subprocess.Popen[str]:
    env = {**os.environ, "ENERGY_GRID_PRIVATE_KEY": gateway().key.hex()}
    command = [sys.executable, "-m", "energy_grid.cli", "--rpc-url", node.url, "--manifest", str(manifest), "--json"]
    command += ["meters", "ingest", str(csv_path), "--no-progress", *extra]
    return subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def finish(process: subprocess.Popen[str]) -> dict:
    out, err = process.communicate(timeout=RUN_TIMEOUT_S)
    assert process.returncode == 0, err
    return json.loads(out)


# ------------------------------------------------------------------------------------ the file


def test_timestamps_are_unix_seconds_or_iso_with_a_zone():
    assert parse_timestamp("1748736900") == 1_748_736_900
    assert parse_timestamp("2025-06-01T00:15:00Z") == 1_748_736_900
    assert parse_timestamp("2025-06-01T02:15:00+02:00") == 1_748_736_900
    assert parse_timestamp("2025-06-01T00:15:00.900Z") == 1_748_736_900
    with pytest.raises(ValueError, match="no time zone"):
        parse_timestamp("2025-06-01T00:15:00")
    with pytest.raises(ValueError, match="neither unix seconds nor ISO-8601"):
        parse_timestamp("yesterday")


def test_a_file_with_another_header_is_refused(tmp_path):
    path = tmp_path / "bad.csv"
    path.write_text("meter,timestamp,consumption_kwh,production_wh\n0x0,1,2,3\n")
    with pytest.raises(IngestError, match="the header must be meter,timestamp,consumption_wh,production_wh"):
        list(read_rows(path))


def test_the_example_file_parses():
    rows = list(read_rows(Path(__file__).resolve().parent.parent / "examples/data/meter_readings.csv"))
    good = [row for row in rows if isinstance(row, ingest.CsvRow)]
    bad = [row for row in rows if isinstance(row, ingest.RejectedRow)]
    assert len(good) >= 10 and len({row.meter for row in good}) >= 2
    assert [row.reason for row in bad] == ["production_wh 'n/a' is not a whole non-negative number"]


# ------------------------------------------------------------------------------------ on chain


def test_bad_rows_are_reported_by_line_and_the_rest_goes_in(ingest_client, tmp_path):
    client = ingest_client
    *meters, idle = register_meters(client, "bad-rows", 5)
    now = chain_now(client)
    start = now - 2 * 86_400
    readings = make_readings(meters, start, 12, seed=1)
    a, b, c, d = meters
    unknown = Account.from_key(keccak(text="never-registered")).address
    lines = [HEADER]
    expected_rejections: dict[int, str] = {}

    def bad(text: str, because: str) -> None:
        lines.append(text)
        expected_rejections[len(lines)] = because

    # A meter with no other row: a later run cannot take this row for one sent before.
    bad(csv_line(idle, replace(readings[d][0], timestamp=now - 8 * 86_400)), "older than SmartMeter accepts")
    for k in range(12):
        for meter in meters:
            lines.append(csv_line(meter, readings[meter][k], iso=meter == b))
        if k == 3:
            r = readings[a][3]
            bad(csv_line(a, replace(r, timestamp=r.timestamp + 300, consumption_wh=r.consumption_wh - 1)), "registers never go backwards")
            bad(csv_line(b, replace(readings[b][3], timestamp=readings[b][3].timestamp + 30)), "SmartMeter takes one reading per 60 s")
            bad(csv_line(c, readings[c][1]), "out of order")
            bad(csv_line(unknown, readings[c][3]), "is not registered")
        if k == 6:
            bad(f"{a},{readings[a][6].timestamp + 400},12x,5,50000,1000", "consumption_wh '12x' is not a whole non-negative number")
            off_frequency = replace(readings[b][6], timestamp=readings[b][6].timestamp + 400, frequency_millihz=70_000)
            bad(csv_line(b, off_frequency), "outside 45,000–65,000 mHz")
            bad(f"0x1234,{readings[c][6].timestamp + 400},1,1", "is not an address")
            bad(f"{c},2025-06-01T00:15:00,1,1", "has no time zone")
            bad(f"{c},{readings[c][6].timestamp + 400}", "missing consumption_wh, production_wh")
    bad(csv_line(d, replace(readings[d][-1], timestamp=now + 86_400)), "in the future")
    path = tmp_path / "readings.csv"
    path.write_text("\n".join(lines) + "\n")

    report = ingest_csv(client, gateway(), path, batch_size=7)

    assert {row.line: row.reason for row in report.rejected}.keys() == expected_rejections.keys()
    for row in report.rejected:
        assert expected_rejections[row.line] in row.reason, (row.line, row.reason)
    assert (report.rows_read, report.submitted, report.skipped_on_chain) == (48 + 11, 48, 0)
    assert report.transactions == 7  # 48 readings in batches of 7
    assert_all_on_chain_once(client, readings)

    again = ingest_csv(client, gateway(), path)  # nothing new: all skipped, the same rows refused
    assert (again.submitted, again.skipped_on_chain, again.transactions) == (0, 48, 0)
    assert [row.line for row in again.rejected] == [row.line for row in report.rejected]


def test_a_row_the_chain_refuses_after_all_is_reported_with_the_contracts_error(ingest_client, tmp_path, monkeypatch):
    """The pre-check switched off: the batch reverts, the row the custom error names is rejected
    with it, and the rest of the batch goes in."""
    client = ingest_client
    meters = register_meters(client, "refused", 3)
    readings = make_readings(meters, chain_now(client) - 86_400, 4, seed=2)
    path = write_csv(tmp_path / "readings.csv", readings)
    lines = path.read_text().splitlines()
    r = readings[meters[1]][2]
    lines.insert(9, csv_line(meters[1], replace(r, timestamp=r.timestamp + 120, consumption_wh=0)))
    path.write_text("\n".join(lines) + "\n")
    monkeypatch.setattr(ingest, "check_row", lambda row, state, limits: None)

    report = ingest_csv(client, gateway(), path)

    assert [(row.line, row.meter) for row in report.rejected] == [(10, meters[1])]
    assert report.rejected[0].reason.startswith(
        f"SmartMeter refused it: ConsumptionRegisterDecreased(meter={meters[1]}, registerWh=0, "
        f"previousRegisterWh={r.consumption_wh}): The import register is below the previous reading's"
    )
    assert (report.submitted, report.transactions) == (12, 1)
    assert_all_on_chain_once(client, readings)


def test_rows_another_gateway_sent_meanwhile_are_skipped_not_refused(ingest_client, tmp_path, monkeypatch):
    """Planned on a stale view of the chain (another gateway sent part of the file in between):
    the batch reverts, the rows now on chain count as sent before, the rest goes in."""
    client = ingest_client
    meters = register_meters(client, "raced", 3)
    readings = make_readings(meters, chain_now(client) - 86_400, 6, seed=3)
    path = write_csv(tmp_path / "readings.csv", readings)
    first_half = write_csv(tmp_path / "first.csv", {meters[0]: readings[meters[0]][:3]})
    stale = {meter: ingest.read_meter(client, meter) for meter in meters}
    ingest_csv(client, gateway(), first_half)  # "the other gateway"
    seen: set[str] = set()
    real_read_meter = ingest.read_meter

    def read_once_stale(client: GridClient, meter: str) -> ingest.MeterState:
        if meter in seen:
            return real_read_meter(client, meter)
        seen.add(meter)
        return stale[meter]

    monkeypatch.setattr(ingest, "read_meter", read_once_stale)
    report = ingest_csv(client, gateway(), path)

    assert (report.submitted, report.skipped_on_chain, report.rejected) == (15, 3, [])
    assert_all_on_chain_once(client, readings)


def test_a_killed_run_resumes_where_the_chain_stopped(ingest_client, ingest_node, ingest_manifest, tmp_path):
    client = ingest_client
    meters = register_meters(client, "killed-run", 20)
    readings = make_readings(meters, chain_now(client) - 2 * 86_400, 150, seed=4)  # 3,000 rows
    path = write_csv(tmp_path / "readings.csv", readings)
    start_block = client.w3.eth.block_number

    run = ingest_process(client, ingest_node, ingest_manifest, path, "--batch-size", "10")
    wait_until(lambda: client.w3.eth.block_number >= start_block + 5 or run.poll() is not None, 120, "five batches")
    run.kill()
    run.wait()
    landed = sum(len(found) for found in accepted_timestamps(client, meters).values())
    assert 50 <= landed < 3_000  # killed mid-run, after whole batches

    report = finish(ingest_process(client, ingest_node, ingest_manifest, path, "--batch-size", "100"))

    assert (report["submitted"], report["skipped_on_chain"], report["rejected_count"]) == (3_000 - landed, landed, 0)
    assert_all_on_chain_once(client, readings)


KILLED_RUN_BATCH = 10  # readings per transaction in the run that loses its node


def test_a_run_whose_node_was_killed_completes_after_the_restart(ingest_client, ingest_node, ingest_manifest, tmp_path):
    """The node dies (SIGKILL, no dump on exit) and comes back on its state file, which holds the
    chain up to its last periodic dump: the run that crashed with it is started again and puts
    in everything the chain does not have, including what the node lost."""
    client = ingest_client
    meters = register_meters(client, "killed-node", 20)
    readings = make_readings(meters, chain_now(client) - 2 * 86_400, 150, seed=5)
    path = write_csv(tmp_path / "readings.csv", readings)
    start_block = client.w3.eth.block_number

    run = ingest_process(client, ingest_node, ingest_manifest, path, "--batch-size", str(KILLED_RUN_BATCH))
    wait_until(lambda: client.w3.eth.block_number >= start_block + 5 or run.poll() is not None, 120, "five batches")
    # The run paused for the node's last dump: anvil's periodic dump reads accounts and blocks at
    # different moments, and one written while batches were mined restarted a node whose meters
    # had readings its logs did not show. Then the node is killed right after that whole dump
    # (the next is a second away) and the run, resumed, loses its node.
    run.send_signal(signal.SIGSTOP)
    state_dump_begun_after(ingest_node.state_file)
    ingest_node.kill()
    run.send_signal(signal.SIGCONT)
    run.communicate(timeout=RUN_TIMEOUT_S)
    assert run.returncode != 0  # it lost its node
    ingest_node.start()
    client = grid_client(ingest_node, ingest_manifest)
    kept = sum(len(found) for found in accepted_timestamps(client, meters).values())
    assert 50 <= kept < 3_000

    report = finish(ingest_process(client, ingest_node, ingest_manifest, path))

    # At least what was counted is skipped; a batch the dump caught before it was mined may be
    # mined by the restarted node after the count (seen once in a loaded parallel run): skipped too.
    assert report["rejected_count"] == 0 and report["submitted"] + report["skipped_on_chain"] == 3_000
    assert kept <= report["skipped_on_chain"] <= kept + KILLED_RUN_BATCH
    assert_all_on_chain_once(client, readings)

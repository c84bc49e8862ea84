"""Crash-safe meter ingestion: a CSV of cumulative register readings, submitted in gateway batches.

The file (UTF-8, comma-separated, one header line; lines starting with `#` are comments):

    meter,timestamp,consumption_wh,production_wh[,frequency_millihz,voltage_per_mille]
    0x70997970C51812dc3A010C7d01b50e0d17dc79C8,2025-06-01T00:15:00Z,1520344,80211,50012,1003
    0x70997970C51812dc3A010C7d01b50e0d17dc79C8,1748737800,1520611,80211

- `meter`: the meter's registered address (all lower case, or with a valid EIP-55 checksum).
- `timestamp`: when the registers were read, as unix seconds or ISO-8601 *with* a zone (`Z` or
  `+02:00`). The chain keeps unix seconds, so those are taken as they are; head-end systems export
  ISO-8601, so that is read too, but only with its zone: a local time without one is ambiguous (the
  hour the clocks go back happens twice), and guessing would book energy in the wrong interval.
- `consumption_wh`, `production_wh`: the import and export registers, cumulative whole Wh.
- `frequency_millihz`, `voltage_per_mille`: optional columns; an empty cell, or no column, means
  the meter reported nominal (50,000 mHz, 1,000 ‰).

Rows may interleave meters; each meter's rows must be in time order. The run resumes where the
chain says each meter stopped (`getLatestReading(meter).timestamp`): rows at or before it are
skipped, so a run killed at any point (or whose node died) is simply started again. Every batch
is one transaction, all or nothing, so a reading is on chain once or not at all. Bad rows are
checked before sending and reported with their line number; the rest goes in.
"""

from __future__ import annotations

import csv
import time
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from eth_account.signers.local import LocalAccount
from tqdm import tqdm  # type: ignore[import-untyped]
from web3 import Web3
from web3.exceptions import ContractCustomError

from energy_grid.chain.errors import ContractRevertError
from energy_grid.contracts.client import GridClient, GridError, MeterReading
from energy_grid.contracts.dry_run import dry_run
from energy_grid.domain.units import (
    FREQUENCY_NOMINAL_MILLIHZ,
    VOLTAGE_NOMINAL_PER_MILLE,
)
from energy_grid.services.reading_rules import ChainLimits, Refusal, check_after, check_bounds, check_time

REQUIRED_COLUMNS = ("meter", "timestamp", "consumption_wh", "production_wh")
OPTIONAL_COLUMNS = ("frequency_millihz", "voltage_per_mille")
MAX_BATCH_SIZE = 100  # SmartMeter.MAX_BATCH_SIZE
PENDING_WAIT_S = 120.0
# A batch the node refuses, yet that a dry run then accepts, is retried this often before giving up.
MAX_UNEXPLAINED_RETRIES = 3


class IngestError(GridError):
    """The file cannot be read as a readings CSV, or the gateway cannot submit at all."""


@dataclass(frozen=True)
class CsvRow:
    """A well-formed data row: its line in the file, the meter (checksummed) and the reading."""

    line: int
    meter: str
    reading: MeterReading


@dataclass(frozen=True)
class RejectedRow:
    """A row left out, with its line in the file and why, in words."""

    line: int
    meter: str  # as written in the file
    reason: str


@dataclass
class IngestReport:
    rows_read: int = 0  # data rows in the file
    submitted: int = 0  # readings this run put on chain
    skipped_on_chain: int = 0  # at or before the meter's latest reading on chain: sent before
    rejected: list[RejectedRow] = field(default_factory=list)
    transactions: int = 0
    gas_used: int = 0

    @property
    def rejected_count(self) -> int:
        return len(self.rejected)

    def as_dict(self) -> dict[str, Any]:
        return {**asdict(self), "rejected_count": self.rejected_count}


@dataclass
class MeterState:
    """One meter during planning: what the chain holds and the last row that passed."""

    registered: bool
    active: bool = True
    # timestamp 0: no reading on chain yet
    chain_latest: MeterReading = field(default_factory=lambda: MeterReading(0, 0, 0, 0, 0))
    previous: CsvRow | None = None  # last row of the file that passed, skipped or queued
    queued: bool = False  # a row of it goes in this run


# ------------------------------------------------------------------------------------ reading the file


def parse_timestamp(text: str) -> int:
    """Unix seconds, or ISO-8601 with a zone; fractions of a second are dropped."""
    text = text.strip()
    if text.isdigit():
        return int(text)
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise ValueError(f"timestamp {text!r} is neither unix seconds nor ISO-8601") from None
    if moment.tzinfo is None:
        raise ValueError(f"timestamp {text!r} has no time zone (add Z or an offset such as +01:00)")
    return int(moment.timestamp())


def _whole_number(text: str, column: str) -> int:
    text = text.strip()
    if not text.isdigit():
        raise ValueError(f"{column} {text!r} is not a whole non-negative number")
    return int(text)


def _parse_row(cells: dict[str, str], line: int) -> CsvRow:
    meter_text = cells["meter"].strip()
    if not Web3.is_address(meter_text):
        raise ValueError(f"meter {meter_text!r} is not an address (or its checksum is wrong)")
    optional = {name: (cells.get(name) or "").strip() for name in OPTIONAL_COLUMNS}
    reading = MeterReading(
        parse_timestamp(cells["timestamp"]),
        _whole_number(cells["consumption_wh"], "consumption_wh"),
        _whole_number(cells["production_wh"], "production_wh"),
        _whole_number(optional["frequency_millihz"], "frequency_millihz")
        if optional["frequency_millihz"]
        else FREQUENCY_NOMINAL_MILLIHZ,
        _whole_number(optional["voltage_per_mille"], "voltage_per_mille")
        if optional["voltage_per_mille"]
        else VOLTAGE_NOMINAL_PER_MILLE,
    )
    return CsvRow(line, Web3.to_checksum_address(meter_text), reading)


def read_rows(path: Path) -> Iterator[CsvRow | RejectedRow]:
    """The file's data rows in order, each parsed or rejected with its reason."""
    with path.open(newline="", encoding="utf-8-sig") as handle:
        lines = (line for line in handle)
        reader = csv.reader(lines)
        header: list[str] | None = None
        for cells in reader:
            line = reader.line_num
            if not cells or not "".join(cells).strip() or cells[0].lstrip().startswith("#"):
                continue
            if header is None:
                header = _check_header(cells, path)
                continue
            meter_text = cells[0].strip() if cells else ""
            if len(cells) > len(header):
                yield RejectedRow(line, meter_text, f"{len(cells)} cells, the header has {len(header)} columns")
                continue
            values = dict(zip(header, cells, strict=False))  # the optional last columns may be left out
            missing = [name for name in REQUIRED_COLUMNS if not values.get(name, "").strip()]
            if missing:
                yield RejectedRow(line, meter_text, f"missing {', '.join(missing)}")
                continue
            try:
                yield _parse_row(values, line)
            except ValueError as bad:
                yield RejectedRow(line, meter_text, str(bad))
        if header is None:
            raise IngestError(f"{path}: no header line ({','.join(REQUIRED_COLUMNS)}, …)")


def _check_header(cells: list[str], path: Path) -> list[str]:
    header = [cell.strip().lower() for cell in cells]
    unknown = [name for name in header if name not in REQUIRED_COLUMNS + OPTIONAL_COLUMNS]
    missing = [name for name in REQUIRED_COLUMNS if name not in header]
    if unknown or missing or len(set(header)) != len(header):
        # A misspelt column (`consumption_kwh`) would otherwise be misread or dropped silently.
        raise IngestError(
            f"{path}: the header must be {','.join(REQUIRED_COLUMNS)}[,{','.join(OPTIONAL_COLUMNS)}]; "
            f"got {','.join(header)}"
        )
    return header


# ------------------------------------------------------------------------------------ planning


def check_row(row: CsvRow, state: MeterState, limits: ChainLimits) -> str | None:
    """Why SmartMeter would refuse `row` after the meter's previous row and the chain's latest
    reading, or None when it would accept it. Rows at or before the chain's latest reading are
    not refused here (the caller skips them as sent before)."""
    refusal = _refusal(row, state, limits)
    return refusal.message if refusal else None


def _refusal(row: CsvRow, state: MeterState, limits: ChainLimits) -> Refusal | None:
    r = row.reading
    refusal = check_bounds(r, limits)
    previous = state.previous
    if refusal is None and previous is not None:
        refusal = check_after(r, previous.reading, f"the meter's previous row (line {previous.line})", limits)
    if refusal is not None:
        return refusal
    latest = state.chain_latest
    if r.timestamp <= latest.timestamp:
        return None
    if not state.queued and latest.timestamp:
        refusal = check_after(r, latest, "the meter's latest reading on chain", limits)
    return refusal or check_time(r, limits)


def plan(
    rows: Sequence[CsvRow | RejectedRow], meters: dict[str, MeterState], limits: ChainLimits, report: IngestReport
) -> list[CsvRow]:
    """The rows to submit, in file order; counts skipped rows and records rejected ones in `report`.
    `meters` holds the chain's state of every meter the file names."""
    queue: list[CsvRow] = []
    for row in rows:
        report.rows_read += 1
        if isinstance(row, RejectedRow):
            report.rejected.append(row)
            continue
        state = meters[row.meter]
        if not state.registered:
            report.rejected.append(RejectedRow(row.line, row.meter, f"meter {row.meter} is not registered"))
            continue
        if not state.active:
            report.rejected.append(RejectedRow(row.line, row.meter, f"meter {row.meter} is deactivated by the operator"))
            continue
        reason = check_row(row, state, limits)
        if reason:
            report.rejected.append(RejectedRow(row.line, row.meter, reason))
            continue
        state.previous = row
        if row.reading.timestamp <= state.chain_latest.timestamp:
            report.skipped_on_chain += 1
        else:
            state.queued = True
            queue.append(row)
    return queue


# ------------------------------------------------------------------------------------ the chain


def read_limits(client: GridClient) -> ChainLimits:
    meter = client["SmartMeter"].functions
    block_time_s = int(client.w3.eth.get_block("latest")["timestamp"])
    return ChainLimits(
        # The next block is stamped no earlier than now: a reading up to the clock can go in.
        now_s=max(block_time_s, int(time.time())),
        min_interval_s=int(meter.minReadingInterval().call()),
        max_age_s=int(meter.maxReadingAge().call()),
        max_register_wh=int(meter.MAX_REGISTER_WH().call()),
        min_frequency_millihz=int(meter.MIN_FREQUENCY_MILLIHZ().call()),
        max_frequency_millihz=int(meter.MAX_FREQUENCY_MILLIHZ().call()),
        min_voltage_per_mille=int(meter.MIN_VOLTAGE_PER_MILLE().call()),
        max_voltage_per_mille=int(meter.MAX_VOLTAGE_PER_MILLE().call()),
    )


def read_meter(client: GridClient, meter: str) -> MeterState:
    """The chain's view of one meter: registered, active, its latest reading."""
    functions = client["SmartMeter"].functions
    try:
        info = functions.getMeter(meter).call()
    except ContractCustomError:  # MeterUnknown: the only way getMeter reverts
        return MeterState(registered=False)
    return MeterState(registered=True, active=bool(info.active), chain_latest=client.smart_meter.latest_reading(meter))


def wait_for_pending(client: GridClient, account: str, timeout_s: float = PENDING_WAIT_S) -> None:
    """Waits until no transaction of `account` is pending: a batch a killed run sent may still be
    on its way, and reading the chain before it lands would send its readings again."""
    address = Web3.to_checksum_address(account)
    deadline = time.monotonic() + timeout_s
    while client.w3.eth.get_transaction_count(address, "pending") > client.w3.eth.get_transaction_count(address, "latest"):
        if time.monotonic() > deadline:
            raise IngestError(f"{address} still has transactions pending after {timeout_s:g} s; wait for them or replace them")
        time.sleep(1.0)


def ingest_csv(
    client: GridClient, gateway: LocalAccount, path: Path, *, batch_size: int = MAX_BATCH_SIZE, progress: bool = False
) -> IngestReport:
    """Submits the readings of `path` that the chain does not have yet, in batches of `batch_size`
    (SmartMeter.submitReadings; the gateway needs GATEWAY_ROLE). Safe to run again at any time."""
    if not 1 <= batch_size <= MAX_BATCH_SIZE:
        raise ValueError(f"batch_size must be 1..{MAX_BATCH_SIZE}, got {batch_size}")
    smart_meter = client["SmartMeter"]
    if not smart_meter.functions.hasRole(smart_meter.functions.GATEWAY_ROLE().call(), gateway.address).call():
        raise IngestError(f"{gateway.address} lacks SmartMeter's GATEWAY_ROLE: it cannot submit batches")
    rows = list(read_rows(path))
    wait_for_pending(client, gateway.address)
    named = dict.fromkeys(row.meter for row in rows if isinstance(row, CsvRow))
    meters = {meter: read_meter(client, meter) for meter in named}
    report = IngestReport()
    queue = plan(rows, meters, read_limits(client), report)
    with tqdm(total=len(queue), unit="reading", disable=not progress, desc="meter readings") as bar:
        for start in range(0, len(queue), batch_size):
            batch = queue[start : start + batch_size]
            _submit(client, gateway, batch, report)
            bar.update(len(batch))
    report.rejected.sort(key=lambda rejected: rejected.line)
    return report


def _submit(client: GridClient, gateway: LocalAccount, batch: list[CsvRow], report: IngestReport) -> None:
    """Sends one batch. Should the node refuse it after all (the chain moved since planning: another
    gateway, a deactivation, the clock), the rows the chain now has are skipped, the row the error
    names is rejected with it, and the rest is sent again."""
    pending = list(batch)
    unexplained = 0
    while pending:
        call = client["SmartMeter"].functions.submitReadings(
            [row.meter for row in pending], [row.reading.as_tuple() for row in pending]
        )
        try:
            receipt = client.transact(gateway, call)
        except (GridError, RuntimeError) as refused:
            error = dry_run(client, gateway, call)
            if error is None:
                unexplained += 1
                if unexplained > MAX_UNEXPLAINED_RETRIES:
                    raise IngestError(f"submitReadings keeps failing without a reason: {refused}") from None
                continue
            if not isinstance(error, ContractRevertError):
                raise IngestError(f"submitReadings rejected: {error}") from None
            pending = _drop_culprit(client, pending, error, report)
            continue
        report.transactions += 1
        report.gas_used += int(receipt["gasUsed"])
        report.submitted += len(pending)
        return


def _drop_culprit(client: GridClient, pending: list[CsvRow], error: ContractRevertError, report: IngestReport) -> list[CsvRow]:
    meter = error.arguments.get("meter")
    if not isinstance(meter, str):
        raise IngestError(f"submitReadings rejected: {error.reason}")
    meter = Web3.to_checksum_address(meter)
    latest_s = read_meter(client, meter).chain_latest.timestamp
    sent_before = [row for row in pending if row.meter == meter and row.reading.timestamp <= latest_s]
    if sent_before:  # another run or gateway got there first
        report.skipped_on_chain += len(sent_before)
        return [row for row in pending if row not in sent_before]
    culprit = _find_culprit([row for row in pending if row.meter == meter], error)
    report.rejected.append(RejectedRow(culprit.line, culprit.meter, f"SmartMeter refused it: {error.reason}"))
    return [row for row in pending if row is not culprit]


def _find_culprit(rows: list[CsvRow], error: ContractRevertError) -> CsvRow:
    """The row of the error's meter the error is about, found by the value the error names (its
    timestamp, register, frequency or voltage); else the meter's first row in the batch."""
    if not rows:
        raise IngestError(f"submitReadings rejected a meter not in the batch: {error.reason}")
    fields = {
        "ConsumptionRegisterDecreased": ("registerWh", "consumption_wh"),
        "ProductionRegisterDecreased": ("registerWh", "production_wh"),
        "FrequencyOutOfBounds": ("gridFrequencyMilliHz", "frequency_millihz"),
        "VoltageOutOfBounds": ("voltagePerMille", "voltage_per_mille"),
    }
    argument, attribute = fields.get(error.error_name, ("timestamp", "timestamp"))
    if argument in error.arguments:
        for row in rows:
            if getattr(row.reading, attribute) == error.arguments[argument]:
                return row
    return rows[0]

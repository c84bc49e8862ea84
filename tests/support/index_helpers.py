"""Shared by the event index and read route tests: events made on chain through the plain web3
client (what a user's wallet or a keeper would send), and a dump of the index to compare."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest
from eth_account import Account
from eth_account.signers.local import LocalAccount
from sqlalchemy import select

from energy_grid.chain.accounts import anvil_account
from energy_grid.contracts.client import BUY, SELL, GridClient, MeterReading
from energy_grid.contracts.forecasts import QuantileForecast
from energy_grid.domain.units import INTERVAL_SECONDS
from energy_grid.index import EventIndex
from energy_grid.index.models import EVENT_TABLES

PRICE_PER_KWH = 200_000
DEPLOYER, SELLER, BUYER, DEVICE = 0, 1, 2, 3
REGION = 1  # the deployer is region 1's grid operator
OTHER_REGION = 2
FORECAST_WINDOW = 8  # intervals of the tests' forecasts


def now_s(grid: GridClient) -> int:
    return int(grid.w3.eth.get_block("latest")["timestamp"])


def advance(grid: GridClient, seconds: int) -> int:
    """Mines a block `seconds` after the latest; returns its time."""
    timestamp = now_s(grid) + seconds
    grid.mine_block_at(timestamp)
    return timestamp


def export_energy(grid: GridClient, operator: LocalAccount, meter: str, owner: str, export_wh: int) -> None:
    """Registers `meter` to `owner` and meters `export_wh` through it (gateway batches from
    `operator`, the local deployer): EnergyToken minted to `owner`."""
    grid.smart_meter.register_meter(operator, meter, owner, REGION)
    grid.smart_meter.submit_readings(operator, [meter], [MeterReading(advance(grid, 1), 0, 0)])  # the baseline
    grid.smart_meter.submit_readings(operator, [meter], [MeterReading(advance(grid, INTERVAL_SECONDS), 0, export_wh)])


def meter_energy(grid: GridClient, produced_wh: int, consumed_wh: int = 0) -> tuple[str, list[int]]:
    """Registers dev account DEVICE as SELLER's meter; a baseline, then a reading 900 s later that
    mints `produced_wh`. Returns the meter and the readings' timestamps."""
    operator, device = anvil_account(DEPLOYER), anvil_account(DEVICE)
    grid.smart_meter.register_meter(operator, device.address, anvil_account(SELLER).address, REGION)
    start = now_s(grid) + 1
    grid.mine_block_at(start)
    grid.smart_meter.submit_reading(device, MeterReading(start, 0, 0))
    grid.mine_block_at(start + 900)
    grid.smart_meter.submit_reading(device, MeterReading(start + 900, consumed_wh, produced_wh))
    return device.address, [start, start + 900]


@dataclass(frozen=True)
class Trade:
    sell_order_id: int
    buy_order_id: int
    transaction_id: int
    amount_wh: int


def trade(grid: GridClient, sell_wh: int, buy_wh: int, settle: bool = True) -> Trade:
    """SELLER offers `sell_wh`, BUYER's crossing BUY of `buy_wh` trades at once; settled after the
    settlement window when `settle`."""
    seller, buyer, keeper = anvil_account(SELLER), anvil_account(BUYER), anvil_account(DEPLOYER)
    grid.approve_market(seller)
    grid.approve_market(buyer)
    expiry = now_s(grid) + 3_600
    sell_id = grid.trading.create_order(seller, sell_wh, PRICE_PER_KWH, expiry, SELL)
    placed = grid.trading.place_order(buyer, buy_wh, PRICE_PER_KWH + 50_000, expiry, BUY)
    [transaction_id] = placed.transaction_ids
    if settle:
        grid.mine_block_at(now_s(grid) + grid.trading.settlement_window_s() + 1)
        grid.trading.settle_transaction(keeper, transaction_id)
    return Trade(sell_id, placed.order_id, transaction_id, min(sell_wh, buy_wh))


def grid_reports(grid: GridClient, demand_kw: int) -> None:
    """The operator's whole-grid status, region 1's load and GridOracle data."""
    operator = anvil_account(DEPLOYER)
    grid.grid_management.update_grid_status(operator, 9_000_000, 8_000_000, 50_010, 1_002)
    grid.grid_operations.report_load(operator, REGION, 100, demand_kw)
    grid.grid_oracle.submit_grid_data(operator, REGION, 49_990, 998, 7_000_000, 6_500_000)


def band_around(region_id: int, first_interval: int, p50_wh: list[int], below_wh: int = 300, above_wh: int = 200) -> QuantileForecast:
    return QuantileForecast(
        region_id, first_interval, tuple(q - below_wh for q in p50_wh), tuple(p50_wh), tuple(q + above_wh for q in p50_wh)
    )


@dataclass(frozen=True)
class MeteredForecast:
    """REGION's forecast of FORECAST_WINDOW intervals, metered, tallied and scored on chain; a newer
    forecast of REGION from the window's middle, not scored; what the meters read in the window."""

    forecast: QuantileForecast
    newer: QuantileForecast
    energy_wh: dict[str, list[tuple[int, int]]]  # REGION's meters: (consumption, production) per interval
    outsider_energy_wh: list[tuple[int, int]]  # a meter of OTHER_REGION, read in the same intervals


def metered_forecast(grid: GridClient) -> MeteredForecast:
    """The operator (the local deployer) commits REGION's forecast for intervals from a few ahead and a
    newer one overlapping its second half; REGION's two meters and a meter of OTHER_REGION read every
    interval of the window (REGION's load lies within the band in four intervals, above P90 in two and
    below P10 in two); once the window is over, anyone's tally and score (here the operator's)."""
    operator, owner = anvil_account(DEPLOYER), anvil_account(SELLER).address
    ledger = grid.forecast_ledger
    assert ledger is not None
    window = FORECAST_WINDOW
    meters = [Account.create().address for _ in range(2)]
    outsider = Account.create().address
    for meter in meters:
        grid.smart_meter.register_meter(operator, meter, owner, REGION, 0, 0)
    grid.smart_meter.register_meter(operator, outsider, owner, OTHER_REGION, 0, 0)
    first = now_s(grid) // INTERVAL_SECONDS + 4
    p50_wh = [1_000 + 150 * k for k in range(window)]
    forecast = band_around(REGION, first, p50_wh)
    ledger.commit_forecast(operator, forecast)
    newer = band_around(REGION, first + window // 2, [2_000 + 10 * k for k in range(window)], below_wh=50, above_wh=70)
    ledger.commit_forecast(operator, newer)

    # The region's load against the P50: within [P10, P90] (−300..+200), above it or below it. The
    # first meter's PV exports 2,500 Wh in the third interval.
    off_p50_wh = [0, 250, -350, 100, 201, -50, -301, 0]
    first_meter = [(500 + 37 * k, 2_500 if k == 2 else 0) for k in range(window)]
    second_meter = [(p50_wh[k] + off_p50_wh[k] - consumed + produced, 0) for k, (consumed, produced) in enumerate(first_meter)]
    energy = {meters[0]: first_meter, meters[1]: second_meter}
    outsider_energy = [(4_000 + k, 0) for k in range(window)]

    end_s = (first + window) * INTERVAL_SECONDS
    grid.mine_block_at(end_s + 700)
    registers = dict.fromkeys([*meters, outsider], (0, 0))
    entries = []
    for k in range(window):
        for meter, figures in [*energy.items(), (outsider, outsider_energy)]:
            consumed, produced = figures[k]
            registers[meter] = (registers[meter][0] + consumed, registers[meter][1] + produced)
            entries.append((meter, MeterReading((first + k) * INTERVAL_SECONDS + 600, *registers[meter])))
    # A reading after the window: each meter's profile over it is final, so it can be tallied.
    entries += [(meter, MeterReading(end_s + 600, *registers[meter])) for meter in meters]
    grid.smart_meter.submit_readings(operator, [meter for meter, _ in entries], [reading for _, reading in entries])
    ledger.tally_meters(operator, REGION, first, meters)
    ledger.score_forecast(operator, forecast)
    return MeteredForecast(forecast, newer, energy, outsider_energy)


def dump(index: EventIndex) -> dict[str, list[tuple]]:
    """Every event row (without row ids), per table, in chain order."""
    tables = {}
    with index.session() as session:
        for table in EVENT_TABLES:
            columns = [c for c in table.__table__.columns if c.name != "id"]
            rows = session.execute(select(*columns).order_by(table.block_number, table.log_index)).all()
            tables[table.__tablename__] = [tuple(row) for row in rows]
    return tables


def new_database_url(kind: str, request: pytest.FixtureRequest, folder: Path) -> str:
    """The URL of a new, empty database of `kind` for the test: an SQLite file in `folder`, or a
    database of its own on the session's PostgreSQL server."""
    if kind == "sqlite":
        return f"sqlite:///{folder / 'index'}.sqlite"
    server = request.getfixturevalue("postgres_server")
    name = f"index_{abs(hash(request.node.nodeid))}"
    server.psql(f"CREATE DATABASE {name};")
    return str(server.get_uri(name)).replace("postgresql://", "postgresql+psycopg://", 1)

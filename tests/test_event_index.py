"""The event index: the follower stores the contracts' events, resumes without gaps or duplicates,
keeps a crashed range out, rolls back reorganized blocks, and runs the same on PostgreSQL. Any
uint256 or int256 an event carries is stored exactly, and an event the index cannot store is left
out, said once and counted, without holding back the events after it."""

from __future__ import annotations

import logging
from types import SimpleNamespace
from typing import Any, cast

import pytest
from eth_abi import encode
from eth_typing import ABIEvent
from eth_utils import event_abi_to_log_topic
from sqlalchemy import select
from sqlalchemy.exc import OperationalError
from web3 import Web3

from energy_grid.chain.accounts import anvil_account
from energy_grid.chain.events import unpacked
from energy_grid.chain.manifest import abi_of
from energy_grid.contracts.client import GridClient
from energy_grid.domain.enums import ZoneRole
from energy_grid.index import EventIndex, Follower, IndexedRange, queries
from energy_grid.index import follower as follower_module
from energy_grid.index.decode import EVENTS, IndexedEvent, RowDecoder, RowOf
from energy_grid.index.follower import next_span
from energy_grid.index.models import Block, Fill, LinkLimitsSet, LoadReported, OrderCreated, ReadingAccepted, SettlementRow
from energy_grid.index.store import CURSOR_ROW_ID

from support.index_helpers import BUYER, DEVICE, SELLER, dump, grid_reports, meter_energy, new_database_url, trade


@pytest.fixture
def index_grid(api_manifest, networks):
    return GridClient.from_manifest(api_manifest, networks.provider.uri)


@pytest.fixture
def new_index(tmp_path):
    """Builds a migrated SQLite index under the test's folder (a new file per name)."""

    def build(name: str = "index") -> EventIndex:
        index = EventIndex(f"sqlite:///{tmp_path / name}.sqlite")
        index.upgrade()
        return index

    return build


def follow(index: EventIndex, grid: GridClient, **options: Any) -> Follower:
    return Follower(index, grid, 0.1, **options)


def test_indexes_orders_trades_settlements_readings_and_grid_reports(index_grid, new_index):
    meter, reading_times = meter_energy(index_grid, produced_wh=5_000, consumed_wh=300)
    done = trade(index_grid, sell_wh=2_000, buy_wh=1_500)
    grid_reports(index_grid, demand_kw=97)
    index = new_index()

    indexed = follow(index, index_grid).run_once()

    assert indexed == index_grid.w3.eth.block_number
    with index.session() as session:
        orders = session.scalars(select(OrderCreated).order_by(OrderCreated.order_id)).all()
        assert [(o.order_id, o.trader, o.side, o.amount_wh) for o in orders] == [
            (done.sell_order_id, anvil_account(SELLER).address, 1, 2_000),
            (done.buy_order_id, anvil_account(BUYER).address, 0, 1_500),
        ]
        [fill] = session.scalars(select(Fill)).all()
        assert (fill.transaction_id, fill.buy_order_id, fill.sell_order_id, fill.amount_wh) == (
            done.transaction_id, done.buy_order_id, done.sell_order_id, 1_500,
        )
        assert (fill.buyer, fill.seller) == (anvil_account(BUYER).address, anvil_account(SELLER).address)
        [settlement] = session.scalars(select(SettlementRow)).all()
        assert (settlement.transaction_id, settlement.status, settlement.payment) == (done.transaction_id, "SETTLED", 300_000)
        readings = session.scalars(select(ReadingAccepted).where(ReadingAccepted.meter == meter)).all()
        assert [(r.reading_timestamp_s, r.consumption_wh, r.production_wh) for r in readings][-1] == (reading_times[1], 300, 5_000)
    tables = dump(index)
    with index.session() as session:
        assert session.execute(select(LoadReported.region_id, LoadReported.load_percentage, LoadReported.status)).all() == [(1, 97, 3)]
    assert len(tables["grid_status_updated"]) == 1 and len(tables["oracle_grid_data_updated"]) == 1
    # A second pass finds nothing new and duplicates nothing.
    assert follow(index, index_grid).run_once() == indexed
    assert dump(index) == tables


def test_resumes_after_a_restart_without_gaps_or_duplicates(index_grid, new_index):
    meter_energy(index_grid, produced_wh=4_000)
    trade(index_grid, sell_wh=1_000, buy_wh=1_000, settle=False)
    head = index_grid.w3.eth.block_number
    resumed = new_index("resumed")
    first = follow(resumed, index_grid, range_blocks=7)
    while resumed.indexed_block() is None or resumed.indexed_block() < head // 2:
        assert 0 < first.step() <= 7
    stopped_at = resumed.indexed_block()
    assert stopped_at is not None and stopped_at < head

    trade(index_grid, sell_wh=700, buy_wh=700)
    restarted = follow(EventIndex(resumed.database_url), index_grid, range_blocks=7)
    restarted.run_once()
    reference = new_index("reference")
    follow(reference, index_grid).run_once()

    assert dump(resumed) == dump(reference)
    assert len(dump(resumed)["trading_fill"]) == 2


def test_ranges_grow_over_light_blocks_and_shrink_over_busy_ones():
    target = follower_module.TARGET_LOGS
    assert next_span(1, 0, 2_000) == 2 and next_span(1_024, 0, 2_000) == 2_000
    assert next_span(64, target // 2 - 1, 2_000) == 128
    assert next_span(64, target // 2, 2_000) == 64 and next_span(64, target, 2_000) == 64
    assert next_span(64, target + 1, 2_000) == 32 and next_span(1, 10 * target, 2_000) == 1
    assert next_span(64, target, 7) == 7  # a smaller largest range set after a step


def test_a_busy_history_is_indexed_a_piece_at_a_time(index_grid, new_index, monkeypatch):
    """Ranges shrink over blocks holding more events than the target, so a busy history moves the
    cursor in more, smaller steps than a quiet one, and ends the same as one indexed at once."""

    def steps(index: EventIndex) -> list[int]:
        follower, cursors = follow(index, index_grid, start_block=first), []
        while follower.step() > 0:
            cursors.append(cast(int, index.indexed_block()))
        return cursors

    first = index_grid.w3.eth.block_number + 1  # the history: a block an event or two
    meter_energy(index_grid, produced_wh=4_000)
    trade(index_grid, sell_wh=1_000, buy_wh=1_000)
    head = index_grid.w3.eth.block_number
    quiet = new_index("quiet")
    quiet_cursors = steps(quiet)
    assert quiet_cursors[-1] == head

    monkeypatch.setattr(follower_module, "TARGET_LOGS", 2)
    busy = new_index("busy")
    cursors = steps(busy)
    assert cursors == sorted(set(cursors)) and cursors[-1] == head
    assert len(cursors) > len(quiet_cursors)
    assert dump(busy) == dump(quiet)


def test_a_crash_inside_a_range_leaves_the_database_as_before(index_grid, new_index, monkeypatch):
    meter_energy(index_grid, produced_wh=3_000)
    index = new_index()
    follower = follow(index, index_grid)
    follower.run_once()
    before, cursor_before = dump(index), index.indexed_block()
    trade(index_grid, sell_wh=1_000, buy_wh=400)

    def crash(*_args, **_kwargs):
        raise RuntimeError("power cut after the rows were written")

    monkeypatch.setattr(EventIndex, "_move_cursor", crash)
    with pytest.raises(RuntimeError, match="power cut"):
        follower.step()
    assert dump(index) == before
    assert index.indexed_block() == cursor_before
    with index.session() as session:
        assert session.scalar(select(Block.number).order_by(Block.number.desc()).limit(1)) == cursor_before

    monkeypatch.undo()
    follower.run_once()
    reference = new_index("reference")
    follow(reference, index_grid).run_once()
    assert dump(index) == dump(reference)
    assert len(dump(index)["trading_fill"]) == 1


def test_rolls_back_blocks_a_reverted_snapshot_replaced(index_grid, new_index, chain):
    meter_energy(index_grid, produced_wh=6_000)
    snapshot = chain.snapshot()
    first = trade(index_grid, sell_wh=2_000, buy_wh=2_000)
    index = new_index()
    follower = follow(index, index_grid)
    follower.run_once()
    with index.session() as session:
        assert session.scalars(select(OrderCreated.amount_wh)).all() == [2_000, 2_000]

    chain.restore(snapshot)
    second = trade(index_grid, sell_wh=900, buy_wh=500, settle=False)
    index_grid.mine_block_at(index_grid.w3.eth.get_block("latest")["timestamp"] + 1)  # the new fork is longer
    follower.run_once()

    with index.session() as session:
        orders = session.execute(select(OrderCreated.order_id, OrderCreated.amount_wh).order_by(OrderCreated.order_id)).all()
        assert [tuple(o) for o in orders] == [(second.sell_order_id, 900), (second.buy_order_id, 500)]
        assert session.scalars(select(SettlementRow)).all() == []
        [fill] = session.scalars(select(Fill)).all()
        assert fill.amount_wh == 500
    assert first.transaction_id == second.transaction_id  # the same ids, other contents: only hashes tell
    reference = new_index("reference")
    follow(reference, index_grid).run_once()
    assert dump(index) == dump(reference)


def test_rolls_back_an_anvil_reorg(index_grid, new_index):
    meter_energy(index_grid, produced_wh=2_000)
    trade(index_grid, sell_wh=800, buy_wh=800, settle=False)
    index = new_index()
    follower = follow(index, index_grid)
    follower.run_once()
    assert len(dump(index)["trading_fill"]) == 1
    try:
        # Replaces the last 3 blocks (the BUY that traded, and the SELL and an approval) with empty ones.
        index_grid.w3.provider.make_request("anvil_reorg", [3, []])
    except Exception as err:  # an anvil without the method
        pytest.skip(f"anvil_reorg is not available: {err}")
    follower.run_once()
    reference = new_index("reference")
    follow(reference, index_grid).run_once()
    assert dump(index) == dump(reference)
    assert dump(index)["trading_fill"] == []


def test_keeps_uint256_values_exact(new_index):
    index = new_index()
    huge = 2**256 - 1
    with index.sessions.begin() as session:
        session.add(
            ReadingAccepted(
                block_number=1, log_index=0, tx_hash="0x" + "ab" * 32, timestamp_s=1, meter=anvil_account(DEVICE).address,
                reading_timestamp_s=1, consumption_wh=huge, production_wh=2**63 - 1,
            )
        )
    with index.session() as session:
        row = session.scalars(select(ReadingAccepted)).one()
        assert (row.consumption_wh, row.production_wh) == (huge, 2**63 - 1)


@pytest.fixture(scope="module")
def postgres_url(postgres_server):
    postgres_server.psql("CREATE DATABASE event_index;")
    return postgres_server.get_uri("event_index").replace("postgresql://", "postgresql+psycopg://", 1)


def test_the_same_migrations_and_follower_run_on_postgresql(index_grid, new_index, postgres_url):
    meter, times = meter_energy(index_grid, produced_wh=3_000, consumed_wh=100)
    trade(index_grid, sell_wh=1_200, buy_wh=1_000)
    grid_reports(index_grid, demand_kw=50)
    postgres = EventIndex(postgres_url)
    postgres.upgrade()
    postgres.upgrade()  # a second upgrade is a no-op
    follow(postgres, index_grid).run_once()
    sqlite = new_index()
    follow(sqlite, index_grid).run_once()

    assert dump(postgres) == dump(sqlite)
    assert postgres.indexed_block() == index_grid.w3.eth.block_number
    # The read routes' queries answer the same on both databases.
    answers = []
    for index in (postgres, sqlite):
        with index.session() as session:
            page = queries.PageRequest(50, 0)
            answers.append(
                (
                    queries.orders(session, page, None, "ACTIVE", None),
                    queries.order_book(session, 50),
                    queries.trades(session, page, None, None, None),
                    queries.grid_status(session),
                    queries.meters(session, page, None),
                    queries.meter_production(session, meter, 0, 2**40),
                    queries.energy(session, times[0] // 900 * 900, times[1], 900),
                    queries.prices(session, None, None, 500),
                )
            )
    assert answers[0] == answers[1]
    assert answers[0][5].productionWh == 3_000 and answers[0][1].asks[0].amountWh == 200
    with postgres.sessions.begin() as session:
        session.add(
            SettlementRow(
                block_number=10**9, log_index=0, tx_hash="0x" + "cd" * 32, timestamp_s=1, transaction_id=1, status="SETTLED",
                buyer=anvil_account(BUYER).address, seller=anvil_account(SELLER).address, amount_wh=2**256 - 1,
            )
        )
    with postgres.session() as session:
        assert session.scalar(select(SettlementRow.amount_wh).where(SettlementRow.block_number == 10**9)) == 2**256 - 1
    postgres.rollback_above(index_grid.chain_id, -1)
    assert postgres.cursor() is not None and postgres.cursor().id == CURSOR_ROW_ID  # type: ignore[union-attr]  # The call before it returned a cursor.
    assert all(rows == [] for rows in dump(postgres).values())


# ---------------------------------------------------------------- values and events the index cannot hold back on

UINT256_MAX = 2**256 - 1
FAR_PERIOD = 2**248 + 5  # a period far beyond any market's, as an aliased period reads


def _argument_at_its_end(kind: str, position: int) -> object:
    """A value of ABI type `kind` at the end of its range (the largest unsigned, the most negative
    signed), less `position` so that no two arguments of an event are equal."""
    if kind.endswith("[]"):  # a forecast's vector of int32: both ends of its element's range
        assert kind.startswith("int"), kind
        low = _argument_at_its_end(kind.removesuffix("[]"), position)
        assert isinstance(low, int)
        return [low, -low - 1]
    if kind.startswith("uint"):
        return 2 ** int(kind.removeprefix("uint") or 256) - 1 - position
    if kind.startswith("int"):
        return -(2 ** (int(kind.removeprefix("int") or 256) - 1)) + position
    if kind == "address":
        return Web3.to_checksum_address(f"0x{position + 1:040x}")
    if kind == "bytes32":
        return bytes([position + 1]) * 32
    assert kind == "bool", kind
    return True


def _as_stored(value: object) -> object:
    """An argument as its row keeps it: a bytes32 (a hash) as its 0x-prefixed hex."""
    return "0x" + value.hex() if isinstance(value, bytes) else value


def _raw_log(address: str, abi: dict[str, Any], arguments: dict[str, object], log_index: int) -> dict[str, Any]:
    """The log of an event as eth_getLogs answers it, in block 1."""
    indexed = [i for i in abi["inputs"] if i["indexed"]]
    data = [i for i in abi["inputs"] if not i["indexed"]]
    topics = [event_abi_to_log_topic(cast(ABIEvent, abi))] + [encode([i["type"]], [arguments[i["name"]]]) for i in indexed]
    return {
        "address": address, "topics": ["0x" + bytes(t).hex() for t in topics],
        "data": "0x" + encode([i["type"] for i in data], [arguments[i["name"]] for i in data]).hex(),
        "blockNumber": "0x1", "logIndex": hex(log_index), "transactionHash": "0x" + "ab" * 32,
    }  # fmt: skip


@pytest.fixture(params=["sqlite", "postgresql"])
def each_database(request, tmp_path):
    """A new migrated index of each kind the index runs on."""
    index = EventIndex(new_database_url(request.param, request, tmp_path))
    index.upgrade()
    yield index
    index.engine.dispose()


def test_every_indexed_event_keeps_its_arguments_at_the_ends_of_their_types(project, each_database):
    """Each event the index keeps, its arguments the largest uint256 (uint32, uint8) or the most
    negative int256 there is (a vector of int32 both ends of int32), is stored and read back exactly."""
    names = sorted({contract_name for contract_name, _ in EVENTS})
    contracts = {
        name: Web3().eth.contract(address=Web3.to_checksum_address(f"0x{number + 1:040x}"), abi=abi_of(getattr(project, name)))
        for number, name in enumerate(names)
    }
    logs, expected = [], []
    for log_index, ((contract_name, event_name), row_of) in enumerate(sorted(EVENTS.items())):
        contract = contracts[contract_name]
        (abi,) = [item for item in cast("list[dict[str, Any]]", contract.abi) if item.get("type") == "event" and item["name"] == event_name]
        arguments = {i["name"]: _argument_at_its_end(i["type"], position) for position, i in enumerate(abi["inputs"])}
        logs.append(_raw_log(contract.address, abi, arguments, log_index))
        figures = unpacked(event_name, arguments)  # a packed event's rows keep its figures, each at its own end
        expected.append((row_of, {column: _as_stored(figures[argument]) for column, argument in row_of.arguments.items()}))
    numbers = [value for _, values in expected for value in values.values() if type(value) is int]
    assert max(numbers) == UINT256_MAX and min(numbers) < -(2**254)
    decoder = RowDecoder(contracts)
    events = [cast(IndexedEvent, decoder.decode(log, 1_000)) for log in logs]
    batch = IndexedRange(1, 1, 1, events=events, blocks={1: ("0x" + "cd" * 32, 1_000)})

    assert each_database.store_range(batch) == []

    with each_database.session() as session:
        for log_index, (row_of, values) in enumerate(expected):
            table = row_of.table
            stored = session.scalars(select(table).where(table.log_index == log_index)).one()
            assert {column: getattr(stored, column) for column in values} == values, table.__tablename__


@pytest.fixture
def zone_events(project, admin, networks, chain):
    """A contract emitting MarketZones' events with any arguments, and how to build a follower that
    reads it, as the deployment's MarketZones, into an index."""

    def build(index: EventIndex) -> Follower:
        w3 = Web3(Web3.HTTPProvider(networks.provider.uri))
        market_zones = w3.eth.contract(address=harness.address, abi=abi_of(harness))
        client = SimpleNamespace(w3=w3, chain_id=chain.chain_id, contracts={"MarketZones": market_zones})
        return Follower(index, client, 0.1, start_block=start_block)

    harness = admin.deploy(project.MarketZonesEventsHarness)
    start_block = chain.blocks.head.number
    return harness, build


def test_a_far_future_period_and_limits_near_2_256_are_indexed_exactly(zone_events, new_index, admin, chain):
    harness, follow_harness = zone_events
    harness.emitLinkLimitsSet(7, [FAR_PERIOD], UINT256_MAX, UINT256_MAX - 1, UINT256_MAX, sender=admin)
    harness.emitZoneCleared(FAR_PERIOD, UINT256_MAX, ZoneRole.IMPORT_BOUND, UINT256_MAX - 2, UINT256_MAX - 3, -(2**255), sender=admin)
    harness.emitLinkLimitsSet(7, [3], 4, 50, 60, sender=admin)  # an ordinary event after them
    index = new_index()

    follower = follow_harness(index)
    assert follower.run_once() == chain.blocks.head.number

    page = queries.PageRequest(10, 0)
    with index.session() as session:
        limits = queries.link_limits(session, page, 7).items
        cleared = queries.zone_clearings(session, page, None, None).items
    assert [(item.firstPeriod, item.periodCount, item.importLimitKW, item.exportLimitKW) for item in limits] == [
        (3, 4, 50, 60), (FAR_PERIOD, UINT256_MAX, UINT256_MAX - 1, UINT256_MAX),
    ]  # fmt: skip
    assert [(c.period, c.zone, c.role, c.clearingPricePerKWh, c.netExportWh) for c in cleared] == [
        (FAR_PERIOD, UINT256_MAX, "IMPORT_BOUND", UINT256_MAX - 3, -(2**255))
    ]
    assert follower.skipped_events == 0


def _refusing(monkeypatch: pytest.MonkeyPatch, refusals: dict[int, Exception]) -> None:
    """The store fails to insert a LinkLimitsSet row whose first period `refusals` names, with that error."""
    insert_rows = EventIndex._insert_rows

    def insert_or_refuse(session, rows):
        for row in rows:
            if isinstance(row, LinkLimitsSet) and row.first_period in refusals:
                raise refusals[row.first_period]
        insert_rows(session, rows)

    monkeypatch.setattr(EventIndex, "_insert_rows", staticmethod(insert_or_refuse))


def _first_periods(index: EventIndex) -> list[int]:
    with index.session() as session:
        return list(session.scalars(select(LinkLimitsSet.first_period).order_by(LinkLimitsSet.block_number, LinkLimitsSet.log_index)))


def test_an_event_the_index_cannot_store_is_left_out_said_once_and_counted(zone_events, new_index, admin, chain, monkeypatch, caplog):
    """In one block, the store refuses the second event's row and the third's log does not decode:
    both are left out, with their reasons logged once, and the block's first event and the next
    block's are indexed."""
    harness, follow_harness = zone_events
    block = harness.emitLinkLimitsSet(7, [10, 11, 12], 4, 50, 60, sender=admin).block_number
    harness.emitLinkLimitsSet(7, [13], 4, 50, 60, sender=admin)
    _refusing(monkeypatch, {11: ValueError("the column cannot take it")})
    build = RowOf.build

    def build_or_fail(self, args, at):
        if args.get("firstPeriod") == 12:
            raise ValueError("the log does not make a row")
        return build(self, args, at)

    monkeypatch.setattr(RowOf, "build", build_or_fail)
    index = new_index()
    follower = follow_harness(index)

    with caplog.at_level(logging.ERROR, logger=follower_module.__name__):
        assert follower.run_once() == chain.blocks.head.number
        follower.run_once()  # nothing new: nothing said again

    assert _first_periods(index) == [10, 13]
    assert follower.skipped_events == 2
    said = sorted(record.getMessage() for record in caplog.records if record.name == follower_module.__name__)
    assert len(said) == 2
    assert said[0].startswith(f"index follower: left out MarketZones.LinkLimitsSet at block {block}, log 1 (transaction 0x")
    assert said[0].endswith(": ValueError: the column cannot take it")
    assert said[1].startswith(f"index follower: left out MarketZones.LinkLimitsSet at block {block}, log 2 (transaction 0x")
    assert said[1].endswith(": ValueError: the log does not make a row")


def test_a_database_failure_while_leaving_an_event_out_stores_nothing_of_the_range(zone_events, new_index, admin, monkeypatch, caplog):
    """The database refuses one row, then fails itself on another of the same range: the range is
    not stored (not even the rows before, or the event left out), so it is read again, whole."""
    harness, follow_harness = zone_events
    index = new_index()
    follower = follow_harness(index)
    follower.run_once()
    before, cursor_before = dump(index), index.indexed_block()
    harness.emitLinkLimitsSet(7, [10, 11, 12], 4, 50, 60, sender=admin)
    _refusing(monkeypatch, {11: ValueError("the column cannot take it"), 12: OperationalError("INSERT", {}, Exception("disk I/O error"))})

    with caplog.at_level(logging.ERROR, logger=follower_module.__name__), pytest.raises(OperationalError, match="disk I/O error"):
        follower.step()

    assert dump(index) == before and index.indexed_block() == cursor_before
    assert follower.skipped_events == 0 and not [record for record in caplog.records if record.name == follower_module.__name__]
    monkeypatch.undo()
    follower.run_once()
    assert _first_periods(index) == [10, 11, 12]

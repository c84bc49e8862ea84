"""The index's migrations, on SQLite and PostgreSQL: each revision builds what it added (read from
the models), the newest one leaves the database exactly as the models describe it, a database
indexed at the first revision keeps its rows when it is upgraded (load reports converted from MW
to kW), one indexed before the event values were 256 bits wide keeps them exactly, one indexed before
the zones' roles keeps its zones' rows without a role, and every revision can be taken back."""

from __future__ import annotations

import shutil
from types import SimpleNamespace

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from energy_grid.domain.enums import ZoneRole
from energy_grid.index import EventIndex, queries, store
from energy_grid.index.migrations import build
from energy_grid.index.models import (
    WIDENED_IN,
    Base,
    DemandEventStarted,
    EmergencyModeChanged,
    LinkLimitsSet,
    LoadReported,
    ZoneCleared,
    added_in,
)
from energy_grid.index.store import MIGRATIONS_DIR
from energy_grid.index.types import INT64_MAX, INT64_MIN

from support.index_helpers import new_database_url

FIRST, DR_REGION, EMERGENCY_REGION = "0001", "0002_dr_event_region", "0003_emergency_region"
METERED_ORDERS = "0004_metered_orders_settled"
GRID_POWER_KW = "0005_grid_power_kw"
ZONES = "0006_market_zones"
ZONE_LINKS = "0007_zone_links"
UINT256_VALUES = "0008_uint256_values"
ZONE_ROLES = "0009_zone_roles"
FORECASTS = "0010_forecasts"
ZONE_TABLES = {"zone_cleared", "link_limits_set"}
ZONE_LINK_TABLES = {"zone_added", "zone_rating_updated"}
FORECAST_TABLES = {"forecast_committed", "forecast_scored"}
TX_HASH = "0x" + "ab" * 32
OPERATOR = "0x" + "11" * 20
MODEL_TABLES = set(Base.metadata.tables)
# (table, column) of every column filled from a uint256 or int256 event argument that the index
# kept in 64 bits before UINT256_VALUES.
WIDENED = {(table.name, column.name) for table in Base.metadata.sorted_tables for column in table.columns if column.info.get(WIDENED_IN)}


@pytest.fixture(params=["sqlite", "postgresql"])
def index(request, tmp_path):
    """An empty database (a new one per test) of each kind the index runs on."""
    index = EventIndex(new_database_url(request.param, request, tmp_path))
    yield index
    index.engine.dispose()


def differences(index: EventIndex) -> list:
    """What the database's schema lacks or has beyond the models (types and server defaults too)."""
    with index.engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True, "compare_server_default": True})
        return compare_metadata(context, Base.metadata)


def columns(index: EventIndex, table: str) -> set[str]:
    return {column["name"] for column in sa.inspect(index.engine).get_columns(table)}


def indexes(index: EventIndex, table: str) -> set[str]:
    """The table's indexes (PostgreSQL's of its unique constraints left out)."""
    return {str(item["name"]) for item in sa.inspect(index.engine).get_indexes(table) if not item.get("duplicates_constraint")}


def tables(index: EventIndex) -> set[str]:
    return set(sa.inspect(index.engine).get_table_names()) - {"alembic_version"}


def bigint_columns(index: EventIndex) -> set[tuple[str, str]]:
    """The widened columns the database declares BIGINT."""
    inspector = sa.inspect(index.engine)
    return {
        (table, column["name"])
        for table in {table for table, _ in WIDENED}
        for column in inspector.get_columns(table)
        if (table, column["name"]) in WIDENED and isinstance(column["type"], sa.BigInteger)
    }


def test_each_revision_builds_only_what_it_added(index):
    index.upgrade(FIRST)
    assert tables(index) == MODEL_TABLES - {"metered_orders_settled"} - ZONE_TABLES - ZONE_LINK_TABLES - FORECAST_TABLES
    assert "region_id" not in columns(index, "dr_event_started")
    assert "region_id" not in columns(index, "grid_emergency_mode_changed")
    assert indexes(index, "grid_emergency_mode_changed") == set()
    assert indexes(index, "meter_reading") == {"ix_meter_reading_meter_time", "ix_meter_reading_time"}

    index.upgrade(DR_REGION)
    assert "region_id" in columns(index, "dr_event_started")
    assert "region_id" not in columns(index, "grid_emergency_mode_changed")

    index.upgrade(EMERGENCY_REGION)
    assert "region_id" in columns(index, "grid_emergency_mode_changed")
    assert indexes(index, "grid_emergency_mode_changed") == {"ix_grid_emergency_mode_changed_region_id"}
    assert "metered_orders_settled" not in tables(index)

    index.upgrade(METERED_ORDERS)
    assert tables(index) == MODEL_TABLES - ZONE_TABLES - ZONE_LINK_TABLES - FORECAST_TABLES
    assert indexes(index, "metered_orders_settled") == {"ix_metered_orders_settled_meter"}
    assert {"capacity_mw", "demand_mw"} <= columns(index, "grid_load_reported")

    index.upgrade(GRID_POWER_KW)
    load_columns = columns(index, "grid_load_reported")
    assert {"capacity_kw", "demand_kw"} <= load_columns and not {"capacity_mw", "demand_mw"} & load_columns

    index.upgrade(ZONES)
    assert tables(index) == MODEL_TABLES - ZONE_LINK_TABLES - FORECAST_TABLES
    assert indexes(index, "zone_cleared") == {"ix_zone_cleared_period"}

    index.upgrade(ZONE_LINKS)
    assert tables(index) == MODEL_TABLES - FORECAST_TABLES
    assert indexes(index, "zone_added") == {"ix_zone_added_region_id"}
    assert {("link_limits_set", "first_period"), ("zone_cleared", "net_export_wh"), ("trading_order_created", "expiry_s")} <= WIDENED
    assert bigint_columns(index) == WIDENED

    index.upgrade(UINT256_VALUES)
    assert bigint_columns(index) == set()
    fill_indexes = {f"ix_trading_fill_{name}" for name in ("transaction_id", "buy_order_id", "sell_order_id", "buyer", "seller")}
    assert indexes(index, "trading_fill") == fill_indexes
    assert "role" not in columns(index, "zone_cleared")

    index.upgrade(ZONE_ROLES)
    assert "role" in columns(index, "zone_cleared")
    assert indexes(index, "zone_cleared") == {"ix_zone_cleared_period"}
    assert not FORECAST_TABLES & tables(index)

    index.upgrade(FORECASTS)
    assert tables(index) == MODEL_TABLES
    assert indexes(index, "forecast_committed") == {"ix_forecast_committed_region_id", "ix_forecast_committed_first_interval"}
    assert differences(index) == []


def test_the_newest_revision_is_the_models_schema(index):
    index.upgrade()
    assert differences(index) == []
    index.upgrade()  # a second upgrade is a no-op
    assert differences(index) == []


def _insert(connection: sa.Connection, table_name: str, **values: object) -> None:
    """A row as the first revision's index wrote it (plain SQL values: small integers stay INTEGER)."""
    row = {"block_number": 1, "tx_hash": TX_HASH, "timestamp_s": 1_000, **values}
    connection.execute(sa.insert(sa.table(table_name, *(sa.column(name) for name in row))).values(row))


def test_upgrades_an_index_built_at_the_first_revision_keeping_its_rows(index):
    index.upgrade(FIRST)
    with index.engine.begin() as connection:
        _insert(
            connection,
            "dr_event_started",
            log_index=0,
            event_id=7,
            operator=OPERATOR,
            target_reduction_kw=50,
            reward_per_kw=3,
            start_time_s=1_000,
            end_time_s=2_000,
            budget=150,
        )
        _insert(connection, "grid_emergency_mode_changed", log_index=1, active=True, changed_by=OPERATOR)
        _insert(
            connection,
            "grid_load_reported",
            log_index=2,
            region_id=1,
            operator=OPERATOR,
            sequence=1,
            capacity_mw=100,
            demand_mw=96,
            load_percentage=96,
            status=3,
        )

    index.upgrade()

    assert differences(index) == []
    with index.session() as session:
        started = session.scalars(sa.select(DemandEventStarted)).one()
        assert (started.event_id, started.region_id, started.budget) == (7, 0, 150)
        emergency = session.scalars(sa.select(EmergencyModeChanged)).one()
        assert (emergency.region_id, emergency.active) == (0, True)
        # The load reported in MW reads the same power in kW.
        load = session.scalars(sa.select(LoadReported)).one()
        assert (load.capacity_kw, load.demand_kw, load.load_percentage) == (100_000, 96_000, 96)
        assert queries.grid_loads(session, 1, None, None, 10).points[0].capacityKW == 100_000
        # The read routes see the rows indexed before: region 0 is the grid-wide switch.
        assert queries.demand_events(session, queries.PageRequest(10, 0)).items[0].regionId == 0
        status = queries.grid_status(session)
        assert status.emergencyMode is True and [row.regionId for row in status.regions] == [0, 1]
    # Rows indexed after the upgrade carry their region.
    with index.sessions.begin() as session:
        session.add(
            EmergencyModeChanged(
                block_number=2, log_index=0, tx_hash=TX_HASH, timestamp_s=2_000, region_id=3, active=False, changed_by=OPERATOR
            )
        )
    with index.session() as session:
        assert [row.regionId for row in queries.grid_status(session).regions] == [0, 1, 3]


def test_upgrades_an_index_built_before_uint256_values_keeping_its_rows(index):
    """Ids, periods and times kept in 64 bits read back the same, at the ends of their range, and
    stay INTEGER on SQLite (sorted and summed as numbers); then the columns take any event value.
    Taken back, the revision refuses while a value beyond 64 bits is stored."""
    index.upgrade(ZONE_LINKS)
    reading_s = 1_710_001_000  # in the interval from 1,710,000,900 s
    with index.engine.begin() as connection:
        order = {"order_id": 7, "trader": OPERATOR, "side": 1, "amount_wh": 500, "price_per_kwh": 200_000}
        _insert(connection, "trading_order_created", log_index=0, **order, expiry_s=INT64_MAX, counterparty=None)
        _insert(connection, "trading_fill", log_index=1, transaction_id=3, sell_order_id=7, taken_order_id=7, taker=OPERATOR,
                seller=OPERATOR, amount_wh=500, price_per_kwh=200_000)  # fmt: skip
        _insert(connection, "zone_cleared", log_index=2, period=1_900_001, zone=2, clearing_tick=40, clearing_price_per_kwh=200_000,
                net_export_wh=INT64_MIN)  # fmt: skip
        _insert(connection, "link_limits_set", log_index=3, region_id=1, first_period=1_900_001, period_count=4, import_limit_kw=50,
                export_limit_kw=60, operator=OPERATOR)  # fmt: skip
        _insert(connection, "meter_reading", log_index=4, meter=OPERATOR, reading_timestamp_s=reading_s, consumption_wh=10,
                production_wh=300)  # fmt: skip

    index.upgrade()

    assert differences(index) == []
    page = queries.PageRequest(10, 0)
    with index.session() as session:
        migrated_order = queries.order(session, 7)
        assert migrated_order is not None
        assert migrated_order.expiry == INT64_MAX
        [trade] = queries.trades(session, page, None, None, None).items
        assert (trade.transactionId, trade.buyOrderId, trade.sellOrderId) == (3, None, 7)
        [cleared] = queries.zone_clearings(session, page, None, None).items
        assert (cleared.period, cleared.zone, cleared.netExportWh) == (1_900_001, 2, INT64_MIN)
        [limits] = queries.link_limits(session, page, 1).items
        assert (limits.firstPeriod, limits.periodCount) == (1_900_001, 4)
        energy = queries.meter_production(session, OPERATOR, 0, 2**40)
        assert [(i.timestamp, i.productionWh) for i in energy.intervals] == [(1_710_000_900, 300)]
    if index.engine.dialect.name == "sqlite":
        filled = {"trading_order_created", "trading_fill", "zone_cleared", "link_limits_set", "meter_reading"}
        with index.engine.connect() as connection:
            kinds = {
                kind
                for table, column in WIDENED
                if table in filled
                for kind in connection.execute(sa.text(f"SELECT typeof({column}) FROM {table}")).scalars()
            }
        assert kinds == {"integer", "null"}  # null: the fill's buy order

    far_period = 2**248 + 5
    with index.sessions.begin() as session:
        row = {"block_number": 2, "tx_hash": TX_HASH, "timestamp_s": 2_000}
        session.add(LinkLimitsSet(**row, log_index=0, region_id=1, first_period=far_period, period_count=2**256 - 1,
                                  import_limit_kw=2**256 - 2, export_limit_kw=0, operator=OPERATOR))  # fmt: skip
        session.add(ZoneCleared(**row, log_index=1, period=far_period, zone=2**256 - 1, clearing_tick=1, clearing_price_per_kwh=1,
                                net_export_wh=-(2**255)))  # fmt: skip
    with index.session() as session:
        far = session.scalars(sa.select(LinkLimitsSet).where(LinkLimitsSet.block_number == 2)).one()
        assert (far.first_period, far.period_count, far.import_limit_kw) == (far_period, 2**256 - 1, 2**256 - 2)
        assert session.scalars(sa.select(ZoneCleared.net_export_wh).order_by(ZoneCleared.id)).all() == [INT64_MIN, -(2**255)]

    with pytest.raises(ValueError, match=r"link_limits_set\.first_period holds values beyond 64 bits \(1 rows\)"):
        index.downgrade(ZONE_LINKS)
    assert differences(index) == []  # refused before it changed anything
    with index.sessions.begin() as session:
        for table in (LinkLimitsSet, ZoneCleared):
            session.execute(sa.delete(table).where(table.block_number == 2))
    index.downgrade(ZONE_LINKS)
    assert bigint_columns(index) == WIDENED
    with index.engine.connect() as connection:
        assert connection.execute(sa.text("SELECT expiry_s FROM trading_order_created")).scalar() == INT64_MAX
        assert connection.execute(sa.text("SELECT net_export_wh FROM zone_cleared")).scalar() == INT64_MIN


def test_upgrades_an_index_built_before_zone_roles_keeping_its_zones_without_a_role(index):
    """A zone's row indexed before the index kept roles reads back with none (null in the API's
    JSON); one indexed after carries the role its event named, by name. Taken back, the revision
    drops the column and keeps the rows."""
    index.upgrade(UINT256_VALUES)
    period = 1_900_001
    with index.engine.begin() as connection:
        _insert(connection, "auction_market_cleared", log_index=0, period=period, clearing_tick=40, clearing_price_per_kwh=200_000,
                volume_wh=500, long_side=0, marginal_tick=40, rationed_wh=0, marginal_level_wh=0, fee_bps=0)  # fmt: skip
        _insert(connection, "zone_cleared", log_index=1, period=period, zone=1, clearing_tick=30, clearing_price_per_kwh=150_000,
                net_export_wh=500)  # fmt: skip

    index.upgrade()

    assert differences(index) == []
    with index.sessions.begin() as session:
        session.add(ZoneCleared(block_number=1, log_index=2, tx_hash=TX_HASH, timestamp_s=1_000, period=period, zone=2,
                                role=ZoneRole.COUPLED, clearing_tick=40, clearing_price_per_kwh=200_000, net_export_wh=-500))  # fmt: skip
    page = queries.PageRequest(10, 0)
    with index.session() as session:
        clearings = queries.zone_clearings(session, page, period, None).items
        [market] = queries.zone_markets(session, page, period, None).items
    assert [(row.zone, row.role) for row in clearings] == [(2, "COUPLED"), (1, None)]
    assert [(row.zone, row.role) for row in market.zones] == [(1, None), (2, "COUPLED")]

    index.downgrade(UINT256_VALUES)
    assert "role" not in columns(index, "zone_cleared")
    with index.engine.connect() as connection:
        kept = connection.execute(sa.text("SELECT zone, net_export_wh FROM zone_cleared ORDER BY log_index")).all()
    assert [tuple(int(value) for value in row) for row in kept] == [(1, 500), (2, -500)]


def test_every_revision_can_be_taken_back(index):
    index.upgrade()
    with index.sessions.begin() as session:  # a 100 kVA feeder at 90 kW, and a 2.5 MW one
        for log_index, (capacity_kw, demand_kw) in enumerate(((100, 90), (2_500, 2_499))):
            row = {"block_number": 1, "log_index": log_index, "tx_hash": TX_HASH, "timestamp_s": 1_000, "region_id": 1}
            load = {"capacity_kw": capacity_kw, "demand_kw": demand_kw, "load_percentage": 90, "status": 2}
            session.add(LoadReported(**row, **load, operator=OPERATOR, sequence=log_index + 1))
    index.downgrade(METERED_ORDERS)
    # Back in whole MW, rounded down as the contracts reported before kW.
    with index.engine.connect() as connection:
        loads = connection.execute(sa.text("SELECT capacity_mw, demand_mw FROM grid_load_reported ORDER BY log_index")).all()
    assert [tuple(int(value) for value in row) for row in loads] == [(0, 0), (2, 2)]
    index.downgrade(DR_REGION)
    assert "region_id" not in columns(index, "grid_emergency_mode_changed")
    assert "region_id" in columns(index, "dr_event_started")
    index.downgrade(FIRST)
    assert "region_id" not in columns(index, "dr_event_started")
    index.downgrade("base")
    assert tables(index) == set()

    index.upgrade()
    assert differences(index) == []


def test_a_later_revision_adds_what_the_models_mark_with_it_and_no_earlier_one_does(index, tmp_path, monkeypatch):
    """The models grow a column and a table marked with a new revision: the revisions before it
    build what they did, the new one adds both, and taking it back removes them."""
    later = "0011_tariffs"
    metadata = sa.MetaData()
    for table in Base.metadata.sorted_tables:
        table.to_metadata(metadata)
    metadata.tables["meter_registered"].append_column(
        sa.Column("tariff_id", sa.BigInteger(), nullable=False, server_default="0", index=True, info=added_in(later))
    )
    sa.Table("tariff_set", metadata, sa.Column("id", sa.Integer(), primary_key=True), info=added_in(later))
    monkeypatch.setattr(build, "Base", SimpleNamespace(metadata=metadata))
    migrations = tmp_path / "migrations"
    shutil.copytree(MIGRATIONS_DIR, migrations, ignore=shutil.ignore_patterns("__pycache__"))
    (migrations / "versions" / f"{later}.py").write_text(
        f"from energy_grid.index.migrations import build\n\nrevision = {later!r}\ndown_revision = {FORECASTS!r}\n"
        "upgrade, downgrade = build.steps(revision)\n"
    )
    monkeypatch.setattr(store, "MIGRATIONS_DIR", migrations)

    index.upgrade(FORECASTS)
    assert "tariff_id" not in columns(index, "meter_registered") and "tariff_set" not in tables(index)
    index.upgrade()
    assert "tariff_id" in columns(index, "meter_registered") and "tariff_set" in tables(index)
    assert "ix_meter_registered_tariff_id" in indexes(index, "meter_registered")
    index.downgrade(FORECASTS)
    assert "tariff_id" not in columns(index, "meter_registered") and "tariff_set" not in tables(index)
    assert differences(index) == []

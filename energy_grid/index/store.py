"""EventIndex: the index database (SQLite by default, PostgreSQL when the URL names one), its
migrations, and the few writes the follower makes, each in one transaction.

A range's rows are stored in one bulk insert per table. When that fails for a reason of the rows'
own (a value the column cannot take, anything but the database being unavailable), the range is
stored again one row at a time, each under a savepoint, leaving out the rows that fail: one event
never holds the index back, and the range (its other rows, its blocks and the cursor) is still
stored whole or not at all.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, create_engine, delete, event, insert, inspect, select
from sqlalchemy.exc import DBAPIError, DisconnectionError, InterfaceError, OperationalError, ProgrammingError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.pool import StaticPool

from energy_grid.chain.errors import GridError
from energy_grid.index.decode import IndexedEvent, SkippedEvent
from energy_grid.index.models import EVENT_TABLES, Block, Cursor, EventRow, Fill, OrderCreated

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"
CURSOR_ROW_ID = 1
SQLITE_BUSY_TIMEOUT_MS = 30_000
BUY_SIDE = 0


class IndexChainMismatchError(GridError):
    """The index database holds another chain's events than the node's."""

    def __init__(self, indexed_chain_id: int, node_chain_id: int) -> None:
        self.indexed_chain_id = indexed_chain_id
        self.node_chain_id = node_chain_id
        super().__init__(
            f"The index database holds chain {indexed_chain_id}'s events but the node is chain {node_chain_id}: "
            "point DATABASE_URL at another database."
        )


@dataclass
class IndexedRange:
    """What the follower read for blocks first..last: the decoded events in log order, the events
    whose logs did not decode, and the hash and timestamp of every block they came from plus the
    last block's."""

    chain_id: int
    first_block: int
    last_block: int
    events: list[IndexedEvent] = field(default_factory=list)
    skipped: list[SkippedEvent] = field(default_factory=list)
    blocks: dict[int, tuple[str, int]] = field(default_factory=dict)  # number -> (hash, timestamp_s)


# The database's own failures (unreachable, locked, busy, its schema not the models'): the same
# write may succeed later, so they fail the range, which the follower retries, instead of leaving
# out the row they happened on.
_DATABASE_FAILURES = (OperationalError, InterfaceError, ProgrammingError, DisconnectionError, PoolTimeoutError)


def _is_database_failure(error: BaseException) -> bool:
    return isinstance(error, _DATABASE_FAILURES) or (isinstance(error, DBAPIError) and error.connection_invalidated)


def _sqlite_pragmas(dbapi_connection: Any, _: Any) -> None:
    # WAL: the API's reads (other threads, other connections) never wait for the follower's write,
    # and the busy timeout makes a second writer wait instead of failing at once.
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
    cursor.close()


# A connection for every thread that may hold one at once: the service's route threads (anyio's
# default of 40), the follower, and a margin. With fewer, a burst of requests left every route
# thread waiting for a connection that only a route's cleanup (which needs a thread) would return:
# requests stalled for the pool's 30 s timeout and failed.
POOL_CONNECTIONS = 48


def make_engine(database_url: str) -> Engine:
    if database_url.startswith("sqlite"):
        if database_url in {"sqlite://", "sqlite:///:memory:"}:
            # One shared connection for an in-memory database (each new one would be empty).
            engine = create_engine(database_url, connect_args={"check_same_thread": False}, poolclass=StaticPool)
        else:
            engine = create_engine(
                database_url,
                connect_args={"check_same_thread": False, "timeout": SQLITE_BUSY_TIMEOUT_MS / 1000},
                pool_size=POOL_CONNECTIONS,
                max_overflow=0,
            )
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    return create_engine(database_url, pool_pre_ping=True, pool_size=POOL_CONNECTIONS, max_overflow=0)


class EventIndex:
    """The index database at `database_url` (an SQLAlchemy URL: `sqlite:///file` or
    `postgresql+psycopg://user@host/db`)."""

    def __init__(self, database_url: str) -> None:
        self.database_url = database_url
        self.engine = make_engine(database_url)
        self.sessions = sessionmaker(self.engine, expire_on_commit=False)

    def upgrade(self, revision: str = "head") -> None:
        """Brings the database's schema to `revision` of the migrations shipped in the package (the newest by default)."""
        with self._migrations() as config:
            command.upgrade(config, revision)

    def downgrade(self, revision: str) -> None:
        """Takes the database's schema back to `revision` ("base": no tables)."""
        with self._migrations() as config:
            command.downgrade(config, revision)

    @contextmanager
    def _migrations(self) -> Iterator[Config]:
        config = Config()
        config.set_main_option("script_location", str(MIGRATIONS_DIR))
        with self.engine.begin() as connection:
            if connection.dialect.name == "sqlite":
                # pysqlite opens a transaction only at the first write, so a table made before it
                # (SQLite's copy of a table a step alters) would outlast a later step's failure: one
                # explicit transaction makes each upgrade or downgrade all or nothing.
                connection.exec_driver_sql("BEGIN")
            config.attributes["connection"] = connection
            yield config

    @contextmanager
    def session(self) -> Iterator[Session]:
        """A read session (the routes' queries)."""
        with self.sessions() as session:
            yield session

    # ------------------------------------------------------------------ the follower's state

    def cursor(self) -> Cursor | None:
        with self.sessions() as session:
            return session.get(Cursor, CURSOR_ROW_ID)

    def indexed_block(self) -> int | None:
        """The last block indexed, None before the first range."""
        cursor = self.cursor()
        return None if cursor is None or cursor.block_number < 0 else cursor.block_number

    def indexed_head(self) -> Block | None:
        """The last indexed block with its hash and timestamp."""
        number = self.indexed_block()
        if number is None:
            return None
        with self.sessions() as session:
            return session.get(Block, number)

    def stored_blocks_from(self, number: int, limit: int) -> Sequence[Block]:
        """Up to `limit` stored blocks at or below `number`, highest first (where a fork is searched)."""
        with self.sessions() as session:
            query = select(Block).where(Block.number <= number).order_by(Block.number.desc()).limit(limit)
            return session.scalars(query).all()

    def check_chain(self, chain_id: int) -> None:
        cursor = self.cursor()
        if cursor is not None and cursor.chain_id != chain_id:
            raise IndexChainMismatchError(cursor.chain_id, chain_id)

    # ------------------------------------------------------------------ the follower's writes

    def store_range(self, batch: IndexedRange) -> list[SkippedEvent]:
        """Stores a range's rows, blocks and the moved cursor in one transaction: after a crash the
        database holds the whole range or none of it. Returns the events whose rows the database
        refused, left out of the range."""
        rows = [indexed.row for indexed in batch.events]
        created = _orders_created(rows)
        try:
            with self.sessions.begin() as session:
                self._resolve_fills(session, rows, created)
                self._insert_rows(session, rows)
                self._store_position(session, batch)
            return []
        except Exception as err:
            if _is_database_failure(err):
                raise
        return self._store_row_by_row(batch, created)

    def _store_row_by_row(self, batch: IndexedRange, created: Mapping[int, OrderCreated]) -> list[SkippedEvent]:
        """Stores the range as store_range does, each row under a savepoint of its own: the rows
        the database refuses are rolled back alone and returned."""
        skipped = []
        with self.sessions.begin() as session:
            # The position first: pysqlite opens the transaction at the first write, and a
            # savepoint taken before it would be a transaction of its own, committed on release.
            self._store_position(session, batch)
            for indexed in batch.events:
                try:
                    with session.begin_nested():
                        self._resolve_fills(session, [indexed.row], created)
                        self._insert_rows(session, [indexed.row])
                except Exception as err:
                    if _is_database_failure(err):
                        raise
                    skipped.append(indexed.skipped(err))
        return skipped

    def _store_position(self, session: Session, batch: IndexedRange) -> None:
        """The range's block hashes and the cursor moved to its last block."""
        for number, (block_hash, timestamp_s) in batch.blocks.items():
            session.merge(Block(number=number, hash=block_hash, timestamp_s=timestamp_s))
        session.flush()
        self._move_cursor(session, batch.chain_id, batch.last_block)
        session.flush()

    @staticmethod
    def _insert_rows(session: Session, rows: Sequence[EventRow]) -> None:
        """One bulk insert per table, in the rows' order: the ORM's add_all reads back each row's id
        one statement at a time, which is most of the time an index takes to catch up on a chain of
        a thousand meters' readings."""
        by_table: dict[type[EventRow], list[dict[str, Any]]] = {}
        for row in rows:
            columns = inspect(type(row)).column_attrs
            values = {c.key: getattr(row, c.key) for c in columns if c.key != "id"}
            by_table.setdefault(type(row), []).append(values)
        for table, values_list in by_table.items():
            session.execute(insert(table), values_list)

    def rollback_above(self, chain_id: int, block_number: int) -> None:
        """Forgets every row and block above `block_number` (a reorganization replaced them)."""
        with self.sessions.begin() as session:
            for table in EVENT_TABLES:
                session.execute(delete(table).where(table.block_number > block_number))
            session.execute(delete(Block).where(Block.number > block_number))
            self._move_cursor(session, chain_id, block_number)

    def _move_cursor(self, session: Session, chain_id: int, block_number: int) -> None:
        cursor = session.get(Cursor, CURSOR_ROW_ID)
        if cursor is None:
            session.add(Cursor(id=CURSOR_ROW_ID, chain_id=chain_id, block_number=block_number))
        else:
            cursor.block_number = block_number

    @staticmethod
    def _resolve_fills(session: Session, rows: Sequence[EventRow], created: Mapping[int, OrderCreated]) -> None:
        """Names each fill's buyer and seller (and a taken order's side) from the orders' creation,
        in this range (`created`) or indexed before."""

        def order(order_id: int | None) -> OrderCreated | None:
            if order_id is None:
                return None
            if order_id in created:
                return created[order_id]
            return session.scalars(select(OrderCreated).where(OrderCreated.order_id == order_id).limit(1)).first()

        for row in rows:
            if not isinstance(row, Fill):
                continue
            if row.taken_order_id is not None:
                taken = order(row.taken_order_id)
                if taken is not None:
                    if taken.side == BUY_SIDE:
                        row.buy_order_id, row.buyer, row.seller = taken.order_id, taken.trader, row.taker
                    else:
                        row.sell_order_id, row.seller, row.buyer = taken.order_id, taken.trader, row.taker
                continue
            buy, sell = order(row.buy_order_id), order(row.sell_order_id)
            row.buyer = buy.trader if buy is not None else None
            row.seller = sell.trader if sell is not None else None


def _orders_created(rows: Sequence[EventRow]) -> dict[int, OrderCreated]:
    """The range's orders, by id."""
    return {row.order_id: row for row in rows if isinstance(row, OrderCreated)}

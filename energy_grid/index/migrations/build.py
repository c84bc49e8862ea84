"""What each migration adds, read from the models: a table or column carries the revision that
added it (`models.added_in`), unmarked ones belong to the first revision. A migration that only
adds tables, or columns and their indexes, is then one line, `upgrade, downgrade = steps(revision)`,
and each revision builds exactly what it added: a column a later revision adds is never created by
an earlier one, so the database at every revision is the one it was, whatever the models add later.
A column a revision widened from a 64-bit integer to 256 bits (`models.widened_in`) is read from
the models the same way: the revisions before it build it as a BIGINT, and `steps` widens it
keeping its values.

Otherwise only additions are read from the models. A revision that changes or drops what an earlier
one made (another new type, a rename, a dropped column) writes its operations by hand, and the
earlier revisions still build from the models: a renamed column is marked with the revision that
renamed it and its former name (`models.renamed_in`), under which the revisions before it build it
(a renamed column carries no index; one would need its index renamed too). A dropped column would
need its former definition kept the same way. The migration tests step through every revision on
both databases and compare the newest with the models, so a change that breaks an earlier revision
fails there.
"""

from __future__ import annotations

from collections.abc import Callable

from alembic import op
from sqlalchemy import BigInteger, Column, Index, MetaData, Table, UniqueConstraint, func, or_, select
from sqlalchemy.sql import column as column_clause
from sqlalchemy.sql import table as table_clause

from energy_grid.index.models import ADDED_IN, RENAMED_IN, WIDENED_IN, Base
from energy_grid.index.types import INT64_MAX, INT64_MIN, Uint256

FIRST_REVISION = "0001"


def _revision_of(item: Table | Column[object], table: Table | None = None) -> str:
    marked = item.info.get(ADDED_IN)
    if marked is not None:
        return str(marked)
    return FIRST_REVISION if table is None else _revision_of(table)


def _number(revision: str) -> int:
    return int(revision[:4])


def _detached(column: Column[object], revision: str) -> Column[object]:
    """The column alone, named and typed as it was at `revision`: its indexes are made as the
    revision's own (named) indexes."""
    copy = column._copy()
    copy.index = None
    copy.unique = None
    renamed = column.info.get(RENAMED_IN)
    if renamed is not None and _number(revision) < _number(renamed[0]):
        copy.name = copy.key = renamed[1]
    widened = column.info.get(WIDENED_IN)
    if widened is not None and _number(revision) < _number(widened):
        copy.type = BigInteger()
    return copy


def _columns_added(table: Table, revision: str) -> list[Column[object]]:
    return [column for column in table.columns if _revision_of(column, table) == revision]


def _indexes_over(table: Table, columns: list[Column[object]], *, all_of: bool) -> list[Index]:
    """The table's indexes over `columns`: wholly (all_of) or in part."""
    names = {column.name for column in columns}
    covered = all if all_of else any
    return [index for index in table.indexes if covered(column.name in names for column in index.columns)]


def _name(index: Index) -> str:
    # Every index of the models is named (by column or by the naming convention).
    assert index.name is not None
    return index.name


def tables_added(revision: str) -> MetaData:
    """The tables `revision` created, with the columns, constraints and indexes they had then."""
    metadata = MetaData()
    for table in Base.metadata.sorted_tables:
        if _revision_of(table) != revision:
            continue
        columns = _columns_added(table, revision)
        names = {column.name for column in columns}
        unique = [
            UniqueConstraint(*constraint.columns.keys(), name=constraint.name)
            for constraint in table.constraints
            if isinstance(constraint, UniqueConstraint) and set(constraint.columns.keys()) <= names
        ]
        indexes = [
            Index(_name(index), *(column.name for column in index.columns), unique=bool(index.unique))
            for index in _indexes_over(table, columns, all_of=True)
        ]
        Table(table.name, metadata, *(_detached(column, revision) for column in columns), *unique, *indexes)
    return metadata


def _tables_extended(revision: str) -> list[tuple[Table, list[Column[object]]]]:
    """The tables of earlier revisions that `revision` added columns to, with those columns."""
    extended = []
    for table in Base.metadata.sorted_tables:
        if _revision_of(table) == revision:
            continue
        columns = _columns_added(table, revision)
        if columns:
            extended.append((table, columns))
    return extended


def add(revision: str) -> None:
    """Creates the tables `revision` added and adds its columns (and their indexes) to earlier tables."""
    tables_added(revision).create_all(op.get_bind())
    for table, columns in _tables_extended(revision):
        with op.batch_alter_table(table.name) as batch_op:
            for column in columns:
                batch_op.add_column(_detached(column, revision))
            for index in _indexes_over(table, columns, all_of=False):
                batch_op.create_index(_name(index), [column.name for column in index.columns], unique=bool(index.unique))


def remove(revision: str) -> None:
    """Undoes `add(revision)`."""
    for table, columns in reversed(_tables_extended(revision)):
        with op.batch_alter_table(table.name) as batch_op:
            for index in _indexes_over(table, columns, all_of=False):
                batch_op.drop_index(_name(index))
            for column in reversed(columns):
                batch_op.drop_column(column.name)
    tables_added(revision).drop_all(op.get_bind())


def _columns_widened(revision: str) -> list[tuple[Table, list[Column[object]]]]:
    """The tables `revision` widened columns of, with those columns (named as they were then)."""
    widened = []
    for model_table in Base.metadata.sorted_tables:
        columns = [_detached(c, revision) for c in model_table.columns if c.info.get(WIDENED_IN) == revision]
        if columns:
            widened.append((model_table, columns))
    return widened


def widen(revision: str) -> None:
    """Widens the BIGINT columns `revision` widened to their 256-bit type, keeping their values."""
    for model_table, columns in _columns_widened(revision):
        with op.batch_alter_table(model_table.name) as batch_op:
            for widened in columns:
                batch_op.alter_column(widened.name, type_=widened.type, existing_type=BigInteger(), existing_nullable=widened.nullable)
        if op.get_bind().dialect.name == "sqlite":
            # SQLite's copy of the table casts each value to the new declared type, BLOB, which
            # stores a number as the bytes of its digits. Cast back, the values are INTEGER again,
            # as the type stores every value that fits 64 bits (and a BIGINT's all do).
            names = [widened.name for widened in columns]
            op.execute(f"UPDATE {model_table.name} SET " + ", ".join(f"{name} = CAST({name} AS INTEGER)" for name in names))


def narrow(revision: str) -> None:
    """Undoes `widen(revision)`; refuses while a column holds a value beyond 64 bits, which the
    revisions before could not store (an index holding one is deleted and built again instead)."""
    # Every column is looked at before any is altered: a failed migration does not undo all of
    # SQLite's table copies.
    for model_table, columns in _columns_widened(revision):
        for widened in columns:
            value = column_clause(widened.name, Uint256())
            beyond = or_(value > INT64_MAX, value < INT64_MIN)
            count = op.get_bind().scalar(select(func.count()).select_from(table_clause(model_table.name, value)).where(beyond))
            if count:
                raise ValueError(
                    f"{model_table.name}.{widened.name} holds values beyond 64 bits ({count} rows), which the index before "
                    f"revision {revision} cannot store: delete the index database to have it built again instead."
                )
    for model_table, columns in reversed(_columns_widened(revision)):
        with op.batch_alter_table(model_table.name) as batch_op:
            for widened in reversed(columns):
                batch_op.alter_column(widened.name, type_=BigInteger(), existing_type=widened.type, existing_nullable=widened.nullable)


def steps(revision: str) -> tuple[Callable[[], None], Callable[[], None]]:
    """A migration's upgrade and downgrade when it only adds (or widens) what the models mark with `revision`."""

    def upgrade() -> None:
        add(revision)
        widen(revision)

    def downgrade() -> None:
        narrow(revision)
        remove(revision)

    return upgrade, downgrade

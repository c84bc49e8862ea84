"""What each migration adds, read from the models: a table or column carries the revision that
added it (`models.added_in`), unmarked ones belong to the first revision. A migration that only
adds tables, or columns and their indexes, is then one line, `upgrade, downgrade = steps(revision)`,
and each revision builds exactly what it added: a column a later revision adds is never created by
an earlier one, so the database at every revision is the one it was, whatever the models add later.

Only additions are read from the models. A revision that changes or drops what an earlier one made
(a new type, a rename, a dropped column) writes its operations by hand, and the earlier revisions
still build from the models: a renamed column is marked with the revision that renamed it and its
former name (`models.renamed_in`), under which the revisions before it build it (a renamed column
carries no index; one would need its index renamed too). A dropped column would need its former
definition kept the same way. The migration tests step through every revision on both databases
and compare the newest with the models, so a change that breaks an earlier revision fails there.
"""

from __future__ import annotations

from collections.abc import Callable

from alembic import op
from sqlalchemy import Column, Index, MetaData, Table, UniqueConstraint

from energy_grid.index.models import ADDED_IN, RENAMED_IN, Base

FIRST_REVISION = "0001"


def _revision_of(item: Table | Column[object], table: Table | None = None) -> str:
    marked = item.info.get(ADDED_IN)
    if marked is not None:
        return str(marked)
    return FIRST_REVISION if table is None else _revision_of(table)


def _number(revision: str) -> int:
    return int(revision[:4])


def _detached(column: Column[object], revision: str) -> Column[object]:
    """The column alone, named as it was at `revision`: its indexes are made as the revision's own
    (named) indexes."""
    copy = column._copy()
    copy.index = None
    copy.unique = None
    renamed = column.info.get(RENAMED_IN)
    if renamed is not None and _number(revision) < _number(renamed[0]):
        copy.name = copy.key = renamed[1]
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


def steps(revision: str) -> tuple[Callable[[], None], Callable[[], None]]:
    """A migration's upgrade and downgrade when it only adds what the models mark with `revision`."""

    def upgrade() -> None:
        add(revision)

    def downgrade() -> None:
        remove(revision)

    return upgrade, downgrade

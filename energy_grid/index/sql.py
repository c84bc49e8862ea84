"""The SQL expressions the index's readers share (queries, analytics): a time window's conditions
and the bucket a time falls in."""

from __future__ import annotations

from typing import Any

from sqlalchemy import type_coerce
from sqlalchemy.sql.elements import ColumnElement

from energy_grid.index.types import Uint256


def in_window(column: Any, from_s: int | None, to_s: int | None) -> list[ColumnElement[bool]]:
    """The conditions that keep `column` (a time) from `from_s` to `to_s`, both included; an end not given does not limit."""
    conditions: list[ColumnElement[bool]] = []
    if from_s is not None:
        conditions.append(column >= from_s)
    if to_s is not None:
        conditions.append(column <= to_s)
    return conditions


def bucket_start(time_s: Any, origin_s: int, bucket_s: int) -> Any:
    """The start of the `bucket_s` bucket, counted from `origin_s`, that `time_s` (not before it)
    falls in. A remainder rather than a floor division: PostgreSQL divides a NUMERIC (a uint256
    column) into a fraction, and SQLite floors only with its optional math functions."""
    return type_coerce(time_s - (time_s - origin_s) % bucket_s, Uint256)

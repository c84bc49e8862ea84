"""A column type for the contracts' uint256 (and int256) values that keeps them exact on both databases.

PostgreSQL: NUMERIC(78, 0), exact for every uint256 and int256, sums included. SQLite has no such
type: its INTEGER holds 64 bits and a NUMERIC column turns a bigger number into a lossy REAL. So on
SQLite the column is declared BLOB (no type conversion at all) and values that fit a signed 64-bit
integer are stored as INTEGER (exact, sortable, summed exactly by SQL), bigger ones as their decimal
text (exact per row, sorted above every INTEGER; an SQL sum over one of them is approximate). Real
amounts, prices, payments, ids, periods and times are far below 2^63.

A bytes32 argument (a forecast's hash) is kept as its 0x-prefixed hex (Hash32), as transaction hashes are.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from hexbytes import HexBytes
from sqlalchemy import Numeric, String
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator, TypeEngine, UserDefinedType

INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1


class _SqliteUint256(UserDefinedType[int]):
    cache_ok = True

    def get_col_spec(self, **_: Any) -> str:
        # BLOB affinity: SQLite stores what it is given (INTEGER or TEXT) without converting it.
        return "BLOB"


class Uint256(TypeDecorator[int]):
    """An unsigned 256-bit integer, read back as a Python int."""

    impl = Numeric(78, 0)
    cache_ok = True

    def load_dialect_impl(self, dialect: Dialect) -> TypeEngine[Any]:
        if dialect.name == "sqlite":
            return dialect.type_descriptor(_SqliteUint256())
        return dialect.type_descriptor(Numeric(78, 0))

    def process_bind_param(self, value: Any, dialect: Dialect) -> Any:
        if value is None:
            return None
        number = int(value)
        if dialect.name == "sqlite":
            return number if INT64_MIN <= number <= INT64_MAX else str(number)
        return Decimal(number)

    def process_result_value(self, value: Any, dialect: Dialect) -> int | None:
        if value is None:
            return None
        if isinstance(value, bytes):
            value = value.decode()
        if isinstance(value, float):
            return round(value)
        return int(Decimal(value)) if isinstance(value, str | Decimal) else int(value)


class Int256(Uint256):
    """A signed 256-bit integer, stored as Uint256 is: NUMERIC(78, 0) and SQLite's INTEGER or
    decimal text hold either sign."""

    cache_ok = True


class Hash32(TypeDecorator[str]):
    """A bytes32 event argument (a hash), kept as its 0x-prefixed hex as transaction hashes are."""

    impl = String(66)
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: Dialect) -> str | None:
        if value is None or isinstance(value, str):
            return value
        return HexBytes(value).to_0x_hex()

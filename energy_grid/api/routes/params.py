"""What the read routes' queries share: paging and its limits, time windows, ids and addresses,
each refused in one sentence (a problem answer) before a query runs."""

from __future__ import annotations

from http import HTTPStatus
from typing import Annotated

from fastapi import Depends, Path, Query
from sqlalchemy.orm import Session
from web3 import Web3

from energy_grid.api.problems import ApiProblem
from energy_grid.domain.units import DAY_SECONDS
from energy_grid.index import queries
from energy_grid.index.queries import PageRequest

MAX_PAGE = 500
DEFAULT_PAGE = 50
DEFAULT_SERIES = 500
MAX_BUCKETS = 2_000
MAX_BUCKET_SECONDS = 366 * 86_400
FORECAST_PAST_S, FORECAST_AHEAD_S = 7 * DAY_SECONDS, DAY_SECONDS  # /analytics/forecasts' range by default

# The index keeps ids, times and periods in 64-bit columns: a larger number is refused (422) before
# it reaches the database, whose driver would fail on it.
INT64_MAX = 2**63 - 1
FromS = Annotated[int | None, Query(alias="from", ge=0, le=INT64_MAX, description="unix s, inclusive")]
ToS = Annotated[int | None, Query(alias="to", ge=0, le=INT64_MAX, description="unix s, inclusive")]
Offset = Annotated[int, Query(ge=0, le=INT64_MAX)]
RegionId = Annotated[int | None, Query(alias="regionId", ge=0, le=2**32 - 1)]
OrderIdPath = Annotated[int, Path(ge=0, le=INT64_MAX, description="The order's id on EnergyTrading")]
Period = Annotated[int | None, Query(ge=0, le=INT64_MAX)]
Traded = Annotated[bool, Query(description="only markets that traded energy (a quiet night's clearings trade none)")]
TradedIntervals = Annotated[bool, Query(description="only intervals whose standing orders sold or bought energy (a night reads zeros)")]


def limit_of(limit: int) -> int:
    if limit > MAX_PAGE:
        raise ApiProblem(HTTPStatus.BAD_REQUEST, "PageTooLarge", f"limit may be at most {MAX_PAGE}.", {"limit": limit, "max": MAX_PAGE})
    return limit


def page(limit: Annotated[int, Query(ge=1)] = DEFAULT_PAGE, offset: Offset = 0) -> PageRequest:
    return PageRequest(limit_of(limit), offset)


def series_limit(limit: Annotated[int, Query(ge=1)] = DEFAULT_SERIES) -> int:
    return limit_of(limit)


Page = Annotated[PageRequest, Depends(page)]
SeriesLimit = Annotated[int, Depends(series_limit)]


def address_of(value: str | None, name: str) -> str | None:
    if value is None:
        return None
    if not Web3.is_address(value):
        raise ApiProblem(HTTPStatus.UNPROCESSABLE_ENTITY, "InvalidAddress", f"{name} is not an address: {value!r}.", {name: value})
    return Web3.to_checksum_address(value)


def check_window(from_s: int | None, to_s: int | None) -> None:
    if from_s is not None and to_s is not None and from_s > to_s:
        raise ApiProblem(HTTPStatus.BAD_REQUEST, "InvalidRange", "from is after to.", {"from": from_s, "to": to_s})


def window_or_today(db: Session, from_s: int | None, to_s: int | None) -> tuple[int, int]:
    """The window asked for, by default today (UTC) so far: a missing start is the start of the
    indexed head's day, a missing end the head's time."""
    head = queries.head_of(db)
    start = head.day_start_s() if from_s is None else from_s
    end = head.time_s() if to_s is None else to_s
    check_window(start, end)
    return start, end

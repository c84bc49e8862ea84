"""The analytics routes: prices, energy, forecasts and the community's and a household's summary."""

from __future__ import annotations

from datetime import date
from http import HTTPStatus
from typing import Annotated, Literal

from fastapi import APIRouter, Query
from sqlalchemy.orm import Session

from energy_grid.api import schemas
from energy_grid.api.deps import Client, Db, PathAddress, Settings, TokenInfo, Tokens
from energy_grid.api.problems import ApiProblem
from energy_grid.api.routes.params import (
    FORECAST_AHEAD_S,
    FORECAST_PAST_S,
    INT64_MAX,
    MAX_BUCKET_SECONDS,
    MAX_BUCKETS,
    FromS,
    RegionId,
    SeriesLimit,
    ToS,
    check_window,
    window_or_today,
)
from energy_grid.api.services import analytics
from energy_grid.api.services.served_forecasts import served_forecasts
from energy_grid.contracts.client import GridClient
from energy_grid.domain.units import INTERVAL_SECONDS
from energy_grid.index import answers, forecasts, queries

router = APIRouter()


@router.get("/analytics/prices", tags=["analytics"], summary="Trade and auction prices over time, oldest first")
def analytics_prices(db: Db, limit: SeriesLimit, from_s: FromS = None, to_s: ToS = None) -> answers.PricesOut:
    check_window(from_s, to_s)
    return queries.prices(db, from_s, to_s, limit)


@router.get("/analytics/energy", tags=["analytics"], summary="Production, consumption and traded energy per time bucket")
def analytics_energy(
    db: Db,
    from_s: FromS = None,
    to_s: ToS = None,
    bucket_seconds: Annotated[int, Query(alias="bucketSeconds", ge=1, le=MAX_BUCKET_SECONDS)] = 900,
) -> answers.EnergyOut:
    start, end = window_or_today(db, from_s, to_s)
    buckets = (end - start) // bucket_seconds + 1
    if buckets > MAX_BUCKETS:
        raise ApiProblem(
            HTTPStatus.BAD_REQUEST,
            "RangeTooLarge",
            f"{buckets} buckets of {bucket_seconds} s: at most {MAX_BUCKETS}; narrow the range or widen the buckets.",
            {"buckets": buckets, "max": MAX_BUCKETS},
        )
    return queries.energy(db, start, end, bucket_seconds)


@router.get(
    "/analytics/forecasts",
    tags=["analytics"],
    summary="A region's committed forecasts against its metered net import per interval, and their scores",
)
def analytics_forecasts(db: Db, region_id: RegionId = None, from_s: FromS = None, to_s: ToS = None) -> schemas.ForecastsOut:
    """Each interval's P10, P50 and P90 of the region's forecast covering it and the net import its
    meters metered (Wh), with the scores of the forecasts in the range; `regionId` by default the
    lowest region with a forecast; the range by default the last 7 days and the next day from the
    indexed head."""
    head_s = queries.head_of(db).time_s()
    start = max(head_s - FORECAST_PAST_S, 0) if from_s is None else from_s
    end = head_s + FORECAST_AHEAD_S if to_s is None else to_s
    check_window(start, end)
    count = end // INTERVAL_SECONDS - start // INTERVAL_SECONDS + 1
    if count > MAX_BUCKETS:
        raise ApiProblem(
            HTTPStatus.BAD_REQUEST,
            "RangeTooLarge",
            f"{count} intervals of {INTERVAL_SECONDS} s: at most {MAX_BUCKETS}; narrow the range.",
            {"intervals": count, "max": MAX_BUCKETS},
        )
    return analytics.forecasts_out(forecasts.forecast_view(db, region_id, start, end))


@router.get(
    "/analytics/forecasts/ahead",
    tags=["analytics"],
    summary="The forecaster's latest forecasts not committed on chain: each region an hour ahead, the community's PV tomorrow",
    responses={
        404: {"description": "no forecaster to ask"},
        502: {"description": "the forecaster's answer is invalid"},
        503: {"description": "the forecaster did not answer"},
    },
)
def analytics_forecasts_ahead(settings: Settings) -> schemas.ServedForecastsOut:
    """Each region's net import an hour ahead (P10, P50, P90 of one interval, Wh) and the
    community's PV production of the next day (per interval, Wh), as the operator's forecaster
    serves them now: made off chain, checked by no one else."""
    return served_forecasts(settings.forecaster_url)


SummaryPeriod = Annotated[Literal["day", "week", "month"], Query(description="the day, ISO week or calendar month holding `date`")]
SummaryDate = Annotated[date | None, Query(alias="date", description="YYYY-MM-DD in the deployment's zone; default the indexed head's day")]
Tariff = Annotated[
    int | None,
    Query(
        alias="tariffPerKWh", ge=1, le=INT64_MAX, description="the grid's tariff, base units per kWh; default GridManagement's base price"
    ),
]


def _summary(db: Session, client: GridClient, tokens: dict[str, TokenInfo], period: str, day: date | None, owner: str | None,
             tariff: int | None) -> schemas.SummaryOut:  # fmt: skip
    result, utc_offset_minutes = analytics.summarize(db, client, period, day, owner, tariff)
    _, symbol, decimals = tokens["PaymentToken"]
    return analytics.summary_out(result, utc_offset_minutes, symbol, decimals)


@router.get(
    "/analytics/summary", tags=["analytics"], summary="The community's day, week or month: savings, self-sufficiency, export, peaks, CO2"
)
def analytics_summary(
    db: Db, client: Client, tokens: Tokens, period: SummaryPeriod = "month", day: SummaryDate = None, tariff: Tariff = None
) -> schemas.SummaryOut:
    """The whole community's figures, and each household's savings (docs/api.md: what each rests on)."""
    return _summary(db, client, tokens, period, day, None, tariff)


@router.get(
    "/analytics/households/{address}/summary",
    tags=["analytics"],
    summary="A household's day, week or month: its savings, self-sufficiency, export, its transformers' peaks, CO2",
)
def analytics_household_summary(
    owner: PathAddress, db: Db, client: Client, tokens: Tokens, period: SummaryPeriod = "month", day: SummaryDate = None,
    tariff: Tariff = None,
) -> schemas.SummaryOut:  # fmt: skip
    """The figures of the meters `address` owns and of its trading."""
    return _summary(db, client, tokens, period, day, owner, tariff)

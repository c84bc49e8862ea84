"""The forecaster's forecasts that are not committed on chain, as `/analytics/forecasts/ahead`
answers them: each region's net import an hour ahead and the community's PV production of the
next day, read from the forecaster's own `/forecasts` (energy_grid.services.reporters.forecaster)
when the API is told where it is (`serve --forecaster-url`). What the forecaster answers is
checked field by field before it is passed on: another process's answer is input like any other."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from http import HTTPStatus
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from energy_grid.api import schemas
from energy_grid.api.problems import ApiProblem

FETCH_TIMEOUT_S = 3.0
MAX_DOCUMENT_BYTES = 1_000_000


class _HourAhead(BaseModel):
    model_config = ConfigDict(extra="ignore")
    interval_start_s: int
    metered_through_s: int
    p10_wh: int
    p50_wh: int
    p90_wh: int


class _Pv(BaseModel):
    model_config = ConfigDict(extra="ignore")
    day_start_s: int
    interval_seconds: int = Field(gt=0)
    p10_wh: list[int]
    p50_wh: list[int]
    p90_wh: list[int]


class _Region(BaseModel):
    model_config = ConfigDict(extra="ignore")
    hour_ahead: _HourAhead


class _Served(BaseModel):
    model_config = ConfigDict(extra="ignore")
    regions: dict[int, _Region]
    community_pv: _Pv | None


def served_forecasts(forecaster_url: str | None) -> schemas.ServedForecastsOut:
    """The forecaster's latest forecasts; ApiProblem when there is no forecaster to ask (404), it
    does not answer (503) or answers something else than its forecasts (502)."""
    if forecaster_url is None:
        raise ApiProblem(HTTPStatus.NOT_FOUND, "NoForecaster", "This service was started without a forecaster to ask (--forecaster-url).")
    try:
        served = _Served.model_validate(_fetch(f"{forecaster_url.rstrip('/')}/forecasts"))
    except ValidationError as error:
        raise _invalid(error) from None
    pv = served.community_pv
    if pv is not None and not len(pv.p10_wh) == len(pv.p50_wh) == len(pv.p90_wh):
        raise _invalid_answer("its PV forecast's quantiles differ in length")
    return schemas.ServedForecastsOut(
        hourAhead=[
            schemas.HourAheadOut(
                regionId=region_id,
                start=region.hour_ahead.interval_start_s,
                meteredThrough=region.hour_ahead.metered_through_s,
                p10Wh=region.hour_ahead.p10_wh,
                p50Wh=region.hour_ahead.p50_wh,
                p90Wh=region.hour_ahead.p90_wh,
            )
            for region_id, region in sorted(served.regions.items())
        ],
        communityPv=None if pv is None else _pv_out(pv),
    )


def _pv_out(pv: _Pv) -> schemas.PvForecastOut:
    return schemas.PvForecastOut(
        dayStart=pv.day_start_s, intervalSeconds=pv.interval_seconds, p10Wh=pv.p10_wh, p50Wh=pv.p50_wh, p90Wh=pv.p90_wh
    )


def _fetch(url: str) -> Any:
    try:
        with urllib.request.urlopen(url, timeout=FETCH_TIMEOUT_S) as response:  # the operator's own service
            body = response.read(MAX_DOCUMENT_BYTES + 1)
    except (urllib.error.URLError, OSError) as error:
        reason = getattr(error, "reason", error)
        raise ApiProblem(HTTPStatus.SERVICE_UNAVAILABLE, "ForecasterUnavailable", f"The forecaster did not answer ({reason}).") from None
    if len(body) > MAX_DOCUMENT_BYTES:
        raise _invalid_answer("it is larger than any forecast")
    try:
        return json.loads(body)
    except ValueError:
        raise _invalid_answer("it is not JSON") from None


def _invalid(error: ValidationError) -> ApiProblem:
    first = error.errors()[0]
    return _invalid_answer(f"{'.'.join(str(part) for part in first['loc'])}: {first['msg']}")


def _invalid_answer(reason: str) -> ApiProblem:
    return ApiProblem(HTTPStatus.BAD_GATEWAY, "ForecasterAnswerInvalid", f"The forecaster's answer is not its forecasts ({reason}).")


__all__ = ["served_forecasts"]

"""The grid's routes: its status, demand, supply and load reports, from the index."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from sqlalchemy.orm import Session

from energy_grid.api import schemas
from energy_grid.api.deps import Db
from energy_grid.api.routes.params import (
    FromS,
    RegionId,
    SeriesLimit,
    ToS,
    check_window,
)
from energy_grid.index import queries

router = APIRouter()


@router.get("/grid/status", tags=["grid"], summary="The grid's latest status, emergency state and load per region")
def grid_status(db: Db) -> schemas.GridStatusOut:
    return schemas.GridStatusOut.model_validate(queries.grid_status(db))


def _grid_series(
    db: Session, quantity: str, limit: int, region_id: int | None, from_s: int | None, to_s: int | None
) -> dict[str, Any]:
    """The whole grid's or a region's demand or supply over the window, oldest first."""
    check_window(from_s, to_s)
    return queries.grid_series(db, quantity, region_id, from_s, to_s, limit)


@router.get("/grid/demand", tags=["grid"], summary="Demand over time (W), the whole grid's or a region's")
def grid_demand(
    db: Db, limit: SeriesLimit, region_id: RegionId = None, from_s: FromS = None, to_s: ToS = None
) -> schemas.DemandSeriesOut:
    return schemas.DemandSeriesOut.model_validate(_grid_series(db, "demand", limit, region_id, from_s, to_s))


@router.get("/grid/supply", tags=["grid"], summary="Supply over time (W), the whole grid's or a region's")
def grid_supply(
    db: Db, limit: SeriesLimit, region_id: RegionId = None, from_s: FromS = None, to_s: ToS = None
) -> schemas.SupplySeriesOut:
    return schemas.SupplySeriesOut.model_validate(_grid_series(db, "supply", limit, region_id, from_s, to_s))


@router.get("/grid/loads", tags=["grid"], summary="Load reports over time (kW), a region's or every region's")
def grid_loads(
    db: Db, limit: SeriesLimit, region_id: RegionId = None, from_s: FromS = None, to_s: ToS = None
) -> schemas.LoadSeriesOut:
    """GridOperations' load reports in the window, oldest first: the newest `limit` of them."""
    check_window(from_s, to_s)
    return schemas.LoadSeriesOut.model_validate(queries.grid_loads(db, region_id, from_s, to_s, limit))

"""The grid's routes: its status, demand, supply and load reports, from the index."""

from __future__ import annotations

from fastapi import APIRouter

from energy_grid.api.deps import Db
from energy_grid.api.routes.params import (
    FromS,
    RegionId,
    SeriesLimit,
    ToS,
    check_window,
)
from energy_grid.index import answers, queries

router = APIRouter()


@router.get("/grid/status", tags=["grid"], summary="The grid's latest status, emergency state and load per region")
def grid_status(db: Db) -> answers.GridStatusOut:
    return queries.grid_status(db)


@router.get("/grid/demand", tags=["grid"], summary="Demand over time (W), the whole grid's or a region's")
def grid_demand(
    db: Db, limit: SeriesLimit, region_id: RegionId = None, from_s: FromS = None, to_s: ToS = None
) -> answers.DemandSeriesOut:
    check_window(from_s, to_s)
    return queries.grid_demand(db, region_id, from_s, to_s, limit)


@router.get("/grid/supply", tags=["grid"], summary="Supply over time (W), the whole grid's or a region's")
def grid_supply(
    db: Db, limit: SeriesLimit, region_id: RegionId = None, from_s: FromS = None, to_s: ToS = None
) -> answers.SupplySeriesOut:
    check_window(from_s, to_s)
    return queries.grid_supply(db, region_id, from_s, to_s, limit)


@router.get("/grid/loads", tags=["grid"], summary="Load reports over time (kW), a region's or every region's")
def grid_loads(
    db: Db, limit: SeriesLimit, region_id: RegionId = None, from_s: FromS = None, to_s: ToS = None
) -> answers.LoadSeriesOut:
    """GridOperations' load reports in the window, oldest first: the newest `limit` of them."""
    check_window(from_s, to_s)
    return queries.grid_loads(db, region_id, from_s, to_s, limit)

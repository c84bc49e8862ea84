"""The demand-response routes: events, from the index."""

from __future__ import annotations

from fastapi import APIRouter

from energy_grid.api import schemas
from energy_grid.api.deps import Db
from energy_grid.api.routes.params import (
    Page,
)
from energy_grid.index import queries

router = APIRouter()


@router.get("/demand-response/events", tags=["demand response"], summary="Demand-response events, newest first")
def demand_response_events(db: Db, paging: Page) -> schemas.Page[schemas.DemandEventOut]:
    return schemas.Page[schemas.DemandEventOut].model_validate(queries.demand_events(db, paging))

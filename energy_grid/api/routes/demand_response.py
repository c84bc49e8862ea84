"""The demand-response routes: events, from the index."""

from __future__ import annotations

from fastapi import APIRouter

from energy_grid.api.deps import Db
from energy_grid.api.routes.params import (
    Page,
)
from energy_grid.index import answers, queries

router = APIRouter()


@router.get("/demand-response/events", tags=["demand response"], summary="Demand-response events, newest first")
def demand_response_events(db: Db, paging: Page) -> answers.Page[answers.DemandEventOut]:
    return queries.demand_events(db, paging)

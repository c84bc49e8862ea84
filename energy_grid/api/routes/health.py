"""How far the index has followed the chain, and whether the service answers from an index in step with it."""

from __future__ import annotations

from fastapi import APIRouter

from energy_grid.api import schemas
from energy_grid.api.deps import Client, Index, IndexFollower
from energy_grid.api.services.index import index_status as index_progress

router = APIRouter()


@router.get("/index/status", tags=["index"], summary="How far the index has followed the chain")
def index_status(index: Index, follower: IndexFollower, client: Client) -> schemas.IndexStatusOut:
    return index_progress(index, follower, client)


@router.get("/health", tags=["index"], summary="Whether the service answers from an index in step with the chain")
def health(index: Index, follower: IndexFollower, client: Client) -> schemas.HealthOut:
    """`ok` once the index has caught up with the chain; until then `indexing`, and every read
    answers from the blocks indexed so far."""
    status = index_progress(index, follower, client)
    return schemas.HealthOut(status="ok" if status.caughtUp else "indexing", message=status.message, index=status)

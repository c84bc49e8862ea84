"""The API's routes, one module per resource, as FastAPI's full-stack template groups them: each module's
router holds what the API reads and relays for that resource. params.py holds the query parameters
the read routes share."""

from __future__ import annotations

from fastapi import APIRouter

from energy_grid.api.routes import accounts, analytics, auction, demand_response, grid, health, meters, operator, trading, vault

# In the order they are included: the reads of each resource first answered from the index.
ROUTERS: tuple[APIRouter, ...] = (
    trading.router,
    grid.router,
    meters.router,
    auction.router,
    demand_response.router,
    analytics.router,
    health.router,
    accounts.router,
    operator.router,
    vault.router,
)

__all__ = ["ROUTERS"]

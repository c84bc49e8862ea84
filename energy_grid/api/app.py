"""The service: FastAPI app with the API routes, the web app, the index follower in the background,
and the relayer's figures at /metrics (Prometheus's text format, as every service of the community)."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI, Response
from prometheus_client import CONTENT_TYPE_LATEST

from energy_grid.api.problems import install_problem_handlers
from energy_grid.api.quota import Clock
from energy_grid.api.relay import Relay
from energy_grid.api.routes import ROUTERS
from energy_grid.api.services.trading import read_token_info
from energy_grid.api.settings import ServiceSettings
from energy_grid.api.sponsor import RelayBudget
from energy_grid.chain.manifest import read_manifest
from energy_grid.contracts.client import GridClient
from energy_grid.contracts.sender import TransactionSender
from energy_grid.index import EventIndex, Follower
from energy_grid.web import mount_web

API_PREFIX = "/api/v1"
METRICS_PATH = "/metrics"


def create_app(settings: ServiceSettings, clock: Clock = time.monotonic) -> FastAPI:
    """The service for the deployment `settings` names. What the routes share is put on `app.state`
    once, here, and handed to each route by the dependencies of `deps`: `settings`, `client`
    (GridClient), `index` (EventIndex), `follower` (Follower), `relay` (every write, one at a time),
    `relay_budget` (the relayer's quotas, on `clock`, and its figures), `batch_reader` (the live
    account reads) and `token_info`."""
    client = GridClient.from_manifest(settings.manifest_file, settings.rpc_url)
    index = EventIndex(settings.database_url)
    follower = Follower(
        index,
        GridClient.from_manifest(settings.manifest_file, settings.rpc_url),
        settings.poll_interval_s,
        start_block=int(read_manifest(settings.manifest_file).get("startBlock", 0)),
    )

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        index.upgrade()
        if settings.follow:
            follower.start()
        try:
            yield
        finally:
            follower.stop()

    app = FastAPI(
        title="Energy Grid API",
        version="1",
        summary="Peer-to-peer energy trading, metering and grid operation on the energy grid contracts.",
        lifespan=lifespan,
        # FastAPI's own docs pages load Swagger UI and ReDoc from a CDN: mount_web serves /docs
        # from node_modules instead, and there is no ReDoc.
        docs_url=None,
        redoc_url=None,
    )
    app.state.settings = settings
    app.state.client = client
    app.state.index = index
    app.state.follower = follower
    app.state.relay = Relay(client)
    app.state.relay_budget = budget = RelayBudget(client, app.state.relay, settings, clock)
    app.state.batch_reader = TransactionSender(client, manual_mining=False)
    app.state.token_info = read_token_info(client)
    install_problem_handlers(app)

    @app.get(METRICS_PATH, include_in_schema=False)
    def metrics() -> Response:
        return Response(budget.metrics_text(), media_type=CONTENT_TYPE_LATEST)

    for router in ROUTERS:
        app.include_router(router, prefix=API_PREFIX)
    mount_web(app)
    return app

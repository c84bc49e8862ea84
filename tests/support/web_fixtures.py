"""The browser test modules' fixtures: a chromium for the module, the API service in a thread on
the module's system, the test's view of the chain, and browser contexts with the test wallet.

Each module that uses them names this module in `pytest_plugins` (test_web_app.py, test_web_phone.py).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from playwright.sync_api import Browser, expect
from web3 import Web3

from energy_grid.api.app import create_app
from energy_grid.chain.accounts import anvil_account
from energy_grid.chain.manifest import read_manifest
from energy_grid.contracts.client import GridClient
from energy_grid.services.runtime import MetricsServer, ServiceMetrics

from support.service_helpers import serve_in_thread
from support.web_helpers import SCREENSHOTS, UI_TIMEOUT_MS, WalletSession, chromium, wallet_session


@pytest.fixture(scope="module")
def web_expect_timeout() -> Iterator[None]:
    """The browser tests wait for what the page shows with Playwright's expect, for up to UI_TIMEOUT_MS."""
    expect.set_options(timeout=UI_TIMEOUT_MS)
    yield
    expect.set_options(timeout=5_000)


@pytest.fixture(scope="module")
def web_forecaster() -> Iterator[dict[str, Any]]:
    """The operator's forecaster as the API asks it: a server answering /forecasts with the dict it
    yields, which a test fills (at first, nothing forecast yet)."""
    served: dict[str, Any] = {"regions": {}, "community_pv": None}
    server = MetricsServer(ServiceMetrics("forecaster").registry, health=dict, documents={"/forecasts": lambda: served}).start()
    served["url"] = server.url
    try:
        yield served
    finally:
        server.stop()


@pytest.fixture(scope="module")
def web_base_url(api_settings: Any, web_forecaster: dict[str, Any]) -> Iterator[str]:
    with serve_in_thread(create_app(api_settings(forecaster_url=web_forecaster["url"]))) as base_url:
        yield base_url


@pytest.fixture(scope="module")
def web_browser(web_expect_timeout: None) -> Iterator[Browser]:
    with chromium() as browser:
        yield browser


@pytest.fixture
def web_client(api_manifest: Any, networks: Any) -> GridClient:
    """The test's own view of the chain, to set up state and check what the pages show."""
    return GridClient(Web3(Web3.HTTPProvider(networks.provider.uri)), read_manifest(api_manifest))


@pytest.fixture
def web_sessions(request: Any, web_browser: Browser, web_base_url: str, chain: Any) -> Iterator[Any]:
    """Opens browser contexts (one per user, a laptop's screen unless a viewport is given, the
    machine's zone unless a timezone_id is) for the test; closes them after it and checks that no
    page logged a console error."""
    opened: list[WalletSession] = []
    screenshot_dir = SCREENSHOTS / request.node.name

    def open_session(
        account_index: int | None, viewport: dict[str, int] | None = None, timezone_id: str | None = None
    ) -> WalletSession:
        account = anvil_account(account_index) if account_index is not None else None
        session = wallet_session(web_browser, web_base_url, account, chain.chain_id, screenshot_dir, viewport, timezone_id)
        opened.append(session)
        return session

    yield open_session
    errors = [error for session in opened for error in session.console_errors]
    for session in opened:
        session.context.close()
    assert errors == []

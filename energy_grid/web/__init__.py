"""The web app: four views (prosumer, trading, grid operator, analytics) served by the API service.

Plain HTML, ES modules and CSS from `static/`, nothing to build; the pages talk only to the API's
routes under /api/v1 and sign in the browser's wallet (EIP-1193). Chart.js comes from the
project's node_modules (pinned in package.json, installed by `npm ci`).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path

from fastapi import FastAPI
from fastapi.responses import FileResponse, JSONResponse, Response
from fastapi.staticfiles import StaticFiles

STATIC_DIR = Path(__file__).parent / "static"
CHART_JS = Path("node_modules") / "chart.js" / "dist" / "chart.umd.min.js"
# The views, by URL path: each is one HTML page in static/.
VIEWS = {
    "/": "index.html",
    "/prosumer": "prosumer.html",
    "/trading": "trading.html",
    "/operator": "operator.html",
    "/analytics": "analytics.html",
}


def chart_js_file(search_roots: list[Path] | None = None) -> Path | None:
    """Chart.js from the first of `search_roots` that has it: by default the project checkout this
    package sits in (an editable install), then the working directory (`make serve` runs there)."""
    roots = search_roots if search_roots is not None else [Path(__file__).resolve().parents[2], Path.cwd()]
    for root in roots:
        candidate = root / CHART_JS
        if candidate.is_file():
            return candidate
    return None


def _page(file_name: str) -> FileResponse:
    # The pages change with the package: a browser must not keep a stale copy across an upgrade.
    return FileResponse(STATIC_DIR / file_name, media_type="text/html", headers={"Cache-Control": "no-cache"})


def _view(file_name: str) -> Callable[[], Awaitable[FileResponse]]:
    # A closure, not a default argument: FastAPI would take a parameter as a query string a
    # visitor could set (`/prosumer?file_name=../..`).
    async def view() -> FileResponse:
        return _page(file_name)

    return view


def mount_web(app: FastAPI) -> None:
    """Serves the web app on `app`: the views at /, /prosumer, /trading, /operator, /analytics,
    their scripts and styles under /static, Chart.js at /vendor/chart.js."""
    for url_path, file_name in VIEWS.items():
        app.add_api_route(url_path, _view(file_name), methods=["GET"], include_in_schema=False, name=f"view:{file_name}")

    async def chart_js() -> Response:
        found = chart_js_file()
        if found is None:
            # The API's problem shape (energy_grid.api.problems, which imports this module first).
            message = "Chart.js is not installed: run `npm ci` (or `make setup`) in the project."
            return JSONResponse(status_code=503, content={"error": "ChartJsMissing", "message": message, "details": {}})
        return FileResponse(found, media_type="text/javascript", headers={"Cache-Control": "public, max-age=86400"})

    app.add_api_route("/vendor/chart.js", chart_js, methods=["GET"], include_in_schema=False)
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")

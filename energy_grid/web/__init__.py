"""The web app: four views (prosumer, trading, grid operator, analytics) served by the API service,
installable on a phone's home screen (a web app manifest and a service worker that keeps the app
shell and a household's last known balances for offline use).

Plain HTML, ES modules and CSS from `static/`, nothing to build; the pages talk only to the API's
routes under /api/v1 and sign in the browser's wallet (EIP-1193). Chart.js, and Swagger UI for the
API's docs at /docs, come from the project's node_modules (pinned in package.json, installed by
`npm ci`): nothing loads from another site, so the pages and the docs work offline.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path

from fastapi import FastAPI
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import FileResponse, HTMLResponse, JSONResponse, Response
from fastapi.staticfiles import StaticFiles

STATIC_DIR = Path(__file__).parent / "static"
NODE_MODULES = Path("node_modules")


@dataclass(frozen=True)
class VendorFile:
    """A file of an npm package the pages load, and the problem's name when it is not installed."""

    path: Path  # under node_modules
    media_type: str
    missing_error: str
    package: str


# By URL path: what the pages and the docs load from node_modules.
VENDOR_FILES = {
    "/vendor/chart.js": VendorFile(Path("chart.js/dist/chart.umd.min.js"), "text/javascript", "ChartJsMissing", "Chart.js"),
    "/vendor/swagger-ui/swagger-ui-bundle.js": VendorFile(
        Path("swagger-ui-dist/swagger-ui-bundle.js"), "text/javascript", "SwaggerUiMissing", "Swagger UI"
    ),
    "/vendor/swagger-ui/swagger-ui.css": VendorFile(Path("swagger-ui-dist/swagger-ui.css"), "text/css", "SwaggerUiMissing", "Swagger UI"),
    "/vendor/swagger-ui/favicon.png": VendorFile(Path("swagger-ui-dist/favicon-32x32.png"), "image/png", "SwaggerUiMissing", "Swagger UI"),
}
DOCS_URL = "/docs"
# The installable app's files, served from the root: the service worker's scope is its own folder,
# and the app's pages live at /, /prosumer, …; the manifest beside it, in its registered media type.
SERVICE_WORKER_URL = "/sw.js"
MANIFEST_URL = "/manifest.webmanifest"
# The line of sw.js the service fills with the app shell's list when it serves the file.
SHELL_LINE = "const SHELL = [];"
# What the pages load from static/: kept by the service worker for offline use.
SHELL_SUFFIXES = frozenset({".css", ".js", ".png"})
# The views, by URL path: each is one HTML page in static/.
VIEWS = {
    "/": "index.html",
    "/prosumer": "prosumer.html",
    "/trading": "trading.html",
    "/operator": "operator.html",
    "/analytics": "analytics.html",
}


def vendor_file(file: VendorFile, search_roots: list[Path] | None = None) -> Path | None:
    """`file` from the first of `search_roots` that has it installed: by default the project checkout
    this package sits in (an editable install), then the working directory (`make serve` runs there)."""
    roots = search_roots if search_roots is not None else [Path(__file__).resolve().parents[2], Path.cwd()]
    for root in roots:
        candidate = root / NODE_MODULES / file.path
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


def shell_files() -> list[str]:
    """The app shell, by URL: every view, the manifest, Chart.js and every style, script and icon
    under static/ (a script added to the app is kept offline without a list to update)."""
    static = sorted(
        f"/static/{path.relative_to(STATIC_DIR).as_posix()}"
        for path in STATIC_DIR.rglob("*")
        if path.is_file() and path.suffix in SHELL_SUFFIXES and path.name != "sw.js"
    )
    return [*VIEWS, MANIFEST_URL, "/vendor/chart.js", *static]


# Like the pages: never a stale copy (a browser checks the service worker on every visit anyway,
# and a kept manifest would hide a new icon or colour).
async def _service_worker() -> Response:
    source = (STATIC_DIR / "sw.js").read_text()
    filled = source.replace(SHELL_LINE, f"const SHELL = {json.dumps(shell_files())};", 1)
    return Response(filled, media_type="text/javascript", headers={"Cache-Control": "no-cache"})


async def _manifest() -> FileResponse:
    return FileResponse(STATIC_DIR / "manifest.webmanifest", media_type="application/manifest+json", headers={"Cache-Control": "no-cache"})


def _vendor(file: VendorFile, search_roots: list[Path] | None) -> Callable[[], Awaitable[Response]]:
    async def vendor() -> Response:
        found = vendor_file(file, search_roots)
        if found is None:
            # The API's problem shape (energy_grid.api.problems, which imports this module first).
            message = f"{file.package} is not installed: run `npm ci` (or `make setup`) in the project."
            return JSONResponse(status_code=503, content={"error": file.missing_error, "message": message, "details": {}})
        return FileResponse(found, media_type=file.media_type, headers={"Cache-Control": "public, max-age=86400"})

    return vendor


def mount_web(app: FastAPI, vendor_roots: list[Path] | None = None) -> None:
    """Serves the web app on `app`: the views at /, /prosumer, /trading, /operator, /analytics,
    their scripts, styles and icons under /static, the service worker at /sw.js and the web app
    manifest at /manifest.webmanifest, the npm packages' files under /vendor (looked for in
    `vendor_roots`, by default as `vendor_file` says), and the API's docs at /docs: Swagger UI on
    the app's OpenAPI, from those local files (create the app with `docs_url=None`)."""
    for url_path, file_name in VIEWS.items():
        app.add_api_route(url_path, _view(file_name), methods=["GET"], include_in_schema=False, name=f"view:{file_name}")
    app.add_api_route(SERVICE_WORKER_URL, _service_worker, methods=["GET"], include_in_schema=False)
    app.add_api_route(MANIFEST_URL, _manifest, methods=["GET"], include_in_schema=False)
    for url_path, file in VENDOR_FILES.items():
        app.add_api_route(url_path, _vendor(file, vendor_roots), methods=["GET"], include_in_schema=False)

    async def docs() -> HTMLResponse:
        return get_swagger_ui_html(
            openapi_url=app.openapi_url or "/openapi.json",
            title=f"{app.title}: docs",
            swagger_js_url="/vendor/swagger-ui/swagger-ui-bundle.js",
            swagger_css_url="/vendor/swagger-ui/swagger-ui.css",
            swagger_favicon_url="/vendor/swagger-ui/favicon.png",
            # Swagger UI would otherwise ask validator.swagger.io for a badge.
            swagger_ui_parameters={"validatorUrl": None},
        )

    app.add_api_route(DOCS_URL, docs, methods=["GET"], include_in_schema=False)
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")

"""The REST API (its routes under /api/v1) and the web app, served by one FastAPI service.

    energy-grid serve            # or `make serve`: http://127.0.0.1:8000, OpenAPI docs at /docs

Reads answer from the event index (`energy_grid.index`), which a follower keeps in step with the
chain; writes relay what a wallet or a meter signed (EIP-712), so the service holds no user's key.
"""

from energy_grid.api.app import create_app
from energy_grid.api.settings import ServiceSettings

__all__ = ["ServiceSettings", "create_app"]

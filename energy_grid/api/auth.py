"""The operator routes' guard: a bearer token, compared in constant time, and the operator key.

    @router.post("/grid/load")
    def report_load(body: LoadReport, operator: Operator) -> ...      # deps.Operator

Not configured (no operator key or no token in the settings) answers 503 `OperatorNotConfigured`
whatever the request carries; a missing or wrong token answers 401 `Unauthorized`.
"""

from __future__ import annotations

import hmac
from http import HTTPStatus

from eth_account.signers.local import LocalAccount

from energy_grid.api.problems import ApiProblem
from energy_grid.api.settings import ServiceSettings

BEARER = "bearer"


def operator_routes_enabled(settings: ServiceSettings) -> bool:
    return settings.operator is not None and bool(settings.operator_token)


def token_matches(presented: str, expected: str) -> bool:
    """Constant time: the comparison does not reveal how much of the token was right."""
    return hmac.compare_digest(presented.encode(), expected.encode())


def authorize_operator(settings: ServiceSettings, authorization: str) -> LocalAccount:
    """The operator's account, once the `Authorization` header's bearer token checks out."""
    if settings.operator is None or not settings.operator_token:
        raise ApiProblem(
            HTTPStatus.SERVICE_UNAVAILABLE,
            "OperatorNotConfigured",
            "This service has no operator key or token: start it with ENERGY_GRID_OPERATOR_KEY (or an operator "
            "keystore) and ENERGY_GRID_OPERATOR_TOKEN.",
        )
    scheme, _, token = authorization.partition(" ")
    if scheme.lower() != BEARER or not token_matches(token.strip(), settings.operator_token):
        raise ApiProblem(HTTPStatus.UNAUTHORIZED, "Unauthorized", "The operator routes need `Authorization: Bearer <token>`.")
    return settings.operator


__all__ = ["authorize_operator", "operator_routes_enabled", "token_matches"]

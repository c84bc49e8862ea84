"""What routes take from the app, as FastAPI dependencies: `create_app` puts each shared object on
`app.state` once, and a route names the one it needs by its type.

    @router.get("/orders/{order_id}")
    def get_order(order_id: int, db: Db) -> OrderOut: ...
"""

from __future__ import annotations

from collections.abc import Iterator
from http import HTTPStatus
from typing import Annotated

from eth_account.signers.local import LocalAccount
from fastapi import Depends, Request, Security
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic_core import PydanticCustomError
from sqlalchemy.orm import Session

from energy_grid.api.auth import authorize_operator
from energy_grid.api.problems import ApiProblem
from energy_grid.api.relay import Relay
from energy_grid.api.settings import ServiceSettings
from energy_grid.api.sponsor import RelayBudget, Sponsor
from energy_grid.api.write_models import checksum_address
from energy_grid.contracts.client import GridClient
from energy_grid.contracts.sender import TransactionSender
from energy_grid.index import EventIndex, Follower

TokenInfo = tuple[str, str, int]  # name, symbol, decimals


def _settings(request: Request) -> ServiceSettings:
    settings: ServiceSettings = request.app.state.settings
    return settings


def _client(request: Request) -> GridClient:
    client: GridClient = request.app.state.client
    return client


def _index(request: Request) -> EventIndex:
    index: EventIndex = request.app.state.index
    return index


def _follower(request: Request) -> Follower:
    follower: Follower = request.app.state.follower
    return follower


def _relay(request: Request) -> Relay:
    relay: Relay = request.app.state.relay
    return relay


def _sponsor(request: Request) -> Sponsor:
    budget: RelayBudget = request.app.state.relay_budget
    return budget.for_client(request.client.host if request.client is not None else None)


def _batch_reader(request: Request) -> TransactionSender:
    reader: TransactionSender = request.app.state.batch_reader
    return reader


def _token_info(request: Request) -> dict[str, TokenInfo]:
    tokens: dict[str, TokenInfo] = request.app.state.token_info
    return tokens


# The operator routes' bearer token as an OpenAPI security scheme: /docs shows their lock and an
# Authorize button. The check itself stays `authorize_operator`'s (its own 401 and 503 problems).
operator_bearer = HTTPBearer(scheme_name="operatorToken", description="The service's operator token", auto_error=False)
OperatorCredentials = Annotated[HTTPAuthorizationCredentials | None, Security(operator_bearer)]


def bearer_header(credentials: HTTPAuthorizationCredentials | None) -> str:
    """The Authorization header as sent, or nothing."""
    return "" if credentials is None else f"{credentials.scheme} {credentials.credentials}"


def _operator(settings: Settings, credentials: OperatorCredentials) -> LocalAccount:
    return authorize_operator(settings, bearer_header(credentials))


def _session(index: Index) -> Iterator[Session]:
    with index.session() as session:
        yield session


def _path_address(address: str) -> str:
    """The `address` of the URL, checksummed; 422 InvalidAddress otherwise."""
    try:
        return checksum_address(address)
    except PydanticCustomError as err:
        raise ApiProblem(HTTPStatus.UNPROCESSABLE_ENTITY, "InvalidAddress", str(err), {"address": address}) from None


Settings = Annotated[ServiceSettings, Depends(_settings)]
Client = Annotated[GridClient, Depends(_client)]
Index = Annotated[EventIndex, Depends(_index)]
IndexFollower = Annotated[Follower, Depends(_follower)]
# The app's one Relay: its lock is what keeps the service's nonces apart.
AppRelay = Annotated[Relay, Depends(_relay)]
# What the relayer sends for someone else goes through this: charged to that account's quota and
# to the request's client's (`sponsor.Sponsor`).
RelaySponsor = Annotated[Sponsor, Depends(_sponsor)]
# View calls in one JSON-RPC batch, for the routes the web app polls.
BatchReader = Annotated[TransactionSender, Depends(_batch_reader)]
# The deployment's two tokens' name, symbol and decimals, read once by create_app.
Tokens = Annotated[dict[str, TokenInfo], Depends(_token_info)]
# The operator's account, once the request's bearer token checks out (`auth.authorize_operator`).
Operator = Annotated[LocalAccount, Depends(_operator)]
# One database session of the event index per request.
Db = Annotated[Session, Depends(_session)]
# The `{address}` of the route's path, checksummed.
PathAddress = Annotated[str, Depends(_path_address)]

__all__ = [
    "AppRelay",
    "BatchReader",
    "Client",
    "Db",
    "Index",
    "IndexFollower",
    "Operator",
    "OperatorCredentials",
    "PathAddress",
    "RelaySponsor",
    "Settings",
    "TokenInfo",
    "Tokens",
]

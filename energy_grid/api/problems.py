"""Every refusal as a 4xx (and every failure as a 5xx) with a JSON body that names the problem:

    {"error": "OrderUnknown", "message": "No order 42 on the market.", "details": {"orderId": 42}}

`error` is the contract's custom error where the chain refused, otherwise a name of the API's own:
also for what the framework refuses before a route runs (`RouteNotFound` 404, `MethodNotAllowed`
405, any other HTTP status by its name) and for a failure no route expected (`InternalError` 500).
This module is the one place that maps the grid's errors to HTTP statuses (`problem_for`).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from http import HTTPStatus
from typing import Any

from eth_utils import is_address, to_checksum_address
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from requests.exceptions import RequestException
from starlette.exceptions import HTTPException
from web3.exceptions import TimeExhausted, Web3RPCError

from energy_grid.chain.errors import (
    ContractRevertError,
    GridError,
    InvalidInputError,
    NodeUnreachableError,
    TransactionRevertedError,
)
from energy_grid.contracts.base import CONNECTION_ERRORS


class ApiProblem(Exception):
    """Raised anywhere in a route: answered as `status` with the JSON body above."""

    def __init__(
        self,
        status: HTTPStatus,
        error: str,
        message: str,
        details: dict[str, Any] | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.error = error
        self.message = message
        self.details = details or {}
        # Sent with the answer: Retry-After with a 429, for one.
        self.headers = dict(headers or {})


def problem_response(
    status: HTTPStatus | int, error: str, message: str, details: dict[str, Any] | None = None, headers: Mapping[str, str] | None = None
) -> JSONResponse:
    content = {"error": error, "message": message, "details": details or {}}
    return JSONResponse(status_code=status, content=content, headers=headers)


async def _api_problem(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, ApiProblem)
    return problem_response(exc.status, exc.error, exc.message, exc.details, exc.headers)


async def _invalid_request(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    errors = [{"location": list(e.get("loc", ())), "problem": e.get("msg", "")} for e in exc.errors()]
    if any(e.get("type") == "json_invalid" for e in exc.errors()):
        return problem_response(HTTPStatus.BAD_REQUEST, "MalformedJson", "The request body is not valid JSON.", {"errors": errors})
    # A validator that raises PydanticCustomError("InvalidAddress", …) names the problem itself.
    raw = list(exc.errors())
    named = [e for e in raw if str(e.get("type", ""))[:1].isupper()]
    first = (named or raw or [{}])[0]
    error = str(first["type"]) if named else "InvalidRequest"
    where = ".".join(str(part) for part in first.get("loc", ()))
    return problem_response(HTTPStatus.UNPROCESSABLE_ENTITY, error, f"{where}: {first.get('msg', 'invalid')}", {"errors": errors})


async def _http_refusal(request: Request, exc: Exception) -> JSONResponse:
    """What the framework refuses itself: a path no route serves, a method the route does not take."""
    assert isinstance(exc, HTTPException)
    where = f"{request.method} {request.url.path}"
    if exc.status_code == HTTPStatus.NOT_FOUND:
        error, message = "RouteNotFound", f"Nothing answers {where}: the API's routes are under /api/v1, listed at /docs."
    elif exc.status_code == HTTPStatus.METHOD_NOT_ALLOWED:
        allowed = (exc.headers or {}).get("Allow", "other methods")
        error, message = "MethodNotAllowed", f"{request.url.path} takes {allowed}, not {request.method}."
    else:
        phrase = _phrase(exc.status_code)
        error = "".join(word.capitalize() for word in phrase.replace("-", " ").split())
        message = exc.detail if isinstance(exc.detail, str) and exc.detail else phrase
    return problem_response(exc.status_code, error, message, {}, exc.headers)


def _phrase(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Error"


async def _internal_error(_: Request, exc: Exception) -> JSONResponse:
    # The exception's text stays in the server's log: it may hold what a caller must not see (a database URL).
    message = "The service failed to answer this request; its log has the cause."
    return problem_response(HTTPStatus.INTERNAL_SERVER_ERROR, "InternalError", message)


# ---------------------------------------------------------------------------------- the grid's errors

# The contracts' refusals that are not "your input is wrong" (400): whose it is not (403), what
# does not exist (404), what the state no longer allows (409).
FORBIDDEN_ERRORS = frozenset(
    {
        "InvalidSigner",
        "InvalidReadingSignature",
        "InvalidStandingOrderSignature",
        "InvalidApprovalSignature",
        "InvalidWithdrawalSignature",
        "PermitNotApplied",
        "PermitAlreadyUsed",
        "AccountFrozen",
        "NotOrderTrader",
        "NotMeterOwner",
        "NotCounterparty",
        "AccessControlUnauthorizedAccount",
        "OperatorNotAuthorized",
        "OperatorNotAuthorizedForRegion",
        "OperatorNotInRegion",
        "GridOperatorNotRegistered",
        "Unauthorized",
    }
)
CONFLICT_ERRORS = frozenset({"OrderNotActive", "MeterInactive", "EnforcedPause", "ReadingNotAfterPrevious"})
# Nonce errors: a nonce below the current one was used already (a replay, 409); above it is not
# reached yet (400). The argument that holds the current nonce, by error.
NONCE_ERRORS = {"InvalidNonce": "currentNonce", "InvalidReadingNonce": "expectedNonce"}
SIGNER_ARGUMENT = "signer"
NODE_UNREACHABLE_MESSAGE = "The blockchain node does not answer; try again later."
# The failures that are not a contract's refusal; the first match wins, so GridError, the others' base, is last.
OTHER_FAILURES: tuple[tuple[tuple[type[Exception], ...], HTTPStatus, str], ...] = (
    ((NodeUnreachableError, TimeExhausted, RequestException, *CONNECTION_ERRORS), HTTPStatus.SERVICE_UNAVAILABLE, "NodeUnreachable"),
    ((InvalidInputError,), HTTPStatus.BAD_REQUEST, "InvalidInput"),
    ((Web3RPCError,), HTTPStatus.BAD_GATEWAY, "NodeRefused"),
    ((GridError,), HTTPStatus.BAD_GATEWAY, "ChainError"),
)


def revert_status(error: ContractRevertError) -> HTTPStatus:
    """The HTTP status of a contract's refusal (see FORBIDDEN_ERRORS, CONFLICT_ERRORS, NONCE_ERRORS)."""
    name = error.error_name
    if name in NONCE_ERRORS:
        current = int(error.arguments.get(NONCE_ERRORS[name], 0))
        return HTTPStatus.CONFLICT if int(error.arguments.get("nonce", 0)) < current else HTTPStatus.BAD_REQUEST
    if name in FORBIDDEN_ERRORS:
        # A signature that recovers to no address at all is malformed input, not someone else's.
        signer = error.arguments.get(SIGNER_ARGUMENT)
        if signer is not None and int(str(signer), 16) == 0:
            return HTTPStatus.BAD_REQUEST
        return HTTPStatus.FORBIDDEN
    if name.endswith(("Unknown", "NotFound", "NotRegistered")) and name != "GridOperatorNotRegistered":
        return HTTPStatus.NOT_FOUND
    if name in CONFLICT_ERRORS:
        return HTTPStatus.CONFLICT
    return HTTPStatus.BAD_REQUEST


def problem_for(error: Exception) -> ApiProblem:
    """The API's answer to a failed read or write of the chain: the custom error as a 4xx, a silent
    node as 503; anything else is re-raised (a bug, answered 500)."""
    if isinstance(error, ApiProblem):
        return error
    if isinstance(error, ContractRevertError):
        details = json_arguments(error.arguments)
        return ApiProblem(revert_status(error), error.error_name, error.notice or error.reason, details)
    if isinstance(error, TransactionRevertedError):
        details = {"function": error.function, "txHash": error.transaction_hash}
        return ApiProblem(HTTPStatus.BAD_REQUEST, "TransactionReverted", str(error), details)
    for kinds, status, name in OTHER_FAILURES:
        if isinstance(error, kinds):
            message = NODE_UNREACHABLE_MESSAGE if status == HTTPStatus.SERVICE_UNAVAILABLE else str(error)
            return ApiProblem(status, name, message)
    raise error


@contextmanager
def answering() -> Iterator[None]:
    """Turns what the chain or the node raised inside a service call into the API's problem response."""
    try:
        yield
    except ApiProblem:
        raise
    except Exception as err:  # problem_for re-raises what it does not know
        raise problem_for(err) from None


def json_value(value: Any) -> Any:
    """A decoded ABI value as JSON: addresses checksummed, bytes as 0x-hex, tuples as lists."""
    if isinstance(value, bool):
        return value
    if isinstance(value, int):
        return int(value)
    if isinstance(value, bytes):
        return "0x" + value.hex()
    if isinstance(value, str) and is_address(value):
        return to_checksum_address(value)
    if isinstance(value, list | tuple):
        return [json_value(v) for v in value]
    return value


def json_arguments(arguments: Mapping[str, Any]) -> dict[str, Any]:
    return {name: json_value(value) for name, value in arguments.items()}


def install_problem_handlers(app: FastAPI) -> None:
    app.add_exception_handler(ApiProblem, _api_problem)
    app.add_exception_handler(RequestValidationError, _invalid_request)
    app.add_exception_handler(HTTPException, _http_refusal)
    # Starlette answers an exception no other handler took with this, then re-raises it for the server's log.
    app.add_exception_handler(Exception, _internal_error)

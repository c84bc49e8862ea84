"""Every refusal as a 4xx (and every failure as a 5xx) with a JSON body that names the problem:

    {"error": "OrderUnknown", "message": "No order 42 on the market.", "details": {"orderId": 42}}

`error` is the contract's custom error where the chain refused, otherwise a name of the API's own:
also for what the framework refuses before a route runs (`RouteNotFound` 404, `MethodNotAllowed`
405, any other HTTP status by its name) and for a failure no route expected (`InternalError` 500).
"""

from __future__ import annotations

from collections.abc import Mapping
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException

HTTP_BAD_REQUEST = 400
HTTP_NOT_FOUND = 404
HTTP_METHOD_NOT_ALLOWED = 405
HTTP_UNPROCESSABLE = 422
HTTP_INTERNAL_ERROR = 500


class ApiProblem(Exception):
    """Raised anywhere in a route: answered as `status` with the JSON body above."""

    def __init__(self, status: int, error: str, message: str, details: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.error = error
        self.message = message
        self.details = details or {}


def problem_response(
    status: int, error: str, message: str, details: dict[str, Any] | None = None, headers: Mapping[str, str] | None = None
) -> JSONResponse:
    content = {"error": error, "message": message, "details": details or {}}
    return JSONResponse(status_code=status, content=content, headers=headers)


async def _api_problem(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, ApiProblem)
    return problem_response(exc.status, exc.error, exc.message, exc.details)


async def _invalid_request(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    errors = [{"location": list(e.get("loc", ())), "problem": e.get("msg", "")} for e in exc.errors()]
    if any(e.get("type") == "json_invalid" for e in exc.errors()):
        return problem_response(HTTP_BAD_REQUEST, "MalformedJson", "The request body is not valid JSON.", {"errors": errors})
    # A validator that raises PydanticCustomError("InvalidAddress", …) names the problem itself.
    raw = list(exc.errors())
    named = [e for e in raw if str(e.get("type", ""))[:1].isupper()]
    first = (named or raw or [{}])[0]
    error = str(first["type"]) if named else "InvalidRequest"
    where = ".".join(str(part) for part in first.get("loc", ()))
    return problem_response(HTTP_UNPROCESSABLE, error, f"{where}: {first.get('msg', 'invalid')}", {"errors": errors})


async def _http_refusal(request: Request, exc: Exception) -> JSONResponse:
    """What the framework refuses itself: a path no route serves, a method the route does not take."""
    assert isinstance(exc, HTTPException)
    where = f"{request.method} {request.url.path}"
    if exc.status_code == HTTP_NOT_FOUND:
        error, message = "RouteNotFound", f"Nothing answers {where}: the API's routes are under /api/v1, listed at /docs."
    elif exc.status_code == HTTP_METHOD_NOT_ALLOWED:
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
    return problem_response(HTTP_INTERNAL_ERROR, "InternalError", message)


def install_problem_handlers(app: FastAPI) -> None:
    app.add_exception_handler(ApiProblem, _api_problem)
    app.add_exception_handler(RequestValidationError, _invalid_request)
    app.add_exception_handler(HTTPException, _http_refusal)
    # Starlette answers an exception no other handler took with this, then re-raises it for the server's log.
    app.add_exception_handler(Exception, _internal_error)

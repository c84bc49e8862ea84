"""Every refusal as a 4xx with a JSON body that names the problem:

    {"error": "OrderUnknown", "message": "No order 42 on the market.", "details": {"orderId": 42}}

`error` is the contract's custom error where the chain refused, otherwise a name of the API's own.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse

HTTP_BAD_REQUEST = 400
HTTP_UNPROCESSABLE = 422


class ApiProblem(Exception):
    """Raised anywhere in a route: answered as `status` with the JSON body above."""

    def __init__(self, status: int, error: str, message: str, details: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.error = error
        self.message = message
        self.details = details or {}


def problem_response(status: int, error: str, message: str, details: dict[str, Any] | None = None) -> JSONResponse:
    return JSONResponse(status_code=status, content={"error": error, "message": message, "details": details or {}})


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


def install_problem_handlers(app: FastAPI) -> None:
    app.add_exception_handler(ApiProblem, _api_problem)
    app.add_exception_handler(RequestValidationError, _invalid_request)

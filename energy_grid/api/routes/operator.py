"""The operator routes: grid balancing, load reports, the emergency state and demand-response events,
sent with the operator key of the settings behind a bearer token (`deps.Operator`).

The operator account must hold the roles on chain (a verified GridManagement operator of the region,
a demand-response grid operator); when it does not, the contract's error answers 403.
"""

from __future__ import annotations

from http import HTTPStatus

from fastapi import APIRouter

from energy_grid.api import schemas
from energy_grid.api.auth import authorize_operator
from energy_grid.api.deps import AppRelay, Client, Operator, OperatorCredentials, Settings, bearer_header
from energy_grid.api.problems import ApiProblem
from energy_grid.api.services import operator as service
from energy_grid.api.write_models import BalancingRequest, DemandResponseRequest, EmergencyRequest, LoadRequest

router = APIRouter(tags=["grid operator (bearer token)"])


@router.get("/operator/token", summary="Whether the request's bearer token is the operator token, and whose key it uses")
def operator_token_check(settings: Settings, credentials: OperatorCredentials) -> schemas.OperatorTokenOut:
    """Checks a token without sending anything, answering 200 either way (a wrong token is what this
    asks about, not a refusal): the web app asks before it calls a token usable."""
    try:
        operator = authorize_operator(settings, bearer_header(credentials))
    except ApiProblem as problem:
        if problem.status != HTTPStatus.UNAUTHORIZED:
            raise
        return schemas.OperatorTokenOut(accepted=False, operator=None)
    return schemas.OperatorTokenOut(accepted=True, operator=operator.address)


@router.post("/grid/balance", status_code=HTTPStatus.CREATED, summary="Initiates a balancing action in a region")
def balance(body: BalancingRequest, client: Client, relay: AppRelay, operator: Operator) -> schemas.BalancingActionOut:
    return service.balance(client, relay, operator, body)


@router.post("/grid/load", status_code=HTTPStatus.CREATED, summary="Reports a region's capacity and demand")
def report_load(body: LoadRequest, client: Client, relay: AppRelay, operator: Operator) -> schemas.LoadReportOut:
    return service.report_load(client, relay, operator, body)


@router.post("/grid/emergency", summary="Sets a region's emergency state (no transaction when it is already so)")
def set_emergency(body: EmergencyRequest, client: Client, relay: AppRelay, operator: Operator) -> schemas.EmergencyOut:
    return service.set_emergency(client, relay, operator, body)


@router.post("/demand-response/events", status_code=HTTPStatus.CREATED, summary="Starts a demand-response event, funding its budget")
def start_demand_response(
    body: DemandResponseRequest, client: Client, relay: AppRelay, operator: Operator
) -> schemas.DemandResponseEventOut:
    return service.start_demand_response(client, relay, operator, body)


__all__ = ["router"]

"""The operator routes: grid balancing, load reports, the emergency state and demand-response events,
sent with the operator key of the settings behind a bearer token (`auth.operator_account`).

The operator account must hold the roles on chain (a verified GridManagement operator of the region,
a demand-response grid operator); when it does not, the contract's error answers 403.
"""

from __future__ import annotations

from typing import Any

from eth_account.signers.local import LocalAccount
from fastapi import APIRouter, Depends, Request

from energy_grid.api.auth import HTTP_UNAUTHORIZED, operator_account
from energy_grid.api.problems import ApiProblem
from energy_grid.api.relay import answering, client_of, relay_of, tx_hash_of
from energy_grid.api.write_models import (
    BalancingRequest,
    DemandResponseRequest,
    EmergencyRequest,
    LoadRequest,
)
from energy_grid.enums import ActionType, LoadStatus
from energy_grid.errors import ContractRevertError

HTTP_BAD_REQUEST = 400
HTTP_CREATED = 201
# The demand-response budget is pulled from the operator: approving it is the one extra step.
ALLOWANCE_ERRORS = frozenset({"ERC20InsufficientAllowance"})

router = APIRouter(tags=["grid operator (bearer token)"])
Operator = Depends(operator_account)


@router.get("/operator/token", summary="Whether the request's bearer token is the operator token, and whose key it uses")
def operator_token_check(request: Request) -> dict[str, Any]:
    """Checks a token without sending anything, answering 200 either way (a wrong token is what this
    asks about, not a refusal): the web app asks before it calls a token usable."""
    try:
        operator = operator_account(request)
    except ApiProblem as problem:
        if problem.status != HTTP_UNAUTHORIZED:
            raise
        return {"accepted": False, "operator": None}
    return {"accepted": True, "operator": operator.address}


@router.post("/grid/balance", status_code=HTTP_CREATED, summary="Initiates a balancing action in a region")
def balance(request: Request, body: BalancingRequest, operator: LocalAccount = Operator) -> dict[str, Any]:
    client = client_of(request)
    operations = client.grid_operations
    with answering():
        call = operations.contract.functions.initiateBalancingAction(
            body.regionId, int(ActionType[body.actionType]), body.targetKW, body.priority_level()
        )
        receipt = relay_of(request).send(operator, call)
        initiated = operations.event(receipt, "BalancingActionInitiated")
    return {"actionId": int(initiated["actionId"]), "txHash": tx_hash_of(receipt)}


@router.post("/grid/load", status_code=HTTP_CREATED, summary="Reports a region's capacity and demand")
def report_load(request: Request, body: LoadRequest, operator: LocalAccount = Operator) -> dict[str, Any]:
    client = client_of(request)
    operations = client.grid_operations
    with answering():
        call = operations.contract.functions.reportLoad(body.regionId, body.capacityKW, body.demandKW)
        receipt = relay_of(request).send(operator, call)
        reported = operations.event(receipt, "LoadReported")
    return {
        "regionId": int(reported["regionId"]),
        "loadPercentage": int(reported["loadPercentage"]),
        "status": LoadStatus(reported["status"]).name,
        "txHash": tx_hash_of(receipt),
    }


@router.post("/grid/emergency", summary="Sets a region's emergency state (no transaction when it is already so)")
def set_emergency(request: Request, body: EmergencyRequest, operator: LocalAccount = Operator) -> dict[str, Any]:
    client = client_of(request)
    management = client.grid_management
    relay = relay_of(request)
    with answering(), relay.exclusive():
        # The contract refuses the state the region is in: read and switch with no other write of the service between.
        if management.is_region_in_emergency(body.regionId) == body.active:
            return {"regionId": body.regionId, "emergencyMode": body.active, "txHash": None}
        receipt = relay.send(operator, management.contract.functions.toggleEmergencyMode(body.regionId, body.active))
        changed = management.event(receipt, "EmergencyModeChanged")
    return {"regionId": int(changed["regionId"]), "emergencyMode": bool(changed["active"]), "txHash": tx_hash_of(receipt)}


@router.post("/demand-response/events", status_code=HTTP_CREATED, summary="Starts a demand-response event, funding its budget")
def start_demand_response(request: Request, body: DemandResponseRequest, operator: LocalAccount = Operator) -> dict[str, Any]:
    client = client_of(request)
    demand = client.demand_response
    payment = client.payment_token
    relay = relay_of(request)
    budget = body.targetReductionKW * body.rewardPerKW
    with answering(), relay.exclusive():
        # Without a region, the contract's form without one: the operator's own GridManagement region
        # (an account GridManagement does not authorize is refused, 403).
        event_args = (body.targetReductionKW, body.rewardPerKW, body.durationSeconds)
        call = demand.contract.functions.startEvent(*event_args if body.regionId is None else (body.regionId, *event_args))
        # Every other refusal first (role, zero parameters, duration): the approval is sent only for
        # an event that would then start.
        rejection = relay.check(operator.address, call)
        if rejection is not None:
            if not (isinstance(rejection, ContractRevertError) and rejection.error_name in ALLOWANCE_ERRORS):
                raise rejection
            balance = payment.balance_of(operator.address)
            if balance < budget:
                raise ApiProblem(
                    HTTP_BAD_REQUEST,
                    "InsufficientBudget",
                    "The operator account holds less PaymentToken than the event's budget (target × reward).",
                    {"budget": budget, "balance": balance, "operator": operator.address},
                )
            relay.send(operator, payment.contract.functions.approve(demand.address, budget))
        receipt = relay.send(operator, call)
        started = demand.event(receipt, "EventStarted")
    return {"eventId": int(started["eventId"]), "regionId": int(started["regionId"]), "txHash": tx_hash_of(receipt)}


__all__ = ["router"]

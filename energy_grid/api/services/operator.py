"""The grid operator's writes, sent with the operator key of the settings: balancing actions, load
reports, the emergency state and demand-response events."""

from __future__ import annotations

from http import HTTPStatus

from eth_account.signers.local import LocalAccount

from energy_grid.api import schemas
from energy_grid.api.problems import ApiProblem, answering
from energy_grid.api.relay import Relay, tx_hash_of
from energy_grid.api.write_models import BalancingRequest, DemandResponseRequest, EmergencyRequest, LoadRequest
from energy_grid.chain.errors import ContractRevertError
from energy_grid.contracts.client import GridClient
from energy_grid.domain.enums import ActionType, LoadStatus

# The demand-response budget is pulled from the operator: approving it is the one extra step.
BUDGET_ALLOWANCE_ERRORS = frozenset({"ERC20InsufficientAllowance"})


def balance(client: GridClient, relay: Relay, operator: LocalAccount, body: BalancingRequest) -> schemas.BalancingActionOut:
    operations = client.grid_operations
    with answering():
        action = int(ActionType[body.actionType])
        call = operations.calls.initiate_balancing_action(operator, body.regionId, action, body.targetKW, body.priority_level())
        receipt = relay.send(operator, call)
        initiated = operations.event(receipt, "BalancingActionInitiated")
    return schemas.BalancingActionOut(actionId=int(initiated["actionId"]), txHash=tx_hash_of(receipt))


def report_load(client: GridClient, relay: Relay, operator: LocalAccount, body: LoadRequest) -> schemas.LoadReportOut:
    operations = client.grid_operations
    with answering():
        receipt = relay.send(operator, operations.calls.report_load(operator, body.regionId, body.capacityKW, body.demandKW))
        reported = operations.event(receipt, "LoadReported")
    return schemas.LoadReportOut(
        regionId=int(reported["regionId"]),
        loadPercentage=int(reported["loadPercentage"]),
        status=LoadStatus(reported["status"]).name,
        txHash=tx_hash_of(receipt),
    )


def set_emergency(client: GridClient, relay: Relay, operator: LocalAccount, body: EmergencyRequest) -> schemas.EmergencyOut:
    management = client.grid_management
    with answering(), relay.exclusive():
        # The contract refuses the state the region is in: read and switch with no other write of the service between.
        if management.is_region_in_emergency(body.regionId) == body.active:
            return schemas.EmergencyOut(regionId=body.regionId, emergencyMode=body.active, txHash=None)
        receipt = relay.send(operator, management.calls.toggle_emergency_mode(operator, body.regionId, body.active))
        changed = management.event(receipt, "EmergencyModeChanged")
    return schemas.EmergencyOut(regionId=int(changed["regionId"]), emergencyMode=bool(changed["active"]), txHash=tx_hash_of(receipt))


def start_demand_response(
    client: GridClient, relay: Relay, operator: LocalAccount, body: DemandResponseRequest
) -> schemas.DemandResponseEventOut:
    demand, payment = client.demand_response, client.payment_token
    budget = body.targetReductionKW * body.rewardPerKW
    with answering(), relay.exclusive():
        # Without a region, the contract's form without one: the operator's own GridManagement region
        # (an account GridManagement does not authorize is refused, 403).
        call = demand.calls.start_event(operator, body.regionId, body.targetReductionKW, body.rewardPerKW, body.durationSeconds)
        # Every other refusal first (role, zero parameters, duration): the approval is sent only for
        # an event that would then start.
        rejection = relay.check(operator.address, call)
        if rejection is not None:
            if not (isinstance(rejection, ContractRevertError) and rejection.error_name in BUDGET_ALLOWANCE_ERRORS):
                raise rejection
            held = payment.balance_of(operator.address)
            if held < budget:
                raise ApiProblem(
                    HTTPStatus.BAD_REQUEST,
                    "InsufficientBudget",
                    "The operator account holds less PaymentToken than the event's budget (target × reward).",
                    {"budget": budget, "balance": held, "operator": operator.address},
                )
            relay.send(operator, payment.calls.approve(operator, demand.address, budget))
        receipt = relay.send(operator, call)
        started = demand.event(receipt, "EventStarted")
    return schemas.DemandResponseEventOut(eventId=int(started["eventId"]), regionId=int(started["regionId"]), txHash=tx_hash_of(receipt))

"""GridOperations: load monitoring, stability maintenance (grading, automated and manual
responses, emergency escalation into GridManagement) and balancing coordination, run by
GridManagement's verified operators for their own region.

GridManagement is deployed for real (conftest `grid_operations`). Every custom error is asserted
with all of its arguments and every event with all of its fields (helpers.reverts / helpers.log).
"""

from __future__ import annotations

from enum import IntEnum
from typing import Any

import pytest
from eth_utils import keccak
from hexbytes import HexBytes

from support.helpers import DEFAULT_ADMIN_ROLE, ZERO_ADDRESS, assert_logs, deploy_reverts, log, reverts, role, unexercised_abi_items

REGION = 1  # conftest GRID_OPS_REGION: grid_operator's
OTHER_REGION = 2  # conftest GRID_OPS_OTHER_REGION: other_region_operator's
BASE_PRICE_PER_KWH = 200_000  # conftest GRID_BASE_PRICE_PER_KWH
EMERGENCY_RESPONDER_ROLE = role("EMERGENCY_RESPONDER_ROLE")

MAX_POWER_KW = 4_000_000_000
HISTORY_CAPACITY = 96
MAX_PRIORITY = 10
REASON_STABILITY_CRITICAL = b"STABILITY_CRITICAL".ljust(32, b"\0")
REASON_MANUAL_CRITICAL_RESPONSE = b"MANUAL_CRITICAL_RESPONSE".ljust(32, b"\0")
NOMINAL_HZ = 50_000  # mHz
NOMINAL_V = 1_000  # per-mille


class Load(IntEnum):
    LOW = 0
    NORMAL = 1
    HIGH = 2
    CRITICAL = 3


class Level(IntEnum):
    NORMAL = 0
    ALERT = 1
    EMERGENCY = 2
    CRITICAL = 3


class Trigger(IntEnum):
    NONE = 0
    UNDER_FREQUENCY = 1
    OVER_FREQUENCY = 2
    UNDER_VOLTAGE = 3
    OVER_VOLTAGE = 4


class Action(IntEnum):
    NONE = 0
    GENERATION_UP = 1
    GENERATION_DOWN = 2
    LOAD_SHEDDING = 3
    STORAGE_DISPATCH = 4


class Status(IntEnum):
    NONE = 0
    PENDING = 1
    COMPLETED = 2
    CANCELLED = 3


# ----------------------------------------------------------------------------- helpers


def fields(struct: Any) -> dict:
    """A returned struct as {field: value}, to compare with a dict naming every field."""
    return dict(struct.items())


def load_reported(go, operator, sequence, capacity, demand, percentage, status, region=REGION):
    return log(
        go.LoadReported,
        regionId=region,
        operator=operator.address,
        sequence=sequence,
        capacityKW=capacity,
        demandKW=demand,
        loadPercentage=percentage,
        status=status,
    )


def metrics_reported(go, operator, frequency, voltage, phase, level, region=REGION):
    return log(
        go.StabilityMetricsReported,
        regionId=region,
        operator=operator.address,
        frequencyMilliHz=frequency,
        voltagePerMille=voltage,
        phaseAngleMilliDegrees=phase,
        level=level,
    )


def fired(go, response_id, trigger, action, target, priority, severity, region=REGION):
    return log(
        go.AutomatedResponseFired,
        responseId=response_id,
        regionId=region,
        triggerCondition=trigger,
        actionType=action,
        targetAdjustmentKW=target,
        priority=priority,
        severity=severity,
    )


def emergency_logs(gm, go, emergency_id, reason, mode_switched=True, region=REGION):
    """GridManagement's logs of an emergency GridOperations declares."""
    logs = [
        log(
            gm.EmergencyProtocolImplemented,
            emergencyId=emergency_id,
            regionId=region,
            severity=3,
            reason=reason,
            declaredBy=go.address,
        )
    ]
    if mode_switched:
        logs.append(log(gm.EmergencyModeChanged, regionId=region, active=True, changedBy=go.address))
    return logs


def capacity(go: Any, region: int = REGION) -> dict:
    return fields(go.getRegionCapacity(region))


# ----------------------------------------------------------------------------- fixtures


@pytest.fixture(scope="module", autouse=True)
def _accounts_before_isolation(admin, stranger, grid_operator, other_region_operator, accounts):
    """Resolves the session-scoped account fixtures before ape's per-test isolation (no rebasing)."""


@pytest.fixture
def go(grid_operations):
    """GridOperations, under the short name the tests use."""
    return grid_operations


@pytest.fixture
def gm(grid_management):
    return grid_management


@pytest.fixture
def op(grid_operator):
    return grid_operator


@pytest.fixture
def other_op(other_region_operator):
    return other_region_operator


def _new_operator(accounts: Any, gm: Any, region: int) -> Any:
    account = accounts.generate_test_account()
    account.balance = 10**18
    gm.registerOperator("Fresh Grid Co", region, 100, sender=account)
    return account


@pytest.fixture
def unverified(accounts, gm, go):
    """Registered as an operator of REGION, never verified."""
    return _new_operator(accounts, gm, REGION)


@pytest.fixture
def suspended(accounts, gm, go, admin):
    """A verified operator of REGION that the admin suspended."""
    account = _new_operator(accounts, gm, REGION)
    gm.verifyOperator(account, sender=admin)
    gm.setOperatorAuthorization(account, False, sender=admin)
    return account


@pytest.fixture
def with_capacity(go, op):
    """REGION: 1,000 kW maximum, 600 kW generating, 300 kW reserve."""
    go.setRegionCapacity(REGION, 1_000, 600, 300, sender=op)


@pytest.fixture
def with_load(go, op):
    """REGION's latest load: 700 kW of 1,000 kW."""
    go.reportLoad(REGION, 1_000, 700, sender=op)


@pytest.fixture
def balancing(go, op, with_capacity, with_load):
    """REGION with capacity and load, ready for balancing actions."""
    return go


# ----------------------------------------------------------------------------- wiring, surface, completeness


def test_constants_and_wiring(go, gm, admin, op, other_op):
    assert go.MAX_POWER_KW() == MAX_POWER_KW
    assert go.LOAD_HISTORY_CAPACITY() == HISTORY_CAPACITY
    assert go.MAX_HISTORY_PAGE() == HISTORY_CAPACITY
    assert go.LOW_LOAD_MAX_PERCENT() == 30
    assert go.HIGH_LOAD_MIN_PERCENT() == 80
    assert go.CRITICAL_LOAD_MIN_PERCENT() == 95
    assert go.NOMINAL_FREQUENCY_MILLIHZ() == NOMINAL_HZ
    assert go.NOMINAL_VOLTAGE_PER_MILLE() == NOMINAL_V
    assert go.NORMAL_FREQUENCY_DEVIATION_MILLIHZ() == 500
    assert go.ALERT_FREQUENCY_DEVIATION_MILLIHZ() == 1_000
    assert go.EMERGENCY_FREQUENCY_DEVIATION_MILLIHZ() == 2_000
    assert go.NORMAL_VOLTAGE_DEVIATION_PER_MILLE() == 50
    assert go.ALERT_VOLTAGE_DEVIATION_PER_MILLE() == 100
    assert go.EMERGENCY_VOLTAGE_DEVIATION_PER_MILLE() == 150
    assert go.MIN_FREQUENCY_MILLIHZ() == 45_000
    assert go.MAX_FREQUENCY_MILLIHZ() == 65_000
    assert go.MIN_VOLTAGE_PER_MILLE() == 500
    assert go.MAX_VOLTAGE_PER_MILLE() == 1_500
    assert go.MAX_PHASE_ANGLE_MILLIDEGREES() == 180_000
    assert go.MAX_PRIORITY() == MAX_PRIORITY
    assert go.EMERGENCY_SEVERITY_CRITICAL() == 3
    assert go.REASON_STABILITY_CRITICAL() == REASON_STABILITY_CRITICAL
    assert go.REASON_MANUAL_CRITICAL_RESPONSE() == REASON_MANUAL_CRITICAL_RESPONSE
    assert go.gridManagement() == gm.address
    assert go.hasRole(DEFAULT_ADMIN_ROLE, admin)
    assert go.DEFAULT_ADMIN_ROLE() == DEFAULT_ADMIN_ROLE
    assert gm.hasRole(EMERGENCY_RESPONDER_ROLE, go)
    assert gm.operatorStatus(op) == (True, REGION)
    assert gm.operatorStatus(other_op) == (True, OTHER_REGION)
    assert go.stabilityResponseCount() == 0
    assert go.balancingActionCount() == 0
    assert go.loadReportCount(REGION) == 0



def test_every_function_error_and_event_is_exercised(go):
    """Guards this file's completeness: each ABI item of GridOperations is used here as `.<name>`."""
    items = [item for item in go.contract_type.abi if item.type in ("function", "error", "event")]
    assert len(items) > 80
    # RoleAdminChanged cannot happen: nothing calls OpenZeppelin's internal _setRoleAdmin.
    assert unexercised_abi_items("GridOperations", ["test_grid_operations.py"], ("function", "error", "event"), {"RoleAdminChanged"}) == []


@pytest.mark.parametrize("which", ["admin", "gridManagement"])
def test_constructor_rejects_zero_addresses(project, admin, gm, which):
    container = project.GridOperations
    args = (ZERO_ADDRESS, gm) if which == "admin" else (admin, ZERO_ADDRESS)
    with deploy_reverts(container.ZeroAddress):
        container.deploy(*args, sender=admin)


def test_access_control_surface(go, admin, other_op, stranger):
    assert go.getRoleAdmin(DEFAULT_ADMIN_ROLE) == DEFAULT_ADMIN_ROLE
    assert go.supportsInterface("0x7965db0b")  # IAccessControl
    assert go.supportsInterface("0x01ffc9a7")  # IERC165
    assert not go.supportsInterface("0xffffffff")

    with reverts(go.AccessControlUnauthorizedAccount, account=stranger.address, neededRole=DEFAULT_ADMIN_ROLE):
        go.grantRole(DEFAULT_ADMIN_ROLE, stranger, sender=stranger)
    with reverts(go.AccessControlUnauthorizedAccount, account=stranger.address, neededRole=DEFAULT_ADMIN_ROLE):
        go.revokeRole(DEFAULT_ADMIN_ROLE, admin, sender=stranger)
    tx = go.grantRole(DEFAULT_ADMIN_ROLE, other_op, sender=admin)
    assert_logs(tx, log(go.RoleGranted, role=DEFAULT_ADMIN_ROLE, account=other_op.address, sender=admin.address))
    with reverts(go.AccessControlBadConfirmation):
        go.renounceRole(DEFAULT_ADMIN_ROLE, stranger, sender=other_op)
    tx = go.renounceRole(DEFAULT_ADMIN_ROLE, other_op, sender=other_op)
    assert_logs(tx, log(go.RoleRevoked, role=DEFAULT_ADMIN_ROLE, account=other_op.address, sender=other_op.address))
    assert not go.hasRole(DEFAULT_ADMIN_ROLE, other_op)
    tx = go.grantRole(DEFAULT_ADMIN_ROLE, stranger, sender=admin)
    tx = go.revokeRole(DEFAULT_ADMIN_ROLE, stranger, sender=admin)
    assert_logs(tx, log(go.RoleRevoked, role=DEFAULT_ADMIN_ROLE, account=stranger.address, sender=admin.address))


# ----------------------------------------------------------------------------- operator checks

# Every operator function that names a region, called for REGION.
REGION_CALLS = {
    "reportLoad": lambda go, s: go.reportLoad(REGION, 1_000, 500, sender=s),
    "reportStabilityMetrics": lambda go, s: go.reportStabilityMetrics(REGION, NOMINAL_HZ, NOMINAL_V, 0, sender=s),
    "triggerStabilityResponse": lambda go, s: go.triggerStabilityResponse(REGION, 49_000, NOMINAL_V, 1, sender=s),
    "setRegionCapacity": lambda go, s: go.setRegionCapacity(REGION, 1_000, 500, 200, sender=s),
    "initiateBalancingAction": lambda go, s: go.initiateBalancingAction(REGION, Action.GENERATION_UP, 10, 1, sender=s),
    "removeAutomatedResponse": lambda go, s: go.removeAutomatedResponse(REGION, Trigger.UNDER_FREQUENCY, sender=s),
    "completeBalancingAction": lambda go, s: go.completeBalancingAction(1, sender=s),
    "cancelBalancingAction": lambda go, s: go.cancelBalancingAction(1, sender=s),
    "configureAutomatedResponse": lambda go, s: go.configureAutomatedResponse(
        Trigger.UNDER_FREQUENCY, Action.GENERATION_UP, 10, 1, sender=s
    ),
}
ADMIN_MAY = {"removeAutomatedResponse", "cancelBalancingAction"}


@pytest.fixture
def pending_in_region(go, op, balancing):
    """Action 1 (GENERATION_UP 10 kW, pending) and a configured UNDER_FREQUENCY response in REGION."""
    go.initiateBalancingAction(REGION, Action.GENERATION_UP, 10, 1, sender=op)
    go.configureAutomatedResponse(Trigger.UNDER_FREQUENCY, Action.GENERATION_UP, 10, 1, sender=op)


# The admin is no operator, but may call ADMIN_MAY (test_admin_may_remove_responses_and_cancel_actions).
NON_OPERATOR_CASES = [
    (call, who)
    for call in sorted(REGION_CALLS)
    for who in ("stranger", "unverified", "suspended", "admin")
    if not (who == "admin" and call in ADMIN_MAY)
]


@pytest.mark.parametrize(("call", "who"), NON_OPERATOR_CASES)
def test_operator_functions_reject_non_operators(request, go, pending_in_region, call, who):
    account = request.getfixturevalue(who)
    snapshot = (go.balancingActionCount(), go.stabilityResponseCount(), go.loadReportCount(REGION), capacity(go))
    with reverts(go.OperatorNotAuthorized, account=account.address):
        REGION_CALLS[call](go, account)
    assert (go.balancingActionCount(), go.stabilityResponseCount(), go.loadReportCount(REGION), capacity(go)) == snapshot


@pytest.mark.parametrize("call", sorted(set(REGION_CALLS) - {"configureAutomatedResponse"}))
def test_operator_functions_reject_other_regions_operators(go, other_op, pending_in_region, call):
    with reverts(go.OperatorNotInRegion, operator=other_op.address, operatorRegionId=OTHER_REGION, regionId=REGION):
        REGION_CALLS[call](go, other_op)


def test_configure_applies_to_the_callers_own_region(go, op, other_op, pending_in_region):
    """configureAutomatedResponse names no region: the other operator configures its own."""
    tx = go.configureAutomatedResponse(Trigger.UNDER_FREQUENCY, Action.LOAD_SHEDDING, 30, 3, sender=other_op)
    assert_logs(
        tx,
        log(
            go.AutomatedResponseConfigured,
            regionId=OTHER_REGION,
            triggerCondition=Trigger.UNDER_FREQUENCY,
            operator=other_op.address,
            actionType=Action.LOAD_SHEDDING,
            targetAdjustmentKW=30,
            priority=3,
        ),
    )
    assert go.getAutomatedResponse(REGION, Trigger.UNDER_FREQUENCY).actionType == Action.GENERATION_UP
    assert go.getAutomatedResponse(OTHER_REGION, Trigger.UNDER_FREQUENCY).actionType == Action.LOAD_SHEDDING


def test_restored_and_newly_verified_operators_may_act(go, gm, admin, suspended, unverified):
    gm.setOperatorAuthorization(suspended, True, sender=admin)
    go.reportLoad(REGION, 1_000, 100, sender=suspended)
    gm.verifyOperator(unverified, sender=admin)
    go.reportLoad(REGION, 1_000, 200, sender=unverified)
    assert go.getCurrentLoad(REGION).reportedBy == unverified.address
    gm.setOperatorAuthorization(unverified, False, sender=admin)
    with reverts(go.OperatorNotAuthorized, account=unverified.address):
        go.reportLoad(REGION, 1_000, 300, sender=unverified)


def test_one_call_into_grid_management_per_operator_transaction(go, gm, op, balancing):
    """The operator check is one operatorStatus call; only a CRITICAL level adds the emergency."""
    txs = [
        go.reportLoad(REGION, 1_000, 500, sender=op),
        go.reportStabilityMetrics(REGION, 49_000, 1_080, 0, sender=op),
        go.setRegionCapacity(REGION, 1_000, 600, 300, sender=op),
        go.initiateBalancingAction(REGION, Action.LOAD_SHEDDING, 10, 1, sender=op),
        go.completeBalancingAction(1, sender=op),
        go.configureAutomatedResponse(Trigger.UNDER_FREQUENCY, Action.GENERATION_UP, 10, 1, sender=op),
    ]
    for tx in txs:
        assert calls_into(gm, tx) == ["operatorStatus"]
    tx = go.reportStabilityMetrics(REGION, 47_000, 1_000, 0, sender=op)
    assert calls_into(gm, tx) == ["operatorStatus", "implementEmergencyProtocol"]


def calls_into(contract: Any, tx: Any) -> list[str]:
    """Names of the functions `tx` called on `contract`, in order (from anvil's call tree)."""
    names = {HexBytes(keccak(text=a.selector)[:4]): a.name for a in contract.contract_type.abi if a.type == "function"}
    target = HexBytes(contract.address)
    found: list[str] = []

    def walk(node: Any) -> None:
        for sub in node.calls:
            if HexBytes(sub.address) == target:
                found.append(names[HexBytes(sub.calldata[:4])])
            walk(sub)

    walk(tx.trace.get_calltree())
    return found


# ----------------------------------------------------------------------------- load monitoring


def test_report_load_stores_and_emits(go, op, other_op):
    tx = go.reportLoad(REGION, 1_000, 700, sender=op)
    assert_logs(tx, load_reported(go, op, 0, 1_000, 700, 70, Load.NORMAL))
    assert fields(go.getCurrentLoad(REGION)) == {
        "sequence": 0,
        "capacityKW": 1_000,
        "demandKW": 700,
        "loadPercentage": 70,
        "status": Load.NORMAL,
        "reportedAt": tx.timestamp,
        "reportedBy": op.address,
    }
    assert go.loadReportCount(REGION) == 1
    assert not go.isCriticalLoad(REGION)

    tx = go.reportLoad(REGION, 800, 790, sender=op)
    assert_logs(tx, load_reported(go, op, 1, 800, 790, 98, Load.CRITICAL))
    assert go.getCurrentLoad(REGION).sequence == 1
    assert go.isCriticalLoad(REGION)
    # Regions are independent.
    tx = go.reportLoad(OTHER_REGION, 50, 10, sender=other_op)
    assert_logs(tx, load_reported(go, other_op, 0, 50, 10, 20, Load.LOW, region=OTHER_REGION))
    assert go.loadReportCount(REGION) == 2
    assert go.getCurrentLoad(REGION).demandKW == 790


def test_a_community_feeder_reports_its_load_in_kw(go, op):
    """A 100 kVA feeder peaking at 90 kW: below 1 MW, its load still reads 90 %, HIGH."""
    tx = go.reportLoad(REGION, 100, 90, sender=op)
    assert_logs(tx, load_reported(go, op, 0, 100, 90, 90, Load.HIGH))
    current = go.getCurrentLoad(REGION)
    assert (current.capacityKW, current.demandKW, current.loadPercentage, current.status) == (100, 90, 90, Load.HIGH)
    assert not go.isCriticalLoad(REGION)


@pytest.mark.parametrize(
    ("capacity_kw", "demand_kw", "percentage", "status"),
    [
        (100, 0, 0, Load.LOW),
        (100, 30, 30, Load.LOW),
        (100, 31, 31, Load.NORMAL),
        (100, 79, 79, Load.NORMAL),
        (100, 80, 80, Load.HIGH),
        (100, 94, 94, Load.HIGH),
        (100, 95, 95, Load.CRITICAL),
        (100, 100, 100, Load.CRITICAL),
        # Rounded down: 30.9 % is 30 (LOW), 79.9 % NORMAL, 94.9 % HIGH.
        (1_000, 309, 30, Load.LOW),
        (1_000, 310, 31, Load.NORMAL),
        (1_000, 799, 79, Load.NORMAL),
        (1_000, 800, 80, Load.HIGH),
        (1_000, 949, 94, Load.HIGH),
        (1_000, 950, 95, Load.CRITICAL),
        (3, 1, 33, Load.NORMAL),
        # Demand may exceed capacity.
        (1_000, 1_500, 150, Load.CRITICAL),
        (1, MAX_POWER_KW, MAX_POWER_KW * 100, Load.CRITICAL),
        (MAX_POWER_KW, MAX_POWER_KW, 100, Load.CRITICAL),
    ],
)
def test_load_status_edges_through_reports(go, op, capacity_kw, demand_kw, percentage, status):
    tx = go.reportLoad(REGION, capacity_kw, demand_kw, sender=op)
    assert_logs(tx, load_reported(go, op, 0, capacity_kw, demand_kw, percentage, status))
    current = go.getCurrentLoad(REGION)
    assert (current.capacityKW, current.demandKW, current.loadPercentage, current.status) == (
        capacity_kw,
        demand_kw,
        percentage,
        status,
    )
    assert go.isCriticalLoad(REGION) == (status == Load.CRITICAL)


@pytest.mark.parametrize(
    ("percentage", "status"),
    [
        (0, Load.LOW),
        (30, Load.LOW),
        (31, Load.NORMAL),
        (79, Load.NORMAL),
        (80, Load.HIGH),
        (94, Load.HIGH),
        (95, Load.CRITICAL),
        (2**256 - 1, Load.CRITICAL),
    ],
)
def test_get_load_status(go, percentage, status):
    assert go.getLoadStatus(percentage) == status


@pytest.mark.parametrize(
    ("capacity_kw", "demand_kw", "error", "args"),
    [
        (0, 0, lambda c: c.CapacityOutOfRange, {"capacityKW": 0, "maxKW": MAX_POWER_KW}),
        (MAX_POWER_KW + 1, 1, lambda c: c.CapacityOutOfRange, {"capacityKW": MAX_POWER_KW + 1, "maxKW": MAX_POWER_KW}),
        (1_000, MAX_POWER_KW + 1, lambda c: c.PowerOutOfRange, {"valueKW": MAX_POWER_KW + 1, "maxKW": MAX_POWER_KW}),
        (2**256 - 1, 1, lambda c: c.CapacityOutOfRange, {"capacityKW": 2**256 - 1, "maxKW": MAX_POWER_KW}),
    ],
    ids=["zero capacity", "capacity above max", "demand above max", "capacity 2^256-1"],
)
def test_report_load_rejects_bad_input(go, op, with_load, capacity_kw, demand_kw, error, args):
    with reverts(error(go), **args):
        go.reportLoad(REGION, capacity_kw, demand_kw, sender=op)
    assert go.loadReportCount(REGION) == 1
    assert go.getCurrentLoad(REGION).demandKW == 700


LOAD_REPORTER_ROLE = role("LOAD_REPORTER_ROLE")
MAX_LOAD_REPORTS = 64


@pytest.fixture
def head_end(go, admin, stranger):
    """An account that reads every transformer: LOAD_REPORTER_ROLE, and no operator of any region."""
    go.grantRole(LOAD_REPORTER_ROLE, stranger, sender=admin)
    return stranger


def test_report_loads_reports_every_region_in_one_transaction(go, op, head_end):
    assert go.LOAD_REPORTER_ROLE() == LOAD_REPORTER_ROLE
    assert go.MAX_LOAD_REPORTS() == MAX_LOAD_REPORTS
    go.reportLoad(REGION, 1_000, 700, sender=op)
    # A region reported by its operator and one never reported, and the first again: each report is
    # its region's next, in the batch's order, in the head-end's name.
    tx = go.reportLoads([(REGION, 100, 90), (OTHER_REGION, 50, 10), (REGION, 100, 96)], sender=head_end)
    assert_logs(
        tx,
        load_reported(go, head_end, 1, 100, 90, 90, Load.HIGH),
        load_reported(go, head_end, 0, 50, 10, 20, Load.LOW, region=OTHER_REGION),
        load_reported(go, head_end, 2, 100, 96, 96, Load.CRITICAL),
    )
    assert (go.loadReportCount(REGION), go.loadReportCount(OTHER_REGION)) == (3, 1)
    assert fields(go.getCurrentLoad(OTHER_REGION)) == {
        "sequence": 0,
        "capacityKW": 50,
        "demandKW": 10,
        "loadPercentage": 20,
        "status": Load.LOW,
        "reportedAt": tx.timestamp,
        "reportedBy": head_end.address,
    }
    history = go.getLoadHistory(REGION, 0, 3)
    assert [(r.demandKW, r.reportedBy) for r in history] == [(700, op.address), (90, head_end.address), (96, head_end.address)]
    assert go.isCriticalLoad(REGION)


def test_neighbouring_regions_keep_their_own_counts_and_reports(go, head_end, chain):
    """Four regions share a word of report counts, and two reports a word of a region's history: each
    region's count and each report read back as its own, the fields' largest values included, up to
    the highest region id (the top lane of its counts' word)."""
    regions = [4, 5, 6, 7, 8, 2**32 - 1]
    counts = [1, 2, 3, 4, 1, 3]
    times = []
    for j in range(max(counts)):
        loads = [(r, MAX_POWER_KW - j, MAX_POWER_KW - 2 * j) for r, n in zip(regions, counts, strict=True) if j < n]
        times.append(go.reportLoads(loads, sender=head_end).timestamp)
        chain.mine(timestamp=times[-1] + 1_000_000)
    for region, n in zip(regions, counts, strict=True):
        assert go.loadReportCount(region) == n
        history = go.getLoadHistory(region, 0, n)
        assert [(r.sequence, r.capacityKW, r.demandKW, r.reportedAt, r.reportedBy) for r in history] == [
            (j, MAX_POWER_KW - j, MAX_POWER_KW - 2 * j, times[j], head_end.address) for j in range(n)
        ]
    for silent in (3, 9, 2**32 - 2):
        assert go.loadReportCount(silent) == 0
        with reverts(go.LoadNotReported, regionId=silent):
            go.getCurrentLoad(silent)


def test_report_loads_is_the_load_reporters_only(go, op, admin, head_end):
    """Neither a region's operator nor the admin reports in batches without the role; revoked, the
    head-end reports nothing more."""
    for account in (op, admin):
        with reverts(go.AccessControlUnauthorizedAccount, account=account.address, neededRole=LOAD_REPORTER_ROLE):
            go.reportLoads([(REGION, 100, 50)], sender=account)
    go.revokeRole(LOAD_REPORTER_ROLE, head_end, sender=admin)
    with reverts(go.AccessControlUnauthorizedAccount, account=head_end.address, neededRole=LOAD_REPORTER_ROLE):
        go.reportLoads([(REGION, 100, 50)], sender=head_end)
    # The role reports no single region through reportLoad, which stays the region's operators'.
    go.grantRole(LOAD_REPORTER_ROLE, head_end, sender=admin)
    with reverts(go.OperatorNotAuthorized, account=head_end.address):
        go.reportLoad(REGION, 100, 50, sender=head_end)
    assert go.loadReportCount(REGION) == 0


def test_report_loads_refuses_a_bad_batch_whole(go, head_end):
    with reverts(go.EmptyBatch):
        go.reportLoads([], sender=head_end)
    with reverts(go.BatchTooLarge, size=MAX_LOAD_REPORTS + 1, maxSize=MAX_LOAD_REPORTS):
        go.reportLoads([(REGION, 100, 50)] * (MAX_LOAD_REPORTS + 1), sender=head_end)
    # One bad region's report refuses the batch: the good one before it is not kept either.
    with reverts(go.CapacityOutOfRange, capacityKW=0, maxKW=MAX_POWER_KW):
        go.reportLoads([(REGION, 100, 50), (OTHER_REGION, 0, 10)], sender=head_end)
    with reverts(go.PowerOutOfRange, valueKW=MAX_POWER_KW + 1, maxKW=MAX_POWER_KW):
        go.reportLoads([(REGION, 100, 50), (OTHER_REGION, 100, MAX_POWER_KW + 1)], sender=head_end)
    assert (go.loadReportCount(REGION), go.loadReportCount(OTHER_REGION)) == (0, 0)
    tx = go.reportLoads([(REGION, 100, 50)] * MAX_LOAD_REPORTS, sender=head_end)
    assert len(tx.events) == MAX_LOAD_REPORTS
    assert go.loadReportCount(REGION) == MAX_LOAD_REPORTS


def test_unreported_region(go):
    with reverts(go.LoadNotReported, regionId=REGION):
        go.getCurrentLoad(REGION)
    with reverts(go.LoadNotReported, regionId=REGION):
        go.isCriticalLoad(REGION)
    assert go.getLoadHistory(REGION, 0, 10) == []
    with reverts(go.LoadHistoryOutOfRange, regionId=REGION, fromSequence=1, oldestSequence=0, reportCount=0):
        go.getLoadHistory(REGION, 1, 1)


def test_load_history_pages(go, op, chain):
    reports = []
    for i in range(5):
        tx = go.reportLoad(REGION, 1_000 + i, 100 * i, sender=op)
        reports.append((i, 1_000 + i, 100 * i, tx.timestamp))
    expected = [
        {
            "sequence": i,
            "capacityKW": cap,
            "demandKW": demand,
            "loadPercentage": demand * 100 // cap,
            "status": go.getLoadStatus(demand * 100 // cap),
            "reportedAt": ts,
            "reportedBy": op.address,
        }
        for i, cap, demand, ts in reports
    ]
    assert [fields(r) for r in go.getLoadHistory(REGION, 0, HISTORY_CAPACITY)] == expected
    assert [fields(r) for r in go.getLoadHistory(REGION, 2, 2)] == expected[2:4]
    assert [fields(r) for r in go.getLoadHistory(REGION, 4, 10)] == expected[4:]
    assert go.getLoadHistory(REGION, 5, 1) == []  # from the next report on: nothing yet
    with reverts(go.LoadHistoryOutOfRange, regionId=REGION, fromSequence=6, oldestSequence=0, reportCount=5):
        go.getLoadHistory(REGION, 6, 1)
    for count in (0, HISTORY_CAPACITY + 1):
        with reverts(go.InvalidHistoryPage, count=count, maxCount=HISTORY_CAPACITY):
            go.getLoadHistory(REGION, 0, count)


def test_load_history_ring_wraps(go, op, other_op):
    go.reportLoad(OTHER_REGION, 10, 1, sender=other_op)
    total = HISTORY_CAPACITY + 4
    for i in range(total):
        go.reportLoad(REGION, 1_000, i, sender=op)
        if i == HISTORY_CAPACITY - 1:
            # Full, not yet wrapped: report 0 is still there.
            assert go.getLoadHistory(REGION, 0, 1)[0].demandKW == 0
    assert go.loadReportCount(REGION) == total
    oldest = total - HISTORY_CAPACITY
    with reverts(go.LoadHistoryOutOfRange, regionId=REGION, fromSequence=oldest - 1, oldestSequence=oldest, reportCount=total):
        go.getLoadHistory(REGION, oldest - 1, 1)
    page = go.getLoadHistory(REGION, oldest, HISTORY_CAPACITY)
    assert [r.sequence for r in page] == list(range(oldest, total))
    assert [r.demandKW for r in page] == list(range(oldest, total))
    assert go.getCurrentLoad(REGION).sequence == total - 1
    assert go.getCurrentLoad(REGION).demandKW == total - 1
    # The other region's ring is untouched.
    assert [r.demandKW for r in go.getLoadHistory(OTHER_REGION, 0, 5)] == [1]


# ----------------------------------------------------------------------------- stability grading

# (frequencyMilliHz, voltagePerMille, level): every grade edge, inclusive on the NORMAL side.
LEVEL_EDGES = [
    (50_000, 1_000, Level.NORMAL),
    # frequency, at nominal voltage
    (49_500, 1_000, Level.NORMAL),
    (50_500, 1_000, Level.NORMAL),
    (49_499, 1_000, Level.ALERT),
    (50_501, 1_000, Level.ALERT),
    (49_000, 1_000, Level.ALERT),
    (51_000, 1_000, Level.ALERT),
    (48_999, 1_000, Level.EMERGENCY),
    (51_001, 1_000, Level.EMERGENCY),
    (48_000, 1_000, Level.EMERGENCY),
    (52_000, 1_000, Level.EMERGENCY),
    (47_999, 1_000, Level.CRITICAL),
    (52_001, 1_000, Level.CRITICAL),
    (45_000, 1_000, Level.CRITICAL),
    (65_000, 1_000, Level.CRITICAL),
    # voltage, at nominal frequency
    (50_000, 950, Level.NORMAL),
    (50_000, 1_050, Level.NORMAL),
    (50_000, 949, Level.ALERT),
    (50_000, 1_051, Level.ALERT),
    (50_000, 900, Level.ALERT),
    (50_000, 1_100, Level.ALERT),
    (50_000, 899, Level.EMERGENCY),
    (50_000, 1_101, Level.EMERGENCY),
    (50_000, 850, Level.EMERGENCY),
    (50_000, 1_150, Level.EMERGENCY),
    (50_000, 849, Level.CRITICAL),
    (50_000, 1_151, Level.CRITICAL),
    (50_000, 500, Level.CRITICAL),
    (50_000, 1_500, Level.CRITICAL),
    # the worse of the two
    (49_499, 1_101, Level.EMERGENCY),
    (48_999, 949, Level.EMERGENCY),
    (50_501, 849, Level.CRITICAL),
    (47_999, 1_050, Level.CRITICAL),
    (49_500, 950, Level.NORMAL),
]


@pytest.mark.parametrize(("frequency", "voltage", "level"), LEVEL_EDGES)
def test_get_stability_level(go, frequency, voltage, level):
    assert go.getStabilityLevel(frequency, voltage) == level


@pytest.mark.parametrize(
    ("frequency", "voltage", "error", "args"),
    [
        (44_999, 1_000, lambda c: c.FrequencyOutOfBounds, {"frequencyMilliHz": 44_999}),
        (65_001, 1_000, lambda c: c.FrequencyOutOfBounds, {"frequencyMilliHz": 65_001}),
        (0, 1_000, lambda c: c.FrequencyOutOfBounds, {"frequencyMilliHz": 0}),
        (50_000, 499, lambda c: c.VoltageOutOfBounds, {"voltagePerMille": 499}),
        (50_000, 1_501, lambda c: c.VoltageOutOfBounds, {"voltagePerMille": 1_501}),
    ],
)
def test_get_stability_level_rejects_out_of_bounds(go, frequency, voltage, error, args):
    with reverts(error(go), **args):
        go.getStabilityLevel(frequency, voltage)


@pytest.mark.parametrize(("frequency", "voltage", "level"), [e for e in LEVEL_EDGES if e[2] != Level.CRITICAL])
def test_report_stability_metrics_grades(go, gm, op, frequency, voltage, level):
    tx = go.reportStabilityMetrics(REGION, frequency, voltage, -12_345, sender=op)
    assert_logs(tx, metrics_reported(go, op, frequency, voltage, -12_345, level))
    assert fields(go.getStabilityMetrics(REGION)) == {
        "frequencyMilliHz": frequency,
        "voltagePerMille": voltage,
        "phaseAngleMilliDegrees": -12_345,
        "level": level,
        "reportedAt": tx.timestamp,
        "reportedBy": op.address,
    }
    assert not gm.getGridStatus().emergencyMode
    assert gm.emergencyCount() == 0


@pytest.mark.parametrize(("frequency", "voltage", "level"), [e for e in LEVEL_EDGES if e[2] == Level.CRITICAL])
def test_critical_report_edges_declare_an_emergency(go, gm, op, frequency, voltage, level):
    tx = go.reportStabilityMetrics(REGION, frequency, voltage, 0, sender=op)
    assert_logs(
        tx,
        metrics_reported(go, op, frequency, voltage, 0, Level.CRITICAL),
        *emergency_logs(gm, go, 1, REASON_STABILITY_CRITICAL),
    )
    assert go.getStabilityMetrics(REGION).level == Level.CRITICAL


def test_phase_angle_bounds(go, op):
    for phase in (-180_000, 180_000, 0):
        tx = go.reportStabilityMetrics(REGION, NOMINAL_HZ, NOMINAL_V, phase, sender=op)
        assert_logs(tx, metrics_reported(go, op, NOMINAL_HZ, NOMINAL_V, phase, Level.NORMAL))
        assert go.getStabilityMetrics(REGION).phaseAngleMilliDegrees == phase
    for phase in (-180_001, 180_001, -(2**255), 2**255 - 1):
        with reverts(go.PhaseAngleOutOfBounds, phaseAngleMilliDegrees=phase):
            go.reportStabilityMetrics(REGION, NOMINAL_HZ, NOMINAL_V, phase, sender=op)
    assert go.getStabilityMetrics(REGION).phaseAngleMilliDegrees == 0


@pytest.mark.parametrize(
    ("frequency", "voltage", "error", "args"),
    [
        (44_999, 1_000, lambda c: c.FrequencyOutOfBounds, {"frequencyMilliHz": 44_999}),
        (65_001, 1_000, lambda c: c.FrequencyOutOfBounds, {"frequencyMilliHz": 65_001}),
        (50_000, 499, lambda c: c.VoltageOutOfBounds, {"voltagePerMille": 499}),
        (50_000, 1_501, lambda c: c.VoltageOutOfBounds, {"voltagePerMille": 1_501}),
    ],
)
def test_report_stability_metrics_rejects_out_of_bounds(go, op, frequency, voltage, error, args):
    go.reportStabilityMetrics(REGION, 50_100, 990, 5, sender=op)
    with reverts(error(go), **args):
        go.reportStabilityMetrics(REGION, frequency, voltage, 0, sender=op)
    assert (go.getStabilityMetrics(REGION).frequencyMilliHz, go.getStabilityMetrics(REGION).voltagePerMille) == (50_100, 990)


def test_stability_metrics_getter(go, op, other_op):
    with reverts(go.StabilityNotReported, regionId=REGION):
        go.getStabilityMetrics(REGION)
    go.reportStabilityMetrics(OTHER_REGION, 50_200, 1_010, 1, sender=other_op)
    with reverts(go.StabilityNotReported, regionId=REGION):
        go.getStabilityMetrics(REGION)
    go.reportStabilityMetrics(REGION, 49_600, 1_040, 2, sender=op)
    tx = go.reportStabilityMetrics(REGION, 49_400, 1_000, 3, sender=op)
    assert fields(go.getStabilityMetrics(REGION)) == {
        "frequencyMilliHz": 49_400,
        "voltagePerMille": 1_000,
        "phaseAngleMilliDegrees": 3,
        "level": Level.ALERT,
        "reportedAt": tx.timestamp,
        "reportedBy": op.address,
    }
    assert go.getStabilityMetrics(OTHER_REGION).frequencyMilliHz == 50_200


# ----------------------------------------------------------------------------- emergency escalation


def test_critical_report_switches_emergency_mode_on(go, gm, op):
    assert not gm.getGridStatus().emergencyMode
    assert gm.getDynamicPrice() == BASE_PRICE_PER_KWH
    tx = go.reportStabilityMetrics(REGION, 47_500, 1_000, 0, sender=op)
    assert_logs(
        tx,
        metrics_reported(go, op, 47_500, 1_000, 0, Level.CRITICAL),
        *emergency_logs(gm, go, 1, REASON_STABILITY_CRITICAL),
    )
    assert gm.getGridStatus().emergencyMode
    assert gm.getDynamicPrice() == 3 * BASE_PRICE_PER_KWH
    assert gm.emergencyCount() == 1
    assert fields(gm.getEmergency(1)) == {
        "regionId": REGION,
        "severity": 3,
        "reason": REASON_STABILITY_CRITICAL,
        "declaredBy": go.address,
        "declaredAt": tx.timestamp,
    }
    # Every CRITICAL report declares (and records) an emergency; the mode is on already.
    tx = go.reportStabilityMetrics(REGION, 50_000, 800, 0, sender=op)
    assert_logs(
        tx,
        metrics_reported(go, op, 50_000, 800, 0, Level.CRITICAL),
        *emergency_logs(gm, go, 2, REASON_STABILITY_CRITICAL, mode_switched=False),
    )
    assert gm.emergencyCount() == 2


def test_critical_report_needs_the_emergency_responder_role(go, gm, admin, op):
    gm.revokeRole(EMERGENCY_RESPONDER_ROLE, go, sender=admin)
    with reverts(gm.Unauthorized, account=go.address):
        go.reportStabilityMetrics(REGION, 47_000, 1_000, 0, sender=op)
    with reverts(go.StabilityNotReported, regionId=REGION):
        go.getStabilityMetrics(REGION)
    go.reportStabilityMetrics(REGION, 48_000, 1_000, 0, sender=op)  # EMERGENCY: no call into GridManagement
    assert not gm.getGridStatus().emergencyMode


# ----------------------------------------------------------------------------- automated responses


def configured(go, operator, trigger, action, target, priority, region=REGION):
    return log(
        go.AutomatedResponseConfigured,
        regionId=region,
        triggerCondition=trigger,
        operator=operator.address,
        actionType=action,
        targetAdjustmentKW=target,
        priority=priority,
    )


def test_configure_and_reconfigure_automated_response(go, op, chain):
    with reverts(go.AutomatedResponseNotConfigured, regionId=REGION, triggerCondition=Trigger.UNDER_FREQUENCY):
        go.getAutomatedResponse(REGION, Trigger.UNDER_FREQUENCY)
    tx = go.configureAutomatedResponse(Trigger.UNDER_FREQUENCY, Action.GENERATION_UP, 50, 2, sender=op)
    assert_logs(tx, configured(go, op, Trigger.UNDER_FREQUENCY, Action.GENERATION_UP, 50, 2))
    assert fields(go.getAutomatedResponse(REGION, Trigger.UNDER_FREQUENCY)) == {
        "triggerCondition": Trigger.UNDER_FREQUENCY,
        "actionType": Action.GENERATION_UP,
        "targetAdjustmentKW": 50,
        "priority": 2,
        "configuredBy": op.address,
        "configuredAt": tx.timestamp,
    }
    # Reconfiguring replaces it.
    tx = go.configureAutomatedResponse(Trigger.UNDER_FREQUENCY, Action.STORAGE_DISPATCH, MAX_POWER_KW, MAX_PRIORITY, sender=op)
    assert_logs(tx, configured(go, op, Trigger.UNDER_FREQUENCY, Action.STORAGE_DISPATCH, MAX_POWER_KW, MAX_PRIORITY))
    assert fields(go.getAutomatedResponse(REGION, Trigger.UNDER_FREQUENCY)) == {
        "triggerCondition": Trigger.UNDER_FREQUENCY,
        "actionType": Action.STORAGE_DISPATCH,
        "targetAdjustmentKW": MAX_POWER_KW,
        "priority": MAX_PRIORITY,
        "configuredBy": op.address,
        "configuredAt": tx.timestamp,
    }
    # One response per trigger condition: the others stay unset.
    for trigger in (Trigger.OVER_FREQUENCY, Trigger.UNDER_VOLTAGE, Trigger.OVER_VOLTAGE):
        with reverts(go.AutomatedResponseNotConfigured, regionId=REGION, triggerCondition=trigger):
            go.getAutomatedResponse(REGION, trigger)
    tx = go.configureAutomatedResponse(Trigger.OVER_VOLTAGE, Action.GENERATION_DOWN, 1, 1, sender=op)
    assert_logs(tx, configured(go, op, Trigger.OVER_VOLTAGE, Action.GENERATION_DOWN, 1, 1))


@pytest.mark.parametrize(
    ("args", "error", "error_args"),
    [
        ((0, 1, 10, 1), lambda c: c.InvalidTriggerCondition, {"triggerCondition": 0}),
        ((5, 1, 10, 1), lambda c: c.InvalidTriggerCondition, {"triggerCondition": 5}),
        ((255, 1, 10, 1), lambda c: c.InvalidTriggerCondition, {"triggerCondition": 255}),
        ((1, 0, 10, 1), lambda c: c.InvalidActionType, {"actionType": 0}),
        ((1, 5, 10, 1), lambda c: c.InvalidActionType, {"actionType": 5}),
        ((1, 1, 0, 1), lambda c: c.TargetOutOfRange, {"targetKW": 0, "maxKW": MAX_POWER_KW}),
        ((1, 1, MAX_POWER_KW + 1, 1), lambda c: c.TargetOutOfRange, {"targetKW": MAX_POWER_KW + 1, "maxKW": MAX_POWER_KW}),
        ((1, 1, 10, 0), lambda c: c.PriorityOutOfRange, {"priority": 0, "maxPriority": MAX_PRIORITY}),
        ((1, 1, 10, 11), lambda c: c.PriorityOutOfRange, {"priority": 11, "maxPriority": MAX_PRIORITY}),
    ],
)
def test_configure_automated_response_rejects_bad_input(go, op, args, error, error_args):
    with reverts(error(go), **error_args):
        go.configureAutomatedResponse(*args, sender=op)
    with reverts(go.AutomatedResponseNotConfigured, regionId=REGION, triggerCondition=Trigger.UNDER_FREQUENCY):
        go.getAutomatedResponse(REGION, Trigger.UNDER_FREQUENCY)


@pytest.mark.parametrize("trigger", [0, 5])
def test_response_views_reject_invalid_trigger(go, trigger):
    with reverts(go.InvalidTriggerCondition, triggerCondition=trigger):
        go.getAutomatedResponse(REGION, trigger)


def test_remove_automated_response(go, op, admin, other_op):
    go.configureAutomatedResponse(Trigger.UNDER_FREQUENCY, Action.GENERATION_UP, 50, 2, sender=op)
    go.configureAutomatedResponse(Trigger.OVER_VOLTAGE, Action.GENERATION_DOWN, 20, 4, sender=op)
    go.configureAutomatedResponse(Trigger.OVER_VOLTAGE, Action.GENERATION_DOWN, 20, 4, sender=other_op)

    tx = go.removeAutomatedResponse(REGION, Trigger.UNDER_FREQUENCY, sender=op)
    assert_logs(
        tx,
        log(go.AutomatedResponseRemoved, regionId=REGION, triggerCondition=Trigger.UNDER_FREQUENCY, removedBy=op.address),
    )
    with reverts(go.AutomatedResponseNotConfigured, regionId=REGION, triggerCondition=Trigger.UNDER_FREQUENCY):
        go.getAutomatedResponse(REGION, Trigger.UNDER_FREQUENCY)
    with reverts(go.AutomatedResponseNotConfigured, regionId=REGION, triggerCondition=Trigger.UNDER_FREQUENCY):
        go.removeAutomatedResponse(REGION, Trigger.UNDER_FREQUENCY, sender=op)
    for trigger in (0, 5):
        with reverts(go.InvalidTriggerCondition, triggerCondition=trigger):
            go.removeAutomatedResponse(REGION, trigger, sender=op)

    # A removed response no longer fires.
    tx = go.reportStabilityMetrics(REGION, 49_000, 1_000, 0, sender=op)
    assert_logs(tx, metrics_reported(go, op, 49_000, 1_000, 0, Level.ALERT))
    assert go.stabilityResponseCount() == 0

    # The admin removes in any region; the other responses stay.
    tx = go.removeAutomatedResponse(OTHER_REGION, Trigger.OVER_VOLTAGE, sender=admin)
    assert_logs(
        tx,
        log(go.AutomatedResponseRemoved, regionId=OTHER_REGION, triggerCondition=Trigger.OVER_VOLTAGE, removedBy=admin.address),
    )
    assert go.getAutomatedResponse(REGION, Trigger.OVER_VOLTAGE).targetAdjustmentKW == 20


def test_automated_response_fires_inside_a_report(go, op):
    go.configureAutomatedResponse(Trigger.UNDER_FREQUENCY, Action.GENERATION_UP, 50, 2, sender=op)
    tx = go.reportStabilityMetrics(REGION, 49_499, 1_000, 7, sender=op)
    assert_logs(
        tx,
        metrics_reported(go, op, 49_499, 1_000, 7, Level.ALERT),
        fired(go, 1, Trigger.UNDER_FREQUENCY, Action.GENERATION_UP, 50, 2, Level.ALERT),
    )
    assert go.stabilityResponseCount() == 1
    assert fields(go.getStabilityResponse(1)) == {
        "regionId": REGION,
        "automated": True,
        "triggerCondition": Trigger.UNDER_FREQUENCY,
        "actionType": Action.GENERATION_UP,
        "targetAdjustmentKW": 50,
        "priority": 2,
        "severity": Level.ALERT,
        "frequencyMilliHz": 49_499,
        "voltagePerMille": 1_000,
        "createdBy": op.address,
        "createdAt": tx.timestamp,
    }
    # The record is a snapshot: reconfiguring later does not change it.
    go.configureAutomatedResponse(Trigger.UNDER_FREQUENCY, Action.LOAD_SHEDDING, 70, 1, sender=op)
    assert go.getStabilityResponse(1).actionType == Action.GENERATION_UP


def test_triggers_fire_on_their_side_beyond_the_normal_band(go, op):
    responses = {
        Trigger.UNDER_FREQUENCY: (Action.GENERATION_UP, 10, 1),
        Trigger.OVER_FREQUENCY: (Action.GENERATION_DOWN, 20, 2),
        Trigger.UNDER_VOLTAGE: (Action.STORAGE_DISPATCH, 30, 3),
        Trigger.OVER_VOLTAGE: (Action.LOAD_SHEDDING, 40, 4),
    }
    for trigger, (action, target, priority) in responses.items():
        go.configureAutomatedResponse(trigger, action, target, priority, sender=op)

    # On the NORMAL band's edges nothing fires.
    for frequency, voltage in ((49_500, 1_000), (50_500, 1_000), (50_000, 950), (50_000, 1_050), (49_500, 1_050)):
        tx = go.reportStabilityMetrics(REGION, frequency, voltage, 0, sender=op)
        assert_logs(tx, metrics_reported(go, op, frequency, voltage, 0, Level.NORMAL))
    assert go.stabilityResponseCount() == 0

    cases = [
        (49_499, 1_000, Level.ALERT, [Trigger.UNDER_FREQUENCY]),
        (50_501, 1_000, Level.ALERT, [Trigger.OVER_FREQUENCY]),
        (50_000, 949, Level.ALERT, [Trigger.UNDER_VOLTAGE]),
        (50_000, 1_051, Level.ALERT, [Trigger.OVER_VOLTAGE]),
        (48_500, 1_120, Level.EMERGENCY, [Trigger.UNDER_FREQUENCY, Trigger.OVER_VOLTAGE]),
        (51_500, 940, Level.EMERGENCY, [Trigger.OVER_FREQUENCY, Trigger.UNDER_VOLTAGE]),
    ]
    next_id = 1
    for frequency, voltage, level, triggers in cases:
        tx = go.reportStabilityMetrics(REGION, frequency, voltage, 0, sender=op)
        expected = [metrics_reported(go, op, frequency, voltage, 0, level)]
        for trigger in triggers:
            expected.append(fired(go, next_id, trigger, *responses[trigger], level))
            record = go.getStabilityResponse(next_id)
            assert (record.triggerCondition, record.automated, record.severity) == (trigger, True, level)
            assert (record.frequencyMilliHz, record.voltagePerMille) == (frequency, voltage)
            next_id += 1
        assert_logs(tx, *expected)
    assert go.stabilityResponseCount() == next_id - 1 == 8


def test_unconfigured_triggers_and_other_regions_fire_nothing(go, op, other_op):
    go.configureAutomatedResponse(Trigger.OVER_VOLTAGE, Action.GENERATION_DOWN, 10, 1, sender=op)
    tx = go.reportStabilityMetrics(REGION, 49_000, 1_000, 0, sender=op)  # under-frequency: not configured
    assert_logs(tx, metrics_reported(go, op, 49_000, 1_000, 0, Level.ALERT))
    tx = go.reportStabilityMetrics(OTHER_REGION, 50_000, 1_060, 0, sender=other_op)  # REGION's response only
    assert_logs(tx, metrics_reported(go, other_op, 50_000, 1_060, 0, Level.ALERT, region=OTHER_REGION))
    assert go.stabilityResponseCount() == 0


def test_critical_report_fires_its_response_and_declares_the_emergency(go, gm, op):
    go.configureAutomatedResponse(Trigger.UNDER_FREQUENCY, Action.LOAD_SHEDDING, 200, 1, sender=op)
    tx = go.reportStabilityMetrics(REGION, 47_000, 1_000, 0, sender=op)
    assert_logs(
        tx,
        metrics_reported(go, op, 47_000, 1_000, 0, Level.CRITICAL),
        fired(go, 1, Trigger.UNDER_FREQUENCY, Action.LOAD_SHEDDING, 200, 1, Level.CRITICAL),
        *emergency_logs(gm, go, 1, REASON_STABILITY_CRITICAL),
    )
    assert go.getStabilityResponse(1).severity == Level.CRITICAL
    assert gm.getDynamicPrice() == 3 * BASE_PRICE_PER_KWH


# ----------------------------------------------------------------------------- manual responses


def triggered(go, operator, response_id, frequency, voltage, severity, emergency_id=0, region=REGION):
    return log(
        go.StabilityResponseTriggered,
        responseId=response_id,
        regionId=region,
        operator=operator.address,
        frequencyMilliHz=frequency,
        voltagePerMille=voltage,
        severity=severity,
        emergencyId=emergency_id,
    )


def test_trigger_stability_response(go, gm, op):
    tx = go.triggerStabilityResponse(REGION, 49_200, 960, Level.ALERT, sender=op)
    assert tx.return_value == 1
    assert_logs(tx, triggered(go, op, 1, 49_200, 960, Level.ALERT))
    assert fields(go.getStabilityResponse(1)) == {
        "regionId": REGION,
        "automated": False,
        "triggerCondition": Trigger.NONE,
        "actionType": Action.NONE,
        "targetAdjustmentKW": 0,
        "priority": 0,
        "severity": Level.ALERT,
        "frequencyMilliHz": 49_200,
        "voltagePerMille": 960,
        "createdBy": op.address,
        "createdAt": tx.timestamp,
    }
    # The operator's judgement, whatever the values' grade.
    tx = go.triggerStabilityResponse(REGION, 50_000, 1_000, Level.EMERGENCY, sender=op)
    assert_logs(tx, triggered(go, op, 2, 50_000, 1_000, Level.EMERGENCY))
    assert go.getStabilityResponse(2).severity == Level.EMERGENCY
    assert gm.emergencyCount() == 0
    assert not gm.getGridStatus().emergencyMode
    assert go.stabilityResponseCount() == 2


def test_critical_manual_response_declares_an_emergency(go, gm, op):
    tx = go.triggerStabilityResponse(REGION, 48_100, 1_000, Level.CRITICAL, sender=op)
    assert_logs(
        tx,
        triggered(go, op, 1, 48_100, 1_000, Level.CRITICAL, emergency_id=1),
        *emergency_logs(gm, go, 1, REASON_MANUAL_CRITICAL_RESPONSE),
    )
    assert gm.getEmergency(1).reason == REASON_MANUAL_CRITICAL_RESPONSE
    assert gm.getDynamicPrice() == 3 * BASE_PRICE_PER_KWH
    assert go.getStabilityResponse(1).severity == Level.CRITICAL


@pytest.mark.parametrize(
    ("frequency", "voltage", "severity", "error", "args"),
    [
        (49_000, 1_000, 0, lambda c: c.InvalidSeverity, {"severity": 0}),
        (49_000, 1_000, 4, lambda c: c.InvalidSeverity, {"severity": 4}),
        (49_000, 1_000, 255, lambda c: c.InvalidSeverity, {"severity": 255}),
        (44_999, 1_000, 1, lambda c: c.FrequencyOutOfBounds, {"frequencyMilliHz": 44_999}),
        (65_001, 1_000, 1, lambda c: c.FrequencyOutOfBounds, {"frequencyMilliHz": 65_001}),
        (50_000, 499, 1, lambda c: c.VoltageOutOfBounds, {"voltagePerMille": 499}),
        (50_000, 1_501, 1, lambda c: c.VoltageOutOfBounds, {"voltagePerMille": 1_501}),
    ],
)
def test_trigger_stability_response_rejects_bad_input(go, op, frequency, voltage, severity, error, args):
    with reverts(error(go), **args):
        go.triggerStabilityResponse(REGION, frequency, voltage, severity, sender=op)
    assert go.stabilityResponseCount() == 0


def test_unknown_stability_response(go, op):
    with reverts(go.StabilityResponseNotFound, responseId=0):
        go.getStabilityResponse(0)
    go.triggerStabilityResponse(REGION, 49_000, 1_000, 1, sender=op)
    go.getStabilityResponse(1)
    with reverts(go.StabilityResponseNotFound, responseId=2):
        go.getStabilityResponse(2)


# ----------------------------------------------------------------------------- region capacity


def capacity_set(go, operator, max_kw, current_kw, reserve_kw, region=REGION):
    return log(
        go.RegionCapacitySet,
        regionId=region,
        operator=operator.address,
        maxGenerationKW=max_kw,
        currentGenerationKW=current_kw,
        reserveCapacityKW=reserve_kw,
    )


def test_set_region_capacity(go, op, other_op):
    with reverts(go.RegionCapacityNotSet, regionId=REGION):
        go.getRegionCapacity(REGION)
    tx = go.setRegionCapacity(REGION, 1_000, 600, 300, sender=op)
    assert_logs(tx, capacity_set(go, op, 1_000, 600, 300))
    assert capacity(go) == {
        "maxGenerationKW": 1_000,
        "currentGenerationKW": 600,
        "reserveCapacityKW": 300,
        "committedReserveKW": 0,
        "committedGenerationDownKW": 0,
        "committedLoadSheddingKW": 0,
        "updatedAt": tx.timestamp,
    }
    with reverts(go.RegionCapacityNotSet, regionId=OTHER_REGION):
        go.getRegionCapacity(OTHER_REGION)
    # Edges: current = max with no reserve; reserve = all the headroom; the largest maximum.
    for max_kw, current_kw, reserve_kw in ((1_000, 1_000, 0), (1_000, 0, 1_000), (MAX_POWER_KW, 1, MAX_POWER_KW - 1), (1, 0, 0)):
        tx = go.setRegionCapacity(REGION, max_kw, current_kw, reserve_kw, sender=op)
        assert_logs(tx, capacity_set(go, op, max_kw, current_kw, reserve_kw))
        c = capacity(go)
        assert (c["maxGenerationKW"], c["currentGenerationKW"], c["reserveCapacityKW"]) == (max_kw, current_kw, reserve_kw)


@pytest.mark.parametrize(
    ("args", "error", "error_args"),
    [
        ((0, 0, 0), lambda c: c.CapacityOutOfRange, {"capacityKW": 0, "maxKW": MAX_POWER_KW}),
        ((MAX_POWER_KW + 1, 0, 0), lambda c: c.CapacityOutOfRange, {"capacityKW": MAX_POWER_KW + 1, "maxKW": MAX_POWER_KW}),
        ((1_000, 1_001, 0), lambda c: c.GenerationExceedsMaximum, {"currentGenerationKW": 1_001, "maxGenerationKW": 1_000}),
        ((1_000, 600, 401), lambda c: c.ReserveExceedsHeadroom, {"reserveCapacityKW": 401, "headroomKW": 400}),
        ((1_000, 1_000, 1), lambda c: c.ReserveExceedsHeadroom, {"reserveCapacityKW": 1, "headroomKW": 0}),
    ],
)
def test_set_region_capacity_rejects_bad_input(go, op, with_capacity, args, error, error_args):
    before = capacity(go)
    with reverts(error(go), **error_args):
        go.setRegionCapacity(REGION, *args, sender=op)
    assert capacity(go) == before


def test_set_region_capacity_keeps_pending_commitments_covered(go, op, balancing):
    go.initiateBalancingAction(REGION, Action.GENERATION_UP, 100, 1, sender=op)
    go.initiateBalancingAction(REGION, Action.GENERATION_DOWN, 50, 1, sender=op)
    with reverts(go.ReserveBelowCommitted, regionId=REGION, reserveCapacityKW=99, committedKW=100):
        go.setRegionCapacity(REGION, 1_000, 600, 99, sender=op)
    with reverts(go.GenerationBelowCommitted, regionId=REGION, currentGenerationKW=49, committedKW=50):
        go.setRegionCapacity(REGION, 1_000, 49, 100, sender=op)
    tx = go.setRegionCapacity(REGION, 800, 50, 100, sender=op)  # exactly the commitments
    assert_logs(tx, capacity_set(go, op, 800, 50, 100))
    c = capacity(go)
    assert (c["committedReserveKW"], c["committedGenerationDownKW"]) == (100, 50)


# ----------------------------------------------------------------------------- balancing actions


def initiated(go, operator, action_id, action, target, priority, region=REGION):
    return log(
        go.BalancingActionInitiated,
        actionId=action_id,
        regionId=region,
        operator=operator.address,
        actionType=action,
        targetKW=target,
        priority=priority,
    )


def available(go: Any, region: int = REGION) -> dict:
    return {a: go.getAvailableBalancingKW(region, a) for a in (1, 2, 3, 4)}


def test_initiate_balancing_action(go, op, balancing):
    assert available(go) == {
        Action.GENERATION_UP: 300,
        Action.GENERATION_DOWN: 600,
        Action.LOAD_SHEDDING: 700,
        Action.STORAGE_DISPATCH: 300,
    }
    tx = go.initiateBalancingAction(REGION, Action.GENERATION_UP, 100, 3, sender=op)
    assert tx.return_value == 1
    assert_logs(tx, initiated(go, op, 1, Action.GENERATION_UP, 100, 3))
    assert fields(go.getBalancingAction(1)) == {
        "regionId": REGION,
        "actionType": Action.GENERATION_UP,
        "status": Status.PENDING,
        "targetKW": 100,
        "priority": 3,
        "initiatedBy": op.address,
        "initiatedAt": tx.timestamp,
        "closedBy": ZERO_ADDRESS,
        "closedAt": 0,
    }
    # GENERATION_UP and STORAGE_DISPATCH share the reserve.
    assert available(go)[Action.STORAGE_DISPATCH] == 200
    tx = go.initiateBalancingAction(REGION, Action.STORAGE_DISPATCH, 200, 1, sender=op)
    assert_logs(tx, initiated(go, op, 2, Action.STORAGE_DISPATCH, 200, 1))
    tx = go.initiateBalancingAction(REGION, Action.GENERATION_DOWN, 600, 10, sender=op)
    assert_logs(tx, initiated(go, op, 3, Action.GENERATION_DOWN, 600, 10))
    tx = go.initiateBalancingAction(REGION, Action.LOAD_SHEDDING, 700, 2, sender=op)
    assert_logs(tx, initiated(go, op, 4, Action.LOAD_SHEDDING, 700, 2))
    assert go.balancingActionCount() == 4
    c = capacity(go)
    assert (c["committedReserveKW"], c["committedGenerationDownKW"], c["committedLoadSheddingKW"]) == (300, 600, 700)
    # Initiating moves no capacity, only commits it.
    assert (c["currentGenerationKW"], c["reserveCapacityKW"]) == (600, 300)
    assert available(go) == dict.fromkeys((1, 2, 3, 4), 0)

    with reverts(go.InsufficientReserve, regionId=REGION, targetKW=1, availableKW=0):
        go.initiateBalancingAction(REGION, Action.GENERATION_UP, 1, 1, sender=op)
    with reverts(go.InsufficientReserve, regionId=REGION, targetKW=1, availableKW=0):
        go.initiateBalancingAction(REGION, Action.STORAGE_DISPATCH, 1, 1, sender=op)
    with reverts(go.InsufficientGeneration, regionId=REGION, targetKW=1, availableKW=0):
        go.initiateBalancingAction(REGION, Action.GENERATION_DOWN, 1, 1, sender=op)
    with reverts(go.InsufficientSheddableLoad, regionId=REGION, targetKW=1, availableKW=0):
        go.initiateBalancingAction(REGION, Action.LOAD_SHEDDING, 1, 1, sender=op)
    assert go.balancingActionCount() == 4


@pytest.mark.parametrize(
    ("action", "available_kw", "error"),
    [
        (Action.GENERATION_UP, 300, lambda c: c.InsufficientReserve),
        (Action.STORAGE_DISPATCH, 300, lambda c: c.InsufficientReserve),
        (Action.GENERATION_DOWN, 600, lambda c: c.InsufficientGeneration),
        (Action.LOAD_SHEDDING, 700, lambda c: c.InsufficientSheddableLoad),
    ],
)
def test_initiate_up_to_what_is_available(go, op, balancing, action, available_kw, error):
    with reverts(error(go), regionId=REGION, targetKW=available_kw + 1, availableKW=available_kw):
        go.initiateBalancingAction(REGION, action, available_kw + 1, 1, sender=op)
    tx = go.initiateBalancingAction(REGION, action, available_kw, 1, sender=op)
    assert_logs(tx, initiated(go, op, 1, action, available_kw, 1))
    assert go.getAvailableBalancingKW(REGION, action) == 0


@pytest.mark.parametrize(
    ("args", "error", "error_args"),
    [
        ((0, 10, 1), lambda c: c.InvalidActionType, {"actionType": 0}),
        ((5, 10, 1), lambda c: c.InvalidActionType, {"actionType": 5}),
        ((1, 0, 1), lambda c: c.TargetOutOfRange, {"targetKW": 0, "maxKW": MAX_POWER_KW}),
        ((1, MAX_POWER_KW + 1, 1), lambda c: c.TargetOutOfRange, {"targetKW": MAX_POWER_KW + 1, "maxKW": MAX_POWER_KW}),
        ((1, 10, 0), lambda c: c.PriorityOutOfRange, {"priority": 0, "maxPriority": MAX_PRIORITY}),
        ((1, 10, 11), lambda c: c.PriorityOutOfRange, {"priority": 11, "maxPriority": MAX_PRIORITY}),
    ],
)
def test_initiate_rejects_bad_input(go, op, balancing, args, error, error_args):
    with reverts(error(go), **error_args):
        go.initiateBalancingAction(REGION, *args, sender=op)
    assert go.balancingActionCount() == 0


def test_balancing_needs_capacity_and_load_shedding_a_load_report(go, op):
    for action in (1, 2, 3, 4):
        with reverts(go.RegionCapacityNotSet, regionId=REGION):
            go.initiateBalancingAction(REGION, action, 1, 1, sender=op)
        assert go.getAvailableBalancingKW(REGION, action) == 0
    go.setRegionCapacity(REGION, 1_000, 500, 100, sender=op)
    with reverts(go.LoadNotReported, regionId=REGION):
        go.initiateBalancingAction(REGION, Action.LOAD_SHEDDING, 1, 1, sender=op)
    assert go.getAvailableBalancingKW(REGION, Action.LOAD_SHEDDING) == 0
    go.reportLoad(REGION, 1_000, 40, sender=op)
    assert go.getAvailableBalancingKW(REGION, Action.LOAD_SHEDDING) == 40


@pytest.mark.parametrize("action", [0, 5])
def test_available_balancing_rejects_invalid_action_type(go, action):
    with reverts(go.InvalidActionType, actionType=action):
        go.getAvailableBalancingKW(REGION, action)


def test_sheddable_load_follows_the_latest_demand(go, op, balancing):
    go.initiateBalancingAction(REGION, Action.LOAD_SHEDDING, 500, 1, sender=op)
    assert go.getAvailableBalancingKW(REGION, Action.LOAD_SHEDDING) == 200
    go.reportLoad(REGION, 1_000, 400, sender=op)  # demand fell below what is being shed
    assert go.getAvailableBalancingKW(REGION, Action.LOAD_SHEDDING) == 0
    with reverts(go.InsufficientSheddableLoad, regionId=REGION, targetKW=1, availableKW=0):
        go.initiateBalancingAction(REGION, Action.LOAD_SHEDDING, 1, 1, sender=op)
    go.reportLoad(REGION, 1_000, 900, sender=op)
    assert go.getAvailableBalancingKW(REGION, Action.LOAD_SHEDDING) == 400


def completed(go, operator, action_id, current_kw, reserve_kw, region=REGION):
    return log(
        go.BalancingActionCompleted,
        actionId=action_id,
        regionId=region,
        operator=operator.address,
        currentGenerationKW=current_kw,
        reserveCapacityKW=reserve_kw,
    )


@pytest.mark.parametrize(
    ("action", "target", "current_after", "reserve_after"),
    [
        (Action.GENERATION_UP, 120, 720, 180),
        (Action.STORAGE_DISPATCH, 300, 900, 0),
        (Action.GENERATION_DOWN, 250, 350, 550),
        (Action.LOAD_SHEDDING, 700, 600, 300),
    ],
)
def test_complete_balancing_action(go, op, balancing, action, target, current_after, reserve_after):
    go.initiateBalancingAction(REGION, action, target, 5, sender=op)
    initiated_at = go.getBalancingAction(1).initiatedAt
    tx = go.completeBalancingAction(1, sender=op)
    assert_logs(tx, completed(go, op, 1, current_after, reserve_after))
    assert capacity(go) == {
        "maxGenerationKW": 1_000,
        "currentGenerationKW": current_after,
        "reserveCapacityKW": reserve_after,
        "committedReserveKW": 0,
        "committedGenerationDownKW": 0,
        "committedLoadSheddingKW": 0,
        "updatedAt": tx.timestamp,
    }
    assert fields(go.getBalancingAction(1)) == {
        "regionId": REGION,
        "actionType": action,
        "status": Status.COMPLETED,
        "targetKW": target,
        "priority": 5,
        "initiatedBy": op.address,
        "initiatedAt": initiated_at,
        "closedBy": op.address,
        "closedAt": tx.timestamp,
    }
    with reverts(go.BalancingActionNotPending, actionId=1, status=Status.COMPLETED):
        go.completeBalancingAction(1, sender=op)
    with reverts(go.BalancingActionNotPending, actionId=1, status=Status.COMPLETED):
        go.cancelBalancingAction(1, sender=op)


def test_complete_applies_only_its_own_commitment(go, op, balancing):
    go.initiateBalancingAction(REGION, Action.GENERATION_UP, 100, 1, sender=op)
    go.initiateBalancingAction(REGION, Action.STORAGE_DISPATCH, 150, 1, sender=op)
    go.initiateBalancingAction(REGION, Action.GENERATION_DOWN, 200, 1, sender=op)
    go.completeBalancingAction(2, sender=op)  # storage: 150 kW from reserve into generation
    c = capacity(go)
    assert (c["currentGenerationKW"], c["reserveCapacityKW"]) == (750, 150)
    assert (c["committedReserveKW"], c["committedGenerationDownKW"]) == (100, 200)
    go.completeBalancingAction(3, sender=op)
    go.completeBalancingAction(1, sender=op)
    c = capacity(go)
    assert (c["currentGenerationKW"], c["reserveCapacityKW"]) == (650, 250)
    assert (c["committedReserveKW"], c["committedGenerationDownKW"]) == (0, 0)
    assert c["currentGenerationKW"] + c["reserveCapacityKW"] <= c["maxGenerationKW"]


def test_complete_and_cancel_unknown_actions(go, op, admin, balancing):
    for action_id in (0, 1, 2**256 - 1):
        with reverts(go.BalancingActionNotFound, actionId=action_id):
            go.completeBalancingAction(action_id, sender=op)
        with reverts(go.BalancingActionNotFound, actionId=action_id):
            go.cancelBalancingAction(action_id, sender=admin)
        with reverts(go.BalancingActionNotFound, actionId=action_id):
            go.getBalancingAction(action_id)


def cancelled(go, by, action_id, region=REGION):
    return log(go.BalancingActionCancelled, actionId=action_id, regionId=region, cancelledBy=by.address)


def test_cancel_balancing_action(go, op, balancing):
    go.initiateBalancingAction(REGION, Action.GENERATION_DOWN, 100, 1, sender=op)
    go.initiateBalancingAction(REGION, Action.LOAD_SHEDDING, 300, 1, sender=op)
    tx = go.cancelBalancingAction(2, sender=op)
    assert_logs(tx, cancelled(go, op, 2))
    c = capacity(go)
    assert (c["currentGenerationKW"], c["reserveCapacityKW"]) == (600, 300)  # nothing applied
    assert (c["committedGenerationDownKW"], c["committedLoadSheddingKW"]) == (100, 0)  # only its own released
    action = go.getBalancingAction(2)
    assert (action.status, action.closedBy, action.closedAt) == (Status.CANCELLED, op.address, tx.timestamp)
    with reverts(go.BalancingActionNotPending, actionId=2, status=Status.CANCELLED):
        go.cancelBalancingAction(2, sender=op)
    with reverts(go.BalancingActionNotPending, actionId=2, status=Status.CANCELLED):
        go.completeBalancingAction(2, sender=op)
    assert go.getAvailableBalancingKW(REGION, Action.LOAD_SHEDDING) == 700


def test_admin_may_remove_responses_and_cancel_actions(go, op, admin, balancing):
    """The admin's only powers: clearing what a (suspended) operator left behind, in any region."""
    go.initiateBalancingAction(REGION, Action.GENERATION_UP, 100, 1, sender=op)
    go.configureAutomatedResponse(Trigger.UNDER_FREQUENCY, Action.GENERATION_UP, 10, 1, sender=op)
    tx = go.cancelBalancingAction(1, sender=admin)
    assert_logs(tx, cancelled(go, admin, 1))
    assert capacity(go)["committedReserveKW"] == 0
    assert go.getBalancingAction(1).closedBy == admin.address
    tx = go.removeAutomatedResponse(REGION, Trigger.UNDER_FREQUENCY, sender=admin)
    assert_logs(
        tx,
        log(go.AutomatedResponseRemoved, regionId=REGION, triggerCondition=Trigger.UNDER_FREQUENCY, removedBy=admin.address),
    )
    # The admin does not operate: completing applies effects in the field, an operator's job.
    go.initiateBalancingAction(REGION, Action.GENERATION_UP, 100, 1, sender=op)
    with reverts(go.OperatorNotAuthorized, account=admin.address):
        go.completeBalancingAction(2, sender=admin)

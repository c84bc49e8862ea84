"""MockStablecoin: the local 6-decimal settlement currency and its operator faucet
(add-consumer-balance: whole units between 1 and 1,000,000)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from eth_account.messages import encode_typed_data

from support.helpers import DEFAULT_ADMIN_ROLE, ZERO_ADDRESS, log, reverts, role, sign_permit

OPERATOR_ROLE = role("OPERATOR_ROLE")
NAME = "Mock USD Stablecoin"
UNIT = 10**6
MIN_TOP_UP = 1
MAX_TOP_UP = 1_000_000


# ----------------------------------------------------------------------------- helpers


def minted(token, to, value):
    return log(token.Transfer, **{"from": ZERO_ADDRESS, "to": to.address, "value": value})


def topped_up(token, consumer, operator, amount):
    return log(token.ConsumerBalanceAdded, consumer=consumer.address, operator=operator.address, amountWholeUnits=amount)


# ----------------------------------------------------------------------------- fixtures


@pytest.fixture(scope="module", autouse=True)
def _accounts_before_isolation(admin, owner, other, stranger, stablecoin):
    """Resolves session and module fixtures before ape's per-test isolation (no rebasing)."""


# ----------------------------------------------------------------------------- tests


def test_metadata_and_roles(stablecoin, admin, stranger):
    assert stablecoin.name() == NAME
    assert stablecoin.symbol() == "MOCKUSD"
    assert stablecoin.decimals() == 6
    assert stablecoin.totalSupply() == 0
    assert stablecoin.MIN_TOP_UP() == MIN_TOP_UP
    assert stablecoin.MAX_TOP_UP() == MAX_TOP_UP
    assert stablecoin.OPERATOR_ROLE() == OPERATOR_ROLE
    assert stablecoin.hasRole(DEFAULT_ADMIN_ROLE, admin)
    assert stablecoin.hasRole(OPERATOR_ROLE, admin)
    assert not stablecoin.hasRole(OPERATOR_ROLE, stranger)
    assert stablecoin.getRoleAdmin(OPERATOR_ROLE) == DEFAULT_ADMIN_ROLE
    assert stablecoin.supportsInterface("0x7965db0b")  # IAccessControl
    assert stablecoin.DEFAULT_ADMIN_ROLE() == DEFAULT_ADMIN_ROLE


def test_every_function_error_and_event_is_exercised(stablecoin):
    """Guards this file's completeness: each ABI function and event, and the contract's own error,
    is used here as `.<name>`."""
    source = Path(__file__).read_text()
    items = [item for item in stablecoin.contract_type.abi if item.type in ("function", "event")]
    items += [item for item in stablecoin.contract_type.abi if item.type == "error" and item.name == "TopUpOutOfRange"]
    assert len(items) > 25
    # Unreachable OpenZeppelin events: nothing calls _setRoleAdmin, and the EIP-712 domain is immutable.
    unreachable = {"RoleAdminChanged", "EIP712DomainChanged"}
    unused = [item for item in items if item.name not in unreachable and not re.search(rf"\.{item.name}\b", source)]
    assert [f"{item.type} {item.name}" for item in unused] == []


def test_top_up_operator_only(stablecoin, stranger):
    with reverts(stablecoin.AccessControlUnauthorizedAccount, account=stranger.address, neededRole=OPERATOR_ROLE):
        stablecoin.addConsumerBalance(stranger, 100, sender=stranger)
    assert stablecoin.balanceOf(stranger) == 0


def test_stranger_cannot_manage_roles(stablecoin, admin, stranger):
    with reverts(stablecoin.AccessControlUnauthorizedAccount, account=stranger.address, neededRole=DEFAULT_ADMIN_ROLE):
        stablecoin.grantRole(OPERATOR_ROLE, stranger, sender=stranger)
    with reverts(stablecoin.AccessControlUnauthorizedAccount, account=stranger.address, neededRole=DEFAULT_ADMIN_ROLE):
        stablecoin.revokeRole(OPERATOR_ROLE, admin, sender=stranger)
    assert stablecoin.hasRole(OPERATOR_ROLE, admin)


@pytest.mark.parametrize("amount", [MIN_TOP_UP - 1, MAX_TOP_UP + 1])
def test_top_up_out_of_range(stablecoin, admin, owner, amount):
    with reverts(stablecoin.TopUpOutOfRange, amountWholeUnits=amount):
        stablecoin.addConsumerBalance(owner, amount, sender=admin)
    assert stablecoin.totalSupply() == 0


@pytest.mark.parametrize("amount", [MIN_TOP_UP, MAX_TOP_UP])
def test_top_up_at_bounds(stablecoin, admin, owner, amount):
    tx = stablecoin.addConsumerBalance(owner, amount, sender=admin)
    assert tx.events == [minted(stablecoin, owner, amount * UNIT), topped_up(stablecoin, owner, admin, amount)]
    assert stablecoin.balanceOf(owner) == amount * UNIT
    assert stablecoin.totalSupply() == amount * UNIT


def test_top_ups_accumulate(stablecoin, admin, owner, other):
    stablecoin.addConsumerBalance(owner, 250, sender=admin)
    stablecoin.addConsumerBalance(owner, 750, sender=admin)
    stablecoin.addConsumerBalance(other, 5, sender=admin)
    assert stablecoin.balanceOf(owner) == 1_000 * UNIT
    assert stablecoin.balanceOf(other) == 5 * UNIT
    assert stablecoin.totalSupply() == 1_005 * UNIT


def test_granted_operator_tops_up(stablecoin, admin, owner, other):
    tx = stablecoin.grantRole(OPERATOR_ROLE, other, sender=admin)
    assert tx.events == [log(stablecoin.RoleGranted, role=OPERATOR_ROLE, account=other.address, sender=admin.address)]
    tx = stablecoin.addConsumerBalance(owner, 42, sender=other)
    assert tx.events == [minted(stablecoin, owner, 42 * UNIT), topped_up(stablecoin, owner, other, 42)]

    tx = stablecoin.revokeRole(OPERATOR_ROLE, other, sender=admin)
    assert tx.events == [log(stablecoin.RoleRevoked, role=OPERATOR_ROLE, account=other.address, sender=admin.address)]
    with reverts(stablecoin.AccessControlUnauthorizedAccount, account=other.address, neededRole=OPERATOR_ROLE):
        stablecoin.addConsumerBalance(owner, 1, sender=other)
    assert stablecoin.balanceOf(owner) == 42 * UNIT


def test_admin_can_renounce_operator(stablecoin, admin, owner):
    with reverts(stablecoin.AccessControlBadConfirmation):
        stablecoin.renounceRole(OPERATOR_ROLE, owner, sender=admin)
    tx = stablecoin.renounceRole(OPERATOR_ROLE, admin, sender=admin)
    assert tx.events == [log(stablecoin.RoleRevoked, role=OPERATOR_ROLE, account=admin.address, sender=admin.address)]
    with reverts(stablecoin.AccessControlUnauthorizedAccount, account=admin.address, neededRole=OPERATOR_ROLE):
        stablecoin.addConsumerBalance(owner, 1, sender=admin)


def test_top_up_to_zero_address(stablecoin, admin):
    with reverts(stablecoin.ERC20InvalidReceiver, receiver=ZERO_ADDRESS):
        stablecoin.addConsumerBalance(ZERO_ADDRESS, 1, sender=admin)


def test_transfers_in_base_units(stablecoin, admin, owner, other):
    stablecoin.addConsumerBalance(owner, 10, sender=admin)
    tx = stablecoin.transfer(other, 2_500_000, sender=owner)  # 2.5 MOCKUSD
    assert tx.events == [log(stablecoin.Transfer, **{"from": owner.address, "to": other.address, "value": 2_500_000})]
    assert stablecoin.balanceOf(owner) == 7_500_000
    with reverts(stablecoin.ERC20InsufficientBalance, sender=other.address, balance=2_500_000, needed=2_500_001):
        stablecoin.transfer(owner, 2_500_001, sender=other)

    stablecoin.approve(other, UNIT, sender=owner)
    stablecoin.transferFrom(owner, other, UNIT, sender=other)
    assert stablecoin.allowance(owner, other) == 0
    assert stablecoin.balanceOf(other) == 3_500_000
    with reverts(stablecoin.ERC20InsufficientAllowance, spender=other.address, allowance=0, needed=1):
        stablecoin.transferFrom(owner, other, 1, sender=other)


def test_permit(stablecoin, admin, owner, other, chain):
    """Settlement contracts may take payment by permit: it is signed over this token's domain."""
    stablecoin.addConsumerBalance(owner, 10, sender=admin)
    deadline = chain.pending_timestamp + 600
    v, r, s, message = sign_permit(stablecoin, owner, other, 3 * UNIT, 0, deadline, chain.chain_id)
    domain = stablecoin.eip712Domain()
    assert (domain.name, domain.version, domain.chainId, domain.verifyingContract) == (
        NAME,
        "1",
        chain.chain_id,
        stablecoin.address,
    )
    assert stablecoin.DOMAIN_SEPARATOR() == encode_typed_data(full_message=message).header

    tx = stablecoin.permit(owner, other, 3 * UNIT, deadline, v, r, s, sender=other)
    assert tx.events == [log(stablecoin.Approval, owner=owner.address, spender=other.address, value=3 * UNIT)]
    assert stablecoin.allowance(owner, other) == 3 * UNIT
    assert stablecoin.nonces(owner) == 1
    with reverts(stablecoin.ERC2612ExpiredSignature, deadline=deadline):
        chain.pending_timestamp = deadline + 1
        stablecoin.permit(owner, other, 3 * UNIT, deadline, v, r, s, sender=other)

"""EnergyToken: the Wh credit. Metadata, METER_ROLE-only mint/mintBatch/retire, holder burns,
ERC-20 transfers and EIP-2612 permit."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from eth_account import Account
from eth_account.messages import encode_typed_data
from eth_utils import keccak
from hexbytes import HexBytes

from support.helpers import DEFAULT_ADMIN_ROLE, ZERO_ADDRESS, address, deploy_reverts, log, reverts, role, sign_permit

METER_ROLE = role("METER_ROLE")
NAME = "Grid Energy"


# ----------------------------------------------------------------------------- helpers


def transfer(token, sender, receiver, value):
    return log(token.Transfer, **{"from": address(sender), "to": address(receiver), "value": value})


def approval(token, holder, spender, value):
    return log(token.Approval, owner=address(holder), spender=address(spender), value=value)


# ----------------------------------------------------------------------------- fixtures


@pytest.fixture(scope="module", autouse=True)
def _accounts_before_isolation(admin, owner, other, stranger, meter_device, accounts, energy_token):
    """Resolves session and module fixtures before ape's per-test isolation (no rebasing)."""


@pytest.fixture
def minter(energy_token, admin, meter_device):
    """meter_device stands in for the SmartMeter contract: it holds METER_ROLE."""
    tx = energy_token.grantRole(METER_ROLE, meter_device, sender=admin)
    assert tx.events == [log(energy_token.RoleGranted, role=METER_ROLE, account=meter_device.address, sender=admin.address)]
    return meter_device


@pytest.fixture
def funded(energy_token, minter, owner):
    """`owner` holds 10_000 Wh."""
    energy_token.mint(owner, 10_000, sender=minter)
    return owner


# ----------------------------------------------------------------------------- metadata and roles


def test_metadata(energy_token, admin):
    assert energy_token.name() == NAME
    assert energy_token.symbol() == "kWh"
    assert energy_token.decimals() == 3
    assert energy_token.totalSupply() == 0
    assert energy_token.METER_ROLE() == METER_ROLE
    assert energy_token.DEFAULT_ADMIN_ROLE() == DEFAULT_ADMIN_ROLE
    assert energy_token.getRoleAdmin(METER_ROLE) == DEFAULT_ADMIN_ROLE
    assert energy_token.hasRole(DEFAULT_ADMIN_ROLE, admin)
    assert not energy_token.hasRole(METER_ROLE, admin)
    assert energy_token.supportsInterface("0x7965db0b")  # IAccessControl
    assert energy_token.supportsInterface("0x01ffc9a7")  # IERC165
    assert not energy_token.supportsInterface("0x36372b07")  # IERC20 is not advertised through ERC-165


def test_constructor_rejects_zero_admin(project, energy_token, admin):
    """Without an admin nobody could grant METER_ROLE: a token nobody can ever mint."""
    with deploy_reverts(energy_token.ZeroAddress):
        project.EnergyToken.deploy(ZERO_ADDRESS, sender=admin)


def test_every_function_and_event_is_exercised(energy_token):
    """Guards this file's completeness: each ABI function and event is used here as `.<name>`."""
    source = Path(__file__).read_text()
    items = [item for item in energy_token.contract_type.abi if item.type in ("function", "event")]
    assert len(items) > 25
    # Unreachable OpenZeppelin events: nothing calls _setRoleAdmin, and the EIP-712 domain is immutable.
    unreachable = {"RoleAdminChanged", "EIP712DomainChanged"}
    unused = [item for item in items if item.name not in unreachable and not re.search(rf"\.{item.name}\b", source)]
    assert [f"{item.type} {item.name}" for item in unused] == []


def test_eip712_domain(energy_token, chain):
    domain = energy_token.eip712Domain()
    assert domain.fields == HexBytes("0x0f")  # name, version, chainId, verifyingContract
    assert (domain.name, domain.version, domain.chainId, domain.verifyingContract) == (
        NAME,
        "1",
        chain.chain_id,
        energy_token.address,
    )
    expected = keccak(
        keccak(text="EIP712Domain(string name,string version,uint256 chainId,address verifyingContract)")
        + keccak(text=NAME)
        + keccak(text="1")
        + chain.chain_id.to_bytes(32, "big")
        + HexBytes(energy_token.address).rjust(32, b"\x00")
    )
    assert energy_token.DOMAIN_SEPARATOR() == expected


@pytest.mark.parametrize(
    "call",
    [
        lambda token, caller, to: token.mint(to, 1, sender=caller),
        lambda token, caller, to: token.mintBatch([to], [1], sender=caller),
        lambda token, caller, to: token.retire(to, 1, sender=caller),
    ],
    ids=["mint", "mintBatch", "retire"],
)
@pytest.mark.parametrize("caller_name", ["stranger", "admin"])
def test_meter_role_only(energy_token, request, owner, call, caller_name):
    """Neither a stranger nor the admin (who can grant but does not hold METER_ROLE) mints or retires."""
    caller = request.getfixturevalue(caller_name)
    with reverts(energy_token.AccessControlUnauthorizedAccount, account=caller.address, neededRole=METER_ROLE):
        call(energy_token, caller, owner)
    assert energy_token.totalSupply() == 0


def test_role_management(energy_token, admin, minter, stranger, owner):
    with reverts(energy_token.AccessControlUnauthorizedAccount, account=stranger.address, neededRole=DEFAULT_ADMIN_ROLE):
        energy_token.grantRole(METER_ROLE, stranger, sender=stranger)
    with reverts(energy_token.AccessControlUnauthorizedAccount, account=stranger.address, neededRole=DEFAULT_ADMIN_ROLE):
        energy_token.revokeRole(METER_ROLE, minter, sender=stranger)
    with reverts(energy_token.AccessControlBadConfirmation):
        energy_token.renounceRole(METER_ROLE, stranger, sender=minter)

    tx = energy_token.revokeRole(METER_ROLE, minter, sender=admin)
    assert tx.events == [log(energy_token.RoleRevoked, role=METER_ROLE, account=minter.address, sender=admin.address)]
    with reverts(energy_token.AccessControlUnauthorizedAccount, account=minter.address, neededRole=METER_ROLE):
        energy_token.mint(owner, 1, sender=minter)

    energy_token.grantRole(METER_ROLE, minter, sender=admin)
    tx = energy_token.renounceRole(METER_ROLE, minter, sender=minter)
    assert tx.events == [log(energy_token.RoleRevoked, role=METER_ROLE, account=minter.address, sender=minter.address)]
    assert not energy_token.hasRole(METER_ROLE, minter)


# ----------------------------------------------------------------------------- mint, retire


def test_mint(energy_token, minter, owner):
    tx = energy_token.mint(owner, 1_234, sender=minter)
    assert tx.events == [transfer(energy_token, ZERO_ADDRESS, owner, 1_234)]
    assert energy_token.balanceOf(owner) == 1_234
    assert energy_token.totalSupply() == 1_234


def test_mint_to_zero_address(energy_token, minter):
    with reverts(energy_token.ERC20InvalidReceiver, receiver=ZERO_ADDRESS):
        energy_token.mint(ZERO_ADDRESS, 1, sender=minter)


def test_mint_batch(energy_token, minter, owner, other):
    tx = energy_token.mintBatch([owner, other, owner], [100, 200, 300], sender=minter)
    assert tx.events == [
        transfer(energy_token, ZERO_ADDRESS, owner, 100),
        transfer(energy_token, ZERO_ADDRESS, other, 200),
        transfer(energy_token, ZERO_ADDRESS, owner, 300),
    ]
    assert energy_token.balanceOf(owner) == 400
    assert energy_token.balanceOf(other) == 200
    assert energy_token.totalSupply() == 600

    tx = energy_token.mintBatch([], [], sender=minter)
    assert tx.events == []
    assert energy_token.totalSupply() == 600


def test_mint_batch_to_zero_address_reverts_whole_batch(energy_token, minter, owner):
    with reverts(energy_token.ERC20InvalidReceiver, receiver=ZERO_ADDRESS):
        energy_token.mintBatch([owner, ZERO_ADDRESS], [100, 200], sender=minter)
    assert energy_token.totalSupply() == 0


def test_mint_batch_arrays_must_be_equally_long(energy_token, minter, owner, other):
    with reverts(energy_token.MintBatchLengthMismatch, recipients=2, amounts=1):
        energy_token.mintBatch([owner, other], [100], sender=minter)
    with reverts(energy_token.MintBatchLengthMismatch, recipients=1, amounts=2):
        energy_token.mintBatch([owner], [100, 200], sender=minter)
    assert energy_token.totalSupply() == 0


def test_retire(energy_token, minter, funded):
    tx = energy_token.retire(funded, 4_000, sender=minter)
    assert tx.events == [transfer(energy_token, funded, ZERO_ADDRESS, 4_000)]
    assert energy_token.balanceOf(funded) == 6_000
    assert energy_token.totalSupply() == 6_000
    # Retiring needs no allowance from the holder: the SmartMeter checks ownership and metering.
    assert energy_token.allowance(funded, minter) == 0


def test_retire_more_than_balance(energy_token, minter, funded):
    with reverts(energy_token.ERC20InsufficientBalance, sender=funded.address, balance=10_000, needed=10_001):
        energy_token.retire(funded, 10_001, sender=minter)


def test_retire_from_zero_address(energy_token, minter):
    with reverts(energy_token.ERC20InvalidSender, sender=ZERO_ADDRESS):
        energy_token.retire(ZERO_ADDRESS, 1, sender=minter)


# ----------------------------------------------------------------------------- holders


def test_holder_burns(energy_token, funded):
    tx = energy_token.burn(2_500, sender=funded)
    assert tx.events == [transfer(energy_token, funded, ZERO_ADDRESS, 2_500)]
    assert energy_token.balanceOf(funded) == 7_500
    assert energy_token.totalSupply() == 7_500
    with reverts(energy_token.ERC20InsufficientBalance, sender=funded.address, balance=7_500, needed=7_501):
        energy_token.burn(7_501, sender=funded)


def test_burn_from_needs_allowance(energy_token, funded, other):
    with reverts(energy_token.ERC20InsufficientAllowance, spender=other.address, allowance=0, needed=1):
        energy_token.burnFrom(funded, 1, sender=other)

    tx = energy_token.approve(other, 3_000, sender=funded)
    assert tx.events == [approval(energy_token, funded, other, 3_000)]
    tx = energy_token.burnFrom(funded, 1_000, sender=other)
    assert tx.events == [transfer(energy_token, funded, ZERO_ADDRESS, 1_000)]
    assert energy_token.allowance(funded, other) == 2_000
    assert energy_token.balanceOf(funded) == 9_000
    assert energy_token.totalSupply() == 9_000
    with reverts(energy_token.ERC20InsufficientAllowance, spender=other.address, allowance=2_000, needed=2_001):
        energy_token.burnFrom(funded, 2_001, sender=other)


def test_transfers(energy_token, funded, other, stranger):
    tx = energy_token.transfer(other, 3_000, sender=funded)
    assert tx.events == [transfer(energy_token, funded, other, 3_000)]
    assert (energy_token.balanceOf(funded), energy_token.balanceOf(other)) == (7_000, 3_000)

    with reverts(energy_token.ERC20InvalidReceiver, receiver=ZERO_ADDRESS):
        energy_token.transfer(ZERO_ADDRESS, 1, sender=funded)
    with reverts(energy_token.ERC20InsufficientBalance, sender=other.address, balance=3_000, needed=3_001):
        energy_token.transfer(funded, 3_001, sender=other)
    with reverts(energy_token.ERC20InvalidSpender, spender=ZERO_ADDRESS):
        energy_token.approve(ZERO_ADDRESS, 1, sender=funded)

    energy_token.approve(stranger, 500, sender=funded)
    tx = energy_token.transferFrom(funded, stranger, 200, sender=stranger)
    assert tx.events == [transfer(energy_token, funded, stranger, 200)]
    assert energy_token.allowance(funded, stranger) == 300
    assert energy_token.balanceOf(stranger) == 200
    with reverts(energy_token.ERC20InsufficientAllowance, spender=stranger.address, allowance=300, needed=301):
        energy_token.transferFrom(funded, stranger, 301, sender=stranger)
    assert energy_token.totalSupply() == 10_000


# ----------------------------------------------------------------------------- permit


def test_permit(energy_token, funded, other, chain):
    deadline = chain.pending_timestamp + 3_600
    assert energy_token.nonces(funded) == 0
    v, r, s, message = sign_permit(energy_token, funded, other, 2_000, 0, deadline, chain.chain_id)

    # Anyone may relay the signed permit.
    tx = energy_token.permit(funded, other, 2_000, deadline, v, r, s, sender=other)
    assert tx.events == [approval(energy_token, funded, other, 2_000)]
    assert energy_token.allowance(funded, other) == 2_000
    assert energy_token.nonces(funded) == 1
    energy_token.transferFrom(funded, other, 2_000, sender=other)
    assert energy_token.balanceOf(other) == 2_000

    # Replayed, the signature is checked against the next nonce and recovers someone else.
    message["message"]["nonce"] = 1
    replay_signer = Account.recover_message(encode_typed_data(full_message=message), vrs=(v, int.from_bytes(r), int.from_bytes(s)))
    with reverts(energy_token.ERC2612InvalidSigner, signer=replay_signer, owner=funded.address):
        energy_token.permit(funded, other, 2_000, deadline, v, r, s, sender=other)


def test_permit_expired(energy_token, funded, other, chain):
    deadline = chain.pending_timestamp - 1
    v, r, s, _ = sign_permit(energy_token, funded, other, 1, 0, deadline, chain.chain_id)
    with reverts(energy_token.ERC2612ExpiredSignature, deadline=deadline):
        energy_token.permit(funded, other, 1, deadline, v, r, s, sender=other)


def test_permit_signed_by_someone_else(energy_token, funded, other, stranger, chain):
    deadline = chain.pending_timestamp + 3_600
    v, r, s, _ = sign_permit(energy_token, funded, other, 1, 0, deadline, chain.chain_id, signer=stranger)
    with reverts(energy_token.ERC2612InvalidSigner, signer=stranger.address, owner=funded.address):
        energy_token.permit(funded, other, 1, deadline, v, r, s, sender=other)
    assert energy_token.allowance(funded, other) == 0
    assert energy_token.nonces(funded) == 0


def test_permit_malformed_signature(energy_token, funded, other, chain):
    deadline = chain.pending_timestamp + 3_600
    v, r, s, _ = sign_permit(energy_token, funded, other, 1, 0, deadline, chain.chain_id)
    # The complementary, high-s form of the same signature is rejected (no malleability).
    secp256k1_n = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141
    high_s = HexBytes((secp256k1_n - int.from_bytes(s)).to_bytes(32, "big"))
    with reverts(energy_token.ECDSAInvalidSignatureS, s=high_s):
        energy_token.permit(funded, other, 1, deadline, 55 - v, r, high_s, sender=other)
    with reverts(energy_token.ECDSAInvalidSignature):
        energy_token.permit(funded, other, 1, deadline, 29, r, s, sender=other)
    assert energy_token.nonces(funded) == 0
